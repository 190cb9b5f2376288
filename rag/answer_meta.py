"""The typed contract of an answer's metadata (``Answer.meta``, the stream buffer's ``meta``) and of its part
computed over all records (``meta["computed"]``, the buffer's ``computed``).

The engine keeps writing plain JSON-safe dicts (the stream buffer, Redis and the response cache hold them
unchanged); readers turn one into ``AnswerMeta`` or ``ComputedResult`` with ``from_dict`` and read attributes.
``from_dict`` is tolerant (a missing key takes the field's default, an unknown key is kept aside), so answers
cached by older versions still load, and ``to_dict`` gives back the same dict, keys in the same order.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Collection, Mapping, TypeVar

_Record = TypeVar("_Record", bound="_KeyedRecord")


@dataclass(frozen=True)
class _KeyedRecord:
    """A frozen record read from a JSON-safe dict whose keys are its field names."""

    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """Keys the record does not know (kept so ``to_dict`` gives them back)."""
    read_keys: tuple[str, ...] | None = field(default=None, repr=False, compare=False)
    """The keys of the dict read, in order (None for a record built directly: every field is written)."""

    @classmethod
    def _known_keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("extra", "read_keys"))

    @classmethod
    def _read_value(cls, key: str, value: Any) -> Any:
        """The field value of ``key`` read from ``value`` (as is, unless a subclass types it further)."""
        return value

    @staticmethod
    def _written_value(value: Any) -> Any:
        """The JSON-safe form of a field value."""
        return value.to_dict() if isinstance(value, _KeyedRecord) else value

    @classmethod
    def from_dict(cls: type[_Record], mapping: Any) -> _Record:
        """The record of ``mapping`` (anything but a mapping reads as an empty one)."""
        if not isinstance(mapping, Mapping):
            mapping = {}
        known = cls._known_keys()
        values = {key: cls._read_value(key, mapping[key]) for key in known if key in mapping}
        extra = {key: value for key, value in mapping.items() if key not in known}
        return cls(**values, extra=extra, read_keys=tuple(mapping))

    def to_dict(self, *, leave_out: Collection[str] = ()) -> dict[str, Any]:
        """The JSON-safe dict: the keys read, in their order (every field for a record built directly), but
        those in ``leave_out``."""
        keys = self.read_keys if self.read_keys is not None else (*self._known_keys(), *self.extra)
        known = set(self._known_keys())
        return {
            key: self._written_value(getattr(self, key)) if key in known else self.extra[key]
            for key in keys
            if (key in known or key in self.extra) and key not in leave_out
        }


@dataclass(frozen=True)
class ComputedResult(_KeyedRecord):
    """The part of an answer computed over all records (``rag.analytics.answer.computed_answer``, completed by
    ``rag.analytics.service``)."""

    summary: str = ""
    """The result in one sentence, shown large (with the share of the records, where it has one)."""
    fact: str | None = None
    """The result as the model reads and repeats it (the summary without the share)."""
    value: Any = None
    """The one value to show large (a number, a key, a share such as "26.6%"), None when there is none."""
    assumptions: list[str] = field(default_factory=list)
    """How the question was read, where it could be read in more than one way."""
    columns: list[str] = field(default_factory=list)
    """The columns of the result table."""
    rows: list[list[Any]] = field(default_factory=list)
    """The rows of the result table (the first ``MAX_TABLE_ROWS``)."""
    row_count: int | None = None
    """How many rows the query returned (``rows`` may hold fewer)."""
    sql: str = ""
    """The SQL that ran."""
    planner: str | None = None
    """Which planner read the question ("rules" or "llm")."""
    spec: dict[str, Any] = field(default_factory=dict)
    """The query spec (``QuerySpec.to_dict``)."""
    rows_considered: int | None = None
    """How many records the query ran over (all of them)."""
    matched_rows: int | None = None
    """How many records the filters kept."""
    record_ids: list[str] = field(default_factory=list)
    """The ids of the records behind the result (shown as sources)."""
    elapsed_ms: float | None = None
    """How long the query took, in milliseconds."""
    chart: str | None = None
    """The chart the result is drawn as: "line", "bar" or None."""
    timings: dict[str, float] = field(default_factory=dict)
    """The time of each stage of the computation, in milliseconds."""
    language: str | None = None
    """The language the question was read in ("en", "fr")."""
    read_as: str | None = None
    """The question as the planner read it, when it was asked in another language than English."""


@dataclass(frozen=True)
class AnswerMeta(_KeyedRecord):
    """The metadata of an answer: what it started with (``rag.answer_pipeline.answer_metadata``), then what its
    events added (``Meta``, ``Waiting`` and ``Computed`` events, ``rag.answer_sink``)."""

    question: str | None = None
    """The question asked."""
    backend: str | None = None
    """The model backend ("embedded", "ollama", ...)."""
    model: str | None = None
    """The model's name (the configured one, then the one the client reports)."""
    dataset_name: str | None = None
    """The name of the dataset answered from."""
    dataset_hash: str | None = None
    """The content hash of the dataset answered from."""
    settings: dict[str, Any] | None = None
    """The settings the answer was made with: temperature, max_tokens, num_ctx, top_k, hybrid."""
    cached: bool = False
    """Whether the answer was replayed from the response cache."""
    notes: list[str] = field(default_factory=list)
    """Notes shown under the answer (why nothing was computed, semantic search still indexing, ...)."""
    computed: ComputedResult | None = None
    """The part computed over all records, when a query ran."""
    timings: dict[str, float] = field(default_factory=dict)
    """The time of each stage (the computation's, then ``retrieval_ms``), in milliseconds."""
    context_window: int | None = None
    """The model's context window the prompt was built for, in tokens."""
    cited: list[int] = field(default_factory=list)
    """The labels of the sources the answer's text cites."""
    refusal: dict[str, Any] | None = None
    """Why an analytic question was not computed, with rephrasings (``Refusal.to_dict``)."""
    grounding: dict[str, Any] | None = None
    """The grounding check of the text (``rag.grounding.Grounding.to_dict``)."""
    waiting: str | None = None
    """What the answer waits for now ("Waiting for the model (position 2)…"), None when nothing."""
    resend: str | None = None
    """A question the page sends again (its file's load was replaced)."""

    @classmethod
    def _read_value(cls, key: str, value: Any) -> Any:
        if key == "computed":
            return ComputedResult.from_dict(value) if isinstance(value, Mapping) else None
        return value

    @property
    def rephrasings(self) -> list[str] | None:
        """The questions a refused analytic question offers instead, None when there is no such list."""
        questions = self.refusal.get("rephrasings") if isinstance(self.refusal, Mapping) else None
        return questions if isinstance(questions, list) else None
