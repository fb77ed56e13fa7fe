"""Scratch folders: removed on SIGTERM (how the TypeScript side stops a worker), and after a kill by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from hyperwords_bridge.scratch import remove_stale, scratch

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from hyperwords_bridge.scratch import scratch, sigterm_as_interrupt
    if sys.argv[2] == "handled":
        sigterm_as_interrupt()
    try:
        with scratch(Path(sys.argv[1]), "export") as tmp:
            (tmp / "model.onnx").write_bytes(b"0" * 100_000)
            print(tmp, flush=True)
            time.sleep(60)
    except KeyboardInterrupt:
        sys.exit(130)
    """
)


def _start(folder: Path, mode: str) -> tuple[subprocess.Popen, Path]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder), mode],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    line = child.stdout.readline().strip()
    return child, Path(line)


def test_sigterm_removes_the_scratch_folder(tmp_path):
    child, tmp = _start(tmp_path, "handled")
    assert tmp.is_dir() and tmp.name.startswith(f".export-{child.pid}-")
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 130
    assert not tmp.exists()


def test_a_killed_run_leaves_its_folder_and_the_next_run_removes_it(tmp_path):
    child, tmp = _start(tmp_path, "unhandled")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert tmp.is_dir()  # SIGKILL skips every cleanup
    with scratch(tmp_path, "export") as mine:
        assert not tmp.exists()
        assert mine.is_dir()
    assert not mine.exists()


def test_folders_of_live_processes_and_other_kinds_stay(tmp_path):
    live = tmp_path / f".export-{os.getpid()}-abc"
    legacy = tmp_path / ".export-k2j3h4"  # before folders carried the process id
    other = tmp_path / ".probe-1-abc"
    for d in (live, legacy, other):
        d.mkdir()
    assert remove_stale(tmp_path, "export") == [legacy]
    assert live.is_dir() and other.is_dir()
