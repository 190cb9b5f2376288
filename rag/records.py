"""The records of a loaded dataset: what the loader produces and everything downstream reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Record:
    """One record of a dataset."""

    id: str
    """Stable id: the record's JSON path in the source, e.g. ``$[42]`` or ``$["3166-1"][7]``."""
    data: Any
    """The original record, as parsed."""
    flat: dict[str, Any] = field(default_factory=dict)
    """Dotted field path -> scalar value (``address.city``, ``tags[0]``), for display and profiling."""


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset."""

    name: str
    """Display name, usually the file name."""
    records: list[Record]
    content_hash: str
    """SHA-256 (hex) of the canonical JSON of the records; keys the embedding and answer caches."""
    root_path: str = "$"
    """JSON path of the array the records came from (``$`` for a top-level array)."""
    size_bytes: int = 0
    """Size of the source in bytes, when it came from a file or bytes."""
