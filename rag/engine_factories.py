"""The engine's parts made from the settings: the response cache, the model's line, the load board, the
dataset store and the LLM clients. With a Redis connection (several workers) the shared kinds are made."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.cache import AnswerCache, ResponseCache
from rag.dataset_store import DatasetStore
from rag.llm.base import LLMClient
from rag.settings import LLMSettings, Settings

if TYPE_CHECKING:
    import redis

    from rag.model_queue import ModelQueue, RedisModelQueue
    from rag.redis_buffer import RedisLoadBoard


def make_cache(settings: Settings, shared_state: redis.Redis | None) -> AnswerCache | None:
    """The response cache: in this process and on disk, or in Redis shared by every worker."""
    cache = settings.cache
    if not cache.enabled:
        return None
    if shared_state is not None:
        from rag.redis_cache import RedisResponseCache

        return RedisResponseCache(shared_state, max_items=cache.shared_max_answers)
    return ResponseCache(settings.cache_dir() / "answers", max_items=cache.max_answers)


def make_model_queue(settings: Settings, shared_state: redis.Redis | None) -> ModelQueue | RedisModelQueue | None:
    """The line for the model (``llm.max_concurrent``): in this process, or shared through Redis."""
    limit = settings.llm.max_concurrent
    if limit is None:
        return None
    from rag.model_queue import ModelQueue, RedisModelQueue

    return RedisModelQueue(shared_state, limit) if shared_state is not None else ModelQueue(limit)


def make_load_board(shared_state: redis.Redis | None) -> RedisLoadBoard | None:
    """With a buffer in Redis: where each tab's load is shown to the other workers."""
    if shared_state is None:
        return None
    from rag.redis_buffer import RedisLoadBoard

    return RedisLoadBoard(shared_state)


def make_store(settings: Settings) -> DatasetStore | None:
    """The dataset store on disk (None when caching is off or ``data.store_max_gb`` is 0)."""
    data = settings.data
    if not settings.cache.enabled or data.store_max_gb <= 0:
        return None
    return DatasetStore(settings.cache_dir() / "datasets", max_bytes=int(data.store_max_gb * 1024**3))


def create_client(llm: LLMSettings) -> LLMClient:
    """The LLM client for ``llm`` (the default client factory)."""
    from rag.llm import create_client as create

    return create(llm)
