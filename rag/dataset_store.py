"""Loaded datasets kept on disk by content, so that any process reopens one without indexing it again.

An entry is a folder named by the dataset's key (``store_key``: 32 hex digits of its content hash, ``-``, 16 of a
digest of what its indexes depend on: the embedding model, the chunk size and the document format). Every file in
it is data that reading cannot turn into code (no pickle anywhere):

    .json-rag-chat-entry  the marker: the key, written first; the store removes only folders that hold it
    dataset.json          the dataset's name, hash, root path and size, and how its indexes were built
    records.json          the records, ``[{"id", "data", "flat"}, ...]``
    profile.json          ``DatasetProfile.to_dict()``
    indexes/              the retriever's indexes (``HybridRetriever`` ``_Indexes.save``): documents as JSON,
                          the FAISS index file, the BM25 arrays as ``.npy`` (``allow_pickle=False``) and JSON
    manifest.json         the store format, name and size, and every other file with its SHA-256 and size

An entry is written in a temporary folder and renamed into place, manifest last, so a reader never sees half of
one. An entry whose manifest is missing, unreadable or does not match its files is reported absent, and removed
(it holds the marker: the store made it); the caller builds the dataset again.

Keys come from browsers (each tab names its dataset), so a key is used only when ``is_dataset_id`` accepts it and
its folder resolves directly inside the store; anything else is simply not stored: never read, never removed. A
folder without the marker is never removed either, whatever its name (it is reported once and left alone).
Entries of the first format (``entry.pkl``) are never read: they are dropped when met and rebuilt from their file
on the next load.

The store stays under ``max_bytes`` by removing the entries used least recently (opening an entry, and
``touch``, which the engine calls whenever a tab uses a dataset, update its manifest's time), but never one used
within ``RECENT_USE_SECONDS``: the store rather stays over its size for a while.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from rag.profile import DatasetProfile
from rag.records import Dataset, Record
from rag.retriever import load_indexes

log = logging.getLogger(__name__)

STORE_FORMAT = 2
"""1: one pickle per entry (never read any more); 2: JSON, NumPy and FAISS files."""
MARKER_FILE = ".json-rag-chat-entry"
MANIFEST_FILE = "manifest.json"
DATASET_FILE = "dataset.json"
RECORDS_FILE = "records.json"
PROFILE_FILE = "profile.json"
INDEXES_DIR = "indexes"
OLD_ENTRY_FILE = "entry.pkl"
"""The single file of a format-1 entry: removed, never read."""
RECENT_USE_SECONDS = 3600.0
"""Eviction never removes an entry used this recently."""
TOUCH_INTERVAL_SECONDS = 60.0
"""``touch`` updates an entry's time at most this often per process."""

_DATASET_ID = re.compile(r"[0-9a-f]{32}-[0-9a-f]{16}")
_HEX_DIGEST = re.compile(r"[0-9a-f]{32,}")
_HASH_CHUNK = 4 * 1024 * 1024
_RECORDS_BATCH = 4096
"""Records encoded per ``json.dumps`` call while writing ``records.json``."""
_MARKER_MAX_BYTES = 256
_STALE_SAVE_SECONDS = 24 * 3600.0


def store_key(content_hash: str, index_fingerprint: str) -> str:
    """The entry name of a dataset: its content hash, then a digest of how its indexes were built."""
    content = content_hash[:32] if _HEX_DIGEST.fullmatch(content_hash) else hashlib.sha256(
        content_hash.encode("utf-8")
    ).hexdigest()[:32]
    return f"{content}-{hashlib.sha256(index_fingerprint.encode('utf-8')).hexdigest()[:16]}"


def is_dataset_id(value: Any) -> bool:
    """Whether ``value`` has the form of a key ``store_key`` makes (and nothing else: no path, no dots)."""
    return isinstance(value, str) and _DATASET_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class StoredDataset:
    """Everything a loaded dataset needs, but its analytic table (rebuilt from the records on opening)."""

    dataset: Any
    """``rag.records.Dataset``."""
    profile: Any
    """``rag.profile.DatasetProfile``."""
    indexes: Any
    """The retriever's built indexes (``HybridRetriever.built_indexes``: ``save(folder)``, ``load_indexes``)."""
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

    is_key = staticmethod(is_dataset_id)

    def __init__(self, directory: str | Path, *, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._touched: dict[str, float] = {}
        """Key -> ``time.monotonic()`` of its last ``touch`` or opening here."""
        self._reported: set[str] = set()
        """Folders without the marker already reported (once each)."""

    # ------------------------------------------------------------------------------------------ writing
    def save(self, key: str, entry: StoredDataset) -> bool:
        """Write ``entry`` under ``key`` (replacing the store's entry there); False when it cannot be written."""
        target = self._entry_folder(key)
        if target is None:
            log.warning("the dataset store keeps datasets only under the keys it makes, not %.80r", key)
            return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=target.parent))
        except OSError as exc:
            log.warning("cannot write the dataset store in %s: %s", self.directory, exc)
            return False
        try:
            _write_text(staging / MARKER_FILE, key)
            _write_entry(staging, entry)
            dataset = entry.dataset
            manifest = {
                "format": STORE_FORMAT,
                "key": key,
                "name": dataset.name,
                "record_count": len(dataset.records),
                "size_bytes": dataset.size_bytes,
                "saved_at": time.time(),
                "files": _file_listing(staging, sync=True),
            }
            _write_text(staging / MANIFEST_FILE, json.dumps(manifest))
            replaced = None
            with self._lock:
                if os.path.lexists(target):
                    if not self._is_marked(target, key):
                        self._report_foreign(target)
                        shutil.rmtree(staging, ignore_errors=True)
                        return False
                    replaced = target.parent / f".removing-{key}-{uuid.uuid4().hex[:8]}"
                    os.replace(target, replaced)
                os.replace(staging, target)
            if replaced is not None:
                shutil.rmtree(replaced, ignore_errors=True)
        except Exception as exc:  # a full disk, or records that are not JSON: the dataset is just not kept
            log.warning("cannot save %s in the dataset store: %s", key, exc)
            shutil.rmtree(staging, ignore_errors=True)
            return False
        self._evict(keep=key)
        return True

    # ------------------------------------------------------------------------------------------ reading
    def open(self, key: str) -> StoredDataset | None:
        """The entry under ``key``; None when there is none, it is damaged (then removed) or ``key`` is no key."""
        folder = self._entry_folder(key)
        if folder is None or folder.is_symlink() or not folder.is_dir():
            return None
        manifest = _read_manifest(folder)
        if not self._is_marked(folder, key):
            if manifest is not None and manifest.get("format") == 1:
                self._drop_old_format(folder, key, manifest)
            else:
                self._report_foreign(folder)
            return None
        if manifest is None:
            self._discard(folder, key, "its manifest is missing or unreadable")
            return None
        if manifest.get("format") != STORE_FORMAT:
            self._discard(folder, key, f"it is in another store format ({manifest.get('format')!r})")
            return None
        problem = _check_files(folder, manifest)
        if problem:
            self._discard(folder, key, problem)
            return None
        try:
            with _gc_paused():
                entry = _read_entry(folder)
        except FileNotFoundError:
            self._discard(folder, key, "a file is missing")
            return None
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError) as exc:
            self._discard(folder, key, f"it cannot be read ({exc})")
            return None
        self._touched[key] = time.monotonic()
        _touch(folder / MANIFEST_FILE)
        return entry

    def touch(self, key: str) -> None:
        """A tab used the dataset under ``key``: its entry counts as recently used (written at most once a
        minute per key, so calling this on every question costs nothing)."""
        if not is_dataset_id(key):
            return
        now = time.monotonic()
        last = self._touched.get(key)
        if last is not None and now - last < TOUCH_INTERVAL_SECONDS:
            return
        folder = self._entry_folder(key)
        if folder is None:
            return
        if len(self._touched) > 10_000:
            self._touched = {k: t for k, t in self._touched.items() if now - t < TOUCH_INTERVAL_SECONDS}
        self._touched[key] = now
        if not folder.is_symlink() and self._is_marked(folder, key):
            _touch(folder / MANIFEST_FILE)

    def contains(self, key: str) -> bool:
        """Whether the store's entry under ``key`` has a readable manifest (its files are checked on opening)."""
        folder = self._entry_folder(key)
        if folder is None or not self._is_marked(folder, key):
            return False
        manifest = _read_manifest(folder)
        return manifest is not None and manifest.get("format") == STORE_FORMAT

    def recent(self, limit: int = 20) -> list[StoreListing]:
        """Stored datasets, most recently used first."""
        listings = []
        for folder in self._entries():
            manifest = _read_manifest(folder)
            if manifest is None or manifest.get("format") != STORE_FORMAT:
                continue
            try:
                listings.append(
                    StoreListing(
                        key=folder.name,
                        name=str(manifest.get("name", folder.name)),
                        record_count=int(manifest.get("record_count", 0)),
                        size_bytes=int(manifest.get("size_bytes", 0)),
                        last_used=_mtime(folder / MANIFEST_FILE),
                    )
                )
            except (TypeError, ValueError):
                continue
        listings.sort(key=lambda listing: listing.last_used, reverse=True)
        return listings[:limit]

    def total_bytes(self) -> int:
        """Bytes the store's entries take on disk."""
        return sum(_folder_bytes(folder) for folder in self._entries())

    # ------------------------------------------------------------------------------------------ keeping
    def _evict(self, keep: str) -> None:
        """Remove least recently used entries (never ``keep``, never one used within ``RECENT_USE_SECONDS``)
        until the store fits ``max_bytes``."""
        self._drop_leftovers()
        with self._lock:
            folders = sorted(self._entries(), key=lambda folder: _mtime(folder / MANIFEST_FILE))
            sizes = {folder: _folder_bytes(folder) for folder in folders}
            total = sum(sizes.values())
            now = time.time()
            held = 0
            for folder in folders:
                if total <= self.max_bytes:
                    break
                if folder.name == keep:
                    continue
                if now - _mtime(folder / MANIFEST_FILE) < RECENT_USE_SECONDS:
                    held += 1
                    continue
                log.info("dataset store entry %s is removed: used least recently, the store is too big", folder.name)
                shutil.rmtree(folder, ignore_errors=True)
                total -= sizes[folder]
        if total > self.max_bytes and held:
            log.warning(
                "the dataset store holds %.1f MB, over its %.1f MB: %d dataset(s) used within the last hour are kept",
                total / 1e6,
                self.max_bytes / 1e6,
                held,
            )

    def _drop_leftovers(self) -> None:
        """Format-1 entries (never read) and the store's own folders left by a process that died mid-save."""
        try:
            children = list(self._root().iterdir())
        except OSError:
            return
        now = time.time()
        for path in children:
            if path.is_symlink() or not path.is_dir():
                continue
            if is_dataset_id(path.name):
                manifest = None if self._is_marked(path, path.name) else _read_manifest(path)
                if manifest is not None and manifest.get("format") == 1:
                    self._drop_old_format(path, path.name, manifest)
                continue
            leftover = path.name.startswith(".removing-") or (
                path.name.startswith(".saving-") and now - _mtime(path) > _STALE_SAVE_SECONDS
            )
            if leftover and (path / MARKER_FILE).is_file() and not (path / MARKER_FILE).is_symlink():
                shutil.rmtree(path, ignore_errors=True)

    # ------------------------------------------------------------------------------------------ folders
    def _root(self) -> Path:
        return self.directory.resolve()

    def _entry_folder(self, key: Any) -> Path | None:
        """The folder of ``key`` when it is a key and its folder lies directly inside the store; else None."""
        if not is_dataset_id(key):
            return None
        try:
            root = self._root()
            folder = root / key
            if folder.resolve().parent != root:
                return None
        except (OSError, RuntimeError):
            return None
        return folder

    def _entries(self) -> list[Path]:
        """The folders the store made (named by a key, holding the marker)."""
        try:
            children = list(self._root().iterdir())
        except OSError:
            return []
        return [
            path
            for path in children
            if is_dataset_id(path.name) and not path.is_symlink() and path.is_dir() and self._is_marked(path, path.name)
        ]

    @staticmethod
    def _is_marked(folder: Path, key: str) -> bool:
        """Whether ``folder`` holds the marker the store wrote for ``key``."""
        marker = folder / MARKER_FILE
        try:
            if marker.is_symlink() or not marker.is_file():
                return False
            with open(marker, "rb") as handle:
                return handle.read(_MARKER_MAX_BYTES).decode("ascii", "replace").strip() == key
        except OSError:
            return False

    def _report_foreign(self, folder: Path) -> None:
        if folder.name not in self._reported:
            self._reported.add(folder.name)
            log.warning("%s is in the dataset store but the store did not make it; it is left alone", folder)

    def _discard(self, folder: Path, key: str, reason: str) -> None:
        """Remove the store's damaged entry ``key`` (only when it holds the marker)."""
        with self._lock:
            if not self._is_marked(folder, key):
                return
            log.warning("dataset store entry %s is removed: %s", key, reason)
            shutil.rmtree(folder, ignore_errors=True)

    def _drop_old_format(self, folder: Path, key: str, manifest: dict[str, Any]) -> None:
        """A format-1 entry (a pickle) the old store made: its two files go, unread; the folder goes if empty."""
        old_file = folder / OLD_ENTRY_FILE
        if manifest.get("key") != key or old_file.is_symlink() or not old_file.is_file():
            self._report_foreign(folder)
            return
        log.warning("dataset store entry %s is dropped: old format, rebuilt from its file on next load", key)
        with self._lock:
            for name in (OLD_ENTRY_FILE, MANIFEST_FILE):
                try:
                    (folder / name).unlink()
                except OSError:
                    pass
            try:
                folder.rmdir()
            except OSError:
                pass


# ---------------------------------------------------------------------------------------------- entry files
def _write_entry(folder: Path, entry: StoredDataset) -> None:
    dataset = entry.dataset
    _write_text(
        folder / DATASET_FILE,
        json.dumps(
            {
                "name": dataset.name,
                "content_hash": dataset.content_hash,
                "root_path": dataset.root_path,
                "size_bytes": dataset.size_bytes,
                "index_report": entry.index_report,
            },
            ensure_ascii=False,
        ),
    )
    _write_records(folder / RECORDS_FILE, dataset.records)
    with _open_text(folder / PROFILE_FILE, "w") as handle:
        json.dump(entry.profile.to_dict(), handle, ensure_ascii=False)
    entry.indexes.save(folder / INDEXES_DIR)


def _read_entry(folder: Path) -> StoredDataset:
    with _open_text(folder / DATASET_FILE, "r") as handle:
        facts = json.load(handle)
    records = _read_records(folder / RECORDS_FILE)
    with _open_text(folder / PROFILE_FILE, "r") as handle:
        profile = DatasetProfile.from_dict(json.load(handle))
    dataset = Dataset(
        name=str(facts["name"]),
        records=records,
        content_hash=str(facts["content_hash"]),
        root_path=str(facts["root_path"]),
        size_bytes=int(facts["size_bytes"]),
    )
    report = facts.get("index_report") or {}
    if not isinstance(report, dict):
        raise ValueError("the index report is not an object")
    indexes = load_indexes(folder / INDEXES_DIR, records)
    return StoredDataset(dataset=dataset, profile=profile, indexes=indexes, index_report=report)


def _write_records(path: Path, records: list[Record]) -> None:
    """``[{"id", "data", "flat"}, ...]``, encoded a batch at a time (fast, and never the whole file in memory)."""
    with _open_text(path, "w") as handle:
        handle.write("[")
        for start in range(0, len(records), _RECORDS_BATCH):
            batch = [{"id": r.id, "data": r.data, "flat": r.flat} for r in records[start : start + _RECORDS_BATCH]]
            if start:
                handle.write(",")
            handle.write(json.dumps(batch, ensure_ascii=False)[1:-1])
        handle.write("]")


def _read_records(path: Path) -> list[Record]:
    with _open_text(path, "r") as handle:
        items = json.load(handle)
    if not isinstance(items, list):
        raise ValueError("the records are not a list")
    records = [Record(id=item["id"], data=item["data"], flat=item["flat"]) for item in items]
    if records and not (isinstance(records[0].id, str) and isinstance(records[0].flat, dict)):
        raise ValueError("the records are not records")
    return records


def _open_text(path: Path, mode: str) -> Any:
    """Text files in UTF-8, lone surrogates kept (JSON strings may hold them)."""
    return open(path, mode, encoding="utf-8", errors="surrogatepass")


def _write_text(path: Path, text: str) -> None:
    with _open_text(path, "w") as handle:
        handle.write(text)


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _entry_files(folder: Path) -> dict[str, Path]:
    """Every file of an entry but its marker and manifest, by path relative to it (``/``-separated); a link or
    anything but files and folders makes it unusable (ValueError)."""
    files: dict[str, Path] = {}
    for current, dirs, names in os.walk(folder, followlinks=False):
        base = Path(current)
        for name in dirs + names:
            path = base / name
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                raise ValueError(f"{path.relative_to(folder)} is not a plain file")
        for name in names:
            relative = (base / name).relative_to(folder).as_posix()
            if relative not in (MARKER_FILE, MANIFEST_FILE):
                files[relative] = base / name
    return files


def _file_listing(folder: Path, *, sync: bool = False) -> dict[str, dict[str, Any]]:
    """The manifest's ``files``: path -> SHA-256 and size (each file flushed to disk first when ``sync``)."""
    return {
        relative: {"sha256": _file_sha256(path, sync=sync), "bytes": path.stat().st_size}
        for relative, path in sorted(_entry_files(folder).items())
    }


def _check_files(folder: Path, manifest: dict[str, Any]) -> str:
    """What is wrong with the entry's files against its manifest ("" when nothing is)."""
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not all(name in listed for name in (DATASET_FILE, RECORDS_FILE, PROFILE_FILE)):
        return "its manifest lists no files"
    try:
        present = _entry_files(folder)
    except (OSError, ValueError) as exc:
        return f"it cannot be read ({exc})"
    if set(present) != set(listed):
        return "its files are not the ones its manifest lists"
    for relative, path in present.items():
        expected = listed[relative]
        try:
            if not isinstance(expected, dict) or path.stat().st_size != expected.get("bytes"):
                return f"{relative} does not match its manifest"
            if _file_sha256(path) != expected.get("sha256"):
                return f"{relative} does not match its manifest"
        except OSError as exc:
            return f"{relative} cannot be read ({exc})"
    return ""


def _file_sha256(path: Path, *, sync: bool = False) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
        if sync:
            os.fsync(handle.fileno())
    return digest.hexdigest()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while an entry's millions of fresh objects are made: its passes over them,
    none of which is garbage, cost more than the parsing."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


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
    for current, _dirs, names in os.walk(folder, followlinks=False):
        for name in names:
            try:
                total += os.lstat(os.path.join(current, name)).st_size
            except OSError:
                pass
    return total
