"""The analytic table of a dataset: its records in an in-process DuckDB, queried through specs only.

Layout
    ``records``: one row per record, ``_record_id`` (the record's id, its JSON path) and one column
    per flattened scalar field path (``customer.city``). An array of scalars (``tags``) is a LIST
    column (type ``list``). An array of objects (``items``) is a child table named by the array's
    path, one row per element, with ``_record_id`` and a column per field of the elements
    (``items.sku``); arrays of scalars inside the elements are LIST columns of the child table,
    arrays of objects inside them are left out. Arrays of arrays are left out.

Types (``ColumnInfo.type``)
    ``number``: BIGINT when every value is a whole number that fits, else DOUBLE. A text field
    whose values are mostly (``NUMERIC_SHARE``) numbers written as text (``"130"``, ``"4.5"``)
    is a number too, and the others become missing; texts with a leading zero (``"02139"``) stay
    text. ``boolean``. ``date``/``timestamp``: text fields the profile sees as ISO dates (for
    child fields: the same test), DATE when every value is a day, else TIMESTAMP (UTC), values
    that do not parse become missing. ``text``: text, and any field mixing kinds (numbers and
    booleans written as text). ``list``: arrays of scalars, their elements typed ``number``,
    ``boolean`` or ``text`` (``ColumnInfo.item_type``).

Schema (``TableSchema``)
    A text column is categorical when it has at most ``CATEGORICAL_MAX_DISTINCT`` distinct values
    and at most half as many as values (or the profile calls it a category); booleans are
    categorical. ``values`` lists every distinct value of a categorical column, else the
    ``TOP_VALUES`` most common, most common first; dates as ISO text. ``label_field`` is the record
    field that names a record best: mostly unique (at least half the values distinct), short text
    present in most records, a name like ``name``/``title``/``product`` preferred, id-like names
    (``order_id``) last; None when no field fits. A column whose path DuckDB cannot take as a name
    (two paths equal but for case, ``_record_id``, control characters) gets another ``sql_name``;
    an array called ``records`` is the child table ``records[]``.

Loading builds each column in Python once and hands DuckDB numpy arrays (masked where values are
missing): no row-by-row INSERT. Afterwards the connection refuses file and network access and
extension loading, its memory and threads are limited, and its configuration is locked.

``AnalyticTable.run`` validates a spec, builds its SQL (``rag.analytics.sql``) and runs it with
a time limit: a query still running after ``timeout`` seconds is interrupted. ``AnalyticTable.name_index``
reads the distinct values of the record fields holding text once, when a question first names a record
(``rag.analytics.names``).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Callable, Iterable, Sequence

import duckdb
import numpy as np

from rag.analytics import names
from rag.analytics.errors import QueryError
from rag.analytics.names import NameIndex
from rag.analytics.result import QueryResult, json_safe
from rag.analytics.spec import (
    MAX_LIMIT,
    RECORD_ID,
    RECORDS_TABLE,
    ROW_AGGREGATIONS,
    ChildTable,
    ColumnInfo,
    QuerySpec,
    TableSchema,
)
from rag.analytics.sql import (
    INTERNAL_NAMES,
    build_matched_sql,
    build_record_ids_sql,
    build_sql,
    build_values_sql,
    quote_identifier,
)
from rag.analytics.validate import validate_spec
from rag.profile import DATE_SHARE, DatasetProfile, FieldProfile, parse_iso_date
from rag.records import Dataset, Record

log = logging.getLogger(__name__)

DEFAULT_MEMORY_LIMIT = "256MB"
DEFAULT_TIMEOUT = 5.0
NUMERIC_SHARE = 0.95
"""Share of a text field's values that must be numbers for it to become a number column."""
CATEGORICAL_MAX_DISTINCT = 200
"""A text column is categorical with at most this many distinct values (and at most half as many as values)."""
TOP_VALUES = 50
"""Most common values kept for a column that is not categorical."""
MAX_COLUMNS = 2000
"""Columns kept over all tables (the most filled first)."""
LABEL_WORDS = ("name", "title", "label", "product", "model", "headline", "subject", "caption")
"""Field names that name a record (``Name``, ``title``, ``product_name``)."""

_MAX_SQL_NAME = 120
_STAGE = "analytic_stage_{}"
_NUMBER_TEXT = re.compile(r"\s*[-+]?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*\Z")
_INTEGER_TEXT = re.compile(r"\s*[-+]?(?:0|[1-9]\d*)\s*\Z")
_DATE_START = re.compile(r"\d{4}([-/])\d{2}\1\d{2}")
_ID_WORDS = re.compile(r"(?:^|[^a-z])(?:id|uuid|guid|key|code|sku|url|uri|email|hash)$")
_INT64 = 2**63 - 1
_NAT = np.iinfo(np.int64).min
"""The int64 of numpy's NaT (not a time), which DuckDB loads as NULL."""
_EPOCH = datetime(1970, 1, 1)
_NONE = type(None)
_SQL_TYPES = {
    "number_int": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "text": "VARCHAR",
}


class AnalyticTable:
    """A dataset's records in DuckDB, with the schema the planners and the validator read."""

    def __init__(
        self, connection: duckdb.DuckDBPyConnection, schema: TableSchema, *, build_seconds: float = 0.0
    ) -> None:
        """Use ``AnalyticTable.build``."""
        self._connection = connection
        self._schema = schema
        self._lock = threading.Lock()
        self._closed = False
        self._active: set[duckdb.DuckDBPyConnection] = set()
        """Cursors running a statement (``close`` interrupts them)."""
        self._matched: dict[str, int] = {}
        """Records having a child row, by statement (a spec without filters at a child table's grain)."""
        self._names: NameIndex | None = None
        self._names_lock = threading.Lock()
        self.build_seconds = build_seconds
        """How long ``build`` took, wall clock."""

    @classmethod
    def build(
        cls,
        dataset: Dataset,
        profile: DatasetProfile,
        *,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        threads: int = 1,
    ) -> "AnalyticTable":
        """Put the records of ``dataset`` into a new in-memory DuckDB; ``profile`` tells which fields are dates.

        Raises ``QueryError`` when DuckDB refuses the data or the settings.
        """
        started = time.perf_counter()
        hints = {field_profile.path: field_profile for field_profile in profile.fields}
        tables = _collect(dataset.records, hints)
        try:
            connection = duckdb.connect(
                ":memory:",
                config={
                    "threads": max(1, int(threads)),
                    "memory_limit": str(memory_limit),
                    "python_enable_replacements": False,  # SQL cannot read Python variables by name
                },
            )
        except duckdb.Error as exc:
            raise QueryError(f"The analytic table cannot be created: {_first_line(exc)}") from exc
        try:
            for index, table in enumerate(tables):
                _create_table(connection, table, _STAGE.format(index))
            columns, children, stats = _describe(connection, tables, len(dataset.records))
            _lock_down(connection)
        except duckdb.Error as exc:
            connection.close()
            raise QueryError(f"The records could not be put into the analytic table: {_first_line(exc)}") from exc
        schema = TableSchema(
            record_count=len(dataset.records),
            columns=columns,
            children=children,
            label_field=_label_field(columns, stats, len(dataset.records)),
            dataset_name=dataset.name,
        )
        return cls(connection, schema, build_seconds=time.perf_counter() - started)

    @property
    def schema(self) -> TableSchema:
        return self._schema

    def run(self, spec: QuerySpec, *, timeout: float = DEFAULT_TIMEOUT) -> QueryResult:
        """Validate ``spec`` and compute it; ``SpecError`` when it does not fit, ``QueryError`` when it cannot run."""
        started = time.perf_counter()
        deadline = started + timeout
        spec = validate_spec(spec, self._schema)
        query = build_sql(spec, self._schema)
        rows, truncated = self._execute(query.sql, query.params, timeout=timeout, max_rows=query.max_rows)
        rows = [[json_safe(value) for value in row] for row in rows]

        matched = self._schema.record_count
        matched_query = build_matched_sql(spec, self._schema)
        if matched_query is not None and spec.aggregation == "count" and spec.field is None and spec.group_by is None:
            matched = int(rows[0][0]) if rows and rows[0][0] is not None else 0  # the count is the matched records
        elif matched_query is not None:
            cached = None if matched_query.params else self._matched.get(matched_query.sql)
            if cached is None:
                counted, _ = self._execute(
                    matched_query.sql,
                    matched_query.params,
                    timeout=_remaining(deadline, timeout),
                    shown_timeout=timeout,
                )
                cached = int(counted[0][0]) if counted else 0
                if not matched_query.params:  # no filters: the same for every spec, the data never changes
                    self._matched[matched_query.sql] = cached
            matched = cached

        values_counted: int | None = None
        values_query = build_values_sql(spec, self._schema)
        if values_query is not None:
            cached_values = None if values_query.params else self._matched.get(values_query.sql)
            if cached_values is None:
                counted, _ = self._execute(values_query.sql, values_query.params,
                                           timeout=_remaining(deadline, timeout), shown_timeout=timeout)
                cached_values = int(counted[0][0]) if counted else 0
                if not values_query.params:
                    self._matched[values_query.sql] = cached_values
            values_counted = cached_values

        record_ids: list[str] = []
        if spec.aggregation in ROW_AGGREGATIONS:
            position = query.record_id_column  # by position: a data field may be called _record_id too
            record_ids = list(dict.fromkeys(str(row[position]) for row in rows))
        else:
            ids_query = build_record_ids_sql(spec, self._schema)
            if ids_query is not None:
                found, _ = self._execute(
                    ids_query.sql, ids_query.params, timeout=_remaining(deadline, timeout), shown_timeout=timeout
                )
                record_ids = [str(row[0]) for row in found]
        return QueryResult(
            columns=list(query.columns),
            rows=rows,
            sql=query.display_sql,
            params=[json_safe(value) for value in query.params],
            total_rows=self._schema.record_count,
            matched_rows=matched,
            values_counted=values_counted,
            record_ids=record_ids,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            truncated=truncated,
            spec=spec,
        )

    def name_index(self) -> NameIndex:
        """The distinct values of the record fields that hold names (see ``rag.analytics.names``), read from the
        table when a question first needs them (about 0.1 s for 10,000 names, 1-2 s for 100,000); fields with more
        than ``names.MAX_VALUES`` distinct values, or long texts, are left out."""
        with self._names_lock:
            if self._names is None:
                try:
                    self._names = NameIndex(self._name_columns(), label=self._schema.label_field)
                except QueryError:  # closed, or too slow: the values the schema lists, this time
                    return NameIndex.from_schema(self._schema)
            return self._names

    def _name_columns(self) -> dict[str, list[str]]:
        columns: dict[str, list[str]] = {}
        for column in self._schema.columns.values():
            if column.table != RECORDS_TABLE or column.type != "text" or column.distinct > names.MAX_VALUES:
                continue
            if column.categorical:  # every value is in the schema already
                values = [value for value in column.values if isinstance(value, str)]
            else:
                name = quote_identifier(column.sql_name or column.path)
                rows, _ = self._execute(
                    f"SELECT DISTINCT {name} FROM {quote_identifier(RECORDS_TABLE)} WHERE {name} IS NOT NULL",
                    max_rows=names.MAX_VALUES,
                )
                values = [row[0] for row in rows if isinstance(row[0], str)]
            if values and sum(map(len, values)) / len(values) <= names.MAX_MEAN_LENGTH:
                columns[column.path] = values
        return columns

    def _execute(
        self,
        sql: str,
        params: Sequence[Any] = (),
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_rows: int = MAX_LIMIT,
        shown_timeout: float | None = None,
    ) -> tuple[list[tuple[Any, ...]], bool]:
        """Run one statement on its own cursor, interrupted after ``timeout`` seconds.

        Returns at most ``max_rows`` rows and whether there were more. Every failure is a
        ``QueryError`` (``shown_timeout``: the limit to name in the message, ``timeout`` by default).
        """
        shown = timeout if shown_timeout is None else shown_timeout
        if timeout <= 0:
            raise QueryError(_timeout_message(shown))
        with self._lock:
            if self._closed:
                raise QueryError(_CLOSED)
            cursor = self._connection.cursor()
            self._active.add(cursor)
        fired = threading.Event()

        def interrupt() -> None:
            fired.set()
            try:
                cursor.interrupt()
            except duckdb.Error:  # the statement finished and the cursor closed meanwhile
                pass

        timer = threading.Timer(timeout, interrupt)
        timer.daemon = True
        timer.start()
        try:
            rows = cursor.execute(sql, list(params)).fetchmany(max_rows + 1)
        except duckdb.InterruptException as exc:
            if self._closed and not fired.is_set():
                raise QueryError(_CLOSED) from exc
            raise QueryError(_timeout_message(shown)) from exc
        except duckdb.OutOfMemoryException as exc:
            raise QueryError(
                "The query needed more memory than the analytic table may use and was stopped; "
                "ask for fewer groups or add a filter."
            ) from exc
        except duckdb.Error as exc:
            if fired.is_set():
                raise QueryError(_timeout_message(shown)) from exc
            raise QueryError(f"The query could not run: {_first_line(exc)}") from exc
        finally:
            timer.cancel()
            try:
                cursor.close()
            except duckdb.Error:
                pass
            with self._lock:
                self._active.discard(cursor)
                if self._closed and not self._active:
                    self._close_connection()
        return rows[:max_rows], len(rows) > max_rows

    def close(self) -> None:
        """Free the database: running statements are interrupted, later ones raise ``QueryError``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            running = list(self._active)
            if not running:
                self._close_connection()
        for cursor in running:  # the last of them to finish closes the connection
            try:
                cursor.interrupt()
            except duckdb.Error:
                pass

    def _close_connection(self) -> None:
        try:
            self._connection.close()
        except duckdb.Error as exc:  # still busy: nothing more to free by hand, the process ends it
            log.debug("the analytic table's connection did not close: %s", exc)

    def __enter__(self) -> "AnalyticTable":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_CLOSED = "The analytic table was closed (another dataset was loaded); ask again."


def _remaining(deadline: float, timeout: float) -> float:
    return min(timeout, deadline - time.perf_counter())


def _timeout_message(seconds: float) -> str:
    return (
        f"The query took longer than {seconds:g} s and was stopped; "
        "ask for something narrower (a filter, fewer groups)."
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# --- collecting the columns -----------------------------------------------------------------------------


@dataclass
class _Column:
    """One column's values, one per row of its table (None where missing)."""

    path: str
    values: list[Any]
    is_list: bool = False
    hint: FieldProfile | None = None
    sql_name: str = ""
    """The name in SQL when it is not ``path`` (see ``_name_tables``)."""


@dataclass
class _Table:
    """One table to create: ``records`` or a child table."""

    name: str
    record_ids: list[str]
    """``_record_id`` of every row."""
    columns: list[_Column] = field(default_factory=list)
    sql_name: str = ""
    typed: list["_Typed"] = field(default_factory=list)


def _split_first_index(path: str) -> tuple[str, int, str] | None:
    """(path before, index, path after) of the first array index of a flat path, or None."""
    position, size = 0, len(path)
    while position < size:
        char = path[position]
        if char == "[":
            if path.startswith('["', position):  # a quoted key: skip the JSON string
                cursor = position + 2
                while cursor < size and path[cursor] != '"':
                    cursor += 2 if path[cursor] == "\\" else 1
                position = cursor + 2
                continue
            end = path.find("]", position)
            digits = path[position + 1 : end] if end > 0 else ""
            if digits.isascii() and digits.isdigit():
                return path[:position], int(digits), path[end + 1 :]
            position = end + 1 if end > 0 else size
            continue
        position += 1
    return None


@dataclass
class _ArrayPath:
    """The values of one flat path inside an array (``items[2].sku``), with the rows holding them."""

    index: int
    """The index in the outer array."""
    rest: str
    """The path below the element: ``""`` (a scalar element), ``.sku``, ``.tags[0]``, ``[1]``."""
    rows: list[int] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)


def _collect(records: list[Record], hints: dict[str, FieldProfile]) -> list[_Table]:
    """The tables of ``records``: ``records`` first, then one per array of objects."""
    count = len(records)
    scalars: dict[str, list[Any]] = {}
    array_paths: dict[str, _ArrayPath] = {}
    arrays: dict[str, list[_ArrayPath]] = {}  # array path (``items``) -> the flat paths inside it
    skipped: set[str] = set()
    scalar_column = scalars.get
    array_path = array_paths.get
    for row, record in enumerate(records):  # one pass, record by record: the fastest way through the dicts
        for path, value in record.flat.items():
            column = scalar_column(path)
            if column is not None:
                column[row] = value
                continue
            sink = array_path(path)
            if sink is not None:
                sink.rows.append(row)
                sink.values.append(value)
                continue
            if path in skipped:
                continue
            split = _split_first_index(path)
            if split is None:
                column = scalars[path] = [None] * count
                column[row] = value
            elif not split[0]:  # an array at the top of a record that is itself an array: no name, left out
                skipped.add(path)
            else:
                sink = array_paths[path] = _ArrayPath(split[1], split[2], [row], [value])
                arrays.setdefault(split[0], []).append(sink)
    record_ids = [record.id for record in records]

    record_lists: dict[str, dict[int, list[Any]]] = {}
    children: list[_Table] = []
    for prefix, paths in arrays.items():
        if any(_is_field_path(sink.rest) for sink in paths):
            children.append(_child_table(prefix, paths, record_ids))
            continue
        elements = _elements((sink.index, sink.rows, sink.values) for sink in paths if not sink.rest)
        if elements:  # else only arrays of arrays
            record_lists[prefix] = elements

    main = _Table(RECORDS_TABLE, record_ids)
    main.columns = _merge_columns(scalars, record_lists, count, hints)
    taken = {column.path for column in main.columns}
    for child in children:  # a path both a record field and a child field stays with the records
        child.columns = [column for column in child.columns if column.path not in taken]
    tables = [main] + [child for child in children if child.record_ids]
    _cap_columns(tables)
    _name_tables(tables)
    return tables


def _is_field_path(rest: str) -> bool:
    """Whether the path below an array element goes into an object (``.sku``, ``["a.b"]``)."""
    return rest[:1] == "." or rest[:2] == '["'


def _elements(parts: Iterable[tuple[int, list[int], list[Any]]]) -> dict[int, list[Any]]:
    """Row -> its list, from (element index, rows, values) of each index."""
    elements: dict[int, list[Any]] = {}
    for _index, rows, values in sorted(parts, key=_first):  # by index, so that each list is in order
        for row, value in zip(rows, values):
            items = elements.get(row)
            if items is None:
                elements[row] = [value]
            else:
                items.append(value)
    return elements


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


def _child_table(prefix: str, paths: list[_ArrayPath], parent_ids: list[str]) -> _Table:
    """The table of the array of objects at ``prefix``: one row per object element, in record and index order."""
    routed = [(sink, _child_route(prefix, sink.rest)) for sink in paths if _is_field_path(sink.rest)]
    routed = [(sink, route) for sink, route in routed if route is not None]
    stride = max(sink.index for sink, _route in routed) + 1
    keys = [np.asarray(sink.rows, dtype=np.int64) * stride + sink.index for sink, _route in routed]
    unique = np.unique(np.concatenate(keys))  # sorted: record order, then index order
    size = len(unique)
    scalars: dict[str, np.ndarray] = {}
    list_parts: dict[str, list[tuple[int, list[int], list[Any]]]] = {}
    for (sink, (kind, name, inner_index)), key in zip(routed, keys):
        positions = np.searchsorted(unique, key)
        if kind == "scalar":
            column = scalars.get(name)
            if column is None:
                column = scalars[name] = np.full(size, None, dtype=object)
            column[positions] = _object_array(sink.values)
        else:
            list_parts.setdefault(name, []).append((inner_index, positions.tolist(), sink.values))
    name = prefix if prefix != RECORDS_TABLE else prefix + "[]"  # an array called "records" is not the records
    parent_rows = (unique // stride).tolist()
    table = _Table(name, [parent_ids[row] for row in parent_rows])
    table.columns = _merge_columns(
        {path: column.tolist() for path, column in scalars.items()},
        {path: _elements(parts) for path, parts in list_parts.items()},
        size,
        {},
    )
    return table


def _child_route(prefix: str, rest: str) -> tuple[str, str, int] | None:
    """Where a path below an element goes: a child column, an element of a child list column, or nowhere."""
    inner = rest[1:] if rest[0] == "." else rest
    split = _split_first_index(inner)
    if split is None:
        return "scalar", prefix + rest, 0
    before, index, after = split
    if after or not before:
        return None  # objects or arrays inside an array inside the element
    return "list", prefix + ("." if rest[0] == "." else "") + before, index


def _merge_columns(
    scalars: dict[str, list[Any]],
    lists: dict[str, dict[int, list[Any]]],
    size: int,
    hints: dict[str, FieldProfile],
) -> list[_Column]:
    """Scalar and list columns of one table; a field that is a scalar in some rows and a list in others is a list."""
    columns: list[_Column] = []
    for path, values in scalars.items():
        if path in lists:
            elements = lists[path]
            for row, value in enumerate(values):
                if value is not None and row not in elements:
                    elements[row] = [value]
            continue
        columns.append(_Column(path, values, hint=hints.get(path)))
    for path, elements in lists.items():
        columns.append(_Column(path, [elements.get(row) for row in range(size)], is_list=True))
    return columns


def _cap_columns(tables: list[_Table]) -> None:
    total = sum(len(table.columns) for table in tables)
    if total <= MAX_COLUMNS:
        return
    ranked = sorted(
        ((len(column.values) - column.values.count(None), id(column)) for table in tables for column in table.columns),
        reverse=True,
    )
    keep = {ident for _present, ident in ranked[:MAX_COLUMNS]}
    log.info("the dataset has %d fields; the analytic table keeps the %d most filled", total, MAX_COLUMNS)
    for table in tables:
        table.columns = [column for column in table.columns if id(column) in keep]


def _name_tables(tables: list[_Table]) -> None:
    """SQL names: the path itself when DuckDB can take it as it is, else a made-up one."""
    used_tables = {RECORDS_TABLE.lower()} | {_STAGE.format(i).lower() for i in range(len(tables))}
    for number, table in enumerate(tables[1:], 1):
        if _usable_name(table.name, used_tables):
            table.sql_name = ""
            used_tables.add(table.name.lower())
        else:
            name = f"child_{number}"
            while name in used_tables:
                name += "_"
            table.sql_name = name
            used_tables.add(name)
    for table in tables:
        used = set(INTERNAL_NAMES)
        for number, column in enumerate(table.columns):
            column.sql_name = ""
            if _usable_name(column.path, used):
                used.add(column.path.lower())
            else:
                name = f"col_{number}"
                while name in used:
                    name += "_"
                column.sql_name = name
                used.add(name)


def _usable_name(name: str, used: set[str]) -> bool:
    return (
        0 < len(name) <= _MAX_SQL_NAME
        and name.isprintable()
        and name.lower() not in used
        and name.casefold() not in used
    )


# --- typing and loading ---------------------------------------------------------------------------------


@dataclass
class _Typed:
    """A column as DuckDB gets it."""

    column: _Column
    type: str
    """``ColumnInfo.type``."""
    sql_type: str
    array: Any
    item_type: str | None = None


def _create_table(connection: duckdb.DuckDBPyConnection, table: _Table, stage: str) -> None:
    """Create one table from its columns through a registered dict of numpy arrays.

    Text holding lone surrogates (``"\\ud800"`` in the JSON) cannot be UTF-8: DuckDB refuses it,
    and the table is made again with such characters replaced.
    """
    try:
        _load_table(connection, table, stage, clean=False)
    except duckdb.InvalidInputException as exc:
        if "surrogate" not in str(exc):
            raise
        _load_table(connection, table, stage, clean=True)


def _load_table(connection: duckdb.DuckDBPyConnection, table: _Table, stage: str, *, clean: bool) -> None:
    arrays: dict[str, Any] = {
        "rid": _object_array(_clean_text(i) for i in table.record_ids) if clean else _object_array(table.record_ids)
    }
    selects = [f"rid AS {quote_identifier(RECORD_ID)}"]
    table.typed = []
    for number, column in enumerate(table.columns):
        typed = _type_list(column, clean) if column.is_list else _type_scalar(column, clean)
        table.typed.append(typed)
        arrays[f"v{number}"] = typed.array
        name = column.sql_name or column.path
        selects.append(f"CAST(v{number} AS {typed.sql_type}) AS {quote_identifier(name)}")
    connection.register(stage, arrays)
    try:
        target = quote_identifier(table.sql_name or table.name)
        connection.execute(f"CREATE TABLE {target} AS SELECT {', '.join(selects)} FROM {quote_identifier(stage)}")
    finally:
        connection.unregister(stage)
    for typed in table.typed:
        typed.array = None  # the data now lives in DuckDB


def _object_array(values: Iterable[Any]) -> np.ndarray:
    items = list(values)
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _clean_text(text: str) -> str:
    """Text DuckDB can store: lone surrogates (from ``\\ud800`` escapes) replaced."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def _as_text(value: Any) -> str | None:
    """A scalar as text: booleans as ``true``/``false``, numbers as written."""
    if value is None or value.__class__ is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def _as_clean_text(value: Any) -> str | None:
    text = _as_text(value)
    return None if text is None else _clean_text(text)


def _parse_number(value: Any) -> int | float | None:
    kind = value.__class__
    if kind is int:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str and _NUMBER_TEXT.match(value):
        if _INTEGER_TEXT.match(value):
            return int(value)
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return _parse_number(int(value) if isinstance(value, int) else float(value))
    return None


@dataclass(frozen=True)
class _Kinds:
    """What kinds of value a column holds."""

    present: int
    strings: int
    numbers: int
    booleans: int
    others: int
    exact: frozenset[type]
    """The exact Python types seen (None excluded)."""


def _kind_counts(values: list[Any]) -> _Kinds:
    kinds = Counter(map(type, values))
    present = len(values) - kinds.pop(_NONE, 0)
    exact = frozenset(kinds)
    strings = kinds.pop(str, 0)
    numbers = kinds.pop(int, 0) + kinds.pop(float, 0)
    booleans = kinds.pop(bool, 0)
    others = 0
    for kind, count in kinds.items():  # subclasses, from records built by hand
        if issubclass(kind, bool):
            booleans += count
        elif issubclass(kind, (int, float)):
            numbers += count
        elif issubclass(kind, str):
            strings += count
        else:
            others += count
    return _Kinds(present, strings, numbers, booleans, others, exact)


def _type_scalar(column: _Column, clean: bool = False) -> _Typed:
    values = column.values
    kinds = _kind_counts(values)
    present, strings, numbers, booleans = kinds.present, kinds.strings, kinds.numbers, kinds.booleans
    if present and not kinds.others:
        if booleans == present:
            return _booleans(column)
        if numbers == present:
            return _numbers(column, kinds.exact)
        if strings and not booleans:
            if not numbers and _looks_like_dates(values, column.hint):
                return _dates(column)
            if _mostly_numbers(values, present):
                return _numbers(column, kinds.exact)
    if kinds.exact <= {str} and not clean:
        return _Typed(column, "text", "VARCHAR", _object_array(values))  # already text: no copy of each value
    convert = _as_clean_text if clean else _as_text
    return _Typed(column, "text", "VARCHAR", _object_array(convert(value) for value in values))


def _looks_like_dates(values: list[Any], hint: FieldProfile | None) -> bool:
    if hint is not None:
        return hint.kind == "date"
    texts = [value for value in values if value.__class__ is str]
    if not any(_DATE_START.match(text) for text in texts[:20]):
        return False
    distinct = Counter(texts)
    dates = sum(count for text, count in distinct.items() if parse_iso_date(text) is not None)
    return dates >= DATE_SHARE * len(texts)


def _mostly_numbers(values: list[Any], present: int) -> bool:
    """Whether the values are numbers, or texts of numbers, but for a few; an empty text ("", as a CSV export
    leaves a missing number) counts as missing, not as text: ages 18, 42 and "" are a number field."""
    sample = list(islice((value for value in values if value.__class__ is str and value.strip()), 20))
    if sum(1 for text in sample if _NUMBER_TEXT.match(text)) < 0.5 * len(sample):
        return False  # a quick no for the common case
    texts = [value for value in values if value.__class__ is str]
    blank = sum(1 for text in texts if not text.strip())
    numeric = present - len(texts) + sum(1 for text in texts if _NUMBER_TEXT.match(text))
    return present > blank and numeric >= NUMERIC_SHARE * (present - blank)


def _numbers(column: _Column, exact: frozenset[type]) -> _Typed:
    if exact <= {int, float}:
        parsed = column.values  # plain JSON numbers; non-finite floats load as NULL below
    else:
        parsed = [_parse_number(value) for value in column.values]
    whole = all(number.__class__ is not float for number in parsed)
    if whole:
        try:
            data = np.array([0 if number is None else number for number in parsed], dtype=np.int64)
        except OverflowError:
            whole = False
    if whole:
        mask = np.array([number is None for number in parsed], dtype=bool)
        array: Any = np.ma.masked_array(data, mask=mask) if mask.any() else data
        return _Typed(column, "number", "BIGINT", array)
    data = np.array([math.nan if number is None else _float(number) for number in parsed], dtype=np.float64)
    return _Typed(column, "number", "DOUBLE", data)  # NaN loads as NULL


def _float(number: int | float) -> float:
    try:
        return float(number)
    except OverflowError:
        return math.nan


def _booleans(column: _Column) -> _Typed:
    values = column.values
    data = np.array([bool(value) for value in values], dtype=bool)
    mask = np.array([value is None for value in values], dtype=bool)
    array: Any = np.ma.masked_array(data, mask=mask) if mask.any() else data
    return _Typed(column, "boolean", "BOOLEAN", array)


def _dates(column: _Column) -> _Typed:
    """Microseconds since 1970 for each ISO text (NaT, hence NULL, for anything else)."""
    parsed: dict[Any, int] = {None: _NAT}
    days_only = True
    for value in set(column.values):
        if value.__class__ is not str:
            parsed[value] = _NAT
            continue
        moment = parse_iso_date(value)
        if moment is None:
            parsed[value] = _NAT
            continue
        if len(value) != 10:
            days_only = False
        delta = moment - _EPOCH
        parsed[value] = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    data = np.array([parsed[value] for value in column.values], dtype=np.int64).view("datetime64[us]")
    if days_only:
        return _Typed(column, "date", "DATE", data)
    return _Typed(column, "timestamp", "TIMESTAMP", data)


def _as_boolean(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _as_float(value: Any) -> float | None:
    number = _parse_number(value)
    return None if number is None else _float(number)


def _type_list(column: _Column, clean: bool = False) -> _Typed:
    elements = [item for value in column.values if value is not None for item in value]
    kinds = _kind_counts(elements)
    present, numbers, booleans = kinds.present, kinds.numbers, kinds.booleans
    convert: Callable[[Any], Any]
    if present and booleans == present:
        item_type, sql, convert = "boolean", "BOOLEAN", _as_boolean
    elif present and numbers == present:
        parsed = [_parse_number(item) for item in elements]
        whole = all(
            number.__class__ is not float and (number is None or -_INT64 <= number <= _INT64) for number in parsed
        )
        item_type, sql = "number", "BIGINT" if whole else "DOUBLE"
        convert = _parse_number if whole else _as_float
    else:
        item_type, sql = "text", "VARCHAR"
        convert = _as_clean_text if clean else _as_text
    lists = [None if value is None else [convert(item) for item in value] for value in column.values]
    return _Typed(column, "list", f"{sql}[]", _object_array(lists), item_type=item_type)


def _lock_down(connection: duckdb.DuckDBPyConnection) -> None:
    """No files, network or extensions from now on, and no way to change that."""
    for statement in (
        "SET enable_external_access = false",
        "SET autoload_known_extensions = false",
        "SET autoinstall_known_extensions = false",
        "SET lock_configuration = true",
    ):
        try:
            connection.execute(statement)
        except duckdb.CatalogException:  # an option this DuckDB does not have
            log.debug("DuckDB has no setting for %r", statement)


# --- describing the columns -----------------------------------------------------------------------------


def _describe(
    connection: duckdb.DuckDBPyConnection, tables: list[_Table], record_count: int
) -> tuple[dict[str, ColumnInfo], dict[str, ChildTable], dict[str, tuple[int, float | None]]]:
    """``ColumnInfo`` of every column, ``ChildTable`` of every child, and (distinct, mean length) per column."""
    columns: dict[str, ColumnInfo] = {}
    children: dict[str, ChildTable] = {}
    stats: dict[str, tuple[int, float | None]] = {}
    for table in tables:
        target = quote_identifier(table.sql_name or table.name)
        row_count = connection.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        if table.name != RECORDS_TABLE:
            children[table.name] = ChildTable(name=table.name, rows=int(row_count), sql_name=table.sql_name)
        for typed in table.typed:
            info, distinct, mean_length = _column_info(connection, target, table.name, typed)
            columns[info.path] = info
            stats[info.path] = (distinct, mean_length)
    return columns, children, stats


def _column_info(
    connection: duckdb.DuckDBPyConnection, target: str, table: str, typed: _Typed
) -> tuple[ColumnInfo, int, float | None]:
    """The column's ``ColumnInfo``, its distinct values and the mean length of its text values."""
    column = typed.column
    sql_name = column.sql_name
    name = quote_identifier(sql_name or column.path)
    source = (
        f"(SELECT unnest({name}) AS x FROM {target})" if typed.type == "list" else f"(SELECT {name} AS x FROM {target})"
    )
    value_type = typed.item_type if typed.type == "list" else typed.type
    length = "avg(length(x))" if value_type == "text" else "NULL"
    ordered = value_type in ("number", "date", "timestamp", "text")
    present, distinct, low, high, mean_length = connection.execute(
        f"SELECT count(x), count(DISTINCT x), {'min(x)' if ordered else 'NULL'}, "
        f"{'max(x)' if ordered else 'NULL'}, {length} FROM {source}"
    ).fetchone()
    if typed.type == "list":
        present_rows = connection.execute(f"SELECT count({name}) FROM {target}").fetchone()[0]
    else:
        present_rows = present
    hint_kind = column.hint.kind if column.hint is not None else None
    categorical = value_type == "boolean" or (
        value_type == "text"
        and present > 0
        and (
            (distinct <= CATEGORICAL_MAX_DISTINCT and distinct <= max(1, present // 2))
            or (hint_kind in ("category", "boolean") and distinct <= CATEGORICAL_MAX_DISTINCT)
        )
    )
    keep = CATEGORICAL_MAX_DISTINCT if categorical else TOP_VALUES
    top = connection.execute(
        f"SELECT x, count(*) AS n FROM {source} WHERE x IS NOT NULL GROUP BY x ORDER BY n DESC, x LIMIT {int(keep)}"
    ).fetchall()
    info = ColumnInfo(
        path=column.path,
        table=table,
        type=typed.type,
        categorical=categorical,
        values=tuple(json_safe(value) for value, _count in top),
        present=int(present_rows),
        distinct=int(distinct),
        minimum=json_safe(low),
        maximum=json_safe(high),
        item_type=typed.item_type,
        sql_name=sql_name,
    )
    return info, int(distinct), mean_length


def _label_field(
    columns: dict[str, ColumnInfo], stats: dict[str, tuple[int, float | None]], record_count: int
) -> str | None:
    """The text field that names a record best: mostly unique, short, preferably called like a name."""
    best: tuple[float, str] | None = None
    for info in columns.values():
        if info.table != RECORDS_TABLE or info.type != "text" or info.present < 0.5 * record_count:
            continue
        distinct, mean_length = stats[info.path]
        mean_length = mean_length or 0
        uniqueness = distinct / info.present if info.present else 0
        if not 1 <= mean_length <= 80 or uniqueness < 0.5:
            continue
        last = info.path.rsplit(".", 1)[-1].lower()
        words = (
            re.sub(r"[^a-z]+", " ", re.sub(r"([a-z])([A-Z])", r"\1 \2", info.path.rsplit(".", 1)[-1])).lower().split()
        )
        score = uniqueness
        if any(word in LABEL_WORDS for word in words) or any(last.endswith(word) for word in LABEL_WORDS):
            score += 0.6
        elif _ID_WORDS.search(last):
            score -= 0.3
        if "." not in info.path:
            score += 0.1
        if best is None or score > best[0]:
            best = (score, info.path)
    return best[1] if best else None
