"""The RAG engine: loaded datasets and their retrievers, an LLM client, a response cache.

``chat_stream`` returns at once: a background thread runs the answer's pipeline, a generator of typed
events (``rag.answer_events``: waits, the computed part, sources, metadata, text, the end) that waits for
the tab's load, replays a cached answer or retrieves and streams the generation, checked by the grounding
stage (``grounded``); one sink (``rag.answer_sink``) writes the events into the ``StreamBuffer``, and
``chat`` reads the same events. Everything the page needs to render an answer (text, sources, metrics,
metadata, status) goes through the buffer; the cache keeps an answer's events and replays them.

Several datasets can be open at once (each tab of the page chats with the one it loaded, named by
its ``dataset_id``); the most recently used stay in memory (``data.memory_datasets``), and every
fully indexed dataset is kept in the ``DatasetStore`` on disk, from which any process reopens it
without indexing again. A question that names no dataset is answered over the one loaded last.
"""

from __future__ import annotations

import dataclasses
import logging
import queue as queues
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generator, Iterable, Iterator, Mapping, Sequence

from rag.analytics.answer import prompt_facts
from rag.analytics.lexicons import detect_language
from rag.analytics.plan import Refusal
from rag.analytics.service import DatasetAnalytics
from rag.answer_events import (
    FINAL_EVENTS,
    AnswerEvent,
    AnswerState,
    Computed,
    Failed,
    Finished,
    Meta,
    Sources,
    TextDelta,
    Thinking,
    Waiting,
    grounded,
    replay,
)
from rag.answer_sink import write_event, write_events
from rag.cache import AnswerCache, ResponseCache, answer_key, cached_answer, store_answer
from rag.dataset_store import DatasetStore, StoredDataset, store_key
from rag.documents import record_text
from rag.errors import ConfigError, DataLoadError, LLMError, RAGError
from rag.llm.base import LLMClient
from rag.llm.cancel import CancelToken
from rag.llm.types import BackendStatus
from rag.llm_choice import AppAddress, client_key, refuse_app_address
from rag.loader import load_dataset
from rag.loading import LoadTicket
from rag.profile import DatasetProfile, profile_dataset
from rag.prompt import build_prompt, cited_labels, estimate_tokens
from rag.records import Dataset, Record
from rag.retriever import Hit, HybridRetriever
from rag.semantic_wait import WAIT_LIMIT_SECONDS, expected_wait, wait_until_ready
from rag.settings import LLMSettings, Settings, apply_overrides, load_settings
from rag.state import SHARED_STATE_ERRORS, make_stream_buffer
from rag.stream_buffer import DONE, ERROR, STOPPED, StreamBuffer, StreamSnapshot

log = logging.getLogger(__name__)

Events = Generator[AnswerEvent, None, Any]
"""A part of the answer pipeline: yields events, returns what its caller needs to go on."""

Progress = Callable[[str, int, int], None]

NO_DATASET_MESSAGE = "No dataset is loaded yet: upload a JSON file or click “Load example” first."
NO_MATCH_MESSAGE = "No record contains the words of this question, so there is nothing to answer from."
NO_MATCH_WHILE_INDEXING = (
    " Semantic search (which finds records by meaning) is still indexing, {percent}% done: ask again when it"
    " finishes, or use words the records contain."
)
DATASET_GONE_MESSAGE = (
    "The dataset this tab was using is no longer kept by the app (it was removed from the dataset store): "
    "load the file again."
)
DEFAULT_CONTEXT_WINDOW = 4096
MAX_AUTO_CONTEXT_WINDOW = 8192
LOAD_WAIT_POLL_SECONDS = 0.1
MAX_TAB_CHOICES = 10_000
"""Tabs whose latest dataset choice is remembered (the oldest are forgotten first)."""
SHARE_LOAD_SECONDS = 0.5
"""With several workers, how often a load's progress is shown to the others (and a Cancel looked for)."""
RENEW_TURN_SECONDS = 5.0
"""How often an answer holding one of the model's turns (``llm.max_concurrent``) says it still does."""
STOP_CHECK_SECONDS = 0.1
"""With a shared buffer, how often a worker looks for Stops sent to other workers for its answers."""
HEARTBEAT_SECONDS = 1.0
"""With a shared buffer, how often a worker says the answers it produces are still alive."""
ORPHANED_AFTER_SECONDS = 6.0
"""An answer still streaming whose worker has not said so for this long was left by a worker that died."""
ORPHANED_MESSAGE = (
    "The worker producing this answer stopped (it was restarted, killed or ran out of memory); "
    "the text received so far is kept. Send the question again."
)
LOAD_START_TIMEOUT = 30.0
"""Seconds a question waits for an announced file that never starts loading (the browser lost it)."""
CLIENTS_KEPT = 8
"""Clients kept for the settings tabs chose (least recently used dropped first; the configured one and the
embedded model are kept for good)."""
PANEL_STATUS_WAIT = 2.0
"""Longest wait, in seconds, for a new check of a model server (``backend_status``)."""
COMPUTED_PROMPT_RECORDS = 3
"""Records given to the model with a result that names records (argmax/argmin). The matches behind a
count are shown as sources only: beside them, small models repeat their numbers instead of the count."""


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


@dataclass(frozen=True)
class Answer:
    """A finished answer, as ``chat`` returns it."""

    session_id: str
    text: str
    status: str
    error: str | None
    sources: list[dict[str, Any]]
    metrics: dict[str, Any]
    meta: dict[str, Any]


@dataclass
class _Run:
    """One answer being produced."""

    cancel: CancelToken = field(default_factory=CancelToken)
    done: threading.Event = field(default_factory=threading.Event)
    meta: dict[str, Any] = field(default_factory=dict)
    """The metadata the answer started with (a copy)."""
    listener: Callable[[AnswerEvent | None], None] | None = None
    """Hears each event once the sink wrote it, then None when the answer's thread ends (``chat``)."""

    def listen(self, event: AnswerEvent | None) -> None:
        if self.listener is not None:
            self.listener(event)


@dataclass
class _Loaded:
    dataset: Dataset
    info: DatasetInfo
    retriever: HybridRetriever
    analytics: DatasetAnalytics | None = None
    by_id: dict[str, Record] = field(default_factory=dict)


class RAGEngine:
    """Retrieval-augmented chat over one JSON dataset at a time."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        buffer: StreamBuffer | None = None,
        client_factory: Callable[..., LLMClient] | None = None,
        cache: AnswerCache | None = None,
        embedder: Any = None,
    ) -> None:
        self._settings = settings or Settings()
        self._buffer = buffer if buffer is not None else make_stream_buffer(self._settings.state)
        self._shared_state: Any = getattr(self._buffer, "client", None)
        """The Redis connection when the buffer is shared by several workers; None within one process."""
        self._client_factory = client_factory or _create_client
        self._client: LLMClient | None = None
        self._clients: OrderedDict[str, LLMClient] = OrderedDict()
        """Clients for settings tabs chose, by ``client_key``, least recently used first."""
        self._client_lock = threading.Lock()
        self.app_address = AppAddress(self._settings.server.host, self._settings.server.port)
        """Where this app listens: a model server there is refused (the app would ask itself)."""
        self._probes = self._make_probes()
        self._loaded: _Loaded | None = None
        """The dataset loaded last: questions that name no dataset are answered over it."""
        self.answer_last_by_default = True
        """Whether a question naming no dataset is answered over the dataset loaded last; False when visitors are
        isolated (``dashboard.visitors``): that dataset may be anyone's."""
        self._datasets: OrderedDict[str, _Loaded] = OrderedDict()
        """Open datasets by id, least recently used first."""
        self._datasets_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: dict[str, LoadTicket] = {}
        """The load announced or running in each tab."""
        self._tab_choices: OrderedDict[str, str] = OrderedDict()
        """The dataset each tab loaded or reopened last here: it wins over the one the tab's request names,
        which the page learns a moment later."""
        self._store = self._make_store()
        self._load_board = self._make_load_board()
        self._model_queue = self._make_model_queue()
        self._embedder: Any = embedder
        self._running: dict[str, _Run] = {}
        self._running_lock = threading.Lock()
        self._stop_watcher: threading.Thread | None = None
        self._cache = cache if cache is not None else self._make_cache()

    # ----------------------------------------------------------------- state
    @property
    def settings(self) -> Settings:
        """The settings in force (a copy is made on every change)."""
        return self._settings

    @property
    def buffer(self) -> StreamBuffer:
        """The buffer answers are streamed into."""
        return self._buffer

    @property
    def dataset(self) -> Dataset | None:
        """The loaded dataset, if any."""
        loaded = self._loaded
        return loaded.dataset if loaded else None

    @property
    def dataset_info(self) -> DatasetInfo | None:
        """Facts about the loaded dataset, if any."""
        loaded = self._loaded
        return loaded.info if loaded else None

    @property
    def profile(self) -> DatasetProfile | None:
        """The profile of the loaded dataset, if any."""
        loaded = self._loaded
        return loaded.info.profile if loaded else None

    @property
    def shared_state(self) -> Any:
        """The Redis connection the workers share answers, Stops and loads through; None within one process."""
        return self._shared_state

    @property
    def store(self) -> DatasetStore | None:
        """The dataset store on disk (None when caching is off or ``data.store_max_gb`` is 0)."""
        return self._store

    def _make_cache(self) -> AnswerCache | None:
        """The response cache: in this process and on disk, or in Redis shared by every worker."""
        settings = self._settings.cache
        if not settings.enabled:
            return None
        if self._shared_state is not None:
            from rag.redis_cache import RedisResponseCache

            return RedisResponseCache(self._shared_state, max_items=settings.shared_max_answers)
        return ResponseCache(self._settings.cache_dir() / "answers", max_items=settings.max_answers)

    def _make_model_queue(self) -> Any:
        """The line for the model (``llm.max_concurrent``): in this process, or shared through Redis."""
        limit = self._settings.llm.max_concurrent
        if limit is None:
            return None
        from rag.model_queue import ModelQueue, RedisModelQueue

        return RedisModelQueue(self._shared_state, limit) if self._shared_state is not None else ModelQueue(limit)

    def _make_load_board(self) -> Any:
        """With a buffer in Redis: where each tab's load is shown to the other workers."""
        if self._shared_state is None:
            return None
        from rag.redis_buffer import RedisLoadBoard

        return RedisLoadBoard(self._shared_state)

    def _share(self, ticket: LoadTicket, *, finished: bool = False) -> None:
        """Show the load to the other workers; a Cancel one of them received cancels it here."""
        if self._load_board is None:
            return
        try:
            if self._load_board.publish(ticket.tab, ticket.to_state(finished=finished)):
                ticket.cancelled.set()
        except Exception:  # Redis away: this worker's own questions still wait for the load
            log.warning("cannot share the load of %s", ticket.name, exc_info=True)

    def _make_store(self) -> DatasetStore | None:
        data = self._settings.data
        if not self._settings.cache.enabled or data.store_max_gb <= 0:
            return None
        return DatasetStore(self._settings.cache_dir() / "datasets", max_bytes=int(data.store_max_gb * 1024**3))

    # ------------------------------------------------------------------ data
    def begin_load(self, name: str, *, tab: str = "") -> LoadTicket:
        """Announce a load of ``name`` in ``tab`` before it starts: the tab's questions sent from now on wait
        for it, and a load still running in that tab is cancelled (a new upload replaces it instead of
        queueing behind it). Other tabs are not affected."""
        ticket = LoadTicket(name=name, tab=tab)
        with self._pending_lock:
            previous = self._pending.get(tab)
            if previous is not None:
                previous.replaced_by = ticket
                previous.cancelled.set()
            self._pending[tab] = ticket
        self._share(ticket)
        return ticket

    def expect_load(self, name: str, *, tab: str = "") -> LoadTicket:
        """A load of ``name`` is on its way (the page has the file, the app not yet): the tab's questions wait
        for it. Unlike ``begin_load`` it keeps a load already announced; one that never starts is given up
        after ``LOAD_START_TIMEOUT`` seconds by the questions waiting for it."""
        with self._pending_lock:
            ticket = self._pending.get(tab)
            if ticket is None:
                ticket = self._pending[tab] = LoadTicket(name=name, tab=tab)
                self._share(ticket)
            return ticket

    def cancel_load(self, *, tab: str = "") -> bool:
        """Cancel the load in progress in ``tab``, if any; the dataset loaded before stays."""
        with self._pending_lock:
            ticket = self._pending.get(tab)
        if ticket is None:  # loading in another worker, perhaps
            return self._load_board.request_cancel(tab) if self._load_board is not None else False
        ticket.cancelled.set()
        return True

    def pending_load(self, *, tab: str = "") -> LoadTicket | None:
        """The load announced or running in ``tab``, if any."""
        with self._pending_lock:
            return self._pending.get(tab)

    def _release(self, ticket: LoadTicket) -> None:
        """The load of ``ticket`` ended: later questions need not wait for it."""
        with self._pending_lock:
            if self._pending.get(ticket.tab) is ticket:
                del self._pending[ticket.tab]

    def open_dataset(self, dataset_id: str, *, tab: str = "") -> DatasetInfo | None:
        """Make a stored dataset ``tab``'s (and the one answered from by default), reopening it from the store
        if needed; None when it is neither open nor stored."""
        loaded = self._dataset_for(dataset_id)
        if loaded is None:
            return None
        self._loaded = loaded
        if tab:
            self._choose(tab, dataset_id)
            chosen = LoadTicket(name=loaded.info.name, tab=tab, dataset_id=dataset_id)
            self._share(chosen, finished=True)  # other workers: this tab now chats with it
        return loaded.info

    def _choose(self, tab: str, dataset_id: str) -> None:
        with self._pending_lock:
            self._tab_choices[tab] = dataset_id
            self._tab_choices.move_to_end(tab)
            while len(self._tab_choices) > MAX_TAB_CHOICES:
                self._tab_choices.popitem(last=False)

    def _tab_dataset(self, tab: str) -> str | None:
        """The dataset ``tab`` loaded or reopened last, here or (recently) in another worker."""
        if not tab:
            return None
        with self._pending_lock:
            chosen = self._tab_choices.get(tab)
        if chosen is None and self._load_board is not None:
            try:
                state = self._load_board.get(tab)
            except Exception:
                state = None
            if state is not None and state.get("finished") and state.get("dataset_id") and not state.get("error"):
                chosen = state["dataset_id"]
        return chosen

    def dataset_by_id(self, dataset_id: str | None) -> tuple[Dataset, DatasetInfo] | None:
        """The records and facts of ``dataset_id`` (the dataset loaded last when None)."""
        loaded = self._dataset_for(dataset_id) if dataset_id else self._loaded
        return (loaded.dataset, loaded.info) if loaded is not None else None

    def _dataset_for(self, dataset_id: str) -> _Loaded | None:
        """An open dataset, or one reopened from the store (kept open from then on). Ids come from browsers:
        anything but a key the store makes is None at once, the store untouched."""
        if not DatasetStore.is_key(dataset_id):
            return None
        with self._datasets_lock:
            loaded = self._datasets.get(dataset_id)
            if loaded is not None:
                self._datasets.move_to_end(dataset_id)
        if loaded is not None:
            if self._store is not None:
                self._store.touch(dataset_id)  # used by a tab: eviction keeps it (written at most once a minute)
            return loaded
        loaded = self._open_stored(dataset_id)
        if loaded is not None:
            self._remember(loaded)
        return loaded

    def _remember(self, loaded: _Loaded) -> None:
        """Keep ``loaded`` open; beyond ``data.memory_datasets``, forget the least recently used ones (they
        stay in the store; the dataset loaded last always stays open)."""
        with self._datasets_lock:
            self._datasets[loaded.info.dataset_id] = loaded
            self._datasets.move_to_end(loaded.info.dataset_id)
            for dataset_id in list(self._datasets):
                if len(self._datasets) <= self._settings.data.memory_datasets:
                    break
                if self._datasets[dataset_id] is not self._loaded:
                    del self._datasets[dataset_id]

    def _open_stored(self, dataset_id: str) -> _Loaded | None:
        """A dataset reopened from the store, its analytic table built again from its records."""
        if self._store is None:
            return None
        entry = self._store.open(dataset_id)
        if entry is None:
            return None
        retriever = self._new_retriever()
        retriever.use_indexes(entry.indexes)
        dataset = entry.dataset
        info = DatasetInfo.describe(
            dataset, entry.profile, dataset_id=dataset_id, index={**entry.index_report, "from_store": True}
        )
        return _Loaded(
            dataset=dataset,
            info=info,
            retriever=retriever,
            analytics=self._build_analytics(dataset, entry.profile),
            by_id={record.id: record for record in dataset.records},
        )

    def _new_retriever(self) -> HybridRetriever:
        return HybridRetriever(self._settings.retrieval, embedder=self._shared_embedder(), cache=self._embedding_cache())

    def _save_to_store(self, loaded: _Loaded) -> None:
        """Keep a fully indexed dataset in the store (in the background: the load has already ended)."""
        indexes = loaded.retriever.built_indexes
        if self._store is None or indexes is None:
            return
        entry = StoredDataset(
            dataset=loaded.dataset, profile=loaded.info.profile, indexes=indexes, index_report=dict(loaded.info.index)
        )
        if self._shared_state is not None:  # other workers open it by id as soon as the load ends
            self._store.save(loaded.info.dataset_id, entry)
            return
        threading.Thread(
            target=self._store.save, args=(loaded.info.dataset_id, entry), name="dataset-store-save", daemon=True
        ).start()

    def load_json(
        self,
        source: Any,
        *,
        name: str | None = None,
        progress: Progress | None = None,
        ticket: LoadTicket | None = None,
    ) -> DatasetInfo:
        """Load, profile and index a dataset; on any failure (or a cancel) the previous dataset stays loaded.

        Questions can be asked as soon as the records, the analytic table and the keyword index are
        ready; the embeddings follow in the background of this call, and searches are hybrid after it.
        """
        ticket = ticket or self.begin_load(name or _source_name(source))
        shared_at = [0.0, ""]

        def report(stage: str, done: int, total: int) -> None:
            ticket.report(stage, done, total)
            if stage != shared_at[1] or time.monotonic() - shared_at[0] >= SHARE_LOAD_SECONDS:
                shared_at[:] = [time.monotonic(), stage]
                self._share(ticket)
            if progress:
                progress(stage, done, total)

        try:
            return self._load(source, name, report, ticket)
        except RAGError as exc:
            ticket.fail(str(exc))
            raise
        except Exception as exc:
            ticket.fail(f"Loading failed unexpectedly: {exc}")
            raise
        finally:  # questions already waiting hold the ticket and read its outcome; later ones need not wait
            self._share(ticket, finished=True)
            self._release(ticket)

    def _load(self, source: Any, name: str | None, report: Progress, ticket: LoadTicket) -> DatasetInfo:
        data = self._settings.data
        report("parsing", 0, 1)
        dataset = load_dataset(
            source, name=name, max_bytes=int(data.max_upload_mb * 1024 * 1024), max_depth=data.max_depth
        )
        retriever = self._new_retriever()
        dataset_id = store_key(dataset.content_hash, retriever.index_fingerprint())
        known = self._dataset_for(dataset_id)  # open already, or in the store: nothing to index
        if known is not None:
            if known.dataset.name != dataset.name:
                known = dataclasses.replace(known, info=dataclasses.replace(known.info, name=dataset.name))
            self._use(known, ticket)
            report("ready", 1, 1)
            return known.info
        report("profiling", 0, 1)
        profile = profile_dataset(dataset.records)
        report("table", 0, 1)
        analytics = self._build_analytics(dataset, profile)
        info = DatasetInfo.describe(dataset, profile, dataset_id=dataset_id)
        loaded = _Loaded(
            dataset=dataset,
            info=info,
            retriever=retriever,
            analytics=analytics,
            by_id={record.id: record for record in dataset.records},
        )
        previous = self._loaded
        with self._pending_lock:
            tab_before = self._tab_choices.get(ticket.tab) if ticket.tab else None

        def searchable() -> None:  # keyword search works: questions are answered over the new file from now on
            self._use(loaded, ticket)
            report("embedding", 0, len(dataset.records))

        try:
            build = retriever.build(dataset, content_hash=dataset.content_hash, progress=report, on_searchable=searchable)
        except Exception as exc:
            self._forget(loaded, previous, ticket, tab_before)
            if analytics is not None:
                analytics.close()
            if isinstance(exc, (DataLoadError, ConfigError)):
                raise
            log.exception("indexing failed")
            raise DataLoadError(f"{dataset.name}: the records could not be indexed ({exc})") from exc
        info.index.update(dataclasses.asdict(build))
        self._use(loaded, ticket)
        self._save_to_store(loaded)
        report("ready", 1, 1)
        return info

    def _use(self, loaded: _Loaded, ticket: LoadTicket) -> None:
        """Questions are answered over ``loaded`` from now on: the ticket's tab's, and those naming no dataset."""
        self._loaded = loaded
        self._remember(loaded)
        if ticket.tab:
            self._choose(ticket.tab, loaded.info.dataset_id)
        ticket.dataset_id = loaded.info.dataset_id
        ticket.searchable.set()

    def _forget(self, loaded: _Loaded, previous: _Loaded | None, ticket: LoadTicket, tab_before: str | None) -> None:
        """A load that failed (or was cancelled) after its dataset became searchable: back to the dataset loaded
        before, for the tab too (``tab_before``, its dataset when the load began)."""
        dataset_id = loaded.info.dataset_id
        if self._loaded is loaded:
            self._loaded = previous
        with self._datasets_lock:
            if self._datasets.get(dataset_id) is loaded:
                del self._datasets[dataset_id]
        with self._pending_lock:
            if ticket.tab and self._tab_choices.get(ticket.tab) == dataset_id:
                if tab_before:
                    self._tab_choices[ticket.tab] = tab_before
                else:
                    del self._tab_choices[ticket.tab]
        if ticket.dataset_id == dataset_id:
            ticket.dataset_id = None  # other workers must not follow the tab to a dataset that is gone

    def _build_analytics(self, dataset: Dataset, profile: DatasetProfile) -> DatasetAnalytics | None:
        """The analytic table of ``dataset``; None (answers use retrieval only) when it cannot be built."""
        settings = self._settings.analytics
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

    @property
    def analytics(self) -> DatasetAnalytics | None:
        """The analytic table and planners of the loaded dataset, if any."""
        loaded = self._loaded
        return loaded.analytics if loaded else None

    def analytics_for(self, dataset_id: str | None) -> DatasetAnalytics | None:
        """The analytic table and planners of ``dataset_id`` (the dataset loaded last when None), if any."""
        loaded = self._dataset_for(dataset_id) if dataset_id else self._loaded
        return loaded.analytics if loaded is not None else None

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """The records that best match ``query`` (empty when no dataset is loaded)."""
        loaded = self._loaded
        if loaded is None:
            return []
        return loaded.retriever.search(query, k=k or self._settings.retrieval.top_k)

    @property
    def warm(self) -> bool:
        """Whether the embedding model is loaded (a question will not wait for it)."""
        return self._embedder is not None and bool(getattr(self._embedder, "loaded", True))

    def warm_up(self) -> None:
        """Load the embedding model now (the app calls it in the background at start), so that the first
        question of a new process or worker does not wait seconds for it."""
        try:
            self._shared_embedder().load()
        except Exception:  # the same error reaches the user with the first load or question
            log.warning("the embedding model could not be loaded ahead of time", exc_info=True)

    def _shared_embedder(self) -> Any:
        if self._embedder is None:
            from rag.embeddings import Embedder

            retrieval = self._settings.retrieval
            self._embedder = Embedder(retrieval.embedding_model, batch_size=retrieval.batch_size)
        return self._embedder

    def _embedding_cache(self) -> Any:
        if not self._settings.cache.enabled:
            return None
        from rag.embeddings import EmbeddingCache

        return EmbeddingCache(self._settings.cache_dir() / "embeddings")

    # ------------------------------------------------------------------- llm
    def client(self, llm: LLMSettings | None = None) -> LLMClient:
        """The LLM client for ``llm`` (the configured settings when None), made on first use and kept: the
        configured one and the embedded model for good, others among the ``CLIENTS_KEPT`` used last. Raises
        ``ConfigError`` for a server at the app's own address."""
        configured = self._settings.llm
        llm = llm if llm is not None else configured
        refuse_app_address(llm, self.app_address)
        key = client_key(llm)
        with self._client_lock:
            if llm is configured or key == client_key(configured):
                if self._client is None:
                    self._client = self._client_factory(configured)
                return self._client
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._client_factory(llm)
                for old in list(self._clients):
                    if len(self._clients) <= CLIENTS_KEPT:
                        break
                    if old != key and getattr(self._clients[old], "backend", "") != "embedded":
                        del self._clients[old]
            self._clients.move_to_end(key)
            return client

    def _make_probes(self) -> Any:
        from rag.backend_probe import BackendProbes

        return BackendProbes(self._check_backend)

    def _check_backend(self, llm: LLMSettings) -> BackendStatus:
        """One check of ``llm``'s backend (run by the probes, off the request threads), with short timeouts."""
        from rag.backend_probe import CONNECT_SECONDS, READ_SECONDS

        try:
            refuse_app_address(llm, self.app_address)
            if llm.backend == "embedded" or self._client_factory is not _create_client:
                return self.client(llm).check()  # the one embedded model (its check starts loading it)
            quick = dataclasses.replace(
                llm,
                connect_timeout=min(llm.connect_timeout, CONNECT_SECONDS),
                read_timeout=min(llm.read_timeout, READ_SECONDS),
            )
            return self._client_factory(quick).check()
        except ConfigError as exc:
            return BackendStatus(ok=False, message=str(exc), models=[])

    def configure_analytics(self, **changes: Any) -> None:
        """Change the analytic settings (``planner``, ``query_timeout``) at run time (raises ``ConfigError``)."""
        self._settings = apply_overrides(self._settings, {"analytics": changes}, "analytics settings")

    def configure_llm(self, **changes: Any) -> None:
        """Switch backend, model, URL or generation settings at run time, for every tab (raises ``ConfigError``).

        For the terminal tool and tests: the page never calls it (a tab's choice is its own, see
        ``rag.llm_choice``)."""
        settings = apply_overrides(self._settings, {"llm": changes}, "model settings")
        if changes.get("backend") not in (None, self._settings.llm.backend) and "base_url" not in changes:
            settings.llm.base_url = None
        with self._client_lock:
            self._settings = settings
            self._client = None
            self._clients = OrderedDict(
                (key, client) for key, client in self._clients.items() if getattr(client, "backend", "") == "embedded"
            )
            if "max_concurrent" in changes:
                self._model_queue = self._make_model_queue()

    def backend_status(
        self, llm: LLMSettings | None = None, *, wait: float = PANEL_STATUS_WAIT, fresh: bool = False
    ) -> BackendStatus:
        """Whether ``llm``'s backend (the configured one when None) answers, with the reason when it does not.

        Checked in the background, one check per distinct settings, remembered a few seconds
        (``rag.backend_probe``): this waits at most ``wait`` seconds, then reports the last status known.
        ``fresh`` checks again even when the status is recent."""
        return self._probes.status(llm if llm is not None else self._settings.llm, wait=wait, fresh=fresh)

    def list_models(self, llm: LLMSettings | None = None) -> list[str]:
        """Models ``llm``'s backend (the configured one when None) offers."""
        return self.client(llm).list_models()

    def context_window(self, client: LLMClient, llm: LLMSettings | None = None) -> int:
        """Tokens the prompt and the answer share: the setting, else the model's, capped."""
        num_ctx = (llm or self._settings.llm).num_ctx
        if num_ctx:
            return num_ctx
        try:
            known = client.model_context_length()
        except LLMError:
            known = None
        return min(known, MAX_AUTO_CONTEXT_WINDOW) if known else DEFAULT_CONTEXT_WINDOW

    # ------------------------------------------------------------------ chat
    def chat_stream(
        self,
        question: str,
        session_id: str,
        *,
        history: Sequence[Mapping[str, str]] | None = None,
        dataset_id: str | None = None,
        tab: str = "",
        llm: LLMSettings | None = None,
    ) -> None:
        """Start answering in a background thread; read the answer from ``buffer`` under ``session_id``.

        The answer is over ``dataset_id`` (the dataset loaded last when None), or over the file ``tab`` is
        loading when there is one: the question waits for it. ``llm`` is the tab's model settings
        (``rag.llm_choice.resolve_choice``); the configured ones when None."""
        self._start(question, session_id, history, dataset_id, tab, llm)

    def _start(
        self,
        question: str,
        session_id: str,
        history: Sequence[Mapping[str, str]] | None,
        dataset_id: str | None = None,
        tab: str = "",
        llm: LLMSettings | None = None,
        listener: Callable[[AnswerEvent | None], None] | None = None,
    ) -> _Run:
        turns = [{"role": str(t["role"]), "content": str(t["content"])} for t in (history or [])]
        meta = self._describe(question, llm)
        run = _Run(meta=dict(meta), listener=listener)
        self._buffer.start(session_id, **meta)
        with self._running_lock:
            self._running[session_id] = run
            if self._shared_state is not None and (self._stop_watcher is None or not self._stop_watcher.is_alive()):
                self._stop_watcher = threading.Thread(target=self._watch_running, name="answer-watcher", daemon=True)
                self._stop_watcher.start()
        thread = threading.Thread(
            target=self._answer,
            args=(question, session_id, turns, run, meta, dataset_id, tab, llm),
            name=f"answer-{session_id[:8]}",
            daemon=True,
        )
        thread.start()
        return run

    def chat(
        self,
        question: str,
        session_id: str | None = None,
        *,
        history: Sequence[Mapping[str, str]] | None = None,
        timeout: float | None = None,
        dataset_id: str | None = None,
    ) -> Answer:
        """Answer and wait for the whole answer (Stop after ``timeout`` seconds).

        The answer is the events its thread wrote into the buffer, heard as they are written (no polling)."""
        session_id = session_id or uuid.uuid4().hex
        heard: queues.SimpleQueue[AnswerEvent | None] = queues.SimpleQueue()
        run = self._start(question, session_id, history, dataset_id, listener=heard.put)
        state = AnswerState(meta=dict(run.meta))
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                event = heard.get(timeout=wait)
            except queues.Empty:
                self.cancel(session_id)
                deadline = None
                continue
            if event is None:  # the answer's thread ended
                break
            state.apply(event)
        return Answer(
            session_id=session_id,
            text=state.text,
            status=state.status,
            error=state.error,
            sources=state.sources,
            metrics=state.metrics,
            meta=state.meta,
        )

    def cancel(self, session_id: str) -> bool:
        """Stop a running answer (the HTTP stream is closed), here or, with a shared buffer, in whichever
        worker produces it; False when none was running."""
        with self._running_lock:
            run = self._running.get(session_id)
        if run is not None:
            run.cancel.cancel()
            return True
        if self._shared_state is None:
            return False
        snapshot = self._buffer.read(session_id, 0)
        if snapshot is None or snapshot.is_complete:
            return False
        self._buffer.request_stop(session_id)  # the worker producing it sees this within STOP_CHECK_SECONDS
        return True

    def _watch_running(self) -> None:
        """With a shared buffer: say that this process's answers are alive (a heartbeat), and cancel those
        another worker was asked to stop."""
        beaten = 0.0
        while True:
            with self._running_lock:
                running = dict(self._running)
                if not running:
                    self._stop_watcher = None
                    return
            try:
                if time.monotonic() - beaten >= HEARTBEAT_SECONDS:
                    beaten = time.monotonic()
                    self._buffer.heartbeat(running)
                stopped = self._buffer.stops_requested(running)
            except Exception:  # Redis away: the answers' own writes report it; keep watching
                log.warning("cannot reach the shared state", exc_info=True)
                stopped = set()
            for session_id in stopped:
                running[session_id].cancel.cancel()
            time.sleep(STOP_CHECK_SECONDS)

    def read(self, session_id: str, offset: int = 0) -> StreamSnapshot | None:
        """What is new in an answer since ``offset``. With a shared buffer, an answer whose worker died (no
        heartbeat for ``ORPHANED_AFTER_SECONDS``) is ended here with an error, keeping its text."""
        snapshot = self._buffer.read(session_id, offset)
        if (
            snapshot is not None
            and not snapshot.is_complete
            and snapshot.heartbeat_age is not None
            and snapshot.heartbeat_age > ORPHANED_AFTER_SECONDS
        ):
            with self._running_lock:
                ours = session_id in self._running
            if not ours:
                self._buffer.finish(session_id, status=ERROR, error=ORPHANED_MESSAGE)
                snapshot = self._buffer.read(session_id, offset)
        return snapshot

    def wait_for_change(self, session_id: str, version: int, timeout: float) -> bool:
        """Block until an answer is no longer at ``version``, at most ``timeout`` seconds."""
        return self._buffer.wait_for_change(session_id, version, timeout)

    def clear_cache(self) -> None:
        """Forget every cached answer."""
        if self._cache is not None:
            self._cache.clear()

    def _describe(self, question: str, llm: LLMSettings | None = None) -> dict[str, Any]:
        llm = llm or self._settings.llm  # (no URL, no key: the metadata is shown, kept and exported)
        retrieval = self._settings.retrieval
        info = self.dataset_info if self.answer_last_by_default else None  # until ``_answer`` knows the question's
        return {
            "question": question,
            "backend": llm.backend,
            "model": llm.model or _default_model_label(llm.backend),
            "dataset_name": info.name if info else None,
            "dataset_hash": info.content_hash if info else None,
            "settings": {
                "temperature": llm.temperature,
                "max_tokens": llm.max_tokens,
                "num_ctx": llm.num_ctx,
                "top_k": retrieval.top_k,
                "hybrid": retrieval.hybrid,
            },
            "cached": False,
            "notes": [],
        }

    def _cache_key(
        self, loaded: _Loaded, question: str, history: list[dict[str, str]], llm: LLMSettings | None = None
    ) -> str:
        llm = llm or self._settings.llm
        return answer_key(
            dataset_hash=loaded.info.content_hash,
            llm={
                "backend": llm.backend,
                "base_url": llm.resolved_base_url(),
                "model": llm.model,
                "model_path": llm.model_path,
                "temperature": llm.temperature,
                "max_tokens": llm.max_tokens,
                "num_ctx": llm.num_ctx,
                "seed": llm.seed,
            },
            retrieval={**dataclasses.asdict(self._settings.retrieval), "planner": self._settings.analytics.planner},
            question=question,
            history=history,
        )

    def _answer(
        self,
        question: str,
        session_id: str,
        history: list[dict[str, str]],
        run: _Run,
        meta: dict[str, Any],
        dataset_id: str | None = None,
        tab: str = "",
        llm: LLMSettings | None = None,
    ) -> None:
        """The answer's thread: its events into the buffer (the one sink), and to ``run``'s listener."""
        events = self._answer_stream(question, session_id, history, run, meta, dataset_id, tab, llm)
        try:
            write_events(self._buffer, session_id, _heard(events, run.listen))
        except SHARED_STATE_ERRORS as exc:  # Redis away: nowhere to write; the page keeps what it has
            log.warning("answer %s ended: the shared state is not reachable (%s)", session_id, exc)
            run.listen(Failed(f"The shared state is not reachable: {exc}"))
        except Exception as exc:  # the page must get a message, never a dead stream
            log.exception("answer %s failed", session_id)
            failure = Failed(f"Internal error while answering: {exc}")
            try:
                write_event(self._buffer, session_id, failure)
            except SHARED_STATE_ERRORS:
                log.warning("answer %s: its error could not be written to the shared state", session_id)
            run.listen(failure)
        finally:
            try:
                events.close()  # a pipeline left in the middle gives the model's turn back
            except Exception:
                log.warning("answer %s: its pipeline could not be closed", session_id, exc_info=True)
            with self._running_lock:
                self._running.pop(session_id, None)
            run.done.set()
            run.listen(None)

    def _answer_stream(
        self,
        question: str,
        session_id: str,
        history: list[dict[str, str]],
        run: _Run,
        meta: dict[str, Any],
        dataset_id: str | None = None,
        tab: str = "",
        llm: LLMSettings | None = None,
    ) -> Events:
        """Every event of one answer: the wait for the tab's load, then the cached answer replayed, or a new one
        (``answer_events``) checked by the grounding stage and kept in the cache when it is done."""
        go_on, ticket = yield from self._wait_for_load(question, run, tab)
        if not go_on:
            return
        if ticket is not None and ticket.dataset_id:
            dataset_id = ticket.dataset_id
        else:  # a load that ended before the page heard of it, or a dataset reopened from the list
            dataset_id = self._tab_dataset(tab) or dataset_id
        last = self._loaded if self.answer_last_by_default else None
        loaded = self._dataset_for(dataset_id) if dataset_id else last
        if loaded is None:
            yield Failed(DATASET_GONE_MESSAGE if dataset_id else NO_DATASET_MESSAGE)
            return
        if loaded.info.content_hash != meta.get("dataset_hash"):
            meta.update(dataset_name=loaded.info.name, dataset_hash=loaded.info.content_hash)
            yield Meta({"dataset_name": loaded.info.name, "dataset_hash": loaded.info.content_hash})
        if not question.strip():
            yield Failed("The question is empty.")
            return
        key = self._cache_key(loaded, question, history, llm) if self._cache is not None else None
        cached = cached_answer(self._cache, key) if key is not None and self._cache is not None else None
        if cached is not None:  # (an entry kept before the grounding check existed is checked now)
            yield from grounded(replay(cached), question=question)
            return
        events = grounded(self.answer_events(question, loaded, history, run.cancel, llm, answer_id=session_id),
                          question=question)
        recorded: list[AnswerEvent] = []
        for event in events:
            recorded.append(event)
            if isinstance(event, FINAL_EVENTS):
                keep = _returned(events)
                if keep and key is not None and self._cache is not None:
                    store_answer(self._cache, key, recorded)
            yield event

    def _wait_for_load(self, question: str, run: _Run, tab: str = "") -> Events:
        """Hold a question sent while its tab loads a file until it can be answered over that file (or over
        the file that replaced it), saying what it waits for. Returns whether to go on (False when the answer
        already ended: the load failed, or Stop was pressed) and the load waited for, if any."""
        ticket = self.pending_load(tab=tab) or self._remote_load(tab)
        shown = ""
        waited_since = time.monotonic()
        while ticket is not None and not (ticket.searchable.is_set() and ticket.error is None):
            taken_over = self._remote_load(tab) if ticket.stage == "starting" else None
            if taken_over is not None and taken_over.id != ticket.id:
                ticket = taken_over  # the file reached another worker, which loads it: follow that load
                continue
            if run.cancel.cancelled:
                yield Waiting(None)
                yield Finished(STOPPED)
                return False, ticket
            if ticket.replaced_by is not None:
                ticket = ticket.replaced_by  # a newer upload replaced this file: wait for that one
                continue
            if ticket.error is not None:
                yield Meta({"waiting": None, "resend": question})  # the page puts it back
                yield Failed(
                    f"{ticket.name} could not be loaded, so the question was not answered: {ticket.error} "
                    "The question is back in the input box to send again."
                )
                return False, ticket
            if ticket.stage == "starting" and time.monotonic() - waited_since > LOAD_START_TIMEOUT:
                self._give_up(ticket, "the file never reached the app; choose it again.")
                continue
            if ticket.waiting_text() != shown:
                shown = ticket.waiting_text()
                yield Waiting(shown)
            if ticket.remote:
                time.sleep(LOAD_WAIT_POLL_SECONDS)
                self._follow_remote(ticket)
            else:
                ticket.searchable.wait(LOAD_WAIT_POLL_SECONDS)
        yield Waiting(None)
        return True, ticket

    def _remote_load(self, tab: str) -> LoadTicket | None:
        """The tab's load running in another worker, if the load board shows one."""
        if self._load_board is None:
            return None
        try:
            state = self._load_board.get(tab)
        except Exception:
            log.warning("cannot read the shared loads", exc_info=True)
            return None
        if state is None or state.get("finished"):
            return None
        return LoadTicket.from_state(tab, state)

    def _follow_remote(self, ticket: LoadTicket) -> None:
        """Bring a load running in another worker up to date: its stage, or how it ended."""
        try:
            state = self._load_board.get(ticket.tab)
        except Exception:
            return  # Redis away for a moment: look again at the next step
        if state is None:
            ticket.fail("the worker loading it stopped before it finished; load the file again.")
            return
        if state.get("id") != ticket.id:  # a newer upload of the tab replaced it
            ticket.replaced_by = LoadTicket.from_state(ticket.tab, state)
            return
        ticket.stage, ticket.done, ticket.total = state.get("stage", ticket.stage), state.get("done", 0), state.get("total", 0)
        if state.get("finished"):
            if state.get("dataset_id") and not state.get("error"):
                ticket.dataset_id = state["dataset_id"]
                ticket.searchable.set()
            else:
                ticket.fail(str(state.get("error") or "loading stopped."))

    def _give_up(self, ticket: LoadTicket, message: str) -> None:
        """A load announced but never started fails, so that the questions waiting for it end."""
        ticket.fail(message)
        self._share(ticket, finished=True)
        self._release(ticket)

    def answer_events(
        self,
        question: str,
        loaded: _Loaded,
        history: list[dict[str, str]],
        token: CancelToken,
        llm: LLMSettings | None = None,
        *,
        answer_id: str = "",
    ) -> Events:
        """One answer over ``loaded``, as events: the computed part, the sources, the metadata, the text as the
        model streams it (the started reply first), then ``Finished`` (done or stopped) or ``Failed`` (the text
        so far kept). Never touches the buffer. Returns whether the answer may be cached (done, worded by the
        model, with semantic search ready). ``answer_id`` holds the answer's place in the model's line."""
        llm = llm or self._settings.llm
        top_k = self._settings.retrieval.top_k
        try:
            client: LLMClient | None = self.client(llm)
            client_error: Exception | None = None
        except (ConfigError, LLMError) as exc:
            client, client_error = None, exc
        computed, computed_note, refusal = self._compute(question, loaded, client, llm)
        notes: list[str] = [computed_note] if computed_note else []
        if refusal is not None:  # analytic, not readable: never ask a model for a number from a few records
            yield from self._refuse(question, loaded, refusal, notes)
            return False
        semantic = loaded.retriever.semantic_progress
        if semantic is not None and computed is None:
            done, total = semantic
            notes.append(f"semantic search still indexing, {100 * done // max(total, 1)}%: records found by keywords")
        changes: dict[str, Any] = {}
        """Metadata written with the sources (the buffer's ``update_meta``)."""
        if computed is not None:
            yield Computed(computed)
            changes["computed"] = computed
        started = time.perf_counter()
        if computed is not None:  # the answer is the result; only the records behind it matter
            hits = self._computed_hits(loaded, computed, top_k)
            prompt_hits = hits[:COMPUTED_PROMPT_RECORDS] if _answers_with_records(computed) else []
        else:
            hits = prompt_hits = loaded.retriever.search(question, k=top_k)
        retrieval_seconds = time.perf_counter() - started
        changes["timings"] = {**(computed or {}).get("timings", {}), "retrieval_ms": round(retrieval_seconds * 1000, 2)}
        if not hits and computed is None and semantic is not None:
            if (yield from self._wait_for_semantic(loaded, token)):
                hits = prompt_hits = loaded.retriever.search(question, k=top_k)  # semantic search is ready now
                semantic = None
                notes = [note for note in notes if not note.startswith("semantic search still indexing")]
                retrieval_seconds = time.perf_counter() - started
        if token.cancelled:
            yield Finished(STOPPED)
            return False
        if not hits and computed is None:  # nothing to ground an answer in: the model would only invent one
            yield from self._answer_no_match(changes, notes, semantic, retrieval_seconds)
            return False
        if client is None:
            yield Sources([_source(i + 1, hit) for i, hit in enumerate(hits)])
            yield Meta({**changes, "notes": notes})
            yield Failed(str(client_error))
            return False
        window = self.context_window(client, llm)
        try:
            plan = build_prompt(
                question,
                prompt_hits,
                profile_text=loaded.info.profile.to_prompt_text(),
                computed_text=prompt_facts(computed) if computed is not None else "",
                history=history,
                context_window=window,
                max_answer_tokens=llm.max_tokens,
                count_tokens=_token_counter(client),
                records_budget=client.prompt_record_tokens,
                language=detect_language(question),
            )
        except ValueError as exc:
            yield Sources([_source(i + 1, hit) for i, hit in enumerate(hits)])
            yield Failed(f"{exc}: set 'llm.num_ctx' larger or 'llm.max_tokens' smaller in the settings.")
            return False
        if computed is not None:  # shown as the records behind the result, in the prompt or not
            sources = [_source(i + 1, hit) for i, hit in enumerate(hits)]
        else:
            sources = [_source(label, hits[label - 1]) for label in plan.source_labels]
        yield Sources(sources)
        yield Meta({**changes, "notes": notes + list(plan.notes), "context_window": window, "model": client.model})
        if token.cancelled:
            yield Finished(STOPPED)
            return False

        queue = self._model_queue
        if queue is not None and not (yield from self._take_model_turn(queue, answer_id, token)):
            yield Finished(STOPPED)
            return False
        try:
            parts: list[str] = []
            metrics: dict[str, Any] = {}
            renewed = time.monotonic()
            messages = plan.messages
            lead = _started_reply(computed, client)
            if lead:  # the reply starts with the result; the model continues it
                messages = [*messages, {"role": "assistant", "content": lead}]
                parts.append(lead)
                yield TextDelta(lead)
            try:
                for chunk in client.generate_stream(messages, cancel=token, num_ctx=window):
                    if queue is not None and time.monotonic() - renewed > RENEW_TURN_SECONDS:
                        renewed = time.monotonic()
                        queue.renew(answer_id)
                    if chunk.text:
                        parts.append(chunk.text)
                        yield TextDelta(chunk.text)
                    if chunk.thinking:
                        yield Thinking(chunk.thinking)
                    if chunk.metrics is not None:
                        metrics = chunk.metrics.to_dict()
            except LLMError as exc:
                if exc.partial_text and not parts:
                    yield TextDelta(exc.partial_text)
                yield Failed(exc.message, metrics)
                return False

            text = "".join(parts)
            cited = [plan.source_labels[n] for n in cited_labels(text) if n in plan.source_labels]
            metrics = {**metrics, "retrieval_seconds": round(retrieval_seconds, 4)}
            yield Meta({"cited": cited, "notes": notes + list(plan.notes) + list(metrics.get("warnings") or [])})
            if token.cancelled or metrics.get("finish_reason") == "cancelled":
                yield Finished(STOPPED, metrics)
                return False
            # (answers found by keywords alone while the embeddings are computed are not kept)
            keep = loaded.retriever.semantic_progress is None
            yield Finished(DONE, metrics)
            return keep
        finally:
            if queue is not None:
                queue.release(answer_id)

    def _answer_no_match(
        self,
        changes: dict[str, Any],
        notes: list[str],
        semantic: tuple[int, int] | None,
        retrieval_seconds: float,
    ) -> Iterator[AnswerEvent]:
        """Say that no record matched (and, while the embeddings are computed, why), without asking the model."""
        text = NO_MATCH_MESSAGE
        if semantic is not None:
            done, total = semantic
            text += NO_MATCH_WHILE_INDEXING.format(percent=100 * done // max(total, 1))
        yield Sources([])
        yield Meta({**changes, "notes": notes})
        yield TextDelta(text)
        yield Finished(DONE, {"retrieval_seconds": round(retrieval_seconds, 4)})

    def _wait_for_semantic(self, loaded: _Loaded, token: CancelToken) -> Events:
        """A question no keyword matches waits for semantic search when it is expected within
        ``WAIT_LIMIT_SECONDS`` ("Waiting for semantic search, 60%…"); returns True when it became ready."""
        progress = lambda: loaded.retriever.semantic_progress  # noqa: E731
        expected = expected_wait(progress, WAIT_LIMIT_SECONDS)
        if expected is None or expected > WAIT_LIMIT_SECONDS:
            return False

        def wait(show: Callable[[str], None]) -> bool:
            return wait_until_ready(
                progress,
                expected + WAIT_LIMIT_SECONDS / 3,
                stopped=lambda: token.cancelled,
                on_progress=lambda percent: show(f"Waiting for semantic search, {percent}%…"),
            )

        ready = yield from _waiting(wait)
        yield Waiting(None)
        return ready

    def _take_model_turn(self, queue: Any, answer_id: str, token: CancelToken) -> Events:
        """Wait in line for the model, saying the answer's place; returns False when Stop was pressed meanwhile."""
        shown = threading.Event()

        def acquire(show: Callable[[str], None]) -> bool:
            def at(position: int) -> None:
                shown.set()
                show(f"Waiting for the model (position {position})…")

            return queue.acquire(answer_id, token, at)

        taken = yield from _waiting(acquire, undo=lambda taken: queue.release(answer_id) if taken else None)
        if shown.is_set():
            yield Waiting(None)
        return taken

    def _compute(
        self, question: str, loaded: _Loaded, client: LLMClient | None, llm: LLMSettings | None = None
    ) -> tuple[dict[str, Any] | None, str | None, Refusal | None]:
        """The part of the answer computed over all records, or a note on why there is none, with the refusal
        of an analytic question that could not be read."""
        analytics = loaded.analytics
        mode = self._settings.analytics.planner
        if analytics is None or mode == "off":
            return None, None, None
        backend = (llm or self._settings.llm).backend
        outcome = analytics.compute(question, mode=mode, llm_client=client, server=backend != "embedded")
        return outcome.computed, outcome.note, outcome.refusal

    def _refuse(self, question: str, loaded: _Loaded, refusal: Refusal, notes: list[str]) -> Events:
        """The answer to an analytic question the planner could not read: what was not understood, questions
        it can read instead, and the records retrieved for it; the model is not asked (from a few records it
        could only invent a count, a sum or an extreme)."""
        started = time.perf_counter()
        hits = loaded.retriever.search(question, k=self._settings.retrieval.top_k)
        seconds = time.perf_counter() - started
        yield Sources([_source(i + 1, hit) for i, hit in enumerate(hits)])
        yield Meta({"refusal": refusal.to_dict(), "notes": notes, "timings": {"retrieval_ms": round(seconds * 1000, 2)}})
        yield TextDelta(refusal.text())
        yield Finished(DONE, {"retrieval_seconds": round(seconds, 4)})

    @staticmethod
    def _computed_hits(loaded: _Loaded, computed: dict[str, Any] | None, k: int) -> list[Hit]:
        """The records behind a computed answer (argmax, a filter), as sources first."""
        if not computed:
            return []
        hits = []
        for record_id in computed.get("record_ids", [])[:k]:
            record = loaded.by_id.get(record_id)
            if record is not None:
                hits.append(Hit(record_id=record_id, score=1.0, text=record_text(record)[:1200], record=record))
        return hits


def _heard(events: Iterable[AnswerEvent], listen: Callable[[AnswerEvent], None]) -> Iterator[AnswerEvent]:
    """``events``, each given to ``listen`` once the consumer (the sink) has taken it: a tee for ``chat``."""
    for event in events:
        yield event
        listen(event)


def _returned(events: Iterator[AnswerEvent]) -> Any:
    """What a generator returns, asked after its last event (one more event would be a bug: it is dropped)."""
    try:
        extra = next(events)
    except StopIteration as end:
        return end.value
    log.error("an answer yielded %r after its end", extra)
    return None


def _waiting(call: Callable[[Callable[[str], None]], Any], *, undo: Callable[[Any], None] | None = None) -> Events:
    """Run a blocking wait that reports what it waits for through a callback (``call(show)``) in a thread of its
    own, yielding each report as ``Waiting``; returns what ``call`` returned (raises what it raised). Left
    before it ended (the answer's thread failed), ``undo(result)`` runs once it does (a turn taken is given
    back)."""
    reports: queues.SimpleQueue[Any] = queues.SimpleQueue()
    outcome: dict[str, Any] = {}
    lock = threading.Lock()
    end = object()

    def settle() -> None:  # under ``lock``: once the wait ended and its caller left, undo what it did
        if outcome.get("ended") and outcome.get("left") and "value" in outcome and undo is not None:
            undo(outcome.pop("value"))

    def run() -> None:
        try:
            outcome["value"] = call(lambda text: reports.put(Waiting(text)))
        except BaseException as exc:  # given to the answer's thread
            outcome["error"] = exc
        finally:
            with lock:
                outcome["ended"] = True
                settle()
            reports.put(end)

    threading.Thread(target=run, name="answer-wait", daemon=True).start()
    try:
        while (report := reports.get()) is not end:
            yield report
    except GeneratorExit:
        with lock:
            outcome["left"] = True
            settle()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _source_name(source: Any) -> str:
    """What a load is called before its file is read: the file name, or "the data" for records."""
    return Path(source).name if isinstance(source, (str, Path)) else "the data"


def _create_client(llm: Any) -> LLMClient:
    from rag.llm import create_client

    return create_client(llm)


def _token_counter(client: LLMClient) -> Callable[[str], int]:
    """The model's own token count where the client has one, else the prompt builder's estimate."""

    def count(text: str) -> int:
        try:
            exact = client.count_tokens(text)
        except LLMError:  # a model that cannot load says so when asked to answer, with its own message
            exact = None
        return exact + 1 if exact is not None else estimate_tokens(text)

    return count


def _started_reply(computed: Mapping[str, Any] | None, client: LLMClient) -> str:
    """The sentence a computed answer's reply starts with, where the backend continues a started reply.

    The embedded 135M model, asked to word a result, stated it in 84.5% of the question set's answers
    (it repeats a filter's number or the dataset's size); continuing a reply that already states it, it
    keeps it (``bench/bench_analytics.py --final``). Servers word the result themselves."""
    if computed is None or not client.continues_replies:
        return ""
    return str(computed.get("fact") or computed.get("summary") or "")


def _answers_with_records(computed: Mapping[str, Any]) -> bool:
    """The result is records (the heaviest cars), so the model needs their fields to describe them."""
    return (computed.get("spec") or {}).get("aggregation") in ("argmax", "argmin")


def _source(label: int, hit: Hit) -> dict[str, Any]:
    return {"label": label, **hit.to_dict()}


def _default_model_label(backend: str) -> str:
    if backend == "embedded":
        from rag.model_files import SMOLLM2_LABEL

        return SMOLLM2_LABEL
    return "(server default)"


_engine: RAGEngine | None = None
_engine_lock = threading.Lock()


def configure_rag_engine(settings: Settings, **kwargs: Any) -> RAGEngine:
    """Make the process-wide engine from ``settings`` (replacing any earlier one)."""
    global _engine
    with _engine_lock:
        _engine = RAGEngine(settings, **kwargs)
        return _engine


def get_rag_engine() -> RAGEngine:
    """The process-wide engine (made from the default settings on first use)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = RAGEngine(load_settings())
        return _engine
