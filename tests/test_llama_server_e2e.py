"""OpenAIClient against a real OpenAI-compatible server: llama-cpp-python's, serving SmolLM2."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import requests

from rag.llm import CancelToken, Chunk, OpenAIClient, create_client
from rag.settings import LLMSettings
from tests.protocol_servers import LLAMA_SERVER_ALIAS

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a short story about a llama who learns to read."},
]


def client_for(base_url: str, **overrides) -> OpenAIClient:
    settings = LLMSettings(
        backend="openai", base_url=base_url, model=LLAMA_SERVER_ALIAS, temperature=0.0, seed=1, max_tokens=24,
        read_timeout=60, api_key_env="",
    )  # fmt: skip
    for key, value in overrides.items():
        setattr(settings, key, value)
    client = create_client(settings)
    assert isinstance(client, OpenAIClient)
    return client


def test_streams_from_the_real_server(llama_server: str) -> None:
    chunks = list(client_for(llama_server).generate_stream(MESSAGES))
    text = "".join(c.text for c in chunks)
    assert len(chunks) > 5 and text.strip()
    metrics = chunks[-1].metrics
    assert metrics is not None and metrics.finish_reason in ("stop", "length")
    assert metrics.time_to_first_token is not None and metrics.time_to_first_token < metrics.total_duration

    # The same request without streaming: same greedy answer, and the server's own token count.
    answer = requests.post(
        f"{llama_server}/chat/completions",
        json={"model": LLAMA_SERVER_ALIAS, "messages": MESSAGES, "temperature": 0.0, "seed": 1, "max_tokens": 24},
        timeout=60,
    ).json()
    assert text == answer["choices"][0]["message"]["content"]
    usage = answer["usage"]
    if metrics.source == "server":  # a server that honours stream_options.include_usage
        assert metrics.prompt_tokens == usage["prompt_tokens"]
        assert metrics.completion_tokens == usage["completion_tokens"]
    else:  # llama-cpp-python ignores it: one streamed piece per token
        assert metrics.completion_tokens == usage["completion_tokens"]


def test_list_models_and_check(llama_server: str) -> None:
    client = client_for(llama_server)
    assert LLAMA_SERVER_ALIAS in client.list_models()
    status = client.check()
    assert status.ok, status.message


def _server_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


def test_cancel_stops_the_server_generating(llama_server: str, llama_server_pid: int) -> None:
    client = client_for(llama_server, max_tokens=1500)
    token = CancelToken()
    chunks: list[Chunk] = []
    for chunk in client.generate_stream(MESSAGES, cancel=token):
        chunks.append(chunk)
        if len(chunks) == 3:
            threading.Thread(target=token.cancel).start()
    metrics = chunks[-1].metrics
    assert metrics is not None and metrics.finish_reason == "cancelled"
    assert metrics.completion_tokens is not None and metrics.completion_tokens < 20

    # The server notices the closed connection at its next token and stops: its CPU goes idle,
    # where finishing 1500 tokens would keep it busy for many seconds.
    time.sleep(1.0)
    before = _server_cpu_seconds(llama_server_pid)
    time.sleep(1.5)
    assert _server_cpu_seconds(llama_server_pid) - before < 0.3

    # And it answers the next request at once.
    follow_up = list(client_for(llama_server, max_tokens=4).generate_stream(MESSAGES))
    assert follow_up[-1].metrics is not None and follow_up[-1].metrics.time_to_first_token < 5
