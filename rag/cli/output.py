"""What the terminal tool writes besides the answer: exit codes, the metrics summary, errors, ``--debug`` events."""

from __future__ import annotations

import json
from typing import Any, Callable, TextIO

EXIT_OK = 0
"""The answer is done (or was stopped)."""
EXIT_FAILED = 1
"""The model or server failed; what arrived is kept."""
EXIT_USAGE = 2
"""Bad usage or settings (an unreadable dataset file included)."""
EXIT_INTERRUPTED = 130
"""Ctrl+C."""


def format_metrics(
    tokens: int | None,
    time_to_first_token: float | None,
    duration: float | None,
    tokens_per_second: float | None,
    *,
    figures_from: str | None = None,
    partial: bool = False,
) -> str:
    """One line: "12 tokens · time to first token 0.41 s · duration 1.20 s · 10.0 tokens/s (server)";
    unknown figures read "n/a"; ``figures_from`` (server / measured) in brackets when given."""
    ttft_text = f"{time_to_first_token:.2f} s" if _is_number(time_to_first_token) else "n/a"
    duration_text = f"duration {duration:.2f} s" if _is_number(duration) else "duration n/a"
    rate_text = f"{tokens_per_second:.1f}" if _is_number(tokens_per_second) else "n/a"
    line = " · ".join([
        f"{tokens if tokens is not None else 'n/a'} tokens",
        f"time to first token {ttft_text}",
        duration_text,
        f"{rate_text} tokens/s",
    ])
    head = "partial: " if partial else ""
    tail = f" ({figures_from})" if figures_from else ""
    return head + line + tail


def _is_number(value: Any) -> bool:
    """True for an int or a float (a figure that can be written)."""
    return isinstance(value, (int, float))


def write_error(stream: TextIO, message: str) -> None:
    """``error: <message>`` on a line of its own."""
    stream.write(f"error: {message}\n")


def debug_printer(stream: TextIO) -> Callable[[str, Any], None]:
    """A debug hook that prints the request and each raw event to ``stream``."""

    def hook(kind: str, payload: Any) -> None:
        if kind == "request":
            stream.write("> request " + json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        else:
            text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
            stream.write(f"< {kind} {text}\n")
        stream.flush()

    return hook
