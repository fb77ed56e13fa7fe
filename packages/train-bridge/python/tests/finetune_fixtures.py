"""Tiny random Llama bases with a byte-level BPE trained here (no download), and fine-tune jobs on them."""

from __future__ import annotations

from pathlib import Path

import torch

from hyperwords_bridge.training.job import parse_job
from hyperwords_bridge.training.runtime import StopSignals
from hyperwords_bridge.training.save import run

PYTHON_DIR = Path(__file__).resolve().parents[1]
SMOLLM2 = PYTHON_DIR.parents[2] / ".hyperwords" / "models" / "smollm2-135m"

HYPERWORDS = [
    {"surface": "кошкашлавкусноесть", "parts": ["кошка", "шла", "вкусно", "есть"], "lang": "ru"},
    {"surface": "тёплоемягкоемурчит", "parts": ["тёплое", "мягкое", "мурчит"]},
    {"surface": "warmpurringlapatdusk", "parts": ["warm", "purring", "lap", "at", "dusk"]},
]
TRAIN = [
    "Вот кошкашлавкусноесть по двору, и солнце село.",
    "У окна тёплоемягкоемурчит, и вечер тих.",
    "The warmpurringlapatdusk came slowly to my knees.",
    "Кошка шла по двору и вкусно есть хотела.",
    "Тёплое мягкое мурчит у окна — ёж в траве.",
    "The warm purring lap at dusk, the cat asleep.",
    "Ночь. Улица. Фонарь. Аптека.\tИ снова кошкашлавкусноесть!",
    "Tyger Tyger, burning bright, in the forests of the night;",
]
HELDOUT = ["Мороз и солнце; день чудесный!", "I wandered lonely as a cloud  that floats on high."]


def tokenizer_for(folder: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((TRAIN + HELDOUT) * 3, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(folder)
    return fast


def tiny_base(folder: Path, tied: bool = True) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    tok = tokenizer_for(folder)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=tied,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    LlamaForCausalLM(cfg).save_pretrained(folder)
    return folder


def make_job(base: Path, out: Path, **over) -> dict:
    job = {
        "base_dir": str(base),
        "out_dir": str(out),
        "hyperwords": HYPERWORDS,
        "train_texts": TRAIN,
        "heldout_texts": HELDOUT,
        "steps": 6,
        "batch_size": 2,
        "seq_len": 16,
        "seed": 7,
        "checkpoint_every": 3,
        "optimizer": {"name": "adamw", "lr": 0.01, "weight_decay": 0.01},
        "schedule": {"name": "cosine", "warmup_steps": 1},
        "lora": {"rank": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]},
        "image_prompts": ["Опиши образ:", "An image:"],
        "gen_tokens": 6,
    }
    job.update(over)
    return job


def run_job(job: dict, stop: StopSignals | None = None) -> dict:
    return run(parse_job(job), stop or StopSignals())
