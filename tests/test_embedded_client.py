"""EmbeddedClient really generating with the bundled SmolLM2-135M-Instruct."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from rag.errors import LLMError
from rag.llm import CancelToken, Chunk, EmbeddedClient, create_client
from rag.settings import LLMSettings

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a short story about a llama who learns to read."},
]
MAX_TOKENS = 24


@pytest.fixture(scope="module")
def client(gguf_path: Path) -> EmbeddedClient:
    settings = LLMSettings(
        backend="embedded", model_path=str(gguf_path), max_tokens=MAX_TOKENS, temperature=0.0, seed=1
    )
    embedded = create_client(settings)
    assert isinstance(embedded, EmbeddedClient)
    return embedded


def test_generates_text_with_measured_metrics(client: EmbeddedClient) -> None:
    started = time.perf_counter()
    chunks = list(client.generate_stream(MESSAGES))
    elapsed = time.perf_counter() - started

    text = "".join(c.text for c in chunks)
    assert len(chunks) > 5 and text.strip()
    metrics = chunks[-1].metrics
    assert metrics is not None and all(c.metrics is None for c in chunks[:-1])
    assert metrics.source == "measured"
    assert metrics.finish_reason in ("stop", "length")
    assert 0 < metrics.completion_tokens <= MAX_TOKENS
    llama = client._load()
    assert metrics.completion_tokens == len(llama.tokenize(text.encode(), add_bos=False, special=False))
    # The prompt count is llama.cpp's own (its non-streaming answer reports it in "usage").
    content_tokens = sum(len(llama.tokenize(m["content"].encode(), add_bos=False)) for m in MESSAGES)
    usage = llama.create_chat_completion(messages=MESSAGES, max_tokens=1)["usage"]
    assert metrics.prompt_tokens == usage["prompt_tokens"] > content_tokens
    assert metrics.time_to_first_token is not None
    assert 0 < metrics.time_to_first_token < metrics.total_duration <= elapsed
    assert metrics.tokens_per_second is not None and metrics.tokens_per_second > 1
    assert metrics.model == client.model


def test_same_seed_and_zero_temperature_repeat_the_answer(client: EmbeddedClient) -> None:
    first = "".join(c.text for c in client.generate_stream(MESSAGES, max_tokens=12))
    second = "".join(c.text for c in client.generate_stream(MESSAGES, max_tokens=12))
    assert first == second and first


def test_a_started_reply_is_continued_not_answered_again(client: EmbeddedClient) -> None:
    started = "Once upon a time, a llama named Lulu"
    messages = [*MESSAGES, {"role": "assistant", "content": started}]
    llama = client._load()
    tokens, stop = client._started_reply(llama, messages)
    prompt = llama.detokenize(tokens, special=True).decode()
    assert prompt.endswith("<|im_start|>assistant\n" + started) and "<|im_end|>" in stop
    assert prompt.count("<|im_start|>assistant") == 1  # the started reply is not closed as a turn
    continued = "".join(c.text for c in client.generate_stream(messages, max_tokens=12))
    fresh = "".join(c.text for c in client.generate_stream(MESSAGES, max_tokens=12))
    assert continued.strip() and continued != fresh
    assert not continued.lstrip().startswith("Once upon a time")


def test_max_tokens_override_stops_with_length(client: EmbeddedClient) -> None:
    metrics = list(client.generate_stream(MESSAGES, max_tokens=4))[-1].metrics
    assert metrics is not None and metrics.finish_reason == "length" and metrics.completion_tokens <= 4


def test_cancel_from_another_thread(client: EmbeddedClient) -> None:
    token = CancelToken()
    chunks: list[Chunk] = []
    for chunk in client.generate_stream(MESSAGES, cancel=token, max_tokens=200):
        chunks.append(chunk)
        if len(chunks) == 3:
            thread = threading.Thread(target=token.cancel)
            thread.start()
            thread.join()
    metrics = chunks[-1].metrics
    assert metrics is not None and metrics.finish_reason == "cancelled"
    assert metrics.completion_tokens is not None and metrics.completion_tokens < 10
    # The model is free again: the cancelled generation released it.
    assert "".join(c.text for c in client.generate_stream(MESSAGES, max_tokens=4))


def test_generations_from_two_threads_take_turns(client: EmbeddedClient) -> None:
    results: dict[int, str] = {}

    def generate(index: int) -> None:
        results[index] = "".join(c.text for c in client.generate_stream(MESSAGES, max_tokens=8))

    threads = [threading.Thread(target=generate, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results[0] == results[1] and results[0]


def test_prompt_larger_than_the_context_is_a_clear_error(gguf_path: Path) -> None:
    small = create_client(LLMSettings(backend="embedded", model_path=str(gguf_path), num_ctx=256, max_tokens=8))
    long_messages = [{"role": "user", "content": "record " * 400}]
    with pytest.raises(LLMError, match="does not fit"):
        list(small.generate_stream(long_messages))


def test_check_list_models_and_context_window(client: EmbeddedClient, tmp_path: Path) -> None:
    status = client.check()
    assert status.ok and status.models == [client.model] == client.list_models()
    assert client.context_window() == 4096

    missing = create_client(LLMSettings(backend="embedded", model_path=str(tmp_path / "nope.gguf")))
    status = missing.check()
    assert not status.ok and "nope.gguf" in status.message
    with pytest.raises(LLMError, match="does not exist"):
        list(missing.generate_stream(MESSAGES))

    not_a_model = tmp_path / "broken.gguf"
    not_a_model.write_bytes(b"this is not a GGUF file")
    status = create_client(LLMSettings(backend="embedded", model_path=str(not_a_model))).check()
    assert not status.ok and "is not a GGUF model file" in status.message

    # The right magic but a broken body: check() does not load it; the first question says why it fails.
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(b"GGUF" + b"\x00" * 64)
    broken = create_client(LLMSettings(backend="embedded", model_path=str(truncated)))
    assert broken.check().ok
    with pytest.raises(LLMError, match="could not load the model file"):
        list(broken.generate_stream(MESSAGES))
