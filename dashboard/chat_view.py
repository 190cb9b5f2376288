"""The conversation as data and as components, and the partial updates that stream an answer.

A *turn* is a JSON-safe dict kept in the tab's ``chat-history-store``::

    {"id": session id, "question", "answer", "status", "error", "sources", "metrics", "meta", "asked_at"}

``render_turn`` turns it into components; the ``*_PATH`` constants say where inside a rendered
turn the answer text, the status line, the error and the footer live, so a poll can patch just
that spot (``dash.Patch``) instead of re-sending the conversation.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from dash import Patch, dcc, html, no_update

from dashboard import ids
from rag.stream_buffer import DONE, ERROR, STOPPED, STREAMING, StreamSnapshot

SOURCE_TEXT_CHARS = 1500
"""Longest excerpt of a source kept with a turn (the store lives in the browser's session storage)."""
HISTORY_TURNS = 6
"""Previous turns passed to the model as conversation history."""
LOST_SESSION_MESSAGE = "This answer is no longer available on the server (it was restarted or the answer expired)."

# Where things are inside a rendered turn (see ``render_turn``).
_ANSWER_BLOCK = ["props", "children", 1]
ANSWER_CLASS_PATH = _ANSWER_BLOCK + ["props", "className"]
STATUS_LINE_PATH = _ANSWER_BLOCK + ["props", "children", 0]
ANSWER_TEXT_PATH = _ANSWER_BLOCK + ["props", "children", 1, "props", "children"]
ERROR_PATH = _ANSWER_BLOCK + ["props", "children", 2]
FOOTER_PATH = _ANSWER_BLOCK + ["props", "children", 3]

THINKING = "thinking"
"""Shown (not stored) while a reasoning model thinks before its answer starts."""
STATUS_LABELS = {STREAMING: "writing…", THINKING: "thinking…", DONE: "", STOPPED: "stopped", ERROR: "error"}


# --------------------------------------------------------------------------- turns as data
def new_turn(question: str, session_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """A turn that has just been asked."""
    asked = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    return {
        "id": session_id,
        "question": question,
        "answer": "",
        "status": STREAMING,
        "error": None,
        "sources": [],
        "metrics": {},
        "meta": {},
        "asked_at": asked,
    }


def compact_sources(sources: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Sources as kept with a turn: label, record id, score and an excerpt (not the whole record)."""
    kept = []
    for position, source in enumerate(sources, start=1):
        text = str(source.get("text") or "")
        if len(text) > SOURCE_TEXT_CHARS:
            text = text[:SOURCE_TEXT_CHARS] + "…"
        score = source.get("score")
        kept.append(
            {
                "label": source.get("label", position),
                "record_id": str(source.get("record_id", "")),
                "score": float(score) if isinstance(score, (int, float)) and math.isfinite(score) else None,
                "text": text,
            }
        )
    return kept


def finished_turn(turn: Mapping[str, Any], snapshot: StreamSnapshot) -> dict[str, Any]:
    """``turn`` completed from a whole-answer snapshot (read from offset 0)."""
    return {
        **turn,
        "answer": snapshot.text,
        "status": snapshot.status,
        "error": snapshot.error,
        "sources": compact_sources(snapshot.sources),
        "metrics": dict(snapshot.metrics),
        "meta": _json_safe_meta(snapshot.meta),
    }


def send_question(
    engine: Any,
    question: str | None,
    turns: Sequence[Mapping[str, Any]] | None,
    *,
    session_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Start answering ``question`` (with the tab's earlier turns as history); the new turn, or None when empty."""
    text = (question or "").strip()
    if not text:
        return None
    session_id = session_id or uuid.uuid4().hex
    engine.chat_stream(text, session_id, history=history_messages(turns or []))
    return new_turn(text, session_id, now=now)


def history_messages(turns: Sequence[Mapping[str, Any]], max_turns: int = HISTORY_TURNS) -> list[dict[str, str]]:
    """The previous turns as chat messages for the model (turns without any answer text are left out)."""
    usable = [t for t in turns if t.get("status") != STREAMING and str(t.get("answer") or "").strip()]
    messages: list[dict[str, str]] = []
    for turn in usable[-max_turns:]:
        messages.append({"role": "user", "content": str(turn["question"])})
        messages.append({"role": "assistant", "content": str(turn["answer"])})
    return messages


def _json_safe_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    safe: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            safe[key] = value
        elif isinstance(value, Mapping):
            safe[key] = _json_safe_meta(value)
        elif isinstance(value, (list, tuple)):
            safe[key] = [v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for v in value]
        else:
            safe[key] = str(value)
    return safe


# --------------------------------------------------------------------------- components
def render_history(turns: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Every turn of a conversation, rendered."""
    return [render_turn(turn) for turn in turns]


def render_turn(turn: Mapping[str, Any]) -> html.Div:
    """One question and its answer (text, status, error, sources, timings)."""
    status = str(turn.get("status") or STREAMING)
    return html.Div(
        className="turn",
        children=[
            html.Div(
                className="bubble user",
                children=[
                    html.Div("You", className="who"),
                    html.Div(str(turn.get("question", "")), className="question-text"),
                ],
            ),
            html.Div(
                className=answer_class(status),
                children=[
                    render_status_line(status, turn.get("meta") or {}),
                    dcc.Markdown(str(turn.get("answer") or ""), className="answer-text", link_target="_blank"),
                    render_error(turn.get("error")),
                    render_footer(
                        str(turn.get("id", "")),
                        turn.get("sources") or [],
                        turn.get("metrics") or {},
                        turn.get("meta") or {},
                        final=status != STREAMING,
                    ),
                ],
            ),
        ],
    )


def answer_class(status: str) -> str:
    """CSS classes of the answer block for a status."""
    return f"bubble assistant status-{status}"


def render_status_line(status: str, meta: Mapping[str, Any]) -> html.Div:
    """ "Assistant" plus a badge for the status (writing, stopped, error) and for a cached answer."""
    children: list[Any] = [html.Span("Assistant", className="who")]
    label = STATUS_LABELS.get(status, status)
    if label:
        children.append(html.Span(label, className=f"status-badge {status}"))
    if meta.get("cached"):
        children.append(html.Span("cached", className="status-badge cached"))
    return html.Div(children, className="answer-head")


def render_error(error: str | None) -> html.Div:
    """The error message of a failed answer (an empty block when there is none)."""
    if not error:
        return html.Div(className="answer-error", hidden=True)
    return html.Div([html.Strong("Error: "), str(error)], className="answer-error", role="alert")


def render_footer(
    turn_id: str,
    sources: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any],
    meta: Mapping[str, Any],
    *,
    final: bool,
) -> html.Div:
    """Sources (each expandable, with a button that shows the record) and, once final, the timings line."""
    children: list[Any] = []
    if sources:
        cited = {int(n) for n in meta.get("cited") or [] if isinstance(n, (int, float))}
        children.append(
            html.Div(
                className="sources",
                children=[html.Div(f"Sources ({len(sources)})", className="sources-title")]
                + [render_source(turn_id, source, cited) for source in sources],
            )
        )
    notes = [str(n) for n in meta.get("notes") or []]
    if notes:
        children.append(html.Ul([html.Li(n) for n in notes], className="answer-notes"))
    if final:
        line = metrics_line(metrics, meta)
        if line:
            children.append(html.Div(line, className="metrics-line"))
    return html.Div(children, className="answer-footer")


def render_source(turn_id: str, source: Mapping[str, Any], cited: set[int]) -> html.Details:
    """One source: its label and record id; opened, the retrieved text and a "Show in data" button."""
    record_id = str(source.get("record_id", ""))
    label = source.get("label")
    summary: list[Any] = []
    if label is not None:
        summary.append(html.Span(f"[{label}]", className="source-label"))
    summary.append(html.Code(record_id, className="source-id"))
    score = source.get("score")
    if isinstance(score, (int, float)):
        summary.append(html.Span(f"score {score:.3f}", className="source-score"))
    if label in cited:
        summary.append(html.Span("cited", className="source-cited"))
    return html.Details(
        className="source",
        children=[
            html.Summary(summary),
            html.Pre(str(source.get("text") or ""), className="source-text"),
            html.Button(
                "Show in data table",
                id=ids.source_link(turn_id, record_id),
                n_clicks=0,
                className="link-button source-show",
            ),
        ],
    )


def metrics_line(metrics: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """ "first token 0.41 s · 38.2 tokens/s · 512 tokens · model" (only the figures that are known)."""
    parts = []
    ttft = metrics.get("time_to_first_token")
    if isinstance(ttft, (int, float)):
        parts.append(f"first token {ttft:.2f} s")
    tps = metrics.get("tokens_per_second")
    if isinstance(tps, (int, float)) and tps > 0:
        parts.append(f"{tps:.1f} tokens/s")
    total = metrics.get("total_duration")
    if isinstance(total, (int, float)):
        parts.append(f"total {total:.2f} s")
    completion = metrics.get("completion_tokens")
    if isinstance(completion, int):
        parts.append(f"{completion} tokens")
    model = metrics.get("model") or meta.get("model")
    if model:
        parts.append(str(model))
    return " · ".join(parts)


# --------------------------------------------------------------------------- streaming
@dataclass
class PollUpdate:
    """What one poll of a streaming answer changes on the page."""

    history: Any = no_update
    """A ``Patch`` of ``chat-history.children`` (or ``no_update``)."""
    store: Any = no_update
    """A ``Patch`` of ``chat-history-store.data`` once the answer is final."""
    progress: Any = no_update
    """The new ``stream-progress`` data."""
    finished: bool = False
    notes: list[str] = field(default_factory=list)


def new_progress(turn_index: int) -> dict[str, Any]:
    """Poll state of a fresh answer: nothing read yet, nothing shown."""
    return {"turn": turn_index, "offset": 0, "sources_shown": False}


def poll_stream(
    read: Any,
    session_id: str,
    progress: Mapping[str, Any],
    turn: Mapping[str, Any] | None = None,
) -> PollUpdate:
    """Read what is new for ``session_id`` and say how to patch the page.

    ``read(session_id, offset)`` is ``StreamBuffer.read``; ``progress`` is the tab's
    ``{"turn", "offset", "sources_shown"}``; ``turn`` is the stored turn when known (its question
    and time go into the store patch; only the answer fields are set otherwise).
    """
    index = int(progress["turn"])
    offset = int(progress.get("offset") or 0)
    snapshot = read(session_id, offset)
    history = Patch()
    store = Patch()
    if snapshot is None:
        _set(history, index, ANSWER_CLASS_PATH, answer_class(ERROR))
        _set(history, index, STATUS_LINE_PATH, render_status_line(ERROR, {}))
        _set(history, index, ERROR_PATH, render_error(LOST_SESSION_MESSAGE))
        _set(store, index, ["status"], ERROR)
        _set(store, index, ["error"], LOST_SESSION_MESSAGE)
        return PollUpdate(history=history, store=store, progress={**progress, "done": True}, finished=True)

    changed = False
    if snapshot.text:
        _add(history, index, ANSWER_TEXT_PATH, snapshot.text)
        changed = True
    new_progress_data = {**progress, "offset": snapshot.offset}
    if snapshot.is_complete:
        whole = read(session_id, 0) or snapshot
        done = finished_turn(turn or {"id": session_id}, whole)
        _set(history, index, ANSWER_CLASS_PATH, answer_class(done["status"]))
        _set(history, index, STATUS_LINE_PATH, render_status_line(done["status"], done["meta"]))
        _set(history, index, ERROR_PATH, render_error(done["error"]))
        _set(
            history,
            index,
            FOOTER_PATH,
            render_footer(session_id, done["sources"], done["metrics"], done["meta"], final=True),
        )
        if turn is not None:
            store[index] = done
        else:
            for key in ("answer", "status", "error", "sources", "metrics", "meta"):
                store[index][key] = done[key]
        new_progress_data["done"] = True
        return PollUpdate(history=history, store=store, progress=new_progress_data, finished=True)
    if snapshot.sources and not progress.get("sources_shown"):
        _set(
            history,
            index,
            FOOTER_PATH,
            render_footer(session_id, compact_sources(snapshot.sources), {}, snapshot.meta, final=False),
        )
        new_progress_data["sources_shown"] = True
        changed = True
    if snapshot.meta.get("cached"):
        _set(history, index, STATUS_LINE_PATH, render_status_line(STREAMING, snapshot.meta))
        changed = True
    thinking_now = snapshot.thinking_chars > 0 and snapshot.offset == 0
    if thinking_now != bool(progress.get("thinking")) and (thinking_now or progress.get("thinking")):
        label = THINKING if thinking_now else STREAMING
        _set(history, index, STATUS_LINE_PATH, render_status_line(label, snapshot.meta))
        new_progress_data["thinking"] = thinking_now
        changed = True
    return PollUpdate(
        history=history if changed else no_update,
        progress=new_progress_data if new_progress_data != dict(progress) else no_update,
    )


def _walk(patch: Patch, index: int, path: Sequence[Any]) -> Patch:
    node = patch[index]
    for key in path:
        node = node[key]
    return node


def _set(patch: Patch, index: int, path: Sequence[Any], value: Any) -> None:
    parent = _walk(patch, index, path[:-1])
    parent[path[-1]] = value


def _add(patch: Patch, index: int, path: Sequence[Any], text: str) -> None:
    node = _walk(patch, index, path)
    node += text  # a Patch "Add" operation: string concatenation in the browser
