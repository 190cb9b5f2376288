"""A prompt streamed straight to a model (a server or the embedded one): the text to stdout as it arrives,
the summary line to stderr."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any, TextIO

from rag.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, format_metrics, write_error
from rag.errors import ConfigError, LLMError
from rag.llm import CancelToken, LLMClient


@dataclass
class StreamReport:
    """What the summary line says; filled as the stream goes."""

    chunks: int = 0
    characters: int = 0
    completion_tokens: int | None = None
    time_to_first_token: float | None = None
    duration: float = 0.0
    tokens_per_second: float | None = None
    figures_from: str = "measured"
    finish_reason: str | None = None

    def summary(self, *, partial: bool = False) -> str:
        """One line: tokens, time to first token, duration, tokens/s (counted when the server gave none)."""
        tokens = self.completion_tokens if self.completion_tokens is not None else self.chunks
        rate = self.tokens_per_second
        if rate is None and self.duration > 0 and tokens:
            rate = tokens / self.duration
        return format_metrics(
            tokens, self.time_to_first_token, self.duration, rate, figures_from=self.figures_from, partial=partial
        )


def build_messages(prompt: str, system: str | None) -> list[dict[str, str]]:
    """The chat messages: the system prompt when there is one, then the user's prompt."""
    system_turn = [{"role": "system", "content": system}] if system else []
    return system_turn + [{"role": "user", "content": prompt}]


def stream_answer(
    client: Any,
    messages: list[dict[str, str]],
    out: TextIO,
    report: StreamReport,
    cancel: Any = None,
) -> None:
    """Write each text piece to ``out`` as it arrives and fill ``report``."""
    started = time.perf_counter()
    try:
        for chunk in client.generate_stream(messages, cancel=cancel):
            if chunk.text:
                if report.time_to_first_token is None:
                    report.time_to_first_token = time.perf_counter() - started
                report.chunks += 1
                report.characters += len(chunk.text)
                out.write(chunk.text)
                out.flush()
            metrics = chunk.metrics
            if metrics is not None:
                report.completion_tokens = metrics.completion_tokens
                report.tokens_per_second = metrics.tokens_per_second
                report.figures_from = metrics.source
                report.finish_reason = metrics.finish_reason
                if metrics.time_to_first_token is not None:
                    report.time_to_first_token = metrics.time_to_first_token
    finally:
        report.duration = time.perf_counter() - started


def answer_prompt(
    client: LLMClient, prompt: str, system: str | None, stdout: TextIO, stderr: TextIO, *, debug: bool = False
) -> int:
    """Stream the model's answer to ``prompt``, then the error (if any) and the summary; returns the exit code."""
    report = StreamReport()
    cancel = CancelToken()
    code = EXIT_OK
    error: str | None = None
    try:
        stream_answer(client, build_messages(prompt, system), stdout, report, cancel)
    except KeyboardInterrupt:
        cancel.cancel()
        error, code = "interrupted", EXIT_INTERRUPTED
    except LLMError as exc:
        error, code = str(exc), EXIT_FAILED
    except ConfigError as exc:
        error, code = str(exc), EXIT_USAGE
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say to it
        cancel.cancel()
        return EXIT_FAILED
    except Exception as exc:  # a bug, not the user's doing: still one line, the traceback with --debug
        if debug:
            traceback.print_exc(file=stderr)
        error, code = f"unexpected failure: {exc!r} (run with --debug for the traceback)", EXIT_FAILED
    if report.characters:
        stdout.write("\n")
        stdout.flush()
    if error:
        write_error(stderr, error)
    stderr.write(report.summary(partial=code != EXIT_OK) + "\n")
    stderr.flush()
    return code
