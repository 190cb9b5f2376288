"""Nothing the planner shows a French user bypasses the engine's catalog.

The French set is computed with a pseudo-catalog that brackets every message (``⟦…⟧``): once every bracketed
part is taken out of a sentence, what is left must be the data's own words (field names, values), the question's
words as written, numbers and marks. An English line written without ``_()`` (a summary, an assumption, a
refusal's reason or rephrasing, a note) leaves English words behind, and fails here.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterator

import pytest

import rag.i18n
from rag.analytics.lexicons import fold
from tests.french_cases import FRENCH_CASES
from tests.test_french_planner import analytics_of


class BracketingCatalog(gettext.NullTranslations):
    """Every message, bracketed: what went through the catalog can be told from what did not."""

    def gettext(self, message: str) -> str:
        return "⟦" + message + "⟧"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return "⟦" + (singular if n == 1 else plural) + "⟧"


@pytest.fixture()
def bracketing_french(monkeypatch: pytest.MonkeyPatch) -> None:
    english = rag.i18n.translations
    monkeypatch.setattr(rag.i18n, "translations", lambda language: BracketingCatalog() if language == "fr"
                        else english(language))


def words_outside_the_catalog(text: str) -> list[str]:
    """The words of ``text`` outside every bracketed message."""
    while True:
        inner = re.sub(r"⟦[^⟦⟧]*⟧", " ", text)
        if inner == text:
            break
        text = inner
    return re.findall(r"[^\W\d_]{2,}", text)


def shown_texts(outcome) -> Iterator[tuple[str, str]]:  # noqa: ANN001  (a ComputedOutcome)
    if outcome.computed:
        yield "summary", str(outcome.computed.get("summary") or "")
        for line in outcome.computed.get("assumptions") or []:
            yield "assumption", line
    if outcome.refusal is not None:
        yield "refusal", outcome.refusal.text()
    if outcome.note:
        yield "note", outcome.note


def data_words(dataset: str) -> set[str]:
    """Folded words of the dataset's field names and categorical values: they are shown as they are."""
    schema = analytics_of(dataset).table.schema
    texts = list(schema.columns) + [str(value) for column in schema.columns.values() for value in column.values or ()]
    return {fold(word) for text in texts for word in re.findall(r"[^\W\d_]+", text)}


def test_every_sentence_shown_for_a_french_question_goes_through_the_catalog(bracketing_french) -> None:
    leaks = []
    shown = 0
    for case in FRENCH_CASES:
        outcome = analytics_of(case.dataset).compute(case.question)
        allowed = data_words(case.dataset) | {fold(word) for word in re.findall(r"[^\W\d_]+", case.question)}
        for kind, text in shown_texts(outcome):
            shown += 1
            left = [word for word in words_outside_the_catalog(text) if fold(word) not in allowed]
            if left:
                leaks.append((case.id, kind, left, text))
    assert shown > 150
    assert leaks == [], "\n".join(map(str, leaks[:20]))


def test_the_check_sees_an_english_line_that_bypasses_the_catalog() -> None:
    assert words_outside_the_catalog("⟦{count} of {total}⟧ read as ⟦the {noun}⟧") == ["read", "as"]
    assert words_outside_the_catalog("⟦I could not: ⟦could not match⟧⟧") == []
