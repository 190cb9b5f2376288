"""At most ``llm.max_concurrent`` answers ask the model at once; the others wait their turn, first come
first served, and know their place in the line ("waiting for the model (position 3)").

``ModelQueue`` counts within one process; ``RedisModelQueue`` counts across every worker sharing a Redis:
the line is a sorted set of waiting answers, the model's slots a sorted set of answers holding one, each
scored by when its hold expires. A holder renews its hold (``renew``) while it streams, so the slot of a
worker that died frees itself after ``HOLD_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from rag.llm.cancel import CancelToken

POLL_SECONDS = 0.1
"""How often a waiting answer looks at its place in the line."""
HOLD_SECONDS = 15.0
"""A slot not renewed for this long is free again (its worker died)."""

OnPosition = Callable[[int], None]
"""Called with the answer's place in the line (1 = next) whenever it changes while it waits."""


class ModelQueue:
    """The line for the model within one process."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._changed = threading.Condition()
        self._line: list[str] = []
        self._active: set[str] = set()

    def acquire(self, session_id: str, cancel: CancelToken, on_position: OnPosition) -> bool:
        """Wait for a slot; False (and out of the line) when ``cancel`` was set meanwhile."""
        shown = 0
        with self._changed:
            self._line.append(session_id)
            try:
                while True:
                    position = self._line.index(session_id) + 1
                    if position <= self.limit - len(self._active):
                        self._active.add(session_id)
                        return True
                    if cancel.cancelled:
                        return False
                    if position != shown:
                        shown = position
                        on_position(position)
                    self._changed.wait(POLL_SECONDS)
            finally:
                self._line.remove(session_id)
                self._changed.notify_all()

    def renew(self, session_id: str) -> None:
        """Nothing to renew within one process."""

    def release(self, session_id: str) -> None:
        """Give the slot back."""
        with self._changed:
            self._active.discard(session_id)
            self._changed.notify_all()


_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
local position = redis.call('ZRANK', KEYS[1], ARGV[1])
if not position then return -1 end
local free = tonumber(ARGV[3]) - redis.call('ZCARD', KEYS[2])
if position < free then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
  return 0
end
return position + 1
"""
"""KEYS: line, slots; ARGV: answer id, now, limit, hold expiry. 0: the slot is taken; n: place in the line."""


class RedisModelQueue:
    """The line for the model shared by every worker on one Redis."""

    def __init__(self, client: Any, limit: int, *, prefix: str = "rag:") -> None:
        self.limit = max(1, limit)
        self._redis = client
        self._line = f"{prefix}llm:line"
        self._slots = f"{prefix}llm:slots"
        self._take = client.register_script(_TAKE)

    def acquire(self, session_id: str, cancel: CancelToken, on_position: OnPosition) -> bool:
        """Wait for a slot; False (and out of the line) when ``cancel`` was set meanwhile."""
        self._redis.zadd(self._line, {session_id: time.time()}, nx=True)
        shown = 0
        try:
            while True:
                now = time.time()
                place = int(self._take(keys=[self._line, self._slots], args=[session_id, now, self.limit, now + HOLD_SECONDS]))
                if place == 0:
                    return True
                if place < 0:  # dropped from the line (Redis restarted): queue again
                    self._redis.zadd(self._line, {session_id: now}, nx=True)
                    continue
                if cancel.cancelled:
                    return False
                if place != shown:
                    shown = place
                    on_position(place)
                time.sleep(POLL_SECONDS)
        finally:
            self._redis.zrem(self._line, session_id)

    def renew(self, session_id: str) -> None:
        """Keep the slot while streaming (``xx``: only a slot still held)."""
        self._redis.zadd(self._slots, {session_id: time.time() + HOLD_SECONDS}, xx=True)

    def release(self, session_id: str) -> None:
        """Give the slot back."""
        self._redis.zrem(self._slots, session_id)
