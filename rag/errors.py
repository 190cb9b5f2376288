"""Errors the project raises on purpose, each with a message a user can act on.

    RAGError
     ├── ConfigError                  bad or missing settings file or value
     ├── DataLoadError                a file that cannot be used as a dataset
     └── LLMError                     anything between us and the language model
          ├── ServerUnreachableError  connection refused, DNS failure, reset before any byte
          ├── ModelNotFoundError      the server does not know the model
          ├── HTTPStatusError         any other non-2xx answer
          ├── LLMTimeoutError         connect, first byte or next piece took too long
          └── StreamInterruptedError  error event or dropped connection mid-stream

Every ``LLMError`` keeps ``partial_text``: the answer received before the failure, so that
nothing already shown to the user is lost.

An error is made from a catalog message and its values (``LLMError(N_("... at {url}"), url=url)``): its
text (``str(error)``, ``LLMError.message``) is the message in English, and ``error.worded("fr")`` is it in the
language of the question it failed.
"""

from __future__ import annotations

from rag.i18n import N_, worded


class RAGError(Exception):
    """Base of every error this project raises on purpose."""

    def __init__(self, message: str = "", *args: object, **values: object) -> None:
        super().__init__(message.format(**values) if values else message, *args)
        self.template = message
        """The catalog message, before its values fill it (``N_("... at {url}")``)."""
        self.values = values

    def worded(self, language: str) -> str:
        """The error's message in ``language`` (English for a message the catalog lacks)."""
        if len(self.args) != 1 or not isinstance(self.template, str):
            return str(self)
        return worded(language, self.template, **self.values)


class ConfigError(RAGError):
    """A settings file or value that cannot be used."""


class DataLoadError(RAGError):
    """A file or object that cannot be loaded as a dataset."""


class LLMError(RAGError):
    """A failure while talking to a language model."""

    def __init__(self, message: str, *, partial_text: str = "", **values: object) -> None:
        super().__init__(message, **values)
        self.message: str = self.args[0]
        """The message in English (logs, the command line)."""
        self.partial_text = partial_text


class ServerUnreachableError(LLMError):
    """The server could not be reached at all."""


class ModelNotFoundError(LLMError):
    """The server answered that it does not know the requested model."""

    def __init__(self, model: str, available: list[str] | None = None, *, partial_text: str = "") -> None:
        self.model = model
        self.available = list(available or [])
        if self.available:
            message = N_("model '{model}' not found; available: {listing}")
        else:
            message = N_("model '{model}' not found; available: none reported")
        super().__init__(message, partial_text=partial_text, model=model, listing=", ".join(self.available))


class HTTPStatusError(LLMError):
    """The server answered with a non-success HTTP status."""

    def __init__(self, message: str, *, status: int, body: str = "", partial_text: str = "", **values: object) -> None:
        super().__init__(message, partial_text=partial_text, status=status, **values)
        self.status = status
        self.body = body


class LLMTimeoutError(LLMError):
    """Waiting for the server took longer than allowed."""

    def __init__(self, message: str, *, phase: str, partial_text: str = "", **values: object) -> None:
        super().__init__(message, partial_text=partial_text, **values)
        self.phase = phase  # "connect" | "first_byte" | "read"


class StreamInterruptedError(LLMError):
    """The stream broke after it started: an error event or a dropped connection."""
