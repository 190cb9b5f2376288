"""The values an LLM client hands back: stream chunks, end-of-generation metrics, backend status."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

SOURCE_SERVER = "server"
SOURCE_MEASURED = "measured"
FINISH_CANCELLED = "cancelled"


@dataclass(frozen=True)
class GenerationMetrics:
    """Figures about one finished (or cancelled) generation; durations in seconds."""

    model: str
    """The model that answered (as the server names it when it says so)."""
    prompt_tokens: int | None
    """Tokens in the prompt, when known."""
    completion_tokens: int | None
    """Tokens generated; counted by the server, by the model's tokenizer, or one per streamed piece."""
    time_to_first_token: float | None
    """Seconds from the request's start to the first non-empty text or thinking piece (always measured)."""
    total_duration: float
    """Seconds the generation took: the server's figure when it gives one, else measured."""
    tokens_per_second: float | None
    """Generation speed: server figures when given, else completion tokens over the time after the first token."""
    finish_reason: str | None
    """``stop``, ``length``, ``cancelled``... as reported (``cancelled`` when we stopped it)."""
    source: str
    """``server`` when the server gave the token counts, ``measured`` when we counted them."""
    warnings: tuple[str, ...] = ()
    """Things the user should know, e.g. a prompt that nearly filled the context window."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        data = dataclasses.asdict(self)
        data["warnings"] = list(self.warnings)
        return data


@dataclass(frozen=True)
class Chunk:
    """One piece of a streamed answer."""

    text: str = ""
    """Answer text."""
    thinking: str = ""
    """Reasoning text of thinking models, kept apart from the answer."""
    metrics: GenerationMetrics | None = None
    """Only on the last chunk of a stream."""


@dataclass(frozen=True)
class BackendStatus:
    """Whether a backend can be used right now, and what it offers."""

    ok: bool
    message: str
    """One sentence a user can act on."""
    models: list[str] = field(default_factory=list)
