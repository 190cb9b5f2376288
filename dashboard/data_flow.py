"""What the data callbacks do, as plain functions: start a load, report its progress, render the view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dash import dcc, html, no_update

from dashboard.charts import build_figures
from dashboard.chat_view import new_turn
from dashboard.data_view import (
    MAX_TABLE_ROWS,
    dataset_summary,
    find_record,
    profile_table,
    record_filter_model,
    record_panel,
    records_table,
    summary_data,
)
from dashboard.i18n import N_, _, format_number, ngettext
from dashboard.ingest_jobs import CANCELLED, FAILED, SUCCEEDED, IngestJob, IngestJobRegistry, JobProgress
from dashboard.spec_filter import (
    OPEN_CHART,
    NO_TABLE,
    OTHER_DATASET,
    SpecRefused,
    chosen_records,
    group_figure,
    parse_request,
    positions_beyond,
    read_spec,
    select_records,
)
from rag.dataset_access import DatasetUse
from rag.stream_buffer import ERROR

EXAMPLE_DATASET = Path(__file__).resolve().parent / "example_data" / "orders.json"
STAGE_LABELS = {
    "starting": N_("Starting"),
    "parsing": N_("Reading the file"),
    "profiling": N_("Profiling the fields"),
    "table": N_("Building the table for computed answers"),
    "embedding": N_("Questions can be asked now; embedding the records for semantic search"),
    "indexing": N_("Questions can be asked now; building the vector index"),
    "lexical": N_("Building the keyword index"),
    "ready": N_("Ready"),
}
CHART_CONFIG = {"displayModeBar": False, "responsive": True}


def start_load(
    engine: Any,
    registry: IngestJobRegistry,
    source: Any,
    name: str,
    tab: str | None = None,
    *,
    on_dataset: Callable[[str], None] | None = None,
) -> str:
    """Load ``source`` into the engine in a background job for ``tab``; return the job id. ``on_dataset(id)`` is
    told the dataset's id (from the job's thread) once it answers questions, before the page is."""

    ticket = engine.begin_load(name, tab=tab or "")  # before the job starts: the tab's questions now wait for it
    tell = on_dataset or (lambda _dataset_id: None)

    def work(progress: JobProgress) -> dict[str, Any]:
        published: list[str] = []

        def report(stage: str, done: int, total: int) -> None:
            if ticket.dataset_id and not published:  # searchable: the page shows the data while it is indexed
                opened = engine.dataset_by_id(ticket.dataset_id)
                if opened is not None:
                    published.append(ticket.dataset_id)
                    tell(ticket.dataset_id)
                    progress.usable(summary_data(opened[1].to_dict()))
            progress(stage, done, total)

        info = engine.load_json(source, name=name, progress=report, ticket=ticket)
        tell(info.dataset_id)
        return info.to_dict()

    return registry.start(name, work)


def expect_upload(engine: Any, gate: Any, contents: str | None, filename: Any, tab: str | None = None) -> bool:
    """A question sent while the page holds a chosen file the app has not taken yet waits for that file,
    whichever request reaches the app first. The file is on its way when the size check let it through
    (``gate`` names it) and the upload callback has not cleared ``contents`` yet. True when expected."""
    if contents and isinstance(gate, dict) and gate.get("filename") and gate.get("filename") == filename:
        engine.expect_load(str(filename), tab=tab or "")
        return True
    return False


@dataclass
class IngestView:
    """What the page shows about a loading job."""

    progress: list[Any]
    """Children of the progress block (label and bar)."""
    hidden: bool
    finished: bool
    message: list[Any] | None = None
    """A success or error message once finished."""
    stored_data: dict[str, Any] | None = None
    """New ``stored-data`` when the load succeeded, or while it runs once the new data answers questions."""


def ingest_view(job: IngestJob | None) -> IngestView:
    """The progress block and, once finished, the message and the new ``stored-data``."""
    if job is None:
        return IngestView(
            progress=[],
            hidden=True,
            finished=True,
            message=notice(_("The loading job was lost (the server restarted); try again."), "error"),
        )
    if job.status == CANCELLED:
        text = " ".join([job.message or _("Loading was cancelled."),
                         _("The data loaded before is still the one answered from.")])
        return IngestView(progress=[], hidden=True, finished=True, message=notice(text, "info"))
    if job.status == FAILED:
        return IngestView(
            progress=[], hidden=True, finished=True, message=notice(job.message or _("Loading failed."), "error")
        )
    if job.status == SUCCEEDED:
        info = job.result or {}
        count = info.get("record_count", 0)
        text = ngettext("Loaded {name}: {count} record, ready for questions.",
                        "Loaded {name}: {count} records, ready for questions.", count).format(
            name=info.get("name", job.name), count=format_number(count))
        return IngestView(
            progress=[], hidden=True, finished=True, message=notice(text, "success"), stored_data=summary_data(info)
        )
    return IngestView(progress=progress_bar(job), hidden=False, finished=False, stored_data=job.usable)


def stage_label(stage: str) -> str:
    """A readable name for a loading stage (unknown stages are shown as they are)."""
    return _(STAGE_LABELS[stage]) if stage in STAGE_LABELS else stage.replace("_", " ").capitalize()


def progress_bar(job: IngestJob) -> list[Any]:
    """ "Embedding records 120 / 240" with a bar (an indeterminate one when the size is unknown)."""
    fraction = job.fraction
    label = f"{stage_label(job.stage)} — {job.name}"
    if fraction is not None and job.total > 1:
        label += f" ({format_number(job.done)} / {format_number(job.total)})"
    bar_style = {"width": f"{fraction * 100:.0f}%"} if fraction is not None and job.total > 1 else {}
    bar_class = "bar" if bar_style else "bar indeterminate"
    return [
        html.Div(label, className="progress-label"),
        html.Div(html.Div(className=bar_class, style=bar_style), className="progress-track", role="progressbar"),
    ]


def notice(text: str, kind: str) -> list[Any]:
    """A message line: ``success``, ``error`` or ``info``."""
    return [html.Div(text, className=f"notice {kind}", role="alert" if kind == "error" else "status")]


@dataclass
class DataViewOutputs:
    """Everything the data view shows for the loaded dataset."""

    summary: list[Any]
    record_columns: list[dict[str, Any]] = field(default_factory=list)
    record_rows: list[dict[str, Any]] = field(default_factory=list)
    records_note: str = ""
    profile_columns: list[dict[str, Any]] = field(default_factory=list)
    profile_rows: list[dict[str, Any]] = field(default_factory=list)
    charts: list[Any] = field(default_factory=list)


def tab_dataset_id(stored: Any) -> str | None:
    """The id of the tab's dataset in its ``stored-data``, if any."""
    dataset_id = stored.get("dataset_id") if isinstance(stored, dict) else None
    return dataset_id if isinstance(dataset_id, str) and dataset_id else None


def tab_dataset(engine: Any, dataset_id: str | None, *, last_if_none: bool = True) -> Any:
    """``engine.dataset_by_id``: the records and facts of ``dataset_id``, or of the dataset loaded last when it
    is None and ``last_if_none`` (False when visitors are isolated: the dataset loaded last may be anyone's)."""
    if dataset_id is None and not last_if_none:
        return None
    return engine.dataset_by_id(dataset_id)


def render_data_view(engine: Any, dataset_id: str | None = None, *, last_if_none: bool = True) -> DataViewOutputs:
    """The data view of the tab's dataset (the dataset loaded last when it names none and ``last_if_none``; an
    empty view when there is none, or when it is no longer kept)."""
    found = tab_dataset(engine, dataset_id, last_if_none=last_if_none)
    dataset, info = found if found is not None else (None, None)
    if dataset is None or info is None:
        return DataViewOutputs(
            summary=dataset_summary(None),
            charts=[html.Div(_("Charts appear once a dataset is loaded."), className="muted")],
        )
    table = records_table(dataset, info.profile)
    profile_columns, profile_rows = profile_table(info.profile)
    charts = dataset_charts(info.profile, dataset.records)
    return DataViewOutputs(
        summary=dataset_summary(info.to_dict()),
        record_columns=table.columns,
        record_rows=table.rows,
        records_note=table.note or ngettext("{count} record", "{count} records", len(table.rows)).format(
            count=format_number(len(table.rows))),
        profile_columns=profile_columns,
        profile_rows=profile_rows,
        charts=charts,
    )


def dataset_charts(profile: Any, records: Sequence[Any]) -> list[Any]:
    """The Charts tab's charts of ``records`` (every record, or those an answer selects)."""
    return [
        dcc.Graph(figure=figure, config=CHART_CONFIG, className="chart", id=f"chart-{number}")
        for number, (_spec, figure) in enumerate(build_figures(profile, records))
    ] or [html.Div(_("No field suits a chart (no numbers, categories or dates)."), className="muted")]


@dataclass
class SelectionView:
    """What a button of a computed answer changes in the data view (``spec_view``)."""

    selection: dict[str, Any] | None
    """The selection store: the record ids the grid keeps (``Selection.to_store``)."""
    chip_text: str
    chip_hidden: bool
    charts: list[Any]
    """The Charts tab when an answer is opened as a chart (else it follows the selection: ``selection_charts``)."""
    tab: str
    """The data tab to show: ``records`` or ``charts``."""
    message: list[Any] = field(default_factory=list)
    """A refusal, when the request is not used (the rest of the view is then left as it is)."""


def tab_table(engine: Any, dataset_id: str | None, *, last_if_none: bool = True) -> Any:
    """The analytic table of the tab's dataset (``tab_dataset``'s rules), or None when it has none."""
    if dataset_id is None and not last_if_none:
        return None
    analytics = engine.analytics_for(dataset_id)
    return analytics.table if analytics is not None else None


def spec_view(
    engine: Any, request: Any, dataset_id: str | None = None, *, last_if_none: bool = True, current: Any = None
) -> SelectionView:
    """Filter the data view to an answer's spec (``SHOW_RECORDS``) or chart its groups (``OPEN_CHART``), the spec
    validated again against the tab's dataset; a request that cannot be used gives only a ``message``.
    ``current`` is the selection store (the charts of an opened answer are drawn over its records)."""
    found = tab_dataset(engine, dataset_id, last_if_none=last_if_none)
    table = tab_table(engine, dataset_id, last_if_none=last_if_none)
    try:
        asked = parse_request(request)
        if found is None:
            raise SpecRefused(_(NOT_FOUND_MESSAGE))
        dataset, info = found
        if asked.dataset_hash is not None and asked.dataset_hash != info.content_hash:
            raise SpecRefused(_(OTHER_DATASET))
        if table is None:
            raise SpecRefused(_(NO_TABLE))
        spec = read_spec(asked.spec, table.schema)
        if asked.action == OPEN_CHART:
            figure = group_figure(table, spec)
            kept = current if isinstance(current, dict) and isinstance(current.get("ids"), list) else None
            records = chosen_records(dataset.records, kept["ids"]) if kept else dataset.records
            answer_chart = dcc.Graph(figure=figure, config=CHART_CONFIG, className="chart answer-chart",
                                     id="answer-chart")
            return SelectionView(selection=no_update, chip_text=no_update, chip_hidden=no_update,
                                 charts=[answer_chart, *dataset_charts(info.profile, records)], tab="charts")
        selection = select_records(table, spec)
    except SpecRefused as refused:
        return SelectionView(selection=no_update, chip_text=no_update, chip_hidden=no_update,
                             charts=no_update, tab=no_update, message=notice(str(refused), "error"))
    beyond = positions_beyond(dataset.records, selection.record_ids, MAX_TABLE_ROWS)
    stored = selection.to_store(beyond_table=beyond)
    # the charts follow the selection store (``selection_charts``)
    return SelectionView(selection=stored, chip_text=stored["text"], chip_hidden=False, charts=no_update,
                         tab="records")


def selection_charts(engine: Any, dataset_id: str | None = None, selection: Any = None, *,
                     last_if_none: bool = True) -> list[Any]:
    """The Charts tab over an answer's selection (the selection store: the records of its ``ids``, under a line
    that says which), or over every record when there is none."""
    found = tab_dataset(engine, dataset_id, last_if_none=last_if_none)
    if found is None:
        return [html.Div(_("Charts appear once a dataset is loaded."), className="muted")]
    dataset, info = found
    ids = selection.get("ids") if isinstance(selection, dict) else None
    if not isinstance(ids, list):
        return dataset_charts(info.profile, dataset.records)
    lead = html.Div(_("Charts of {selection}.").format(selection=selection.get("text") or _("the selected records")),
                    className="muted selection-charts-note")
    return [lead, *dataset_charts(info.profile, chosen_records(dataset.records, ids))]


@dataclass
class RecordView:
    """Showing one record: the records grid's ``filterModel`` and the record panel."""

    filter_model: dict[str, Any]
    """Keeps only the record's row; empty (no filter) when the record is not in the grid."""
    panel: list[Any]


def show_record(engine: Any, record_id: str, dataset_id: str | None = None, *, last_if_none: bool = True) -> RecordView:
    """Filter the records grid to ``record_id`` and show the whole record of the tab's dataset above it."""
    shown = tab_dataset(engine, dataset_id, last_if_none=last_if_none)
    found = find_record(shown[0] if shown is not None else None, record_id)
    if found is None:
        return RecordView(filter_model={}, panel=record_panel(None, record_id, in_table=False))
    position, record = found
    in_table = position < MAX_TABLE_ROWS
    return RecordView(
        filter_model=record_filter_model(record_id) if in_table else {},
        panel=record_panel(record, record_id, in_table=in_table),
    )


NOT_FOUND_MESSAGE = N_("That dataset was not found: load its file again.")
"""Said of a dataset that is no longer stored, and of one the visitor may not use (the two look alike)."""
MAX_LISTED = 100_000
"""Stored datasets looked through for a visitor's Recent list."""


def recent_dataset_options(
    engine: Any, limit: int = 20, *, visible: Sequence[DatasetUse] | None = None
) -> list[dict[str, str]]:
    """The "Recent datasets" list: every dataset in the store, most recently used first; or, when visitors are
    isolated, the ``visible`` ones (the visitor's and those shared with everyone, most recent first) that are
    still stored."""
    store = engine.store
    if store is None:
        return []
    if visible is None:
        return [
            {"label": dataset_label(listing.name, listing.record_count), "value": listing.key}
            for listing in store.recent(limit)
        ]
    stored = {listing.key: listing for listing in store.recent(MAX_LISTED)}
    options = []
    for use in visible:
        listing = stored.get(use.dataset_id)
        if listing is not None:
            label = dataset_label(listing.name, listing.record_count, shared=use.shared)
            options.append({"label": label, "value": listing.key})
    return options[:limit]


def open_recent(engine: Any, dataset_id: str | None, tab: str | None = None) -> tuple[dict[str, Any] | None, list[Any]]:
    """Make a stored dataset the tab's: its new ``stored-data`` and a message (None and "not found" when it is
    gone, or when ``dataset_id`` is None: a dataset the visitor may not use)."""
    info = engine.open_dataset(dataset_id, tab=tab or "") if dataset_id else None
    if info is None:
        return None, notice(_(NOT_FOUND_MESSAGE), "error")
    text = ngettext("Opened {name}: {count} record.", "Opened {name}: {count} records.", info.record_count).format(
        name=info.name, count=format_number(info.record_count))
    return summary_data(info.to_dict()), notice(text, "success")


def dataset_label(name: str, count: int, *, shared: bool = False) -> str:
    """A dataset in the Recent list: "orders.json (240 records, shared)"."""
    records = ngettext("{count} record", "{count} records", count).format(count=format_number(count))
    label = _("{name} ({records}, shared)") if shared else _("{name} ({records})")
    return label.format(name=name, records=records)


def start_data(engine: Any, dataset_id: str | None) -> dict[str, Any] | None:
    """What a new tab's ``stored-data`` starts with when visitors are isolated: ``dataset_id`` (the visitor's most
    recent dataset), or None when it has none or it is no longer stored."""
    found = engine.dataset_by_id(dataset_id) if dataset_id else None
    return summary_data(found[1].to_dict()) if found is not None else None


def refuse_question(engine: Any, question: str | None, session_id: str, message: str) -> dict[str, Any] | None:
    """A question that is not sent to the model (its tab names no dataset it may use): its turn, which the
    answer poll ends with ``message``; None when the question is empty."""
    text = (question or "").strip()
    if not text:
        return None
    engine.buffer.start(session_id, question=text, cached=False, notes=[])
    engine.buffer.finish(session_id, status=ERROR, error=message)
    return new_turn(text, session_id)
