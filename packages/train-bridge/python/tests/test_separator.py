"""The token before each text in training and scoring: the model's own start of a document."""

from __future__ import annotations

from hyperwords_bridge.training.data import pack_blocks, separator_id

from .finetune_fixtures import tokenizer_for


def with_bos(folder):
    """The fixture tokenizer, made to put BOS before every text (as Gemma's and Llama's do)."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok = tokenizer_for(folder)
    inner = tok.backend_tokenizer
    inner.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.bos_token_id)]
    )
    return PreTrainedTokenizerFast(tokenizer_object=inner, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def test_a_tokenizer_that_adds_no_bos_is_separated_by_eos(tmp_path):
    tok = tokenizer_for(tmp_path)
    assert tok("a")["input_ids"][0] != tok.bos_token_id
    assert separator_id(tok) == tok.eos_token_id


def test_a_tokenizer_that_puts_bos_first_is_separated_by_bos(tmp_path):
    tok = with_bos(tmp_path)
    assert tok("a")["input_ids"][0] == tok.bos_token_id != tok.eos_token_id
    assert separator_id(tok) == tok.bos_token_id
    blocks = pack_blocks(tok, ["Мороз и солнце", "I wandered lonely"], 64)
    assert blocks[0][0] == tok.bos_token_id and tok.eos_token_id not in blocks[0]
