"""The LLM clients of the settings in force and of the settings tabs chose, and the checks of their backends."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from typing import Callable

from rag.engine_factories import create_client
from rag.errors import ConfigError, LLMError
from rag.llm.base import LLMClient
from rag.llm.types import BackendStatus
from rag.llm_choice import AppAddress, client_key, refuse_app_address
from rag.settings import LLMSettings

CLIENTS_KEPT = 8
"""Clients kept for the settings tabs chose (least recently used dropped first; the configured one and the
embedded model are kept for good)."""
PANEL_STATUS_WAIT = 2.0
"""Longest wait, in seconds, for a new check of a model server (``backend_status``)."""
DEFAULT_CONTEXT_WINDOW = 4096
MAX_AUTO_CONTEXT_WINDOW = 8192


class ModelClients:
    """One client per distinct model settings, made on first use; the configured settings' kept for good."""

    def __init__(
        self, configured: LLMSettings, app_address: AppAddress, factory: Callable[..., LLMClient] | None = None
    ) -> None:
        self._configured = configured
        self.app_address = app_address
        """Where this app listens: a model server there is refused (the app would ask itself)."""
        self._factory = factory or create_client
        self._client: LLMClient | None = None
        self._clients: OrderedDict[str, LLMClient] = OrderedDict()
        """Clients for settings tabs chose, by ``client_key``, least recently used first."""
        self._lock = threading.Lock()
        from rag.backend_probe import BackendProbes

        self._probes = BackendProbes(self._check_backend)

    def client(self, llm: LLMSettings | None = None) -> LLMClient:
        """The client for ``llm`` (the configured settings when None). Raises ``ConfigError`` for a server at
        the app's own address."""
        configured = self._configured
        llm = llm if llm is not None else configured
        refuse_app_address(llm, self.app_address)
        key = client_key(llm)
        with self._lock:
            if llm is configured or key == client_key(configured):
                if self._client is None:
                    self._client = self._factory(configured)
                return self._client
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._factory(llm)
                for old in list(self._clients):
                    if len(self._clients) <= CLIENTS_KEPT:
                        break
                    if old != key and getattr(self._clients[old], "backend", "") != "embedded":
                        del self._clients[old]
            self._clients.move_to_end(key)
            return client

    def kept_count(self) -> int:
        """How many clients for the settings tabs chose are kept."""
        with self._lock:
            return len(self._clients)

    def reconfigure(self, configured: LLMSettings, apply: Callable[[], None]) -> None:
        """New configured settings: their client is made again, only the embedded model among the others is
        kept. ``apply`` runs under the same lock (the engine takes the new settings)."""
        with self._lock:
            apply()
            self._configured = configured
            self._client = None
            self._clients = OrderedDict(
                (key, client) for key, client in self._clients.items() if getattr(client, "backend", "") == "embedded"
            )

    def status(self, llm: LLMSettings, *, wait: float = PANEL_STATUS_WAIT, fresh: bool = False) -> BackendStatus:
        """Whether ``llm``'s backend answers, checked in the background (``rag.backend_probe``)."""
        return self._probes.status(llm, wait=wait, fresh=fresh)

    def _check_backend(self, llm: LLMSettings) -> BackendStatus:
        """One check of ``llm``'s backend (run by the probes, off the request threads), with short timeouts."""
        from rag.backend_probe import CONNECT_SECONDS, READ_SECONDS

        try:
            refuse_app_address(llm, self.app_address)
            if llm.backend == "embedded" or self._factory is not create_client:
                return self.client(llm).check()  # the one embedded model (its check starts loading it)
            quick = dataclasses.replace(
                llm,
                connect_timeout=min(llm.connect_timeout, CONNECT_SECONDS),
                read_timeout=min(llm.read_timeout, READ_SECONDS),
            )
            return self._factory(quick).check()
        except ConfigError as exc:
            return BackendStatus(ok=False, message=str(exc), models=[])


def context_window(client: LLMClient, llm: LLMSettings) -> int:
    """Tokens the prompt and the answer share: the setting, else the model's, capped."""
    if llm.num_ctx:
        return llm.num_ctx
    try:
        known = client.model_context_length()
    except LLMError:
        known = None
    return min(known, MAX_AUTO_CONTEXT_WINDOW) if known else DEFAULT_CONTEXT_WINDOW
