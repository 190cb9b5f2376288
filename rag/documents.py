"""Records as searchable text: one ``field: value`` line per field, long records split into chunks.

Every chunk keeps the id of its record, so that retrieval can cite the record and fold several
chunks of one record back into one hit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

from rag.records import Record

DOCUMENT_FORMAT_VERSION = 1
"""Bumped whenever the text produced here changes, so that cached embeddings of the old text miss."""


@dataclass(frozen=True)
class Document:
    """One searchable piece of a record."""

    record_id: str
    """Id of the record the text comes from."""
    chunk_index: int
    """Position of this chunk within its record (0 for records that fit in one chunk)."""
    text: str


def format_value(value: Any) -> str:
    """A scalar as it reads in a ``field: value`` line (JSON spelling for booleans, one line)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text


def record_lines(record: Record) -> list[str]:
    """The ``field: value`` lines of a record, in the order of ``record.flat``; ``None`` values are left out."""
    if not record.flat:
        if record.data is None or record.data == {} or record.data == []:
            return []
        return [format_value(record.data)]
    lines = []
    for field_path, value in record.flat.items():
        if value is None:
            continue
        lines.append(f"{field_path}: {format_value(value)}" if field_path else format_value(value))
    return lines


def record_text(record: Record) -> str:
    """The whole record as text, one line per field."""
    return "\n".join(record_lines(record))


def split_lines(lines: list[str], chunk_chars: int) -> list[str]:
    """Pack lines into chunks of at most ``chunk_chars`` characters, cutting only between lines.

    A single line longer than ``chunk_chars`` is cut into pieces of ``chunk_chars`` characters.
    """
    if chunk_chars < 1:
        raise ValueError(f"chunk_chars must be at least 1, not {chunk_chars}")
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        pieces = [line[i : i + chunk_chars] for i in range(0, len(line), chunk_chars)] or [""]
        for piece in pieces:
            added = len(piece) + (1 if current else 0)
            if current and size + added > chunk_chars:
                chunks.append("\n".join(current))
                current, size = [], 0
                added = len(piece)
            current.append(piece)
            size += added
    if current:
        chunks.append("\n".join(current))
    return chunks


def build_documents(records: Iterable[Record], chunk_chars: int) -> list[Document]:
    """Documents for ``records`` in record order; every record yields at least one (possibly empty) document."""
    documents: list[Document] = []
    for record in records:
        lines = record_lines(record)
        chunks = split_lines(lines, chunk_chars) if lines else [""]
        documents.extend(Document(record.id, index, text) for index, text in enumerate(chunks))
    return documents
