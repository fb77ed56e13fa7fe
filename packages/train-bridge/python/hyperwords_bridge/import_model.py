"""Import a researcher's own Hugging Face causal-LM folder into the model store.

    python -m hyperwords_bridge.import_model stage SRC --out DIR [--force]
    python -m hyperwords_bridge.import_model card DIR --source SRC [--name NAME]

``stage`` checks ``SRC`` (``config.json`` of a supported family, safetensors weights, the
tokenizer) and puts its files into ``DIR``: hard links where the filesystem allows, else copies;
sharded weights (``model.safetensors.index.json``) are merged into the one ``model.safetensors``
the graphs read from, a single differently named ``*.safetensors`` is taken as it. The export
steps of a pull (``export_onnx``, ``probe_graph``, ``embed_graph``, ``lens_head``,
``graph_cuts``; run by the TypeScript side) then make the graphs. ``card`` runs the parity check
against PyTorch — greedy ids of the generation graph (:func:`export_onnx.verify_generation`),
per-layer hidden-state relative difference and logit-lens top-1 agreement of the probe graph
(:func:`probe_check.verify_many`) — refuses with the figures when it fails, and writes the model
card ``hyperwords-model.json`` last, so a folder without one is an unfinished import.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from hyperwords_bridge import events  # noqa: E402
from hyperwords_bridge.diskspace import require_free  # noqa: E402
from hyperwords_bridge.events import BridgeError  # noqa: E402
from hyperwords_bridge.memcheck import check_step  # noqa: E402
from hyperwords_bridge.scratch import sigterm_as_interrupt  # noqa: E402

# model_type → (the ForCausalLM class, what the family is called)
FAMILIES: dict[str, tuple[str, str]] = {
    "llama": ("LlamaForCausalLM", "Llama, SmolLM"),
    "mistral": ("MistralForCausalLM", "Mistral"),
    "qwen2": ("Qwen2ForCausalLM", "Qwen2, Qwen2.5"),
    "qwen3": ("Qwen3ForCausalLM", "Qwen3"),
    "gemma2": ("Gemma2ForCausalLM", "Gemma 2"),
    "gemma3_text": ("Gemma3ForCausalLM", "Gemma 3 text: 270M, 1B"),
}
SUPPORTED = ", ".join(f"{t} ({name})" for t, (_, name) in FAMILIES.items())
WEIGHTS = "model.safetensors"
INDEX = "model.safetensors.index.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
# copied when present; the weights are handled apart
EXTRA_FILES = (
    "generation_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "tokenizer.model",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
)
CONFIG_INTS = ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size")
STAMP = ".import-source.json"


def _read_config(src: Path) -> dict[str, Any]:
    path = src / "config.json"
    if not path.is_file():
        raise BridgeError(f"{path}: config.json is missing; is {src} a Hugging Face model folder?", "missing-file")
    try:
        config = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise BridgeError(f"{path}: not valid JSON ({e})", "bad-config") from e
    if not isinstance(config, dict):
        raise BridgeError(f"{path}: not a JSON object", "bad-config")
    return config


def check_family(config: dict[str, Any], where: Path) -> str:
    """The config's ``model_type`` if hyperwords can import it, else an ``unsupported-architecture`` error."""
    model_type = config.get("model_type")
    archs = [str(a) for a in config.get("architectures") or []]
    named = f'model_type "{model_type}"' + (f" ({', '.join(archs)})" if archs else "")
    if model_type == "gemma3":
        raise BridgeError(
            f"{where}: {named} is the multimodal Gemma 3; only its text-only form (gemma3_text, "
            f"Gemma3ForCausalLM) is supported. Supported: {SUPPORTED}",
            "unsupported-architecture",
        )
    if model_type not in FAMILIES:
        raise BridgeError(f"{where}: {named} is not supported. Supported: {SUPPORTED}", "unsupported-architecture")
    want = FAMILIES[model_type][0]
    if archs and want not in archs:
        raise BridgeError(
            f"{where}: {named} is not a causal LM hyperwords can import (wants {want}). Supported: {SUPPORTED}",
            "unsupported-architecture",
        )
    for key in CONFIG_INTS:
        v = config.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise BridgeError(f'{where}: "{key}" is missing or not a positive integer', "bad-config")
    return str(model_type)


def weights_plan(src: Path) -> list[Path]:
    """The safetensors files that make up ``model.safetensors`` (several: shards to merge, in order)."""
    if (src / WEIGHTS).is_file():
        return [src / WEIGHTS]
    index = src / INDEX
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text("utf-8"))["weight_map"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise BridgeError(f"{index}: not a safetensors index (no readable weight_map: {e})", "bad-weights") from e
        shards = sorted(set(weight_map.values()))
        missing = [s for s in shards if not (src / s).is_file()]
        if missing:
            raise BridgeError(f"{index} names shards that are missing: {', '.join(missing)}", "missing-weights")
        return [src / s for s in shards]
    found = sorted(src.glob("*.safetensors"))
    if len(found) == 1:
        return found
    if len(found) > 1:
        raise BridgeError(
            f"{src}: several safetensors files ({', '.join(p.name for p in found)}) and no {INDEX} "
            "saying how they make one model",
            "bad-weights",
        )
    bins = sorted(p.name for p in src.glob("pytorch_model*.bin"))
    hint = (
        f"; found {', '.join(bins)}: only safetensors are imported (resave with save_pretrained(safe_serialization=True))"
        if bins
        else ""
    )
    raise BridgeError(f"{src / WEIGHTS}: the weights file is missing (no *.safetensors in {src}){hint}", "missing-weights")


def _check_safetensors(path: Path) -> int:
    from hyperwords_bridge.graph_weights import safetensors_index

    try:
        tensors = safetensors_index(path)
    except Exception as e:  # noqa: BLE001 - any unreadable header
        raise BridgeError(f"{path}: not a readable safetensors file ({type(e).__name__}: {e})", "bad-weights") from e
    if not tensors:
        raise BridgeError(f"{path}: holds no tensors", "bad-weights")
    return path.stat().st_size


def _place(src: Path, dst: Path) -> str:
    """Hard-link ``src`` at ``dst`` (copy when the filesystem cannot); returns how."""
    dst.unlink(missing_ok=True)
    try:
        os.link(src, dst)
        return "linked"
    except OSError:
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
        return "copied"


def _merge_shards(shards: list[Path], dst: Path) -> None:
    from safetensors.torch import load_file, save_file

    merged: dict[str, Any] = {}
    for shard in shards:
        merged.update(load_file(str(shard)))
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    save_file(merged, str(tmp), metadata={"format": "pt"})
    os.chmod(tmp, 0o644)  # the folder is shared with Node readers
    os.replace(tmp, dst)


def _source_stamp(src: Path, files: list[Path]) -> dict[str, Any]:
    return {
        "source": str(src),
        "files": {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in files},
    }


def _is_model_folder(out: Path) -> bool:
    names = {p.name for p in out.iterdir()}
    return not names or bool(names & {"config.json", "hyperwords-model.json", STAMP})


def stage(src: Path, out: Path, force: bool = False) -> dict[str, Any]:
    """Check ``src`` and put its files into ``out`` (see the module doc); idempotent."""
    src, out = src.resolve(), out.resolve()
    if not src.is_dir():
        raise BridgeError(f"{src}: not a folder", "missing-file")
    config = _read_config(src)
    model_type = check_family(config, src / "config.json")
    shards = weights_plan(src)
    weight_bytes = sum(_check_safetensors(p) for p in shards)
    tokenizer_missing = [n for n in TOKENIZER_FILES if not (src / n).is_file()]
    if tokenizer_missing and not (src / "tokenizer.model").is_file():
        raise BridgeError(
            f"{src / tokenizer_missing[0]}: the tokenizer file is missing ({' and '.join(tokenizer_missing)}); "
            "save the tokenizer with the model (tokenizer.save_pretrained)",
            "missing-tokenizer",
        )
    extras = [src / n for n in ("config.json", *TOKENIZER_FILES, *EXTRA_FILES) if (src / n).is_file()]
    stamp = _source_stamp(src, extras + shards)

    if out.exists():
        if not out.is_dir() or not _is_model_folder(out):
            raise BridgeError(f"{out} exists and is not a model folder; choose another --name", "out-dir-not-empty")
        if (out / "hyperwords-model.json").is_file() and not force:
            raise BridgeError(f"{out} already holds an imported model; pass --force to replace it", "already-imported")
        try:
            same = json.loads((out / STAMP).read_text("utf-8")) == stamp
        except (OSError, ValueError):
            same = False
        if same and not force:
            events.log(f"{out}: staged from the same files already; continuing the import")
            return {"path": str(out), "model_type": model_type, "cached": True}
        shutil.rmtree(out)
    require_free(f"import {src.name}", [(out.parent, weight_bytes)])  # when links are not possible
    out.mkdir(parents=True)
    how: dict[str, str] = {}
    for path in extras:
        how[path.name] = _place(path, out / path.name)
    if len(shards) == 1:
        how[WEIGHTS] = _place(shards[0], out / WEIGHTS) + (f" from {shards[0].name}" if shards[0].name != WEIGHTS else "")
    else:
        events.log(f"merging {len(shards)} safetensors shards into {WEIGHTS}")
        _merge_shards(shards, out / WEIGHTS)
        how[WEIGHTS] = f"merged from {len(shards)} shards"
    if tokenizer_missing:
        _fast_tokenizer(src, out)
        how["tokenizer.json"] = "converted from tokenizer.model"
    (out / STAMP).write_text(json.dumps(stamp) + "\n", "utf-8")
    events.log(f"staged {src} in {out}: " + ", ".join(f"{k} {v}" for k, v in how.items()))
    return {"path": str(out), "model_type": model_type, "files": how, "cached": False}


def _fast_tokenizer(src: Path, out: Path) -> None:
    """Write ``tokenizer.json`` from a sentencepiece ``tokenizer.model`` (transformers converts it)."""
    from transformers import AutoTokenizer

    try:
        with events.redirect_stdout_to_stderr():
            tok = AutoTokenizer.from_pretrained(str(src), use_fast=True)
            tok.save_pretrained(str(out))
    except Exception as e:  # noqa: BLE001
        raise BridgeError(
            f"{src / 'tokenizer.json'}: missing, and {src / 'tokenizer.model'} could not be converted ({e})",
            "missing-tokenizer",
        ) from e
    if not (out / "tokenizer.json").is_file():
        raise BridgeError(f"{src / 'tokenizer.json'}: missing, and transformers wrote none from tokenizer.model", "missing-tokenizer")


def parity(model_dir: Path) -> dict[str, Any]:
    """The import's parity figures: generation (greedy ids, logits) and probe (per-layer hidden states, lens)."""
    from hyperwords_bridge.export_onnx import generation_parity_ok, stdout_to_stderr, verify_generation
    from hyperwords_bridge.probe_check import DEFAULT_PROMPTS, verify_many_one_at_a_time
    from hyperwords_bridge.probe_graph import probe_parity_ok

    # each half holds one copy of the weights at a time: PyTorch's answers first, then the graphs
    events.progress("parity", 0, 2, unit="steps")
    with stdout_to_stderr():
        gen = verify_generation(model_dir)
    events.progress("parity", 1, 2, unit="steps")
    with stdout_to_stderr():
        probe = verify_many_one_at_a_time(model_dir, DEFAULT_PROMPTS)
    events.progress("parity", 2, 2, unit="steps")
    return {
        "generation": gen,
        "generation_ok": generation_parity_ok(gen),
        "probe": probe,
        "probe_ok": probe_parity_ok(probe),
    }


def parity_summary(p: dict[str, Any]) -> str:
    """The figures a refusal (or the log) shows."""
    fp = p["generation"].get("fp32", {})
    v = p["probe"]
    layers = ", ".join(f"{x:.1e}" for x in v["hidden_rel_diff_per_layer"])
    lens = ", ".join(f"{x:.3f}" for x in v["lens_top1_agreement_per_layer"])
    return (
        f"greedy ids ONNX {fp.get('greedy_ids')} vs PyTorch {p['generation'].get('torch_greedy_ids')} "
        f"(equal: {fp.get('greedy_ids_equal')}), last logits max abs diff {fp.get('logits_max_abs_diff', float('nan')):.2e} "
        f"(bar 1e-3); hidden-state relative difference per layer [{layers}] (max {v['hidden_rel_diff_max']:.2e}, "
        f"bar 1e-4); lens top-1 agreement {v['lens_top1_agreement']:.4f} (bar 0.99; per layer [{lens}]); "
        f"patching ok {v['patch_ok']}, padding ok {v['padding_ok']}"
    )


def write_card(model_dir: Path, source: Path, name: str | None = None) -> dict[str, Any]:
    """Check parity, then write ``hyperwords-model.json``; a failed check refuses with the figures."""
    from hyperwords_bridge.weights import MANIFEST, MANIFEST_SCHEMA_VERSION, _file_table, _versions, folder_digest

    model_dir = model_dir.resolve()
    for need in ("config.json", WEIGHTS, "onnx/model.onnx", "onnx/probe.onnx"):
        if not (model_dir / need).is_file():
            raise BridgeError(f"{model_dir / need}: missing; the export steps must run before the card", "missing-file")
    config = _read_config(model_dir)
    model_type = check_family(config, model_dir / "config.json")
    check_step("parity", model_dir, name)
    figures = parity(model_dir)
    summary = parity_summary(figures)
    if not (figures["generation_ok"] and figures["probe_ok"]):
        raise BridgeError(f"{model_dir}: the ONNX graphs do not match PyTorch, import refused: {summary}", "parity-failed")
    events.log(f"parity: {summary}")
    files = {k: v for k, v in _file_table(model_dir).items() if not k.startswith(".")}
    stamp_path = model_dir / STAMP
    stamp = json.loads(stamp_path.read_text("utf-8")) if stamp_path.is_file() else {"source": str(source)}
    name = name or model_dir.name
    card = {
        "schemaVersion": MANIFEST_SCHEMA_VERSION,
        "name": name,
        "description": f"{FAMILIES[model_type][1]} ({model_type}) imported from {source}",
        "source": {"kind": "import", "path": str(source), "files": stamp.get("files", {})},
        "sources": [],
        "model_type": model_type,
        "architectures": config.get("architectures") or [FAMILIES[model_type][0]],
        "safetensors_sha256": files[WEIGHTS]["sha256"],
        "files": files,
        "sha256": folder_digest(files),
        "parity": {
            "generation": figures["generation"],
            "probe": {k: v for k, v in figures["probe"].items() if k != "per_prompt_tokens"},
        },
        "versions": _versions(),
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    tmp = model_dir / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", "utf-8")
    os.replace(tmp, model_dir / MANIFEST)
    stamp_path.unlink(missing_ok=True)
    events.artifact("model-dir", str(model_dir), card["sha256"], name=name, imported=True)
    return {"name": name, "path": str(model_dir), "sha256": card["sha256"], "model_type": model_type}


def main(argv: list[str] | None = None) -> int:
    events.die_with_parent()  # a killed host leaves no worker behind
    parser = argparse.ArgumentParser(prog="python -m hyperwords_bridge.import_model", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("stage", help="check a Hugging Face folder and put its files into the store folder")
    p.add_argument("src", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--force", action="store_true", help="replace an existing import")
    c = sub.add_parser("card", help="check parity against PyTorch and write hyperwords-model.json")
    c.add_argument("model_dir", type=Path)
    c.add_argument("--source", type=Path, required=True)
    c.add_argument("--name")
    args = parser.parse_args(argv)
    sigterm_as_interrupt()
    if args.command == "stage":
        return events.run_main(lambda: stage(args.src, args.out, args.force))
    return events.run_main(lambda: write_card(args.model_dir, args.source, args.name))


if __name__ == "__main__":
    sys.exit(main())
