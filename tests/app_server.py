"""The app served by waitress (as ``python app.py`` serves it) from a thread of the test process, on a free port,
and its callbacks posted over real HTTP the way the browser posts them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from dash import Dash

from tests.callback_client import UPDATE_PATH, CallbackClient
from tests.protocol_servers import free_port

THREADS = 16


@dataclass
class ServedApp:
    """An app listening on ``url``; ``call`` posts one callback to it."""

    app: Dash
    url: str
    port: int

    def call(
        self,
        input_id: str,
        input_prop: str,
        value: Any,
        *,
        state: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The callback's ``{"multi": true, "response": {...}}`` answer (empty for 204)."""
        body = CallbackClient(self.app).request_body(input_id, input_prop, value, inputs=inputs, state=state)
        reply = requests.post(self.url + UPDATE_PATH, json=body, timeout=30)
        assert reply.status_code in (200, 204), reply.text
        return reply.json() if reply.content else {}

    def get(self, path: str, timeout: float = 10) -> requests.Response:
        return requests.get(self.url + path, timeout=timeout)


def output(reply: Mapping[str, Any], component_id: str, prop: str) -> Any:
    """One output of a callback's answer (None when it left it alone)."""
    return reply.get("response", {}).get(component_id, {}).get(prop)


@contextmanager
def serve_waitress(app: Dash, port: int | None = None) -> Iterator[ServedApp]:
    """Serve ``app`` with waitress on 127.0.0.1 (``port``, else a free one) until the block ends."""
    from waitress.server import create_server

    port = port or free_port()
    server = create_server(app.server, host="127.0.0.1", port=port, threads=THREADS, ident="waitress")
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            requests.get(url + "/_dash-layout", timeout=5)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield ServedApp(app=app, url=url, port=port)
    finally:
        server.task_dispatcher.shutdown(timeout=5)  # requests under way end first, then the sockets close
        server.close()
        thread.join(timeout=5)
