"""No orphans: a worker whose parent (the Node host) is killed exits, and cleanup spares live owners.

Real processes throughout: a parent process starts a real worker the way the bridge does (with
``HYPERWORDS_PARENT_PID``), the test kills the parent with SIGKILL and waits for the worker to go.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hyperwords_bridge.training import checkpoints
from hyperwords_bridge.training.checkpoints import clean_partials

ENTRY_POINTS = [
    "hyperwords_bridge.weights",
    "hyperwords_bridge.finetune",
    "hyperwords_bridge.export_onnx",
    "hyperwords_bridge.probe_graph",
    "hyperwords_bridge.embed_graph",
]

# the parent: starts the worker as Bridge.ts does (its pid in HYPERWORDS_PARENT_PID), prints the
# worker's pid, then waits to be killed; the worker's stdin is a pipe the test holds open, so a
# worker blocked on reading its job does not see an end of file when the parent dies
PARENT = textwrap.dedent(
    """
    import os, subprocess, sys, time
    env = dict(os.environ, HYPERWORDS_PARENT_PID=str(os.getpid()), HYPERWORDS_GRACE_SECONDS="3")
    worker = subprocess.Popen([sys.executable, "-m", sys.argv[1]], env=env, stdin=int(sys.argv[2]),
                              stdout=subprocess.DEVNULL)
    print(worker.pid, flush=True)
    time.sleep(600)
    """
)


def gone(pid: int) -> bool:
    """No such process, or only its zombie (reparented to an init that has not reaped it yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_the_worker_exits_when_its_parent_is_killed(tmp_path):
    read_end, write_end = os.pipe()
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, "hyperwords_bridge.finetune", str(read_end)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(read_end,),
        text=True,
    )
    os.close(read_end)
    worker = int(parent.stdout.readline())
    try:
        # the worker is up and waiting for its job on stdin
        time.sleep(1.0)
        assert not gone(worker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while not gone(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gone(worker), f"worker {worker} still runs 10 s after its parent was killed"
    finally:
        os.close(write_end)
        if not gone(worker):
            os.kill(worker, signal.SIGKILL)


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_every_entry_point_refuses_to_run_when_its_parent_is_gone(module):
    """A worker whose parent died while it was starting (imports take seconds) exits at once."""
    env = dict(os.environ, HYPERWORDS_PARENT_PID=str(dead_pid()))
    r = subprocess.run(
        [sys.executable, "-m", module, "--help"], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode != 0, r.stdout
    assert "parent process" in r.stderr and "is gone" in r.stderr, r.stderr


def test_a_worker_started_by_hand_keeps_running_without_a_parent_pid():
    """Outside the bridge (no HYPERWORDS_PARENT_PID) nothing changes: ``--help`` works."""
    env = {k: v for k, v in os.environ.items() if k != "HYPERWORDS_PARENT_PID"}
    r = subprocess.run(
        [sys.executable, "-m", "hyperwords_bridge.weights", "--help"], env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr


def test_cleanup_spares_partials_of_a_live_process_and_removes_those_of_a_dead_one(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = dead_pid()
    try:
        names = {
            "live step": f".step-40.partial-{live.pid}.k2j9x0ab",
            "live merged": f".merged.partial-{live.pid}.aaaa1111",
            "live old": f".step-30.old-{live.pid}",
            "live json": f".training.json.partial-{live.pid}",
            "dead step": f".step-20.partial-{dead}.zz81qq0c",
            "dead adapter": f".adapter.partial-{dead}.abcd0000",
            "dead old": f".step-10.old-{dead}",
            "dead json": f".training.json.partial-{dead}",
            # written before partials carried their pid: nobody can own them any more
            "legacy": ".step-5.partial-x8_q2mzp",
        }
        for key, name in names.items():
            if key.endswith("json"):
                (tmp_path / name).write_text("{}")
            else:
                (tmp_path / name).mkdir()
                (tmp_path / name / "trainable.safetensors").write_bytes(b"0" * 100)
        clean_partials(tmp_path)
        left = {p.name for p in tmp_path.iterdir()}
        assert left == {v for k, v in names.items() if k.startswith("live")}

        # the folders the trainer writes carry its pid, so a second run leaves them alone
        mine = checkpoints.partial_dir(tmp_path, "step-50")
        assert mine.name.startswith(f".step-50.partial-{os.getpid()}.")
        clean_partials(tmp_path)
        assert mine.is_dir()
    finally:
        live.kill()
        live.wait()
