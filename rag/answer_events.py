"""An answer as a stream of typed events: one generator per answer yields them, one sink writes them.

The engine's answer pipeline (``RAGEngine.answer_events``) yields, in order::

    Waiting("Loading cars.json…")       while it waits (for a load, semantic search, the model's turn); None: no more
    Meta({"dataset_name": …})           metadata merged into the answer's (notes, model, context_window, cited, …)
    Computed({...})                     the part computed over all records, before any text
    Sources([...])                      the records the answer is grounded in, before any text
    TextDelta("The ") TextDelta(…)      the answer's text as it streams (a started reply first)
    Thinking("…")                       reasoning text, kept apart from the answer
    Meta({"grounding": {...}})          the grounding check (``grounded``), just before the end
    Finished("done", {...}) | Failed("…", {...})   exactly one, last

Nothing that yields events touches the buffer: ``rag.answer_sink.write_events`` does. The response cache
stores an answer's events (``to_records``: JSON-safe ``{"type", …fields}``) and replays them (``replay``)
through the same sink, so a cached answer reaches the page the way a fresh one does. ``AnswerState`` folds
events into what a reader sees (text, sources, computed part, metadata, status), for ``RAGEngine.chat``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, fields
from typing import Any, Generator, Iterable, Iterator, Mapping, Union

from rag.grounding import Grounding, SourceIndex

log = logging.getLogger(__name__)

DONE = "done"
STOPPED = "stopped"
ERROR = "error"


@dataclass(frozen=True)
class Waiting:
    """The answer waits (for its file's load, semantic search, the model's turn)."""

    text: str | None
    """What the page shows while it waits ("Waiting for the model (position 2)…"); None: the wait is over."""


@dataclass(frozen=True)
class Computed:
    """The part of the answer computed over all records (sentence, table, SQL); comes before any text."""

    result: dict[str, Any]
    """The result as ``rag.analytics`` gives it (``fact``, ``summary``, ``rows``, ``columns``, ``spec``, …)."""


@dataclass(frozen=True)
class Sources:
    """The records the answer is grounded in; comes before any text."""

    items: list[dict[str, Any]]
    """One dict per record: ``label``, ``record_id``, ``score``, ``text`` and the record's data (``record``)."""


@dataclass(frozen=True)
class Meta:
    """Metadata merged into the answer's (notes, model, context_window, cited, timings, grounding, …)."""

    changes: dict[str, Any]
    """The keys to set; the others stay as they are."""


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer's text, in order (the started reply of a computed answer included)."""

    text: str
    """The characters to append."""


@dataclass(frozen=True)
class Thinking:
    """A piece of the model's reasoning, kept apart from the answer."""

    text: str
    """The characters to append to the reasoning."""


@dataclass(frozen=True)
class Finished:
    """The answer ended: done, or stopped (Stop pressed; the text so far stays). Always last."""

    status: str = DONE
    """``done`` or ``stopped``."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """``GenerationMetrics.to_dict()`` and ``retrieval_seconds`` (empty when the model was not asked)."""


@dataclass(frozen=True)
class Failed:
    """The answer failed; the text streamed before the failure stays. Always last."""

    error: str
    """The message the page shows."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """What was measured before the failure (often empty)."""


AnswerEvent = Union[Waiting, Computed, Sources, Meta, TextDelta, Thinking, Finished, Failed]
FINAL_EVENTS = (Finished, Failed)

_TYPES: dict[str, type] = {
    "waiting": Waiting,
    "computed": Computed,
    "sources": Sources,
    "meta": Meta,
    "text": TextDelta,
    "thinking": Thinking,
    "finished": Finished,
    "failed": Failed,
}
_NAMES = {kind: name for name, kind in _TYPES.items()}

RECORDED = (Computed, Sources, Meta, TextDelta, Finished)
"""The events a cached answer keeps (not its waits, not the model's reasoning)."""
NOT_RECORDED_META = frozenset({"waiting", "cached", "question", "resend"})
"""Metadata a cached answer does not keep: the state of this one asking, not the answer."""


# --- JSON form -------------------------------------------------------------------------------------------------


def to_record(event: AnswerEvent) -> dict[str, Any]:
    """``{"type": "text", "text": "…"}``: the JSON-safe form of one event."""
    return {"type": _NAMES[type(event)], **{f.name: getattr(event, f.name) for f in fields(event)}}


def from_record(record: Mapping[str, Any]) -> AnswerEvent:
    """``to_record``'s form back; raises ``ValueError`` for an unknown type or fields."""
    kind = _TYPES.get(str(record.get("type")))
    if kind is None:
        raise ValueError(f"not an answer event: {record.get('type')!r}")
    try:
        return kind(**{key: value for key, value in record.items() if key != "type"})
    except TypeError as exc:
        raise ValueError(f"bad {record.get('type')} event: {exc}") from exc


def to_records(events: Iterable[AnswerEvent]) -> list[dict[str, Any]]:
    """What the cache keeps of an answer: its ``RECORDED`` events (the text in one piece), JSON-safe."""
    kept: list[dict[str, Any]] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            kept.append(to_record(TextDelta("".join(text))))
            text.clear()

    for event in events:
        if isinstance(event, TextDelta):
            text.append(event.text)
            continue
        if not isinstance(event, RECORDED):
            continue
        if isinstance(event, Meta):
            changes = {k: v for k, v in event.changes.items() if k not in NOT_RECORDED_META}
            if not changes:
                continue
            event = Meta(changes)
        flush()
        kept.append(to_record(event))
    flush()
    return kept


def from_records(records: Iterable[Mapping[str, Any]]) -> list[AnswerEvent]:
    """``to_records``'s form back (raises ``ValueError`` when an item is not an event)."""
    return [from_record(record) for record in records]


def cached_events(entry: Mapping[str, Any] | None) -> list[AnswerEvent] | None:
    """The events of a cache entry: ``{"events": [...]}``, or the older ``{"text", "sources", "metrics", "meta"}``
    form converted; None (a miss) for anything else, or an entry that does not end."""
    if not isinstance(entry, Mapping):
        return None
    try:
        if "events" in entry:
            events = from_records(entry["events"])
        elif "text" in entry:
            events = _legacy_events(entry)
        else:
            return None
    except (ValueError, TypeError, AttributeError):
        log.warning("a cached answer could not be read; answering again")
        return None
    if not events or not isinstance(events[-1], Finished) or events[-1].status != DONE:
        return None
    return events


def _legacy_events(entry: Mapping[str, Any]) -> list[AnswerEvent]:
    """An entry as the cache kept it before events: ``{"text", "sources", "metrics", "meta"}``."""
    meta = dict(entry.get("meta") or {})
    events: list[AnswerEvent] = []
    if meta.get("computed"):
        events.append(Computed(dict(meta["computed"])))
    events.append(Sources(list(entry.get("sources") or [])))
    changes = {k: v for k, v in meta.items() if k not in NOT_RECORDED_META}
    if changes:
        events.append(Meta(changes))
    if entry.get("text"):
        events.append(TextDelta(str(entry["text"])))
    events.append(Finished(DONE, dict(entry.get("metrics") or {})))
    return events


def replay(events: Iterable[AnswerEvent]) -> Iterator[AnswerEvent]:
    """A recorded answer again: ``Meta({"cached": True})`` first, then its events."""
    yield Meta({"cached": True})
    for event in events:
        if isinstance(event, Meta) and "cached" in event.changes:
            event = Meta({k: v for k, v in event.changes.items() if k != "cached"})
        yield event


# --- folding ---------------------------------------------------------------------------------------------------


@dataclass
class AnswerState:
    """What the events of one answer add up to (as a buffer reader would see it at the end)."""

    meta: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    thinking: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    computed: dict[str, Any] | None = None
    status: str = "streaming"
    error: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def is_complete(self) -> bool:
        """True once a ``Finished`` or ``Failed`` event was applied."""
        return self.status != "streaming"

    def apply(self, event: AnswerEvent) -> None:
        """Apply one event the way the sink writes it (nothing changes once the answer ended, as in the buffer)."""
        if self.is_complete and not isinstance(event, (Meta, Waiting, Sources, Computed)):
            return
        if isinstance(event, Waiting):
            self.meta["waiting"] = event.text
        elif isinstance(event, Computed):
            self.computed = dict(event.result)
            self.meta["computed"] = event.result
        elif isinstance(event, Sources):
            self.sources = list(event.items)
        elif isinstance(event, Meta):
            self.meta.update(event.changes)
        elif isinstance(event, TextDelta):
            self.text += event.text
        elif isinstance(event, Thinking):
            self.thinking += event.text
        elif isinstance(event, Finished):
            self.status, self.error = event.status, None
            if event.metrics:
                self.metrics = dict(event.metrics)
        elif isinstance(event, Failed):
            self.status, self.error = ERROR, event.error
            if event.metrics:
                self.metrics = dict(event.metrics)


# --- stages ----------------------------------------------------------------------------------------------------

GROUNDING_KEY = "grounding"
"""The metadata key of the grounding check (``Grounding.to_dict``)."""
GROUNDING_BUDGET_MS = 20.0
"""What the check should cost at most; longer is logged."""


def grounded(
    events: Iterable[AnswerEvent], index: Any = None, *, question: str = ""
) -> Generator[AnswerEvent, None, Any]:
    """Pass ``events`` through, and before the last one (``Finished``, or ``Failed`` with text) yield
    ``Meta({"grounding": check(text).to_dict()})``: every value the text states checked against the sources.

    ``index`` is a ``rag.grounding.SourceIndex``; None builds one, at the end, from ``question``, the
    ``Computed`` result and the ``Sources`` records seen on the stream (which are exactly the records the
    model was given: the records behind a computed result, else those the prompt kept). Nothing is checked
    when nothing was given (no result, no records: nothing but a message) or there is no text, nor when the
    stream carries a grounding already (a recorded answer). Any error of the check is logged; the answer
    still ends. Returns what ``events`` returns (a generator's return value)."""
    source = iter(events)
    try:
        return (yield from _checked(source, index, question))
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _checked(source: Iterator[AnswerEvent], index: Any, question: str) -> Generator[AnswerEvent, None, Any]:
    """``grounded``'s work, on an iterator it closes."""
    text: list[str] = []
    computed: dict[str, Any] | None = None
    records: list[dict[str, Any]] = []
    checked = False
    while True:
        try:
            event = next(source)
        except StopIteration as end:
            return end.value
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, Computed):
            computed = event.result
        elif isinstance(event, Sources):
            records = event.items
        elif isinstance(event, Meta) and (GROUNDING_KEY in event.changes or "refusal" in event.changes):
            checked = True  # checked already (a recorded answer), or worded by the app (a refusal), not a model
        elif isinstance(event, FINAL_EVENTS) and not checked and text:
            if index is not None or computed is not None or records:
                check = _check("".join(text), index, question, computed, records)
                if check is not None:
                    yield Meta({GROUNDING_KEY: check})
            checked = True
        yield event


def _check(text: str, index: Any, question: str, computed: dict[str, Any] | None,
           records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``Grounding.to_dict()`` of ``text`` (its ``elapsed_ms`` counting the index's build), None on an error."""
    try:
        started = time.perf_counter()
        if index is None:
            index = SourceIndex.build(question=question, computed=computed, records=records)
        result = index.check(text)
        elapsed = (time.perf_counter() - started) * 1000
        if elapsed > GROUNDING_BUDGET_MS:
            log.info("the grounding check took %.1f ms (%d characters, %d records)", elapsed, len(text), len(records))
        return Grounding(result.values, result.skipped, elapsed).to_dict()
    except Exception:
        log.exception("the grounding check failed; the answer is kept unchecked")
        return None
