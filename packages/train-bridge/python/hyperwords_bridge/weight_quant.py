"""Weight-only quantization of a generation graph, checked against its fp32 graph.

Every MatMul whose weight is a constant ``[K, N]`` matrix becomes onnxruntime's ``MatMulNBits``
(com.microsoft): the weight in blocks of ``block`` values along K, each block a float scale and
``bits``-bit integers around the default zero point ``2^(bits-1)`` (symmetric round-to-nearest).
Activations stay float; ``accuracy_level`` 4 lets onnxruntime compute in int8 (faster), 0 keeps
the float compute. The embedding lookup (a Gather) is left as it is.

The check (``parity``) decodes the same prompts greedily through both graphs: how many of the
continuations are the same token for token, how far each agrees, and the first step's top-1. A
caller keeps the graph only if it passes its bar.

    python -m hyperwords_bridge.weight_quant MODEL_DIR --bits 8 [--block 32] [--accuracy-level 4]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

CHECK_PROMPTS = (
    "The old cat sat on the warm windowsill and watched",
    "Кошка мурчит на тёплом подоконнике, а за окном",
    "In the evening the river smelled of rain and",
    "Ветер над рекой гонит холодные листья, и",
)


def pack_weight(w: np.ndarray, bits: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """``[K, N]`` float weight → (``uint8 [N, blocks, block * bits / 8]``, ``float32 [N * blocks]``).

    Symmetric: scale = max |w| of the block / (2^(bits-1) - 1), q = round(w / scale) + 2^(bits-1),
    so the op's default zero point reads it back; K is padded with zeros to whole blocks. Two 4-bit
    values share a byte, the first in the low nibble."""
    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8, not {bits}")
    k, n = w.shape
    blocks = -(-k // block)
    padded = np.zeros((blocks * block, n), dtype=np.float32)
    padded[:k] = w
    cols = padded.T.reshape(n, blocks, block)
    top = (1 << (bits - 1)) - 1
    absmax = np.abs(cols).max(axis=2)
    scales = np.where(absmax > 0, absmax / top, 1.0).astype(np.float32)
    zero = 1 << (bits - 1)
    q = np.clip(np.rint(cols / scales[:, :, None]) + zero, 0, (1 << bits) - 1).astype(np.uint8)
    if bits == 4:
        q = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(q), scales.reshape(-1)


def unpack_weight(q: np.ndarray, scales: np.ndarray, bits: int, block: int, k: int) -> np.ndarray:
    """The float ``[K, N]`` weight a packed one stands for (what the op computes with)."""
    n, blocks, _ = q.shape
    if bits == 4:
        q = np.stack([q & 0x0F, q >> 4], axis=3).reshape(n, blocks, block)
    w = (q.astype(np.float32) - (1 << (bits - 1))) * scales.reshape(n, blocks)[:, :, None]
    return w.reshape(n, blocks * block)[:, :k].T


def quantize_graph(
    src: Path, dst: Path, bits: int, block: int = 32, accuracy_level: int = 4, exclude: Sequence[str] = ()
) -> dict[str, Any]:
    """Write ``dst`` (its weights in ``dst.name + '.data'``): ``src`` with its constant-weight
    MatMuls (other than the nodes named in ``exclude``) as MatMulNBits."""
    import onnx
    from onnx import helper, numpy_helper

    from hyperwords_bridge.graph_weights import initializer_array

    # references (a folder's graphs read ``weights.safetensors``) stay references; the weights
    # quantized here are read from them
    model = onnx.load(str(src), load_external_data=False)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for i in node.input:
            uses[i] = uses.get(i, 0) + 1
    # a weight stored in its parameter's layout reaches its MatMul through a Transpose
    # (``graph_weights.point_at_safetensors``): the MatMul's weight is the transposed initialiser
    transposed = {
        n.output[0]: (n, inits[n.input[0]])
        for n in graph.node
        if n.op_type == "Transpose"
        and n.input[0] in inits
        and [list(a.ints) for a in n.attribute if a.name == "perm"] in ([[1, 0]], [])
        and len(inits[n.input[0]].dims) == 2
    }
    nodes = []
    quantized: list[str] = []
    dropped: set[str] = set()
    for node in graph.node:
        weight = None
        via = None
        if node.op_type == "MatMul" and len(node.input) == 2:
            weight = inits.get(node.input[1])
            if weight is None and node.input[1] in transposed:
                via, weight = transposed[node.input[1]]
        if weight is None or node.name in exclude or len(weight.dims) != 2 or weight.data_type != onnx.TensorProto.FLOAT:
            nodes.append(node)
            continue
        w = np.asarray(initializer_array(weight, src.parent))
        if via is not None:
            w = np.ascontiguousarray(w.T)
        k, n = w.shape
        q, scales = pack_weight(w, bits, block)
        stem = f"{weight.name}_w{bits}b{block}"
        graph.initializer.extend([numpy_helper.from_array(q, stem), numpy_helper.from_array(scales, stem + "_scales")])
        nodes.append(
            helper.make_node(
                "MatMulNBits",
                [node.input[0], stem, stem + "_scales"],
                list(node.output),
                name=node.name + f"_w{bits}",
                domain="com.microsoft",
                K=k,
                N=n,
                bits=bits,
                block_size=block,
                accuracy_level=accuracy_level,
            )
        )
        quantized.append(node.name)
        if via is not None:
            uses[via.output[0]] -= 1
            if uses[via.output[0]] > 0:
                continue
            dropped.add(via.name)
        uses[weight.name] -= 1
        if uses[weight.name] == 0:
            dropped.add(weight.name)
    del graph.node[:]
    graph.node.extend(n for n in nodes if not (n.op_type == "Transpose" and n.name in dropped))
    kept = [t for t in graph.initializer if t.name not in dropped]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    dst.parent.mkdir(parents=True, exist_ok=True)
    data = dst.with_name(dst.name + ".data")
    for f in (dst, data):
        f.unlink(missing_ok=True)
    onnx.save_model(model, str(dst), save_as_external_data=True, all_tensors_to_one_file=True, location=data.name)
    return {
        "bits": bits,
        "block": block,
        "accuracy_level": accuracy_level,
        "matmuls": len(quantized),
        "bytes": dst.stat().st_size + data.stat().st_size,
    }


def parity(model_dir: Path, graph: Path, steps: int = 32, prompts: Sequence[str] = CHECK_PROMPTS) -> dict[str, Any]:
    """Greedy continuations of ``prompts`` through ``graph`` against ``onnx/model.onnx``, and each
    graph's decoding speed (tokens per second over the prompts)."""
    from transformers import AutoConfig, AutoTokenizer

    from .export_onnx import _ort_session, ort_greedy

    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    config = AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
    ids = [tok(p, return_tensors="np")["input_ids"] for p in prompts]

    def decode(path: Path):
        sess = _ort_session(path)
        started = time.perf_counter()
        out = [ort_greedy(sess, config, p, steps) for p in ids]
        return out, len(prompts) * steps / (time.perf_counter() - started)

    ref, ref_rate = decode(model_dir / "onnx" / "model.onnx")
    got, rate = decode(graph)
    agree = [next((i for i, (a, b) in enumerate(zip(g[1], r[1])) if a != b), steps) for g, r in zip(got, ref)]
    return {
        "prompts": len(prompts),
        "steps": steps,
        "greedy_equal": sum(a == steps for a in agree),
        "agreed_tokens": agree,
        "first_top1_equal": sum(int(g[0].argmax()) == int(r[0].argmax()) for g, r in zip(got, ref)),
        "tokens_per_s": rate,
        "fp32_tokens_per_s": ref_rate,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hyperwords_bridge.weight_quant", description=__doc__.split("\n")[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--bits", type=int, default=8, choices=(4, 8))
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--accuracy-level", type=int, default=4, choices=(0, 1, 2, 3, 4))
    ap.add_argument("--exclude", default="", help="MatMul node names left in float, comma-separated")
    ap.add_argument("--out", type=Path, help="default: onnx/model_w{bits}.onnx in the model folder")
    a = ap.parse_args(argv)
    out = a.out or a.model_dir / "onnx" / f"model_w{a.bits}.onnx"
    made = quantize_graph(
        a.model_dir / "onnx" / "model.onnx",
        out,
        a.bits,
        a.block,
        a.accuracy_level,
        [x for x in a.exclude.split(",") if x],
    )
    print(json.dumps({"graph": str(out), **made, "parity": parity(a.model_dir, out)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
