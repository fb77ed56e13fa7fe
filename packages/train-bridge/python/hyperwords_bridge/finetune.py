"""Fine-tune a causal LM on hyperwords: added tokens grown from their parts, LoRA + trainable token rows.

    python -m hyperwords_bridge.finetune < job.json        (one JSON job on the first line of stdin)
    python -m hyperwords_bridge.finetune --job job.json
    accelerate launch --num_processes N -m hyperwords_bridge.finetune --job job.json   (N processes / GPUs)

The job (JSON object; unknown top-level keys are rejected, extra keys inside a hyperword are ignored):

    base_dir         str, required   local HF model folder (config.json, *.safetensors, tokenizer.json)
    out_dir          str, required   outputs; must not be inside base_dir
    hyperwords       list, required  [{"surface": str without whitespace, "parts": [str, ...]}, ...]
    train_texts      list[str], required, non-empty   hyperword spans already fused into the surface
    heldout_texts    list[str], required, non-empty   never trained on (none may equal a train text)
    heldout_docs     list[int] | null = null   the document of each held-out text (same length): bits per
                                      byte get a bootstrap CI over documents (null: each text its own)
    curve_every      int = 0          score the held-out texts every N steps (the learning curve; 0: never)
    steps            int >= 1, required
    add_tokens       bool = true      hyperwords become added (normal, not special) tokens
    init             "parts-mean" | "default" = "parts-mean"   ("default": transformers' mean-resizing)
    lora             {"rank": int = 8, "alpha": number = 16, "dropout": number = 0.05,
                      "target_modules": list[str] | "all-linear" = ["q_proj","k_proj","v_proj","o_proj"]}
    qlora            bool = false     bitsandbytes 4-bit base; fails with `qlora-unavailable` without it
    optimizer        {"name": "adamw", "lr": number = 2e-4, "weight_decay": number = 0.0,
                      "max_grad_norm": number = 1.0}   (token rows never get weight decay)
    schedule         {"name": "linear" | "cosine" | "constant" = "linear", "warmup_steps": int = 0}
    batch_size       int = 4;  seq_len int = 128;  seed int = 0
    checkpoint_every int = 50;  keep_checkpoints int = 3 (newest kept);  resume bool = false
    image_prompts    list[str] = 4 built-in RU/EN prompts;  gen_tokens int = 24
    name             str = "<base name>-ft"   model version name written into the merged manifest
    threads          int | null = null  torch.set_num_threads (null: torch's default / OMP_NUM_THREADS)
    device           "auto" | "cpu" | "cuda" = "auto"   ("auto": cuda when torch.cuda.is_available())
    accelerate       bool = false     run through ``accelerate.Accelerator`` even in a plain single process
                                      (always on when started by ``accelerate launch`` or torchrun)

Data: each text is tokenized without special tokens and packed into one stream, each text preceded
by the separator (the tokenizer's EOS, else its BOS); the stream is cut into blocks of ``seq_len``
tokens (the tail is dropped). Sample ``k = step * batch_size + b`` is block ``perm_e[k % n]`` with
``perm_e`` a permutation seeded by ``(seed, e = k // n)``, so the data order depends only on seed and
step and a resumed run sees exactly the batches an uninterrupted one does.

Hyperword tokens: each new row starts as the mean of its parts' token rows; every part is tokenized
as ``" " + part`` (the form a word has inside a line, the one byte-level BPEs know as whole tokens),
with whitespace-only pieces dropped, and the mean is over all those pieces of all parts. Untied output
rows get the same treatment from the output matrix. The rows train as PEFT trainable tokens
(``LoraConfig(trainable_token_indices=...)``) together with LoRA.

Long-job behaviour: a ``progress`` event per step (task ``train``, unit ``steps``) followed by a
``debug`` log whose message is JSON ``{"kind": "train-step", step, total, loss, lr, tokens,
tokens_per_s, eta_s}``. Checkpoints go to ``out_dir/checkpoints/step-N`` (temp dir, then rename) every
``checkpoint_every`` steps and at the end, each followed by a ``checkpoint`` event {path, step, loss}.
SIGINT/SIGTERM during training finish the current step, write a checkpoint, log how to resume and end
with an ``error`` event of code ``cancelled`` and exit code 130 (the bridge's contract for a
cancelled job); a signal outside the training loop cancels at once. ``resume: true`` continues from
the newest complete checkpoint (or starts fresh when there is none); a checkpoint from a different
job (seed, data, LoRA, steps, ...) is refused with ``resume-mismatch``.

Outputs: ``out_dir/adapter`` (PEFT adapter + extended tokenizer), ``out_dir/merged`` (LoRA and token
rows merged; safetensors, tokenizer, config, ``hyperwords-model.json`` with lineage and checks: the
layout ``export_onnx`` and ``probe_graph`` take), ``out_dir/training.json``. Bits per byte =
sum of NLL in bits over the held-out texts (each scored after the separator) / their UTF-8 bytes.
The emission rate is the share of greedily generated tokens (``gen_tokens`` per image prompt, up to
EOS) that are added hyperword tokens; ``emission_any`` is the share of generations with at least one.

Devices and several processes: the model, the batches and the token rows live on ``device``; the
held-out scoring, the merge and the generations run there too. A CUDA torch comes from
``python3 packages/train-bridge/python/bootstrap.py --cuda`` (see the README). On several GPUs:

    accelerate launch --num_processes N -m hyperwords_bridge.finetune --job job.json
    accelerate launch --num_processes 1 --cpu -m hyperwords_bridge.finetune --job job.json   (the CPU check)

(``--cpu`` always starts a single process; on a machine without GPUs ``--multi_gpu --num_processes N``
starts N CPU processes through torchrun with the gloo backend, useful only to check the sharding.)

A launch by ``accelerate launch`` (``ACCELERATE_*`` variables) or torchrun
(``WORLD_SIZE``/``LOCAL_RANK``) is detected and the job runs through ``accelerate.Accelerator``: the
device is the accelerator's (``device: "cpu"`` asks for ``cpu=True``; ``"cuda"`` without a GPU is a
``bad-job``), the model is wrapped by ``accelerator.prepare`` (DDP with several processes, gradients
averaged across them) and ``batch_size`` stays the global batch: process ``r`` of ``N`` takes blocks
``r, r+N, ...`` of the step's indices (a function of (seed, step, r)), and its loss is weighted by
its share so the averaged gradient is the one of the whole batch (``batch_size >= N`` is required).
The reported loss is the batch's, reduced over processes. Only the main process writes events on
stdout (the others write nothing there; their logs go to stderr), checkpoints, the adapter, the
merged model and ``training.json``; the other processes end after training. SIGINT/SIGTERM: the main
process decides and the stop flag is broadcast each step, so all stop after the same step.
Checkpoints of several processes or of CUDA runs hold each process's RNG states (CPU and CUDA); a
resume on the same number of processes is bit-for-bit the uninterrupted run, a resume on another
number continues from the checkpoint with the same batches (only dropout masks differ). Under
``accelerate launch`` the launcher's own exit code is 1 for any failure of the worker (the last
event tells which); a signal should reach the whole process group (Ctrl-C does; torchrun forwards
its own, accelerate's single-process launcher does not). ``done`` also carries ``device`` and
``processes``.

Error codes: ``bad-job``, ``bad-base-dir``, ``qlora-unavailable``, ``resume-mismatch``,
``train-diverged``, ``cancelled``, ``internal``. Exit codes: 0 done, 1 error, 130 cancelled.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

from . import __version__, events  # noqa: E402
from . import heldout as heldout_stats  # noqa: E402
from .events import BridgeError  # noqa: E402
from .weights import MANIFEST, MANIFEST_SCHEMA_VERSION, folder_digest, sha256_file  # noqa: E402

TASK = "train"
DEFAULT_IMAGE_PROMPTS = (
    "Опиши образ одним словом:",
    "Тёплый вечер, кошка у окна —",
    "Describe the image in one word:",
    "A warm evening, a cat by the window —",
)
DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
DEVICES = ("auto", "cpu", "cuda")
SCHEDULES = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}
INIT_SAMPLE_TEXTS = 64  # texts per side for the step-0 init comparison
EVAL_WINDOW = 256  # predicted tokens per scoring window
EVAL_LOGITS_BYTES = 1 << 26  # cap on one scoring batch's float32 logits (peak memory is ~3x this)


# --------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hyperword:
    surface: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Lora:
    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    target_modules: tuple[str, ...] | str = DEFAULT_TARGET_MODULES


@dataclass(frozen=True)
class Optimizer:
    name: str = "adamw"
    lr: float = 2e-4
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0


@dataclass(frozen=True)
class Schedule:
    name: str = "linear"
    warmup_steps: int = 0


@dataclass(frozen=True)
class Job:
    base_dir: Path
    out_dir: Path
    hyperwords: tuple[Hyperword, ...]
    train_texts: tuple[str, ...]
    heldout_texts: tuple[str, ...]
    steps: int
    heldout_docs: tuple[int, ...] | None = None
    curve_every: int = 0
    add_tokens: bool = True
    init: str = "parts-mean"
    lora: Lora = field(default_factory=Lora)
    qlora: bool = False
    optimizer: Optimizer = field(default_factory=Optimizer)
    schedule: Schedule = field(default_factory=Schedule)
    batch_size: int = 4
    seq_len: int = 128
    seed: int = 0
    checkpoint_every: int = 50
    keep_checkpoints: int = 3
    resume: bool = False
    image_prompts: tuple[str, ...] = DEFAULT_IMAGE_PROMPTS
    gen_tokens: int = 24
    name: str | None = None
    threads: int | None = None
    device: str = "auto"
    accelerate: bool = False

    def training_config(self) -> dict[str, Any]:
        """What decides the training trajectory (hashed to match checkpoints on resume)."""
        return {
            "base_dir": str(self.base_dir),
            "add_tokens": self.add_tokens,
            "init": self.init,
            "hyperwords": [asdict(h) for h in self.hyperwords],
            "lora": asdict(self.lora),
            "qlora": self.qlora,
            "optimizer": asdict(self.optimizer),
            "schedule": asdict(self.schedule),
            "steps": self.steps,
            "batch_size": self.batch_size,
            "seq_len": self.seq_len,
            "seed": self.seed,
            "train_sha256": texts_sha256(self.train_texts),
            "heldout_sha256": texts_sha256(self.heldout_texts),
        }


def _bad(path: str, why: str) -> BridgeError:
    return BridgeError(f"job.{path}: {why}", "bad-job")


def _int(v: Any, path: str, lo: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _bad(path, f"expected an integer, got {json.dumps(v, ensure_ascii=False)[:60]}")
    if lo is not None and v < lo:
        raise _bad(path, f"must be >= {lo}, got {v}")
    return v


def _num(v: Any, path: str, lo: float | None = None, lo_open: bool = False, hi: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise _bad(path, f"expected a finite number, got {json.dumps(v, ensure_ascii=False)[:60]}")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise _bad(path, f"must be {'>' if lo_open else '>='} {lo}, got {v}")
    if hi is not None and v > hi:
        raise _bad(path, f"must be <= {hi}, got {v}")
    return float(v)


def _bool(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise _bad(path, f"expected true or false, got {json.dumps(v, ensure_ascii=False)[:60]}")
    return v


def _str(v: Any, path: str, choices: Iterable[str] | None = None) -> str:
    if not isinstance(v, str) or not v:
        raise _bad(path, "expected a non-empty string")
    if choices is not None and v not in choices:
        raise _bad(path, f"must be one of {', '.join(repr(c) for c in choices)}, got {v!r}")
    return v


def _texts(v: Any, path: str, non_empty: bool = True) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise _bad(path, "expected a list of strings")
    if non_empty and not v:
        raise _bad(path, "must not be empty")
    for i, t in enumerate(v):
        if not isinstance(t, str):
            raise _bad(f"{path}[{i}]", "expected a string")
    return tuple(v)


def _obj(v: Any, path: str, keys: Iterable[str]) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise _bad(path, "expected an object")
    unknown = sorted(set(v) - set(keys))
    if unknown:
        raise _bad(f"{path}.{unknown[0]}", f"unknown field (known: {', '.join(keys)})")
    return v


def parse_job(raw: Any) -> Job:
    """Validate a decoded JSON job; a bad field raises ``BridgeError`` (code ``bad-job``) naming it."""
    if not isinstance(raw, dict):
        raise BridgeError("job: expected a JSON object", "bad-job")
    unknown = sorted(set(raw) - set(Job.__dataclass_fields__))
    if unknown:
        raise _bad(unknown[0], f"unknown field (known: {', '.join(Job.__dataclass_fields__)})")
    top = raw
    for req in ("base_dir", "out_dir", "hyperwords", "train_texts", "heldout_texts", "steps"):
        if req not in top:
            raise _bad(req, "required field is missing")
    base_dir = Path(_str(top["base_dir"], "base_dir")).expanduser().resolve()
    out_dir = Path(_str(top["out_dir"], "out_dir")).expanduser().resolve()
    if out_dir == base_dir or base_dir in out_dir.parents:
        raise _bad("out_dir", f"must not be inside base_dir ({base_dir}); the base model stays read-only")

    if not isinstance(top["hyperwords"], list):
        raise _bad("hyperwords", "expected a list of {surface, parts}")
    hyperwords: list[Hyperword] = []
    for i, h in enumerate(top["hyperwords"]):
        if not isinstance(h, dict):
            raise _bad(f"hyperwords[{i}]", "expected an object {surface, parts}")
        surface = _str(h.get("surface"), f"hyperwords[{i}].surface")
        if re.search(r"\s", surface):
            raise _bad(f"hyperwords[{i}].surface", f"contains whitespace: {surface!r}")
        parts = h.get("parts")
        if not isinstance(parts, list) or not parts:
            raise _bad(f"hyperwords[{i}].parts", "expected a non-empty list of strings")
        for j, p in enumerate(parts):
            _str(p, f"hyperwords[{i}].parts[{j}]")
        hyperwords.append(Hyperword(surface, tuple(parts)))

    train = _texts(top["train_texts"], "train_texts")
    heldout = _texts(top["heldout_texts"], "heldout_texts")
    train_set = set(train)
    for i, t in enumerate(heldout):
        if t in train_set:
            raise _bad(f"heldout_texts[{i}]", "also appears in train_texts; held-out text is never trained on")

    heldout_docs = top.get("heldout_docs")
    if heldout_docs is not None:
        if not isinstance(heldout_docs, list) or len(heldout_docs) != len(heldout):
            raise _bad("heldout_docs", f"expected a list of {len(heldout)} document ids, one per held-out text")
        heldout_docs = tuple(_int(d, f"heldout_docs[{j}]", 0) for j, d in enumerate(heldout_docs))

    lora_raw = _obj(top.get("lora"), "lora", Lora.__dataclass_fields__)
    tm = lora_raw.get("target_modules", list(DEFAULT_TARGET_MODULES))
    if tm != "all-linear":
        if not isinstance(tm, list) or not tm:
            raise _bad("lora.target_modules", 'expected a non-empty list of module names or "all-linear"')
        tm = tuple(_str(m, f"lora.target_modules[{j}]") for j, m in enumerate(tm))
    lora = Lora(
        rank=_int(lora_raw.get("rank", Lora.rank), "lora.rank", 1),
        alpha=_num(lora_raw.get("alpha", Lora.alpha), "lora.alpha", 0, lo_open=True),
        dropout=_num(lora_raw.get("dropout", Lora.dropout), "lora.dropout", 0, hi=0.9),
        target_modules=tm,
    )
    opt_raw = _obj(top.get("optimizer"), "optimizer", Optimizer.__dataclass_fields__)
    optimizer = Optimizer(
        name=_str(opt_raw.get("name", "adamw"), "optimizer.name", ["adamw"]),
        lr=_num(opt_raw.get("lr", Optimizer.lr), "optimizer.lr", 0, lo_open=True),
        weight_decay=_num(opt_raw.get("weight_decay", Optimizer.weight_decay), "optimizer.weight_decay", 0),
        max_grad_norm=_num(opt_raw.get("max_grad_norm", Optimizer.max_grad_norm), "optimizer.max_grad_norm", 0),
    )
    sch_raw = _obj(top.get("schedule"), "schedule", Schedule.__dataclass_fields__)
    schedule = Schedule(
        name=_str(sch_raw.get("name", "linear"), "schedule.name", list(SCHEDULES)),
        warmup_steps=_int(sch_raw.get("warmup_steps", 0), "schedule.warmup_steps", 0),
    )
    prompts = _texts(top.get("image_prompts", list(DEFAULT_IMAGE_PROMPTS)), "image_prompts", non_empty=False)
    threads = top.get("threads")
    return Job(
        base_dir=base_dir,
        out_dir=out_dir,
        hyperwords=tuple(hyperwords),
        train_texts=train,
        heldout_texts=heldout,
        steps=_int(top["steps"], "steps", 1),
        heldout_docs=heldout_docs,
        curve_every=_int(top.get("curve_every", 0), "curve_every", 0),
        add_tokens=_bool(top.get("add_tokens", True), "add_tokens"),
        init=_str(top.get("init", "parts-mean"), "init", ["parts-mean", "default"]),
        lora=lora,
        qlora=_bool(top.get("qlora", False), "qlora"),
        optimizer=optimizer,
        schedule=schedule,
        batch_size=_int(top.get("batch_size", 4), "batch_size", 1),
        seq_len=_int(top.get("seq_len", 128), "seq_len", 2),
        seed=_int(top.get("seed", 0), "seed", 0),
        checkpoint_every=_int(top.get("checkpoint_every", 50), "checkpoint_every", 1),
        keep_checkpoints=_int(top.get("keep_checkpoints", 3), "keep_checkpoints", 1),
        resume=_bool(top.get("resume", False), "resume"),
        image_prompts=prompts,
        gen_tokens=_int(top.get("gen_tokens", 24), "gen_tokens", 1),
        name=_str(top["name"], "name") if top.get("name") is not None else None,
        threads=_int(threads, "threads", 1) if threads is not None else None,
        device=_str(top.get("device", "auto"), "device", DEVICES),
        accelerate=_bool(top.get("accelerate", False), "accelerate"),
    )


def check_base_dir(base_dir: Path) -> None:
    """The base must be a local HF folder; nothing is ever fetched from a hub."""
    if not base_dir.is_dir():
        raise BridgeError(f"job.base_dir: {base_dir} is not a directory", "bad-base-dir")
    missing = [n for n in ("config.json", "tokenizer.json") if not (base_dir / n).is_file()]
    if not any(base_dir.glob("*.safetensors")):
        missing.append("*.safetensors")
    if missing:
        raise BridgeError(f"job.base_dir: {base_dir} lacks {', '.join(missing)}", "bad-base-dir")


def check_qlora() -> None:
    """QLoRA needs bitsandbytes in the bridge venv; without it the job fails instead of silently using LoRA."""
    try:
        import bitsandbytes  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means 4-bit is unavailable
        raise BridgeError(
            f"job.qlora: bitsandbytes is not importable in the bridge venv ({type(exc).__name__}: {exc}); "
            "install bitsandbytes>=0.47 into packages/train-bridge/python/.venv or set qlora to false",
            "qlora-unavailable",
        ) from exc


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def texts_sha256(texts: Iterable[str]) -> str:
    """sha256 of ``JSON.stringify(texts)`` in UTF-8 (the same digest TypeScript computes)."""
    blob = json.dumps(list(texts), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def separator_id(tokenizer) -> int:
    """The token before each text, in training and in scoring: EOS, else BOS."""
    sep = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.bos_token_id
    if sep is None:
        raise BridgeError("the base tokenizer has neither an EOS nor a BOS token to separate texts", "bad-base-dir")
    return int(sep)


def encode(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def pack_blocks(tokenizer, texts: Iterable[str], seq_len: int) -> list[list[int]]:
    """Training blocks: ``sep text sep text ...`` cut into ``seq_len`` tokens (a short stream is one block)."""
    sep = separator_id(tokenizer)
    stream: list[int] = []
    for t in texts:
        stream.append(sep)
        stream.extend(encode(tokenizer, t))
    if len(stream) < 2:
        raise BridgeError("job.train_texts: fewer than 2 tokens to train on", "bad-job")
    n = min(seq_len, len(stream))
    return [stream[i : i + n] for i in range(0, len(stream) - n + 1, n)]


class BatchOrder:
    """Block indices of a step: a function of (seed, step) only, epoch by epoch."""

    def __init__(self, n_blocks: int, batch_size: int, seed: int):
        self.n, self.batch_size, self.seed = n_blocks, batch_size, seed
        self._perms: dict[int, Any] = {}

    def _perm(self, epoch: int):
        import numpy as np

        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return self._perms[epoch]

    def indices(self, step: int) -> list[int]:
        """Blocks of 1-based ``step``."""
        first = (step - 1) * self.batch_size
        return [int(self._perm(k // self.n)[k % self.n]) for k in range(first, first + self.batch_size)]


# --------------------------------------------------------------------------------------
# Hyperwords as vocabulary
# --------------------------------------------------------------------------------------


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


def add_hyperword_tokens(tokenizer, hyperwords: Iterable[Hyperword]) -> HyperwordVocab:
    """Add each surface as a normal added token; parts are tokenized before anything is added."""
    from transformers import AddedToken

    unique: dict[str, Hyperword] = {}
    for h in hyperwords:
        unique.setdefault(h.surface, h)
    pieces = {s: part_pieces(tokenizer, h.parts) for s, h in unique.items()}
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


# --------------------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------------------


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


def emission(model, tokenizer, prompts: Iterable[str], hyperword_ids: Iterable[int], gen_tokens: int) -> dict[str, Any]:
    """Greedy generations from the image prompts; how often they use added hyperword tokens."""
    import torch

    hw = set(hyperword_ids)
    sep = separator_id(tokenizer)
    eos = tokenizer.eos_token_id
    samples = []
    generated = emitted = with_any = 0
    model.eval()
    for prompt in prompts:
        ids = torch.tensor([[sep] + encode(tokenizer, prompt)], device=model_device(model))
        with torch.no_grad():
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=gen_tokens,
                do_sample=False,
                num_beams=1,
                pad_token_id=eos if eos is not None else sep,
            )
        new = out[0, ids.shape[1] :].tolist()
        if eos is not None and eos in new:
            new = new[: new.index(eos)]
        k = sum(1 for i in new if i in hw)
        generated += len(new)
        emitted += k
        with_any += int(k > 0)
        samples.append({"prompt": prompt, "ids": new, "text": tokenizer.decode(new), "hyperword_tokens": k})
    n = len(samples)
    return {
        "rate": emitted / generated if generated else 0.0,
        "any": with_any / n if n else 0.0,
        "generated_tokens": generated,
        "hyperword_tokens": emitted,
        "samples": samples,
    }


# --------------------------------------------------------------------------------------
# Stopping on a signal
# --------------------------------------------------------------------------------------


class Cancelled(Exception):
    """Training stopped on a signal after writing a resumable checkpoint."""

    def __init__(self, step: int, path: Path | None):
        super().__init__(f"interrupted at step {step}")
        self.step, self.path = step, path


class StopSignals:
    """SIGINT/SIGTERM: inside the training loop they only ask it to stop after the current step;
    elsewhere they cancel at once (KeyboardInterrupt). A stuck worker is ended with kill -9."""

    def __init__(self) -> None:
        self.requested = False
        self.deferring = False
        self._old: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        self.requested = True
        if not self.deferring:
            raise KeyboardInterrupt

    def __enter__(self) -> "StopSignals":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


# --------------------------------------------------------------------------------------
# Device and processes
# --------------------------------------------------------------------------------------

LAUNCH_VARS = ("ACCELERATE_USE_CPU", "ACCELERATE_MIXED_PRECISION", "ACCELERATE_DYNAMO_BACKEND", "LOCAL_RANK")


def launched_by_accelerate(env: dict[str, str] | None = None) -> bool:
    """True under ``accelerate launch`` (it sets ``ACCELERATE_*``) or torchrun (``LOCAL_RANK``, ``WORLD_SIZE`` > 1)."""
    env = os.environ if env is None else env
    try:
        world = int(env.get("WORLD_SIZE", "1"))
    except ValueError:
        world = 1
    return world > 1 or any(k in env for k in LAUNCH_VARS)


def _launch_rank() -> int:
    """This process's global rank as the launcher set it (0 when not launched), before any setup."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


class _Discard:
    """The event stream of a process that is not the main one: nothing reaches stdout."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class Runtime:
    """Where the job runs: a device, and the accelerator and process group when there is one.

    Without an accelerator every collective is the identity, so a plain process behaves as before."""

    def __init__(self, device, accelerator=None):
        self.device = device
        self.accelerator = accelerator
        self.rank = accelerator.process_index if accelerator is not None else 0
        self.world = accelerator.num_processes if accelerator is not None else 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def describe(self) -> str:
        how = "accelerate" if self.accelerator is not None else "plain"
        return f"{self.device} ({how}, {self.world} process{'es' if self.world > 1 else ''})"

    def shard(self, indices: list[int]) -> list[int]:
        """This process's blocks of a step: a function of (seed, step, rank) like the step's indices."""
        return indices[self.rank :: self.world] if self.distributed else indices

    def prepare(self, model):
        return self.accelerator.prepare(model) if self.accelerator is not None else model

    def backward(self, loss) -> None:
        if self.accelerator is not None:
            self.accelerator.backward(loss)
        else:
            loss.backward()

    def sum(self, value):
        """Sum of a scalar tensor over processes."""
        if not self.distributed:
            return value
        from accelerate.utils import reduce

        return reduce(value, reduction="sum")

    def main_says(self, flag: bool) -> bool:
        """The main process's flag, on every process (the stop decision)."""
        if not self.distributed:
            return flag
        import torch
        from accelerate.utils import broadcast

        return bool(broadcast(torch.tensor([int(flag)], device=self.device), from_process=0).item())

    def main_value(self, value: Any) -> Any:
        """Any picklable value of the main process, on every process."""
        if not self.distributed:
            return value
        from accelerate.utils import broadcast_object_list

        return broadcast_object_list([value], from_process=0)[0]

    def gather(self, value: Any) -> list[Any]:
        """One picklable value per process, in rank order, on every process."""
        if not self.distributed:
            return [value]
        from accelerate.utils import gather_object

        return list(gather_object([value]))

    def barrier(self) -> None:
        if self.distributed:
            self.accelerator.wait_for_everyone()

    def rng_state(self) -> dict[str, Any]:
        """This process's torch RNG states (CPU, and CUDA when training there)."""
        import torch

        cuda = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        return {"cpu": torch.get_rng_state(), "cuda": cuda}

    def set_rng_state(self, saved: dict[str, Any]) -> None:
        import torch

        torch.set_rng_state(saved["cpu"])
        if self.device.type == "cuda" and saved.get("cuda") is not None:
            torch.cuda.set_rng_state(saved["cuda"], self.device)


def make_runtime(job: Job) -> Runtime:
    """The device the job asks for; through ``accelerate.Accelerator`` when asked or launched by it."""
    import torch

    has_cuda = torch.cuda.is_available()
    if job.device == "cuda" and not has_cuda:
        raise BridgeError(
            "job.device: cuda was asked for but torch.cuda.is_available() is false (a CPU build of torch, or no "
            "GPU); install the CUDA build with `python3 packages/train-bridge/python/bootstrap.py --cuda`",
            "bad-job",
        )
    if not (job.accelerate or launched_by_accelerate()):
        return Runtime(torch.device("cuda" if job.device == "cuda" or (job.device == "auto" and has_cuda) else "cpu"))
    from accelerate import Accelerator

    with events.redirect_stdout_to_stderr():
        accelerator = Accelerator(cpu=job.device == "cpu" or not has_cuda)
    if job.device == "cuda" and accelerator.device.type != "cuda":
        raise BridgeError(
            f"job.device: cuda was asked for but accelerate runs on {accelerator.device} (launched with --cpu?)",
            "bad-job",
        )
    device = accelerator.device
    rt = Runtime(torch.device("cpu") if device.type == "cpu" else device, accelerator)
    if job.batch_size < rt.world:
        raise BridgeError(
            f"job.batch_size: {job.batch_size} is smaller than the {rt.world} processes; each needs a block per step",
            "bad-job",
        )
    return rt


def _rank_seed(seed: int, rank: int, step: int) -> int:
    """Dropout seed of a process > 0 that has no saved RNG state (a fresh start, or another process count)."""
    blob = hashlib.sha256(f"{seed}:{rank}:{step}".encode()).digest()
    return int.from_bytes(blob[:8], "little") & ((1 << 63) - 1)


# --------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------

STEP_DIR = re.compile(r"^step-(\d+)$")


def checkpoints_dir(job: Job) -> Path:
    return job.out_dir / "checkpoints"


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint (a ``step-N`` folder with its ``state.json``)."""
    if not folder.is_dir():
        return None
    found = [
        (int(m.group(1)), p)
        for p in folder.iterdir()
        if (m := STEP_DIR.match(p.name)) and (p / "state.json").is_file()
    ]
    return max(found)[1] if found else None


def _rng_state() -> dict[str, Any]:
    import numpy as np

    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "python": [py_state[0], list(py_state[1]), py_state[2]],
        "numpy": [np_state[0], np_state[1].tolist(), *[v.item() if hasattr(v, "item") else v for v in np_state[2:]]],
    }


def _set_rng_state(state: dict[str, Any], torch_rng) -> None:
    import numpy as np
    import torch

    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npst = state["numpy"]
    np.random.set_state((npst[0], np.array(npst[1], dtype=np.uint32), *npst[2:]))
    torch.set_rng_state(torch_rng)


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file():
            os.chmod(path, 0o644)  # the folder is shared with Node readers
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    os.chmod(folder, 0o755)


def _install_dir(work: Path, dest: Path) -> None:
    """Rename a finished temp folder into place; an old one is moved aside, then removed."""
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
    os.replace(work, dest)
    fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _clean_partials(folder: Path) -> None:
    """Remove what an interrupted or killed worker left half-written (never visible under a final name)."""
    if folder.is_dir():
        for stale in [*folder.glob(".*.partial-*"), *folder.glob(".*.old-*")]:
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def trainable_parameters(model) -> dict[str, Any]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(
    job: Job,
    model,
    optimizer,
    scheduler,
    step: int,
    state: dict[str, Any],
    rank_rng: list[dict[str, Any]] | None = None,
) -> Path:
    """Write ``checkpoints/step-N`` atomically: trainable rows and LoRA, optimizer, scheduler, RNG, history.

    ``rank_rng``: every process's torch RNG states (several processes, or CUDA); a plain CPU run has none."""
    import torch
    from safetensors.torch import save_file

    folder = checkpoints_dir(job)
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".step-{step}.partial-", dir=folder))
    try:
        tensors = {n: p.detach().to("cpu").contiguous().clone() for n, p in trainable_parameters(model).items()}
        save_file(tensors, str(work / "trainable.safetensors"))
        optim = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state()}
        if rank_rng is not None:
            optim["rank_rng"] = rank_rng
        torch.save(optim, work / "optim.pt")
        body = {**state, "step": step, "rng": _rng_state(), "written": _now()}
        (work / "state.json").write_text(json.dumps(body, ensure_ascii=False) + "\n", "utf-8")
        _fsync_tree(work)
        dest = folder / f"step-{step}"
        _install_dir(work, dest)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    steps = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := STEP_DIR.match(p.name)))
    for _, old in steps[: -job.keep_checkpoints]:
        shutil.rmtree(old, ignore_errors=True)
    return dest


def load_checkpoint(
    path: Path, model, optimizer, scheduler, rt: Runtime | None = None, seed: int = 0
) -> dict[str, Any]:
    """Restore a checkpoint into a freshly built model/optimizer/scheduler; returns its state.json.

    With ``rt``: this process's own RNG state when the checkpoint has one for its rank (same process
    count), else rank 0 takes the main state and the others a seed of (seed, rank, step)."""
    import torch
    from safetensors.torch import load_file

    state = json.loads((path / "state.json").read_text("utf-8"))
    saved = load_file(str(path / "trainable.safetensors"))
    params = trainable_parameters(model)
    if set(saved) != set(params):
        raise BridgeError(f"{path}: its trainable parameters differ from this job's model", "resume-mismatch")
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(saved[n])
    rest = torch.load(path / "optim.pt", weights_only=True, map_location="cpu")
    optimizer.load_state_dict(rest["optimizer"])
    scheduler.load_state_dict(rest["scheduler"])
    _set_rng_state(state["rng"], rest["torch_rng"])
    if rt is not None:
        ranks = rest.get("rank_rng")
        if ranks is not None and len(ranks) == rt.world:
            rt.set_rng_state(ranks[rt.rank])
        elif ranks is not None and rt.rank == 0:
            rt.set_rng_state(ranks[0])
        elif rt.rank > 0:
            torch.manual_seed(_rank_seed(seed, rt.rank, int(state["step"])))
    return state


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


def seed_all(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"hyperwords_bridge": __version__, "python": sys.version.split()[0]}
    for dist in ("torch", "transformers", "peft", "tokenizers", "safetensors", "accelerate"):
        try:
            out[dist] = version(dist)
        except Exception:  # noqa: BLE001
            out[dist] = "missing"
    return out


def _fingerprint(job: Job) -> str:
    blob = json.dumps(job.training_config(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _base_manifest(base_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((base_dir / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def load_base(job: Job, quantized: bool, device=None):
    """The base model (float32, or 4-bit through bitsandbytes) and its tokenizer, from local files only,
    on ``device`` (default: where transformers loads it, the CPU)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"dtype": torch.float32, "local_files_only": True}
    if quantized:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32
        )
        if device is not None and device.type != "cpu":
            kwargs["device_map"] = {"": device}  # a 4-bit model is placed when loaded, never moved
    with events.redirect_stdout_to_stderr():
        tokenizer = AutoTokenizer.from_pretrained(str(job.base_dir), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(job.base_dir), **kwargs)
    if device is not None and not quantized:
        model.to(device)
    if quantized:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    return model, tokenizer


def lora_config(job: Job, model, vocab: HyperwordVocab | None):
    from peft import LoraConfig

    indices: Any = None
    if vocab is not None and vocab.ids:
        ids = sorted(vocab.ids.values())
        mats = embedding_matrices(model)
        if len(mats) == 1:
            indices = ids  # tied: peft wraps the input embedding and ties the output to it
        else:
            names = {id(m): n.rsplit(".", 1)[-1] for n, m in model.named_modules()}
            indices = {
                names[id(model.get_input_embeddings())]: ids,
                names[id(model.get_output_embeddings())]: ids,
            }
    tm = job.lora.target_modules
    return LoraConfig(
        r=job.lora.rank,
        lora_alpha=job.lora.alpha,
        lora_dropout=job.lora.dropout,
        target_modules=tm if isinstance(tm, str) else list(tm),
        trainable_token_indices=indices,
        bias="none",
        task_type="CAUSAL_LM",
    )


def build(job: Job, quantized: bool, measure: bool, device=None) -> dict[str, Any]:
    """Base → bits per byte (optional) → added tokens, resized and initialised → PEFT model, on ``device``.

    Every RNG draw here happens in the same order on a fresh start and on resume."""
    from peft import get_peft_model

    seed_all(job.seed)
    model, tokenizer = load_base(job, quantized, device)
    measures: dict[str, Any] = {}
    if measure:
        events.log(f"scoring {len(job.heldout_texts)} held-out texts with the base model")
        measures["bpb_base"] = score_texts(model, tokenizer, job.heldout_texts)

    vocab = None
    if job.add_tokens:
        vocab = add_hyperword_tokens(tokenizer, job.hyperwords)
        if vocab.already_in_vocab:
            already = vocab.already_in_vocab
            events.log(f"{len(already)} hyperwords are already single tokens, not added: {already[:5]}", "warn")
        old_rows = model.get_input_embeddings().weight.shape[0]
        resize_for(model, tokenizer)
        if vocab.ids:
            defaults = default_rows(model, vocab, old_rows)
            means = [parts_mean_rows(w, vocab) for w in embedding_matrices(model)]
            if measure:
                candidates = {"default": defaults, "parts-mean": means}
                measures["init_comparison"] = compare_inits(job, model, tokenizer, vocab, candidates)
            set_rows(model, vocab, means if job.init == "parts-mean" else defaults)
    seed_all(job.seed)
    try:
        peft_model = get_peft_model(model, lora_config(job, model, vocab))
    except ValueError as exc:
        if "not found in the base model" not in str(exc):
            raise
        raise BridgeError(f"job.lora.target_modules: {exc}", "bad-job") from exc
    return {"model": peft_model, "tokenizer": tokenizer, "vocab": vocab, "measures": measures}


def compare_inits(job: Job, model, tokenizer, vocab: HyperwordVocab, candidates: dict[str, list]) -> dict[str, Any]:
    """Step-0 NLL under each init: held-out texts, and the hyperword tokens in training texts using them."""
    heldout = list(job.heldout_texts[:INIT_SAMPLE_TEXTS])
    with_hw = [t for t in job.train_texts if any(s in t for s in vocab.ids)][:INIT_SAMPLE_TEXTS]
    out: dict[str, Any] = {"heldout_texts": len(heldout), "train_texts_with_hyperwords": len(with_hw), "chosen": job.init}
    for name, rows in candidates.items():
        set_rows(model, vocab, rows)
        h = score_texts(model, tokenizer, heldout, vocab.ids.values())
        t = score_texts(model, tokenizer, with_hw, vocab.ids.values()) if with_hw else None
        out[name] = {
            "heldout_nll_per_token": h["nll_per_token"],
            "heldout_bpb": h["bits_per_byte"],
            "train_hyperword_nll": t["hyperword_nll"] if t else None,
            "train_hyperword_targets": t["hyperword_targets"] if t else 0,
            "train_nll_per_token": t["nll_per_token"] if t else None,
        }
    events.log(
        "init at step 0 (hyperword-token NLL in training texts): "
        + ", ".join(f"{n} {out[n]['train_hyperword_nll']}" for n in candidates)
    )
    return out


def make_optimizer(job: Job, model):
    import torch
    from transformers import get_scheduler

    rows = [p for n, p in trainable_parameters(model).items() if "trainable_tokens_" in n]
    rest = [p for n, p in trainable_parameters(model).items() if "trainable_tokens_" not in n]
    # token rows hold whole embedding rows, not deltas: decay would pull them towards zero
    groups = [{"params": rest, "weight_decay": job.optimizer.weight_decay}]
    if rows:
        groups.append({"params": rows, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(groups, lr=job.optimizer.lr)
    scheduler = get_scheduler(
        SCHEDULES[job.schedule.name], optimizer, num_warmup_steps=job.schedule.warmup_steps, num_training_steps=job.steps
    )
    return optimizer, scheduler


def train(job: Job, stop: StopSignals, rt: Runtime | None = None) -> dict[str, Any]:
    """Train (or resume) and return what the final phase needs (on every process; only the main one
    writes checkpoints and events)."""
    import torch

    rt = rt or make_runtime(job)
    ckdir = checkpoints_dir(job)
    resume_from = None
    if rt.main:
        _clean_partials(ckdir)
        resume_from = latest_checkpoint(ckdir) if job.resume else None
        if job.resume and resume_from is None:
            events.log("resume requested but no checkpoint found; starting from step 0")
        if not job.resume and ckdir.exists():
            events.log(f"resume is false: removing old checkpoints in {ckdir}", "warn")
            shutil.rmtree(ckdir)
    if rt.distributed:
        found = rt.main_value(str(resume_from) if resume_from is not None else None)
        resume_from = Path(found) if found is not None else None
    fingerprint = _fingerprint(job)
    if resume_from is not None:
        saved = json.loads((resume_from / "state.json").read_text("utf-8"))
        if saved.get("fingerprint") != fingerprint:
            raise BridgeError(
                f"{resume_from} was written by a different job (seed, data, LoRA, steps or schedule differ); "
                "rerun with resume false or another out_dir",
                "resume-mismatch",
            )

    t_setup = time.perf_counter()
    built = build(job, quantized=job.qlora, measure=resume_from is None and rt.main, device=rt.device)
    setup_seconds = time.perf_counter() - t_setup
    model, tokenizer, vocab = built["model"], built["tokenizer"], built["vocab"]
    optimizer, scheduler = make_optimizer(job, model)
    blocks = pack_blocks(tokenizer, job.train_texts, job.seq_len)
    order = BatchOrder(len(blocks), job.batch_size, job.seed)
    params = list(trainable_parameters(model).values())
    n_trainable = sum(p.numel() for p in params)
    state: dict[str, Any] = {
        "fingerprint": fingerprint,
        "history": [],
        "train_seconds": 0.0,
        "train_tokens": 0,
        "measures": built["measures"],
        "curve": [],
    }
    if "bpb_base" in built["measures"]:
        state["curve"].append({"step": 0, "bpb": built["measures"]["bpb_base"]["bits_per_byte"]})
    step = 0
    if resume_from is not None:
        state = {**state, **load_checkpoint(resume_from, model, optimizer, scheduler, rt, job.seed)}
        state.pop("rng", None)
        step = int(state["step"])
        events.log(f"resumed from {resume_from} (step {step}/{job.steps})")
    elif rt.rank > 0:
        torch.manual_seed(_rank_seed(job.seed, rt.rank, 0))  # dropout masks of its own
    keep_rng = rt.distributed or rt.device.type == "cuda"  # a plain CPU run keeps the one torch_rng
    events.log(
        f"training {job.steps} steps on {rt.describe()}: {len(blocks)} blocks of {len(blocks[0])} tokens, "
        f"batch {job.batch_size}, {n_trainable} trainable parameters, {len(vocab.ids) if vocab else 0} hyperword tokens"
    )

    forward = rt.prepare(model)
    last_ckpt: Path | None = resume_from
    session_seconds = 0.0
    session_steps = 0
    model.train()
    stop.deferring = True
    events.progress(TASK, step, job.steps, "steps")
    while step < job.steps:
        t0 = time.perf_counter()
        indices = order.indices(step + 1)
        mine = rt.shard(indices)
        batch = torch.tensor([blocks[i] for i in mine], device=rt.device)
        loss = forward(input_ids=batch, labels=batch).loss
        if rt.distributed:
            # DDP averages gradients over processes: weighting each by its share of the batch makes
            # the average the gradient of the whole batch (equal-length blocks, so equal token counts)
            loss = loss * (len(mine) * rt.world / len(indices))
            whole = rt.sum(loss.detach() / rt.world)
        else:
            whole = loss.detach()
        if not torch.isfinite(whole):
            raise BridgeError(f"loss is {float(whole)} at step {step + 1}; lower optimizer.lr", "train-diverged")
        rt.backward(loss)
        if job.optimizer.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, job.optimizer.max_grad_norm)
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        dt = time.perf_counter() - t0
        session_seconds += dt
        session_steps += 1
        tokens = len(indices) * len(blocks[0])
        state["train_seconds"] += dt
        state["train_tokens"] += tokens
        value = float(whole)
        state["history"].append({"step": step, "loss": value, "lr": lr, "tokens": tokens, "seconds": round(dt, 4)})
        eta = session_seconds / session_steps * (job.steps - step)
        events.progress(TASK, step, job.steps, "steps")
        metrics = {
            "kind": "train-step",
            "step": step,
            "total": job.steps,
            "loss": value,
            "lr": lr,
            "tokens": tokens,
            "tokens_per_s": round(tokens / dt, 1),
            "eta_s": round(eta, 1),
        }
        events.emit({"type": "log", "level": "debug", "message": json.dumps(metrics)})
        # read once: a signal arriving later is seen after the next step; the main process decides for all
        stopping = rt.main_says(stop.requested)
        if job.curve_every and step % job.curve_every == 0 and rt.main and not rt.distributed:
            curve_bpb = score_texts(model, tokenizer, job.heldout_texts)["bits_per_byte"]
            state.setdefault("curve", []).append({"step": step, "bpb": curve_bpb})
            events.log(f"step {step}/{job.steps}: held-out bits per byte {curve_bpb:.4f}")
        if step % job.checkpoint_every == 0 or step == job.steps or stopping:
            rank_rng = rt.gather(rt.rng_state()) if keep_rng else None
            if rt.main:
                last_ckpt = save_checkpoint(job, model, optimizer, scheduler, step, state, rank_rng)
                events.checkpoint(str(last_ckpt), step, loss=value)
                events.log(
                    f"step {step}/{job.steps}: loss {value:.4f}, {tokens / dt:.0f} tokens/s, ETA {eta:.0f} s; "
                    f"checkpoint {last_ckpt.name}"
                )
            else:
                last_ckpt = checkpoints_dir(job) / f"step-{step}"
        if stopping:
            events.log(
                f"stopped at step {step}/{job.steps}; checkpoint {last_ckpt}; "
                'rerun the same job with "resume": true to continue'
            )
            raise Cancelled(step, last_ckpt)
    stop.deferring = False
    del optimizer, scheduler, forward
    timings = {"setup_s": round(setup_seconds, 1), "train_session_s": round(session_seconds, 1)}
    return {**built, "state": state, "resumed_from": str(resume_from) if resume_from else None, "timings": timings}


def merged_model(job: Job, trained: dict[str, Any]):
    """LoRA and token rows merged into plain weights (a 4-bit base is rebuilt in float32 first)."""
    import torch
    from peft import get_peft_model_state_dict, set_peft_model_state_dict

    peft_model = trained["model"]
    if job.qlora:
        adapter = get_peft_model_state_dict(peft_model)
        fp32 = build(job, quantized=False, measure=False, device=model_device(peft_model))["model"]
        set_peft_model_state_dict(fp32, adapter)
        peft_model = fp32
    peft_model.eval()
    probe = torch.tensor(
        [[separator_id(trained["tokenizer"])] + encode(trained["tokenizer"], job.heldout_texts[0])[:32]],
        device=model_device(peft_model),
    )
    with torch.no_grad():
        before = peft_model(input_ids=probe).logits
        merged = peft_model.merge_and_unload()
        after = merged(input_ids=probe).logits
    return merged, float((before - after).abs().max())


def save_adapter(job: Job, trained: dict[str, Any]) -> Path:
    dest = job.out_dir / "adapter"
    work = Path(tempfile.mkdtemp(prefix=".adapter.partial-", dir=job.out_dir))
    try:
        with events.redirect_stdout_to_stderr():
            # embeddings are not saved whole: the added rows travel as trainable-token rows
            trained["model"].save_pretrained(str(work), save_embedding_layers=False)
            trained["tokenizer"].save_pretrained(str(work))
        _fsync_tree(work)
        _install_dir(work, dest)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return dest


def _file_table(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        p.name: {"sha256": sha256_file(p), "size": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST
    }


def save_merged(job: Job, model, tokenizer, lineage: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """``out_dir/merged``: safetensors, tokenizer, config and a ``hyperwords-model.json`` like a pulled model's."""
    from transformers import AutoTokenizer

    dest = job.out_dir / "merged"
    work = Path(tempfile.mkdtemp(prefix=".merged.partial-", dir=job.out_dir))
    try:
        with events.redirect_stdout_to_stderr():
            model.save_pretrained(str(work), safe_serialization=True)
            tokenizer.save_pretrained(str(work))
            reloaded = AutoTokenizer.from_pretrained(str(work), local_files_only=True)
        lineage["checks"]["roundtrip"] = roundtrip(reloaded, [*job.train_texts, *job.heldout_texts])
        files = _file_table(work)
        manifest = {
            "schemaVersion": MANIFEST_SCHEMA_VERSION,
            "name": lineage["name"],
            "description": f"{lineage['base']['name']} fine-tuned on hyperwords (LoRA r={job.lora.rank}, {job.steps} steps)",
            "safetensors_sha256": files["model.safetensors"]["sha256"],
            "files": files,
            "sha256": folder_digest(files),
            **lineage,
            "versions": _versions(),
            "created": _now(),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
        _fsync_tree(work)
        _install_dir(work, dest)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return dest, manifest


def _write_json_atomic(path: Path, body: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def run(job: Job, stop: StopSignals, rt: Runtime | None = None) -> dict[str, Any]:
    """The whole job: train or resume, then adapter, merged model, checks, training.json.

    ``rt`` (default: ``make_runtime(job)``) says on which device and in how many processes; the final
    phase is the main process's, the others return after training."""
    import torch

    check_base_dir(job.base_dir)
    if job.qlora:
        check_qlora()
    rt = rt or make_runtime(job)
    if job.threads is not None:
        torch.set_num_threads(job.threads)  # after accelerate, which may set its own count on CPUs
    if rt.main:
        job.out_dir.mkdir(parents=True, exist_ok=True)
        _clean_partials(job.out_dir)

    t_start = time.perf_counter()
    trained = train(job, stop, rt)
    if not rt.main:
        history = trained["state"]["history"]
        return {"rank": rt.rank, "processes": rt.world, "steps": job.steps, "final_loss": history[-1]["loss"]}
    state, tokenizer, vocab, timings = trained["state"], trained["tokenizer"], trained["vocab"], trained["timings"]
    final_task = "finish"
    events.progress(final_task, 0, 4, "steps")
    t_final = time.perf_counter()
    adapter_dir = save_adapter(job, trained)
    events.progress(final_task, 1, 4, "steps")
    merged, merge_diff = merged_model(job, trained)
    hw_ids = list(vocab.ids.values()) if vocab else []
    t_checks = time.perf_counter()
    tuned = score_texts(merged, tokenizer, job.heldout_texts, hw_ids)
    t_emission = time.perf_counter()
    emitted = emission(merged, tokenizer, job.image_prompts, hw_ids, job.gen_tokens)
    t_saved = time.perf_counter()
    timings.update(
        adapter_and_merge_s=round(t_checks - t_final, 1),
        bpb_tuned_s=round(t_emission - t_checks, 1),
        emission_s=round(t_saved - t_emission, 1),
    )
    events.progress(final_task, 2, 4, "steps")

    measures = state["measures"]
    base = measures["bpb_base"]
    docs = list(job.heldout_docs) if job.heldout_docs is not None else list(range(len(job.heldout_texts)))
    heldout_cmp = heldout_stats.compare(
        heldout_stats.per_document(base["per_text_nats"], base["per_text_bytes"], docs),
        heldout_stats.per_document(tuned["per_text_nats"], tuned["per_text_bytes"], docs),
        seed=job.seed,
    )
    heldout_cmp["lines"] = len(job.heldout_texts)
    curve = state.get("curve", [])
    history = state["history"]
    tokens_per_s = state["train_tokens"] / state["train_seconds"] if state["train_seconds"] else 0.0
    base_manifest = _base_manifest(job.base_dir)
    base_name = base_manifest.get("name") or job.base_dir.name
    data = {
        "train_sha256": texts_sha256(job.train_texts),
        "heldout_sha256": texts_sha256(job.heldout_texts),
        "train_texts": len(job.train_texts),
        "heldout_texts": len(job.heldout_texts),
    }
    lineage = {
        "name": job.name or f"{base_name}-ft",
        "base": {
            "name": base_name,
            "dir": str(job.base_dir),
            "sha256": base_manifest.get("sha256"),
            "safetensors_sha256": base_manifest.get("safetensors_sha256"),
        },
        "finetune": {
            "config": {k: v for k, v in job.training_config().items() if k not in ("train_sha256", "heldout_sha256")},
            "data": data,
            "seed": job.seed,
            "steps": job.steps,
            "final_loss": history[-1]["loss"],
            "hyperword_tokens": vocab.ids if vocab else {},
        },
        "checks": {
            "bpb_base": base["bits_per_byte"],
            "bpb_tuned": tuned["bits_per_byte"],
            "emission_rate": emitted["rate"],
            "emission_any": emitted["any"],
            "merge_max_abs_diff": merge_diff,
        },
    }
    merged_dir, manifest = save_merged(job, merged, tokenizer, lineage)
    timings["save_merged_s"] = round(time.perf_counter() - t_saved, 1)
    timings["total_s"] = round(time.perf_counter() - t_start, 1)
    events.progress(final_task, 3, 4, "steps")

    result = {
        "final_loss": history[-1]["loss"],
        "steps": job.steps,
        "bpb_base": base["bits_per_byte"],
        "bpb_tuned": tuned["bits_per_byte"],
        "bpb_ratio": tuned["bits_per_byte"] / base["bits_per_byte"],
        "heldout": heldout_cmp,
        "curve": curve,
        "emission_rate": emitted["rate"],
        "emission_any": emitted["any"],
        "init_comparison": measures.get("init_comparison"),
        "tokens_per_s": round(tokens_per_s, 1),
        "merged_dir": str(merged_dir),
        "adapter_dir": str(adapter_dir),
        "training_json": str(job.out_dir / "training.json"),
        "added_tokens": len(vocab.ids) if vocab else 0,
        "roundtrip": {k: v for k, v in lineage["checks"]["roundtrip"].items() if k != "examples"},
        "merge_max_abs_diff": merge_diff,
        "resumed_from": trained["resumed_from"],
        "peak_rss_mb": _peak_rss_mb(),
        "timings": timings,
        "device": str(rt.device),
        "processes": rt.world,
    }
    training = {
        "schemaVersion": 1,
        **lineage,
        "loss_curve": history,
        "tokens_per_s": result["tokens_per_s"],
        "train_seconds": round(state["train_seconds"], 3),
        "train_tokens": state["train_tokens"],
        "heldout": {"base": base, "tuned": tuned, "by_documents": heldout_cmp},
        "heldout_curve": curve,
        "init_comparison": measures.get("init_comparison"),
        "emission": emitted,
        "roundtrip": lineage["checks"]["roundtrip"],
        "peak_rss_mb": result["peak_rss_mb"],
        "timings": timings,
        "device": str(rt.device),
        "processes": rt.world,
        "merged_sha256": manifest["sha256"],
        "versions": _versions(),
        "created": _now(),
    }
    training_json = job.out_dir / "training.json"
    _write_json_atomic(training_json, training)
    events.progress(final_task, 4, 4, "steps")

    events.artifact("model-dir", str(merged_dir), manifest["sha256"], name=lineage["name"])
    events.artifact("adapter", str(adapter_dir), folder_digest(_file_table(adapter_dir)))
    events.artifact("training-log", str(training_json), sha256_file(training_json))
    rt = result["roundtrip"]
    events.log(
        f"done: loss {history[0]['loss']:.4f} → {result['final_loss']:.4f}, bpb base {result['bpb_base']:.4f} → "
        f"tuned {result['bpb_tuned']:.4f}, emission {result['emission_rate']:.3f}, "
        f"round trip {rt['texts'] - rt['failures']}/{rt['texts']}",
        "info" if rt["failures"] == 0 else "warn",
    )
    return result


def read_job(args) -> Any:
    try:
        text = args.job.read_text("utf-8") if args.job else sys.stdin.readline()
    except OSError as exc:
        raise BridgeError(f"cannot read the job: {exc}", "bad-job") from exc
    if not text.strip():
        raise BridgeError("no job: expected one JSON object on stdin (or --job FILE)", "bad-job")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BridgeError(f"the job is not valid JSON: {exc}", "bad-job") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hyperwords_bridge.finetune", description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", type=Path, help="read the JSON job from this file instead of stdin")
    args = parser.parse_args(argv)
    if _launch_rank() != 0:
        events.set_stream(_Discard())  # only the main process speaks on stdout; logs still go to stderr
    with StopSignals() as stop:
        try:
            job = parse_job(read_job(args))
            with events.redirect_stdout_to_stderr():
                result = run(job, stop)
            events.done(result)
            return 0
        except BridgeError as exc:
            events.error(str(exc), exc.code)
            return 1
        except Cancelled as exc:
            events.error(
                f"interrupted at step {exc.step}; rerun the same job with \"resume\": true to continue",
                "cancelled",
                step=exc.step,
                checkpoint=str(exc.path) if exc.path else None,
            )
            return 130
        except KeyboardInterrupt:
            events.error("interrupted; rerun the same job with \"resume\": true to continue", "cancelled")
            return 130
        except Exception as exc:  # an unexpected failure: the trace goes to stderr for the caller to show
            import traceback

            traceback.print_exc(file=sys.stderr)
            events.error(f"{type(exc).__name__}: {exc}", "internal")
            return 1


if __name__ == "__main__":
    sys.exit(main())
