"""A third language is a lexicon and its questions: no stage of the planner changes.

A small Spanish lexicon, made here as a module of the same shape as ``rag/analytics/lexicons/fr.py`` and
registered in ``LEXICONS``, is enough for Spanish questions to be detected, read into the planner's words and
computed to the truth over a public file (places through Babel's Spanish territory names). The sentences stay
English: a language without a catalog is worded in English until its catalog is added.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from rag.analytics import lexicons
from rag.analytics.lexicons import detect_language, read_question
from tests.analytics_cases import load_records
from tests.test_french_planner import analytics_of


def spanish_lexicon() -> ModuleType:
    spanish = ModuleType("es")
    spanish.CODE = "es"
    spanish.ELISIONS = {}
    spanish.CONTRACTIONS = {"del": ("de", "el"), "al": ("a", "el")}
    spanish.INVERSION_SUFFIXES = ()
    spanish.FUNCTION_WORDS = frozenset({"cuantos", "cuantas", "hay", "de", "el", "la", "los", "las", "que", "cual",
                                        "es", "por", "con", "mas", "y", "en", "media", "promedio"})
    spanish.PHRASES = {
        "cuantos": "how many", "cuantas": "how many", "hay": "are there", "coches": "cars", "coche": "car",
        "de": "from", "el": "the", "la": "the", "los": "the", "las": "the", "cual": "what", "es": "is",
        "media": "average", "promedio": "average", "potencia": "horsepower", "por": "per", "origen": "origin",
        "con": "with", "mas de": "more than", "cilindros": "cylinders", "peso": "weight",
    }
    spanish.ACCENTED = {}
    spanish.SUPERLATIVES = {"pesado": ("heaviest", "lightest")}
    spanish.POSTNOMINAL = frozenset({"average"})
    spanish.PLURAL_AFTER = frozenset({"los", "las", "cuantos", "cuantas"})
    spanish.INVARIANT_PLURALS = {}
    return spanish


@pytest.fixture()
def spanish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(lexicons.LEXICONS, "es", spanish_lexicon())


@pytest.mark.parametrize(("question", "truth"), [
    ("¿Cuántos coches hay de Japón?", lambda rows: sum(1 for r in rows if r["Origin"] == "Japan")),
    ("¿Cuántos coches con más de 6 cilindros?", lambda rows: sum(1 for r in rows if r["Cylinders"] > 6)),
    ("¿Cuál es la potencia media de los coches de Japón?",
     lambda rows: round(sum(v := [r["Horsepower"] for r in rows if r["Origin"] == "Japan" and r["Horsepower"]])
                        / len(v), 2)),
])
def test_a_lexicon_alone_makes_a_new_language_computed(spanish, question, truth) -> None:
    assert detect_language(question) == "es"
    outcome = analytics_of("cars").compute(question)
    assert outcome.computed is not None, (read_question(question).text, outcome.note)
    assert outcome.computed["language"] == "es"
    expected = truth(load_records("cars"))
    assert round(float(outcome.computed["value"]), 2) == pytest.approx(expected), outcome.computed["summary"]


def test_without_its_lexicon_the_language_is_not_read() -> None:
    assert detect_language("¿Cuántos coches hay de Japón?") != "es"
