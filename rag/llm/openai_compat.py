"""Any OpenAI-compatible server (llama.cpp, vLLM, LM Studio, Ollama's /v1, hosted APIs):
``POST {base}/chat/completions`` streamed as Server-Sent Events, ``GET {base}/models``."""

from __future__ import annotations

import dataclasses
from contextlib import closing
from typing import Any, Iterator

import requests

from rag.errors import HTTPStatusError, LLMError, ModelNotFoundError, StreamInterruptedError
from rag.i18n import N_, Term
from rag.llm.base import DebugHook, GenerationOptions, GenerationReport, LLMClient, Messages
from rag.llm.cancel import CancelToken
from rag.llm.decoders import SSEDecoder, iter_decoded
from rag.llm.http_transport import HTTPTransport, server_message
from rag.llm.types import BackendStatus, Chunk
from rag.settings import LLMSettings

_CONTEXT_FIELDS = ("max_model_len", "context_length", "context_window", "n_ctx")
"""Where servers put the context length in ``/models`` entries (vLLM, OpenRouter/LM Studio, Groq, ...)."""
JSON_SCHEMA_FORMAT = "json_schema"
"""``response_format: {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`` (OpenAI, vLLM,
llama.cpp's server, LM Studio)."""
JSON_OBJECT_FORMAT = "json_object"
"""``response_format: {"type": "json_object", "schema": ...}``: servers that refuse the form above
(llama-cpp-python's server)."""


class OpenAIClient(LLMClient):
    """Streams chat answers from an OpenAI-compatible server."""

    backend = "openai"

    def __init__(self, settings: LLMSettings, *, debug_hook: DebugHook | None = None) -> None:
        super().__init__(settings, debug_hook=debug_hook)
        base_url = dataclasses.replace(settings, backend="openai").resolved_base_url() or ""
        key = settings.resolved_api_key()
        self._http = HTTPTransport(
            settings,
            base_url=base_url,
            server_name=Term(N_("the OpenAI-compatible server")),
            unreachable_message=N_("The OpenAI-compatible server is not reachable at {url} — is it running?"),
            status_error=self._status_error,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            debug_hook=debug_hook,
        )
        self._server_model: str | None = None  # the server's first model, when none is configured
        self._context: dict[str, int | None] = {}
        self._schema_format = JSON_SCHEMA_FORMAT
        """How this server takes a JSON schema: OpenAI's ``json_schema`` form until it refuses it."""

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def model(self) -> str:
        return self.settings.model or self._server_model or ""

    def list_models(self) -> list[str]:
        """Model ids the server offers (``GET {base}/models``)."""
        return [str(entry["id"]) for entry in self._model_entries() if "id" in entry]

    def context_window(self) -> int | None:
        """The context length when ``/models`` reports one (vLLM and some others do), else None."""
        model = self.model
        if model not in self._context:
            try:
                entries = self._model_entries()
            except LLMError:
                return None
            entry = next((e for e in entries if e.get("id") == model), entries[0] if len(entries) == 1 else {})
            meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
            lengths = [v for key in _CONTEXT_FIELDS for v in (entry.get(key), meta.get(key)) if isinstance(v, int)]
            if not lengths and isinstance(meta.get("n_ctx_train"), int):
                lengths = [meta["n_ctx_train"]]
            self._context[model] = lengths[0] if lengths else None
        return self._context[model]

    def check(self) -> BackendStatus:
        """Reachable, and does it offer the configured model?"""
        return self._status_from_models(f"The OpenAI-compatible server at {self.base_url}")

    def _stream(
        self, messages: Messages, options: GenerationOptions, report: GenerationReport, cancel: CancelToken
    ) -> Iterator[Chunk]:
        payload = self._payload(self._resolve_model(), messages, options)
        decoder = SSEDecoder(on_line=self._event_hook())
        finish_reason: str | None = None
        saw_done = False
        with closing(self._http.stream("/chat/completions", payload, cancel=cancel)) as body:
            for event in iter_decoded(body, decoder):
                if event.done:
                    saw_done = True
                    break
                data = event.payload
                if not isinstance(data, dict):
                    continue
                if event.event == "error" or data.get("error"):
                    raise StreamInterruptedError(
                        N_("the server reported an error mid-stream: {error}"), error=_error_text(data)
                    )
                if data.get("model"):
                    report.model = data["model"]
                usage = data.get("usage")
                if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
                    report.prompt_tokens = usage.get("prompt_tokens")
                    report.completion_tokens = usage["completion_tokens"]
                    report.counts_from_server = True
                for choice in data.get("choices") or ():
                    if choice.get("index", 0) != 0:
                        continue
                    delta = choice.get("delta") or {}
                    text = delta.get("content") or ""
                    thinking = delta.get("reasoning_content") or delta.get("reasoning") or ""
                    if text or thinking:
                        yield Chunk(text=text, thinking=thinking)
                    reason = choice.get("finish_reason")
                    if reason == "error":
                        raise _ended_with_error(_error_text(choice))
                    if reason:
                        finish_reason = reason
        if not saw_done and finish_reason is None:
            raise StreamInterruptedError(
                N_("the connection to the OpenAI-compatible server closed mid-stream, before the answer was complete")
            )
        report.finish_reason = finish_reason

    def _complete_json(
        self, messages: Messages, schema: dict[str, Any], name: str, options: GenerationOptions, cancel: CancelToken
    ) -> str | None:
        payload = self._payload(self._resolve_model(), messages, options)
        del payload["stream_options"]
        payload["stream"] = False
        if self._schema_format == JSON_SCHEMA_FORMAT:
            payload["response_format"] = _json_schema_format(name, schema)
            try:
                data = self._http.post_json_generation("/chat/completions", payload, cancel=cancel)
            except HTTPStatusError as exc:
                if not _refuses_json_schema_format(exc):
                    raise
                self._schema_format = JSON_OBJECT_FORMAT
            else:
                return _completion_content(data, self.base_url)
        payload["response_format"] = {"type": "json_object", "schema": schema}
        data = self._http.post_json_generation("/chat/completions", payload, cancel=cancel)
        return _completion_content(data, self.base_url)

    def _payload(self, model: str, messages: Messages, options: GenerationOptions) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
        }
        if options.seed is not None:
            payload["seed"] = options.seed
        if options.stop:
            payload["stop"] = list(options.stop)
        return payload

    def _resolve_model(self) -> str:
        """The configured model, else the server's first one (single-model servers such as llama.cpp)."""
        if self.settings.model:
            return self.settings.model
        if self._server_model is None:
            models = self.list_models()
            if not models:
                raise LLMError(N_("the server at {base_url} offers no model; set llm.model"), base_url=self.base_url)
            self._server_model = models[0]
        return self._server_model

    def _model_entries(self) -> list[dict[str, Any]]:
        data = self._http.get_json("/models")
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise LLMError(
                N_("{base_url}/models did not answer like an OpenAI-compatible server (no 'data' list)"),
                base_url=self.base_url,
            )
        return [entry for entry in entries if isinstance(entry, dict)]

    def _status_error(self, response: requests.Response, body: str) -> LLMError:
        status = response.status_code
        message = server_message(body)
        if status == 401:
            return HTTPStatusError(
                N_(
                    "the server at {base_url} rejected the API key (HTTP 401: {reply}); set llm.api_key or the"
                    " {variable} environment variable"
                ),
                status=status, body=body, base_url=self.base_url, reply=message, variable=self.settings.api_key_env,
            )
        if status == 404:
            lowered = message.lower()
            unknown = "not found" in lowered or "does not exist" in lowered or "model_not_found" in body
            if "model" in lowered and unknown:
                return ModelNotFoundError(self.model, self._available_models())
            return HTTPStatusError(
                N_("{url} was not found (HTTP 404: {reply}); does llm.base_url end with /v1?"),
                status=status, body=body, url=response.url, reply=message,
            )
        return HTTPStatusError(
            N_("the OpenAI-compatible server answered HTTP {status}: {reply}"), status=status, body=body, reply=message
        )



def _json_schema_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def _refuses_json_schema_format(error: HTTPStatusError) -> bool:
    """Whether the server rejected the ``json_schema`` response format itself (not the request as a whole)."""
    return error.status in (400, 422, 500) and "response_format" in error.body


def _completion_content(data: Any, base_url: str) -> str:
    """The text of a non-streamed chat completion."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise LLMError(
            N_("{base_url}/chat/completions did not answer like an OpenAI-compatible server (no choices)"),
            base_url=base_url,
        )
    message = choices[0].get("message") or {}
    if message.get("refusal"):
        raise LLMError(N_("the model refused to answer: {refusal}"), refusal=message["refusal"])
    content = message.get("content")
    if not isinstance(content, str):
        raise LLMError(N_("{base_url}/chat/completions answered without message content"), base_url=base_url)
    return content


def _ended_with_error(details: str) -> StreamInterruptedError:
    """The error of an answer the server ended with ``finish_reason`` "error"."""
    if not details:
        return StreamInterruptedError(N_("the server ended the answer with an error: no details given"))
    return StreamInterruptedError(N_("the server ended the answer with an error: {details}"), details=details)


def _error_text(data: dict[str, Any]) -> str:
    error = data.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error) if error else ""
