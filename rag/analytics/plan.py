"""What a planner returns: a spec with the assumptions made to fill it, or why there is none.

Every word of a question is accounted for (``Plan.words``): the reading says what each word did ("field",
"value", "cue", …) or that it was ignored. A question a planner cannot read completely is ``unfilled``, and the
outcome says which words were not understood (``PlanOutcome.unread``) and what was read around them
(``PlanOutcome.reading``), from which ``rag.analytics.rephrase`` builds questions the planner can read: the
``Refusal`` the page shows instead of a number nobody computed.
"""

from __future__ import annotations

from rag.i18n import _, speaking

from dataclasses import dataclass, field

from rag.analytics.spec import Filter, QuerySpec

PLANNED = "planned"
"""The question is analytic and the spec is filled."""
NOT_ANALYTIC = "not_analytic"
"""A lookup or open question: retrieval answers it."""
UNFILLED = "unfilled"
"""The question looks analytic, but the planner could not fill a spec (the reason says why)."""

WORD_ROLES = ("cue", "field", "value", "filter", "group", "limit", "date", "records", "grammar", "ignored")
"""What a word of a question did in its reading (``Plan.words``): ``cue`` an operation ("average", "how many",
"highest"); ``field`` named a field; ``value`` named a value (a filter); ``filter``/``group``/``limit``/``date``
part of a filter, a grouping, a limit, a date; ``records`` names the records themselves ("cars", "flowers");
``grammar`` carries no meaning of its own ("the", "what", "is"); ``ignored`` placed nowhere and left out (a tag,
"thx", a word after the question's end): the read line names it."""


@dataclass(frozen=True)
class Plan:
    """A filled spec."""

    spec: QuerySpec
    planner: str
    """``rules`` or ``llm``."""
    assumptions: tuple[str, ...] = ()
    """How the question was read, for the user: ``'Japan' read as Origin = Japan``; ``ignored: 'thx'``."""
    noun: str | None = None
    """What the question calls the records ("languages"), when it names them; None: the file's noun."""
    share: bool = False
    """The question asks for a count as a share of all records ("what percentage of cars are from Japan")."""
    share_of: tuple[Filter, ...] = ()
    """The filters of the records a share is taken of, when the question names them ("what percentage of Black
    victims were male": race = Black); empty: of all records."""
    words: tuple[tuple[str, str], ...] = ()
    """Each word of the question as written, with its role (one of ``WORD_ROLES``); empty for the LLM planner."""

    @property
    def ignored(self) -> tuple[str, ...]:
        """The words the reading left out (never one that changes the result)."""
        return tuple(word for word, role in self.words if role == "ignored")


@dataclass(frozen=True)
class Reading:
    """What a planner did read of a question it could not read completely: the ground for rephrasings."""

    aggregation: str | None = None
    """The operation asked (``mean``, ``count``, ``argmax``, …), when one was read."""
    field: str | None = None
    """The measured field, when one was read."""
    group: str | None = None
    """The field grouped by, when one was read."""
    filters: tuple[Filter, ...] = ()
    """Filters read (stored values, as the spec would hold them)."""
    grouped: bool = False
    """The question asks for groups ("per", "by", "for each") whether or not their field was read."""
    candidates: tuple[str, ...] = ()
    """Fields the unread words could mean, closest first ("Did you mean temp_max or temp_min?")."""
    group_candidates: tuple[str, ...] = ()
    """Fields an unread group could mean, closest first."""
    month: int | None = None
    """A month named without a year ("in March") that the data holds in several years."""
    noun: str | None = None
    """What the question calls the records, when it names them."""


@dataclass(frozen=True)
class PlanOutcome:
    """A planner's verdict on one question."""

    status: str
    """``planned``, ``not_analytic`` or ``unfilled``."""
    plan: Plan | None = None
    reason: str = ""
    """Why no spec was filled (``unfilled``), in words for the user."""
    unread: tuple[str, ...] = ()
    """The words that were not understood (``unfilled``), as written."""
    reading: Reading | None = None
    """What was read around them (``unfilled``), for rephrasings."""

    @classmethod
    def planned(cls, plan: Plan) -> "PlanOutcome":
        return cls(PLANNED, plan)

    @classmethod
    def not_analytic(cls) -> "PlanOutcome":
        return cls(NOT_ANALYTIC)

    @classmethod
    def unfilled(cls, reason: str, *, unread: tuple[str, ...] | list[str] = (),
                 reading: Reading | None = None) -> "PlanOutcome":
        return cls(UNFILLED, reason=reason, unread=tuple(unread), reading=reading)


@dataclass(frozen=True)
class Refusal:
    """The answer to an analytic question that could not be read: no number, what was not understood, and
    questions the planner can read instead (each one planned and validated before it is offered)."""

    not_understood: str
    """What was not understood, for the user: ``'price' (no field holds it)``."""
    rephrasings: list[str] = field(default_factory=list)
    """Two or three questions to ask instead, built from the data's fields ("average Horsepower by Cylinders")."""

    language: str = "en"
    """The language of the question, which the text is worded in."""

    def text(self) -> str:
        """The answer's text: what was not understood, and what to ask instead."""
        with speaking(self.language):
            lines = [_("I could not compute this over all records: {reason}. I give no number rather than a "
                       "guessed one.").format(reason=self.not_understood)]
            if self.rephrasings:
                lines.append(_("Try: {questions}.").format(
                    questions="; ".join(f"“{question}”" for question in self.rephrasings)))
        return "\n\n".join(lines).replace("?. ", "? ")  # a reason asking "did you mean …?" ends the sentence

    def to_dict(self) -> dict[str, object]:
        return {"not_understood": self.not_understood, "rephrasings": list(self.rephrasings), "text": self.text()}
