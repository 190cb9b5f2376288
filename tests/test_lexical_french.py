"""Keyword search (``rag/lexical.py``) in French: stopwords, elisions, accents and inflections, with English unchanged.

BM25 only, on small corpora and on the pycountry countries: no model is loaded, so these tests are fast.
"""

from __future__ import annotations

import pytest

from rag.lexical import (
    ENGLISH_STOPWORDS,
    FRENCH_STOPWORDS,
    QUERY_STOPWORDS,
    LexicalIndex,
    question_language,
    tokenize,
    tokenize_query,
)
from rag.loader import load_dataset
from rag.records import Dataset
from tests.datasets import pycountry_database_path


@pytest.fixture(scope="module")
def countries() -> Dataset:
    return load_dataset(pycountry_database_path("iso3166-1.json"))


@pytest.fixture(scope="module")
def country_index(countries: Dataset) -> LexicalIndex:
    return LexicalIndex([record_text(record.flat) for record in countries.records])


ORDERS = [
    "commande: C-1\nstatut: retournée\nproduit: lampe",
    "commande: C-2\nstatut: livrée\nproduit: chaise",
    "commande: C-3\nstatut: retourné\nproduit: table",
    "commande: C-4\nstatut: en cours\nproduit: retour de stock",
    "pays: Québec\nville: Montréal",
    "pays: Côte d'Ivoire\nville: Abidjan",
]


def record_text(flat: dict) -> str:
    return "\n".join(f"{key}: {value}" for key, value in flat.items())


def top(index: LexicalIndex, query: str, k: int = 5) -> list[int]:
    return index.search(query, k)[1].tolist()


def test_the_language_of_a_question_is_that_of_the_function_words_it_uses():
    assert question_language("Quel est le code alpha-3 de l'Allemagne ?") == "fr"
    assert question_language("les commandes retournées") == "fr"
    assert question_language("What is the alpha-3 code of Germany?") == "en"
    assert question_language("Quel pays est EST ?") == "fr"  # "EST" in capitals is a code, not a word
    assert question_language("chevrolet chevelle malibu") is None


def test_a_french_question_loses_its_function_words_and_elided_articles():
    assert tokenize_query("Quel est le code alpha-3 de l'Allemagne ?") == ["code", "alpha", "3", "allemagne"]
    assert tokenize_query("Combien de commandes n'ont pas été livrées ?") == ["commandes", "livrees"]
    assert tokenize_query("Qu’est-ce que l’Île Maurice ?") == ["ile", "maurice"]  # typographic apostrophes too
    assert tokenize_query("le la les") == ["le", "la", "les"]  # nothing but stopwords: keep them


def test_codes_in_capitals_survive_in_french_and_lowercase_codes_in_english():
    assert tokenize_query("Quel pays a le code DE ?") == ["pays", "code", "de"]
    assert tokenize_query("Quel pays est EST ?") == ["pays", "est"]
    # an English question keeps a lowercase code that is only a French function word
    assert tokenize_query("Which country has the alpha-2 code es?") == ["country", "alpha", "2", "code", "es"]


def test_documents_keep_every_token_with_accents_folded():
    assert tokenize("statut: retournée, l'Île de Ré") == ["statut", "retournee", "l", "ile", "de", "re"]


def test_the_stopword_lists_are_english_and_french_folded():
    assert {"the", "which", "le", "de", "l", "qu", "n", "quel", "combien", "a", "ete"} <= QUERY_STOPWORDS
    assert QUERY_STOPWORDS == ENGLISH_STOPWORDS | FRENCH_STOPWORDS
    assert all(word.isascii() for word in FRENCH_STOPWORDS)


def test_accents_are_folded_on_both_sides():
    index = LexicalIndex(ORDERS)
    assert top(index, "Quebec")[0] == 4
    assert top(index, "Montreal, Québec")[0] == 4
    assert top(index, "cote d ivoire")[0] == 5


def test_a_french_question_finds_the_other_inflections_of_its_words():
    index = LexicalIndex(ORDERS)
    returned = top(index, "les commandes retournées")
    assert set(returned[:2]) == {0, 2}  # retournée and retourné, not livrée
    assert top(index, "la commande retournee")[:2] == returned[:2]  # typed without accents
    assert 1 not in top(index, "retournées")


def test_an_inflection_never_reaches_a_short_word_such_as_a_code():
    index = LexicalIndex(["name: Congo\nalpha_3: COD", "name: Namibia\nalpha_3: NAM", "name: Chad\nalpha_3: TCD"])
    assert top(index, "Quel est le code de Tchad ?") == []  # "code" stems to "cod" but never reaches COD
    assert top(index, "Quels sont les noms ?") == []  # "noms" -> "nom", not NAM


def test_french_names_rank_their_country_first(countries: Dataset):
    from babel import Locale

    names = Locale("fr").territories
    french = [
        record_text({"nom": names[r.data["alpha_2"]], "alpha_2": r.data["alpha_2"], "alpha_3": r.data["alpha_3"]})
        for r in countries.records
    ]
    index = LexicalIndex(french)
    position = {r.data["alpha_3"]: i for i, r in enumerate(countries.records)}
    assert top(index, "Quel est le code alpha-3 de l'Allemagne ?")[0] == position["DEU"]
    assert top(index, "Quel est le code alpha-3 des États-Unis ?")[0] == position["USA"]
    # "DE" is kept, but French names are full of "de" (and "pays" finds Pays-Bas): among the 5, not first
    assert position["DEU"] in top(index, "Quel pays a le code alpha-2 DE ?")
    assert top(index, "le code alpha-2 de l'ile Maurice")[0] == position["MUS"]


def test_the_inflections_survive_save_and_load(tmp_path):
    LexicalIndex(ORDERS).save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert set(top(loaded, "les commandes retournées")[:2]) == {0, 2}


# The rankings the English tokenizer gave before French came in (alpha-3 codes of the best 5 countries).
ENGLISH_RANKINGS = {
    "Which country has the code US?": ["USA"],
    "United States": ["USA", "UMI", "MEX", "VIR", "FSM"],
    "What is the alpha-3 code of Norway?": ["NOR"],
    "Which country has numeric code 250?": ["FRA"],
    "the republic of korea": ["PRK", "KOR"],
    "Which islands are in the Virgin Islands?": ["VGB", "VIR", "MHL", "MNP", "ALA"],
    "saint kitts and nevis": ["KNA", "BLM", "LCA", "MAF", "SPM"],
    "Which country is IT?": ["ITA"],
    "Côte d'Ivoire": ["CIV"],
}


@pytest.mark.parametrize("question", sorted(ENGLISH_RANKINGS))
def test_english_rankings_are_unchanged(countries: Dataset, country_index: LexicalIndex, question: str):
    ranking = [countries.records[i].data["alpha_3"] for i in top(country_index, question)]
    assert ranking == ENGLISH_RANKINGS[question]
