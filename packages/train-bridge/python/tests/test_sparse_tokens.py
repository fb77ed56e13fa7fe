"""The sparse trainable-tokens forward gives PEFT's outputs and gradients (tied and untied Llama, Gemma 3)."""

from __future__ import annotations

import pytest
import torch

from hyperwords_bridge.training import sparse_tokens


def _model(family: str, tied: bool, vocab: int = 300, added: int = 7):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    common = dict(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
                  tie_word_embeddings=tied)
    if family == "gemma3":
        model = Gemma3ForCausalLM(Gemma3TextConfig(head_dim=16, sliding_window=16, **common))
    else:
        model = LlamaForCausalLM(LlamaConfig(**common))
    model.resize_token_embeddings(vocab + added)
    return model, list(range(vocab, vocab + added))


def _peft(model, ids, tied: bool):
    from peft import LoraConfig, get_peft_model

    names = {id(m): n for n, m in model.named_modules()}
    indices = {names[id(model.get_input_embeddings())]: ids}
    if not tied:
        indices[names[id(model.get_output_embeddings())]] = ids
    cfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                     trainable_token_indices=indices, task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, cfg)
    torch.manual_seed(1)
    with torch.no_grad():  # trained-looking rows and adapters, so the comparison is not of zeros
        for n, p in peft_model.named_parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.1)
    return peft_model


def _run(peft_model, batch):
    peft_model.zero_grad()
    out = peft_model(input_ids=batch, labels=batch)
    out.loss.backward()
    grads = {n: p.grad.clone() for n, p in peft_model.named_parameters() if p.requires_grad}
    return out.logits.detach().clone(), out.loss.detach().clone(), grads


@pytest.mark.parametrize("family", ["llama", "gemma3"])
@pytest.mark.parametrize("tied", [True, False])
def test_same_outputs_and_gradients_as_peft(family: str, tied: bool) -> None:
    model, ids = _model(family, tied)
    peft_model = _peft(model, ids, tied)
    g = torch.Generator().manual_seed(2)
    batch = torch.randint(0, 307, (3, 12), generator=g)
    batch[0, :4] = torch.tensor(ids[:4])  # added tokens as inputs and as targets
    sparse_tokens.uninstall()
    ref_logits, ref_loss, ref_grads = _run(peft_model, batch)
    assert sparse_tokens.install()
    try:
        logits, loss, grads = _run(peft_model, batch)
    finally:
        sparse_tokens.uninstall()
    assert torch.allclose(logits, ref_logits, atol=1e-5, rtol=1e-5)
    assert torch.allclose(loss, ref_loss, atol=1e-6)
    assert grads.keys() == ref_grads.keys()
    assert any("trainable_tokens_delta" in n for n in grads)
    for n in grads:
        assert torch.allclose(grads[n], ref_grads[n], atol=1e-5, rtol=1e-4), n
    # the added tokens' rows do get gradient (as targets and as inputs)
    delta = next(v for n, v in grads.items() if "trainable_tokens_delta" in n)
    assert delta.abs().sum() > 0


def test_merged_and_disabled_adapters_keep_peft_forward() -> None:
    model, ids = _model("llama", True)
    peft_model = _peft(model, ids, True)
    batch = torch.tensor([[1, 2, ids[0], 3]])
    assert sparse_tokens.install()
    try:
        with torch.no_grad():
            live = peft_model(input_ids=batch).logits
            with peft_model.disable_adapter():
                off = peft_model(input_ids=batch).logits
            merged = peft_model.merge_and_unload()(input_ids=batch).logits
    finally:
        sparse_tokens.uninstall()
    assert not torch.allclose(live, off)
    assert torch.allclose(live, merged, atol=1e-5)
