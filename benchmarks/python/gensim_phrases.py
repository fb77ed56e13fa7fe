"""The gensim anchor of `pnpm bench corpus`: multi-word units of the same poetry with Phrases.

Reads the corpora the way hyperwords does (JSON arrays, JSONL, CSV with multi-line fields, text
files), makes one sentence per non-empty poem line (gensim's simple_preprocess), learns Phrases
twice (pairs, then pairs of phrases: units of up to four words) with NPMI scoring, and exports the
phrases. Prints one JSON line: seconds, bytes read, phrases found, peak RSS in kB.
"""

import csv
import json
import os
import resource
import sys
import time

from gensim.models.phrases import Phrases
from gensim.utils import simple_preprocess

TEXT_FIELDS = ["text", "content", "poem_text", "poem", "body", "verse", "lyrics"]


def records(path):
    ext = os.path.splitext(path)[1].lower()
    with open(path, encoding="utf-8") as f:
        if ext in (".jsonl", ".ndjson"):
            for line in f:
                if line.strip():
                    yield json.loads(line)
        elif ext == ".json":
            yield from json.load(f)
        elif ext == ".csv":
            csv.field_size_limit(sys.maxsize)
            yield from csv.DictReader(f)
        else:
            yield {"text": f.read()}


def files(paths):
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, names in sorted(os.walk(path)):
                dirs.sort()
                for name in sorted(names):
                    if os.path.splitext(name)[1].lower() in (".txt", ".jsonl", ".ndjson", ".json", ".csv"):
                        yield os.path.join(root, name)
        else:
            yield path


def main():
    paths = sys.argv[1:]
    started = time.perf_counter()
    total = 0
    sentences = []
    for path in files(paths):
        total += os.path.getsize(path)
        for record in records(path):
            text = next((record[k] for k in TEXT_FIELDS if isinstance(record.get(k), str)), None)
            if text is None:
                continue
            for line in text.splitlines():
                tokens = simple_preprocess(line, min_len=1, max_len=40)
                if tokens:
                    sentences.append(tokens)
    pairs = Phrases(sentences, min_count=2, threshold=0.3, scoring="npmi")
    longer = Phrases(pairs[sentences], min_count=2, threshold=0.3, scoring="npmi")
    found = len(longer.export_phrases()) + len(pairs.export_phrases())
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "bytes": total, "phrases": found, "maxRssKb": peak}))


if __name__ == "__main__":
    main()
