"""``python -m rag.cli --data FILE "question"``: answer over a dataset in the terminal.

The engine answers in its background thread exactly as for the page. ``print_answer`` iterates the answer's
typed events (``RAGEngine.chat_events``, as they happen) and prints, in order: the part computed over all
records (sentence, table, SQL), the sources, the answer text as it streams; then come the notes, the error and
the summary line on stderr.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Mapping, TextIO

from rag.analytics.answer import computed_table
from rag.answer_events import DONE, STOPPED, AnswerEvent, AnswerState, Computed, Sources, TextDelta
from rag.answer_meta import AnswerMeta, ComputedResult
from rag.cli.output import (
    EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, debug_printer, format_metrics, write_error,
)
from rag.errors import ConfigError, DataLoadError
from rag.settings import Settings

TABLE_ROWS = 20


def format_computed(computed: dict[str, Any]) -> str:
    """The computed part as terminal text: sentence, assumptions, a small table, the SQL."""
    result = ComputedResult.from_dict(computed)
    lines = [f"Computed over all {result.rows_considered} records ({result.planner} planner):",
             f"  {result.summary}"]
    for assumption in result.assumptions or []:
        lines.append(f"  assumption: {assumption}")
    columns, rows = computed_table(computed)
    if columns and len(rows) > 1:
        table = [columns] + rows[:TABLE_ROWS]
        widths = [max(len(str(r[i])) for r in table) for i in range(len(columns))]
        for row in table:
            lines.append("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
        if len(rows) > TABLE_ROWS:
            row_count = result.row_count if result.row_count is not None else len(rows)
            lines.append(f"  … {row_count - TABLE_ROWS} more rows")
    lines.append(f"  SQL: {result.sql}")
    return "\n".join(lines)


def format_sources(sources: list[dict[str, Any]]) -> str:
    """One line per source: label and record id."""
    return "Sources: " + ", ".join(f"[{s.get('label')}] {s.get('record_id')}" for s in sources)


def metrics_summary(metrics: Mapping[str, Any], *, elapsed: float | None = None) -> str:
    """The summary line of an answer's metrics (``GenerationMetrics.to_dict()``). An answer the engine gave
    without asking the model (a computed sentence, a refusal, no record matched) says so, with ``elapsed``, the
    seconds the answer took, rather than a line of unknown figures."""
    if metrics.get("completion_tokens") is None and metrics.get("time_to_first_token") is None \
            and elapsed is not None:
        return f"no model asked: answered by the engine · duration {elapsed:.2f} s"
    return format_metrics(
        metrics.get("completion_tokens"),
        metrics.get("time_to_first_token"),
        metrics.get("total_duration"),
        metrics.get("tokens_per_second"),
    )


def print_answer(events: Iterable[AnswerEvent], stdout: TextIO) -> AnswerState:
    """Print the computed part and the sources (each once, when there are some) and the text as the events
    come; returns what the events add up to."""
    state = AnswerState()
    computed_shown = sources_shown = False
    for event in events:
        state.apply(event)
        if isinstance(event, Computed) and not computed_shown:
            stdout.write(format_computed(event.result) + "\n\n")
            computed_shown = True
        elif isinstance(event, Sources) and event.items and not sources_shown:
            stdout.write(format_sources(event.items) + "\n\n")
            sources_shown = True
        elif isinstance(event, TextDelta):
            stdout.write(event.text)
        else:
            continue
        stdout.flush()
    return state


def report_end(state: AnswerState, stdout: TextIO, stderr: TextIO, *, elapsed: float | None = None) -> int:
    """End the text's line, then the notes, the error and the summary on stderr; returns the exit code.
    ``elapsed`` (the seconds the answer took) is written for an answer no model was asked for."""
    if state.text:
        stdout.write("\n")
    for note in AnswerMeta.from_dict(state.meta).notes or []:
        stderr.write(f"note: {note}\n")
    if state.error:
        write_error(stderr, state.error)
    finished = state.status == DONE and not state.error  # (stopped before its first token: a model was asked)
    stderr.write(metrics_summary(state.metrics, elapsed=elapsed if finished else None) + "\n")
    stderr.flush()
    return EXIT_OK if state.status in (DONE, STOPPED) and not state.error else EXIT_FAILED


def answer_over_dataset(
    settings: Settings, path: str, question: str, stdout: TextIO, stderr: TextIO, *, debug: bool = False
) -> int:
    """Load ``path``, answer ``question`` over it, print as it comes; returns the exit code."""
    from rag.engine import RAGEngine
    from rag.llm import create_client

    hook = debug_printer(stderr) if debug else None
    engine = RAGEngine(settings, client_factory=lambda llm: create_client(llm, debug_hook=hook))
    try:
        info = engine.load_json(path)
    except (DataLoadError, ConfigError) as exc:
        write_error(stderr, str(exc))
        return EXIT_USAGE
    stderr.write(f"{info.name}: {info.record_count} records loaded\n")
    started = time.perf_counter()
    events = engine.chat_events(question)
    try:
        state = print_answer(events, stdout)
    except KeyboardInterrupt:
        events.close()  # Stop, unless the answer's events already ended with the interruption
        stderr.write("\n")
        write_error(stderr, "interrupted")
        return EXIT_INTERRUPTED
    return report_end(state, stdout, stderr, elapsed=time.perf_counter() - started)
