"""The final phase: the adapter, the merged model with its manifest, the checks and ``training.json``."""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any


from .. import __version__, events
from .. import heldout as heldout_stats
from ..weights import MANIFEST, MANIFEST_SCHEMA_VERSION, folder_digest, sha256_file
from .checkpoints import clean_partials, fsync_tree, install_dir, partial_dir, utc_now
from .data import encode, separator_id, texts_sha256
from .job import Job, check_base_dir, check_qlora
from .loop import build, train
from .measure import emission, model_device, roundtrip, score_texts
from .runtime import Runtime, StopSignals, make_runtime


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"hyperwords_bridge": __version__, "python": sys.version.split()[0]}
    for dist in ("torch", "transformers", "peft", "tokenizers", "safetensors", "accelerate"):
        try:
            out[dist] = version(dist)
        except Exception:  # noqa: BLE001
            out[dist] = "missing"
    return out


def _base_manifest(base_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((base_dir / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def merged_model(job: Job, trained: dict[str, Any]):
    """LoRA and token rows merged into plain weights (a 4-bit base is rebuilt in float32 first)."""
    import torch
    from peft import get_peft_model_state_dict, set_peft_model_state_dict

    peft_model = trained["model"]
    if job.qlora:
        adapter = get_peft_model_state_dict(peft_model)
        fp32 = build(job, quantized=False, measure=False, device=model_device(peft_model))["model"]
        set_peft_model_state_dict(fp32, adapter)
        peft_model = fp32
    peft_model.eval()
    probe = torch.tensor(
        [[separator_id(trained["tokenizer"])] + encode(trained["tokenizer"], job.heldout_texts[0])[:32]],
        device=model_device(peft_model),
    )
    with torch.no_grad():
        before = peft_model(input_ids=probe).logits
        merged = peft_model.merge_and_unload()
        after = merged(input_ids=probe).logits
    return merged, float((before - after).abs().max())


def save_adapter(job: Job, trained: dict[str, Any]) -> Path:
    dest = job.out_dir / "adapter"
    work = partial_dir(job.out_dir, "adapter")
    try:
        with events.redirect_stdout_to_stderr():
            # embeddings are not saved whole: the added rows travel as trainable-token rows
            trained["model"].save_pretrained(str(work), save_embedding_layers=False)
            trained["tokenizer"].save_pretrained(str(work))
        fsync_tree(work)
        install_dir(work, dest)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return dest


def _file_table(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        p.name: {"sha256": sha256_file(p), "size": p.stat().st_size}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MANIFEST
    }


def save_merged(job: Job, model, tokenizer, lineage: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """``out_dir/merged``: safetensors, tokenizer, config and a ``hyperwords-model.json`` like a pulled model's."""
    from transformers import AutoTokenizer

    dest = job.out_dir / "merged"
    work = partial_dir(job.out_dir, "merged")
    try:
        with events.redirect_stdout_to_stderr():
            model.save_pretrained(str(work), safe_serialization=True)
            tokenizer.save_pretrained(str(work))
            reloaded = AutoTokenizer.from_pretrained(str(work), local_files_only=True)
        lineage["checks"]["roundtrip"] = roundtrip(reloaded, [*job.train_texts, *job.heldout_texts])
        files = _file_table(work)
        manifest = {
            "schemaVersion": MANIFEST_SCHEMA_VERSION,
            "name": lineage["name"],
            "description": f"{lineage['base']['name']} fine-tuned on hyperwords (LoRA r={job.lora.rank}, {job.steps} steps)",
            "safetensors_sha256": files["model.safetensors"]["sha256"],
            "files": files,
            "sha256": folder_digest(files),
            **lineage,
            "versions": _versions(),
            "created": utc_now(),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
        fsync_tree(work)
        install_dir(work, dest)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return dest, manifest


def _write_json_atomic(path: Path, body: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def run(job: Job, stop: StopSignals, rt: Runtime | None = None) -> dict[str, Any]:
    """The whole job: train or resume, then adapter, merged model, checks, training.json.

    ``rt`` (default: ``make_runtime(job)``) says on which device and in how many processes; the final
    phase is the main process's, the others return after training."""
    import torch

    check_base_dir(job.base_dir)
    if job.qlora:
        check_qlora()
    rt = rt or make_runtime(job)
    if job.threads is not None:
        torch.set_num_threads(job.threads)  # after accelerate, which may set its own count on CPUs
    if rt.main:
        job.out_dir.mkdir(parents=True, exist_ok=True)
        clean_partials(job.out_dir)

    t_start = time.perf_counter()
    trained = train(job, stop, rt)
    if not rt.main:
        history = trained["state"]["history"]
        return {"rank": rt.rank, "processes": rt.world, "steps": job.steps, "final_loss": history[-1]["loss"]}
    state, tokenizer, vocab, timings = trained["state"], trained["tokenizer"], trained["vocab"], trained["timings"]
    final_task = "finish"
    events.progress(final_task, 0, 4, "steps")
    t_final = time.perf_counter()
    adapter_dir = save_adapter(job, trained)
    events.progress(final_task, 1, 4, "steps")
    merged, merge_diff = merged_model(job, trained)
    hw_ids = list(vocab.ids.values()) if vocab else []
    t_checks = time.perf_counter()
    tuned = score_texts(merged, tokenizer, job.heldout_texts, hw_ids)
    t_emission = time.perf_counter()
    emitted = emission(
        merged,
        tokenizer,
        job.image_prompts,
        hw_ids,
        job.gen_tokens,
        mode=job.emission_mode,
        samples_per_prompt=job.emission_samples,
        seed=job.seed,
    )
    t_saved = time.perf_counter()
    timings.update(
        adapter_and_merge_s=round(t_checks - t_final, 1),
        bpb_tuned_s=round(t_emission - t_checks, 1),
        emission_s=round(t_saved - t_emission, 1),
    )
    events.progress(final_task, 2, 4, "steps")

    measures = state["measures"]
    base = measures["bpb_base"]
    docs = list(job.heldout_docs) if job.heldout_docs is not None else list(range(len(job.heldout_texts)))
    heldout_cmp = heldout_stats.compare(
        heldout_stats.per_document(base["per_text_nats"], base["per_text_bytes"], docs),
        heldout_stats.per_document(tuned["per_text_nats"], tuned["per_text_bytes"], docs),
        seed=job.seed,
    )
    heldout_cmp["lines"] = len(job.heldout_texts)
    # tokens per byte of the held-out text under each tokenizer (superwords make the tuned one shorter)
    tokens_per_byte = {
        "base": base["tokens"] / base["bytes"],
        "tuned": tuned["tokens"] / tuned["bytes"],
        "saved": 1 - tuned["tokens"] / base["tokens"],
        "added_token_targets": tuned["hyperword_targets"],
    }
    curve = state.get("curve", [])
    history = state["history"]
    tokens_per_s = state["train_tokens"] / state["train_seconds"] if state["train_seconds"] else 0.0
    base_manifest = _base_manifest(job.base_dir)
    base_name = base_manifest.get("name") or job.base_dir.name
    data = {
        "train_sha256": texts_sha256(job.train_texts),
        "heldout_sha256": texts_sha256(job.heldout_texts),
        "train_texts": len(job.train_texts),
        "heldout_texts": len(job.heldout_texts),
    }
    lineage = {
        "name": job.name or f"{base_name}-ft",
        "base": {
            "name": base_name,
            "dir": str(job.base_dir),
            "sha256": base_manifest.get("sha256"),
            "safetensors_sha256": base_manifest.get("safetensors_sha256"),
        },
        "finetune": {
            "config": {k: v for k, v in job.training_config().items() if k not in ("train_sha256", "heldout_sha256")},
            "data": data,
            "seed": job.seed,
            "steps": job.steps,
            # part of the arithmetic: the same job on another thread count differs in the last bits
            "threads": torch.get_num_threads(),
            "final_loss": history[-1]["loss"],
            "hyperword_tokens": vocab.ids if vocab else {},
        },
        "checks": {
            "bpb_base": base["bits_per_byte"],
            "bpb_tuned": tuned["bits_per_byte"],
            "emission_rate": emitted["rate"],
            "emission_any": emitted["any"],
            "merge_max_abs_diff": merge_diff,
        },
    }
    merged_dir, manifest = save_merged(job, merged, tokenizer, lineage)
    timings["save_merged_s"] = round(time.perf_counter() - t_saved, 1)
    timings["total_s"] = round(time.perf_counter() - t_start, 1)
    events.progress(final_task, 3, 4, "steps")

    result = {
        "final_loss": history[-1]["loss"],
        "steps": job.steps,
        "bpb_base": base["bits_per_byte"],
        "bpb_tuned": tuned["bits_per_byte"],
        "bpb_ratio": tuned["bits_per_byte"] / base["bits_per_byte"],
        "heldout": heldout_cmp,
        "tokens_per_byte": tokens_per_byte,
        "superwords": job.superwords,
        "curve": curve,
        "emission_rate": emitted["rate"],
        "emission_any": emitted["any"],
        "init_comparison": measures.get("init_comparison"),
        "tokens_per_s": round(tokens_per_s, 1),
        "merged_dir": str(merged_dir),
        "adapter_dir": str(adapter_dir),
        "training_json": str(job.out_dir / "training.json"),
        "added_tokens": len(vocab.ids) if vocab else 0,
        "roundtrip": {k: v for k, v in lineage["checks"]["roundtrip"].items() if k != "examples"},
        "merge_max_abs_diff": merge_diff,
        "resumed_from": trained["resumed_from"],
        "peak_rss_mb": _peak_rss_mb(),
        "timings": timings,
        "device": str(rt.device),
        "processes": rt.world,
        "threads": torch.get_num_threads(),
    }
    training = {
        "schemaVersion": 1,
        **lineage,
        "loss_curve": history,
        "tokens_per_s": result["tokens_per_s"],
        "train_seconds": round(state["train_seconds"], 3),
        "train_tokens": state["train_tokens"],
        "heldout": {"base": base, "tuned": tuned, "by_documents": heldout_cmp},
        "heldout_curve": curve,
        "tokens_per_byte": tokens_per_byte,
        "init_comparison": measures.get("init_comparison"),
        "emission": emitted,
        "roundtrip": lineage["checks"]["roundtrip"],
        "peak_rss_mb": result["peak_rss_mb"],
        "timings": timings,
        "device": str(rt.device),
        "processes": rt.world,
        "merged_sha256": manifest["sha256"],
        "versions": _versions(),
        "created": utc_now(),
    }
    training_json = job.out_dir / "training.json"
    _write_json_atomic(training_json, training)
    events.progress(final_task, 4, 4, "steps")

    events.artifact("model-dir", str(merged_dir), manifest["sha256"], name=lineage["name"])
    events.artifact("adapter", str(adapter_dir), folder_digest(_file_table(adapter_dir)))
    events.artifact("training-log", str(training_json), sha256_file(training_json))
    rt = result["roundtrip"]
    events.log(
        f"done: loss {history[0]['loss']:.4f} → {result['final_loss']:.4f}, bpb base {result['bpb_base']:.4f} → "
        f"tuned {result['bpb_tuned']:.4f}, emission {result['emission_rate']:.3f}, "
        f"round trip {rt['texts'] - rt['failures']}/{rt['texts']}",
        "info" if rt["failures"] == 0 else "warn",
    )
    return result
