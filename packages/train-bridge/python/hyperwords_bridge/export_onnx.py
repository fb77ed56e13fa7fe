"""Export a Hugging Face causal LM directory to the transformers.js ONNX layout.

    python -m hyperwords_bridge.export_onnx MODEL_DIR [--no-quantize] [--no-verify] [--opset N]

Writes, inside MODEL_DIR (which must already hold ``config.json`` and the weights):

    onnx/model.onnx            fp32, text-generation-with-past (optimum-onnx exporter), its
                               logits at the last position only (:mod:`hyperwords_bridge.last_logits`)
    onnx/model_quantized.onnx  int8 dynamic quantisation (transformers.js dtype "q8")

``config.json``, ``tokenizer.json``, ``tokenizer_config.json`` and ``generation_config.json``
stay where they are (they are copied from the exporter's output only when missing).
Every file appears atomically (temp file, then rename), so an interrupted export never
leaves a half-written ``.onnx`` under its final name.

The export is checked with onnxruntime against PyTorch: last-position logits on a prompt
(max abs diff) and a short greedy decode through the past-key-values path (token ids equal).

Stdout carries NDJSON events only (progress, log, artifact, error, done; see
hyperwords_bridge.events); library chatter goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# NDJSON events go through the bridge's shared helper (hyperwords_bridge.events).
from hyperwords_bridge import events
from hyperwords_bridge.diskspace import disk_full_error, require_free
from hyperwords_bridge.events import BridgeError
from hyperwords_bridge.last_logits import cut_to_last_position
from hyperwords_bridge.memcheck import check_step
from hyperwords_bridge.scratch import scratch, sigterm_as_interrupt

emit = events.emit


def log(message: str, level: str = "info") -> None:
    events.log(message, level)  # type: ignore[arg-type]


def progress(task: str, done: int, total: int) -> None:
    events.progress(task, done, total, unit="steps")


def artifact(kind: str, path: Path, **extra: Any) -> str:
    digest = sha256_file(path)
    events.artifact(kind, str(path), digest, bytes=path.stat().st_size, **extra)
    return digest


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def stdout_to_stderr():
    """Route library prints to stderr to keep stdout NDJSON-only.

    Unlike events.redirect_stdout_to_stderr this also moves file descriptor 1, which catches
    C++-level prints (torch.onnx, onnxruntime). Never emit events inside this block."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


# --------------------------------------------------------------------------------------
# Helpers shared with probe_graph
# --------------------------------------------------------------------------------------

LAYOUT_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json")


def model_type(model_dir: Path) -> str:
    cfg = json.loads((model_dir / "config.json").read_text())
    return str(cfg.get("model_type", ""))


def check_model_dir(model_dir: Path) -> None:
    if not (model_dir / "config.json").is_file():
        raise SystemExit(f"{model_dir}: no config.json; is this a Hugging Face model directory?")
    has_weights = any(model_dir.glob("*.safetensors")) or any(model_dir.glob("pytorch_model*.bin"))
    if not has_weights:
        raise SystemExit(f"{model_dir}: no *.safetensors / pytorch_model*.bin weights")


def load_torch_model(model_dir: Path, eager: bool = True):
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if eager:
        kwargs["attn_implementation"] = "eager"
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), **kwargs)
    model.eval()
    return model


def sample_prompt_ids(model_dir: Path, vocab_size: int, text: str | None = None):
    """Token ids for a check prompt: the model's tokenizer when present, else fixed ids."""
    import torch

    text = text or "The cat sat on the warm windowsill and watched the evening. Кошка мурчит."
    if (model_dir / "tokenizer.json").is_file() or (model_dir / "tokenizer_config.json").is_file():
        try:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(str(model_dir))
            ids = tok(text, return_tensors="pt")["input_ids"]
            if ids.shape[1] >= 2 and int(ids.max()) < vocab_size:
                return ids
        except Exception:  # noqa: BLE001 - fall back to synthetic ids
            pass
    g = torch.Generator().manual_seed(0)
    return torch.randint(3, vocab_size, (1, 12), generator=g)


def atomic_move(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)


# --------------------------------------------------------------------------------------
# Generation export
# --------------------------------------------------------------------------------------


def _export_with_optimum(model_dir: Path, tmp_out: Path, opset: int | None) -> None:
    from optimum.exporters.onnx import main_export

    main_export(
        str(model_dir),
        output=str(tmp_out),
        task="text-generation-with-past",
        opset=opset,
        device="cpu",
        do_validation=False,  # our own parity check below is stricter and cheaper
        local_files_only=True,
        library_name="transformers",
    )


def _move_onnx(tmp_out: Path, onnx_dir: Path, name: str) -> Path:
    """Move model.onnx (+ external data, renamed consistently) from tmp_out to onnx_dir/name."""
    src = tmp_out / "model.onnx"
    if not src.is_file():
        raise RuntimeError(f"exporter wrote no model.onnx into {tmp_out}: {sorted(os.listdir(tmp_out))}")
    data_files = [p for p in tmp_out.iterdir() if p.name.startswith("model.onnx_data") or p.suffix == ".data"]
    dst = onnx_dir / name
    if data_files:
        # External data: re-save into one file named the way transformers.js expects.
        import onnx

        m = onnx.load(str(src), load_external_data=True)
        tmp_dst = onnx_dir / (name + ".tmp")
        onnx.save_model(
            m,
            str(tmp_dst),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=name + "_data",
            size_threshold=1024,
        )
        os.replace(tmp_dst, dst)
    else:
        atomic_move(src, dst)
    return dst


def quantize_q8(src: Path, dst: Path) -> None:
    """int8 dynamic quantisation (transformers.js "q8" -> model_quantized.onnx)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    external = (src.parent / (src.name + "_data")).exists()
    tmp = dst.with_name(dst.name + ".tmp.onnx")
    quantize_dynamic(
        model_input=str(src),
        model_output=str(tmp),
        weight_type=QuantType.QInt8,
        per_channel=False,
        reduce_range=False,
        use_external_data_format=external,
    )
    os.replace(tmp, dst)


def _ort_session(path: Path, optimize: bool = True):
    """An onnxruntime session on the CPU. ``optimize=False`` skips the graph optimisations, which
    cost most of a session's opening (see :func:`check_options`)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    if not optimize:
        check_options(so)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def check_options(so):
    """Session options for a check of a graph's weights whose topology was checked before: no graph
    optimisations. They are rewrites that keep a graph's meaning (the base's checks ran with them
    on), yet they take most of a session's opening: SmolLM2's probe graph opens in 8.4 s with them,
    0.4 s without (onnxruntime 1.32, 2026-12-07)."""
    import onnxruntime as ort

    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return so


def _ort_feed(sess, input_ids, attention_mask, position_ids, past):
    feed = {}
    for inp in sess.get_inputs():
        if inp.name == "input_ids":
            feed[inp.name] = input_ids
        elif inp.name == "attention_mask":
            feed[inp.name] = attention_mask
        elif inp.name == "position_ids":
            feed[inp.name] = position_ids
        elif inp.name.startswith("past_key_values."):
            feed[inp.name] = past[inp.name]
    return feed


def _empty_past(sess, batch: int, config) -> dict[str, Any]:
    import numpy as np

    kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return {
        i.name: np.zeros((batch, kv_heads, 0, head_dim), dtype=np.float32)
        for i in sess.get_inputs()
        if i.name.startswith("past_key_values.")
    }


def ort_greedy(sess, config, prompt_ids, steps: int):
    """Greedy decode through the ONNX graph with past key values; returns (first logits, ids)."""
    import numpy as np

    ids = prompt_ids.astype(np.int64)
    past = _empty_past(sess, 1, config)
    out_names = [o.name for o in sess.get_outputs()]
    generated: list[int] = []
    first_logits = None
    cur = ids
    total = ids.shape[1]
    for step in range(steps):
        am = np.ones((1, total), dtype=np.int64)
        pos = np.arange(total - cur.shape[1], total, dtype=np.int64)[None, :]
        outs = sess.run(None, _ort_feed(sess, cur, am, pos, past))
        res = dict(zip(out_names, outs))
        logits = res["logits"][:, -1, :]
        if first_logits is None:
            first_logits = logits
        nxt = int(logits[0].argmax())
        generated.append(nxt)
        past = {
            n.replace("present.", "past_key_values."): v for n, v in res.items() if n.startswith("present.")
        }
        cur = np.array([[nxt]], dtype=np.int64)
        total += 1
    return first_logits, generated


def torch_greedy(model, prompt_ids, steps: int):
    """PyTorch's greedy ids: argmax at every step, EOS included (``generate`` with
    ``min_new_tokens`` would suppress EOS, which the ONNX decode does not)."""
    import torch

    with torch.no_grad():
        out = model(prompt_ids, use_cache=True)
        first = out.logits[:, -1, :].float().numpy()
        ids: list[int] = []
        logits, past = out.logits[:, -1, :], out.past_key_values
        for _ in range(steps):
            nxt = int(logits[0].argmax())
            ids.append(nxt)
            out = model(torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
            logits, past = out.logits[:, -1, :], out.past_key_values
    return first, ids


def verify_generation(model_dir: Path, steps: int = 8) -> dict[str, Any]:
    """Compare onnx/model.onnx (and the q8 file, informational) against PyTorch on one prompt."""
    import numpy as np

    import gc

    model = load_torch_model(model_dir, eager=False)
    config = model.config
    prompt = sample_prompt_ids(model_dir, config.vocab_size)
    ref_logits, ref_ids = torch_greedy(model, prompt, steps)
    # PyTorch's answer is kept, its model is not: one copy of the weights at a time
    del model
    gc.collect()
    result: dict[str, Any] = {"prompt_tokens": int(prompt.shape[1]), "steps": steps}
    for label, fname in (("fp32", "model.onnx"), ("q8", "model_quantized.onnx")):
        path = model_dir / "onnx" / fname
        if not path.is_file():
            continue
        sess = _ort_session(path)
        logits, ids = ort_greedy(sess, config, prompt.numpy(), steps)
        del sess
        gc.collect()
        diff = float(np.abs(logits - ref_logits).max())
        scale = float(np.abs(ref_logits).max())
        result[label] = {
            "logits_max_abs_diff": diff,
            "logits_max_rel_diff": diff / max(scale, 1e-12),
            "top1_equal": bool(int(logits.argmax()) == int(ref_logits.argmax())),
            "greedy_ids_equal": ids == ref_ids,
            "greedy_ids": ids,
        }
    result["torch_greedy_ids"] = ref_ids
    return result


def generation_parity_ok(parity: dict[str, Any], atol: float = 1e-3) -> bool:
    """The fp32 graph's bar: last-position logits within ``atol`` of PyTorch's, greedy ids equal."""
    fp = parity.get("fp32", {})
    return bool(fp.get("logits_max_abs_diff", 1e9) <= atol and fp.get("greedy_ids_equal", False))


def graph_bytes_estimate(model_dir: Path) -> int:
    """About how large the fp32 ONNX graph of ``model_dir`` will be.

    The weights at 4 bytes a parameter, times 1.7: the graph stores the tied output projection
    apart from the embedding (Gemma 3 270M: 1.07 GB of safetensors, a 1.74 GB graph).
    """
    config = json.loads((model_dir / "config.json").read_text("utf-8"))
    dtype = str(config.get("torch_dtype") or config.get("dtype") or "float32")
    scale = 4 / {"float32": 4, "float16": 2, "bfloat16": 2}.get(dtype, 4)
    weights = sum(p.stat().st_size for p in model_dir.glob("*.safetensors"))
    return int(weights * scale * 1.7)


def export_generation(
    model_dir: Path,
    *,
    opset: int | None = None,
    quantize: bool = True,
    verify: bool = True,
    atol: float = 1e-3,
) -> dict[str, Any]:
    model_dir = Path(model_dir).resolve()
    check_model_dir(model_dir)
    onnx_dir = model_dir / "onnx"
    graph = graph_bytes_estimate(model_dir)
    # The exporter's temp copy and the final graph; quantising adds the q8 graph here and
    # onnxruntime's shape-inferred copy in the temp folder.
    needs = [(onnx_dir, 2 * graph + (graph // 4 if quantize else 0))]
    if quantize:
        needs.append((Path(tempfile.gettempdir()), graph))
    require_free(f"export {model_dir.name} to ONNX", needs)
    onnx_dir.mkdir(exist_ok=True)
    total = 1 + int(quantize) + int(verify)
    task = "export-onnx"
    progress(task, 0, total)
    log(f"exporting {model_dir} ({model_type(model_dir)}) with optimum-onnx, task text-generation-with-past")

    t0 = time.time()
    result: dict[str, Any] = {"model_dir": str(model_dir), "files": {}}
    with scratch(onnx_dir, "export") as tmp_out:
        with stdout_to_stderr():
            _export_with_optimum(model_dir, tmp_out, opset)
        fp32 = _move_onnx(tmp_out, onnx_dir, "model.onnx")
        # Keep the model directory's own config/tokenizer files; fill in only what is missing.
        for name in LAYOUT_FILES:
            if not (model_dir / name).exists() and (tmp_out / name).exists():
                shutil.copy2(tmp_out / name, model_dir / name)
                log(f"{name} was missing in {model_dir}; copied the exporter's")
    # every reader takes the next token's logits: the projection runs on the last position only
    result["last_logits"] = cut_to_last_position(fp32)
    if not result["last_logits"]["cut"]:
        log(f"logits kept at every position: {result['last_logits']['reason']}", level="warn")
    result["export_seconds"] = round(time.time() - t0, 1)
    result["files"]["model.onnx"] = {"sha256": artifact("onnx", fp32), "bytes": fp32.stat().st_size}
    progress(task, 1, total)

    if quantize:
        t1 = time.time()
        q8 = onnx_dir / "model_quantized.onnx"
        with stdout_to_stderr():
            quantize_q8(fp32, q8)
        result["quantize_seconds"] = round(time.time() - t1, 1)
        result["files"]["model_quantized.onnx"] = {"sha256": artifact("onnx", q8), "bytes": q8.stat().st_size}
        progress(task, 2, total)

    missing = [n for n in ("config.json", "tokenizer.json", "tokenizer_config.json") if not (model_dir / n).exists()]
    if missing:
        log(f"transformers.js layout incomplete, missing: {', '.join(missing)}", level="warn")
    result["missing_layout_files"] = missing

    if verify:
        with stdout_to_stderr():
            parity = verify_generation(model_dir)
        result["parity"] = parity
        fp = parity.get("fp32", {})
        ok = generation_parity_ok(parity, atol)
        result["parity_ok"] = ok
        log(
            "parity fp32: logits max abs diff {:.2e} (rel {:.2e}), greedy ids equal: {}; q8: top1 equal {}, greedy equal {}".format(
                fp.get("logits_max_abs_diff", float("nan")),
                fp.get("logits_max_rel_diff", float("nan")),
                fp.get("greedy_ids_equal"),
                parity.get("q8", {}).get("top1_equal"),
                parity.get("q8", {}).get("greedy_ids_equal"),
            ),
            level="info" if ok else "warn",
        )
        progress(task, total, total)
        if not ok:
            raise RuntimeError(f"ONNX export does not match PyTorch: {json.dumps(fp)}")
    return result


def main(argv: list[str] | None = None) -> int:
    events.die_with_parent()  # a killed host leaves no worker behind
    p = argparse.ArgumentParser(prog="python -m hyperwords_bridge.export_onnx", description=__doc__.split("\n")[0])
    p.add_argument("model_dir", type=Path)
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default: the exporter's)")
    p.add_argument("--no-quantize", action="store_true", help="skip onnx/model_quantized.onnx")
    p.add_argument("--no-verify", action="store_true", help="skip the onnxruntime vs PyTorch check")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sigterm_as_interrupt()

    def work() -> dict:
        check_step("export", args.model_dir)
        return export_generation(
            args.model_dir, opset=args.opset, quantize=not args.no_quantize, verify=not args.no_verify
        )

    def disk_full(exc: Exception) -> int | None:
        full = disk_full_error(
            f"the ONNX export of {args.model_dir}", exc, [args.model_dir, Path(tempfile.gettempdir())]
        )
        if full is None:
            return None
        events.error(str(full), code=full.code)
        return 1

    return events.run_main(work, unexpected="export-failed", bad_model_dir=True, handle=disk_full)


if __name__ == "__main__":
    sys.exit(main())
