"""Incremental decoders for the two streaming wire formats: NDJSON (Ollama) and Server-Sent Events.

Both are fed raw bytes exactly as they come off the network, split anywhere. They buffer bytes and
decode only complete lines, so a multi-byte UTF-8 character or a ``\\r\\n`` split across two reads is
handled. Lines end at ``\\n``, ``\\r\\n`` or ``\\r`` and nowhere else: ``str.splitlines`` is never used,
because it also breaks on U+2028, U+2029, ``\\x0b``, ``\\x85``..., which may legally sit inside JSON
strings. A line or event that is not valid JSON is skipped and counted in ``malformed_count``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from json import loads
from typing import Any, Callable, Iterable, Iterator

logger = logging.getLogger(__name__)

LineHook = Callable[[str], None]
"""Called with every raw non-blank line (for debugging)."""

DONE_MARKER = "[DONE]"


class LineSplitter:
    """Bytes in, complete decoded lines out (without their line endings)."""

    __slots__ = ("_parts", "_pending_cr")

    def __init__(self) -> None:
        self._parts: list[bytes] = []  # the unterminated last line, in pieces; never holds b"\r"
        self._pending_cr = False  # the previous read ended with "\r": a leading "\n" belongs to it

    def feed(self, data: bytes) -> list[str]:
        """Take the next bytes; return the lines they complete."""
        if self._pending_cr and data:
            self._pending_cr = False
            if data[0] == 0x0A:
                data = data[1:]
        if b"\r" in data:
            self._pending_cr = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = data.rfind(b"\n")
        if end < 0:
            if data:
                self._parts.append(data)
            return []
        if self._parts:
            self._parts.append(data[:end])
            complete = b"".join(self._parts)
            self._parts = []
        else:
            complete = data[:end]
        if end + 1 < len(data):
            self._parts.append(data[end + 1 :])
        # Only whole lines are decoded: a "\n" byte never occurs inside a multi-byte UTF-8 sequence.
        return complete.decode("utf-8", "replace").split("\n")

    def flush(self) -> list[str]:
        """Return the unterminated last line, if any, and reset."""
        rest = b"".join(self._parts)
        self._parts = []
        self._pending_cr = False
        return [rest.decode("utf-8", "replace")] if rest else []


class NDJSONDecoder:
    """Newline-delimited JSON: one JSON value per line; blank lines are ignored."""

    def __init__(self, on_line: LineHook | None = None) -> None:
        self._lines = LineSplitter()
        self._on_line = on_line
        self.malformed_count = 0
        """Non-blank lines that were not valid JSON (skipped)."""

    def feed(self, data: bytes) -> list[Any]:
        """Take the next bytes; return the JSON values of the lines they complete."""
        return self._parse(self._lines.feed(data))

    def flush(self) -> list[Any]:
        """End of stream: parse an unterminated last line."""
        return self._parse(self._lines.flush())

    def _parse(self, lines: list[str]) -> list[Any]:
        values = []
        on_line = self._on_line
        for line in lines:
            if not line:
                continue
            if on_line is not None:
                on_line(line)
            try:
                values.append(loads(line))
            except ValueError:
                if line.strip():
                    self.malformed_count += 1
                    logger.warning("skipped a line that is not JSON: %.200r", line)
        return values


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One Server-Sent Event."""

    data: str = ""
    """The ``data:`` lines joined with ``\\n``."""
    event: str | None = None
    """The ``event:`` field, if any."""
    id: str | None = None
    """The last event id seen (it carries over to later events, as the SSE spec says)."""
    retry: int | None = None
    payload: Any = None
    """``data`` parsed as JSON; None when the event has no data or is the ``[DONE]`` marker."""

    @property
    def done(self) -> bool:
        """True for the ``data: [DONE]`` end-of-stream marker of OpenAI-compatible servers."""
        return self.data == DONE_MARKER


class SSEDecoder:
    """Server-Sent Events (WHATWG event-stream rules) whose data is JSON.

    Comment lines (``:`` first, e.g. ``: keep-alive``) are skipped, several ``data:`` lines join with
    ``\\n``, one space after the colon is optional, an event that has fields but no data is still
    returned (with ``payload=None``), and ``flush()`` returns an unterminated last event.
    """

    def __init__(self, on_line: LineHook | None = None) -> None:
        self._lines = LineSplitter()
        self._on_line = on_line
        self._data: list[str] = []
        self._event: str | None = None
        self._retry: int | None = None
        self._last_id: str | None = None
        self._has_fields = False
        self.malformed_count = 0
        """Events whose data was neither JSON nor ``[DONE]`` (skipped)."""

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Take the next bytes; return the events they complete."""
        return self._process(self._lines.feed(data))

    def flush(self) -> list[SSEEvent]:
        """End of stream: return the last event even if its blank line never came."""
        events = self._process(self._lines.flush())
        if self._has_fields:
            event = self._dispatch()
            if event is not None:
                events.append(event)
        return events

    def _process(self, lines: list[str]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        on_line = self._on_line
        for line in lines:
            if not line:
                if self._has_fields:
                    event = self._dispatch()
                    if event is not None:
                        events.append(event)
                continue
            if on_line is not None:
                on_line(line)
            if line.startswith("data:"):  # the common case first
                value = line[5:]
                self._data.append(value[1:] if value.startswith(" ") else value)
                self._has_fields = True
            elif line[0] != ":":
                self._field(line)
        return events

    def _field(self, line: str) -> None:
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" in value:
                return
            self._last_id = value
        elif name == "retry":
            if not value.isdigit():
                return
            self._retry = int(value)
        else:
            return  # unknown fields are ignored, as the spec says
        self._has_fields = True

    def _dispatch(self) -> SSEEvent | None:
        data = "\n".join(self._data)
        event, retry = self._event, self._retry
        self._data = []
        self._event = None
        self._retry = None
        self._has_fields = False
        payload = None
        if data and data != DONE_MARKER:
            try:
                payload = loads(data)
            except ValueError:
                self.malformed_count += 1
                logger.warning("skipped an event whose data is not JSON: %.200r", data)
                return None
        return SSEEvent(data=data, event=event, id=self._last_id, retry=retry, payload=payload)


def iter_decoded(body: Iterable[bytes], decoder: NDJSONDecoder | SSEDecoder) -> Iterator[Any]:
    """Feed ``body`` through ``decoder``; yield every value or event, the flushed last one included."""
    for data in body:
        yield from decoder.feed(data)
    yield from decoder.flush()
