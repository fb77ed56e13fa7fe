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
    superwords       bool = false     each surface is a span of running text (" warm purring lap", spaces
                                      allowed): an added token the tokenizer finds in plain text, its row
                                      starting as the mean of the span's own base pieces
    init             "parts-mean" | "default" = "parts-mean"   ("default": transformers' mean-resizing)
    lora             {"rank": int = 8, "alpha": number = 16, "dropout": number = 0.05,
                      "target_modules": list[str] | "all-linear" = ["q_proj","k_proj","v_proj","o_proj"]}
    qlora            bool = false     bitsandbytes 4-bit base; fails with `qlora-unavailable` without it
    optimizer        {"name": "adamw", "lr": number = 2e-4, "weight_decay": number = 0.0,
                      "max_grad_norm": number = 1.0, "token_lr": number | null = null}
                     (token rows never get weight decay; they learn at token_lr, null: lr)
    schedule         {"name": "linear" | "cosine" | "constant" = "linear", "warmup_steps": int = 0}
    batch_size       int = 4;  seq_len int = 128;  seed int = 0
    checkpoint_every int = 50;  keep_checkpoints int = 3 (newest kept);  resume bool = false
    image_prompts    list[str] = 4 built-in RU/EN prompts;  gen_tokens int = 24
    emission_mode    "greedy" | "sampled" = "greedy";  emission_samples int = 1 (draws per prompt, sampled)
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
The emission rate is the share of generated tokens (``gen_tokens`` per image prompt, up to EOS) that
are added hyperword tokens; ``emission_any`` is the share of generations with at least one. Greedy by
default; ``emission_mode: "sampled"`` draws ``emission_samples`` continuations per prompt at
temperature 1, seeded by ``seed`` (a token the model gives 30% is written about 30% of the time when
sampled, and never when greedy if another token has more).

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
import json
import sys
from pathlib import Path
from typing import Any

from . import events
from .events import BridgeError
from .training.job import parse_job
from .training.runtime import Cancelled, DiscardStream, StopSignals, launch_rank
from .training.save import run


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
    events.die_with_parent()  # a killed host leaves no worker behind
    parser = argparse.ArgumentParser(prog="python -m hyperwords_bridge.finetune", description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", type=Path, help="read the JSON job from this file instead of stdin")
    args = parser.parse_args(argv)
    if launch_rank() != 0:
        events.set_stream(DiscardStream())  # only the main process speaks on stdout; logs still go to stderr
    with StopSignals() as stop:

        def work() -> dict:
            job = parse_job(read_job(args))
            with events.redirect_stdout_to_stderr():
                return run(job, stop)

        def cancelled(exc: Exception) -> int | None:
            if not isinstance(exc, Cancelled):
                return None
            events.error(
                f"interrupted at step {exc.step}; rerun the same job with \"resume\": true to continue",
                "cancelled",
                step=exc.step,
                checkpoint=str(exc.path) if exc.path else None,
            )
            return 130

        return events.run_main(
            work, interrupted="interrupted; rerun the same job with \"resume\": true to continue", handle=cancelled
        )


if __name__ == "__main__":
    sys.exit(main())
