"""What a planner returns: a spec with the assumptions made to fill it, or why there is none."""

from __future__ import annotations

from dataclasses import dataclass

from rag.analytics.spec import QuerySpec

PLANNED = "planned"
"""The question is analytic and the spec is filled."""
NOT_ANALYTIC = "not_analytic"
"""A lookup or open question: retrieval answers it."""
UNFILLED = "unfilled"
"""The question looks analytic, but the planner could not fill a spec (the reason says why)."""


@dataclass(frozen=True)
class Plan:
    """A filled spec."""

    spec: QuerySpec
    planner: str
    """``rules`` or ``llm``."""
    assumptions: tuple[str, ...] = ()
    """How the question was read, for the user: ``'Japan' read as Origin = Japan``."""
    noun: str | None = None
    """What the question calls the records ("languages"), when it names them; None: the file's noun."""
    share: bool = False
    """The question asks for a count as a share of all records ("what percentage of cars are from Japan")."""


@dataclass(frozen=True)
class PlanOutcome:
    """A planner's verdict on one question."""

    status: str
    """``planned``, ``not_analytic`` or ``unfilled``."""
    plan: Plan | None = None
    reason: str = ""
    """Why no spec was filled (``unfilled``), in words for the user."""

    @classmethod
    def planned(cls, plan: Plan) -> "PlanOutcome":
        return cls(PLANNED, plan)

    @classmethod
    def not_analytic(cls) -> "PlanOutcome":
        return cls(NOT_ANALYTIC)

    @classmethod
    def unfilled(cls, reason: str) -> "PlanOutcome":
        return cls(UNFILLED, reason=reason)
