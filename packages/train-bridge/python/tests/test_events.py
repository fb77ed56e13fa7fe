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


def _raise(exc):
    def work():
        raise exc

    return work


def test_run_main_turns_each_outcome_into_one_event_and_an_exit_code(event_stream, capsys):
    assert events.run_main(lambda: {"ok": 1}) == 0
    assert events.run_main(_raise(events.BridgeError("no such folder", "bad-base-dir"))) == 1
    assert events.run_main(_raise(KeyboardInterrupt()), interrupted="interrupted; rerun") == 130
    assert events.run_main(_raise(SystemExit("not a model folder")), bad_model_dir=True) == 2
    assert events.run_main(_raise(ValueError("odd")), unexpected="export-failed") == 1
    got = event_stream()
    assert got[0] == {"type": "done", "result": {"ok": 1}}
    assert [(e["code"], e["message"]) for e in got[1:]] == [
        ("bad-base-dir", "no such folder"),
        ("cancelled", "interrupted; rerun"),
        ("bad-model-dir", "not a model folder"),
        ("export-failed", "ValueError: odd"),
    ]
    assert "Traceback" in capsys.readouterr().err  # an unexpected failure keeps its trace for the caller


def test_run_main_lets_a_handler_report_its_own_errors_and_passes_plain_exits_on(event_stream):
    def handle(exc):
        if isinstance(exc, LookupError):
            events.error(str(exc), "gguf-bad-header")
            return 1
        return None

    assert events.run_main(_raise(LookupError("bad magic")), handle=handle) == 1
    assert events.run_main(_raise(TypeError("other")), handle=handle) == 1
    assert [e["code"] for e in event_stream()] == ["gguf-bad-header", "internal"]
    try:
        events.run_main(_raise(SystemExit("usage")))
        raise AssertionError("a SystemExit without bad_model_dir must pass on")
    except SystemExit as exc:
        assert exc.code == "usage"
