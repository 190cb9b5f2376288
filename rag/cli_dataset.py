"""``python -m rag.cli --data FILE "question"``: answer over a dataset in the terminal.

The engine answers in its background thread exactly as for the page; this module reads its
stream buffer and prints, in order: the part computed over all records (sentence, table, SQL),
the sources, the answer text as it streams, then the summary line on stderr.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, TextIO

from rag.analytics.answer import computed_table
from rag.errors import ConfigError, DataLoadError
from rag.settings import Settings
from rag.stream_buffer import DONE, STOPPED, StreamSnapshot

POLL_SECONDS = 0.02
TABLE_ROWS = 20
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def format_computed(computed: dict[str, Any]) -> str:
    """The computed part as terminal text: sentence, assumptions, a small table, the SQL."""
    lines = [f"Computed over all {computed.get('rows_considered')} records ({computed.get('planner')} planner):",
             f"  {computed.get('summary', '')}"]
    for assumption in computed.get("assumptions") or []:
        lines.append(f"  assumption: {assumption}")
    columns, rows = computed_table(computed)
    if columns and len(rows) > 1:
        table = [columns] + rows[:TABLE_ROWS]
        widths = [max(len(str(r[i])) for r in table) for i in range(len(columns))]
        for row in table:
            lines.append("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
        if len(rows) > TABLE_ROWS:
            lines.append(f"  … {computed.get('row_count', len(rows)) - TABLE_ROWS} more rows")
    lines.append(f"  SQL: {computed.get('sql', '')}")
    return "\n".join(lines)


def format_sources(sources: list[dict[str, Any]]) -> str:
    """One line per source: label and record id."""
    return "Sources: " + ", ".join(f"[{s.get('label')}] {s.get('record_id')}" for s in sources)


def debug_printer(stream: TextIO) -> Any:
    """The CLI's ``--debug`` hook (imported late: the CLI module imports this one)."""
    from rag.cli import debug_printer as printer

    return printer(stream)


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
        stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    stderr.write(f"{info.name}: {info.record_count} records loaded\n")
    session_id = uuid.uuid4().hex
    engine.chat_stream(question, session_id)
    offset = 0
    computed_shown = sources_shown = False
    snapshot: StreamSnapshot | None = None
    try:
        while True:
            snapshot = engine.read(session_id, offset)
            if snapshot is None:
                stderr.write("error: the answer expired before it was read\n")
                return EXIT_FAILED
            if snapshot.computed and not computed_shown:
                stdout.write(format_computed(snapshot.computed) + "\n\n")
                computed_shown = True
            if snapshot.sources and not sources_shown:
                stdout.write(format_sources(snapshot.sources) + "\n\n")
                sources_shown = True
            if snapshot.text:
                stdout.write(snapshot.text)
            stdout.flush()
            offset = snapshot.offset
            if snapshot.is_complete:
                break
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        engine.cancel(session_id)
        stderr.write("\nerror: interrupted\n")
        return EXIT_INTERRUPTED
    if offset:
        stdout.write("\n")
    for note in snapshot.meta.get("notes") or []:
        stderr.write(f"note: {note}\n")
    if snapshot.error:
        stderr.write(f"error: {snapshot.error}\n")
    stderr.write(metrics_summary(snapshot.metrics) + "\n")
    stderr.flush()
    return EXIT_OK if snapshot.status in (DONE, STOPPED) and not snapshot.error else EXIT_FAILED


def metrics_summary(metrics: dict[str, Any]) -> str:
    """Tokens, time to first token, duration and tokens/s of an answer."""
    tokens = metrics.get("completion_tokens")
    ttft = metrics.get("time_to_first_token")
    total = metrics.get("total_duration")
    rate = metrics.get("tokens_per_second")
    parts = [
        f"{tokens if tokens is not None else 'n/a'} tokens",
        f"time to first token {ttft:.2f} s" if isinstance(ttft, (int, float)) else "time to first token n/a",
        f"duration {total:.2f} s" if isinstance(total, (int, float)) else "duration n/a",
        f"{rate:.1f} tokens/s" if isinstance(rate, (int, float)) else "n/a tokens/s",
    ]
    return " · ".join(parts)
