"""A lookup through the engine: the record's value computed over all records, the record as the source, and
the embedded model's reply started with the value (the engine as it is: ``computed`` is all it needs)."""

from __future__ import annotations

import json

from tests.datasets import pycountry_database_path
from tests.scripted_llm import ScriptedClient
from tests.test_engine import embedder, embeddings_dir, make_engine  # noqa: F401  (shared fixtures)


class ContinuingClient(ScriptedClient):
    """A backend that continues a reply started by the last (assistant) message, like the embedded one."""

    continues_replies = True


def test_a_lookup_states_the_value_and_gives_the_record_as_its_source(make_engine) -> None:
    engine, client = make_engine(ContinuingClient().enqueue(" It is Norway's code.").enqueue("I do not know."))
    engine.load_json(pycountry_database_path("iso3166-1.json"))
    countries = json.loads(pycountry_database_path("iso3166-1.json").read_text())["3166-1"]
    norway = next(i for i, country in enumerate(countries) if country["name"] == "Norway")

    answer = engine.chat("What is the alpha-3 code of norway?")

    computed = answer.meta["computed"]
    assert computed["fact"] == "The alpha_3 of Norway is NOR." and computed["value"] == "NOR"
    assert computed["record_ids"] == [f'$["3166-1"][{norway}]']
    assert [source["record_id"] for source in answer.sources] == computed["record_ids"]
    messages = client.history[0]["messages"]
    assert messages[-1] == {"role": "assistant", "content": computed["fact"]}  # the reply starts with the value
    assert messages[-2]["content"].startswith(f"Computed over all {len(countries)} records: {computed['fact']}")
    assert answer.text == computed["fact"] + " It is Norway's code."

    absent = engine.chat("What is the alpha-3 code of Atlantis?")
    assert "computed" not in absent.meta
    assert any("no record is named 'Atlantis'" in note for note in absent.meta["notes"])
