"""A tuned version's graphs from its base's, without exporting again.

    python -m hyperwords_bridge.tuned_graphs TUNED_DIR [--base BASE_DIR] [--no-verify]

A tuned version differs from its base only in LoRA-merged weight matrices and added vocabulary
rows. Its generation graph (``onnx/model.onnx``, fp32), probe graph (``onnx/probe.onnx`` +
``probe.json``) and embedding graph (``onnx/embed.onnx``) are therefore the base's graphs with
the tuned weights in: every base initialiser that holds a parameter (found by name or by content,
maybe transposed; see :mod:`hyperwords_bridge.graph_weights`) becomes a reference into the tuned
``model.safetensors``, hard-linked as ``onnx/weights.safetensors``; where tokens were added the
vocabulary dim of the graph outputs grows with the weights. The graphs themselves are a few MB;
the weights are on disk once, in the safetensors file the version has anyway.

``BASE_DIR`` defaults to ``base.dir`` of the tuned ``hyperwords-model.json`` and must hold the
three graphs. The patched graphs are checked against PyTorch on the tuned weights, one forward
pass each on a prompt that contains the added tokens (the topology was checked on the base). A version whose base graphs are missing, whose initialisers cannot be
tied to parameters, or whose patched graphs fail a check gets the full export instead
(``export_onnx``, ``probe_graph``, ``embed_graph``), and the result says so (``mode``: ``patched``
or ``full``, ``fallback_reason``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hyperwords_bridge import events
from hyperwords_bridge.events import BridgeError
from hyperwords_bridge.export_onnx import check_model_dir, log, progress, stdout_to_stderr
from hyperwords_bridge.graph_weights import (
    WEIGHTS_FILE,
    MappingError,
    ambiguous,
    grow_vocabulary,
    link_weights,
    match_initializers,
    point_at_safetensors,
    read_params,
    safetensors_index,
    save_graph,
    vocabulary_constants,
)
from hyperwords_bridge.scratch import sigterm_as_interrupt

GRAPHS = ("embed.onnx", "probe.onnx", "model.onnx")
"""Written in this order: ``model.onnx`` last, the file the pipeline takes as "exported"."""

PARITY_ATOL = 1e-3  # generation logits, as export_onnx's own check
TASK = "tuned-graphs"


def base_dir_of(tuned_dir: Path) -> Path:
    """The base folder named in the tuned version's ``hyperwords-model.json``."""
    manifest = tuned_dir / "hyperwords-model.json"
    if not manifest.is_file():
        raise MappingError(f"{tuned_dir} has no hyperwords-model.json; pass --base")
    base = json.loads(manifest.read_text("utf-8")).get("base", {}).get("dir")
    if not base:
        raise MappingError(f"{manifest} names no base.dir; pass --base")
    return Path(base)


def _vocab(model_dir: Path) -> int:
    return int(json.loads((model_dir / "config.json").read_text("utf-8"))["vocab_size"])


def patch_graph(base_graph: Path, base_params, tuned_params, tuned_index, v_old: int, v_new: int):
    """The base graph at ``base_graph`` with its parameters pointed at the tuned weights file."""
    import onnx

    model = onnx.load(str(base_graph), load_external_data=False)
    matches, unmatched = match_initializers(model.graph, base_graph.parent, base_params)
    if not matches:
        raise MappingError(f"{base_graph.name}: no initialiser holds a parameter of the base")
    twins = ambiguous(matches, base_params, tuned_params)
    if twins:
        raise MappingError(f"{base_graph.name}: initialisers {twins[:3]} match several parameters that differ after tuning")
    if v_new != v_old:
        baked = vocabulary_constants(model, v_old)
        if baked:
            raise MappingError(f"{base_graph.name}: the vocabulary size {v_old} is baked into {baked[:3]}")
    transposes = point_at_safetensors(model, matches, tuned_index)
    if v_new != v_old:
        grow_vocabulary(model, v_old, v_new)
    by_name = {i.name: i for i in model.graph.initializer}
    inline = sum(len(by_name[n].raw_data) for n in unmatched if n in by_name)
    return model, {"parameters": len(matches), "transposed": transposes, "unmatched": len(unmatched), "unmatched_bytes": inline}


def write_patched(tuned_dir: Path, base_dir: Path) -> dict[str, Any]:
    """Write the tuned version's three graphs from the base's; raises MappingError when it cannot."""
    base_onnx = base_dir / "onnx"
    missing = [n for n in (*GRAPHS, "probe.json") if not (base_onnx / n).is_file()]
    if missing:
        raise MappingError(f"the base {base_dir} lacks {', '.join('onnx/' + n for n in missing)}")
    for cfg_key in ("model_type", "num_hidden_layers", "hidden_size"):
        a = json.loads((base_dir / "config.json").read_text())[cfg_key]
        b = json.loads((tuned_dir / "config.json").read_text())[cfg_key]
        if a != b:
            raise MappingError(f"{cfg_key} differs: base {a}, tuned {b}")
    v_old, v_new = _vocab(base_dir), _vocab(tuned_dir)
    base_params = read_params(base_dir / "model.safetensors")
    tuned_params = read_params(tuned_dir / "model.safetensors")
    tuned_index = safetensors_index(tuned_dir / "model.safetensors")
    onnx_dir = tuned_dir / "onnx"
    onnx_dir.mkdir(exist_ok=True)
    for name in GRAPHS:  # a half-patched folder from an interrupted run is not reused
        (onnx_dir / name).unlink(missing_ok=True)
    link_weights(tuned_dir)
    out: dict[str, Any] = {"vocab_base": v_old, "vocab": v_new, "graphs": {}}
    for name in GRAPHS:
        t0 = time.time()
        model, stats = patch_graph(base_onnx / name, base_params, tuned_params, tuned_index, v_old, v_new)
        if name == "probe.onnx":
            spec = json.loads((base_onnx / "probe.json").read_text("utf-8"))
            spec["vocab_size"] = v_new
            for o in spec["outputs"]:
                o["shape"] = [v_new if d == v_old else d for d in o["shape"]]
            tmp = onnx_dir / "probe.json.tmp"
            tmp.write_text(json.dumps(spec, indent=2) + "\n")
            os.replace(tmp, onnx_dir / "probe.json")
        size = save_graph(model, onnx_dir / name)
        out["graphs"][name] = {**stats, "bytes": size, "seconds": round(time.time() - t0, 2)}
        log(f"{name}: {stats['parameters']} parameters now read from {WEIGHTS_FILE} ({stats['transposed']} transposed), {size / 1e6:.1f} MB")
    return out


def _check_ids(tuned_dir: Path, v_old: int, v_new: int) -> np.ndarray:
    """The default check prompt with added tokens in it, so their embedding rows are read too."""
    from hyperwords_bridge.export_onnx import sample_prompt_ids

    ids = sample_prompt_ids(tuned_dir, v_new).numpy()
    added = np.arange(v_old, v_new, dtype=np.int64)[:4]
    if added.size:
        ids = np.concatenate([ids[:, : max(2, ids.shape[1] // 2)], added[None, :], ids[:, ids.shape[1] // 2 :]], 1)
    return ids


def verify_patched(tuned_dir: Path, v_old: int, *, atol: float = PARITY_ATOL) -> dict[str, Any]:
    """The patched graphs against PyTorch on the tuned weights; ``ok`` says whether all checks hold.

    What the patch can get wrong is the weights, not the topology (the base's graphs passed the
    patching, padding and masking checks of ``probe_graph``), so one forward pass per graph on a
    prompt holding added tokens checks it: generation logits and 8 greedy tokens, the probe's
    hidden states, lens top-1 and real logits, the embedding graph against the probe graph.
    """
    import torch

    from hyperwords_bridge.embed_graph import verify_embed
    from hyperwords_bridge.export_onnx import _ort_session, load_torch_model, ort_greedy, torch_greedy
    from hyperwords_bridge.probe_check import _rel, lens_reference_top1, ort_probe_session, run_probe, torch_reference

    model = load_torch_model(tuned_dir, eager=True)
    config = model.config
    ids = _check_ids(tuned_dir, v_old, config.vocab_size)
    ref_logits, ref_ids = torch_greedy(model, torch.as_tensor(ids), 8)
    # the sessions skip onnxruntime's graph optimisations: they check the weights in a topology the
    # base's export checked with them on, and would spend most of this check opening the graphs
    logits, got_ids = ort_greedy(_ort_session(tuned_dir / "onnx" / "model.onnx", optimize=False), config, ids, 8)
    gen = {
        "logits_max_abs_diff": float(np.abs(logits - ref_logits).max()),
        "greedy_ids_equal": got_ids == ref_ids,
        "vocab": int(logits.shape[-1]),
    }
    gen_ok = gen["logits_max_abs_diff"] <= atol and gen["greedy_ids_equal"] and gen["vocab"] == config.vocab_size
    tracked = np.array([[0, config.vocab_size - 1]], np.int64)
    probe_session = ort_probe_session(tuned_dir / "onnx" / "probe.onnx", optimize=False)
    got = run_probe(probe_session, ids, tracked_ids=tracked)
    ref = torch_reference(model, ids)
    top1 = got["lens_topk_ids"][..., 0] == lens_reference_top1(model, ref["hidden_states"])
    probe = {
        "hidden_rel_diff_max": _rel(got["hidden_states"], ref["hidden_states"]),
        "lens_top1_agreement": float(top1.mean()),
        "logits_rel_diff": _rel(got["logits"][0], ref["logits"][0, -1]),
        "vocab": int(got["logits"].shape[-1]),
    }
    probe_ok = (
        probe["hidden_rel_diff_max"] <= 1e-4
        and probe["lens_top1_agreement"] >= 0.99
        and probe["logits_rel_diff"] <= 1e-4
        and probe["vocab"] == config.vocab_size
    )
    embed = verify_embed(tuned_dir, probe=probe_session, optimize=False)
    embed_ok = embed["rel_diff"] <= 1e-4
    return {
        "ok": bool(gen_ok and probe_ok and embed_ok),
        "generation": {**gen, "ok": bool(gen_ok)},
        "probe": {**probe, "ok": bool(probe_ok)},
        "embed": {**embed, "ok": bool(embed_ok)},
    }


def remove_patched(tuned_dir: Path) -> None:
    for name in (*GRAPHS, "probe.json", WEIGHTS_FILE):
        (tuned_dir / "onnx" / name).unlink(missing_ok=True)


def full_export(tuned_dir: Path) -> dict[str, Any]:
    """Today's exports: generation, probe and embedding graphs, each with its own check."""
    from hyperwords_bridge.embed_graph import export_embed, verify_embed
    from hyperwords_bridge.export_onnx import export_generation, load_torch_model
    from hyperwords_bridge.probe_check import DEFAULT_PROMPTS, ort_probe_session, verify_many
    from hyperwords_bridge.probe_graph import export_probe

    gen = export_generation(tuned_dir, quantize=False, verify=True)
    with stdout_to_stderr():
        model = load_torch_model(tuned_dir, eager=True)
    probe = export_probe(tuned_dir, model=model)
    with stdout_to_stderr():
        v = verify_many(tuned_dir, model, ort_probe_session(tuned_dir / "onnx" / "probe.onnx"), DEFAULT_PROMPTS)
    if not (v["hidden_rel_diff_max"] <= 1e-4 and v["lens_top1_agreement"] >= 0.99 and v["patch_ok"] and v["padding_ok"]):
        raise RuntimeError(f"the probe graph of {tuned_dir} does not match PyTorch: {json.dumps(v)[:400]}")
    embed = export_embed(tuned_dir)
    e = verify_embed(tuned_dir)
    if e["rel_diff"] > 1e-4:
        raise RuntimeError(f"the embedding graph of {tuned_dir} does not match its probe graph: {e}")
    return {"generation": gen, "probe": probe, "embed": embed}


def export_tuned(tuned_dir: Path, base_dir: Path | None = None, *, verify: bool = True, atol: float = PARITY_ATOL) -> dict[str, Any]:
    """Patched graphs when they can be made and pass their checks, else the full export."""
    tuned_dir = Path(tuned_dir).resolve()
    check_model_dir(tuned_dir)
    t0 = time.time()
    total = 2 if verify else 1
    progress(TASK, 0, total)
    result: dict[str, Any] = {"model_dir": str(tuned_dir)}
    reason = None
    try:
        base_dir = Path(base_dir).resolve() if base_dir else base_dir_of(tuned_dir)
        result["base_dir"] = str(base_dir)
        result["patch"] = write_patched(tuned_dir, base_dir)
        progress(TASK, 1, total)
        if verify:
            with stdout_to_stderr():
                parity = verify_patched(tuned_dir, result["patch"]["vocab_base"], atol=atol)
            result["parity"] = parity
            if not parity["ok"]:
                failed = [k for k in ("generation", "probe", "embed") if not parity[k]["ok"]]
                reason = f"the patched {', '.join(failed)} graph(s) failed parity: {json.dumps({k: parity[k] for k in failed})[:600]}"
    except MappingError as e:
        reason = str(e)
    if reason is None:
        result["mode"] = "patched"
        log(f"tuned graphs of {tuned_dir.name} patched from {base_dir.name} in {time.time() - t0:.1f}s")
    else:
        log(f"patched graphs of {tuned_dir.name} unusable ({reason}); exporting in full instead", level="warn")
        remove_patched(tuned_dir)
        result["mode"] = "full"
        result["fallback_reason"] = reason
        result["full"] = full_export(tuned_dir)
    result["seconds"] = round(time.time() - t0, 1)
    result["onnx_bytes"] = onnx_bytes(tuned_dir)
    progress(TASK, total, total)
    return result


def onnx_bytes(model_dir: Path) -> int:
    """Disk taken by ``onnx/``, a hard link to the model's own weights counted as nothing."""
    own = os.stat(model_dir / "model.safetensors")
    total = 0
    for p in (model_dir / "onnx").iterdir():
        st = p.stat()
        if (st.st_ino, st.st_dev) != (own.st_ino, own.st_dev):
            total += st.st_size
    return total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hyperwords_bridge.tuned_graphs", description=__doc__.split("\n")[0])
    p.add_argument("tuned_dir", type=Path)
    p.add_argument("--base", type=Path, default=None, help="the base model folder (default: base.dir of hyperwords-model.json)")
    p.add_argument("--no-verify", action="store_true", help="skip the parity checks (and so the fallback they can cause)")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sigterm_as_interrupt()
    return events.run_main(
        lambda: export_tuned(args.tuned_dir, args.base, verify=not args.no_verify),
        unexpected="export-failed",
        bad_model_dir=True,
    )


if __name__ == "__main__":
    sys.exit(main())
