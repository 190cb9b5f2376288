"""Ollama's native API: ``POST /api/chat`` streamed as NDJSON, ``/api/tags``, ``/api/show``."""

from __future__ import annotations

import dataclasses
import re
from contextlib import closing
from typing import Any, Iterator

import requests

from rag.errors import HTTPStatusError, LLMError, ModelNotFoundError, StreamInterruptedError
from rag.i18n import N_
from rag.llm.base import DebugHook, GenerationOptions, GenerationReport, LLMClient, Messages, context_warning
from rag.llm.cancel import CancelToken
from rag.llm.decoders import NDJSONDecoder, iter_decoded
from rag.llm.http_transport import HTTPTransport, server_message
from rag.llm.types import BackendStatus, Chunk
from rag.settings import LLMSettings

OLLAMA_DEFAULT_NUM_CTX = 2048
"""The context Ollama gives a model when the request sets no ``num_ctx``."""

_MODEL_NOT_FOUND = re.compile(r"model\s+['\"]?(?P<name>[^'\"]+?)['\"]?\s+not found", re.IGNORECASE)


class OllamaClient(LLMClient):
    """Streams chat answers from an Ollama server."""

    backend = "ollama"

    def __init__(self, settings: LLMSettings, *, debug_hook: DebugHook | None = None) -> None:
        super().__init__(settings, debug_hook=debug_hook)
        base_url = dataclasses.replace(settings, backend="ollama").resolved_base_url() or ""
        self._http = HTTPTransport(
            settings,
            base_url=base_url,
            server_name="Ollama",
            unreachable_message=N_("Ollama is not reachable at {url} — is `ollama serve` running?"),
            status_error=self._status_error,
            debug_hook=debug_hook,
        )
        self._trained_context: dict[str, int | None] = {}

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def list_models(self) -> list[str]:
        """Names of the pulled models (``GET /api/tags``)."""
        data = self._http.get_json("/api/tags")
        models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(models, list):
            raise LLMError(
                N_("{base_url}/api/tags did not answer like Ollama (no 'models' list)"), base_url=self.base_url
            )
        return [str(entry.get("name") or entry.get("model")) for entry in models if isinstance(entry, dict)]

    def context_window(self) -> int | None:
        """The context Ollama will give this model: ``num_ctx`` when set, else Ollama's default
        (2048), capped by the model's trained length from ``/api/show`` when it reports one.

        Ollama silently cuts the start of longer prompts, so this, not the model's trained length,
        is the budget a prompt must fit.
        """
        window = self.settings.num_ctx or OLLAMA_DEFAULT_NUM_CTX
        trained = self._model_context_length()
        return min(window, trained) if trained else window

    def model_context_length(self) -> int | None:
        """The model's trained context length from ``/api/show`` (sent back as ``num_ctx``)."""
        return self._model_context_length()

    def check(self) -> BackendStatus:
        """Reachable, and is the configured model pulled?"""
        return self._status_from_models(f"Ollama at {self.base_url}")

    def _offers(self, models: list[str], wanted: str) -> bool:
        return wanted in models or f"{wanted}:latest" in models

    def _extra_options(self) -> tuple[str, ...]:
        return ("keep_alive", "think")

    def _stream(
        self, messages: Messages, options: GenerationOptions, report: GenerationReport, cancel: CancelToken
    ) -> Iterator[Chunk]:
        payload = self._payload(self._require_model(), messages, options)
        decoder = NDJSONDecoder(on_line=self._event_hook())
        with closing(self._http.stream("/api/chat", payload, cancel=cancel)) as body:
            for line in iter_decoded(body, decoder):
                if not isinstance(line, dict):
                    continue
                if "error" in line:
                    error = line["error"]
                    raise StreamInterruptedError(N_("Ollama reported an error mid-stream: {error}"), error=error)
                message = line.get("message") or {}
                text = message.get("content") or ""
                thinking = message.get("thinking") or ""
                if text or thinking:
                    yield Chunk(text=text, thinking=thinking)
                if line.get("done"):
                    self._record_final_line(line, report, options)
                    return
        raise StreamInterruptedError(N_("the connection to Ollama closed mid-stream, before its final line"))

    def _complete_json(
        self, messages: Messages, schema: dict[str, Any], name: str, options: GenerationOptions, cancel: CancelToken
    ) -> str | None:
        payload = {**self._payload(self._require_model(), messages, options), "stream": False, "format": schema}
        data = self._http.post_json_generation("/api/chat", payload, cancel=cancel)
        if data is None:
            return None
        if isinstance(data, dict) and data.get("error"):
            raise LLMError(N_("Ollama reported an error: {error}"), error=data["error"])
        message = data.get("message") if isinstance(data, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            raise LLMError(
                N_("{base_url}/api/chat did not answer like Ollama (no message content)"), base_url=self.base_url
            )
        return content

    def _payload(self, model: str, messages: Messages, options: GenerationOptions) -> dict[str, Any]:
        model_options: dict[str, Any] = {"temperature": options.temperature, "num_predict": options.max_tokens}
        if options.num_ctx:
            model_options["num_ctx"] = options.num_ctx
        if options.seed is not None:
            model_options["seed"] = options.seed
        if options.stop:
            model_options["stop"] = list(options.stop)
        payload: dict[str, Any] = {"model": model, "messages": messages, "stream": True, "options": model_options}
        keep_alive = options.extra.get("keep_alive", self.settings.keep_alive)
        if keep_alive is not None:
            payload["keep_alive"] = keep_alive
        if "think" in options.extra:
            payload["think"] = options.extra["think"]
        return payload

    def _record_final_line(self, line: dict[str, Any], report: GenerationReport, options: GenerationOptions) -> None:
        """Read the metrics of the ``done`` line (durations in nanoseconds)."""
        report.model = line.get("model")
        report.finish_reason = line.get("done_reason") or "stop"
        report.prompt_tokens = _int_or_none(line.get("prompt_eval_count"))
        report.completion_tokens = _int_or_none(line.get("eval_count"))
        report.counts_from_server = report.completion_tokens is not None
        report.generation_seconds = _seconds(line.get("eval_duration"))
        report.total_seconds = _seconds(line.get("total_duration"))
        if options.num_ctx:
            hint = "raise llm.num_ctx or retrieve fewer records (retrieval.top_k)"
        else:
            hint = f"set llm.num_ctx (Ollama's default context is {OLLAMA_DEFAULT_NUM_CTX} tokens)"
        warning = context_warning(report.prompt_tokens, options.num_ctx or OLLAMA_DEFAULT_NUM_CTX, hint)
        if warning:
            report.warnings.append(warning)

    def _require_model(self) -> str:
        if self.settings.model:
            return self.settings.model
        available = ", ".join(self._available_models())
        if not available:
            raise LLMError(N_("no Ollama model chosen: set llm.model (available: none; run `ollama pull llama3.2`)"))
        raise LLMError(N_("no Ollama model chosen: set llm.model (available: {available})"), available=available)

    def _model_context_length(self) -> int | None:
        model = self.settings.model
        if not model:
            return None
        if model not in self._trained_context:
            try:
                details = self._http.post_json("/api/show", {"model": model})
            except ModelNotFoundError:
                details = {}
            except LLMError:
                return None  # unreachable now: ask again next time
            info = details.get("model_info") if isinstance(details, dict) else None
            lengths = [v for k, v in (info or {}).items() if k.endswith(".context_length") and isinstance(v, int)]
            self._trained_context[model] = lengths[0] if lengths else None
        return self._trained_context[model]

    def _status_error(self, response: requests.Response, body: str) -> LLMError:
        message = server_message(body)
        found = _MODEL_NOT_FOUND.search(message)
        if response.status_code == 404 and found:
            return ModelNotFoundError(found.group("name"), self._available_models())
        return HTTPStatusError(
            N_("Ollama answered HTTP {status}: {reply}"), status=response.status_code, body=body, reply=message
        )



def _seconds(nanoseconds: Any) -> float | None:
    return nanoseconds / 1e9 if isinstance(nanoseconds, (int, float)) and nanoseconds >= 0 else None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
