"""The probe graph checked against PyTorch and timed: parity of hidden states, lens and logits
(``verify_probe``, ``verify_many``, the padding check) and the benchmark against PyTorch with hooks.
The export itself is ``probe_graph``; its command line runs these after exporting.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from hyperwords_bridge.export_onnx import load_torch_model, sample_prompt_ids, stdout_to_stderr
from hyperwords_bridge.probe_graph import DEFAULT_K, INPUT_NAMES, OUTPUT_NAMES, _base_model

# Verification against PyTorch
# ======================================================================================


def ort_probe_session(path: Path, threads: int | None = None, optimize: bool = True):
    import onnxruntime as ort

    from hyperwords_bridge.export_onnx import check_options

    so = ort.SessionOptions()
    so.log_severity_level = 3
    if not optimize:
        check_options(so)
    if threads:
        so.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_probe(sess, input_ids, attention_mask=None, tracked_ids=None, patch_vector=None, patch_layer=-1, patch_position=None):
    """Run probe.onnx with numpy inputs; missing inputs get neutral values. Returns a dict."""
    import numpy as np

    input_ids = np.asarray(input_ids, dtype=np.int64)
    b, _t = input_ids.shape
    hidden = sess.get_inputs()[INPUT_NAMES.index("patch_vector")].shape[1]
    feed = {
        "input_ids": input_ids,
        "attention_mask": np.ones_like(input_ids) if attention_mask is None else np.asarray(attention_mask, np.int64),
        "tracked_ids": np.zeros((b, 1), np.int64) if tracked_ids is None else np.asarray(tracked_ids, np.int64),
        "patch_vector": np.zeros((b, hidden), np.float32) if patch_vector is None else np.asarray(patch_vector, np.float32),
        "patch_layer": np.array([patch_layer], dtype=np.int64),
        "patch_position": np.zeros((b,), np.int64) if patch_position is None else np.asarray(patch_position, np.int64),
    }
    return dict(zip(OUTPUT_NAMES, sess.run(OUTPUT_NAMES, feed)))


def torch_reference(model, input_ids, attention_mask=None):
    """PyTorch reference: hidden states 0..L-1 from output_hidden_states, the last layer's
    pre-norm output from a forward hook, eager attentions, logits."""
    import numpy as np

    base = _base_model(model)
    grabbed: dict[str, torch.Tensor] = {}
    last = base.layers[model.config.num_hidden_layers - 1]

    def hook(_m, _a, out):
        grabbed["last"] = out[0] if isinstance(out, (tuple, list)) else out

    h = last.register_forward_hook(hook)
    try:
        with torch.no_grad():
            out = model(
                input_ids=torch.as_tensor(input_ids),
                attention_mask=None if attention_mask is None else torch.as_tensor(attention_mask),
                output_hidden_states=True,
                output_attentions=True,
                use_cache=False,
            )
    finally:
        h.remove()
    hs = [x.numpy() for x in out.hidden_states[:-1]] + [grabbed["last"].numpy()]
    return {
        "hidden_states": np.stack(hs, 0),
        "hidden_states_final_normed": out.hidden_states[-1].numpy(),
        "attentions": np.stack([a.numpy() for a in out.attentions], 0),
        "logits": out.logits.numpy(),
    }


def _rel(a, b) -> float:
    import numpy as np

    return float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-12))


def lens_reference_top1(model, hidden_states) -> "Any":
    """Logit-lens top-1 ids computed in PyTorch from (pre-norm) hidden states [L+1,B,T,H]."""
    base = _base_model(model)
    head = model.get_output_embeddings()
    with torch.no_grad():
        return head(base.norm(torch.as_tensor(hidden_states))).argmax(-1).numpy()


def torch_side(model, input_ids) -> dict[str, Any]:
    """What the check needs from PyTorch for one prompt (``torch_reference``, the lens top-1 ids
    and the log-probabilities), so that the model can be let go before the graph is opened."""
    ref = torch_reference(model, input_ids)
    ref["lens_top1"] = lens_reference_top1(model, ref["hidden_states"])  # [L+1,1,T]
    ref["logprobs"] = torch.log_softmax(torch.as_tensor(ref["logits"]), -1).numpy()  # [1,T,V]
    return ref


def verify_probe(model_dir: Path, *, model=None, sess=None, input_ids=None, seed: int = 0) -> dict[str, Any]:
    """All parity checks of the probe graph against PyTorch; returns figures (no asserts)."""
    import numpy as np

    model_dir = Path(model_dir)
    if model is None:
        with stdout_to_stderr():
            model = load_torch_model(model_dir, eager=True)
    if sess is None:
        sess = ort_probe_session(model_dir / "onnx" / "probe.onnx")
    if input_ids is None:
        input_ids = sample_prompt_ids(model_dir, model.config.vocab_size).numpy()
    input_ids = np.asarray(input_ids, np.int64)[:1]
    return compare_probe(sess, model.config, input_ids, torch_side(model, input_ids), seed)


def compare_probe(sess, config, input_ids, ref: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """The probe graph's outputs for one prompt against PyTorch's (``torch_side``)."""
    import numpy as np

    L = config.num_hidden_layers
    T = input_ids.shape[1]
    g = np.random.default_rng(seed)
    tracked = g.integers(0, config.vocab_size, size=(1, 4)).astype(np.int64)

    res: dict[str, Any] = {"tokens": int(T), "num_layers": L}
    got = run_probe(sess, input_ids, tracked_ids=tracked)

    # 1. per-layer hidden states (max abs diff / max abs value per layer)
    per_layer = [_rel(got["hidden_states"][j], ref["hidden_states"][j]) for j in range(L + 1)]
    res["hidden_rel_diff_per_layer"] = per_layer
    res["hidden_rel_diff_max"] = max(per_layer)
    # HF's last hidden_states entry is the normed one; ours must be pre-norm
    res["last_entry_is_prenorm"] = bool(
        _rel(got["hidden_states"][L], ref["hidden_states"][L]) < 1e-3
        and _rel(got["hidden_states"][L], ref["hidden_states_final_normed"]) > 1e-2
    )
    # 2. attentions
    att = [_rel(got["attentions"][i], ref["attentions"][i]) for i in range(L)]
    res["attn_max_abs_diff"] = float(np.abs(got["attentions"] - ref["attentions"]).max())
    res["attn_rel_diff_max"] = max(att)
    # 3. logit lens top-1 agreement (vs PyTorch lens on PyTorch's states) and real output
    agree = got["lens_topk_ids"][..., 0] == ref["lens_top1"]
    res["lens_top1_agreement"] = float(agree.mean())
    res["lens_top1_agreement_per_layer"] = [float(a) for a in agree.reshape(L + 1, -1).mean(-1)]
    ref_lp = ref["logprobs"]
    res["final_lens_top1_equals_model"] = float((got["lens_topk_ids"][L, ..., 0] == ref_lp.argmax(-1)).mean())
    top_ref = np.take_along_axis(ref_lp, got["lens_topk_ids"][L], -1)
    res["final_lens_logprob_max_abs_diff"] = float(np.abs(top_ref - got["lens_topk_logprobs"][L]).max())
    tr_ref = np.take_along_axis(ref_lp, np.broadcast_to(tracked[:, None, :], (1, T, tracked.shape[1])), -1)
    res["tracked_logprob_max_abs_diff"] = float(np.abs(tr_ref - got["tracked_logprobs"][L]).max())
    res["logits_max_abs_diff"] = float(np.abs(got["logits"][0] - ref["logits"][0, -1]).max())
    res["logits_rel_diff"] = _rel(got["logits"][0], ref["logits"][0, -1])

    # 4. patching: -1 equals unpatched; a patch changes downstream states only
    if T >= 3:
        pl, pp = max(1, L // 2), T // 2
        vec = g.standard_normal((1, config.hidden_size)).astype(np.float32) * float(np.abs(ref["hidden_states"][pl]).max())
        none = run_probe(sess, input_ids, tracked_ids=tracked, patch_vector=vec, patch_layer=-1, patch_position=[pp])
        res["patch_minus1_equals_unpatched"] = bool(np.array_equal(none["hidden_states"], got["hidden_states"]))
        pat = run_probe(sess, input_ids, tracked_ids=tracked, patch_vector=vec, patch_layer=pl, patch_position=[pp])
        hs0, hs1 = got["hidden_states"], pat["hidden_states"]
        res["patch_sets_vector"] = bool(np.allclose(hs1[pl, 0, pp], vec[0]))
        res["patch_upstream_unchanged"] = bool(np.array_equal(hs1[:pl], hs0[:pl]) and np.array_equal(hs1[pl, :, :pp], hs0[pl, :, :pp]))
        res["patch_earlier_tokens_unchanged"] = bool(np.array_equal(hs1[:, :, :pp], hs0[:, :, :pp]))
        res["patch_downstream_max_abs_change"] = float(np.abs(hs1[pl + 1 :, :, pp:] - hs0[pl + 1 :, :, pp:]).max()) if pl < L else 0.0
        res["patch_changes_downstream"] = res["patch_downstream_max_abs_change"] > 1e-3
        # a negative patch_position leaves the row unpatched
        neg = run_probe(sess, input_ids, tracked_ids=tracked, patch_vector=vec, patch_layer=pl, patch_position=[-1])
        res["patch_negative_position_is_noop"] = bool(np.array_equal(neg["hidden_states"], hs0))

    # 5. padding: a batch of two prompts of different lengths (right padding) vs unbatched
    res.update(_padding_check(sess, input_ids, tracked, config))
    return res


def _padding_check(sess, input_ids, tracked, config) -> dict[str, Any]:
    import numpy as np

    T = input_ids.shape[1]
    short_len = max(2, T // 2)
    a = input_ids[0]
    b = input_ids[0, :short_len][::-1].copy()  # a different, shorter prompt
    out: dict[str, Any] = {}
    for side in ("right", "left"):
        batch = np.zeros((2, T), np.int64)
        mask = np.zeros((2, T), np.int64)
        batch[0], mask[0] = a, 1
        if side == "right":
            batch[1, :short_len], mask[1, :short_len] = b, 1
            sl = slice(0, short_len)
        else:
            batch[1, T - short_len :], mask[1, T - short_len :] = b, 1
            sl = slice(T - short_len, T)
        tr = np.repeat(tracked, 2, 0)
        got = run_probe(sess, batch, mask, tracked_ids=tr)
        ua = run_probe(sess, a[None], tracked_ids=tracked)
        ub = run_probe(sess, b[None], tracked_ids=tracked)
        hs_diff = max(
            _rel(got["hidden_states"][:, 0], ua["hidden_states"][:, 0]),
            _rel(got["hidden_states"][:, 1, sl], ub["hidden_states"][:, 0]),
        )
        att_b = got["attentions"][:, 1][:, :, sl][..., sl]
        att_diff = max(
            float(np.abs(got["attentions"][:, 0] - ua["attentions"][:, 0]).max()),
            float(np.abs(att_b - ub["attentions"][:, 0]).max()),
            # padding keys get exactly zero probability from real queries
            float(np.abs(got["attentions"][:, 1][:, :, sl].sum(-1) - 1).max()),
        )
        top1 = np.concatenate(
            [
                (got["lens_topk_ids"][:, 0, :, 0] == ua["lens_topk_ids"][:, 0, :, 0]).ravel(),
                (got["lens_topk_ids"][:, 1, sl, 0] == ub["lens_topk_ids"][:, 0, :, 0]).ravel(),
            ]
        )
        tr_diff = max(
            float(np.abs(got["tracked_logprobs"][:, 0] - ua["tracked_logprobs"][:, 0]).max()),
            float(np.abs(got["tracked_logprobs"][:, 1, sl] - ub["tracked_logprobs"][:, 0]).max()),
        )
        logit_diff = max(
            _rel(got["logits"][0], ua["logits"][0]),
            _rel(got["logits"][1], ub["logits"][0]),
        )
        out[f"padding_{side}"] = {
            "hidden_rel_diff_max": hs_diff,
            "attn_max_abs_diff": att_diff,
            "lens_top1_agreement": float(top1.mean()),
            "tracked_logprob_max_abs_diff": tr_diff,
            "logits_rel_diff": logit_diff,
        }
    return out


DEFAULT_PROMPTS = [
    "The cat sat on the warm windowsill and watched the evening light fade over the roofs.",
    "Кошка мурлычет на тёплом подоконнике, а за окном медленно темнеет вечер.",
    "Warm purring lap at dusk: a soft weight, a slow heartbeat, the smell of rain.",
    "Тёплое мягкое мурчит вечер — запах хлеба, шорох листьев и тихий дождь.",
]


def verify_many(model_dir: Path, model, sess, prompts: list[str]) -> dict[str, Any]:
    """verify_probe over several prompts; per-layer figures are maxima, top-1 is pooled."""
    per_prompt = []
    for text in prompts:
        ids = sample_prompt_ids(model_dir, model.config.vocab_size, text).numpy()
        per_prompt.append(verify_probe(model_dir, model=model, sess=sess, input_ids=ids))
    return pool_prompts(per_prompt)


def verify_many_one_at_a_time(model_dir: Path, prompts: list[str]) -> dict[str, Any]:
    """``verify_many`` holding one copy of the weights at a time: PyTorch's answers for every prompt
    first, then the model let go, then the probe graph opened and compared. The same figures; the
    peak is the larger of the two rather than their sum (the import's parity check on bigger models)."""
    import gc

    import numpy as np

    with stdout_to_stderr():
        model = load_torch_model(model_dir, eager=True)
    config = model.config
    cases = []
    for text in prompts:
        ids = np.asarray(sample_prompt_ids(model_dir, config.vocab_size, text).numpy(), np.int64)[:1]
        cases.append((ids, torch_side(model, ids)))
    del model
    gc.collect()
    sess = ort_probe_session(model_dir / "onnx" / "probe.onnx")
    return pool_prompts([compare_probe(sess, config, ids, ref) for ids, ref in cases])


def pool_prompts(per_prompt: list[dict[str, Any]]) -> dict[str, Any]:
    """Several prompts' figures as one: per-layer figures are maxima, top-1 is pooled by tokens."""
    L1 = len(per_prompt[0]["hidden_rel_diff_per_layer"])
    w = [r["tokens"] for r in per_prompt]
    pooled = lambda key: sum(r[key] * n for r, n in zip(per_prompt, w)) / sum(w)  # noqa: E731
    patch_keys = [k for k in per_prompt[0] if k.startswith("patch_") and isinstance(per_prompt[0][k], bool)]
    return {
        "prompts": len(per_prompt),
        "positions": sum(w),
        "hidden_rel_diff_per_layer": [max(r["hidden_rel_diff_per_layer"][j] for r in per_prompt) for j in range(L1)],
        "hidden_rel_diff_max": max(r["hidden_rel_diff_max"] for r in per_prompt),
        "last_entry_is_prenorm": all(r["last_entry_is_prenorm"] for r in per_prompt),
        "attn_max_abs_diff": max(r["attn_max_abs_diff"] for r in per_prompt),
        "lens_top1_agreement": pooled("lens_top1_agreement"),
        "lens_top1_agreement_per_layer": [
            sum(r["lens_top1_agreement_per_layer"][j] * n for r, n in zip(per_prompt, w)) / sum(w) for j in range(L1)
        ],
        "final_lens_top1_equals_model": pooled("final_lens_top1_equals_model"),
        "final_lens_logprob_max_abs_diff": max(r["final_lens_logprob_max_abs_diff"] for r in per_prompt),
        "tracked_logprob_max_abs_diff": max(r["tracked_logprob_max_abs_diff"] for r in per_prompt),
        "logits_rel_diff_max": max(r["logits_rel_diff"] for r in per_prompt),
        "patch_ok": all(r[k] for r in per_prompt for k in patch_keys),
        "patch_downstream_max_abs_change_min": min(r.get("patch_downstream_max_abs_change", 0.0) for r in per_prompt),
        "padding_ok": all(
            r[f"padding_{s}"]["hidden_rel_diff_max"] <= 1e-4 and r[f"padding_{s}"]["lens_top1_agreement"] >= 0.99
            for r in per_prompt
            for s in ("right", "left")
        ),
        "padding": {
            s: {
                k: max(r[f"padding_{s}"][k] for r in per_prompt) if k != "lens_top1_agreement" else min(r[f"padding_{s}"][k] for r in per_prompt)
                for k in per_prompt[0][f"padding_{s}"]
            }
            for s in ("right", "left")
        },
        "per_prompt_tokens": w,
    }


# ======================================================================================
# Timing: probe graph vs PyTorch forward with hooks collecting the same tensors
# ======================================================================================


def bench_probe(model, sess, *, prompts: int = 64, tokens: int = 32, batch: int = 8, k: int = DEFAULT_K, reps: int = 3, tracked: int = 4) -> dict[str, Any]:
    import numpy as np

    config = model.config
    g = np.random.default_rng(1)
    ids = g.integers(0, config.vocab_size, size=(prompts, tokens)).astype(np.int64)
    trk = g.integers(0, config.vocab_size, size=(prompts, tracked)).astype(np.int64)
    base = _base_model(model)
    head = model.get_output_embeddings()
    L = config.num_hidden_layers

    def torch_run(n: int = prompts):
        for s in range(0, n, batch):
            x = torch.as_tensor(ids[s : s + batch])
            tr = torch.as_tensor(trk[s : s + batch])
            states: list[torch.Tensor] = []
            hooks = [base.embed_tokens.register_forward_hook(lambda _m, _a, o: states.append(o))]
            hooks += [
                layer.register_forward_hook(lambda _m, _a, o: states.append(o[0] if isinstance(o, tuple) else o))
                for layer in base.layers[:L]
            ]
            try:
                with torch.no_grad():
                    out = model(input_ids=x, attention_mask=torch.ones_like(x), output_attentions=True, use_cache=False)
                    _att = out.attentions
                    for hs in states:  # same lens work as the graph: top-k + tracked log-probs
                        lp = torch.log_softmax(head(base.norm(hs)), -1)
                        lp.topk(k, -1)
                        lp.gather(2, tr[:, None, :].expand(-1, hs.shape[1], -1))
            finally:
                for h in hooks:
                    h.remove()

    def ort_run(n: int = prompts):
        for s in range(0, n, batch):
            run_probe(sess, ids[s : s + batch], tracked_ids=trk[s : s + batch])

    def median_time(fn):
        fn(batch)  # warm-up: one batch
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return float(np.median(times))

    t_ort = median_time(ort_run)
    t_torch = median_time(torch_run)
    return {
        "prompts": prompts,
        "tokens": tokens,
        "batch": batch,
        "reps": reps,
        "threads": torch.get_num_threads(),
        "probe_onnx_seconds": round(t_ort, 3),
        "torch_hooks_seconds": round(t_torch, 3),
        "speedup": round(t_torch / t_ort, 2),
    }
