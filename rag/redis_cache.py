"""The response cache in Redis, shared by every worker (``state.backend: redis``).

Each answer is a JSON string under ``{prefix}cached:{key}`` with a time to live; a sorted set
``{prefix}cached`` scores the keys by last use, and a write that takes the cache past ``max_items``
removes the least recently used. A Redis that does not answer makes a miss (and a write is skipped):
the answer is then made by the model, never refused.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import redis

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 30 * 24 * 3600
"""An answer not asked for again within 30 days is forgotten."""


class RedisResponseCache:
    """Complete answers by key in Redis, least recently used removed beyond ``max_items``."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        max_items: int = 10_000,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        prefix: str = "rag:",
    ) -> None:
        self._redis = client
        self._max_items = max(1, max_items)
        self._ttl = max(1, ttl_seconds)
        self._used = f"{prefix}cached"
        self._prefix = f"{prefix}cached:"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer, or None (also when Redis does not answer)."""
        try:
            raw = self._redis.get(self._prefix + key)
            if raw is None:
                return None
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(self._used, {key: time.time()})
                pipe.expire(self._prefix + key, self._ttl)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("shared answer cache read failed: %s", exc)
            return None
        try:
            value = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        """Store a complete answer (JSON-safe mapping); beyond ``max_items`` the least recently used go."""
        blob = json.dumps(dict(value), default=str, ensure_ascii=False)
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._prefix + key, blob, ex=self._ttl)
                pipe.zadd(self._used, {key: time.time()})
                pipe.zcard(self._used)
                count = pipe.execute()[-1]
            if count > self._max_items:
                self._evict(count - self._max_items)
        except redis.RedisError as exc:
            log.warning("shared answer cache write failed: %s", exc)

    def _evict(self, count: int) -> None:
        oldest = [member for member, _ in self._redis.zpopmin(self._used, count)]
        if oldest:
            self._redis.delete(*(self._prefix + member.decode() for member in oldest))

    def clear(self) -> None:
        """Forget every answer, for every worker."""
        keys = list(self._redis.scan_iter(f"{self._prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            self._redis.delete(*keys[start:start + 1000])
        self._redis.delete(self._used)

    def __len__(self) -> int:
        return int(self._redis.zcard(self._used))

    def close(self) -> None:
        """Nothing to release: the connection belongs to the answer buffer."""
