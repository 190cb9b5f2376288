"""Which model server a tab's questions go to, and what a visitor may choose.

The configured ``llm`` settings are every tab's default. A tab may choose another backend, server or model in
the page; that ``LLMChoice`` is kept in the tab's session storage and sent with each question, and
``resolve_choice`` turns it into the ``LLMSettings`` the tab's questions use, under three rules:

- **Who may name a server.** A visitor may point the tab at a server of their own only when
  ``custom_llm_urls_allowed`` (the app bound to loopback, by default); otherwise the configured server and the
  ``llm.servers`` entries are all there is, whatever a crafted request sends.
- **Where keys go.** The configured API key goes to the configured server only, an entry's key (read from its
  ``api_key_env``) to that entry's URL only; any other server gets the key the visitor typed for the tab, or none.
- **Not the app itself.** A URL that reaches this app (its host, or loopback, and its port) is refused before any
  request is made: the app would ask itself (its ``/healthz``, its callbacks) in a loop.

Every refusal is a ``ChoiceRefused`` (a ``ConfigError``) whose message says why, a catalog message
(``refusal.worded("fr")``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlsplit

from rag.errors import ConfigError
from rag.i18n import N_, Term
from rag.settings import BACKENDS, LLMSettings, Settings, custom_llm_urls_allowed, is_loopback

MAX_FIELD_CHARS = 2000
"""Longest value a choice from the page may hold (a URL, a model name, a key)."""
RESOLVE_SECONDS = 1.0
"""Longest wait for the addresses of a host name that may be the app's own."""
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
"""Bound addresses that mean "every interface of this machine"."""


class ChoiceRefused(ConfigError):
    """A tab's model choice that this app does not allow (the message says why)."""


@dataclass(frozen=True)
class LLMChoice:
    """What a tab chose in the model panel; all None is the configured server and model."""

    server: str | None = None
    """The name of an ``llm.servers`` entry; None: the configured server, or ``backend``/``base_url``."""
    backend: str | None = None
    """``embedded``, ``ollama`` or ``openai``; None: the configured backend."""
    base_url: str | None = None
    """The server URL typed in the page; None: the backend's default (the configured URL for its backend)."""
    model: str | None = None
    """A model of the chosen server; None: the server's configured or first model."""
    api_key: str | None = field(default=None, repr=False)
    """A key the visitor typed for this tab (OpenAI-compatible servers): kept in the tab's session storage only,
    never logged, never in an answer's metadata."""

    @classmethod
    def from_data(cls, data: Any) -> LLMChoice:
        """The choice kept in the page's store (anything else, e.g. a crafted value, is read as far as it is a
        string-valued mapping)."""
        if not isinstance(data, Mapping):
            return cls()
        values: dict[str, str | None] = {}
        for name in ("server", "backend", "base_url", "model", "api_key"):
            value = data.get(name)
            values[name] = value.strip()[:MAX_FIELD_CHARS] or None if isinstance(value, str) else None
        return cls(**values)

    def to_data(self) -> dict[str, str] | None:
        """The form kept in the page's store: only what was chosen; None for the configured defaults."""
        data = {key: value for key, value in dataclasses.asdict(self).items() if value is not None}
        return data or None

    @property
    def is_default(self) -> bool:
        """Nothing chosen: the configured server and model."""
        return self == LLMChoice()


# ------------------------------------------------------------------------------------------ the app
class AppAddress:
    """Where this app listens: its bound host and the ports it serves on (the ``server.port`` setting, and every
    port a request arrived on: under gunicorn or in tests the setting may not know it)."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host.strip().strip("[]").lower()
        self._ports: set[int] = {port} if port else set()
        self._lock = threading.Lock()

    @property
    def ports(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._ports)

    def note_port(self, port: Any) -> None:
        """A request arrived on ``port`` (``SERVER_PORT`` of its WSGI environ)."""
        try:
            number = int(port)
        except (TypeError, ValueError):
            return
        if 0 < number < 65536:
            with self._lock:
                self._ports.add(number)

    def serves(self, url: str | None) -> bool:
        """Whether a request to ``url`` would reach this app: its port, on its host or a loopback address (any
        address of this machine when bound to all of them)."""
        if not url:
            return False
        try:
            parts = urlsplit(url)
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
        except ValueError:
            return False
        if port is None or port not in self.ports or not parts.hostname:
            return False
        return self._is_this_machine(parts.hostname)

    def _is_this_machine(self, host: str) -> bool:
        name = host.strip().strip("[]").rstrip(".").lower()
        if is_loopback(name) or name.endswith(".localhost") or name == self.host:
            return True
        if name == socket.gethostname().lower():
            return True
        addresses = _addresses(name)
        if addresses is None:  # the name did not resolve in time: it may well be this machine
            return True
        for address in addresses:
            if address.is_loopback or address.is_unspecified or address.exploded == _exploded(self.host):
                return True
            if self.host in WILDCARD_HOSTS and address in _local_addresses():
                return True
        return False


def _exploded(host: str) -> str | None:
    try:
        return ipaddress.ip_address(host).exploded
    except ValueError:
        return None


def _addresses(name: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address] | None:
    """The addresses ``name`` resolves to ([] when it does not; None when the resolver took too long). Numeric
    forms the resolver accepts (``2130706433``, ``127.1``, ``0x7f.1``) resolve without asking DNS."""
    found: list[Any] = []

    def resolve() -> None:
        try:
            found.extend(info[4][0] for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP))
        except (OSError, UnicodeError):
            pass

    thread = threading.Thread(target=resolve, name="resolve-host", daemon=True)
    thread.start()
    thread.join(RESOLVE_SECONDS)
    if thread.is_alive():
        return None
    addresses = []
    for text in found:
        try:
            address = ipaddress.ip_address(str(text).split("%", 1)[0])
        except ValueError:
            continue
        mapped = getattr(address, "ipv4_mapped", None)
        addresses.append(mapped or address)
    return addresses


_LOCAL: list[frozenset[Any]] = []


def _local_addresses() -> frozenset[Any]:
    """The addresses of this machine's own name (what a wildcard-bound app also listens on)."""
    if not _LOCAL:
        _LOCAL.append(frozenset(_addresses(socket.gethostname()) or []))
    return _LOCAL[0]


def refuse_app_address(llm: LLMSettings, app: AppAddress | None) -> None:
    """Raise ``ChoiceRefused`` when ``llm``'s server is this app itself (checked before any request)."""
    if app is None or llm.backend == "embedded":
        return
    url = llm.resolved_base_url()
    if app.serves(url):
        raise ChoiceRefused(
            N_(
                "{url} is this app's own address, not a model server: the app would ask itself in a loop. "
                "Give the address of the model server (Ollama, llama.cpp, vLLM, ...)."
            ),
            url=url,
        )


# ------------------------------------------------------------------------------------------ choices
def resolve_choice(settings: Settings, choice: LLMChoice | None, app: AppAddress | None = None) -> LLMSettings:
    """The settings a tab's questions use for ``choice`` (the configured ones for None or the default choice).

    Raises ``ChoiceRefused`` for a server this app does not allow: an unknown ``llm.servers`` name or backend, a
    URL that is not http(s), a server of the visitor's own when ``custom_llm_urls_allowed`` is false, the app's own
    address."""
    configured = settings.llm
    choice = choice or LLMChoice()
    if choice.server is not None:
        entry = _entry_named(settings, choice.server)
        if entry is None:
            raise ChoiceRefused(
                N_("there is no model server named '{server}' (setting llm.servers)"), server=choice.server
            )
        llm = _entry_settings(configured, entry)
    else:
        backend = choice.backend or configured.backend
        if backend not in BACKENDS:
            raise ChoiceRefused(
                N_("'{backend}' is not a backend (llm.backend is one of {backends})"),
                backend=backend,
                backends=", ".join(BACKENDS),
            )
        target = _target_url(backend, choice.base_url)
        if backend == configured.backend and (
            choice.base_url is None or backend == "embedded" or same_server(target, configured.resolved_base_url())
        ):  # the configured server (its backend's default URL is the configured one)
            llm = dataclasses.replace(configured)
        elif (entry := _entry_at(settings, backend, target)) is not None:
            llm = _entry_settings(configured, entry)
        elif not custom_llm_urls_allowed(settings):
            raise ChoiceRefused(
                N_(
                    "this app offers its configured model server and those of llm.servers only; "
                    "{server} is not one of them"
                ),
                server=_describe_target(backend, target),
            )
        else:
            llm = dataclasses.replace(
                configured, backend=backend, base_url=choice.base_url if backend != "embedded" else None,
                model=None, api_key=None, api_key_env="",
            )  # fmt: skip
    if choice.model and llm.backend != "embedded":  # the embedded model is one file, loaded once
        llm.model = choice.model
    if choice.api_key and llm.backend == "openai":
        llm.api_key, llm.api_key_env = choice.api_key, ""
    refuse_app_address(llm, app)
    return llm


def same_server(a: str | None, b: str | None) -> bool:
    """Whether two base URLs name the same server and path (scheme and host case, default ports and a trailing
    slash aside)."""
    return a is not None and b is not None and _normal(a) == _normal(b)


def client_key(llm: LLMSettings) -> str:
    """What makes two clients the same: every setting they use, the API key by its digest only."""
    skipped = ("api_key", "api_key_env", "servers")
    fields = {f.name: getattr(llm, f.name) for f in dataclasses.fields(llm) if f.name not in skipped}
    fields["base_url"] = llm.resolved_base_url()
    key = llm.resolved_api_key() if llm.backend == "openai" else None
    fields["api_key"] = hashlib.sha256(key.encode()).hexdigest() if key else None
    return json.dumps(fields, sort_keys=True, default=str)


def _entry_named(settings: Settings, name: str) -> dict[str, Any] | None:
    return next((entry for entry in settings.llm.servers if entry.get("name") == name), None)


def _entry_at(settings: Settings, backend: str, target: str | None) -> dict[str, Any] | None:
    """The ``llm.servers`` entry of ``backend`` at ``target`` (for the embedded backend, any entry of it)."""
    for entry in settings.llm.servers:
        if entry.get("backend") != backend:
            continue
        if backend == "embedded" or same_server(_target_url(backend, entry.get("base_url")), target):
            return entry
    return None


def _entry_settings(configured: LLMSettings, entry: Mapping[str, Any]) -> LLMSettings:
    """The settings of a listed server: the configured generation settings, the entry's server, model and key."""
    key_env = entry.get("api_key_env")
    backend = entry["backend"]
    if backend == "embedded":  # one model file, loaded once: the same settings whichever way it is chosen
        model = configured.model if configured.backend == "embedded" else None
        return dataclasses.replace(
            configured, backend=backend, base_url=None, model=model, api_key=None, api_key_env=""
        )
    return dataclasses.replace(
        configured,
        backend=backend,
        base_url=entry.get("base_url"),
        model=entry.get("model"),
        api_key=os.environ.get(key_env) if key_env else None,
        api_key_env="",
    )


def _target_url(backend: str, base_url: str | None) -> str | None:
    """The URL requests would go to (the backend's default when ``base_url`` is None); raises ``ChoiceRefused``
    for one that is not an http(s) URL with a host."""
    if backend == "embedded":
        return None
    url = LLMSettings(backend=backend, base_url=base_url).resolved_base_url()
    try:
        parts = urlsplit(url or "")
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ChoiceRefused(N_("'{url}' is not a server URL"), url=base_url) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ChoiceRefused(N_("'{url}' is not an http:// or https:// server URL"), url=base_url)
    return url


def _normal(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    path = parts.path.rstrip("/") + ("?" + parts.query if parts.query else "")
    return scheme, (parts.hostname or "").lower(), port, path


def _describe_target(backend: str, target: str | None) -> str:
    """The server of a refusal: its URL, or words (a ``Term``, worded in the refusal's language)."""
    if backend == "embedded":
        return Term(N_("the embedded model"))
    return target or Term(N_("that server"))
