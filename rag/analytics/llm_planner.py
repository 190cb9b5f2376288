"""The LLM planner: the model fills a ``QuerySpec`` through structured output.

The request carries a JSON Schema of the spec whose enums are the dataset's real field paths and
the spec's operations, so a server that honours it (Ollama ``format``, OpenAI-compatible
``response_format``, llama.cpp grammars) cannot name a field that does not exist. The reply is
then parsed and validated like any plan; a reply that fails gets one repair round with the error
named, then the planner gives up and says why. The model never writes SQL.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Callable

from rag.analytics.errors import SpecError
from rag.analytics.plan import Plan, PlanOutcome
from rag.analytics.spec import (
    AGGREGATIONS,
    DATE_PARTS,
    FILTER_OPS,
    MAX_LIMIT,
    ORDERS,
    RECORDS_TABLE,
    ColumnInfo,
    QuerySpec,
    TableSchema,
)
from rag.errors import LLMError
from rag.llm.base import LLMClient
from rag.llm.cancel import CancelToken

NOT_ANALYTIC = "none"
"""The ``aggregation`` a model gives for a question that is not a computation over the records."""
SCHEMA_NAME = "query_spec"
MAX_FILTERS = 4
"""Most filters the schema lets a model write (questions rarely need more; small models loop)."""
MAX_FIELDS = 6
"""Most fields a ``records`` plan may ask to show."""
MAX_VALUE_LENGTH = 80
"""Longest text value the schema allows (keeps a small model from rambling inside a string)."""
MAX_PLAN_TOKENS = 300
SHOWN_VALUES = 8
"""Values listed per categorical column in the prompt."""
SHOWN_EXAMPLES = 3
"""Common values listed per non-categorical text column."""
_SHOWN_WIDTH = 40

Validator = Callable[[QuerySpec, TableSchema], QuerySpec]

_NULL: dict[str, Any] = {"type": "null"}


def spec_json_schema(schema: TableSchema) -> dict[str, Any]:
    """A JSON Schema of a ``QuerySpec`` over this dataset: field enums of its real paths.

    Flat on purpose (no ``$ref``, nullable values as ``anyOf`` with null) so that llama.cpp's grammar
    converter and OpenAI's strict mode both take it. ``aggregation: "none"`` marks a question that is
    not analytic.
    """
    paths = list(schema.columns)
    measured = paths + [name for name in schema.children if name not in schema.columns]
    field_name = {"type": "string", "enum": paths}
    value = {
        "anyOf": [
            {"type": "string", "maxLength": MAX_VALUE_LENGTH},
            {"type": "number"},
            {"type": "boolean"},
            _NULL,
            {
                "type": "array",
                "items": {"anyOf": [{"type": "string", "maxLength": MAX_VALUE_LENGTH}, {"type": "number"}]},
                "maxItems": 20,
            },
        ]
    }
    a_filter = _object({"field": field_name, "op": {"type": "string", "enum": list(FILTER_OPS)}, "value": value})
    group = _object({"field": field_name, "date_part": _nullable({"type": "string", "enum": list(DATE_PARTS)})})
    return _object(
        {
            "aggregation": {"type": "string", "enum": [*AGGREGATIONS, NOT_ANALYTIC]},
            "field": _nullable({"type": "string", "enum": measured}),
            "filters": {"type": "array", "items": a_filter, "maxItems": MAX_FILTERS},
            "group_by": _nullable(group),
            "order": _nullable({"type": "string", "enum": list(ORDERS)}),
            "limit": _nullable({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
            "fields": {"type": "array", "items": field_name, "maxItems": MAX_FIELDS},
        }
    )


def plan_with_llm(
    question: str,
    schema: TableSchema,
    client: LLMClient,
    *,
    validate: Validator,
    cancel: CancelToken | None = None,
) -> PlanOutcome:
    """Ask ``client`` to fill a spec for ``question``; never raises for a model's failure.

    ``planned`` with the validated spec, ``not_analytic`` when the model says the question is no
    computation, ``unfilled`` with a reason for the user when the model cannot be asked or its plan
    still fails after one repair round.
    """
    if not schema.columns:
        return PlanOutcome.unfilled("the dataset has no fields to compute over")
    json_schema = spec_json_schema(schema)
    messages = [
        {"role": "system", "content": planner_prompt(schema)},
        {"role": "user", "content": question.strip()},
    ]
    model = client.model or client.backend
    error: SpecError | None = None
    for attempt in range(2):
        try:
            reply = client.complete_json(
                messages, json_schema, name=SCHEMA_NAME, max_tokens=MAX_PLAN_TOKENS, cancel=cancel
            )
        except LLMError as exc:
            return PlanOutcome.unfilled(f"the model {model} could not be asked for a plan: {exc.message}")
        try:
            spec = parse_plan(reply)
            if spec is None:
                return PlanOutcome.not_analytic()
            spec = validate(spec, schema)
        except SpecError as exc:
            error = exc
            if attempt == 0:
                messages = [*messages, {"role": "assistant", "content": reply}, _repair_request(exc)]
            continue
        return PlanOutcome.planned(Plan(spec=spec, planner="llm", assumptions=(f"planned by the model {model}",)))
    reason = error.message if error is not None else "no usable plan"
    return PlanOutcome.unfilled(f"the model {model} could not make a valid plan: {reason}")


def parse_plan(text: str) -> QuerySpec | None:
    """The spec in a model's JSON reply; None when it marks the question as not analytic.

    Raises ``SpecError`` for a reply that is not a JSON object of the spec's shape.
    """
    data = _json_object(text)
    if data.get("aggregation") == NOT_ANALYTIC or data.get("analytic") is False:
        return None
    return QuerySpec.from_dict(data)


def planner_prompt(schema: TableSchema) -> str:
    """The system prompt: the table, its columns, and what each part of a plan means."""
    name = f' "{schema.dataset_name}"' if schema.dataset_name else ""
    lines = [
        "You turn a question about a table into a JSON query plan. You do not answer the question.",
        f"The table{name} has {schema.record_count} records. Its columns:",
    ]
    lines += [f"- {describe_column(column, schema)}" for column in schema.columns.values()]
    label = f" (records are named by {schema.label_field})" if schema.label_field else ""
    lines += [
        "The plan:",
        "- aggregation: count, count_distinct, sum, mean, median, min, max, argmax/argmin (the records with "
        "the highest/lowest field), or records (the records matching the filters themselves: a field of a named "
        f'record, or the records meeting conditions{label}); "{NOT_ANALYTIC}" when the question is not a '
        "computation over the records and asks for no field of them (a description, a comparison, an open "
        "question).",
        "- field: the column measured; null for count (counts records"
        + (", or a child table's name to count its rows" if schema.children else "")
        + "); for records, the column to sort them by, or null.",
        "- fields: for records only, the columns asked of them (e.g. the weight of a named car); else [].",
        "- filters: conditions that must all hold, each {field, op, value}. Ops: = != < <= > >=, in (a list), "
        "contains, starts_with and ends_with (text, ignoring case), between ([low, high]), is_missing and "
        "not_missing (value null). "
        "Use the values exactly as listed above.",
        '- group_by: {field, date_part} for "per X" or "by X"; date_part is year, month, day, weekday or quarter '
        "of a date column, else null.",
        "- order: desc or asc, for top-N and highest/lowest; limit: N of a top N, else null.",
    ]
    lines += [example for example in (_example(schema), _records_example(schema)) if example]
    lines.append("Answer with the JSON plan only.")
    return "\n".join(lines)


def describe_column(column: ColumnInfo, schema: TableSchema) -> str:
    """One line: path, type, where it lives, and its values or range."""
    parts = [f"{column.path}: {column.type}"]
    if column.table != RECORDS_TABLE:
        child = schema.children.get(column.table)
        rows = f", {child.rows} rows" if child else ""
        parts.append(f"in the child table {column.table} (one row per element{rows})")
    if column.categorical and column.values:
        shown = ", ".join(_shown(v) for v in column.values[:SHOWN_VALUES])
        more = len(column.values) - SHOWN_VALUES
        parts.append(f"values: {shown}" + (f" (and {more} more)" if more > 0 else ""))
    elif column.type in ("number", "date", "timestamp") and column.minimum is not None:
        parts.append(f"from {_shown(column.minimum)} to {_shown(column.maximum)}")
    elif column.type in ("text", "list") and column.values:
        parts.append("e.g. " + ", ".join(_shown(v) for v in column.values[:SHOWN_EXAMPLES]))
    return "; ".join(parts)


def _example(schema: TableSchema) -> str:
    """A worked example over the dataset's own columns, when it has a categorical one."""
    category = next((c for c in schema.columns.values() if c.categorical and c.values and c.type == "text"), None)
    if category is None:
        return ""
    value = category.values[0]
    plan = {
        "aggregation": "count",
        "field": None,
        "filters": [{"field": category.path, "op": "=", "value": value}],
        "group_by": None,
        "order": None,
        "limit": None,
        "fields": [],
    }
    return f'Example: "How many records have {category.path} {_shown(value)}?" -> {json.dumps(plan)}'


def _records_example(schema: TableSchema) -> str:
    """A worked lookup over the dataset's own label and another of its record fields, when it has a label."""
    label = schema.columns.get(schema.label_field or "")
    asked = next((c for c in schema.columns.values() if c.table == RECORDS_TABLE and c is not label), None)
    name = next((v for v in (label.values if label else ()) if isinstance(v, str)), None)
    if label is None or asked is None or name is None:
        return ""
    plan = {
        "aggregation": "records",
        "field": None,
        "filters": [{"field": label.path, "op": "=", "value": name}],
        "group_by": None,
        "order": None,
        "limit": None,
        "fields": [asked.path],
    }
    return f'Example: "What is the {asked.path} of {_shown(name)}?" -> {json.dumps(plan)}'


def _repair_request(error: SpecError) -> dict[str, str]:
    return {
        "role": "user",
        "content": f"That plan cannot be used: {error.message}. Answer with a corrected JSON plan.",
    }


def _json_object(text: str) -> dict[str, Any]:
    """The JSON object in ``text``, also when a server that ignored the schema wrapped it in prose."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        start, end = text.find("{"), text.rfind("}")
        try:
            data = json.loads(text[start : end + 1]) if 0 <= start < end else None
        except ValueError:
            data = None
        if data is None:
            raise SpecError(f"the reply is not valid JSON ({exc.msg} at character {exc.pos})") from exc
    if not isinstance(data, dict):
        raise SpecError("the reply is not a JSON object")
    return data


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, _NULL]}


def _shown(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    text = str(value)
    return text if len(text) <= _SHOWN_WIDTH else text[: _SHOWN_WIDTH - 1] + "…"
