"""The Dash app as the browser sees it over HTTP: layout, callbacks, poll sizes, limits, command line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app import ASSETS_DIR, create_app
from dashboard import ids
from tests.callback_client import CallbackClient
from dashboard.data_flow import EXAMPLE_DATASET
from dashboard.layout import RECORDS_PAGE_SIZE, STREAM_POLL_MS
from dashboard.polling import ANSWER_POLL_PATH, INGEST_POLL_PATH
from rag.cache import ResponseCache
from rag.engine import RAGEngine
from rag.settings import Settings, apply_overrides
from tests.protocol_servers import ChatReply

ROOT = Path(__file__).resolve().parent.parent
REQUIRED_IDS = (
    ids.CHAT_HISTORY,
    ids.CHAT_HISTORY_STORE,
    ids.CHAT_INPUT,
    ids.SEND_BUTTON,
    ids.STREAMING_SESSION_ID,
    ids.STREAMING_ACTIVE,
    ids.STREAMING_INTERVAL,
    ids.STORED_DATA,
)


@pytest.fixture(scope="module")
def embedder():
    from rag.embeddings import Embedder
    from rag.model_files import default_embedding_model_dir

    return Embedder(default_embedding_model_dir())


@pytest.fixture
def engine(embedder, ollama_server, tmp_path_factory, tmp_path):
    cache = tmp_path_factory.getbasetemp() / "dashboard-embeddings"  # shared with test_dashboard_flow.py
    settings = apply_overrides(
        Settings(),
        {
            "llm": {"backend": "ollama", "base_url": ollama_server.url, "model": "llama3.2"},
            "cache": {"directory": str(cache)},
            "retrieval": {"top_k": 3},
            "data": {"max_upload_mb": 1},
        },
        "test",
    )
    return RAGEngine(settings, embedder=embedder, cache=ResponseCache(tmp_path / "answers"))


@pytest.fixture
def app(engine):
    return create_app(engine=engine)


def components(layout: Any) -> dict[str, dict[str, Any]]:
    """Every component with a string id in a ``/_dash-layout`` JSON tree, by id."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict) and "props" in node:
            if isinstance(node["props"].get("id"), str):
                found[node["props"]["id"]] = node
            walk(node["props"].get("children"))
            for tab in node["props"].get("tabs", []) if isinstance(node["props"].get("tabs"), list) else []:
                walk(tab)

    walk(layout)
    return found


def test_the_layout_has_the_chat_components_with_the_agreed_ids_and_settings(app):
    http = app.server.test_client()
    assert http.get("/").status_code == 200
    layout = components(http.get("/_dash-layout").get_json())
    for component_id in REQUIRED_IDS:
        assert component_id in layout, component_id
    interval = layout[ids.STREAMING_INTERVAL]
    assert interval["type"] == "Interval" and interval["props"]["interval"] == STREAM_POLL_MS == 200
    assert interval["props"]["disabled"] is True
    assert layout[ids.POLL_CONFIG]["props"]["data"]["slow_ms"] == STREAM_POLL_MS
    assert ids.CONNECTION_NOTICE in layout
    store = layout[ids.CHAT_HISTORY_STORE]
    assert store["props"]["storage_type"] == "session" and store["props"]["data"] == []
    assert layout[ids.STORED_DATA]["props"]["data"] is None
    assert layout[ids.UPLOAD_LIMIT]["props"]["data"] == {"bytes": 1024 * 1024, "mb": 1.0}
    assert layout[ids.UPLOAD]["type"] == "Upload"


def test_every_page_load_builds_a_fresh_layout_from_the_current_dataset(app, engine):
    http = app.server.test_client()
    before = components(http.get("/_dash-layout").get_json())
    engine.load_json(EXAMPLE_DATASET)
    after = components(http.get("/_dash-layout").get_json())
    assert before[ids.STORED_DATA]["props"]["data"] is None
    assert after[ids.STORED_DATA]["props"]["data"]["record_count"] == 240


def test_the_records_and_profile_grids_page_sort_and_filter(app):
    layout = components(app.server.test_client().get("/_dash-layout").get_json())
    for grid_id in (ids.RECORDS_TABLE, ids.PROFILE_TABLE):
        grid = layout[grid_id]
        assert grid["type"] == "AgGrid" and grid["namespace"] == "dash_ag_grid"
        options, defaults = grid["props"]["dashGridOptions"], grid["props"]["defaultColDef"]
        assert options["pagination"] is True and options["paginationPageSize"] in options["paginationPageSizeSelector"]
        assert defaults["sortable"] and defaults["filter"] and defaults["floatingFilter"]
        assert not grid["props"].get("enableEnterpriseModules")
    records = layout[ids.RECORDS_TABLE]["props"]
    assert records["dashGridOptions"]["paginationPageSize"] == RECORDS_PAGE_SIZE
    assert records["getRowId"] == "params.data.rid" and records["filterModel"] == {}


def test_a_new_dataset_fills_the_grids_unfiltered_and_show_all_clears_the_filter(app, engine):
    engine.load_json(EXAMPLE_DATASET)
    client = CallbackClient(app)
    shown = client.call(ids.STORED_DATA, "data", {"name": "orders.json", "record_count": 240})
    columns = shown.output(ids.RECORDS_TABLE, "columnDefs")
    rows = shown.output(ids.RECORDS_TABLE, "rowData")
    assert columns[0]["field"] == "rid" and [c["headerName"] for c in columns[1:3]] == ["order_id", "order_date"]
    assert len(rows) == 240 and rows[42]["rid"] == "$[42]" and rows[42][columns[1]["field"]] == "ORD-10043"
    assert shown.output(ids.RECORDS_TABLE, "filterModel") == {}
    assert shown.output(ids.RECORDS_TABLE, "paginationGoTo") == "first"
    profile_rows = shown.output(ids.PROFILE_TABLE, "rowData")
    assert len(profile_rows) == len(engine.dataset_info.profile.fields)
    cleared = client.call(ids.SHOW_ALL_RECORDS_BUTTON, "n_clicks", 1)
    assert cleared.output(ids.RECORDS_TABLE, "filterModel") == {}
    assert cleared.output(ids.RECORD_PANEL, "children") == []


def test_a_sources_show_in_data_table_button_opens_its_record(app, engine):
    """Sources are static HTML: their buttons reach the app through a store that ``assets/sources.js`` sets."""
    engine.load_json(EXAMPLE_DATASET)
    assert f"'{ids.SOURCE_REQUEST}'" in (ASSETS_DIR / "sources.js").read_text()
    shown = CallbackClient(app).call(ids.SOURCE_REQUEST, "data", {"record": "$[42]", "at": 1}, state={
        f"{ids.STORED_DATA}.data": {"name": "orders.json", "record_count": 240},
    })
    assert shown.output(ids.DATA_TABS, "value") == "records"
    assert "$[42]" in json.dumps(shown.output(ids.RECORDS_TABLE, "filterModel"))
    assert "ORD-10043" in json.dumps(shown.output(ids.RECORD_PANEL, "children"))


def post_poll(app: Any, path: str, body: Any) -> Any:
    return app.server.test_client().post("/" + path, data=json.dumps(body), content_type="application/json")


def test_polls_are_not_dash_callbacks_and_bad_requests_are_refused(app):
    """Dash drops a callback still in flight when it is requested again: the intervals only tick the page's
    pollers, which post to routes of their own."""
    client = CallbackClient(app)
    for interval in (ids.STREAMING_INTERVAL, ids.INGEST_INTERVAL):
        with pytest.raises(LookupError):
            client.key_for(interval, "n_intervals")
    for path in (ANSWER_POLL_PATH, INGEST_POLL_PATH):
        refused = post_poll(app, path, {"seq": "one"})
        assert refused.status_code == 400 and "poll request" in refused.get_json()["error"]
    unknown = post_poll(app, ANSWER_POLL_PATH, {"seq": 1, "session": "no-such-answer", "offset": 5})
    assert unknown.status_code == 200 and unknown.get_json()["fields"]["status"] == "interrupted"


def test_a_poll_that_has_seen_the_answers_latest_version_is_held_until_something_arrives(app, engine, ollama_server):
    """A model that waits 2.5 s before its first token: polled back to back, the page would send hundreds of
    requests; held, a few, and the one in flight when the text arrives answers with it at once."""
    engine.load_json(EXAMPLE_DATASET)
    ollama_server.reply = ChatReply(pieces=["Held ", "answer."], delay=0.0, headers_delay=2.5)
    sent = CallbackClient(app).call(ids.SEND_BUTTON, "n_clicks", 1, state={
        f"{ids.CHAT_INPUT}.value": "Which orders mention a gift?",
        f"{ids.CHAT_HISTORY_STORE}.data": [],
        f"{ids.STREAMING_ACTIVE}.data": False,
    })
    session_id = sent.output(ids.STREAMING_SESSION_ID, "data")
    text, offset, view, version = "", 0, {}, None
    polls: list[tuple[float, dict]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = {"seq": len(polls) + 1, "session": session_id, "offset": offset, "view": view}
        if version is not None:
            body["version"] = version
        started = time.monotonic()
        reply = post_poll(app, ANSWER_POLL_PATH, body).get_json()
        polls.append((time.monotonic() - started, reply))
        if reply["done"]:
            text = reply["text"]
            break
        text += reply["text"]
        offset, view, version = reply["to"], reply["view"], reply["version"]
    assert text == "Held answer."
    # the sources come within a few hundred ms, the first token after 2.5 s: 2 s tells them apart on a busy machine
    assert polls[0][0] < 2.0, "the first poll gets the sources soon after they arrive, not the model's first token"
    assert len(polls) <= 12, f"{len(polls)} polls for one answer: polls were not held"
    held = [elapsed for elapsed, reply in polls if reply.get("text") == "" and not reply["done"]]
    assert any(0.8 <= elapsed <= 2.0 for elapsed in held), "a poll with nothing new waits about a second"
    first_text = next(i for i, (_, reply) in enumerate(polls) if reply.get("text") or reply["done"])
    assert polls[first_text][0] < 1.2


def test_polls_send_only_the_new_text_whatever_the_length_of_the_conversation(app, engine, ollama_server):
    engine.load_json(EXAMPLE_DATASET)
    client = CallbackClient(app)
    ollama_server.reply = ChatReply(pieces=[f"piece{i:02d} " for i in range(40)], delay=0.02)
    sent = client.call(
        ids.SEND_BUTTON,
        "n_clicks",
        1,
        state={
            f"{ids.CHAT_INPUT}.value": "Which orders were returned?",
            f"{ids.CHAT_HISTORY_STORE}.data": [],
            f"{ids.STREAMING_ACTIVE}.data": False,
        },
    )
    assert sent.status == 200
    session_id = sent.output(ids.STREAMING_SESSION_ID, "data")
    assert len(session_id) == 32 and sent.output(ids.STREAMING_ACTIVE, "data") is True
    shown = sent.output(ids.CHAT_HISTORY, "children")
    assert [child["props"]["id"]["type"] for child in shown[1:]] == [ids.TURN_SLOT_TYPE], "the first turn, then a slot"
    progress = sent.output(ids.STREAM_PROGRESS, "data")
    assert progress["session"] == session_id and progress["offset"] == 0 and progress["turn"] == 0

    sizes: list[tuple[int, int]] = []
    text, offset, view = "", 0, {}
    for seq in range(1, 500):
        response = post_poll(app, ANSWER_POLL_PATH, {"seq": seq, "session": session_id, "offset": offset, "view": view})
        assert response.status_code == 200
        reply = response.get_json()
        assert reply["seq"] == seq and reply["session"] == session_id
        if reply["done"]:
            assert reply["from"] == 0 and reply["text"].startswith(text)
            text = reply["text"]
            break
        assert reply["from"] == offset, "the reply starts where the request asked"
        text += reply["text"]
        offset, view = reply["to"], reply["view"]
        if not reply["parts"]:  # not the one poll that shows the sources
            sizes.append((len(response.get_data()), len(reply["text"].encode())))
        time.sleep(0.02)
    assert text == "".join(f"piece{i:02d} " for i in range(40))
    text_polls = [(size, new) for size, new in sizes if new]
    assert len(text_polls) >= 3
    for size, new in text_polls:
        assert size < new + 250, f"a poll carrying {new} bytes of text sent {size} bytes"


def test_a_new_turn_fills_the_empty_slot_instead_of_redrawing_the_conversation(app, engine):
    client = CallbackClient(app)
    earlier = [{"id": f"old-{i}", "question": f"q{i}", "answer": f"a{i}", "status": "done"} for i in range(3)]
    sent = client.call(
        ids.SEND_BUTTON,
        "n_clicks",
        1,
        state={
            f"{ids.CHAT_INPUT}.value": "And the next one?",
            f"{ids.CHAT_HISTORY_STORE}.data": earlier,
            f"{ids.STREAMING_ACTIVE}.data": False,
        },
    )
    assert sent.output(ids.CHAT_HISTORY, "children") is None, "the conversation is not sent again"
    filled = sent.data["sideUpdate"][json.dumps(ids.turn_slot(3), sort_keys=True, separators=(",", ":"))]
    turn, next_slot = filled["children"]
    assert "And the next one?" in json.dumps(turn) and next_slot["props"]["id"] == ids.turn_slot(4)
    assert sent.output(ids.STREAM_PROGRESS, "data")["turn"] == 3


def test_every_twentieth_turn_the_conversation_is_drawn_again_flat(app, engine):
    """Slots nest one level per new turn; drawing the whole conversation now and then keeps them shallow."""
    client = CallbackClient(app)
    earlier = [{"id": f"old-{i}", "question": f"q{i}", "answer": f"a{i}", "status": "done"} for i in range(20)]
    sent = client.call(
        ids.SEND_BUTTON,
        "n_clicks",
        1,
        state={
            f"{ids.CHAT_INPUT}.value": "Number 21?",
            f"{ids.CHAT_HISTORY_STORE}.data": earlier,
            f"{ids.STREAMING_ACTIVE}.data": False,
        },
    )
    shown = sent.output(ids.CHAT_HISTORY, "children")
    assert [node["props"]["className"] for node in shown] == ["turn"] * 21 + ["turn-slot"]
    assert "sideUpdate" not in sent.data and shown[-1]["props"]["id"] == ids.turn_slot(21)


def test_loading_progress_polls_are_answered_until_the_job_finishes(app, engine):
    client = CallbackClient(app)
    started = client.call(ids.LOAD_EXAMPLE_BUTTON, "n_clicks", 1)
    job = started.output(ids.INGEST_JOB, "data")
    assert started.output(ids.INGEST_INTERVAL, "disabled") is False
    for seq in range(1, 2000):
        reply = post_poll(app, INGEST_POLL_PATH, {"seq": seq, "job": job}).get_json()
        assert reply["seq"] == seq and reply["job"] == job
        if reply["finished"]:
            break
        assert reply["hidden"] is False and reply["progress"]
        time.sleep(0.05)
    assert reply["hidden"] is True and reply["stored_data"]["record_count"] == 240
    assert "Loaded orders.json" in json.dumps(reply["message"])


def test_send_with_an_empty_question_only_asks_for_one(app):
    client = CallbackClient(app)
    response = client.call(ids.SEND_BUTTON, "n_clicks", 1, state={f"{ids.CHAT_INPUT}.value": "   "})
    assert response.output(ids.CHAT_NOTICE, "children") == "Type a question first."
    assert response.output(ids.STREAMING_ACTIVE, "data") is None


def test_export_callback_downloads_the_conversation(app):
    client = CallbackClient(app)
    turn = {
        "id": "s1",
        "question": "Which orders were returned?",
        "answer": "ORD-10007 [1]",
        "status": "done",
        "sources": [{"label": 1, "record_id": "$[6]", "score": 0.03, "text": "order_id: ORD-10007"}],
        "metrics": {"time_to_first_token": 0.3},
        "meta": {"model": "llama3.2", "dataset_name": "orders.json", "dataset_hash": "ab" * 32},
    }
    response = client.call(ids.EXPORT_JSON_BUTTON, "n_clicks", 1, state={f"{ids.CHAT_HISTORY_STORE}.data": [turn]})
    download = response.output(ids.EXPORT_DOWNLOAD, "data")
    assert download["filename"].endswith(".json")
    document = json.loads(download["content"])
    assert document["turns"][0]["sources"][0]["record_id"] == "$[6]"


def test_an_upload_over_the_limit_gets_the_message_from_the_server_too(app, engine):
    import base64

    client = CallbackClient(app)
    big = base64.b64encode(b"[" + b"1," * 600_000 + b"1]").decode()
    response = client.call(
        ids.UPLOAD_GATE,
        "data",
        {"filename": "big.json", "at": 1},
        state={
            f"{ids.UPLOAD}.contents": "data:application/json;base64," + big,
            f"{ids.UPLOAD}.filename": "big.json",
        },
    )
    message = json.dumps(response.output(ids.DATA_MESSAGE, "children"))
    assert "big.json is 1.1 MB; files up to 1 MB can be loaded" in message
    assert engine.dataset is None


def test_a_request_past_flasks_limit_gets_a_clear_413(app):
    http = app.server.test_client()
    response = http.post("/_dash-update-component", data=b"x" * (3 * 1024 * 1024), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"error": "The upload is larger than the limit of 1 MB (setting data.max_upload_mb)."}


def test_a_bad_config_file_is_one_clear_line_and_a_failing_exit(tmp_path, processes):
    config = tmp_path / "config.json"
    config.write_text('{"llm": {"backend": "martian"}}')
    result = processes.run(
        [sys.executable, str(ROOT / "app.py"), "--config", str(config), "--port", "1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "llm.backend" in lines[0]
    missing = processes.run(
        [sys.executable, str(ROOT / "app.py"), "--config", str(tmp_path / "nope.json")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert missing.returncode != 0 and missing.stderr.strip().endswith("does not exist")


def test_healthz_reports_the_app_the_model_backend_and_the_store(app, engine, ollama_server):
    http = app.server.test_client()
    healthy = http.get("/healthz")
    body = healthy.get_json()
    assert healthy.status_code == 200 and body["status"] == "ok"
    assert body["checks"]["app"]["ok"] and body["checks"]["llm"] == {
        "ok": True, "backend": "ollama", "message": body["checks"]["llm"]["message"]}
    assert body["checks"]["dataset_store"]["ok"]
    engine.configure_llm(base_url="http://127.0.0.1:9")  # nothing listens there
    failing = http.get("/healthz")
    assert failing.status_code == 503
    checks = failing.get_json()["checks"]
    assert failing.get_json()["status"] == "failing" and checks["app"]["ok"] and not checks["llm"]["ok"]
    assert "127.0.0.1:9" in checks["llm"]["message"]


def test_python_app_py_serves_the_page_through_a_production_server(tmp_path, ollama_server, processes):
    """Not Flask's development server: waitress, on 127.0.0.1, with /healthz."""
    import socket

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "llm": {"backend": "ollama", "base_url": ollama_server.url, "model": "llama3.2"},
        "cache": {"directory": str(tmp_path / "cache")},
    }))
    process = processes.popen(
        [sys.executable, str(ROOT / "app.py"), "--config", str(config), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.3)
        assert health is not None, f"the app never answered: {process.stdout.read() if process.poll() is not None else ''}"
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert health.headers.get("Server") == "waitress"
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "JSON RAG Chat" in page.text
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "Serving on http://127.0.0.1:" in output and "Debug mode" not in output
