"""Memory checks: a clear ``not-enough-memory`` error before a heavy step loads a model it cannot hold."""

from __future__ import annotations

import json

import pytest

from hyperwords_bridge import embed_graph, export_onnx, graph_cuts, import_model, lens_head, memcheck, probe_graph
from hyperwords_bridge.events import BridgeError

MEMINFO = """MemTotal:       24683864 kB
MemFree:         9864200 kB
MemAvailable:    6054688 kB
Buffers:          123456 kB
Cached:          8000000 kB
SwapTotal:             0 kB
HugePages_Total:       0
"""
OLD_KERNEL = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n"

# Qwen2.5-0.5B's config (494,032,768 parameters)
QWEN05 = {
    "model_type": "qwen2",
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
}
# Gemma 3 1B's text config (999,885,952 parameters)
GEMMA3_1B = {
    "model_type": "gemma3_text",
    "hidden_size": 1152,
    "intermediate_size": 6912,
    "num_hidden_layers": 26,
    "num_attention_heads": 4,
    "num_key_value_heads": 1,
    "head_dim": 256,
    "vocab_size": 262144,
}


def test_meminfo_available_and_the_old_kernel_fallback():
    assert memcheck.parse_meminfo(MEMINFO) == 6054688 * 1024
    assert memcheck.parse_meminfo(OLD_KERNEL) == (100 + 20 + 300) * 1024
    with pytest.raises(ValueError):
        memcheck.parse_meminfo("nothing here\n")


def test_a_cgroup_v2_limit_below_meminfo_wins(tmp_path):
    group = tmp_path / "job"
    group.mkdir()
    (group / "memory.max").write_text("4000000000\n")
    (group / "memory.current").write_text("1000000000\n")
    avail, source = memcheck.available_bytes(MEMINFO, "0::/job\n", tmp_path)
    assert avail == 3_000_000_000
    assert "cgroup" in source and "4.0 GB" in source
    (group / "memory.max").write_text("max\n")
    assert memcheck.available_bytes(MEMINFO, "0::/job\n", tmp_path) == (6054688 * 1024, "MemAvailable in /proc/meminfo")


def test_a_cgroup_v1_limit_and_an_unlimited_one(tmp_path):
    group = tmp_path / "memory" / "a" / "b"
    group.mkdir(parents=True)
    (group / "memory.limit_in_bytes").write_text("2000000000\n")
    (group / "memory.usage_in_bytes").write_text("500000000\n")
    cg = "5:devices:/\n4:memory:/a/b\n0::/\n"
    assert memcheck.available_bytes(MEMINFO, cg, tmp_path)[0] == 1_500_000_000
    (group / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert memcheck.available_bytes(MEMINFO, cg, tmp_path)[0] == 6054688 * 1024


def test_parameters_from_the_config():
    # within 0.1% of the real counts (norms are counted generously)
    assert abs(memcheck.param_count(QWEN05) - 494_032_768) / 494_032_768 < 1e-3
    assert abs(memcheck.param_count(GEMMA3_1B) - 999_885_952) / 999_885_952 < 1e-3
    untied = {**QWEN05, "tie_word_embeddings": False}
    assert memcheck.param_count(untied) - memcheck.param_count(QWEN05) == 151936 * 896


def test_step_needs_grow_with_the_model():
    small, big = memcheck.step_need("probe", QWEN05), memcheck.step_need("probe", GEMMA3_1B)
    assert memcheck.RUNTIME < small < big
    assert 4 * 999_885_952 * 2 < big < 24 * memcheck.GB  # a 1B model fits a 24 GB machine
    assert set(memcheck.FACTOR) == set(memcheck.STEP_WORDS)


def test_refusal_names_the_step_the_need_and_what_is_available(monkeypatch):
    monkeypatch.delenv(memcheck.SKIP_ENV, raising=False)
    with pytest.raises(BridgeError) as err:
        memcheck.require_memory("exporting the probe graph of qwen", 9_100_000_000, (6_200_000_000, "MemAvailable"))
    assert err.value.code == "not-enough-memory"
    assert "exporting the probe graph of qwen needs about 9.1 GB of memory, 6.2 GB is available" in str(err.value)
    assert memcheck.SKIP_ENV in str(err.value)
    memcheck.require_memory("fits", 1_000, (6_200_000_000, "MemAvailable"))
    monkeypatch.setenv(memcheck.SKIP_ENV, "1")
    memcheck.require_memory("skipped", 9_100_000_000, (6_200_000_000, "MemAvailable"))


@pytest.fixture
def starved(monkeypatch):
    """A machine with 1 GB available."""
    monkeypatch.delenv(memcheck.SKIP_ENV, raising=False)
    monkeypatch.setattr(memcheck, "available_bytes", lambda *a, **k: (1_000_000_000, "MemAvailable in /proc/meminfo"))


def _big_folder(tmp_path, config=GEMMA3_1B):
    d = tmp_path / "gemma-1b"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(config))
    (d / "model.safetensors").write_bytes(b"")  # nothing is read before the check
    return d


def test_check_step_names_the_model_and_skips_an_unreadable_config(tmp_path, starved):
    d = _big_folder(tmp_path)
    with pytest.raises(BridgeError) as err:
        memcheck.check_step("probe", d)
    assert str(err.value).startswith("exporting the probe graph of gemma-1b needs about ")
    assert "1.0 GB is available" in str(err.value)
    (d / "config.json").write_text("{not json")
    assert memcheck.check_step("probe", d) == 0


@pytest.mark.parametrize(
    "run",
    [
        lambda d: export_onnx.main([str(d), "--no-verify"]),
        lambda d: probe_graph.main([str(d), "--no-verify"]),
        lambda d: embed_graph.main([str(d)]),
        lambda d: lens_head.main([str(d)]),
        lambda d: graph_cuts.main([str(d), "--embed-upto", "1"]),
    ],
    ids=["export", "probe", "embed", "lens", "cuts"],
)
def test_heavy_steps_refuse_before_loading(tmp_path, starved, event_stream, run):
    d = _big_folder(tmp_path)
    (d / "onnx").mkdir()
    (d / "onnx" / "probe.json").write_text("{}")
    assert run(d) == 1
    errors = [e for e in event_stream() if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["not-enough-memory"]
    assert "gemma-1b needs about" in errors[0]["message"]


def test_the_import_card_refuses_before_the_parity_check(tmp_path, starved, event_stream, monkeypatch):
    d = _big_folder(tmp_path, {**GEMMA3_1B, "architectures": ["Gemma3ForCausalLM"]})
    (d / "onnx").mkdir()
    for f in ("model.onnx", "probe.onnx"):
        (d / "onnx" / f).write_bytes(b"")
    monkeypatch.setattr(import_model, "parity", lambda _d: pytest.fail("parity ran"))
    assert import_model.main(["card", str(d), "--source", str(tmp_path), "--name", "g1b"]) == 1
    errors = [e for e in event_stream() if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["not-enough-memory"]
    assert errors[0]["message"].startswith("the parity check of g1b needs about ")
