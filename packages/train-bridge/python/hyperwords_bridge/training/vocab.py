"""Hyperwords as vocabulary: added tokens, embedding resizing and rows initialised from the parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


from ..events import BridgeError
from .data import encode
from .job import Hyperword


@dataclass
class HyperwordVocab:
    """The added tokens: surface → id, and each new id's part pieces (ids in the base vocab)."""

    ids: dict[str, int]
    part_pieces: dict[int, list[int]]
    already_in_vocab: list[str]


def part_pieces(tokenizer, parts: Iterable[str]) -> list[int]:
    """Base-vocab ids of the parts, each tokenized as ``" " + part``; whitespace-only pieces dropped."""
    pieces: list[int] = []
    for part in parts:
        ids = [i for i in encode(tokenizer, " " + part) if tokenizer.decode([i]).strip()]
        pieces.extend(ids or encode(tokenizer, part))
    return pieces


def span_pieces(tokenizer, surface: str) -> list[int]:
    """Base-vocab ids of a superword's span as running text holds it (its surface, leading space
    included): the pieces the base model read that text as; whitespace-only pieces dropped."""
    ids = encode(tokenizer, surface)
    return [i for i in ids if tokenizer.decode([i]).strip()] or ids


def add_hyperword_tokens(tokenizer, hyperwords: Iterable[Hyperword], superwords: bool = False) -> HyperwordVocab:
    """Add each surface as a normal added token; parts are tokenized before anything is added.

    ``superwords``: each surface is a span of running text (``" warm purring lap"``); the tokenizer
    then finds it in plain text (added tokens are matched before pre-tokenization, longest first) and
    its row starts from the pieces of the span itself rather than of its parts."""
    from transformers import AddedToken

    unique: dict[str, Hyperword] = {}
    for h in hyperwords:
        unique.setdefault(h.surface, h)
    pieces = {
        s: span_pieces(tokenizer, s) if superwords else part_pieces(tokenizer, h.parts) for s, h in unique.items()
    }
    base_vocab = tokenizer.get_vocab()
    already = [s for s in unique if s in base_vocab]
    new = [s for s in unique if s not in base_vocab]
    tokenizer.add_tokens(
        [AddedToken(s, single_word=False, lstrip=False, rstrip=False, normalized=False, special=False) for s in new]
    )
    ids = {s: int(tokenizer.convert_tokens_to_ids(s)) for s in new}
    empty = [s for s in new if not pieces[s]]
    if empty:
        raise BridgeError(f"job.hyperwords: parts of {empty[0]!r} tokenize to nothing", "bad-job")
    return HyperwordVocab(ids=ids, part_pieces={ids[s]: pieces[s] for s in new}, already_in_vocab=already)


def parts_mean_rows(weight, vocab: HyperwordVocab):
    """[n_new, hidden] rows: the mean of each hyperword's part-piece rows of ``weight``."""
    import torch

    pieces = [torch.tensor(vocab.part_pieces[i], device=weight.device) for i in vocab.ids.values()]
    rows = [weight[p].float().mean(0) for p in pieces]
    return torch.stack(rows).to(weight.dtype)


def embedding_matrices(model) -> list:
    """The input embedding weight, and the output one when it is a separate tensor (untied)."""
    inp = model.get_input_embeddings().weight
    out = model.get_output_embeddings()
    if out is None or out.weight is inp or out.weight.data_ptr() == inp.data_ptr():
        return [inp]
    return [inp, out.weight]


def resize_for(model, tokenizer) -> None:
    """Grow the embeddings to the tokenizer with transformers' default mean-resizing (never shrink)."""
    rows = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > rows:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=True)


def default_rows(model, vocab: HyperwordVocab, old_rows: int) -> list:
    """The rows transformers' mean-resizing gave the new ids. Ids that fell inside the old matrix (a
    vocabulary padded beyond its tokenizer) were not resized: they get the old rows' mean, which is
    what mean-resizing samples up to its 1e-9-scaled covariance."""
    import torch

    ids = torch.tensor(list(vocab.ids.values()))
    out = []
    for w in embedding_matrices(model):
        here = ids.to(w.device)
        r = w[here].detach().clone()
        inside = here < old_rows
        if inside.any():
            r[inside] = w[:old_rows].float().mean(0).to(w.dtype)
        out.append(r)
    return out


def set_rows(model, vocab: HyperwordVocab, rows: list) -> None:
    import torch

    ids = torch.tensor(list(vocab.ids.values()))
    with torch.no_grad():
        for w, r in zip(embedding_matrices(model), rows):
            w[ids.to(w.device)] = r
