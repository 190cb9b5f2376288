"""``python -m rag.cli``: stream a model's answer to the terminal and report how fast it came.

The answer goes to stdout as it arrives; the summary, errors and ``--debug`` events go to
stderr, so ``python -m rag.cli "…" > answer.txt`` keeps only the answer.

Exit codes: 0 done, 1 the model or server failed, 2 bad usage or settings, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from rag.errors import ConfigError, LLMError
from rag.settings import BACKENDS, Settings, load_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m rag.cli",
        description="Stream an answer from Ollama, an OpenAI-compatible server or the embedded model.",
    )
    parser.add_argument("prompt", nargs="?", help="the prompt (read from stdin when omitted and stdin is not a terminal)")
    parser.add_argument("--config", metavar="PATH", help="JSON settings file (see config/config.example.json)")
    parser.add_argument("--backend", choices=BACKENDS, help="which kind of model to use")
    parser.add_argument("--base-url", metavar="URL", help="server URL (Ollama: http://127.0.0.1:11434; OpenAI-compatible: …/v1)")
    parser.add_argument("--model", metavar="NAME", help="model name on the server")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="longest answer, in tokens")
    parser.add_argument("--temperature", type=float, metavar="T", help="sampling temperature (0 to 2)")
    parser.add_argument("--timeout", type=float, metavar="S", help="longest wait in seconds for the next piece of the stream")
    parser.add_argument("--system", metavar="TEXT", help="a system prompt")
    parser.add_argument("--debug", action="store_true", help="show the request and every raw stream event on stderr")
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="answer over this JSON / JSON Lines dataset: the result computed over all records, the sources, then the answer",
    )
    parser.add_argument(
        "--planner",
        choices=("auto", "rules", "llm", "off"),
        help="with --data: how analytic questions are read (setting analytics.planner)",
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Defaults < config file < flags."""
    overrides = {
        "llm": {
            "backend": args.backend,
            "base_url": args.base_url,
            "model": args.model,
            "max_tokens": args.max_tokens,
            "temperature": args.temperature,
            "read_timeout": args.timeout,
        },
        "analytics": {"planner": getattr(args, "planner", None)},
    }
    return load_settings(args.config, overrides)


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
        """One line: tokens, time to first token, duration, tokens/s."""
        tokens = self.completion_tokens if self.completion_tokens is not None else self.chunks
        ttft = f"{self.time_to_first_token:.2f} s" if self.time_to_first_token is not None else "n/a"
        rate = self.tokens_per_second
        if rate is None and self.duration > 0 and tokens:
            rate = tokens / self.duration
        rate_text = f"{rate:.1f} tokens/s" if rate is not None else "n/a tokens/s"
        head = "partial: " if partial else ""
        return (
            f"{head}{tokens} tokens · time to first token {ttft} · duration {self.duration:.2f} s · "
            f"{rate_text} ({self.figures_from})"
        )


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


def read_prompt(args: argparse.Namespace, stdin: TextIO) -> str:
    """The prompt from the argument, else from a piped stdin."""
    if args.prompt:
        return args.prompt
    if stdin.isatty():
        raise ConfigError("no prompt given: pass it as an argument or pipe it on stdin")
    text = stdin.read().strip()
    if not text:
        raise ConfigError("the prompt read from stdin is empty")
    return text


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the tool; returns the exit code."""
    from rag.llm import CancelToken, create_client

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
        prompt = read_prompt(args, stdin)
        client = create_client(settings.llm, debug_hook=debug_printer(stderr) if args.debug else None)
    except ConfigError as exc:
        stderr.write(f"error: {exc}\n")
        return EXIT_USAGE

    if args.data:
        from rag.cli_dataset import answer_over_dataset

        return answer_over_dataset(settings, args.data, prompt, stdout, stderr, debug=args.debug)
    messages = ([{"role": "system", "content": args.system}] if args.system else []) + [{"role": "user", "content": prompt}]
    report = StreamReport()
    cancel = CancelToken()
    code = EXIT_OK
    error: str | None = None
    try:
        stream_answer(client, messages, stdout, report, cancel)
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
        if args.debug:
            traceback.print_exc(file=stderr)
        error, code = f"unexpected failure: {exc!r} (run with --debug for the traceback)", EXIT_FAILED
    if report.characters:
        stdout.write("\n")
        stdout.flush()
    if error:
        stderr.write(f"error: {error}\n")
    stderr.write(report.summary(partial=code != EXIT_OK) + "\n")
    stderr.flush()
    return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl+C while the model loads, or a second one during the summary
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(EXIT_FAILED)
