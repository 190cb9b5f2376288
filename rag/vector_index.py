"""Nearest-neighbour search over normalised vectors with FAISS (inner product = cosine similarity).

Up to ``exact_max`` vectors the index is exact (``IndexFlatIP``); above it, approximate
(``IndexHNSWFlat`` with the inner-product metric). ``recall_at_k`` measures how much the
approximate index loses against the exact one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import faiss
import numpy as np

HNSW_M = 32
"""Neighbours per node of the HNSW graph."""
HNSW_EF_CONSTRUCTION = 80
"""Candidate list size while building the graph."""
HNSW_EF_SEARCH = 128
"""Candidate list size while searching (raised to ``k`` when ``k`` is larger)."""
ADD_BATCH = 8192
"""Vectors added per step, so that building reports progress."""

IndexProgress = Callable[[int, int], None]


def _as_matrix(vectors: np.ndarray) -> np.ndarray:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {vectors.shape}")
    return matrix


class VectorIndex:
    """A FAISS inner-product index; read-only after ``build``, so searches may run in parallel."""

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self._index = index
        self.kind = kind
        """``"exact"`` (flat) or ``"hnsw"`` (approximate)."""

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        *,
        exact_max: int,
        progress: IndexProgress | None = None,
    ) -> VectorIndex:
        """Index ``vectors`` (rows of length 1): exact when there are at most ``exact_max`` of them."""
        matrix = _as_matrix(vectors)
        count, dimension = matrix.shape
        if count <= exact_max:
            index: faiss.Index = faiss.IndexFlatIP(dimension)
            kind = "exact"
        else:
            index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
            kind = "hnsw"
        if progress is not None:
            progress(0, count)
        for start in range(0, count, ADD_BATCH):
            index.add(matrix[start : start + ADD_BATCH])
            if progress is not None:
                progress(min(start + ADD_BATCH, count), count)
        return cls(index, kind)

    def save(self, path: str | Path) -> None:
        """Write the index to the file ``path`` (FAISS's own format: data, nothing that runs code when read)."""
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        """The index ``save`` wrote; ValueError when the file holds another kind of index."""
        index = faiss.read_index(str(path))
        if isinstance(index, faiss.IndexHNSWFlat):
            kind = "hnsw"
        elif isinstance(index, faiss.IndexFlatIP):
            kind = "exact"
        else:
            raise ValueError(f"{path} holds a {type(index).__name__}, not an index this app builds")
        if index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise ValueError(f"{path} holds an index that does not rank by inner product")
        return cls(index, kind)

    @property
    def size(self) -> int:
        """Number of vectors indexed."""
        return int(self._index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` per query: ``(scores, ids)``, both ``(n_queries, k)``; missing places have id -1."""
        queries = _as_matrix(query_vectors)
        if queries.shape[1] != self.dimension:
            raise ValueError(f"query vectors have {queries.shape[1]} dimensions, the index {self.dimension}")
        if k < 1 or self.size == 0:
            empty = (len(queries), max(k, 0))
            return np.zeros(empty, dtype=np.float32), np.full(empty, -1, dtype=np.int64)
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(HNSW_EF_SEARCH, k)
            return self._index.search(queries, k, params=params)
        return self._index.search(queries, k)


def recall_at_k(index: VectorIndex, vectors: np.ndarray, queries: np.ndarray, k: int) -> float:
    """Share of the exact top-``k`` neighbours of ``queries`` that ``index`` also returns (1.0 = no loss).

    ``vectors`` are the vectors ``index`` was built from; the exact answer comes from a flat index over them.
    """
    exact = VectorIndex.build(vectors, exact_max=len(vectors))
    _, truth = exact.search(queries, k)
    _, found = index.search(queries, k)
    hits = total = 0
    for expected, got in zip(truth, found):
        wanted = {int(i) for i in expected if i >= 0}
        hits += len(wanted & {int(i) for i in got if i >= 0})
        total += len(wanted)
    return hits / total if total else 1.0
