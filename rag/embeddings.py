"""Sentence embeddings of texts (sentence-transformers, offline) and their on-disk cache.

``Embedder`` loads the model on first use and never downloads anything: the Hugging Face
libraries are put in offline mode before they are imported. ``EmbeddingCache`` keeps one
``.npy`` file per key; a damaged file counts as a miss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from rag.errors import ConfigError
from rag.model_files import default_embedding_model_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

EncodeProgress = Callable[[int, int], None]
"""``progress(done, total)``: texts embedded so far, out of all of them."""


SINGLE_THREAD_MAX_TEXTS = 8
"""Batches this small (a search query) run on one torch thread: as fast on an idle machine, and
20x faster on a busy one (a local LLM generating), where torch's threads wait for each other."""


@contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch threads (unchanged when ``None``); the caller holds the model lock."""
    if count is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    if previous == count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _offline_mode() -> None:
    """Make the Hugging Face libraries use local files only (no model download at run time)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def model_fingerprint(model_dir: Path) -> str:
    """A stable id of a model folder: its name and a hash of its files' names, sizes and mtimes.

    Cheap (no weight file is read) yet changes whenever a file of the model is replaced.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(model_dir).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return f"{model_dir.name}-{digest.hexdigest()[:16]}"


class _FairLock:
    """A lock granted in the order it was asked for.

    ``threading.Lock`` lets the releasing thread take it straight back, so a long ``encode`` of a
    dataset, taking the lock once per batch, would starve a search's one-line ``encode`` until
    the very end; here the search waits for one batch at most.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._condition:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._condition.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *exc_info: object) -> None:
        with self._condition:
            self._serving += 1
            self._condition.notify_all()


@dataclass
class _Query:
    """One text waiting to be embedded together with the other threads' texts."""

    text: str
    vector: np.ndarray | None = None
    error: BaseException | None = None


class Embedder:
    """Turns texts into L2-normalised float32 vectors with a sentence-transformers model."""

    def __init__(self, model_dir: str | Path | None = None, *, batch_size: int = 64, device: str = "cpu") -> None:
        """``model_dir`` is a sentence-transformers folder; the bundled all-MiniLM-L6-v2 when ``None``."""
        if batch_size < 1:
            raise ConfigError(f"the embedding batch size must be at least 1, not {batch_size}")
        folder = Path(model_dir).expanduser() if model_dir else default_embedding_model_dir()
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise ConfigError(
                f"'{folder}' is not a sentence-transformers model folder (no modules.json or config.json); "
                "set retrieval.embedding_model to such a folder"
            )
        self.model_dir = folder
        self.batch_size = batch_size
        self.device = device
        self.model_id = model_fingerprint(folder)
        """Stable id of the model, for cache keys."""
        self._model: SentenceTransformer | None = None
        self._dimension: int | None = None
        self._lock = _FairLock()
        self._queries: list[_Query] = []
        self._queries_lock = threading.Lock()

    def _loaded_model(self) -> SentenceTransformer:
        """The model, loaded on first call; the caller holds ``self._lock``."""
        if self._model is None:
            _offline_mode()
            from sentence_transformers import SentenceTransformer

            try:
                model = SentenceTransformer(str(self.model_dir), device=self.device)
            except Exception as exc:  # the library raises many kinds for a bad folder
                raise ConfigError(f"cannot load the embedding model from '{self.model_dir}': {exc}") from exc
            size = model.get_embedding_dimension()
            if not size:
                raise ConfigError(f"the embedding model in '{self.model_dir}' does not tell its vector size")
            self._dimension = int(size)
            self._model = model
        return self._model

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory already."""
        return self._model is not None

    def load(self) -> None:
        """Load the model now instead of on the first ``encode``."""
        with self._lock:
            self._loaded_model()

    @property
    def dimension(self) -> int:
        """Length of the vectors (loads the model)."""
        if self._dimension is None:
            with self._lock:
                self._loaded_model()
        assert self._dimension is not None
        return self._dimension

    def encode(self, texts: Sequence[str], progress: EncodeProgress | None = None) -> np.ndarray:
        """Embed ``texts``: an array of shape ``(len(texts), dimension)``, float32, rows of length 1.

        Texts are sorted by length so that each batch pads little (as sentence-transformers does),
        and ``progress(done, total)`` is called after every batch. The model runs one batch at a
        time (its tokenizer is not thread-safe); calls from several threads take turns per batch.
        """
        if len(texts) == 1 and progress is None:
            return self._encode_together(texts[0])[None, :]
        total = len(texts)
        vectors = np.empty((total, self.dimension), dtype=np.float32)
        order = np.argsort([-len(text) for text in texts], kind="stable")
        for start in range(0, total, self.batch_size):
            batch_rows = order[start : start + self.batch_size]
            with self._lock:  # locked per batch: a short query waits for one batch, not for a whole dataset
                vectors[batch_rows] = self._run_model([texts[i] for i in batch_rows])
            if progress is not None:
                progress(min(start + self.batch_size, total), total)
        return vectors

    def _run_model(self, texts: list[str]) -> np.ndarray:
        """The model's vectors for ``texts`` (on one torch thread for a few texts); the caller holds the lock."""
        with _torch_threads(1 if len(texts) <= SINGLE_THREAD_MAX_TEXTS else None):
            return self._loaded_model().encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )

    def _encode_together(self, text: str) -> np.ndarray:
        """One text (a search query), embedded in one pass with the texts other threads wait to embed: the
        thread that gets the model embeds every text queued by then, so 50 questions asked at once cost a
        few forward passes instead of 50 (and one question alone waits for nothing)."""
        query = _Query(text)
        with self._queries_lock:
            self._queries.append(query)
        with self._lock:
            if query.vector is None and query.error is None:
                with self._queries_lock:
                    batch, self._queries = self._queries, []
                try:
                    vectors = self._run_model([item.text for item in batch])
                except BaseException as exc:
                    for item in batch:
                        item.error = exc
                    raise
                for item, vector in zip(batch, vectors):
                    item.vector = np.asarray(vector, dtype=np.float32)
        if query.error is not None:
            raise query.error
        assert query.vector is not None
        return query.vector


class EmbeddingCache:
    """Embedding matrices on disk, one ``<key>.npy`` file each."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()

    @staticmethod
    def make_key(*, content_hash: str, model_id: str, chunk_chars: int, format_version: int) -> str:
        """The cache key of one dataset embedded by one model with one way of cutting it into documents."""
        payload = json.dumps(
            {"content": content_hash, "model": model_id, "chunk_chars": chunk_chars, "format": format_version},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def path_for(self, key: str) -> Path:
        """The file that holds (or would hold) ``key``."""
        if not key or not all(c.isalnum() or c in "-_" for c in key):
            raise ValueError(f"cache keys are letters, digits, '-' and '_' only, not {key!r}")
        return self.directory / f"{key}.npy"

    def load(self, key: str) -> np.ndarray | None:
        """The matrix saved under ``key``, or ``None`` when absent or unreadable (a bad file is deleted)."""
        path = self.path_for(key)
        try:
            array = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError) as exc:
            logger.warning("embedding cache file %s is unreadable (%s); it will be rebuilt", path, exc)
            self._discard(path)
            return None
        if array.ndim != 2 or array.dtype != np.float32:
            logger.warning("embedding cache file %s holds %s %s, not a float32 matrix; discarded", path, array.dtype, array.shape)
            self._discard(path)
            return None
        return array

    def save(self, key: str, array: np.ndarray) -> Path:
        """Write ``array`` under ``key`` atomically (a temporary file renamed into place)."""
        path = self.path_for(key)
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=self.directory, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.save(stream, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
            os.replace(temp_name, path)
        except BaseException:
            self._discard(Path(temp_name))
            raise
        return path

    def discard(self, key: str) -> None:
        """Forget ``key`` (no error when it is absent)."""
        self._discard(self.path_for(key))

    @staticmethod
    def _discard(path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning("cannot delete %s: %s", path, exc)
