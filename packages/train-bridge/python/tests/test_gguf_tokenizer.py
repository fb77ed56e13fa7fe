"""The SentencePiece → BPE rebuild reproduces llama.cpp's score-greedy merging (synthetic vocab)."""

import random

from hyperwords_bridge import gguf_tokenizer as gt

SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>"]
USER = ["  ", "\n"]
# Scores chosen so that score order differs from length order and from left-to-right order.
NORMAL = {
    "▁": -1, "a": -2, "b": -3, "c": -4, "d": -5,
    "ab": -10, "bc": -6, "abc": -12, "▁a": -7, "cd": -20, "bcd": -8, "▁ab": -30, "dd": -9, "ddd": -40,
}


def synthetic_vocab() -> gt.GgufVocab:
    tokens = SPECIALS + [f"<0x{b:02X}>" for b in range(256)] + USER + list(NORMAL)
    types = [gt.CONTROL] * 4 + [gt.BYTE] * 256 + [gt.USER_DEFINED] * len(USER) + [gt.NORMAL] * len(NORMAL)
    scores = [-1000.0] * 4 + [0.0] * 256 + [-1000.0] * len(USER) + [float(s) for s in NORMAL.values()]
    return gt.GgufVocab(
        model="llama", pre="default", tokens=tokens, token_types=types, scores=scores, merges=None,
        bos_id=2, eos_id=1, unk_id=3, pad_id=0, add_bos=True, add_eos=False, add_space_prefix=False,
        chat_template=None, context_length=128, extra={"architecture": "gemma3"},
    )  # fmt: skip


def llama_cpp_spm(text: str, vocab: gt.GgufVocab) -> list[int]:
    """llama.cpp's llm_tokenizer_spm, written plainly: user-defined tokens cut out first (longest
    first), spaces escaped to ▁, then repeatedly merge the adjacent pair whose concatenation is the
    highest-scoring token (leftmost on ties), then byte fallback for unknown symbols."""
    ids = {t: i for i, t in enumerate(vocab.tokens)}
    user = sorted((t for t, k in zip(vocab.tokens, vocab.token_types) if k == gt.USER_DEFINED), key=len, reverse=True)
    fragments: list[str | int] = [text]
    for u in user:
        out: list[str | int] = []
        for frag in fragments:
            if isinstance(frag, int):
                out.append(frag)
                continue
            pieces = frag.split(u)
            for j, piece in enumerate(pieces):
                if j:
                    out.append(ids[u])
                if piece:
                    out.append(piece)
        fragments = out
    result: list[int] = []
    for frag in fragments:
        if isinstance(frag, int):
            result.append(frag)
            continue
        symbols = list(frag.replace(" ", "▁"))
        while True:
            best = None
            for i in range(len(symbols) - 1):
                merged = symbols[i] + symbols[i + 1]
                if merged in ids and vocab.token_types[ids[merged]] == gt.NORMAL:
                    score = vocab.scores[ids[merged]]
                    if best is None or score > best[0]:
                        best = (score, i)
            if best is None:
                break
            i = best[1]
            symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
        for s in symbols:
            if s in ids:
                result.append(ids[s])
            else:
                result.extend(ids[f"<0x{b:02X}>"] for b in s.encode("utf-8"))
    return result


def test_merges_are_ranked_by_the_merged_tokens_score():
    v = synthetic_vocab()
    merges = gt.spm_merges(v.tokens, v.token_types, v.scores)
    assert merges[0] == ("b", "c")  # "bc" has the highest score of all merged tokens (-6)
    assert ("a", "bc") in merges and ("ab", "c") in merges  # every split of "abc"
    assert merges.index(("b", "c")) < merges.index(("▁", "a")) < merges.index(("bc", "d"))


def test_rebuilt_tokenizer_equals_llama_cpp_on_random_text():
    v = synthetic_vocab()
    tk = gt.build_tokenizer(v)
    rng = random.Random(7)
    alphabet = "abcd abcd  \né"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        assert tk.encode(text, add_special_tokens=False).ids == llama_cpp_spm(text, v), repr(text)


def test_bos_and_byte_fallback_and_roundtrip():
    v = synthetic_vocab()
    tk = gt.build_tokenizer(v)
    enc = tk.encode("abc é")
    assert enc.ids[0] == 2
    assert tk.decode(enc.ids, skip_special_tokens=True) == "abc é"
    assert tk.token_to_id("<0xC3>") in enc.ids  # "é" is not in the vocabulary


def test_save_writes_the_files_transformers_loads(tmp_path):
    from transformers import AutoTokenizer

    info = gt.save_tokenizer(synthetic_vocab(), tmp_path)
    assert info["tokenizer_class"] == "GemmaTokenizer"
    assert {p.name for p in tmp_path.iterdir()} >= {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}
    tok = AutoTokenizer.from_pretrained(str(tmp_path))
    assert tok("abcd  ab")["input_ids"] == [2, *llama_cpp_spm("abcd  ab", synthetic_vocab())]
    assert "token_type_ids" not in tok("abc")
