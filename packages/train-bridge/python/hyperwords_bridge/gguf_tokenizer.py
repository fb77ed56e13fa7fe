"""Rebuild a GGUF file's tokenizer as a Hugging Face ``tokenizer.json`` that gives llama.cpp's ids.

transformers' own GGUF converters are lossy: Gemma's SentencePiece-BPE vocabulary comes back as a
Unigram model (transformers issue 41494), which splits words differently, and GPT-2-style
vocabularies get a generic ByteLevel pre-tokenizer, whatever llama.cpp's ``tokenizer.ggml.pre`` says
(SmolLM2's ``smollm`` splits every digit). Here the tokenizer is built from the GGUF metadata to
follow llama.cpp's algorithms:

- ``tokenizer.ggml.model == "llama"`` (SentencePiece): llama.cpp merges adjacent symbols greedily,
  highest vocabulary score first, leftmost on ties, when their concatenation is a token; it falls
  back to ``<0xNN>`` byte tokens. That is a BPE whose merge ranks are the merged token's score
  order, with every split of a normal token into two normal tokens as a merge.
  User-defined tokens (multi-space runs, newlines, HTML tags) are always cut out of the raw text
  first, like added tokens with ``normalized=False``; control tokens are special added tokens.
- ``tokenizer.ggml.model == "gpt2"``: the stored merges with the byte-level pre-tokenizer that
  llama.cpp uses for ``tokenizer.ggml.pre``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .gguf_meta import read_metadata

# llama.cpp token types (llama_token_type)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


class UnsupportedTokenizer(Exception):
    """The GGUF's tokenizer kind or pre-tokenizer has no faithful rebuild here."""


@dataclass
class GgufVocab:
    """The ``tokenizer.ggml.*`` metadata of a GGUF file."""

    model: str
    pre: str | None
    tokens: list[str]
    token_types: list[int]
    scores: list[float] | None
    merges: list[str] | None
    bos_id: int | None
    eos_id: int | None
    unk_id: int | None
    pad_id: int | None
    add_bos: bool
    add_eos: bool
    add_space_prefix: bool
    chat_template: str | None
    context_length: int | None
    extra: dict[str, Any] = field(default_factory=dict)


def read_gguf_vocab(path: str | Path) -> GgufVocab:
    """Read the tokenizer metadata from a GGUF file (no tensors loaded)."""
    meta = read_metadata(path)
    tokens = meta.get("tokenizer.ggml.tokens")
    if tokens is None:
        raise UnsupportedTokenizer(f"{path}: no tokenizer.ggml.tokens")
    arch = meta.get("general.architecture")
    return GgufVocab(
        model=meta.get("tokenizer.ggml.model", ""),
        pre=meta.get("tokenizer.ggml.pre"),
        tokens=tokens,
        token_types=meta.get("tokenizer.ggml.token_type") or [NORMAL] * len(tokens),
        scores=meta.get("tokenizer.ggml.scores"),
        merges=meta.get("tokenizer.ggml.merges"),
        bos_id=meta.get("tokenizer.ggml.bos_token_id"),
        eos_id=meta.get("tokenizer.ggml.eos_token_id"),
        unk_id=meta.get("tokenizer.ggml.unknown_token_id"),
        pad_id=meta.get("tokenizer.ggml.padding_token_id"),
        add_bos=bool(meta.get("tokenizer.ggml.add_bos_token", False)),
        add_eos=bool(meta.get("tokenizer.ggml.add_eos_token", False)),
        add_space_prefix=bool(meta.get("tokenizer.ggml.add_space_prefix", False)),
        chat_template=meta.get("tokenizer.chat_template"),
        context_length=meta.get(f"{arch}.context_length") if arch else None,
        extra={"architecture": arch},
    )


def spm_merges(tokens: list[str], types: list[int], scores: list[float]) -> list[tuple[str, str]]:
    """BPE merges equivalent to llama.cpp's score-greedy SentencePiece merging.

    Every split of a normal token into two normal tokens is a merge; merges are ranked by the
    merged token's score (higher first), then by id, so the leftmost-on-ties rule of both
    llama.cpp and the ``tokenizers`` BPE gives the same result.
    """
    normal = {t: i for i, t in enumerate(tokens) if types[i] == NORMAL}
    ranked: list[tuple[float, int, int, str, str]] = []
    for piece, pid in normal.items():
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in normal and right in normal:
                ranked.append((-scores[pid], pid, cut, left, right))
    ranked.sort()
    return [(left, right) for _, _, _, left, right in ranked]


def _post_processor(vocab: GgufVocab):
    from tokenizers import processors

    specials: list[tuple[str, int]] = []
    single, pair = ["$A:0"], ["$B:1"]
    if vocab.add_bos and vocab.bos_id is not None:
        bos = vocab.tokens[vocab.bos_id]
        specials.append((bos, vocab.bos_id))
        single.insert(0, f"{bos}:0")
        pair.insert(0, f"{bos}:1")
    if vocab.add_eos and vocab.eos_id is not None:
        eos = vocab.tokens[vocab.eos_id]
        if (eos, vocab.eos_id) not in specials:
            specials.append((eos, vocab.eos_id))
        single.append(f"{eos}:0")
        pair.append(f"{eos}:1")
    if not specials:
        return None
    return processors.TemplateProcessing(
        single=" ".join(single), pair=" ".join(single + pair), special_tokens=specials
    )


def _added_tokens(vocab: GgufVocab):
    from tokenizers import AddedToken

    special, user = [], []
    for tid, (text, kind) in enumerate(zip(vocab.tokens, vocab.token_types)):
        if kind in (CONTROL, UNKNOWN, UNUSED):
            special.append(AddedToken(text, special=True, normalized=False))
        elif kind == USER_DEFINED:
            user.append(AddedToken(text, special=False, normalized=False))
    return special, user


def build_spm(vocab: GgufVocab):
    """A BPE ``tokenizers.Tokenizer`` that reproduces llama.cpp's SentencePiece tokenization."""
    from tokenizers import Tokenizer, decoders, models, normalizers

    if vocab.scores is None:
        raise UnsupportedTokenizer("SentencePiece GGUF without tokenizer.ggml.scores")
    ids = {t: i for i, t in enumerate(vocab.tokens)}
    if len(ids) != len(vocab.tokens):
        raise UnsupportedTokenizer("duplicate token strings in the GGUF vocabulary")
    merges = spm_merges(vocab.tokens, vocab.token_types, vocab.scores)
    unk = vocab.tokens[vocab.unk_id] if vocab.unk_id is not None else None
    has_bytes = any(t == BYTE for t in vocab.token_types)
    tk = Tokenizer(
        models.BPE(vocab=ids, merges=merges, unk_token=unk, fuse_unk=True, byte_fallback=has_bytes)
    )
    steps = [normalizers.Replace(" ", "\u2581")]
    if vocab.add_space_prefix:
        steps.insert(0, normalizers.Prepend("\u2581"))
    tk.normalizer = normalizers.Sequence(steps) if len(steps) > 1 else steps[0]
    tk.pre_tokenizer = None
    dec = [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
    if vocab.add_space_prefix:
        dec.append(decoders.Strip(content=" ", left=1, right=0))
    tk.decoder = decoders.Sequence(dec)
    _finish(tk, vocab)
    return tk


# llama.cpp's pre-tokenizer regexes, by tokenizer.ggml.pre, as tokenizers pre-tokenizers.
def _gpt2_pre_tokenizer(pre: str | None):
    from tokenizers import pre_tokenizers

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre in (None, "default", "gpt-2", "gpt2"):
        return byte_level
    if pre == "smollm":
        # llama.cpp: "\p{N}" then the GPT-2 regex, as SmolLM2's own tokenizer.json does.
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    raise UnsupportedTokenizer(f"no rebuild for byte-level pre-tokenizer {pre!r}")


def build_gpt2(vocab: GgufVocab):
    """A byte-level BPE ``tokenizers.Tokenizer`` with the GGUF's merges and llama.cpp's pre-tokenizer."""
    from tokenizers import Tokenizer, decoders, models, processors

    if vocab.merges is None:
        raise UnsupportedTokenizer("byte-level GGUF without tokenizer.ggml.merges")
    ids = {t: i for i, t in enumerate(vocab.tokens)}
    merges = [tuple(m.split(" ", 1)) for m in vocab.merges]
    tk = Tokenizer(models.BPE(vocab=ids, merges=merges, fuse_unk=False, byte_fallback=False))
    tk.normalizer = None
    tk.pre_tokenizer = _gpt2_pre_tokenizer(vocab.pre)
    tk.decoder = decoders.ByteLevel()
    tk.post_processor = processors.ByteLevel(trim_offsets=False)
    _finish(tk, vocab)
    return tk


def _finish(tk, vocab: GgufVocab) -> None:
    special, user = _added_tokens(vocab)
    tk.add_special_tokens(special)
    tk.add_tokens(user)
    post = _post_processor(vocab)
    if post is not None:
        tk.post_processor = post


def build_tokenizer(vocab: GgufVocab):
    """The ``tokenizers.Tokenizer`` for a GGUF vocabulary (SentencePiece or byte-level BPE)."""
    if vocab.model == "llama":
        return build_spm(vocab)
    if vocab.model == "gpt2":
        return build_gpt2(vocab)
    raise UnsupportedTokenizer(f"no rebuild for tokenizer.ggml.model {vocab.model!r}")


def save_tokenizer(vocab: GgufVocab, out_dir: str | Path) -> dict[str, str]:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``.

    Returns a short description of how the tokenizer was rebuilt (for the model manifest).
    """
    from transformers import PreTrainedTokenizerFast

    tk = build_tokenizer(vocab)

    def tok(i: int | None) -> str | None:
        return vocab.tokens[i] if i is not None and 0 <= i < len(vocab.tokens) else None

    # The class names of the original Hugging Face repositories, so that transformers and
    # transformers.js pick the same tokenizer classes as for the hub checkpoints.
    arch = vocab.extra.get("architecture")
    tokenizer_class = {"gemma3": "GemmaTokenizer"}.get(arch, "PreTrainedTokenizerFast")
    if vocab.model == "gpt2":
        tokenizer_class = "GPT2Tokenizer"
    kwargs: dict[str, Any] = {
        "tokenizer_object": tk,
        "bos_token": tok(vocab.bos_id),
        "eos_token": tok(vocab.eos_id),
        "unk_token": tok(vocab.unk_id),
        "pad_token": tok(vocab.pad_id),
        "add_bos_token": vocab.add_bos,
        "add_eos_token": vocab.add_eos,
        "clean_up_tokenization_spaces": False,
        # Decoder-only models take no token_type_ids (generate() rejects them).
        "model_input_names": ["input_ids", "attention_mask"],
    }
    if vocab.context_length:
        kwargs["model_max_length"] = int(vocab.context_length)
    if vocab.chat_template:
        kwargs["chat_template"] = vocab.chat_template
    fast = PreTrainedTokenizerFast(**{k: v for k, v in kwargs.items() if v is not None})
    # Keep the chat template inside tokenizer_config.json, where transformers.js looks for it.
    fast.save_pretrained(str(out_dir), save_jinja_files=False)
    # save_pretrained writes its own class name; name the original repositories' class instead.
    config_path = Path(out_dir) / "tokenizer_config.json"
    config = json.loads(config_path.read_text("utf-8"))
    config["tokenizer_class"] = tokenizer_class
    config_path.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return {
        "method": "rebuilt from GGUF metadata",
        "model": "BPE (SentencePiece scores as merge ranks)" if vocab.model == "llama" else "byte-level BPE",
        "ggml_model": vocab.model,
        "ggml_pre": vocab.pre or "",
        "tokenizer_class": tokenizer_class,
    }
