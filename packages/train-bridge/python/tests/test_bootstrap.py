"""The stamp logic of bootstrap.py, on a copy of its inputs in a temp folder (no venv built)."""

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

BRIDGE = Path(__file__).resolve().parents[1]


@pytest.fixture
def bootstrap(tmp_path, monkeypatch):
    for name in ("bootstrap.py", "pyproject.toml", "constraints.txt", "constraints-ray.txt"):
        shutil.copy(BRIDGE / name, tmp_path / name)
    spec = importlib.util.spec_from_file_location("bootstrap_under_test", tmp_path / "bootstrap.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.delenv("HYPERWORDS_TORCH_INDEX", raising=False)
    return mod


def fake_venv(mod):
    python = Path(mod.venv_python())
    python.parent.mkdir(parents=True)
    python.write_text("")


def test_stamp_matches_only_the_same_inputs(bootstrap):
    variant = bootstrap.torch_variant(cuda=False)
    digest = bootstrap.inputs_digest(variant)
    assert not bootstrap.is_current(digest)  # no venv yet
    fake_venv(bootstrap)
    bootstrap.write_stamp(digest, variant, {"version": "2.13.0+cpu"})
    assert bootstrap.is_current(digest)
    assert json.loads(Path(bootstrap.STAMP).read_text())["inputs"] == digest


def test_changed_constraints_or_torch_variant_invalidate_the_stamp(bootstrap, monkeypatch):
    variant = bootstrap.torch_variant(cuda=False)
    digest = bootstrap.inputs_digest(variant)
    assert bootstrap.inputs_digest(bootstrap.torch_variant(cuda=True)) != digest
    monkeypatch.setenv("HYPERWORDS_TORCH_INDEX", "https://example.invalid/whl/cu128")
    assert bootstrap.inputs_digest(bootstrap.torch_variant(cuda=False)) != digest
    monkeypatch.delenv("HYPERWORDS_TORCH_INDEX")
    with open(Path(bootstrap.HERE) / "constraints.txt", "a") as f:
        f.write("extra==1.0\n")
    assert bootstrap.inputs_digest(variant) != digest


def test_rerun_with_unchanged_inputs_does_nothing_fast(bootstrap, tmp_path):
    variant = bootstrap.torch_variant(cuda=False)
    fake_venv(bootstrap)
    bootstrap.write_stamp(bootstrap.inputs_digest(variant), variant, {})
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "bootstrap.py")], capture_output=True, text=True, timeout=30
    )
    assert time.monotonic() - started < 1.0
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == bootstrap.venv_python()
    assert "up to date" in proc.stderr


def test_old_python_gets_one_message_and_exit_2(bootstrap, monkeypatch, capsys):
    monkeypatch.setattr(sys, "version_info", (3, 9, 18, "final", 0))
    with pytest.raises(SystemExit) as exc:
        bootstrap.check_python()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Python >= 3.11" in err and "apt-get install python3.11" in err


def test_missing_venv_module_gets_the_apt_command(bootstrap, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ensurepip", None)  # import raises ImportError
    with pytest.raises(SystemExit) as exc:
        bootstrap.check_python()
    assert exc.value.code == 2
    assert "-venv" in capsys.readouterr().err


def test_the_executor_lock_is_an_input_of_the_stamp(bootstrap):
    variant = bootstrap.torch_variant(cuda=False)
    digest = bootstrap.inputs_digest(variant)
    with open(Path(bootstrap.HERE) / "constraints-ray.txt", "a") as f:
        f.write("ray==9.9.9\n")
    assert bootstrap.inputs_digest(variant) != digest


def test_relock_keeps_the_executors_pins_out_of_the_results_lock(bootstrap, monkeypatch):
    freeze = "\n".join(["torch==2.13.0+cpu", "numpy==2.4.6", "ray==2.58.0", "msgpack==1.2.4",
                        "click==8.5.1", "nvidia-cublas==1", "-e git+x#egg=hyperwords_bridge", "PyYAML==6.0.4"])
    monkeypatch.setattr(bootstrap, "run", lambda *a, **k: freeze)
    bootstrap.freeze_constraints(verbose=False)
    pins = lambda name: [  # noqa: E731
        line for line in (Path(bootstrap.HERE) / name).read_text().splitlines() if not line.startswith("#")
    ]
    assert pins("constraints.txt") == ["numpy==2.4.6", "PyYAML==6.0.4", "torch==2.13.0"]
    assert pins("constraints-ray.txt") == ["click==8.5.1", "msgpack==1.2.4", "ray==2.58.0"]
