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
    from rag.cli_dataset import format_computed

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
