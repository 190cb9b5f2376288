"""Hybrid retrieval over dataset records: dense (FAISS) and BM25 rankings fused by reciprocal rank.

``build`` turns records into documents, embeds them (or loads the embeddings from the disk
cache), and indexes them; the finished indexes replace the previous ones in one step, so a
search running during a rebuild uses the old indexes whole. ``search`` returns one ``Hit`` per
record: several matching chunks of a record fold into one hit carrying the best chunk's text.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from rag.documents import DOCUMENT_FORMAT_VERSION, Document, build_documents
from rag.embeddings import Embedder, EmbeddingCache
from rag.errors import RAGError
from rag.lexical import LexicalIndex
from rag.records import Dataset, Record
from rag.settings import RetrievalSettings
from rag.vector_index import VectorIndex

logger = logging.getLogger(__name__)

RRF_K = 60
"""The constant of reciprocal-rank fusion: a document at rank r (from 1) scores 1 / (RRF_K + r)."""
MIN_CANDIDATES = 50
"""Documents taken from each ranking before fusion, at least."""
CANDIDATES_PER_HIT = 10
"""... and at least this many per hit asked for, so that chunks folding into one record leave enough records."""

BuildProgress = Callable[[str, int, int], None]
"""``progress(stage, done, total)`` with stage ``"embedding"``, ``"indexing"`` (FAISS) or ``"lexical"`` (BM25)."""


@dataclass(frozen=True)
class Hit:
    """One retrieved record."""

    record_id: str
    score: float
    """Fused reciprocal-rank score in hybrid mode; cosine similarity of the best chunk in dense-only mode."""
    text: str
    """Text of the record's best-matching chunk."""
    record: Record

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: ``record_id``, ``score``, ``text`` and the record's ``data``."""
        return {"record_id": self.record_id, "score": float(self.score), "text": self.text, "record": self.record.data}


@dataclass(frozen=True)
class BuildReport:
    """What ``HybridRetriever.build`` did."""

    records: int
    documents: int
    """Chunks indexed (at least one per record)."""
    dimension: int
    index_kind: str
    """``"exact"`` or ``"hnsw"`` (``"empty"`` when there was nothing to index)."""
    from_cache: bool
    """True when the embeddings came from the disk cache (nothing was embedded)."""
    lexical: bool
    """True when a BM25 index was built (always, unless there was nothing to index)."""
    seconds: float
    """Whole build, wall clock."""
    embedding_seconds: float
    """Embedding, or reading the cache."""
    cache_key: str = ""


@dataclass(frozen=True)
class _Indexes:
    """Everything one search needs; never changed after it is made, replaced whole by a new build."""

    documents: list[Document]
    records: dict[str, Record]
    vectors: VectorIndex | None
    lexical: LexicalIndex | None


def documents_digest(documents: Sequence[Document]) -> str:
    """SHA-256 of the documents' record ids, chunk numbers and texts."""
    digest = hashlib.sha256()
    for doc in documents:
        digest.update(f"{doc.record_id}\0{doc.chunk_index}\0{len(doc.text)}\0".encode("utf-8"))
        digest.update(doc.text.encode("utf-8"))
    return digest.hexdigest()


class HybridRetriever:
    """Dense + BM25 retrieval over the records of one dataset at a time."""

    def __init__(
        self,
        settings: RetrievalSettings,
        *,
        embedder: Embedder | None = None,
        cache: EmbeddingCache | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.embedding_model, batch_size=settings.batch_size)
        self.cache = cache
        self._indexes: _Indexes | None = None
        self._semantic_progress: tuple[int, int] | None = None
        self._build_lock = threading.Lock()

    @property
    def is_built(self) -> bool:
        """True once a dataset has been indexed."""
        return self._indexes is not None

    @property
    def record_count(self) -> int:
        return len(self._indexes.records) if self._indexes else 0

    def build(
        self,
        dataset_or_records: Dataset | Iterable[Record],
        *,
        content_hash: str | None = None,
        progress: BuildProgress | None = None,
        on_searchable: Callable[[], None] | None = None,
    ) -> BuildReport:
        """Index the records of a ``Dataset`` (or a list of records), replacing what was indexed before.

        ``content_hash`` (``Dataset.content_hash`` by default) joins the embedding cache key, next to
        a digest of the documents themselves, the model id and the chunk size.

        In stages: the keyword index first, which searches alone at once (``on_searchable()`` is called
        then, and ``semantic_progress`` tells how far the embeddings are); then the embeddings, each
        distinct text once, and the vector index, after which searches are hybrid.
        """
        started = time.perf_counter()
        if isinstance(dataset_or_records, Dataset):
            records = list(dataset_or_records.records)
            content_hash = content_hash or dataset_or_records.content_hash
        else:
            records = list(dataset_or_records)
        report_stage = progress or (lambda stage, done, total: None)

        with self._build_lock:
            documents = build_documents(records, self.settings.chunk_chars)
            texts = [doc.text for doc in documents]
            key = self.cache_key(documents, content_hash)
            lexical = None
            if documents:  # built even in dense-only mode, so that switching ``hybrid`` on needs no rebuild
                lexical = LexicalIndex(texts, progress=lambda done, total: report_stage("lexical", done, total))
            by_id = {record.id: record for record in records}
            embed_started = time.perf_counter()
            vectors = self._cached_vectors(key, len(documents))
            from_cache = vectors is not None
            if vectors is None:
                self._indexes = _Indexes(documents=documents, records=by_id, vectors=None, lexical=lexical)
                self._semantic_progress = (0, len(documents))
                if on_searchable is not None:
                    on_searchable()
                    on_searchable = None
                vectors = self._embed(texts, report_stage)
                if self.cache is not None and len(documents):
                    try:
                        self.cache.save(key, vectors)
                    except OSError as exc:  # a full or read-only disk costs the next load time, nothing else
                        logger.warning("cannot write the embedding cache in %s: %s", self.cache.directory, exc)
            else:
                report_stage("embedding", len(documents), len(documents))
            embedding_seconds = time.perf_counter() - embed_started

            vector_index = None
            if len(documents):
                vector_index = VectorIndex.build(
                    vectors,
                    exact_max=self.settings.exact_index_max,
                    progress=lambda done, total: report_stage("indexing", done, total),
                )
            self._indexes = _Indexes(documents=documents, records=by_id, vectors=vector_index, lexical=lexical)
            self._semantic_progress = None
        if on_searchable is not None:
            on_searchable()
        return BuildReport(
            records=len(records),
            documents=len(documents),
            dimension=int(vectors.shape[1]) if len(documents) else 0,
            index_kind=vector_index.kind if vector_index else "empty",
            from_cache=from_cache,
            lexical=lexical is not None,
            seconds=time.perf_counter() - started,
            embedding_seconds=embedding_seconds,
            cache_key=key,
        )

    @property
    def built_indexes(self) -> _Indexes | None:
        """The finished indexes, to keep in the dataset store; None while the embeddings are computed."""
        return self._indexes if self._semantic_progress is None else None

    def use_indexes(self, indexes: _Indexes) -> None:
        """Search indexes reopened from the dataset store (made by ``built_indexes``)."""
        with self._build_lock:
            self._indexes = indexes
            self._semantic_progress = None

    def index_fingerprint(self) -> str:
        """What built indexes depend on besides the records: the embedding model, chunk size, document
        format and the exact/approximate threshold."""
        return (
            f"{self.embedder.model_id}:{self.settings.chunk_chars}:{DOCUMENT_FORMAT_VERSION}:"
            f"{self.settings.exact_index_max}"
        )

    @property
    def semantic_progress(self) -> tuple[int, int] | None:
        """``(texts embedded, texts)`` while searches are keyword-only; None once they are hybrid."""
        return self._semantic_progress

    def _embed(self, texts: list[str], report_stage: BuildProgress) -> np.ndarray:
        """Vectors of ``texts``, each distinct text embedded once (records often repeat a text)."""
        distinct = list(dict.fromkeys(texts))

        def embedded(done: int, total: int) -> None:
            self._semantic_progress = (round(done * len(texts) / max(total, 1)), len(texts))
            report_stage("embedding", done, total)

        vectors = self.embedder.encode(distinct, progress=embedded)
        if len(distinct) == len(texts):
            return vectors
        row = {text: i for i, text in enumerate(distinct)}
        return vectors[[row[text] for text in texts]]

    def cache_key(self, documents: Sequence[Document], content_hash: str | None = None) -> str:
        """The embedding cache key of ``documents``: their digest, ``content_hash``, the model id and the chunk size."""
        return EmbeddingCache.make_key(
            content_hash=f"{content_hash or ''}:{documents_digest(documents)}",
            model_id=self.embedder.model_id,
            chunk_chars=self.settings.chunk_chars,
            format_version=DOCUMENT_FORMAT_VERSION,
        )

    def _cached_vectors(self, key: str, count: int) -> np.ndarray | None:
        """The cached embeddings under ``key`` when they fit ``count`` documents and this model."""
        if self.cache is None or count == 0:
            return None
        vectors = self.cache.load(key)
        if vectors is None:
            return None
        if vectors.shape != (count, self.embedder.dimension):
            self.cache.discard(key)
            return None
        return vectors

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` records that best match ``query``, best first; ``[]`` for a blank query."""
        indexes = self._indexes  # one snapshot for the whole search, even if a build finishes meanwhile
        if indexes is None:
            raise RAGError("no dataset is indexed yet: load a dataset before searching")
        query = query.strip()
        if not query or k < 1 or not indexes.documents:
            return []
        candidates = min(len(indexes.documents), max(MIN_CANDIDATES, k * CANDIDATES_PER_HIT))
        if indexes.vectors is None:  # the embeddings are still being computed: keyword search alone
            if indexes.lexical is None:
                return []
            scores, ids = indexes.lexical.search(query, candidates)
            return self._ranked_hits(indexes, [(int(i), float(sc)) for i, sc in zip(ids, scores)], k)
        query_vector = self.embedder.encode([query])
        dense_scores, dense_ids = indexes.vectors.search(query_vector, candidates)
        dense = [(int(i), float(s)) for i, s in zip(dense_ids[0], dense_scores[0]) if i >= 0]
        if not self.settings.hybrid or indexes.lexical is None:
            return self._ranked_hits(indexes, dense, k)
        _, lexical_ids = indexes.lexical.search(query, candidates)
        return self._fused_hits(indexes, [doc_id for doc_id, _ in dense], [int(i) for i in lexical_ids], k)

    @staticmethod
    def _ranked_hits(indexes: _Indexes, ranked: list[tuple[int, float]], k: int) -> list[Hit]:
        hits: list[Hit] = []
        seen: set[str] = set()
        for doc_id, score in ranked:
            doc = indexes.documents[doc_id]
            if doc.record_id in seen:
                continue
            seen.add(doc.record_id)
            hits.append(Hit(doc.record_id, score, doc.text, indexes.records[doc.record_id]))
            if len(hits) == k:
                break
        return hits

    @staticmethod
    def _fused_hits(indexes: _Indexes, dense: list[int], lexical: list[int], k: int) -> list[Hit]:
        """Reciprocal-rank fusion at record level; each record's text is its best chunk by fused chunk score."""
        record_scores: dict[str, float] = {}
        chunk_scores: dict[int, float] = {}
        for ranking in (dense, lexical):
            record_rank: dict[str, int] = {}
            for rank, doc_id in enumerate(ranking, start=1):
                chunk_scores[doc_id] = chunk_scores.get(doc_id, 0.0) + 1.0 / (RRF_K + rank)
                record_id = indexes.documents[doc_id].record_id
                record_rank.setdefault(record_id, len(record_rank) + 1)
            for record_id, rank in record_rank.items():
                record_scores[record_id] = record_scores.get(record_id, 0.0) + 1.0 / (RRF_K + rank)
        best_chunk: dict[str, int] = {}
        for doc_id, score in chunk_scores.items():
            record_id = indexes.documents[doc_id].record_id
            if record_id not in best_chunk or score > chunk_scores[best_chunk[record_id]]:
                best_chunk[record_id] = doc_id
        ordered = sorted(record_scores.items(), key=lambda item: -item[1])[:k]
        return [
            Hit(record_id, score, indexes.documents[best_chunk[record_id]].text, indexes.records[record_id])
            for record_id, score in ordered
        ]
