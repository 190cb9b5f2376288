"""The terminal tool's command line, its settings (defaults < JSON config file < flags) and its prompt."""

from __future__ import annotations

import argparse
from typing import TextIO

from rag.errors import ConfigError
from rag.settings import BACKENDS, Settings, load_settings


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m rag.cli",
        description="Stream an answer from Ollama, an OpenAI-compatible server or the embedded model.",
    )
    parser.add_argument(
        "prompt", nargs="?", help="the prompt (read from stdin when omitted and stdin is not a terminal)"
    )
    parser.add_argument("--config", metavar="PATH", help="JSON settings file (see config/config.example.json)")
    parser.add_argument("--backend", choices=BACKENDS, help="which kind of model to use")
    parser.add_argument(
        "--base-url", metavar="URL", help="server URL (Ollama: http://127.0.0.1:11434; OpenAI-compatible: …/v1)"
    )
    parser.add_argument("--model", metavar="NAME", help="model name on the server")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="longest answer, in tokens")
    parser.add_argument("--temperature", type=float, metavar="T", help="sampling temperature (0 to 2)")
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="longest wait in seconds for the next piece of the stream"
    )
    parser.add_argument("--system", metavar="TEXT", help="a system prompt")
    parser.add_argument("--debug", action="store_true", help="show the request and every raw stream event on stderr")
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="answer over this JSON / JSON Lines dataset: the result computed over all records, the sources, "
        "then the answer",
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
