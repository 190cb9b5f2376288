"""The page's callbacks. Each one reads its inputs, calls a plain function, and returns the result.

Groups: data (upload, example, progress, view, record), model (backend, model, URL, status),
chat (send, stop, clear, restore after reload), streaming (the answer poll) and export.
Browser-side callbacks toggle buttons, check the upload size before sending it, hand the tab's saved
conversation to the server once per page load, and tick the pollers (``assets/polling.js``), which post
to the two poll routes registered here, one request at a time (see ``dashboard.polling``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import plotly.io.json as pio_json
from dash import ClientsideFunction, Dash, Input, Output, Patch, State, ctx, no_update, set_props
from dash.exceptions import PreventUpdate
from flask import Response, request

from dashboard import ids
from dashboard.chat_view import render_history, send_question, turn_slot
from dashboard.data_flow import (
    EXAMPLE_DATASET,
    NOT_FOUND_MESSAGE,
    expect_upload,
    ingest_view,
    notice,
    open_recent,
    recent_dataset_options,
    refuse_question,
    render_data_view,
    selection_charts,
    show_record,
    spec_view,
    start_data,
    start_load,
    tab_dataset_id,
)
from dashboard.i18n import N_, _
from dashboard.export import export_conversation
from dashboard.ingest_jobs import IngestJobRegistry, RedisJobMirror, get_ingest_registry
from dashboard.model_panel import HIDDEN, SHOWN, TabEngine, apply_model_choice, model_options, status_badge, tab_llm
from dashboard.polling import (
    ANSWER_POLL_PATH,
    INGEST_POLL_PATH,
    hold_until_news,
    ingest_reply,
    new_progress,
    parse_ingest_request,
    parse_stream_request,
    stream_update,
)
from dashboard.uploads import UploadError, decode_upload
from dashboard.visitors import ANSWER, JOB, Visitors
from rag.dataset_access import MAX_DATASETS_PER_SCOPE
from rag.engine import RAGEngine, get_rag_engine
from rag.state import SHARED_STATE_DOWN, SHARED_STATE_ERRORS
from rag.stream_buffer import STREAMING

EngineGetter = Callable[[], RAGEngine]
FLATTEN_EVERY = 20
"""Turns shown in nested slots before the conversation is drawn again flat (see ``_add_turn``)."""
KEPT_QUESTION_NOTICE = N_("Your question is sent as soon as the current answer finishes (Stop ends it now).")
"""Said when a question is sent while the tab's answer is still being written (the page sends it at the end)."""


def _registry_for(current: RAGEngine) -> IngestJobRegistry:
    """The loading jobs: this process's, or, when workers share the answer buffer, mirrored in its Redis."""
    if current.shared_state is None:
        return get_ingest_registry()
    return IngestJobRegistry(mirror=RedisJobMirror(current.shared_state))


def register_callbacks(
    app: Dash,
    *,
    engine: EngineGetter = get_rag_engine,
    registry: IngestJobRegistry | None = None,
    visitors: Visitors | None = None,
) -> None:
    """Attach every callback of the page to ``app``. ``visitors`` says whose request each one serves (see
    ``dashboard.visitors``; everybody's when None)."""
    jobs = registry or _registry_for(engine())
    visitors = visitors or Visitors(isolated=False)
    register_data_callbacks(app, engine, jobs, visitors)
    register_model_callbacks(app, engine)
    register_chat_callbacks(app, engine, visitors)
    register_poll_routes(app, engine, jobs, visitors)
    if visitors.isolated:
        register_visitor_callbacks(app, engine, visitors)
    register_export_callbacks(app)
    register_browser_callbacks(app)


# ----------------------------------------------------------------------------------------- data
def register_data_callbacks(app: Dash, engine: EngineGetter, jobs: IngestJobRegistry, visitors: Visitors) -> None:
    def load(source: Any, name: str, tab: str | None) -> str:
        """Start loading for the visitor's tab: the dataset becomes the visitor's, the job theirs to poll."""
        job = start_load(engine(), jobs, source, name, visitors.tab(tab), on_dataset=visitors.recorder(loaded=True))
        visitors.claim(JOB, job)
        return job

    @app.callback(
        Output(ids.INGEST_JOB, "data"),
        Output(ids.INGEST_INTERVAL, "disabled"),
        Output(ids.DATA_MESSAGE, "children"),
        Input(ids.LOAD_EXAMPLE_BUTTON, "n_clicks"),
        State(ids.TAB_ID, "data"),
        prevent_initial_call=True,
    )
    def load_example(clicks: int, tab: str | None) -> tuple:
        if not clicks:
            raise PreventUpdate
        return load(EXAMPLE_DATASET, EXAMPLE_DATASET.name, tab), False, []

    @app.callback(
        Output(ids.INGEST_JOB, "data", allow_duplicate=True),
        Output(ids.INGEST_INTERVAL, "disabled", allow_duplicate=True),
        Output(ids.DATA_MESSAGE, "children", allow_duplicate=True),
        Output(ids.UPLOAD, "contents"),
        Input(ids.UPLOAD_GATE, "data"),
        State(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        State(ids.TAB_ID, "data"),
        prevent_initial_call=True,
    )
    def load_upload(gate: Any, contents: str | None, filename: str | None, tab: str | None) -> tuple:
        if not gate or not contents:
            raise PreventUpdate
        try:
            data = decode_upload(contents, filename, engine().settings.data.max_upload_mb)
        except UploadError as exc:
            return no_update, no_update, notice(str(exc), "error"), None
        return load(data, filename or "upload.json", tab), False, [], None

    @app.callback(Input(ids.CANCEL_LOAD_BUTTON, "n_clicks"), State(ids.TAB_ID, "data"), prevent_initial_call=True)
    def cancel_loading(clicks: int, tab: str | None) -> None:
        if clicks:
            # the load stops at its next step; its job then reports the cancel
            engine().cancel_load(tab=visitors.tab(tab))

    @app.callback(
        Output(ids.RECENT_DATASETS, "options"),
        Input(ids.DATA_MESSAGE, "children"),  # on page load, and after each load or reopening
    )
    def list_recent(_message: Any) -> list[dict[str, str]]:
        return recent_dataset_options(engine(), visible=visitors.visible(MAX_DATASETS_PER_SCOPE))

    @app.callback(
        Output(ids.STORED_DATA, "data", allow_duplicate=True),
        Output(ids.DATA_MESSAGE, "children", allow_duplicate=True),
        Output(ids.RECENT_DATASETS, "value"),
        Input(ids.RECENT_DATASETS, "value"),
        State(ids.TAB_ID, "data"),
        prevent_initial_call=True,
    )
    def reopen_recent(dataset_id: str | None, tab: str | None) -> tuple:
        if not dataset_id:
            raise PreventUpdate
        stored, message = open_recent(engine(), visitors.dataset(dataset_id), visitors.tab(tab))
        if stored is not None:
            visitors.record(stored["dataset_id"], loaded=False)
        return (stored if stored is not None else no_update), message, None

    @app.callback(
        Output(ids.DATASET_SUMMARY, "children"),
        Output(ids.RECORDS_TABLE, "columnDefs"),
        Output(ids.RECORDS_TABLE, "rowData"),
        Output(ids.RECORDS_TABLE, "filterModel"),
        Output(ids.RECORDS_TABLE, "paginationGoTo"),
        Output(ids.RECORDS_NOTE, "children"),
        Output(ids.RECORDS_TABLE, "columnSize"),
        Output(ids.PROFILE_TABLE, "columnDefs"),
        Output(ids.PROFILE_TABLE, "rowData"),
        Output(ids.PROFILE_TABLE, "columnSize"),
        Output(ids.CHARTS, "children"),
        Output(ids.RECORD_PANEL, "children"),
        Input(ids.STORED_DATA, "data"),
    )
    def show_dataset(stored: Any) -> tuple:
        view = render_data_view(
            engine(), visitors.dataset(tab_dataset_id(stored)), last_if_none=not visitors.isolated
        )
        return (
            view.summary,
            view.record_columns,
            view.record_rows,
            {},
            "first",
            view.records_note,
            "autoSize",
            view.profile_columns,
            view.profile_rows,
            "autoSize",
            view.charts,
            [],
        )

    @app.callback(
        Output(ids.RECORDS_TABLE, "filterModel", allow_duplicate=True),
        Output(ids.RECORD_PANEL, "children", allow_duplicate=True),
        Output(ids.DATA_TABS, "value"),
        Input(ids.SOURCE_REQUEST, "data"),
        State(ids.STORED_DATA, "data"),
        prevent_initial_call=True,
    )
    def show_source_record(request: Any, stored: Any) -> tuple:
        record = request.get("record") if isinstance(request, dict) else None
        if not isinstance(record, str) or not record:
            raise PreventUpdate
        dataset_id = visitors.dataset(tab_dataset_id(stored))
        view = show_record(engine(), record, dataset_id, last_if_none=not visitors.isolated)
        return view.filter_model, view.panel, "records"

    @app.callback(
        Output(ids.RECORDS_TABLE, "filterModel", allow_duplicate=True),
        Output(ids.RECORD_PANEL, "children", allow_duplicate=True),
        Input(ids.SHOW_ALL_RECORDS_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )
    def show_all_records(_clicks: int) -> tuple:
        return {}, []

    @app.callback(
        Output(ids.RECORDS_SELECTION, "data", allow_duplicate=True),
        Output(ids.SELECTION_TEXT, "children", allow_duplicate=True),
        Output(ids.SELECTION_CHIP, "hidden", allow_duplicate=True),
        Output(ids.CHARTS, "children", allow_duplicate=True),
        Output(ids.DATA_TABS, "value", allow_duplicate=True),
        Output(ids.DATA_MESSAGE, "children", allow_duplicate=True),
        Output(ids.RECORDS_TABLE, "filterModel", allow_duplicate=True),
        Output(ids.RECORD_PANEL, "children", allow_duplicate=True),
        Input(ids.SPEC_REQUEST, "data"),
        State(ids.STORED_DATA, "data"),
        State(ids.RECORDS_SELECTION, "data"),
        prevent_initial_call=True,
    )
    def show_answer_records(request: Any, stored: Any, current: Any) -> tuple:
        if not request:
            raise PreventUpdate
        dataset_id = visitors.dataset(tab_dataset_id(stored))
        view = spec_view(engine(), request, dataset_id, last_if_none=not visitors.isolated, current=current)
        shown = view.selection is not no_update  # the grid's own column filters would hide some of the N rows
        return (
            view.selection, view.chip_text, view.chip_hidden, view.charts, view.tab, view.message,
            {} if shown else no_update, [] if shown else no_update,
        )

    @app.callback(
        Output(ids.CHARTS, "children", allow_duplicate=True),
        Input(ids.RECORDS_SELECTION, "data"),
        State(ids.STORED_DATA, "data"),
        prevent_initial_call=True,
    )
    def chart_answer_records(selection: Any, stored: Any) -> list[Any]:
        dataset_id = visitors.dataset(tab_dataset_id(stored))
        return selection_charts(engine(), dataset_id, selection, last_if_none=not visitors.isolated)

    app.clientside_callback(  # ✕, "Show all records", one source's record or another dataset: every record again
        ClientsideFunction("selection", "clear"),
        Output(ids.RECORDS_SELECTION, "data", allow_duplicate=True),
        Output(ids.SELECTION_TEXT, "children", allow_duplicate=True),
        Output(ids.SELECTION_CHIP, "hidden", allow_duplicate=True),
        Input(ids.SELECTION_CLEAR_BUTTON, "n_clicks"),
        Input(ids.SHOW_ALL_RECORDS_BUTTON, "n_clicks"),
        Input(ids.SOURCE_REQUEST, "data"),
        Input(ids.STORED_DATA, "data"),
        State(ids.RECORDS_SELECTION, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("selection", "apply"),
        Input(ids.RECORDS_SELECTION, "data"),
        prevent_initial_call=True,
    )


_ASK_START_DATASET = """
function(_config) {
    let kept = null;
    try {
        kept = JSON.parse(window.sessionStorage.getItem('STORE_ID') || 'null');
    } catch (error) { /* unreadable storage: nothing kept */ }
    return kept && kept.dataset_id ? window.dash_clientside.no_update : Date.now();
}
""".replace("STORE_ID", ids.STORED_DATA)

SHARED = "shared"


def register_visitor_callbacks(app: Dash, engine: EngineGetter, visitors: Visitors) -> None:
    """When visitors are isolated: a new tab starts with the visitor's most recent dataset (the layout carries
    nobody's), and whoever loaded a file may share it with everyone."""
    app.clientside_callback(  # once per page load: a tab that keeps a dataset of its own keeps it
        _ASK_START_DATASET,
        Output(ids.START_DATASET_REQUEST, "data"),
        Input(ids.POLL_CONFIG, "data"),
    )

    @app.callback(
        Output(ids.STORED_DATA, "data", allow_duplicate=True),
        Input(ids.START_DATASET_REQUEST, "data"),
        State(ids.STORED_DATA, "data"),
        prevent_initial_call=True,
    )
    def start_with_latest(_asked: Any, stored: Any) -> Any:
        if tab_dataset_id(stored):  # the tab loaded or reopened one meanwhile
            raise PreventUpdate
        started = start_data(engine(), visitors.dataset(visitors.latest()))
        if started is None:
            raise PreventUpdate
        return started

    @app.callback(
        Output(ids.SHARE_DATASET, "value"),
        Output(ids.SHARE_DATASET, "options"),
        Output(ids.SHARE_DATASET_ROW, "hidden"),
        Input(ids.DATASET_SUMMARY, "children"),  # drawn for each dataset the tab shows
        State(ids.STORED_DATA, "data"),
    )
    def show_sharing(_summary: Any, stored: Any) -> tuple:
        dataset_id = visitors.dataset(tab_dataset_id(stored))
        if dataset_id is None:
            return [], share_options(False), True
        value = [SHARED] if visitors.is_shared(dataset_id) else []
        return value, share_options(visitors.may_share(dataset_id)), False

    @app.callback(
        Output(ids.DATA_MESSAGE, "children", allow_duplicate=True),
        Input(ids.SHARE_DATASET, "value"),
        State(ids.STORED_DATA, "data"),
        prevent_initial_call=True,
    )
    def share(value: Any, stored: Any) -> Any:
        dataset_id = visitors.dataset(tab_dataset_id(stored))
        wanted = SHARED in (value or [])
        if dataset_id is None or wanted == visitors.is_shared(dataset_id):  # (also: set by ``show_sharing``)
            raise PreventUpdate
        name = (stored or {}).get("name") or _("This dataset")
        if not visitors.share(dataset_id, wanted):
            return notice(_("Only whoever loaded {name} may share it.").format(name=name), "error")
        if wanted:
            return notice(
                _("{name} is shared with everyone: it is in everyone's Recent datasets.").format(name=name), "success"
            )
        return notice(_("{name} is no longer shared.").format(name=name), "info")


def share_options(enabled: bool) -> list[dict[str, Any]]:
    """The one option of the sharing checklist (disabled for a dataset the visitor did not load)."""
    return [{"label": " " + _("Shared with everyone"), "value": SHARED, "disabled": not enabled}]


# ---------------------------------------------------------------------------------------- model
def register_model_callbacks(app: Dash, engine: EngineGetter) -> None:
    """The tab's model choice: kept in its session store, never applied to the engine (other tabs keep theirs)."""

    @app.callback(
        Output(ids.BACKEND_STATUS, "children"),
        Output(ids.MODEL_SELECT, "options"),
        Output(ids.MODEL_SELECT, "value"),
        Output(ids.BASE_URL_INPUT, "value"),
        Output(ids.BASE_URL_INPUT, "placeholder"),
        Output(ids.BASE_URL_INPUT, "disabled"),
        Output(ids.BACKEND_SELECT, "value"),
        Output(ids.SERVER_SELECT, "value"),
        Output(ids.API_KEY_FIELD, "style"),
        Output(ids.API_KEY_INPUT, "placeholder"),
        Output(ids.API_KEY_INPUT, "value"),
        Output(ids.LLM_CHOICE, "data"),
        Input(ids.BACKEND_SELECT, "value"),
        Input(ids.REFRESH_MODELS_BUTTON, "n_clicks"),
        Input(ids.MODEL_SELECT, "value"),
        Input(ids.BASE_URL_INPUT, "value"),
        Input(ids.SERVER_SELECT, "value"),
        Input(ids.API_KEY_INPUT, "value"),
        Input(ids.LLM_CHOICE, "data"),  # also when the tab's store is read from its session storage on page load
    )
    def update_model(
        backend: str | None, _clicks: int, model: str | None, base_url: str | None, server: str | None,
        api_key: str | None, stored: Any,
    ) -> tuple:
        trigger = {
            ids.BACKEND_SELECT: "backend",
            ids.REFRESH_MODELS_BUTTON: "refresh",
            ids.BASE_URL_INPUT: "refresh",
            ids.MODEL_SELECT: "model",
            ids.SERVER_SELECT: "server",
            ids.API_KEY_INPUT: "api_key",
        }.get(ctx.triggered_id)
        state = apply_model_choice(
            engine(), trigger=trigger, stored=stored, backend=backend, base_url=base_url, model=model,
            server=server, api_key=api_key,
        )
        return (
            status_badge(state.ok, state.message, state.label),
            model_options(state.models, state.model),
            state.model,
            state.base_url,
            state.url_placeholder,
            state.url_disabled,
            state.backend,
            state.server,
            SHOWN if state.key_shown else HIDDEN,
            state.key_placeholder,
            "" if state.clear_key or trigger == "api_key" else no_update,  # a typed key is kept in the store only
            state.choice if state.choice != (stored or None) else no_update,
        )


# ----------------------------------------------------------------------------------------- chat
def register_chat_callbacks(app: Dash, engine: EngineGetter, visitors: Visitors) -> None:
    def still_streaming(session_id: str | None) -> bool:
        """Whether the tab's answer is still being written, as the app's answer buffer says. The page's own flag
        (``STREAMING_ACTIVE``) lags it: the page learns that an answer ended at its next poll, and a question sent
        in that moment is sent."""
        if not session_id or not visitors.may_read(ANSWER, session_id):
            return False
        try:
            snapshot = engine().read(session_id, 0)
        except SHARED_STATE_ERRORS:  # the buffer cannot say: the page's word stands
            return True
        return snapshot is not None and not snapshot.is_complete

    @app.callback(
        Output(ids.CHAT_HISTORY, "children", allow_duplicate=True),
        Output(ids.CHAT_HISTORY_STORE, "data", allow_duplicate=True),
        Output(ids.STREAMING_SESSION_ID, "data", allow_duplicate=True),
        Output(ids.STREAMING_ACTIVE, "data", allow_duplicate=True),
        Output(ids.STREAM_PROGRESS, "data", allow_duplicate=True),
        Output(ids.CHAT_INPUT, "value"),
        Output(ids.CHAT_NOTICE, "children", allow_duplicate=True),
        Input(ids.SEND_BUTTON, "n_clicks"),
        Input(ids.CHAT_INPUT, "n_submit"),
        State(ids.CHAT_INPUT, "value"),
        State(ids.CHAT_HISTORY_STORE, "data"),
        State(ids.STREAMING_ACTIVE, "data"),
        State(ids.UPLOAD_GATE, "data"),
        State(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        State(ids.STORED_DATA, "data"),
        State(ids.TAB_ID, "data"),
        State(ids.LLM_CHOICE, "data"),
        State(ids.STREAMING_SESSION_ID, "data"),
        prevent_initial_call=True,
    )
    def send(
        _clicks: int, _submits: int, question: str | None, turns: list | None, active: bool,
        gate: Any, upload: Any, filename: Any, stored: Any, tab: str | None, choice: Any, streaming: str | None,
    ) -> tuple:
        if active and question and question.strip() and still_streaming(streaming):
            # refused while the tab's answer is written: naming that answer, the page keeps the question for its end
            return no_update, no_update, streaming, no_update, no_update, no_update, _(KEPT_QUESTION_NOTICE)
        tab = visitors.tab(tab)
        if question and question.strip():
            expect_upload(engine(), gate, upload, filename, tab)
        turns = turns or []
        named = tab_dataset_id(stored)
        dataset_id = visitors.dataset(named)
        session_id = uuid.uuid4().hex
        visitors.claim(ANSWER, session_id)
        llm, refused = tab_llm(engine(), choice)  # the tab's model; a choice not allowed falls back, saying so
        if named and dataset_id is None:  # a dataset the visitor may not use is not found (the model is not asked)
            turn = refuse_question(engine(), question, session_id, _(NOT_FOUND_MESSAGE))
        else:  # (isolated, a question naming no dataset waits for the tab's load, or has none: never the last one)
            turn = send_question(
                TabEngine(engine(), llm), question, turns, session_id=session_id, dataset_id=dataset_id, tab=tab
            )
        if turn is None:
            return (no_update,) * 6 + (_("Type a question first."),)
        history = _add_turn(turns, turn)
        store = Patch()
        store.append(turn)
        return history, store, turn["id"], True, new_progress(len(turns), turn["id"], turn), "", refused

    @app.callback(
        Output(ids.CHAT_NOTICE, "children", allow_duplicate=True),
        Input(ids.STOP_BUTTON, "n_clicks"),
        State(ids.STREAMING_SESSION_ID, "data"),
        State(ids.STREAMING_ACTIVE, "data"),
        prevent_initial_call=True,
    )
    def stop(_clicks: int, session_id: str | None, active: bool) -> str:
        if not session_id or not active or not visitors.may_read(ANSWER, session_id):
            raise PreventUpdate
        return _("Stopping…") if engine().cancel(session_id) else ""

    @app.callback(
        Output(ids.CHAT_HISTORY, "children", allow_duplicate=True),
        Output(ids.CHAT_HISTORY_STORE, "data", allow_duplicate=True),
        Output(ids.STREAMING_ACTIVE, "data", allow_duplicate=True),
        Output(ids.STREAM_PROGRESS, "data", allow_duplicate=True),
        Output(ids.CHAT_NOTICE, "children", allow_duplicate=True),
        Input(ids.CLEAR_BUTTON, "n_clicks"),
        State(ids.STREAMING_SESSION_ID, "data"),
        State(ids.STREAMING_ACTIVE, "data"),
        prevent_initial_call=True,
    )
    def clear(_clicks: int, session_id: str | None, active: bool) -> tuple:
        if active and session_id and visitors.may_read(ANSWER, session_id):
            engine().cancel(session_id)
        return [], [], False, None, ""

    @app.callback(
        Output(ids.CHAT_HISTORY, "children", allow_duplicate=True),
        Output(ids.STREAMING_SESSION_ID, "data", allow_duplicate=True),
        Output(ids.STREAMING_ACTIVE, "data", allow_duplicate=True),
        Output(ids.STREAM_PROGRESS, "data", allow_duplicate=True),
        Input(ids.HISTORY_RESTORE_REQUEST, "data"),
        prevent_initial_call=True,
    )
    def restore(turns: list | None) -> tuple:
        if not turns:
            raise PreventUpdate
        last = turns[-1]
        if last.get("status") == STREAMING and last.get("id"):
            return render_history(turns), last["id"], True, new_progress(len(turns) - 1, last["id"], last)
        return render_history(turns), no_update, no_update, no_update


def _add_turn(turns: list[dict[str, Any]], turn: dict[str, Any]) -> Any:
    """Show a new turn: in the empty slot after the last one (the rest of the page is not redrawn); the
    whole conversation is drawn again only when it is empty or every ``FLATTEN_EVERY`` turns, which keeps
    the slots from nesting deeper than that."""
    index = len(turns)
    if index % FLATTEN_EVERY == 0:
        return render_history([*turns, turn])
    set_props(ids.turn_slot(index), {"children": turn_slot(index, turn).children})
    return no_update


# ---------------------------------------------------------------------------------------- polls
def register_poll_routes(
    app: Dash, engine: EngineGetter, jobs: IngestJobRegistry, visitors: Visitors | None = None
) -> None:
    """The routes the page's pollers post to (not Dash callbacks: those are dropped when re-requested). An answer
    or loading job another visitor started is not found (404)."""
    visitors = visitors or Visitors(isolated=False)
    prefix = app.config.routes_pathname_prefix

    def poll_answer() -> Response:
        poll = parse_stream_request(request.get_json(silent=True))
        if poll is None:
            return _json({"error": "Not an answer poll request."}, 400)
        try:
            if not visitors.may_read(ANSWER, poll.session):
                return _json({"error": "No such answer."}, 404)
            hold_until_news(engine().read, engine().wait_for_change, poll)
            return _json(stream_update(engine().read, poll))
        except SHARED_STATE_ERRORS:  # the page keeps what it shows and retries; Redis coming back ends it
            return _json({"error": SHARED_STATE_DOWN}, 503)

    def poll_ingest() -> Response:
        poll = parse_ingest_request(request.get_json(silent=True))
        if poll is None:
            return _json({"error": "Not a loading-progress poll request."}, 400)
        if not visitors.may_read(JOB, poll.job):
            return _json({"error": "No such loading job."}, 404)
        return _json(ingest_reply(poll, ingest_view(jobs.get(poll.job))))

    app.server.add_url_rule(prefix + ANSWER_POLL_PATH, "poll_answer", poll_answer, methods=["POST"])
    app.server.add_url_rule(prefix + INGEST_POLL_PATH, "poll_ingest", poll_ingest, methods=["POST"])


def _json(body: Any, status: int = 200) -> Response:
    """``body`` as JSON, components included (the encoder Dash uses for callback responses)."""
    return Response(pio_json.to_json_plotly(body), status=status, mimetype="application/json")


# --------------------------------------------------------------------------------------- export
def register_export_callbacks(app: Dash) -> None:
    formats = {ids.EXPORT_MD_BUTTON: "md", ids.EXPORT_JSON_BUTTON: "json", ids.EXPORT_HTML_BUTTON: "html"}

    @app.callback(
        Output(ids.EXPORT_DOWNLOAD, "data"),
        Input(ids.EXPORT_MD_BUTTON, "n_clicks"),
        Input(ids.EXPORT_JSON_BUTTON, "n_clicks"),
        Input(ids.EXPORT_HTML_BUTTON, "n_clicks"),
        State(ids.CHAT_HISTORY_STORE, "data"),
        prevent_initial_call=True,
    )
    def export(_md: int, _json: int, _html: int, turns: list | None) -> dict:
        fmt = formats.get(ctx.triggered_id)
        if fmt is None:
            raise PreventUpdate
        return export_conversation(turns or [], fmt)


# -------------------------------------------------------------------------------------- browser
_CHECK_UPLOAD_SIZE = """
function(contents, filename, limit, language) {
    const skip = window.dash_clientside.no_update;
    if (!contents) { return [skip, skip]; }
    const payload = contents.length - contents.indexOf(',') - 1;
    const padding = contents.endsWith('==') ? 2 : (contents.endsWith('=') ? 1 : 0);
    const size = Math.floor(payload * 3 / 4) - padding;
    if (limit && size > limit.bytes) {
        // the message in the page's language (ids.LANGUAGE, dashboard.i18n.page_texts), its numbers written its way
        const lang = (language && language.lang) || 'en';
        const megabytes = (size / 1048576).toLocaleString(lang, {minimumFractionDigits: 1, maximumFractionDigits: 1});
        const text = (language && language.texts && language.texts.too_large) ||
            '{name} is {size} MB; files up to {limit} MB can be loaded (setting data.max_upload_mb).';
        return [text.replace('{name}', filename).replace('{size}', megabytes)
                    .replace('{limit}', Number(limit.mb).toLocaleString(lang)), skip];
    }
    return ['', {filename: filename, at: Date.now()}];
}
"""

_RESTORE_HISTORY = """
function(_config) {
    let turns = null;
    try {
        turns = JSON.parse(window.sessionStorage.getItem('STORE_ID') || 'null');
    } catch (error) { /* unreadable storage: nothing to restore */ }
    return Array.isArray(turns) && turns.length > 0 ? turns : window.dash_clientside.no_update;
}
""".replace("STORE_ID", ids.CHAT_HISTORY_STORE)


def register_browser_callbacks(app: Dash) -> None:
    register_pollers(app)
    app.clientside_callback(
        _CHECK_UPLOAD_SIZE,
        Output(ids.UPLOAD_NOTICE, "children"),
        Output(ids.UPLOAD_GATE, "data"),
        Input(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        State(ids.UPLOAD_LIMIT, "data"),
        State(ids.LANGUAGE, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # once per page load (the poll settings never change): the turns kept in the tab
        _RESTORE_HISTORY,
        Output(ids.HISTORY_RESTORE_REQUEST, "data"),
        Input(ids.POLL_CONFIG, "data"),
    )


def register_pollers(app: Dash) -> None:
    """Interval ticks (and a new loading job, to poll at once) drive the pollers of ``assets/polling.js``; a new
    answer is polled at once by the renderer hook that sees the response starting it (``response_hook``)."""
    app.clientside_callback(
        ClientsideFunction("polling", "answerTick"),
        Input(ids.STREAMING_INTERVAL, "n_intervals"),
        State(ids.STREAM_PROGRESS, "data"),
        State(ids.STREAMING_ACTIVE, "data"),
        State(ids.POLL_CONFIG, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("polling", "ingestTick"),
        Input(ids.INGEST_INTERVAL, "n_intervals"),
        Input(ids.INGEST_JOB, "data"),
        State(ids.POLL_CONFIG, "data"),
        prevent_initial_call=True,
    )
