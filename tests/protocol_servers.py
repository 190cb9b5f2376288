"""Real HTTP servers on 127.0.0.1 that speak Ollama's API and the OpenAI-compatible API.

They follow the wire formats byte for byte (see shared/PROTOCOLS.md): NDJSON lines or SSE events
written one at a time with HTTP/1.1 chunked encoding (or close-delimited framing), Ollama's final
``done`` line with nanosecond durations, OpenAI's role-only first chunk, keep-alive comments,
``finish_reason`` chunk, usage chunk and ``[DONE]``. A test scripts the next answer through
``server.reply`` (a ``ChatReply``) to make the server fail in the ways real servers do: an HTTP
error status, an error line or event mid-stream, a stall longer than the client's timeout, a
dropped connection. The server notices when the client goes away (``wait_for_disconnect``).
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

LLAMA_SERVER_ALIAS = "smollm2"
"""The model name under which the real llama.cpp server of the ``llama_server`` fixture serves SmolLM2."""
DEFAULT_PIECES = ("The", " answer", " is", " forty", "-two", ", as", " record", " $[3]", " says", ".")


@dataclass
class ChatReply:
    """How the server answers the next chat requests."""

    pieces: list[str] = field(default_factory=lambda: list(DEFAULT_PIECES))
    """Answer text, one piece per line/event."""
    thinking: list[str] = field(default_factory=list)
    """Reasoning pieces, sent before the answer."""
    delay: float = 0.0
    """Seconds between two lines/events."""
    headers_delay: float = 0.0
    """Seconds of silence before the response headers (a model being loaded)."""
    status: int = 200
    """A status >= 400 answers with ``error_message`` in the server's error body instead of streaming."""
    error_message: str = "something went wrong"
    error_after: int | None = None
    """After this many pieces, send an error line/event and end the stream."""
    drop_after: int | None = None
    """After this many pieces, close the connection abruptly (chunked encoding left unfinished)."""
    stall_after: int | None = None
    """After this many pieces, go silent for ``stall_seconds`` (then give up quietly)."""
    stall_seconds: float = 3.0
    truncate_after: int | None = None
    """After this many pieces, end the body cleanly but without the final line / finish / [DONE]."""
    framing: str = "chunked"
    """``chunked`` (HTTP/1.1 chunked encoding) or ``close`` (no length; the body ends when the connection closes)."""
    finish_reason: str = "stop"
    prompt_tokens: int = 31
    eval_ns_per_token: int = 25_000_000
    """Ollama: nanoseconds of ``eval_duration`` per generated token."""
    reasoning_field: str = "reasoning_content"
    """OpenAI: delta field carrying the thinking (``reasoning_content`` or ``reasoning``)."""
    send_usage: bool = True
    """OpenAI: honour ``stream_options.include_usage``."""
    garbage_line: bool = False
    """Send one line that is not JSON before the answer."""
    answers: list[str] = field(default_factory=list)
    """Non-streamed requests (``stream: false``): the content of each answer in turn, the last one
    repeated; when empty, the pieces joined."""

    @property
    def eval_duration_ns(self) -> int:
        return self.eval_ns_per_token * len(self.pieces)

    @property
    def total_duration_ns(self) -> int:
        return self.eval_duration_ns + 150_000_000


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    received_at: float = field(default_factory=time.time)
    """``time.time()`` when the request was read (to time when model requests start, across processes)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (for "connection refused" tests too)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def unanswered_port() -> Iterator[int]:
    """A 127.0.0.1 port whose listen queue is full: new connections hang until the client's connect timeout."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        while True:  # fill the queue (Linux keeps backlog + 1 connections) until a connect hangs
            filler = socket.socket()
            filler.settimeout(0.2)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except OSError:
                break
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


class ProtocolServer:
    """Base: a threaded HTTP/1.1 server on a free 127.0.0.1 port; subclasses route requests."""

    def __init__(self, models: list[str]) -> None:
        self.models = list(models)
        self.reply = ChatReply()
        self.requests: list[ReceivedRequest] = []
        self.pieces_sent = 0
        self.answers_sent = 0
        self._disconnected = threading.Event()
        self._stopping = threading.Event()
        owner = self

        class Handler(_Handler):
            server_owner = owner

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ProtocolServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        """Back to a well-behaved server with no history."""
        self.reply = ChatReply()
        self.requests = []
        self.pieces_sent = 0
        self.answers_sent = 0
        self._disconnected.clear()

    def wait_for_disconnect(self, timeout: float) -> bool:
        """True once the server saw the client close the connection in the middle of an answer."""
        return self._disconnected.wait(timeout)

    @property
    def chat_requests(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.path.endswith(("/chat", "/chat/completions"))]

    def has_model(self, name: str) -> bool:
        return name in self.models

    def next_answer(self) -> str:
        """The content of the next non-streamed answer (see ``ChatReply.answers``)."""
        answers = self.reply.answers
        if not answers:
            return "".join(self.reply.pieces)
        content = answers[min(self.answers_sent, len(answers) - 1)]
        self.answers_sent += 1
        return content

    def route(self, exchange: Exchange) -> None:
        raise NotImplementedError

    def _note_disconnect(self) -> None:
        self._disconnected.set()


class OllamaServer(ProtocolServer):
    """Ollama's /api/chat (NDJSON), /api/tags and /api/show."""

    def __init__(self, models: list[str] | None = None, context_length: int = 8192) -> None:
        super().__init__(models or ["llama3.2:latest", "qwen3:0.6b"])
        self.context_length = context_length

    def has_model(self, name: str) -> bool:
        return name in self.models or f"{name}:latest" in self.models

    def route(self, exchange: Exchange) -> None:
        path = exchange.path
        if exchange.method == "GET" and path == "/api/tags":
            exchange.send_json(200, {"models": [_ollama_model_entry(name) for name in self.models]})
        elif exchange.method == "POST" and path == "/api/show":
            model = (exchange.body or {}).get("model", "")
            if not self.has_model(model):
                exchange.send_json(404, {"error": f"model '{model}' not found"})
                return
            exchange.send_json(
                200,
                {
                    "details": {"family": "llama", "parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
                    "model_info": {"general.architecture": "llama", "llama.context_length": self.context_length},
                    "capabilities": ["completion"],
                },
            )
        elif exchange.method == "POST" and path == "/api/chat":
            self._chat(exchange)
        else:
            exchange.send_text(404, "404 page not found")

    def _chat(self, exchange: Exchange) -> None:
        reply = self.reply
        body = exchange.body or {}
        model = body.get("model", "")
        if not exchange.pause(reply.headers_delay):
            return
        if not self.has_model(model):
            exchange.send_json(404, {"error": f"model '{model}' not found"})
            return
        if reply.status >= 400:
            exchange.send_json(reply.status, {"error": reply.error_message})
            return
        created = "2025-01-01T00:00:00.000000Z"
        if body.get("stream") is False:
            content = self.next_answer()
            answer = {
                "model": model,
                "created_at": created,
                "message": {"role": "assistant", "content": content},
                "done": True,
                "done_reason": reply.finish_reason,
                "total_duration": reply.total_duration_ns,
                "load_duration": 50_000_000,
                "prompt_eval_count": reply.prompt_tokens,
                "prompt_eval_duration": 100_000_000,
                "eval_count": len(content.split()),
                "eval_duration": reply.eval_duration_ns,
            }
            exchange.send_json(200, answer)
            return
        exchange.start_stream("application/x-ndjson", reply.framing)

        def line(obj: dict[str, Any]) -> bytes:
            return json.dumps(obj).encode() + b"\n"

        if reply.garbage_line and not exchange.write(b"this is not json\n"):
            return
        for thought in reply.thinking:
            message = {"role": "assistant", "content": "", "thinking": thought}
            if not exchange.write(line({"model": model, "created_at": created, "message": message, "done": False})):
                return
        for index, piece in enumerate(reply.pieces):
            if _interrupt(exchange, reply, index, error=line({"error": reply.error_message})):
                return
            message = {"role": "assistant", "content": piece}
            if not exchange.write(line({"model": model, "created_at": created, "message": message, "done": False})):
                return
            self.pieces_sent = index + 1
            if not exchange.pause(reply.delay):
                return
        if _interrupt(exchange, reply, len(reply.pieces), error=line({"error": reply.error_message})):
            return
        final = {
            "model": model,
            "created_at": created,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": reply.finish_reason,
            "total_duration": reply.total_duration_ns,
            "load_duration": 50_000_000,
            "prompt_eval_count": reply.prompt_tokens,
            "prompt_eval_duration": 100_000_000,
            "eval_count": len(reply.pieces),
            "eval_duration": reply.eval_duration_ns,
        }
        if exchange.write(line(final)):
            exchange.end_stream()


class OpenAIServer(ProtocolServer):
    """``/v1/chat/completions`` (SSE) and ``/v1/models`` of an OpenAI-compatible server."""

    def __init__(self, models: list[str] | None = None, api_key: str | None = None) -> None:
        super().__init__(models or ["smollm2", "qwen2.5-7b-instruct"])
        self.api_key = api_key
        self.response_format_types: tuple[str, ...] | None = None
        """When set, a ``response_format`` of another type is refused the way llama-cpp-python's server
        refuses it (HTTP 500 naming ``response_format``); None accepts any."""

    def reset(self) -> None:
        super().reset()
        self.response_format_types = None

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def route(self, exchange: Exchange) -> None:
        if self.api_key is not None and exchange.headers.get("authorization") != f"Bearer {self.api_key}":
            error = {
                "message": "Incorrect API key provided.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
            exchange.send_json(401, {"error": error})
            return
        if exchange.method == "GET" and exchange.path == "/v1/models":
            data = [{"id": name, "object": "model", "created": 0, "owned_by": "local"} for name in self.models]
            exchange.send_json(200, {"object": "list", "data": data})
        elif exchange.method == "POST" and exchange.path == "/v1/chat/completions":
            self._chat(exchange)
        else:
            exchange.send_json(404, {"detail": "Not Found"})

    def _chat(self, exchange: Exchange) -> None:
        reply = self.reply
        body = exchange.body or {}
        model = body.get("model", "")
        if not exchange.pause(reply.headers_delay):
            return
        if not self.has_model(model):
            error = {
                "message": f"The model `{model}` does not exist or you do not have access to it.",
                "type": "invalid_request_error",
                "code": "model_not_found",
            }
            exchange.send_json(404, {"error": error})
            return
        if reply.status >= 400:
            exchange.send_json(reply.status, {"error": {"message": reply.error_message, "type": "server_error"}})
            return
        kind = (body.get("response_format") or {}).get("type")
        if kind is not None and self.response_format_types is not None and kind not in self.response_format_types:
            allowed = " or ".join(f"'{name}'" for name in self.response_format_types)
            message = (
                "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
                f"'msg': \"Input should be {allowed}\", 'input': '{kind}'}}"
            )
            exchange.send_json(500, {"error": {"message": message, "type": "internal_server_error"}})
            return
        if body.get("stream") is not True:  # OpenAI's default is a whole answer
            content = self.next_answer()
            completion_tokens = len(content.split())
            answer = {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1700000000,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "logprobs": None,
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": reply.prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": reply.prompt_tokens + completion_tokens,
                },
            }
            exchange.send_json(200, answer)
            return
        exchange.start_stream("text/event-stream", reply.framing)
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": model}

        def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            return b"data: " + json.dumps({**base, "choices": choices, **extra}).encode() + b"\n\n"

        def delta(content: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": content, "logprobs": None, "finish_reason": finish}]

        opening = [b": keep-alive\n\n", event(delta({"role": "assistant", "content": ""}))]
        if reply.garbage_line:
            opening.append(b"data: {not json\n\n")
        opening += [event(delta({reply.reasoning_field: thought})) for thought in reply.thinking]
        for data in opening:
            if not exchange.write(data):
                return
        error_event = {"error": {"message": reply.error_message, "type": "server_error"}}
        error = b"data: " + json.dumps(error_event).encode() + b"\n\n"
        for index, piece in enumerate(reply.pieces):
            if _interrupt(exchange, reply, index, error=error):
                return
            if not exchange.write(event(delta({"content": piece}))):
                return
            self.pieces_sent = index + 1
            if not exchange.pause(reply.delay):
                return
        if _interrupt(exchange, reply, len(reply.pieces), error=error):
            return
        closing = [event(delta({}, reply.finish_reason))]
        if reply.send_usage and (body.get("stream_options") or {}).get("include_usage"):
            usage = {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": len(reply.pieces),
                "total_tokens": reply.prompt_tokens + len(reply.pieces),
            }
            closing.append(event([], usage=usage))
        closing.append(b"data: [DONE]\n\n")
        for data in closing:
            if not exchange.write(data):
                return
        exchange.end_stream()


def _interrupt(exchange: Exchange, reply: ChatReply, sent: int, *, error: bytes) -> bool:
    """Play the scripted failure planned after ``sent`` pieces; True when the stream is over."""
    if reply.error_after == sent:
        if exchange.write(error):
            exchange.end_stream()
        return True
    if reply.drop_after == sent:
        exchange.drop()
        return True
    if reply.truncate_after == sent:
        exchange.end_stream()
        return True
    if reply.stall_after == sent:
        exchange.pause(reply.stall_seconds)
        exchange.drop()
        return True
    return False


def _ollama_model_entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "size": 2019393189,
        "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
        "details": {"family": "llama", "parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
    }


class Exchange:
    """One request and its answer, written straight to the socket."""

    def __init__(self, handler: _Handler, body: Any) -> None:
        self._handler = handler
        self._owner: ProtocolServer = handler.server_owner
        self.method = handler.command
        self.path = handler.path.split("?", 1)[0]
        self.headers = {k.lower(): v for k, v in handler.headers.items()}
        self.body = body
        self._chunked = False
        self._open = True

    def send_json(self, status: int, obj: Any) -> None:
        self._send_whole(status, "application/json", json.dumps(obj).encode())

    def send_text(self, status: int, text: str) -> None:
        self._send_whole(status, "text/plain; charset=utf-8", text.encode())

    def _send_whole(self, status: int, content_type: str, data: bytes) -> None:
        handler = self._handler
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            self._gone()

    def start_stream(self, content_type: str, framing: str) -> None:
        handler = self._handler
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Cache-Control", "no-cache")
        if framing == "chunked":
            handler.send_header("Transfer-Encoding", "chunked")
            self._chunked = True
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        try:
            handler.end_headers()
        except OSError:
            self._gone()

    def write(self, data: bytes) -> bool:
        """Send one piece of the body now; False when the client has gone."""
        if not self._open or self._client_gone():
            return self._gone()
        framed = b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data
        try:
            self._handler.wfile.write(framed)
        except OSError:
            return self._gone()
        return True

    def end_stream(self) -> None:
        if self._open and self._chunked:
            try:
                self._handler.wfile.write(b"0\r\n\r\n")
            except OSError:
                self._gone()
        if not self._chunked:
            self.drop()

    def drop(self) -> None:
        """Close the connection at once, whatever state the body is in."""
        self._open = False
        self._handler.close_connection = True
        try:
            self._handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def pause(self, seconds: float) -> bool:
        """Wait, watching the client; False when it went away meanwhile."""
        deadline = time.monotonic() + seconds
        while True:
            if self._client_gone():
                return self._gone()
            left = deadline - time.monotonic()
            if left <= 0 or self._owner._stopping.is_set():
                return True
            time.sleep(min(left, 0.02))

    def _client_gone(self) -> bool:
        sock = self._handler.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _gone(self) -> bool:
        if self._open:
            self._open = False
            self._handler.close_connection = True
            self._owner._note_disconnect()
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_owner: ProtocolServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:  # the client reset the connection: that is what several tests do
            pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        exchange = Exchange(self, body)
        owner = self.server_owner
        owner.requests.append(ReceivedRequest(self.command, exchange.path, exchange.headers, body))
        owner.route(exchange)

    do_GET = _handle
    do_POST = _handle
