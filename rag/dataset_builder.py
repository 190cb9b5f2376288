"""Makes a ``LoadedDataset``: its search index (with the one shared embedding model) and its analytic table,
for a file being loaded or for a dataset reopened from the store."""

from __future__ import annotations

import logging
from typing import Any, Callable

from rag.analytics.service import DatasetAnalytics
from rag.dataset_registry import DatasetInfo, LoadedDataset
from rag.dataset_store import StoredDataset
from rag.profile import DatasetProfile
from rag.records import Dataset
from rag.retriever import HybridRetriever
from rag.settings import Settings

log = logging.getLogger(__name__)


class DatasetBuilder:
    """Retrievers, analytic tables and loaded datasets, made with the settings in force."""

    def __init__(self, settings: Callable[[], Settings], embedder: Any = None) -> None:
        self._settings = settings
        self._embedder: Any = embedder

    @property
    def warm(self) -> bool:
        """Whether the embedding model is loaded (a question will not wait for it)."""
        return self._embedder is not None and bool(getattr(self._embedder, "loaded", True))

    def embedder(self) -> Any:
        """The embedding model every retriever shares, made (not loaded) on first use."""
        if self._embedder is None:
            from rag.embeddings import Embedder

            retrieval = self._settings().retrieval
            self._embedder = Embedder(retrieval.embedding_model, batch_size=retrieval.batch_size)
        return self._embedder

    def retriever(self) -> HybridRetriever:
        """A new, empty retriever."""
        settings = self._settings()
        return HybridRetriever(settings.retrieval, embedder=self.embedder(), cache=self._embedding_cache(settings))

    @staticmethod
    def _embedding_cache(settings: Settings) -> Any:
        if not settings.cache.enabled:
            return None
        from rag.embeddings import EmbeddingCache

        return EmbeddingCache(settings.cache_dir() / "embeddings")

    def analytics(self, dataset: Dataset, profile: DatasetProfile) -> DatasetAnalytics | None:
        """The analytic table of ``dataset``; None (answers use retrieval only) when it cannot be built."""
        settings = self._settings().analytics
        try:
            return DatasetAnalytics.build(
                dataset,
                profile,
                memory_limit_mb=settings.memory_limit_mb,
                query_timeout=settings.query_timeout,
            )
        except Exception:  # a table that cannot be built must not stop the dataset from loading
            log.exception("the analytic table of %s could not be built", dataset.name)
            return None

    def from_store(self, entry: StoredDataset, dataset_id: str) -> LoadedDataset:
        """A dataset reopened from the store, its analytic table built again from its records."""
        retriever = self.retriever()
        retriever.use_indexes(entry.indexes)
        dataset = entry.dataset
        info = DatasetInfo.describe(
            dataset, entry.profile, dataset_id=dataset_id, index={**entry.index_report, "from_store": True}
        )
        return loaded_dataset(dataset, info, retriever, self.analytics(dataset, entry.profile))


def loaded_dataset(
    dataset: Dataset, info: DatasetInfo, retriever: HybridRetriever, analytics: DatasetAnalytics | None
) -> LoadedDataset:
    """``dataset`` with its facts, index and table, its records found by id."""
    return LoadedDataset(
        dataset=dataset,
        info=info,
        retriever=retriever,
        analytics=analytics,
        by_id={record.id: record for record in dataset.records},
    )
