"""Held-out bits per byte per document, with bootstrap CIs over documents.

Held-out poetry is scored text by text (``finetune.score_texts`` gives each text's NLL in nats);
here the texts are summed per document and the documents are resampled with replacement: bits per
byte of a resample is its bits over its bytes, and the ratio tuned/base is paired (the same
resampled documents for both). Documents, not lines, are the unit: lines of one poem are not
independent. A CI is the 2.5th and 97.5th percentiles of ``resamples`` resamples.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any


def per_document(nats: Sequence[float], nbytes: Sequence[int], docs: Sequence[int]) -> list[tuple[float, int]]:
    """(bits, bytes) per document, in order of first appearance."""
    if not (len(nats) == len(nbytes) == len(docs)):
        raise ValueError(f"per_document: {len(nats)} scores, {len(nbytes)} byte counts, {len(docs)} document ids")
    order: dict[int, int] = {}
    sums: list[list[float]] = []
    for n, b, d in zip(nats, nbytes, docs):
        if d not in order:
            order[d] = len(sums)
            sums.append([0.0, 0])
        s = sums[order[d]]
        s[0] += n / math.log(2)
        s[1] += b
    return [(bits, int(b)) for bits, b in sums]


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def compare(
    base: Sequence[tuple[float, int]],
    tuned: Sequence[tuple[float, int]],
    *,
    resamples: int = 2000,
    seed: int = 1,
) -> dict[str, Any]:
    """Bits per byte of base and tuned over the same documents, and their ratio, each with a CI."""
    if len(base) != len(tuned):
        raise ValueError(f"compare: {len(base)} base documents against {len(tuned)} tuned")
    n = len(base)
    total_bytes = sum(b for _, b in base)
    if n == 0 or total_bytes == 0:
        raise ValueError("compare: no held-out bytes to score")
    for (_, b1), (_, b2) in zip(base, tuned):
        if b1 != b2:
            raise ValueError("compare: base and tuned documents differ in bytes")

    def stats(idx: Sequence[int]) -> tuple[float, float, float]:
        bytes_ = sum(base[i][1] for i in idx)
        bb = sum(base[i][0] for i in idx)
        tb = sum(tuned[i][0] for i in idx)
        return bb / bytes_, tb / bytes_, tb / bb

    point = stats(range(n))
    rng = random.Random(seed)
    draws: list[tuple[float, float, float]] = []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        if sum(base[i][1] for i in idx) == 0:
            continue
        draws.append(stats(idx))

    def ci(k: int) -> list[float]:
        values = sorted(d[k] for d in draws)
        return [_percentile(values, 0.025), _percentile(values, 0.975)]

    return {
        "bpb_base": point[0],
        "bpb_tuned": point[1],
        "ratio": point[2],
        "bpb_base_ci": ci(0),
        "bpb_tuned_ci": ci(1),
        "ratio_ci": ci(2),
        "docs": n,
        "bytes": total_bytes,
        "resamples": len(draws),
        "seed": seed,
    }
