"""The typed contract of an answer's metadata (``rag.answer_meta``): real dicts read and written back unchanged,
old or odd dicts read with defaults."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from rag.analytics.service import DatasetAnalytics
from rag.answer_meta import AnswerMeta, ComputedResult
from rag.loader import load_dataset
from rag.profile import profile_dataset
from tests.analytics_cases import CASES, dataset_path
from tests.datasets import vega_cars_path
from tests.scripted_llm import ScriptedClient
from tests.test_engine import embedder, embeddings_dir, make_engine  # noqa: F401  (shared fixtures)

FRENCH_QUESTIONS = ("Combien de voitures viennent du Japon ?", "Quelle est la voiture la plus lourde ?")


@cache
def analytics_of(dataset: str) -> DatasetAnalytics:
    loaded = load_dataset(dataset_path(dataset))
    return DatasetAnalytics.build(loaded, profile_dataset(loaded.records))


def assert_round_trip(record_type: type[AnswerMeta] | type[ComputedResult], mapping: dict[str, Any]) -> None:
    """``from_dict`` then ``to_dict`` gives the same dict, keys in the same order, as the same JSON."""
    again = record_type.from_dict(mapping).to_dict()
    assert again == mapping and list(again) == list(mapping)
    assert json.dumps(again) == json.dumps(mapping)


def test_every_computed_result_of_the_question_set_reads_and_writes_back_unchanged() -> None:
    computed_count = 0
    for case in CASES:
        computed = analytics_of(case.dataset).compute(case.question).computed
        if computed is None:
            continue
        computed_count += 1
        assert_round_trip(ComputedResult, computed)
        result = ComputedResult.from_dict(computed)
        assert not result.extra, f"{case.id}: keys ComputedResult does not type: {sorted(result.extra)}"
        assert (result.summary, result.sql, result.rows, result.language) == (
            computed["summary"], computed["sql"], computed["rows"], computed["language"])
    assert computed_count > len(CASES) // 2


@pytest.mark.parametrize("question", FRENCH_QUESTIONS)
def test_a_computed_result_read_in_another_language_keeps_the_planner_words(question: str) -> None:
    computed = analytics_of("cars").compute(question).computed
    assert computed is not None
    assert_round_trip(ComputedResult, computed)
    result = ComputedResult.from_dict(computed)
    assert result.language == "fr" and result.read_as == computed["read_as"] and not result.extra


def test_missing_and_unknown_keys_read_as_defaults_and_are_kept() -> None:
    old = {"model": "m", "notes": ["n"], "computed": {"summary": "s", "someday": 1}, "someday": [1]}
    meta = AnswerMeta.from_dict(old)
    assert (meta.model, meta.notes, meta.cached, meta.cited, meta.grounding, meta.backend) == (
        "m", ["n"], False, [], None, None)
    assert meta.computed is not None and meta.computed.summary == "s" and meta.computed.sql == ""
    assert meta.extra == {"someday": [1]} and meta.computed.extra == {"someday": 1}
    assert_round_trip(AnswerMeta, old)
    for nothing in (None, {}, "not a dict", []):
        assert AnswerMeta.from_dict(nothing) == AnswerMeta() and AnswerMeta.from_dict(nothing).to_dict() == {}


def test_a_record_built_directly_writes_every_field_and_can_leave_some_out() -> None:
    meta = AnswerMeta(model="m", computed=ComputedResult(summary="s"))
    written = meta.to_dict()
    assert written["model"] == "m" and written["computed"]["summary"] == "s" and written["cached"] is False
    assert "computed" not in meta.to_dict(leave_out=("computed",))
    assert AnswerMeta.from_dict(written) == meta


def test_the_rephrasings_of_a_refusal_are_read_only_from_a_list() -> None:
    assert AnswerMeta.from_dict({"refusal": {"rephrasings": ["a", "b"]}}).rephrasings == ["a", "b"]
    assert AnswerMeta.from_dict({"refusal": {"rephrasings": "a"}}).rephrasings is None
    assert AnswerMeta.from_dict({"refusal": None}).rephrasings is None


def test_the_metadata_of_engine_answers_reads_and_writes_back_unchanged(make_engine) -> None:
    engine, _ = make_engine(ScriptedClient().enqueue("108 cars have 8 cylinders.").enqueue("A Chevrolet [1]."))
    engine.load_json(vega_cars_path())
    computed = engine.chat("How many cars have 8 cylinders?")
    lookup = engine.chat("Tell me about the chevrolet chevelle malibu")
    refused = engine.chat("What is the average horsepower per cylinder of cars with a sunroof?")
    replayed = engine.chat("How many cars have 8 cylinders?")
    for answer in (computed, lookup, refused, replayed):
        assert answer.status == "done"
        assert_round_trip(AnswerMeta, answer.meta)
        meta = answer.meta_info
        assert not meta.extra, f"keys AnswerMeta does not type: {sorted(meta.extra)}"
        assert (meta.model, meta.notes, meta.dataset_hash) == (
            answer.meta["model"], answer.meta["notes"], answer.meta["dataset_hash"])
    info = computed.meta_info
    assert info.computed is not None and info.computed.to_dict() == computed.meta["computed"]
    assert info.timings == computed.meta["timings"] and info.context_window == computed.meta["context_window"]
    assert lookup.meta_info.computed is None and lookup.meta_info.cited == lookup.meta["cited"]
    assert replayed.meta_info.cached is True and computed.meta_info.cached is False
    assert refused.meta_info.rephrasings and refused.meta_info.refusal == refused.meta["refusal"]
    assert computed.meta_info.grounding is not None and computed.meta_info.grounding == computed.meta["grounding"]
