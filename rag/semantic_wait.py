"""Whether a question no keyword matches should wait for semantic search still being built.

Right after an upload, questions are answered by keyword search while the records are embedded. A question
whose words no record contains ("Describe every car in detail") finds nothing then, though semantic search
would find records a few seconds later. ``expected_wait`` estimates, from the embedding's progress seen over
a short look, how long the rest will take; the engine waits for it when that is within ``WAIT_LIMIT_SECONDS``
and answers with the keyword stage's note only beyond it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Progress = Callable[[], "tuple[int, int] | None"]

WAIT_LIMIT_SECONDS = 15.0
"""The longest expected wait for semantic search a question takes instead of the keyword stage's answer."""
LOOK_SECONDS = 1.0
"""How long the embedding's progress is watched, at least, to estimate its speed."""
POLL_SECONDS = 0.1


def indexing_percent(progress: tuple[int, int]) -> int:
    """How much of semantic search is built, in whole percents, from its ``(done, total)`` progress."""
    done, total = progress
    return 100 * done // max(total, 1)


def expected_wait(progress: Progress, limit: float = WAIT_LIMIT_SECONDS, *, look: float = LOOK_SECONDS,
                  sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> float | None:
    """Seconds until semantic search is ready, from its progress watched for ``look`` seconds, and longer until
    it moves at all (a batch at a time), up to a third of ``limit`` (slower than that, the rest would take
    longer than ``limit``): 0 when it is ready already (``progress()`` is None), None when it did not move."""
    max_look = limit / 3
    first = progress()
    if first is None:
        return 0.0
    started = clock()
    last = first
    while clock() - started < max_look and (clock() - started < look or last[0] == first[0]):
        sleep(POLL_SECONDS)
        current = progress()
        if current is None:
            return 0.0
        last = current
    done = last[0] - first[0]
    elapsed = clock() - started
    if done <= 0 or elapsed <= 0:
        return None
    return (last[1] - last[0]) / (done / elapsed)


def wait_until_ready(progress: Progress, deadline_seconds: float, *, stopped: Callable[[], bool],
                     on_progress: Callable[[int], None], sleep: Callable[[float], None] = time.sleep,
                     clock: Callable[[], float] = time.monotonic) -> bool:
    """Wait until ``progress()`` is None (semantic search ready); True then, False at the deadline or when
    ``stopped()``. ``on_progress(percent)`` hears each new percentage."""
    deadline = clock() + deadline_seconds
    shown = -1
    while clock() < deadline:
        state = progress()
        if state is None:
            return True
        if stopped():
            return False
        percent = indexing_percent(state)
        if percent != shown:
            shown = percent
            on_progress(percent)
        sleep(POLL_SECONDS)
    return progress() is None
