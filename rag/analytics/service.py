"""Answers computed over all records of one dataset: plan the question, run the query, word the result.

``DatasetAnalytics.build`` puts a dataset into its analytic table; ``compute`` takes a question
and the ``analytics.planner`` setting and returns a ``ComputedOutcome``: the computed part of the
answer, or a note saying why the question goes to retrieval instead.

An analytic question (``rules.analytic_intent``: "how many", "average", "highest", "per", …) that cannot be
computed is refused (``ComputedOutcome.refusal``): what was not understood, and two or three rephrasings the
planner reads (``rag.analytics.rephrase``), each planned and validated before it is offered. The engine then
answers with the refusal and the retrieved records, without asking the model: a model given a few records would
invent the count, sum, average, extreme or ranking.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from rag.analytics.answer import computed_answer, plain_field_name, similar_fields, single_key
from rag.analytics.assumption_lines import worded_assumption
from rag.analytics.errors import AnalyticsError, SpecError
from rag.analytics.lexicons import QuestionReading, read_question, written_for
from rag.i18n import _, current_language, speaking
from rag.analytics.plan import NOT_ANALYTIC, PLANNED, Plan, PlanOutcome, Refusal
from rag.analytics.rephrase import rephrasings
from rag.analytics.rules import Embed, RulesPlanner, analytic_intent
from rag.analytics.spec import QuerySpec, TableSchema
from rag.analytics.table import AnalyticTable
from rag.analytics.validate import validate_spec
from rag.profile import DatasetProfile
from rag.records import Dataset

log = logging.getLogger(__name__)

PLANNERS = ("auto", "rules", "llm", "off")


@dataclass(frozen=True)
class ComputedOutcome:
    """What the analytic path made of one question."""

    computed: dict[str, Any] | None = None
    """The computed part of the answer (see ``rag.analytics.answer.computed_answer``), when a query ran."""
    note: str | None = None
    """Why nothing was computed for a question that looked analytic (shown with the answer)."""
    refusal: Refusal | None = None
    """For an analytic question that could not be computed: what was not understood and questions to ask
    instead. The answer is its text (``Refusal.text()``) with the retrieved records as sources; the model is
    not asked (it would invent the number)."""
    plan_ms: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


class DatasetAnalytics:
    """The analytic table of one dataset and the planners that read questions about it."""

    def __init__(self, table: AnalyticTable, *, noun: str = "records", embed: Embed | None = None,
                 query_timeout: float = 5.0) -> None:
        self._table = table
        self._noun = noun
        self._rules = RulesPlanner(table.schema, embed=embed, record_noun=noun, names=table.name_index)
        self._query_timeout = query_timeout

    @classmethod
    def build(
        cls,
        dataset: Dataset,
        profile: DatasetProfile,
        *,
        memory_limit_mb: int = 512,
        query_timeout: float = 5.0,
        embed: Embed | None = None,
    ) -> "DatasetAnalytics":
        """Load ``dataset`` into its analytic table."""
        table = AnalyticTable.build(dataset, profile, memory_limit=f"{memory_limit_mb}MB")
        return cls(table, noun=record_noun(dataset.name), embed=embed, query_timeout=query_timeout)

    @property
    def table(self) -> AnalyticTable:
        return self._table

    @property
    def noun(self) -> str:
        """What the records are called in sentences ("cars", "orders", "records")."""
        return self._noun

    def plan(self, question: str, *, mode: str = "rules", llm_client: Any = None, server: bool = False) -> PlanOutcome:
        """The plan for ``question`` under the ``analytics.planner`` setting ``mode``."""
        if mode == "off":
            return PlanOutcome.not_analytic()
        if mode == "llm" and llm_client is not None:
            outcome = self._llm_plan(question, llm_client)
            if outcome.status == PLANNED:
                return outcome
            rules = self._rules_plan(question)
            return rules if rules.status == PLANNED else outcome
        outcome = self._rules_plan(question)
        if outcome.status == PLANNED or outcome.status == NOT_ANALYTIC:
            return outcome
        if mode == "auto" and server and llm_client is not None:
            llm = self._llm_plan(question, llm_client)
            if llm.status == PLANNED:
                return llm
        return outcome

    def compute(self, question: str, *, mode: str = "rules", llm_client: Any = None, server: bool = False) -> ComputedOutcome:
        """Plan and run ``question``; a question that is not analytic gives an empty outcome, an analytic one that
        cannot be computed a refusal with rephrasings. A question in another language than English is read in the
        planner's words first (``rag.analytics.lexicons``), and the sentences are worded in its language."""
        reading = read_question(question)
        with speaking(reading.language):
            outcome = self._compute(reading, mode=mode, llm_client=llm_client, server=server)
            if outcome.computed is not None and reading.translated:
                outcome.computed["assumptions"] = [_quoted_as_written(worded_assumption(line), reading)
                                                   for line in outcome.computed.get("assumptions") or []]
        if outcome.computed is not None:
            outcome.computed["language"] = reading.language
            if reading.translated:
                outcome.computed["read_as"] = reading.text
        return outcome

    def _compute(self, reading: QuestionReading, *, mode: str, llm_client: Any, server: bool) -> ComputedOutcome:
        question = reading.text
        started = time.perf_counter()
        outcome = self.plan(question, mode=mode, llm_client=llm_client, server=server)
        planned = time.perf_counter()
        timings = {"plan_ms": round((planned - started) * 1000, 2)}
        if outcome.status == NOT_ANALYTIC:
            if mode == "off" or analytic_intent(question) is None:
                return ComputedOutcome(timings=timings)
            return self._refused(reading, outcome, "", timings)
        if outcome.status != PLANNED or outcome.plan is None:
            if analytic_intent(question) is None:  # a lookup of a name the data lacks: retrieval says so
                return ComputedOutcome(
                    note=_("Not computed over all records ({reason}); answered from the retrieved records.").format(
                        reason=outcome.reason),
                    timings=timings,
                )
            return self._refused(reading, outcome, outcome.reason, timings)
        plan = outcome.plan
        try:
            result = self._table.run(plan.spec, timeout=self._query_timeout)
        except AnalyticsError as exc:
            if analytic_intent(question) is not None:
                return self._refused(reading, outcome, exc.message.rstrip("."), timings)
            return ComputedOutcome(
                note=_("Not computed over all records: {reason} Answered from the retrieved records.").format(
                    reason=exc.message),
                timings=timings,
            )
        timings["query_ms"] = round((time.perf_counter() - planned) * 1000, 2)
        if result.spec is not None:
            plan = dataclasses.replace(plan, spec=result.spec)  # the validated spec: stored spellings, real periods
        noun = plan.noun or self._noun
        if reading.translated:  # the records as the question names them ("pétales"), else the catalog's word
            noun = (written_for(reading, noun) or noun).lower()
        computed = computed_answer(plan, result, self._table.schema, noun=noun, share_total=self._share_total(plan))
        computed["timings"] = timings
        return ComputedOutcome(computed=computed, timings=timings)

    def refusal(self, question: str | QuestionReading, outcome: PlanOutcome | None = None, reason: str = "") -> Refusal:
        """What to answer to an analytic ``question`` that cannot be computed: what was not understood, and up to
        three rephrasings the rules planner reads (each planned and validated first), in the question's language:
        the words quoted in the reason are the question's own, the rephrasings are read back by its lexicon."""
        written = question if isinstance(question, QuestionReading) else read_question(question)
        question = written.text
        outcome = outcome or self._rules.plan(question)
        reading = outcome.reading
        unread = [word for word in outcome.unread if word]
        if not reason:
            cue = analytic_intent(question) or _("a computation")
            reason = _("the question asks for '{cue}', but names no field, value or group of the data to compute it "
                       "on").format(cue=written_for(written, cue) or cue)
        candidates = list(reading.candidates) if reading is not None else []
        if candidates and not any(path in reason for path in candidates):
            reason += _("; did you mean {fields}?").format(fields=_(" or ").join(candidates[:3]))
        noun = (reading.noun if reading is not None and reading.noun else None) or self._noun
        if written.translated:  # the records as the question names them, else "records" in its language
            noun = written_for(written, noun) or "records"
            reason = _quoted_as_written(reason, written)
        with speaking(written.language):
            offered = rephrasings(
                reading, self._table.schema, self._checked, noun=noun,
                aggregation=_intent_aggregation(question), closest=self._rules.closest_fields,
                words=[word.lower() for word in unread],
            )
        asked = {question.strip().lower(), " ".join(word for word, _output in written.units).strip().lower()}
        offered = [q for q in offered if q.strip().lower() not in asked]
        return Refusal(not_understood=reason, rephrasings=offered, language=written.language)

    def _refused(self, reading: QuestionReading, outcome: PlanOutcome, reason: str,
                 timings: dict[str, float]) -> ComputedOutcome:
        started = time.perf_counter()
        refusal = self.refusal(reading, outcome, reason)
        timings["rephrase_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return ComputedOutcome(note=_("Not computed over all records ({reason}).").format(reason=refusal.not_understood),
                               refusal=refusal,
                               timings=timings)

    def _checked(self, question: str) -> QuerySpec | None:
        """The validated spec ``question`` plans into with the rules planner, or None when it does not plan,
        validate and compute to something (a count of 0, an average over no record), or leaves a word out: a
        rephrasing must be read whole and answer. It is read in the language sentences are worded in now."""
        outcome = self._rules_plan(read_question(question, current_language()).text)
        if outcome.status != PLANNED or outcome.plan is None or outcome.plan.ignored:
            return None
        try:
            result = self._table.run(outcome.plan.spec, timeout=self._query_timeout)
        except AnalyticsError:
            return None
        if _first_value(result) in (None, 0):
            return None
        return result.spec

    def _share_total(self, plan: Plan) -> int | None:
        """How many records a share is taken of, when the question names them ("of Black victims"): the count
        over ``plan.share_of``; None for a share of all records (or when that count cannot be run)."""
        if not plan.share or not plan.share_of:
            return None
        try:
            base = self._table.run(dataclasses.replace(plan.spec, filters=plan.share_of), timeout=self._query_timeout)
        except AnalyticsError:
            return None
        value = _first_value(base)
        return value if isinstance(value, int) and value > 0 else None

    def _rules_plan(self, question: str) -> PlanOutcome:
        outcome = self._rules.plan(question)
        if outcome.status != PLANNED or outcome.plan is None:
            return outcome
        return PlanOutcome.planned(prefer_written_fields(outcome.plan, question, self._table.schema))

    def _llm_plan(self, question: str, client: Any) -> PlanOutcome:
        try:
            from rag.analytics.llm_planner import plan_with_llm

            return plan_with_llm(question, self._table.schema, client, validate=validate_spec)
        except Exception as exc:  # the LLM planner is optional help: never let it break an answer
            log.warning("LLM planner failed: %s", exc)
            return PlanOutcome.unfilled(f"the model could not plan it: {exc}")

    def close(self) -> None:
        self._table.close()


def _first_value(result: Any) -> Any:
    """The value a one-number query gave (the last column of its first row), None when it gave no row."""
    return result.rows[0][-1] if result.rows and result.rows[0] else None


def _quoted_as_written(reason: str, reading: QuestionReading) -> str:
    """``reason`` with each word it quotes ('left') as the question wrote it ('laissés')."""
    def written(match: re.Match[str]) -> str:
        words = match.group(1)
        whole = written_for(reading, words)
        if whole is None and " " in words:  # "march 2012" -> "mars 2012"
            whole = " ".join(written_for(reading, word) or word for word in words.split())
        return "'" + (whole or words) + "'"

    return re.sub(r"'([^']+)'", written, reason)


def prefer_written_fields(plan: Plan, question: str, schema: TableSchema) -> Plan:
    """``plan`` with a field swapped for the one the question writes out, where the planner's words could not
    tell them apart.

    The rules planner matches words, so ``Name`` and ``name``, or ``a.b``, the key ``["a.b"]`` and ``a"b``,
    tie, and a dotted or punctuated name (``items.qty``, ``x[0]``) may lose to another field sharing one of
    its words (the key ``items[]``). The question's own spelling decides, for the measured field, the
    grouping and the fields compared with a number (a field matched by its value keeps it): a field of the
    same words written as spelled (else ignoring case), or a dotted or punctuated name written exactly, that
    the plan does not use already; the longest name written wins (``["a.b"]`` over ``a.b``). A field the
    question writes as spelled stays, and so does one no other field is written for.
    """
    spec = plan.spec
    taken: set[str | None] = {spec.field, spec.group_by.field if spec.group_by else None}
    taken |= {item.field for item in spec.filters}

    def written(path: str | None) -> str | None:
        choice = _written_field(path, question, schema, taken) if path else path
        taken.add(choice)
        return choice

    field = written(spec.field)
    group_by = spec.group_by
    if group_by is not None:
        group_by = dataclasses.replace(group_by, field=written(group_by.field))
    filters = tuple(
        dataclasses.replace(item, field=written(item.field)) if item.op in _COMPARED else item
        for item in spec.filters
    )
    swapped = dataclasses.replace(spec, field=field, group_by=group_by, filters=filters)
    if swapped == spec:
        return plan
    try:
        validate_spec(swapped, schema)
    except SpecError:  # the written field does not fit the operation: the planner's pick stands
        return plan
    return dataclasses.replace(plan, spec=swapped)


_COMPARED = ("<", "<=", ">", ">=", "between")


def _intent_aggregation(question: str) -> str | None:
    """The operation a question's cue asks for, when the planner read none: "average" -> mean, "how many" -> count."""
    cue = analytic_intent(question) or ""
    if cue in ("average", "mean", "avg", "on average"):
        return "mean"
    if cue in ("median", "total", "sum"):
        return {"median": "median", "total": "sum", "sum": "sum"}[cue]
    if cue in ("how many", "number of", "count", "how often", "percentage", "percent", "proportion", "fraction",
               "tally", "mode", "modal", "distribution", "breakdown"):
        return "count"
    if cue in ("lowest", "minimum", "min", "least", "fewest", "smallest", "bottom", "worst", "cheapest", "lightest",
               "earliest", "oldest", "youngest", "shortest", "slowest"):
        return "min"
    if cue:
        return "max"
    return None


def _written_field(path: str, question: str, schema: TableSchema, taken: set[str | None]) -> str:
    """``path``, or the field ``question`` writes out in its place (see ``prefer_written_fields``)."""
    if path not in schema.columns:
        return path  # a child table's own name
    chosen = _written_score(path, question)
    scores = {other: _written_score(other, question) for other in similar_fields(path, schema)}
    if chosen[0] < 3:  # not written as spelled: a dotted or punctuated name written out may take its place
        for other in schema.columns:
            if other not in taken and other not in scores and ("." in other or not plain_field_name(other)):
                score = _written_score(other, question)
                if score[0] >= 2:  # written as it is spelled, not only in other case
                    scores[other] = score
    if not scores:
        return path
    best = max(scores.values())
    winners = [other for other, score in scores.items() if score == best]
    return winners[0] if best > chosen and len(winners) == 1 else path


_NAME_CHARACTER = re.compile(r"[\w.\[\]]")


def _written_score(path: str, question: str) -> tuple[int, int]:
    """How plainly ``question`` writes the field ``path``: (how, length of what it writes), higher is plainer.

    How: 3 the path as spelled; for a field that is one quoted key (``["a.b"]``) also the key in quotes
    (``"a.b"``); 2 that key bare (``a.b``, which is also how the nested path a -> b is written, and that
    path wins); 1 any of them ignoring case; 0 none. A name must stand alone: ``a.b`` is not written inside
    ``a.bc`` or ``x.a.b``.
    """
    forms = [(path, 3)]
    key = single_key(path)
    if key is not None:
        forms += [(path[1:-1], 3), (key, 2)]
    best = (0, 0)
    folded = question.casefold()
    for form, level in forms:
        if _stands_alone(question, form):
            best = max(best, (level, len(form)))
        elif _stands_alone(folded, form.casefold()):
            best = max(best, (1, len(form)))
    return best


def _stands_alone(text: str, name: str) -> bool:
    start = text.find(name)
    while name and start >= 0:
        end = start + len(name)
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if after == "." and text[end + 1 : end + 2].strip() == "":
            after = ""  # the sentence's full stop
        if not _NAME_CHARACTER.match(before or " ") and not _NAME_CHARACTER.match(after or " "):
            return True
        start = text.find(name, start + 1)
    return False


_NOUN = re.compile(r"[A-Za-z]+")


def record_noun(dataset_name: str, *, is_word: Any = None) -> str:
    """What to call the records in sentences: the file's plural noun ("cars.json" -> "cars"), else "records".

    The file's name is taken only when it is an English word (``is_word``, by default the vocabulary of the
    bundled embedding model): "starwars.json" holds characters, and "16 of 87 starwars" would name the file, not
    the records. A question that names its records ("how many characters …") is answered with its own word."""
    stem_name = dataset_name.rsplit("/", 1)[-1].split(".", 1)[0]
    words = _NOUN.findall(stem_name)
    if len(words) == 1 and len(words[0]) > 3 and words[0].lower().endswith("s") and not words[0].lower().endswith("ss"):
        word = words[0].lower()
        known = (is_word or english_word)(word)
        if known is not False:
            return word
    return "records"


@functools.lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str] | None:
    """The whole words of the bundled embedding model's vocabulary (about 20,000 common English words), or None
    when the model is not installed."""
    try:
        from rag.model_files import default_embedding_model_dir

        path = default_embedding_model_dir() / "vocab.txt"
        return frozenset(line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                         if line.strip().isalpha())
    except Exception:  # no model, no vocabulary: the file's word is taken as it is
        return None


def english_word(word: str) -> bool | None:
    """Whether ``word`` is a common English word; None when that cannot be told."""
    vocabulary = _vocabulary()
    return None if vocabulary is None else word.lower() in vocabulary
