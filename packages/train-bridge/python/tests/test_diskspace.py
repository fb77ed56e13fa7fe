"""Disk-space checks: a clear ``disk-full`` error before gigabytes are written, or after a write ran out."""

from __future__ import annotations

import json
import os

import pytest

from hyperwords_bridge import diskspace, export_onnx
from hyperwords_bridge.events import BridgeError


def test_free_bytes_of_a_folder_not_made_yet(tmp_path):
    assert diskspace.free_bytes(tmp_path / "a" / "b") == diskspace.free_bytes(tmp_path)


def test_require_free_passes_when_there_is_room(tmp_path):
    diskspace.require_free("write a little", [(tmp_path, 1_000)])


def test_require_free_names_the_folder_and_the_sizes(tmp_path):
    free = diskspace.free_bytes(tmp_path)
    with pytest.raises(BridgeError) as err:
        diskspace.require_free("export x", [(tmp_path / "onnx", free + 10**12)])
    assert err.value.code == "disk-full"
    message = str(err.value)
    assert "not enough disk space to export x" in message
    assert str(tmp_path / "onnx") in message
    assert f"{free / 1e9:.1f} GB is free" in message


def test_folders_on_one_filesystem_add_up(tmp_path):
    half = diskspace.free_bytes(tmp_path) // 2 + 10**9
    diskspace.require_free("one half", [(tmp_path / "a", half - 2 * 10**9)])
    with pytest.raises(BridgeError) as err:
        diskspace.require_free("two halves", [(tmp_path / "a", half), (tmp_path / "b", half)])
    assert str(tmp_path / "a") in str(err.value) and str(tmp_path / "b") in str(err.value)


def test_disk_full_error_only_when_the_disk_is_nearly_full(tmp_path, monkeypatch):
    exc = ValueError("Wire format was corrupt")
    assert diskspace.disk_full_error("the export", exc, [tmp_path]) is None
    monkeypatch.setattr(diskspace, "NEARLY_FULL", diskspace.free_bytes(tmp_path) + 10**12)
    full = diskspace.disk_full_error("the export", exc, [tmp_path])
    assert full is not None and full.code == "disk-full"
    assert str(tmp_path) in str(full) and "Wire format was corrupt" in str(full)


def test_export_refuses_before_writing_when_the_graph_cannot_fit(tmp_path, event_stream):
    # A sparse weights file as large as the free space: the graph estimate cannot fit, and
    # nothing is read or exported before the check.
    model = tmp_path / "big"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "llama", "dtype": "float32"}))
    with open(model / "model.safetensors", "wb") as f:
        f.truncate(min(diskspace.free_bytes(tmp_path) + 10**9, 15 * 10**12))
    assert export_onnx.main([str(model), "--no-verify"]) == 1
    errors = [e for e in event_stream() if e["type"] == "error"]
    assert [e["code"] for e in errors] == ["disk-full"]
    assert f"export {model.name} to ONNX" in errors[0]["message"] and str(model / "onnx") in errors[0]["message"]
    assert not (model / "onnx").exists()
    assert sorted(os.listdir(model)) == ["config.json", "model.safetensors"]
