"""The "Computed over all N records" block of an answer: the value, the assumptions, a table, the buttons that show
the answer in the data view, a chart, the SQL.

``render_computed(computed)`` takes the dict the engine puts in the stream buffer (see
``rag.analytics.answer.computed_answer``) and returns the components shown above the model's text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
from dash import dcc, html
from markupsafe import Markup

from dashboard.i18n import _, current_language, format_number, ngettext
from dashboard.spec_filter import OPEN_CHART, SHOW_RECORDS, is_group_result, shown_count
from dashboard.static_html import join, static_block
from rag.analytics.answer import computed_table, format_key, format_value
from rag.i18n import speaking

TABLE_ROWS = 50
CHART_HEIGHT = 220


def render_computed(computed: Mapping[str, Any] | None, *, dataset: str | None = None) -> html.Div:
    """The computed part of an answer (an empty, hidden block when there is none): the text and table as one
    static block with the buttons that show the answer in the data view (``answer_actions``; ``dataset``: the
    content hash of the dataset it was computed over), the chart, then the SQL behind a toggle. Its value and
    table are written the page's way ("2 221,23" in French); its sentence is in the question's language; a
    question read from another language says how it was read."""
    if not computed:
        return html.Div(className="computed-block", hidden=True)
    with speaking(current_language()):
        return _computed_block(computed, dataset)


def _computed_block(computed: Mapping[str, Any], dataset: str | None) -> html.Div:
    value = computed.get("value")
    main = [
        Markup(
            '<div class="computed-head"><span class="computed-title">{}</span>'
            '<span class="computed-planner">{}</span></div>'
        ).format(computed_title(computed.get("rows_considered")),
                 _("{planner} planner").format(planner=computed.get("planner", "")))
    ]
    if value is not None:
        main.append(Markup('<div class="computed-value">{}</div>').format(format_value(value)))
    main.append(Markup('<div class="computed-summary">{}</div>').format(str(computed.get("summary", ""))))
    assumptions = [str(a) for a in computed.get("assumptions") or []]
    if computed.get("read_as"):  # a French question in the planner's words
        assumptions.insert(0, _("read as: “{question}”").format(question=computed["read_as"]))
    if assumptions:
        items = join([Markup("<li>{}</li>").format(a) for a in assumptions])
        main.append(Markup('<ul class="computed-assumptions">{}</ul>').format(items))
    columns, rows = computed_table(computed)
    if columns and len(rows) > 1:
        main.append(result_table(columns, rows[:TABLE_ROWS]))
    main.append(answer_actions(computed, dataset))
    children: list[Any] = [static_block(join(main), "computed-main")]
    chart = result_chart(computed)
    if chart is not None:
        children.append(chart)
    sql = Markup(
        '<details class="computed-sql-toggle"><summary>{}</summary><pre class="computed-sql">{}</pre></details>'
    ).format(_("Show SQL"), str(computed.get("sql", "")))
    children.append(static_block(sql, "computed-sql-block"))
    return html.Div(children, className="computed-block", hidden=False)  # hidden set: a poll redraws it in place


def computed_title(rows: Any) -> str:
    """ "Computed over all 1,234 records", the count written the current language's way."""
    if isinstance(rows, int) and not isinstance(rows, bool):
        return ngettext("Computed over {count} record", "Computed over all {count} records", rows).format(
            count=format_number(rows))
    return _("Computed over all {count} records").format(count=format_value(rows))


def answer_actions(computed: Mapping[str, Any], dataset: str | None = None) -> Markup:
    """ "Show these N records" (an answer that selects records) and "Open as chart" (a group result): buttons that
    carry the answer's spec (``data-spec``, JSON) and dataset; a click hands them to the app
    (``assets/sources.js``), which validates the spec again (``dashboard.spec_filter``). Empty when neither fits."""
    spec = computed.get("spec")
    if not isinstance(spec, Mapping):
        return Markup("")
    data = json.dumps(spec, ensure_ascii=False, separators=(",", ":"), default=str)
    buttons = []
    count = shown_count(computed)
    if count:
        label = ngettext("Show this record", "Show these {count} records", count).format(count=format_number(count))
        buttons.append(Markup(
            '<button type="button" class="link-button computed-show" data-action="{}" data-spec="{}" '
            'data-dataset="{}" title="{}">{}</button>'
        ).format(SHOW_RECORDS, data, dataset or "", _("Filter the records grid and the charts to them"), label))
    if is_group_result(computed):
        buttons.append(Markup(
            '<button type="button" class="link-button computed-open-chart" data-action="{}" data-spec="{}" '
            'data-dataset="{}" title="{}">{}</button>'
        ).format(OPEN_CHART, data, dataset or "", _("A bar chart of the groups in the Charts tab"), _("Open as chart")))
    if not buttons:
        return Markup("")
    return Markup('<div class="computed-actions">{}</div>').format(join(buttons))


def result_table(columns: list[str], rows: list[list[str]]) -> Markup:
    """A small plain table of the result (HTML)."""
    head = join([Markup("<th>{}</th>").format(c) for c in columns])
    body = join([Markup("<tr>{}</tr>").format(join([Markup("<td>{}</td>").format(cell) for cell in row])) for row in rows])
    return Markup('<table class="computed-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>').format(head, body)


def result_chart(computed: Mapping[str, Any]) -> dcc.Graph | None:
    """A bar chart for a group-by, a line for a date part; None when a chart would not help."""
    kind = computed.get("chart")
    rows = computed.get("rows") or []
    columns = list(computed.get("columns") or [])
    if kind not in ("bar", "line") or len(rows) < 2 or len(columns) < 2:
        return None
    labels = [format_key(row[0]) for row in rows]
    values = [row[-1] if isinstance(row[-1], (int, float)) else None for row in rows]
    trace = go.Bar(x=labels, y=values) if kind == "bar" else go.Scatter(x=labels, y=values, mode="lines+markers")
    figure = go.Figure(trace)
    figure.update_layout(
        height=CHART_HEIGHT,
        margin={"l": 40, "r": 10, "t": 10, "b": 40},
        xaxis_title=str(columns[0]),
        yaxis_title=str(columns[-1]),
        template="plotly_white",
    )
    figure.update_xaxes(type="category")
    return dcc.Graph(figure=figure, config={"displayModeBar": False}, className="computed-chart")
