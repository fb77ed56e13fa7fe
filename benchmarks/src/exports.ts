/**
 * `pnpm bench exports`: a tuned version's graphs patched from its base's
 * (`hyperwords_bridge.tuned_graphs`, with its parity checks) against today's full export of the
 * same version (`export_onnx --no-quantize`, `probe_graph`, `embed_graph`, as FinetuneStage ran
 * them), time and disk; and the graphs cut to their use (`hyperwords_bridge.graph_cuts`): the
 * embedding graph up to the sensory estimator's layer (a third of the depth) against the whole
 * embedding graph, the probe graph with its lens on three layers against the whole probe graph.
 * Sides alternate, `runs` times; medians. Without BENCH_TUNED a tuned version is made from the
 * base: q/v weights moved as a LoRA merge moves them and 16 vocabulary rows added.
 */
import { spawnSync } from "node:child_process"
import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { venvPython } from "@hyperwords/train-bridge/Paths"
import { median, table } from "./table.ts"

const root = resolve(import.meta.dirname, "..")
const repo = resolve(root, "..")
const bridgeCwd = resolve(repo, "packages", "train-bridge", "python")

/** Options of the suite (environment: BENCH_RUNS, BENCH_MODEL, BENCH_TUNED, BENCH_REPS). */
export const exportsOptions = () => ({
  runs: Number(process.env.BENCH_RUNS ?? 3),
  model: process.env.BENCH_MODEL ?? "smollm2-135m",
  tuned: process.env.BENCH_TUNED,
  reps: Number(process.env.BENCH_REPS ?? 5)
})

const python = (args: ReadonlyArray<string>): string => {
  const r = spawnSync(venvPython, args, { cwd: bridgeCwd, encoding: "utf8", maxBuffer: 1 << 28 })
  if (r.status !== 0)
    throw new Error(
      `python ${args.slice(0, 3).join(" ")} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`
    )
  return r.stdout
}

const timed = (steps: ReadonlyArray<ReadonlyArray<string>>): number => {
  const t = performance.now()
  for (const s of steps) python(s)
  return (performance.now() - t) / 1000
}

const makeTuned = `
import json, shutil, sys, torch
from pathlib import Path
from transformers import AutoModelForCausalLM
base, out = Path(sys.argv[1]), Path(sys.argv[2])
m = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
g = torch.Generator().manual_seed(0)
with torch.no_grad():
    for layer in m.model.layers:
        for lin in (layer.self_attn.q_proj, layer.self_attn.v_proj):
            lin.weight += 0.01 * lin.weight.std() * torch.randn(lin.weight.shape, generator=g)
    old = m.config.vocab_size
    m.resize_token_embeddings(old + 16, mean_resizing=False)
    m.get_input_embeddings().weight[old:] = m.get_input_embeddings().weight[:old].mean(0)
m.save_pretrained(out)
for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"):
    if (base / f).exists(): shutil.copy2(base / f, out / f)
(out / "hyperwords-model.json").write_text(json.dumps({"base": {"dir": str(base)}}))
`

const timeGraphs = `
import json, sys, time, numpy as np, onnxruntime as ort
from pathlib import Path
d, reps, pairs = Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
spec = json.loads((d / "onnx" / "probe.json").read_text())
ids = np.random.default_rng(0).integers(0, spec["vocab_size"], size=(8, 32)).astype(np.int64)
every = {"input_ids": ids, "attention_mask": np.ones_like(ids), "tracked_ids": ids[:, :4].copy(),
         "patch_vector": np.zeros((8, spec["hidden_size"]), np.float32), "patch_layer": np.array([-1], np.int64),
         "patch_position": np.full((8,), -1, np.int64)}
out = {}
for name in [f for pair in pairs for f in pair]:
    so = ort.SessionOptions(); so.log_severity_level = 3
    s = ort.InferenceSession(str(d / "onnx" / name), so)
    feeds = {i.name: every[i.name] for i in s.get_inputs()}
    s.run(None, feeds)
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); s.run(None, feeds); ts.append(time.perf_counter() - t)
    out[name] = float(np.median(ts))
print(json.dumps(out))
`

/** A folder with the model's files hard-linked (read only) and no graphs. */
const freshCopy = (src: string, dst: string) => {
  rmSync(dst, { recursive: true, force: true })
  mkdirSync(dst, { recursive: true })
  for (const f of readdirSync(src)) if (statSync(join(src, f)).isFile()) linkSync(join(src, f), join(dst, f))
}

/** Bytes under `onnx/` that are not the model's own safetensors file. */
const onnxBytes = (dir: string): number => {
  const own = statSync(join(dir, "model.safetensors")).ino
  return readdirSync(join(dir, "onnx"))
    .map((f) => statSync(join(dir, "onnx", f)))
    .filter((s) => s.isFile() && s.ino !== own)
    .reduce((a, s) => a + s.size, 0)
}

/** Run the exports suite and print its table. */
export const exportsSuite = async (o: ReturnType<typeof exportsOptions>): Promise<string> => {
  const baseDir = resolve(repo, ".hyperwords", "models", o.model)
  if (!existsSync(join(baseDir, "onnx", "probe.onnx")))
    return `skipped: ${baseDir} has no graphs (pnpm hyperwords models pull ${o.model})`
  if (!existsSync(venvPython)) return `skipped: no bridge venv at ${venvPython}`
  const work = resolve(root, ".tmp", "exports")
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  try {
    let tuned = o.tuned === undefined ? join(work, "tuned") : resolve(o.tuned)
    if (o.tuned === undefined) {
      writeFileSync(join(work, "make_tuned.py"), makeTuned)
      python([join(work, "make_tuned.py"), baseDir, tuned])
    }
    tuned = resolve(tuned)
    const patched: Array<number> = []
    const full: Array<number> = []
    let patchedBytes = 0
    let fullBytes = 0
    for (let run = 0; run < o.runs; run++) {
      const sides = run % 2 === 0 ? (["patched", "full"] as const) : (["full", "patched"] as const)
      for (const side of sides) {
        const dir = join(work, side)
        freshCopy(tuned, dir)
        if (side === "patched") {
          patched.push(timed([["-m", "hyperwords_bridge.tuned_graphs", dir, "--base", baseDir]]))
          patchedBytes = onnxBytes(dir)
        } else {
          full.push(
            timed([
              ["-m", "hyperwords_bridge.export_onnx", dir, "--no-quantize"],
              ["-m", "hyperwords_bridge.probe_graph", dir],
              ["-m", "hyperwords_bridge.embed_graph", dir]
            ])
          )
          fullBytes = onnxBytes(dir)
        }
      }
    }
    // graphs cut to their use, on the base (hard-linked copy; the cuts read its safetensors)
    const cuts = join(work, "cuts")
    freshCopy(baseDir, cuts)
    mkdirSync(join(cuts, "onnx"))
    for (const f of ["probe.onnx", "probe.json", "embed.onnx"])
      linkSync(join(baseDir, "onnx", f), join(cuts, "onnx", f))
    const layers = JSON.parse(
      python([
        "-c",
        "import json,sys;print(json.load(open(sys.argv[1]))['num_layers'])",
        join(cuts, "onnx", "probe.json")
      ])
    )
    const sensory = Math.round(layers / 3)
    const lens = [0, sensory, layers]
    python([
      "-m",
      "hyperwords_bridge.graph_cuts",
      cuts,
      "--embed-upto",
      String(sensory),
      "--lens-layers",
      lens.join(",")
    ])
    writeFileSync(join(work, "time_graphs.py"), timeGraphs)
    const embedCut = `embed-upto-${sensory}.onnx`
    const lensCut = `probe-lens-${lens.join("-")}.onnx`
    const g = JSON.parse(
      python([
        join(work, "time_graphs.py"),
        cuts,
        String(o.reps),
        JSON.stringify([
          ["embed.onnx", embedCut],
          ["probe.onnx", lensCut]
        ])
      ])
    ) as Record<string, number>
    const s = (x: number) => `${x.toFixed(2)} s`
    const gb = (x: number) => `${(x / 1e9).toFixed(3)} GB`
    const rows = [
      ["measure", "anchor", "value", "ratio", "goal"],
      [
        `tuned-version graphs, time ÷ today's full export (${o.model}, n=${o.runs})`,
        s(median(full)),
        s(median(patched)),
        (median(patched) / median(full)).toFixed(3),
        "≤ 0.25"
      ],
      [
        "tuned-version graphs, disk under onnx/ ÷ full export",
        gb(fullBytes),
        gb(patchedBytes),
        (patchedBytes / fullBytes).toFixed(4),
        "—"
      ],
      [
        `embedding graph up to layer ${sensory} of ${layers}, time ÷ whole graph (8×32 tokens)`,
        s(g["embed.onnx"]!),
        s(g[embedCut]!),
        (g[embedCut]! / g["embed.onnx"]!).toFixed(3),
        "—"
      ],
      [
        `probe graph, lens on layers ${lens.join(",")}, time ÷ lens on all (8×32 tokens)`,
        s(g["probe.onnx"]!),
        s(g[lensCut]!),
        (g[lensCut]! / g["probe.onnx"]!).toFixed(3),
        "—"
      ]
    ]
    return table(rows)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
