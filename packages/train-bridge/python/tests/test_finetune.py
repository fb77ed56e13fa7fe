"""The fine-tune worker on tiny random Llama models with a small byte-level BPE trained here (no download)."""

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

from hyperwords_bridge import finetune as ft
from hyperwords_bridge.events import BridgeError


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The machine's two cores are shared: these tests use one, then give the setting back."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


PYTHON_DIR = Path(__file__).resolve().parents[1]
SMOLLM2 = PYTHON_DIR.parents[2] / ".hyperwords" / "models" / "smollm2-135m"

HYPERWORDS = [
    {"surface": "кошкашлавкусноесть", "parts": ["кошка", "шла", "вкусно", "есть"], "lang": "ru"},
    {"surface": "тёплоемягкоемурчит", "parts": ["тёплое", "мягкое", "мурчит"]},
    {"surface": "warmpurringlapatdusk", "parts": ["warm", "purring", "lap", "at", "dusk"]},
]
TRAIN = [
    "Вот кошкашлавкусноесть по двору, и солнце село.",
    "У окна тёплоемягкоемурчит, и вечер тих.",
    "The warmpurringlapatdusk came slowly to my knees.",
    "Кошка шла по двору и вкусно есть хотела.",
    "Тёплое мягкое мурчит у окна — ёж в траве.",
    "The warm purring lap at dusk, the cat asleep.",
    "Ночь. Улица. Фонарь. Аптека.\tИ снова кошкашлавкусноесть!",
    "Tyger Tyger, burning bright, in the forests of the night;",
]
HELDOUT = ["Мороз и солнце; день чудесный!", "I wandered lonely as a cloud  that floats on high."]


def _tokenizer(folder: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((TRAIN + HELDOUT) * 3, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(folder)
    return fast


def _tiny_base(folder: Path, tied: bool = True) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer(folder)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=tied,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    LlamaForCausalLM(cfg).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tied_base(tmp_path_factory) -> Path:
    return _tiny_base(tmp_path_factory.mktemp("tied"), tied=True)


@pytest.fixture(scope="module")
def untied_base(tmp_path_factory) -> Path:
    return _tiny_base(tmp_path_factory.mktemp("untied"), tied=False)


def _job(base: Path, out: Path, **over) -> dict:
    job = {
        "base_dir": str(base),
        "out_dir": str(out),
        "hyperwords": HYPERWORDS,
        "train_texts": TRAIN,
        "heldout_texts": HELDOUT,
        "steps": 6,
        "batch_size": 2,
        "seq_len": 16,
        "seed": 7,
        "checkpoint_every": 3,
        "optimizer": {"name": "adamw", "lr": 0.01, "weight_decay": 0.01},
        "schedule": {"name": "cosine", "warmup_steps": 1},
        "lora": {"rank": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]},
        "image_prompts": ["Опиши образ:", "An image:"],
        "gen_tokens": 6,
    }
    job.update(over)
    return job


def _run(job: dict, stop: ft.StopSignals | None = None) -> dict:
    return ft.run(ft.parse_job(job), stop or ft.StopSignals())


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
        ({"schedule": {"name": "step"}}, "job.schedule.name"),
        ({"qlora": "yes"}, "job.qlora"),
        ({"heldout_docs": [0]}, "job.heldout_docs"),
        ({"curve_every": -1}, "job.curve_every"),
        ({"checkpointEvery": 5}, "job.checkpointEvery"),
    ],
)
def test_bad_fields_are_named(tmp_path, change, field):
    with pytest.raises(BridgeError) as err:
        ft.parse_job(_job(tmp_path / "base", tmp_path / "out", **change))
    assert err.value.code == "bad-job"
    assert str(err.value).startswith(field + ":"), str(err.value)


def test_missing_field_and_out_dir_inside_base(tmp_path):
    job = _job(tmp_path / "base", tmp_path / "out")
    del job["heldout_texts"]
    with pytest.raises(BridgeError, match=r"^job\.heldout_texts: required"):
        ft.parse_job(job)
    with pytest.raises(BridgeError, match=r"^job\.out_dir: must not be inside base_dir"):
        ft.parse_job(_job(tmp_path / "base", tmp_path / "base" / "out"))


def test_worker_reports_bad_job_as_error_event(tmp_path, event_stream):
    bad = tmp_path / "job.json"
    bad.write_text(json.dumps(_job(tmp_path / "nowhere", tmp_path / "out", seq_len=1)))
    assert ft.main(["--job", str(bad)]) == 1
    (e,) = event_stream()
    assert e["type"] == "error" and e["code"] == "bad-job" and e["message"].startswith("job.seq_len:")
    bad.write_text(json.dumps(_job(tmp_path / "nowhere", tmp_path / "out")))
    assert ft.main(["--job", str(bad)]) == 1
    assert event_stream()[-1]["code"] == "bad-base-dir"


@pytest.mark.skipif(__import__("importlib").util.find_spec("bitsandbytes") is not None, reason="bitsandbytes present")
def test_qlora_without_bitsandbytes_fails_clearly(tied_base, tmp_path, event_stream):
    job = tmp_path / "job.json"
    job.write_text(json.dumps(_job(tied_base, tmp_path / "out", qlora=True)))
    assert ft.main(["--job", str(job)]) == 1
    (e,) = event_stream()
    assert e["code"] == "qlora-unavailable" and "bitsandbytes" in e["message"]


def test_unknown_target_modules_are_a_job_error(tied_base, tmp_path):
    with pytest.raises(BridgeError, match=r"^job\.lora\.target_modules: ") as err:
        _run(_job(tied_base, tmp_path / "out", lora={"target_modules": ["c_attn"]}))
    assert err.value.code == "bad-job"


def test_batch_order_depends_only_on_seed_and_step():
    a, b = ft.BatchOrder(5, 3, seed=1), ft.BatchOrder(5, 3, seed=1)
    forward = [a.indices(s) for s in range(1, 11)]
    backward = [b.indices(s) for s in range(10, 0, -1)][::-1]
    assert forward == backward
    flat = [i for step in forward for i in step]
    assert sorted(flat[:5]) == list(range(5)) and sorted(flat[5:10]) == list(range(5))  # each epoch once
    assert forward != [ft.BatchOrder(5, 3, seed=2).indices(s) for s in range(1, 11)]


# ---------------------------------------------------------------------------- vocabulary


@pytest.mark.parametrize("tied", [True, False])
def test_added_tokens_start_as_exact_mean_of_parts(tied, tied_base, untied_base, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = tied_base if tied else untied_base
    reference = AutoTokenizer.from_pretrained(base)
    original = AutoModelForCausalLM.from_pretrained(base)
    built = ft.build(ft.parse_job(_job(base, tmp_path / "out")), quantized=False, measure=True)
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
    vocab = ft.add_hyperword_tokens(tok, [ft.Hyperword(h["surface"], tuple(h["parts"])) for h in HYPERWORDS])
    assert ft.roundtrip(tok, TRAIN + HELDOUT) == {"texts": len(TRAIN) + len(HELDOUT), "failures": 0, "examples": []}
    ids = ft.encode(tok, TRAIN[0])
    assert vocab.ids["кошкашлавкусноесть"] in ids


def test_bits_per_byte_of_a_uniform_model(untied_base):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(untied_base)
    model = AutoModelForCausalLM.from_pretrained(untied_base)
    with torch.no_grad():
        model.get_output_embeddings().weight.zero_()  # every logit 0: each token costs log2(V) bits
    texts = ["Мороз и солнце", "a cat"]
    got = ft.score_texts(model, tok, texts)
    tokens = sum(len(ft.encode(tok, t)) for t in texts)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    assert got["tokens"] == tokens and got["bytes"] == n_bytes
    assert got["bits_per_byte"] == pytest.approx(tokens * math.log2(len(tok)) / n_bytes, rel=1e-6)
    # each text's own NLL: its tokens times log V, summing to the whole
    assert got["per_text_bytes"] == [len(t.encode("utf-8")) for t in texts]
    for t, nats in zip(texts, got["per_text_nats"]):
        assert nats == pytest.approx(len(ft.encode(tok, t)) * math.log(len(tok)), rel=1e-6)
    assert sum(got["per_text_nats"]) == pytest.approx(got["nll_nats"], rel=1e-9)


# ---------------------------------------------------------------------------- training


def test_training_writes_a_usable_model_version(tied_base, tmp_path, event_stream):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hyperwords_bridge.export_onnx import check_model_dir

    out = tmp_path / "out"
    job = tmp_path / "job.json"
    docs = [k // 2 for k in range(len(HELDOUT))]
    job.write_text(json.dumps(_job(tied_base, out, steps=12, checkpoint_every=4, heldout_docs=docs, curve_every=6)))
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
    assert training["finetune"]["data"]["train_sha256"] == ft.texts_sha256(TRAIN)
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
    ids = torch.tensor([ft.encode(tok, TRAIN[0])])
    with torch.no_grad():
        assert torch.allclose(adapted(input_ids=ids).logits, model(input_ids=ids).logits, atol=1e-5)


def test_merged_dir_exports_a_probe_graph(tied_base, tmp_path):
    from hyperwords_bridge import probe_graph as pg

    result = _run(_job(tied_base, tmp_path / "out", steps=2, checkpoint_every=2))
    pg.export_probe(Path(result["merged_dir"]), k=3)
    assert (Path(result["merged_dir"]) / "onnx" / "probe.onnx").is_file()


class StopAfter(ft.StopSignals):
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
    straight = _run(_job(base, tmp_path / "a"))
    curve_a = [p["loss"] for p in json.loads((tmp_path / "a" / "training.json").read_text())["loss_curve"]]

    with pytest.raises(ft.Cancelled) as stopped:
        _run(_job(base, tmp_path / "b", checkpoint_every=4), StopAfter(event_stream, 2))
    assert stopped.value.step == 2 and stopped.value.path.name == "step-2"
    assert not (tmp_path / "b" / "merged").exists()
    resumed = _run(_job(base, tmp_path / "b", checkpoint_every=4, resume=True))
    curve_b = [p["loss"] for p in json.loads((tmp_path / "b" / "training.json").read_text())["loss_curve"]]

    assert resumed["resumed_from"].endswith("step-2")
    assert len(curve_a) == len(curve_b) == 6
    assert max(abs(x - y) for x, y in zip(curve_a, curve_b)) < 1e-3
    assert abs(straight["final_loss"] - resumed["final_loss"]) < 1e-3
    assert straight["bpb_tuned"] == pytest.approx(resumed["bpb_tuned"], abs=1e-3)


def test_resume_refuses_another_jobs_checkpoint(tied_base, tmp_path, event_stream):
    with pytest.raises(ft.Cancelled):
        _run(_job(tied_base, tmp_path / "out"), StopAfter(event_stream, 1))
    with pytest.raises(BridgeError) as err:
        _run(_job(tied_base, tmp_path / "out", seed=8, resume=True))
    assert err.value.code == "resume-mismatch"


def test_sigint_leaves_a_resumable_checkpoint(tied_base, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"}
    job = _job(tied_base, out, steps=400, checkpoint_every=2, seq_len=8)
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
    assert checkpoint == ft.latest_checkpoint(out / "checkpoints")
    assert json.loads((checkpoint / "state.json").read_text())["step"] == last["step"] < 400
    assert any(e["type"] == "log" and '"resume": true' in e["message"] for e in got)
    assert not any(e["type"] == "done" for e in got)
    assert not list((out / "checkpoints").glob(".*"))  # no half-written checkpoint

    resumed = _run({**job, "resume": True, "checkpoint_every": 1000})  # not part of the resume fingerprint
    assert resumed["resumed_from"] == str(checkpoint) and resumed["steps"] == 400


@pytest.mark.slow
@pytest.mark.skipif(not (SMOLLM2 / "model.safetensors").is_file(), reason="SmolLM2 not pulled")
def test_smollm2_short_run(tmp_path):
    result = _run(
        _job(
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
    assert ft.parse_job(_job(tmp_path / "base", tmp_path / "out")).device == "auto"
    with pytest.raises(BridgeError, match=r"^job\.device: "):
        ft.parse_job(_job(tmp_path / "base", tmp_path / "out", device="gpu"))
    assert not ft.launched_by_accelerate({})
    assert not ft.launched_by_accelerate({"WORLD_SIZE": "1"})
    assert ft.launched_by_accelerate({"ACCELERATE_USE_CPU": "True"})
    assert ft.launched_by_accelerate({"WORLD_SIZE": "2", "RANK": "1"})
    rt = ft.make_runtime(ft.parse_job(_job(tmp_path / "base", tmp_path / "out", device="cpu")))
    assert (rt.device.type, rt.world, rt.accelerator) == ("cpu", 1, None)
    assert rt.shard([5, 1, 4]) == [5, 1, 4] and rt.main_says(True) and rt.sum(3) == 3
    asked = ft.make_runtime(ft.parse_job(_job(tmp_path / "base", tmp_path / "out", device="cpu", accelerate=True)))
    assert (asked.device.type, asked.world, asked.main) == ("cpu", 1, True) and asked.accelerator is not None
    if not torch.cuda.is_available():
        with pytest.raises(BridgeError, match=r"^job\.device: cuda was asked for") as err:
            ft.make_runtime(ft.parse_job(_job(tmp_path / "base", tmp_path / "out", device="cuda")))
        assert err.value.code == "bad-job"


def test_accelerate_launch_single_cpu_process_matches_plain_run(tied_base, tmp_path, event_stream):
    """The `full` profile's multi-GPU path, checked on CPU with one process (`accelerate launch --cpu`)."""
    plain_job = tmp_path / "plain.json"
    plain_job.write_text(json.dumps(_job(tied_base, tmp_path / "plain", device="cpu", threads=1)))
    assert ft.main(["--job", str(plain_job)]) == 0
    plain = event_stream()

    launched_job = tmp_path / "launched.json"
    launched_job.write_text(json.dumps(_job(tied_base, tmp_path / "launched", device="cpu", threads=1)))
    code, launched, stderr = _accelerate_launch(launched_job)
    assert code == 0, stderr[-3000:]
    assert launched[-1]["type"] == "done", stderr[-3000:]
    assert _contract(launched) == _contract(plain)
    a, b = plain[-1]["result"], launched[-1]["result"]
    assert (a["device"], a["processes"], b["device"], b["processes"]) == ("cpu", 1, "cpu", 1)
    assert abs(a["final_loss"] - b["final_loss"]) < 1e-3, (a["final_loss"], b["final_loss"])
    assert b["bpb_tuned"] == pytest.approx(a["bpb_tuned"], abs=1e-3)
    assert any("accelerate, 1 process" in e["message"] for e in launched if e["type"] == "log")
    curve = json.loads((tmp_path / "launched" / "training.json").read_text())["loss_curve"]
    assert len(curve) == 6 and curve[-1]["loss"] == b["final_loss"]
