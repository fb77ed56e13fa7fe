"""Probe graph parity on tiny randomly initialised llama and gemma3_text models (no download)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hyperwords_bridge import probe_check as pc
from hyperwords_bridge import probe_graph as pg


def _tiny_llama(path):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(cfg).save_pretrained(path)
    return path


def _tiny_gemma3(path):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    cfg = Gemma3TextConfig(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=16,
        query_pre_attn_scalar=16,
        max_position_embeddings=128,
        sliding_window=4,  # shorter than the test prompts, so the window really masks
        layer_types=["sliding_attention", "sliding_attention", "full_attention"],
    )
    model = Gemma3ForCausalLM(cfg)
    with torch.no_grad():  # Gemma RMSNorm scales by (1 + w); random w makes that matter
        for name, p in model.named_parameters():
            if "norm" in name:
                p.normal_(0, 0.3)
    model.save_pretrained(path)
    return path


BUILDERS = {"llama": _tiny_llama, "gemma3_text": _tiny_gemma3}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def exported(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(request.param)
    BUILDERS[request.param](d)
    model = pg.load_torch_model(d, eager=True)
    result = pg.export_probe(d, k=5, model=model)
    sess = pc.ort_probe_session(d / "onnx" / "probe.onnx")
    return request.param, d, model, sess, result


def _ids(vocab: int, t: int = 11, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab, size=(1, t)).astype(np.int64)


def test_layout_and_spec(exported):
    arch, d, model, sess, result = exported
    cfg = model.config
    spec = json.loads((d / "onnx" / "probe.json").read_text())
    assert spec["model_type"] == arch
    assert spec["num_layers"] == cfg.num_hidden_layers
    assert spec["hidden_size"] == cfg.hidden_size
    assert spec["num_heads"] == cfg.num_attention_heads
    assert spec["k"] == 5
    assert [i.name for i in sess.get_inputs()] == pg.INPUT_NAMES
    assert [o.name for o in sess.get_outputs()] == pg.OUTPUT_NAMES
    assert result["sha256"] and (d / "onnx" / "probe.onnx").stat().st_size == result["bytes"]
    # declared shapes in the graph match probe.json
    for o, want in zip(sess.get_outputs(), spec["outputs"]):
        assert o.shape == want["shape"], o.name


def test_output_shapes_dynamic_axes(exported):
    _, _, model, sess, _ = exported
    cfg = model.config
    L, H = cfg.num_hidden_layers, cfg.hidden_size
    for b, t, k in ((1, 3, 1), (3, 9, 4)):
        out = pc.run_probe(sess, _ids(cfg.vocab_size, t).repeat(b, 0), tracked_ids=np.zeros((b, k), np.int64))
        assert out["hidden_states"].shape == (L + 1, b, t, H)
        assert out["attentions"].shape == (L, b, cfg.num_attention_heads, t, t)
        assert out["lens_topk_ids"].shape == (L + 1, b, t, 5)
        assert out["lens_topk_ids"].dtype == np.int64
        assert out["lens_topk_logprobs"].shape == (L + 1, b, t, 5)
        assert out["tracked_logprobs"].shape == (L + 1, b, t, k)
        assert out["logits"].shape == (b, cfg.vocab_size)
        lp = out["lens_topk_logprobs"]
        assert np.all(lp <= 1e-5) and np.all(np.diff(lp, axis=-1) <= 1e-6)  # log-probs, sorted


def test_parity_with_pytorch(exported):
    arch, d, model, sess, _ = exported
    v = pc.verify_probe(d, model=model, sess=sess, input_ids=_ids(model.config.vocab_size))
    assert len(v["hidden_rel_diff_per_layer"]) == model.config.num_hidden_layers + 1
    assert v["hidden_rel_diff_max"] <= 1e-4, v["hidden_rel_diff_per_layer"]
    assert v["last_entry_is_prenorm"], "hidden_states[L] must be the residual before the final norm"
    assert v["attn_max_abs_diff"] <= 1e-5
    assert v["lens_top1_agreement"] >= 0.99
    assert v["final_lens_top1_equals_model"] == 1.0
    assert v["final_lens_logprob_max_abs_diff"] <= 1e-4
    assert v["tracked_logprob_max_abs_diff"] <= 1e-4
    assert v["logits_rel_diff"] <= 1e-4


def test_parity_holding_one_copy_at_a_time_gives_the_same_figures(exported):
    # the import's check: PyTorch's answers for every prompt first, the model let go, then the graph
    _, d, model, sess, _ = exported
    prompts = ["the warm cat", "Кошка мурчит на тёплом окне вечером"]
    assert pc.verify_many_one_at_a_time(d, prompts) == pc.verify_many(d, model, sess, prompts)


def test_patching(exported):
    _, d, model, sess, _ = exported
    v = pc.verify_probe(d, model=model, sess=sess, input_ids=_ids(model.config.vocab_size, seed=5))
    assert v["patch_minus1_equals_unpatched"]
    assert v["patch_sets_vector"]
    assert v["patch_upstream_unchanged"]
    assert v["patch_earlier_tokens_unchanged"]
    assert v["patch_changes_downstream"]
    assert v["patch_negative_position_is_noop"]


def test_patch_per_row_and_embedding_layer(exported):
    _, _, model, sess, _ = exported
    cfg = model.config
    ids = np.concatenate([_ids(cfg.vocab_size, 8, 1), _ids(cfg.vocab_size, 8, 2)])
    base = pc.run_probe(sess, ids)
    vec = np.random.default_rng(0).standard_normal((2, cfg.hidden_size)).astype(np.float32)
    out = pc.run_probe(sess, ids, patch_vector=vec, patch_layer=0, patch_position=[3, -1])
    np.testing.assert_allclose(out["hidden_states"][0, 0, 3], vec[0])
    assert np.abs(out["hidden_states"][1:, 0, 3:] - base["hidden_states"][1:, 0, 3:]).max() > 1e-3
    np.testing.assert_array_equal(out["hidden_states"][:, 1], base["hidden_states"][:, 1])  # row 1 untouched


def test_padding_matches_unbatched(exported):
    _, d, model, sess, _ = exported
    v = pc.verify_probe(d, model=model, sess=sess, input_ids=_ids(model.config.vocab_size, 10, 7))
    for side in ("right", "left"):
        p = v[f"padding_{side}"]
        assert p["hidden_rel_diff_max"] <= 1e-5, (side, p)
        assert p["attn_max_abs_diff"] <= 1e-5, (side, p)
        assert p["lens_top1_agreement"] == 1.0, (side, p)
        assert p["tracked_logprob_max_abs_diff"] <= 1e-4, (side, p)
        assert p["logits_rel_diff"] <= 1e-5, (side, p)


def test_tied_embedding_stored_once(exported):
    import onnx

    _, d, model, _, _ = exported
    m = onnx.load(str(d / "onnx" / "probe.onnx"))
    vocab = model.config.vocab_size
    big = [i.name for i in m.graph.initializer if vocab in i.dims and model.config.hidden_size in i.dims]
    assert len(big) == 1, big


def test_cli_emits_ndjson(exported, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    _, d, _, _, _ = exported
    pkg_root = Path(pg.__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "hyperwords_bridge.probe_graph", str(d), "--verify-only"],
        cwd=pkg_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    evs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert evs[-1]["type"] == "done"
    assert evs[-1]["result"]["parity_ok"] is True
    assert {e["type"] for e in evs} <= {"progress", "log", "artifact", "done"}


def test_missing_model_dir_is_a_clear_error(tmp_path, event_stream):
    rc = pg.main([str(tmp_path / "nope")])
    assert rc == 2
    (ev,) = [e for e in event_stream() if e["type"] == "error"]
    assert "config.json" in ev["message"]
