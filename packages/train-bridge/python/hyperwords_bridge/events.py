"""NDJSON events the bridge worker writes on stdout for the TypeScript side.

One JSON object per line, flushed at once. Every event has a ``type``:
``progress``, ``log``, ``checkpoint``, ``artifact``, ``error`` or ``done``.
Human-readable logs go to stderr; stdout carries events only, so a worker
must never print anything else there (use :func:`redirect_stdout_to_stderr`
around noisy libraries).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterator, Literal, TextIO

Level = Literal["debug", "info", "warn"]

_lock = threading.Lock()
_stream: TextIO = sys.stdout


def set_stream(stream: TextIO) -> None:
    """Send events to ``stream`` instead of the process's real stdout (tests)."""
    global _stream
    _stream = stream


def emit(event: dict[str, Any]) -> None:
    """Write one event as a single NDJSON line and flush it."""
    line = json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    with _lock:
        _stream.write(line + "\n")
        _stream.flush()


def progress(task: str, done: int, total: int | None, unit: str = "bytes") -> None:
    """Report how far ``task`` has come; ``total`` is ``None`` when unknown."""
    emit({"type": "progress", "task": task, "done": done, "total": total, "unit": unit})


def log(message: str, level: Level = "info") -> None:
    """A log line for the user: an event on stdout and the same text on stderr."""
    print(f"[{level}] {message}", file=sys.stderr, flush=True)
    emit({"type": "log", "level": level, "message": message})


def checkpoint(path: str, step: int, **extra: Any) -> None:
    """A resumable training checkpoint was written at ``path``."""
    emit({"type": "checkpoint", "path": path, "step": step, **extra})


def artifact(kind: str, path: str, sha256: str, **extra: Any) -> None:
    """A finished output the caller may pick up (e.g. ``kind="model-dir"``)."""
    emit({"type": "artifact", "kind": kind, "path": path, "sha256": sha256, **extra})


def error(message: str, code: str, **extra: Any) -> None:
    """An expected failure, with a stable machine-readable ``code``."""
    print(f"[error] {message}", file=sys.stderr, flush=True)
    emit({"type": "error", "message": message, "code": code, **extra})


def done(result: dict[str, Any]) -> None:
    """The job finished; ``result`` is its JSON summary. Always the last event."""
    emit({"type": "done", "result": result})


class Throttle:
    """Emits ``progress`` at most every ``interval`` seconds (and always at the end)."""

    def __init__(self, task: str, total: int | None, unit: str = "bytes", interval: float = 0.5):
        self.task, self.total, self.unit, self.interval = task, total, unit, interval
        self.done = 0
        self._last = 0.0

    def start(self) -> "Throttle":
        progress(self.task, 0, self.total, self.unit)
        self._last = time.monotonic()
        return self

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            progress(self.task, self.done, self.total, self.unit)

    def finish(self) -> None:
        progress(self.task, self.done, self.total if self.total is not None else self.done, self.unit)


class BridgeError(Exception):
    """A failure to report as an ``error`` event with ``code`` (no stack trace for the user)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def run_main(
    work: Callable[[], dict[str, Any]],
    *,
    interrupted: str = "interrupted",
    unexpected: str = "internal",
    bad_model_dir: bool = False,
    handle: Callable[[Exception], int | None] | None = None,
) -> int:
    """A worker's body as its process, returning the exit code: ``done`` with what ``work`` returns
    (0); a :class:`BridgeError` as an ``error`` event with its code (1); Ctrl-C or SIGTERM (see
    ``scratch.sigterm_as_interrupt``) as ``cancelled`` with the ``interrupted`` message (130); with
    ``bad_model_dir``, a ``SystemExit`` from a model-folder check as ``bad-model-dir`` (2). ``handle``
    sees any other exception first and returns an exit code when it reported it; else the error is
    ``unexpected``, with its trace on stderr for the caller to show (1)."""
    try:
        result = work()
    except BridgeError as exc:
        error(str(exc), exc.code)
        return 1
    except KeyboardInterrupt:
        error(interrupted, "cancelled")
        return 130
    except SystemExit as exc:
        if not bad_model_dir or exc.code in (0, None):
            raise
        error(str(exc), "bad-model-dir")
        return 2
    except Exception as exc:  # noqa: BLE001 - every failure becomes an error event
        code = handle(exc) if handle is not None else None
        if code is not None:
            return code
        import traceback

        traceback.print_exc(file=sys.stderr)
        error(f"{type(exc).__name__}: {exc}", unexpected)
        return 1
    done(result)
    return 0


@contextlib.contextmanager
def redirect_stdout_to_stderr() -> Iterator[None]:
    """Keep libraries that print (tqdm, transformers) from corrupting the event stream."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


PARENT_PID_VAR = "HYPERWORDS_PARENT_PID"
GRACE_VAR = "HYPERWORDS_GRACE_SECONDS"


def _parent_death_signal(sig: int) -> bool:
    """Ask Linux to send ``sig`` when the parent dies (prctl PR_SET_PDEATHSIG); False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, int(sig), 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def die_with_parent() -> None:
    """End this worker when the process that started it dies (``kill -9`` of the Node host).

    The first line of every worker's ``main``. Active when the bridge started the worker, which
    passes its pid in ``HYPERWORDS_PARENT_PID`` and the grace it would give in
    ``HYPERWORDS_GRACE_SECONDS``; a worker run by hand (or under ``nohup``) is left alone. The parent's
    death sends SIGTERM (on Linux through PR_SET_PDEATHSIG at once; elsewhere a thread sees the
    parent pid change within a quarter second), so the worker unwinds as on Ctrl-C: temp folders
    removed, a trainer stops after its step with a checkpoint. If it has not ended after the grace,
    it is ended hard; the next run removes what it left (its partial folders carry its pid).
    A parent that died while the worker was still importing is caught at once."""
    value = os.environ.pop(PARENT_PID_VAR, None)  # not for the worker's own children
    grace_text = os.environ.pop(GRACE_VAR, None)
    if not value or not value.isdigit():
        return
    parent = int(value)
    try:
        grace = float(grace_text) if grace_text else 10.0
    except ValueError:
        grace = 10.0
    by_kernel = _parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:
        print(f"[error] the parent process {parent} is gone; exiting", file=sys.stderr, flush=True)
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.25)
        print(f"[warn] the parent process {parent} is gone; stopping", file=sys.stderr, flush=True)
        if not by_kernel:
            os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
        print(f"[error] still running {grace:g} s after the parent died; exiting now", file=sys.stderr, flush=True)
        os._exit(137)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
