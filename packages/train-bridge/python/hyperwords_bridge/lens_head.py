"""The lens head: the logit lens alone, on hidden states a caller picks.

    python -m hyperwords_bridge.lens_head MODEL_DIR [--no-verify]

The probe graph applies the logit lens (final norm, unembedding, log-softmax over the whole
vocabulary) to every position of every layer: for Gemma 3 that is a 262k-wide matmul per token
and layer, about thirty times a decoder layer's work. A caller that reads the lens at one
position per prompt (the English-pivot check reads each prompt's last token) pays for all T. This
writes ``onnx/lens.onnx``, the lens on its own:

Inputs (N rows, H hidden size, K tracked ids):
    hidden          [N,H] float32   residual-stream states (``hidden_states`` entries, before the final norm)
    tracked_ids     [N,K] int64     token ids whose lens log-probs are returned

Outputs (k as in ``probe.json``):
    topk_ids        [N,k] int64     the lens's top-k tokens
    topk_logprobs   [N,k] float32
    tracked_logprobs [N,K] float32

so the hidden states come from the embedding graph (or a cut of it) and the lens runs on the rows
that matter. The norm and unembedding are the model's own modules (softcapping included), as in
:class:`hyperwords_bridge.probe_graph.ProbeModule`; the parameters are read from
``onnx/weights.safetensors``, the model's ``model.safetensors`` hard-linked, so the graph costs
no disk for weights. It is checked against the probe graph's lens on random ids (every layer,
every position): top-1 equal, log-probs within 1e-4 of their scale.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hyperwords_bridge import events
from hyperwords_bridge.export_onnx import check_model_dir, load_torch_model, stdout_to_stderr
from hyperwords_bridge.graph_cuts import read_weights_from_model
from hyperwords_bridge.graph_weights import save_graph
from hyperwords_bridge.memcheck import check_step
from hyperwords_bridge.scratch import scratch, sigterm_as_interrupt

LENS_FILE = "lens.onnx"
INPUT_NAMES = ["hidden", "tracked_ids"]
OUTPUT_NAMES = ["topk_ids", "topk_logprobs", "tracked_logprobs"]


class LensHead(nn.Module):
    """The final norm and the unembedding of a HF causal LM, on rows of hidden states."""

    def __init__(self, model: nn.Module, k: int):
        super().__init__()
        from hyperwords_bridge.probe_graph import _base_model

        self.norm = _base_model(model).norm
        self.lm_head = model.get_output_embeddings()
        if getattr(self.lm_head, "bias", None) is not None:
            raise ValueError("lm_head with bias is not supported")
        self.softcap = getattr(model.config, "final_logit_softcapping", None)
        self.k = int(k)

    def forward(self, hidden: torch.Tensor, tracked_ids: torch.Tensor):
        logits = torch.matmul(self.norm(hidden), self.lm_head.weight.t())  # [N,V]
        if self.softcap is not None:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        lp = torch.log_softmax(logits, dim=-1)
        top_v, top_i = torch.topk(lp, self.k, dim=-1)
        return top_i, top_v, torch.gather(lp, 1, tracked_ids)


def export_lens(model_dir: Path, model=None) -> dict[str, Any]:
    """Write ``onnx/lens.onnx`` (its top-k is the probe graph's)."""
    import onnx

    spec = json.loads((model_dir / "onnx" / "probe.json").read_text())
    if model is None:
        with stdout_to_stderr():
            model = load_torch_model(model_dir, eager=True)
    head = LensHead(model, int(spec["k"])).eval()
    h = int(model.config.hidden_size)
    t0 = time.time()
    with scratch(model_dir / "onnx", "lens") as tmp:
        tmp_path = tmp / LENS_FILE
        example = (torch.randn(3, h), torch.zeros(3, 2, dtype=torch.int64))
        with stdout_to_stderr(), torch.no_grad():
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    head,
                    example,
                    str(tmp_path),
                    input_names=INPUT_NAMES,
                    output_names=OUTPUT_NAMES,
                    dynamic_axes={
                        "hidden": {0: "rows"},
                        "tracked_ids": {0: "rows", 1: "tracked"},
                        "topk_ids": {0: "rows"},
                        "topk_logprobs": {0: "rows"},
                        "tracked_logprobs": {0: "rows", 1: "tracked"},
                    },
                    opset_version=int(spec.get("opset", 17)),
                    do_constant_folding=True,
                    dynamo=False,
                )
        graph = onnx.load(str(tmp_path), load_external_data=True)
        read_weights_from_model(graph, model_dir)
        size = save_graph(graph, model_dir / "onnx" / LENS_FILE)
    return {"path": str(model_dir / "onnx" / LENS_FILE), "bytes": size, "export_seconds": round(time.time() - t0, 1)}


def verify_lens(model_dir: Path, seed: int = 0) -> dict[str, Any]:
    """The lens head on the probe graph's hidden states against the probe graph's own lens."""
    import onnxruntime as ort

    from hyperwords_bridge.graph_cuts import _feeds

    spec = json.loads((model_dir / "onnx" / "probe.json").read_text())
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, int(spec["vocab_size"]), size=(2, 9), dtype=np.int64)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    probe = ort.InferenceSession(str(model_dir / "onnx" / "probe.onnx"), so)
    names = ["hidden_states", "lens_topk_ids", "lens_topk_logprobs", "tracked_logprobs"]
    feeds = _feeds(probe, ids, int(spec["hidden_size"]))
    hs, top_i, top_v, tracked = probe.run(names, feeds)
    lens = ort.InferenceSession(str(model_dir / "onnx" / LENS_FILE), so)
    layers, b, t, hdim = hs.shape
    rows = hs.reshape(-1, hdim)
    tr = np.repeat(feeds["tracked_ids"][None, :, None, :], layers, 0).repeat(t, 2).reshape(len(rows), -1)
    got_i, got_v, got_t = lens.run(OUTPUT_NAMES, {"hidden": rows, "tracked_ids": tr})
    scale = max(float(np.abs(top_v).max()), 1e-12)
    return {
        "top1_agreement": float(np.mean(got_i[:, 0] == top_i.reshape(-1, top_i.shape[-1])[:, 0])),
        "rel_diff": float(
            max(
                np.abs(got_v - top_v.reshape(got_v.shape)).max(),
                np.abs(got_t - tracked.reshape(got_t.shape)).max(),
            )
            / scale
        ),
        "rows": int(len(rows)),
    }


def main(argv: list[str] | None = None) -> int:
    events.die_with_parent()
    p = argparse.ArgumentParser(prog="python -m hyperwords_bridge.lens_head", description=__doc__.split("\n")[0])
    p.add_argument("model_dir", type=Path)
    p.add_argument("--no-verify", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sigterm_as_interrupt()
    model_dir = args.model_dir.resolve()
    try:
        check_model_dir(model_dir)
        if not (model_dir / "onnx" / "probe.json").is_file():
            raise FileNotFoundError(f"{model_dir / 'onnx' / 'probe.json'} does not exist: export the probe graph first")
    except (SystemExit, FileNotFoundError) as e:
        events.error(str(e), code="bad-model-dir")
        return 2
    try:
        check_step("lens", model_dir)
    except events.BridgeError as e:
        events.error(str(e), code=e.code)
        return 1
    events.progress("lens-head", 0, 1 + int(not args.no_verify), unit="steps")
    result = export_lens(model_dir)
    events.progress("lens-head", 1, 1 + int(not args.no_verify), unit="steps")
    ok = True
    if not args.no_verify:
        result["parity"] = verify_lens(model_dir)
        ok = result["parity"]["top1_agreement"] == 1.0 and result["parity"]["rel_diff"] <= 1e-4
        result["parity_ok"] = ok
        events.log(
            f"lens.onnx against the probe graph's lens on {result['parity']['rows']} rows: top-1 "
            f"{result['parity']['top1_agreement']:.3f}, log-probs within {result['parity']['rel_diff']:.1e}",
            level="info" if ok else "warn",
        )
        if not ok:
            # a reader would take it over the probe graph: a lens that fails is not kept
            (model_dir / "onnx" / LENS_FILE).unlink(missing_ok=True)
        events.progress("lens-head", 2, 2, unit="steps")
    events.done(result)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
