"""Read the header and key/value metadata of a GGUF file (stdlib only, no tensors).

``gguf.GGUFReader`` indexes every array element as its own numpy view, which takes about
25 s for Gemma 3's 262,144-token vocabulary; this reader takes well under a second.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"GGUF"

_SCALARS = {
    0: "<B",  # uint8
    1: "<b",  # int8
    2: "<H",  # uint16
    3: "<h",  # int16
    4: "<I",  # uint32
    5: "<i",  # int32
    6: "<f",  # float32
    7: "<?",  # bool
    10: "<Q",  # uint64
    11: "<q",  # int64
    12: "<d",  # float64
}
_STRING, _ARRAY = 8, 9


class GgufFormatError(Exception):
    """The bytes are not a GGUF file this reader understands."""


def has_gguf_magic(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) starts with the GGUF magic."""
    return head[:4] == MAGIC


def check_header(path: str | Path) -> int:
    """Check the magic and return the GGUF version; raises :class:`GgufFormatError`."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not has_gguf_magic(head):
        raise GgufFormatError(f"{path}: not a GGUF file (first bytes {head[:4]!r}, expected {MAGIC!r})")
    (version,) = struct.unpack("<I", head[4:8])
    if version not in (2, 3):
        raise GgufFormatError(f"{path}: unsupported GGUF version {version}")
    return version


class _Cursor:
    def __init__(self, f: BinaryIO):
        self.f = f

    def read(self, n: int) -> bytes:
        b = self.f.read(n)
        if len(b) != n:
            raise GgufFormatError("truncated GGUF metadata")
        return b

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        return self.read(n).decode("utf-8")

    def value(self, kind: int) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            elem, n = self.unpack("<I"), self.unpack("<Q")
            if elem in _SCALARS:
                fmt = _SCALARS[elem]
                size = struct.calcsize(fmt)
                return list(struct.unpack(f"<{n}{fmt[1]}", self.read(size * n)))
            return [self.value(elem) for _ in range(n)]
        raise GgufFormatError(f"unknown GGUF value type {kind}")


def read_metadata(path: str | Path) -> dict[str, Any]:
    """All key/value metadata of a GGUF file, plus ``GGUF.version`` and ``GGUF.tensor_count``."""
    version = check_header(path)
    with open(path, "rb", buffering=1 << 20) as f:
        f.seek(8)
        c = _Cursor(f)
        tensor_count, kv_count = c.unpack("<Q"), c.unpack("<Q")
        meta: dict[str, Any] = {"GGUF.version": version, "GGUF.tensor_count": tensor_count}
        for _ in range(kv_count):
            key = c.string()
            meta[key] = c.value(c.unpack("<I"))
    return meta
