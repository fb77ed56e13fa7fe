"""Patched tuned-version graphs against a full export of the same tuned model.

Tuned versions are trained here on tiny random Llama bases (hyperwords with added tokens, so the
vocabulary grows, and a control without), and a tiny untied gemma3_text one is tuned by hand (its
q/v weights moved as a LoRA merge would, rows added with ``resize_token_embeddings``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from hyperwords_bridge import tuned_graphs as tg
from hyperwords_bridge.embed_graph import export_embed
from hyperwords_bridge.export_onnx import _ort_session, export_generation, ort_greedy
from hyperwords_bridge.graph_weights import WEIGHTS_FILE, match_initializers, read_params
from hyperwords_bridge.probe_check import ort_probe_session, run_probe
from hyperwords_bridge.probe_graph import export_probe

from .finetune_fixtures import make_job, run_job, tiny_base
from .test_probe_graph import _tiny_gemma3


def _export_all(folder: Path) -> Path:
    export_generation(folder, quantize=False, verify=False)
    export_probe(folder, k=5)
    export_embed(folder)
    return folder


def _tuned(base: Path, work: Path, add_tokens: bool) -> tuple[Path, Path]:
    """The merged tuned model twice: a folder to patch and one to export in full."""
    result = run_job(make_job(base, work, **({} if add_tokens else {"hyperwords": [], "add_tokens": False})))
    merged = Path(result["merged_dir"])
    patched, full = work / "patched", work / "full"
    for d in (patched, full):
        shutil.copytree(merged, d, ignore=shutil.ignore_patterns("onnx"))
    return patched, _export_all(full)


def _gemma_tuned(tmp: Path) -> tuple[Path, Path, Path]:
    from transformers import AutoModelForCausalLM

    base = _export_all(_tiny_gemma3(tmp / "base"))
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for layer in model.model.layers:
            for lin in (layer.self_attn.q_proj, layer.self_attn.v_proj):
                lin.weight += 0.05 * torch.randn(lin.weight.shape, generator=g)
        old = model.config.vocab_size
        model.resize_token_embeddings(old + 5, mean_resizing=False)
        model.get_input_embeddings().weight[old:] = torch.randn(5, model.config.hidden_size, generator=g)
        model.get_output_embeddings().weight[old:] = torch.randn(5, model.config.hidden_size, generator=g)
    patched, full = tmp / "patched", tmp / "full"
    for d in (patched, full):
        model.save_pretrained(d)
        for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            if (base / f).exists():
                shutil.copy2(base / f, d / f)
    return base, patched, _export_all(full)


@pytest.fixture(scope="module", params=["hyperwords", "control", "gemma3_text"])
def versions(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "gemma3_text":
        base, patched, full = _gemma_tuned(tmp)
    else:
        base = _export_all(tiny_base(tmp / "base", tied=True))
        patched, full = _tuned(base, tmp / "work", add_tokens=request.param == "hyperwords")
    result = tg.export_tuned(patched, base)
    return {"kind": request.param, "base": base, "patched": patched, "full": full, "result": result}


def test_patched_not_exported(versions):
    r = versions["result"]
    assert r["mode"] == "patched", r.get("fallback_reason")
    assert r["parity"]["ok"]
    grew = r["patch"]["vocab"] - r["patch"]["vocab_base"]
    assert (grew > 0) == (versions["kind"] != "control")


def test_weights_on_disk_once(versions):
    import onnx

    onnx_dir = versions["patched"] / "onnx"
    weights = onnx_dir / WEIGHTS_FILE
    assert os.path.samefile(weights, versions["patched"] / "model.safetensors")
    graphs = sum((onnx_dir / n).stat().st_size for n in tg.GRAPHS)
    full = sum((versions["full"] / "onnx" / n).stat().st_size for n in tg.GRAPHS)
    # each fully exported graph carries (nearly) all the weights; the patched ones none of them
    assert graphs <= full - 2 * (versions["patched"] / "model.safetensors").stat().st_size
    for name in tg.GRAPHS:
        m = onnx.load(str(onnx_dir / name), load_external_data=False)
        inline = [i.name for i in m.graph.initializer if i.data_location != onnx.TensorProto.EXTERNAL and len(i.raw_data) > 4096]
        assert inline == [], name
    assert tg.onnx_bytes(versions["patched"]) == graphs + (onnx_dir / "probe.json").stat().st_size


def _ids(versions) -> np.ndarray:
    v_old, v_new = versions["result"]["patch"]["vocab_base"], versions["result"]["patch"]["vocab"]
    return tg._check_ids(versions["full"], v_old, v_new)


def test_generation_matches_full_export(versions):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(versions["full"])
    ids = _ids(versions)
    got = ort_greedy(_ort_session(versions["patched"] / "onnx" / "model.onnx"), config, ids, 10)
    ref = ort_greedy(_ort_session(versions["full"] / "onnx" / "model.onnx"), config, ids, 10)
    assert got[0].shape == ref[0].shape == (1, config.vocab_size)
    assert np.abs(got[0] - ref[0]).max() <= 1e-4 * max(1.0, np.abs(ref[0]).max())
    assert got[1] == ref[1]


def test_probe_matches_full_export(versions):
    ids = _ids(versions)
    tracked = np.array([[0, 3, ids.max()]], np.int64)
    got = run_probe(ort_probe_session(versions["patched"] / "onnx" / "probe.onnx"), ids, tracked_ids=tracked)
    ref = run_probe(ort_probe_session(versions["full"] / "onnx" / "probe.onnx"), ids, tracked_ids=tracked)
    scale = np.abs(ref["hidden_states"]).max()
    assert np.abs(got["hidden_states"] - ref["hidden_states"]).max() <= 1e-5 * scale
    assert np.array_equal(got["lens_topk_ids"][..., 0], ref["lens_topk_ids"][..., 0])
    assert np.abs(got["lens_topk_logprobs"] - ref["lens_topk_logprobs"]).max() <= 1e-4
    assert np.abs(got["tracked_logprobs"] - ref["tracked_logprobs"]).max() <= 1e-4
    assert np.abs(got["logits"] - ref["logits"]).max() <= 1e-4 * max(1.0, np.abs(ref["logits"]).max())
    spec = json.loads((versions["patched"] / "onnx" / "probe.json").read_text())
    assert spec == json.loads((versions["full"] / "onnx" / "probe.json").read_text())


def test_embed_matches_full_export(versions):
    ids = _ids(versions)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    h = []
    for d in ("patched", "full"):
        sess = _ort_session(versions[d] / "onnx" / "embed.onnx")
        extra = {
            "patch_vector": np.zeros((1, int(sess.get_inputs()[2].shape[1])), np.float32),
            "patch_layer": np.array([-1], np.int64),
            "patch_position": np.array([-1], np.int64),
        }
        names = {i.name for i in sess.get_inputs()}
        h.append(sess.run(["hidden_states"], {k: v for k, v in {**feeds, **extra}.items() if k in names})[0])
    assert np.abs(h[0] - h[1]).max() <= 1e-5 * np.abs(h[1]).max()


def test_every_big_initialiser_is_a_parameter(versions):
    """The exporters' tensors of model size are all tied to parameters (unmatched ones are small)."""
    import onnx

    params = read_params(versions["base"] / "model.safetensors")
    for name in tg.GRAPHS:
        m = onnx.load(str(versions["base"] / "onnx" / name))
        _, unmatched = match_initializers(m.graph, versions["base"] / "onnx", params)
        by = {i.name: i for i in m.graph.initializer}
        assert sum(len(by[n].raw_data) for n in unmatched) < 0.01 * sum(len(i.raw_data) for i in m.graph.initializer)


def test_rerun_replaces_the_graphs(versions, tmp_path):
    copy = tmp_path / "again"
    shutil.copytree(versions["patched"], copy)
    r = tg.export_tuned(copy, versions["base"], verify=False)
    assert r["mode"] == "patched" and os.path.samefile(copy / "onnx" / WEIGHTS_FILE, copy / "model.safetensors")


# -- fallbacks: each ends in the full export and says why ------------------------------


@pytest.fixture(scope="module")
def control_pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fallback")
    base = _export_all(tiny_base(tmp / "base", tied=True))
    result = run_job(make_job(base, tmp / "work", hyperwords=[], add_tokens=False, steps=2))
    return base, Path(result["merged_dir"])


def _fresh(merged: Path, dst: Path) -> Path:
    shutil.copytree(merged, dst, ignore=shutil.ignore_patterns("onnx"))
    return dst


def test_base_without_graphs_falls_back(control_pair, tmp_path):
    base, merged = control_pair
    bare = tmp_path / "bare-base"
    shutil.copytree(base, bare, ignore=shutil.ignore_patterns("onnx"))
    r = tg.export_tuned(_fresh(merged, tmp_path / "v"), bare)
    assert r["mode"] == "full" and "onnx/model.onnx" in r["fallback_reason"]
    assert (tmp_path / "v" / "onnx" / "embed.onnx").is_file() and not (tmp_path / "v" / "onnx" / WEIGHTS_FILE).exists()


def test_unrelated_base_falls_back(control_pair, tmp_path):
    """A base of the same shapes but other weights: no initialiser holds one of its parameters."""
    base, merged = control_pair
    other = tmp_path / "other"
    shutil.copytree(base, other)
    from safetensors.torch import load_file, save_file

    sd = load_file(other / "model.safetensors")
    save_file({k: v + 1.0 for k, v in sd.items()}, other / "model.safetensors", metadata={"format": "pt"})
    r = tg.export_tuned(_fresh(merged, tmp_path / "v"), other)
    assert r["mode"] == "full" and "no initialiser holds a parameter" in r["fallback_reason"]


def test_failed_parity_falls_back(control_pair, tmp_path):
    base, merged = control_pair
    r = tg.export_tuned(_fresh(merged, tmp_path / "v"), base, atol=-1.0)  # no logits can be that close
    assert r["mode"] == "full" and "generation" in r["fallback_reason"]
    assert r["full"]["generation"]["parity_ok"]


def test_cli_emits_done_with_mode(control_pair, tmp_path, event_stream):
    base, merged = control_pair
    assert tg.main([str(_fresh(merged, tmp_path / "v")), "--base", str(base)]) == 0
    done = [e for e in event_stream() if e["type"] == "done"]
    assert len(done) == 1 and done[0]["result"]["mode"] == "patched"


def test_check_catches_wrong_weights(control_pair, tmp_path):
    """The check's sessions skip onnxruntime's graph optimisations; a weight the patched graphs read
    wrongly still fails every graph that reads it (the mapping here is right, the file is not)."""
    from safetensors.numpy import load_file as load_np
    from safetensors.numpy import save_file as save_np

    base, merged = control_pair
    v = _fresh(merged, tmp_path / "v")
    patch = tg.write_patched(v, base)
    weights = v / "onnx" / WEIGHTS_FILE
    tensors = load_np(str(weights))
    name = next(k for k in sorted(tensors) if k.endswith("layers.0.self_attn.q_proj.weight"))
    tensors[name] = tensors[name] + np.float32(0.5)
    weights.unlink()  # a hard link to model.safetensors: PyTorch's side keeps the right weights
    save_np(tensors, str(weights), metadata={"format": "pt"})
    parity = tg.verify_patched(v, patch["vocab_base"])
    assert not parity["ok"]
    assert not parity["generation"]["ok"] and not parity["probe"]["ok"]
    assert parity["generation"]["logits_max_abs_diff"] > 1e-2


def test_probe_key_of_a_transposed_view():
    from hyperwords_bridge.graph_weights import _probe_key

    a = np.arange(40 * 7, dtype=np.float32).reshape(40, 7)
    assert _probe_key(a.T) == np.ascontiguousarray(a.T).reshape(-1)[:16].tobytes()
    assert _probe_key(a) == a.reshape(-1)[:16].tobytes()
