"""Loaded datasets kept on disk by content, so that any process reopens one without indexing it again.

An entry is a folder named by the dataset's key (``store_key``: its content hash and what its indexes
depend on, the embedding model, the chunk size and the document format). It holds ``entry.pkl`` (the
records, the profile and the built search indexes, pickled together so that records are stored once)
and ``manifest.json`` (the store format, the dataset's name and size, and the SHA-256 and length of
``entry.pkl``), written last. An entry is written in a temporary folder and renamed into place, so a
reader never sees half of one; an entry whose manifest is missing, unreadable or does not match its file
is removed and reported absent, and the caller builds the dataset again. The store stays under
``max_bytes`` by removing the entries used least recently (opening an entry touches its manifest).

The entries are pickles written by this app into its own cache folder; never point ``cache.directory``
at files others can write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STORE_FORMAT = 1
ENTRY_FILE = "entry.pkl"
MANIFEST_FILE = "manifest.json"
_HASH_CHUNK = 4 * 1024 * 1024


def store_key(content_hash: str, index_fingerprint: str) -> str:
    """The entry name of a dataset: its content hash, then a digest of how its indexes were built."""
    return f"{content_hash[:32]}-{hashlib.sha256(index_fingerprint.encode('utf-8')).hexdigest()[:16]}"


@dataclass(frozen=True)
class StoredDataset:
    """Everything a loaded dataset needs, but its analytic table (rebuilt from the records on opening)."""

    dataset: Any
    """``rag.records.Dataset``."""
    profile: Any
    """``rag.profile.DatasetProfile``."""
    indexes: Any
    """The retriever's built indexes (``HybridRetriever.built_indexes``)."""
    index_report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreListing:
    """One stored dataset, as the "Recent datasets" list shows it."""

    key: str
    name: str
    record_count: int
    size_bytes: int
    """The JSON file's size."""
    last_used: float
    """Seconds since the epoch."""


class DatasetStore:
    """Datasets on disk by key, bounded in size, least recently used removed first."""

    def __init__(self, directory: str | Path, *, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def save(self, key: str, entry: StoredDataset) -> bool:
        """Write ``entry`` under ``key`` (replacing one there); False when the disk refused it."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=self.directory))
        except OSError as exc:
            log.warning("cannot write the dataset store in %s: %s", self.directory, exc)
            return False
        try:
            entry_path = staging / ENTRY_FILE
            with open(entry_path, "wb") as handle:
                pickle.dump(entry, handle, protocol=pickle.HIGHEST_PROTOCOL)
                handle.flush()
                os.fsync(handle.fileno())
            dataset = entry.dataset
            manifest = {
                "format": STORE_FORMAT,
                "key": key,
                "name": dataset.name,
                "record_count": len(dataset.records),
                "size_bytes": dataset.size_bytes,
                "entry_bytes": entry_path.stat().st_size,
                "entry_sha256": _file_sha256(entry_path),
                "saved_at": time.time(),
            }
            (staging / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
            with self._lock:
                target = self.directory / key
                if target.exists():
                    shutil.rmtree(target, ignore_errors=True)
                os.replace(staging, target)
            self._evict(keep=key)
            return True
        except (OSError, pickle.PicklingError) as exc:
            log.warning("cannot save %s in the dataset store: %s", key, exc)
            shutil.rmtree(staging, ignore_errors=True)
            return False

    def open(self, key: str) -> StoredDataset | None:
        """The entry under ``key``; None when there is none or it is damaged (a damaged entry is removed)."""
        folder = self.directory / key
        manifest = self._manifest(folder)
        if manifest is None:
            if folder.exists():
                self._discard(folder, "its manifest is missing or unreadable")
            return None
        entry_path = folder / ENTRY_FILE
        try:
            if entry_path.stat().st_size != manifest.get("entry_bytes") or _file_sha256(entry_path) != manifest.get(
                "entry_sha256"
            ):
                self._discard(folder, "its file does not match its manifest")
                return None
            with open(entry_path, "rb") as handle:
                entry = pickle.load(handle)
        except FileNotFoundError:
            self._discard(folder, "its file is missing")
            return None
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError) as exc:
            self._discard(folder, f"it cannot be read ({exc})")
            return None
        if not isinstance(entry, StoredDataset):
            self._discard(folder, "it holds something else")
            return None
        _touch(folder / MANIFEST_FILE)
        return entry

    def contains(self, key: str) -> bool:
        """Whether an entry with a readable manifest is stored under ``key`` (its file is checked on opening)."""
        return self._manifest(self.directory / key) is not None

    def recent(self, limit: int = 20) -> list[StoreListing]:
        """Stored datasets, most recently used first."""
        listings = []
        for folder in self._folders():
            manifest = self._manifest(folder)
            if manifest is None:
                continue
            listings.append(
                StoreListing(
                    key=folder.name,
                    name=str(manifest.get("name", folder.name)),
                    record_count=int(manifest.get("record_count", 0)),
                    size_bytes=int(manifest.get("size_bytes", 0)),
                    last_used=_mtime(folder / MANIFEST_FILE),
                )
            )
        listings.sort(key=lambda listing: listing.last_used, reverse=True)
        return listings[:limit]

    def total_bytes(self) -> int:
        """Bytes the entries take on disk."""
        return sum(_folder_bytes(folder) for folder in self._folders())

    def _evict(self, keep: str) -> None:
        """Remove least recently used entries (never ``keep``) until the store fits ``max_bytes``."""
        with self._lock:
            folders = sorted(self._folders(), key=lambda folder: _mtime(folder / MANIFEST_FILE))
            sizes = {folder: _folder_bytes(folder) for folder in folders}
            total = sum(sizes.values())
            for folder in folders:
                if total <= self.max_bytes:
                    break
                if folder.name == keep:
                    continue
                shutil.rmtree(folder, ignore_errors=True)
                total -= sizes[folder]

    def _folders(self) -> list[Path]:
        try:
            return [path for path in self.directory.iterdir() if path.is_dir() and not path.name.startswith(".")]
        except OSError:
            return []

    @staticmethod
    def _manifest(folder: Path) -> dict[str, Any] | None:
        try:
            manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(manifest, dict) or manifest.get("format") != STORE_FORMAT:
            return None
        return manifest

    def _discard(self, folder: Path, reason: str) -> None:
        log.warning("dataset store entry %s is removed: %s", folder.name, reason)
        with self._lock:
            shutil.rmtree(folder, ignore_errors=True)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:
            pass
    return total
