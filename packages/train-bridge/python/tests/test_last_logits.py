"""The generation graph cut to last-position logits: same next-token logits, [B, 1, V]."""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hyperwords_bridge import export_onnx as ex
from hyperwords_bridge.last_logits import SLICE_NAME, cut_graph, cut_to_last_position

from .test_export_onnx import _tiny


def _graph(after: list[str], path, seed: int = 0):
    """x [B, T, 4] -> MatMul W [4, 6] -> ops in ``after`` -> logits; saved at ``path``."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.normal(size=(4, 6)).astype(np.float32), "W")]
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h0"], name="/lm_head/MatMul")]
    cur = "h0"
    for i, op in enumerate(after):
        out = "logits" if i == len(after) - 1 else f"h{i + 1}"
        if op in ("Div", "Mul"):
            c = f"c{i}"
            inits.append(numpy_helper.from_array(np.array(3.0, dtype=np.float32), c))
            nodes.append(helper.make_node(op, [cur, c], [out], name=f"n{i}"))
        else:
            nodes.append(helper.make_node(op, [cur], [out], name=f"n{i}"))
        cur = out
    if not after:
        nodes[0].output[0] = "logits"
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", 6])],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(m, str(path))
    return path


def _run(path, x):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["logits"], {"x": x})[0]


@pytest.mark.parametrize("after", [[], ["Div", "Tanh", "Mul"]])
def test_cut_keeps_the_last_position(tmp_path, after):
    x = np.random.default_rng(1).normal(size=(3, 5, 4)).astype(np.float32)
    full = _graph(after, tmp_path / "full.onnx")
    ref = _run(full, x)
    cut = tmp_path / "cut.onnx"
    shutil.copy(full, cut)
    done = cut_to_last_position(cut)
    assert done["cut"] and done["projection"] == "/lm_head/MatMul"
    got = _run(cut, x)
    assert got.shape == (3, 1, 6)
    np.testing.assert_array_equal(got[:, 0], ref[:, -1])
    dims = onnx.load(str(cut)).graph.output[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 1


def test_cut_twice_is_a_no_op(tmp_path):
    g = _graph(["Div", "Tanh", "Mul"], tmp_path / "g.onnx")
    assert cut_to_last_position(g)["cut"]
    first = g.read_bytes()
    assert cut_to_last_position(g) == {"cut": True, "already": True}
    assert g.read_bytes() == first
    assert sum(n.name == SLICE_NAME for n in onnx.load(str(g)).graph.node) == 1


def test_a_graph_without_a_projection_is_left_alone(tmp_path):
    g = _graph(["Softmax"], tmp_path / "g.onnx")
    before = g.read_bytes()
    done = cut_to_last_position(g)
    assert done == {"cut": False, "reason": '"logits" is made by Softmax, not by the output projection'}
    assert g.read_bytes() == before
    m = onnx.load(str(g))
    m.graph.output[0].name = "scores"
    assert cut_graph(m) == {"cut": False, "reason": 'the graph has no "logits" output'}


@pytest.mark.parametrize("arch", ["llama", "gemma3_text"])
def test_exported_graph_gives_the_full_graphs_next_token_logits(tmp_path, arch):
    """The optimum export before and after the cut, on a left-padded batch and a decode step
    with its cache: the same last-position logits and the same cache."""
    from transformers import AutoConfig

    d = _tiny(arch, tmp_path / "m")
    raw = tmp_path / "raw"
    with ex.stdout_to_stderr():
        ex._export_with_optimum(d, raw, None)
    cut = raw / "cut.onnx"
    shutil.copy(raw / "model.onnx", cut)
    assert cut_to_last_position(cut)["cut"]
    config = AutoConfig.from_pretrained(str(d))
    sessions = [ex._ort_session(raw / "model.onnx"), ex._ort_session(cut)]
    rng = np.random.default_rng(2)
    ids = rng.integers(3, 256, size=(2, 7)).astype(np.int64)
    mask = np.ones_like(ids)
    mask[1, :3] = 0  # the second row left-padded by 3
    pos = np.maximum(np.cumsum(mask, axis=1) - 1, 0)
    outs = []
    for sess in sessions:
        names = [o.name for o in sess.get_outputs()]
        first = dict(zip(names, sess.run(None, ex._ort_feed(sess, ids, mask, pos, ex._empty_past(sess, 2, config)))))
        past = {n.replace("present.", "past_key_values."): v for n, v in first.items() if n.startswith("present.")}
        nxt = first["logits"][:, -1].argmax(-1)[:, None].astype(np.int64)
        mask2 = np.concatenate([mask, np.ones((2, 1), np.int64)], axis=1)
        second = dict(zip(names, sess.run(None, ex._ort_feed(sess, nxt, mask2, pos[:, -1:] + 1, past))))
        outs.append((first, second))
    (f0, s0), (f1, s1) = outs
    assert f0["logits"].shape == (2, 7, 256) and f1["logits"].shape == (2, 1, 256)
    np.testing.assert_allclose(f1["logits"][:, 0], f0["logits"][:, -1], rtol=0, atol=1e-5)
    np.testing.assert_allclose(s1["logits"][:, 0], s0["logits"][:, -1], rtol=0, atol=1e-5)
    np.testing.assert_array_equal(f1["present.0.key"], f0["present.0.key"])


def test_undo_gives_every_position_again(tmp_path):
    from hyperwords_bridge.last_logits import main

    x = np.random.default_rng(3).normal(size=(2, 4, 4)).astype(np.float32)
    g = _graph(["Div", "Tanh", "Mul"], tmp_path / "g.onnx")
    ref = _run(g, x)
    assert main([str(g)]) == 0
    assert _run(g, x).shape == (2, 1, 6)
    assert main([str(g), "--undo"]) == 0
    np.testing.assert_array_equal(_run(g, x), ref)
    m = onnx.load(str(g))
    assert not [n for n in m.graph.node if n.name.startswith(SLICE_NAME)]
    assert m.graph.output[0].type.tensor_type.shape.dim[1].dim_param == "sequence_length"
    assert main([str(g), "--undo"]) == 0  # not cut: left alone
