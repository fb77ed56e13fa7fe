"""Run one bridge worker on a Ray cluster instead of on this machine.

    python -m hyperwords_bridge.ray_exec --address HOST:PORT [--cpus N] [--gpus N] [--memory BYTES]
        [--processes N] [--retries N] [--resume-on-retry] [--lock PATH] [--grace SECONDS] [--cwd DIR] [--env NAME ...]
        -- MODULE [ARGS ...]

The TypeScript bridge starts this instead of ``python -m MODULE ARGS`` when the pipeline's
executor is Ray (``executor: { ray: { address } }``, ``--executor``). It connects to the cluster
(``HOST:PORT`` of the head's GCS from a machine of the cluster, ``ray://HOST:PORT`` through Ray
Client from anywhere), submits one task that needs the given resources, and that task runs
``python -m MODULE ARGS`` on whichever node Ray picks, with this process's stdin (the JSON job)
and the job's environment. The worker's stdout (its NDJSON events) and stderr come back here
line by line through a small actor (a mailbox), so the TypeScript side reads exactly what a local
worker would write; the exit code is the worker's.

Every node runs the bridge's environment (``ray start`` from ``packages/train-bridge/python/.venv``),
and the store and the project are at the same paths on every node (a shared filesystem): the job
names its inputs and outputs by path, and the worker writes them where a local run would.

Faults:
- The node or the Ray worker process dies mid-job (``kill -9``, out of memory, a lost machine):
  the job is submitted again, up to ``--retries`` times. With ``--resume-on-retry`` the JSON job
  gets ``"resume": true``, so a fine-tune continues from its newest checkpoint. The bridge worker of
  the dead attempt gets SIGTERM as its parent dies (``events.die_with_parent``) and writes its
  checkpoint; with ``--lock`` the next attempt waits for that process to end (an exclusive
  ``flock`` on PATH, which the worker inherits) before it starts in the same folder.
- An error of the worker itself (its ``error`` event, a non-zero exit) is not retried: it would fail
  again.
- SIGTERM or Ctrl-C here (the pipeline stopped): the task is cancelled. Ray interrupts it, it sends
  SIGTERM to the worker and gives it ``--grace`` seconds (a trainer writes its checkpoint), then
  kills it; after that the task is force-cancelled. Exit code 130.

Several processes (``--processes N``, a fine-tune on N GPUs): the task runs the module under
``accelerate launch --multi_gpu --num_processes N`` with the job in a file (``--job``), so the
processes train one model with DDP on the GPUs Ray gave the task (``CUDA_VISIBLE_DEVICES``); on a
CPU-only node torchrun starts N CPU processes with gloo. Only the main process writes events.

Ray's own imports and log lines go to stderr; stdout carries the worker's events only.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable

from . import events

#: Environment a worker takes from this process (besides the node's own): the bridge's settings,
#: thread counts and offline switches. The Hugging Face credentials never reach a worker (the
#: TypeScript side strips them before it starts this process).
FORWARDED_PREFIXES = ("HYPERWORDS_", "HF_", "OMP_", "MKL_", "TOKENIZERS_", "TRANSFORMERS_", "PYTORCH_")
FORWARDED_NAMES = ("PYTHONUNBUFFERED", "PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG")

#: Stdout and stderr lines are sent back in batches, at most this often (seconds).
BATCH_SECONDS = 0.1
EXIT_CANCELLED = 130


def forwarded_env(env: dict[str, str] | None = None, names: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """The variables of ``env`` (default: this process's) a worker on another node gets: the
    bridge's settings, and ``names`` (the job's own, ``--env``)."""
    env = dict(os.environ if env is None else env)
    drop = {events.PARENT_PID_VAR, events.GRACE_VAR}
    return {
        k: v
        for k, v in env.items()
        if k not in drop and (k.startswith(FORWARDED_PREFIXES) or k in FORWARDED_NAMES or k in names)
    }


def with_resume(stdin_text: str) -> str:
    """The JSON job of ``stdin_text`` with ``"resume": true`` (a retry continues from its checkpoint)."""
    first, _, rest = stdin_text.partition("\n")
    try:
        job = json.loads(first)
    except ValueError:
        return stdin_text
    if not isinstance(job, dict):
        return stdin_text
    return json.dumps({**job, "resume": True}, ensure_ascii=False) + "\n" + rest


def _pump(stream, name: str, out: "queue.Queue[tuple[str, str | None]]") -> None:
    for line in stream:
        out.put((name, line.rstrip("\n")))
    out.put((name, None))


def launch_command(spec: dict[str, Any], job_file: str, env: dict[str, str]) -> list[str]:
    """``accelerate launch`` of the module with ``spec["processes"]`` processes on this node, the job
    read from ``job_file``; a launcher's variables inherited from the node are dropped from ``env``."""
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    threads = max(1, int(float(env.get("OMP_NUM_THREADS") or 1)))
    # the guard keeps the workers' death-with-parent working under the launcher (launch_guard.py)
    return [
        sys.executable, "-m", "hyperwords_bridge.launch_guard", sys.executable, "-m", "accelerate.commands.launch",
        "--num_processes", str(spec["processes"]), "--num_machines", "1", "--multi_gpu",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--num_cpu_threads_per_process", str(threads),
        "-m", spec["module"], *spec["args"], "--job", job_file,
    ]  # fmt: skip


def run_worker(
    spec: dict[str, Any], send: Callable[[list[dict[str, Any]]], Any], about: dict[str, Any] | None = None
) -> int:
    """Run the worker module as a child process on this node; ``send`` gets its output in batches of
    items (``{"kind": "start", ...}``, ``{"kind": "lines", "lines": [[stream, text], ...]}``) as it
    comes. Returns the worker's exit code. Interrupted (a cancelled task), the worker stops as on
    Ctrl-C: SIGTERM, its grace, then a kill."""
    import fcntl
    import socket

    lock = None
    if spec.get("lock"):
        os.makedirs(os.path.dirname(spec["lock"]) or ".", exist_ok=True)
        lock = open(spec["lock"], "a")  # noqa: SIM115 - held (and inherited by the worker) to the end
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            send([{"kind": "waiting", "lock": spec["lock"]}])
            fcntl.flock(lock, fcntl.LOCK_EX)
    env = {**os.environ, **spec["env"]}
    # the worker ends itself when this task's process dies (a killed Ray worker, a lost node)
    env[events.PARENT_PID_VAR] = str(os.getpid())
    env[events.GRACE_VAR] = str(spec["grace"])
    job_dir = tempfile.mkdtemp(prefix="hyperwords-job-") if spec.get("processes", 1) > 1 else None
    command = [sys.executable, "-m", spec["module"], *spec["args"]]
    if job_dir is not None:
        job_file = os.path.join(job_dir, "job.json")
        with open(job_file, "w", encoding="utf-8") as f:
            f.write(spec["stdin"])
        command = launch_command(spec, job_file, env)
    proc = subprocess.Popen(
        command,
        cwd=spec["cwd"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
        pass_fds=(lock.fileno(),) if lock is not None else (),
    )
    try:
        send([{"kind": "start", "node": socket.gethostname(), "pid": os.getpid(), "child": proc.pid, **(about or {})}])
        lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
        for stream, name in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
            threading.Thread(target=_pump, args=(stream, name, lines), daemon=True).start()
        try:
            if job_dir is None:
                proc.stdin.write(spec["stdin"])
            proc.stdin.close()
        except BrokenPipeError:
            pass
        open_streams = 2
        while open_streams > 0:
            batch: list[list[str]] = []
            deadline = time.monotonic() + BATCH_SECONDS
            while open_streams > 0:
                try:
                    name, line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if line is None:
                    open_streams -= 1
                else:
                    batch.append([name, line])
            if batch:
                send([{"kind": "lines", "lines": batch}])
        return proc.wait()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=float(spec["grace"]))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if lock is not None:
            lock.close()
        if job_dir is not None:
            shutil.rmtree(job_dir, ignore_errors=True)


class Mailbox:
    """A Ray actor the task leaves its output in and the driver takes it from (streaming generators
    are not available through Ray Client, ``ray://``; an actor's calls are)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put(self, items: list[dict[str, Any]]) -> None:
        self.items.extend(items)

    def take(self) -> list[dict[str, Any]]:
        out, self.items = self.items, []
        return out


def run_on_node(spec: dict[str, Any], mailbox) -> int:
    """The Ray task: :func:`run_worker` with its output sent to ``mailbox`` in order (one caller's
    actor calls run in the order made); the last batch is waited for, so once the task has
    returned, the mailbox holds everything the worker wrote."""
    import ray

    pending: list[Any] = []

    def send(items: list[dict[str, Any]]) -> None:
        pending.append(mailbox.put.remote(items))
        if len(pending) > 64:
            ray.get(pending.pop(0))

    try:
        return run_worker(spec, send, {"resources": ray.get_runtime_context().get_assigned_resources()})
    finally:
        ray.get(pending)


def _is_artifact(line: str) -> bool:
    """Whether a stdout line is an ``artifact`` event (a retry writes its artifacts again)."""
    try:
        return json.loads(line).get("type") == "artifact"
    except (ValueError, AttributeError):
        return False


def _system_failure(exc: BaseException) -> bool:
    """A failure of the cluster (a dead worker process or node), not of the job: worth a retry."""
    from ray import exceptions as rx

    if isinstance(exc, (rx.TaskCancelledError, rx.RayTaskError)):
        return False
    return isinstance(exc, rx.RayError)


class Driver:
    """Submits the task, relays its output, resubmits after a system failure, cancels on a signal."""

    def __init__(self, opts: argparse.Namespace, module: str, args: list[str], stdin_text: str):
        self.opts, self.module, self.args, self.stdin_text = opts, module, args, stdin_text
        self.stop = threading.Event()
        self.forwarded: set[str] = set()  # artifact events already passed on (a retry writes them again)
        self.out = sys.stdout

    def spec(self, attempt: int) -> dict[str, Any]:
        resume = attempt > 0 and self.opts.resume_on_retry
        return {
            "module": self.module,
            "args": self.args,
            "stdin": with_resume(self.stdin_text) if resume else self.stdin_text,
            "env": forwarded_env(names=self.opts.env),
            "cwd": self.opts.cwd,
            "grace": self.opts.grace,
            "lock": self.opts.lock,
            "processes": self.opts.processes,
        }

    def submit(self, attempt: int):
        """A fresh mailbox and the task; returns both refs."""
        import ray

        mailbox = ray.remote(num_cpus=0)(Mailbox).remote()
        task = ray.remote(run_on_node).options(
            num_cpus=self.opts.cpus,
            num_gpus=self.opts.gpus,
            **({"memory": self.opts.memory} if self.opts.memory else {}),
            max_retries=0,  # submitted again here, with resume, rather than replayed by Ray
            retry_exceptions=False,
            name=f"hyperwords:{self.module.rsplit('.', 1)[-1]}",
        )
        return task.remote(self.spec(attempt), mailbox), mailbox

    def relay(self, items: list[dict[str, Any]], attempt: int) -> bool:
        """Pass the worker's output on; True once it has started."""
        started = False
        for item in items:
            kind = item.get("kind")
            if kind == "start":
                started = True
                held = ", ".join(f"{k} {v:g}" for k, v in sorted(item.get("resources", {}).items()))
                events.log(
                    f"on the Ray cluster: node {item['node']}, task process {item['pid']}, worker {item['child']}"
                    + (f", holding {held}" if held else "")
                    + (f" (attempt {attempt + 1})" if attempt > 0 else ""),
                    "warn" if attempt > 0 else "debug",
                )
            elif kind == "waiting":
                events.log(f"waiting for the previous attempt's worker to end (lock {item['lock']})", "warn")
            elif kind == "lines":
                for stream, line in item["lines"]:
                    if stream == "stderr":
                        print(line, file=sys.stderr, flush=True)
                        continue
                    if _is_artifact(line):
                        if line in self.forwarded:
                            continue
                        self.forwarded.add(line)
                    self.out.write(line + "\n")
                self.out.flush()
        return started

    def drain(self, mailbox, attempt: int) -> bool:
        import ray

        try:
            return self.relay(ray.get(mailbox.take.remote(), timeout=30), attempt)
        except Exception:  # noqa: BLE001 - the mailbox went with its node: the task's failure says more
            return False

    def cancel(self, task, mailbox, attempt: int) -> int:
        """Cancel the task: an interrupt first (the worker gets its grace), then by force."""
        import ray

        events.log("stopping: cancelling the job on the Ray cluster", "warn")
        ray.cancel(task, force=False)
        deadline = time.monotonic() + self.opts.grace + 15
        ended = False
        while time.monotonic() < deadline and not ended:
            ended = bool(ray.wait([task], timeout=0.25)[0])
            self.drain(mailbox, attempt)
        if not ended:
            ray.cancel(task, force=True)
        events.error(
            "cancelled on the Ray cluster; a fine-tune keeps its newest checkpoint: rerun to resume",
            "cancelled",
        )
        return EXIT_CANCELLED

    def unfit(self) -> str | None:
        """Why the cluster can never run the job (it asks for more than the cluster has), or None."""
        import ray

        total = ray.cluster_resources()
        asked = {"CPU": self.opts.cpus, "GPU": self.opts.gpus, "memory": float(self.opts.memory)}
        short = [f"{asked[k]:g} {k}" + (f" (the cluster has {total.get(k, 0):g})") for k in asked
                 if asked[k] > 0 and asked[k] > total.get(k, 0)]
        return None if not short else (
            f"the job asks for {', '.join(short)}: no node of the cluster at {self.opts.address} can run it; "
            "lower the job's resources (a fine-tune's gpus param, HYPERWORDS_THREADS) or add a node that has them"
        )

    def run(self) -> int:
        import ray

        why = self.unfit()
        if why is not None:
            events.error(why, "ray-resources")
            return 1
        attempt = 0
        while True:
            task, mailbox = self.submit(attempt)
            queued_at: float | None = time.monotonic()
            try:
                while True:
                    if self.stop.is_set():
                        return self.cancel(task, mailbox, attempt)
                    done = bool(ray.wait([task], timeout=0.25)[0])
                    if self.drain(mailbox, attempt):
                        queued_at = None
                    if done:
                        return int(ray.get(task))
                    if queued_at is not None and time.monotonic() - queued_at > 5:
                        events.log(
                            f"queued on the Ray cluster: waiting for {self.opts.cpus:g} CPU, {self.opts.gpus:g} GPU"
                            f"{f', {self.opts.memory} bytes' if self.opts.memory else ''}",
                            "info",
                        )
                        queued_at = None
            except Exception as exc:  # noqa: BLE001 - a Ray failure; the job's own errors are events
                if self.stop.is_set():
                    return self.cancel(task, mailbox, attempt)
                self.drain(mailbox, attempt)
                if not _system_failure(exc) or attempt >= self.opts.retries:
                    events.error(
                        f"the Ray task failed{f' after {attempt + 1} attempts' if attempt else ''}: "
                        f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                        "ray-task",
                    )
                    return 1
                attempt += 1
                events.log(
                    f"the Ray worker or its node died ({type(exc).__name__}); submitting again "
                    f"(attempt {attempt + 1} of {self.opts.retries + 1}"
                    f"{', resuming from the newest checkpoint' if self.opts.resume_on_retry else ''})",
                    "warn",
                )
            finally:
                ray.kill(mailbox, no_restart=True)


def parse(argv: list[str]) -> tuple[argparse.Namespace, str, list[str]]:
    if "--" not in argv:
        raise SystemExit("usage: python -m hyperwords_bridge.ray_exec [options] -- MODULE [ARGS ...]")
    cut = argv.index("--")
    p = argparse.ArgumentParser(prog="python -m hyperwords_bridge.ray_exec")
    p.add_argument("--address", required=True, help="the cluster: HOST:PORT of its head, or ray://HOST:PORT")
    p.add_argument("--cpus", type=float, default=1.0, help="CPUs the job needs (Ray's num_cpus)")
    p.add_argument("--gpus", type=float, default=0.0, help="GPUs the job needs (Ray's num_gpus)")
    p.add_argument("--memory", type=int, default=0, help="memory the job needs, bytes (0: not declared)")
    p.add_argument("--processes", type=int, default=1,
                   help="processes of one training job (accelerate launch --multi_gpu; one per GPU)")
    p.add_argument("--retries", type=int, default=3, help="submissions after a dead worker or node")
    p.add_argument("--resume-on-retry", action="store_true", help='a retry sends the job with "resume": true')
    p.add_argument("--lock", default=None, help="a file whose flock one attempt's worker holds at a time")
    p.add_argument("--grace", type=float, default=10.0, help="seconds a cancelled worker gets before it is killed")
    p.add_argument("--env", action="append", default=[], metavar="NAME",
                   help="a variable of this process the worker gets too (repeatable)")
    p.add_argument("--cwd", default=os.getcwd(), help="the worker's folder on the node (default: this one)")
    opts = p.parse_args(argv[:cut])
    rest = argv[cut + 1 :]
    if not rest:
        raise SystemExit("ray_exec: name the worker module after --")
    if opts.cpus < 0 or opts.gpus < 0 or opts.memory < 0 or opts.retries < 0:
        raise SystemExit("ray_exec: --cpus, --gpus, --memory and --retries must not be negative")
    if opts.processes < 1:
        raise SystemExit("ray_exec: --processes must be 1 or more")
    return opts, rest[0], rest[1:]


# A Ray Client session is a server process the head starts for each driver; on a loaded head it
# may miss the proxier's wait (RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S, 30 s), and the driver
# gets an empty "Initialization failure from server". That is worth another try; a refused
# connection is not.
CONNECT_ATTEMPTS = 3
CONNECT_PAUSE_S = 5.0


def _session_not_started(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionAbortedError) and "Initialization failure" in str(exc)


def connect(init: Callable[[], Any], attempts: int = CONNECT_ATTEMPTS, pause_s: float = CONNECT_PAUSE_S) -> Any:
    """Call `init` (a `ray.init`), again up to `attempts` times while a Ray Client session fails to
    start on the head; any other failure is raised at once."""
    for attempt in range(1, attempts + 1):
        try:
            return init()
        except Exception as exc:
            if attempt == attempts or not _session_not_started(exc):
                raise
            events.log(f"the Ray Client session did not start (attempt {attempt} of {attempts}); trying again")
            time.sleep(pause_s)


def unreachable_message(address: str, exc: BaseException) -> str:
    first = str(exc).splitlines()[0] if str(exc) else ""
    hint = (
        "The head did not start a client session in time: on a loaded head, raise "
        "RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S (seconds) in the environment of `ray start --head`"
        if _session_not_started(exc)
        else "Start one with `packages/train-bridge/python/.venv/bin/ray start --head`, or set the executor back to local"
    )
    return f"cannot reach the Ray cluster at {address}: {type(exc).__name__}: {first}. {hint}"


def events_only_stdout():
    """Keep the real stdout for events: Ray writes notes of its own (``(raylet) A worker died…``)
    to file descriptor 1 from outside Python, so that descriptor now points at stderr, and events
    go to a copy of the original one."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    events.set_stream(out)
    return out


def main(argv: list[str] | None = None) -> int:
    events.die_with_parent()
    opts, module, args = parse(sys.argv[1:] if argv is None else argv)
    stdin_text = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    driver = Driver(opts, module, args, stdin_text)
    driver.out = events_only_stdout()
    with events.redirect_stdout_to_stderr():
        import ray

        try:
            connect(
                lambda: ray.init(
                    address=opts.address,
                    log_to_driver=False,
                    logging_level="WARNING",
                    namespace="hyperwords",
                )
            )
        except Exception as exc:  # noqa: BLE001 - no cluster there
            events.error(unreachable_message(opts.address, exc), "ray-unreachable")
            return 1

    def on_signal(signum, _frame):
        driver.stop.set()

    # after ray.init, which installs a SIGTERM handler of its own
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return driver.run()
    finally:
        with events.redirect_stdout_to_stderr():
            ray.shutdown()


if __name__ == "__main__":
    sys.exit(main())
