"""A model folder's own graphs rewritten to read ``model.safetensors``: the same outputs from graphs
of a few KB, a tuned version patched from them as from the inline ones, and the inline graphs back
when the check fails."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from hyperwords_bridge import base_graphs as bg
from hyperwords_bridge import tuned_graphs as tg
from hyperwords_bridge.embed_graph import _feeds as embed_feeds
from hyperwords_bridge.export_onnx import _ort_session, ort_greedy
from hyperwords_bridge.graph_weights import WEIGHTS_FILE
from hyperwords_bridge.probe_check import ort_probe_session, run_probe

from .finetune_fixtures import make_job, run_job, tiny_base
from .test_probe_graph import _tiny_gemma3
from .test_tuned_graphs import _export_all


def _outputs(folder: Path) -> dict[str, np.ndarray]:
    """Each graph's outputs on one prompt: generation logits of 4 greedy steps, the probe's hidden
    states and logits, the embedding graph's hidden states."""
    import onnxruntime as ort
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(folder)
    vocab = int(config.vocab_size)
    ids = (np.arange(11, dtype=np.int64)[None, :] * 37 + 5) % vocab
    logits, _ = ort_greedy(_ort_session(folder / "onnx" / "model.onnx"), config, ids, 4)
    probe = run_probe(ort_probe_session(folder / "onnx" / "probe.onnx"), ids, tracked_ids=np.array([[0, vocab - 1]]))
    embed = ort.InferenceSession(str(folder / "onnx" / "embed.onnx"))
    hidden = int(json.loads((folder / "onnx" / "probe.json").read_text())["hidden_size"])
    (states,) = embed.run(["hidden_states"], embed_feeds(embed, ids, hidden))
    return {"generation": logits, "probe_hidden": probe["hidden_states"], "probe_logits": probe["logits"], "embed": states}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module", params=["llama", "gemma3_text"])
def rewritten(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    folder = _tiny_gemma3(tmp / "base") if request.param == "gemma3_text" else tiny_base(tmp / "base", tied=True)
    _export_all(folder)
    before = _outputs(folder)
    sizes = {g: (folder / "onnx" / g).stat().st_size for g in tg.GRAPHS}
    shutil.copy2(folder / "onnx" / "model.onnx", tmp / "inline-model.onnx")
    result = bg.refer_to_weights(folder)
    return {"kind": request.param, "folder": folder, "before": before, "sizes": sizes, "result": result, "tmp": tmp}


def test_same_outputs_from_small_graphs(rewritten):
    folder = rewritten["folder"]
    assert rewritten["result"]["parity"]["ok"]
    assert bg.is_done(folder)
    assert (folder / "onnx" / WEIGHTS_FILE).samefile(folder / "model.safetensors")
    after = _outputs(folder)
    for k, v in rewritten["before"].items():
        assert np.abs(after[k] - v).max() <= 1e-5 * max(1.0, float(np.abs(v).max())), k
    import onnx

    for g in tg.GRAPHS:
        assert (folder / "onnx" / g).stat().st_size < rewritten["sizes"][g]
        assert rewritten["result"]["graphs"][g]["parameters"] > 0
        graph = onnx.load(str(folder / "onnx" / g), load_external_data=False).graph
        big = [i.name for i in graph.initializer if int(np.prod(i.dims)) >= 256 and i.data_location != onnx.TensorProto.EXTERNAL]
        assert big == [], (g, big)
        assert not (folder / "onnx" / f"{g}.inline").exists()


def test_a_second_run_finds_it_done_and_an_export_undoes_it(rewritten):
    folder = rewritten["folder"]
    assert bg.is_done(folder)
    # an export writes a graph again, inline: the folder is not done any more
    (folder / "onnx" / "model.onnx").touch()
    assert not bg.is_done(folder)
    bg.refer_to_weights(folder, verify=False)
    assert bg.is_done(folder)


def test_a_tuned_version_patches_from_the_rewritten_graphs(rewritten, tmp_path):
    if rewritten["kind"] != "llama":
        pytest.skip("one architecture is enough for the patch (the tuned-graph tests cover both)")
    base = rewritten["folder"]
    result = run_job(make_job(base, tmp_path / "work"))
    tuned = tmp_path / "tuned"
    shutil.copytree(Path(result["merged_dir"]), tuned, ignore=shutil.ignore_patterns("onnx"))
    out = tg.export_tuned(tuned, base)
    assert out["mode"] == "patched", out.get("fallback_reason")
    assert out["parity"]["ok"]


def test_a_failed_check_keeps_the_inline_graphs(tmp_path):
    """model.safetensors that is not what the graphs were exported from: the graphs' weights match no
    parameter or a wrong one, PyTorch disagrees with them, and the inline graphs stay, byte for byte;
    the folder is done (the pull goes on with graphs that work as before) and says why."""
    from safetensors.numpy import load_file, save_file

    folder = tiny_base(tmp_path / "base", tied=True)
    _export_all(folder)
    shas = {g: _sha(folder / "onnx" / g) for g in tg.GRAPHS}
    weights = folder / "model.safetensors"
    tensors = load_file(str(weights))
    name = next(k for k in sorted(tensors) if k.endswith("layers.0.mlp.up_proj.weight"))
    tensors[name] = tensors[name] + np.float32(0.5)
    save_file(tensors, str(weights), metadata={"format": "pt"})
    out = bg.refer_to_weights(folder)
    assert out["mode"] == "inline" and "do not match PyTorch" in out["reason"]
    assert {g: _sha(folder / "onnx" / g) for g in tg.GRAPHS} == shas
    assert bg.is_done(folder)
    assert json.loads((folder / "onnx" / bg.RECORD).read_text())["mode"] == "inline"
    assert not any((folder / "onnx").glob("*.inline"))


def test_an_error_puts_the_inline_graphs_back(tmp_path):
    """A graph that cannot be read (a truncated probe graph) stops the step with its error, and the
    graphs rewritten before it are inline again."""
    folder = tiny_base(tmp_path / "base", tied=True)
    _export_all(folder)
    probe = folder / "onnx" / "probe.onnx"
    probe.write_bytes(probe.read_bytes()[:1000])
    shas = {g: _sha(folder / "onnx" / g) for g in tg.GRAPHS}
    with pytest.raises(Exception):
        bg.refer_to_weights(folder)
    assert {g: _sha(folder / "onnx" / g) for g in tg.GRAPHS} == shas
    assert not bg.is_done(folder)
    assert not any((folder / "onnx").glob("*.inline"))


def test_weight_only_quantization_reads_the_references(rewritten, tmp_path):
    """``weight_quant`` on a graph that reads weights.safetensors quantizes the MatMuls it would
    quantize inline, the output projection through its Transpose too, to the same numbers."""
    import onnx
    from transformers import AutoConfig

    from hyperwords_bridge import weight_quant as wq

    folder = rewritten["folder"]
    inline = wq.quantize_graph(rewritten["tmp"] / "inline-model.onnx", tmp_path / "inline_w8.onnx", bits=8)
    out = folder / "onnx" / "model_w8.onnx"
    try:
        made = wq.quantize_graph(folder / "onnx" / "model.onnx", out, bits=8)
        assert made["matmuls"] == inline["matmuls"] > 0
        graph = onnx.load(str(out), load_external_data=False).graph
        assert [n.name for n in graph.node if n.op_type == "Transpose" and n.name.endswith(".transpose")] == []
        config = AutoConfig.from_pretrained(folder)
        ids = (np.arange(9, dtype=np.int64)[None, :] * 41 + 3) % int(config.vocab_size)
        a, _ = ort_greedy(_ort_session(out), config, ids, 3)
        b, _ = ort_greedy(_ort_session(tmp_path / "inline_w8.onnx"), config, ids, 3)
        assert np.abs(a - b).max() <= 1e-5 * max(1.0, float(np.abs(b).max()))
    finally:
        out.unlink(missing_ok=True)
        out.with_name(out.name + ".data").unlink(missing_ok=True)


def test_the_embedding_graph_is_cut_from_a_rewritten_probe_graph(rewritten, tmp_path):
    from hyperwords_bridge.embed_graph import export_embed, verify_embed

    folder = tmp_path / "copy"
    shutil.copytree(rewritten["folder"], folder)
    made = export_embed(folder)
    assert made["bytes"] < rewritten["sizes"]["embed.onnx"]
    assert verify_embed(folder)["rel_diff"] <= 1e-5
    assert np.abs(_outputs(folder)["embed"] - rewritten["before"]["embed"]).max() <= 1e-5

