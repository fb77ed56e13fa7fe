"""A model folder's own graphs with their weights read from its ``model.safetensors``.

    python -m hyperwords_bridge.base_graphs MODEL_DIR [--no-verify]

The exports write the generation graph (``onnx/model.onnx``), the probe graph (``onnx/probe.onnx``)
and the embedding graph (``onnx/embed.onnx``) with their weights inline: 1.1 to 1.7 GB each for
Gemma 3 270M, whose parameters take 1.07 GB. Here every initialiser that holds a parameter becomes
a reference into ``onnx/weights.safetensors``, a hard link to the folder's ``model.safetensors``,
as in a tuned version's patched graphs (:mod:`hyperwords_bridge.tuned_graphs`). The folder then
holds its weights once, and a tuned version is patched from graphs of a few MB instead of loading
and rewriting each 1 GB proto.

The rewritten graphs are checked as patched ones are (``tuned_graphs.verify_patched``: one forward
pass per graph against PyTorch). Until that passes, the inline graphs are kept beside them
(``*.onnx.inline``); any error puts them back. A graph that fails the check, or whose initialisers
cannot be tied to the weights, leaves the folder as it was (``mode: "inline"`` with the reason, a
``warn`` log): the graphs work inline as before. The result is recorded in
``onnx/references.json``, written last: a folder with it, newer than its graphs, is done.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from hyperwords_bridge import events
from hyperwords_bridge.export_onnx import check_model_dir, log, progress, stdout_to_stderr
from hyperwords_bridge.graph_weights import WEIGHTS_FILE, MappingError, link_weights, read_params, safetensors_index, save_graph
from hyperwords_bridge.scratch import sigterm_as_interrupt
from hyperwords_bridge.tuned_graphs import GRAPHS, PARITY_ATOL, patch_graph, verify_patched

RECORD = "references.json"
TASK = "graph-references"


def _vocab(model_dir: Path) -> int:
    return int(json.loads((model_dir / "config.json").read_text("utf-8"))["vocab_size"])


def is_done(model_dir: Path) -> bool:
    """Whether the folder's graphs were rewritten after they were last exported."""
    onnx = model_dir / "onnx"
    record = onnx / RECORD
    if not record.is_file():
        return False
    written = record.stat().st_mtime
    return all((onnx / g).is_file() and (onnx / g).stat().st_mtime <= written for g in GRAPHS)


def _restore(onnx: Path) -> None:
    for name in GRAPHS:
        kept = onnx / f"{name}.inline"
        if kept.is_file():
            os.replace(kept, onnx / name)


def refer_to_weights(model_dir: Path, *, verify: bool = True, atol: float = PARITY_ATOL) -> dict[str, Any]:
    """Rewrite the three graphs of ``model_dir`` as references into its weights; see the module doc."""
    model_dir = Path(model_dir).resolve()
    check_model_dir(model_dir)
    onnx = model_dir / "onnx"
    missing = [n for n in GRAPHS if not (onnx / n).is_file()]
    if missing:
        raise events.BridgeError(f"{model_dir} lacks {', '.join('onnx/' + n for n in missing)}", "missing-graphs")
    t0 = time.time()
    total = 2 if verify else 1
    progress(TASK, 0, total)
    _restore(onnx)  # a run stopped before its check left the inline graphs beside the new ones
    (onnx / RECORD).unlink(missing_ok=True)
    vocab = _vocab(model_dir)
    params = read_params(model_dir / "model.safetensors")
    index = safetensors_index(model_dir / "model.safetensors")
    link_weights(model_dir)
    out: dict[str, Any] = {"model_dir": str(model_dir), "mode": "references", "graphs": {}}
    reason = None
    try:
        for name in GRAPHS:
            t1 = time.time()
            before = (onnx / name).stat().st_size
            os.replace(onnx / name, onnx / f"{name}.inline")
            model, stats = patch_graph(onnx / f"{name}.inline", params, params, index, vocab, vocab)
            size = save_graph(model, onnx / name)
            out["graphs"][name] = {**stats, "bytes_inline": before, "bytes": size, "seconds": round(time.time() - t1, 2)}
            log(f"{name}: {stats['parameters']} parameters now read from {WEIGHTS_FILE}, {before / 1e6:.1f} → {size / 1e6:.1f} MB")
        progress(TASK, 1, total)
        if verify:
            with stdout_to_stderr():
                parity = verify_patched(model_dir, vocab, atol=atol)
            out["parity"] = parity
            if not parity["ok"]:
                failed = [k for k in ("generation", "probe", "embed") if not parity[k]["ok"]]
                reason = (
                    f"the {', '.join(failed)} graph(s) reading {WEIGHTS_FILE} do not match PyTorch "
                    f"({json.dumps({k: parity[k] for k in failed})[:600]})"
                )
    except MappingError as e:
        reason = str(e)
    except BaseException:
        _restore(onnx)
        raise
    if reason is None:
        for name in GRAPHS:
            (onnx / f"{name}.inline").unlink(missing_ok=True)
        log(f"graphs of {model_dir.name} read their weights from {WEIGHTS_FILE} ({time.time() - t0:.1f}s)")
    else:
        _restore(onnx)
        out["mode"] = "inline"
        out["reason"] = reason
        log(f"graphs of {model_dir.name} keep their weights inline: {reason}", level="warn")
    out["seconds"] = round(time.time() - t0, 1)
    tmp = onnx / f".{RECORD}.tmp"
    tmp.write_text(json.dumps(out, indent=2) + "\n", "utf-8")
    os.replace(tmp, onnx / RECORD)
    progress(TASK, total, total)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hyperwords_bridge.base_graphs", description=__doc__.split("\n")[0])
    p.add_argument("model_dir", type=Path)
    p.add_argument("--no-verify", action="store_true", help="skip the check against PyTorch")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sigterm_as_interrupt()
    return events.run_main(
        lambda: refer_to_weights(args.model_dir, verify=not args.no_verify),
        unexpected="export-failed",
        bad_model_dir=True,
    )


if __name__ == "__main__":
    sys.exit(main())
