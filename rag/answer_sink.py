"""The one place an answer's events (``rag.answer_events``) are written into a stream buffer.

Works with any buffer keeping the ``StreamBuffer`` contract (in memory, or ``RedisStreamBuffer``):

==================  ==========================================================
``Waiting(text)``   ``update_meta(waiting=text)``
``Computed(r)``     ``set_computed(r)`` and ``update_meta(computed=r)``
``Sources(items)``  ``set_sources(items)``
``Meta(changes)``   ``update_meta(**changes)``
``TextDelta(t)``    ``append(t)``
``Thinking(t)``     ``append_thinking(t)``
``Finished(s, m)``  ``finish(status=s, metrics=m)``
``Failed(e, m)``    ``finish(status="error", error=e, metrics=m)``
==================  ==========================================================
"""

from __future__ import annotations

from typing import Any, Iterable

from rag.answer_events import (
    ERROR,
    AnswerEvent,
    Computed,
    Failed,
    Finished,
    Meta,
    Sources,
    TextDelta,
    Thinking,
    Waiting,
)


def write_event(buffer: Any, session_id: str, event: AnswerEvent) -> None:
    """Write one event of answer ``session_id`` into ``buffer``."""
    if isinstance(event, TextDelta):
        buffer.append(session_id, event.text)
    elif isinstance(event, Thinking):
        buffer.append_thinking(session_id, event.text)
    elif isinstance(event, Meta):
        buffer.update_meta(session_id, **event.changes)
    elif isinstance(event, Waiting):
        buffer.update_meta(session_id, waiting=event.text)
    elif isinstance(event, Sources):
        buffer.set_sources(session_id, event.items)
    elif isinstance(event, Computed):
        buffer.set_computed(session_id, event.result)
        buffer.update_meta(session_id, computed=event.result)
    elif isinstance(event, Finished):
        buffer.finish(session_id, status=event.status, metrics=event.metrics)
    elif isinstance(event, Failed):
        buffer.finish(session_id, status=ERROR, error=event.error, metrics=event.metrics)
    else:
        raise TypeError(f"not an answer event: {event!r}")


def write_events(buffer: Any, session_id: str, events: Iterable[AnswerEvent]) -> None:
    """Write every event of answer ``session_id`` into ``buffer``, in order, as they come."""
    for event in events:
        write_event(buffer, session_id, event)
