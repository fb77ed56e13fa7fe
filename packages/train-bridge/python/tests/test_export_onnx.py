"""Generation export (transformers.js layout) on tiny random llama and gemma3_text models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hyperwords_bridge import export_onnx as ex

# covers ex.sample_prompt_ids' default text, so the check prompt has no <unk>
WORDS = "The the cat sat on warm windowsill and watched evening . Кошка мурчит вечер".split()


def _save_tiny_tokenizer(path, vocab_size: int) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for w in WORDS:
        vocab.setdefault(w, len(vocab))
    for i in range(len(vocab), vocab_size):
        vocab[f"w{i}"] = i
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="</s>")
    fast.save_pretrained(path)


def _tiny(arch: str, path):
    torch.manual_seed(0)
    if arch == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        model = LlamaForCausalLM(
            LlamaConfig(
                vocab_size=256,
                hidden_size=64,
                intermediate_size=128,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=2,
                max_position_embeddings=128,
                tie_word_embeddings=True,
                initializer_range=0.3,  # decisive logits: greedy decoding is not a flat tie
                bos_token_id=1,
                eos_token_id=2,
                pad_token_id=2,
            )
        )
    else:
        from transformers import Gemma3ForCausalLM, Gemma3TextConfig

        model = Gemma3ForCausalLM(
            Gemma3TextConfig(
                vocab_size=256,
                hidden_size=64,
                intermediate_size=128,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=1,
                head_dim=16,
                query_pre_attn_scalar=16,
                max_position_embeddings=128,
                sliding_window=4,
                layer_types=["sliding_attention", "full_attention"],
                bos_token_id=1,
                eos_token_id=2,
                pad_token_id=2,
            )
        )
    model.save_pretrained(path)
    _save_tiny_tokenizer(path, model.config.vocab_size)
    return path


@pytest.fixture(scope="module", params=["llama", "gemma3_text"])
def exported(request, tmp_path_factory):
    d = _tiny(request.param, tmp_path_factory.mktemp(request.param))
    before = {n: (d / n).read_bytes() for n in ex.LAYOUT_FILES if (d / n).exists()}
    result = ex.export_generation(d)
    return request.param, d, result, before


def test_transformers_js_layout(exported):
    _, d, result, before = exported
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        assert (d / name).is_file(), name
    for name, data in before.items():  # the model dir's own files are kept as they were
        assert (d / name).read_bytes() == data, name
    assert (d / "onnx" / "model.onnx").is_file()
    assert (d / "onnx" / "model_quantized.onnx").is_file()
    assert not [p for p in (d / "onnx").iterdir() if p.name.startswith(".export-") or p.name.endswith(".tmp")]
    assert result["files"]["model.onnx"]["sha256"] == ex.sha256_file(d / "onnx" / "model.onnx")
    assert result["missing_layout_files"] == []
    assert result["last_logits"]["cut"], result["last_logits"]


def test_graph_io_names(exported):
    arch, d, _, _ = exported
    sess = ex._ort_session(d / "onnx" / "model.onnx")
    names = {i.name for i in sess.get_inputs()}
    assert {"input_ids", "attention_mask", "past_key_values.0.key", "past_key_values.0.value"} <= names
    # optimum's llama graph takes position_ids; its gemma3_text graph does not (positions come
    # from the cache length), so transformers.js' 1-indexed gemma position_ids never apply.
    assert ("position_ids" in names) == (arch == "llama")
    outs = {o.name for o in sess.get_outputs()}
    assert {"logits", "present.0.key", "present.0.value"} <= outs
    # the next token's logits only: [batch, 1, vocab] whatever the number of tokens fed
    logits = next(o for o in sess.get_outputs() if o.name == "logits")
    assert logits.shape[1:] == [1, 256]


def test_fp32_parity_and_greedy(exported):
    _, _, result, _ = exported
    fp = result["parity"]["fp32"]
    assert result["parity_ok"]
    assert fp["logits_max_abs_diff"] <= 1e-3
    assert fp["greedy_ids_equal"], (fp["greedy_ids"], result["parity"]["torch_greedy_ids"])
    assert len(set(fp["greedy_ids"])) > 1, "degenerate check: the tiny model repeats one token"
    assert result["parity"]["prompt_tokens"] >= 10
    assert "q8" in result["parity"]


def test_ndjson_events(tmp_path, event_stream):
    d = _tiny("llama", tmp_path / "m")
    ex.main([str(d), "--no-verify"])
    evs = event_stream()
    kinds = [e["type"] for e in evs]
    assert kinds[-1] == "done"
    arts = [e for e in evs if e["type"] == "artifact"]
    assert [a["path"].rsplit("/", 1)[-1] for a in arts] == ["model.onnx", "model_quantized.onnx"]
    assert all(len(a["sha256"]) == 64 for a in arts)
    json.dumps(evs)  # serialisable


def test_bad_dir(tmp_path, event_stream):
    assert ex.main([str(tmp_path)]) == 2
    assert any(e["type"] == "error" and "config.json" in e["message"] for e in event_stream())
