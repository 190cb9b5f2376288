"""Each tab's load, announced, followed and ended through a ``LoadTicket``; with several workers, shown to the
others on the load board (Redis), through which a Cancel sent to any worker reaches the one loading. A
question sent while its tab loads a file waits here for that file (``wait_for_load``)."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable, Generator

from rag.answer_events import AnswerEvent, Failed, Finished, Meta, Waiting
from rag.dataset_registry import DatasetInfo
from rag.analytics.lexicons import detect_language
from rag.errors import RAGError
from rag.file_load import LOAD_FAILED_UNEXPECTEDLY
from rag.i18n import N_, Term, worded
from rag.llm.cancel import CancelToken
from rag.loading import LoadTicket
from rag.stream_buffer import STOPPED

if TYPE_CHECKING:
    from rag.redis_buffer import RedisLoadBoard

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

LOAD_WAIT_POLL_SECONDS = 0.1
SHARE_LOAD_SECONDS = 0.5
"""With several workers, how often a load's progress is shown to the others (and a Cancel looked for)."""
LOAD_START_TIMEOUT = 30.0
"""Seconds a question waits for an announced file that never starts loading (the browser lost it)."""


class LoadCoordinator:
    """The load announced or running in each tab, here and (through ``board``) in the other workers."""

    def __init__(self, board: RedisLoadBoard | None = None) -> None:
        self.board = board
        self._pending: dict[str, LoadTicket] = {}
        self._pending_lock = threading.Lock()

    def begin(self, name: str, tab: str = "") -> LoadTicket:
        """Announce a load of ``name`` in ``tab``, cancelling the one still running there."""
        ticket = LoadTicket(name=name, tab=tab)
        with self._pending_lock:
            previous = self._pending.get(tab)
            if previous is not None:
                previous.replaced_by = ticket
                previous.cancelled.set()
            self._pending[tab] = ticket
        self.publish(ticket)
        return ticket

    def expect(self, name: str, tab: str = "") -> LoadTicket:
        """A load of ``name`` is on its way to ``tab``; a load already announced there is kept."""
        with self._pending_lock:
            ticket = self._pending.get(tab)
            if ticket is None:
                ticket = self._pending[tab] = LoadTicket(name=name, tab=tab)
                self.publish(ticket)
            return ticket

    def cancel(self, tab: str = "") -> bool:
        """Cancel the load in progress in ``tab`` here or in another worker; False when there is none."""
        with self._pending_lock:
            ticket = self._pending.get(tab)
        if ticket is None:  # loading in another worker, perhaps
            return self.board.request_cancel(tab) if self.board is not None else False
        ticket.cancelled.set()
        return True

    def pending(self, tab: str = "") -> LoadTicket | None:
        """The load announced or running in ``tab`` here, if any."""
        with self._pending_lock:
            return self._pending.get(tab)

    def release(self, ticket: LoadTicket) -> None:
        """The load of ``ticket`` ended: later questions need not wait for it."""
        with self._pending_lock:
            if self._pending.get(ticket.tab) is ticket:
                del self._pending[ticket.tab]

    def publish(self, ticket: LoadTicket, *, finished: bool = False) -> None:
        """Show the load to the other workers; a Cancel one of them received cancels it here."""
        if self.board is None:
            return
        try:
            if self.board.publish(ticket.tab, ticket.to_state(finished=finished)):
                ticket.cancelled.set()
        except Exception:  # Redis away: this worker's own questions still wait for the load
            log.warning("cannot share the load of %s", ticket.name, exc_info=True)

    def run(
        self, ticket: LoadTicket, load: Callable[[Progress], DatasetInfo], progress: Progress | None = None
    ) -> DatasetInfo:
        """Run ``load`` for ``ticket``: its stages reported to the ticket, the other workers and ``progress``;
        any failure recorded in the ticket (and raised); the ticket released at the end."""
        shared_at = [0.0, ""]

        def report(stage: str, done: int, total: int) -> None:
            ticket.report(stage, done, total)
            if stage != shared_at[1] or time.monotonic() - shared_at[0] >= SHARE_LOAD_SECONDS:
                shared_at[:] = [time.monotonic(), stage]
                self.publish(ticket)
            if progress:
                progress(stage, done, total)

        try:
            return load(report)
        except RAGError as exc:
            ticket.fail(str(exc))
            raise
        except Exception as exc:
            ticket.fail(LOAD_FAILED_UNEXPECTEDLY.format(error=exc))
            raise
        finally:  # questions already waiting hold the ticket and read its outcome; later ones need not wait
            self.publish(ticket, finished=True)
            self.release(ticket)

    def finished_choice(self, tab: str) -> str | None:
        """The dataset a load that ended well in another worker (recently) gave ``tab``, if the board shows one."""
        if self.board is None or not tab:
            return None
        try:
            state = self.board.get(tab)
        except Exception:
            return None
        if state is not None and state.get("finished") and state.get("dataset_id") and not state.get("error"):
            return state["dataset_id"]
        return None

    def remote_load(self, tab: str) -> LoadTicket | None:
        """The tab's load running in another worker, if the load board shows one."""
        if self.board is None:
            return None
        try:
            state = self.board.get(tab)
        except Exception:
            log.warning("cannot read the shared loads", exc_info=True)
            return None
        if state is None or state.get("finished"):
            return None
        return LoadTicket.from_state(tab, state)

    def follow_remote(self, ticket: LoadTicket) -> None:
        """Bring a load running in another worker up to date: its stage, or how it ended."""
        try:
            state = self.board.get(ticket.tab)
        except Exception:
            return  # Redis away for a moment: look again at the next step
        if state is None:
            ticket.fail(N_("the worker loading it stopped before it finished; load the file again."))
            return
        if state.get("id") != ticket.id:  # a newer upload of the tab replaced it
            ticket.replaced_by = LoadTicket.from_state(ticket.tab, state)
            return
        ticket.stage = state.get("stage", ticket.stage)
        ticket.done, ticket.total = state.get("done", 0), state.get("total", 0)
        if state.get("finished"):
            if state.get("dataset_id") and not state.get("error"):
                ticket.dataset_id = state["dataset_id"]
                ticket.searchable.set()
            else:
                ticket.fail(str(state.get("error") or N_("loading stopped.")))

    def give_up(self, ticket: LoadTicket, message: str) -> None:
        """A load announced but never started fails, so that the questions waiting for it end."""
        ticket.fail(message)
        self.publish(ticket, finished=True)
        self.release(ticket)

    def wait_for_load(
        self, question: str, token: CancelToken, tab: str = ""
    ) -> Generator[AnswerEvent, None, tuple[bool, LoadTicket | None]]:
        """Hold a question sent while its tab loads a file until it can be answered over that file (or over
        the file that replaced it), saying what it waits for. Returns whether to go on (False when the answer
        already ended: the load failed, or Stop was pressed) and the load waited for, if any."""
        ticket = self.pending(tab) or self.remote_load(tab)
        language = detect_language(question)
        shown = ""
        waited_since = time.monotonic()
        while ticket is not None and not (ticket.searchable.is_set() and ticket.error is None):
            taken_over = self.remote_load(tab) if ticket.stage == "starting" else None
            if taken_over is not None and taken_over.id != ticket.id:
                ticket = taken_over  # the file reached another worker, which loads it: follow that load
                continue
            if token.cancelled:
                yield Waiting(None)
                yield Finished(STOPPED)
                return False, ticket
            if ticket.replaced_by is not None:
                ticket = ticket.replaced_by  # a newer upload replaced this file: wait for that one
                continue
            if ticket.error is not None:
                yield Meta({"waiting": None, "resend": question})  # the page puts it back
                yield Failed(worded(
                    language,
                    N_(
                        "{name} could not be loaded, so the question was not answered: {error} The question is back"
                        " in the input box to send again."
                    ),
                    name=ticket.name, error=Term(ticket.error),  # (the catalog's reasons in its language)
                ))
                return False, ticket
            if ticket.stage == "starting" and time.monotonic() - waited_since > LOAD_START_TIMEOUT:
                self.give_up(ticket, N_("the file never reached the app; choose it again."))
                continue
            if ticket.waiting_text(language) != shown:
                shown = ticket.waiting_text(language)
                yield Waiting(shown)
            if ticket.remote:
                time.sleep(LOAD_WAIT_POLL_SECONDS)
                self.follow_remote(ticket)
            else:
                ticket.searchable.wait(LOAD_WAIT_POLL_SECONDS)
        yield Waiting(None)
        return True, ticket
