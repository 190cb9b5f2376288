"""The contract every backend fulfils, and the streaming loop built once on top of it.

A backend implements one generator, ``_stream``, that yields text/thinking pieces and records what
the server said about the generation (token counts, durations, finish reason) in a
``GenerationReport``. ``LLMClient.generate_stream`` wraps it: it measures the time to the first
token, honours the cancel token, fills ``partial_text`` of errors, and appends the final chunk with
the ``GenerationMetrics``.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from rag.errors import LLMError
from rag.i18n import N_
from rag.llm.cancel import CancelToken
from rag.llm.types import (
    FINISH_CANCELLED,
    SOURCE_MEASURED,
    SOURCE_SERVER,
    BackendStatus,
    Chunk,
    GenerationMetrics,
)
from rag.settings import LLMSettings

logger = logging.getLogger(__name__)

Messages = list[dict[str, str]]
DebugHook = Callable[[str, Any], None]

CONTEXT_WARNING_RATIO = 0.9
"""Warn when the prompt fills this share of the context window."""


@dataclass(frozen=True)
class GenerationOptions:
    """Per-request generation options: the settings, overridden by ``generate_stream(**options)``."""

    temperature: float
    max_tokens: int
    num_ctx: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    """Backend-specific options (e.g. Ollama's ``think``, ``keep_alive``)."""


@dataclass
class GenerationReport:
    """What a backend learned about a generation while streaming it; read by the base at the end."""

    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    counts_from_server: bool = False
    """True when the token counts came from the server (metrics ``source="server"``)."""
    generation_seconds: float | None = None
    """Server time spent producing the completion tokens (for tokens per second)."""
    total_seconds: float | None = None
    """The server's own total duration."""
    finish_reason: str | None = None
    warnings: list[str] = field(default_factory=list)


def context_warning(prompt_tokens: int | None, context_window: int | None, hint: str) -> str | None:
    """A warning when the prompt used most of the context window, else None."""
    if not prompt_tokens or not context_window:
        return None
    if prompt_tokens < CONTEXT_WARNING_RATIO * context_window:
        return None
    return (
        f"the prompt used {prompt_tokens} of {context_window} context tokens: "
        f"its start may have been cut off; {hint}"
    )


class LLMClient(ABC):
    """A language model that streams answers to chat messages."""

    backend: str = ""
    """Backend name: ``ollama``, ``openai`` or ``embedded``."""
    continues_replies: bool = False
    """When the last message is the assistant's, the answer continues it (a reply started for the
    model). Only where the backend does this for certain; others must not be sent such a message."""

    prompt_record_tokens: int | None = None
    """Most tokens the retrieved records of one prompt may take (written compactly); None lets them fill
    the context window. Set where the model reads prompts slowly, so that its first token comes soon."""

    def __init__(self, settings: LLMSettings, *, debug_hook: DebugHook | None = None) -> None:
        self.settings = settings
        self._debug_hook = debug_hook

    @property
    def model(self) -> str:
        """The model name used for requests."""
        return self.settings.model or ""

    @abstractmethod
    def list_models(self) -> list[str]:
        """Names of the models the backend offers; raises ``LLMError`` when it cannot tell."""

    @abstractmethod
    def context_window(self) -> int | None:
        """The context length, in tokens, that generations will get; None when unknown."""

    def count_tokens(self, text: str) -> int | None:
        """Tokens of ``text`` in the model's own tokenizer; None where the backend cannot tell cheaply
        (the prompt is then budgeted with an estimate)."""
        return None

    def model_context_length(self) -> int | None:
        """The longest context this model can be given; None when unknown.

        Where the context is set per request (Ollama's ``num_ctx``) this is the model's trained
        length; elsewhere it is what ``context_window()`` says.
        """
        return self.context_window()

    @abstractmethod
    def check(self) -> BackendStatus:
        """Whether the backend is usable now; never raises."""

    @abstractmethod
    def _stream(
        self, messages: Messages, options: GenerationOptions, report: GenerationReport, cancel: CancelToken
    ) -> Iterator[Chunk]:
        """Yield text/thinking chunks (no metrics) and fill ``report``; raise ``LLMError`` on failure."""

    def generate_stream(
        self, messages: Messages, *, cancel: CancelToken | None = None, **options: Any
    ) -> Iterator[Chunk]:
        """Stream the answer to ``messages``; the last chunk carries the ``GenerationMetrics``.

        Options (``temperature``, ``max_tokens``, ``num_ctx``, ``seed``, ``stop`` and backend-specific
        ones) override the settings for this request. When ``cancel`` is set, from any thread, the
        connection is closed and the stream ends quietly with ``finish_reason="cancelled"``. Errors are
        ``LLMError`` subclasses whose ``partial_text`` holds the answer received before the failure.
        """
        cancel = cancel if cancel is not None else CancelToken()
        resolved = self._resolve_options(options)
        started = time.perf_counter()
        progress = _Progress(started)
        report = GenerationReport()
        cancelled = cancel.cancelled
        if not cancelled:
            pieces = self._stream(messages, resolved, report, cancel)
            try:
                for piece in pieces:
                    if cancel.cancelled:
                        cancelled = True
                        break
                    if piece.text or piece.thinking:
                        progress.add(piece)
                        yield piece
            except LLMError as exc:
                if not cancel.cancelled:
                    if not exc.partial_text:
                        exc.partial_text = progress.text
                    raise
                cancelled = True
            finally:
                pieces.close()
        yield Chunk(metrics=self._metrics(report, progress, cancelled or cancel.cancelled))

    def complete_json(
        self,
        messages: Messages,
        json_schema: dict[str, Any],
        *,
        name: str = "query_spec",
        max_tokens: int = 400,
        cancel: CancelToken | None = None,
    ) -> str:
        """The model's answer to ``messages`` as JSON text that the backend constrains to ``json_schema``.

        One non-streamed, greedy (temperature 0) request with structured output: Ollama's ``format``,
        an OpenAI-compatible ``response_format`` of type ``json_schema`` named ``name``, or a grammar
        built from the schema for the embedded model. The text is returned as the model wrote it:
        parsing and checking it is the caller's job (a server may ignore the schema, and an answer cut
        at ``max_tokens`` is incomplete). Raises ``LLMError`` subclasses, also when ``cancel`` is set.
        """
        cancel = cancel if cancel is not None else CancelToken()
        if cancel.cancelled:
            raise LLMError(_CANCELLED)
        options = self._resolve_options({"temperature": 0.0, "max_tokens": max_tokens})
        started = time.perf_counter()
        text = self._complete_json(messages, json_schema, name, options, cancel)
        if text is None or cancel.cancelled:
            raise LLMError(_CANCELLED)
        seconds = time.perf_counter() - started
        logger.debug("%s: structured answer of %d characters in %.2f s", self.backend, len(text), seconds)
        if not text.strip():
            raise LLMError(N_("the model {model} gave an empty answer where JSON was asked for"), model=self.model)
        return text.strip()

    def _complete_json(
        self, messages: Messages, schema: dict[str, Any], name: str, options: GenerationOptions, cancel: CancelToken
    ) -> str | None:
        """One non-streamed answer constrained to ``schema``; None when cancelled; raise ``LLMError`` on failure."""
        raise LLMError(N_("the {backend} backend cannot give structured (JSON schema) answers"), backend=self.backend)

    def _resolve_options(self, overrides: dict[str, Any]) -> GenerationOptions:
        settings = self.settings
        known = {"temperature", "max_tokens", "num_ctx", "seed", "stop"}
        extra = {key: value for key, value in overrides.items() if key not in known and value is not None}
        unsupported = set(extra) - set(self._extra_options())
        if unsupported:
            raise TypeError(
                f"unknown generation option(s) for the {self.backend} backend: {', '.join(sorted(unsupported))}"
            )
        stop = overrides.get("stop")
        return GenerationOptions(
            temperature=_pick(overrides.get("temperature"), settings.temperature),
            max_tokens=_pick(overrides.get("max_tokens"), settings.max_tokens),
            num_ctx=_pick(overrides.get("num_ctx"), settings.num_ctx),
            seed=_pick(overrides.get("seed"), settings.seed),
            stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
            extra=extra,
        )

    def _extra_options(self) -> tuple[str, ...]:
        """Names of the backend-specific options ``generate_stream`` accepts."""
        return ()

    def _metrics(self, report: GenerationReport, progress: _Progress, cancelled: bool) -> GenerationMetrics:
        ended = time.perf_counter()
        measured_total = ended - progress.started
        first = progress.first_token_at
        ttft = first - progress.started if first is not None else None
        completion = report.completion_tokens
        if completion is None:
            completion = progress.pieces  # one streamed piece is usually one token
        if report.generation_seconds:
            speed = completion / report.generation_seconds if completion else None
        elif first is not None and completion and ended > first:
            speed = completion / (ended - first)
        else:
            speed = None
        for warning in report.warnings:
            logger.warning("%s: %s", self.backend, warning)
        return GenerationMetrics(
            model=report.model or self.model,
            prompt_tokens=report.prompt_tokens,
            completion_tokens=completion,
            time_to_first_token=ttft,
            total_duration=report.total_seconds if report.total_seconds is not None else measured_total,
            tokens_per_second=speed,
            finish_reason=FINISH_CANCELLED if cancelled else report.finish_reason,
            source=SOURCE_SERVER if report.counts_from_server else SOURCE_MEASURED,
            warnings=tuple(report.warnings),
        )

    def _debug(self, kind: str, payload: Any) -> None:
        if self._debug_hook is not None:
            self._debug_hook(kind, payload)

    def _event_hook(self) -> Callable[[str], None] | None:
        """What a decoder calls with each raw line, when debugging."""
        return (lambda line: self._debug("event", line)) if self._debug_hook is not None else None

    def _available_models(self) -> list[str]:
        """The model list for an error message; empty when it cannot be had."""
        try:
            return self.list_models()
        except LLMError:
            return []

    def _status_from_models(self, where: str) -> BackendStatus:
        """``check()`` for servers: reachable, and does it offer the configured model?"""
        try:
            models = self.list_models()
        except LLMError as exc:
            return BackendStatus(False, exc.message, [])
        except Exception as exc:  # check() never raises
            logger.exception("checking %s failed", where)
            return BackendStatus(False, f"{where} could not be checked: {exc}", [])
        wanted = self.settings.model
        if wanted and not self._offers(models, wanted):
            listing = ", ".join(models) if models else "none"
            message = f"{where} is reachable but has no model '{wanted}' (available: {listing})"
            return BackendStatus(False, message, models)
        return BackendStatus(True, f"{where} is reachable ({len(models)} model(s))", models)

    def _offers(self, models: list[str], wanted: str) -> bool:
        return wanted in models


class _Progress:
    """What the consumer has received so far."""

    __slots__ = ("started", "first_token_at", "pieces", "_text")

    def __init__(self, started: float) -> None:
        self.started = started
        self.first_token_at: float | None = None
        self.pieces = 0
        self._text: list[str] = []

    def add(self, chunk: Chunk) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.pieces += 1
        if chunk.text:
            self._text.append(chunk.text)

    @property
    def text(self) -> str:
        return "".join(self._text)


_CANCELLED = N_("the request to the model was cancelled")


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value
