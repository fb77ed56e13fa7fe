import io
import json
from pathlib import Path

import pytest

from hyperwords_bridge import events

from .finetune_fixtures import tiny_base


@pytest.fixture
def event_stream():
    """Capture NDJSON events; returns a function giving the decoded events so far."""
    buf = io.StringIO()
    events.set_stream(buf)
    try:
        yield lambda: [json.loads(line) for line in buf.getvalue().splitlines()]
    finally:
        import sys

        events.set_stream(sys.stdout)


# tiny random Llama bases, built once per test module that asks
@pytest.fixture(scope="module")
def tied_base(tmp_path_factory) -> Path:
    return tiny_base(tmp_path_factory.mktemp("tied"), tied=True)


@pytest.fixture(scope="module")
def untied_base(tmp_path_factory) -> Path:
    return tiny_base(tmp_path_factory.mktemp("untied"), tied=False)


@pytest.fixture(scope="module", params=["gemma3_text", "llama"])
def probed_dir(request, tmp_path_factory) -> Path:
    """A tiny model of each family with its probe graph (lens top-5)."""
    from hyperwords_bridge import probe_graph as pg

    from .test_probe_graph import BUILDERS

    d = tmp_path_factory.mktemp(request.param)
    BUILDERS[request.param](d)
    pg.export_probe(d, k=5)
    return d
