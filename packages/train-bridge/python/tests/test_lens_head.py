"""The lens head against the probe graph's own lens, on tiny models of each family."""

from __future__ import annotations

import os

import pytest

from hyperwords_bridge import lens_head as lh
from hyperwords_bridge.graph_weights import WEIGHTS_FILE

from .test_probe_graph import BUILDERS


@pytest.fixture
def model_dir(probed_dir):
    return probed_dir


def test_lens_head_is_the_probe_graphs_lens(model_dir):
    r = lh.export_lens(model_dir)
    assert r["bytes"] < 1 << 20  # the weights stay in the safetensors file
    assert os.path.samefile(model_dir / "onnx" / WEIGHTS_FILE, model_dir / "model.safetensors")
    v = lh.verify_lens(model_dir, seed=3)
    assert v["top1_agreement"] == 1.0
    assert v["rel_diff"] <= 1e-5


def test_cli_checks_the_head_and_deletes_one_that_fails(model_dir, event_stream, monkeypatch):
    assert lh.main([str(model_dir)]) == 0
    (done,) = [e for e in event_stream() if e["type"] == "done"]
    assert done["result"]["parity_ok"]
    monkeypatch.setattr(lh, "verify_lens", lambda *a, **k: {"top1_agreement": 0.5, "rel_diff": 0.0, "rows": 1})
    assert lh.main([str(model_dir)]) == 1
    assert not (model_dir / "onnx" / lh.LENS_FILE).exists()


def test_a_folder_without_a_probe_graph_is_refused(tmp_path, event_stream):
    BUILDERS[sorted(BUILDERS)[0]](tmp_path)
    assert lh.main([str(tmp_path)]) == 2
    (err,) = [e for e in event_stream() if e["type"] == "error"]
    assert "probe.json" in err["message"]
