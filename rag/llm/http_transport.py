"""HTTP for the server backends: one place that sends requests, reads streams as they arrive,
closes connections on cancel, and turns every transport failure into the project's errors.

Mapping (all raised ``from`` the original exception)::

    connection refused, DNS failure     -> ServerUnreachableError (backend's friendly message)
    connect timeout                     -> LLMTimeoutError(phase="connect")
    read timeout before any body byte   -> LLMTimeoutError(phase="first_byte")
    read timeout after                  -> LLMTimeoutError(phase="read")
    connection dropped / bad chunking   -> StreamInterruptedError
    HTTP status >= 400                  -> whatever the backend's ``status_error`` builds
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import threading
from contextlib import suppress
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from rag.errors import LLMError, LLMTimeoutError, ServerUnreachableError, StreamInterruptedError
from rag.i18n import N_
from rag.llm.cancel import CancelToken
from rag.settings import LLMSettings


READ_SIZE = 65536
"""Most bytes taken per read; a read returns as soon as *any* bytes are there."""
METADATA_READ_TIMEOUT = 30.0
"""Longest wait for small JSON answers (model lists, model details)."""

StatusErrorFactory = Callable[[requests.Response, str], LLMError]
"""Builds the error for a response with status >= 400, given the response and its body text."""
DebugHook = Callable[[str, Any], None]


class HTTPTransport:
    """Requests to one server, with its timeouts, headers and error messages (``server_name`` fills their
    ``{name}``: a ``Term`` when it is a catalog message)."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        base_url: str,
        server_name: str,
        unreachable_message: str,  # a catalog message (``N_``) with the placeholder {url}
        status_error: StatusErrorFactory,
        headers: Mapping[str, str] | None = None,
        debug_hook: DebugHook | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.server_name = server_name
        self._settings = settings
        self._unreachable_message = unreachable_message
        self._status_error = status_error
        self._headers = dict(headers or {})
        self._debug_hook = debug_hook

    def url(self, path: str) -> str:
        """The full URL of ``path`` on this server."""
        return self.base_url + path

    def get_json(self, path: str) -> Any:
        """GET a small JSON document."""
        return self._request_json("GET", path, None)

    def post_json(self, path: str, payload: Mapping[str, Any]) -> Any:
        """POST JSON, read a small JSON answer."""
        return self._request_json("POST", path, payload)

    def post_json_generation(self, path: str, payload: Mapping[str, Any], *, cancel: CancelToken) -> Any:
        """POST JSON and read one whole JSON answer, with the generation's timeouts and ``cancel``.

        For non-streamed generations, which can take as long as a streamed one. Returns None when
        cancelled; errors are mapped as for ``stream``.
        """
        body = b"".join(self.stream(path, payload, cancel=cancel))
        if cancel.cancelled:
            return None
        try:
            return json.loads(body)
        except ValueError as exc:
            text = body.decode("utf-8", "replace")
            raise LLMError(
                N_("{name} at {base_url} answered {url} with something that is not JSON: {excerpt!r}"),
                name=self.server_name, base_url=self.base_url, url=self.url(path), excerpt=text[:200],
            ) from exc

    def stream(self, path: str, payload: Mapping[str, Any], *, cancel: CancelToken) -> Iterator[bytes]:
        """POST JSON and yield the answer's bytes as they arrive; closes the connection when done.

        When ``cancel`` is set (from any thread) the socket is shut down, which wakes a blocked read
        and tells the server we left; the generator then returns quietly.
        """
        url = self.url(path)
        headers = {**self._headers, "Accept-Encoding": "identity"}
        self._debug("request", {"method": "POST", "url": url, "headers": _masked(headers), "body": payload})
        session = self._session(url)
        unregister: list[Callable[[], None]] = []
        watched: set[int] = set()

        def watch(sock: socket.socket | None) -> None:
            if sock is not None and id(sock) not in watched:
                watched.add(id(sock))
                unregister.append(cancel.on_cancel(lambda: _shutdown(sock)))

        response: requests.Response | None = None
        body_started = False
        try:
            _connection_watch.callback = watch
            try:
                response = session.post(
                    url, json=payload, headers=headers, stream=True, timeout=self._timeouts(self._settings.read_timeout)
                )
            finally:
                _connection_watch.callback = None
            watch(getattr(getattr(response.raw, "connection", None), "sock", None))
            if response.status_code >= 400:
                raise self._status_error(response, _body_text(response))
            for data in _read_as_it_arrives(response):
                body_started = True
                yield data
        except LLMError:
            raise
        except Exception as exc:
            if cancel.cancelled:
                return  # the failure is our own doing: we shut the socket
            error = self._translate(exc, url, body_started)
            if error is None:
                raise
            raise error from exc
        finally:
            for undo in unregister:
                undo()
            if response is not None:
                response.close()
            session.close()

    def _request_json(self, method: str, path: str, payload: Mapping[str, Any] | None) -> Any:
        url = self.url(path)
        self._debug("request", {"method": method, "url": url, "headers": _masked(self._headers), "body": payload})
        try:
            with self._session(url) as session:
                response = session.request(
                    method,
                    url,
                    json=payload,
                    headers=self._headers,
                    timeout=self._timeouts(min(self._settings.read_timeout, METADATA_READ_TIMEOUT)),
                )
                text = response.text
        except Exception as exc:
            error = self._translate(exc, url, body_started=False)
            if error is None:
                raise
            raise error from exc
        if response.status_code >= 400:
            raise self._status_error(response, text)
        try:
            return response.json()
        except ValueError as exc:
            raise LLMError(
                N_(
                    "{name} at {base_url} answered {url} with something that is not JSON: {excerpt!r}; is the URL"
                    " right?"
                ),
                name=self.server_name, base_url=self.base_url, url=url, excerpt=text[:200],
            ) from exc

    def _translate(self, exc: Exception, url: str, body_started: bool) -> LLMError | None:
        """The project's error for a transport failure, or None for an exception that is a bug."""
        settings = self._settings
        name = self.server_name
        if isinstance(exc, (requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError)):
            return LLMTimeoutError(
                N_("could not connect to {name} at {base_url} within {seconds:g} s (setting llm.connect_timeout)"),
                phase="connect", name=name, base_url=self.base_url, seconds=settings.connect_timeout,
            )
        if isinstance(exc, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError)):
            if not body_started:
                return LLMTimeoutError(
                    N_(
                        "{name} sent nothing for {seconds:g} s: the model may still be loading; wait and retry, or"
                        " raise the llm.read_timeout setting (--timeout on the command line)"
                    ),
                    phase="first_byte", name=name, seconds=settings.read_timeout,
                )
            return LLMTimeoutError(
                N_(
                    "{name} stopped sending for {seconds:g} s in the middle of the answer (setting llm.read_timeout,"
                    " --timeout on the command line)"
                ),
                phase="read", name=name, seconds=settings.read_timeout,
            )
        bad_url = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
        if isinstance(exc, bad_url):
            return LLMError(
                N_("'{url}' is not a usable server URL ({reason}); check llm.base_url"), url=url, reason=exc
            )
        if isinstance(exc, requests.exceptions.ConnectionError) and not body_started:
            reason = exc.args[0] if exc.args else None
            if isinstance(reason, urllib3.exceptions.ProtocolError):
                return StreamInterruptedError(
                    N_("{name} at {base_url} closed the connection without answering"),
                    name=name, base_url=self.base_url,
                )
            return ServerUnreachableError(self._unreachable_message, url=self.base_url)
        if isinstance(
            exc,
            (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ConnectionError,
                urllib3.exceptions.ProtocolError,
                http.client.HTTPException,
                ConnectionError,
            ),
        ):
            return StreamInterruptedError(
                N_("the connection to {name} closed mid-stream, before the answer was complete ({reason})"),
                name=name, reason=_reason(exc),
            )
        return None

    def _session(self, url: str) -> requests.Session:
        session = requests.Session()
        adapter = _WatchedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        # Proxy variables must not send requests for a local server through a remote proxy.
        session.trust_env = not _is_loopback(url)
        return session

    def _timeouts(self, read_timeout: float) -> tuple[float, float]:
        return (self._settings.connect_timeout, read_timeout)

    def _debug(self, kind: str, payload: Any) -> None:
        if self._debug_hook is not None:
            self._debug_hook(kind, payload)


def mask_secret(value: str) -> str:
    """``Bearer sk-abc...wxyz`` -> ``Bearer ***wxyz``: enough to tell keys apart, not to use one."""
    scheme, _, secret = value.rpartition(" ")
    shown = "***" + secret[-4:] if len(secret) > 12 else "***"
    return f"{scheme} {shown}" if scheme else shown


def server_message(body: str) -> str:
    """The human part of an error body: ``{"error": "..."}``, ``{"error": {"message": ...}}``,
    ``{"detail": ...}`` or the text itself."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:500] or "(empty answer)"
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message") or error
        if error is not None:
            return str(error)
    return body.strip()[:500]


def _read_as_it_arrives(response: requests.Response) -> Iterator[bytes]:
    """Yield the body as the network delivers it: each read returns what is there, never waits to fill."""
    raw = response.raw
    if not hasattr(raw, "read1"):  # urllib3 1.x
        yield from response.iter_content(chunk_size=None)
        return
    while True:
        data = raw.read1(READ_SIZE, decode_content=True)
        if not data:
            return
        yield data


def _body_text(response: requests.Response) -> str:
    try:
        return response.text
    except Exception:  # the body of an error answer is a courtesy
        return ""


def _masked(headers: Mapping[str, str]) -> dict[str, str]:
    return {key: mask_secret(value) if key.lower() == "authorization" else value for key, value in headers.items()}


def _reason(exc: BaseException) -> str:
    while exc.args and isinstance(exc.args[-1], BaseException):
        exc = exc.args[-1]
    return str(exc) or type(exc).__name__


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shutdown(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


# --- knowing the socket before the answer starts --------------------------------------------------
# A server may send no header for minutes while it loads the model. To cancel during that wait we
# need the socket as soon as it is connected: the connection classes below report it to the
# callback the current thread set for the request it is making.

_connection_watch = threading.local()


def _report_socket(sock: socket.socket | None) -> None:
    callback = getattr(_connection_watch, "callback", None)
    if callback is not None:
        callback(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _report_socket(self.sock)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _report_socket(self.sock)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
