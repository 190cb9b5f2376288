"""The grounding check as one stage on the answer's events: before the end, ``Meta({"grounding": ...})`` with every
value the text states checked against what the model was given; for answers from the engine, fresh and cached."""

from __future__ import annotations

import json
import logging

from rag.answer_events import Computed, Failed, Finished, Meta, Sources, TextDelta, grounded, replay
from rag.answer_pipeline import answer_cache_key
from rag.grounding import Grounding
from tests.datasets import pycountry_database_path
from tests.scripted_llm import ScriptedClient
from tests.test_engine import embedder, embeddings_dir, make_engine  # noqa: F401  (shared fixtures)

NORWAY = {"label": 1, "record_id": "$[0]", "score": 1.0, "text": "",
          "record": {"name": "Norway", "alpha_2": "NO", "alpha_3": "NOR", "numeric": "578"}}
SWEDEN = {"label": 2, "record_id": "$[1]", "score": 0.5, "text": "",
          "record": {"name": "Sweden", "alpha_2": "SE", "alpha_3": "SWE", "numeric": "752"}}


def stream(text, status="done"):
    yield Sources([NORWAY, SWEDEN])
    yield Meta({"model": "m"})
    yield from (TextDelta(piece) for piece in text.split("|"))
    yield Finished(status, {"finish_reason": "stop"})


def grounding_of(events):
    found = [e.changes["grounding"] for e in events if isinstance(e, Meta) and "grounding" in e.changes]
    assert len(found) <= 1
    return found[0] if found else None


def marked(grounding):
    return [text for text, verdict in zip(grounding["text"], grounding["verdict"]) if verdict != "grounded"]


def test_the_stage_passes_every_event_and_checks_the_text_before_the_end():
    question = "What is the alpha_3 code of Norway?"
    events = list(grounded(stream("The alpha_3 code |of Norway is SWE."), question=question))
    assert [type(e).__name__ for e in events] == ["Sources", "Meta", "TextDelta", "TextDelta", "Meta", "Finished"]
    check = grounding_of(events)
    assert marked(check) == ["SWE"] and check["verdict"] == ["wrong_record"] and check["marked"] == 1
    assert Grounding.from_dict(check).marked[0].text == "SWE"
    right = grounding_of(list(grounded(stream("The alpha_3 code of Norway is NOR."), question=question)))
    assert right["checked"] == 1 and right["marked"] == 0 and right["notice"] == ""


def test_stopped_and_failed_answers_are_checked_for_what_was_written():
    stopped = list(grounded(stream("Norway is SWE|", status="stopped"), question="alpha_3 of Norway?"))
    assert marked(grounding_of(stopped)) == ["SWE"] and stopped[-1] == Finished("stopped", {"finish_reason": "stop"})
    failed = list(grounded([Sources([NORWAY]), TextDelta("It is 999"), Failed("cut")], question="numeric of Norway?"))
    assert marked(grounding_of(failed)) == ["999"] and isinstance(failed[-1], Failed)


def test_nothing_given_nothing_written_or_already_checked_adds_nothing():
    no_match = [Sources([]), TextDelta("No record contains the words of this question, 60% done."), Finished()]
    assert grounding_of(list(grounded(no_match))) is None  # a message of the app, not an answer from sources
    assert grounding_of(list(grounded([Sources([NORWAY]), Finished("stopped")]))) is None
    recorded = list(grounded(stream("Norway is NOR."), question="alpha_3 of Norway?"))
    again = list(grounded(replay(recorded), question="alpha_3 of Norway?"))
    assert sum(isinstance(e, Meta) and "grounding" in e.changes for e in again) == 1


def test_an_error_in_the_check_is_logged_and_the_answer_still_ends(caplog):
    class Broken:
        def check(self, text):
            raise RuntimeError("broken index")

    with caplog.at_level(logging.ERROR):
        events = list(grounded(stream("Norway is NOR."), Broken()))
    assert isinstance(events[-1], Finished) and grounding_of(events) is None
    assert "grounding check failed" in caplog.text


def test_a_computed_result_is_a_source_of_its_own():
    computed = {"fact": "108 of 406 cars have Cylinders = 8.", "value": 108, "rows": [[108]], "columns": ["count"]}
    events = [Computed(computed), Sources([]), TextDelta("There are 108 cars, about 27%."), Finished()]
    check = grounding_of(list(grounded(events, question="How many cars have 8 cylinders?")))
    assert "108" not in marked(check) and "27%" in marked(check)


# --- through the engine -------------------------------------------------------------------------------------------


def countries():
    path = pycountry_database_path("iso3166-1.json")
    return path, json.loads(path.read_text())["3166-1"]


def test_a_lookup_answered_with_another_records_value_is_marked_fresh_and_cached(make_engine):
    path, rows = countries()
    sweden = next(row for row in rows if row["name"] == "Sweden")
    engine, client = make_engine(ScriptedClient().enqueue(f"The alpha-3 code of Norway is {sweden['alpha_3']} [1]."))
    engine.load_json(path)
    question = "What is the alpha-3 code of norway?"

    answer = engine.chat(question)

    assert answer.status == "done" and answer.meta["computed"]["value"] == "NOR"
    check = answer.meta["grounding"]
    assert marked(check) == [sweden["alpha_3"]]
    assert engine.read(answer.session_id, 0).meta["grounding"] == check  # the page reads it from the buffer
    again = engine.chat(question)
    assert again.meta["cached"] is True and len(client.history) == 1
    assert again.meta["grounding"] == check and again.text == answer.text


def test_a_lookup_answered_with_the_right_value_marks_nothing(make_engine):
    path, _ = countries()
    engine, _ = make_engine(ScriptedClient().enqueue("The alpha-3 code of Norway is NOR [1]."))
    engine.load_json(path)
    check = engine.chat("What is the alpha-3 code of norway?").meta["grounding"]
    assert check["checked"] >= 1 and check["marked"] == 0 and check["elapsed_ms"] < 200


def test_an_answer_cached_before_the_check_existed_is_checked_when_replayed(make_engine):
    path, _ = countries()
    engine, client = make_engine(ScriptedClient().enqueue("The alpha-3 code of Norway is NOR [1]."))
    engine.load_json(path)
    question = "What is the alpha-3 code of norway?"
    fresh = engine.chat(question)
    key = answer_cache_key(engine.registry.last, question, [], engine.settings, engine.settings.llm)
    engine._cache.put(key, {"text": "The alpha-3 code of Norway is SWE [1].", "sources": fresh.sources,
                            "metrics": fresh.metrics,
                            "meta": {k: v for k, v in fresh.meta.items() if k != "grounding"}})
    old = engine.chat(question)
    assert old.meta["cached"] is True and len(client.history) == 1
    assert marked(old.meta["grounding"]) == ["SWE"]
