"""OpenAIClient against a real local HTTP server speaking the OpenAI-compatible SSE API."""

from __future__ import annotations

import threading
import time

import pytest

from rag.errors import (
    HTTPStatusError,
    LLMError,
    LLMTimeoutError,
    ModelNotFoundError,
    ServerUnreachableError,
    StreamInterruptedError,
)
from rag.llm import CancelToken, Chunk, OpenAIClient, create_client
from rag.settings import LLMSettings
from tests.protocol_servers import ChatReply, OpenAIServer, free_port

MESSAGES = [
    {"role": "system", "content": "Answer from the records."},
    {"role": "user", "content": "What is the answer?"},
]


def client_for(server: OpenAIServer, **overrides) -> OpenAIClient:
    settings = LLMSettings(
        backend="openai", base_url=server.base_url, model="smollm2", connect_timeout=2, read_timeout=5, api_key_env=""
    )
    for key, value in overrides.items():
        setattr(settings, key, value)
    client = create_client(settings)
    assert isinstance(client, OpenAIClient)
    return client


def collect(stream) -> tuple[list[Chunk], LLMError | None]:
    chunks: list[Chunk] = []
    try:
        for chunk in stream:
            chunks.append(chunk)
    except LLMError as exc:
        return chunks, exc
    return chunks, None


def text_of(chunks: list[Chunk]) -> str:
    return "".join(c.text for c in chunks)


def test_streams_the_answer_with_the_server_usage(openai_server: OpenAIServer) -> None:
    reply = openai_server.reply = ChatReply(delay=0.01)
    chunks = list(client_for(openai_server).generate_stream(MESSAGES))

    # The keep-alive comment, the role-only first chunk, the finish chunk and the usage chunk yield no text.
    assert [c.text for c in chunks[:-1]] == reply.pieces
    metrics = chunks[-1].metrics
    assert metrics is not None
    assert metrics.source == "server"
    assert metrics.model == "smollm2"
    assert metrics.prompt_tokens == reply.prompt_tokens
    assert metrics.completion_tokens == len(reply.pieces)
    assert metrics.finish_reason == "stop"
    assert metrics.time_to_first_token is not None and metrics.time_to_first_token <= metrics.total_duration
    # No server durations in this API: speed is tokens over the time after the first token.
    expected_speed = len(reply.pieces) / (metrics.total_duration - metrics.time_to_first_token)
    assert metrics.tokens_per_second == pytest.approx(expected_speed, rel=0.05)

    body = openai_server.chat_requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "smollm2" and body["messages"] == MESSAGES
    assert body["max_tokens"] == 512 and body["temperature"] == 0.2


def test_without_usage_the_pieces_are_counted(openai_server: OpenAIServer) -> None:
    reply = openai_server.reply = ChatReply(send_usage=False, finish_reason="length")
    metrics = list(client_for(openai_server).generate_stream(MESSAGES, max_tokens=10, seed=5, stop="END"))[-1].metrics
    assert metrics is not None
    assert metrics.source == "measured"
    assert metrics.completion_tokens == len(reply.pieces)
    assert metrics.prompt_tokens is None
    assert metrics.finish_reason == "length"
    body = openai_server.chat_requests[0].body
    assert (body["max_tokens"], body["seed"], body["stop"]) == (10, 5, ["END"])


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_goes_to_thinking_never_to_text(openai_server: OpenAIServer, field: str) -> None:
    reply = openai_server.reply = ChatReply(thinking=["Record 3", " has it."], reasoning_field=field)
    chunks = list(client_for(openai_server).generate_stream(MESSAGES))
    assert "".join(c.thinking for c in chunks) == "Record 3 has it."
    assert text_of(chunks) == "".join(reply.pieces)


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_each_event_is_delivered_as_soon_as_it_arrives(openai_server: OpenAIServer, framing: str) -> None:
    openai_server.reply = ChatReply(pieces=["first", " second", " third"], delay=0.6, framing=framing)
    started = time.monotonic()
    arrivals = [time.monotonic() - started for _ in client_for(openai_server).generate_stream(MESSAGES)]
    assert arrivals[0] < 0.4
    assert arrivals[1] - arrivals[0] > 0.4


def test_model_defaults_to_the_servers_first_model(openai_server: OpenAIServer) -> None:
    client = client_for(openai_server, model=None)
    list(client.generate_stream(MESSAGES))
    assert openai_server.chat_requests[0].body["model"] == openai_server.models[0]
    assert client.model == openai_server.models[0]


def test_unknown_model_lists_the_available_ones(openai_server: OpenAIServer) -> None:
    _, error = collect(client_for(openai_server, model="gpt-9").generate_stream(MESSAGES))
    assert isinstance(error, ModelNotFoundError)
    assert error.model == "gpt-9"
    assert error.available == openai_server.models
    assert all(name in error.message for name in openai_server.models)


def test_wrong_base_url_is_explained(openai_server: OpenAIServer) -> None:
    client = client_for(openai_server, base_url=openai_server.url)  # without /v1
    _, error = collect(client.generate_stream(MESSAGES))
    assert isinstance(error, HTTPStatusError) and error.status == 404
    assert "/v1" in error.message


def test_api_key_is_sent_as_bearer(openai_server: OpenAIServer) -> None:
    openai_server.api_key = "sk-test-0123456789abcdef"
    reply = openai_server.reply
    chunks = list(client_for(openai_server, api_key="sk-test-0123456789abcdef").generate_stream(MESSAGES))
    assert text_of(chunks) == "".join(reply.pieces)
    assert openai_server.chat_requests[0].headers["authorization"] == "Bearer sk-test-0123456789abcdef"


def test_api_key_from_the_environment(openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    openai_server.api_key = "sk-from-env-000000000000"
    monkeypatch.setenv("MY_LLM_KEY", "sk-from-env-000000000000")
    assert client_for(openai_server, api_key_env="MY_LLM_KEY").list_models() == openai_server.models


def test_rejected_api_key(openai_server: OpenAIServer) -> None:
    openai_server.api_key = "sk-right-key-0000000000"
    client = client_for(openai_server, api_key="sk-wrong-key-1111111111")
    _, error = collect(client.generate_stream(MESSAGES))
    assert isinstance(error, HTTPStatusError) and error.status == 401
    assert "API key" in error.message and "llm.api_key" in error.message
    status = client.check()
    assert not status.ok and "API key" in status.message


def test_server_error_status(openai_server: OpenAIServer) -> None:
    openai_server.reply = ChatReply(status=503, error_message="the server is overloaded")
    _, error = collect(client_for(openai_server).generate_stream(MESSAGES))
    assert isinstance(error, HTTPStatusError) and error.status == 503
    assert "the server is overloaded" in error.message


def test_error_event_mid_stream_keeps_the_partial_text(openai_server: OpenAIServer) -> None:
    reply = openai_server.reply = ChatReply(error_after=3, error_message="CUDA out of memory")
    chunks, error = collect(client_for(openai_server).generate_stream(MESSAGES))
    assert isinstance(error, StreamInterruptedError)
    assert "CUDA out of memory" in error.message
    assert error.partial_text == "".join(reply.pieces[:3]) == text_of(chunks)


def test_stream_closed_without_done_or_finish_reason(openai_server: OpenAIServer) -> None:
    reply = openai_server.reply = ChatReply(truncate_after=4)
    _, error = collect(client_for(openai_server).generate_stream(MESSAGES))
    assert isinstance(error, StreamInterruptedError)
    assert "closed mid-stream" in error.message
    assert error.partial_text == "".join(reply.pieces[:4])


def test_dropped_connection_keeps_the_partial_text(openai_server: OpenAIServer) -> None:
    reply = openai_server.reply = ChatReply(drop_after=6)
    _, error = collect(client_for(openai_server).generate_stream(MESSAGES))
    assert isinstance(error, StreamInterruptedError)
    assert error.partial_text == "".join(reply.pieces[:6])


def test_stall_before_the_first_byte(openai_server: OpenAIServer) -> None:
    openai_server.reply = ChatReply(headers_delay=5)
    _, error = collect(client_for(openai_server, read_timeout=0.5).generate_stream(MESSAGES))
    assert isinstance(error, LLMTimeoutError) and error.phase == "first_byte"
    assert openai_server.wait_for_disconnect(3)


def test_stall_mid_stream(openai_server: OpenAIServer) -> None:
    reply = openai_server.reply = ChatReply(stall_after=2, stall_seconds=5)
    _, error = collect(client_for(openai_server, read_timeout=0.5).generate_stream(MESSAGES))
    assert isinstance(error, LLMTimeoutError) and error.phase == "read"
    assert error.partial_text == "".join(reply.pieces[:2])


def test_closed_port_is_unreachable_with_a_friendly_message() -> None:
    port = free_port()
    client = create_client(LLMSettings(backend="openai", base_url=f"http://127.0.0.1:{port}/v1", model="m"))
    _, error = collect(client.generate_stream(MESSAGES))
    assert isinstance(error, ServerUnreachableError)
    expected = f"The OpenAI-compatible server is not reachable at http://127.0.0.1:{port}/v1 — is it running?"
    assert error.message == expected
    assert not client.check().ok


def test_malformed_event_is_skipped(openai_server: OpenAIServer) -> None:
    reply = openai_server.reply = ChatReply(garbage_line=True)
    assert text_of(list(client_for(openai_server).generate_stream(MESSAGES))) == "".join(reply.pieces)


def test_cancel_from_another_thread_closes_the_connection(openai_server: OpenAIServer) -> None:
    reply = openai_server.reply = ChatReply(pieces=[f" w{i}" for i in range(60)], delay=0.05)
    token = CancelToken()
    chunks: list[Chunk] = []
    for chunk in client_for(openai_server).generate_stream(MESSAGES, cancel=token):
        chunks.append(chunk)
        if len(chunks) == 3:
            threading.Thread(target=token.cancel).start()
    assert openai_server.wait_for_disconnect(2)
    assert openai_server.pieces_sent < len(reply.pieces)
    assert chunks[-1].metrics is not None and chunks[-1].metrics.finish_reason == "cancelled"
    assert len(chunks) - 1 < len(reply.pieces)


def test_list_models_check_and_context_window(openai_server: OpenAIServer) -> None:
    client = client_for(openai_server)
    assert client.list_models() == openai_server.models
    status = client.check()
    assert status.ok and status.models == openai_server.models
    assert client.context_window() is None  # this server does not report one
    status = client_for(openai_server, model="absent").check()
    assert not status.ok and "absent" in status.message


def test_debug_hook_masks_the_api_key(openai_server: OpenAIServer) -> None:
    openai_server.api_key = "sk-secret-abcdefghijklmnop"
    seen: list[tuple[str, object]] = []
    settings = LLMSettings(
        backend="openai", base_url=openai_server.base_url, model="smollm2", api_key="sk-secret-abcdefghijklmnop"
    )
    client = create_client(settings, debug_hook=lambda kind, payload: seen.append((kind, payload)))
    list(client.generate_stream(MESSAGES))
    request = seen[0][1]
    assert seen[0][0] == "request" and isinstance(request, dict)
    assert "sk-secret" not in repr(seen)
    assert request["headers"]["Authorization"].endswith("mnop")
    events = [payload for kind, payload in seen if kind == "event"]
    assert events[0] == ": keep-alive" and events[-1] == "data: [DONE]"
