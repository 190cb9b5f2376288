"""A dataset load in progress, as questions and the page see it.

``LoadTicket`` is made when a load is asked for (before the file is even read), so that a question
sent at that moment waits for *this* file, never the one it replaces. The load reports its stage on
the ticket, sets ``searchable`` as soon as questions can be answered over the new file (or when it
ends in failure), and stops at its next progress report once ``cancel`` is set.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from rag.errors import DataLoadError
from rag.i18n import ENGLISH, N_, Term, worded

STAGE_WORDS = {
    "starting": N_("starting"),
    "parsing": N_("reading the file"),
    "profiling": N_("profiling the fields"),
    "table": N_("building the table"),
    "lexical": N_("building the keyword index"),
    "embedding": N_("embedding the records"),
    "indexing": N_("building the vector index"),
}
"""A load's stages as a waiting question says them (catalog messages)."""


class LoadCancelled(DataLoadError):
    """The load was cancelled, by the user or by a newer upload; the previous dataset stays."""


@dataclass
class LoadTicket:
    """One load, from the moment it is asked for until it ends."""

    name: str
    stage: str = "starting"
    done: int = 0
    total: int = 0
    error: str | None = None
    """Why the load failed or was cancelled; None while it runs and when it succeeded."""
    cancelled: threading.Event = field(default_factory=threading.Event)
    searchable: threading.Event = field(default_factory=threading.Event)
    """Set once questions can be answered over the new file, or once the load failed."""
    replaced_by: "LoadTicket | None" = None
    """The newer load that cancelled this one: questions waiting here wait for that one instead."""
    tab: str = ""
    """The tab the file was chosen in: only that tab's questions wait for it."""
    dataset_id: str | None = None
    """The loaded dataset, once questions can be answered over it."""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    remote: bool = False
    """A load running in another worker, followed through its published state."""

    def to_state(self, *, finished: bool = False) -> dict[str, Any]:
        """What other workers see of this load (``rag.redis_buffer.RedisLoadBoard``)."""
        return {
            "id": self.id, "name": self.name, "stage": self.stage, "done": self.done, "total": self.total, "error": self.error,
            "dataset_id": self.dataset_id, "finished": finished,
        }

    @classmethod
    def from_state(cls, tab: str, state: dict[str, Any]) -> "LoadTicket":
        """A load running in another worker, as its last published state shows it."""
        ticket = cls(name=str(state.get("name", "the file")), tab=tab, id=str(state.get("id", "")), remote=True)
        ticket.stage, ticket.done, ticket.total = state.get("stage", "starting"), state.get("done", 0), state.get("total", 0)
        ticket.error, ticket.dataset_id = state.get("error"), state.get("dataset_id")
        return ticket

    def report(self, stage: str, done: int, total: int) -> None:
        """Record progress; raises ``LoadCancelled`` when the load was cancelled meanwhile."""
        if self.cancelled.is_set():
            raise LoadCancelled(N_("Loading {name} was cancelled."), name=self.name)
        self.stage, self.done, self.total = stage, done, total

    def fail(self, message: str) -> None:
        """The load ended without a new dataset; waiting questions are released with ``message``."""
        self.error = message
        self.searchable.set()

    def waiting_text(self, language: str = ENGLISH) -> str:
        """ "Waiting for cars.json (embedding the records, 23%)…" for a question that waits, in ``language``."""
        stage = Term(STAGE_WORDS.get(self.stage, self.stage))
        if self.total > 1:
            message = N_("Waiting for {name} ({stage}, {percent}%)…")
            return worded(language, message, name=self.name, stage=stage, percent=100 * self.done // self.total)
        return worded(language, N_("Waiting for {name} ({stage})…"), name=self.name, stage=stage)
