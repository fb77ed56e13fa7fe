"""Scratch folders for big writes that survive neither Ctrl-C nor a crash.

The TypeScript side stops a worker with SIGTERM (then SIGKILL after a grace period). Python's
default SIGTERM action exits at once, skipping ``finally`` blocks, so a ``TemporaryDirectory``
holding a half-written 1.7 GB graph stayed behind in the model's ``onnx/`` folder.
:func:`sigterm_as_interrupt` makes SIGTERM unwind like Ctrl-C, and :func:`scratch` names its
folder after the process, so the next run removes what a killed one left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Iterator


def sigterm_as_interrupt() -> None:
    """Turn SIGTERM into ``KeyboardInterrupt``, so ``finally`` blocks and temp folders are cleaned up."""

    def on_term(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(folder: Path, kind: str) -> list[Path]:
    """Remove ``.{kind}-{pid}-*`` folders in ``folder`` whose process is gone; returns them."""
    removed = []
    if not folder.is_dir():
        return removed
    for stale in folder.glob(f".{kind}-*"):
        pid = stale.name[len(kind) + 2 :].split("-", 1)[0]
        if pid.isdigit() and pid_alive(int(pid)):
            continue
        shutil.rmtree(stale, ignore_errors=True)
        removed.append(stale)
    return removed


@contextlib.contextmanager
def scratch(folder: Path, kind: str) -> Iterator[Path]:
    """A fresh ``folder/.{kind}-{pid}-XXXX``, removed on exit; leftovers of dead processes go first."""
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale(folder, kind)
    path = Path(tempfile.mkdtemp(prefix=f".{kind}-{os.getpid()}-", dir=folder))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
