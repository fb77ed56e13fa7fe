"""Free memory: check it before a heavy step loads a model, and name the need when it cannot fit.

A step that runs out of memory on Linux is killed by the OOM killer with no message of its own
(the host sees a worker die with signal 9), often minutes into an export. So the heavy bridge
steps estimate their peak resident memory from the model's ``config.json`` first
(:func:`step_need`: the parameters at 4 bytes, as every step loads the model in float32, times
what the step was measured to hold on top of them) and refuse with a ``not-enough-memory`` error
that names the need and what is available (:func:`require_memory`) when it does not fit.

What is available is ``MemAvailable`` of ``/proc/meminfo``, or less when the process's cgroup
(v2 ``memory.max``, v1 ``memory.limit_in_bytes``) leaves less room. ``HYPERWORDS_SKIP_MEMCHECK=1``
runs the step anyway (the estimate errs on the large side).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .events import BridgeError

GB = 1_000_000_000
# A cgroup limit at or above this is "no limit" (v1 writes 2**63 rounded down to a page).
NO_LIMIT = 1 << 60
SKIP_ENV = "HYPERWORDS_SKIP_MEMCHECK"

# Peak resident memory of each step: RUNTIME + FACTOR x the float32 weights (parameters x 4
# bytes). Measured with /usr/bin/time -v on a Qwen2.5-0.5B-sized random Qwen2 (494M parameters,
# 1.98 GB of float32 weights; README, "What runs where"): export 8.7 GB, probe graph 8.4 GB,
# embedding graph 7.8 GB, lens head 4.6 GB, graph cuts 8.0 GB, parity check 10.6 GB; each factor
# rounded up by ~5%.
RUNTIME = 700_000_000  # python, torch, onnx and onnxruntime loaded, nothing else
FACTOR: dict[str, float] = {
    # optimum's exporter and the q8 quantiser: the model, the traced graph, the protobufs
    "export": 4.3,
    # torch.onnx.export of the probe module (the model, constant folding, the serialised graph)
    "probe": 4.1,
    # the probe graph loaded, pruned and saved, then both graphs in onnxruntime for the check
    "embed": 3.8,
    # the lens head cut from the probe graph
    "lens": 2.1,
    # each cut saved, then checked against the probe graph in onnxruntime
    "cuts": 3.9,
    # the generation and probe graphs in onnxruntime beside the PyTorch model
    "parity": 5.2,
}
STEP_WORDS = {
    "export": "exporting the generation graph",
    "probe": "exporting the probe graph",
    "embed": "cutting the embedding graph",
    "lens": "cutting the lens head",
    "cuts": "cutting the embedding graph by layers",
    "parity": "the parity check",
}


def parse_meminfo(text: str) -> int:
    """Bytes available for new work from ``/proc/meminfo`` text: ``MemAvailable``, or on an old
    kernel without it ``MemFree + Buffers + Cached``."""
    fields: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            scale = 1024 if len(parts) > 1 and parts[1].lower() == "kb" else 1
            fields[key.strip()] = int(parts[0]) * scale
    if "MemAvailable" in fields:
        return fields["MemAvailable"]
    if "MemFree" in fields:
        return fields["MemFree"] + fields.get("Buffers", 0) + fields.get("Cached", 0)
    raise ValueError("no MemAvailable or MemFree line in the meminfo text")


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    return int(text) if text.isdigit() else None


def cgroup_room(proc_cgroup: str, root: Path = Path("/sys/fs/cgroup")) -> tuple[int, int] | None:
    """``(limit, usage)`` of this process's memory cgroup when one sets a limit, else ``None``.

    ``proc_cgroup`` is the text of ``/proc/self/cgroup``; ``root`` where cgroups are mounted.
    """
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, rel = parts
        rel = rel.lstrip("/")
        if controllers == "":  # v2 (unified)
            for base in (root / rel, root / "unified" / rel, root):
                limit = _read_int(base / "memory.max")
                if limit is not None and limit < NO_LIMIT:
                    return limit, _read_int(base / "memory.current") or 0
        elif "memory" in controllers.split(","):  # v1
            for base in (root / "memory" / rel, root / "memory"):
                limit = _read_int(base / "memory.limit_in_bytes")
                if limit is not None and limit < NO_LIMIT:
                    return limit, _read_int(base / "memory.usage_in_bytes") or 0
    return None


def available_bytes(
    meminfo: str | None = None, proc_cgroup: str | None = None, root: Path = Path("/sys/fs/cgroup")
) -> tuple[int, str]:
    """Bytes this process can still use, and where the figure comes from."""
    if meminfo is None:
        meminfo = Path("/proc/meminfo").read_text()
    avail, source = parse_meminfo(meminfo), "MemAvailable in /proc/meminfo"
    if proc_cgroup is None:
        try:
            proc_cgroup = Path("/proc/self/cgroup").read_text()
        except OSError:
            proc_cgroup = ""
    room = cgroup_room(proc_cgroup, root)
    if room is not None:
        limit, usage = room
        if limit - usage < avail:
            avail, source = max(0, limit - usage), f"the cgroup's limit of {limit / GB:.1f} GB less its use"
    return avail, source


def param_count(config: dict[str, Any]) -> int:
    """The parameters of a decoder-only LM from its ``config.json`` (embedding, layers, norms)."""
    c = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    h, layers, vocab = int(c["hidden_size"]), int(c["num_hidden_layers"]), int(c["vocab_size"])
    heads = int(c.get("num_attention_heads") or 1)
    kv = int(c.get("num_key_value_heads") or heads)
    head_dim = int(c.get("head_dim") or h // heads)
    inter = int(c.get("intermediate_size") or 4 * h)
    attn = h * heads * head_dim * 2 + h * kv * head_dim * 2
    if c.get("model_type") == "qwen2" or c.get("attention_bias"):
        attn += heads * head_dim + 2 * kv * head_dim
    per_layer = attn + 3 * h * inter + 4 * h + 2 * head_dim  # norms, generously (sandwich, q/k norms)
    embed = vocab * h * (1 if c.get("tie_word_embeddings", config.get("tie_word_embeddings", True)) else 2)
    return embed + layers * per_layer + h


def step_need(step: str, config: dict[str, Any]) -> int:
    """Estimated peak resident bytes of ``step`` (a key of :data:`FACTOR`) for this config."""
    return int(RUNTIME + FACTOR[step] * 4 * param_count(config))


def require_memory(what: str, need: int, available: tuple[int, str] | None = None) -> None:
    """Fail with ``not-enough-memory`` when ``need`` bytes are more than what is available."""
    if os.environ.get(SKIP_ENV, "") not in ("", "0"):
        return
    avail, source = available if available is not None else available_bytes()
    if need > avail:
        raise BridgeError(
            f"{what} needs about {need / GB:.1f} GB of memory, {avail / GB:.1f} GB is available "
            f"({source}). Stop other work on this machine (a fine-tune, a benchmark, another "
            "import) or use one with more memory, then run it again; "
            f"{SKIP_ENV}=1 runs it anyway (the estimate errs on the large side).",
            "not-enough-memory",
        )


def check_step(step: str, model_dir: Path, name: str | None = None) -> int:
    """Refuse ``step`` on ``model_dir`` before it starts when its estimate does not fit; returns the need.

    A folder whose ``config.json`` cannot be read is left to the step's own errors.
    """
    model_dir = Path(model_dir)
    try:
        config = json.loads((model_dir / "config.json").read_text("utf-8"))
        need = step_need(step, config)
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    require_memory(f"{STEP_WORDS[step]} of {name or model_dir.name}", need)
    return need
