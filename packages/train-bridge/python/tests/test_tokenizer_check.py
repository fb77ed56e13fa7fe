"""The tokenizer check's reference ids: recorded llama.cpp ids stand in when Node is missing."""

import json

import pytest

from hyperwords_bridge import tokenizer_check as tc
from hyperwords_bridge import weights


@pytest.mark.parametrize("name", sorted(weights.MODELS))
def test_recorded_ids_exist_for_every_default_model_and_the_current_text(name, monkeypatch):
    spec = weights.MODELS[name]
    monkeypatch.setattr(tc, "_node_command", lambda: None)
    ref = tc.reference_ids(None, spec.gguf_sha256, tc.check_text())
    assert ref["source"].startswith("recorded llama.cpp via node-llama-cpp 3.21.1")
    assert len(ref["lines"]) == len(tc.text_lines(tc.check_text()))
    assert all(isinstance(i, int) for i in ref["whole"])


def test_a_broken_node_falls_back_to_recorded_ids(monkeypatch, tmp_path):
    monkeypatch.setenv("HYPERWORDS_NODE", str(tmp_path / "no-such-node"))
    spec = weights.MODELS["smollm2-135m"]
    ref = tc.reference_ids(tmp_path / "x.gguf", spec.gguf_sha256, tc.check_text())
    assert ref["source"].startswith("recorded")


def test_unknown_gguf_without_node_is_reported(monkeypatch):
    monkeypatch.setattr(tc, "_node_command", lambda: None)
    with pytest.raises(tc.ReferenceUnavailable, match="no recorded llama.cpp ids"):
        tc.reference_ids(None, "0" * 64, tc.check_text())


def test_the_check_text_covers_what_tokenizers_get_wrong():
    text = tc.check_text()
    assert any("\u0400" <= ch <= "\u04ff" for ch in text)  # Cyrillic
    assert any(ch.isdigit() for ch in text) and "  " in text and "\t" in text
    assert any(ord(ch) > 0xFFFF for ch in text)  # emoji outside the BMP


def test_compare_reports_mismatched_lines(tmp_path):
    from hyperwords_bridge import gguf_tokenizer as gt

    from .test_gguf_tokenizer import llama_cpp_spm, synthetic_vocab

    vocab = synthetic_vocab()
    gt.build_tokenizer(vocab).save(str(tmp_path / "tokenizer.json"))
    text = "abcd ab\nbcd  dd\n"
    lines = tc.text_lines(text)
    good = {"source": "test", "whole": llama_cpp_spm(text, vocab), "lines": [llama_cpp_spm(l, vocab) for l in lines]}
    assert tc.compare(tmp_path / "tokenizer.json", text, good, bos_id=2)["status"] == "pass"
    bad = json.loads(json.dumps(good))
    bad["lines"][1] = [vocab.tokens.index(c) for c in "bcd"]
    result = tc.compare(tmp_path / "tokenizer.json", text, bad, bos_id=2)
    assert result["status"] == "fail" and result["mismatched_lines"][0]["line"] == 2
