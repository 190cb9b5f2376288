"""OllamaClient against a real local HTTP server speaking Ollama's API."""

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
from rag.llm import CancelToken, Chunk, OllamaClient, create_client
from rag.llm.ollama import OLLAMA_DEFAULT_NUM_CTX
from rag.settings import LLMSettings
from tests.protocol_servers import ChatReply, OllamaServer, free_port, unanswered_port

MESSAGES = [
    {"role": "system", "content": "Answer from the records."},
    {"role": "user", "content": "What is the answer?"},
]


def client_for(server: OllamaServer, **overrides) -> OllamaClient:
    settings = LLMSettings(backend="ollama", base_url=server.url, model="llama3.2", connect_timeout=2, read_timeout=5)
    for key, value in overrides.items():
        setattr(settings, key, value)
    client = create_client(settings)
    assert isinstance(client, OllamaClient)
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


def consume_and_cancel(
    stream, token: CancelToken, *, after_chunks: int, cancel_delay: float = 0.0
) -> tuple[list[Chunk], float]:
    """Read ``stream`` here while another thread cancels it after ``after_chunks`` chunks;
    returns the chunks and the seconds between the cancel and the end of the stream."""
    reached = threading.Event()
    cancelled_at: list[float] = []

    def canceller() -> None:
        reached.wait(10)
        time.sleep(cancel_delay)
        cancelled_at.append(time.monotonic())
        token.cancel()

    thread = threading.Thread(target=canceller)
    thread.start()
    chunks: list[Chunk] = []
    for chunk in stream:
        chunks.append(chunk)
        if len(chunks) == after_chunks:
            reached.set()
    ended = time.monotonic()
    reached.set()
    thread.join()
    return chunks, ended - cancelled_at[0]


def test_streams_the_answer_with_the_server_metrics(ollama_server: OllamaServer) -> None:
    reply = ollama_server.reply = ChatReply(delay=0.01)
    started = time.perf_counter()
    chunks = list(client_for(ollama_server).generate_stream(MESSAGES))
    elapsed = time.perf_counter() - started

    assert [c.text for c in chunks[:-1]] == reply.pieces
    assert all(c.metrics is None for c in chunks[:-1])
    metrics = chunks[-1].metrics
    assert chunks[-1].text == "" and metrics is not None
    assert metrics.source == "server"
    assert metrics.model == "llama3.2"
    assert metrics.finish_reason == "stop"
    assert metrics.prompt_tokens == reply.prompt_tokens
    assert metrics.completion_tokens == len(reply.pieces)
    assert metrics.total_duration == pytest.approx(reply.total_duration_ns / 1e9)
    assert metrics.tokens_per_second == pytest.approx(len(reply.pieces) / (reply.eval_duration_ns / 1e9))
    assert metrics.time_to_first_token is not None and 0 < metrics.time_to_first_token < elapsed
    assert metrics.warnings == ()
    assert metrics.to_dict()["completion_tokens"] == len(reply.pieces)


def test_request_carries_the_settings_and_per_call_overrides(ollama_server: OllamaServer) -> None:
    client = client_for(ollama_server, temperature=0.1, max_tokens=64, num_ctx=4096, seed=3, keep_alive="10m")
    list(client.generate_stream(MESSAGES))
    list(client.generate_stream(MESSAGES, temperature=0.9, max_tokens=8, stop=["\n\n"], num_ctx=8192))

    first, second = (r.body for r in ollama_server.chat_requests)
    assert first["model"] == "llama3.2" and first["stream"] is True and first["messages"] == MESSAGES
    assert first["keep_alive"] == "10m"
    assert first["options"] == {"temperature": 0.1, "num_predict": 64, "num_ctx": 4096, "seed": 3}
    assert second["options"] == {"temperature": 0.9, "num_predict": 8, "num_ctx": 8192, "seed": 3, "stop": ["\n\n"]}


def test_unknown_option_is_refused(ollama_server: OllamaServer) -> None:
    with pytest.raises(TypeError, match="tempreature"):
        list(client_for(ollama_server).generate_stream(MESSAGES, tempreature=0.5))


def test_thinking_is_kept_apart_from_the_answer(ollama_server: OllamaServer) -> None:
    reply = ollama_server.reply = ChatReply(thinking=["Let me look", " at record 3."], delay=0.01)
    chunks = list(client_for(ollama_server).generate_stream(MESSAGES, think=True))

    assert "".join(c.thinking for c in chunks) == "Let me look at record 3."
    assert text_of(chunks) == "".join(reply.pieces)
    assert ollama_server.chat_requests[0].body["think"] is True


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_each_line_is_delivered_as_soon_as_it_arrives(ollama_server: OllamaServer, framing: str) -> None:
    ollama_server.reply = ChatReply(pieces=["first", " second", " third"], delay=0.6, framing=framing)
    started = time.monotonic()
    arrivals = [time.monotonic() - started for _ in client_for(ollama_server).generate_stream(MESSAGES)]
    assert arrivals[0] < 0.4  # not held back until more bytes come
    assert arrivals[1] - arrivals[0] > 0.4


def test_unknown_model_lists_the_available_ones(ollama_server: OllamaServer) -> None:
    chunks, error = collect(client_for(ollama_server, model="mistral").generate_stream(MESSAGES))
    assert chunks == []
    assert isinstance(error, ModelNotFoundError)
    assert error.model == "mistral"
    assert error.available == ollama_server.models
    for name in ollama_server.models:
        assert name in error.message


def test_server_error_status(ollama_server: OllamaServer) -> None:
    ollama_server.reply = ChatReply(status=500, error_message="llama runner process has terminated")
    _, error = collect(client_for(ollama_server).generate_stream(MESSAGES))
    assert isinstance(error, HTTPStatusError)
    assert error.status == 500
    assert "llama runner process has terminated" in error.message


def test_error_line_mid_stream_keeps_the_partial_text(ollama_server: OllamaServer) -> None:
    reply = ollama_server.reply = ChatReply(
        error_after=4, error_message="an error was encountered while running the model"
    )
    chunks, error = collect(client_for(ollama_server).generate_stream(MESSAGES))
    assert isinstance(error, StreamInterruptedError)
    assert "an error was encountered while running the model" in error.message
    assert error.partial_text == "".join(reply.pieces[:4]) == text_of(chunks)


def test_stall_before_the_first_byte_times_out_with_a_hint(ollama_server: OllamaServer) -> None:
    ollama_server.reply = ChatReply(headers_delay=5)
    started = time.monotonic()
    _, error = collect(client_for(ollama_server, read_timeout=0.5).generate_stream(MESSAGES))
    assert isinstance(error, LLMTimeoutError)
    assert error.phase == "first_byte"
    assert "loading" in error.message and "read_timeout" in error.message
    assert isinstance(error.__cause__, Exception)
    assert time.monotonic() - started < 3
    assert ollama_server.wait_for_disconnect(3)


def test_stall_mid_stream_times_out_keeping_the_partial_text(ollama_server: OllamaServer) -> None:
    reply = ollama_server.reply = ChatReply(stall_after=3, stall_seconds=5)
    chunks, error = collect(client_for(ollama_server, read_timeout=0.5).generate_stream(MESSAGES))
    assert isinstance(error, LLMTimeoutError)
    assert error.phase == "read"
    assert error.partial_text == "".join(reply.pieces[:3]) == text_of(chunks)


def test_dropped_connection_keeps_the_partial_text(ollama_server: OllamaServer) -> None:
    reply = ollama_server.reply = ChatReply(drop_after=5)
    chunks, error = collect(client_for(ollama_server).generate_stream(MESSAGES))
    assert isinstance(error, StreamInterruptedError)
    assert error.partial_text == "".join(reply.pieces[:5]) == text_of(chunks)
    assert error.__cause__ is not None


def test_stream_ending_without_the_final_line_is_an_interruption(ollama_server: OllamaServer) -> None:
    reply = ollama_server.reply = ChatReply(truncate_after=2)
    _, error = collect(client_for(ollama_server).generate_stream(MESSAGES))
    assert isinstance(error, StreamInterruptedError)
    assert "closed mid-stream" in error.message
    assert error.partial_text == "".join(reply.pieces[:2])


def test_closed_port_is_unreachable_with_a_friendly_message() -> None:
    port = free_port()
    client = create_client(LLMSettings(backend="ollama", base_url=f"http://127.0.0.1:{port}", model="llama3.2"))
    _, error = collect(client.generate_stream(MESSAGES))
    assert isinstance(error, ServerUnreachableError)
    assert error.message == f"Ollama is not reachable at http://127.0.0.1:{port} — is `ollama serve` running?"
    assert error.__cause__ is not None
    status = client.check()
    assert not status.ok and status.message == error.message


def test_connect_timeout() -> None:
    with unanswered_port() as port:
        settings = LLMSettings(backend="ollama", base_url=f"http://127.0.0.1:{port}", model="llama3.2", connect_timeout=0.3)
        started = time.monotonic()
        _, error = collect(create_client(settings).generate_stream(MESSAGES))
    assert isinstance(error, LLMTimeoutError)
    assert error.phase == "connect" and "llm.connect_timeout" in error.message
    assert time.monotonic() - started < 3


def test_malformed_line_is_skipped(ollama_server: OllamaServer) -> None:
    reply = ollama_server.reply = ChatReply(garbage_line=True)
    chunks = list(client_for(ollama_server).generate_stream(MESSAGES))
    assert text_of(chunks) == "".join(reply.pieces)


def test_cancel_from_another_thread_closes_the_connection(ollama_server: OllamaServer) -> None:
    reply = ollama_server.reply = ChatReply(pieces=[f" w{i}" for i in range(60)], delay=0.05)
    token = CancelToken()
    stream = client_for(ollama_server).generate_stream(MESSAGES, cancel=token)
    chunks, seconds_to_stop = consume_and_cancel(stream, token, after_chunks=3)

    assert ollama_server.wait_for_disconnect(2)
    assert ollama_server.pieces_sent < len(reply.pieces)
    assert chunks[-1].metrics is not None and chunks[-1].metrics.finish_reason == "cancelled"
    assert chunks[-1].metrics.source == "measured"
    assert 3 <= len(chunks) - 1 < len(reply.pieces)
    assert seconds_to_stop < 1


def test_cancel_wakes_a_read_blocked_on_a_silent_server(ollama_server: OllamaServer) -> None:
    ollama_server.reply = ChatReply(stall_after=2, stall_seconds=8)
    token = CancelToken()
    stream = client_for(ollama_server, read_timeout=30).generate_stream(MESSAGES, cancel=token)
    chunks, seconds_to_stop = consume_and_cancel(stream, token, after_chunks=2, cancel_delay=0.3)
    assert chunks[-1].metrics is not None and chunks[-1].metrics.finish_reason == "cancelled"
    assert seconds_to_stop < 1
    assert ollama_server.wait_for_disconnect(2)


def test_cancel_while_the_model_loads(ollama_server: OllamaServer) -> None:
    ollama_server.reply = ChatReply(headers_delay=8)
    token = CancelToken()
    threading.Timer(0.3, token.cancel).start()
    started = time.monotonic()
    chunks = list(client_for(ollama_server, read_timeout=30).generate_stream(MESSAGES, cancel=token))
    assert time.monotonic() - started < 1.5
    assert len(chunks) == 1 and chunks[0].metrics is not None and chunks[0].metrics.finish_reason == "cancelled"
    assert chunks[0].metrics.time_to_first_token is None
    assert ollama_server.wait_for_disconnect(2)


def test_cancelled_before_start_sends_nothing(ollama_server: OllamaServer) -> None:
    token = CancelToken()
    token.cancel()
    chunks = list(client_for(ollama_server).generate_stream(MESSAGES, cancel=token))
    assert [c.metrics.finish_reason for c in chunks if c.metrics] == ["cancelled"]
    assert ollama_server.chat_requests == []


def test_consumer_that_stops_early_closes_the_connection(ollama_server: OllamaServer) -> None:
    ollama_server.reply = ChatReply(pieces=[f" w{i}" for i in range(60)], delay=0.05)
    stream = client_for(ollama_server).generate_stream(MESSAGES)
    assert next(stream).text == " w0"
    stream.close()
    assert ollama_server.wait_for_disconnect(2)


def test_warns_when_the_prompt_nearly_fills_the_context(ollama_server: OllamaServer) -> None:
    ollama_server.reply = ChatReply(prompt_tokens=1990)
    metrics = list(client_for(ollama_server, num_ctx=2048).generate_stream(MESSAGES))[-1].metrics
    assert metrics is not None and len(metrics.warnings) == 1
    assert "1990 of 2048" in metrics.warnings[0] and "num_ctx" in metrics.warnings[0]

    ollama_server.reply = ChatReply(prompt_tokens=1990)
    metrics = list(client_for(ollama_server, num_ctx=None).generate_stream(MESSAGES))[-1].metrics
    assert metrics is not None and f"of {OLLAMA_DEFAULT_NUM_CTX}" in metrics.warnings[0]

    ollama_server.reply = ChatReply(prompt_tokens=500)
    metrics = list(client_for(ollama_server, num_ctx=2048).generate_stream(MESSAGES))[-1].metrics
    assert metrics is not None and metrics.warnings == ()


def test_list_models_and_context_window(ollama_server: OllamaServer) -> None:
    assert client_for(ollama_server).list_models() == ollama_server.models
    trained = ollama_server.context_length
    assert client_for(ollama_server, num_ctx=4096).context_window() == 4096
    assert client_for(ollama_server, num_ctx=trained * 2).context_window() == trained
    assert client_for(ollama_server, num_ctx=None).context_window() == min(OLLAMA_DEFAULT_NUM_CTX, trained)
    assert client_for(ollama_server, model="missing", num_ctx=4096).context_window() == 4096
    assert [r.body for r in ollama_server.requests if r.path == "/api/show"][0] == {"model": "llama3.2"}


def test_check(ollama_server: OllamaServer) -> None:
    status = client_for(ollama_server).check()
    assert status.ok and status.models == ollama_server.models
    status = client_for(ollama_server, model="phi4").check()
    assert not status.ok and "phi4" in status.message and "llama3.2:latest" in status.message


def test_debug_hook_sees_the_request_and_every_raw_line(ollama_server: OllamaServer) -> None:
    reply = ollama_server.reply = ChatReply()
    seen: list[tuple[str, object]] = []
    client = create_client(
        LLMSettings(backend="ollama", base_url=ollama_server.url, model="llama3.2"),
        debug_hook=lambda kind, payload: seen.append((kind, payload)),
    )
    list(client.generate_stream(MESSAGES))
    kinds = [kind for kind, _ in seen]
    assert kinds == ["request"] + ["event"] * (len(reply.pieces) + 1)
    request = seen[0][1]
    assert isinstance(request, dict) and request["url"] == f"{ollama_server.url}/api/chat"
    assert request["body"]["messages"] == MESSAGES
    assert '"done": true' in str(seen[-1][1])
