"""The response cache in front of the engine: a repeated question is answered at once.

The key covers everything that can change an answer: the dataset's content hash, the backend,
its URL and model, the generation and retrieval settings, the normalised question and the
conversation before it. Entries live in memory (LRU, ``cachetools``) and on disk
(``diskcache``), so they survive a restart; with several workers they live in Redis instead
(``rag.redis_cache``). Only complete answers are ever stored.

An entry is the answer's recorded events (``{"events": [{"type": "text", ...}, ...]}``, see
``rag.answer_events``): ``store_answer`` keeps them, ``cached_answer`` gives them back to replay through the
same sink as a fresh answer. Entries of the older form (``{"text", "sources", "metrics", "meta"}``) are read
as the events they stand for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol, Sequence

import cachetools
import diskcache

log = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")


def normalise_question(question: str) -> str:
    """Case, Unicode form, spacing and trailing punctuation do not make a new question."""
    text = unicodedata.normalize("NFKC", question).casefold().strip()
    text = _SPACES.sub(" ", text)
    return text.rstrip(" ?!.")


def answer_key(
    *,
    dataset_hash: str,
    llm: Mapping[str, Any],
    retrieval: Mapping[str, Any],
    question: str,
    history: Sequence[Mapping[str, str]] = (),
) -> str:
    """The cache key of one answer."""
    payload = {
        "dataset": dataset_hash,
        "llm": dict(llm),
        "retrieval": dict(retrieval),
        "question": normalise_question(question),
        "history": [[turn.get("role", ""), _SPACES.sub(" ", turn.get("content", "").strip())] for turn in history],
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class AnswerCache(Protocol):
    """What the engine needs of a response cache."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: Mapping[str, Any]) -> None: ...

    def clear(self) -> None: ...


def store_answer(cache: AnswerCache, key: str, events: Iterable[Any]) -> None:
    """Keep a finished answer's events (``rag.answer_events.to_records``: not its waits nor its reasoning)."""
    from rag.answer_events import to_records

    cache.put(key, {"events": to_records(events)})


def cached_answer(cache: AnswerCache, key: str) -> list[Any] | None:
    """The recorded events of the answer under ``key`` (an entry of the older form converted), or None."""
    from rag.answer_events import cached_events

    return cached_events(cache.get(key))


class ResponseCache:
    """Complete answers by key, in memory and optionally on disk."""

    def __init__(self, directory: str | Path | None = None, *, max_items: int = 512, max_disk_bytes: int = 256 * 2**20) -> None:
        self._memory: cachetools.LRUCache[str, dict[str, Any]] = cachetools.LRUCache(maxsize=max_items)
        self._lock = threading.Lock()
        self._disk: diskcache.Cache | None = None
        if directory is not None:
            try:
                self._disk = diskcache.Cache(str(directory), size_limit=max_disk_bytes)
            except Exception as exc:  # a read-only or broken folder must not take the app down
                log.warning("answer cache on disk disabled (%s): %s", directory, exc)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer, or None."""
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                return dict(hit)
        if self._disk is None:
            return None
        try:
            raw = self._on_disk(lambda disk: disk.get(key))
        except Exception as exc:
            log.warning("answer cache read failed: %s", exc)
            return None
        if not isinstance(raw, str):
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return None
        with self._lock:
            self._memory[key] = value
        return dict(value)

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        """Store a complete answer (JSON-safe mapping)."""
        stored = json.loads(json.dumps(dict(value), default=str))
        with self._lock:
            self._memory[key] = stored
        if self._disk is not None:
            try:
                self._on_disk(lambda disk: disk.set(key, json.dumps(stored)))
            except Exception as exc:
                log.warning("answer cache write failed: %s", exc)

    def clear(self) -> None:
        """Forget every answer, in memory and on disk."""
        with self._lock:
            self._memory.clear()
        if self._disk is not None:
            self._on_disk(lambda disk: disk.clear())

    def _on_disk(self, action: Any) -> Any:
        """Run ``action(disk)``, then close this thread's database connection: diskcache opens one per
        thread and keeps it, and answers run in threads of their own, so the app leaked two file
        descriptors per answer (waitress fails past 1,024)."""
        assert self._disk is not None
        try:
            return action(self._disk)
        finally:
            self._disk.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._memory)

    def close(self) -> None:
        """Release the disk cache."""
        if self._disk is not None:
            self._disk.close()
