"""The embedding graph: the probe graph cut to hidden_states, on tiny llama and gemma3_text models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from hyperwords_bridge import embed_graph as eg
from hyperwords_bridge import probe_graph as pg

from .test_probe_graph import BUILDERS


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def cut(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(f"embed-{request.param}")
    BUILDERS[request.param](d)
    pg.export_probe(d, k=5, model=pg.load_torch_model(d, eager=True))
    return d, eg.export_embed(d)


def test_only_hidden_states_left(cut):
    d, result = cut
    m = onnx.load(str(d / "onnx" / "embed.onnx"))
    assert [o.name for o in m.graph.output] == ["hidden_states"]
    assert "tracked_ids" not in [i.name for i in m.graph.input]
    assert {"input_ids", "attention_mask"} <= {i.name for i in m.graph.input}
    assert result["nodes"] < result["nodes_before"]
    assert list((d / "onnx").glob(".embed.onnx.*")) == []


def test_hidden_states_equal_the_probe_graph(cut):
    d, _ = cut
    v = eg.verify_embed(d, seed=5)
    assert v["rel_diff"] <= 1e-5, v


def test_cli_emits_ndjson(cut):
    d, _ = cut
    pkg_root = Path(eg.__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "hyperwords_bridge.embed_graph", str(d)],
        cwd=pkg_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    evs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert evs[-1]["type"] == "done" and evs[-1]["result"]["parity_ok"] is True


def test_without_probe_graph_is_a_clear_error(tmp_path, event_stream):
    (tmp_path / "onnx").mkdir()
    assert eg.main([str(tmp_path)]) == 2
    (ev,) = [e for e in event_stream() if e["type"] == "error"]
    assert "probe.onnx" in ev["message"] and "does not exist" in ev["message"]


def test_unknown_output_is_refused():
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    with pytest.raises(ValueError, match="hidden_states"):
        eg.prune_to_output(helper.make_model(g))
