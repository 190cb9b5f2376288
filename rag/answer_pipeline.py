"""One answer as typed events (``rag.answer_events``), in plain functions over a question, a loaded dataset, a
history and an ``AnswerSetup``: the part computed over all records (or the refusal of an analytic question
that could not be read), the records retrieved, the prompt, the model's streamed text, the grounding check,
the response cache. Nothing here touches the stream buffer: ``rag.answer_runner`` writes the events."""

from __future__ import annotations

import dataclasses
import logging
import queue as queues
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterator, Mapping, Sequence

from rag.analytics.answer import prompt_facts
from rag.analytics.lexicons import detect_language
from rag.analytics.plan import Refusal
from rag.answer_events import (
    FINAL_EVENTS,
    AnswerEvent,
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
from rag.cache import AnswerCache, answer_key, cached_answer, store_answer
from rag.dataset_registry import DatasetInfo, LoadedDataset
from rag.documents import record_text
from rag.errors import ConfigError, LLMError
from rag.i18n import ENGLISH, N_, worded
from rag.llm.base import LLMClient
from rag.llm.cancel import CancelToken
from rag.loading import LoadTicket
from rag.model_clients import context_window
from rag.prompt import build_prompt, cited_labels, estimate_tokens
from rag.retriever import Hit
from rag.semantic_wait import WAIT_LIMIT_SECONDS, expected_wait, indexing_percent, wait_until_ready
from rag.settings import LLMSettings, Settings
from rag.stream_buffer import DONE, STOPPED

log = logging.getLogger(__name__)

Events = Generator[AnswerEvent, None, Any]
"""A part of the answer pipeline: yields events, returns what its caller needs to go on."""

NO_DATASET_MESSAGE = N_("No dataset is loaded yet: upload a JSON file or click “Load example” first.")
NO_MATCH_MESSAGE = N_("No record contains the words of this question, so there is nothing to answer from.")
NO_MATCH_WHILE_INDEXING = N_(
    " Semantic search (which finds records by meaning) is still indexing, {percent}% done: ask again when it"
    " finishes, or use words the records contain."
)
DATASET_GONE_MESSAGE = N_(
    "The dataset this tab was using is no longer kept by the app (it was removed from the dataset store): "
    "load the file again."
)
"""The notices of an answer, in English; ``worded(language, ...)`` gives them in the question's language."""
SEMANTIC_WAIT_MESSAGE = N_("Waiting for semantic search, {percent}%…")
MODEL_WAIT_MESSAGE = N_("Waiting for the model (position {position})…")
"""What an answer waiting for semantic search or for the model's turn says."""
RENEW_TURN_SECONDS = 5.0
"""How often an answer holding one of the model's turns (``llm.max_concurrent``) says it still does."""
COMPUTED_PROMPT_RECORDS = 3
"""Records given to the model with a result that names records (argmax/argmin). The matches behind a
count are shown as sources only: beside them, small models repeat their numbers instead of the count."""


@dataclass(frozen=True)
class AnswerSetup:
    """What one answer needs besides its question and dataset."""

    settings: Settings
    llm: LLMSettings
    """The model settings of the tab asking (the configured ones when it chose none)."""
    client: Callable[[LLMSettings], LLMClient]
    """The client for model settings (raises ``ConfigError`` or ``LLMError`` when there is none)."""
    model_queue: Any = None
    """The line for the model (``rag.model_queue``), None when it has no limit."""
    cache: AnswerCache | None = None


def answer_metadata(question: str, llm: LLMSettings, settings: Settings, info: DatasetInfo | None) -> dict[str, Any]:
    """The metadata an answer starts with (no URL, no key: it is shown, kept and exported)."""
    retrieval = settings.retrieval
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


def answer_cache_key(
    loaded: LoadedDataset, question: str, history: Sequence[Mapping[str, str]], settings: Settings, llm: LLMSettings
) -> str:
    """The response cache's key of ``question`` over ``loaded`` with these settings."""
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
        retrieval={**dataclasses.asdict(settings.retrieval), "planner": settings.analytics.planner},
        question=question,
        history=history,
    )


def tab_answer(
    question: str,
    history: list[dict[str, str]],
    token: CancelToken,
    meta: dict[str, Any],
    *,
    answer_id: str,
    wait_for_load: Callable[[], Generator[AnswerEvent, None, tuple[bool, LoadTicket | None]]],
    pick_dataset: Callable[[LoadTicket | None], tuple[LoadedDataset | None, str | None]],
    setup: Callable[[], AnswerSetup],
) -> Events:
    """Every event of one answer asked from a tab: the wait for the tab's load, then the answer over the
    dataset ``pick_dataset`` finds (with the id it looked for), or why there is none."""
    go_on, ticket = yield from wait_for_load()
    if not go_on:
        return
    loaded, dataset_id = pick_dataset(ticket)
    if loaded is None:
        yield Failed(worded(detect_language(question), DATASET_GONE_MESSAGE if dataset_id else NO_DATASET_MESSAGE))
        return
    yield from settled_answer(question, loaded, history, token, meta, setup(), answer_id=answer_id)


def settled_answer(
    question: str,
    loaded: LoadedDataset,
    history: list[dict[str, str]],
    token: CancelToken,
    meta: dict[str, Any],
    setup: AnswerSetup,
    *,
    answer_id: str = "",
) -> Events:
    """The answer over ``loaded``: the cached one replayed, or a new one (``answer_events``), checked by the
    grounding stage and kept in the cache when it is done. ``meta`` (the answer's metadata) is brought up to
    date with the dataset."""
    if loaded.info.content_hash != meta.get("dataset_hash"):
        meta.update(dataset_name=loaded.info.name, dataset_hash=loaded.info.content_hash)
        yield Meta({"dataset_name": loaded.info.name, "dataset_hash": loaded.info.content_hash})
    if not question.strip():
        yield Failed(worded(detect_language(question), N_("The question is empty.")))
        return
    cache = setup.cache
    key = answer_cache_key(loaded, question, history, setup.settings, setup.llm) if cache is not None else None
    cached = cached_answer(cache, key) if key is not None and cache is not None else None
    if cached is not None:  # (an entry kept before the grounding check existed is checked now)
        yield from grounded(replay(cached), question=question)
        return
    events = grounded(answer_events(question, loaded, history, token, setup, answer_id=answer_id), question=question)
    recorded: list[AnswerEvent] = []
    for event in events:
        recorded.append(event)
        if isinstance(event, FINAL_EVENTS):
            keep = _returned(events)
            if keep and key is not None and cache is not None:
                store_answer(cache, key, recorded)
        yield event


def answer_events(
    question: str,
    loaded: LoadedDataset,
    history: list[dict[str, str]],
    token: CancelToken,
    setup: AnswerSetup,
    *,
    answer_id: str = "",
) -> Events:
    """One answer over ``loaded``, as events: the computed part, the sources, the metadata, the text as the
    model streams it (the started reply first), then ``Finished`` (done or stopped) or ``Failed`` (the text
    so far kept). Returns whether the answer may be cached (done, worded by the model, with semantic search
    ready). ``answer_id`` holds the answer's place in the model's line."""
    llm = setup.llm
    top_k = setup.settings.retrieval.top_k
    language = detect_language(question)
    try:
        client: LLMClient | None = setup.client(llm)
        client_failure = ""
    except (ConfigError, LLMError) as exc:
        client, client_failure = None, exc.worded(language)
    computed, computed_note, refusal = compute(question, loaded, client, setup)
    notes: list[str] = [computed_note] if computed_note else []
    if refusal is not None:  # analytic, not readable: never ask a model for a number from a few records
        yield from refuse(question, loaded, refusal, notes, top_k)
        return False
    semantic = loaded.retriever.semantic_progress
    indexing_note = None
    if semantic is not None and computed is None:
        message = N_("semantic search still indexing, {percent}%: records found by keywords")
        indexing_note = worded(language, message, percent=indexing_percent(semantic))
        notes.append(indexing_note)
    changes: dict[str, Any] = {}
    """Metadata written with the sources (the buffer's ``update_meta``)."""
    if computed is not None:
        yield Computed(computed)
        changes["computed"] = computed
    started = time.perf_counter()
    if computed is not None:  # the answer is the result; only the records behind it matter
        hits = computed_hits(loaded, computed, top_k)
        prompt_hits = hits[:COMPUTED_PROMPT_RECORDS] if _answers_with_records(computed) else []
    else:
        hits = prompt_hits = loaded.retriever.search(question, k=top_k)
    retrieval_seconds = time.perf_counter() - started
    changes["timings"] = {**(computed or {}).get("timings", {}), "retrieval_ms": round(retrieval_seconds * 1000, 2)}
    if not hits and computed is None and semantic is not None:
        if (yield from wait_for_semantic(loaded, token, language)):
            hits = prompt_hits = loaded.retriever.search(question, k=top_k)  # semantic search is ready now
            semantic = None
            notes = [note for note in notes if note is not indexing_note]
            retrieval_seconds = time.perf_counter() - started
    if token.cancelled:
        yield Finished(STOPPED)
        return False
    if not hits and computed is None:  # nothing to ground an answer in: the model would only invent one
        yield from answer_no_match(changes, notes, semantic, retrieval_seconds, language)
        return False
    if client is None:
        yield Sources([_source(i + 1, hit) for i, hit in enumerate(hits)])
        yield Meta({**changes, "notes": notes})
        yield Failed(client_failure)
        return False
    window = context_window(client, llm)
    try:
        plan = build_prompt(
            question,
            prompt_hits,
            profile_text=loaded.info.profile.to_prompt_text(),
            computed_text=prompt_facts(computed) if computed is not None else "",
            history=history,
            context_window=window,
            max_answer_tokens=llm.max_tokens,
            count_tokens=token_counter(client),
            records_budget=client.prompt_record_tokens,
            language=language,
        )
    except ValueError as exc:
        yield Sources([_source(i + 1, hit) for i, hit in enumerate(hits)])
        message = N_("{problem}: set 'llm.num_ctx' larger or 'llm.max_tokens' smaller in the settings.")
        yield Failed(worded(language, message, problem=exc))
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

    queue = setup.model_queue
    if queue is not None and not (yield from take_model_turn(queue, answer_id, token, language)):
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
        # A question in another language than English: the embedded model continues the engine's sentence in
        # English (bench/bench_french.py), so that sentence, in the question's language, is the whole reply.
        lead_only = bool(lead) and str((computed or {}).get("language") or "en") != "en"
        try:
            stream = () if lead_only else client.generate_stream(messages, cancel=token, num_ctx=window)
            for chunk in stream:
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
            yield Failed(exc.worded(language), metrics)
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


def answer_no_match(
    changes: dict[str, Any],
    notes: list[str],
    semantic: tuple[int, int] | None,
    retrieval_seconds: float,
    language: str = ENGLISH,
) -> Iterator[AnswerEvent]:
    """Say that no record matched (and, while the embeddings are computed, why), without asking the model, in
    ``language``."""
    text = worded(language, NO_MATCH_MESSAGE)
    if semantic is not None:
        text += worded(language, NO_MATCH_WHILE_INDEXING, percent=indexing_percent(semantic))
    yield Sources([])
    yield Meta({**changes, "notes": notes})
    yield TextDelta(text)
    yield Finished(DONE, {"retrieval_seconds": round(retrieval_seconds, 4)})


def wait_for_semantic(loaded: LoadedDataset, token: CancelToken, language: str = ENGLISH) -> Events:
    """A question no keyword matches waits for semantic search when it is expected within
    ``WAIT_LIMIT_SECONDS`` ("Waiting for semantic search, 60%…", in ``language``); returns True when it became
    ready."""
    progress = lambda: loaded.retriever.semantic_progress  # noqa: E731
    expected = expected_wait(progress, WAIT_LIMIT_SECONDS)
    if expected is None or expected > WAIT_LIMIT_SECONDS:
        return False

    def wait(show: Callable[[str], None]) -> bool:
        return wait_until_ready(
            progress,
            expected + WAIT_LIMIT_SECONDS / 3,
            stopped=lambda: token.cancelled,
            on_progress=lambda percent: show(worded(language, SEMANTIC_WAIT_MESSAGE, percent=percent)),
        )

    ready = yield from _waiting(wait)
    yield Waiting(None)
    return ready


def take_model_turn(queue: Any, answer_id: str, token: CancelToken, language: str = ENGLISH) -> Events:
    """Wait in line for the model, saying the answer's place (in ``language``); returns False when Stop was
    pressed meanwhile."""
    shown = threading.Event()

    def acquire(show: Callable[[str], None]) -> bool:
        def at(position: int) -> None:
            shown.set()
            show(worded(language, MODEL_WAIT_MESSAGE, position=position))

        return queue.acquire(answer_id, token, at)

    taken = yield from _waiting(acquire, undo=lambda taken: queue.release(answer_id) if taken else None)
    if shown.is_set():
        yield Waiting(None)
    return taken


def compute(
    question: str, loaded: LoadedDataset, client: LLMClient | None, setup: AnswerSetup
) -> tuple[dict[str, Any] | None, str | None, Refusal | None]:
    """The part of the answer computed over all records, or a note on why there is none, with the refusal
    of an analytic question that could not be read."""
    analytics = loaded.analytics
    mode = setup.settings.analytics.planner
    if analytics is None or mode == "off":
        return None, None, None
    outcome = analytics.compute(question, mode=mode, llm_client=client, server=setup.llm.backend != "embedded")
    return outcome.computed, outcome.note, outcome.refusal


def refuse(question: str, loaded: LoadedDataset, refusal: Refusal, notes: list[str], top_k: int) -> Events:
    """The answer to an analytic question the planner could not read: what was not understood, questions
    it can read instead, and the records retrieved for it; the model is not asked (from a few records it
    could only invent a count, a sum or an extreme)."""
    started = time.perf_counter()
    hits = loaded.retriever.search(question, k=top_k)
    seconds = time.perf_counter() - started
    yield Sources([_source(i + 1, hit) for i, hit in enumerate(hits)])
    yield Meta({"refusal": refusal.to_dict(), "notes": notes, "timings": {"retrieval_ms": round(seconds * 1000, 2)}})
    yield TextDelta(refusal.text())
    yield Finished(DONE, {"retrieval_seconds": round(seconds, 4)})


def computed_hits(loaded: LoadedDataset, computed: dict[str, Any] | None, k: int) -> list[Hit]:
    """The records behind a computed answer (argmax, a filter), as sources first."""
    if not computed:
        return []
    hits = []
    for record_id in computed.get("record_ids", [])[:k]:
        record = loaded.by_id.get(record_id)
        if record is not None:
            hits.append(Hit(record_id=record_id, score=1.0, text=record_text(record)[:1200], record=record))
    return hits


def token_counter(client: LLMClient) -> Callable[[str], int]:
    """The model's own token count where the client has one, else the prompt builder's estimate."""

    def count(text: str) -> int:
        try:
            exact = client.count_tokens(text)
        except LLMError:  # a model that cannot load says so when asked to answer, with its own message
            exact = None
        return exact + 1 if exact is not None else estimate_tokens(text)

    return count


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
