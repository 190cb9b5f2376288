"""Chat with a JSON dataset: loading, retrieval, streaming LLM clients and the RAG engine.

The heavy parts (torch, sentence-transformers, FAISS) load only when first used, so that
``python -m rag.cli`` starts fast.
"""

from __future__ import annotations

from typing import Any

from rag.errors import ConfigError, DataLoadError, LLMError, RAGError
from rag.stream_buffer import StreamBuffer, StreamSnapshot, get_stream_buffer

__all__ = [
    "ConfigError",
    "DataLoadError",
    "LLMError",
    "RAGError",
    "RAGEngine",
    "StreamBuffer",
    "StreamSnapshot",
    "get_rag_engine",
    "get_stream_buffer",
]


def __getattr__(name: str) -> Any:
    if name in ("RAGEngine", "get_rag_engine", "configure_rag_engine", "DatasetInfo", "Answer"):
        from rag import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
