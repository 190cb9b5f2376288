"""The RAG engine: one loaded dataset, its retriever, an LLM client, a response cache.

``chat_stream`` returns at once: a background thread looks in the cache, retrieves, writes the
sources into the ``StreamBuffer``, then streams the generation into it. Everything the page
needs to render an answer (text, sources, metrics, metadata, status) goes through the buffer.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from rag.analytics.answer import prompt_facts
from rag.analytics.service import DatasetAnalytics
from rag.cache import ResponseCache, answer_key
from rag.documents import record_text
from rag.errors import ConfigError, DataLoadError, LLMError, RAGError
from rag.llm.base import LLMClient
from rag.llm.cancel import CancelToken
from rag.llm.types import BackendStatus
from rag.loader import load_dataset
from rag.loading import LoadTicket
from rag.profile import DatasetProfile, profile_dataset
from rag.prompt import build_prompt, cited_labels, estimate_tokens
from rag.records import Dataset, Record
from rag.retriever import Hit, HybridRetriever
from rag.settings import Settings, apply_overrides, load_settings
from rag.stream_buffer import DONE, ERROR, STOPPED, StreamBuffer, StreamSnapshot, get_stream_buffer

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

NO_DATASET_MESSAGE = "No dataset is loaded yet: upload a JSON file or click “Load example” first."
DEFAULT_CONTEXT_WINDOW = 4096
MAX_AUTO_CONTEXT_WINDOW = 8192
LOAD_WAIT_POLL_SECONDS = 0.1
LOAD_START_TIMEOUT = 30.0
"""Seconds a question waits for an announced file that never starts loading (the browser lost it)."""
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (for ``dcc.Store`` and exports)."""
        return {
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
        cache: ResponseCache | None = None,
        embedder: Any = None,
    ) -> None:
        self._settings = settings or Settings()
        self._buffer = buffer if buffer is not None else get_stream_buffer()
        self._client_factory = client_factory or _create_client
        self._client: LLMClient | None = None
        self._client_lock = threading.Lock()
        self._loaded: _Loaded | None = None
        self._load_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: LoadTicket | None = None
        self._embedder: Any = embedder
        self._running: dict[str, _Run] = {}
        self._running_lock = threading.Lock()
        if cache is None and self._settings.cache.enabled:
            cache = ResponseCache(
                self._settings.cache_dir() / "answers", max_items=self._settings.cache.max_answers
            )
        self._cache = cache

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

    # ------------------------------------------------------------------ data
    def begin_load(self, name: str) -> LoadTicket:
        """Announce a load of ``name`` before it starts: questions sent from now on wait for it, and a load
        still running is cancelled (a new upload replaces it instead of queueing behind it)."""
        ticket = LoadTicket(name=name)
        with self._pending_lock:
            if self._pending is not None:
                self._pending.replaced_by = ticket
                self._pending.cancelled.set()
            self._pending = ticket
        return ticket

    def expect_load(self, name: str) -> LoadTicket:
        """A load of ``name`` is on its way (the page has the file, the app not yet): questions wait for it.
        Unlike ``begin_load`` it keeps a load already announced; one that never starts is given up after
        ``LOAD_START_TIMEOUT`` seconds by the questions waiting for it."""
        with self._pending_lock:
            if self._pending is None:
                self._pending = LoadTicket(name=name)
            return self._pending

    def cancel_load(self) -> bool:
        """Cancel the load in progress, if any; the previous dataset stays loaded."""
        with self._pending_lock:
            ticket = self._pending
        if ticket is None:
            return False
        ticket.cancelled.set()
        return True

    def pending_load(self) -> LoadTicket | None:
        """The load announced or running, if any."""
        with self._pending_lock:
            return self._pending

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

        def report(stage: str, done: int, total: int) -> None:
            ticket.report(stage, done, total)
            if progress:
                progress(stage, done, total)

        try:
            with self._load_lock:
                return self._load(source, name, report, ticket)
        except RAGError as exc:
            ticket.fail(str(exc))
            raise
        except Exception as exc:
            ticket.fail(f"Loading failed unexpectedly: {exc}")
            raise
        finally:  # questions already waiting hold the ticket and read its outcome; later ones need not wait
            with self._pending_lock:
                if self._pending is ticket:
                    self._pending = None

    def _load(self, source: Any, name: str | None, report: Progress, ticket: LoadTicket) -> DatasetInfo:
        data = self._settings.data
        report("parsing", 0, 1)
        dataset = load_dataset(
            source, name=name, max_bytes=int(data.max_upload_mb * 1024 * 1024), max_depth=data.max_depth
        )
        report("profiling", 0, 1)
        profile = profile_dataset(dataset.records)
        report("table", 0, 1)
        analytics = self._build_analytics(dataset, profile)
        retriever = HybridRetriever(self._settings.retrieval, embedder=self._shared_embedder(), cache=self._embedding_cache())
        info = DatasetInfo(
            name=dataset.name,
            content_hash=dataset.content_hash,
            record_count=len(dataset.records),
            root_path=dataset.root_path,
            size_bytes=dataset.size_bytes,
            profile=profile,
            index={},
        )
        loaded = _Loaded(
            dataset=dataset,
            info=info,
            retriever=retriever,
            analytics=analytics,
            by_id={record.id: record for record in dataset.records},
        )
        previous = self._loaded

        def searchable() -> None:  # keyword search works: questions are answered over the new file from now on
            self._loaded = loaded
            ticket.searchable.set()
            report("embedding", 0, len(dataset.records))

        try:
            build = retriever.build(dataset, content_hash=dataset.content_hash, progress=report, on_searchable=searchable)
        except Exception as exc:
            if self._loaded is loaded:
                self._loaded = previous
            if analytics is not None:
                analytics.close()
            if isinstance(exc, (DataLoadError, ConfigError)):
                raise
            log.exception("indexing failed")
            raise DataLoadError(f"{dataset.name}: the records could not be indexed ({exc})") from exc
        info.index.update(dataclasses.asdict(build))
        self._loaded = loaded
        ticket.searchable.set()
        if previous is not None and previous.analytics is not None:
            previous.analytics.close()
        report("ready", 1, 1)
        return info

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

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """The records that best match ``query`` (empty when no dataset is loaded)."""
        loaded = self._loaded
        if loaded is None:
            return []
        return loaded.retriever.search(query, k=k or self._settings.retrieval.top_k)

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
    def client(self) -> LLMClient:
        """The LLM client for the current settings (made on first use)."""
        with self._client_lock:
            if self._client is None:
                self._client = self._client_factory(self._settings.llm)
            return self._client

    def configure_analytics(self, **changes: Any) -> None:
        """Change the analytic settings (``planner``, ``query_timeout``) at run time (raises ``ConfigError``)."""
        self._settings = apply_overrides(self._settings, {"analytics": changes}, "analytics settings")

    def configure_llm(self, **changes: Any) -> None:
        """Switch backend, model, URL or generation settings at run time (raises ``ConfigError``)."""
        settings = apply_overrides(self._settings, {"llm": changes}, "model settings")
        if changes.get("backend") not in (None, self._settings.llm.backend) and "base_url" not in changes:
            settings.llm.base_url = None
        with self._client_lock:
            self._settings = settings
            self._client = None

    def backend_status(self) -> BackendStatus:
        """Whether the backend answers, with the reason when it does not."""
        try:
            return self.client().check()
        except ConfigError as exc:
            return BackendStatus(ok=False, message=str(exc), models=[])

    def list_models(self) -> list[str]:
        """Models the backend offers."""
        return self.client().list_models()

    def context_window(self, client: LLMClient) -> int:
        """Tokens the prompt and the answer share: the setting, else the model's, capped."""
        if self._settings.llm.num_ctx:
            return self._settings.llm.num_ctx
        try:
            known = client.model_context_length()
        except LLMError:
            known = None
        return min(known, MAX_AUTO_CONTEXT_WINDOW) if known else DEFAULT_CONTEXT_WINDOW

    # ------------------------------------------------------------------ chat
    def chat_stream(self, question: str, session_id: str, *, history: Sequence[Mapping[str, str]] | None = None) -> None:
        """Start answering in a background thread; read the answer from ``buffer`` under ``session_id``."""
        self._start(question, session_id, history)

    def _start(self, question: str, session_id: str, history: Sequence[Mapping[str, str]] | None) -> _Run:
        turns = [{"role": str(t["role"]), "content": str(t["content"])} for t in (history or [])]
        meta = self._describe(question)
        run = _Run()
        self._buffer.start(session_id, **meta)
        with self._running_lock:
            self._running[session_id] = run
        thread = threading.Thread(
            target=self._answer,
            args=(question, session_id, turns, run, meta),
            name=f"answer-{session_id[:8]}",
            daemon=True,
        )
        thread.start()
        return run

    def chat(self, question: str, session_id: str | None = None, *, history: Sequence[Mapping[str, str]] | None = None, timeout: float | None = None) -> Answer:
        """Answer and wait for the whole answer."""
        session_id = session_id or uuid.uuid4().hex
        run = self._start(question, session_id, history)
        if not run.done.wait(timeout):
            self.cancel(session_id)
            run.done.wait()
        snapshot = self._buffer.read(session_id, 0)
        if snapshot is None:
            raise RuntimeError(f"answer {session_id} expired before it was read")
        return Answer(
            session_id=session_id,
            text=snapshot.text,
            status=snapshot.status,
            error=snapshot.error,
            sources=snapshot.sources,
            metrics=snapshot.metrics,
            meta=snapshot.meta,
        )

    def cancel(self, session_id: str) -> bool:
        """Stop a running answer (the HTTP stream is closed); False when none was running."""
        with self._running_lock:
            run = self._running.get(session_id)
        if run is None:
            return False
        run.cancel.cancel()
        return True

    def read(self, session_id: str, offset: int = 0) -> StreamSnapshot | None:
        """What is new in an answer since ``offset``."""
        return self._buffer.read(session_id, offset)

    def clear_cache(self) -> None:
        """Forget every cached answer."""
        if self._cache is not None:
            self._cache.clear()

    def _describe(self, question: str) -> dict[str, Any]:
        llm = self._settings.llm
        retrieval = self._settings.retrieval
        info = self.dataset_info
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

    def _cache_key(self, loaded: _Loaded, question: str, history: list[dict[str, str]]) -> str:
        llm = self._settings.llm
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
        self, question: str, session_id: str, history: list[dict[str, str]], run: _Run, meta: dict[str, Any]
    ) -> None:
        buffer = self._buffer
        try:
            if not self._wait_for_load(question, session_id, run):
                return
            loaded = self._loaded
            if loaded is None:
                buffer.finish(session_id, status=ERROR, error=NO_DATASET_MESSAGE)
                return
            if not question.strip():
                buffer.finish(session_id, status=ERROR, error="The question is empty.")
                return
            key = self._cache_key(loaded, question, history) if self._cache is not None else None
            cached = self._cache.get(key) if key else None
            if cached is not None:
                if cached.get("meta", {}).get("computed"):
                    buffer.set_computed(session_id, cached["meta"]["computed"])
                buffer.set_sources(session_id, cached.get("sources", []))
                buffer.update_meta(session_id, **{**cached.get("meta", {}), "question": question, "cached": True})
                buffer.append(session_id, cached.get("text", ""))
                buffer.finish(session_id, status=DONE, metrics=cached.get("metrics", {}))
                return
            self._generate(question, session_id, history, run.cancel, loaded, key, meta)
        except Exception as exc:  # the page must get a message, never a dead stream
            log.exception("answer %s failed", session_id)
            buffer.finish(session_id, status=ERROR, error=f"Internal error while answering: {exc}")
        finally:
            with self._running_lock:
                self._running.pop(session_id, None)
            run.done.set()

    def _wait_for_load(self, question: str, session_id: str, run: _Run) -> bool:
        """Hold a question sent while a file loads until it can be answered over that file (or over the file
        that replaced it); False when the answer already ended (the load failed, or Stop was pressed)."""
        ticket = self.pending_load()
        shown = ""
        waited_since = time.monotonic()
        while ticket is not None and not (ticket.searchable.is_set() and ticket.error is None):
            if run.cancel.cancelled:
                self._buffer.update_meta(session_id, waiting=None)
                self._buffer.finish(session_id, status=STOPPED)
                return False
            if ticket.replaced_by is not None:
                ticket = ticket.replaced_by  # a newer upload replaced this file: wait for that one
                continue
            if ticket.error is not None:
                self._buffer.update_meta(session_id, waiting=None, resend=question)  # the page puts it back
                self._buffer.finish(
                    session_id,
                    status=ERROR,
                    error=f"{ticket.name} could not be loaded, so the question was not answered: {ticket.error} "
                    "The question is back in the input box to send again.",
                )
                return False
            if ticket.stage == "starting" and time.monotonic() - waited_since > LOAD_START_TIMEOUT:
                self._give_up(ticket, "the file never reached the app; choose it again.")
                continue
            if ticket.waiting_text() != shown:
                shown = ticket.waiting_text()
                self._buffer.update_meta(session_id, waiting=shown)
            ticket.searchable.wait(LOAD_WAIT_POLL_SECONDS)
        self._buffer.update_meta(session_id, waiting=None)
        return True

    def _give_up(self, ticket: LoadTicket, message: str) -> None:
        """A load announced but never started fails, so that the questions waiting for it end."""
        ticket.fail(message)
        with self._pending_lock:
            if self._pending is ticket:
                self._pending = None

    def _generate(
        self,
        question: str,
        session_id: str,
        history: list[dict[str, str]],
        token: CancelToken,
        loaded: _Loaded,
        key: str | None,
        meta: dict[str, Any],
    ) -> None:
        buffer = self._buffer
        llm = self._settings.llm
        top_k = self._settings.retrieval.top_k
        try:
            client: LLMClient | None = self.client()
            client_error: Exception | None = None
        except (ConfigError, LLMError) as exc:
            client, client_error = None, exc
        computed, computed_note = self._compute(question, loaded, client)
        notes: list[str] = [computed_note] if computed_note else []
        semantic = loaded.retriever.semantic_progress
        if semantic is not None and computed is None:
            done, total = semantic
            notes.append(f"semantic search still indexing, {100 * done // max(total, 1)}%: records found by keywords")
        if computed is not None:
            buffer.set_computed(session_id, computed)
            meta["computed"] = computed
        started = time.perf_counter()
        if computed is not None:  # the answer is the result; only the records behind it matter
            hits = self._computed_hits(loaded, computed, top_k)
            prompt_hits = hits[:COMPUTED_PROMPT_RECORDS] if _answers_with_records(computed) else []
        else:
            hits = prompt_hits = loaded.retriever.search(question, k=top_k)
        retrieval_seconds = time.perf_counter() - started
        meta["timings"] = {**(computed or {}).get("timings", {}), "retrieval_ms": round(retrieval_seconds * 1000, 2)}
        if client is None:
            buffer.set_sources(session_id, [_source(i + 1, hit) for i, hit in enumerate(hits)])
            meta["notes"] = notes
            buffer.update_meta(session_id, **meta)
            buffer.finish(session_id, status=ERROR, error=str(client_error))
            return
        window = self.context_window(client)
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
            )
        except ValueError as exc:
            buffer.set_sources(session_id, [_source(i + 1, hit) for i, hit in enumerate(hits)])
            buffer.finish(
                session_id,
                status=ERROR,
                error=f"{exc}: set 'llm.num_ctx' larger or 'llm.max_tokens' smaller in the settings.",
            )
            return
        if computed is not None:  # shown as the records behind the result, in the prompt or not
            sources = [_source(i + 1, hit) for i, hit in enumerate(hits)]
        else:
            sources = [_source(label, hits[label - 1]) for label in plan.source_labels]
        buffer.set_sources(session_id, sources)
        meta.update(notes=notes + list(plan.notes), context_window=window, model=client.model)
        buffer.update_meta(session_id, **meta)
        if token.cancelled:
            buffer.finish(session_id, status=STOPPED)
            return

        parts: list[str] = []
        metrics: dict[str, Any] = {}
        messages = plan.messages
        lead = _started_reply(computed, client)
        if lead:  # the reply starts with the result; the model continues it
            messages = [*messages, {"role": "assistant", "content": lead}]
            parts.append(lead)
            buffer.append(session_id, lead)
        try:
            for chunk in client.generate_stream(messages, cancel=token, num_ctx=window):
                if chunk.text:
                    parts.append(chunk.text)
                    buffer.append(session_id, chunk.text)
                if chunk.thinking:
                    buffer.append_thinking(session_id, chunk.thinking)
                if chunk.metrics is not None:
                    metrics = chunk.metrics.to_dict()
        except LLMError as exc:
            if exc.partial_text and not parts:
                buffer.append(session_id, exc.partial_text)
            buffer.finish(session_id, status=ERROR, error=exc.message, metrics=metrics)
            return

        text = "".join(parts)
        cited = [plan.source_labels[n] for n in cited_labels(text) if n in plan.source_labels]
        metrics = {**metrics, "retrieval_seconds": round(retrieval_seconds, 4)}
        meta.update(cited=cited, notes=notes + list(plan.notes) + list(metrics.get("warnings") or []))
        buffer.update_meta(session_id, **meta)
        if token.cancelled or metrics.get("finish_reason") == "cancelled":
            buffer.finish(session_id, status=STOPPED, metrics=metrics)
            return
        if key is not None and self._cache is not None and loaded.retriever.semantic_progress is None:
            # (answers found by keywords alone while the embeddings are computed are not kept)
            self._cache.put(key, {"text": text, "sources": sources, "metrics": metrics, "meta": meta})
        buffer.finish(session_id, status=DONE, metrics=metrics)


    def _compute(
        self, question: str, loaded: _Loaded, client: LLMClient | None
    ) -> tuple[dict[str, Any] | None, str | None]:
        """The part of the answer computed over all records, or a note on why there is none."""
        analytics = loaded.analytics
        mode = self._settings.analytics.planner
        if analytics is None or mode == "off":
            return None, None
        outcome = analytics.compute(
            question, mode=mode, llm_client=client, server=self._settings.llm.backend != "embedded"
        )
        return outcome.computed, outcome.note

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
