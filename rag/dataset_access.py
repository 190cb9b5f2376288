"""Which scope may use which dataset, and who owns an answer or a loading job.

A **scope** is who is asking: ``user:<name>`` when there is sign-in, ``browser:<random id>`` otherwise (see
``dashboard.visitors``), or ``""`` for everybody when visitors are not isolated (one analyst on loopback).

``DatasetAccess`` records which scope loaded or opened which dataset, and when; a scope may use a dataset it
recorded, or one shared with everyone by a scope that loaded it. The records are kept where the rest of the
app's state is: in Redis when the workers share it (``RedisAccessBook``), else in ``dataset_access.json`` in
the cache folder (``JsonAccessBook``), or in memory when caching is off (``MemoryAccessBook``).

``Owners`` remembers the scope that started each answer and each loading job (Redis keys with a time to live,
or an LRU map in this process), so that a poll or a Stop from another scope is refused.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cachetools import TTLCache

from rag.dataset_store import is_dataset_id

log = logging.getLogger(__name__)

EVERYBODY = ""
"""The one scope of an app whose visitors are not isolated."""
ACCESS_FILE = "dataset_access.json"
MAX_DATASETS_PER_SCOPE = 200
"""Datasets remembered per scope (the least recently used are forgotten first)."""
MAX_SCOPES = 10_000
"""Scopes remembered in memory or in the file (the least recently active are forgotten first)."""
SCOPE_TTL_SECONDS = 180 * 24 * 3600
"""A scope's records in Redis outlive its last load or opening by this long."""
ANSWER = "answer"
JOB = "job"
OWNER_TTL_SECONDS = 24 * 3600
"""How long the owner of an answer or a loading job is remembered (longer than either is kept)."""
MAX_OWNERS = 100_000
"""Owners remembered in one process (least recently used forgotten first)."""


@dataclass(frozen=True)
class DatasetUse:
    """A dataset a scope may use, as its Recent list shows it."""

    dataset_id: str
    at: float
    """When the scope last loaded or opened it (or when it was shared, for a dataset shared with it)."""
    loaded: bool
    """The scope loaded the file itself: it may share the dataset with everyone."""
    shared: bool
    """Shared with everyone."""


class AccessBook(Protocol):
    """Where the records are kept: ``{scope: {dataset_id: {"at", "loaded"}}}`` and ``{dataset_id: {"by", "at"}}``
    for the datasets shared with everyone."""

    def uses(self, scope: str) -> dict[str, dict[str, Any]]: ...

    def put(self, scope: str, dataset_id: str, record: dict[str, Any]) -> None: ...

    def shared(self) -> dict[str, dict[str, Any]]: ...

    def set_shared(self, dataset_id: str, record: dict[str, Any] | None) -> None: ...


class DatasetAccess:
    """Which scope may use which dataset."""

    def __init__(self, book: AccessBook, *, clock: Callable[[], float] = time.time) -> None:
        self._book = book
        self._clock = clock

    def record(self, scope: str, dataset_id: str, *, loaded: bool) -> None:
        """``scope`` loaded (``loaded``) or opened ``dataset_id`` now. A scope that loaded a file once keeps the
        right to share it."""
        if not is_dataset_id(dataset_id):
            return
        before = self._book.uses(scope).get(dataset_id) or {}
        self._book.put(scope, dataset_id, {"at": self._clock(), "loaded": bool(loaded or before.get("loaded"))})

    def may_use(self, scope: str, dataset_id: Any) -> bool:
        """Whether ``scope`` recorded ``dataset_id`` or it is shared with everyone."""
        if not is_dataset_id(dataset_id):
            return False
        return dataset_id in self._book.uses(scope) or dataset_id in self._book.shared()

    def visible(self, scope: str, limit: int = 20) -> list[DatasetUse]:
        """The datasets ``scope`` may use, most recent first: its own, then those shared with everyone."""
        own = self._book.uses(scope)
        shared = self._book.shared()
        found = {
            dataset_id: DatasetUse(dataset_id, float(use.get("at", 0)), bool(use.get("loaded")), dataset_id in shared)
            for dataset_id, use in own.items()
        }
        for dataset_id, share in shared.items():
            if dataset_id not in found:
                found[dataset_id] = DatasetUse(dataset_id, float(share.get("at", 0)), False, True)
        return sorted(found.values(), key=lambda use: use.at, reverse=True)[:limit]

    def latest(self, scope: str) -> str | None:
        """The dataset ``scope`` loaded or opened last (what a new tab of it starts with)."""
        own = self._book.uses(scope)
        if not own:
            return None
        return max(own, key=lambda dataset_id: float(own[dataset_id].get("at", 0)))

    def may_share(self, scope: str, dataset_id: Any) -> bool:
        """Whether ``scope`` loaded ``dataset_id`` itself (only then may it share it)."""
        return is_dataset_id(dataset_id) and bool((self._book.uses(scope).get(dataset_id) or {}).get("loaded"))

    def is_shared(self, dataset_id: Any) -> bool:
        return is_dataset_id(dataset_id) and dataset_id in self._book.shared()

    def share(self, scope: str, dataset_id: Any, shared: bool) -> bool:
        """Share ``dataset_id`` with everyone (or stop sharing it); False when ``scope`` did not load it."""
        if not self.may_share(scope, dataset_id):
            return False
        self._book.set_shared(dataset_id, {"by": scope, "at": self._clock()} if shared else None)
        return True


# ------------------------------------------------------------------------------------ books
class MemoryAccessBook:
    """The records in this process (caching off): forgotten when it ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: OrderedDict[str, OrderedDict[str, dict[str, Any]]] = OrderedDict()
        self._shared: dict[str, dict[str, Any]] = {}

    def uses(self, scope: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {key: dict(value) for key, value in self._scopes.get(scope, {}).items()}

    def put(self, scope: str, dataset_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._put(scope, dataset_id, record)

    def _put(self, scope: str, dataset_id: str, record: dict[str, Any]) -> None:
        uses = self._scopes.setdefault(scope, OrderedDict())
        self._scopes.move_to_end(scope)
        uses[dataset_id] = dict(record)
        uses.move_to_end(dataset_id)
        while len(uses) > MAX_DATASETS_PER_SCOPE:
            uses.popitem(last=False)
        while len(self._scopes) > MAX_SCOPES:
            self._scopes.popitem(last=False)

    def shared(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {key: dict(value) for key, value in self._shared.items()}

    def set_shared(self, dataset_id: str, record: dict[str, Any] | None) -> None:
        with self._lock:
            self._set_shared(dataset_id, record)

    def _set_shared(self, dataset_id: str, record: dict[str, Any] | None) -> None:
        if record is None:
            self._shared.pop(dataset_id, None)
        else:
            self._shared[dataset_id] = dict(record)


class JsonAccessBook(MemoryAccessBook):
    """The records in a JSON file (readable by the app's user only), written whole on every change and read
    again when another process changed it."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._seen: tuple[int, int] | None = None
        with self._lock:
            self._reload()

    def uses(self, scope: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            self._reload()
        return super().uses(scope)

    def shared(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            self._reload()
        return super().shared()

    def put(self, scope: str, dataset_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            self._reload()
            self._put(scope, dataset_id, record)
            self._write()

    def set_shared(self, dataset_id: str, record: dict[str, Any] | None) -> None:
        with self._lock:
            self._reload()
            self._set_shared(dataset_id, record)
            self._write()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _reload(self) -> None:
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return
        self._seen = stamp
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            scopes, shared = data["scopes"], data["shared"]
            if not isinstance(scopes, dict) or not isinstance(shared, dict):
                raise ValueError("not a record of dataset access")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s cannot be read (%s): starting with no dataset records", self.path, exc)
            return
        self._scopes = OrderedDict(
            (scope, OrderedDict((key, dict(value)) for key, value in uses.items() if isinstance(value, dict)))
            for scope, uses in scopes.items()
            if isinstance(uses, dict)
        )
        self._shared = {key: dict(value) for key, value in shared.items() if isinstance(value, dict)}

    def _write(self) -> None:
        data = {"scopes": self._scopes, "shared": self._shared}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".access-", dir=self.path.parent)  # mode 0600
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(data, file)
            os.replace(temporary, self.path)
            self._seen = self._stamp()
        except OSError as exc:  # the records stay in memory; the next change tries again
            log.warning("cannot write %s: %s", self.path, exc)


class RedisAccessBook:
    """The records in Redis, shared by every worker: a hash per scope (``{prefix}access:scope:{scope}``, kept
    ``SCOPE_TTL_SECONDS`` after its last change) and one of the shared datasets (``{prefix}access:shared``)."""

    def __init__(self, client: Any, prefix: str = "rag:") -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, scope: str) -> str:
        return f"{self._prefix}access:scope:{scope}"

    def uses(self, scope: str) -> dict[str, dict[str, Any]]:
        return _decoded(self._redis.hgetall(self._key(scope)))

    def put(self, scope: str, dataset_id: str, record: dict[str, Any]) -> None:
        key = self._key(scope)
        pipe = self._redis.pipeline()
        pipe.hset(key, dataset_id, json.dumps(record))
        pipe.expire(key, SCOPE_TTL_SECONDS)
        pipe.hlen(key)
        count = pipe.execute()[-1]
        if count > MAX_DATASETS_PER_SCOPE:
            uses = self.uses(scope)
            oldest = sorted(uses, key=lambda name: float(uses[name].get("at", 0)))[: count - MAX_DATASETS_PER_SCOPE]
            if oldest:
                self._redis.hdel(key, *oldest)

    def shared(self) -> dict[str, dict[str, Any]]:
        return _decoded(self._redis.hgetall(f"{self._prefix}access:shared"))

    def set_shared(self, dataset_id: str, record: dict[str, Any] | None) -> None:
        key = f"{self._prefix}access:shared"
        if record is None:
            self._redis.hdel(key, dataset_id)
        else:
            self._redis.hset(key, dataset_id, json.dumps(record))


def _decoded(stored: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for key, value in stored.items():
        try:
            record = json.loads(value)
        except (TypeError, ValueError):
            continue
        if isinstance(record, dict):
            found[key.decode() if isinstance(key, bytes) else str(key)] = record
    return found


def make_dataset_access(settings: Any, shared_state: Any = None) -> DatasetAccess:
    """The records where the app keeps its state: Redis (several workers), the cache folder, or memory."""
    if shared_state is not None:
        return DatasetAccess(RedisAccessBook(shared_state))
    if settings.cache.enabled:
        return DatasetAccess(JsonAccessBook(settings.cache_dir() / ACCESS_FILE))
    return DatasetAccess(MemoryAccessBook())


# ------------------------------------------------------------------------------------ owners
class Owners:
    """The scope that started each answer or loading job, in this process (LRU, ``OWNER_TTL_SECONDS``)."""

    def __init__(self, max_items: int = MAX_OWNERS, ttl: float = OWNER_TTL_SECONDS) -> None:
        self._lock = threading.Lock()
        self._owners: TTLCache[tuple[str, str], str] = TTLCache(maxsize=max_items, ttl=ttl)

    def claim(self, kind: str, item_id: str, scope: str) -> None:
        with self._lock:
            self._owners[(kind, item_id)] = scope

    def owner(self, kind: str, item_id: str) -> str | None:
        with self._lock:
            return self._owners.get((kind, item_id))


class RedisOwners:
    """The owners in Redis (``{prefix}owner:{kind}:{id}``, ``OWNER_TTL_SECONDS``), seen by every worker."""

    def __init__(self, client: Any, prefix: str = "rag:", ttl: int = OWNER_TTL_SECONDS) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl

    def claim(self, kind: str, item_id: str, scope: str) -> None:
        self._redis.set(f"{self._prefix}owner:{kind}:{item_id}", scope, ex=self._ttl)

    def owner(self, kind: str, item_id: str) -> str | None:
        stored = self._redis.get(f"{self._prefix}owner:{kind}:{item_id}")
        return stored.decode() if isinstance(stored, bytes) else stored


def make_owners(shared_state: Any = None) -> Owners | RedisOwners:
    """Owners in Redis when the workers share it, else in this process."""
    return RedisOwners(shared_state) if shared_state is not None else Owners()
