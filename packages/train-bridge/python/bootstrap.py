#!/usr/bin/env python3
"""Create the bridge's project-local Python environment (stdlib only; run with the system python3).

    python3 packages/train-bridge/python/bootstrap.py [--cuda] [--force] [--relock] [--verbose]

Creates ``.venv`` beside this file, installs ``torch==2.13.0`` first (the CPU build unless
``--cuda``), then this project with ``-c constraints.txt`` and its Ray executor
(``-c constraints-ray.txt``). A stamp in the venv records the sha256 of pyproject.toml, both
constraint files and the torch variant; a rerun with nothing changed exits at once. Progress goes to stderr; the venv's python path is the only line on stdout.

Environment:
  HYPERWORDS_TORCH_INDEX  index URL to take torch from (e.g. https://download.pytorch.org/whl/cu128
                          or .../whl/cpu); with it the local CPU wheel is not considered.
  HYPERWORDS_CUDA=1       same as --cuda.

Exit codes: 0 ok, 1 install failed, 2 Python unusable (a message says which command fixes it).
"""

# Keep this file runnable by old Pythons far enough to print the version message.
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

TORCH_VERSION = "2.13.0"
MIN_PYTHON = (3, 11)
HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
STAMP = os.path.join(VENV, "hyperwords-stamp.json")
INPUTS = ("pyproject.toml", "constraints.txt", "constraints-ray.txt")
# The executor's pins live apart: they decide where a job runs, never what it computes, and the
# pipeline keys its results on constraints.txt alone (a Ray upgrade must not re-run the experiment).
EXECUTOR_LOCK = "constraints-ray.txt"
EXIT_PYTHON = 2


def say(message):
    sys.stderr.write("[bootstrap] {}\n".format(message))
    sys.stderr.flush()


def fail_python(message, fix):
    sys.stderr.write(
        "[bootstrap] error: {}\n[bootstrap] fix: {}\n[bootstrap] then rerun: python3 {}\n".format(
            message, fix, os.path.relpath(os.path.abspath(__file__))
        )
    )
    sys.exit(EXIT_PYTHON)


def check_python():
    """One clear message and exit 2 when this interpreter cannot build the environment."""
    if sys.version_info[:2] < MIN_PYTHON:
        fail_python(
            "the bridge needs Python >= {}.{}, this is {} ({})".format(
                MIN_PYTHON[0], MIN_PYTHON[1], sys.version.split()[0], sys.executable
            ),
            "sudo apt-get install python3.11 python3.11-venv  (or: pyenv install 3.11) "
            "and run bootstrap.py with that python3.11",
        )
    try:
        import ensurepip  # noqa: F401  (Debian splits it out of python3 into python3-venv)
        import venv  # noqa: F401
    except ImportError as exc:
        fail_python(
            "the venv module is missing ({})".format(exc),
            "sudo apt-get install python{}.{}-venv".format(*sys.version_info[:2]),
        )


def venv_python():
    return os.path.join(VENV, "Scripts" if os.name == "nt" else "bin", "python.exe" if os.name == "nt" else "python")


def torch_variant(cuda):
    index = os.environ.get("HYPERWORDS_TORCH_INDEX", "").strip()
    return {"torch": TORCH_VERSION, "cuda": bool(cuda), "index": index or None}


def inputs_digest(variant):
    """sha256 over pyproject.toml, both constraint files, the torch variant and the Python minor version."""
    h = hashlib.sha256()
    for name in INPUTS:
        with open(os.path.join(HERE, name), "rb") as f:
            h.update(name.encode() + b"\0" + f.read() + b"\0")
    h.update(json.dumps(variant, sort_keys=True).encode())
    h.update("python{}.{}".format(*sys.version_info[:2]).encode())
    return h.hexdigest()


def read_stamp():
    try:
        with open(STAMP) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_current(digest):
    """Whether the venv exists and was built from exactly these inputs."""
    stamp = read_stamp()
    return bool(stamp) and stamp.get("inputs") == digest and os.path.exists(venv_python())


def write_stamp(digest, variant, torch_info):
    stamp = {
        "inputs": digest,
        "variant": variant,
        "torch": torch_info,
        "python": sys.version.split()[0],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    tmp = STAMP + ".tmp"
    with open(tmp, "w") as f:
        json.dump(stamp, f, indent=2)
        f.write("\n")
    os.replace(tmp, STAMP)


def run(cmd, env=None, verbose=False, capture=False):
    say("$ " + " ".join(cmd))
    kwargs = {"env": env, "stderr": sys.stderr}
    kwargs["stdout"] = subprocess.PIPE if capture else sys.stderr
    proc = subprocess.run(cmd, universal_newlines=True, **kwargs)
    if proc.returncode != 0:
        say("error: command failed with exit code {}{}".format(
            proc.returncode, "" if verbose else "; rerun with --verbose for pip's full output"))
        sys.exit(1)
    return proc.stdout if capture else None


def pip(args, verbose, env=None):
    quiet = [] if verbose else ["-q"]
    run([venv_python(), "-m", "pip", *args, *quiet, "--disable-pip-version-check", "--progress-bar", "off"],
        env=env, verbose=verbose)


def venv_usable():
    if not os.path.exists(venv_python()):
        return False
    try:
        out = subprocess.run(
            [venv_python(), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == "{}.{}".format(*sys.version_info[:2])


def create_venv(force):
    if force or not venv_usable():
        if os.path.exists(VENV):
            say("removing {}".format(VENV))
            shutil.rmtree(VENV)
        say("creating venv {} with {} {}".format(VENV, sys.executable, sys.version.split()[0]))
        import venv

        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    elif os.path.exists(STAMP):
        os.remove(STAMP)  # an install that stops half-way must not look complete


def install_torch(variant, verbose):
    """torch first, so no other package's dependency can pull a different (CUDA, newer) build."""
    spec = "torch=={}".format(TORCH_VERSION)
    env = dict(os.environ)
    args = ["install", spec]
    if variant["index"] or variant["cuda"]:
        # Leave out this machine's local CPU wheel (find-links in pip config or PIP_FIND_LINKS).
        env.pop("PIP_FIND_LINKS", None)
        env.pop("PIP_EXTRA_INDEX_URL", None)
        env["PIP_CONFIG_FILE"] = os.devnull
        if variant["index"]:
            args += ["--index-url", variant["index"]]
        say("installing {} ({}) from {}".format(
            spec, "CUDA" if variant["cuda"] else "as the index provides", variant["index"] or "PyPI"))
    else:
        say("installing {} (CPU build)".format(spec))
    pip(args, verbose, env=env)
    out = subprocess.run(
        [venv_python(), "-W", "ignore", "-c", "import json, torch; print(json.dumps({'version': torch.__version__, "
         "'cuda': torch.version.cuda, 'cuda_available': torch.cuda.is_available()}))"],
        stdout=subprocess.PIPE, universal_newlines=True,
    )
    if out.returncode != 0:
        say("error: torch does not import in the new venv")
        sys.exit(1)
    info = json.loads(out.stdout.strip().splitlines()[-1])
    say("torch {} (CUDA {}, GPU available: {})".format(info["version"], info["cuda"], info["cuda_available"]))
    if variant["cuda"] and not info["cuda"]:
        say("error: --cuda was asked for but this torch build has no CUDA; set HYPERWORDS_TORCH_INDEX "
            "to a CUDA wheel index, e.g. https://download.pytorch.org/whl/cu128")
        sys.exit(1)
    return info


def pinned_names(path):
    """The lower-cased package names pinned in a constraints file."""
    try:
        with open(path) as f:
            return {line.split("==")[0].strip().lower() for line in f if "==" in line and not line.startswith("#")}
    except OSError:
        return set()


def freeze_constraints(verbose):
    """pip freeze into the two locks: the executor's packages (those constraints-ray.txt names, and
    Ray's own dependencies that nothing else needs) there, everything else in constraints.txt."""
    out = run([venv_python(), "-m", "pip", "freeze", "--disable-pip-version-check"], capture=True, verbose=verbose)
    executor = pinned_names(os.path.join(HERE, EXECUTOR_LOCK)) | {"ray"}
    lines, executor_lines = [], []
    for line in out.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("-e ") or " @ " in line:
            continue
        if line.lower().startswith("torch=="):
            line = "torch==" + TORCH_VERSION  # one lock for CPU and CUDA builds
        if line.lower().startswith("nvidia-") or line.lower().startswith("triton=="):
            continue  # CUDA torch's own dependencies, absent from the CPU build
        (executor_lines if line.split("==")[0].lower() in executor else lines).append(line)
    for name, pins, header in (
        ("constraints.txt", lines,
         "# The bridge's lock: pip freeze of a real install (bootstrap.py), torch's +cpu/+cuXXX label dropped.\n"),
        (EXECUTOR_LOCK, executor_lines,
         "# The Ray executor's lock (bootstrap.py): where jobs run, not what they compute, so kept out of\n"
         "# constraints.txt, which the pipeline's results are keyed on.\n"),
    ):
        with open(os.path.join(HERE, name), "w") as f:
            f.write(header + "# Regenerate: python3 bootstrap.py --relock\n" + "\n".join(sorted(pins, key=str.lower)) + "\n")
        say("wrote {} ({} pins)".format(name, len(pins)))


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(description="Create the hyperwords bridge venv (packages/train-bridge/python/.venv).")
    parser.add_argument("--cuda", action="store_true", default=os.environ.get("HYPERWORDS_CUDA") == "1",
                        help="install the CUDA build of torch (PyPI's, or HYPERWORDS_TORCH_INDEX's)")
    parser.add_argument("--force", action="store_true", help="recreate the venv from scratch")
    parser.add_argument("--relock", action="store_true",
                        help="resolve the newest versions pyproject.toml allows and rewrite constraints.txt")
    parser.add_argument("--verbose", action="store_true", help="show pip's full output")
    args = parser.parse_args(argv)

    check_python()
    started = time.time()
    variant = torch_variant(args.cuda)
    if not args.relock and not args.force and is_current(inputs_digest(variant)):
        say("venv is up to date ({})".format(VENV))
        print(venv_python())
        return 0

    create_venv(args.force or args.relock)
    torch_info = install_torch(variant, args.verbose)
    say("installing hyperwords_bridge and its pinned dependencies")
    project = ["install", "-e", HERE + "[test,ray]"]
    if args.relock:
        pip(project, args.verbose)
        freeze_constraints(args.verbose)
    else:
        pip(project + ["-c", os.path.join(HERE, "constraints.txt"), "-c", os.path.join(HERE, EXECUTOR_LOCK)], args.verbose)
    write_stamp(inputs_digest(variant), variant, torch_info)
    say("done in {:.0f} s; python: {}".format(time.time() - started, venv_python()))
    print(venv_python())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
