"""Graphs cut to their use, on tiny llama and gemma3_text models: the embedding graph up to a layer
and the probe graph's lens on a subset of layers, against the full probe graph."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from hyperwords_bridge import graph_cuts as gc
from hyperwords_bridge import probe_check as pc
from hyperwords_bridge.graph_weights import WEIGHTS_FILE



@pytest.fixture
def model_dir(probed_dir):
    return probed_dir


def _run(path, ids, names):
    sess = pc.ort_probe_session(path)
    hidden = json.loads((path.parent / "probe.json").read_text())["hidden_size"]
    return dict(zip(names, sess.run(names, gc._feeds(sess, ids, hidden))))


def _ids(model_dir):
    vocab = json.loads((model_dir / "onnx" / "probe.json").read_text())["vocab_size"]
    return np.random.default_rng(5).integers(0, vocab, size=(2, 7)).astype(np.int64)


def test_embed_upto_keeps_the_lower_layers(model_dir):
    r = gc.cut_embed(model_dir, 1)
    assert r["nodes"] < r["nodes_before"] / 2
    ids = _ids(model_dir)
    full = _run(model_dir / "onnx" / "probe.onnx", ids, ["hidden_states"])["hidden_states"]
    cut = _run(model_dir / "onnx" / gc.embed_file(1), ids, ["hidden_states"])["hidden_states"]
    assert cut.shape == (2, *full.shape[1:])
    assert np.abs(cut - full[:2]).max() <= 1e-5 * np.abs(full[:2]).max()


def test_cut_reads_weights_from_the_safetensors(model_dir):
    import onnx

    gc.cut_embed(model_dir, 0)
    assert os.path.samefile(model_dir / "onnx" / WEIGHTS_FILE, model_dir / "model.safetensors")
    m = onnx.load(str(model_dir / "onnx" / gc.embed_file(0)), load_external_data=False)
    assert [i.name for i in m.graph.initializer if len(i.raw_data) > 4096] == []


def test_lens_subset_matches_the_probe(model_dir):
    layers = [0, 2]
    r = gc.cut_lens(model_dir, layers)
    assert r["nodes"] < r["nodes_before"]
    ids = _ids(model_dir)
    names = [*gc.LENS_OUTPUTS, "hidden_states", "logits"]
    full = _run(model_dir / "onnx" / "probe.onnx", ids, names)
    cut = _run(model_dir / "onnx" / gc.lens_file(layers), ids, names)
    assert np.array_equal(cut["lens_topk_ids"], full["lens_topk_ids"][layers])
    assert np.abs(cut["lens_topk_logprobs"] - full["lens_topk_logprobs"][layers]).max() <= 1e-5
    assert np.abs(cut["tracked_logprobs"] - full["tracked_logprobs"][layers]).max() <= 1e-5
    assert cut["hidden_states"].shape == full["hidden_states"].shape
    assert np.abs(cut["logits"] - full["logits"]).max() <= 1e-4


def test_layer_outside_the_stack_is_refused(model_dir):
    with pytest.raises(ValueError, match="entries 0"):
        gc.cut_embed(model_dir, 99)


def test_cli_verifies_each_cut(model_dir, event_stream):
    assert gc.main([str(model_dir), "--embed-upto", "1", "--lens-layers", "1,2"]) == 0
    (done,) = [e for e in event_stream() if e["type"] == "done"]
    assert done["result"]["parity_ok"] and len(done["result"]["cuts"]) == 2
    assert all(c["parity"]["rel_diff"] <= 1e-4 for c in done["result"]["cuts"])


def test_cli_deletes_a_cut_that_fails_parity(model_dir, event_stream, monkeypatch):
    monkeypatch.setattr(gc, "verify_cut", lambda *a, **k: {"rel_diff": 1.0})
    assert gc.main([str(model_dir), "--embed-upto", "2"]) == 1
    (done,) = [e for e in event_stream() if e["type"] == "done"]
    assert done["result"]["parity_ok"] is False
    assert not (model_dir / "onnx" / gc.embed_file(2)).exists()


@pytest.mark.parametrize("layers", [[0, 1], [1, 2], [0]])
def test_probe_cut_to_layers_matches_the_probe(model_dir, layers):
    num_layers = json.loads((model_dir / "onnx" / "probe.json").read_text())["num_layers"]
    r = gc.cut_probe_layers(model_dir, layers)
    assert r["nodes"] < r["nodes_before"]
    pick = gc.probe_layers_pick(layers, num_layers)
    assert ("logits" in r["outputs"]) == (max(layers) == num_layers)
    assert ("attentions" in r["outputs"]) == (max(layers) >= 1)
    ids = _ids(model_dir)
    full = _run(model_dir / "onnx" / "probe.onnx", ids, list(pick))
    cut = _run(model_dir / "onnx" / gc.probe_layers_file(layers), ids, list(pick))
    for name, keep in pick.items():
        ref = full[name][keep]
        assert cut[name].shape == ref.shape, name
        if name == "lens_topk_ids":
            assert np.array_equal(cut[name], ref)
        else:
            assert np.abs(cut[name] - ref).max() <= 1e-5 * max(1.0, float(np.abs(ref).max())), name
    meta = json.loads((model_dir / "onnx" / gc.probe_layers_file(layers)).with_suffix(".json").read_text())
    assert meta["layers"] == layers and meta["attention_layers"] == [j - 1 for j in layers if j >= 1]


def test_probe_cut_outside_the_stack_is_refused(model_dir):
    with pytest.raises(ValueError, match="entries 0"):
        gc.cut_probe_layers(model_dir, [0, 99])


def test_cli_verifies_a_probe_layers_cut(model_dir, event_stream):
    assert gc.main([str(model_dir), "--probe-layers", "1", "--no-verify"]) == 0
    assert gc.main([str(model_dir), "--probe-layers", "0,1"]) == 0
    done = [e for e in event_stream() if e["type"] == "done"][-1]
    (cut,) = done["result"]["cuts"]
    assert cut["layers"] == [0, 1] and cut["parity_ok"]
