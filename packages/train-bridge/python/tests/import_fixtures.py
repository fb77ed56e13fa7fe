"""Tiny random Hugging Face folders of each importable family, built offline (no download).

    python -m tests.import_fixtures OUT_DIR [--family llama]

Each is a plain causal-LM folder as a researcher would bring one: ``config.json``,
``generation_config.json``, ``model.safetensors`` and the tokenizer files (the byte-level BPE of
:func:`tests.finetune_fixtures.tokenizer_for`), nothing of hyperwords'.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .finetune_fixtures import tokenizer_for

COMMON = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=8,
    max_position_embeddings=256,
    # a wide init gives peaked next-token distributions, so greedy choices are not near-ties
    initializer_range=0.3,
)


def _config(family: str, tok):
    import transformers as tf

    ids = dict(
        vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id
    )
    if family == "llama":
        return tf.LlamaConfig(**COMMON, **ids, tie_word_embeddings=True)
    if family == "mistral":
        return tf.MistralConfig(**COMMON, **ids, tie_word_embeddings=False)
    if family == "qwen2":
        return tf.Qwen2Config(**COMMON, **ids, tie_word_embeddings=True)
    if family == "qwen3":
        return tf.Qwen3Config(**COMMON, **ids, tie_word_embeddings=True)
    # Gemma: untied (a tiny tied model with Gemma's sqrt(H)-scaled embedding only predicts its
    # input back) and a sliding window shorter than the check prompts, so the window really masks
    if family == "gemma2":
        return tf.Gemma2Config(
            **COMMON, **ids, tie_word_embeddings=False, sliding_window=4, query_pre_attn_scalar=8
        )
    if family == "gemma3_text":
        return tf.Gemma3TextConfig(
            **COMMON,
            **ids,
            tie_word_embeddings=False,
            sliding_window=4,
            query_pre_attn_scalar=8,
            layer_types=["sliding_attention", "full_attention"],
        )
    if family == "gpt2":
        return tf.GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=len(tok))
    raise ValueError(f"no tiny builder for {family}")


FAMILIES = ("llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text")


def tiny_family(folder: Path, family: str, seed: int = 0) -> Path:
    """Write a tiny random ``family`` model with its tokenizer into ``folder``."""
    from transformers import AutoModelForCausalLM, GenerationConfig

    folder.mkdir(parents=True, exist_ok=True)
    tok = tokenizer_for(folder)
    torch.manual_seed(seed)
    config = _config(family, tok)
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32).eval()
    if family.startswith("gemma"):
        with torch.no_grad():  # Gemma's RMSNorm scales by (1 + w): random w makes that matter
            for name, p in model.named_parameters():
                if "norm" in name:
                    p.normal_(0, 0.3)
    model.save_pretrained(folder, safe_serialization=True)
    GenerationConfig(
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id
    ).save_pretrained(folder)
    return folder


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.import_fixtures", description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--family", default="llama", choices=[*FAMILIES, "gpt2"])
    args = p.parse_args(argv)
    tiny_family(args.out, args.family)
    print(args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
