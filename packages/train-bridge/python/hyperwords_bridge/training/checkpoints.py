"""Checkpoints: written atomically, found again, and loaded with optimizer, scheduler and RNG state."""

from __future__ import annotations

import datetime as _dt
import json
import os
import random
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any


from ..events import BridgeError
from ..scratch import pid_alive
from .job import Job
from .runtime import Runtime, rank_seed


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


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


def fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file():
            os.chmod(path, 0o644)  # the folder is shared with Node readers
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    os.chmod(folder, 0o755)


def install_dir(work: Path, dest: Path) -> None:
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


OWNER = re.compile(r"\.(?:partial|old)-(\d+)(?:\.|$)")


def partial_dir(folder: Path, name: str) -> Path:
    """A fresh ``folder/.{name}.partial-{pid}.XXXX`` to write ``name`` in before it is installed.

    The pid says who owns it: :func:`clean_partials` of a later run leaves it alone while this
    process lives (a worker orphaned by a killed host may still be writing)."""
    return Path(tempfile.mkdtemp(prefix=f".{name}.partial-{os.getpid()}.", dir=folder))


def clean_partials(folder: Path) -> None:
    """Remove what an interrupted or killed worker left half-written (never visible under a final name).

    Only what a dead process left: a ``.partial-{pid}`` or ``.old-{pid}`` entry whose process
    still runs is skipped (as in ``weights.py``); one without a pid (older versions) is removed."""
    if folder.is_dir():
        for stale in [*folder.glob(".*.partial-*"), *folder.glob(".*.old-*")]:
            owner = OWNER.search(stale.name)
            if owner and pid_alive(int(owner.group(1))):
                continue
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
    work = partial_dir(folder, f"step-{step}")
    try:
        tensors = {n: p.detach().to("cpu").contiguous().clone() for n, p in trainable_parameters(model).items()}
        save_file(tensors, str(work / "trainable.safetensors"))
        optim = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state()}
        if rank_rng is not None:
            optim["rank_rng"] = rank_rng
        torch.save(optim, work / "optim.pt")
        body = {**state, "step": step, "rng": _rng_state(), "written": utc_now()}
        (work / "state.json").write_text(json.dumps(body, ensure_ascii=False) + "\n", "utf-8")
        fsync_tree(work)
        dest = folder / f"step-{step}"
        install_dir(work, dest)
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
            torch.manual_seed(rank_seed(seed, rt.rank, int(state["step"])))
    return state
