"""The answer buffer the settings ask for: this process's, or one in Redis shared by several workers."""

from __future__ import annotations

from typing import Any

import redis

from rag.errors import ConfigError
from rag.settings import StateSettings
from rag.stream_buffer import get_stream_buffer

SHARED_STATE_ERRORS = (redis.RedisError,)
"""What a read or write of the shared state raises when Redis is away."""
SHARED_STATE_DOWN = "The app's shared state (Redis) is not reachable; retrying…"


def make_stream_buffer(state: StateSettings) -> Any:
    """The process-wide ``StreamBuffer`` (``state.backend: memory``) or a ``RedisStreamBuffer`` on
    ``state.redis_url``; raises ``ConfigError`` when Redis does not answer."""
    if state.backend != "redis":
        return get_stream_buffer()
    from rag.redis_buffer import RedisStreamBuffer

    buffer = RedisStreamBuffer.from_url(state.redis_url)
    try:
        buffer.ping()
    except redis.RedisError as exc:
        raise ConfigError(f"state.redis_url: Redis at {state.redis_url} does not answer ({exc})") from exc
    return buffer
