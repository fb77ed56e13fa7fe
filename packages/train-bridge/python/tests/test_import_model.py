"""`hyperwords models import` on tiny random folders of every supported family (no download).

Each import runs the worker steps the TypeScript side runs (``ModelDir.importModel``): stage,
the export steps of a pull with their own checks left to the card, then the card's parity check.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from hyperwords_bridge import embed_graph, export_onnx, graph_cuts, import_model, lens_head, probe_graph
from hyperwords_bridge.events import BridgeError

from .import_fixtures import FAMILIES, tiny_family

torch.set_num_threads(1)


def run_import(src: Path, out: Path, force: bool = False) -> dict:
    """stage → export_onnx → probe_graph → embed_graph → lens_head → graph_cuts → card."""
    import_model.stage(src, out, force=force)
    assert export_onnx.main([str(out), "--no-verify"]) == 0
    assert probe_graph.main([str(out), "--no-verify"]) == 0
    assert embed_graph.main([str(out)]) == 0
    assert lens_head.main([str(out)]) == 0
    assert graph_cuts.main([str(out), "--embed-upto", "1"]) == 0
    return import_model.write_card(out, src)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_imports_with_parity(family, tmp_path, event_stream):
    src = tiny_family(tmp_path / "src" / f"My {family}", family)
    out = tmp_path / "store" / "models" / family
    result = run_import(src, out)
    assert result["model_type"] == family
    card = json.loads((out / "hyperwords-model.json").read_text())
    assert card["source"]["kind"] == "import" and card["source"]["path"] == str(src.resolve())
    assert card["model_type"] == family
    gen, probe = card["parity"]["generation"], card["parity"]["probe"]
    assert gen["fp32"]["greedy_ids_equal"] and gen["fp32"]["greedy_ids"] == gen["torch_greedy_ids"]
    assert len(probe["hidden_rel_diff_per_layer"]) == 3 and probe["hidden_rel_diff_max"] <= 1e-4
    assert probe["lens_top1_agreement"] >= 0.99
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors", "generation_config.json"):
        assert f in card["files"], f
    assert card["safetensors_sha256"] == card["files"]["model.safetensors"]["sha256"]
    for f in ("model.onnx", "model_quantized.onnx", "probe.onnx", "probe.json", "embed.onnx", "lens.onnx", "embed-upto-1.onnx"):
        assert (out / "onnx" / f).is_file(), f
    assert not (out / import_model.STAMP).exists()
    # the weights are hard links of the researcher's file, not copies
    assert (out / "model.safetensors").stat().st_ino == (src / "model.safetensors").stat().st_ino
    assert any(e["type"] == "artifact" and e["kind"] == "model-dir" for e in event_stream())


@pytest.fixture(scope="module")
def llama_src(tmp_path_factory) -> Path:
    return tiny_family(tmp_path_factory.mktemp("llama-src"), "llama")


def _copy(src: Path, dst: Path, drop: tuple[str, ...] = ()) -> Path:
    shutil.copytree(src, dst)
    for name in drop:
        (dst / name).unlink()
    return dst


def test_unsupported_architecture_names_it_and_the_list(tmp_path):
    src = tiny_family(tmp_path / "gpt2", "gpt2")
    with pytest.raises(BridgeError) as e:
        import_model.stage(src, tmp_path / "out")
    assert e.value.code == "unsupported-architecture"
    msg = str(e.value)
    assert 'model_type "gpt2" (GPT2LMHeadModel)' in msg and str(src / "config.json") in msg
    for family in FAMILIES:
        assert family in msg
    assert not (tmp_path / "out").exists()

    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    with pytest.raises(BridgeError, match=r'model_type "bert" \(BertModel\) is not supported. Supported: llama'):
        import_model.stage(bert, tmp_path / "out")

    gemma3 = tmp_path / "gemma3"
    gemma3.mkdir()
    (gemma3 / "config.json").write_text(json.dumps({"model_type": "gemma3"}))
    with pytest.raises(BridgeError, match="multimodal Gemma 3; only its text-only form"):
        import_model.stage(gemma3, tmp_path / "out")


def test_missing_weights_are_named(llama_src, tmp_path):
    src = _copy(llama_src, tmp_path / "src", drop=("model.safetensors",))
    with pytest.raises(BridgeError) as e:
        import_model.stage(src, tmp_path / "out")
    assert e.value.code == "missing-weights"
    assert str(src / "model.safetensors") in str(e.value) and "weights file is missing" in str(e.value)
    torch.save({}, src / "pytorch_model.bin")
    with pytest.raises(BridgeError, match="pytorch_model.bin: only safetensors are imported"):
        import_model.stage(src, tmp_path / "out")


def test_missing_tokenizer_and_broken_weights_are_named(llama_src, tmp_path):
    src = _copy(llama_src, tmp_path / "src", drop=("tokenizer.json",))
    with pytest.raises(BridgeError, match=r"tokenizer\.json: the tokenizer file is missing"):
        import_model.stage(src, tmp_path / "out")
    src = _copy(llama_src, tmp_path / "src2")
    (src / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(BridgeError, match=r"model\.safetensors: not a readable safetensors file"):
        import_model.stage(src, tmp_path / "out")


def test_shards_are_merged_and_a_lone_file_renamed(tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    src = tiny_family(tmp_path / "one", "qwen3")
    whole = load_file(str(src / "model.safetensors"))
    sharded = tmp_path / "sharded"
    shutil.copytree(src, sharded)
    (sharded / "model.safetensors").unlink()
    AutoModelForCausalLM.from_pretrained(str(src)).save_pretrained(sharded, max_shard_size="20KB")
    assert (sharded / import_model.INDEX).is_file() and len(list(sharded.glob("*.safetensors"))) > 1
    result = import_model.stage(sharded, tmp_path / "out")
    assert result["files"]["model.safetensors"].startswith("merged from")
    merged = load_file(str(tmp_path / "out" / "model.safetensors"))
    assert merged.keys() == whole.keys() and all(torch.equal(merged[k], whole[k]) for k in whole)

    shard = sorted(sharded.glob("model-*.safetensors"))[0]
    shard.unlink()
    with pytest.raises(BridgeError, match=f"names shards that are missing: {shard.name}"):
        import_model.stage(sharded, tmp_path / "out2")

    lone = _copy(src, tmp_path / "lone")
    (lone / "model.safetensors").rename(lone / "weights-00001-of-00001.safetensors")
    result = import_model.stage(lone, tmp_path / "out3")
    assert result["files"]["model.safetensors"] == "linked from weights-00001-of-00001.safetensors"


def test_parity_failure_refuses_with_figures_and_no_card(llama_src, tmp_path):
    out = tmp_path / "models" / "llama"
    run_import(llama_src, out)
    with pytest.raises(BridgeError) as e:
        import_model.stage(llama_src, out)
    assert e.value.code == "already-imported"
    # other weights under the same graphs: PyTorch and ONNX now disagree
    (out / "hyperwords-model.json").unlink()
    (out / "model.safetensors").unlink()  # break the hard link: the source stays as it was
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(str(llama_src))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)
    model.save_pretrained(out)
    with pytest.raises(BridgeError) as e:
        import_model.write_card(out, llama_src)
    assert e.value.code == "parity-failed"
    msg = str(e.value)
    assert "import refused" in msg and "hidden-state relative difference per layer [" in msg
    assert "lens top-1 agreement" in msg and "greedy ids ONNX" in msg
    assert not (out / "hyperwords-model.json").exists()
