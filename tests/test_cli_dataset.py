"""``python -m rag.cli --data FILE "question"`` as a real process: computed block, sources, then the streamed text."""

from __future__ import annotations

import json

from tests.datasets import example_orders_path
from tests.protocol_servers import ChatReply
from tests.test_cli import run_cli


def test_answers_over_a_dataset_with_the_computed_part_first(ollama_server, tmp_path, processes):
    ollama_server.reply = ChatReply(pieces=["Fourteen ", "orders ", "were returned."])
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"cache": {"directory": str(tmp_path / "cache")}}))
    orders = json.loads(example_orders_path().read_text())
    returned = sum(1 for order in orders if order["status"] == "returned")

    result = run_cli(
        "--data", str(example_orders_path()), "How many orders were returned?",
        "--backend", "ollama", "--base-url", ollama_server.url, "--model", "llama3.2", "--config", str(config),
        timeout=240,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    out = result.stdout
    computed_at = out.index(f"{returned} of {len(orders)} orders have status = returned")
    assert "SQL: SELECT" in out
    assert out.index("Sources: [1]") > computed_at
    assert out.rstrip().endswith("Fourteen orders were returned.")
    assert "time to first token" in result.stderr


def test_a_bad_dataset_file_is_a_usage_error(tmp_path, processes):
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": [1, 2,')
    result = run_cli("--data", str(bad), "How many?", "--backend", "ollama")
    assert result.returncode == 2
    assert "bad.json" in result.stderr and "Traceback" not in result.stderr


def test_the_terminal_table_writes_group_keys_as_keys_and_leaves_out_record_ids():
    from rag.analytics.spec import RECORD_ID
    from rag.cli.dataset import format_computed

    computed = {
        "rows_considered": 1461, "planner": "rules", "summary": "Total precipitation by date (year): …",
        "columns": ["year(date)", "sum(precipitation)"], "rows": [[2012, 1226.0], [2013, 828.0]],
        "spec": {"aggregation": "sum", "group_by": {"field": "date", "date_part": "year"}}, "sql": "SELECT …",
    }
    text = format_computed(computed)
    assert "2012        1,226" in text and "2,012" not in text
    argmax = {**computed, "columns": [RECORD_ID, "Name", "Horsepower"], "rows": [["$[1]", "ford", 230], ["$[2]", "amc", 220]],
              "spec": {"aggregation": "argmax"}}
    assert RECORD_ID not in format_computed(argmax) and "ford  230" in format_computed(argmax)


def test_the_answer_is_printed_from_its_events_computed_part_and_sources_first():
    import io

    from rag.answer_events import Computed, Finished, Meta, Sources, TextDelta, Waiting
    from rag.cli.dataset import print_answer, report_end

    computed = {"rows_considered": 3, "planner": "rules", "summary": "2 of 3 orders are returned", "sql": "SELECT 2"}
    metrics = {"completion_tokens": 2, "time_to_first_token": 0.1, "total_duration": 0.5, "tokens_per_second": 4.0}
    events = [
        Waiting("Waiting for the model…"), Computed(computed), Sources([]),
        Sources([{"label": 1, "record_id": "$[0]"}]), Meta({"notes": ["a note"]}),
        TextDelta("Two "), TextDelta("orders."), Finished("done", metrics),
    ]  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    code = report_end(print_answer(events, out), out, err)
    assert code == 0
    assert out.getvalue() == (
        "Computed over all 3 records (rules planner):\n  2 of 3 orders are returned\n  SQL: SELECT 2\n\n"
        "Sources: [1] $[0]\n\nTwo orders.\n"
    )
    assert err.getvalue() == (
        "note: a note\n2 tokens · time to first token 0.10 s · duration 0.50 s · 4.0 tokens/s\n"
    )


def test_an_answer_no_model_was_asked_for_says_so_instead_of_unknown_figures():
    import io

    from rag.answer_events import Computed, Finished, TextDelta
    from rag.cli.dataset import print_answer, report_end

    computed = {"rows_considered": 3, "planner": "rules", "summary": "2 des 3 commandes", "sql": "SELECT 2"}
    events = [Computed(computed), TextDelta("2 des 3 commandes."), Finished("done", {"retrieval_seconds": 0.01})]
    out, err = io.StringIO(), io.StringIO()
    assert report_end(print_answer(events, out), out, err, elapsed=0.25) == 0
    assert err.getvalue() == "no model asked: answered by the engine · duration 0.25 s\n"
    stopped = [TextDelta(""), Finished("stopped", {})]  # stopped before the model's first token: figures unknown
    out, err = io.StringIO(), io.StringIO()
    report_end(print_answer(stopped, out), out, err, elapsed=0.25)
    assert "n/a tokens" in err.getvalue()


def test_a_failed_answer_keeps_its_text_and_exits_1():
    import io

    from rag.answer_events import Failed, TextDelta
    from rag.cli.dataset import print_answer, report_end

    events = [TextDelta("The answer is"), Failed("model runner crashed")]
    out, err = io.StringIO(), io.StringIO()
    assert report_end(print_answer(events, out), out, err) == 1
    assert out.getvalue() == "The answer is\n"
    assert "error: model runner crashed\n" in err.getvalue() and "n/a tokens" in err.getvalue()
