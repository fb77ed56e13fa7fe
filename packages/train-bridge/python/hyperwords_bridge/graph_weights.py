"""A graph's weights as references into a model's safetensors file.

An exported graph holds its model's parameters as initialisers: under the parameter's name where
the exporter kept it (``model.embed_tokens.weight``), else under a generated name
(``onnx::MatMul_8767``), often transposed (a linear layer's ``[out, in]`` weight becomes the
``[in, out]`` right operand of a MatMul; the probe graph's unembedding is the ``[H, V]``
transpose of the embedding). :func:`match_initializers` finds each initialiser's parameter: by
name, else by content against the graph's own model (as stored, or transposed).

:func:`point_at_safetensors` then makes a graph read its parameters from a safetensors file
instead of carrying them: each matched initialiser becomes an external-data reference (offset and
length of the tensor's bytes in the file; safetensors stores raw little-endian tensors), and a
transposed one a reference plus a ``Transpose`` node, which onnxruntime folds when the session
opens. Written this way, the graphs of a model version cost no disk beyond the safetensors file,
which onnxruntime must find inside the graph's folder (it refuses paths that leave it): the file
is hard-linked there (:func:`link_weights`).

Another version of the same architecture (a tuned version: LoRA-merged matrices, added vocabulary
rows) reuses the topology with its own file; where the vocabulary grew, the declared output dims
follow (:func:`grow_vocabulary`).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

WEIGHTS_FILE = "weights.safetensors"
"""The graphs' hard link to the model's ``model.safetensors``, beside them in ``onnx/``."""

NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


class MappingError(ValueError):
    """A graph's initialisers cannot be tied to the model's parameters."""


@dataclass(frozen=True)
class StoredTensor:
    """A tensor in a safetensors file: dtype code, shape, absolute byte offset and length."""

    dtype: str
    shape: tuple[int, ...]
    offset: int
    length: int


def safetensors_index(path: Path) -> dict[str, StoredTensor]:
    """Every tensor of a safetensors file with its byte range (from the header alone)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    start = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = StoredTensor(info["dtype"], tuple(info["shape"]), start + begin, end - begin)
    return out


def read_params(path: Path) -> dict[str, np.ndarray]:
    """The safetensors file's tensors as read-only arrays over a memory map (no copy)."""
    index = safetensors_index(path)
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, t in index.items():
        dt = NUMPY_DTYPES.get(t.dtype)
        if dt is None:
            continue
        out[name] = mm[t.offset : t.offset + t.length].view(dt).reshape(t.shape)
    return out


def initializer_array(init: Any, base_dir: Path) -> np.ndarray:
    """An initialiser's values; inline raw data is viewed, not copied, and a reference is read
    from its file as a read-only map (onnx's own loader refuses a file with several hard links,
    and ``weights.safetensors`` is one by design)."""
    from onnx import TensorProto, numpy_helper

    dt = numpy_helper.helper.tensor_dtype_to_np_dtype(init.data_type)
    if init.data_location != TensorProto.EXTERNAL and init.raw_data:
        return np.frombuffer(init.raw_data, dtype=dt).reshape(tuple(init.dims))
    if init.data_location == TensorProto.EXTERNAL:
        info = {e.key: e.value for e in init.external_data}
        path = Path(base_dir) / info["location"]
        shape = tuple(int(d) for d in init.dims)
        count = int(np.prod(shape))
        length = int(info.get("length", count * np.dtype(dt).itemsize))
        if length != count * np.dtype(dt).itemsize:
            raise MappingError(f"initialiser {init.name}: {length} bytes in {path} for {count} values of {np.dtype(dt)}")
        return np.memmap(path, dtype=dt, mode="r", offset=int(info.get("offset", 0)), shape=shape)
    return numpy_helper.to_array(init, str(base_dir))


@dataclass(frozen=True)
class Match:
    """Initialiser ``name`` holds parameter ``param`` (its transpose when ``transposed``)."""

    name: str
    param: str
    transposed: bool


def _probe_key(a: np.ndarray) -> bytes:
    """A few leading values: candidates are compared in full only when these agree."""
    # ``flat`` reads the first values in C order without copying a transposed view whole
    return np.ascontiguousarray(a.flat[:16]).tobytes()


def match_initializers(
    graph: Any, graph_dir: Path, params: dict[str, np.ndarray], *, min_elements: int = 2, inline_only: bool = False
) -> tuple[list[Match], list[str]]:
    """Tie float initialisers of ``graph`` to ``params`` by name, else by content (maybe transposed).

    Returns the matches and the names of float initialisers tied to nothing (kept as they are).
    ``inline_only`` skips initialisers that are already references.
    An initialiser equal to several parameters is tied to the first by name order; the caller
    checks that those parameters are still equal in the version it writes (:func:`ambiguous`).
    """
    from onnx import TensorProto

    by_shape: dict[tuple[int, ...], list[tuple[str, bool]]] = {}
    for name in sorted(params):
        p = params[name]
        if p.dtype != np.float32:
            continue
        by_shape.setdefault(tuple(p.shape), []).append((name, False))
        if p.ndim == 2:
            by_shape.setdefault(tuple(p.shape[::-1]), []).append((name, True))
    keys: dict[tuple[str, bool], bytes] = {}

    def key_of(name: str, transposed: bool) -> bytes:
        k = keys.get((name, transposed))
        if k is None:
            p = params[name]
            k = _probe_key(p.T if transposed else p)
            keys[(name, transposed)] = k
        return k

    matches: list[Match] = []
    unmatched: list[str] = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            continue
        if inline_only and init.data_location == TensorProto.EXTERNAL:
            continue
        shape = tuple(init.dims)
        named = params.get(init.name)
        if named is not None and tuple(named.shape) == shape:
            matches.append(Match(init.name, init.name, False))
            continue
        cands = by_shape.get(shape, [])
        if not cands:
            unmatched.append(init.name)
            continue
        value = initializer_array(init, graph_dir)
        head = _probe_key(value)
        found = None
        for name, transposed in cands:
            if key_of(name, transposed) != head:
                continue
            p = params[name]
            if np.array_equal(value, p.T if transposed else p):
                found = Match(init.name, name, transposed)
                break
        if found is None:
            unmatched.append(init.name)
        else:
            matches.append(found)
    return matches, unmatched


def ambiguous(matches: list[Match], base: dict[str, np.ndarray], tuned: dict[str, np.ndarray]) -> list[str]:
    """Matched parameters equal to another base parameter of the same shape that differs in ``tuned``.

    Content matching cannot tell such twins apart (in a tiny random model every norm weight is
    all ones); a match is safe only if the twins are still equal in the version being written.
    """
    bad = []
    for m in matches:
        p = base[m.param]
        if p.size > 1 << 16:
            continue  # large random matrices have no twins worth the comparisons
        for other, q in base.items():
            if other == m.param or q.shape != p.shape or not np.array_equal(p, q):
                continue
            if other in tuned and m.param in tuned and not np.array_equal(tuned[other], tuned[m.param]):
                bad.append(m.name)
                break
    return bad


def _external(init: Any, stored: StoredTensor, location: str) -> None:
    from onnx import TensorProto

    init.ClearField("raw_data")
    init.ClearField("float_data")
    del init.dims[:]
    init.dims.extend(stored.shape)
    init.data_location = TensorProto.EXTERNAL
    del init.external_data[:]
    for k, v in (("location", location), ("offset", str(stored.offset)), ("length", str(stored.length))):
        e = init.external_data.add()
        e.key, e.value = k, v


def point_at_safetensors(model: Any, matches: list[Match], index: dict[str, StoredTensor], location: str = WEIGHTS_FILE) -> int:
    """Rewrite matched initialisers of ``model`` as references into the file ``index`` describes.

    A parameter stored transposed becomes ``<name>.stored`` (the file's layout) plus a Transpose
    node giving ``<name>`` to the graph. Returns the number of Transpose nodes added.
    """
    from onnx import TensorProto, helper

    by_name = {i.name: i for i in model.graph.initializer}
    transposes = []
    for m in matches:
        stored = index.get(m.param)
        if stored is None:
            raise MappingError(f"parameter {m.param} (initialiser {m.name}) is not in the weights file")
        if stored.dtype != "F32":
            raise MappingError(f"parameter {m.param} is {stored.dtype} in the weights file; the graphs need float32")
        init = by_name[m.name]
        _external(init, stored, location)
        if m.transposed:
            init.name = m.name + ".stored"
            transposes.append(helper.make_node("Transpose", [init.name], [m.name], perm=[1, 0], name=f"{m.name}.transpose"))
        init.data_type = TensorProto.FLOAT
    nodes = list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(transposes + nodes)
    return len(transposes)


def vocabulary_constants(model: Any, vocab: int) -> list[str]:
    """Integer constants holding ``vocab`` (a shape baked in by the tracer): they would not grow."""
    from onnx import TensorProto, numpy_helper

    found = []
    ints = (TensorProto.INT64, TensorProto.INT32)
    for init in model.graph.initializer:
        if init.data_type in ints and int(np.prod(init.dims)) <= 16 and vocab in numpy_helper.to_array(init).reshape(-1):
            found.append(init.name)
    for node in model.graph.node:
        if node.op_type != "Constant":
            continue
        for a in node.attribute:
            if a.name == "value" and a.t.data_type in ints and vocab in numpy_helper.to_array(a.t).reshape(-1):
                found.append(node.output[0])
    return found


def grow_vocabulary(model: Any, old: int, new: int) -> None:
    """Declared graph output dims of size ``old`` become ``new``; inferred shapes are dropped."""
    for vi in model.graph.output:
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_value") and d.dim_value == old:
                d.dim_value = new
    del model.graph.value_info[:]


def link_weights(model_dir: Path) -> Path:
    """``onnx/weights.safetensors`` as a hard link to ``model.safetensors`` (a copy where links fail)."""
    src = model_dir / "model.safetensors"
    dst = model_dir / "onnx" / WEIGHTS_FILE
    if dst.exists() and os.path.samefile(src, dst):
        return dst
    tmp = dst.with_name(f".{WEIGHTS_FILE}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        import shutil

        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return dst


def save_graph(model: Any, path: Path) -> int:
    """Write a graph whose big tensors are references (atomically); returns its bytes."""
    data = model.SerializeToString()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return len(data)
