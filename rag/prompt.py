"""Build the chat messages for one question inside a token budget.

Order of priority when the budget is tight: the instructions and the question always go in;
then the result computed over all records (when the question was analytic); then the best retrieved record; then the dataset profile (shortened if needed); then the most
recent conversation turns; then the remaining records.

A question answered by a result computed over all records gets a focused prompt instead: the
result, the records behind it (an argmax, the first matches of a filter) and the question, with no
dataset summary. The model only words the result; the fewer unrelated numbers it sees, the less a
small model repeats a wrong one (SmolLM2-135M answered "4" to "how many cars have 8 cylinders?"
beside 5 retrieved records, and "108 of 406 cars have 8 cylinders" with the result alone). Whatever had to be cut is reported in
``PromptPlan.notes`` so the answer's metadata can say so.

Each retrieved record is labelled ``[1]``, ``[2]``... in the prompt; small models cite short
labels far more reliably than JSON paths. ``source_labels`` maps them back to record ids.

A backend that reads prompts slowly (the embedded model evaluates about 100 tokens a second per core)
gets a ``records_budget``: its records are written compactly (``compact_record``: the fields of one
nested object on one line) and only as many as fit the budget go in, so the part of the prompt that
changes from one question to the next stays short; the instructions and the dataset summary come
first and are the same for every question, so the model reuses them from its cache. When the question
names fields ("the horsepower of the chevrolet impala", "the alpha-3 code NOR"), each record shows only
those, its label field (its name) and the fields holding a value the question gives (``question_record``):
with whole records, 3 of 5 countries and 2 of 5 cars fitted SmolLM2's 200 tokens; with these, 5 of 5. A question that
names no field gets whole records, since nothing tells which fields matter.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from rag.documents import format_value
from rag.i18n import N_, Term, worded
from rag.mentions import MAX_VALUE_WORDS, Question, field_words

SYSTEM_INSTRUCTIONS = N_(
    "You are a data analyst answering questions about a JSON dataset. "
    "Answer only from the dataset summary and the numbered records given to you. "
    "Cite the records you use with their numbers in square brackets, like [1] or [2][3]. "
    "If the records and the summary do not contain the answer, say that the data does not show it. "
    "Be concise."
)
"""Worded in the question's language (through the catalog): told in English to answer in French, the embedded
135M model replied in French to 3 of 8 open French questions; told in French, to 7 of 8."""
RETRIEVED_HEADING = N_("Records retrieved for this question:")
SUMMARY_HEADING = N_("Dataset summary:")
QUESTION_LEAD = N_("Question: {question}")

COMPUTED_INSTRUCTIONS = (
    "You are a data analyst. The result below was computed exactly over every record of the dataset. "
    "Answer the question in one sentence, using the computed result exactly as given. "
    "For example, given 'Computed over all 50 records: 12 of 50 orders have status = returned.' "
    "and the question 'How many orders were returned?', answer '12 of the 50 orders were returned.'"
)
"""Worded by trial on the embedded 135M model: with longer rules, a request to cite, the count's share
and the assumptions in the prompt it stated 55 of 83 computed results right; with this, 71 of 83."""

LANGUAGE_NAMES = {"fr": "French"}
"""Languages a question may be written in besides English, as the model is told to answer in them."""

TokenCounter = Callable[[str], int]


_CONTEXT_WINDOW = Term(N_("the context window"))
_SHORT_PROMPT = Term(N_("the model's short prompt"))
"""What a part of the prompt was cut to fit, in the notes."""


def estimate_tokens(text: str) -> int:
    """A conservative token estimate (about 3 characters a token) for budgeting."""
    return math.ceil(len(text) / 3) + 1


@dataclass(frozen=True)
class PromptPlan:
    """The messages to send and what had to be left out to fit."""

    messages: list[dict[str, str]]
    source_labels: dict[int, str]
    """Label number used in the prompt -> record id."""
    estimated_prompt_tokens: int
    context_window: int
    notes: list[str] = field(default_factory=list)


def format_record(label: int, record_id: str, text: str) -> str:
    """One retrieved record as the model sees it."""
    return f"[{label}] record {record_id}\n{text.strip()}"


def compact_record(text: str) -> str:
    """A record's ``path: value`` lines with the fields of one nested object on one line
    (``customer: name=Elena Rossi, city=Munich``): about a fifth fewer tokens, the same facts."""
    lines: list[tuple[str, list[str]]] = []
    for line in text.strip().splitlines():
        path, sep, value = line.partition(": ")
        head, dot, rest = path.partition(".")
        if not sep or not dot or not rest:
            lines.append((line, []))
        elif lines and lines[-1][1] and lines[-1][0] == head:
            lines[-1][1].append(f"{rest}={value}")
        else:
            lines.append((head, [f"{rest}={value}"]))
    return "\n".join(f"{head}: {', '.join(fields)}" if fields else head for head, fields in lines)


LABEL_WORDS = frozenset({"name", "title", "label"})
MAX_LABEL_CHARS = 64


def label_field(records: Iterable[Any]) -> str:
    """The field that names these records (those of one prompt): a top-level field called name, title or
    label, else the first top-level short text field whose values differ from record to record; ``""``."""
    records = [record for record in records if getattr(record, "flat", None)]
    if not records:
        return ""
    paths = [path for path in dict.fromkeys(path for record in records for path in record.flat) if path.isidentifier()]
    named = [path for path in paths if LABEL_WORDS.intersection(field_words(path))]
    if named:
        return named[0]
    for path in paths:
        values = [record.flat.get(path) for record in records]
        texts = [value for value in values if isinstance(value, str) and 0 < len(value) <= MAX_LABEL_CHARS]
        if len(texts) == len(values) and len(set(texts)) == len(texts) and texts[0].count(" ") < MAX_VALUE_WORDS:
            return path
    return ""


def question_record(question: Question | str, record: Any, label: str = "") -> str | None:
    """The record's ``label`` field, the fields ``question`` names and those holding a value it gives word for
    word, as ``compact_record`` writes them, in the record's order; None when the question names none of its
    fields (then nothing tells which fields matter)."""
    if isinstance(question, str):
        question = Question(question)
    flat = getattr(record, "flat", None) or {}
    named = question.named_fields(flat)
    if not named:
        return None
    lines = [
        f"{path}: {format_value(value)}"
        for path, value in flat.items()
        if value is not None and (path in named or path == label or question.mentions(value))
    ]
    return compact_record("\n".join(lines))


def _fit_text(text: str, max_tokens: int, count: TokenCounter) -> str:
    """Cut ``text`` (at a line boundary when possible) so that it fits ``max_tokens``."""
    if count(text) <= max_tokens:
        return text
    lines = text.splitlines()
    while lines and count("\n".join(lines) + "\n…") > max_tokens:
        lines.pop()
    if lines:
        return "\n".join(lines) + "\n…"
    return text[: max(0, max_tokens * 3 - 1)] + "…"


def build_prompt(
    question: str,
    hits: Sequence[Any],
    *,
    profile_text: str = "",
    computed_text: str = "",
    history: Sequence[dict[str, str]] = (),
    context_window: int = 4096,
    max_answer_tokens: int = 512,
    count_tokens: TokenCounter = estimate_tokens,
    records_budget: int | None = None,
    label: str | None = None,
    language: str = "en",
) -> PromptPlan:
    """Messages for ``question`` grounded in ``hits`` (objects with ``record_id`` and ``text``, and ``record``
    for ``question_record``), in their order: the record matching the question exactly comes first.

    ``records_budget`` caps the tokens of all records together (records written compactly, narrowed to the
    fields the question names where the hits carry their records); None lets them fill what the context
    window leaves. ``label`` is the dataset's name-like field (else guessed from the hits' records). ``language``
    is the question's ("fr": the model is told to answer in French); the notes and the error (a ``ValueError``
    when the window leaves no room for a prompt) are worded in it."""
    notes: list[str] = []

    def note(message: str, **values: object) -> None:
        notes.append(worded(language, message, **values))

    budget = context_window - max_answer_tokens - 32  # room for the chat template's own tokens
    if budget < 128:
        raise ValueError(worded(
            language,
            N_(
                "the context window ({context_window} tokens) leaves no room for a prompt after reserving"
                " {answer_tokens} tokens for the answer"
            ),
            context_window=context_window, answer_tokens=max_answer_tokens,
        ))

    question = question.strip()
    used = count_tokens(COMPUTED_INSTRUCTIONS if computed_text else worded(language, SYSTEM_INSTRUCTIONS))
    question_block_tokens = count_tokens(question) + 16
    if used + question_block_tokens > budget:
        question = _fit_text(question, budget - used - 16, count_tokens)
        note(N_("the question was shortened to fit the model's context window"))
        question_block_tokens = count_tokens(question) + 16
    used += question_block_tokens

    if computed_text:
        room = budget - used
        if count_tokens(computed_text) > room:
            computed_text = _fit_text(computed_text, max(16, room // 2), count_tokens)
            note(N_("the computed result was shortened to fit the context window"))
        used += count_tokens(computed_text)

    texts = [hit.text for hit in hits]
    if records_budget is not None:
        texts, narrowed = _short_texts(question, hits, label)
        if narrowed:
            note(N_("the records show only the fields the question names, to fit the model's short prompt"))
    record_blocks = [format_record(i + 1, hit.record_id, text) for i, (hit, text) in enumerate(zip(hits, texts))]
    kept_records: list[str] = []
    records_room = records_budget if records_budget is not None else budget
    if record_blocks:
        first = record_blocks[0]
        room = min(budget - used, records_room)
        if count_tokens(first) > room:
            first = _fit_text(first, room, count_tokens)
            reason = _CONTEXT_WINDOW if room < records_room else _SHORT_PROMPT
            note(N_("the best matching record was shortened to fit {reason}"), reason=reason)
        kept_records.append(first)
        used += count_tokens(first)
        records_room -= count_tokens(first)

    profile_block = ""
    if profile_text and not computed_text:
        room = min(budget - used, max(64, budget // 4))
        if room > 32:
            profile_block = _fit_text(profile_text, room, count_tokens)
            if profile_block != profile_text:
                note(N_("the dataset summary was shortened to fit the context window"))
            used += count_tokens(profile_block)
        else:
            note(N_("the dataset summary was left out to fit the context window"))

    kept_history: list[dict[str, str]] = []
    history_room = records_budget // 2 if records_budget is not None else budget
    for turn in reversed(list(history)):
        cost = count_tokens(turn.get("content", "")) + 4
        if used + cost > budget - 64 * (len(record_blocks) > 1) or cost > history_room:
            break
        kept_history.insert(0, {"role": turn["role"], "content": turn["content"]})
        used += cost
        history_room -= cost
    if len(kept_history) < len(history):
        dropped = len(history) - len(kept_history)
        dropped_note = N_("{dropped} earlier message(s) of the conversation were left out to fit the context window")
        note(dropped_note, dropped=dropped)

    for block in record_blocks[1:]:
        cost = count_tokens(block)
        if used + cost > budget or cost > records_room:
            break
        kept_records.append(block)
        used += cost
        records_room -= cost
    if len(kept_records) < len(record_blocks):
        note(
            N_("{dropped} of {retrieved} retrieved records were left out to fit {reason}"),
            dropped=len(record_blocks) - len(kept_records), retrieved=len(record_blocks),
            reason=_CONTEXT_WINDOW if records_budget is None else _SHORT_PROMPT,
        )

    system = COMPUTED_INSTRUCTIONS if computed_text else worded(language, SYSTEM_INSTRUCTIONS)
    if language in LANGUAGE_NAMES:
        system += f" The question is in {LANGUAGE_NAMES[language]}: answer in {LANGUAGE_NAMES[language]}."
    if profile_block:
        system += "\n\n" + (SUMMARY_HEADING if computed_text else worded(language, SUMMARY_HEADING)) + "\n" + profile_block
    if kept_records:
        heading = "Records behind this result:" if computed_text else worded(language, RETRIEVED_HEADING)
        user = heading + "\n\n" + "\n\n".join(kept_records)
    else:
        user = "No records matched this question."
    if computed_text:
        user = computed_text + ("\n\n" + user if kept_records else "")
    user += "\n\n" + (QUESTION_LEAD if computed_text else worded(language, QUESTION_LEAD)).format(question=question)

    messages = [{"role": "system", "content": system}, *kept_history, {"role": "user", "content": user}]
    labels = {i + 1: hit.record_id for i, hit in enumerate(hits[: len(kept_records)])}
    return PromptPlan(
        messages=messages,
        source_labels=labels,
        estimated_prompt_tokens=used,
        context_window=context_window,
        notes=notes,
    )


def _short_texts(question: str, hits: Sequence[Any], label: str | None) -> tuple[list[str], bool]:
    """Each hit's text for a short prompt: ``question_record`` where the hit carries its record and the question
    names a field of it, else the whole text, compactly; and whether any record was narrowed."""
    records = [getattr(hit, "record", None) for hit in hits]
    if label is None:
        label = label_field(records)
    read = Question(question)
    texts, narrowed_any = [], False
    for hit, record in zip(hits, records):
        narrowed = question_record(read, record, label) if record is not None else None
        narrowed_any = narrowed_any or narrowed is not None
        texts.append(narrowed if narrowed is not None else compact_record(hit.text))
    return texts, narrowed_any


_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def cited_labels(answer: str) -> list[int]:
    """Label numbers cited in an answer (``[1]``, ``[2][3]``, ``[1, 4]``), in first-cited order."""
    seen: list[int] = []
    for match in _CITATION.finditer(answer):
        for part in match.group(1).split(","):
            label = int(part)
            if label not in seen:
                seen.append(label)
    return seen
