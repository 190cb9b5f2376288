"""The RAG engine: a façade over the parts that load datasets and answer questions over them.

``chat_stream`` returns at once: a background thread (``rag.answer_runner``) runs the answer's pipeline
(``rag.answer_pipeline``), a generator of typed events (``rag.answer_events``) that waits for the tab's load
(``rag.load_coordinator``), replays a cached answer or retrieves and streams the generation, checked by the
grounding stage; one sink (``rag.answer_sink``) writes the events into the ``StreamBuffer``, and
``chat_events`` hands the same events to its caller (``chat`` folds them). Everything the page needs to
render an answer goes through the buffer; the cache keeps an answer's events and replays them.

Several datasets can be open at once (``rag.dataset_registry``: each tab of the page chats with the one it
loaded, named by its ``dataset_id``); the most recently used stay in memory, and every fully indexed
dataset is kept in the ``DatasetStore`` on disk, from which any process reopens it without indexing again.
A question that names no dataset is answered over the one loaded last. The LLM clients and the checks of
their backends are in ``rag.model_clients``; the parts are made by ``rag.engine_factories``.
"""

from __future__ import annotations

import logging
import queue as queues
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator, Mapping, Sequence

from rag import answer_pipeline
from rag.analytics.service import DatasetAnalytics
from rag.answer_events import AnswerEvent, AnswerState
from rag.answer_meta import AnswerMeta
from rag.answer_pipeline import DATASET_GONE_MESSAGE, NO_DATASET_MESSAGE, AnswerSetup, Events
from rag.answer_runner import ORPHANED_MESSAGE, AnswerRun, AnswerRunner, followed_events
from rag.cache import AnswerCache
from rag.dataset_builder import DatasetBuilder
from rag.dataset_registry import DatasetInfo, DatasetRegistry, LoadedDataset
from rag.dataset_store import DatasetStore
from rag.engine_factories import make_cache, make_load_board, make_model_queue, make_store
from rag.file_load import Progress, load_file
from rag.llm.base import LLMClient
from rag.llm.cancel import CancelToken
from rag.llm.types import BackendStatus
from rag.llm_choice import AppAddress
from rag.load_coordinator import LoadCoordinator
from rag.loading import LoadTicket
from rag.model_clients import CLIENTS_KEPT, PANEL_STATUS_WAIT, ModelClients, context_window
from rag.profile import DatasetProfile
from rag.records import Dataset
from rag.retriever import Hit
from rag.settings import LLMSettings, Settings, apply_overrides, load_settings
from rag.state import make_stream_buffer
from rag.stream_buffer import StreamBuffer, StreamSnapshot

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

__all__ = [
    "CLIENTS_KEPT",
    "DATASET_GONE_MESSAGE",
    "NO_DATASET_MESSAGE",
    "ORPHANED_MESSAGE",
    "Answer",
    "DatasetInfo",
    "RAGEngine",
    "configure_rag_engine",
    "get_rag_engine",
]


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
    """The answer's metadata as the stream buffer keeps it (read it typed through ``meta_info``)."""

    @property
    def meta_info(self) -> AnswerMeta:
        """The metadata, typed (``rag.answer_meta``)."""
        return AnswerMeta.from_dict(self.meta)


class RAGEngine:
    """Retrieval-augmented chat over JSON datasets: the one object the page, the terminal tool and the
    benchmarks use."""

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
        self._shared_state: redis.Redis | None = getattr(self._buffer, "client", None)
        app_address = AppAddress(self._settings.server.host, self._settings.server.port)
        self._models = ModelClients(self._settings.llm, app_address, client_factory)
        self.answer_last_by_default = True
        """Whether a question naming no dataset is answered over the dataset loaded last; False when visitors are
        isolated (``dashboard.visitors``): that dataset may be anyone's."""
        self._builder = DatasetBuilder(lambda: self._settings, embedder)
        self._registry = DatasetRegistry(
            make_store(self._settings),
            memory_datasets=self._settings.data.memory_datasets,
            reopen=self._builder.from_store,
            save_in_background=self._shared_state is None,  # other workers open it by id as soon as the load ends
        )
        self._loads = LoadCoordinator(make_load_board(self._shared_state))
        self._model_queue = make_model_queue(self._settings, self._shared_state)
        self._runner = AnswerRunner(self._buffer, self._shared_state)
        self._cache = cache if cache is not None else make_cache(self._settings, self._shared_state)

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
        loaded = self._registry.last
        return loaded.dataset if loaded else None

    @property
    def dataset_info(self) -> DatasetInfo | None:
        """Facts about the loaded dataset, if any."""
        loaded = self._registry.last
        return loaded.info if loaded else None

    @property
    def profile(self) -> DatasetProfile | None:
        """The profile of the loaded dataset, if any."""
        loaded = self._registry.last
        return loaded.info.profile if loaded else None

    @property
    def shared_state(self) -> redis.Redis | None:
        """The Redis connection the workers share answers, Stops and loads through; None within one process."""
        return self._shared_state

    @property
    def store(self) -> DatasetStore | None:
        """The dataset store on disk (None when caching is off or ``data.store_max_gb`` is 0)."""
        return self._registry.store

    @property
    def app_address(self) -> AppAddress:
        """Where this app listens: a model server there is refused (the app would ask itself)."""
        return self._models.app_address

    @app_address.setter
    def app_address(self, address: AppAddress) -> None:
        self._models.app_address = address

    @property
    def registry(self) -> DatasetRegistry:
        """The datasets open in this process."""
        return self._registry

    # ------------------------------------------------------------------ data
    def begin_load(self, name: str, *, tab: str = "") -> LoadTicket:
        """Announce a load of ``name`` in ``tab`` before it starts: the tab's questions sent from now on wait
        for it, and a load still running in that tab is cancelled (a new upload replaces it instead of
        queueing behind it). Other tabs are not affected."""
        return self._loads.begin(name, tab)

    def expect_load(self, name: str, *, tab: str = "") -> LoadTicket:
        """A load of ``name`` is on its way (the page has the file, the app not yet): the tab's questions wait
        for it. Unlike ``begin_load`` it keeps a load already announced; one that never starts is given up
        after ``LOAD_START_TIMEOUT`` seconds by the questions waiting for it."""
        return self._loads.expect(name, tab)

    def cancel_load(self, *, tab: str = "") -> bool:
        """Cancel the load in progress in ``tab``, if any; the dataset loaded before stays."""
        return self._loads.cancel(tab)

    def pending_load(self, *, tab: str = "") -> LoadTicket | None:
        """The load announced or running in ``tab``, if any."""
        return self._loads.pending(tab)

    def open_dataset(self, dataset_id: str, *, tab: str = "") -> DatasetInfo | None:
        """Make a stored dataset ``tab``'s (and the one answered from by default), reopening it from the store
        if needed; None when it is neither open nor stored."""
        loaded = self._registry.open(dataset_id)
        if loaded is None:
            return None
        self._registry.last = loaded
        if tab:
            self._registry.choose(tab, dataset_id)
            chosen = LoadTicket(name=loaded.info.name, tab=tab, dataset_id=dataset_id)
            self._loads.publish(chosen, finished=True)  # other workers: this tab now chats with it
        return loaded.info

    def dataset_by_id(self, dataset_id: str | None) -> tuple[Dataset, DatasetInfo] | None:
        """The records and facts of ``dataset_id`` (the dataset loaded last when None)."""
        loaded = self._registry.find(dataset_id)
        return (loaded.dataset, loaded.info) if loaded is not None else None

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

        def load(report: Progress) -> DatasetInfo:
            return load_file(
                source, name, report, ticket, data=self._settings.data, registry=self._registry, builder=self._builder
            )

        return self._loads.run(ticket, load, progress)

    @property
    def analytics(self) -> DatasetAnalytics | None:
        """The analytic table and planners of the loaded dataset, if any."""
        loaded = self._registry.last
        return loaded.analytics if loaded else None

    def analytics_for(self, dataset_id: str | None) -> DatasetAnalytics | None:
        """The analytic table and planners of ``dataset_id`` (the dataset loaded last when None), if any."""
        loaded = self._registry.find(dataset_id)
        return loaded.analytics if loaded is not None else None

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """The records that best match ``query`` (empty when no dataset is loaded)."""
        loaded = self._registry.last
        if loaded is None:
            return []
        return loaded.retriever.search(query, k=k or self._settings.retrieval.top_k)

    @property
    def warm(self) -> bool:
        """Whether the embedding model is loaded (a question will not wait for it)."""
        return self._builder.warm

    def warm_up(self) -> None:
        """Load the embedding model now (the app calls it in the background at start), so that the first
        question of a new process or worker does not wait seconds for it."""
        try:
            self._builder.embedder().load()
        except Exception:  # the same error reaches the user with the first load or question
            log.warning("the embedding model could not be loaded ahead of time", exc_info=True)

    def _shared_embedder(self) -> Any:
        """The embedding model every retriever shares (``bench/bench_datasets.py`` loads it untimed)."""
        return self._builder.embedder()

    # ------------------------------------------------------------------- llm
    def client(self, llm: LLMSettings | None = None) -> LLMClient:
        """The LLM client for ``llm`` (the configured settings when None), made on first use and kept: the
        configured one and the embedded model for good, others among the ``CLIENTS_KEPT`` used last. Raises
        ``ConfigError`` for a server at the app's own address."""
        return self._models.client(llm)

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

        def apply() -> None:
            self._settings = settings
            if "max_concurrent" in changes:
                self._model_queue = make_model_queue(settings, self._shared_state)

        self._models.reconfigure(settings.llm, apply)

    def backend_status(
        self, llm: LLMSettings | None = None, *, wait: float = PANEL_STATUS_WAIT, fresh: bool = False
    ) -> BackendStatus:
        """Whether ``llm``'s backend (the configured one when None) answers, with the reason when it does not.

        Checked in the background, one check per distinct settings, remembered a few seconds
        (``rag.backend_probe``): this waits at most ``wait`` seconds, then reports the last status known.
        ``fresh`` checks again even when the status is recent."""
        return self._models.status(llm if llm is not None else self._settings.llm, wait=wait, fresh=fresh)

    def list_models(self, llm: LLMSettings | None = None) -> list[str]:
        """Models ``llm``'s backend (the configured one when None) offers."""
        return self.client(llm).list_models()

    def context_window(self, client: LLMClient, llm: LLMSettings | None = None) -> int:
        """Tokens the prompt and the answer share: the setting, else the model's, capped."""
        return context_window(client, llm or self._settings.llm)

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

    def chat_events(
        self,
        question: str,
        session_id: str | None = None,
        *,
        history: Sequence[Mapping[str, str]] | None = None,
        dataset_id: str | None = None,
        tab: str = "",
        llm: LLMSettings | None = None,
        timeout: float | None = None,
    ) -> Generator[AnswerEvent, None, None]:
        """Start answering as ``chat_stream`` does (at once: cache, grounding check, buffer and all), and give
        each typed event as the answer's thread writes it, ``Meta`` with the metadata it started with first.

        Stop is pressed after ``timeout`` seconds, and when the caller stops reading before the end (closes
        the iterator, or leaves it on an exception)."""
        heard: queues.SimpleQueue[AnswerEvent | None] = queues.SimpleQueue()
        run = self._start(question, session_id or uuid.uuid4().hex, history, dataset_id, tab, llm, heard.put)
        return followed_events(run, heard, timeout)

    def chat(
        self,
        question: str,
        session_id: str | None = None,
        *,
        history: Sequence[Mapping[str, str]] | None = None,
        timeout: float | None = None,
        dataset_id: str | None = None,
    ) -> Answer:
        """Answer and wait for the whole answer (Stop after ``timeout`` seconds): ``chat_events`` folded."""
        session_id = session_id or uuid.uuid4().hex
        state = AnswerState()
        for event in self.chat_events(question, session_id, history=history, dataset_id=dataset_id, timeout=timeout):
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
        return self._runner.cancel(session_id)

    def read(self, session_id: str, offset: int = 0) -> StreamSnapshot | None:
        """What is new in an answer since ``offset``. With a shared buffer, an answer whose worker died (no
        heartbeat for ``ORPHANED_AFTER_SECONDS``) is ended here with an error, keeping its text."""
        return self._runner.read(session_id, offset)

    def wait_for_change(self, session_id: str, version: int, timeout: float) -> bool:
        """Block until an answer is no longer at ``version``, at most ``timeout`` seconds."""
        return self._buffer.wait_for_change(session_id, version, timeout)

    def clear_cache(self) -> None:
        """Forget every cached answer."""
        if self._cache is not None:
            self._cache.clear()

    def answer_events(
        self,
        question: str,
        loaded: LoadedDataset,
        history: list[dict[str, str]],
        token: CancelToken,
        llm: LLMSettings | None = None,
        *,
        answer_id: str = "",
    ) -> Events:
        """One answer over ``loaded``, as events (``rag.answer_pipeline.answer_events``), without the cache nor
        the grounding check; never touches the buffer."""
        setup = self._answer_setup(llm)
        return answer_pipeline.answer_events(question, loaded, history, token, setup, answer_id=answer_id)

    def _answer_setup(self, llm: LLMSettings | None = None) -> AnswerSetup:
        """What an answer with the tab's model settings ``llm`` needs, with the settings in force now."""
        return AnswerSetup(
            settings=self._settings,
            llm=llm or self._settings.llm,
            client=self.client,
            model_queue=self._model_queue,
            cache=self._cache,
        )

    def _start(
        self,
        question: str,
        session_id: str,
        history: Sequence[Mapping[str, str]] | None,
        dataset_id: str | None = None,
        tab: str = "",
        llm: LLMSettings | None = None,
        listener: Callable[[AnswerEvent | None], None] | None = None,
    ) -> AnswerRun:
        turns = [{"role": str(t["role"]), "content": str(t["content"])} for t in (history or [])]
        info = self.dataset_info if self.answer_last_by_default else None  # until the answer knows its dataset
        meta = answer_pipeline.answer_metadata(question, llm or self._settings.llm, self._settings, info)

        def events(run: AnswerRun) -> Events:
            return answer_pipeline.tab_answer(
                question,
                turns,
                run.cancel,
                meta,
                answer_id=session_id,
                wait_for_load=lambda: self._loads.wait_for_load(question, run.cancel, tab),
                pick_dataset=lambda ticket: self._dataset_to_answer(ticket, dataset_id, tab),
                setup=lambda: self._answer_setup(llm),
            )

        return self._runner.start(session_id, meta, events, listener)

    def _dataset_to_answer(
        self, ticket: LoadTicket | None, dataset_id: str | None, tab: str
    ) -> tuple[LoadedDataset | None, str | None]:
        """The dataset a question from ``tab`` is answered over, after its load (``ticket``) ended, with the id
        looked for (None: the dataset loaded last, when questions naming none may use it)."""
        if ticket is not None and ticket.dataset_id:
            dataset_id = ticket.dataset_id
        else:  # a load that ended before the page heard of it, or a dataset reopened from the list
            dataset_id = self._tab_dataset(tab) or dataset_id
        if dataset_id:
            return self._registry.open(dataset_id), dataset_id
        return (self._registry.last if self.answer_last_by_default else None), None

    def _tab_dataset(self, tab: str) -> str | None:
        """The dataset ``tab`` loaded or reopened last, here or (recently) in another worker."""
        return self._registry.tab_choice(tab) or self._loads.finished_choice(tab)


def _source_name(source: Any) -> str:
    """What a load is called before its file is read: the file name, or "the data" for records."""
    return Path(source).name if isinstance(source, (str, Path)) else "the data"


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
