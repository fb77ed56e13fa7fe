"""PyTorch anchors of `pnpm bench models`, run in the bridge venv.

    python models_torch.py generate MODEL_DIR --job JOB.json
    python models_torch.py probe    MODEL_DIR --job JOB.json

generate: JOB = {"prompts": [[ids...], ...], "new_tokens": N, "runs": R}. Greedy
  `model.generate` (float32, the model's default attention, eager mode, no compile) of exactly N
  new tokens per prompt; one warm-up pass, then R timed passes over all prompts.
probe: JOB = {"ids": [[ids...], ...], "tracked": [[ids...], ...], "batch": B, "k": K, "runs": R}.
  The tensors the probe graph returns, collected the PyTorch way: eager attention with
  output_attentions, forward hooks on the embedding and every decoder layer for the residual
  stream, and the logit lens (final norm, unembedding, log-softmax, top-k, tracked ids) on every
  collected state. One warm-up batch, then R timed passes over all prompts.

Prints one JSON line: {"seconds": [per timed run], "threads": torch threads, ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def load(model_dir: Path, eager: bool):
    import torch
    from transformers import AutoModelForCausalLM

    kwargs = {"dtype": torch.float32}
    if eager:
        kwargs["attn_implementation"] = "eager"
    return AutoModelForCausalLM.from_pretrained(str(model_dir), **kwargs).eval()


def bench_generate(model_dir: Path, job: dict) -> dict:
    import torch

    model = load(model_dir, eager=False)
    n = int(job["new_tokens"])
    prompts = [torch.tensor([p]) for p in job["prompts"]]

    def run() -> list[list[int]]:
        out = []
        with torch.inference_mode():
            for ids in prompts:
                g = model.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    do_sample=False,
                    max_new_tokens=n,
                    min_new_tokens=n,
                    pad_token_id=model.config.eos_token_id if model.config.pad_token_id is None else model.config.pad_token_id,
                )
                out.append(g[0, ids.shape[1] :].tolist())
        return out

    run()
    seconds = []
    for _ in range(int(job["runs"])):
        t0 = time.perf_counter()
        ids = run()
        seconds.append(time.perf_counter() - t0)
    return {
        "seconds": seconds,
        "tokens_per_run": sum(len(x) for x in ids),
        "threads": torch.get_num_threads(),
        "attn_implementation": model.config._attn_implementation,
    }


def bench_probe(model_dir: Path, job: dict) -> dict:
    import torch

    model = load(model_dir, eager=True)
    base = model.get_decoder()
    head = model.get_output_embeddings()
    n_layers = model.config.num_hidden_layers
    k = int(job["k"])
    batch = int(job["batch"])
    ids = torch.tensor(job["ids"])
    tracked = torch.tensor(job["tracked"])

    def forward(x: torch.Tensor, tr: torch.Tensor) -> None:
        states: list[torch.Tensor] = []
        # Gemma's embedding module applies its sqrt(H) scale itself, so its output is hidden_states[0]
        hooks = [base.embed_tokens.register_forward_hook(lambda _m, _a, o: states.append(o))]
        hooks += [
            layer.register_forward_hook(lambda _m, _a, o: states.append(o[0] if isinstance(o, tuple) else o))
            for layer in base.layers[:n_layers]
        ]
        try:
            out = model(input_ids=x, attention_mask=torch.ones_like(x), output_attentions=True, use_cache=False)
            assert len(out.attentions) == n_layers
            for hs in states:
                lp = torch.log_softmax(head(base.norm(hs)), -1)
                lp.topk(k, -1)
                lp.gather(2, tr[:, None, :].expand(-1, hs.shape[1], -1))
        finally:
            for h in hooks:
                h.remove()

    def run() -> None:
        with torch.inference_mode():
            for s in range(0, ids.shape[0], batch):
                forward(ids[s : s + batch], tracked[s : s + batch])

    with torch.inference_mode():
        forward(ids[:batch], tracked[:batch])  # warm-up
    seconds = []
    for _ in range(int(job["runs"])):
        t0 = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - t0)
    import resource

    # ru_maxrss is in kilobytes on Linux
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "threads": torch.get_num_threads(), "peak_rss_mb": peak}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["generate", "probe"])
    p.add_argument("model_dir", type=Path)
    p.add_argument("--job", type=Path, required=True)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    job = json.loads(args.job.read_text())
    result = bench_generate(args.model_dir, job) if args.mode == "generate" else bench_probe(args.model_dir, job)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
