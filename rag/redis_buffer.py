"""The ``StreamBuffer`` contract kept in Redis, so that every worker process serves every poll and Stop.

One answer is a hash ``{prefix}answer:{id}`` (status, error, sources, computed part, metrics, metadata,
character length, version, a Stop flag) and its text in ``{prefix}answer:{id}:text``, appended as it
streams; a poll reads the text after its offset. Writes that must not happen after the answer ended
(text, the final status) run as Lua scripts, so that they are atomic; metadata is merged in an optimistic
transaction. Every write gives the answer a new version from one counter and renews the keys' time to
live. A reader waiting for a change polls the version (every ``WAIT_STEP`` seconds).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any, Iterable

import redis

from rag.stream_buffer import FINAL_STATUSES, STREAMING, StreamSnapshot
from rag.i18n import N_

log = logging.getLogger(__name__)

WAIT_STEP = 0.02
"""Seconds between two looks at an answer's version while a poll is held."""
ANSWER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What an answer id may be (the page makes ``uuid4().hex``): no key of Redis is built from anything else, so a
poll for ``<id>:text`` or ``*`` never reaches another key."""


def is_answer_id(value: Any) -> bool:
    """Whether ``value`` is shaped as an answer id (``ANSWER_ID``)."""
    return isinstance(value, str) and ANSWER_ID.fullmatch(value) is not None

_APPEND = """
if redis.call('HGET', KEYS[1], 'status') ~= 'streaming' then return 0 end
redis.call('APPEND', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[1], 'version', redis.call('INCR', KEYS[3]))
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""
"""KEYS: answer, text key, version counter; ARGV: text, its length in characters, the length field, ttl."""

_FINISH = """
if redis.call('HGET', KEYS[1], 'status') ~= 'streaming' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'error', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'metrics', ARGV[3]) end
redis.call('HSET', KEYS[1], 'version', redis.call('INCR', KEYS[2]))
return 1
"""
"""KEYS: answer, version counter; ARGV: status, error (or ''), metrics JSON (or '')."""

_BEAT = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'beat', ARGV[1]) end
end
return 1
"""
"""KEYS: answers; ARGV: now. The heartbeat is not a change: the version stays."""

_SET_FIELD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], 'version', redis.call('INCR', KEYS[2]))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
"""KEYS: answer, version counter; ARGV: field, value, ttl."""


class RedisStreamBuffer:
    """Per-answer text, status, error, metrics and sources in Redis, shared by every worker."""

    def __init__(self, client: redis.Redis, *, ttl: float = 900.0, prefix: str = "rag:") -> None:
        self._redis = client
        self._ttl = max(1, int(ttl))
        self._prefix = prefix
        self._versions = f"{prefix}versions"
        self._append = client.register_script(_APPEND)
        self._finish = client.register_script(_FINISH)
        self._set_field = client.register_script(_SET_FIELD)
        self._beat = client.register_script(_BEAT)

    @classmethod
    def from_url(cls, url: str, *, ttl: float = 900.0, prefix: str = "rag:") -> "RedisStreamBuffer":
        """A buffer on the Redis server at ``url`` (``redis://host:port/db``)."""
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
        return cls(client, ttl=ttl, prefix=prefix)

    @property
    def client(self) -> redis.Redis:
        """The Redis connection, for other shared state (loading jobs)."""
        return self._redis

    def ping(self) -> bool:
        """Whether Redis answers (raises ``redis.RedisError`` when it does not)."""
        return bool(self._redis.ping())

    # ------------------------------------------------------------------ writing
    def start(self, session_id: str, **meta: Any) -> None:
        """Open (or reset) an answer in the ``streaming`` state."""
        key = self._key(session_id)
        version = self._redis.incr(self._versions)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key, f"{key}:text", f"{key}:thinking")
            pipe.hset(key, mapping={
                "status": STREAMING, "error": "", "sources": "[]", "computed": "", "metrics": "{}",
                "meta": _dumps(meta), "length": 0, "thinking_chars": 0, "stop": 0, "version": version,
                "beat": time.time(),
            })
            pipe.expire(key, self._ttl)
            pipe.execute()

    def append(self, session_id: str, text: str) -> None:
        """Add answer text; ignored once the answer is final or gone."""
        if text:
            key = self._key(session_id)
            self._append(keys=[key, f"{key}:text", self._versions], args=[text, len(text), "length", self._ttl])

    def append_thinking(self, session_id: str, text: str) -> None:
        """Add reasoning text, kept apart from the answer."""
        if text:
            key = self._key(session_id)
            self._append(
                keys=[key, f"{key}:thinking", self._versions], args=[text, len(text), "thinking_chars", self._ttl]
            )

    def set_sources(self, session_id: str, sources: list[dict[str, Any]]) -> None:
        """Record the sources the answer is grounded in."""
        self._set(session_id, "sources", _dumps(list(sources)))

    def set_computed(self, session_id: str, computed: dict[str, Any]) -> None:
        """Record the part of the answer computed over all records."""
        self._set(session_id, "computed", _dumps(dict(computed)))

    def update_meta(self, session_id: str, **meta: Any) -> None:
        """Merge metadata into the answer's (an optimistic transaction: retried if another write came first)."""
        key = self._key(session_id)

        def merge(pipe: Any) -> None:
            stored = pipe.hget(key, "meta")
            if stored is None:
                return
            merged = {**json.loads(stored), **meta}
            pipe.multi()
            pipe.hset(key, "meta", _dumps(merged))
            pipe.hset(key, "version", self._redis.incr(self._versions))
            pipe.expire(key, self._ttl)

        self._redis.transaction(merge, key)

    def finish(
        self,
        session_id: str,
        *,
        status: str = "done",
        error: str | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> None:
        """Mark the answer final; the first final status wins."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"not a final status: {status}")
        self._finish(
            keys=[self._key(session_id), self._versions],
            args=[status, error or "", _dumps(dict(metrics)) if metrics else ""],
        )

    def request_stop(self, session_id: str) -> None:
        """Ask whichever worker produces the answer to stop it."""
        if is_answer_id(session_id):  # another id names no answer: nothing to stop
            self._set(session_id, "stop", "1")

    def stops_requested(self, session_ids: Iterable[str]) -> set[str]:
        """Which of ``session_ids`` someone asked to stop."""
        ids = [session_id for session_id in session_ids if is_answer_id(session_id)]
        if not ids:
            return set()
        with self._redis.pipeline(transaction=False) as pipe:
            for session_id in ids:
                pipe.hget(self._key(session_id), "stop")
            flags = pipe.execute()
        return {session_id for session_id, flag in zip(ids, flags) if flag == b"1"}

    def heartbeat(self, session_ids: Iterable[str]) -> None:
        """The answers ``session_ids`` are still being produced (by this process, which is alive)."""
        keys = [self._key(session_id) for session_id in session_ids if is_answer_id(session_id)]
        if keys:
            self._beat(keys=keys, args=[time.time()])

    def discard(self, session_id: str) -> None:
        """Forget an answer."""
        if not is_answer_id(session_id):
            return
        key = self._key(session_id)
        self._redis.delete(key, f"{key}:text", f"{key}:thinking")

    # ------------------------------------------------------------------ reading
    def read(self, session_id: str, offset: int = 0) -> StreamSnapshot | None:
        """What is new after ``offset`` (in characters), or None for an unknown or expired answer (or an id that
        is not one)."""
        if not is_answer_id(session_id):
            return None
        key = self._key(session_id)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.get(f"{key}:text")
            pipe.expire(key, self._ttl)
            pipe.expire(f"{key}:text", self._ttl)
            fields, text, _, _ = pipe.execute()
        if not fields:
            return None
        values = {name.decode(): value.decode("utf-8") for name, value in fields.items()}
        whole = text.decode("utf-8") if text else ""
        offset = max(0, min(offset, len(whole)))
        computed = values.get("computed") or ""
        return StreamSnapshot(
            text=whole[offset:],
            offset=len(whole),
            status=values.get("status", STREAMING),
            error=values.get("error") or None,
            sources=json.loads(values.get("sources") or "[]"),
            metrics=json.loads(values.get("metrics") or "{}"),
            meta=json.loads(values.get("meta") or "{}"),
            thinking_chars=int(values.get("thinking_chars") or 0),
            computed=json.loads(computed) if computed else None,
            version=int(values.get("version") or 0),
            heartbeat_age=time.time() - float(values["beat"]) if values.get("beat") else None,
        )

    def thinking(self, session_id: str) -> str:
        """All reasoning text of an answer."""
        if not is_answer_id(session_id):
            return ""
        stored = self._redis.get(f"{self._key(session_id)}:thinking")
        return stored.decode("utf-8") if stored else ""

    def wait_for_change(self, session_id: str, version: int, timeout: float) -> bool:
        """Block until the answer is no longer at ``version`` (or ended, or is gone), at most ``timeout`` s."""
        if not is_answer_id(session_id):
            return True  # no such answer: gone
        key = self._key(session_id)
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            current, status = self._redis.hmget(key, "version", "status")
            if current is None or int(current) != version or status.decode() in FINAL_STATUSES:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(WAIT_STEP, max(0.0, deadline - time.monotonic())))

    def __len__(self) -> int:
        return sum(1 for key in self._redis.scan_iter(f"{self._prefix}answer:*") if key.count(b":") == 2)

    # ------------------------------------------------------------------ helpers
    def _key(self, session_id: str) -> str:
        if not is_answer_id(session_id):
            raise ValueError(f"not an answer id: {str(session_id)[:80]!r}")
        return f"{self._prefix}answer:{session_id}"

    def _set(self, session_id: str, name: str, value: str) -> None:
        self._set_field(keys=[self._key(session_id), self._versions], args=[name, value, self._ttl])


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class RedisLoadBoard:
    """Each tab's file being loaded, in Redis (``{prefix}load:{tab}``), so that a question sent to another
    worker than the one loading the file waits for it, and a Cancel sent to any worker reaches it.

    The loading worker writes the load's stage as it goes and, when it ends, the dataset id (the dataset is
    in the store by then) or the error. While the load runs, a thread of that worker beats its entry every
    ``HEARTBEAT_SECONDS``, as answers are beaten: a running load whose beat is older than
    ``ORPHANED_AFTER_SECONDS`` was left by a worker that died (killed, out of memory), and the first reader
    that sees it ends it with ``ORPHANED_MESSAGE``, so that the questions waiting for it end within seconds.
    The entry lives ``ttl`` seconds past the last write or beat."""

    HEARTBEAT_SECONDS = 1.0
    """How often the worker running a load says it is alive."""
    ORPHANED_AFTER_SECONDS = 6.0
    """A running load not beaten for this long was left by a worker that died."""
    ORPHANED_MESSAGE = N_("The worker loading {name} stopped (restarted, killed or out of memory); load the file again.")
    """The error of a load whose worker died (``dashboard.ingest_jobs`` gives its loading job the same one)."""

    _PUBLISH = """
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[2] then redis.call('HDEL', KEYS[1], 'cancel') end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'id', ARGV[2], 'beat', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return redis.call('HGET', KEYS[1], 'cancel')
"""
    """KEYS: the tab's load; ARGV: state JSON, load id, now, ttl. A Cancel asked of an earlier load is dropped."""

    _BEAT = """
local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'id') == ARGV[i + 2] then
    redis.call('HSET', key, 'beat', ARGV[1])
    redis.call('EXPIRE', key, ARGV[2])
  else
    table.insert(lost, i)
  end
end
return lost
"""
    """KEYS: tabs' loads; ARGV: now, ttl, then each load's id. Returns the (1-based) positions of the loads that
    are gone or were replaced by another worker's."""

    _END_ORPHANED = """
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[2] or redis.call('HGET', KEYS[1], 'beat') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
return 1
"""
    """KEYS: the tab's load; ARGV: ended state JSON, load id, the stale beat read. Refused when beaten meanwhile."""

    def __init__(self, client: redis.Redis, *, ttl: int = 60, prefix: str = "rag:") -> None:
        self._redis = client
        self._ttl = ttl
        self._prefix = prefix
        self._publish = client.register_script(self._PUBLISH)
        self._beat = client.register_script(self._BEAT)
        self._end_orphaned = client.register_script(self._END_ORPHANED)
        self._running: dict[str, str] = {}
        """The loads this process runs and beats: their id by tab."""
        self._running_lock = threading.Lock()
        self._beater: threading.Thread | None = None

    def publish(self, tab: str, state: dict[str, Any]) -> bool:
        """Write the load's state (a running load is beaten from now on, until its finished state is
        published); True when someone asked to cancel it."""
        self._keep_beating(tab, state)
        key = self._key(tab)
        cancel = self._publish(keys=[key], args=[_dumps(state), str(state.get("id", "")), time.time(), self._ttl])
        return cancel == b"1"

    def get(self, tab: str) -> dict[str, Any] | None:
        """The state of the tab's load, if one was announced and is not forgotten; a running load whose worker
        died is ended here (``finished``, with ``ORPHANED_MESSAGE`` as its error)."""
        key = self._key(tab)
        stored, beat = self._redis.hmget(key, "state", "beat")
        if not stored:
            return None
        state = json.loads(stored)
        if state.get("finished") or beat is None or time.time() - float(beat) <= self.ORPHANED_AFTER_SECONDS:
            return state
        ended = {**state, "finished": True, "error": self.ORPHANED_MESSAGE.format(name=state.get("name", "the file"))}
        if self._end_orphaned(keys=[key], args=[_dumps(ended), str(state.get("id", "")), beat]):
            return ended
        return self.get(tab)  # beaten, replaced or ended meanwhile: what is there now

    def request_cancel(self, tab: str) -> bool:
        """Ask the worker loading the tab's file to stop; False when no load is running."""
        state = self.get(tab)
        if state is None or state.get("finished"):
            return False
        self._redis.hset(self._key(tab), "cancel", "1")
        return True

    def _keep_beating(self, tab: str, state: dict[str, Any]) -> None:
        load_id = str(state.get("id", ""))
        with self._running_lock:
            if state.get("finished"):
                if self._running.get(tab) == load_id:
                    del self._running[tab]
                return
            self._running[tab] = load_id
            if self._beater is None:
                self._beater = threading.Thread(target=self._beat_running, name="load-heartbeat", daemon=True)
                self._beater.start()

    def _beat_running(self) -> None:
        """Beat this process's running loads every ``HEARTBEAT_SECONDS``, until none is left."""
        while True:
            time.sleep(self.HEARTBEAT_SECONDS)
            with self._running_lock:
                running = list(self._running.items())
                if not running:
                    self._beater = None
                    return
            try:
                lost = self._beat(
                    keys=[self._key(tab) for tab, _ in running],
                    args=[time.time(), self._ttl, *(load_id for _, load_id in running)],
                )
            except redis.RedisError:  # Redis away: the load's own writes report it; keep beating
                log.warning("cannot beat the loads running here", exc_info=True)
                continue
            with self._running_lock:
                for position in lost:  # not ours any more (another worker's load replaced it, or it expired)
                    tab, load_id = running[int(position) - 1]
                    if self._running.get(tab) == load_id:
                        del self._running[tab]

    def _key(self, tab: str) -> str:
        return f"{self._prefix}load:{tab}"
