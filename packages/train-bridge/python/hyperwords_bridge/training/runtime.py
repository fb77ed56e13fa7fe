"""Stopping on a signal, and where the job runs: device, processes and their collective operations."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path
from typing import Any


from .. import events
from ..events import BridgeError
from .job import Job


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


def launch_rank() -> int:
    """This process's global rank as the launcher set it (0 when not launched), before any setup."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


class DiscardStream:
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


def rank_seed(seed: int, rank: int, step: int) -> int:
    """Dropout seed of a process > 0 that has no saved RNG state (a fresh start, or another process count)."""
    blob = hashlib.sha256(f"{seed}:{rank}:{step}".encode()).digest()
    return int.from_bytes(blob[:8], "little") & ((1 << 63) - 1)
