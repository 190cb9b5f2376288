"""Streaming clients for local language models: Ollama, any OpenAI-compatible server, or an embedded
llama.cpp model. ``create_client(settings.llm)`` picks the one the settings name."""

from __future__ import annotations

from rag.errors import ConfigError
from rag.i18n import N_
from rag.llm.base import DebugHook, LLMClient
from rag.llm.cancel import CancelToken
from rag.llm.embedded import EmbeddedClient
from rag.llm.ollama import OllamaClient
from rag.llm.openai_compat import OpenAIClient
from rag.llm.types import BackendStatus, Chunk, GenerationMetrics
from rag.settings import BACKENDS, LLMSettings

__all__ = [
    "BackendStatus",
    "CancelToken",
    "Chunk",
    "EmbeddedClient",
    "GenerationMetrics",
    "LLMClient",
    "OllamaClient",
    "OpenAIClient",
    "create_client",
]

_CLIENTS: dict[str, type[LLMClient]] = {
    "ollama": OllamaClient,
    "openai": OpenAIClient,
    "embedded": EmbeddedClient,
}


def create_client(llm: LLMSettings, *, debug_hook: DebugHook | None = None) -> LLMClient:
    """The client for ``llm.backend``.

    ``debug_hook(kind, payload)``, when given, receives ``("request", {"method", "url", "headers",
    "body"})`` with the API key masked before each HTTP request, and ``("event", line)`` for every raw
    line of a stream (NDJSON line or SSE line).
    """
    try:
        client_class = _CLIENTS[llm.backend]
    except KeyError:
        raise ConfigError(
            N_("unknown llm.backend '{backend}' (expected one of: {backends})"),
            backend=llm.backend, backends=", ".join(BACKENDS),
        ) from None
    return client_class(llm, debug_hook=debug_hook)
