"""The data view as plain data: the dataset summary, the records grid, the profile grid, one record.

The grids are dash-ag-grid ``AgGrid`` components; this module builds their ``columnDefs``, ``rowData``
and ``filterModel``. Record columns get opaque fields (``rid`` for the record id, ``c0``, ``c1``... for
the fields) and the field path as their header, because AG Grid reads dots in a field as nesting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dash import html
from markupsafe import Markup

from dashboard.charts import general_path
from dashboard.i18n import _, format_number
from dashboard.static_html import join, static_block
from rag.profile import DatasetProfile, FieldProfile
from rag.records import Dataset, Record

RECORD_ID_COLUMN = "rid"
MAX_TABLE_ROWS = 10_000
"""Rows sent to the browser's grid (the chat searches every record either way)."""
MAX_TABLE_COLUMNS = 40
MAX_CELL_CHARS = 300
RECORD_PANEL_CHARS = 20_000
TEXT_FILTER = "agTextColumnFilter"
NUMBER_FILTER = "agNumberColumnFilter"
_INDEX = re.compile(r"\[(\d+)\]")


def grid_column(field: str, header: str, *, numeric: bool = False) -> dict[str, Any]:
    """An AG Grid column definition: a number column (number filter, right-aligned) or a text one."""
    column: dict[str, Any] = {
        "field": field,
        "headerName": header,
        "headerTooltip": header,
        "cellDataType": "number" if numeric else "text",
        "filter": NUMBER_FILTER if numeric else TEXT_FILTER,
    }
    if numeric:
        column["type"] = "rightAligned"
    return column


def record_id_column() -> dict[str, Any]:
    """The ``record id`` column: pinned left, exact (case-sensitive) text filter, monospace cells."""
    column = grid_column(RECORD_ID_COLUMN, _("record id"))
    column.update(pinned="left", cellClass="record-id-cell", filterParams={"caseSensitive": True})
    return column


@dataclass(frozen=True)
class RecordsTable:
    """What the records grid shows."""

    columns: list[dict[str, Any]]
    """AG Grid ``columnDefs``."""
    rows: list[dict[str, Any]]
    """AG Grid ``rowData``."""
    note: str
    """Says what was left out (rows or columns beyond the limits); empty when nothing was."""


def ordered_fields(profile: DatasetProfile) -> list[FieldProfile]:
    """Fields in first-seen order; the fields of one array element stay together (``items[0].*``, ``items[1].*``)."""
    first_seen: dict[str, int] = {}
    for position, field_profile in enumerate(profile.fields):
        first_seen.setdefault(general_path(field_profile.path), position)
        first_seen.setdefault(_array_prefix(field_profile.path), position)

    def key(item: tuple[int, FieldProfile]) -> tuple[Any, ...]:
        position, field_profile = item
        indexes = tuple(int(n) for n in _INDEX.findall(field_profile.path))
        group = first_seen[_array_prefix(field_profile.path)]
        return (group, indexes, first_seen[general_path(field_profile.path)], position)

    return [f for _, f in sorted(enumerate(profile.fields), key=key)]


def _array_prefix(path: str) -> str:
    """``items[3].sku`` -> ``items[]``; a path outside arrays is its own group."""
    match = _INDEX.search(path)
    return general_path(path[: match.end()]) if match else path


def records_table(
    dataset: Dataset, profile: DatasetProfile, *, max_rows: int = MAX_TABLE_ROWS, max_columns: int = MAX_TABLE_COLUMNS
) -> RecordsTable:
    """Columns and rows of the records table, within the row and column limits."""
    fields = ordered_fields(profile)
    shown = fields[:max_columns]
    columns = [record_id_column()]
    paths = []
    for number, field_profile in enumerate(shown):
        columns.append(grid_column(f"c{number}", field_profile.path, numeric=field_profile.kind == "number"))
        paths.append(field_profile.path)
    rows = [table_row(record, paths) for record in dataset.records[:max_rows]]
    notes = []
    if len(dataset.records) > max_rows:
        notes.append(_("The table shows the first {shown} of {count} records.").format(
            shown=format_number(max_rows), count=format_number(len(dataset.records))))
    if len(fields) > max_columns:
        notes.append(_("It shows {shown} of {count} fields; open a record to see all of it.").format(
            shown=format_number(max_columns), count=format_number(len(fields))))
    return RecordsTable(columns=columns, rows=rows, note=" ".join(notes))


def table_row(record: Record, paths: Sequence[str]) -> dict[str, Any]:
    """One grid row: the record id, then each field as a cell value."""
    row: dict[str, Any] = {RECORD_ID_COLUMN: record.id}
    for number, path in enumerate(paths):
        row[f"c{number}"] = cell_value(record.flat.get(path))
    return row


def cell_value(value: Any) -> Any:
    """A value as a grid cell: numbers and text as they are, booleans as words, the rest as short JSON."""
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def record_filter_model(record_id: str) -> dict[str, Any]:
    """An AG Grid ``filterModel`` that keeps only the row of ``record_id``."""
    return {RECORD_ID_COLUMN: {"filterType": "text", "type": "equals", "filter": record_id}}


def profile_table(profile: DatasetProfile) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``columnDefs`` and ``rowData`` of the profile grid: one row per field."""
    columns = [
        grid_column("path", _("field")),
        grid_column("kind", _("kind")),
        grid_column("present", _("present"), numeric=True),
        grid_column("missing", _("missing"), numeric=True),
        grid_column("distinct", _("distinct"), numeric=True),
        grid_column("range", _("range")),
        grid_column("mean", _("mean"), numeric=True),
        grid_column("top", _("most common values")),
    ]
    rows = []
    for field_profile in ordered_fields(profile):
        rows.append(
            {
                "path": field_profile.path,
                "kind": field_profile.kind,
                "present": field_profile.present,
                "missing": field_profile.missing,
                "distinct": field_profile.distinct,
                "range": _range_text(field_profile),
                "mean": round(field_profile.mean, 3) if field_profile.mean is not None else None,
                "top": ", ".join(f"{cell_value(v)} ({n})" for v, n in field_profile.top_values[:5]),
            }
        )
    return columns, rows


def _range_text(field_profile: FieldProfile) -> str:
    if field_profile.kind == "date" and field_profile.date_min:
        return f"{field_profile.date_min} … {field_profile.date_max}"
    if field_profile.min is not None:
        return f"{_number(field_profile.min)} … {_number(field_profile.max)}"
    return ""


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def format_size(size_bytes: int) -> str:
    """``1.4 MB``, ``812 KB``, ``96 B``."""
    if size_bytes >= 1024 * 1024:
        return f"{size_bytes / 1024 / 1024:.1f} MB"
    if size_bytes >= 1024:
        return f"{size_bytes / 1024:.0f} KB"
    return f"{size_bytes} B"


def dataset_summary(info: Mapping[str, Any] | None) -> list[Any]:
    """The summary line of the loaded dataset (name, records, fields, size, hash, index)."""
    if not info:
        return [html.Span(_("No dataset loaded yet. Drop a JSON file above or load the example."), className="muted")]
    profile = info.get("profile") or {}
    items: list[tuple[str, str]] = [
        (_("records"), format_number(info.get("record_count", 0))),
        (_("fields"), format_number(profile.get("field_count", len(profile.get("fields") or [])))),
        (_("size"), format_size(int(info.get("size_bytes") or 0))),
        (_("root"), str(info.get("root_path") or "$")),
        ("sha256", str(info.get("content_hash") or "")[:12]),
    ]
    index = info.get("index") or {}
    if index.get("index_kind"):
        chunks = _("{kind}, {count} chunks").format(kind=index["index_kind"], count=index.get("documents", "?"))
        items.append((_("index"), chunks + " " + _("(from cache)") if index.get("from_cache") else chunks))
    stats = join([
        Markup('<span class="stat"><span class="stat-label">{}</span><span class="stat-value">{}</span></span>').format(
            label, value
        )
        for label, value in items
    ])
    name = Markup('<span class="dataset-name">{}</span>').format(str(info.get("name", "")))
    return [static_block(name + stats, "dataset-summary-line")]  # one component: every update costs one less each


def summary_data(info: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What ``stored-data`` keeps about the dataset (small: no profile, no records)."""
    if not info:
        return None
    keep = ("dataset_id", "name", "content_hash", "record_count", "root_path", "size_bytes")
    return {key: info.get(key) for key in keep}


def find_record(dataset: Dataset | None, record_id: str) -> tuple[int, Record] | None:
    """The position and record of ``record_id`` in the dataset, or None."""
    if dataset is None:
        return None
    for position, record in enumerate(dataset.records):
        if record.id == record_id:
            return position, record
    return None


def record_panel(record: Record | None, record_id: str, *, in_table: bool) -> list[Any]:
    """The record panel: the whole record as JSON, or a message when it is not in the loaded dataset."""
    if record is None:
        return [
            html.Div(
                _("Record {id} is not in the loaded dataset (the answer may come from another dataset).").format(
                    id=record_id),
                className="notice warning",
            )
        ]
    text = json.dumps(record.data, indent=2, ensure_ascii=False, default=str)
    if len(text) > RECORD_PANEL_CHARS:
        text = text[:RECORD_PANEL_CHARS] + "\n…"
    header: list[Any] = [html.Strong(_("Record") + " "), html.Code(record.id)]
    if not in_table:
        header.append(html.Span(" " + _("(beyond the rows the table shows)"), className="muted"))
    return [html.Div(header, className="record-panel-head"), html.Pre(text, className="record-json")]
