"""The datasets open in this process: the most recently used kept in memory (``data.memory_datasets``), every
fully indexed one kept in the ``DatasetStore`` on disk (from which any process reopens it by id), the one
loaded last (answered over when a question names none), and the dataset each tab chose last."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from rag.analytics.service import DatasetAnalytics
from rag.dataset_store import DatasetStore, StoredDataset
from rag.profile import DatasetProfile
from rag.records import Dataset, Record
from rag.retriever import HybridRetriever

MAX_TAB_CHOICES = 10_000
"""Tabs whose latest dataset choice is remembered (the oldest are forgotten first)."""


@dataclass(frozen=True)
class DatasetInfo:
    """What the page shows about the loaded dataset."""

    name: str
    content_hash: str
    record_count: int
    root_path: str
    size_bytes: int
    profile: DatasetProfile
    index: dict[str, Any] = field(default_factory=dict)
    """How the search index was built: kind, chunks, seconds, from_cache."""
    dataset_id: str = ""
    """Names the dataset for ``chat_stream`` and ``open_dataset``, in any process sharing the store."""

    @classmethod
    def describe(
        cls, dataset: Dataset, profile: DatasetProfile, *, dataset_id: str, index: dict[str, Any] | None = None
    ) -> "DatasetInfo":
        """The facts about ``dataset``."""
        return cls(
            name=dataset.name,
            content_hash=dataset.content_hash,
            record_count=len(dataset.records),
            root_path=dataset.root_path,
            size_bytes=dataset.size_bytes,
            profile=profile,
            index=dict(index or {}),
            dataset_id=dataset_id,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (for ``dcc.Store`` and exports)."""
        return {
            "dataset_id": self.dataset_id,
            "name": self.name,
            "content_hash": self.content_hash,
            "record_count": self.record_count,
            "root_path": self.root_path,
            "size_bytes": self.size_bytes,
            "profile": self.profile.to_dict(),
            "index": dict(self.index),
        }


@dataclass
class LoadedDataset:
    """A dataset ready for questions: its records, facts, search index and analytic table."""

    dataset: Dataset
    info: DatasetInfo
    retriever: HybridRetriever
    analytics: DatasetAnalytics | None = None
    by_id: dict[str, Record] = field(default_factory=dict)


class DatasetRegistry:
    """The open datasets by id (least recently used first), the one loaded last, and each tab's choice."""

    def __init__(
        self,
        store: DatasetStore | None,
        *,
        memory_datasets: int,
        reopen: Callable[[StoredDataset, str], LoadedDataset],
        save_in_background: bool = True,
    ) -> None:
        self.store = store
        self.last: LoadedDataset | None = None
        """The dataset loaded last: questions that name no dataset are answered over it."""
        self._memory_datasets = memory_datasets
        self._reopen = reopen
        self._save_in_background = save_in_background
        self._open: OrderedDict[str, LoadedDataset] = OrderedDict()
        self._open_lock = threading.Lock()
        self._tab_choices: OrderedDict[str, str] = OrderedDict()
        """The dataset each tab loaded or reopened last here: it wins over the one the tab's request names,
        which the page learns a moment later."""
        self._choices_lock = threading.Lock()

    def open_ids(self) -> list[str]:
        """The ids of the datasets open in memory, least recently used first."""
        with self._open_lock:
            return list(self._open)

    def find(self, dataset_id: str | None) -> LoadedDataset | None:
        """``dataset_id`` open or reopened from the store; the dataset loaded last when None."""
        return self.open(dataset_id) if dataset_id else self.last

    def open(self, dataset_id: str) -> LoadedDataset | None:
        """An open dataset, or one reopened from the store (kept open from then on). Ids come from browsers:
        anything but a key the store makes is None at once, the store untouched."""
        if not DatasetStore.is_key(dataset_id):
            return None
        with self._open_lock:
            loaded = self._open.get(dataset_id)
            if loaded is not None:
                self._open.move_to_end(dataset_id)
        if loaded is not None:
            if self.store is not None:
                self.store.touch(dataset_id)  # used by a tab: eviction keeps it (written at most once a minute)
            return loaded
        loaded = self._open_stored(dataset_id)
        if loaded is not None:
            self.keep_open(loaded)
        return loaded

    def _open_stored(self, dataset_id: str) -> LoadedDataset | None:
        if self.store is None:
            return None
        entry = self.store.open(dataset_id)
        return self._reopen(entry, dataset_id) if entry is not None else None

    def keep_open(self, loaded: LoadedDataset) -> None:
        """Keep ``loaded`` open; beyond ``data.memory_datasets``, close the least recently used ones (they
        stay in the store; the dataset loaded last always stays open)."""
        with self._open_lock:
            self._open[loaded.info.dataset_id] = loaded
            self._open.move_to_end(loaded.info.dataset_id)
            for dataset_id in list(self._open):
                if len(self._open) <= self._memory_datasets:
                    break
                if self._open[dataset_id] is not self.last:
                    del self._open[dataset_id]

    def make_current(self, loaded: LoadedDataset, tab: str = "") -> None:
        """Questions are answered over ``loaded`` from now on: ``tab``'s, and those naming no dataset."""
        self.last = loaded
        self.keep_open(loaded)
        if tab:
            self.choose(tab, loaded.info.dataset_id)

    def withdraw(self, loaded: LoadedDataset, previous: LoadedDataset | None, tab: str, tab_before: str | None) -> None:
        """A load that failed after ``loaded`` became current: back to ``previous``, and ``tab`` back to
        ``tab_before`` (its dataset when the load began)."""
        dataset_id = loaded.info.dataset_id
        if self.last is loaded:
            self.last = previous
        with self._open_lock:
            if self._open.get(dataset_id) is loaded:
                del self._open[dataset_id]
        with self._choices_lock:
            if tab and self._tab_choices.get(tab) == dataset_id:
                if tab_before:
                    self._tab_choices[tab] = tab_before
                else:
                    del self._tab_choices[tab]

    def choose(self, tab: str, dataset_id: str) -> None:
        """``tab`` chats with ``dataset_id`` from now on."""
        with self._choices_lock:
            self._tab_choices[tab] = dataset_id
            self._tab_choices.move_to_end(tab)
            while len(self._tab_choices) > MAX_TAB_CHOICES:
                self._tab_choices.popitem(last=False)

    def tab_choice(self, tab: str) -> str | None:
        """The dataset ``tab`` loaded or reopened last in this process, if any."""
        if not tab:
            return None
        with self._choices_lock:
            return self._tab_choices.get(tab)

    def save(self, loaded: LoadedDataset) -> None:
        """Keep a fully indexed dataset in the store (in the background within one process; at once when other
        workers open it by id as soon as the load ends)."""
        indexes = loaded.retriever.built_indexes
        if self.store is None or indexes is None:
            return
        entry = StoredDataset(
            dataset=loaded.dataset, profile=loaded.info.profile, indexes=indexes, index_report=dict(loaded.info.index)
        )
        if not self._save_in_background:
            self.store.save(loaded.info.dataset_id, entry)
            return
        threading.Thread(
            target=self.store.save, args=(loaded.info.dataset_id, entry), name="dataset-store-save", daemon=True
        ).start()
