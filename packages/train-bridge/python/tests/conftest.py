import io
import json

import pytest

from hyperwords_bridge import events


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
