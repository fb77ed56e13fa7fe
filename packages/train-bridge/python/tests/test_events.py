from hyperwords_bridge import events


def test_each_event_is_one_json_line(event_stream):
    events.progress("download wheels", 5, 10)
    events.log("привет 🐈")
    events.artifact("model-dir", "/m", "ab" * 32, name="x")
    events.error("boom", "download-failed")
    events.done({"ok": True})
    got = event_stream()
    assert [e["type"] for e in got] == ["progress", "log", "artifact", "error", "done"]
    assert got[0] == {"type": "progress", "task": "download wheels", "done": 5, "total": 10, "unit": "bytes"}
    assert got[1] == {"type": "log", "level": "info", "message": "привет 🐈"}
    assert got[2]["kind"] == "model-dir" and got[2]["name"] == "x"
    assert got[3]["code"] == "download-failed"


def test_throttle_always_reports_the_end(event_stream):
    bar = events.Throttle("t", None, interval=3600).start()
    bar.add(3)
    bar.add(4)
    bar.finish()
    got = event_stream()
    assert got[0]["done"] == 0 and got[-1]["done"] == 7 and got[-1]["total"] == 7


def test_redirect_keeps_prints_off_the_event_stream(event_stream, capsys):
    with events.redirect_stdout_to_stderr():
        print("library noise")
    captured = capsys.readouterr()
    assert "library noise" in captured.err and "library noise" not in captured.out
