"""Measures: bits per byte of texts (per text too), tokenizer round trips and hyperword emission."""

from __future__ import annotations

import math
from typing import Any, Iterable


from .data import encode, separator_id


EVAL_WINDOW = 256  # predicted tokens per scoring window
EVAL_LOGITS_BYTES = 1 << 26  # cap on one scoring batch's float32 logits (peak memory is ~3x this)


def score_texts(model, tokenizer, texts: Iterable[str], track_ids: Iterable[int] = ()) -> dict[str, float]:
    """Sum NLL (nats) over every token of every text, each scored after the separator; bits per byte.

    Texts longer than ``EVAL_WINDOW`` tokens are scored in windows; each later window sees only the
    last token of the previous one as context. ``track_ids``: also the NLL at positions whose target is
    one of these ids (the hyperword tokens)."""
    import torch

    sep = separator_id(tokenizer)
    vocab = model.get_output_embeddings().weight.shape[0]
    device = model_device(model)
    track = torch.tensor(sorted(set(track_ids)), dtype=torch.long, device=device)
    windows: list[list[int]] = []
    owner: list[int] = []
    n_bytes = 0
    text_bytes: list[int] = []
    for k, t in enumerate(texts):
        text_bytes.append(len(t.encode("utf-8")))
        n_bytes += text_bytes[-1]
        seq = [sep] + encode(tokenizer, t)
        for start in range(0, len(seq) - 1, EVAL_WINDOW):
            windows.append(seq[start : start + EVAL_WINDOW + 1])
            owner.append(k)
    by_length = sorted(range(len(windows)), key=lambda j: len(windows[j]), reverse=True)
    owner = [owner[j] for j in by_length]
    windows = [windows[j] for j in by_length]
    per_text = [0.0] * len(text_bytes)
    nll = tracked_nll = 0.0
    tokens = tracked = 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        i = 0
        while i < len(windows):
            per_batch = max(1, EVAL_LOGITS_BYTES // (4 * vocab * len(windows[i])))
            chunk = windows[i : i + per_batch]
            i += len(chunk)
            width = max(len(w) for w in chunk)
            ids = torch.full((len(chunk), width), sep, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, w in enumerate(chunk):
                ids[r, : len(w)] = torch.tensor(w)
                mask[r, : len(w)] = 1
            ids, mask = ids.to(device), mask.to(device)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            target = ids[:, 1:]
            valid = mask[:, 1:].bool()
            token_nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="none")
            row_nll = (token_nll * valid).sum(dim=1, dtype=torch.float64).tolist()
            for r, v in enumerate(row_nll):
                per_text[owner[i - len(chunk) + r]] += v
            nll += float(token_nll[valid].sum(dtype=torch.float64))
            tokens += int(valid.sum())
            if len(track):
                hit = valid & torch.isin(target, track)
                tracked_nll += float(token_nll[hit].sum(dtype=torch.float64))
                tracked += int(hit.sum())
    model.train(was_training)
    bits = nll / math.log(2)
    return {
        "nll_nats": nll,
        "tokens": tokens,
        "bytes": n_bytes,
        "nll_per_token": nll / tokens if tokens else float("nan"),
        "bits_per_byte": bits / n_bytes if n_bytes else float("nan"),
        "hyperword_nll": tracked_nll / tracked if tracked else None,
        "hyperword_targets": tracked,
        "per_text_nats": per_text,
        "per_text_bytes": text_bytes,
    }


def model_device(model):
    """The device of a model's first parameter (where its inputs go)."""
    return next(model.parameters()).device


def roundtrip(tokenizer, texts: Iterable[str], examples: int = 3) -> dict[str, Any]:
    """decode(encode(text)) == text for each text (no special tokens, no space clean-up)."""
    failures: list[str] = []
    n = 0
    for t in texts:
        n += 1
        back = tokenizer.decode(encode(tokenizer, t), skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if back != t:
            failures.append(t)
    return {"texts": n, "failures": len(failures), "examples": failures[:examples]}


def emission(
    model,
    tokenizer,
    prompts: Iterable[str],
    hyperword_ids: Iterable[int],
    gen_tokens: int,
    mode: str = "greedy",
    samples_per_prompt: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """Generations from the prompts; how often they use added hyperword tokens.

    ``mode`` "greedy": one deterministic continuation per prompt. "sampled": ``samples_per_prompt``
    draws per prompt from the model's own distribution (temperature 1, no top-k or top-p), the
    generator seeded by ``seed`` so the same weights give the same draws."""
    import torch

    hw = set(hyperword_ids)
    sep = separator_id(tokenizer)
    eos = tokenizer.eos_token_id
    sampled = mode == "sampled"
    draws = samples_per_prompt if sampled else 1
    samples = []
    generated = emitted = with_any = 0
    canonical_tokens = canonical_emitted = 0
    model.eval()
    if sampled:
        torch.manual_seed(seed)
    for prompt in prompts:
        ids = torch.tensor([[sep] + encode(tokenizer, prompt)], device=model_device(model))
        with torch.no_grad():
            # a prompt's draws go as one batch (the same prompt: no padding)
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=gen_tokens,
                do_sample=sampled,
                num_beams=1,
                num_return_sequences=draws,
                pad_token_id=eos if eos is not None else sep,
                **({"temperature": 1.0, "top_k": 0, "top_p": 1.0} if sampled else {}),
            )
        for row in out:
            new = row[ids.shape[1] :].tolist()
            if eos is not None and eos in new:
                new = new[: new.index(eos)]
            k = sum(1 for i in new if i in hw)
            generated += len(new)
            emitted += k
            with_any += int(k > 0)
            text = tokenizer.decode(new)
            # the same text as the tokenizer reads it: where it would put an added token
            canonical = encode(tokenizer, text)
            canonical_tokens += len(canonical)
            canonical_emitted += sum(1 for i in canonical if i in hw)
            samples.append({"prompt": prompt, "ids": new, "text": text, "hyperword_tokens": k})
    n = len(samples)
    return {
        "rate": emitted / generated if generated else 0.0,
        "any": with_any / n if n else 0.0,
        "generated_tokens": generated,
        "hyperword_tokens": emitted,
        "samples": samples,
        "mode": mode,
        # the generated text re-read by the tokenizer: its added-token share, and how many added
        # tokens it holds (the model wrote an added token where the tokenizer puts one: emitted ≈ this)
        "canonical_rate": canonical_emitted / canonical_tokens if canonical_tokens else 0.0,
        "canonical_hyperword_tokens": canonical_emitted,
    }
