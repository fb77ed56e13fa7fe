"""The fine-tune job: its fields, parsed and checked, with every error naming the field (see ``hyperwords_bridge.finetune`` for the format)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable


from ..events import BridgeError
from .data import texts_sha256


DEFAULT_IMAGE_PROMPTS = (
    "Опиши образ одним словом:",
    "Тёплый вечер, кошка у окна —",
    "Describe the image in one word:",
    "A warm evening, a cat by the window —",
)
DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")
DEVICES = ("auto", "cpu", "cuda")
SCHEDULES = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}

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
    # the added token rows' own rate (None: ``lr``); whole rows learn slower than LoRA deltas at one rate
    token_lr: float | None = None


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
    superwords: bool = False
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
    # "greedy": one deterministic continuation per prompt; "sampled": ``emission_samples`` draws per
    # prompt at temperature 1 (no top-k/top-p), seeded by ``seed`` — a calibrated model writes an added
    # token at about its rate in text, which greedy decoding hides whenever the token is never the argmax
    emission_mode: str = "greedy"
    emission_samples: int = 1
    name: str | None = None
    threads: int | None = None
    device: str = "auto"
    accelerate: bool = False

    def training_config(self) -> dict[str, Any]:
        """What decides the training trajectory (hashed to match checkpoints on resume)."""
        return {
            "base_dir": str(self.base_dir),
            "add_tokens": self.add_tokens,
            "superwords": self.superwords,
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

    superwords = _bool(top.get("superwords", False), "superwords")
    if not isinstance(top["hyperwords"], list):
        raise _bad("hyperwords", "expected a list of {surface, parts}")
    hyperwords: list[Hyperword] = []
    for i, h in enumerate(top["hyperwords"]):
        if not isinstance(h, dict):
            raise _bad(f"hyperwords[{i}]", "expected an object {surface, parts}")
        surface = _str(h.get("surface"), f"hyperwords[{i}].surface")
        if superwords and not surface.strip():
            raise _bad(f"hyperwords[{i}].surface", "a superword spans words, not whitespace alone")
        if not superwords and re.search(r"\s", surface):
            raise _bad(f"hyperwords[{i}].surface", f"contains whitespace: {surface!r} (spans of words are superwords: true)")
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
        token_lr=(
            _num(opt_raw["token_lr"], "optimizer.token_lr", 0, lo_open=True)
            if opt_raw.get("token_lr") is not None
            else None
        ),
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
        superwords=superwords,
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
        emission_mode=_str(top.get("emission_mode", "greedy"), "emission_mode", ["greedy", "sampled"]),
        emission_samples=_int(top.get("emission_samples", 1), "emission_samples", 1),
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
