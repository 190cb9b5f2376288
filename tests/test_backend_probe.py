"""The cached background checks of model servers (``rag.backend_probe``): one check per distinct settings, never a
wait longer than asked, results reused for a few seconds; and the engine's clients kept per settings."""

from __future__ import annotations

import threading
import time

from rag.backend_probe import BUSY_MESSAGE, CHECKING_MESSAGE, BackendProbes
from rag.engine import CLIENTS_KEPT, RAGEngine
from rag.llm.types import BackendStatus
from rag.settings import LLMSettings, Settings, apply_overrides
from rag.stream_buffer import StreamBuffer
from tests.scripted_llm import ScriptedClient

A = LLMSettings(backend="ollama", base_url="http://127.0.0.1:1")
B = LLMSettings(backend="ollama", base_url="http://127.0.0.1:2")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Checks:
    """A check that counts its calls and can be held until released."""

    def __init__(self, ok: bool = True) -> None:
        self.calls: list[str | None] = []
        self.release = threading.Event()
        self.release.set()
        self.ok = ok
        self.lock = threading.Lock()

    def __call__(self, llm: LLMSettings) -> BackendStatus:
        with self.lock:
            self.calls.append(llm.base_url)
            number = len(self.calls)
        self.release.wait(10)
        return BackendStatus(self.ok, f"check {number} of {llm.base_url}", ["m"])


def test_many_requests_about_one_server_cause_one_check_and_reuse_it_while_fresh():
    checks, clock = Checks(), Clock()
    checks.release.clear()
    probes = BackendProbes(checks, clock=clock)
    results: list[BackendStatus] = []
    threads = [threading.Thread(target=lambda: results.append(probes.status(A, wait=5))) for _ in range(20)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    checks.release.set()
    for thread in threads:
        thread.join(10)
    assert checks.calls == [A.base_url] and len(results) == 20
    assert all(result.ok and result.message == f"check 1 of {A.base_url}" for result in results)
    clock.now += 4.9
    assert probes.status(A, wait=5).message == f"check 1 of {A.base_url}" and len(checks.calls) == 1
    clock.now += 0.2  # older than FRESH_SECONDS: checked again
    assert probes.status(A, wait=5).message == f"check 2 of {A.base_url}"
    assert probes.status(A, wait=5, fresh=True).message == f"check 3 of {A.base_url}", "Refresh checks again"
    assert probes.status(B, wait=5).message == f"check 4 of {B.base_url}", "each server its own check"


def test_a_caller_never_waits_longer_than_asked_and_then_gets_the_last_known_status():
    checks, clock = Checks(), Clock()
    probes = BackendProbes(checks, clock=clock)
    assert probes.status(A, wait=5).message.startswith("check 1")
    checks.release.clear()  # the server stops answering
    clock.now += 10
    started = time.monotonic()
    stale = probes.status(A, wait=0.2)
    assert time.monotonic() - started < 0.5
    assert stale.message.startswith("check 1"), "the last status known while the new check runs"
    started = time.monotonic()
    first = probes.status(B, wait=0.2)
    assert time.monotonic() - started < 0.5
    assert not first.ok and first.message == CHECKING_MESSAGE
    assert probes.running() == 2 and len(checks.calls) == 3, "still one check per server"
    checks.release.set()
    assert probes.status(B, wait=5).message.startswith("check ")


def test_checks_are_bounded_and_failures_are_reported_not_raised():
    checks = Checks()
    checks.release.clear()
    probes = BackendProbes(checks, max_running=2)
    for port in range(3):
        status = probes.status(LLMSettings(backend="ollama", base_url=f"http://127.0.0.1:{10 + port}"), wait=0)
    assert status.message == BUSY_MESSAGE and len(checks.calls) == 2
    checks.release.set()

    def broken(llm: LLMSettings) -> BackendStatus:
        raise RuntimeError("boom")

    failed = BackendProbes(broken).status(A, wait=5)
    assert not failed.ok and failed.message == "boom"


def test_old_results_are_forgotten_beyond_the_limit():
    checks = Checks()
    probes = BackendProbes(checks, max_kept=3)
    for port in range(5):
        probes.status(LLMSettings(backend="ollama", base_url=f"http://127.0.0.1:{20 + port}"), wait=5)
    assert len(probes._entries) == 3
    probes.forget()
    assert not probes._entries


def make_engine(**llm) -> tuple[RAGEngine, list[LLMSettings]]:
    made: list[LLMSettings] = []

    def factory(settings: LLMSettings) -> ScriptedClient:
        made.append(settings)
        client = ScriptedClient(settings)
        client.backend = settings.backend
        return client

    settings = apply_overrides(Settings(), {"llm": llm, "cache": {"enabled": False}}, "test")
    return RAGEngine(settings, buffer=StreamBuffer(), client_factory=factory), made


def test_the_engine_keeps_a_client_per_settings_and_one_embedded_model():
    engine, made = make_engine(backend="ollama", base_url="http://127.0.0.1:3")
    configured = engine.client()
    tab = LLMSettings(backend="openai", base_url="http://127.0.0.1:4/v1")
    assert engine.client(tab) is engine.client(LLMSettings(backend="openai", base_url="http://127.0.0.1:4/v1"))
    embedded = engine.client(LLMSettings(backend="embedded"))
    for port in range(CLIENTS_KEPT + 3):
        engine.client(LLMSettings(backend="openai", base_url=f"http://127.0.0.1:{100 + port}/v1"))
    assert engine.client(LLMSettings(backend="embedded")) is embedded, "the embedded model is never made twice"
    assert engine.client() is configured and engine.client(engine.settings.llm) is configured
    assert engine._models.kept_count() <= CLIENTS_KEPT + 1
    assert sum(1 for settings in made if settings.backend == "embedded") == 1
    engine.client(tab)
    assert sum(1 for settings in made if settings.base_url == tab.base_url) == 2, "evicted, then made again"


def test_the_engine_checks_a_backend_in_the_background_and_refuses_its_own_address():
    engine, _ = make_engine(backend="ollama", base_url="http://127.0.0.1:3")
    assert engine.backend_status().ok
    engine.app_address.note_port(8050)
    own = engine.backend_status(LLMSettings(backend="openai", base_url="http://localhost:8050/v1"))
    assert not own.ok and "own address" in own.message
