"""A thread-safe buffer between answer-producing threads and the page that polls them.

A writer (the engine's background thread) appends text to a session; a reader (a Dash poll)
asks for what is new since the offset it already has, so each poll carries only the delta. Every
change gives the session a new ``version``; a reader that has seen a version can wait for the next
one (``wait_for_change``), so a poll made before the first token answers as soon as it exists.
Sessions nobody touched for ``ttl`` seconds are dropped, and beyond ``max_sessions`` the finished ones
nobody read for ``KEEP_FINISHED_SECONDS`` (oldest first), so memory stays bounded whatever the browser
does and however many answers a busy app makes in ``ttl``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

MAX_SESSIONS = 2_000
KEEP_FINISHED_SECONDS = 60.0
"""A finished answer read within this long is never dropped for the count (its page is still fetching it)."""

STREAMING = "streaming"
DONE = "done"
STOPPED = "stopped"
ERROR = "error"
FINAL_STATUSES = (DONE, STOPPED, ERROR)


@dataclass
class _Session:
    parts: list[str] = field(default_factory=list)
    length: int = 0
    thinking: list[str] = field(default_factory=list)
    thinking_chars: int = 0
    status: str = STREAMING
    error: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    computed: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    touched: float = 0.0
    version: int = 0
    stop: bool = False


@dataclass(frozen=True)
class StreamSnapshot:
    """What a reader sees of one session at one moment."""

    text: str
    """Only the text after the offset the reader passed."""
    offset: int
    """Length of the whole text so far: pass it back on the next read."""
    status: str
    """``streaming``, ``done``, ``stopped`` or ``error``."""
    error: str | None
    sources: list[dict[str, Any]]
    metrics: dict[str, Any]
    meta: dict[str, Any]
    thinking_chars: int = 0
    """Length of the reasoning text so far (a thinking model reasons before it answers)."""
    computed: dict[str, Any] | None = None
    """The part of the answer computed over all records (summary, table, SQL), when there is one."""
    version: int = 0
    """Changes whenever anything in the session does: pass it to ``wait_for_change``."""
    heartbeat_age: float | None = None
    """Seconds since the process producing the answer last said it is alive (shared buffers only)."""

    @property
    def is_complete(self) -> bool:
        """True once the answer is done, stopped or failed: nothing more will come."""
        return self.status in FINAL_STATUSES


class StreamBuffer:
    """Per-session answer text, status, error, metrics and sources, safe across threads."""

    def __init__(
        self, ttl: float = 900.0, clock: Callable[[], float] = time.monotonic, *, max_sessions: int = MAX_SESSIONS
    ) -> None:
        self._ttl = ttl
        self._max_sessions = max_sessions
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._versions = 0
        self._sessions: dict[str, _Session] = {}

    def start(self, session_id: str, **meta: Any) -> None:
        """Open (or reset) a session in the ``streaming`` state."""
        with self._lock:
            self._expire_locked()
            self._sessions[session_id] = session = _Session(meta=dict(meta), touched=self._clock())
            self._changed_locked(session)

    def append(self, session_id: str, text: str) -> None:
        """Add answer text; ignored once the session is final or gone."""
        if not text:
            return
        with self._lock:
            session = self._live(session_id)
            if session is not None:
                session.parts.append(text)
                session.length += len(text)
                self._changed_locked(session)

    def append_thinking(self, session_id: str, text: str) -> None:
        """Add reasoning text, kept apart from the answer."""
        with self._lock:
            session = self._live(session_id)
            if session is not None and text:
                session.thinking.append(text)
                session.thinking_chars += len(text)
                self._changed_locked(session)

    def set_sources(self, session_id: str, sources: list[dict[str, Any]]) -> None:
        """Record the sources the answer is grounded in."""
        with self._lock:
            session = self._get(session_id)
            if session is not None:
                session.sources = list(sources)
                self._changed_locked(session)

    def set_computed(self, session_id: str, computed: dict[str, Any]) -> None:
        """Record the part of the answer computed over all records (it comes before any text)."""
        with self._lock:
            session = self._get(session_id)
            if session is not None:
                session.computed = dict(computed)
                self._changed_locked(session)

    def update_meta(self, session_id: str, **meta: Any) -> None:
        """Merge metadata (model, cached, truncation notes, ...)."""
        with self._lock:
            session = self._get(session_id)
            if session is not None:
                session.meta.update(meta)
                self._changed_locked(session)

    def finish(
        self,
        session_id: str,
        *,
        status: str = DONE,
        error: str | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> None:
        """Mark the session final; the first final status wins."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"not a final status: {status}")
        with self._lock:
            session = self._live(session_id)
            if session is None:
                return
            session.status = status
            session.error = error
            if metrics:
                session.metrics = dict(metrics)
            self._changed_locked(session)

    def read(self, session_id: str, offset: int = 0) -> StreamSnapshot | None:
        """What is new after ``offset``, or None for an unknown or expired session."""
        with self._lock:
            self._expire_locked()
            session = self._get(session_id)
            if session is None:
                return None
            if len(session.parts) > 1:
                session.parts = ["".join(session.parts)]
            whole = session.parts[0] if session.parts else ""
            offset = max(0, min(offset, session.length))
            return StreamSnapshot(
                text=whole[offset:],
                offset=session.length,
                status=session.status,
                error=session.error,
                sources=list(session.sources),
                metrics=dict(session.metrics),
                meta=dict(session.meta),
                thinking_chars=session.thinking_chars,
                computed=dict(session.computed) if session.computed is not None else None,
                version=session.version,
            )

    def wait_for_change(self, session_id: str, version: int, timeout: float) -> bool:
        """Block until the session is no longer at ``version`` (anything changed, it ended or is gone),
        for at most ``timeout`` seconds; True when it changed."""

        def changed() -> bool:
            session = self._sessions.get(session_id)
            return session is None or session.version != version or session.status in FINAL_STATUSES

        with self._changed:
            return self._changed.wait_for(changed, timeout=max(0.0, timeout))

    def thinking(self, session_id: str) -> str:
        """All reasoning text of a session."""
        with self._lock:
            session = self._get(session_id)
            return "".join(session.thinking) if session else ""

    def request_stop(self, session_id: str) -> None:
        """Ask whoever produces the answer to stop it."""
        with self._lock:
            session = self._get(session_id)
            if session is not None:
                session.stop = True

    def stops_requested(self, session_ids: Iterable[str]) -> set[str]:
        """Which of ``session_ids`` someone asked to stop."""
        with self._lock:
            return {sid for sid in session_ids if (session := self._sessions.get(sid)) is not None and session.stop}

    def discard(self, session_id: str) -> None:
        """Forget a session."""
        with self._lock:
            self._sessions.pop(session_id, None)
            self._changed.notify_all()

    def __len__(self) -> int:
        with self._lock:
            self._expire_locked()
            return len(self._sessions)

    def _get(self, session_id: str) -> _Session | None:
        session = self._sessions.get(session_id)
        if session is not None:
            session.touched = self._clock()
        return session

    def _live(self, session_id: str) -> _Session | None:
        session = self._get(session_id)
        if session is None or session.status in FINAL_STATUSES:
            return None
        return session

    def _changed_locked(self, session: _Session) -> None:
        self._versions += 1
        session.version = self._versions
        self._changed.notify_all()

    def _expire_locked(self) -> None:
        now = self._clock()
        stale = [sid for sid, s in self._sessions.items() if s.touched < now - self._ttl]
        for sid in stale:
            del self._sessions[sid]
        excess = len(self._sessions) - self._max_sessions
        if excess > 0:
            read_long_ago = now - KEEP_FINISHED_SECONDS
            finished = sorted(
                (s.touched, sid) for sid, s in self._sessions.items() if s.status != STREAMING and s.touched < read_long_ago
            )
            for _, sid in finished[:excess]:
                del self._sessions[sid]


_buffer: StreamBuffer | None = None
_buffer_lock = threading.Lock()


def get_stream_buffer() -> StreamBuffer:
    """The process-wide in-memory buffer."""
    global _buffer
    with _buffer_lock:
        if _buffer is None:
            _buffer = StreamBuffer()
        return _buffer
