"""The embedding graph: the probe graph cut down to its ``hidden_states`` output.

    python -m hyperwords_bridge.embed_graph MODEL_DIR [--no-verify]

Reads ``MODEL_DIR/onnx/probe.onnx`` and writes ``MODEL_DIR/onnx/embed.onnx``: the same graph with
every output except ``hidden_states`` removed and every node, initializer and input that only fed
those outputs dropped (the logit lens over the whole vocabulary at every layer, the attention
probabilities, the tracked log-probs). The inputs it keeps are those of the probe graph that
``hidden_states`` depends on (``input_ids``, ``attention_mask`` and the patch inputs); their
meaning is unchanged (see ``probe_graph``). Word vectors read from it are about 8x faster than
from the probe graph. The cut is verified: ``hidden_states`` of both graphs on the same input
must agree within 1e-4 of the states' largest magnitude (onnxruntime may fuse the cut graph's
kernels differently).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .events import BridgeError, done, error, log, progress
from .memcheck import check_step
from .scratch import sigterm_as_interrupt

KEEP = "hidden_states"


def prune_to_output(model: Any, keep: str = KEEP) -> dict[str, int]:
    """Cut an ``onnx.ModelProto`` in place to the one output ``keep``; returns counts before/after."""
    import onnx

    outputs = [o for o in model.graph.output if o.name == keep]
    if not outputs:
        raise ValueError(f"the graph has no output named {keep!r}")
    before = {"nodes": len(model.graph.node), "initializers": len(model.graph.initializer)}
    needed = {keep}
    alive = []
    for node in reversed(list(model.graph.node)):
        if any(o in needed for o in node.output):
            for a in node.attribute:
                if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                    raise ValueError(f"node {node.name or node.op_type} has a subgraph; cutting it is not supported")
            alive.append(node)
            needed.update(i for i in node.input if i)
    alive.reverse()
    del model.graph.output[:]
    model.graph.output.extend(outputs)
    del model.graph.node[:]
    model.graph.node.extend(alive)
    inits = [i for i in model.graph.initializer if i.name in needed]
    del model.graph.initializer[:]
    model.graph.initializer.extend(inits)
    inputs = [i for i in model.graph.input if i.name in needed]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    vinfo = [v for v in model.graph.value_info if v.name in needed]
    del model.graph.value_info[:]
    model.graph.value_info.extend(vinfo)
    return {
        "nodes_before": before["nodes"],
        "nodes": len(alive),
        "initializers_before": before["initializers"],
        "initializers": len(inits),
    }


def export_embed(model_dir: Path) -> dict[str, Any]:
    """Write ``onnx/embed.onnx`` from ``onnx/probe.onnx`` (atomically: temp file, then rename)."""
    import onnx

    src = model_dir / "onnx" / "probe.onnx"
    if not src.is_file():
        raise FileNotFoundError(f"{src} does not exist: export the probe graph first (hyperwords_bridge.probe_graph)")
    # a probe graph that reads weights.safetensors (``base_graphs``) gives an embedding graph that
    # reads it too: references stay references in the same folder
    model = onnx.load(str(src), load_external_data=False)
    counts = prune_to_output(model)
    out = model_dir / "onnx" / "embed.onnx"
    tmp = out.with_name(f".embed.onnx.{os.getpid()}.tmp")
    try:
        onnx.save(model, str(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"path": str(out), "bytes": out.stat().st_size, "inputs": [i.name for i in model.graph.input], **counts}


def _feeds(sess, ids: np.ndarray, hidden: int) -> dict[str, np.ndarray]:
    b, t = ids.shape
    all_feeds = {
        "input_ids": ids,
        "attention_mask": np.ones((b, t), dtype=np.int64),
        "tracked_ids": np.zeros((b, 1), dtype=np.int64),
        "patch_vector": np.zeros((b, hidden), dtype=np.float32),
        "patch_layer": np.array([-1], dtype=np.int64),
        "patch_position": np.full((b,), -1, dtype=np.int64),
    }
    return {i.name: all_feeds[i.name] for i in sess.get_inputs()}


def verify_embed(model_dir: Path, seed: int = 0, probe=None, optimize: bool = True) -> dict[str, Any]:
    """``hidden_states`` of embed.onnx against probe.onnx on random ids: the max abs difference.

    ``probe``: an open session of the folder's probe.onnx, when the caller has one (opening the
    probe graph costs seconds). ``optimize=False``: the sessions without graph optimisations
    (``export_onnx.check_options``)."""
    import json

    import onnxruntime as ort

    spec = json.loads((model_dir / "onnx" / "probe.json").read_text())
    hidden = int(spec["hidden_size"])
    vocab = int(spec.get("vocab_size", 1000))
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=(2, 9), dtype=np.int64)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, (os.cpu_count() or 1))
    if not optimize:
        from hyperwords_bridge.export_onnx import check_options

        check_options(opts)
    if probe is None:
        probe = ort.InferenceSession(str(model_dir / "onnx" / "probe.onnx"), opts)
    embed = ort.InferenceSession(str(model_dir / "onnx" / "embed.onnx"), opts)
    (hp,) = probe.run([KEEP], _feeds(probe, ids, hidden))
    (he,) = embed.run([KEEP], _feeds(embed, ids, hidden))
    if hp.shape != he.shape:
        return {"max_abs_diff": float("inf"), "rel_diff": float("inf"), "shape": list(he.shape), "probe_shape": list(hp.shape)}
    diff = float(np.max(np.abs(hp - he)))
    # onnxruntime fuses the cut graph's kernels differently: compare against the states' scale
    return {"max_abs_diff": diff, "rel_diff": diff / max(float(np.max(np.abs(hp))), 1e-12), "shape": list(he.shape)}


def main(argv: list[str] | None = None) -> int:
    from .events import die_with_parent
    die_with_parent()  # a killed host leaves no worker behind
    p = argparse.ArgumentParser(prog="python -m hyperwords_bridge.embed_graph", description=__doc__.split("\n")[0])
    p.add_argument("model_dir", type=Path)
    p.add_argument("--no-verify", action="store_true")
    args = p.parse_args(argv)
    sigterm_as_interrupt()
    model_dir = args.model_dir.resolve()
    task = "embed-graph"
    steps = 1 if args.no_verify else 2
    progress(task, 0, steps, unit="steps")
    try:
        check_step("embed", model_dir)
        result: dict[str, Any] = {"embed": export_embed(model_dir)}
    except BridgeError as e:
        error(str(e), code=e.code)
        return 1
    except (FileNotFoundError, ValueError) as e:
        error(str(e), code="bad-model-dir")
        return 2
    progress(task, 1, steps, unit="steps")
    ok = True
    if not args.no_verify:
        v = verify_embed(model_dir)
        result["parity"] = v
        ok = v["rel_diff"] <= 1e-4
        log(
            f"embed graph: {result['embed']['nodes']} of {result['embed']['nodes_before']} nodes kept; "
            f"hidden_states against the probe graph: max abs diff {v['max_abs_diff']:.2e}, relative {v['rel_diff']:.2e}",
            level="info" if ok else "warn",
        )
        progress(task, 2, steps, unit="steps")
    result["parity_ok"] = ok
    done(result)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
