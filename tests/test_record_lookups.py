"""Records computed like aggregates: a field of a named record ("What is the capital of Norway?"), the records
meeting conditions ("Which stations have the code KSEA?"), and the names questions write.

Over small files made here (a country file with capitals and an array of languages, weather stations); the
question set's public files are graded by ``tests/test_planner_corpus.py``.
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from rag.analytics.answer import computed_table, prompt_facts
from rag.analytics.errors import SpecError
from rag.analytics.llm_planner import parse_plan, planner_prompt, spec_json_schema
from rag.analytics.names import NameIndex, name_key, typo_distance
from rag.analytics.service import DatasetAnalytics
from rag.analytics.spec import RECORD_ID, Filter, GroupBy, QuerySpec
from rag.analytics.sql import build_sql
from rag.analytics.validate import validate_spec
from rag.loader import load_dataset
from rag.profile import profile_dataset

COUNTRIES = [
    {"name": "Norway", "capital": "Oslo", "code": "NOR", "population": 5_550_000,
     "languages": [{"language": "Norwegian", "official": True}, {"language": "Sami", "official": True}]},
    {"name": "Sweden", "capital": "Stockholm", "code": "SWE", "population": 10_540_000,
     "languages": [{"language": "Swedish", "official": True}, {"language": "Finnish", "official": False}]},
    {"name": "Côte d'Ivoire", "capital": "Yamoussoukro", "code": "CIV", "population": 28_870_000,
     "languages": [{"language": "French", "official": True}]},
    {"name": "Iceland", "capital": "Reykjavík", "code": "ISL", "population": 387_000,
     "languages": [{"language": "Icelandic", "official": True}]},
    {"name": "North Korea", "capital": "Pyongyang", "code": "PRK", "population": 26_070_000,
     "languages": [{"language": "Korean", "official": True}]},
    {"name": "South Korea", "capital": "Seoul", "code": "KOR", "population": 51_740_000,
     "languages": [{"language": "Korean", "official": True}]},
]
STATIONS = [
    {"code": "KSEA", "name": "Seattle Tacoma", "elevation": 131, "state": "WA"},
    {"code": "KPDX", "name": "Portland International", "elevation": 9, "state": "OR"},
    {"code": "KBOI", "name": "Boise Air Terminal", "elevation": 874, "state": "ID"},
    {"code": "G1984", "name": "Gate 1984", "elevation": 12, "state": "WA"},
]


@cache
def analytics(name: str) -> DatasetAnalytics:
    records = {"countries.json": COUNTRIES, "stations.json": STATIONS}[name]
    dataset = load_dataset(json.loads(json.dumps(records)), name=name)
    return DatasetAnalytics.build(dataset, profile_dataset(dataset.records))


def computed(name: str, question: str) -> dict:
    outcome = analytics(name).compute(question, mode="rules")
    assert outcome.computed is not None, (question, outcome.note)
    return outcome.computed


# --- names ----------------------------------------------------------------------------------------------


def test_names_are_compared_without_case_accents_or_punctuation() -> None:
    assert name_key("Côte d'Ivoire") == name_key("cote d ivoire") == "cote d ivoire"
    assert name_key("ford pinto (sw)") == "ford pinto sw" and name_key("DE-HH") == "de hh"
    index = NameIndex({"name": ["Côte d'Ivoire", "Norway"], "code": ["NOR", "CIV"]}, label="name")
    assert index.exact("COTE D'IVOIRE").values == (("name", "Côte d'Ivoire"),)
    assert index.exact("nor").values == (("code", "NOR"),) and index.exact("Norw") is None


def test_a_typo_is_one_letter_added_dropped_changed_or_swapped() -> None:
    assert [typo_distance(a, b) for a, b in [("norwya", "norway"), ("impalla", "impala"), ("chlie", "chile")]] == [1, 1, 1]
    assert typo_distance("elvish", "lish") == 2 and typo_distance("gondor", "ondo") == 2
    assert typo_distance("kitten", "sitting", limit=2) == 3  # over the limit: limit + 1


def test_close_names_meet_typos_and_parts_never_lookalikes_and_ties_are_kept() -> None:
    index = NameIndex({"Name": ["chevrolet impala", "chevrolet malibu", "ford pinto", "ford pinto runabout",
                                "ford pinto (sw)", "North Korea", "South Korea", "Lish"]}, label="Name")
    assert index.close("chevrolet impalla")[0].shown == "chevrolet impala"
    assert [match.shown for match in index.close("pinto")] == ["ford pinto"]  # a name in part: half its words
    assert [match.shown for match in index.close("ford pinto runabuot")] == ["ford pinto runabout"]
    assert index.close("pinto sw")[0].shown == "ford pinto (sw)"
    assert index.close("elvish") == [] and index.close("tesla model s") == [] and index.close("s") == []
    korea = index.close("Korea")
    assert korea[0].rank() == korea[1].rank()  # North or South: the planner does not guess
    assert [match.shown for match in index.containing("ford pinto")] == ["ford pinto runabout", "ford pinto (sw)"]


# --- lookups ------------------------------------------------------------------------------------------


def test_the_capital_of_a_country_is_read_off_its_record() -> None:
    result = computed("countries.json", "What is the capital of Norway?")
    assert result["fact"] == result["summary"] == "The capital of Norway is Oslo."
    assert result["value"] == "Oslo" and result["spec"]["aggregation"] == "records"
    assert result["columns"] == [RECORD_ID, "name", "capital"] and result["rows"] == [["$[0]", "Norway", "Oslo"]]
    assert result["record_ids"] == ["$[0]"] and result["matched_rows"] == 1
    assert "'Norway' → Norway" in result["assumptions"]
    assert computed_table(result) == (["name", "capital"], [["Norway", "Oslo"]])
    assert prompt_facts(result) == "Computed over all 6 records: The capital of Norway is Oslo."


@pytest.mark.parametrize(
    ("question", "capital", "read"),
    [
        ("what is the capital of norway", "Oslo", "'norway' → Norway"),
        ("What is the capital of Norwey?", "Oslo", "'Norwey' → Norway (the closest name)"),
        ("What is the capital of cote d ivoire?", "Yamoussoukro", "'cote d ivoire' → Côte d'Ivoire"),
        ("What's Iceland's capital?", "Reykjavík", "'Iceland' → Iceland"),
    ],
)
def test_names_written_in_other_case_without_accents_or_with_a_typo_are_found(question, capital, read) -> None:
    result = computed("countries.json", question)
    assert result["value"] == capital and read in result["assumptions"]


@pytest.mark.parametrize(
    "question",
    ["What is the capital of Atlantis?", "What is the capital of Korea?", "What is the capital of Norwegia?"],
)
def test_a_name_that_meets_no_record_or_several_is_not_guessed(question) -> None:
    outcome = analytics("countries.json").compute(question, mode="rules")
    assert outcome.computed is None
    assert outcome.note and ("no record is named" in outcome.note or "could name" in outcome.note)


@pytest.mark.parametrize(
    "question",
    ["Tell me about Norway", "Compare Norway and Sweden", "Why is Oslo the capital of Norway?",
     "Is Oslo the capital of Norway?", "Norway"],
)
def test_open_and_yes_no_questions_about_a_record_go_to_retrieval(question) -> None:
    outcome = analytics("countries.json").compute(question, mode="rules")
    assert outcome.computed is None and outcome.note is None


def test_a_field_of_an_array_of_objects_is_read_from_its_child_table() -> None:
    result = computed("countries.json", "What is the language of Sweden?")
    assert result["rows"] == [["$[1]", "Sweden", ["Swedish", "Finnish"]]]
    assert result["fact"] == "The languages.language of Sweden is Swedish, Finnish."
    filtered = analytics("countries.json").table.run(QuerySpec(
        "records", filters=(Filter("name", "=", "Sweden"), Filter("languages.official", "=", True)),
        fields=("languages.language",)))
    assert filtered.rows == [["$[1]", "Sweden", ["Swedish"]]]  # the elements the filter keeps


def test_several_records_of_one_name_are_all_counted_and_their_values_stated() -> None:
    table = analytics("countries.json").table
    result = table.run(QuerySpec("records", filters=(Filter("languages.language", "=", "Korean"),),
                                 fields=("capital",)))
    assert result.matched_rows == 2 and [row[1] for row in result.rows] == ["North Korea", "South Korea"]


# --- listings -----------------------------------------------------------------------------------------


def test_which_station_has_a_code_names_the_station() -> None:
    result = computed("stations.json", "Which station has the code KSEA?")
    assert result["fact"] == "The station with code = KSEA is Seattle Tacoma."
    assert result["value"] == "Seattle Tacoma" and result["record_ids"] == ["$[0]"]


def test_a_listing_names_its_records_with_their_count() -> None:
    result = computed("stations.json", "Which stations are in WA?")
    assert result["fact"] == "2 stations have state = WA: Seattle Tacoma, Gate 1984."
    assert result["value"] == 2 and result["record_ids"] == ["$[0]", "$[3]"]
    higher = computed("stations.json", "List the stations with an elevation above 100")
    assert higher["columns"] == [RECORD_ID, "name", "elevation"]  # the field compared is shown beside the names
    assert [row[1] for row in higher["rows"]] == ["Seattle Tacoma", "Boise Air Terminal"]
    none = computed("stations.json", "Which stations have names ending with 'xyz'?")
    assert none["fact"] == "No stations end with 'xyz'." and none["rows"] == [] and none["record_ids"] == []


def test_a_number_inside_a_name_is_part_of_the_name() -> None:
    result = computed("stations.json", "What is the elevation of Gate 1984?")
    assert result["spec"]["filters"] == [{"field": "name", "op": "=", "value": "Gate 1984"}]
    assert result["value"] == 12


# --- the spec, its SQL and its sentences ----------------------------------------------------------------


def test_a_records_spec_is_validated_like_any_other() -> None:
    schema = analytics("countries.json").table.schema
    spec = validate_spec(QuerySpec("records", filters=(Filter("NAME", "=", "Norway"),),
                                   fields=("Capital", "capital", "name")), schema)
    assert spec.fields == ("capital",)  # resolved, once, the label left out: it is always shown
    with pytest.raises(SpecError, match="cannot be grouped"):
        validate_spec(QuerySpec("records", group_by=GroupBy("capital")), schema)
    with pytest.raises(SpecError, match="sorted by a field of the records"):
        validate_spec(QuerySpec("records", field="languages.language"), schema)
    with pytest.raises(SpecError, match="unknown field 'capitol'; did you mean capital"):
        validate_spec(QuerySpec("records", fields=("capitol",)), schema)
    assert validate_spec(QuerySpec("count", fields=("capital",)), schema).fields == ()


def test_records_sql_sorts_limits_and_keeps_the_record_id_first() -> None:
    schema = analytics("countries.json").table.schema
    spec = validate_spec(QuerySpec("records", field="population", order="desc", limit=2), schema)
    query = build_sql(spec, schema)
    assert query.columns == [RECORD_ID, "name", "population"] and query.record_id_column == 0
    assert 'ORDER BY r."population" DESC NULLS LAST, r.rowid LIMIT 2' in query.display_sql
    result = analytics("countries.json").table.run(spec)
    assert [row[1] for row in result.rows] == ["South Korea", "Côte d'Ivoire"] and result.matched_rows == 6


def test_the_llm_planner_can_ask_for_records() -> None:
    schema = analytics("countries.json").table.schema
    json_schema = spec_json_schema(schema)
    assert "records" in json_schema["properties"]["aggregation"]["enum"]
    assert json_schema["properties"]["fields"]["items"]["enum"] == list(schema.columns)
    prompt = planner_prompt(schema)
    assert "records (the records matching the filters themselves" in prompt
    assert '"aggregation": "records"' in prompt and '"fields": ["' in prompt
    reply = ('{"aggregation": "records", "field": null, "filters": [{"field": "name", "op": "=", "value": "Norway"}],'
             ' "group_by": null, "order": null, "limit": null, "fields": ["capital"]}')
    spec = validate_spec(parse_plan(reply), schema)
    assert spec == QuerySpec("records", filters=(Filter("name", "=", "Norway"),), fields=("capital",))
