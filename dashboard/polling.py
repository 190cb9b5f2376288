"""Polls that survive slow round trips: what the page asks for, and what the server answers.

Dash drops a callback still in flight when the same callback is requested again, so a poll made a
server callback fired by a 200 ms interval never completes once a round trip takes longer than the
interval. The page's pollers (``assets/polling.js``) therefore post to two small routes of their own
(``ANSWER_POLL_PATH``, ``INGEST_POLL_PATH``), one request at a time: an interval tick sends a request
only when none is in flight; a request in flight longer than a timeout is abandoned and sent again; a
failed one is retried with a growing delay while the page says the app is not reachable. Each reply
names its request and the offsets of the text it holds, so it is applied once and in order.

Answer poll (``POST _poll/answer``)::

    request  {"seq", "session", "offset", "view", "version", "hold_ms"}
    reply    {"seq", "session", "from", "to", "text", "activity", "content", "view", "parts", "fields", "done",
              "version"}

A request that names the ``version`` of the answer its page last saw is held until the answer changes
(at most ``HOLD_MS``, or the request's ``hold_ms`` when shorter), and a request from a page that shows
nothing of its answer yet is held until there is some (``hold_until_news``): the first token is sent the
moment it exists instead of at the next tick, and a tab whose model has not started yet sends about one
request a second instead of twenty. The page asks for a shorter hold when its silent-model notice (``STALL_MS``
after the last new text) falls due sooner, so the notice is not late by a hold.

``text`` is the answer from offset ``from`` to ``to`` (``from`` is 0 in the final reply, which carries the
whole answer); ``parts`` are props for ``ids.answer_part`` components; ``fields`` are saved into the stored
turn; ``view`` is echoed back by the next request. Loading-progress poll (``POST _poll/ingest``)::

    request  {"seq", "job"}
    reply    {"seq", "job", "finished", "progress", "hidden", "message", "stored_data"}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import json
import time
from dataclasses import dataclass, field
from typing import Any

from dashboard import ids
from dashboard.chat_view import (
    BLOCK,
    COMPUTED,
    FOOTER,
    INTERRUPTED,
    NOTICE,
    RESULT_KEYS,
    STATUS,
    THINKING,
    answer_class,
    compact_sources,
    finished_parts,
    finished_turn,
    json_safe_meta,
    part_props,
    render_footer,
    render_notice,
    render_status_line,
)
from dashboard.computed_view import render_computed
from dashboard.data_flow import IngestView
from dashboard.i18n import N_, _
from rag.answer_meta import AnswerMeta
from rag.redis_buffer import is_answer_id
from rag.stream_buffer import STREAMING, StreamSnapshot

Reader = Callable[[str, int], "StreamSnapshot | None"]
Waiter = Callable[[str, int, float], bool]

ANSWER_POLL_PATH = "_poll/answer"
INGEST_POLL_PATH = "_poll/ingest"
FAST_POLL_MS = 50
"""Poll interval from Send until the first text arrives (or ``FAST_FOR_MS`` has passed)."""
FAST_FOR_MS = 5_000
"""Longest fast phase: a model that takes long to start is then polled at the normal interval."""
TIMEOUT_MS = 10_000
"""A request unanswered this long (or 4 round trips, whichever is longer) is abandoned and sent again."""
RETRY_MS = 250
"""Delay before retrying a failed request; it doubles with each failure in a row, up to ``MAX_RETRY_MS``."""
MAX_RETRY_MS = 4_000
UNREACHABLE_MS = 5_000
"""A request in flight this long (or two failures in a row): the page says the app is not reachable."""
HOLD_MS = 1_000
"""Longest hold of an answer poll whose answer has not changed since the page's last reply."""
SOURCES_GRACE_MS = 150
"""How long sources wait for the first text before a page that shows nothing of its answer is sent them alone."""
SAVE_MS = 1_000
"""The text of a streaming answer is saved into the tab's session storage at most this often."""
STALL_MS = 10_000
"""No new piece of the answer for this long while it streams: the turn says the model is silent."""
MOUNT_MS = 10_000
"""Longest wait of a reply polled from the Send response for Dash to draw its turn (then the next tick polls
again, from what the page holds)."""
UNREACHABLE_MESSAGE = N_("The app is not reachable; retrying…")
STALL_MESSAGE = f"no output from the model for {STALL_MS // 1000} s…"


def poll_config(stream_ms: int) -> dict[str, Any]:
    """Timings and messages for the browser-side poll logic (the ``poll-config`` store)."""
    return {
        "answer_url": ANSWER_POLL_PATH,
        "ingest_url": INGEST_POLL_PATH,
        "fast_ms": FAST_POLL_MS,
        "slow_ms": stream_ms,
        "fast_for_ms": FAST_FOR_MS,
        "timeout_ms": TIMEOUT_MS,
        "retry_ms": RETRY_MS,
        "max_retry_ms": MAX_RETRY_MS,
        "unreachable_ms": UNREACHABLE_MS,
        "save_ms": SAVE_MS,
        "hold_ms": HOLD_MS,
        "stall_ms": STALL_MS,
        "mount_ms": MOUNT_MS,
        "unreachable_text": _(UNREACHABLE_MESSAGE),
        "stall_text": _("no output from the model for {seconds} s…").format(seconds=STALL_MS // 1000),
        "part_type": ids.ANSWER_PART_TYPE,
        "ids": {
            "store": ids.CHAT_HISTORY_STORE,
            "session": ids.STREAMING_SESSION_ID,
            "active": ids.STREAMING_ACTIVE,
            "interval": ids.STREAMING_INTERVAL,
            "send": ids.SEND_BUTTON,
            "stop": ids.STOP_BUTTON,
            "chat_notice": ids.CHAT_NOTICE,
            "chat_input": ids.CHAT_INPUT,
            "connection_notice": ids.CONNECTION_NOTICE,
            "ingest_progress": ids.INGEST_PROGRESS,
            "ingest_interval": ids.INGEST_INTERVAL,
            "data_message": ids.DATA_MESSAGE,
            "stored_data": ids.STORED_DATA,
        },
    }


def response_hook() -> str:
    """The renderer's ``request_post`` hook (``Dash(hooks=...)``): every callback response is shown to the page's
    answer poller before Dash applies it, so an answer is polled as soon as Send returns (``onCallbackResponse``
    in ``assets/polling.js``)."""
    names = json.dumps({"progress": ids.STREAM_PROGRESS, "active": ids.STREAMING_ACTIVE, "config": ids.POLL_CONFIG})
    return (
        "function (payload, response) { var polling = window.dash_clientside && window.dash_clientside.polling;"
        f" if (polling) {{ polling.onCallbackResponse(response, {names}); }} }}"
    )


# ------------------------------------------------------------------------------ answer polls
def new_progress(turn_index: int, session_id: str, turn: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the page shows of a streaming answer before any poll: the stored turn's text, if any.

    The stored text is exactly the server's text up to its length, so polling resumes from there
    (after a reload) and, should the server have lost the answer, that text is kept.
    """
    turn = turn or {}
    text = str(turn.get("answer") or "")
    return {
        "turn": turn_index,
        "session": session_id,
        "offset": len(text),
        "text": text,
        "view": initial_view(turn),
        "content": bool(text),
    }


def initial_view(turn: Mapping[str, Any]) -> dict[str, Any]:
    """What a rendered (stored) turn already shows besides its text, so polls do not send it again."""
    return {"sources": bool(turn.get("sources")), "cached": bool((turn.get("meta") or {}).get("cached"))}


@dataclass(frozen=True)
class StreamRequest:
    """One answer poll request, as the page sent it."""

    seq: int
    session: str
    offset: int
    view: dict[str, Any] = field(default_factory=dict)
    """What the page already shows: ``sources`` (bool), ``label`` (status label), ``cached`` (bool)."""
    version: int | None = None
    """The answer's version in the page's last reply; None on the first poll."""
    hold_ms: int | None = None
    """The longest hold the page accepts (its next notice falls due then); None: ``HOLD_MS``."""


def parse_stream_request(data: Any) -> StreamRequest | None:
    """The answer poll request posted by the page, or None when it is not one (a ``session`` that is not shaped
    as an answer id, ``rag.redis_buffer.ANSWER_ID``, included: no buffer is asked about it)."""
    if not isinstance(data, Mapping):
        return None
    seq, session, offset, view = data.get("seq"), data.get("session"), data.get("offset", 0), data.get("view")
    if not _is_int(seq) or not is_answer_id(session):
        return None
    if not isinstance(offset, int) or offset < 0:
        return None
    version, hold_ms = data.get("version"), data.get("hold_ms")
    return StreamRequest(
        seq=seq,
        session=session,
        offset=offset,
        view=dict(view) if isinstance(view, Mapping) else {},
        version=version if _is_int(version) else None,
        hold_ms=min(max(0, hold_ms), HOLD_MS) if _is_int(hold_ms) else None,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def hold_until_news(
    read: Reader,
    wait: Waiter,
    request: StreamRequest,
    hold_seconds: float = HOLD_MS / 1000,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Hold a poll until there is news for its page, at most ``hold_seconds`` (or the request's shorter ``hold_ms``).

    A page that has seen a version of the answer and shows some of it is answered on any change. A page that
    shows nothing of the answer yet (the polls right after Send) is held until there is something to show as
    the answer: text, a computed value, reasoning, a waiting notice or the end. Sources alone are sent once
    they have waited ``SOURCES_GRACE_MS`` for the first text, so a fast model's first reply carries its first
    token while a slow model's sources still show at once. A page resuming a stored answer (it shows text but
    has no version yet) is answered at once.
    """
    if request.hold_ms is not None:
        hold_seconds = min(hold_seconds, request.hold_ms / 1000)
    if hold_seconds <= 0:
        return
    shows_answer = request.offset > 0 or bool(request.view.get("computed"))
    deadline = clock() + hold_seconds  # one deadline for the whole hold, whatever wakes it on the way
    if request.version is not None:
        if not wait(request.session, request.version, hold_seconds) or shows_answer:
            return
    elif shows_answer:
        return
    sources_due: float | None = None
    while True:
        snapshot = read(request.session, request.offset)
        if snapshot is None or _news_for_empty_page(snapshot, request):
            return
        now = clock()
        if snapshot.sources and not request.view.get("sources") and sources_due is None:
            sources_due = now + SOURCES_GRACE_MS / 1000
        until = deadline if sources_due is None else min(deadline, sources_due)
        if now >= until:
            return
        wait(request.session, snapshot.version, until - now)


def _news_for_empty_page(snapshot: StreamSnapshot, request: StreamRequest) -> bool:
    """Whether ``snapshot`` has something a page showing no answer yet draws as one (see ``hold_until_news``)."""
    meta = AnswerMeta.from_dict(snapshot.meta)
    return (
        snapshot.is_complete
        or snapshot.offset > request.offset
        or bool(snapshot.computed)
        or snapshot.thinking_chars > 0
        or bool(meta.cached)
        or (meta.waiting or None) != request.view.get("waiting")
    )


def stream_update(read: Reader, request: StreamRequest) -> dict[str, Any]:
    """The reply to one answer poll: the text after the request's offset and whatever else changed.

    Never waits: it reads the buffer once (twice for the final reply, which carries the whole answer).
    """
    snapshot = read(request.session, request.offset)
    reply: dict[str, Any] = {"seq": request.seq, "session": request.session}
    whole = read(request.session, 0) if snapshot is not None and snapshot.is_complete else None
    if snapshot is None or (snapshot.is_complete and whole is None):
        return {**reply, **_interrupted(request)}
    if whole is not None:
        return {**reply, **_final(request.session, whole)}
    start = min(request.offset, snapshot.offset)
    view = dict(request.view)
    parts, fields = _changes(snapshot, view)
    return {
        **reply,
        "from": start,
        "to": snapshot.offset,
        "text": snapshot.text if start == request.offset else "",
        "activity": snapshot.offset + snapshot.thinking_chars,
        "content": snapshot.offset > 0 or bool(view.get("computed")),
        "waiting": bool(view.get("waiting")),  # no stall notice while the question waits for its file
        "view": view,
        "parts": parts,
        "fields": fields,
        "done": False,
        "version": snapshot.version,
    }


def _changes(snapshot: StreamSnapshot, view: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parts to draw and the turn fields to keep for what arrived that the page (``view``) does not show
    yet; ``view`` is updated to match. A new section arriving while the answer streams (a computed result)
    is handled the same way: drawn once, kept in the turn, noted in ``view`` (and counted as ``content``)."""
    parts: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    sources = compact_sources(snapshot.sources)
    if sources and not view.get("sources"):
        parts[FOOTER] = part_props(render_footer(sources, {}, snapshot.meta, final=False))
        fields.update(sources=sources, meta=json_safe_meta(snapshot.meta))
        view["sources"] = True
    if snapshot.computed and not view.get("computed"):
        parts[COMPUTED] = part_props(render_computed(snapshot.computed))
        fields["computed"] = snapshot.computed
        view["computed"] = True
    meta = AnswerMeta.from_dict(snapshot.meta)
    waiting = meta.waiting or None
    if waiting != view.get("waiting"):  # "Waiting for cars.json (reading the file)…", then nothing
        parts[NOTICE] = part_props(render_notice(STREAMING, waiting))
        view["waiting"] = waiting
    label = THINKING if snapshot.thinking_chars > 0 and snapshot.offset == 0 else STREAMING
    cached = bool(meta.cached)
    if label != view.get("label", STREAMING) or cached != bool(view.get("cached")):
        parts[STATUS] = part_props(render_status_line(label, snapshot.meta))
        view.update(label=label, cached=cached)
    return parts, fields


def _final(session_id: str, snapshot: StreamSnapshot) -> dict[str, Any]:
    """The last reply: the whole answer (``snapshot`` read from offset 0), and the whole answer block drawn
    again in one go."""
    done = finished_turn({"id": session_id}, snapshot)
    block = {"className": answer_class(done["status"]), "children": finished_parts(done)}
    return {
        "from": 0,
        "to": snapshot.offset,
        "text": snapshot.text,
        "activity": snapshot.offset + snapshot.thinking_chars,
        "content": True,
        "parts": {BLOCK: block},
        "fields": {key: done[key] for key in RESULT_KEYS if key != "answer"},
        "resend": AnswerMeta.from_dict(snapshot.meta).resend or None,
        "done": True,
    }


def _interrupted(request: StreamRequest) -> dict[str, Any]:
    """The server no longer has the answer (restarted): the page keeps what it shows, marked interrupted."""
    return {
        "from": request.offset,
        "to": request.offset,
        "text": "",
        "parts": {
            BLOCK: {"className": answer_class(INTERRUPTED)},
            STATUS: part_props(render_status_line(INTERRUPTED, {})),
            NOTICE: part_props(render_notice(INTERRUPTED)),
        },
        "fields": {"status": INTERRUPTED, "error": None},
        "done": True,
    }


# ------------------------------------------------------------------------------ loading polls
@dataclass(frozen=True)
class IngestRequest:
    """One loading-progress poll request."""

    seq: int
    job: str


def parse_ingest_request(data: Any) -> IngestRequest | None:
    """The loading-progress poll request posted by the page, or None when it is not one (a ``job`` not shaped as
    the ids jobs get, ``uuid4().hex``, included)."""
    if not isinstance(data, Mapping):
        return None
    seq, job = data.get("seq"), data.get("job")
    if not _is_int(seq) or not is_answer_id(job):
        return None
    return IngestRequest(seq=seq, job=job)


def ingest_reply(request: IngestRequest, view: IngestView) -> dict[str, Any]:
    """The reply to a loading-progress poll: the progress block and, once finished, the message and the
    new ``stored-data`` (None when the load failed); the page stops polling a finished job."""
    return {
        "seq": request.seq,
        "job": request.job,
        "finished": view.finished,
        "progress": view.progress,
        "hidden": view.hidden,
        "message": view.message,
        "stored_data": view.stored_data,
    }
