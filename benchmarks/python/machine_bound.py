"""This machine's bound for weight-streaming decoders, measured with onnxruntime itself.

    python machine_bound.py bound [--runs R] [--mb MB]
    python machine_bound.py weights GRAPH.onnx [GRAPH.onnx ...]

bound: two one-node graphs in onnxruntime (CPU, its default threads):
  - a matrix-vector product ``[1,K] x [K,N]`` float32 whose weight is MB megabytes: a decoder
    reading its weights once per token can go no faster than this rate of bytes read per second;
  - a ``[256,1024] x [1024,1024]`` float32 product: the matmul throughput in FLOP/s.
  One warm-up, then R timed runs each; medians.
weights: the bytes of the weights a graph multiplies per token (the initialisers that feed a MatMul,
  Gemm, MatMulInteger or MatMulNBits node, quantisation scales included; a Gather table reads one
  row per token and is left out).

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

MATMUL_OPS = {"MatMul", "Gemm", "MatMulInteger", "MatMulNBits", "DynamicQuantizeMatMul"}


def _session(graph):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(graph.SerializeToString(), so, providers=["CPUExecutionProvider"])


def _matmul_graph(m: int, k: int, n: int, seed: int = 0):
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(seed).standard_normal((k, n), dtype=np.float32)
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    graph = helper.make_graph(
        [node],
        "bound",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(w, "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _median_seconds(sess, feed: dict, runs: int) -> float:
    sess.run(None, feed)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bound(runs: int, mb: int) -> dict:
    k = 4096
    n = max(1, mb * 1024 * 1024 // (4 * k))
    gemv = _session(_matmul_graph(1, k, n))
    x = np.random.default_rng(1).standard_normal((1, k), dtype=np.float32)
    t = _median_seconds(gemv, {"x": x}, runs)
    m, kk, nn = 256, 1024, 1024
    gemm = _session(_matmul_graph(m, kk, nn, seed=2))
    xm = np.random.default_rng(3).standard_normal((m, kk), dtype=np.float32)
    tm = _median_seconds(gemm, {"x": xm}, runs)
    return {
        "bytes_per_s": 4 * k * n / t,
        "weight_bytes": 4 * k * n,
        "flops_per_s": 2 * m * kk * nn / tm,
        "runs": runs,
    }


def matmul_weight_bytes(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    sizes = {}
    for init in model.graph.initializer:
        count = int(np.prod(init.dims)) if len(init.dims) else 1
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(init.data_type).itemsize
        if init.data_type in (onnx.TensorProto.UINT4, onnx.TensorProto.INT4):
            sizes[init.name] = (count + 1) // 2
        else:
            sizes[init.name] = count * itemsize
    used: set[str] = set()
    for node in model.graph.node:
        if node.op_type in MATMUL_OPS:
            used.update(i for i in node.input if i in sizes)
    # a weight behind a Transpose (a graph pointed at the safetensors file) is multiplied too
    produced = {o: n for n in model.graph.node for o in n.output}
    for node in model.graph.node:
        if node.op_type in MATMUL_OPS:
            for i in node.input:
                src = produced.get(i)
                if src is not None and src.op_type == "Transpose" and src.input[0] in sizes:
                    used.add(src.input[0])
    return int(sum(sizes[n] for n in used))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bound")
    b.add_argument("--runs", type=int, default=7)
    b.add_argument("--mb", type=int, default=256)
    w = sub.add_parser("weights")
    w.add_argument("graphs", type=Path, nargs="+")
    args = p.parse_args(argv)
    if args.cmd == "bound":
        print(json.dumps(bound(args.runs, args.mb)))
    else:
        print(json.dumps({str(g): matmul_weight_bytes(g) for g in args.graphs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
