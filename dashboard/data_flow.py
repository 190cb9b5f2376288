"""What the data callbacks do, as plain functions: start a load, report its progress, render the view."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dash import dcc, html

from dashboard.charts import build_figures
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
from dashboard.ingest_jobs import CANCELLED, FAILED, SUCCEEDED, IngestJob, IngestJobRegistry, JobProgress

EXAMPLE_DATASET = Path(__file__).resolve().parent / "example_data" / "orders.json"
STAGE_LABELS = {
    "starting": "Starting",
    "parsing": "Reading the file",
    "profiling": "Profiling the fields",
    "table": "Building the table for computed answers",
    "embedding": "Questions can be asked now; embedding the records for semantic search",
    "indexing": "Questions can be asked now; building the vector index",
    "lexical": "Building the keyword index",
    "ready": "Ready",
}
CHART_CONFIG = {"displayModeBar": False, "responsive": True}


def start_load(engine: Any, registry: IngestJobRegistry, source: Any, name: str, tab: str | None = None) -> str:
    """Load ``source`` into the engine in a background job for ``tab``; return the job id."""

    ticket = engine.begin_load(name, tab=tab or "")  # before the job starts: the tab's questions now wait for it

    def work(progress: JobProgress) -> dict[str, Any]:
        published: list[str] = []

        def report(stage: str, done: int, total: int) -> None:
            if ticket.dataset_id and not published:  # searchable: the page shows the data while it is indexed
                opened = engine.dataset_by_id(ticket.dataset_id)
                if opened is not None:
                    published.append(ticket.dataset_id)
                    progress.usable(summary_data(opened[1].to_dict()))
            progress(stage, done, total)

        info = engine.load_json(source, name=name, progress=report, ticket=ticket)
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
            message=notice("The loading job was lost (the server restarted); try again.", "error"),
        )
    if job.status == CANCELLED:
        text = f"{job.message or 'Loading was cancelled.'} The data loaded before is still the one answered from."
        return IngestView(progress=[], hidden=True, finished=True, message=notice(text, "info"))
    if job.status == FAILED:
        return IngestView(
            progress=[], hidden=True, finished=True, message=notice(job.message or "Loading failed.", "error")
        )
    if job.status == SUCCEEDED:
        info = job.result or {}
        count = info.get("record_count", 0)
        text = f"Loaded {info.get('name', job.name)}: {count:,} records, ready for questions."
        return IngestView(
            progress=[], hidden=True, finished=True, message=notice(text, "success"), stored_data=summary_data(info)
        )
    return IngestView(progress=progress_bar(job), hidden=False, finished=False, stored_data=job.usable)


def stage_label(stage: str) -> str:
    """A readable name for a loading stage (unknown stages are shown as they are)."""
    return STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())


def progress_bar(job: IngestJob) -> list[Any]:
    """ "Embedding records 120 / 240" with a bar (an indeterminate one when the size is unknown)."""
    fraction = job.fraction
    label = f"{stage_label(job.stage)} — {job.name}"
    if fraction is not None and job.total > 1:
        label += f" ({job.done:,} / {job.total:,})"
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


def render_data_view(engine: Any, dataset_id: str | None = None) -> DataViewOutputs:
    """The data view of the tab's dataset (the dataset loaded last when it names none; an empty view when
    there is none, or when it is no longer kept)."""
    found = engine.dataset_by_id(dataset_id)
    dataset, info = found if found is not None else (None, None)
    if dataset is None or info is None:
        return DataViewOutputs(
            summary=dataset_summary(None),
            charts=[html.Div("Charts appear once a dataset is loaded.", className="muted")],
        )
    table = records_table(dataset, info.profile)
    profile_columns, profile_rows = profile_table(info.profile)
    charts = [
        dcc.Graph(figure=figure, config=CHART_CONFIG, className="chart", id=f"chart-{number}")
        for number, (_spec, figure) in enumerate(build_figures(info.profile, dataset.records))
    ] or [html.Div("No field suits a chart (no numbers, categories or dates).", className="muted")]
    return DataViewOutputs(
        summary=dataset_summary(info.to_dict()),
        record_columns=table.columns,
        record_rows=table.rows,
        records_note=table.note or f"{len(table.rows):,} records",
        profile_columns=profile_columns,
        profile_rows=profile_rows,
        charts=charts,
    )


@dataclass
class RecordView:
    """Showing one record: the records grid's ``filterModel`` and the record panel."""

    filter_model: dict[str, Any]
    """Keeps only the record's row; empty (no filter) when the record is not in the grid."""
    panel: list[Any]


def show_record(engine: Any, record_id: str, dataset_id: str | None = None) -> RecordView:
    """Filter the records grid to ``record_id`` and show the whole record of the tab's dataset above it."""
    shown = engine.dataset_by_id(dataset_id)
    found = find_record(shown[0] if shown is not None else None, record_id)
    if found is None:
        return RecordView(filter_model={}, panel=record_panel(None, record_id, in_table=False))
    position, record = found
    in_table = position < MAX_TABLE_ROWS
    return RecordView(
        filter_model=record_filter_model(record_id) if in_table else {},
        panel=record_panel(record, record_id, in_table=in_table),
    )


def recent_dataset_options(engine: Any, limit: int = 20) -> list[dict[str, str]]:
    """The "Recent datasets" list: every dataset in the store, most recently used first."""
    store = engine.store
    if store is None:
        return []
    return [
        {"label": f"{listing.name} ({listing.record_count:,} records)", "value": listing.key}
        for listing in store.recent(limit)
    ]


def open_recent(engine: Any, dataset_id: str, tab: str | None = None) -> tuple[dict[str, Any] | None, list[Any]]:
    """Make a stored dataset the tab's: its new ``stored-data`` and a message (None and an error when it is
    gone)."""
    info = engine.open_dataset(dataset_id, tab=tab or "")
    if info is None:
        return None, notice("That dataset is no longer stored; load its file again.", "error")
    return summary_data(info.to_dict()), notice(f"Opened {info.name}: {info.record_count:,} records.", "success")
