"""Whether model servers answer, checked off the request threads and remembered for a few seconds.

A page that shows a server's reachability, and ``/healthz``, ask ``BackendProbes.status(llm, wait=...)``: a
result younger than ``FRESH_SECONDS`` is returned at once; otherwise one background check per distinct backend
settings is started (never two for the same settings, never more than ``MAX_RUNNING`` at once) and the caller
waits for it at most ``wait`` seconds, then takes the last result known, or a "still checking" status. So a slow,
silent or self-referring server never holds a request thread longer than ``wait``, and many requests asking about
one server cause one check.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from rag.llm.types import BackendStatus
from rag.llm_choice import client_key
from rag.settings import LLMSettings

FRESH_SECONDS = 5.0
"""How long a check's result is used before the server is checked again."""
CONNECT_SECONDS = 1.0
READ_SECONDS = 1.5
"""Timeouts of a check's request (connect, then the answer): a check ends within about 2.5 s."""
MAX_RUNNING = 8
"""Checks running at once; a check asked beyond them reports that it could not start."""
MAX_KEPT = 256
"""Results remembered (the least recently asked are forgotten first)."""
CHECKING_MESSAGE = "checking whether the model server answers… (refresh in a moment)"
BUSY_MESSAGE = "too many model servers are being checked at once; refresh in a moment"

Check = Callable[[LLMSettings], BackendStatus]


@dataclass
class _Entry:
    result: BackendStatus | None = None
    checked_at: float = 0.0
    running: threading.Event | None = None
    """Set when the check under way ends; None when none runs."""


@dataclass
class BackendProbes:
    """Cached, non-blocking reachability checks, one background check per distinct backend settings."""

    check: Check
    """Checks one backend (``LLMClient.check`` of a client with short timeouts); may block, never called twice
    at once for the same settings."""
    fresh_seconds: float = FRESH_SECONDS
    max_running: int = MAX_RUNNING
    max_kept: int = MAX_KEPT
    clock: Callable[[], float] = time.monotonic
    _entries: OrderedDict[str, _Entry] = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def status(self, llm: LLMSettings, *, wait: float, fresh: bool = False) -> BackendStatus:
        """The backend's status: the remembered one while fresh (unless ``fresh`` asks for a new check), else a new
        check's, waited for at most ``wait`` seconds; meanwhile the last one known, or a "checking" status."""
        key = client_key(llm)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
                self._forget_old()
            self._entries.move_to_end(key)
            young = entry.result is not None and self.clock() - entry.checked_at < self.fresh_seconds
            if young and not fresh:
                return entry.result  # type: ignore[return-value]
            done = entry.running
            if done is None:
                if self._running() >= self.max_running:
                    return entry.result or BackendStatus(False, BUSY_MESSAGE, [])
                done = entry.running = threading.Event()
                threading.Thread(target=self._run, args=(llm, entry, done), name="backend-probe", daemon=True).start()
        done.wait(max(0.0, wait))
        with self._lock:
            return entry.result or BackendStatus(False, CHECKING_MESSAGE, [])

    def running(self) -> int:
        """Checks under way now."""
        with self._lock:
            return self._running()

    def forget(self) -> None:
        """Drop every remembered result (checks under way still finish)."""
        with self._lock:
            for key in [key for key, entry in self._entries.items() if entry.running is None]:
                del self._entries[key]

    def _run(self, llm: LLMSettings, entry: _Entry, done: threading.Event) -> None:
        try:
            result = self.check(llm)
        except Exception as exc:  # a check reports, it never raises
            result = BackendStatus(False, str(exc) or type(exc).__name__, [])
        with self._lock:
            entry.result, entry.checked_at, entry.running = result, self.clock(), None
        done.set()

    def _running(self) -> int:
        return sum(1 for entry in self._entries.values() if entry.running is not None)

    def _forget_old(self) -> None:
        for key in list(self._entries):
            if len(self._entries) <= self.max_kept:
                return
            if self._entries[key].running is None:
                del self._entries[key]
