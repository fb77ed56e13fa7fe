"""Anchor of `pnpm bench train`: a plain peft training loop with the fine-tune job's settings.

    python train_peft.py JOB.json

Reads the same job JSON the bridge's worker gets (base_dir, hyperwords, train_texts, lora,
optimizer, steps, batch_size, seq_len, seed) and does the same work with nothing around it: added
tokens initialised from their parts, LoRA + trainable token rows, AdamW, causal-LM loss on
packed blocks. It is written independently of hyperwords_bridge.finetune on purpose (an anchor
must not share the code it measures). Prints one JSON line: per-step seconds and peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer


def main() -> None:
    job = json.load(open(sys.argv[1], encoding="utf-8"))
    if job.get("threads"):
        torch.set_num_threads(int(job["threads"]))
    torch.manual_seed(job.get("seed", 0))
    tok = AutoTokenizer.from_pretrained(job["base_dir"], local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(job["base_dir"], dtype=torch.float32, local_files_only=True)
    words = [h["surface"] for h in job["hyperwords"]]
    parts = {h["surface"]: h["parts"] for h in job["hyperwords"]}
    tok.add_tokens(words)
    model.resize_token_embeddings(len(tok), mean_resizing=False)
    emb = model.get_input_embeddings().weight
    ids = [tok.convert_tokens_to_ids(w) for w in words]
    with torch.no_grad():
        for w, i in zip(words, ids):
            pieces = [p for part in parts[w] for p in tok.encode(" " + part, add_special_tokens=False)]
            emb[i] = emb[pieces].mean(0)
    lora = job.get("lora", {})
    model = get_peft_model(
        model,
        LoraConfig(
            r=lora.get("rank", 8),
            lora_alpha=lora.get("alpha", 16),
            lora_dropout=lora.get("dropout", 0.05),
            target_modules=lora.get("target_modules", ["q_proj", "k_proj", "v_proj", "o_proj"]),
            trainable_token_indices=sorted(ids),
            task_type="CAUSAL_LM",
        ),
    )
    eos = tok.eos_token_id if tok.eos_token_id is not None else 0
    stream: list[int] = []
    for t in job["train_texts"]:
        stream += [eos, *tok.encode(t, add_special_tokens=False)]
    n = min(job.get("seq_len", 128), len(stream))
    blocks = [stream[i : i + n] for i in range(0, len(stream) - n + 1, n)]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=job.get("optimizer", {}).get("lr", 2e-4))
    rng = np.random.default_rng(job.get("seed", 0))
    bs = job.get("batch_size", 4)
    model.train()
    seconds = []
    for _ in range(job["steps"]):
        t0 = time.perf_counter()
        batch = torch.tensor([blocks[i] for i in rng.integers(0, len(blocks), bs)])
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - t0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"step_seconds": seconds, "tokens_per_step": bs * n, "peak_rss_mb": round(peak_mb, 1)}))


if __name__ == "__main__":
    main()
