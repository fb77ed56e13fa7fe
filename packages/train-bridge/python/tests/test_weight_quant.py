"""Weight-only quantization (MatMulNBits) of an exported generation graph, on tiny random models."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from hyperwords_bridge import export_onnx as ex
from hyperwords_bridge import weight_quant as wq

from .test_export_onnx import WORDS, _tiny


@pytest.mark.parametrize("bits", [4, 8])
def test_pack_round_trip_error_within_half_a_step(bits):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(70, 9)).astype(np.float32)  # K not a multiple of the block: padded
    q, scales = wq.pack_weight(w, bits, 32)
    assert q.dtype == np.uint8 and q.shape == (9, 3, 32 * bits // 8)
    back = wq.unpack_weight(q, scales, bits, 32, 70)
    assert back.shape == w.shape
    # every value within half a quantization step of its block
    step = np.repeat(scales.reshape(9, 3), 32, axis=1)[:, :70].T
    assert np.all(np.abs(back - w) <= step / 2 + 1e-6)
    assert not np.allclose(back, w)  # it is quantized, not copied


def test_pack_refuses_other_widths():
    with pytest.raises(ValueError, match="4 or 8"):
        wq.pack_weight(np.ones((32, 2), np.float32), 3, 32)


@pytest.fixture(scope="module", params=["llama", "gemma3_text"])
def exported(request, tmp_path_factory):
    d = _tiny(request.param, tmp_path_factory.mktemp(request.param))
    ex.export_generation(d)
    return d


def test_matmul_nbits_computes_the_packed_weight():
    """The op's output is x @ the dequantized weight: the packing is the layout onnxruntime reads."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    for bits in (4, 8):
        w = rng.normal(size=(64, 5)).astype(np.float32)
        q, scales = wq.pack_weight(w, bits, 32)
        node = helper.make_node(
            "MatMulNBits", ["x", "q", "s"], ["y"], domain="com.microsoft", K=64, N=5, bits=bits, block_size=32
        )
        g = helper.make_graph(
            [node],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])],
            [numpy_helper.from_array(q, "q"), numpy_helper.from_array(scales, "s")],
        )
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        x = rng.normal(size=(2, 64)).astype(np.float32)
        (y,) = sess.run(None, {"x": x})
        np.testing.assert_allclose(y, x @ wq.unpack_weight(q, scales, bits, 32, 64), rtol=1e-4, atol=1e-4)


def test_quantized_graph_replaces_every_weight_matmul_and_decodes(exported, tmp_path):
    d = exported
    out = tmp_path / "model_w8.onnx"
    made = wq.quantize_graph(d / "onnx" / "model.onnx", out, bits=8, block=32, accuracy_level=0)
    m = onnx.load(str(out), load_external_data=False)
    ops = [n.op_type for n in m.graph.node]
    assert made["matmuls"] == ops.count("MatMulNBits") > 0
    inits = {t.name for t in m.graph.initializer}
    left = [n.name for n in m.graph.node if n.op_type == "MatMul" and n.input[1] in inits]
    assert left == []  # no constant-weight MatMul left in float
    assert (tmp_path / "model_w8.onnx.data").is_file()
    # the check decodes the real tokenizer's prompts through both graphs
    r = wq.parity(d, out, steps=8, prompts=[" ".join(WORDS[:6]), " ".join(WORDS[6:12])])
    assert r["prompts"] == 2 and len(r["agreed_tokens"]) == 2
    assert 0 <= r["greedy_equal"] <= 2 and r["tokens_per_s"] > 0
    # 8 bits in blocks of 32 keeps a tiny model's first choice
    assert r["first_top1_equal"] == 2


def test_excluded_nodes_stay_float(exported, tmp_path):
    d = exported
    full = onnx.load(str(d / "onnx" / "model.onnx"), load_external_data=False)
    inits = {t.name for t in full.graph.initializer}
    first = next(n.name for n in full.graph.node if n.op_type == "MatMul" and n.input[1] in inits)
    out = tmp_path / "model_w4.onnx"
    wq.quantize_graph(d / "onnx" / "model.onnx", out, bits=4, exclude=[first])
    names = {n.name: n.op_type for n in onnx.load(str(out), load_external_data=False).graph.node}
    assert names[first] == "MatMul"
