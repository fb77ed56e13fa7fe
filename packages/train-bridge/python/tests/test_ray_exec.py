"""Bridge workers on a real Ray cluster, started by these tests on loopback and stopped after them:
the same output as a local run, a killed Ray worker retried with resume, a cancelled run, two jobs at once."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import sys
import tempfile
import time
from pathlib import Path

import pytest

from hyperwords_bridge import ray_exec

from .finetune_fixtures import PYTHON_DIR, make_job

RAY = Path(sys.executable).parent / "ray"
ENV = {
    **{k: v for k, v in os.environ.items() if k not in ("HYPERWORDS_PARENT_PID", "HYPERWORDS_GRACE_SECONDS")},
    "OMP_NUM_THREADS": "1",
    "PYTHONUNBUFFERED": "1",
    "HF_HUB_OFFLINE": "1",
}
# the head's wait for a Ray Client session process; Ray's 30 s is too short beside other tests
HEAD_ENV = {**ENV, "RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S": "180"}


# ---------------------------------------------------------------------------- without a cluster


def test_a_retry_sends_the_job_with_resume():
    assert json.loads(ray_exec.with_resume('{"steps": 3, "resume": false}\n')) == {"steps": 3, "resume": True}
    assert ray_exec.with_resume("") == ""  # a worker without a JSON job is sent as it was
    assert ray_exec.with_resume("[1]\n") == "[1]\n"


def test_only_the_bridges_settings_travel_to_a_node():
    env = {
        "HYPERWORDS_THREADS": "2",
        "HYPERWORDS_PARENT_PID": "1",
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "PATH": "/here/only",
        "HOME": "/root",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": "/fixtures",
    }
    assert ray_exec.forwarded_env(env) == {
        "HYPERWORDS_THREADS": "2",
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    assert ray_exec.forwarded_env(env, names=["PYTHONPATH"])["PYTHONPATH"] == "/fixtures"


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(SystemExit, match="MODULE"):
        ray_exec.parse(["--address", "x:1"])
    with pytest.raises(SystemExit, match="name the worker module"):
        ray_exec.parse(["--address", "x:1", "--"])
    with pytest.raises(SystemExit, match="must not be negative"):
        ray_exec.parse(["--address", "x:1", "--cpus", "-1", "--", "m"])
    opts, module, args = ray_exec.parse(["--address", "x:1", "--gpus", "1", "--resume-on-retry", "--", "m", "-v"])
    assert (opts.gpus, opts.resume_on_retry, module, args) == (1.0, True, "m", ["-v"])


def test_several_processes_run_under_accelerate_behind_the_guard():
    env = {"OMP_NUM_THREADS": "2", "WORLD_SIZE": "8", "RANK": "3", "MASTER_PORT": "1"}
    cmd = ray_exec.launch_command({"processes": 2, "module": "m", "args": ["-v"]}, "/t/job.json", env)
    assert cmd[1:3] == ["-m", "hyperwords_bridge.launch_guard"] and cmd[4:6] == ["-m", "accelerate.commands.launch"]
    joined = " ".join(cmd)
    assert "--num_processes 2" in joined and "--multi_gpu" in joined and "--num_cpu_threads_per_process 2" in joined
    assert joined.endswith("-m m -v --job /t/job.json")
    assert not {"WORLD_SIZE", "RANK", "MASTER_PORT"} & set(env), "a node's launcher variables would mislead torchrun"
    with pytest.raises(SystemExit, match="--processes"):
        ray_exec.parse(["--address", "x:1", "--processes", "0", "--", "m"])


def test_the_guard_names_itself_the_parent_of_what_it_runs(tmp_path):
    """The launched program keeps the guard's pid and sees itself as the parent to watch."""
    script = "import os; print(os.getpid(), os.environ['HYPERWORDS_PARENT_PID'], os.environ['HYPERWORDS_GRACE_SECONDS'])"
    guard = subprocess.Popen(
        [sys.executable, "-m", "hyperwords_bridge.launch_guard", sys.executable, "-c", script],
        cwd=PYTHON_DIR, env={**ENV, "HYPERWORDS_PARENT_PID": str(os.getpid()), "HYPERWORDS_GRACE_SECONDS": "7"},
        stdout=subprocess.PIPE, text=True,
    )
    out, _ = guard.communicate(timeout=60)
    pid, parent, grace = out.split()
    assert guard.returncode == 0 and int(pid) == guard.pid and parent == pid and grace == "7"


# ---------------------------------------------------------------------------- a local cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpus(address: str) -> float:
    """The cluster's free CPUs, asked by a driver of its own."""
    out = subprocess.run(
        [sys.executable, "-c", f"import ray; ray.init(address={address!r}, logging_level='ERROR'); "
         "print(ray.available_resources().get('CPU', 0))"],
        capture_output=True, text=True, timeout=120, env=ENV,
    )
    return float(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 and out.stdout.strip() else -1.0


@pytest.fixture(scope="module")
def cluster():
    """A head node with 2 CPUs on loopback, in a process group of its own (killed as one at the end)."""
    port, client_port = _free_port(), _free_port()
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's socket paths must stay short
    proc = subprocess.Popen(
        [str(RAY), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
         f"--ray-client-server-port={client_port}", "--num-cpus=2", "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats",
         "--object-store-memory=80000000", f"--temp-dir={temp}"],
        env=HEAD_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while _cpus(address) != 2.0:
            assert proc.poll() is None, "ray start --head ended"
            assert time.monotonic() < deadline, "the Ray head did not come up in 120 s"
            time.sleep(1)
        yield address, f"ray://127.0.0.1:{client_port}"
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(3)
        subprocess.run(["pkill", "-9", "-f", temp], check=False)
        shutil.rmtree(temp, ignore_errors=True)


def _start(address: str, job: dict, *opts: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hyperwords_bridge.ray_exec", "--address", address, "--cpus", "1", *opts,
         "--", "hyperwords_bridge.finetune"],
        cwd=PYTHON_DIR, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    proc.stdin.write(json.dumps(job) + "\n")
    proc.stdin.close()
    # the driver relays the worker's stderr (a log line per step): read as it comes, else a full pipe
    # stops the driver mid-write, its events stop, and a test waiting for one waits forever
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    proc.stderr_lines, proc.stderr_reader = lines, reader  # type: ignore[attr-defined]
    return proc


def _stderr(proc: subprocess.Popen) -> str:
    """What the driver wrote on stderr (all of it once the driver has exited)."""
    proc.stderr_reader.join(timeout=10)  # type: ignore[attr-defined]
    return "".join(proc.stderr_lines)  # type: ignore[attr-defined]


def _events(proc: subprocess.Popen, until=None) -> list[dict]:
    got = []
    for line in proc.stdout:
        got.append({**json.loads(line), "_at": time.monotonic()})
        if until is not None and until(got[-1]):
            break
    return got


def _local(job: dict) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "hyperwords_bridge.finetune"], input=json.dumps(job) + "\n",
        cwd=PYTHON_DIR, env=ENV, capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return [json.loads(line) for line in out.stdout.splitlines()]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _task_pid(got: list[dict]) -> int:
    start = next(e for e in got if e["type"] == "log" and "task process" in e["message"])
    return int(re.search(r"task process (\d+)", start["message"]).group(1))


@pytest.mark.parametrize("through", ["gcs", "client"])
def test_a_job_on_the_cluster_writes_what_a_local_run_writes(cluster, through, tied_base, tmp_path):
    local = _local(make_job(tied_base, tmp_path / "local", steps=6))
    proc = _start(cluster[0] if through == "gcs" else cluster[1], make_job(tied_base, tmp_path / "ray", steps=6))
    got = _events(proc)
    assert proc.wait(timeout=60) == 0, _stderr(proc)[-2000:]
    assert got[-1]["type"] == "done"
    # the same events, the Ray driver's own log line aside
    kinds = [e["type"] for e in got if not (e["type"] == "log" and "on the Ray cluster" in e["message"])]
    assert kinds == [e["type"] for e in local]
    a, b = local[-1]["result"], got[-1]["result"]
    assert a["final_loss"] == b["final_loss"] and a["bpb_tuned"] == b["bpb_tuned"]
    for name in ("adapter/adapter_model.safetensors", "merged/model.safetensors"):
        assert _sha(tmp_path / "local" / name) == _sha(tmp_path / "ray" / name), name


def test_resources_reach_the_task_and_an_impossible_request_is_refused(cluster, tied_base, tmp_path):
    proc = _start(cluster[0], make_job(tied_base, tmp_path / "two", steps=2), "--cpus", "2")
    got = _events(proc)
    assert proc.wait(timeout=120) == 0
    assert any("holding CPU 2" in e.get("message", "") for e in got)
    proc = _start(cluster[0], make_job(tied_base, tmp_path / "gpu", steps=2), "--gpus", "1")
    got = _events(proc)
    assert proc.wait(timeout=120) == 1
    assert got[-1]["code"] == "ray-resources" and "1 GPU (the cluster has 0)" in got[-1]["message"]


def test_a_job_of_two_processes_trains_one_model_under_accelerate(cluster, tied_base, tmp_path):
    """--processes 2 (what a fine-tune on 2 GPUs asks for): accelerate launch with gloo on this CPU
    cluster; the two processes share each step's batch, so without dropout the loss is a plain run's."""
    lora = {"rank": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
    plain = _local(make_job(tied_base, tmp_path / "plain", steps=4, lora=lora))
    proc = _start(cluster[0], make_job(tied_base, tmp_path / "ddp", steps=4, lora=lora), "--cpus", "2", "--processes", "2")
    got = _events(proc)
    assert proc.wait(timeout=300) == 0, _stderr(proc)[-3000:]
    assert any("holding CPU 2" in e.get("message", "") for e in got)
    a, b = plain[-1]["result"], got[-1]["result"]
    assert got[-1]["type"] == "done" and (b["processes"], b["device"]) == (2, "cpu") and a["processes"] == 1
    assert b["steps"] == 4 and math.isclose(a["final_loss"], b["final_loss"], rel_tol=1e-4), (a["final_loss"], b["final_loss"])
    assert (tmp_path / "ddp" / "merged" / "model.safetensors").exists()


def test_a_killed_ray_worker_is_submitted_again_and_resumes(cluster, tied_base, tmp_path):
    job = make_job(tied_base, tmp_path / "out", steps=120, checkpoint_every=2, seq_len=8)
    proc = _start(cluster[0], job, "--resume-on-retry", "--lock", str(tmp_path / "out.lock"))
    try:
        got = _events(proc, until=lambda e: e["type"] == "checkpoint")
        os.kill(_task_pid(got), signal.SIGKILL)  # the Ray worker process running the task, not the driver
        got += _events(proc)
        assert proc.wait(timeout=120) == 0, _stderr(proc)[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert any(e["type"] == "log" and "submitting again" in e["message"] for e in got)
    result = got[-1]["result"]
    assert got[-1]["type"] == "done" and result["steps"] == 120
    assert result["resumed_from"] is not None and "step-" in result["resumed_from"]
    training = json.loads((tmp_path / "out" / "training.json").read_text())
    assert training["finetune"]["steps"] == 120 and training["loss_curve"][-1]["step"] == 120


def test_cancelling_the_driver_stops_the_job_on_the_cluster(cluster, tied_base, tmp_path):
    job = make_job(tied_base, tmp_path / "out", steps=4000, checkpoint_every=2, seq_len=8)
    proc = _start(cluster[0], job, "--grace", "20")
    try:
        got = _events(proc, until=lambda e: e["type"] == "checkpoint")
        start = next(e for e in got if "task process" in e.get("message", ""))["message"]
        worker = int(re.search(r"worker (\d+)", start).group(1))
        proc.send_signal(signal.SIGTERM)  # what the TypeScript bridge sends on Ctrl-C
        got += _events(proc)
        assert proc.wait(timeout=60) == ray_exec.EXIT_CANCELLED
    finally:
        if proc.poll() is None:
            proc.kill()
    assert got[-1]["type"] == "error" and got[-1]["code"] == "cancelled"
    deadline = time.monotonic() + 30
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not Path(f"/proc/{worker}").exists(), "the worker on the cluster still runs"
    assert any((tmp_path / "out" / "checkpoints").glob("step-*"))  # it stopped as on Ctrl-C, resumable
    deadline = time.monotonic() + 60
    while _cpus(cluster[0]) != 2.0:
        assert time.monotonic() < deadline, "the cancelled task still holds its CPU"
        time.sleep(1)


def test_two_jobs_run_at_once(cluster, tied_base, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    procs = [_start(cluster[0], make_job(tied_base, tmp_path / f"out{i}", steps=150, seq_len=8)) for i in range(2)]
    with ThreadPoolExecutor(2) as pool:  # both read as they write: the times are when each line came
        runs = list(pool.map(_events, procs))
    spans = []
    for proc, got in zip(procs, runs):
        assert proc.wait(timeout=300) == 0, _stderr(proc)[-2000:]
        started = next(e["_at"] for e in got if e["type"] == "log" and "on the Ray cluster" in e["message"])
        spans.append((started, got[-1]["_at"]))
    (a0, a1), (b0, b1) = spans
    assert max(a0, b0) < min(a1, b1), f"the two jobs ran one after the other: {spans}"


def test_artifact_events_are_told_apart_by_their_type():
    assert ray_exec._is_artifact('{"type": "artifact", "kind": "adapter", "path": "p", "sha256": "s"}')
    assert not ray_exec._is_artifact('{"type":"log","level":"info","message":"\\"type\\":\\"artifact\\""}')
    assert not ray_exec._is_artifact("[1]") and not ray_exec._is_artifact("not json")


def _session_failure() -> ConnectionAbortedError:
    # what ray.init raises when the head does not start a Ray Client session in time
    return ConnectionAbortedError("Initialization failure from server:\nTraceback (most recent call last): ...")


def test_a_client_session_that_did_not_start_is_tried_again():
    calls = []

    def init():
        calls.append(1)
        if len(calls) < 3:
            raise _session_failure()
        return "connected"

    assert ray_exec.connect(init, attempts=3, pause_s=0) == "connected" and len(calls) == 3


def test_other_connection_failures_and_the_last_attempt_are_raised():
    calls = []

    def refused():
        calls.append(1)
        raise ConnectionError("Failed to connect to GCS")

    with pytest.raises(ConnectionError):
        ray_exec.connect(refused, attempts=3, pause_s=0)
    assert len(calls) == 1
    calls.clear()

    def never():
        calls.append(1)
        raise _session_failure()

    with pytest.raises(ConnectionAbortedError):
        ray_exec.connect(never, attempts=2, pause_s=0)
    assert len(calls) == 2


def test_the_unreachable_message_names_the_cause():
    slow = ray_exec.unreachable_message("ray://h:1", _session_failure())
    assert "ray://h:1" in slow and "RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S" in slow and "\n" not in slow
    absent = ray_exec.unreachable_message("h:1", ConnectionError("Failed to connect to GCS"))
    assert "ray start --head" in absent and "Failed to connect to GCS" in absent
