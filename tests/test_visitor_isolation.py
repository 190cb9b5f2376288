"""Visitors of one app who must not see each other's data, over HTTP as their browsers reach it: each browser
(its own cookie jar) or signed-in user sees only its own datasets, answers and loading jobs, and the datasets
shared with everyone on purpose; the page every visitor receives names nobody's dataset. Then the same across
two gunicorn workers and Redis."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest
import requests

from app import create_app
from dashboard import ids
from tests.callback_client import UPDATE_PATH, CallbackClient, CallbackResponse
from dashboard.data_flow import NOT_FOUND_MESSAGE
from dashboard.polling import ANSWER_POLL_PATH, INGEST_POLL_PATH
from dashboard.visitors import BROWSER_COOKIE
from rag.cache import ResponseCache
from rag.dataset_access import DatasetAccess, JsonAccessBook
from rag.engine import NO_DATASET_MESSAGE, RAGEngine
from rag.errors import ConfigError
from rag.settings import Settings, apply_overrides
from tests.deployment import Deployment, team_config
from tests.protocol_servers import ChatReply
from tests.test_dataset_store import wait_stored
from tests.test_dashboard_app import components


def records(kind: str, count: int = 12) -> list[dict[str, Any]]:
    return [{"name": f"{kind}-{number}", "amount": number * 10, "team": ["red", "blue"][number % 2]}
            for number in range(count)]


@pytest.fixture(scope="module")
def embedder():
    from rag.embeddings import Embedder
    from rag.model_files import default_embedding_model_dir

    return Embedder(default_embedding_model_dir())


@pytest.fixture
def make_app(embedder, ollama_server, tmp_path):
    """An app over a fresh engine and cache folder, with ``sections`` of settings on top."""

    def make(**sections: dict[str, Any]) -> Any:
        settings = apply_overrides(Settings(), {
            "llm": {"backend": "ollama", "base_url": ollama_server.url, "model": "llama3.2"},
            "cache": {"directory": str(tmp_path / "cache")},
            "retrieval": {"top_k": 3},
            **sections,
        }, "test")
        engine = RAGEngine(settings, embedder=embedder, cache=ResponseCache(tmp_path / "answers"))
        app = create_app(engine=engine)
        app.rag_engine = engine  # for the tests: the store a load is saved to
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app(server={"isolate_visitors": True})


class Browser:
    """One browser: its own cookies (Flask's test client keeps them) and one tab."""

    def __init__(self, app: Any, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.http = app.server.test_client()
        self.bodies = CallbackClient(app)
        self.headers = headers or {}
        self.tab = uuid.uuid4().hex
        self.opened = self.http.get("/", headers=self.headers)  # the page itself, as a browser asks first

    def call(self, input_id: str, prop: str, value: Any, **state: Any) -> CallbackResponse:
        given = {f"{ids.TAB_ID}.data": self.tab, **{key.replace("__", "."): v for key, v in state.items()}}
        body = self.bodies.request_body(input_id, prop, value, state=given)
        response = self.http.post(UPDATE_PATH, json=body, headers=self.headers)
        return CallbackResponse(status=response.status_code, body=response.get_data())

    def poll(self, path: str, body: dict[str, Any]) -> Any:
        return self.http.post("/" + path, json=body, headers=self.headers)

    def layout(self) -> str:
        return self.http.get("/_dash-layout", headers=self.headers).get_data(as_text=True)

    def upload(self, name: str, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
        """Load a file as the page does; the new ``stored-data`` and the loading job's id."""
        contents = "data:application/json;base64," + base64.b64encode(json.dumps(rows).encode()).decode()
        started = self.call(ids.UPLOAD_GATE, "data", {"filename": name, "at": 1},
                            **{"upload-data__contents": contents, "upload-data__filename": name})
        job = started.output(ids.INGEST_JOB, "data")
        assert job, started.body
        stored = self.finish(job)
        wait_stored(self.app.rag_engine.store, stored["dataset_id"])  # Recent datasets lists stored ones
        return stored, job

    def finish(self, job: str) -> dict[str, Any]:
        for seq in range(1, 3000):
            reply = self.poll(INGEST_POLL_PATH, {"seq": seq, "job": job}).get_json()
            if reply["finished"]:
                assert reply["stored_data"], reply["message"]
                return reply["stored_data"]
            time.sleep(0.05)
        raise AssertionError("the load never finished")

    def recent(self) -> list[dict[str, str]]:
        """The Recent datasets options, as the page asks for them on load."""
        body = self.bodies.request_body(ids.DATA_MESSAGE, "children", [])
        response = self.http.post(UPDATE_PATH, json=body, headers=self.headers)
        return json.loads(response.get_data())["response"][ids.RECENT_DATASETS]["options"]

    def send(self, question: str, stored: Any) -> str:
        sent = self.call(ids.SEND_BUTTON, "n_clicks", 1, **{
            "chat-input__value": question, "chat-history-store__data": [], "streaming-active__data": False,
            "stored-data__data": stored,
        })
        return sent.output(ids.STREAMING_SESSION_ID, "data")

    def final(self, session: str) -> dict[str, Any]:
        for seq in range(1, 600):
            reply = self.poll(ANSWER_POLL_PATH, {"seq": seq, "session": session, "offset": 0})
            assert reply.status_code == 200, reply.status_code
            if reply.get_json()["done"]:
                return reply.get_json()
            time.sleep(0.05)
        raise AssertionError(f"answer {session} never ended")


def recent_names(browser: Browser) -> list[str]:
    return [option["label"] for option in browser.recent()]


# ------------------------------------------------------------------------------------ one process
def test_the_page_every_visitor_receives_names_nobodys_dataset_even_after_a_load(app):
    alice = Browser(app)
    stored, _ = alice.upload("salaries.json", records("salary"))
    for visitor in (alice, Browser(app)):
        text = visitor.layout()
        assert stored["dataset_id"] not in text and stored["content_hash"] not in text and "salaries" not in text
        assert components(json.loads(text))[ids.STORED_DATA]["props"]["data"] is None


def test_each_browser_gets_a_random_http_only_id_cookie(app, make_app):
    first = Browser(app).opened.headers.get_all("Set-Cookie")
    second = Browser(app).opened.headers.get_all("Set-Cookie")
    assert len(first) == len(second) == 1 and first != second
    assert first[0].startswith(f"{BROWSER_COOKIE}=") and "HttpOnly" in first[0] and "SameSite=Lax" in first[0]
    assert "Secure" not in first[0]
    secure = app.server.test_client().get("/", base_url="https://localhost").headers.get_all("Set-Cookie")
    assert "Secure" in secure[0]
    one_analyst = make_app()  # on loopback, one scope for everybody: no cookie
    assert one_analyst.server.test_client().get("/").headers.get_all("Set-Cookie") == []


def test_a_new_tab_starts_with_its_visitors_most_recent_dataset_and_nobody_elses(app):
    alice, bob = Browser(app), Browser(app)
    alice.upload("first.json", records("first"))
    latest, _ = alice.upload("second.json", records("second"))
    started = alice.call(ids.START_DATASET_REQUEST, "data", 1, **{"stored-data__data": None})
    assert started.output(ids.STORED_DATA, "data")["dataset_id"] == latest["dataset_id"]
    kept = alice.call(ids.START_DATASET_REQUEST, "data", 1, **{"stored-data__data": {"dataset_id": "x"}})
    assert kept.status == 204, "a tab that keeps a dataset of its own keeps it"
    assert bob.call(ids.START_DATASET_REQUEST, "data", 1, **{"stored-data__data": None}).status == 204


def test_recent_datasets_lists_only_the_visitors_own(app):
    alice, bob = Browser(app), Browser(app)
    alice.upload("alice.json", records("alice"))
    bob.upload("bob.json", records("bob", 9))
    assert recent_names(alice) == ["alice.json (12 records)"]
    assert recent_names(bob) == ["bob.json (9 records)"]
    assert recent_names(Browser(app)) == []


def test_another_browsers_answer_and_loading_job_are_not_found(app, ollama_server):
    alice, bob = Browser(app), Browser(app)
    stored, job = alice.upload("alice.json", records("alice"))
    ollama_server.reply = ChatReply(pieces=[f"w{i} " for i in range(60)], delay=0.02)
    session = alice.send("List every name", stored)
    peek = bob.poll(ANSWER_POLL_PATH, {"seq": 1, "session": session, "offset": 0})
    assert peek.status_code == 404 and "w0" not in peek.get_data(as_text=True)
    assert bob.poll(INGEST_POLL_PATH, {"seq": 1, "job": job}).status_code == 404
    stopping = bob.call(ids.STOP_BUTTON, "n_clicks", 1,
                        **{"streaming-session-id__data": session, "streaming-active__data": True})
    assert stopping.status == 204, "a Stop of another browser's answer does nothing"
    assert alice.poll(INGEST_POLL_PATH, {"seq": 1, "job": job}).status_code == 200
    done = alice.final(session)
    assert done["fields"]["status"] == "done" and done["text"].startswith("w0 w1")


def test_a_dataset_id_the_visitor_may_not_use_is_not_found(app, ollama_server):
    alice, bob = Browser(app), Browser(app)
    stored, _ = alice.upload("alice.json", records("alice"))
    asked = len(ollama_server.chat_requests)
    refused = bob.final(bob.send("How many records are there?", stored))
    assert refused["fields"]["status"] == "error" and refused["fields"]["error"] == NOT_FOUND_MESSAGE
    assert "alice" not in json.dumps(refused)
    nothing = bob.final(bob.send("How many records are there?", None))
    assert nothing["fields"]["error"] == NO_DATASET_MESSAGE, "never the dataset loaded last, which is alice's"
    assert "alice" not in json.dumps(nothing) and stored["content_hash"] not in json.dumps(nothing)
    assert len(ollama_server.chat_requests) == asked, "the model was not asked"

    reopened = bob.call(ids.RECENT_DATASETS, "value", stored["dataset_id"])
    assert reopened.output(ids.STORED_DATA, "data") is None
    assert NOT_FOUND_MESSAGE in json.dumps(reopened.output(ids.DATA_MESSAGE, "children"))
    shown = bob.call(ids.STORED_DATA, "data", stored)
    assert shown.output(ids.RECORDS_TABLE, "rowData") == [] and "alice" not in shown.body.decode()
    record = bob.call(ids.SOURCE_REQUEST, "data", {"record": "$[0]"}, **{"stored-data__data": stored})
    assert "alice" not in record.body.decode()
    assert "alice-0" in json.dumps(alice.call(ids.STORED_DATA, "data", stored).output(ids.RECORDS_TABLE, "rowData"))


def test_a_dataset_shared_on_purpose_is_in_everyones_recent_list(app, ollama_server):
    alice, bob, carol = Browser(app), Browser(app), Browser(app)
    stored, _ = alice.upload("handbook.json", records("page"))
    assert bob.call(ids.SHARE_DATASET, "value", ["shared"], **{"stored-data__data": stored}).status == 204
    assert recent_names(bob) == []
    sharing = alice.call(ids.DATASET_SUMMARY, "children", [], **{"stored-data__data": stored})
    assert sharing.output(ids.SHARE_DATASET, "options")[0]["disabled"] is False
    shared = alice.call(ids.SHARE_DATASET, "value", ["shared"], **{"stored-data__data": stored})
    assert "shared with everyone" in json.dumps(shared.output(ids.DATA_MESSAGE, "children"))
    assert recent_names(bob) == ["handbook.json (12 records, shared)"]
    opened = bob.call(ids.RECENT_DATASETS, "value", stored["dataset_id"]).output(ids.STORED_DATA, "data")
    assert opened["dataset_id"] == stored["dataset_id"]
    sharing = bob.call(ids.DATASET_SUMMARY, "children", [], **{"stored-data__data": opened})
    assert sharing.output(ids.SHARE_DATASET, "options")[0]["disabled"] is True
    ollama_server.reply = ChatReply(pieces=["Twelve."])
    assert bob.final(bob.send("What is in the handbook?", opened))["fields"]["status"] == "done"
    alice.call(ids.SHARE_DATASET, "value", [], **{"stored-data__data": stored})
    assert recent_names(carol) == [], "no longer shared"
    assert recent_names(bob) == ["handbook.json (12 records)"], "bob opened it while it was shared"


def test_one_analyst_on_loopback_shares_one_scope_as_before(make_app):
    app = make_app()
    alice, bob = Browser(app), Browser(app)
    stored, job = alice.upload("notes.json", records("note"))
    assert recent_names(bob) == ["notes.json (12 records)"]
    assert stored["dataset_id"] in bob.layout()
    assert bob.poll(INGEST_POLL_PATH, {"seq": 1, "job": job}).status_code == 200


def test_the_access_records_are_kept_in_the_cache_folder_across_restarts(tmp_path):
    dataset = "0123456789abcdef0123456789abcdef-0123456789abcdef"
    first = DatasetAccess(JsonAccessBook(tmp_path / "access.json"))
    first.record("browser:a", dataset, loaded=True)
    first.record("browser:a", "../../etc/passwd", loaded=True)
    again = DatasetAccess(JsonAccessBook(tmp_path / "access.json"))
    assert again.may_use("browser:a", dataset) and not again.may_use("browser:b", dataset)
    assert [use.dataset_id for use in again.visible("browser:a")] == [dataset]
    assert again.share("browser:a", dataset, True) and first.may_use("browser:b", dataset), "read again when changed"
    assert (tmp_path / "access.json").stat().st_mode & 0o077 == 0, "readable by the app's user only"
    (tmp_path / "access.json").write_text("{not json")
    assert not DatasetAccess(JsonAccessBook(tmp_path / "access.json")).may_use("browser:a", dataset)


# ------------------------------------------------------------------------------------ sign-in
def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_with_a_users_file_only_signed_in_users_get_in_and_each_sees_only_their_own(make_app, tmp_path):
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"alice": "alice-pass", "bob": "bob-pass"}))
    app = make_app(auth={"users_file": str(users)})  # on loopback: sign-in alone isolates the users
    anonymous = app.server.test_client()
    for path in ("/", "/_dash-layout"):
        assert anonymous.get(path).status_code == 401
    assert anonymous.post("/" + ANSWER_POLL_PATH, json={"seq": 1, "session": "x", "offset": 0}).status_code == 401
    assert anonymous.get("/", headers=basic("alice", "bob-pass")).status_code == 401
    assert anonymous.get("/", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert anonymous.get("/healthz").status_code != 401

    alice, bob = Browser(app, basic("alice", "alice-pass")), Browser(app, basic("bob", "bob-pass"))
    assert alice.opened.status_code == 200 and alice.opened.headers.get_all("Set-Cookie") == []
    stored, job = alice.upload("alice.json", records("alice"))
    bob.upload("bob.json", records("bob", 9))
    assert recent_names(alice) == ["alice.json (12 records)"] and recent_names(bob) == ["bob.json (9 records)"]
    assert bob.poll(INGEST_POLL_PATH, {"seq": 1, "job": job}).status_code == 404
    elsewhere = Browser(app, basic("alice", "alice-pass"))  # alice on another browser: still alice
    assert recent_names(elsewhere) == ["alice.json (12 records)"]
    assert elsewhere.poll(INGEST_POLL_PATH, {"seq": 1, "job": job}).status_code == 200
    started = elsewhere.call(ids.START_DATASET_REQUEST, "data", 1, **{"stored-data__data": None})
    assert started.output(ids.STORED_DATA, "data")["dataset_id"] == stored["dataset_id"]


@pytest.mark.parametrize("content, expected", [
    (None, "cannot be read"),
    ("{nope", "is not valid JSON"),
    ('["alice"]', "must hold a JSON object"),
    ('{"alice": ""}', "must hold a JSON object"),
])
def test_a_users_file_that_cannot_be_used_is_a_clear_settings_error(make_app, tmp_path, content, expected):
    users = tmp_path / "users.json"
    if content is not None:
        users.write_text(content)
    with pytest.raises(ConfigError, match=f"auth.users_file {users}.* {expected}"):
        make_app(auth={"users_file": str(users)})


def test_with_a_trusted_header_the_header_names_the_scope(make_app):
    app = make_app(auth={"trusted_header": "X-Forwarded-User"})
    assert app.server.test_client().get("/").status_code == 401
    assert app.server.test_client().get("/_dash-layout").status_code == 401
    alice = Browser(app, {"X-Forwarded-User": "alice"})
    stored, _ = alice.upload("alice.json", records("alice"))
    assert recent_names(Browser(app, {"X-Forwarded-User": "alice"})) == ["alice.json (12 records)"]
    mallory = Browser(app, {"X-Forwarded-User": "mallory"})
    assert recent_names(mallory) == []
    assert mallory.final(mallory.send("Show everything", stored))["fields"]["error"] == NOT_FOUND_MESSAGE


# ------------------------------------------------------------------------------------ two workers
def test_on_two_workers_another_browsers_answer_is_not_found_on_either(redis_server, openai_server, tmp_path):
    config = team_config(
        tmp_path / "team.json", redis_url=redis_server.url, cache=tmp_path / "cache",
        llm={"backend": "openai", "base_url": openai_server.base_url, "model": "smollm2", "api_key_env": ""},
    )
    bodies = CallbackClient(create_app(engine=RAGEngine(apply_overrides(Settings(), {
        "cache": {"enabled": False}, "server": {"isolate_visitors": True}}, "bodies"))))
    deployment = Deployment(config, workers=2)
    deployment.start()
    alice, bob = requests.Session(), requests.Session()

    def post(browser: requests.Session, path: str, body: dict[str, Any]) -> requests.Response:
        return browser.post(deployment.url + path.lstrip("/"), json=body, timeout=30, headers={"Connection": "close"})

    try:
        for browser in (alice, bob):
            assert browser.get(deployment.url, timeout=30).cookies.get(BROWSER_COOKIE)
        job = post(alice, UPDATE_PATH, bodies.request_body(ids.LOAD_EXAMPLE_BUTTON, "n_clicks", 1, state={
            f"{ids.TAB_ID}.data": "alice-tab"})).json()["response"][ids.INGEST_JOB]["data"]
        for seq in range(1, 2000):
            reply = post(alice, INGEST_POLL_PATH, {"seq": seq, "job": job}).json()
            if reply["finished"]:
                stored = reply["stored_data"]
                break
            time.sleep(0.1)
        assert stored["name"] == "orders.json"
        openai_server.reply = ChatReply(pieces=[f"w{i} " for i in range(100)], delay=0.03)
        sent = post(alice, UPDATE_PATH, bodies.request_body(ids.SEND_BUTTON, "n_clicks", 1, state={
            f"{ids.CHAT_INPUT}.value": "Describe the orders", f"{ids.CHAT_HISTORY_STORE}.data": [],
            f"{ids.STREAMING_ACTIVE}.data": False, f"{ids.STORED_DATA}.data": stored, f"{ids.TAB_ID}.data": "alice-tab",
        })).json()
        session = sent["response"][ids.STREAMING_SESSION_ID]["data"]

        refused_by: set[str] = set()
        for seq in range(1, 60):
            peek = post(bob, ANSWER_POLL_PATH, {"seq": seq, "session": session, "offset": 0})
            assert peek.status_code == 404 and "w0" not in peek.text
            refused_by.add(peek.headers["X-Worker-Pid"])
            assert post(bob, INGEST_POLL_PATH, {"seq": seq, "job": job}).status_code == 404
            if len(refused_by) == 2:
                break
        assert len(refused_by) == 2, f"every poll landed on one worker: {refused_by}"
        recent = bodies.request_body(ids.DATA_MESSAGE, "children", [])
        assert post(bob, UPDATE_PATH, recent).json()["response"][ids.RECENT_DATASETS]["options"] == []
        listed = post(alice, UPDATE_PATH, recent).json()["response"][ids.RECENT_DATASETS]["options"]
        assert [option["value"] for option in listed] == [stored["dataset_id"]]
        for seq in range(1, 600):
            reply = post(alice, ANSWER_POLL_PATH, {"seq": seq, "session": session, "offset": 0})
            assert reply.status_code == 200
            if reply.json()["done"]:
                break
            time.sleep(0.05)
        assert reply.json()["fields"]["status"] == "done" and reply.json()["text"].startswith("w0 w1")
    finally:
        deployment.stop()
