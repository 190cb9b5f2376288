"""French questions in the planner's words, answers worded in the question's language, and the engine's catalog.

``rag.analytics.lexicons.read_question`` puts a French question into the words the rules planner reads; the
computed sentence then comes back in French (``rag.i18n``), with French number formats, while the fact the model
reads stays English. The engine's catalog (``rag/locale``) must hold every message the code marks, compiled.
"""

from __future__ import annotations

import gettext
import string
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from rag import i18n
from rag.analytics.lexicons import detect_language, read_question
from rag.analytics.service import DatasetAnalytics
from rag.loader import load_dataset
from rag.profile import profile_dataset
from rag.prompt import build_prompt
from tests.analytics_cases import dataset_path

ROOT = Path(__file__).resolve().parent.parent


@cache
def analytics_of(dataset: str) -> DatasetAnalytics:
    loaded = load_dataset(dataset_path(dataset))
    return DatasetAnalytics.build(loaded, profile_dataset(loaded.records))


@pytest.mark.parametrize("question, language", [
    ("Combien de voitures viennent du Japon ?", "fr"),
    ("Quel est le code alpha-3 de l'Allemagne ?", "fr"),
    ("How many cars are from Japan?", "en"),
    ("What is the population of La Paz?", "en"),
    ("liste des pays", "fr"),
])
def test_the_language_of_a_question_is_the_one_whose_grammar_words_it_uses(question: str, language: str) -> None:
    assert detect_language(question) == language


@pytest.mark.parametrize("french, planner_words", [
    ("Combien de voitures viennent du Japon ?", "how many cars come from Japan?"),
    ("Quel est le poids moyen des voitures japonaises ?", "what is the average weight of the japanese cars?"),
    ("Quelle est la voiture la plus lourde ?", "what is the heaviest car?"),
    ("Les 5 voitures les plus lourdes", "the 5 heaviest cars"),
    ("Quel est le code alpha-3 de l'Allemagne ?", "what is the alpha-3 code from Germany?"),
    ("Liste des subdivisions dont le nom se termine par « burg »", "list the subdivisions whose name ends with 'burg'"),
    ("Quelle est la température maximale moyenne en mars 2012 ?",
     "what is the average maximum temperature in March 2012?"),
    ("Combien de voitures pèsent entre 2 000 et 3 000 livres ?", "how many cars weigh between 2000 and 3000 lbs?"),
    ("Combien de voitures ont une accélération supérieure à 20,5 ?",
     "how many cars have a acceleration greater than 20.5?"),
    ("les 5 premiers pays par population en 2007", "the top 5 countries per population in 2007"),
    ("Combien de voitures ont au moins 6 cylindres ?", "how many cars have at least 6 cylinders?"),
])
def test_a_french_question_reads_in_the_planners_words(french: str, planner_words: str) -> None:
    reading = read_question(french)
    assert reading.language == "fr" and reading.text == planner_words


def test_an_english_question_is_read_as_it_is() -> None:
    reading = read_question("How many cars weigh more than 3,000 lbs?")
    assert reading.language == "en" and not reading.translated and reading.text.startswith("How many cars")


def test_a_french_question_gets_a_french_sentence_with_french_numbers_for_the_page_and_the_model() -> None:
    """The fact the model reads (and the embedded model's reply starts with) is French too: the reply is in the
    question's language from its first word."""
    outcome = analytics_of("cars").compute("Quel est le poids moyen des voitures japonaises ?")
    computed = outcome.computed
    assert computed is not None and computed["language"] == "fr"
    assert computed["read_as"] == "what is the average weight of the japanese cars?"
    assert computed["summary"].startswith("Moyenne de Weight_in_lbs : 2\u202f221,23 sur 79 voitures")
    assert computed["fact"] == computed["summary"]
    english = analytics_of("cars").compute("What is the average weight of the Japanese cars?").computed
    assert english["summary"] == english["fact"] and "language" in english and english["language"] == "en"


def test_a_french_question_the_data_cannot_answer_is_refused_in_french() -> None:
    outcome = analytics_of("cars").compute("Quel est le prix moyen des voitures ?")
    assert outcome.computed is None and outcome.refusal is not None
    assert outcome.refusal.text().startswith("Je n'ai pas pu calculer cela sur tous les enregistrements")
    assert "Essayez" in outcome.refusal.text()


def test_a_direction_word_picks_the_field_of_its_end_of_a_range() -> None:
    """ "minimum temperature" is temp_min: it was read as temp_max (the first field "temperature" names), a
    silent wrong count (52 instead of 354)."""
    for question, field, count in (
        ("How many days was the minimum temperature between 0 and 5?", "temp_min", 354),
        ("Combien de jours la température minimale était-elle entre 0 et 5 degrés ?", "temp_min", 354),
        ("how many days had a maximum temperature above 30", "temp_max", 53),
    ):
        computed = analytics_of("weather").compute(question).computed
        assert computed is not None, question
        assert computed["spec"]["filters"][0]["field"] == field and computed["value"] == count, computed["summary"]


def test_the_model_is_told_to_answer_in_the_questions_language() -> None:
    hits = []
    french = build_prompt("Combien ?", hits, language="fr").messages[0]["content"]
    english = build_prompt("How many?", hits).messages[0]["content"]
    assert "answer in French" in french and "French" not in english


def test_a_french_question_answered_from_records_gets_its_prompt_in_french() -> None:
    """Told in French, the embedded model replied in French to 7 of 8 open French questions (3 of 8 when told in
    English to answer in French); an English question's prompt is unchanged."""
    from rag.retriever import Hit

    hit = Hit(record_id="$[0]", text="Name: ford pinto\nHorsepower: 75", score=1.0, record=None)
    french = build_prompt("Décris la ford pinto", [hit], language="fr", profile_text="3 records").messages
    english = build_prompt("Describe the ford pinto", [hit], profile_text="3 records").messages
    assert french[0]["content"].startswith("Tu es un analyste de données")
    assert "Résumé du jeu de données :" in french[0]["content"]
    assert "Enregistrements retrouvés pour cette question :" in french[-1]["content"]
    assert french[-1]["content"].endswith("Question : Décris la ford pinto")
    assert english[0]["content"].startswith("You are a data analyst answering questions about a JSON dataset.")
    assert "Dataset summary:" in english[0]["content"]
    assert english[-1]["content"].endswith("Question: Describe the ford pinto")


def engine_message_ids() -> set[str]:
    with open(ROOT / "babel-rag.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config, str(ROOT / "babel-rag.cfg"))
    return {message[0] if isinstance(message, tuple) else message
            for _f, _l, message, _c, _x in extract_from_dir(str(ROOT), method_map, options_map,
                                                           keywords={"_": None, "N_": None, "ngettext": (1, 2)})}


def test_every_engine_message_has_a_french_translation_with_the_same_placeholders() -> None:
    with open(i18n.LOCALE_DIR / "fr" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po", "rb") as po:
        catalog = {message.id: message.string for message in read_po(po) if message.id}
    in_code = engine_message_ids()
    assert len(in_code) > 80
    assert sorted(in_code - set(catalog)) == [], "run the extract/update commands of README 'Languages'"
    names = lambda text: {n for _t, n, _s, _c in string.Formatter().parse(text) if n is not None}
    for message_id in in_code:
        assert catalog[message_id], message_id
        assert names(catalog[message_id]) == names(message_id), message_id
    with open(i18n.LOCALE_DIR / "fr" / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for message_id, translated in catalog.items():
        assert compiled.gettext(message_id) == translated, "stale .mo: pybabel compile -D rag -d rag/locale"


def test_a_french_answer_is_checked_with_its_numbers_written_the_french_way() -> None:
    """The reply of a French question starts with the engine's French sentence ("2 221,23"); a number the model
    then writes the French way is read with a decimal comma, so a right one is found and a wrong one marked."""
    from rag.grounding import check_grounding

    outcome = analytics_of("cars").compute("Quel est le poids moyen des voitures japonaises ?")
    computed = outcome.computed
    right = computed["summary"] + " Les voitures japonaises pèsent en moyenne 2221,23 livres."
    wrong = computed["summary"] + " Les voitures japonaises pèsent en moyenne 2\u202f412,75 livres."
    checked_right = check_grounding(right, question="Quel est le poids moyen des voitures japonaises ?",
                                    computed=computed)
    checked_wrong = check_grounding(wrong, question="Quel est le poids moyen des voitures japonaises ?",
                                    computed=computed)
    assert not checked_right.marked, checked_right.marked
    assert [value.text for value in checked_wrong.marked] == ["2\u202f412,75"]


@pytest.mark.parametrize("question", [
    "How many cars are not from the United States?",
    "Combien de voitures ne viennent pas des États-Unis ?",
])
def test_a_place_written_in_words_meets_its_short_value(question: str) -> None:
    """ "United States" (and "États-Unis", read as it) is the value USA of a field of short place values; the
    pronoun "us" stays a word ("show us the cars from Japan")."""
    computed = analytics_of("cars").compute(question).computed
    assert computed is not None and computed["spec"]["filters"] == [{"field": "Origin", "op": "!=", "value": "USA"}]
    assert computed["value"] == 152
    shown = analytics_of("cars").compute("show us the cars from Japan").computed
    assert shown["spec"]["filters"] == [{"field": "Origin", "op": "=", "value": "Japan"}]
