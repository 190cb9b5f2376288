"""The page. ``build_layout`` runs on every page load, so nothing per-visitor is shared."""

from __future__ import annotations

import uuid
from typing import Any

import dash_ag_grid as dag
from dash import dcc, html

from dashboard import ids
from dashboard.data_view import summary_data
from dashboard.i18n import _, current_language, grid_locale_text, page_texts, switch_options
from dashboard.model_panel import model_bar
from dashboard.polling import poll_config
from dashboard.uploads import limit_bytes
from rag.settings import Settings

STREAM_POLL_MS = 200
"""Answer poll interval once text arrives (faster before: ``dashboard.polling.FAST_POLL_MS``)."""
INGEST_POLL_MS = 300
RECORDS_PAGE_SIZE = 15
PROFILE_PAGE_SIZE = 20
GRID_THEME = {
    "function": "themeQuartz.withParams({accentColor: '#2f6db5', fontFamily: 'inherit', fontSize: 13,"
    " headerFontWeight: 600, headerBackgroundColor: '#f3f5f8', borderColor: '#dde2e8', spacing: 5,"
    " wrapperBorderRadius: 6})"
}
"""AG Grid's Quartz theme in the page's font and accent colour (the v33+ Theming API)."""
GRID_COLUMN_DEFAULTS = {
    "sortable": True,
    "filter": True,
    "floatingFilter": True,
    "resizable": True,
    "minWidth": 90,
    "maxWidth": 360,
}


def build_layout(settings: Settings, dataset_info: dict[str, Any] | None, *, isolated: bool = False) -> html.Div:
    """The whole page for one visitor, from the engine's current settings and the dataset a new tab starts with
    (None when visitors are ``isolated``: the page asks for the visitor's own once loaded)."""
    return html.Div(
        className="app",
        children=[
            html.Header(
                className="topbar",
                children=[
                    html.Div(
                        className="brand", children=[html.Span(className="brand-mark"), html.H1(_("JSON RAG Chat"))]
                    ),
                    html.Span(
                        _("Ask questions about a JSON dataset, answered by a local model from retrieved records."),
                        className="tagline",
                    ),
                    language_switch(),
                ],
            ),
            html.Div(id=ids.CONNECTION_NOTICE, className="connection-notice", role="status"),
            html.Main(className="columns", children=[data_panel(shareable=isolated), chat_panel(settings)]),
            *stores(settings, dataset_info, isolated=isolated),
            preloaded_code(),
        ],
    )


PRELOAD_MARKDOWN = "`preload`\n\n```python\nx = 1\n```"
"""Markdown with a code block: drawing it loads the code of Markdown and of its code highlighter."""


def preloaded_code() -> dcc.Markdown:
    """A hidden Markdown block drawn with the page, so the lazily loaded code every answer needs (Markdown, the
    code highlighter) is fetched while the page loads, not on the way of the first answer, where a slow or
    failed load used to leave a turn stuck. Loading every component's code up front (``eager_loading``) would
    do it too, at twice the page's load time."""
    return dcc.Markdown(PRELOAD_MARKDOWN, className="preload", style={"display": "none"})


def stores(settings: Settings, dataset_info: dict[str, Any] | None, *, isolated: bool = False) -> list[Any]:
    """Client-side state and timers. When visitors are ``isolated`` the tab's dataset starts empty: nobody's
    dataset is in the layout every visitor receives (``START_DATASET_REQUEST`` asks for the visitor's own)."""
    isolation = [dcc.Store(id=ids.START_DATASET_REQUEST, data=None)] if isolated else []
    return [
        *isolation,
        dcc.Store(id=ids.CHAT_HISTORY_STORE, storage_type="session", data=[]),
        dcc.Store(id=ids.STREAMING_SESSION_ID, data=None),
        dcc.Store(id=ids.STREAMING_ACTIVE, data=False),
        dcc.Store(id=ids.STREAM_PROGRESS, data=None),
        dcc.Store(id=ids.POLL_CONFIG, data=poll_config(STREAM_POLL_MS)),
        dcc.Store(id=ids.HISTORY_RESTORE_REQUEST, data=None),
        dcc.Store(id=ids.SOURCE_REQUEST, data=None),
        dcc.Store(id=ids.SPEC_REQUEST, data=None),
        dcc.Store(id=ids.RECORDS_SELECTION, data=None),
        # the tab's dataset (a new tab starts with the dataset loaded last, or the visitor's most recent one when
        # visitors are isolated) and the tab's own id, kept across reloads of the tab and restarts of the app
        dcc.Store(id=ids.STORED_DATA, storage_type="session", data=None if isolated else summary_data(dataset_info)),
        dcc.Store(id=ids.TAB_ID, storage_type="session", data=uuid.uuid4().hex),
        # the tab's own model choice (None: the configured settings), sent with each of its questions
        dcc.Store(id=ids.LLM_CHOICE, storage_type="session", data=None),
        dcc.Store(id=ids.UPLOAD_GATE, data=None),
        dcc.Store(
            id=ids.UPLOAD_LIMIT,
            data={"bytes": limit_bytes(settings.data.max_upload_mb), "mb": settings.data.max_upload_mb},
        ),
        dcc.Store(id=ids.INGEST_JOB, data=None),
        dcc.Interval(id=ids.STREAMING_INTERVAL, interval=STREAM_POLL_MS, disabled=True),
        dcc.Interval(id=ids.INGEST_INTERVAL, interval=INGEST_POLL_MS, disabled=True),
        dcc.Download(id=ids.EXPORT_DOWNLOAD),
        dcc.Store(id=ids.LANGUAGE, data=page_texts()),
    ]


def language_switch() -> dcc.RadioItems:
    """English or French: a pick is kept per browser and loads the page again in it (``dashboard.i18n``)."""
    return dcc.RadioItems(
        id=ids.LANGUAGE_SWITCH,
        options=switch_options(),
        value=current_language(),
        inline=True,
        className="language-switch",
        inputClassName="language-option",
    )


def data_panel(*, shareable: bool = False) -> html.Section:
    """Upload, example button, progress, messages, summary and the records / profile / charts tabs (and, when
    visitors are isolated, the "Shared with everyone" checkbox of the tab's dataset)."""
    return html.Section(
        className="panel data-panel",
        children=[
            html.Div(className="panel-head", children=[html.H2(_("Data"))]),
            html.Div(
                className="loader-row",
                children=[
                    dcc.Upload(
                        id=ids.UPLOAD,
                        multiple=False,
                        className="upload",
                        className_active="upload active",
                        children=html.Div(
                            [
                                html.Strong(_("Drop a JSON or JSON Lines file here")),
                                html.Span(" " + _("or click to choose one (.json, .jsonl)")),
                            ]
                        ),
                    ),
                    html.Button(
                        _("Load example"),
                        id=ids.LOAD_EXAMPLE_BUTTON,
                        n_clicks=0,
                        className="button secondary",
                        title=_("240 web-shop orders with customers, items, payments and shipping"),
                    ),
                ],
            ),
            dcc.Dropdown(
                id=ids.RECENT_DATASETS,
                options=[],
                placeholder=_("Recent datasets…"),
                clearable=False,
                searchable=False,
                className="recent-datasets",
            ),
            *([share_row()] if shareable else []),
            html.Div(id=ids.INGEST_PROGRESS, className="ingest-progress", hidden=True),
            html.Button(  # shown only next to a visible progress block (see style.css)
                _("Cancel loading"),
                id=ids.CANCEL_LOAD_BUTTON,
                n_clicks=0,
                className="button secondary cancel-load",
                title=_("Stop loading this file; the data loaded before stays"),
            ),
            html.Div(id=ids.UPLOAD_NOTICE, className="data-message"),
            html.Div(id=ids.DATA_MESSAGE, className="data-message"),
            html.Div(id=ids.DATASET_SUMMARY, className="dataset-summary"),
            dcc.Tabs(
                id=ids.DATA_TABS,
                value="records",
                className="data-tabs",
                children=[
                    dcc.Tab(
                        label=_("Records"),
                        value="records",
                        children=[
                            html.Div(id=ids.RECORD_PANEL, className="record-panel"),
                            selection_chip(),
                            html.Div(
                                className="table-tools",
                                children=[
                                    html.Span(id=ids.RECORDS_NOTE, className="muted"),
                                    html.Button(
                                        _("Show all records"),
                                        id=ids.SHOW_ALL_RECORDS_BUTTON,
                                        n_clicks=0,
                                        className="link-button",
                                    ),
                                ],
                            ),
                            records_grid(),
                        ],
                    ),
                    dcc.Tab(
                        label=_("Profile"),
                        value="profile",
                        children=[
                            profile_grid(),
                        ],
                    ),
                    dcc.Tab(label=_("Charts"), value="charts", children=[html.Div(id=ids.CHARTS, className="charts")]),
                ],
            ),
        ],
    )


def share_row() -> html.Div:
    """Whether the tab's dataset is shared with everyone; only whoever loaded the file may change it (hidden
    until the tab has a dataset)."""
    return html.Div(
        id=ids.SHARE_DATASET_ROW,
        className="share-dataset",
        hidden=True,
        title=_("Shared datasets appear in every visitor's Recent datasets"),
        children=dcc.Checklist(id=ids.SHARE_DATASET, options=[], value=[], inline=True),
    )


def data_grid(grid_id: str, page_size: int, **props: Any) -> dag.AgGrid:
    """An AG Grid (community) with paging, sorting and a filter under every column header, its own words (paging,
    filters) in the page's language."""
    words = grid_locale_text()
    return dag.AgGrid(
        id=grid_id,
        columnDefs=[],
        rowData=[],
        defaultColDef=GRID_COLUMN_DEFAULTS,
        columnSize="autoSize",
        dashGridOptions={
            "theme": GRID_THEME,
            "pagination": True,
            "paginationPageSize": page_size,
            "paginationPageSizeSelector": [page_size, 50, 100],
            "domLayout": "autoHeight",
            "enableCellTextSelection": True,
            "tooltipShowDelay": 300,
            "animateRows": False,
            "suppressColumnMoveAnimation": True,
            **({"localeText": words} if words else {}),
        },
        className="data-grid",
        **props,
    )


def records_grid() -> dag.AgGrid:
    """The records: one row per record, its id pinned left; a source link filters it to one row."""
    grid = data_grid(ids.RECORDS_TABLE, RECORDS_PAGE_SIZE, getRowId="params.data.rid", filterModel={})
    grid.dashGridOptions = {  # an answer's selection (``assets/sources.js``): the rows of its record ids
        **grid.dashGridOptions,
        "isExternalFilterPresent": {"function": "ragSelectionPresent()"},
        "doesExternalFilterPass": {"function": "ragSelectionPasses(params)"},
    }
    return grid


def selection_chip() -> html.Div:
    """Above the records grid: the answer's selection in words ("status = returned — 14 records") and a ✕ that
    shows every record again; hidden while there is none."""
    return html.Div(
        id=ids.SELECTION_CHIP,
        className="notice info selection-chip",
        hidden=True,
        role="status",
        children=[
            html.Span(id=ids.SELECTION_TEXT, className="selection-text"),
            html.Button("✕", id=ids.SELECTION_CLEAR_BUTTON, n_clicks=0, className="link-button selection-clear",
                        title=_("Show every record"), **{"aria-label": _("Clear the selection")}),
        ],
    )


def profile_grid() -> dag.AgGrid:
    """The profile: one row per field."""
    return data_grid(ids.PROFILE_TABLE, PROFILE_PAGE_SIZE, getRowId="params.data.path")


def chat_panel(settings: Settings) -> html.Section:
    """Model picker, the conversation, the question box and the export buttons."""
    return html.Section(
        className="panel chat-panel",
        children=[
            html.Div(className="panel-head", children=[html.H2(_("Chat"))]),
            model_bar(settings),
            html.Div(  # its text while empty is shown by style.css (``attr(data-empty-text)``)
                id=ids.CHAT_HISTORY,
                className="chat-history",
                children=[],
                **{"data-empty-text": _("Load a dataset, then ask about it: totals, trends, specific records by id or "
                                        "code. Answers cite the records they use.")},
            ),
            html.Div(id=ids.CHAT_NOTICE, className="chat-notice"),
            html.Div(
                className="composer",
                children=[
                    dcc.Input(
                        id=ids.CHAT_INPUT,
                        type="text",
                        value="",
                        n_submit=0,
                        autoComplete="off",
                        placeholder=_("Ask a question about the data, then press Enter"),
                        className="chat-input",
                    ),
                    html.Button(_("Send"), id=ids.SEND_BUTTON, n_clicks=0, className="button primary"),
                    html.Button(_("Stop"), id=ids.STOP_BUTTON, n_clicks=0, className="button danger", disabled=True),
                ],
            ),
            html.Div(
                className="chat-tools",
                children=[
                    html.Span(_("Export:"), className="muted"),
                    html.Button("Markdown", id=ids.EXPORT_MD_BUTTON, n_clicks=0, className="link-button"),
                    html.Button("JSON", id=ids.EXPORT_JSON_BUTTON, n_clicks=0, className="link-button"),
                    html.Button("HTML", id=ids.EXPORT_HTML_BUTTON, n_clicks=0, className="link-button"),
                    html.Span(className="spacer"),
                    html.Button(_("Clear conversation"), id=ids.CLEAR_BUTTON, n_clicks=0, className="link-button"),
                ],
            ),
        ],
    )
