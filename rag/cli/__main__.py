"""``python -m rag.cli``: stream a model's answer to the terminal and report how fast it came.

Exit codes: 0 done, 1 the model or server failed, 2 bad usage or settings, 130 interrupted.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rag.cli.arguments import build_parser, read_prompt, settings_from_args
from rag.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, debug_printer, write_error
from rag.errors import ConfigError


def main(
    argv: list[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the tool; returns the exit code."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = build_parser().parse_args(argv)
    from rag.llm import create_client  # (imported once the flags are read: `--help` stays fast)

    try:
        settings = settings_from_args(args)
        prompt = read_prompt(args, stdin)
        client = create_client(settings.llm, debug_hook=debug_printer(stderr) if args.debug else None)
    except ConfigError as exc:
        write_error(stderr, str(exc))
        return EXIT_USAGE

    if args.data:
        from rag.cli.dataset import answer_over_dataset

        return answer_over_dataset(settings, args.data, prompt, stdout, stderr, debug=args.debug)
    from rag.cli.chat import answer_prompt

    return answer_prompt(client, prompt, args.system, stdout, stderr, debug=args.debug)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl+C while the model loads, or a second one during the summary
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(EXIT_FAILED)
