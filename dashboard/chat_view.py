"""The conversation as data and as components.

A *turn* is a JSON-safe dict kept in the tab's ``chat-history-store``::

    {"id": session id, "question", "answer", "status", "error", "sources", "metrics", "meta", "asked_at"}

``render_turn`` turns it into components. While the answer streams, its block is made of named *parts*
(``LIVE_PARTS``), each with its own dict id (``ids.answer_part(turn id, part)``), so a poll can redraw one
part of one turn (``part_props``) without re-sending the conversation or knowing where the turn sits in the
page. A finished answer is drawn as a few static blocks (``dashboard.static_html``): every component on the
page makes every later update of it slower, and nothing in a finished answer changes.

A finished answer whose metadata holds a grounding check (``meta["grounding"]``, ``rag.grounding.Grounding.to_dict``)
that marks values (not in the sources, from another record or field) shows each of them in a ``<mark>`` and a
one-line notice under the text (``answer_grounding``, ``render_checked_text``); the exports mark them the same way.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from dash import dcc, html
from dash.development.base_component import Component
from markupsafe import Markup

from dashboard import ids
from dashboard.computed_view import render_computed
from dashboard.i18n import N_, _, format_number
from dashboard.static_html import join, static_block
from rag.answer_meta import AnswerMeta
from rag.grounding import Grounding, marked_html
from rag.stream_buffer import DONE, ERROR, STOPPED, STREAMING, StreamSnapshot

SOURCE_TEXT_CHARS = 1500
"""Longest excerpt of a source kept with a turn (the store lives in the browser's session storage)."""
HISTORY_TURNS = 6
"""Previous turns passed to the model as conversation history."""

THINKING = "thinking"
"""Shown (not stored) while a reasoning model thinks before its answer starts."""
INTERRUPTED = "interrupted"
"""Status of an answer the server lost while it was being written (the app restarted): the text shown is kept."""
INTERRUPTED_MESSAGE = N_(
    "The app was restarted while this answer was being written; the text above is what had arrived."
)
STATUS_LABELS = {
    STREAMING: N_("writing…"),
    THINKING: N_("thinking…"),
    DONE: "",
    STOPPED: N_("stopped"),
    ERROR: N_("error"),
    INTERRUPTED: N_("interrupted"),
}
RESULT_KEYS = ("answer", "status", "error", "sources", "metrics", "meta", "computed")
"""The fields of a turn its answer fills in (the rest, question, id and time, are set when it is asked)."""

BLOCK, STATUS, NOTICE, COMPUTED, TEXT, FOOTER = "block", "status", "notice", "computed", "text", "footer"
FOOTER_CLASS = "answer-footer"
CHECKED_TEXT_CLASS = "answer-text answer-checked"
"""The text block of a finished answer with marked values (escaped HTML, the Markdown shown as written)."""
GROUNDING_NOTICE_CLASS = "grounding-notice"
LIVE_PARTS = (STATUS, NOTICE, COMPUTED, TEXT, FOOTER)
"""The parts of a streaming answer block, top to bottom (``BLOCK`` is the block itself, for its status class).
A new section of the answer gets a name here, a place in ``live_parts`` and ``finished_parts`` and, when it
arrives while the answer streams, an entry in the poll's ``parts`` (see ``dashboard.polling.stream_update``)."""


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
        "meta": json_safe_meta(AnswerMeta.from_dict(snapshot.meta).to_dict(leave_out=("computed",))),
        "computed": snapshot.computed,  # (kept once: the turn's metadata leaves it out)
    }


def send_question(
    engine: Any,
    question: str | None,
    turns: Sequence[Mapping[str, Any]] | None,
    *,
    session_id: str | None = None,
    now: datetime | None = None,
    dataset_id: str | None = None,
    tab: str | None = None,
) -> dict[str, Any] | None:
    """Start answering ``question`` over the tab's dataset (with the tab's earlier turns as history); the new
    turn, or None when empty."""
    text = (question or "").strip()
    if not text:
        return None
    session_id = session_id or uuid.uuid4().hex
    engine.chat_stream(text, session_id, history=history_messages(turns or []), dataset_id=dataset_id, tab=tab or "")
    return new_turn(text, session_id, now=now)


def history_messages(turns: Sequence[Mapping[str, Any]], max_turns: int = HISTORY_TURNS) -> list[dict[str, str]]:
    """The previous turns as chat messages for the model (turns without any answer text are left out)."""
    usable = [t for t in turns if t.get("status") != STREAMING and str(t.get("answer") or "").strip()]
    messages: list[dict[str, str]] = []
    for turn in usable[-max_turns:]:
        messages.append({"role": "user", "content": str(turn["question"])})
        messages.append({"role": "assistant", "content": str(turn["answer"])})
    return messages


def json_safe_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """``meta`` with every value made JSON-safe (strings, numbers, booleans, lists and dicts of them)."""
    safe: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            safe[key] = value
        elif isinstance(value, Mapping):
            safe[key] = json_safe_meta(value)
        elif isinstance(value, (list, tuple)):
            safe[key] = [v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for v in value]
        else:
            safe[key] = str(value)
    return safe


# --------------------------------------------------------------------------- components
def render_history(turns: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Every turn of a conversation, rendered, then the empty slot where the next turn goes (nothing at all
    for an empty conversation)."""
    if not turns:
        return []
    return [render_turn(turn) for turn in turns] + [turn_slot(len(turns))]


def turn_slot(index: int, turn: Mapping[str, Any] | None = None) -> html.Div:
    """The place of turn number ``index``: empty, or the turn followed by the empty slot of the next one.

    Dash re-renders every child of a children list that changes, so a new turn is not appended to the
    conversation: it fills the empty slot (``ids.turn_slot``), and only that slot is drawn.
    """
    children = [] if turn is None else [render_turn(turn), turn_slot(index + 1)]
    return html.Div(children, id=ids.turn_slot(index), className="turn-slot")


def render_turn(turn: Mapping[str, Any]) -> html.Div:
    """One question and its answer: while it streams, the named parts a poll redraws (``live_parts``); once
    finished, a few static blocks (``finished_parts``), since nothing in it changes any more."""
    status = str(turn.get("status") or STREAMING)
    turn_id = str(turn.get("id", ""))
    parts = [part for _name, part in live_parts(turn)] if status == STREAMING else finished_parts(turn)
    return html.Div(
        className="turn",
        children=[
            render_question(str(turn.get("question", ""))),
            html.Div(id=ids.answer_part(turn_id, BLOCK), className=answer_class(status), children=parts),
        ],
    )


def render_question(question: str) -> dcc.Markdown:
    """The user's question (plain text, escaped)."""
    return static_block(
        Markup('<div class="who">{}</div><div class="question-text">{}</div>').format(_("You"), question), "bubble user"
    )


def live_parts(turn: Mapping[str, Any]) -> list[tuple[str, Component]]:
    """The named parts of a streaming answer block, in display order, each with its ``ids.answer_part`` id."""
    turn_id = str(turn.get("id", ""))
    meta = turn.get("meta") or {}
    parts: list[tuple[str, Component]] = [
        (STATUS, render_status_line(STREAMING, meta)),
        (NOTICE, render_notice(STREAMING)),
        (COMPUTED, render_computed(turn.get("computed"))),
        (TEXT, render_answer_text(str(turn.get("answer") or ""))),
        (FOOTER, render_footer(turn.get("sources") or [], {}, meta, final=False)),
    ]
    for name, part in parts:
        part.id = ids.answer_part(turn_id, name)
    return parts


def finished_parts(turn: Mapping[str, Any]) -> list[Component]:
    """A finished answer block: status line (and notice), the computed part, the text, the error, sources and
    timings; the parts with nothing to show are left out."""
    status = str(turn.get("status") or STREAMING)
    meta = turn.get("meta") or {}
    notice = _(INTERRUPTED_MESSAGE) if status == INTERRUPTED else None
    parts: list[Component] = [render_status_line(status, meta, notice=notice)]
    if turn.get("computed"):
        dataset = AnswerMeta.from_dict(meta).dataset_hash  # the computed block's buttons name the dataset it was over
        parts.append(render_computed(turn.get("computed"), dataset=dataset if isinstance(dataset, str) else None))
    parts.append(render_checked_text(str(turn.get("answer") or ""), meta))
    rephrasings = render_rephrasings(meta)
    if rephrasings is not None:
        parts.append(rephrasings)
    if turn.get("error"):
        parts.append(render_error(str(turn["error"])))
    footer = footer_html(turn.get("sources") or [], turn.get("metrics") or {}, meta, final=status != INTERRUPTED)
    if footer:  # an interrupted answer has no timings
        parts.append(static_block(footer, FOOTER_CLASS))
    return parts


def render_rephrasings(meta: Mapping[str, Any]) -> dcc.Markdown | None:
    """The questions a refused analytic question offers instead (``meta["refusal"]``), each a button that asks it
    (``assets/sources.js`` puts it in the input box and sends it); None when there are none."""
    questions = AnswerMeta.from_dict(meta).rephrasings
    if questions is None:
        return None
    buttons = [
        Markup('<button type="button" class="rephrasing link-button" data-question="{}">{}</button>').format(q, q)
        for q in questions
        if isinstance(q, str) and q.strip()
    ]
    if not buttons:
        return None
    return static_block(Markup('<div class="rephrasings"><span class="muted">{}</span> {}</div>').format(
        _("Ask instead:"), join(buttons)), "answer-rephrasings")


def part_props(component: Component) -> dict[str, Any]:
    """The props that redraw a part in place (everything but its id), for ``dash_clientside.set_props``."""
    props = component.to_plotly_json()["props"]
    return {key: value for key, value in props.items() if key != "id"}


def answer_class(status: str) -> str:
    """CSS classes of the answer block for a status."""
    return f"bubble assistant status-{status}"


def render_status_line(status: str, meta: Mapping[str, Any], *, notice: str | None = None) -> dcc.Markdown:
    """ "Assistant" plus a badge for the status (writing, stopped, error, interrupted) and for a cached answer;
    then ``notice``, when given (a finished answer's notice, which no poll changes any more)."""
    head = [Markup('<span class="who">{}</span>').format(_("Assistant"))]
    label = STATUS_LABELS.get(status, status)
    if label:
        head.append(Markup('<span class="status-badge {}">{}</span>').format(status, _(label)))
    if AnswerMeta.from_dict(meta).cached:
        head.append(Markup('<span class="status-badge cached">{}</span>').format(_("cached")))
    fragment = Markup('<div class="answer-head">{}</div>').format(join(head))
    if notice:
        fragment += Markup('<div class="answer-notice" role="status">{}</div>').format(notice)
    return static_block(fragment, "answer-status")


def render_notice(status: str, text: str | None = None) -> html.Div:
    """A line about a streaming answer (the page sets it when the model is silent; a poll when the question waits
    for its file, or when the answer was interrupted)."""
    message = text or (_(INTERRUPTED_MESSAGE) if status == INTERRUPTED else "")
    return html.Div(message, className="answer-notice", hidden=not message, role="status")


def render_answer_text(text: str) -> dcc.Markdown:
    """The answer as Markdown (raw HTML is shown as text, never rendered)."""
    return dcc.Markdown(text, className="answer-text", link_target="_blank")


def answer_grounding(text: str, meta: Mapping[str, Any] | None) -> Grounding | None:
    """The grounding check kept in ``meta`` (``meta["grounding"]``) as it applies to ``text``: only the values it
    marks that sit where it says in ``text`` (a check of another text marks nothing); None when nothing is marked
    (no check, an empty or unreadable one, or every value found in the sources)."""
    grounding = Grounding.from_dict(AnswerMeta.from_dict(meta).grounding)
    kept = []
    position = 0
    for value in grounding.marked:  # the values ``rag.grounding.segments`` marks, in the order of the text
        if value.start < position or value.end > len(text) or text[value.start:value.end] != value.text:
            continue
        kept.append(value)
        position = value.end
    return Grounding(tuple(kept), elapsed_ms=grounding.elapsed_ms) if kept else None


def render_checked_text(text: str, meta: Mapping[str, Any]) -> dcc.Markdown:
    """A finished answer's text: as ``render_answer_text`` when its grounding check marks nothing; else one static
    block with the text as escaped HTML (line breaks kept, the Markdown shown as written), each marked value in a
    ``<mark class="ungrounded">`` whose title says why, and the check's one-line notice under it."""
    grounding = answer_grounding(text, meta)
    if grounding is None:
        return render_answer_text(text)
    marked = Markup(marked_html(text, grounding))  # escaped by rag.grounding: every piece of text, every reason
    fragment = Markup('<div class="answer-checked-text">{}</div><div class="answer-notice {}" role="note">⚠ {}</div>')
    return static_block(fragment.format(marked, GROUNDING_NOTICE_CLASS, grounding.notice), CHECKED_TEXT_CLASS)


def render_error(error: str) -> dcc.Markdown:
    """The error message of a failed answer."""
    return static_block(
        Markup('<div class="answer-error" role="alert"><strong>{} </strong>{}</div>').format(_("Error:"), error),
        "answer-error-block",
    )


def render_footer(
    sources: Sequence[Mapping[str, Any]], metrics: Mapping[str, Any], meta: Mapping[str, Any], *, final: bool
) -> dcc.Markdown:
    """The footer of an answer (``footer_html``); with the class ``is-empty`` when there is nothing in it."""
    fragment = footer_html(sources, metrics, meta, final=final)
    return static_block(fragment, FOOTER_CLASS if fragment else f"{FOOTER_CLASS} is-empty")


def footer_html(
    sources: Sequence[Mapping[str, Any]], metrics: Mapping[str, Any], meta: Mapping[str, Any], *, final: bool
) -> Markup:
    """Sources (each expandable, with a button that shows the record), notes and, once final, the timings line."""
    fragments: list[Markup] = []
    info = AnswerMeta.from_dict(meta)
    if sources:
        cited = {int(n) for n in info.cited or [] if isinstance(n, (int, float))}
        fragments.append(
            Markup('<div class="sources"><div class="sources-title">{}</div>{}</div>').format(
                _("Sources ({count})").format(count=len(sources)),
                join([render_source(source, cited) for source in sources]),
            )
        )
    notes = [str(n) for n in info.notes or []]
    if notes:
        items = join([Markup("<li>{}</li>").format(note) for note in notes])
        fragments.append(Markup('<ul class="answer-notes">{}</ul>').format(items))
    line = metrics_line(metrics, meta) if final else ""
    if line:
        fragments.append(Markup('<div class="metrics-line">{}</div>').format(line))
    return join(fragments)


def render_source(source: Mapping[str, Any], cited: set[int]) -> Markup:
    """One source: its label and record id; opened, the retrieved text and a "Show in data table" button
    (``data-record``: the click is handed to the app by ``assets/sources.js``)."""
    record_id = str(source.get("record_id", ""))
    label = source.get("label")
    summary: list[Markup] = []
    if label is not None:
        summary.append(Markup('<span class="source-label">[{}]</span>').format(label))
    summary.append(Markup('<span class="source-id">{}</span>').format(record_id))
    score = source.get("score")
    if isinstance(score, (int, float)):
        summary.append(Markup('<span class="source-score">{}</span>').format(
            _("score {score}").format(score=format_number(score, "0.000"))))
    if label in cited:
        summary.append(Markup('<span class="source-cited">{}</span>').format(_("cited")))
    return Markup(
        '<details class="source"><summary>{}</summary><pre class="source-text">{}</pre>'
        '<button type="button" class="link-button source-show" data-record="{}">{}</button></details>'
    ).format(join(summary), str(source.get("text") or ""), record_id, _("Show in data table"))


def metrics_line(metrics: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """ "first token 0.41 s · 38.2 tokens/s · 512 tokens · model" (only the figures that are known)."""
    parts = []
    ttft = metrics.get("time_to_first_token")
    if isinstance(ttft, (int, float)):
        parts.append(_("first token {seconds} s").format(seconds=format_number(ttft, "0.00")))
    tps = metrics.get("tokens_per_second")
    if isinstance(tps, (int, float)) and tps > 0:
        parts.append(_("{rate} tokens/s").format(rate=format_number(tps, "0.0")))
    total = metrics.get("total_duration")
    if isinstance(total, (int, float)):
        parts.append(_("total {seconds} s").format(seconds=format_number(total, "0.00")))
    completion = metrics.get("completion_tokens")
    if isinstance(completion, int):
        parts.append(_("{count} tokens").format(count=completion))
    model = metrics.get("model") or AnswerMeta.from_dict(meta).model
    if model:
        parts.append(str(model))
    return " · ".join(parts)
