"""Check a saved ``tokenizer.json`` against llama.cpp's tokenization of the same GGUF.

The reference ids come from llama.cpp itself, through node-llama-cpp's prebuilt binary
(``packages/train-bridge/scripts/llama-tokenize.mjs``), on the Russian + English text in
``data/tokenizer-check.txt``. When Node or node-llama-cpp is not installed, ids recorded earlier
from llama.cpp for the same GGUF and text (``data/llama-ids/<gguf sha256>.json``) stand in.

    python -m hyperwords_bridge.tokenizer_check record MODEL.gguf   # refresh the recorded ids
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from . import paths

TEXT_NAME = "tokenizer-check.txt"
NODE_LLAMA_CPP = "node-llama-cpp 3.21.1"


class ReferenceUnavailable(Exception):
    """Neither llama.cpp (via Node) nor recorded ids are available for this GGUF."""


def check_text() -> str:
    """The test text: poetry-like Russian and English lines with digits, punctuation and emoji."""
    return resources.files("hyperwords_bridge").joinpath("data", TEXT_NAME).read_text("utf-8")


def text_lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _recorded_path(gguf_sha256: str) -> Path:
    return Path(str(resources.files("hyperwords_bridge").joinpath("data", "llama-ids", f"{gguf_sha256}.json")))


def _node_command() -> tuple[list[str], Path] | None:
    root = paths.repo_root()
    if root is None:
        return None
    bridge = root / "packages" / "train-bridge"
    script = bridge / "scripts" / "llama-tokenize.mjs"
    if not script.is_file() or not (bridge / "node_modules" / "node-llama-cpp").exists():
        return None
    node = os.environ.get("HYPERWORDS_NODE")
    if not node:
        pinned = root / "node_modules" / ".bin" / "node"  # Node 24 from the workspace's `node` package
        node = str(pinned) if pinned.exists() else shutil.which("node")
    if not node:
        return None
    return [node, str(script)], bridge


def llama_cpp_ids(gguf: Path, text: str) -> dict[str, Any]:
    """Token ids of ``text`` (whole, and per non-empty line) from llama.cpp on ``gguf``."""
    cmd = _node_command()
    if cmd is None:
        raise ReferenceUnavailable("node-llama-cpp is not installed (run `pnpm install` at the repository root)")
    argv, cwd = cmd
    tmp = gguf.parent / f".tokenizer-check-{os.getpid()}.txt"
    tmp.write_text(text, "utf-8")
    try:
        proc = subprocess.run(
            [*argv, str(gguf), str(tmp)], cwd=cwd, capture_output=True, text=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReferenceUnavailable(f"cannot run {argv[0]}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise ReferenceUnavailable(f"llama-tokenize.mjs failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"source": f"llama.cpp via {NODE_LLAMA_CPP}", "whole": out["whole"], "lines": out["lines"]}


def reference_ids(gguf: Path, gguf_sha256: str, text: str) -> dict[str, Any]:
    """llama.cpp's ids, live if Node and node-llama-cpp are installed, else recorded ones."""
    try:
        return llama_cpp_ids(gguf, text)
    except ReferenceUnavailable as live_error:
        recorded = _recorded_path(gguf_sha256)
        if recorded.is_file():
            data = json.loads(recorded.read_text("utf-8"))
            if data.get("text_sha256") == _sha256(text.encode("utf-8")):
                return {**data, "source": f"recorded {data['source']} ({recorded.name})"}
        raise ReferenceUnavailable(f"{live_error}; and no recorded llama.cpp ids for this GGUF and text") from None


def compare(tokenizer_json: Path, text: str, reference: dict[str, Any], bos_id: int | None) -> dict[str, Any]:
    """Compare the ids of ``tokenizer.json`` (tokenizers library) with the reference ids."""
    from tokenizers import Tokenizer

    tk = Tokenizer.from_file(str(tokenizer_json))
    whole = tk.encode(text, add_special_tokens=False).ids
    lines = text_lines(text)
    mismatched = []
    for i, (line, ref) in enumerate(zip(lines, reference["lines"], strict=True)):
        ids = tk.encode(line, add_special_tokens=False).ids
        if ids != ref:
            mismatched.append({"line": i + 1, "text": line, "ids": ids, "llama_cpp": ref})
    with_special = tk.encode(text).ids
    expected_special = ([bos_id] if bos_id is not None else []) + reference["whole"]
    checks = {
        "whole_text": whole == reference["whole"],
        "lines": not mismatched,
        "special_tokens": with_special == expected_special,
        "decode_roundtrip": tk.decode(whole, skip_special_tokens=False) == text,
    }
    return {
        "status": "pass" if all(checks.values()) else "fail",
        "reference": reference["source"],
        "text": TEXT_NAME,
        "text_sha256": _sha256(text.encode("utf-8")),
        "tokens": len(reference["whole"]),
        "lines": len(lines),
        "checks": checks,
        "mismatched_lines": mismatched[:5],
    }


def check_autotokenizer(model_dir: Path, text: str, reference: dict[str, Any]) -> bool:
    """Whether transformers' ``AutoTokenizer`` on the saved directory gives the same ids."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    return tok.encode(text, add_special_tokens=False) == reference["whole"]


def record(gguf: Path) -> Path:
    """Store llama.cpp's ids for ``gguf`` and the check text, for machines without Node."""
    text = check_text()
    digest = hashlib.sha256()
    with open(gguf, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    ref = llama_cpp_ids(gguf, text)
    out = _recorded_path(digest.hexdigest())
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "source": ref["source"],
        "gguf_sha256": digest.hexdigest(),
        "text": TEXT_NAME,
        "text_sha256": _sha256(text.encode("utf-8")),
        "whole": ref["whole"],
        "lines": ref["lines"],
    }
    out.write_text(json.dumps(payload, separators=(",", ":")) + "\n", "utf-8")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "record":
        print("usage: python -m hyperwords_bridge.tokenizer_check record MODEL.gguf", file=sys.stderr)
        return 2
    print(record(Path(argv[1]).resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
