"""The LLM planner and the clients' structured output: against the protocol servers, the real
llama.cpp server and the embedded model."""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from rag.analytics.errors import SpecError
from rag.analytics.llm_planner import (
    NOT_ANALYTIC,
    SCHEMA_NAME,
    parse_plan,
    plan_with_llm,
    planner_prompt,
    spec_json_schema,
)
from rag.analytics.plan import NOT_ANALYTIC as STATUS_NOT_ANALYTIC
from rag.analytics.plan import PLANNED, UNFILLED
from rag.analytics.spec import (
    AGGREGATIONS,
    DATE_PARTS,
    FILTER_OPS,
    ChildTable,
    ColumnInfo,
    Filter,
    GroupBy,
    QuerySpec,
    TableSchema,
)
from rag.analytics.validate import validate_spec
from rag.errors import HTTPStatusError, LLMError, LLMTimeoutError, ModelNotFoundError, ServerUnreachableError
from rag.llm import CancelToken, EmbeddedClient, LLMClient, OllamaClient, OpenAIClient, create_client
from rag.settings import LLMSettings
from tests.protocol_servers import LLAMA_SERVER_ALIAS, ChatReply, OllamaServer, OpenAIServer, free_port

CARS = TableSchema(
    record_count=406,
    columns={
        "Name": ColumnInfo("Name", "records", "text", values=("ford pinto", "toyota corolla"), present=406),
        "Miles_per_Gallon": ColumnInfo("Miles_per_Gallon", "records", "number", present=398, minimum=9.0, maximum=46.6),
        "Cylinders": ColumnInfo(
            "Cylinders", "records", "number", categorical=True, values=(4, 8, 6, 3, 5), minimum=3, maximum=8
        ),
        "Horsepower": ColumnInfo("Horsepower", "records", "number", present=400, minimum=46, maximum=230),
        "Origin": ColumnInfo("Origin", "records", "text", categorical=True, values=("USA", "Japan", "Europe")),
        "Year": ColumnInfo("Year", "records", "date", minimum=date(1970, 1, 1), maximum=date(1982, 1, 1)),
    },
    label_field="Name",
    dataset_name="cars",
)
ORDERS = TableSchema(
    record_count=12,
    columns={
        "order_id": ColumnInfo("order_id", "records", "text", values=("A-1", "A-2")),
        "customer.city": ColumnInfo("customer.city", "records", "text", categorical=True, values=("Lyon", "Oslo")),
        "items.category": ColumnInfo("items.category", "items", "text", categorical=True, values=("books", "toys")),
        "items.price": ColumnInfo("items.price", "items", "number", minimum=2.5, maximum=80.0),
    },
    children={"items": ChildTable("items", 30)},
)
QUESTION = "How many cars have 8 cylinders?"
VALID = {
    "aggregation": "count",
    "field": None,
    "filters": [{"field": "Cylinders", "op": "=", "value": "8"}],
    "group_by": None,
    "order": None,
    "limit": None,
    "fields": [],
}
UNKNOWN_FIELD = {**VALID, "filters": [{"field": "Cylindres", "op": "=", "value": 8}]}


def ollama_client(server: OllamaServer, **overrides: Any) -> OllamaClient:
    settings = LLMSettings(backend="ollama", base_url=server.url, model="llama3.2", connect_timeout=2, read_timeout=5)
    for key, value in overrides.items():
        setattr(settings, key, value)
    client = create_client(settings)
    assert isinstance(client, OllamaClient)
    return client


def openai_client(base_url: str, **overrides: Any) -> OpenAIClient:
    settings = LLMSettings(
        backend="openai", base_url=base_url, model="smollm2", connect_timeout=2, read_timeout=5, api_key_env=""
    )
    for key, value in overrides.items():
        setattr(settings, key, value)
    client = create_client(settings)
    assert isinstance(client, OpenAIClient)
    return client


def schema_problems(instance: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """What in ``instance`` breaks ``schema`` (the subset of JSON Schema that ``spec_json_schema`` uses)."""
    if "anyOf" in schema:
        if any(not schema_problems(instance, option, where) for option in schema["anyOf"]):
            return []
        return [f"{where}: {instance!r} matches no option"]
    kinds = {
        "object": dict,
        "array": list,
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "null": type(None),
    }
    kind = schema.get("type")
    if kind is not None:
        wrong_bool = isinstance(instance, bool) and kind in ("integer", "number")
        if not isinstance(instance, kinds[kind]) or wrong_bool:
            return [f"{where}: {instance!r} is not of type {kind}"]
    if "enum" in schema and instance not in schema["enum"]:
        return [f"{where}: {instance!r} is not one of {schema['enum']}"]
    problems: list[str] = []
    if isinstance(instance, str) and len(instance) > schema.get("maxLength", len(instance)):
        problems.append(f"{where}: longer than {schema['maxLength']}")
    if isinstance(instance, (int, float)) and not isinstance(instance, bool):
        if instance < schema.get("minimum", instance) or instance > schema.get("maximum", instance):
            problems.append(f"{where}: {instance} out of range")
    if isinstance(instance, list):
        if len(instance) > schema.get("maxItems", len(instance)):
            problems.append(f"{where}: more than {schema['maxItems']} items")
        for index, item in enumerate(instance):
            problems += schema_problems(item, schema.get("items", {}), f"{where}[{index}]")
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        problems += [f"{where}: {key} is missing" for key in schema.get("required", ()) if key not in instance]
        if schema.get("additionalProperties") is False:
            problems += [f"{where}: unexpected {key}" for key in instance if key not in properties]
        for key, value in instance.items():
            if key in properties:
                problems += schema_problems(value, properties[key], f"{where}.{key}")
    return problems


def enum_of(schema: dict[str, Any]) -> list[Any]:
    """The values an enum (or a nullable enum) allows; None stands for null."""
    if "anyOf" in schema:
        return [value for option in schema["anyOf"] for value in (enum_of(option) or [None])]
    return list(schema.get("enum", []))


# --- the schema --------------------------------------------------------------------------------------


def test_schema_enumerates_the_real_fields_and_operations() -> None:
    schema = spec_json_schema(CARS)
    props = schema["properties"]
    assert schema["additionalProperties"] is False and schema["required"] == list(props)
    assert enum_of(props["field"]) == [*CARS.columns, None]
    assert enum_of(props["aggregation"]) == [*AGGREGATIONS, NOT_ANALYTIC]
    a_filter = props["filters"]["items"]["properties"]
    assert enum_of(a_filter["field"]) == list(CARS.columns)
    assert enum_of(a_filter["op"]) == list(FILTER_OPS)
    group = props["group_by"]["anyOf"][0]["properties"]
    assert enum_of(group["field"]) == list(CARS.columns)
    assert enum_of(group["date_part"]) == [*DATE_PARTS, None]
    assert enum_of(props["order"]) == ["desc", "asc", None]
    assert "$ref" not in json.dumps(schema)

    assert not schema_problems(VALID, schema)
    expected = f"$.filters[0].field: 'Cylindres' is not one of {list(CARS.columns)}"
    assert schema_problems(UNKNOWN_FIELD, schema) == [expected]
    assert schema_problems({**VALID, "limit": 0}, schema)


def test_schema_of_nested_data_names_child_fields_and_tables() -> None:
    props = spec_json_schema(ORDERS)["properties"]
    assert enum_of(props["field"]) == ["order_id", "customer.city", "items.category", "items.price", "items", None]
    assert "items" not in enum_of(props["filters"]["items"]["properties"]["field"])
    prompt = planner_prompt(ORDERS)
    child = "items.category: text; in the child table items (one row per element, 30 rows); values: books, toys"
    assert child in prompt
    assert "a child table's name to count its rows" in prompt


def test_schema_compiles_to_a_llama_cpp_grammar_with_the_field_names() -> None:
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    text = json.dumps(spec_json_schema(CARS))
    grammar = json_schema_to_gbnf(text)  # llama-cpp-python falls back to any JSON when this fails: it must not
    for path in CARS.columns:
        assert f'"\\"{path}\\""' in grammar
    assert '"\\"Cylindres\\""' not in grammar
    LlamaGrammar.from_json_schema(text, verbose=False)


def test_prompt_describes_the_table() -> None:
    prompt = planner_prompt(CARS)
    assert 'The table "cars" has 406 records.' in prompt
    assert "- Origin: text; values: USA, Japan, Europe" in prompt
    assert "- Cylinders: number; values: 4, 8, 6, 3, 5" in prompt
    assert "- Horsepower: number; from 46 to 230" in prompt
    assert "- Year: date; from 1970-01-01 to 1982-01-01" in prompt
    assert "- Name: text; e.g. ford pinto, toyota corolla" in prompt
    assert '"value": "USA"' in prompt  # the example uses the dataset's own values


def test_parse_plan() -> None:
    assert parse_plan(json.dumps(VALID)) == QuerySpec("count", filters=(Filter("Cylinders", "=", "8"),))
    assert parse_plan(json.dumps({**VALID, "aggregation": NOT_ANALYTIC})) is None
    assert parse_plan('Here is the plan: {"aggregation": "mean", "field": "Horsepower", "group_by": {"field": '
                      '"Origin", "date_part": null}} Hope it helps') == QuerySpec(
        "mean", "Horsepower", group_by=GroupBy("Origin")
    )  # fmt: skip
    with pytest.raises(SpecError, match="not valid JSON"):
        parse_plan('{"aggregation": "count", "field": ')
    with pytest.raises(SpecError, match="not a JSON object"):
        parse_plan("[1, 2]")
    with pytest.raises(SpecError, match="bad shape"):
        parse_plan('{"field": "Horsepower"}')


# --- the planner over the protocol servers ------------------------------------------------------------


def test_ollama_request_carries_the_schema_and_a_valid_reply_is_planned(ollama_server: OllamaServer) -> None:
    ollama_server.reply = ChatReply(answers=[json.dumps(VALID)])
    outcome = plan_with_llm(QUESTION, CARS, ollama_client(ollama_server, num_ctx=4096), validate=validate_spec)

    assert outcome.status == PLANNED and outcome.plan is not None
    assert outcome.plan.spec == QuerySpec("count", filters=(Filter("Cylinders", "=", 8),))  # validated: 8 a number
    assert outcome.plan.planner == "llm"
    assert outcome.plan.assumptions == ("planned by the model llama3.2",)
    (request,) = ollama_server.chat_requests
    body = request.body
    assert body["format"] == spec_json_schema(CARS)
    assert enum_of(body["format"]["properties"]["field"]) == [*CARS.columns, None]
    assert body["stream"] is False
    assert body["options"]["temperature"] == 0 and body["options"]["num_ctx"] == 4096
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"] == planner_prompt(CARS)
    assert body["messages"][1]["content"] == QUESTION


def test_openai_request_carries_the_schema(openai_server: OpenAIServer) -> None:
    openai_server.reply = ChatReply(answers=[json.dumps(VALID)])
    outcome = plan_with_llm(QUESTION, CARS, openai_client(openai_server.base_url), validate=validate_spec)

    assert outcome.status == PLANNED
    (request,) = openai_server.chat_requests
    body = request.body
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "schema": spec_json_schema(CARS), "strict": True},
    }
    filters = body["response_format"]["json_schema"]["schema"]["properties"]["filters"]
    assert enum_of(filters["items"]["properties"]["field"]) == list(CARS.columns)
    assert body["stream"] is False and "stream_options" not in body
    assert body["temperature"] == 0 and body["model"] == "smollm2"


def test_an_invalid_reply_is_repaired_once(ollama_server: OllamaServer) -> None:
    bad = json.dumps(UNKNOWN_FIELD)
    ollama_server.reply = ChatReply(answers=[bad, json.dumps(VALID)])
    outcome = plan_with_llm(QUESTION, CARS, ollama_client(ollama_server), validate=validate_spec)

    assert outcome.status == PLANNED and outcome.plan is not None
    assert outcome.plan.spec.filters == (Filter("Cylinders", "=", 8),)
    first, second = (r.body for r in ollama_server.chat_requests)
    assert second["messages"][:2] == first["messages"]
    assert second["messages"][2] == {"role": "assistant", "content": bad}
    repair = second["messages"][3]
    assert repair["role"] == "user" and "Cylindres" in repair["content"] and "corrected JSON plan" in repair["content"]
    assert second["format"] == first["format"]


def test_invalid_twice_is_unfilled_with_the_reason(openai_server: OpenAIServer) -> None:
    openai_server.reply = ChatReply(answers=[json.dumps(UNKNOWN_FIELD), '{"aggregation": "count", "field": '])
    outcome = plan_with_llm(QUESTION, CARS, openai_client(openai_server.base_url), validate=validate_spec)

    assert outcome.status == UNFILLED and outcome.plan is None
    assert outcome.reason.startswith("the model smollm2 could not make a valid plan: the reply is not valid JSON")
    assert len(openai_server.chat_requests) == 2
    assert "Cylindres" in openai_server.chat_requests[1].body["messages"][-1]["content"]


def test_a_question_the_model_calls_not_analytic(ollama_server: OllamaServer) -> None:
    ollama_server.reply = ChatReply(answers=[json.dumps({**VALID, "aggregation": NOT_ANALYTIC})])
    outcome = plan_with_llm("Tell me about the ford pinto", CARS, ollama_client(ollama_server), validate=validate_spec)
    assert outcome.status == STATUS_NOT_ANALYTIC and outcome.plan is None
    assert len(ollama_server.chat_requests) == 1


def test_server_down_is_unfilled_not_raised() -> None:
    port = free_port()
    client = create_client(LLMSettings(backend="ollama", base_url=f"http://127.0.0.1:{port}", model="llama3.2"))
    outcome = plan_with_llm(QUESTION, CARS, client, validate=validate_spec)
    assert outcome.status == UNFILLED
    assert outcome.reason == (
        f"the model llama3.2 could not be asked for a plan: Ollama is not reachable at http://127.0.0.1:{port} "
        "— is `ollama serve` running?"
    )


def test_server_error_is_unfilled_without_a_retry(openai_server: OpenAIServer) -> None:
    openai_server.reply = ChatReply(status=503, error_message="the server is overloaded")
    outcome = plan_with_llm(QUESTION, CARS, openai_client(openai_server.base_url), validate=validate_spec)
    assert outcome.status == UNFILLED and "the server is overloaded" in outcome.reason
    assert len(openai_server.chat_requests) == 1


# --- complete_json: the clients' contract --------------------------------------------------------------

SCHEMA = spec_json_schema(CARS)
MESSAGES = [{"role": "system", "content": planner_prompt(CARS)}, {"role": "user", "content": QUESTION}]


def test_ollama_complete_json_returns_the_content(ollama_server: OllamaServer) -> None:
    ollama_server.reply = ChatReply(answers=['  {"aggregation": "count"}\n'])
    client = ollama_client(ollama_server, temperature=0.7, max_tokens=64)
    assert client.complete_json(MESSAGES, SCHEMA, max_tokens=123) == '{"aggregation": "count"}'
    options = ollama_server.chat_requests[0].body["options"]
    assert options["temperature"] == 0 and options["num_predict"] == 123


def test_openai_falls_back_to_the_json_object_form_when_refused(openai_server: OpenAIServer) -> None:
    openai_server.response_format_types = ("text", "json_object")
    openai_server.reply = ChatReply(answers=[json.dumps(VALID)])
    client = openai_client(openai_server.base_url)
    assert json.loads(client.complete_json(MESSAGES, SCHEMA, name="plan")) == VALID
    assert json.loads(client.complete_json(MESSAGES, SCHEMA)) == VALID

    formats = [r.body["response_format"] for r in openai_server.chat_requests]
    assert [f["type"] for f in formats] == ["json_schema", "json_object", "json_object"]  # remembered
    assert formats[0]["json_schema"]["name"] == "plan"
    assert formats[1] == {"type": "json_object", "schema": SCHEMA}


def test_complete_json_errors_are_typed(ollama_server: OllamaServer, openai_server: OpenAIServer) -> None:
    with pytest.raises(ModelNotFoundError) as missing:
        ollama_client(ollama_server, model="mistral").complete_json(MESSAGES, SCHEMA)
    assert missing.value.available == ollama_server.models

    openai_server.reply = ChatReply(status=500, error_message="llama runner process has terminated")
    with pytest.raises(HTTPStatusError) as status:
        openai_client(openai_server.base_url).complete_json(MESSAGES, SCHEMA)
    assert status.value.status == 500 and "llama runner process has terminated" in status.value.message
    assert len(openai_server.chat_requests) == 1  # not mistaken for a refused response_format

    ollama_server.reply = ChatReply(headers_delay=5)
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError) as timeout:
        ollama_client(ollama_server, read_timeout=0.5).complete_json(MESSAGES, SCHEMA)
    assert timeout.value.phase == "first_byte" and time.monotonic() - started < 3

    with pytest.raises(ServerUnreachableError):
        openai_client(f"http://127.0.0.1:{free_port()}/v1").complete_json(MESSAGES, SCHEMA)

    ollama_server.reply = ChatReply(answers=["   "])
    with pytest.raises(LLMError, match="empty answer"):
        ollama_client(ollama_server).complete_json(MESSAGES, SCHEMA)


def test_cancel_stops_the_request(ollama_server: OllamaServer) -> None:
    ollama_server.reply = ChatReply(headers_delay=8)
    token = CancelToken()
    threading.Timer(0.3, token.cancel).start()
    started = time.monotonic()
    with pytest.raises(LLMError, match="cancelled"):
        ollama_client(ollama_server, read_timeout=30).complete_json(MESSAGES, SCHEMA, cancel=token)
    assert time.monotonic() - started < 1.5
    assert ollama_server.wait_for_disconnect(2)

    ollama_server.reset()
    with pytest.raises(LLMError, match="cancelled"):
        ollama_client(ollama_server).complete_json(MESSAGES, SCHEMA, cancel=token)
    assert ollama_server.chat_requests == []


# --- the real llama.cpp server and the embedded model ---------------------------------------------------


def test_real_llama_server_enforces_the_schema(llama_server: str) -> None:
    seen: list[dict[str, Any]] = []
    settings = LLMSettings(
        backend="openai", base_url=llama_server, model=LLAMA_SERVER_ALIAS, read_timeout=120, api_key_env=""
    )
    client = create_client(settings, debug_hook=lambda kind, data: seen.append(data) if kind == "request" else None)

    reply = client.complete_json(MESSAGES, SCHEMA, max_tokens=300)
    data = json.loads(reply)
    assert schema_problems(data, SCHEMA) == []
    formats = [request["body"]["response_format"] for request in seen]
    # llama-cpp-python's server takes the schema only in its json_object form.
    assert formats[-1] == {"type": "json_object", "schema": SCHEMA}

    outcome = plan_with_llm("What is the average Horsepower of cars from Japan?", CARS, client, validate=validate_spec)
    assert outcome.status in (PLANNED, UNFILLED, STATUS_NOT_ANALYTIC)
    if outcome.status == PLANNED:
        assert outcome.plan is not None and outcome.plan.planner == "llm"
        assert validate_spec(outcome.plan.spec, CARS) == outcome.plan.spec
    if outcome.status == UNFILLED:
        assert outcome.reason.startswith("the model smollm2 could not make a valid plan")


def test_embedded_model_follows_the_schema(gguf_path: Path) -> None:
    client = create_client(LLMSettings(backend="embedded", model_path=str(gguf_path)))
    assert isinstance(client, EmbeddedClient)
    small = TableSchema(
        record_count=3,
        columns={
            "Origin": CARS.columns["Origin"],
            "Horsepower": CARS.columns["Horsepower"],
        },
    )
    schema = spec_json_schema(small)
    messages = [{"role": "system", "content": planner_prompt(small)}, {"role": "user", "content": QUESTION}]
    data = json.loads(client.complete_json(messages, schema, max_tokens=200))
    assert schema_problems(data, schema) == []

    token = CancelToken()
    token.cancel()
    with pytest.raises(LLMError, match="cancelled"):
        client.complete_json(messages, schema, cancel=token)


def test_a_backend_without_structured_output_is_unfilled() -> None:
    from tests.scripted_llm import ScriptedClient

    client: LLMClient = ScriptedClient()
    outcome = plan_with_llm(QUESTION, CARS, client, validate=validate_spec)
    assert outcome.status == UNFILLED and "cannot give structured" in outcome.reason
