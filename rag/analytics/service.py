"""Answers computed over all records of one dataset: plan the question, run the query, word the result.

``DatasetAnalytics.build`` puts a dataset into its analytic table; ``compute`` takes a question
and the ``analytics.planner`` setting and returns a ``ComputedOutcome``: the computed part of the
answer, or a note saying why the question goes to retrieval instead.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from rag.analytics.answer import computed_answer
from rag.analytics.errors import AnalyticsError
from rag.analytics.plan import NOT_ANALYTIC, PLANNED, PlanOutcome
from rag.analytics.rules import Embed, RulesPlanner
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
    plan_ms: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


class DatasetAnalytics:
    """The analytic table of one dataset and the planners that read questions about it."""

    def __init__(self, table: AnalyticTable, *, noun: str = "records", embed: Embed | None = None,
                 query_timeout: float = 5.0) -> None:
        self._table = table
        self._noun = noun
        self._rules = RulesPlanner(table.schema, embed=embed, record_noun=noun)
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
            rules = self._rules.plan(question)
            return rules if rules.status == PLANNED else outcome
        outcome = self._rules.plan(question)
        if outcome.status == PLANNED or outcome.status == NOT_ANALYTIC:
            return outcome
        if mode == "auto" and server and llm_client is not None:
            llm = self._llm_plan(question, llm_client)
            if llm.status == PLANNED:
                return llm
        return outcome

    def compute(self, question: str, *, mode: str = "rules", llm_client: Any = None, server: bool = False) -> ComputedOutcome:
        """Plan and run ``question``; a question that is not analytic gives an empty outcome."""
        started = time.perf_counter()
        outcome = self.plan(question, mode=mode, llm_client=llm_client, server=server)
        planned = time.perf_counter()
        timings = {"plan_ms": round((planned - started) * 1000, 2)}
        if outcome.status == NOT_ANALYTIC:
            return ComputedOutcome(timings=timings)
        if outcome.status != PLANNED or outcome.plan is None:
            return ComputedOutcome(
                note=f"Not computed over all records ({outcome.reason}); answered from the retrieved records.",
                timings=timings,
            )
        plan = outcome.plan
        try:
            result = self._table.run(plan.spec, timeout=self._query_timeout)
        except AnalyticsError as exc:
            return ComputedOutcome(
                note=f"Not computed over all records: {exc.message} Answered from the retrieved records.",
                timings=timings,
            )
        timings["query_ms"] = round((time.perf_counter() - planned) * 1000, 2)
        if result.spec is not None:
            plan = dataclasses.replace(plan, spec=result.spec)  # the validated spec: stored spellings, real periods
        computed = computed_answer(plan, result, self._table.schema, noun=plan.noun or self._noun)
        computed["timings"] = timings
        return ComputedOutcome(computed=computed, timings=timings)

    def _llm_plan(self, question: str, client: Any) -> PlanOutcome:
        try:
            from rag.analytics.llm_planner import plan_with_llm

            return plan_with_llm(question, self._table.schema, client, validate=validate_spec)
        except Exception as exc:  # the LLM planner is optional help: never let it break an answer
            log.warning("LLM planner failed: %s", exc)
            return PlanOutcome.unfilled(f"the model could not plan it: {exc}")

    def close(self) -> None:
        self._table.close()


_NOUN = re.compile(r"[A-Za-z]+")


def record_noun(dataset_name: str) -> str:
    """What to call the records in sentences: the file's plural noun ("cars.json" -> "cars"), else "records"."""
    stem_name = dataset_name.rsplit("/", 1)[-1].split(".", 1)[0]
    words = _NOUN.findall(stem_name)
    if len(words) == 1 and len(words[0]) > 3 and words[0].lower().endswith("s") and not words[0].lower().endswith("ss"):
        return words[0].lower()
    return "records"
