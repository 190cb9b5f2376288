"""Hybrid retrieval over dataset records: dense (FAISS) and BM25 rankings fused by reciprocal rank.

``build`` turns records into documents, embeds them (or loads the embeddings from the disk
cache), and indexes them; the finished indexes replace the previous ones in one step, so a
search running during a rebuild uses the old indexes whole. ``search`` returns one ``Hit`` per
record: several matching chunks of a record fold into one hit carrying the best chunk's text.
Records holding, word for word, a code, id or name the question gives come first, most specific
first, ahead of both rankings (``rag/exact_match.py``); the ranking fills the rest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from rag.documents import DOCUMENT_FORMAT_VERSION, Document, build_documents
from rag.embeddings import Embedder, EmbeddingCache
from rag.errors import RAGError
from rag.exact_match import ExactMatch, ExactMatchIndex
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

_DOCUMENTS_FILE = "documents.json"
_VECTORS_FILE = "vectors.faiss"
_LEXICAL_DIR = "lexical"
_EXACT_DIR = "exact"

BuildProgress = Callable[[str, int, int], None]
"""``progress(stage, done, total)`` with stage ``"embedding"``, ``"indexing"`` (FAISS) or ``"lexical"`` (BM25)."""


@dataclass(frozen=True)
class Hit:
    """One retrieved record."""

    record_id: str
    score: float
    """Fused reciprocal-rank score in hybrid mode; cosine similarity of the best chunk in dense-only mode; BM25
    score while only the keyword index exists. A record matching exactly scores the best of those, at least 1."""
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
    exact: ExactMatchIndex | None = None
    """Identifier and name values -> records; rebuilt by ``use_indexes`` from the records when absent."""

    def save(self, folder: str | Path) -> None:
        """Write the indexes into ``folder`` (the dataset store keeps them): the documents as JSON, the FAISS
        index file, the keyword index's files; nothing that runs code when read. The records are not written:
        ``load`` gets them from the caller, who keeps them once."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / _DOCUMENTS_FILE, "w", encoding="utf-8", errors="surrogatepass") as handle:
            rows = [[doc.record_id, doc.chunk_index, doc.text] for doc in self.documents]
            json.dump(rows, handle, ensure_ascii=False)
        if self.vectors is not None:
            self.vectors.save(folder / _VECTORS_FILE)
        if self.lexical is not None:
            self.lexical.save(folder / _LEXICAL_DIR)
        if self.exact is not None:
            self.exact.save(folder / _EXACT_DIR)

    @classmethod
    def load(cls, folder: str | Path, records: Sequence[Record]) -> _Indexes:
        """The indexes ``save`` wrote into ``folder``, over ``records`` (those they were built from); ValueError
        when the files do not fit together."""
        folder = Path(folder)
        with open(folder / _DOCUMENTS_FILE, encoding="utf-8", errors="surrogatepass") as handle:
            rows = json.load(handle)
        documents = [Document(record_id=str(row[0]), chunk_index=int(row[1]), text=str(row[2])) for row in rows]
        by_id = {record.id: record for record in records}
        if any(doc.record_id not in by_id for doc in documents):
            raise ValueError(f"{folder}: the documents name records the dataset does not hold")
        vectors = VectorIndex.load(folder / _VECTORS_FILE) if (folder / _VECTORS_FILE).exists() else None
        lexical = LexicalIndex.load(folder / _LEXICAL_DIR) if (folder / _LEXICAL_DIR).exists() else None
        for index in (vectors, lexical):
            if index is not None and index.size != len(documents):
                raise ValueError(f"{folder}: an index holds {index.size} texts, not {len(documents)}")
        exact_dir = folder / _EXACT_DIR
        exact = ExactMatchIndex.load(exact_dir, document_count=len(documents)) if exact_dir.exists() else None
        return cls(documents=documents, records=by_id, vectors=vectors, lexical=lexical, exact=exact)


def load_indexes(folder: str | Path, records: Sequence[Record]) -> _Indexes:
    """Built indexes saved by ``HybridRetriever.built_indexes.save(folder)``, for ``use_indexes``."""
    return _Indexes.load(folder, records)


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
        exact_match: bool = True,
    ) -> None:
        """``exact_match=False`` leaves out the exact-match channel (to measure what it brings)."""
        self.settings = settings
        self.exact_match = exact_match
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
        then, and ``semantic_progress`` tells how far the embeddings are); the exact-match index right
        after; then the embeddings, each distinct text once, and the vector index, after which searches
        are hybrid.
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
            exact = None
            embed_started = time.perf_counter()
            vectors = self._cached_vectors(key, len(documents))
            from_cache = vectors is not None
            if vectors is None:
                self._indexes = _Indexes(documents=documents, records=by_id, vectors=None, lexical=lexical)
                self._semantic_progress = (0, len(documents))
                if on_searchable is not None:
                    on_searchable()
                    on_searchable = None
                if documents:  # after ``on_searchable``: a fifth of the keyword index's time, not worth the wait
                    exact = ExactMatchIndex.build(documents, by_id)
                    self._indexes = replace(self._indexes, exact=exact)
                    embed_started = time.perf_counter()
                vectors = self._embed(texts, report_stage)
                if self.cache is not None and len(documents):
                    try:
                        self.cache.save(key, vectors)
                    except OSError as exc:  # a full or read-only disk costs the next load time, nothing else
                        logger.warning("cannot write the embedding cache in %s: %s", self.cache.directory, exc)
            else:
                report_stage("embedding", len(documents), len(documents))
            embedding_seconds = time.perf_counter() - embed_started
            if exact is None and documents:
                exact = ExactMatchIndex.build(documents, by_id)

            vector_index = None
            if len(documents):
                vector_index = VectorIndex.build(
                    vectors,
                    exact_max=self.settings.exact_index_max,
                    progress=lambda done, total: report_stage("indexing", done, total),
                )
            self._indexes = _Indexes(
                documents=documents, records=by_id, vectors=vector_index, lexical=lexical, exact=exact
            )
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
        if indexes.exact is None and indexes.documents:  # saved without it: about a second per 100,000 records
            indexes = replace(indexes, exact=ExactMatchIndex.build(indexes.documents, indexes.records))
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
    def label_field(self) -> str:
        """The dataset's name-like field (``name``, ``title``, else its first identifier-like text field), or ``""``."""
        indexes = self._indexes
        return indexes.exact.label_field if indexes is not None and indexes.exact is not None else ""

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
        """The ``k`` records that best match ``query``, best first; ``[]`` for a blank query.

        Records holding a code, id or name the question gives word for word come first, most specific
        first (``rag.exact_match``); the dense, keyword or fused ranking fills the rest."""
        indexes = self._indexes  # one snapshot for the whole search, even if a build finishes meanwhile
        if indexes is None:
            raise RAGError("no dataset is indexed yet: load a dataset before searching")
        query = query.strip()
        if not query or k < 1 or not indexes.documents:
            return []
        exact = []
        if self.exact_match and indexes.exact is not None:
            exact = indexes.exact.lookup(query, indexes.documents, indexes.records)
        candidates = min(len(indexes.documents), max(MIN_CANDIDATES, k * CANDIDATES_PER_HIT))
        if indexes.vectors is None:  # the embeddings are still being computed: keyword search alone
            if indexes.lexical is None:
                return self._ranked_hits(indexes, [], k, exact)
            scores, ids = indexes.lexical.search(query, candidates)
            return self._ranked_hits(indexes, [(int(i), float(sc)) for i, sc in zip(ids, scores)], k, exact)
        query_vector = self.embedder.encode([query])
        dense_scores, dense_ids = indexes.vectors.search(query_vector, candidates)
        dense = [(int(i), float(s)) for i, s in zip(dense_ids[0], dense_scores[0]) if i >= 0]
        if not self.settings.hybrid or indexes.lexical is None:
            return self._ranked_hits(indexes, dense, k, exact)
        _, lexical_ids = indexes.lexical.search(query, candidates)
        return self._fused_hits(indexes, [doc_id for doc_id, _ in dense], [int(i) for i in lexical_ids], k, exact)

    @staticmethod
    def _ranked_hits(
        indexes: _Indexes, ranked: list[tuple[int, float]], k: int, exact: Sequence[ExactMatch] = ()
    ) -> list[Hit]:
        """One hit per record in the order of ``ranked`` (document, score), after the exact matches."""
        order: list[tuple[str, int, float]] = []
        seen: set[str] = set()
        for doc_id, score in ranked:
            doc = indexes.documents[doc_id]
            if doc.record_id in seen:
                continue
            seen.add(doc.record_id)
            order.append((doc.record_id, doc_id, score))
            if len(order) == k and not exact:
                break
        return _exact_first(indexes, exact, order, k)

    @staticmethod
    def _fused_hits(
        indexes: _Indexes, dense: list[int], lexical: list[int], k: int, exact: Sequence[ExactMatch] = ()
    ) -> list[Hit]:
        """Reciprocal-rank fusion at record level, after the exact matches; each record's text is its best chunk
        by fused chunk score."""
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
        ordered = sorted(record_scores.items(), key=lambda item: -item[1])
        if not exact:
            ordered = ordered[:k]
        order = [(record_id, best_chunk[record_id], score) for record_id, score in ordered]
        return _exact_first(indexes, exact, order, k)


def _exact_first(
    indexes: _Indexes, exact: Sequence[ExactMatch], order: list[tuple[str, int, float]], k: int
) -> list[Hit]:
    """``k`` hits: the records matching exactly (equally specific ones in the order of the ranking), then the
    ranking ``order`` (record id, its best document, score; best first) without them."""
    if not exact:
        return [Hit(rid, score, indexes.documents[doc].text, indexes.records[rid]) for rid, doc, score in order[:k]]
    position = {rid: i for i, (rid, _, _) in enumerate(order)}

    def specificity(match: ExactMatch) -> tuple[Any, ...]:
        return match.rank_key, position.get(indexes.documents[match.doc].record_id, len(order)), match.doc

    winners = sorted(exact, key=specificity)[:k]
    score = max([1.0] + [score for _, _, score in order[:1]])
    hits = []
    for match in winners:
        doc = _chunk_holding(indexes.documents, match.doc, match.field)
        record_id = indexes.documents[doc].record_id
        hits.append(Hit(record_id, score, indexes.documents[doc].text, indexes.records[record_id]))
    taken = {hit.record_id for hit in hits}
    for rid, doc, rank_score in order:
        if len(hits) >= k:
            break
        if rid not in taken:
            hits.append(Hit(rid, rank_score, indexes.documents[doc].text, indexes.records[rid]))
    return hits


def _chunk_holding(documents: Sequence[Document], first: int, field_path: str) -> int:
    """The document of the record starting at ``first`` that holds the line of ``field_path`` (else ``first``)."""
    record_id, line = documents[first].record_id, f"{field_path}: "
    for position in range(first, len(documents)):
        doc = documents[position]
        if doc.record_id != record_id:
            break
        if doc.text.startswith(line) or f"\n{line}" in doc.text:
            return position
    return first
