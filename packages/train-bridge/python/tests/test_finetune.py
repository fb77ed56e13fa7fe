"""The fine-tune worker end to end on tiny random Llama models: training, saving, resuming, signals, accelerate."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hyperwords_bridge.events import BridgeError
from hyperwords_bridge import finetune as ft
from hyperwords_bridge.training.checkpoints import latest_checkpoint
from hyperwords_bridge.training.data import encode, texts_sha256
from hyperwords_bridge.training.job import parse_job
from hyperwords_bridge.training.runtime import Cancelled, StopSignals, launched_by_accelerate, make_runtime

from .finetune_fixtures import HELDOUT, PYTHON_DIR, SMOLLM2, TRAIN, make_job, run_job


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The machine's two cores are shared: these tests use one, then give the setting back."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------------------- training


def test_training_writes_a_usable_model_version(tied_base, tmp_path, event_stream):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hyperwords_bridge.export_onnx import check_model_dir

    out = tmp_path / "out"
    job = tmp_path / "job.json"
    docs = [k // 2 for k in range(len(HELDOUT))]
    job.write_text(json.dumps(make_job(tied_base, out, steps=12, checkpoint_every=4, heldout_docs=docs, curve_every=6)))
    assert ft.main(["--job", str(job)]) == 0
    got = event_stream()
    result = got[-1]["result"]
    assert got[-1]["type"] == "done"
    assert [e["done"] for e in got if e["type"] == "progress" and e["task"] == "train"] == list(range(13))
    steps = [json.loads(e["message"]) for e in got if e["type"] == "log" and e["level"] == "debug"]
    assert [s["step"] for s in steps] == list(range(1, 13)) and all(s["tokens_per_s"] > 0 for s in steps)
    assert [(e["step"], Path(e["path"]).name) for e in got if e["type"] == "checkpoint"] == [
        (4, "step-4"), (8, "step-8"), (12, "step-12")
    ]
    assert {e["kind"] for e in got if e["type"] == "artifact"} == {"model-dir", "adapter", "training-log"}

    training = json.loads((out / "training.json").read_text())
    curve = [p["loss"] for p in training["loss_curve"]]
    assert len(curve) == 12 and sum(curve[-3:]) < sum(curve[:3])
    assert result["final_loss"] == curve[-1]
    assert training["finetune"]["data"]["train_sha256"] == texts_sha256(TRAIN)
    assert result["roundtrip"] == {"texts": len(TRAIN) + len(HELDOUT), "failures": 0}
    assert 0 <= result["emission_rate"] <= 1 and result["bpb_base"] > 0 and result["bpb_tuned"] > 0
    assert result["merge_max_abs_diff"] < 1e-4
    # held-out bits per byte by document, with CIs, and the learning curve on the held-out texts
    h = result["heldout"]
    assert h["docs"] == len(set(docs)) and h["lines"] == len(HELDOUT)
    assert h["bpb_base"] == pytest.approx(result["bpb_base"]) and h["bpb_tuned"] == pytest.approx(result["bpb_tuned"])
    assert h["ratio_ci"][0] <= h["ratio"] <= h["ratio_ci"][1]
    assert [p["step"] for p in result["curve"]] == [0, 6, 12]
    assert result["curve"][0]["bpb"] == pytest.approx(result["bpb_base"])
    assert training["heldout_curve"] == result["curve"]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-12", "step-4", "step-8"]

    merged = Path(result["merged_dir"])
    check_model_dir(merged)  # what export_onnx and probe_graph require
    manifest = json.loads((merged / "hyperwords-model.json").read_text())
    assert manifest["safetensors_sha256"]
    # the version records the thread count it was trained with (its sums depend on it)
    assert manifest["finetune"]["threads"] == training["finetune"]["threads"] == torch.get_num_threads()
    assert set(manifest["files"]) >= {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "config.json"}
    tok = AutoTokenizer.from_pretrained(merged)
    model = AutoModelForCausalLM.from_pretrained(merged)
    assert model.config.vocab_size == len(tok) == manifest["finetune"]["hyperword_tokens"]["warmpurringlapatdusk"] + 1
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert tok.convert_ids_to_tokens(len(tok) - 1) == "warmpurringlapatdusk"

    # the adapter applied to the resized base gives the merged model
    from peft import PeftModel

    base = AutoModelForCausalLM.from_pretrained(tied_base)
    base.resize_token_embeddings(len(tok))
    adapted = PeftModel.from_pretrained(base, result["adapter_dir"]).eval()
    ids = torch.tensor([encode(tok, TRAIN[0])])
    with torch.no_grad():
        assert torch.allclose(adapted(input_ids=ids).logits, model(input_ids=ids).logits, atol=1e-5)


def test_merged_dir_exports_a_probe_graph(tied_base, tmp_path):
    from hyperwords_bridge import probe_graph as pg

    result = run_job(make_job(tied_base, tmp_path / "out", steps=2, checkpoint_every=2))
    pg.export_probe(Path(result["merged_dir"]), k=3)
    assert (Path(result["merged_dir"]) / "onnx" / "probe.onnx").is_file()


class StopAfter(StopSignals):
    """Asks training to stop once ``step`` has been reported, like a signal arriving during that step."""

    def __init__(self, events_so_far, step: int):
        super().__init__()
        self._events, self._step, self._seen = events_so_far, step, len(events_so_far())

    @property
    def requested(self) -> bool:
        fresh = self._events()[self._seen :]
        return any(e["type"] == "progress" and e["task"] == "train" and e["done"] >= self._step for e in fresh)

    @requested.setter
    def requested(self, value: bool) -> None:
        pass


@pytest.mark.parametrize("tied", [True, False])
def test_resume_reaches_the_same_loss(tied, tied_base, untied_base, tmp_path, event_stream):
    base = tied_base if tied else untied_base
    straight = run_job(make_job(base, tmp_path / "a"))
    curve_a = [p["loss"] for p in json.loads((tmp_path / "a" / "training.json").read_text())["loss_curve"]]

    with pytest.raises(Cancelled) as stopped:
        run_job(make_job(base, tmp_path / "b", checkpoint_every=4), StopAfter(event_stream, 2))
    assert stopped.value.step == 2 and stopped.value.path.name == "step-2"
    assert not (tmp_path / "b" / "merged").exists()
    resumed = run_job(make_job(base, tmp_path / "b", checkpoint_every=4, resume=True))
    curve_b = [p["loss"] for p in json.loads((tmp_path / "b" / "training.json").read_text())["loss_curve"]]

    assert resumed["resumed_from"].endswith("step-2")
    assert len(curve_a) == len(curve_b) == 6
    assert max(abs(x - y) for x, y in zip(curve_a, curve_b)) < 1e-3
    assert abs(straight["final_loss"] - resumed["final_loss"]) < 1e-3
    assert straight["bpb_tuned"] == pytest.approx(resumed["bpb_tuned"], abs=1e-3)


def test_resume_refuses_another_jobs_checkpoint(tied_base, tmp_path, event_stream):
    with pytest.raises(Cancelled):
        run_job(make_job(tied_base, tmp_path / "out"), StopAfter(event_stream, 1))
    with pytest.raises(BridgeError) as err:
        run_job(make_job(tied_base, tmp_path / "out", seed=8, resume=True))
    assert err.value.code == "resume-mismatch"


def test_sigint_leaves_a_resumable_checkpoint(tied_base, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    job = make_job(tied_base, out, steps=400, checkpoint_every=2, seq_len=8)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hyperwords_bridge.finetune"],
        cwd=PYTHON_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    proc.stdin.write(json.dumps(job) + "\n")
    proc.stdin.close()
    got = []
    try:
        for line in proc.stdout:
            got.append(json.loads(line))
            if got[-1]["type"] == "checkpoint":
                proc.send_signal(signal.SIGINT)
                break
        got.extend(json.loads(line) for line in proc.stdout)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    last = got[-1]
    assert last["type"] == "error" and last["code"] == "cancelled" and "resume" in last["message"]
    checkpoint = Path(last["checkpoint"])
    assert checkpoint == latest_checkpoint(out / "checkpoints")
    assert json.loads((checkpoint / "state.json").read_text())["step"] == last["step"] < 400
    assert any(e["type"] == "log" and '"resume": true' in e["message"] for e in got)
    assert not any(e["type"] == "done" for e in got)
    assert not list((out / "checkpoints").glob(".*"))  # no half-written checkpoint

    resumed = run_job({**job, "resume": True, "checkpoint_every": 1000})  # not part of the resume fingerprint
    assert resumed["resumed_from"] == str(checkpoint) and resumed["steps"] == 400


@pytest.mark.slow
@pytest.mark.skipif(not (SMOLLM2 / "model.safetensors").is_file(), reason="SmolLM2 not pulled")
def test_smollm2_shortrun_job(tmp_path):
    result = run_job(
        make_job(
            SMOLLM2,
            tmp_path / "out",
            steps=5,
            batch_size=2,
            seq_len=32,
            lora={"rank": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]},
            optimizer={"lr": 1e-3},
        )
    )
    assert result["roundtrip"]["failures"] == 0 and result["added_tokens"] == 3
    assert math.isfinite(result["final_loss"]) and result["bpb_tuned"] < 1.5 * result["bpb_base"]

# ---------------------------------------------------------------------------- devices and accelerate


def _accelerate_launch(
    job_file: Path, processes: int = 1, timeout: float = 600, mode: str = "--cpu"
) -> tuple[int, list[dict], str]:
    """The worker under ``accelerate launch --cpu`` (one process: accelerate's CPU launcher never starts
    more; ``mode="--multi_gpu"`` starts several through torchrun, gloo on a CPU-only torch): exit code,
    the events on stdout, stderr."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--num_processes", str(processes), "--num_machines", "1", mode,
        "--mixed_precision", "no", "--dynamo_backend", "no", "--num_cpu_threads_per_process", "1",
        "-m", "hyperwords_bridge.finetune", "--job", str(job_file),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=PYTHON_DIR, env=env, capture_output=True, text=True, timeout=timeout)
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def _contract(got: list[dict]) -> list[tuple]:
    """What the TypeScript side reads from a run's events, without timings, paths and log text."""
    shape = []
    for e in got:
        if e["type"] == "progress":
            shape.append(("progress", e["task"], e["done"], e["total"], e["unit"]))
        elif e["type"] == "log" and e["level"] == "debug":
            m = json.loads(e["message"])
            shape.append(("train-step", m["step"], m["total"], m["tokens"], sorted(m)))
        elif e["type"] == "checkpoint":
            shape.append(("checkpoint", e["step"], Path(e["path"]).name))
        elif e["type"] == "artifact":
            shape.append(("artifact", e["kind"]))
        elif e["type"] != "log":
            shape.append((e["type"], sorted(e.get("result", {}))))
    return shape


def test_device_field_and_launch_detection(tmp_path):
    assert parse_job(make_job(tmp_path / "base", tmp_path / "out")).device == "auto"
    with pytest.raises(BridgeError, match=r"^job\.device: "):
        parse_job(make_job(tmp_path / "base", tmp_path / "out", device="gpu"))
    assert not launched_by_accelerate({})
    assert not launched_by_accelerate({"WORLD_SIZE": "1"})
    assert launched_by_accelerate({"ACCELERATE_USE_CPU": "True"})
    assert launched_by_accelerate({"WORLD_SIZE": "2", "RANK": "1"})
    rt = make_runtime(parse_job(make_job(tmp_path / "base", tmp_path / "out", device="cpu")))
    assert (rt.device.type, rt.world, rt.accelerator) == ("cpu", 1, None)
    assert rt.shard([5, 1, 4]) == [5, 1, 4] and rt.main_says(True) and rt.sum(3) == 3
    asked = make_runtime(parse_job(make_job(tmp_path / "base", tmp_path / "out", device="cpu", accelerate=True)))
    assert (asked.device.type, asked.world, asked.main) == ("cpu", 1, True) and asked.accelerator is not None
    if not torch.cuda.is_available():
        with pytest.raises(BridgeError, match=r"^job\.device: cuda was asked for") as err:
            make_runtime(parse_job(make_job(tmp_path / "base", tmp_path / "out", device="cuda")))
        assert err.value.code == "bad-job"


def test_accelerate_launch_single_cpu_process_matches_plainrun_job(tied_base, tmp_path, event_stream):
    """The `full` profile's multi-GPU path, checked on CPU with one process (`accelerate launch --cpu`)."""
    plain_job = tmp_path / "plain.json"
    plain_job.write_text(json.dumps(make_job(tied_base, tmp_path / "plain", device="cpu", threads=1)))
    assert ft.main(["--job", str(plain_job)]) == 0
    plain = event_stream()

    launched_job = tmp_path / "launched.json"
    launched_job.write_text(json.dumps(make_job(tied_base, tmp_path / "launched", device="cpu", threads=1)))
    code, launched, stderr = _accelerate_launch(launched_job)
    assert code == 0, stderr[-3000:]
    assert launched[-1]["type"] == "done", stderr[-3000:]
    assert _contract(launched) == _contract(plain)
    a, b = plain[-1]["result"], launched[-1]["result"]
    assert (a["device"], a["processes"], b["device"], b["processes"]) == ("cpu", 1, "cpu", 1)
    assert a["threads"] == b["threads"] == 1  # the job's threads, recorded
    assert abs(a["final_loss"] - b["final_loss"]) < 1e-3, (a["final_loss"], b["final_loss"])
    assert b["bpb_tuned"] == pytest.approx(a["bpb_tuned"], abs=1e-3)
    assert any("accelerate, 1 process" in e["message"] for e in launched if e["type"] == "log")
    curve = json.loads((tmp_path / "launched" / "training.json").read_text())["loss_curve"]
    assert len(curve) == 6 and curve[-1]["loss"] == b["final_loss"]


def test_superword_training_reads_plain_text_with_fewer_tokens(tied_base, tmp_path, event_stream):
    from transformers import AutoTokenizer

    from .test_vocab_measure import PLAIN, SUPERWORDS

    heldout = ["At dusk the warm purring lap grew still.", "Кошка шла домой, мягкое мурчит."]
    out = tmp_path / "out"
    result = run_job(make_job(tied_base, out, hyperwords=SUPERWORDS, superwords=True, train_texts=PLAIN, heldout_texts=heldout))
    tpb = result["tokens_per_byte"]
    assert result["superwords"] is True and result["added_tokens"] == len(SUPERWORDS)
    assert tpb["tuned"] < tpb["base"] and tpb["saved"] > 0 and tpb["added_token_targets"] >= 2
    assert result["roundtrip"]["failures"] == 0
    tok = AutoTokenizer.from_pretrained(result["merged_dir"])
    assert tok.decode(encode(tok, heldout[1])) == heldout[1]
    training = json.loads((out / "training.json").read_text())
    assert training["tokens_per_byte"] == tpb and training["finetune"]["config"]["superwords"] is True
