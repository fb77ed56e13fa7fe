"""The generation graph's logits at the last position only.

The exported generation graph computes ``logits`` ``[B, T, V]``: the output projection for every
position it is fed. Every reader takes the last position alone (the next token), so on a batch's
first step, which feeds whole prompts, almost all of that work is thrown away. For Gemma 3 270M
the projection (262k x 640) is most of the model's arithmetic per position: a prompt of 40 tokens
costs 40 projections where one is used, and their ``[B, T, 262144]`` floats (40 MB per prompt).

:func:`cut_to_last_position` rewrites the graph so the projection reads only the last position:
a ``Slice`` (``[:, -1:, :]``) on its input, and ``logits`` becomes ``[B, 1, V]``. Readers that
take row ``dims[1] - 1`` of ``logits`` read the same values as before. Only the graph's proto
changes: its weights stay where they are (external data beside it), so the rewrite is quick even
for a big model.

The projection is found from ``logits`` backwards through element-wise ops (a soft cap's
``Div``/``Tanh``/``Mul``, a ``Cast``) to the first ``MatMul`` or ``Gemm``. A graph where that walk
finds none is left as it is, and the result says why (``cut: false``).

    python -m hyperwords_bridge.last_logits GRAPH.onnx [--undo]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Sequence

SLICE_NAME = "/hyperwords/last_position/Slice"
"""The inserted node's name: a graph that has it is already cut."""

PASS_THROUGH = {"Cast", "Div", "Mul", "Tanh", "Add", "Sub", "Identity"}
"""Element-wise ops between the projection and ``logits`` (a soft cap: Div, Tanh, Mul)."""

INT64_MAX = (1 << 63) - 1


def _projection(graph: Any) -> tuple[Any, str | None]:
    """The MatMul/Gemm that makes ``logits`` and why not, if there is none."""
    producer = {o: n for n in graph.node for o in n.output}
    constants = {t.name for t in graph.initializer} | {
        o for n in graph.node if n.op_type == "Constant" for o in n.output
    }
    name = "logits"
    for _ in range(16):
        node = producer.get(name)
        if node is None:
            return None, f'no node makes "{name}"'
        if node.op_type in ("MatMul", "Gemm"):
            return node, None
        if node.op_type not in PASS_THROUGH:
            return None, f'"{name}" is made by {node.op_type}, not by the output projection'
        moving = [i for i in node.input if i and i not in constants]
        if len(moving) != 1:
            return None, f"{node.op_type} {node.name} mixes {len(moving)} non-constant inputs"
        name = moving[0]
    return None, "no MatMul within 16 element-wise ops of logits"


def cut_graph(model: Any) -> dict[str, Any]:
    """Rewrite ``model`` (an ``onnx.ModelProto``) in place; returns what was done."""
    from onnx import TensorProto, helper

    graph = model.graph
    if not any(o.name == "logits" for o in graph.output):
        return {"cut": False, "reason": 'the graph has no "logits" output'}
    if any(n.name == SLICE_NAME for n in graph.node):
        return {"cut": True, "already": True}
    node, why = _projection(graph)
    if node is None:
        return {"cut": False, "reason": why}
    hidden = node.input[0]
    sliced = hidden + "/last_position"
    consts = []
    for suffix, value in (("starts", -1), ("ends", INT64_MAX), ("axes", 1)):
        consts.append(
            helper.make_node(
                "Constant",
                [],
                [f"{SLICE_NAME}/{suffix}"],
                name=f"{SLICE_NAME}/{suffix}",
                value=helper.make_tensor(f"{SLICE_NAME}/{suffix}/value", TensorProto.INT64, [1], [value]),
            )
        )
    cut = helper.make_node(
        "Slice",
        [hidden, *(c.output[0] for c in consts)],
        [sliced],
        name=SLICE_NAME,
    )
    at = list(graph.node).index(node)
    for i, n in enumerate([*consts, cut]):
        graph.node.insert(at + i, n)
    node.input[0] = sliced
    # the declared sequence axis of logits and of the projection's output is 1 now (the ops the
    # walk passed through keep their declared shapes: onnxruntime infers them)
    for vi in [*graph.output, *graph.value_info]:
        if vi.name in ("logits", node.output[0]):
            dims = vi.type.tensor_type.shape.dim
            if len(dims) == 3:
                dims[1].Clear()
                dims[1].dim_value = 1
    return {"cut": True, "projection": node.name, "input": hidden}


def uncut_graph(model: Any) -> dict[str, Any]:
    """Undo :func:`cut_graph` on ``model`` in place: ``logits`` at every position again (the
    benchmark's reference side)."""
    graph = model.graph
    cut = next((n for n in graph.node if n.name == SLICE_NAME), None)
    if cut is None:
        return {"uncut": False, "reason": "the graph is not cut"}
    readers = [n for n in graph.node if cut.output[0] in n.input]
    for n in readers:
        for i, name in enumerate(n.input):
            if name == cut.output[0]:
                n.input[i] = cut.input[0]
    gone = {SLICE_NAME, *(f"{SLICE_NAME}/{s}" for s in ("starts", "ends", "axes"))}
    kept = [n for n in graph.node if n.name not in gone]
    del graph.node[:]
    graph.node.extend(kept)
    for vi in [*graph.output, *graph.value_info]:
        if vi.name in ("logits", *(o for n in readers for o in n.output)):
            dims = vi.type.tensor_type.shape.dim
            if len(dims) == 3:
                dims[1].Clear()
                dims[1].dim_param = "sequence_length"
    return {"uncut": True}


def _rewrite(path: Path, change: Any, changed: str) -> dict[str, Any]:
    """Apply ``change`` to the graph file's proto and write it back atomically when it did
    something (the result's ``changed`` key is true); external data is left as it is."""
    import onnx

    path = Path(path)
    model = onnx.load(str(path), load_external_data=False)
    done = change(model)
    if done.get(changed) and not done.get("already"):
        tmp = path.with_name(path.name + ".cut.tmp")
        onnx.save_model(model, str(tmp))
        os.replace(tmp, path)
    return done


def cut_to_last_position(path: Path) -> dict[str, Any]:
    """Cut the graph file ``path`` (see :func:`cut_graph`)."""
    return _rewrite(path, cut_graph, "cut")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hyperwords_bridge.last_logits", description=__doc__.split("\n")[0])
    ap.add_argument("graph", type=Path)
    ap.add_argument("--undo", action="store_true", help="logits at every position again")
    a = ap.parse_args(argv)
    print(json.dumps(_rewrite(a.graph, uncut_graph, "uncut") if a.undo else cut_to_last_position(a.graph)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
