"""The fine-tune job: bad fields named, the worker's error events, the seeded batch order."""

from __future__ import annotations

import json

import pytest
import torch

from hyperwords_bridge.events import BridgeError
from hyperwords_bridge import finetune as ft
from hyperwords_bridge.training.data import BatchOrder
from hyperwords_bridge.training.job import parse_job

from .finetune_fixtures import TRAIN, make_job, run_job


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The machine's two cores are shared: these tests use one, then give the setting back."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------- the job


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"steps": 0}, "job.steps"),
        ({"steps": True}, "job.steps"),
        ({"init": "zeros"}, "job.init"),
        ({"hyperwords": [{"surface": "a b", "parts": ["a", "b"]}]}, "job.hyperwords[0].surface"),
        ({"hyperwords": [{"surface": "ab", "parts": []}]}, "job.hyperwords[0].parts"),
        ({"train_texts": []}, "job.train_texts"),
        ({"train_texts": ["ok", 3]}, "job.train_texts[1]"),
        ({"heldout_texts": [TRAIN[0]]}, "job.heldout_texts[0]"),
        ({"lora": {"rank": 0}}, "job.lora.rank"),
        ({"lora": {"target_modules": []}}, "job.lora.target_modules"),
        ({"lora": {"ranks": 4}}, "job.lora.ranks"),
        ({"optimizer": {"name": "sgd"}}, "job.optimizer.name"),
        ({"optimizer": {"lr": float("inf")}}, "job.optimizer.lr"),
        ({"optimizer": {"token_lr": 0}}, "job.optimizer.token_lr"),
        ({"emission_mode": "beam"}, "job.emission_mode"),
        ({"emission_samples": 0}, "job.emission_samples"),
        ({"schedule": {"name": "step"}}, "job.schedule.name"),
        ({"qlora": "yes"}, "job.qlora"),
        ({"heldout_docs": [0]}, "job.heldout_docs"),
        ({"curve_every": -1}, "job.curve_every"),
        ({"checkpointEvery": 5}, "job.checkpointEvery"),
    ],
)
def test_bad_fields_are_named(tmp_path, change, field):
    with pytest.raises(BridgeError) as err:
        parse_job(make_job(tmp_path / "base", tmp_path / "out", **change))
    assert err.value.code == "bad-job"
    assert str(err.value).startswith(field + ":"), str(err.value)


def test_missing_field_and_out_dir_inside_base(tmp_path):
    job = make_job(tmp_path / "base", tmp_path / "out")
    del job["heldout_texts"]
    with pytest.raises(BridgeError, match=r"^job\.heldout_texts: required"):
        parse_job(job)
    with pytest.raises(BridgeError, match=r"^job\.out_dir: must not be inside base_dir"):
        parse_job(make_job(tmp_path / "base", tmp_path / "base" / "out"))


def test_worker_reports_bad_job_as_error_event(tmp_path, event_stream):
    bad = tmp_path / "job.json"
    bad.write_text(json.dumps(make_job(tmp_path / "nowhere", tmp_path / "out", seq_len=1)))
    assert ft.main(["--job", str(bad)]) == 1
    (e,) = event_stream()
    assert e["type"] == "error" and e["code"] == "bad-job" and e["message"].startswith("job.seq_len:")
    bad.write_text(json.dumps(make_job(tmp_path / "nowhere", tmp_path / "out")))
    assert ft.main(["--job", str(bad)]) == 1
    assert event_stream()[-1]["code"] == "bad-base-dir"


@pytest.mark.skipif(__import__("importlib").util.find_spec("bitsandbytes") is not None, reason="bitsandbytes present")
def test_qlora_without_bitsandbytes_fails_clearly(tied_base, tmp_path, event_stream):
    job = tmp_path / "job.json"
    job.write_text(json.dumps(make_job(tied_base, tmp_path / "out", qlora=True)))
    assert ft.main(["--job", str(job)]) == 1
    (e,) = event_stream()
    assert e["code"] == "qlora-unavailable" and "bitsandbytes" in e["message"]


def test_unknown_target_modules_are_a_job_error(tied_base, tmp_path):
    with pytest.raises(BridgeError, match=r"^job\.lora\.target_modules: ") as err:
        run_job(make_job(tied_base, tmp_path / "out", lora={"target_modules": ["c_attn"]}))
    assert err.value.code == "bad-job"


def test_batch_order_depends_only_on_seed_and_step():
    a, b = BatchOrder(5, 3, seed=1), BatchOrder(5, 3, seed=1)
    forward = [a.indices(s) for s in range(1, 11)]
    backward = [b.indices(s) for s in range(10, 0, -1)][::-1]
    assert forward == backward
    flat = [i for step in forward for i in step]
    assert sorted(flat[:5]) == list(range(5)) and sorted(flat[5:10]) == list(range(5))  # each epoch once
    assert forward != [BatchOrder(5, 3, seed=2).indices(s) for s in range(1, 11)]
