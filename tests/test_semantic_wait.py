"""How long a question waits for semantic search still being built, on a scripted clock."""

from __future__ import annotations

from rag.semantic_wait import expected_wait, wait_until_ready


class Embedding:
    """Semantic search being built at ``rate`` texts a second of a scripted clock."""

    def __init__(self, total: int, rate: float, done: int = 0) -> None:
        self.total, self.rate, self.done, self.now = total, rate, float(done), 0.0

    def progress(self) -> tuple[int, int] | None:
        return None if self.done >= self.total else (int(self.done), self.total)

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.done = min(self.total, self.done + self.rate * seconds)

    def clock(self) -> float:
        return self.now


def test_the_wait_is_estimated_from_the_progress_seen() -> None:
    embedding = Embedding(total=1000, rate=100)
    wait = expected_wait(embedding.progress, sleep=embedding.sleep, clock=embedding.clock)
    assert wait is not None and 8.5 <= wait <= 9.5  # 900 texts left at 100 a second


def test_progress_by_batches_is_watched_until_it_moves() -> None:
    class Batches(Embedding):
        def progress(self) -> tuple[int, int] | None:  # a batch of 64 every 2 s: 32 texts a second
            return None if self.done >= self.total else (int(self.now // 2) * 64, self.total)

    embedding = Batches(total=640, rate=0)
    wait = expected_wait(embedding.progress, sleep=embedding.sleep, clock=embedding.clock)
    assert wait is not None and 15 <= wait <= 20 and 2.0 <= embedding.now <= 2.2  # 576 left, seen after one batch


def test_no_progress_gives_no_estimate_and_a_ready_search_none_to_wait() -> None:
    stalled = Embedding(total=1000, rate=0)
    assert expected_wait(stalled.progress, sleep=stalled.sleep, clock=stalled.clock) is None
    assert 5.0 <= stalled.now <= 5.2  # watched for the longest look
    ready = Embedding(total=10, rate=0, done=10)
    assert expected_wait(ready.progress, sleep=ready.sleep, clock=ready.clock) == 0.0


def test_waiting_ends_when_ready_showing_each_new_percentage() -> None:
    embedding = Embedding(total=100, rate=50)
    shown: list[int] = []
    ready = wait_until_ready(embedding.progress, 5.0, stopped=lambda: False, on_progress=shown.append,
                             sleep=embedding.sleep, clock=embedding.clock)
    assert ready and shown[0] == 0 and shown == sorted(set(shown)) and len(shown) > 3


def test_waiting_gives_up_at_the_deadline_or_when_stopped() -> None:
    slow = Embedding(total=1000, rate=10)
    assert not wait_until_ready(slow.progress, 2.0, stopped=lambda: False, on_progress=lambda _: None,
                                sleep=slow.sleep, clock=slow.clock)
    assert 2.0 <= slow.now < 2.2
    stopped = Embedding(total=1000, rate=10)
    assert not wait_until_ready(stopped.progress, 60.0, stopped=lambda: stopped.now > 1, on_progress=lambda _: None,
                                sleep=stopped.sleep, clock=stopped.clock)
    assert stopped.now < 1.3
