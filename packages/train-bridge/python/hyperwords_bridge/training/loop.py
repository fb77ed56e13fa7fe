"""The training loop: the base loaded, tokens added, the PEFT model built, trained or resumed from a checkpoint."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from pathlib import Path
from typing import Any


from .. import events
from ..events import BridgeError
from .checkpoints import clean_partials, checkpoints_dir, latest_checkpoint, load_checkpoint, save_checkpoint, trainable_parameters
from .data import BatchOrder, pack_blocks
from .job import Job, SCHEDULES
from . import sparse_tokens
from .measure import score_texts
from .runtime import Cancelled, Runtime, StopSignals, rank_seed, make_runtime
from .vocab import HyperwordVocab, add_hyperword_tokens, default_rows, embedding_matrices, parts_mean_rows, resize_for, set_rows


TASK = "train"
INIT_SAMPLE_TEXTS = 64  # texts per side for the step-0 init comparison


def seed_all(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _fingerprint(job: Job) -> str:
    blob = json.dumps(job.training_config(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


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
        vocab = add_hyperword_tokens(tokenizer, job.hyperwords, job.superwords)
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
    if vocab is not None and vocab.ids and sparse_tokens.install():
        events.log("added tokens train through the sparse trainable-tokens forward (no full vocabulary copy per step)")
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
        token_lr = job.optimizer.token_lr if job.optimizer.token_lr is not None else job.optimizer.lr
        groups.append({"params": rows, "weight_decay": 0.0, "lr": token_lr})
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
        clean_partials(ckdir)
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
        torch.manual_seed(rank_seed(job.seed, rt.rank, 0))  # dropout masks of its own
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
