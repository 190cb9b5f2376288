"""What reaches the app: the Host header (DNS rebinding), the bodies of callback requests, bad JSON files and
malformed answer ids, each refused with a one-line reason, never a 500 or an HTML page."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from app import create_app
from dashboard import ids
from tests.callback_client import UPDATE_PATH, CallbackClient
from dashboard.polling import ANSWER_POLL_PATH, INGEST_POLL_PATH, parse_ingest_request, parse_stream_request
from dashboard.request_guard import (
    HostPolicy,
    check_callback_body,
    host_name,
    value_rule,
)
from rag.cache import ResponseCache
from rag.engine import RAGEngine
from rag.errors import DataLoadError
from rag.loader import load_dataset
from rag.redis_buffer import RedisStreamBuffer, is_answer_id
from rag.settings import ServerSettings, Settings, apply_overrides
from tests.scripted_llm import ScriptedClient

PYTHON_TEXT = ("Traceback", "codec can't", "Expecting", "Exceeds the limit", "Error(", "line 1 column", "<html")


def make_engine(tmp_path: Any, **sections: dict[str, Any]) -> RAGEngine:
    overrides = {"cache": {"directory": str(tmp_path / "cache")}, **sections}
    settings = apply_overrides(Settings(), overrides, "test")
    client = ScriptedClient()
    return RAGEngine(settings, client_factory=lambda llm: client, cache=ResponseCache(None))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(engine=make_engine(tmp_path_factory.mktemp("guard")))


@pytest.fixture(scope="module")
def http(app):
    return app.server.test_client()


def server_callbacks(app) -> dict[str, dict[str, Any]]:
    app.server.test_client().get("/_dash-dependencies")  # Dash completes its callback map on the first request
    return {key: spec for key, spec in app.callback_map.items() if "callback" in spec}


def valid_body(app, key: str) -> dict[str, Any]:
    """The body the page posts for the callback ``key``, every value null (see ``CallbackClient``)."""
    spec = app.callback_map[key]
    first = spec["inputs"][0]
    if not spec.get("no_output"):
        return CallbackClient(app).request_body(first["id"], first["property"], None)
    return {  # a callback without outputs: the renderer names it by its key and sends no outputs
        "output": key,
        "outputs": [],
        "inputs": [{**i, "value": None} for i in spec["inputs"]],
        "state": [{**s, "value": None} for s in spec["state"]],
        "changedPropIds": [f"{first['id']}.{first['property']}"],
    }


def assert_refused(response, status: int = 400) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    message = response.get_json()["error"]
    assert isinstance(message, str) and message and "\n" not in message
    assert not any(text in message for text in PYTHON_TEXT), message
    return message


# ------------------------------------------------------------------------------------------------ Host header
def test_a_page_bound_to_loopback_answers_loopback_names_and_allowed_hosts_only():
    policy = HostPolicy.from_settings(ServerSettings(host="127.0.0.1", allowed_hosts=["Team.Example"]))
    for accepted in ("localhost", "localhost:8050", "127.0.0.1:8050", "[::1]:8050", "team.example", "TEAM.example:80"):
        assert policy.refusal(accepted) is None, accepted
    for refused in ("attacker.example", "attacker.example:8050", "127.0.0.1.attacker.example", "10.0.0.7"):
        assert "server.allowed_hosts" in policy.refusal(refused), refused
    for malformed in ("", "a b", "user@localhost", "localhost:port", "::1", "x" * 300, "localhost\r\nX: 1"):
        assert policy.refusal(malformed) == "Bad Host header.", malformed
    assert policy.refusal(None) is None, "no browser leaves Host out"
    assert host_name("[::1]:8050") == "::1" and host_name("LocalHost.:8050") == "localhost"


def test_a_page_bound_to_every_address_needs_allowed_hosts_to_check_names():
    open_to_all = HostPolicy.from_settings(ServerSettings(host="0.0.0.0"))
    assert open_to_all.any_host and open_to_all.refusal("attacker.example") is None
    named = HostPolicy.from_settings(ServerSettings(host="0.0.0.0", allowed_hosts=["chat.team.example"]))
    assert named.refusal("chat.team.example:443") is None and named.refusal("localhost") is None
    assert named.refusal("attacker.example") is not None and named.refusal("0.0.0.0") is not None
    everyone = HostPolicy.from_settings(ServerSettings(host="10.1.2.3", allowed_hosts=["*"]))
    assert everyone.any_host
    own_address = HostPolicy.from_settings(ServerSettings(host="10.1.2.3"))
    assert own_address.refusal("10.1.2.3:8050") is None and own_address.refusal("attacker.example") is not None


def test_a_rebinding_host_is_refused_over_http(app, http):
    assert_refused(http.get("/_dash-dependencies", headers={"Host": "attacker.example"}))
    assert_refused(http.get("/", headers={"Host": "attacker.example:8050"}))
    body = valid_body(app, next(iter(server_callbacks(app))))
    assert_refused(http.post(UPDATE_PATH, json=body, headers={"Host": "attacker.example"}))
    assert_refused(http.post("/" + ANSWER_POLL_PATH, json={"seq": 1, "session": "abc", "offset": 0},
                             headers={"Host": "attacker.example"}))
    assert http.get("/_dash-dependencies", headers={"Host": "localhost:8050"}).status_code == 200
    assert http.get("/_dash-dependencies", headers={"Host": "127.0.0.1:8050"}).status_code == 200
    assert http.get("/_dash-dependencies").status_code == 200, "the test client's own Host (localhost)"
    assert http.get("/healthz", headers={"Host": "10.0.0.5:8050"}).status_code in (200, 503), "probes by address"


def test_allowed_hosts_from_the_settings_are_served(tmp_path):
    engine = make_engine(tmp_path, server={"host": "127.0.0.1", "allowed_hosts": ["chat.team.example"]})
    http = create_app(engine=engine).server.test_client()
    assert http.get("/_dash-dependencies", headers={"Host": "chat.team.example:8050"}).status_code == 200
    assert_refused(http.get("/_dash-dependencies", headers={"Host": "other.example"}))


def test_every_address_without_allowed_hosts_is_served_with_a_warning(tmp_path, caplog):
    engine = make_engine(tmp_path, server={"host": "0.0.0.0"})
    with caplog.at_level(logging.WARNING, logger="dashboard.request_guard"):
        http = create_app(engine=engine).server.test_client()
    assert any("server.allowed_hosts" in record.getMessage() for record in caplog.records)
    assert http.get("/_dash-dependencies", headers={"Host": "anything.example"}).status_code == 200


# ------------------------------------------------------------------------------------------------ callback bodies
def structurally_broken_bodies(app) -> dict[str, Any]:
    callbacks = server_callbacks(app)
    key = next(k for k, spec in callbacks.items() if spec["inputs"][0]["id"] == ids.LOAD_EXAMPLE_BUTTON)
    body = valid_body(app, key)
    clientside = next(k for k, spec in app.callback_map.items() if "callback" not in spec)
    return {
        "a JSON array": [body],
        "a string": "output",
        "null": None,
        "no output": {k: v for k, v in body.items() if k != "output"},
        "an unknown output": {**body, "output": "nothing-here.children"},
        "an output that is a list": {**body, "output": [body["output"]]},
        "a browser-side callback's output": {**body, "output": clientside},
        "inputs not a list": {**body, "inputs": body["inputs"][0]},
        "inputs missing": {**body, "inputs": []},
        "an input of another component": {**body, "inputs": [{**body["inputs"][0], "id": ids.SEND_BUTTON}]},
        "an input that is a string": {**body, "inputs": ["load-example-button.n_clicks"]},
        "state not a list": {**body, "state": {"id": ids.TAB_ID, "property": "data"}},
        "outputs of another callback": {**body, "outputs": [{"id": ids.CHAT_NOTICE, "property": "children"}]},
        "outputs not a list": {**body, "outputs": "ingest-job.data"},
        "changedPropIds not a list": {**body, "changedPropIds": "load-example-button.n_clicks"},
        "changedPropIds naming no input": {**body, "changedPropIds": ['{"bad.n_clicks']},
    }


def test_structurally_broken_callback_bodies_are_refused_with_one_line(app, http):
    for name, body in structurally_broken_bodies(app).items():
        response = http.post(UPDATE_PATH, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 400, f"{name}: {response.status_code}"
        assert_refused(response)
    assert_refused(http.post(UPDATE_PATH, data=b'{"output": ', content_type="application/json"))
    assert_refused(http.post(UPDATE_PATH, data=b"\xff\xfe", content_type="application/json"))
    assert_refused(http.post(UPDATE_PATH, data=b"output=x", content_type="application/x-www-form-urlencoded"))
    for key in server_callbacks(app):  # the same bodies, unbroken (every value null), are answered
        response = http.post(UPDATE_PATH, json=valid_body(app, key))
        assert response.status_code in (200, 204), f"{key[:60]}: {response.status_code}"


WRONG_VALUES = ({"x": 1}, [1, 2], "text", 1.5, True, -3, [{"id": "x:y"}], {"id": None})


def test_wrong_typed_values_of_every_input_and_state_are_refused(app, http):
    """Every input and state of every callback has a rule (a new callback's inputs get theirs in
    ``dashboard.request_guard``); each wrong value is refused, and the right shape with null values passes."""
    refused = 0
    for key, spec in server_callbacks(app).items():
        base = valid_body(app, key)
        check_callback_body(base, app.callback_map)
        for field in ("inputs", "state"):
            for index, dependency in enumerate(spec[field]):
                rule = value_rule(dependency["id"], dependency["property"])
                name = f"{dependency['id']}.{dependency['property']}"
                assert rule is not None, f"{name} of {key[:40]} has no rule"
                for value in WRONG_VALUES:
                    if rule is None or rule.check(value):
                        continue  # this value is one the property may hold
                    body = json.loads(json.dumps(base))
                    body[field][index]["value"] = value
                    response = http.post(UPDATE_PATH, json=body)
                    message = assert_refused(response)
                    assert message.startswith(f"bad value for {name}:"), message
                    refused += 1
    assert refused > 100


def test_the_attackers_values_for_the_example_button(app, http):
    client = CallbackClient(app)
    for value in ({"a": 1}, "1", [1], 1.0, True):
        body = client.request_body(ids.LOAD_EXAMPLE_BUTTON, "n_clicks", value)
        assert "load-example-button.n_clicks" in assert_refused(http.post(UPDATE_PATH, json=body))


def test_stored_turns_of_the_wrong_shape_are_refused(app, http):
    client = CallbackClient(app)
    turn = {"id": "0f" * 16, "question": "q", "answer": "a", "status": "done", "sources": [], "meta": {}}
    for turns in ([1, 2], [turn, "x"], [{**turn, "meta": []}], [{**turn, "sources": [1]}], [{**turn, "id": "a:b"}],
                  [{**turn, "question": {"q": 1}}], [{**turn, "computed": "x"}], [{**turn, "meta": {"notes": 5}}],
                  [{**turn, "meta": {"settings": [1]}}], [{**turn, "sources": [{"label": {"a": 1}}]}],
                  [{**turn, "computed": {"rows": 1.5}}], [{k: v for k, v in turn.items() if k != "question"}]):
        body = client.request_body(ids.HISTORY_RESTORE_REQUEST, "data", turns)
        assert "history-restore-request.data" in assert_refused(http.post(UPDATE_PATH, json=body))
        body = client.request_body(ids.EXPORT_MD_BUTTON, "n_clicks", 1, state={f"{ids.CHAT_HISTORY_STORE}.data": turns})
        assert "chat-history-store.data" in assert_refused(http.post(UPDATE_PATH, json=body))
    restored = client.call(ids.HISTORY_RESTORE_REQUEST, "data", [turn])
    assert restored.status == 200, "a turn as the page keeps it"


def test_a_body_sent_as_text_is_read_as_the_page_sends_it(app, http):
    body = valid_body(app, next(k for k in server_callbacks(app) if k.startswith("recent-datasets.options")))
    response = http.post(UPDATE_PATH, data=json.dumps(body), content_type="text/plain")
    assert response.status_code == 200


def test_a_callback_that_fails_answers_one_json_line_not_an_html_page(tmp_path):
    app = create_app(engine=make_engine(tmp_path))

    def broken() -> str:
        raise RuntimeError("secret detail of a bug")

    app.server.add_url_rule("/broken", "broken", broken)
    response = app.server.test_client().get("/broken")
    message = assert_refused(response, 500)
    assert "secret detail" not in message and "RuntimeError" not in message


# ------------------------------------------------------------------------------------------------ bad JSON files
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'[\n  {"a": 1},\n  {"name": "x\\ud800y"}\n]', "line 3, column 14: a lone surrogate (\\ud800)"),
        (b'[{"a": "\\udc00"}]', "line 1, column 9: a lone surrogate (\\udc00)"),
        (b'[{"\\ud83d": 1}]', "line 1, column 4: a lone surrogate (\\ud83d)"),
        (b'[{"a": "\\ud800\\ud800"}]', "line 1, column 9: a lone surrogate"),
        (b'[{"a": 1}, {"b": 2', "line 1, column 19: the text ends before the JSON is complete"),
        (b'[{"a": 1}] trailing', "line 1, column 12: more data follows a complete JSON value"),
        (b'[\n  {"a" 2}\n]', "line 2, column 8: a colon (:) was expected"),
        (b'[{"a": "\\x"}]', "line 1, column 9: a backslash escape that JSON does not have"),
        (b"[" + b"9" * 5000 + b"]", "line 1, column 2: a number with more than"),
    ],
)
def test_bad_json_is_one_line_in_our_words(content: bytes, expected: str):
    with pytest.raises(DataLoadError) as caught:
        load_dataset(content, name="cars.json")
    message = str(caught.value)
    assert message.startswith("cars.json: ") and expected in message, message
    assert "\n" not in message and not any(text in message for text in PYTHON_TEXT), message


def test_bad_json_lines_and_parsed_objects_are_one_line_too():
    with pytest.raises(DataLoadError, match=r"^rows.jsonl: invalid JSON Lines: line 2, column 8: a lone surrogate"):
        load_dataset(b'{"a": 1}\n{"a": "\\udfff"}\n', name="rows.jsonl")
    with pytest.raises(DataLoadError, match=r"^data: .*a lone surrogate \(\\ud800\)"):
        load_dataset([{"a": "\ud800"}])
    with pytest.raises(DataLoadError, match=r"^data: .*a key is not a string"):
        load_dataset([{(1, 2): 1}])
    (record,) = load_dataset(b'[{"a": "\\ud83d\\ude00", "b": "\\\\ud800", "c": "\\\\\\ud83d\\ude00"}]').records
    assert record.data == {"a": "😀", "b": "\\ud800", "c": "\\😀"}, "pairs and escaped backslashes still load"


def test_a_lone_surrogate_uploaded_through_the_page_is_reported_in_one_line(tmp_path):
    from dashboard.data_flow import ingest_view

    engine = make_engine(tmp_path)
    app = create_app(engine=engine)
    client = CallbackClient(app)
    import base64

    contents = "data:application/json;base64," + base64.b64encode(b'[{"a": "\\ud800"}]').decode()
    response = client.call(ids.UPLOAD_GATE, "data", {"filename": "cars.json", "at": 1}, state={
        f"{ids.UPLOAD}.contents": contents, f"{ids.UPLOAD}.filename": "cars.json", f"{ids.TAB_ID}.data": "t1",
    })
    assert response.status == 200
    job = response.output(ids.INGEST_JOB, "data")
    from dashboard.callbacks import _registry_for

    finished = _registry_for(engine).wait(job, timeout=30)
    from plotly.io.json import to_json_plotly

    message = to_json_plotly(ingest_view(finished).message)
    assert "a lone surrogate" in message and not any(text in message for text in PYTHON_TEXT)


# ------------------------------------------------------------------------------------------------ answer ids
MALFORMED_IDS = ("abc:text", "*", "x" * 10_000, "", "a b", "../a", "abc\n", 7, None, ["abc"])


def test_answer_and_job_ids_are_checked_when_a_poll_is_read():
    for session in MALFORMED_IDS:
        assert parse_stream_request({"seq": 1, "session": session, "offset": 0}) is None, session
        assert parse_ingest_request({"seq": 1, "job": session}) is None, session
        assert not is_answer_id(session)
    assert parse_stream_request({"seq": 1, "session": "0f" * 16, "offset": 0}).session == "0f" * 16
    assert parse_stream_request({"seq": 1, "session": "s1", "offset": 0, "hold_ms": 10**400}).hold_ms == 1000
    assert parse_stream_request({"seq": True, "session": "s1", "offset": 0}) is None


def test_polls_for_malformed_ids_are_refused_in_memory_mode(http):
    for session in MALFORMED_IDS:
        assert_refused(http.post("/" + ANSWER_POLL_PATH, json={"seq": 1, "session": session, "offset": 0}))
        assert_refused(http.post("/" + INGEST_POLL_PATH, json={"seq": 1, "job": session}))


@pytest.fixture
def redis_app(redis_server, tmp_path):
    engine = make_engine(tmp_path, state={"backend": "redis", "redis_url": redis_server.url})
    return create_app(engine=engine), RedisStreamBuffer.from_url(redis_server.url)


def test_polls_for_malformed_ids_in_redis_mode_are_400_never_503(redis_app):
    app, buffer = redis_app
    buffer.start("abc", question="q")
    buffer.append("abc", "some text")  # rag:answer:abc:text exists, and is no answer
    buffer.append_thinking("abc", "hmm")
    http = app.server.test_client()
    for session in ("abc:text", "abc:thinking", "*", "abc*", "x" * 10_000, "a\x00b"):
        response = http.post("/" + ANSWER_POLL_PATH, json={"seq": 1, "session": session, "offset": 0})
        assert response.status_code == 400, (session[:20], response.status_code)
        assert_refused(response)
        assert_refused(http.post("/" + INGEST_POLL_PATH, json={"seq": 1, "job": session}))
    unknown = http.post("/" + ANSWER_POLL_PATH, json={"seq": 1, "session": "no-such-answer", "offset": 0})
    assert unknown.status_code in (200, 404), "an unknown well-formed id is not found (interrupted), never 503"
    known = http.post("/" + ANSWER_POLL_PATH, json={"seq": 1, "session": "abc", "offset": 0, "hold_ms": 0})
    assert known.status_code == 200 and known.get_json()["text"] == "some text"


def test_the_redis_buffer_builds_no_key_from_a_malformed_id(redis_server):
    buffer = RedisStreamBuffer.from_url(redis_server.url)
    buffer.start("abc")
    buffer.append("abc", "text")
    assert buffer.read("abc:text", 0) is None and buffer.thinking("abc:text") == ""
    assert buffer.wait_for_change("abc:text", 1, timeout=5) is True
    assert buffer.stops_requested(["abc:text", "*", "abc"]) == set()
    buffer.request_stop("abc:text")
    buffer.heartbeat(["abc:text", "abc"])
    buffer.discard("abc:*")
    assert buffer.read("abc", 0).text == "text"
    with pytest.raises(ValueError, match="not an answer id"):
        buffer.start("abc:text")


def test_a_stop_for_a_malformed_answer_id_is_refused_before_redis(redis_app):
    app, _ = redis_app
    client = CallbackClient(app)
    body = client.request_body(ids.STOP_BUTTON, "n_clicks", 1, state={
        f"{ids.STREAMING_SESSION_ID}.data": "abc:text", f"{ids.STREAMING_ACTIVE}.data": True,
    })
    assert "streaming-session-id.data" in assert_refused(app.server.test_client().post(UPDATE_PATH, json=body))
