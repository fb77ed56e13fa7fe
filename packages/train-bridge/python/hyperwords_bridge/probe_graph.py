"""The probe graph: a second ONNX export of a causal LM for looking inside it.

    python -m hyperwords_bridge.probe_graph MODEL_DIR [--k 10] [--opset 17] [--no-verify] [--bench]
    python -m hyperwords_bridge.probe_graph MODEL_DIR --verify-only [--bench]

Writes ``MODEL_DIR/onnx/probe.onnx`` and ``MODEL_DIR/onnx/probe.json`` (the I/O contract).
Supported architectures: llama-style decoders (llama, mistral, qwen2, ... anything whose
decoder layer takes ``position_embeddings``) and gemma3_text (sandwich norms, sliding-window
layers with their local RoPE, sqrt(hidden) embedding scale, tied embeddings).

Inputs (B batch, T tokens, K tracked ids, H hidden size):
    input_ids       [B,T] int64
    attention_mask  [B,T] int64   1 = real token, 0 = padding. Either side works: positions are
                                   cumsum(mask)-1, so a padded row gives the same per-token results
                                   as the unpadded prompt. The project convention is RIGHT padding.
    tracked_ids     [B,K] int64   token ids whose lens log-probs are returned
    patch_vector    [B,H] float32
    patch_layer     [1]   int64   -1 = no patch; j in 0..L replaces hidden_states[j] (0 = embedding
                                   output, j = output of decoder layer j-1) at patch_position, before
                                   decoder layer j runs
    patch_position  [B]   int64   token index per row; a negative index leaves that row unpatched

Outputs (L decoder layers, k fixed at export):
    hidden_states       [L+1,B,T,H] float32  embedding output, then the residual stream after each
                                             layer, all BEFORE the final norm (patched values included)
    attentions          [L,B,heads,T,T] float32  eager attention probabilities
    lens_topk_ids       [L+1,B,T,k] int64    logit lens: final norm + lm_head on every hidden_states
                                             entry, log-softmax, top-k
    lens_topk_logprobs  [L+1,B,T,k] float32
    tracked_logprobs    [L+1,B,T,K] float32  lens log-probs of tracked_ids
    logits              [B,V] float32        the model's real next-token logits at each row's last
                                             real token (lens entry L is the model's real output)
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hyperwords_bridge import events
from hyperwords_bridge.events import BridgeError, done
from hyperwords_bridge.memcheck import check_step
from hyperwords_bridge.scratch import scratch, sigterm_as_interrupt
from hyperwords_bridge.export_onnx import (
    artifact,
    check_model_dir,
    load_torch_model,
    log,
    model_type,
    progress,
    stdout_to_stderr,
)

INPUT_NAMES = ["input_ids", "attention_mask", "tracked_ids", "patch_vector", "patch_layer", "patch_position"]
OUTPUT_NAMES = [
    "hidden_states",
    "attentions",
    "lens_topk_ids",
    "lens_topk_logprobs",
    "tracked_logprobs",
    "logits",
]
DEFAULT_K = 10
DEFAULT_OPSET = 17
PROBE_SCHEMA_VERSION = 1


def layer_types(config) -> list[str]:
    """Each decoder layer's attention: the config's ``layer_types``; Mistral, which has none, masks
    every layer to its ``sliding_window`` when it sets one."""
    declared = getattr(config, "layer_types", None)
    if declared:
        return list(declared)
    sliding = config.model_type == "mistral" and getattr(config, "sliding_window", None)
    return ["sliding_attention" if sliding else "full_attention"] * config.num_hidden_layers


def _base_model(model: nn.Module) -> nn.Module:
    base = model.get_decoder() if hasattr(model, "get_decoder") else model.model
    for attr in ("embed_tokens", "layers", "norm"):
        if not hasattr(base, attr):
            raise ValueError(f"unsupported architecture {type(model).__name__}: decoder has no `{attr}`")
    return base


class ProbeModule(nn.Module):
    """Wraps a HF causal LM's own modules: embed_tokens, each decoder layer, final norm, lm_head."""

    def __init__(self, model: nn.Module, k: int = DEFAULT_K):
        super().__init__()
        config = model.config
        if getattr(config, "_attn_implementation", "eager") != "eager":
            raise ValueError("load the model with attn_implementation='eager' (attention probabilities)")
        base = _base_model(model)
        self.config = config
        self.k = int(k)
        self.embed_tokens = base.embed_tokens
        self.layers = nn.ModuleList(list(base.layers[: config.num_hidden_layers]))
        self.norm = base.norm
        self.lm_head = model.get_output_embeddings()
        self.rotary_emb = base.rotary_emb
        self.rotary_emb_local = getattr(base, "rotary_emb_local", None)
        self.layer_types = layer_types(config)
        self.sliding_window = getattr(config, "sliding_window", None)
        self.softcap = getattr(config, "final_logit_softcapping", None)
        if getattr(config, "use_bidirectional_attention", False):
            raise ValueError("bidirectional-attention configs are not supported by the probe graph")
        if getattr(self.lm_head, "bias", None) is not None:
            raise ValueError("lm_head with bias is not supported")
        params = inspect.signature(self.layers[0].forward).parameters
        self.gemma_style = "position_embeddings_global" in params
        if not self.gemma_style and "position_embeddings" not in params:
            raise ValueError(f"unsupported decoder layer {type(self.layers[0]).__name__}")
        # Tied embeddings: use ONE transposed matrix for both the embedding gather and the
        # unembedding matmul, so the exported file holds the (huge for Gemma) matrix once.
        self.tied = self.lm_head.weight.data_ptr() == self.embed_tokens.weight.data_ptr()
        self.embed_scale = getattr(self.embed_tokens, "embed_scale", None)
        # Gemma 2 scales the embedding by sqrt(hidden) in the model's forward, not in embed_tokens
        self.normalizer = config.hidden_size**0.5 if config.model_type == "gemma2" else None

    # -- pieces -----------------------------------------------------------------------
    def _unembed_weight_t(self) -> torch.Tensor:
        return self.lm_head.weight.t()  # [H,V]; constant-folded at export

    def _embed(self, input_ids: torch.Tensor, w_t: torch.Tensor) -> torch.Tensor:
        h = self._embed_rows(input_ids, w_t)
        if self.normalizer is not None:
            h = h * torch.tensor(self.normalizer, dtype=h.dtype)
        return h

    def _embed_rows(self, input_ids: torch.Tensor, w_t: torch.Tensor) -> torch.Tensor:
        if not self.tied:
            return self.embed_tokens(input_ids)
        b, t = input_ids.shape
        h = w_t.index_select(1, input_ids.reshape(-1)).reshape(w_t.shape[0], b, t).permute(1, 2, 0)
        if self.embed_scale is not None:
            h = h * self.embed_scale.to(h.dtype)
        return h

    def _masks(self, attention_mask: torch.Tensor, t: int, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        idx = torch.arange(t, device=attention_mask.device)
        causal = idx[None, :] <= idx[:, None]  # [Tq,Tk]
        keys = attention_mask[:, None, None, :].bool()  # [B,1,1,Tk]
        allowed_full = causal[None, None] & keys  # [B,1,Tq,Tk]
        neg = torch.tensor(torch.finfo(dtype).min, dtype=dtype)
        zero = torch.tensor(0.0, dtype=dtype)
        masks = {"full_attention": torch.where(allowed_full, zero, neg)}
        if "sliding_attention" in self.layer_types and self.sliding_window:
            window = (idx[:, None] - idx[None, :]) < int(self.sliding_window)
            masks["sliding_attention"] = torch.where(allowed_full & window[None, None], zero, neg)
        return masks

    def _lens(self, h: torch.Tensor, w_t: torch.Tensor, tracked: torch.Tensor):
        logits = torch.matmul(self.norm(h), w_t)  # [B,T,V]
        if self.softcap is not None:
            logits = torch.tanh(logits / self.softcap) * self.softcap
        # LogSoftmax is ~4x faster in onnxruntime than ReduceLogSumExp over a large vocab.
        lp = torch.log_softmax(logits, dim=-1)
        top_v, top_i = torch.topk(lp, self.k, dim=-1)
        tr = torch.gather(lp, 2, tracked[:, None, :].expand(-1, h.shape[1], -1))
        return top_i, top_v, tr

    # -- forward ----------------------------------------------------------------------
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        tracked_ids: torch.Tensor,
        patch_vector: torch.Tensor,
        patch_layer: torch.Tensor,
        patch_position: torch.Tensor,
    ):
        b, t = input_ids.shape
        w_t = self._unembed_weight_t()
        h = self._embed(input_ids, w_t)
        dtype = h.dtype
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        masks = self._masks(attention_mask, t, dtype)
        pe_global = self.rotary_emb(h, position_ids)
        pe_local = self.rotary_emb_local(h, position_ids) if self.rotary_emb_local is not None else pe_global

        token_idx = torch.arange(t, device=input_ids.device)
        at_pos = token_idx[None, :] == patch_position[:, None]  # [B,T]
        patch_val = patch_vector[:, None, :].to(dtype)  # [B,1,H]

        def patch(h: torch.Tensor, j: int) -> torch.Tensor:
            sel = at_pos & (patch_layer.reshape(-1)[:1] == j)  # [B,T]
            return torch.where(sel[:, :, None], patch_val, h)

        captured: list[torch.Tensor] = []

        def grab(_module, _args, output):
            captured.append(output[1])

        hidden = [patch(h, 0)]
        attns: list[torch.Tensor] = []
        h = hidden[0]
        for i, layer in enumerate(self.layers):
            mask = masks.get(self.layer_types[i], masks["full_attention"])
            handle = layer.self_attn.register_forward_hook(grab)
            try:
                if self.gemma_style:
                    out = layer(
                        h,
                        position_embeddings_global=pe_global,
                        position_embeddings_local=pe_local,
                        attention_mask=mask,
                        position_ids=position_ids,
                    )
                else:
                    out = layer(h, attention_mask=mask, position_ids=position_ids, position_embeddings=pe_global)
            finally:
                handle.remove()
            h = out[0] if isinstance(out, (tuple, list)) else out
            if not captured or captured[-1] is None:
                raise RuntimeError("attention probabilities not returned; is attention eager?")
            attns.append(captured.pop())
            h = patch(h, i + 1)
            hidden.append(h)

        ids, lps, trs = [], [], []
        for hs in hidden:
            i_, l_, t_ = self._lens(hs, w_t, tracked_ids)
            ids.append(i_)
            lps.append(l_)
            trs.append(t_)

        # Real next-token logits at each row's last real token (works for left or right padding).
        last = (attention_mask * token_idx[None, :]).argmax(-1)  # [B]
        h_last = torch.gather(h, 1, last[:, None, None].expand(-1, 1, h.shape[-1]))[:, 0, :]
        logits = torch.matmul(self.norm(h_last), w_t)
        if self.softcap is not None:
            logits = torch.tanh(logits / self.softcap) * self.softcap

        return (
            torch.stack(hidden, 0),
            torch.stack(attns, 0),
            torch.stack(ids, 0),
            torch.stack(lps, 0),
            torch.stack(trs, 0),
            logits,
        )


def example_inputs(config, b: int = 2, t: int = 7, k_tracked: int = 3) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, config.vocab_size, (b, t), generator=g)
    mask = torch.ones(b, t, dtype=torch.long)
    mask[-1, -2:] = 0  # a padded row keeps the mask path honest in the trace
    tracked = torch.randint(0, config.vocab_size, (b, k_tracked), generator=g)
    return (
        ids,
        mask,
        tracked,
        torch.zeros(b, config.hidden_size),
        torch.tensor([-1], dtype=torch.long),
        torch.zeros(b, dtype=torch.long),
    )


DYNAMIC_AXES = {
    "input_ids": {0: "batch", 1: "tokens"},
    "attention_mask": {0: "batch", 1: "tokens"},
    "tracked_ids": {0: "batch", 1: "tracked"},
    "patch_vector": {0: "batch"},
    "patch_position": {0: "batch"},
    "hidden_states": {1: "batch", 2: "tokens"},
    "attentions": {1: "batch", 3: "tokens", 4: "tokens"},
    "lens_topk_ids": {1: "batch", 2: "tokens"},
    "lens_topk_logprobs": {1: "batch", 2: "tokens"},
    "tracked_logprobs": {1: "batch", 2: "tokens", 3: "tracked"},
    "logits": {0: "batch"},
}


def probe_spec(config, k: int, opset: int) -> dict[str, Any]:
    L, H = config.num_hidden_layers, config.hidden_size
    heads, V = config.num_attention_heads, config.vocab_size
    return {
        "schemaVersion": PROBE_SCHEMA_VERSION,
        "file": "probe.onnx",
        "model_type": config.model_type,
        "num_layers": L,
        "hidden_size": H,
        "num_heads": heads,
        "num_key_value_heads": getattr(config, "num_key_value_heads", heads),
        "vocab_size": V,
        "k": k,
        "opset": opset,
        "padding": "right (either side works: positions = cumsum(attention_mask) - 1)",
        "layer_types": layer_types(config),
        "sliding_window": getattr(config, "sliding_window", None) if "sliding_attention" in layer_types(config) else None,
        "hidden_states_index": "0 = embedding output (scaled for gemma), j = output of decoder layer j-1; all before the final norm",
        "patch": "patch_layer -1 = none; j in 0..L replaces hidden_states[j][b, patch_position[b]] with patch_vector[b] before layer j runs; patch_position < 0 leaves row b unpatched",
        "inputs": [
            {"name": "input_ids", "dtype": "int64", "shape": ["batch", "tokens"]},
            {"name": "attention_mask", "dtype": "int64", "shape": ["batch", "tokens"]},
            {"name": "tracked_ids", "dtype": "int64", "shape": ["batch", "tracked"]},
            {"name": "patch_vector", "dtype": "float32", "shape": ["batch", H]},
            {"name": "patch_layer", "dtype": "int64", "shape": [1]},
            {"name": "patch_position", "dtype": "int64", "shape": ["batch"]},
        ],
        "outputs": [
            {"name": "hidden_states", "dtype": "float32", "shape": [L + 1, "batch", "tokens", H]},
            {"name": "attentions", "dtype": "float32", "shape": [L, "batch", heads, "tokens", "tokens"]},
            {"name": "lens_topk_ids", "dtype": "int64", "shape": [L + 1, "batch", "tokens", k]},
            {"name": "lens_topk_logprobs", "dtype": "float32", "shape": [L + 1, "batch", "tokens", k]},
            {"name": "tracked_logprobs", "dtype": "float32", "shape": [L + 1, "batch", "tokens", "tracked"]},
            {"name": "logits", "dtype": "float32", "shape": ["batch", V], "note": "at each row's last real token"},
        ],
    }


def _set_io_shapes(path: Path, spec: dict[str, Any]) -> None:
    """Name the graph's dims as probe.json does (the tracer leaves e.g. the heads dim symbolic)."""
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    by_name = {e["name"]: e for e in spec["inputs"] + spec["outputs"]}
    for vi in list(m.graph.input) + list(m.graph.output):
        want = by_name.get(vi.name)
        if want is None:
            continue
        dims = vi.type.tensor_type.shape.dim
        if len(dims) != len(want["shape"]):
            raise RuntimeError(f"{vi.name}: rank {len(dims)} != {len(want['shape'])} in probe.json")
        for d, w in zip(dims, want["shape"]):
            if isinstance(w, int):
                d.ClearField("dim_param")
                d.dim_value = w
            else:
                d.ClearField("dim_value")
                d.dim_param = w
    onnx.save_model(m, str(path))


def export_probe(model_dir: Path, *, k: int = DEFAULT_K, opset: int = DEFAULT_OPSET, model=None) -> dict[str, Any]:
    """Export MODEL_DIR/onnx/probe.onnx (+ probe.json). Returns a result dict."""
    model_dir = Path(model_dir).resolve()
    check_model_dir(model_dir)
    onnx_dir = model_dir / "onnx"
    onnx_dir.mkdir(exist_ok=True)
    if model is None:
        with stdout_to_stderr():
            model = load_torch_model(model_dir, eager=True)
    config = model.config
    probe = ProbeModule(model, k=k).eval()
    log(
        f"exporting probe graph for {model_dir} ({config.model_type}, {config.num_hidden_layers} layers, "
        f"hidden {config.hidden_size}, k={k}, opset {opset})"
    )
    t0 = time.time()
    with scratch(onnx_dir, "probe") as tmp:
        tmp_path = tmp / "probe.onnx"
        with stdout_to_stderr(), torch.no_grad():
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    probe,
                    example_inputs(config),
                    str(tmp_path),
                    input_names=INPUT_NAMES,
                    output_names=OUTPUT_NAMES,
                    dynamic_axes=DYNAMIC_AXES,
                    opset_version=opset,
                    do_constant_folding=True,
                    dynamo=False,
                )
        extra = [p for p in Path(tmp).iterdir() if p.name != "probe.onnx"]
        if extra:  # > 2 GB: the exporter wrote external tensors; gather them into one data file
            import onnx

            m = onnx.load(str(tmp_path), load_external_data=True)
            onnx.save_model(
                m,
                str(Path(tmp) / "probe.consolidated.onnx"),
                save_as_external_data=True,
                all_tensors_to_one_file=True,
                location="probe.onnx_data",
                size_threshold=1024,
            )
            os.replace(Path(tmp) / "probe.onnx_data", onnx_dir / "probe.onnx_data")
            tmp_path = Path(tmp) / "probe.consolidated.onnx"
        spec = probe_spec(config, k, opset)
        _set_io_shapes(tmp_path, spec)
        os.replace(tmp_path, onnx_dir / "probe.onnx")
    path = onnx_dir / "probe.onnx"
    spec_tmp = onnx_dir / "probe.json.tmp"
    spec_tmp.write_text(json.dumps(spec, indent=2) + "\n")
    os.replace(spec_tmp, onnx_dir / "probe.json")
    sha = artifact("onnx", path)
    return {
        "path": str(path),
        "sha256": sha,
        "bytes": path.stat().st_size,
        "export_seconds": round(time.time() - t0, 1),
        "spec": str(onnx_dir / "probe.json"),
    }


HIDDEN_REL_DIFF_MAX = 1e-4
LENS_TOP1_MIN = 0.99


def probe_parity_ok(v: dict[str, Any]) -> bool:
    """The probe graph's bar (``probe_check.verify_many`` figures): every layer's hidden states
    within 1e-4 of PyTorch's scale, lens top-1 agreement at least 0.99, patching and padding exact."""
    return bool(
        v["hidden_rel_diff_max"] <= HIDDEN_REL_DIFF_MAX
        and v["lens_top1_agreement"] >= LENS_TOP1_MIN
        and v["patch_ok"]
        and v["padding_ok"]
    )


# ======================================================================================
def main(argv: list[str] | None = None) -> int:
    from hyperwords_bridge.probe_check import DEFAULT_PROMPTS, bench_probe, ort_probe_session, verify_many

    events.die_with_parent()  # a killed host leaves no worker behind
    p = argparse.ArgumentParser(prog="python -m hyperwords_bridge.probe_graph", description=__doc__.split("\n")[0])
    p.add_argument("model_dir", type=Path)
    p.add_argument("--k", type=int, default=DEFAULT_K, help="lens top-k (fixed in the graph)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    p.add_argument("--no-verify", action="store_true")
    p.add_argument("--verify-only", action="store_true", help="check an existing onnx/probe.onnx")
    p.add_argument("--bench", action="store_true", help="time 64 prompts x 32 tokens vs PyTorch with hooks")
    p.add_argument("--bench-reps", type=int, default=3, help="timed repetitions (median; after one warm-up)")
    p.add_argument("--bench-batch", type=int, default=8, help="prompts per run")
    p.add_argument("--prompt", action="append", help="a parity prompt (repeatable; default: 4 fixed RU/EN prompts)")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sigterm_as_interrupt()
    model_dir = args.model_dir.resolve()
    try:
        check_model_dir(model_dir)
    except SystemExit as e:
        events.error(str(e), code="bad-model-dir")
        return 2
    try:
        # exporting alone, or exporting and then the check with the model still loaded
        check_step("probe" if args.no_verify and not args.verify_only else "parity", model_dir)
    except BridgeError as e:
        events.error(str(e), code=e.code)
        return 1
    steps = int(not args.verify_only) + int(not args.no_verify) + int(args.bench)
    task = "probe-graph"
    n = 0
    progress(task, n, steps)
    with stdout_to_stderr():
        model = load_torch_model(model_dir, eager=True)
    result: dict[str, Any] = {"model_dir": str(model_dir), "model_type": model_type(model_dir)}
    if not args.verify_only:
        result["probe"] = export_probe(model_dir, k=args.k, opset=args.opset, model=model)
        n += 1
        progress(task, n, steps)
    sess = None
    if not args.no_verify:
        sess = ort_probe_session(model_dir / "onnx" / "probe.onnx")
        prompts = args.prompt or DEFAULT_PROMPTS
        with stdout_to_stderr():
            v = verify_many(model_dir, model, sess, prompts)
        result["parity"] = v
        ok = probe_parity_ok(v)
        result["parity_ok"] = ok
        log(
            f"probe parity over {len(prompts)} prompts ({v['positions']} positions): hidden max rel diff "
            f"{v['hidden_rel_diff_max']:.2e}, attn max abs diff {v['attn_max_abs_diff']:.2e}, lens top-1 "
            f"agreement {v['lens_top1_agreement']:.4f}, patch ok {v['patch_ok']}, padding ok {v['padding_ok']}",
            level="info" if ok else "warn",
        )
        n += 1
        progress(task, n, steps)
    if args.bench:
        sess = sess or ort_probe_session(model_dir / "onnx" / "probe.onnx")
        with stdout_to_stderr():
            result["bench"] = bench_probe(model, sess, batch=args.bench_batch, reps=args.bench_reps)
        log(f"probe bench: {json.dumps(result['bench'])}")
        n += 1
        progress(task, n, steps)
    done(result)
    return 0 if result.get("parity_ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
