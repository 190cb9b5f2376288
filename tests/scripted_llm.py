"""A scripted LLM client for engine tests (the queue-fed fake model of simonw/llm's tests).

It goes through the real ``LLMClient.generate_stream`` loop (metrics, cancel, partial text);
only the transport is replaced by a script. The real backends have their own protocol and
end-to-end tests.
"""

from __future__ import annotations

import threading
import time
from typing import Iterator

from rag.errors import LLMError
from rag.llm.base import GenerationOptions, GenerationReport, LLMClient
from rag.llm.cancel import CancelToken
from rag.llm.types import BackendStatus, Chunk
from rag.settings import LLMSettings


class ScriptedClient(LLMClient):
    """Streams the pieces (text, or whole chunks) of each enqueued script; records every request in ``history``."""

    backend = "scripted"

    def __init__(self, settings: LLMSettings | None = None, *, delay: float = 0.0, context: int | None = 4096) -> None:
        super().__init__(settings or LLMSettings())
        self.scripts: list[list[str | Chunk | Exception]] = []
        self.history: list[dict] = []
        self.delay = delay
        self.context = context
        self.started = threading.Event()

    def enqueue(self, *pieces: str | Chunk | Exception) -> "ScriptedClient":
        self.scripts.append(list(pieces))
        return self

    @property
    def model(self) -> str:
        return "scripted-model"

    def list_models(self) -> list[str]:
        return ["scripted-model"]

    def context_window(self) -> int | None:
        return self.context

    def check(self) -> BackendStatus:
        return BackendStatus(True, "scripted", ["scripted-model"])

    def _stream(
        self, messages: list[dict[str, str]], options: GenerationOptions, report: GenerationReport, cancel: CancelToken
    ) -> Iterator[Chunk]:
        self.history.append({"messages": messages, "options": options})
        script = self.scripts.pop(0) if self.scripts else ["(no script)"]
        report.finish_reason = "stop"
        self.started.set()
        for piece in script:
            if cancel.cancelled:
                return
            if isinstance(piece, LLMError):
                raise piece
            time.sleep(self.delay)
            yield piece if isinstance(piece, Chunk) else Chunk(text=piece)
