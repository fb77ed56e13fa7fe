"""Held-out bits per byte per document and their bootstrap CIs (no model needed)."""

import math

import pytest

from hyperwords_bridge import heldout


def test_per_document_sums_texts_of_a_document_in_bits():
    nats = [math.log(2) * 3, math.log(2) * 5, math.log(2) * 7]
    got = heldout.per_document(nats, [2, 3, 4], [1, 0, 1])
    assert got == [(pytest.approx(10.0), 6), (pytest.approx(5.0), 3)]


def test_per_document_refuses_lists_of_other_lengths():
    with pytest.raises(ValueError, match="3 scores, 2 byte counts"):
        heldout.per_document([1.0, 2.0, 3.0], [1, 2], [0, 0, 0])


def test_compare_point_values_and_ci_bracket_them():
    base = [(8.0, 4), (12.0, 4), (10.0, 4), (6.0, 4)]
    tuned = [(4.0, 4), (6.0, 4), (5.0, 4), (3.0, 4)]
    got = heldout.compare(base, tuned, resamples=500, seed=3)
    assert got["bpb_base"] == pytest.approx(36 / 16)
    assert got["bpb_tuned"] == pytest.approx(18 / 16)
    # every document halves: the ratio is 0.5 in every resample
    assert got["ratio"] == pytest.approx(0.5) and got["ratio_ci"] == [pytest.approx(0.5), pytest.approx(0.5)]
    lo, hi = got["bpb_base_ci"]
    assert lo <= got["bpb_base"] <= hi and lo < hi
    assert got["docs"] == 4 and got["bytes"] == 16 and got["resamples"] == 500


def test_compare_is_seeded_and_a_ratio_ci_spans_one_when_documents_disagree():
    base = [(10.0, 5)] * 6
    tuned = [(8.0, 5), (12.0, 5), (9.0, 5), (11.0, 5), (10.5, 5), (9.5, 5)]
    a = heldout.compare(base, tuned, resamples=400, seed=1)
    b = heldout.compare(base, tuned, resamples=400, seed=1)
    assert a == b
    assert a["ratio_ci"][0] < 1 < a["ratio_ci"][1]


def test_compare_refuses_unpaired_documents():
    with pytest.raises(ValueError, match="differ in bytes"):
        heldout.compare([(1.0, 3)], [(1.0, 4)])
    with pytest.raises(ValueError, match="no held-out bytes"):
        heldout.compare([], [])
