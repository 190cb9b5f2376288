"""The page's callbacks. Each one reads its inputs, calls a plain function, and returns the result.

Groups: data (upload, example, progress, view, record), model (backend, model, URL, status),
chat (send, stop, clear, restore after reload), streaming (the answer poll) and export.
Browser-side callbacks toggle buttons, check the upload size before sending it, hand the tab's saved
conversation to the server once per page load, and tick the pollers (``assets/polling.js``), which post
to the two poll routes registered here, one request at a time (see ``dashboard.polling``).
"""

from __future__ import annotations

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
    expect_upload,
    ingest_view,
    notice,
    open_recent,
    recent_dataset_options,
    render_data_view,
    show_record,
    start_load,
    tab_dataset_id,
)
from dashboard.export import export_conversation
from dashboard.ingest_jobs import IngestJobRegistry, RedisJobMirror, get_ingest_registry
from dashboard.model_panel import apply_model_choice, model_options, status_badge
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
from rag.engine import RAGEngine, get_rag_engine
from rag.state import SHARED_STATE_DOWN, SHARED_STATE_ERRORS
from rag.stream_buffer import STREAMING

EngineGetter = Callable[[], RAGEngine]
FLATTEN_EVERY = 20
"""Turns shown in nested slots before the conversation is drawn again flat (see ``_add_turn``)."""


def _registry_for(current: RAGEngine) -> IngestJobRegistry:
    """The loading jobs: this process's, or, when workers share the answer buffer, mirrored in its Redis."""
    if current.shared_state is None:
        return get_ingest_registry()
    return IngestJobRegistry(mirror=RedisJobMirror(current.shared_state))


def register_callbacks(
    app: Dash, *, engine: EngineGetter = get_rag_engine, registry: IngestJobRegistry | None = None
) -> None:
    """Attach every callback of the page to ``app``."""
    jobs = registry or _registry_for(engine())
    register_data_callbacks(app, engine, jobs)
    register_model_callbacks(app, engine)
    register_chat_callbacks(app, engine)
    register_poll_routes(app, engine, jobs)
    register_export_callbacks(app)
    register_browser_callbacks(app)


# ----------------------------------------------------------------------------------------- data
def register_data_callbacks(app: Dash, engine: EngineGetter, jobs: IngestJobRegistry) -> None:
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
        return start_load(engine(), jobs, EXAMPLE_DATASET, EXAMPLE_DATASET.name, tab), False, []

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
        return start_load(engine(), jobs, data, filename or "upload.json", tab), False, [], None

    @app.callback(Input(ids.CANCEL_LOAD_BUTTON, "n_clicks"), State(ids.TAB_ID, "data"), prevent_initial_call=True)
    def cancel_loading(clicks: int, tab: str | None) -> None:
        if clicks:
            engine().cancel_load(tab=tab or "")  # the load stops at its next step; its job then reports the cancel

    @app.callback(
        Output(ids.RECENT_DATASETS, "options"),
        Input(ids.DATA_MESSAGE, "children"),  # on page load, and after each load or reopening
    )
    def list_recent(_message: Any) -> list[dict[str, str]]:
        return recent_dataset_options(engine())

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
        stored, message = open_recent(engine(), dataset_id, tab)
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
        view = render_data_view(engine(), tab_dataset_id(stored))
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
        view = show_record(engine(), record, tab_dataset_id(stored))
        return view.filter_model, view.panel, "records"

    @app.callback(
        Output(ids.RECORDS_TABLE, "filterModel", allow_duplicate=True),
        Output(ids.RECORD_PANEL, "children", allow_duplicate=True),
        Input(ids.SHOW_ALL_RECORDS_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )
    def show_all_records(_clicks: int) -> tuple:
        return {}, []


# ---------------------------------------------------------------------------------------- model
def register_model_callbacks(app: Dash, engine: EngineGetter) -> None:
    @app.callback(
        Output(ids.BACKEND_STATUS, "children"),
        Output(ids.MODEL_SELECT, "options"),
        Output(ids.MODEL_SELECT, "value"),
        Output(ids.BASE_URL_INPUT, "value"),
        Output(ids.BASE_URL_INPUT, "placeholder"),
        Output(ids.BASE_URL_INPUT, "disabled"),
        Input(ids.BACKEND_SELECT, "value"),
        Input(ids.REFRESH_MODELS_BUTTON, "n_clicks"),
        Input(ids.MODEL_SELECT, "value"),
        Input(ids.BASE_URL_INPUT, "value"),
    )
    def update_model(backend: str | None, _clicks: int, model: str | None, base_url: str | None) -> tuple:
        trigger = {
            ids.BACKEND_SELECT: "backend",
            ids.REFRESH_MODELS_BUTTON: "refresh",
            ids.BASE_URL_INPUT: "refresh",
            ids.MODEL_SELECT: "model",
        }.get(ctx.triggered_id)
        state = apply_model_choice(engine(), trigger=trigger, backend=backend, base_url=base_url, model=model)
        return (
            status_badge(state.ok, state.message),
            model_options(state.models, state.model),
            state.model,
            state.base_url,
            state.url_placeholder,
            state.url_disabled,
        )


# ----------------------------------------------------------------------------------------- chat
def register_chat_callbacks(app: Dash, engine: EngineGetter) -> None:
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
        prevent_initial_call=True,
    )
    def send(
        _clicks: int, _submits: int, question: str | None, turns: list | None, active: bool,
        gate: Any, upload: Any, filename: Any, stored: Any, tab: str | None,
    ) -> tuple:
        if active:
            return (no_update,) * 6 + ("Wait for the current answer to finish, or stop it.",)
        if question and question.strip():
            expect_upload(engine(), gate, upload, filename, tab)
        turns = turns or []
        turn = send_question(engine(), question, turns, dataset_id=tab_dataset_id(stored), tab=tab)
        if turn is None:
            return (no_update,) * 6 + ("Type a question first.",)
        history = _add_turn(turns, turn)
        store = Patch()
        store.append(turn)
        return history, store, turn["id"], True, new_progress(len(turns), turn["id"], turn), "", ""

    @app.callback(
        Output(ids.CHAT_NOTICE, "children", allow_duplicate=True),
        Input(ids.STOP_BUTTON, "n_clicks"),
        State(ids.STREAMING_SESSION_ID, "data"),
        State(ids.STREAMING_ACTIVE, "data"),
        prevent_initial_call=True,
    )
    def stop(_clicks: int, session_id: str | None, active: bool) -> str:
        if not session_id or not active:
            raise PreventUpdate
        return "Stopping…" if engine().cancel(session_id) else ""

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
        if active and session_id:
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
def register_poll_routes(app: Dash, engine: EngineGetter, jobs: IngestJobRegistry) -> None:
    """The routes the page's pollers post to (not Dash callbacks: those are dropped when re-requested)."""
    prefix = app.config.routes_pathname_prefix

    def poll_answer() -> Response:
        poll = parse_stream_request(request.get_json(silent=True))
        if poll is None:
            return _json({"error": "Not an answer poll request."}, 400)
        try:
            hold_until_news(engine().read, engine().wait_for_change, poll)
            return _json(stream_update(engine().read, poll))
        except SHARED_STATE_ERRORS:  # the page keeps what it shows and retries; Redis coming back ends it
            return _json({"error": SHARED_STATE_DOWN}, 503)

    def poll_ingest() -> Response:
        poll = parse_ingest_request(request.get_json(silent=True))
        if poll is None:
            return _json({"error": "Not a loading-progress poll request."}, 400)
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
function(contents, filename, limit) {
    const skip = window.dash_clientside.no_update;
    if (!contents) { return [skip, skip]; }
    const payload = contents.length - contents.indexOf(',') - 1;
    const padding = contents.endsWith('==') ? 2 : (contents.endsWith('=') ? 1 : 0);
    const size = Math.floor(payload * 3 / 4) - padding;
    if (limit && size > limit.bytes) {
        const megabytes = (size / 1048576).toFixed(1);
        return [filename + ' is ' + megabytes + ' MB; files up to ' + limit.mb +
                ' MB can be loaded (setting data.max_upload_mb).', skip];
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
