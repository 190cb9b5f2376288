"""Answers computed over all records, through the engine: in the buffer before the text, in the prompt, cached."""

from __future__ import annotations

import json
import time

import pytest

from rag.analytics.spec import RECORD_ID
from tests.datasets import example_orders_path, vega_cars_path
from tests.scripted_llm import ScriptedClient
from tests.test_engine import embedder, embeddings_dir, make_engine  # noqa: F401  (shared fixtures)


def test_a_count_is_computed_over_all_records_and_given_to_the_model_as_facts(make_engine) -> None:
    engine, client = make_engine(ScriptedClient().enqueue("108 cars have 8 cylinders."))
    engine.load_json(vega_cars_path())
    cars = json.loads(vega_cars_path().read_text())
    truth = sum(1 for car in cars if car.get("Cylinders") == 8)

    answer = engine.chat("How many cars have 8 cylinders?")

    computed = answer.meta["computed"]
    assert computed["rows"] == [[truth]] and computed["rows_considered"] == len(cars)
    assert f"{truth} of {len(cars)} cars" in computed["summary"]
    assert computed["planner"] == "rules" and '"Cylinders" = ?' in computed["sql"].replace("8", "?")
    messages = client.history[0]["messages"]
    prompt = messages[-1]["content"]
    assert prompt.startswith(f"Computed over all {len(cars)} records: {computed['fact']}")
    assert computed["fact"] == f"{truth} of {len(cars)} cars have Cylinders = 8."
    # the model words the result alone: no retrieved records and no dataset summary beside it
    assert "record " not in prompt and "Dataset summary" not in messages[0]["content"]
    assert answer.text == "108 cars have 8 cylinders."  # a server's model words it (no started reply)
    # the records behind the filter are the sources, all of them matches
    assert answer.sources and all(s["record"]["Cylinders"] == 8 for s in answer.sources)
    assert [s["record_id"] for s in answer.sources] == computed["record_ids"][: len(answer.sources)]


def test_a_percentage_question_is_answered_with_the_share_of_all_records(make_engine) -> None:
    engine, client = make_engine(ScriptedClient().enqueue("About a fifth."))
    engine.load_json(vega_cars_path())
    cars = json.loads(vega_cars_path().read_text())
    japanese = sum(1 for car in cars if car.get("Origin") == "Japan")

    computed = engine.chat("What percentage of cars are from Japan?").meta["computed"]

    share = f"{100 * japanese / len(cars):.1f}%"
    assert computed["value"] == share and computed["rows"] == [[japanese]]
    assert computed["fact"] == f"{share} of cars ({japanese} of {len(cars)}) have Origin = Japan."
    assert client.history[0]["messages"][-1]["content"].startswith(f"Computed over all {len(cars)} records: {share}")


class ContinuingClient(ScriptedClient):
    """A backend that continues a reply started by the last (assistant) message, like the embedded one."""

    continues_replies = True


def test_where_the_backend_continues_a_reply_the_answer_starts_with_the_result(make_engine) -> None:
    engine, client = make_engine(ContinuingClient().enqueue(" That is a quarter of them."))
    engine.load_json(vega_cars_path())
    answer = engine.chat("How many cars have 8 cylinders?")
    fact = answer.meta["computed"]["fact"]
    assert client.history[0]["messages"][-1] == {"role": "assistant", "content": fact}
    assert answer.text == fact + " That is a quarter of them."
    lookup = engine.chat("Tell me about the chevrolet chevelle malibu")
    assert client.history[1]["messages"][-1]["role"] == "user"  # no result, nothing started
    assert lookup.status == "done"


def test_a_french_question_is_answered_in_french_and_a_continuing_model_adds_nothing(make_engine) -> None:
    """The embedded model continues a French reply in English: the engine's French sentence is the reply, the
    model is not asked; a server's model is asked, and told to answer in French."""
    engine, client = make_engine(ContinuingClient().enqueue(" The answer is 108."))
    engine.load_json(vega_cars_path())
    answer = engine.chat("Combien de voitures ont 8 cylindres ?")
    computed = answer.meta["computed"]
    assert computed["language"] == "fr" and answer.status == "done"
    assert answer.text == computed["fact"] and answer.text.startswith("108 des 406 voitures ont Cylinders = 8")
    assert client.history == []  # not asked
    engine, server = make_engine(ScriptedClient().enqueue("84 voitures ont 6 cylindres."))
    engine.load_json(vega_cars_path())
    answer = engine.chat("Combien de voitures ont 6 cylindres ?")
    assert answer.text == "84 voitures ont 6 cylindres."
    assert "answer in French" in server.history[0]["messages"][0]["content"]


def test_the_computed_part_is_in_the_buffer_before_the_first_token(make_engine) -> None:
    client = ScriptedClient(delay=0.3).enqueue("The", " answer")
    engine, _ = make_engine(client)
    engine.load_json(example_orders_path())
    engine.chat_stream("Number of orders by status", "s1")
    seen_computed_before_text = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        snapshot = engine.read("s1", 0)
        if snapshot.computed is not None and seen_computed_before_text is None:
            seen_computed_before_text = snapshot.text == ""
        if snapshot.is_complete:
            break
        time.sleep(0.01)
    assert seen_computed_before_text is True
    orders = json.loads(example_orders_path().read_text())
    rows = dict((status, count) for status, count in snapshot.computed["rows"])
    assert rows == {s: sum(1 for o in orders if o["status"] == s) for s in {o["status"] for o in orders}}
    assert snapshot.computed["chart"] == "bar"


def test_an_argmax_names_the_record_and_gives_it_as_the_source(make_engine) -> None:
    engine, client = make_engine(ScriptedClient().enqueue("It is the pontiac."))
    engine.load_json(vega_cars_path())
    answer = engine.chat("Which car has the highest horsepower?")
    computed = answer.meta["computed"]
    names = [row[computed["columns"].index("Name")] for row in computed["rows"]]
    assert names == ["pontiac grand prix"]
    assert answer.sources[0]["record_id"] == computed["rows"][0][computed["columns"].index(RECORD_ID)]
    prompt = client.history[0]["messages"][-1]["content"]
    assert "Records behind this result" in prompt and "pontiac grand prix" in prompt  # to describe the car


def test_a_lookup_goes_to_retrieval_without_a_computed_part(make_engine) -> None:
    engine, _ = make_engine(ScriptedClient().enqueue("A car."))
    engine.load_json(vega_cars_path())
    answer = engine.chat("Tell me about the chevrolet chevelle malibu")
    assert "computed" not in answer.meta
    assert any("chevelle" in s["text"] for s in answer.sources)


def test_an_unfillable_analytic_question_says_so_and_falls_back(make_engine) -> None:
    engine, _ = make_engine(ScriptedClient().enqueue("I cannot tell."))
    engine.load_json(vega_cars_path())
    answer = engine.chat("How many cars come from Atlantis?")
    assert "computed" not in answer.meta
    assert any("Not computed over all records" in n and "Atlantis" in n for n in answer.meta["notes"])


def test_the_planner_setting_off_and_the_cache_key(make_engine) -> None:
    engine, client = make_engine(ScriptedClient().enqueue("first").enqueue("second"), analytics={"planner": "off"})
    engine.load_json(vega_cars_path())
    off = engine.chat("How many cars have 8 cylinders?")
    assert "computed" not in off.meta
    engine.configure_analytics(planner="rules")
    on = engine.chat("How many cars have 8 cylinders?")
    assert on.meta["computed"]["rows"][0][0] > 0 and not on.meta["cached"]  # another planner, another cache entry
    again = engine.chat("How many cars have 8 cylinders?")
    assert again.meta["cached"] and again.meta["computed"] == on.meta["computed"]


@pytest.mark.parametrize("num_ctx,max_tokens", [(512, 400)])
def test_a_context_window_that_leaves_no_room_is_refused_when_loaded(num_ctx: int, max_tokens: int) -> None:
    from rag.errors import ConfigError
    from rag.settings import Settings, apply_overrides

    with pytest.raises(ConfigError, match="num_ctx.*must exceed.*max_tokens"):
        apply_overrides(Settings(), {"llm": {"num_ctx": num_ctx, "max_tokens": max_tokens}}, "test")


def test_an_analytic_question_the_planner_cannot_read_is_refused_with_rephrasings_and_the_model_is_not_asked(
    make_engine,
) -> None:
    engine, client = make_engine(ScriptedClient().enqueue("The average price is 1.88 million dollars."))
    engine.load_json(vega_cars_path())
    answer = engine.chat("What is the average price of the cars?")
    assert answer.status == "done" and not client.history, "no model is asked for a number it cannot know"
    assert not answer.meta.get("computed")
    refusal = answer.meta["refusal"]
    assert "price" in refusal["not_understood"] and 2 <= len(refusal["rephrasings"]) <= 3
    assert answer.text.startswith("I could not compute this over all records") and "1.88" not in answer.text
    assert all(rephrasing in answer.text for rephrasing in refusal["rephrasings"])
    assert answer.sources, "the retrieved records are shown"
    assert not answer.meta.get("grounding"), "the app's own wording is not checked as a model's"
    for rephrasing in refusal["rephrasings"]:  # each one offered is read and computed
        assert engine.analytics.compute(rephrasing, mode="rules").computed is not None, rephrasing
