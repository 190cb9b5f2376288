"""How fast do we turn a token stream into chunks, next to the official ``ollama`` and ``openai`` clients?

A recorded stream of 50,000 tokens is built in both wire formats (Ollama NDJSON chat lines and
OpenAI ``chat.completion.chunk`` SSE events) and cut into network-sized pieces (64 to 1460 bytes,
one TCP segment at most). Two comparisons, each best of ``--repeats`` runs:

1. in-process, no sockets: our decoder + JSON parse + ``Chunk`` objects, against the real
   ``ollama.Client`` and ``openai.OpenAI`` driven through an httpx ``MockTransport`` that serves the
   same pieces (their whole parsing path: line decoding, ``json.loads``, their pydantic types);
2. end to end over loopback HTTP: our ``OllamaClient`` / ``OpenAIClient`` and the official clients,
   all streaming from the same local server that writes the same pieces with chunked encoding.

Every run's assembled text is checked against the recorded one. Run: ``python bench/bench_decoders.py``.
"""

from __future__ import annotations

import argparse
from importlib import metadata
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402  (the ollama client's HTTP library)
import httpx2  # noqa: E402  (the openai client's HTTP library)
import ollama  # noqa: E402
import openai  # noqa: E402

from rag.llm import Chunk, OllamaClient, OpenAIClient  # noqa: E402
from rag.llm.decoders import NDJSONDecoder, SSEDecoder  # noqa: E402
from rag.settings import LLMSettings  # noqa: E402

MODEL = "bench-model"
MESSAGES = [{"role": "user", "content": "Tell me everything."}]
WORDS = ["the", " record", " says", " population", " 1,234", " é", " 日本", " données", "\n", " —", " 🦙", " $[42]", "."]


def token_pieces(count: int, rng: random.Random) -> list[str]:
    return [rng.choice(WORDS) for _ in range(count)]


def ollama_recording(pieces: list[str]) -> bytes:
    created = "2025-01-01T00:00:00.000000Z"
    lines = [
        {"model": MODEL, "created_at": created, "message": {"role": "assistant", "content": piece}, "done": False}
        for piece in pieces
    ]
    lines.append(
        {
            "model": MODEL, "created_at": created, "message": {"role": "assistant", "content": ""}, "done": True,
            "done_reason": "stop", "total_duration": 9_000_000_000, "load_duration": 1_000_000,
            "prompt_eval_count": 20, "prompt_eval_duration": 1_000_000, "eval_count": len(pieces),
            "eval_duration": 8_000_000_000,
        }
    )  # fmt: skip
    return b"".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for line in lines)


def openai_recording(pieces: list[str]) -> bytes:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": MODEL,
            "system_fingerprint": "fp_bench"}  # fmt: skip

    def event(choices: list, **extra: object) -> bytes:
        return b"data: " + json.dumps({**base, "choices": choices, **extra}, ensure_ascii=False).encode() + b"\n\n"

    def delta(content: dict, finish: str | None = None) -> list:
        return [{"index": 0, "delta": content, "logprobs": None, "finish_reason": finish}]

    events = [event(delta({"role": "assistant", "content": ""}))]
    events += [event(delta({"content": piece})) for piece in pieces]
    events.append(event(delta({}, "stop")))
    usage = {"prompt_tokens": 20, "completion_tokens": len(pieces), "total_tokens": 20 + len(pieces)}
    events.append(event([], usage=usage))
    events.append(b"data: [DONE]\n\n")
    return b"".join(events)


def network_pieces(data: bytes, rng: random.Random, low: int = 64, high: int = 1460) -> list[bytes]:
    pieces, position = [], 0
    while position < len(data):
        size = rng.randint(low, high)
        pieces.append(data[position : position + size])
        position += size
    return pieces


# --- in-process -------------------------------------------------------------------------------


def ours_ndjson(pieces: list[bytes]) -> str:
    """Our decoder and the per-line work of OllamaClient: JSON to Chunk."""
    decoder = NDJSONDecoder()
    chunks: list[Chunk] = []
    for data in pieces:
        for line in decoder.feed(data):
            message = line.get("message") or {}
            text = message.get("content") or ""
            thinking = message.get("thinking") or ""
            if text or thinking:
                chunks.append(Chunk(text=text, thinking=thinking))
    return "".join(c.text for c in chunks)


def ours_sse(pieces: list[bytes]) -> str:
    """Our decoder and the per-event work of OpenAIClient: JSON to Chunk."""
    decoder = SSEDecoder()
    chunks: list[Chunk] = []
    for data in pieces:
        for event in decoder.feed(data):
            payload = event.payload
            if event.done or not isinstance(payload, dict):
                continue
            for choice in payload.get("choices") or ():
                delta = choice.get("delta") or {}
                text = delta.get("content") or ""
                thinking = delta.get("reasoning_content") or delta.get("reasoning") or ""
                if text or thinking:
                    chunks.append(Chunk(text=text, thinking=thinking))
    return "".join(c.text for c in chunks)


def official_ollama_mock(pieces: list[bytes]) -> str:
    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/x-ndjson"}, content=iter(pieces))

    client = ollama.Client(host="http://127.0.0.1:11434", transport=httpx.MockTransport(serve))
    return "".join(part.message.content or "" for part in client.chat(model=MODEL, messages=MESSAGES, stream=True))


def official_openai_mock(pieces: list[bytes]) -> str:
    def serve(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=iter(pieces))

    client = openai.OpenAI(
        api_key="sk-bench",
        base_url="http://127.0.0.1:8000/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(serve)),
    )
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


# --- loopback HTTP ------------------------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    """Clients dropping idle keep-alive connections at the end of a run are not errors."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class RecordingServer:
    """Serves the recorded pieces at /api/chat and /v1/chat/completions, one chunked write per piece."""

    def __init__(self, ndjson: list[bytes], sse: list[bytes]) -> None:
        routes = {"/api/chat": ("application/x-ndjson", ndjson), "/v1/chat/completions": ("text/event-stream", sse)}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                content_type, pieces = routes[self.path]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                write = self.wfile.write
                for data in pieces:
                    write(b"%x\r\n%s\r\n" % (len(data), data))
                write(b"0\r\n\r\n")

        self._httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def ours_ollama_http(url: str) -> str:
    client = OllamaClient(LLMSettings(backend="ollama", base_url=url, model=MODEL))
    return "".join(chunk.text for chunk in client.generate_stream(MESSAGES))


def ours_openai_http(url: str) -> str:
    client = OpenAIClient(LLMSettings(backend="openai", base_url=url + "/v1", model=MODEL, api_key="sk-bench"))
    return "".join(chunk.text for chunk in client.generate_stream(MESSAGES))


def official_ollama_http(url: str) -> str:
    client = ollama.Client(host=url)
    return "".join(part.message.content or "" for part in client.chat(model=MODEL, messages=MESSAGES, stream=True))


def official_openai_http(url: str) -> str:
    client = openai.OpenAI(api_key="sk-bench", base_url=url + "/v1")
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


# --- timing -------------------------------------------------------------------------------------


def best_time(run: Callable[[], str], expected: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        text = run()
        elapsed = time.perf_counter() - started
        if text != expected:
            raise SystemExit(f"{run} assembled a different text ({len(text)} vs {len(expected)} characters)")
        best = min(best, elapsed)
    return best


def report(title: str, count: int, ours: float, theirs: float, their_name: str) -> None:
    print(f"  ours            {ours:8.3f} s  {count / ours:12,.0f} chunks/s")
    print(f"  {their_name:<15} {theirs:8.3f} s  {count / theirs:12,.0f} chunks/s")
    print(f"  ratio ours/theirs (chunks/s): {theirs / ours:.2f}x  [{title}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--chunks", type=int, default=50_000, help="tokens in the recorded stream")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (the best is kept)")
    args = parser.parse_args()

    rng = random.Random(2024)
    tokens = token_pieces(args.chunks, rng)
    expected = "".join(tokens)
    ndjson = network_pieces(ollama_recording(tokens), rng)
    sse = network_pieces(openai_recording(tokens), rng)
    print(f"recorded stream: {args.chunks:,} tokens; NDJSON {sum(map(len, ndjson)):,} bytes in {len(ndjson):,} reads, "
          f"SSE {sum(map(len, sse)):,} bytes in {len(sse):,} reads; best of {args.repeats}")  # fmt: skip
    print(f"ollama {metadata.version('ollama')}, openai {metadata.version('openai')}, python {sys.version.split()[0]}")

    print("\nNDJSON (Ollama), in-process, no sockets")
    ours = best_time(lambda: ours_ndjson(ndjson), expected, args.repeats)
    theirs = best_time(lambda: official_ollama_mock(ndjson), expected, args.repeats)
    report("NDJSON in-process", args.chunks, ours, theirs, "ollama.Client")

    print("\nSSE (OpenAI-compatible), in-process, no sockets")
    ours = best_time(lambda: ours_sse(sse), expected, args.repeats)
    theirs = best_time(lambda: official_openai_mock(sse), expected, args.repeats)
    report("SSE in-process", args.chunks, ours, theirs, "openai.OpenAI")

    server = RecordingServer(ndjson, sse)
    try:
        print("\nNDJSON (Ollama), full clients over loopback HTTP")
        ours = best_time(lambda: ours_ollama_http(server.url), expected, args.repeats)
        theirs = best_time(lambda: official_ollama_http(server.url), expected, args.repeats)
        report("Ollama over HTTP", args.chunks, ours, theirs, "ollama.Client")

        print("\nSSE (OpenAI-compatible), full clients over loopback HTTP")
        ours = best_time(lambda: ours_openai_http(server.url), expected, args.repeats)
        theirs = best_time(lambda: official_openai_http(server.url), expected, args.repeats)
        report("OpenAI over HTTP", args.chunks, ours, theirs, "openai.OpenAI")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
