"""Runs each answer in a thread of its own, writing its events into the stream buffer (the one sink,
``rag.answer_sink``) and handing them to a listener. Stop cancels an answer here or, with a buffer shared by
several workers, in whichever worker produces it; a heartbeat tells the others this worker's answers are
alive, and an answer whose worker died (an orphan) is ended by the next reader."""

from __future__ import annotations

import logging
import queue as queues
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterable, Iterator

from rag.analytics.lexicons import detect_language
from rag.answer_events import AnswerEvent, Failed, Meta
from rag.answer_sink import write_event, write_events
from rag.i18n import N_, worded
from rag.llm.cancel import CancelToken
from rag.state import SHARED_STATE_ERRORS
from rag.stream_buffer import ERROR, StreamBuffer, StreamSnapshot

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

Listener = Callable[[AnswerEvent | None], None]

STOP_CHECK_SECONDS = 0.1
"""With a shared buffer, how often a worker looks for Stops sent to other workers for its answers."""
HEARTBEAT_SECONDS = 1.0
"""With a shared buffer, how often a worker says the answers it produces are still alive."""
ORPHANED_AFTER_SECONDS = 6.0
"""An answer still streaming whose worker has not said so for this long was left by a worker that died."""
ORPHANED_MESSAGE = N_(
    "The worker producing this answer stopped (it was restarted, killed or ran out of memory); "
    "the text received so far is kept. Send the question again."
)
"""In English; ``worded(language, ORPHANED_MESSAGE)`` in the question's language."""


@dataclass
class AnswerRun:
    """One answer being produced."""

    cancel: CancelToken = field(default_factory=CancelToken)
    done: threading.Event = field(default_factory=threading.Event)
    meta: dict[str, Any] = field(default_factory=dict)
    """The metadata the answer started with (a copy)."""
    listener: Listener | None = None
    """Hears each event once the sink wrote it, then None when the answer's thread ends."""

    def listen(self, event: AnswerEvent | None) -> None:
        """Give ``event`` to the listener, if there is one."""
        if self.listener is not None:
            self.listener(event)


class AnswerRunner:
    """The answers this process produces: their threads, Stops, heartbeat, and the orphans of dead workers."""

    def __init__(self, buffer: StreamBuffer, shared_state: redis.Redis | None = None) -> None:
        self._buffer = buffer
        self._shared_state = shared_state
        self._running: dict[str, AnswerRun] = {}
        self._running_lock = threading.Lock()
        self._stop_watcher: threading.Thread | None = None

    def start(
        self,
        session_id: str,
        meta: dict[str, Any],
        events: Callable[[AnswerRun], Generator[AnswerEvent, None, Any]],
        listener: Listener | None = None,
    ) -> AnswerRun:
        """Open answer ``session_id`` in the buffer with ``meta``, then write the events of ``events(run)`` into
        it from a new thread, each handed to ``listener`` too (then None when the thread ends)."""
        run = AnswerRun(meta=dict(meta), listener=listener)
        self._buffer.start(session_id, **meta)
        with self._running_lock:
            self._running[session_id] = run
            if self._shared_state is not None and (self._stop_watcher is None or not self._stop_watcher.is_alive()):
                self._stop_watcher = threading.Thread(target=self._watch_running, name="answer-watcher", daemon=True)
                self._stop_watcher.start()
        thread = threading.Thread(
            target=self._produce, args=(session_id, run, events), name=f"answer-{session_id[:8]}", daemon=True
        )
        thread.start()
        return run

    def _produce(
        self, session_id: str, run: AnswerRun, make_events: Callable[[AnswerRun], Generator[AnswerEvent, None, Any]]
    ) -> None:
        """The answer's thread: its events into the buffer (the one sink), and to ``run``'s listener."""
        events = make_events(run)
        language = detect_language(str(run.meta.get("question") or ""))
        try:
            write_events(self._buffer, session_id, _heard(events, run.listen))
        except SHARED_STATE_ERRORS as exc:  # Redis away: nowhere to write; the page keeps what it has
            log.warning("answer %s ended: the shared state is not reachable (%s)", session_id, exc)
            run.listen(Failed(worded(language, N_("The shared state is not reachable: {reason}"), reason=exc)))
        except Exception as exc:  # the page must get a message, never a dead stream
            log.exception("answer %s failed", session_id)
            failure = Failed(worded(language, N_("Internal error while answering: {reason}"), reason=exc))
            try:
                write_event(self._buffer, session_id, failure)
            except SHARED_STATE_ERRORS:
                log.warning("answer %s: its error could not be written to the shared state", session_id)
            run.listen(failure)
        finally:
            try:
                events.close()  # a pipeline left in the middle gives the model's turn back
            except Exception:
                log.warning("answer %s: its pipeline could not be closed", session_id, exc_info=True)
            with self._running_lock:
                self._running.pop(session_id, None)
            run.done.set()
            run.listen(None)

    def cancel(self, session_id: str) -> bool:
        """Stop a running answer, here or, with a shared buffer, in whichever worker produces it; False when
        none was running."""
        with self._running_lock:
            run = self._running.get(session_id)
        if run is not None:
            run.cancel.cancel()
            return True
        if self._shared_state is None:
            return False
        snapshot = self._buffer.read(session_id, 0)
        if snapshot is None or snapshot.is_complete:
            return False
        self._buffer.request_stop(session_id)  # the worker producing it sees this within STOP_CHECK_SECONDS
        return True

    def read(self, session_id: str, offset: int = 0) -> StreamSnapshot | None:
        """What is new in an answer since ``offset``. With a shared buffer, an answer whose worker died (no
        heartbeat for ``ORPHANED_AFTER_SECONDS``) is ended here with an error, keeping its text."""
        snapshot = self._buffer.read(session_id, offset)
        if (
            snapshot is not None
            and not snapshot.is_complete
            and snapshot.heartbeat_age is not None
            and snapshot.heartbeat_age > ORPHANED_AFTER_SECONDS
        ):
            with self._running_lock:
                ours = session_id in self._running
            if not ours:
                language = detect_language(str(snapshot.meta.get("question") or ""))
                self._buffer.finish(session_id, status=ERROR, error=worded(language, ORPHANED_MESSAGE))
                snapshot = self._buffer.read(session_id, offset)
        return snapshot

    def _watch_running(self) -> None:
        """With a shared buffer: say that this process's answers are alive (a heartbeat), and cancel those
        another worker was asked to stop."""
        beaten = 0.0
        while True:
            with self._running_lock:
                running = dict(self._running)
                if not running:
                    self._stop_watcher = None
                    return
            try:
                if time.monotonic() - beaten >= HEARTBEAT_SECONDS:
                    beaten = time.monotonic()
                    self._buffer.heartbeat(running)
                stopped = self._buffer.stops_requested(running)
            except Exception:  # Redis away: the answers' own writes report it; keep watching
                log.warning("cannot reach the shared state", exc_info=True)
                stopped = set()
            for session_id in stopped:
                running[session_id].cancel.cancel()
            time.sleep(STOP_CHECK_SECONDS)


def followed_events(
    run: AnswerRun, heard: queues.SimpleQueue[AnswerEvent | None], timeout: float | None = None
) -> Generator[AnswerEvent, None, None]:
    """The events of ``run`` as its thread writes them (``heard`` is its listener's queue): ``Meta`` with the
    metadata it started with first. Stop is pressed after ``timeout`` seconds, and when the caller stops
    reading before the end."""
    ended = False
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        yield Meta(dict(run.meta))
        while True:
            try:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                event = heard.get(timeout=wait)
            except queues.Empty:
                run.cancel.cancel()
                deadline = None
                continue
            if event is None:  # the answer's thread ended
                ended = True
                return
            yield event
    finally:
        if not ended:
            run.cancel.cancel()


def _heard(events: Iterable[AnswerEvent], listen: Callable[[AnswerEvent], None]) -> Iterator[AnswerEvent]:
    """``events``, each given to ``listen`` once the consumer (the sink) has taken it: a tee for ``chat``."""
    for event in events:
        yield event
        listen(event)
