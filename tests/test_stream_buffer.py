import threading
import time

import pytest

from rag.stream_buffer import StreamBuffer, get_stream_buffer


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_reader_gets_only_what_is_new_since_its_offset():
    buffer = StreamBuffer()
    buffer.start("s", question="q")
    buffer.append("s", "Hel")
    first = buffer.read("s", 0)
    assert (first.text, first.offset, first.status) == ("Hel", 3, "streaming")
    buffer.append("s", "lo ")
    buffer.append("s", "world")
    second = buffer.read("s", first.offset)
    assert (second.text, second.offset) == ("lo world", 11)
    assert buffer.read("s", second.offset).text == ""
    assert second.meta == {"question": "q"}


def test_finish_keeps_text_and_error_and_ignores_later_writes():
    buffer = StreamBuffer()
    buffer.start("s")
    buffer.append("s", "partial")
    buffer.finish("s", status="error", error="server went away", metrics={"tokens": 1})
    buffer.append("s", " more")
    buffer.finish("s", status="done")
    snap = buffer.read("s", 0)
    assert snap.text == "partial"
    assert snap.is_complete and snap.status == "error" and snap.error == "server went away"
    assert snap.metrics == {"tokens": 1}


def test_sources_meta_and_thinking_are_kept_apart_from_the_text():
    buffer = StreamBuffer()
    buffer.start("s")
    buffer.set_sources("s", [{"record_id": "$[1]"}])
    buffer.append_thinking("s", "let me think")
    buffer.update_meta("s", cached=True)
    buffer.append("s", "answer")
    snap = buffer.read("s", 0)
    assert snap.text == "answer"
    assert snap.sources == [{"record_id": "$[1]"}]
    assert snap.meta["cached"] is True
    assert buffer.thinking("s") == "let me think"


def test_unknown_session_reads_none_and_bad_status_is_refused():
    buffer = StreamBuffer()
    assert buffer.read("missing") is None
    buffer.start("s")
    with pytest.raises(ValueError):
        buffer.finish("s", status="streaming")


def test_abandoned_sessions_expire_after_the_ttl():
    clock = FakeClock()
    buffer = StreamBuffer(ttl=10, clock=clock)
    buffer.start("old")
    clock.now = 5
    buffer.start("young")
    clock.now = 12
    assert buffer.read("old") is None
    assert buffer.read("young") is not None
    assert len(buffer) == 1


def test_beyond_the_count_the_finished_answers_read_longest_ago_go_first_and_none_still_streaming():
    clock = FakeClock()
    buffer = StreamBuffer(ttl=900, clock=clock, max_sessions=3)
    buffer.start("streaming-old")  # never finished: kept whatever its age
    for sid in ("done-1", "done-2"):
        buffer.start(sid)
        buffer.append(sid, "answer")
        buffer.finish(sid)
    clock.now = 30
    assert buffer.read("done-1") is not None  # done-1 is read again: now the newer of the two
    clock.now = 100
    buffer.start("new-1")
    assert len(buffer) == 3 and buffer.read("done-2") is None, "the finished answer read longest ago goes"
    assert buffer.read("done-1") is not None  # its page fetches it now
    clock.now = 120
    buffer.start("new-2")
    assert len(buffer) == 4 and buffer.read("done-1") is not None, "read within a minute: kept, over the count"
    clock.now = 200
    buffer.start("new-3")
    assert buffer.read("done-1") is None and buffer.read("streaming-old") is not None
    assert len(buffer) == 4, "answers still streaming are never dropped for the count"


def test_concurrent_writers_and_readers_lose_nothing():
    buffer = StreamBuffer()
    sessions = [f"s{i}" for i in range(8)]
    for sid in sessions:
        buffer.start(sid)

    def write(sid):
        for i in range(500):
            buffer.append(sid, f"{i},")
        buffer.finish(sid)

    collected = {sid: "" for sid in sessions}

    def read(sid):
        offset = 0
        while True:
            snap = buffer.read(sid, offset)
            collected[sid] += snap.text
            offset = snap.offset
            if snap.is_complete and not snap.text:
                return

    threads = [threading.Thread(target=write, args=(s,)) for s in sessions]
    threads += [threading.Thread(target=read, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    expected = "".join(f"{i}," for i in range(500))
    assert all(collected[sid] == expected for sid in sessions)


def test_process_wide_buffer_is_one_object():
    assert get_stream_buffer() is get_stream_buffer()


def test_a_reader_waiting_for_a_change_wakes_when_the_first_token_arrives():
    buffer = StreamBuffer()
    buffer.start("s", question="q")
    seen = buffer.read("s", 0).version
    assert buffer.wait_for_change("s", seen, timeout=0.05) is False, "nothing changed: the wait times out"
    assert 0.15 < seconds_until_woken(buffer, "s", seen) < 1.0, "woken by the append, not by the 5 s timeout"
    after = buffer.read("s", 0)
    assert after.version != seen and after.text == "First"


def seconds_until_woken(buffer, session_id: str, seen: int) -> float:
    """How long a reader waiting for a change of ``seen`` waits when "First" is appended after 0.2 s."""
    woke: list[float] = []

    def reader() -> None:
        started = time.monotonic()
        buffer.wait_for_change(session_id, seen, timeout=5)
        woke.append(time.monotonic() - started)

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.2)
    buffer.append(session_id, "First")
    thread.join(timeout=5)
    assert woke, "the reader never woke"
    return woke[0]


@pytest.mark.parametrize("change", [
    lambda b: b.set_sources("s", [{"id": "r1"}]),
    lambda b: b.set_computed("s", {"summary": "3 of 9"}),
    lambda b: b.update_meta("s", waiting=None),
    lambda b: b.append_thinking("s", "hmm"),
    lambda b: b.finish("s", status="error", error="cut"),
    lambda b: b.discard("s"),
])
def test_every_kind_of_change_ends_a_wait(change):
    buffer = StreamBuffer()
    buffer.start("s")
    seen = buffer.read("s", 0).version
    change(buffer)
    assert buffer.wait_for_change("s", seen, timeout=0) is True


def test_a_restarted_session_never_repeats_an_old_version():
    buffer = StreamBuffer()
    buffer.start("s")
    buffer.append("s", "abc")
    old = buffer.read("s", 0).version
    buffer.start("s")
    assert buffer.read("s", 0).version > old
