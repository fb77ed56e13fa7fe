"""Graphs cut to their use: the embedding graph up to a layer, the probe graph's lens on some layers.

    python -m hyperwords_bridge.graph_cuts MODEL_DIR [--embed-upto N ...] [--lens-layers 0,6,18 ...]
        [--probe-layers 0,6,12 ...] [--no-verify]

onnxruntime runs every node of a graph whatever outputs are asked for, so a caller that reads
layer 6 of an 18-layer model from ``embed.onnx`` pays for all 18. From ``onnx/probe.onnx`` this
writes, beside it:

``onnx/embed-upto-N.onnx``
    ``hidden_states`` ``[N+1,B,T,H]``: entries 0..N of the embedding graph's (same inputs), and
    nothing of the layers above N.
``onnx/probe-lens-A-B-C.onnx``
    the probe graph with ``lens_topk_ids``, ``lens_topk_logprobs`` and ``tracked_logprobs`` for
    ``hidden_states`` entries A, B, C only (``[3,B,T,k]``; entry i of the output is layer
    ``layers[i]``); every other output and input as in ``probe.onnx``.
``onnx/probe-layers-A-B-C.onnx``
    the probe graph cut to the layers asked for, for bigger models and long prompts:
    ``hidden_states`` and the three lens outputs for entries A, B, C only (``[3,B,T,…]``),
    ``attentions`` of the decoder layers that make them (entry j ≥ 1 is the output of decoder
    layer j-1; ``[n,B,heads,T,T]``, absent when only entry 0 is asked for), and no decoder layer
    above the deepest entry: ``logits`` (which needs every layer) is kept only when the deepest
    entry is the last one. Inputs as in ``probe.onnx``; the chosen entries are in the ``done``
    event and in ``probe-layers-A-B-C.json``.

Both are stacks in the graph (``Concat`` of one ``Unsqueeze`` per layer): the cut keeps the
stack's chosen inputs and drops every node that only fed the others. Their parameters are read
from ``onnx/weights.safetensors``, the model's own ``model.safetensors`` hard-linked
(:mod:`hyperwords_bridge.graph_weights`), so a cut costs no disk for weights. Each cut is checked
against the probe graph on random ids (within 1e-4 of the values' scale); a cut that fails is
deleted, so that readers keep the full graph.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hyperwords_bridge.events import BridgeError, done, error, log, progress
from hyperwords_bridge.graph_weights import (
    MappingError,
    link_weights,
    match_initializers,
    point_at_safetensors,
    read_params,
    safetensors_index,
    save_graph,
)
from hyperwords_bridge.memcheck import check_step
from hyperwords_bridge.scratch import sigterm_as_interrupt

LENS_OUTPUTS = ("lens_topk_ids", "lens_topk_logprobs", "tracked_logprobs")


def embed_file(upto: int) -> str:
    return f"embed-upto-{upto}.onnx"


def lens_file(layers: list[int]) -> str:
    return "probe-lens-" + "-".join(str(j) for j in layers) + ".onnx"


def probe_layers_file(layers: list[int]) -> str:
    return "probe-layers-" + "-".join(str(j) for j in layers) + ".onnx"


def keep_stacked(model: Any, output: str, keep: list[int]) -> None:
    """Keep entries ``keep`` (in that order) of the stacked graph output ``output``."""
    node = next((n for n in model.graph.node if output in n.output), None)
    axis = next((a.i for a in node.attribute if a.name == "axis"), None) if node else None
    if node is None or node.op_type != "Concat" or axis != 0:
        raise ValueError(f"{output} is not a stack (Concat on axis 0) in this graph")
    n = len(node.input)
    if not keep or any(j < 0 or j >= n for j in keep):
        raise ValueError(f"{output} has entries 0..{n - 1}; asked for {keep}")
    chosen = [node.input[j] for j in keep]
    del node.input[:]
    node.input.extend(chosen)
    vi = next(o for o in model.graph.output if o.name == output)
    vi.type.tensor_type.shape.dim[0].dim_value = len(keep)


def prune(model: Any, outputs: list[str]) -> None:
    """Drop every node, initialiser, input and shape hint that feeds none of ``outputs``."""
    needed = set(outputs)
    alive = []
    for node in reversed(list(model.graph.node)):
        if any(o in needed for o in node.output):
            alive.append(node)
            needed.update(i for i in node.input if i)
    alive.reverse()
    keep_out = [o for o in model.graph.output if o.name in outputs]
    for field, items in (
        ("output", keep_out),
        ("node", alive),
        ("initializer", [i for i in model.graph.initializer if i.name in needed]),
        ("input", [i for i in model.graph.input if i.name in needed]),
        ("value_info", [v for v in model.graph.value_info if v.name in needed]),
    ):
        rep = getattr(model.graph, field)
        del rep[:]
        rep.extend(items)


def read_weights_from_model(model: Any, model_dir: Path) -> None:
    """Point the graph's inline parameters at ``onnx/weights.safetensors`` (no-op if none match)."""
    st = model_dir / "model.safetensors"
    if not st.is_file():
        return
    matches, _ = match_initializers(model.graph, model_dir / "onnx", read_params(st), inline_only=True)
    if not matches:
        return
    try:
        point_at_safetensors(model, matches, safetensors_index(st))
    except MappingError as e:  # e.g. a bfloat16 file: keep the tensors in the graph
        log(f"weights stay in the cut graph: {e}", level="warn")
        return
    link_weights(model_dir)


def _load_probe(model_dir: Path):
    import onnx

    src = model_dir / "onnx" / "probe.onnx"
    if not src.is_file():
        raise FileNotFoundError(f"{src} does not exist: export the probe graph first (hyperwords_bridge.probe_graph)")
    return onnx.load(str(src), load_external_data=False)


def cut_embed(model_dir: Path, upto: int) -> dict[str, Any]:
    """Write ``onnx/embed-upto-N.onnx``: hidden states 0..N only."""
    model = _load_probe(model_dir)
    before = len(model.graph.node)
    keep_stacked(model, "hidden_states", list(range(upto + 1)))
    prune(model, ["hidden_states"])
    read_weights_from_model(model, model_dir)
    path = model_dir / "onnx" / embed_file(upto)
    size = save_graph(model, path)
    return {"path": str(path), "bytes": size, "nodes": len(model.graph.node), "nodes_before": before}


def cut_lens(model_dir: Path, layers: list[int]) -> dict[str, Any]:
    """Write ``onnx/probe-lens-….onnx``: the logit lens on ``layers`` only."""
    model = _load_probe(model_dir)
    before = len(model.graph.node)
    for name in LENS_OUTPUTS:
        keep_stacked(model, name, layers)
    prune(model, [o.name for o in model.graph.output])
    read_weights_from_model(model, model_dir)
    path = model_dir / "onnx" / lens_file(layers)
    size = save_graph(model, path)
    return {"path": str(path), "bytes": size, "nodes": len(model.graph.node), "nodes_before": before, "layers": layers}


def probe_layers_pick(layers: list[int], num_layers: int) -> dict[str, list[int] | slice]:
    """What a probe-layers cut keeps of each probe output: entries of ``hidden_states`` and the
    lens, the attention of the decoder layers making them, ``logits`` when the last layer is kept."""
    pick: dict[str, list[int] | slice] = {"hidden_states": layers, **{name: layers for name in LENS_OUTPUTS}}
    attn = [j - 1 for j in layers if j >= 1]
    if attn:
        pick["attentions"] = attn
    if max(layers) == num_layers:
        pick["logits"] = slice(None)
    return pick


def cut_probe_layers(model_dir: Path, layers: list[int]) -> dict[str, Any]:
    """Write ``onnx/probe-layers-….onnx`` (+ ``.json``): the probe graph cut to ``layers``."""
    layers = sorted(set(layers))
    spec = json.loads((model_dir / "onnx" / "probe.json").read_text())
    num_layers = int(spec["num_layers"])
    if not layers or layers[0] < 0 or layers[-1] > num_layers:
        raise ValueError(f"hidden_states has entries 0..{num_layers}; asked for {layers}")
    model = _load_probe(model_dir)
    before = len(model.graph.node)
    pick = probe_layers_pick(layers, num_layers)
    for name, keep in pick.items():
        if isinstance(keep, list):
            keep_stacked(model, name, keep)
    prune(model, list(pick))
    read_weights_from_model(model, model_dir)
    path = model_dir / "onnx" / probe_layers_file(layers)
    size = save_graph(model, path)
    meta = {
        "file": path.name,
        "from": "probe.onnx",
        "layers": layers,
        "attention_layers": pick.get("attentions", []),
        "outputs": list(pick),
        "note": "entry i of hidden_states and of the lens outputs is probe.onnx's entry layers[i]; "
        "entry i of attentions is decoder layer attention_layers[i]",
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    tmp.replace(path.with_suffix(".json"))
    return {
        "path": str(path),
        "bytes": size,
        "nodes": len(model.graph.node),
        "nodes_before": before,
        "layers": layers,
        "outputs": list(pick),
    }


def _feeds(sess, ids: np.ndarray, hidden: int) -> dict[str, np.ndarray]:
    b, t = ids.shape
    every = {
        "input_ids": ids,
        "attention_mask": np.ones((b, t), np.int64),
        "tracked_ids": ids[:, :3].copy(),
        "patch_vector": np.zeros((b, hidden), np.float32),
        "patch_layer": np.array([-1], np.int64),
        "patch_position": np.full((b,), -1, np.int64),
    }
    return {i.name: every[i.name] for i in sess.get_inputs()}


def _probe_session(model_dir: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(str(model_dir / "onnx" / "probe.onnx"), so)


def verify_cut(model_dir: Path, file: str, pick: dict[str, list[int] | slice], seed: int = 0, probe=None) -> dict[str, Any]:
    """The cut graph's outputs against the probe graph's chosen entries; ``rel_diff`` is the worst.
    ``probe``: an open session of the probe graph (opened here when not given: 1 GB for Gemma)."""
    import onnxruntime as ort

    spec = json.loads((model_dir / "onnx" / "probe.json").read_text())
    ids = np.random.default_rng(seed).integers(0, int(spec["vocab_size"]), size=(2, 9), dtype=np.int64)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    probe = probe if probe is not None else _probe_session(model_dir)
    cut = ort.InferenceSession(str(model_dir / "onnx" / file), so)
    names = list(pick)
    ref = dict(zip(names, probe.run(names, _feeds(probe, ids, int(spec["hidden_size"])))))
    got = dict(zip(names, cut.run(names, _feeds(cut, ids, int(spec["hidden_size"])))))
    worst = 0.0
    for name, keep in pick.items():
        r = ref[name][keep]
        if got[name].shape != r.shape:
            return {"rel_diff": float("inf"), "shape": list(got[name].shape), "expected": list(r.shape)}
        if name == "lens_topk_ids":
            worst = max(worst, float(np.mean(got[name][..., 0] != r[..., 0])))
        else:
            worst = max(worst, float(np.abs(got[name] - r).max() / max(float(np.abs(r).max()), 1e-12)))
    return {"rel_diff": worst}


def _layers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hyperwords_bridge.graph_cuts", description=__doc__.split("\n")[0])
    p.add_argument("model_dir", type=Path)
    p.add_argument("--embed-upto", type=int, action="append", default=[], help="deepest hidden-states entry (repeatable)")
    p.add_argument("--lens-layers", type=_layers, action="append", default=[], help="comma-separated lens layers (repeatable)")
    p.add_argument(
        "--probe-layers", type=_layers, action="append", default=[],
        help="comma-separated hidden-states entries: the probe graph cut to them (repeatable)",
    )
    p.add_argument("--no-verify", action="store_true")
    args = p.parse_args(argv)
    sigterm_as_interrupt()
    model_dir = args.model_dir.resolve()
    jobs = (
        [("embed", n) for n in args.embed_upto]
        + [("lens", ls) for ls in args.lens_layers]
        + [("layers", ls) for ls in args.probe_layers]
    )
    if jobs:
        try:
            check_step("cuts", model_dir)
        except BridgeError as e:
            error(str(e), code=e.code)
            return 1
    progress("graph-cuts", 0, len(jobs), unit="steps")
    cuts, ok = [], True
    probe = None
    try:
        for i, (kind, arg) in enumerate(jobs):
            if kind == "embed":
                r = cut_embed(model_dir, arg)
                pick = {"hidden_states": list(range(arg + 1))}
            elif kind == "layers":
                r = cut_probe_layers(model_dir, arg)
                num_layers = int(json.loads((model_dir / "onnx" / "probe.json").read_text())["num_layers"])
                pick = probe_layers_pick(r["layers"], num_layers)
            else:
                r = cut_lens(model_dir, arg)
                pick = {name: arg for name in LENS_OUTPUTS} | {"hidden_states": list(range(int(json.loads((model_dir / "onnx" / "probe.json").read_text())["num_layers"]) + 1))}
            if not args.no_verify:
                probe = probe if probe is not None else _probe_session(model_dir)
                r["parity"] = verify_cut(model_dir, Path(r["path"]).name, pick, probe=probe)
                r["parity_ok"] = r["parity"]["rel_diff"] <= 1e-4
                ok = ok and r["parity_ok"]
                if not r["parity_ok"]:
                    # a reader would take the cut over the full graph: a cut that fails is not kept
                    Path(r["path"]).unlink(missing_ok=True)
                    Path(r["path"]).with_suffix(".json").unlink(missing_ok=True)
                log(f"{Path(r['path']).name}: {r['nodes']} of {r['nodes_before']} nodes; against the probe graph {r['parity']['rel_diff']:.2e}", level="info" if r["parity_ok"] else "warn")
            cuts.append(r)
            progress("graph-cuts", i + 1, len(jobs), unit="steps")
    except (FileNotFoundError, ValueError) as e:
        error(str(e), code="bad-model-dir")
        return 2
    done({"cuts": cuts, "parity_ok": ok})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
