"""Hyperwords as added tokens (rows from their parts) and the measures: round trips, bits per byte."""

from __future__ import annotations

import math

import pytest
import torch

from hyperwords_bridge.training.data import encode
from hyperwords_bridge.training.job import Hyperword, parse_job
from hyperwords_bridge.training.loop import build
from hyperwords_bridge.training.measure import emission, roundtrip, score_texts
from hyperwords_bridge.training.vocab import add_hyperword_tokens

from .finetune_fixtures import HELDOUT, HYPERWORDS, TRAIN, make_job


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The machine's two cores are shared: these tests use one, then give the setting back."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------- vocabulary


@pytest.mark.parametrize("tied", [True, False])
def test_added_tokens_start_as_exact_mean_of_parts(tied, tied_base, untied_base, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = tied_base if tied else untied_base
    reference = AutoTokenizer.from_pretrained(base)
    original = AutoModelForCausalLM.from_pretrained(base)
    built = build(parse_job(make_job(base, tmp_path / "out")), quantized=False, measure=True)
    tok, vocab = built["tokenizer"], built["vocab"]
    assert len(vocab.ids) == 3 and len(tok) == len(reference) + 3
    # the new rows train as PEFT trainable tokens: one row block, or input and output blocks if untied
    deltas = {n: p for n, p in built["model"].named_parameters() if "trainable_tokens_delta" in n}
    assert len(deltas) == (1 if tied else 2)
    matrices = {"embed_tokens": original.get_input_embeddings().weight, "lm_head": original.get_output_embeddings().weight}
    for row, i in enumerate(sorted(vocab.ids.values())):
        h = next(h for h in HYPERWORDS if vocab.ids[h["surface"]] == i)
        assert i >= len(reference)
        added = tok.added_tokens_decoder[i]
        assert added.content == h["surface"] and not added.special
        pieces = [p for part in h["parts"] for p in reference(" " + part, add_special_tokens=False)["input_ids"]]
        pieces = [p for p in pieces if reference.decode([p]).strip()]  # the lone-space piece is dropped
        assert vocab.part_pieces[i] == pieces
        for name, delta in deltas.items():
            w = matrices["lm_head" if "lm_head" in name else "embed_tokens"]
            assert torch.equal(delta[row], w[torch.tensor(pieces)].mean(0)), name
    comparison = built["measures"]["init_comparison"]
    assert set(comparison) >= {"default", "parts-mean", "chosen"}
    assert comparison["parts-mean"]["train_hyperword_targets"] > 0
    assert comparison["default"]["train_hyperword_nll"] != comparison["parts-mean"]["train_hyperword_nll"]


def test_round_trip_with_added_tokens(tied_base):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tied_base)
    vocab = add_hyperword_tokens(tok, [Hyperword(h["surface"], tuple(h["parts"])) for h in HYPERWORDS])
    assert roundtrip(tok, TRAIN + HELDOUT) == {"texts": len(TRAIN) + len(HELDOUT), "failures": 0, "examples": []}
    ids = encode(tok, TRAIN[0])
    assert vocab.ids["кошкашлавкусноесть"] in ids


def test_bits_per_byte_of_a_uniform_model(untied_base):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(untied_base)
    model = AutoModelForCausalLM.from_pretrained(untied_base)
    with torch.no_grad():
        model.get_output_embeddings().weight.zero_()  # every logit 0: each token costs log2(V) bits
    texts = ["Мороз и солнце", "a cat"]
    got = score_texts(model, tok, texts)
    tokens = sum(len(encode(tok, t)) for t in texts)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    assert got["tokens"] == tokens and got["bytes"] == n_bytes
    assert got["bits_per_byte"] == pytest.approx(tokens * math.log2(len(tok)) / n_bytes, rel=1e-6)
    # each text's own NLL: its tokens times log V, summing to the whole
    assert got["per_text_bytes"] == [len(t.encode("utf-8")) for t in texts]
    for t, nats in zip(texts, got["per_text_nats"]):
        assert nats == pytest.approx(len(encode(tok, t)) * math.log(len(tok)), rel=1e-6)
    assert sum(got["per_text_nats"]) == pytest.approx(got["nll_nats"], rel=1e-9)


def test_sampled_emission_sees_a_token_greedy_decoding_never_picks(untied_base):
    """Every logit 0: greedy always takes the first id (never an added one), while sampling at
    temperature 1 writes the added tokens at their share of the vocabulary, the same draws per seed."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(untied_base)
    vocab = add_hyperword_tokens(tok, [Hyperword(h["surface"], tuple(h["parts"])) for h in HYPERWORDS])
    model = AutoModelForCausalLM.from_pretrained(untied_base)
    model.resize_token_embeddings(len(tok), mean_resizing=False)
    with torch.no_grad():
        model.get_output_embeddings().weight.zero_()
    ids = list(vocab.ids.values())
    prompts = ["Опиши образ:", "An image:"]
    greedy = emission(model, tok, prompts, ids, gen_tokens=20)
    assert greedy["mode"] == "greedy" and greedy["hyperword_tokens"] == 0 and len(greedy["samples"]) == 2
    sampled = emission(model, tok, prompts, ids, gen_tokens=20, mode="sampled", samples_per_prompt=40, seed=3)
    assert sampled["mode"] == "sampled" and len(sampled["samples"]) == 80
    expected = sampled["generated_tokens"] * len(ids) / len(tok)  # ~11.5 of ~1,550 tokens
    assert 0.25 * expected <= sampled["hyperword_tokens"] <= 2.5 * expected, (sampled["hyperword_tokens"], expected)
    # the text re-read by the tokenizer finds every added token the model wrote (added tokens match
    # first in raw text), and no more than the pieces could spell
    assert sampled["canonical_hyperword_tokens"] >= sampled["hyperword_tokens"]
    assert 0 < sampled["canonical_rate"] <= 1
    again = emission(model, tok, prompts, ids, gen_tokens=20, mode="sampled", samples_per_prompt=40, seed=3)
    assert [s["ids"] for s in again["samples"]] == [s["ids"] for s in sampled["samples"]]


def test_token_rows_take_their_own_learning_rate(tied_base, tmp_path):
    from hyperwords_bridge.training.loop import make_optimizer

    for token_lr, want in ((None, 0.01), (0.05, 0.05)):
        job = parse_job(make_job(tied_base, tmp_path / "out", optimizer={"name": "adamw", "lr": 0.01, "token_lr": token_lr}))
        model = build(job, quantized=False, measure=False)["model"]
        optimizer, _ = make_optimizer(job, model)
        lrs = [g["initial_lr"] for g in optimizer.param_groups]  # "lr" is 0 in the warm-up
        assert len(lrs) == 2 and lrs[0] == 0.01 and lrs[1] == pytest.approx(want)


# ---------------------------------------------------------------------------- superwords

SUPERWORDS = [
    {"surface": " warm purring lap", "parts": ["warm", "purring", "lap"]},
    {"surface": "Кошка шла", "parts": ["кошка", "шла"]},
    {"surface": " мягкое мурчит", "parts": ["мягкое", "мурчит"]},
]
PLAIN = [t for t in TRAIN if "кошкашла" not in t and "warmpurring" not in t and "мягкоемурчит" not in t]


def test_a_superword_is_found_in_plain_text_and_decodes_byte_for_byte(tied_base):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tied_base)
    before = {t: encode(tok, t) for t in PLAIN + HELDOUT}
    vocab = add_hyperword_tokens(tok, [Hyperword(h["surface"], tuple(h["parts"])) for h in SUPERWORDS], superwords=True)
    assert roundtrip(tok, PLAIN + HELDOUT)["failures"] == 0
    line = "The warm purring lap at dusk, the cat asleep."
    ids = encode(tok, line)
    assert vocab.ids[" warm purring lap"] in ids and len(ids) < len(before[line])
    assert vocab.ids["Кошка шла"] in encode(tok, "Кошка шла по двору и вкусно есть хотела.")
    # text without a span is tokenized as the base tokenizer did
    assert encode(tok, HELDOUT[0]) == before[HELDOUT[0]]


def test_a_superword_row_starts_as_the_mean_of_its_span_pieces(tied_base, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    reference = AutoTokenizer.from_pretrained(tied_base)
    original = AutoModelForCausalLM.from_pretrained(tied_base)
    job = parse_job(make_job(tied_base, tmp_path / "out", hyperwords=SUPERWORDS, superwords=True, train_texts=PLAIN))
    built = build(job, quantized=False, measure=False)
    vocab = built["vocab"]
    (delta,) = [p for n, p in built["model"].named_parameters() if "trainable_tokens_delta" in n]
    w = original.get_input_embeddings().weight
    for row, i in enumerate(sorted(vocab.ids.values())):
        surface = next(s for s, j in vocab.ids.items() if j == i)
        pieces = [p for p in reference(surface, add_special_tokens=False)["input_ids"] if reference.decode([p]).strip()]
        assert vocab.part_pieces[i] == pieces and len(pieces) >= 2
        assert torch.equal(delta[row], w[torch.tensor(pieces)].mean(0))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hyperwords": [{"surface": "a b", "parts": ["a", "b"]}]}, "job.hyperwords[0].surface"),
        ({"superwords": True, "hyperwords": [{"surface": "  ", "parts": ["a"]}]}, "job.hyperwords[0].surface"),
        ({"superwords": "yes"}, "job.superwords"),
    ],
)
def test_spaces_in_a_surface_need_superwords(tmp_path, change, field):
    from hyperwords_bridge.events import BridgeError

    with pytest.raises(BridgeError) as err:
        parse_job(make_job(tmp_path / "base", tmp_path / "out", **change))
    assert str(err.value).startswith(field)
