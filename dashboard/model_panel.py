"""The model picker as plain functions: a tab's choice of backend, server, model and key, and its reachability.

A tab's choice is its own: it is kept in the tab's session store (``ids.LLM_CHOICE``) and sent with each of its
questions; the configured settings stay every other tab's, and a new tab's. What a visitor may choose, and where
API keys go, is decided by ``rag.llm_choice.resolve_choice`` on the server, whatever the page sends.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.i18n import N_, _, current_language
from rag.errors import ConfigError
from rag.llm_choice import LLMChoice, resolve_choice, same_server
from rag.settings import DEFAULT_OLLAMA_URL, LLMSettings, Settings, custom_llm_urls_allowed

BACKEND_OPTIONS = [
    {"label": N_("Embedded"), "value": "embedded", "title": N_("llama.cpp in this process: no server needed")},
    {"label": "Ollama", "value": "ollama"},
    {"label": N_("OpenAI-compatible"), "value": "openai", "title": N_("llama.cpp server, vLLM, LM Studio, ...")},
]
BACKEND_LABELS = {option["value"]: option["label"] for option in BACKEND_OPTIONS}
DEFAULT_URLS = {"ollama": DEFAULT_OLLAMA_URL, "openai": "http://127.0.0.1:8000/v1"}
CONFIGURED_SERVER = ":configured"
"""The server picker's value for the configured server (``llm.servers`` names are the others)."""
FALLBACK_NOTE = N_("This tab uses the configured model server.")
KEY_PLACEHOLDER = N_("API key for this tab (optional)")
KEY_SET_PLACEHOLDER = N_("an API key is set for this tab (type to replace, clear to remove)")
HIDDEN = {"display": "none"}
SHOWN: dict[str, str] = {}


@dataclass
class ModelPanelState:
    """What the model picker shows after a change or a refresh, and the tab's choice to keep."""

    ok: bool
    message: str
    models: list[str] = field(default_factory=list)
    model: str | None = None
    backend: str = "embedded"
    server: str | None = CONFIGURED_SERVER
    """The server picker's value: ``CONFIGURED_SERVER``, an ``llm.servers`` name, or None (the tab's own server)."""
    base_url: str = ""
    url_placeholder: str = ""
    url_disabled: bool = False
    key_shown: bool = False
    """The API key box is shown (OpenAI-compatible servers only)."""
    key_placeholder: str = KEY_PLACEHOLDER
    clear_key: bool = False
    """Empty the API key box (the server changed: a key typed for the old one is not sent to the new one)."""
    choice: dict[str, str] | None = None
    """The tab's choice to keep in its session store (None: the configured settings)."""
    label: str | None = None
    """The badge's word when it is not "reachable" / "not reachable" (``refused``)."""


def url_placeholder(backend: str) -> str:
    """The hint in the URL box: the address used when the box is empty."""
    if backend == "embedded":
        return _("not needed for the embedded model")
    return _("default: {url}").format(url=DEFAULT_URLS.get(backend, ""))


def backend_label(backend: str) -> str:
    """A backend's name in the current language."""
    return _(BACKEND_LABELS[backend]) if backend in BACKEND_LABELS else backend


def backend_options() -> list[dict[str, str]]:
    """The backend picker's options in the current language."""
    return [{key: (_(text) if key in ("label", "title") else text) for key, text in option.items()}
            for option in BACKEND_OPTIONS]


def server_options(settings: Settings) -> list[dict[str, str]]:
    """The server picker: the configured server, then each ``llm.servers`` entry, by name (never by URL)."""
    llm = settings.llm
    configured = backend_label(llm.backend) + (f", {llm.model}" if llm.model else "")
    options = [{"label": _("Configured ({server})").format(server=configured), "value": CONFIGURED_SERVER}]
    for entry in settings.llm.servers:
        options.append({"label": f"{entry['name']} ({backend_label(entry['backend'])})",
                        "value": entry["name"]})  # fmt: skip
    return options


def apply_model_choice(
    engine: Any,
    *,
    trigger: str | None,
    stored: Any = None,
    backend: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    server: str | None = None,
    api_key: str | None = None,
) -> ModelPanelState:
    """Apply what the user changed to the tab's choice (``stored``, from its session store), then ask the chosen
    backend how it is. The engine's settings are never changed.

    ``trigger`` names what changed: ``"server"`` (a configured or listed server), ``"backend"`` (switch backend;
    URL and model start from its defaults), ``"refresh"`` (use the URL in the box; check again), ``"model"``,
    ``"api_key"`` (the key typed for this tab), or None (page load: only look). A choice the app does not allow
    is refused with the reason, and the tab goes back to the configured settings.
    """
    settings: Settings = engine.settings
    choice = LLMChoice.from_data(stored)
    shown = _settings_or_configured(engine, choice)
    new = choice
    if trigger == "server":
        new = LLMChoice() if not server or server == CONFIGURED_SERVER else LLMChoice(server=server)
    elif trigger == "backend" and backend and backend != shown.backend:
        new = LLMChoice(backend=backend)
    elif trigger == "refresh":
        url = (base_url or "").strip() or None
        if url != (_shown_url(settings, shown) or None):
            new = LLMChoice(backend=shown.backend, base_url=url)
    elif trigger == "model" and model:
        new = dataclasses.replace(choice, model=model)
    elif trigger == "api_key":
        new = dataclasses.replace(choice, api_key=(api_key or "").strip() or None)
    clear_key = trigger in ("server", "backend", "refresh") and new is not choice
    refused = ""
    try:
        llm = resolve_choice(settings, new, engine.app_address)
    except ConfigError as exc:
        refused = f"{exc.worded(current_language()).rstrip('.')}. {_(FALLBACK_NOTE)}"
        new, llm, clear_key = LLMChoice(), settings.llm, True
    if new.server is None and _server_value(settings, new, llm) == CONFIGURED_SERVER:
        new = LLMChoice(model=new.model, api_key=new.api_key)  # the configured server, however it was named
    status = engine.backend_status(llm, fresh=trigger == "refresh")
    models = list(status.models or [])
    if status.ok and models and llm.backend != "embedded" and not llm.model:
        new = dataclasses.replace(new, model=models[0])
        llm = dataclasses.replace(llm, model=models[0])
    state = _state(settings, new, llm, ok=status.ok and not refused, message=refused or status.message, models=models)
    state.clear_key = clear_key
    state.label = _("refused") if refused else None
    return state


def tab_llm(engine: Any, stored: Any) -> tuple[LLMSettings | None, str]:
    """The model settings of a tab's question, from its session store: None for the configured ones; a choice the
    app does not allow (a crafted request) falls back to them, with the message to show."""
    choice = LLMChoice.from_data(stored)
    if choice.is_default:
        return None, ""
    try:
        return resolve_choice(engine.settings, choice, engine.app_address), ""
    except ConfigError as exc:
        return None, f"{exc.worded(current_language()).rstrip('.')}. {_(FALLBACK_NOTE)}"


class TabEngine:
    """The engine as one tab's questions see it: ``chat_stream`` answers with the tab's model settings."""

    def __init__(self, engine: Any, llm: LLMSettings | None) -> None:
        self._engine = engine
        self._llm = llm

    def chat_stream(self, *args: Any, **kwargs: Any) -> None:
        self._engine.chat_stream(*args, llm=self._llm, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def _settings_or_configured(engine: Any, choice: LLMChoice) -> LLMSettings:
    try:
        return resolve_choice(engine.settings, choice, None)
    except ConfigError:
        return engine.settings.llm


def _shown_url(settings: Settings, llm: LLMSettings) -> str:
    """The URL box's text for ``llm``: empty when visitors may not name servers (the box is hidden then)."""
    if llm.backend == "embedded" or not custom_llm_urls_allowed(settings):
        return ""
    return llm.base_url or ""


def _state(
    settings: Settings, choice: LLMChoice, llm: LLMSettings, *, ok: bool, message: str, models: list[str]
) -> ModelPanelState:
    chosen = llm.model
    if llm.backend == "embedded" and models:
        chosen = chosen if chosen in models else models[0]
    allowed = custom_llm_urls_allowed(settings)
    return ModelPanelState(
        ok=ok,
        message=message,
        models=models,
        model=chosen,
        backend=llm.backend,
        server=_server_value(settings, choice, llm),
        base_url=_shown_url(settings, llm),
        url_placeholder=url_placeholder(llm.backend),
        url_disabled=llm.backend == "embedded" or not allowed,
        key_shown=llm.backend == "openai",
        key_placeholder=_(KEY_SET_PLACEHOLDER) if choice.api_key else _(KEY_PLACEHOLDER),
        choice=choice.to_data(),
    )


def _server_value(settings: Settings, choice: LLMChoice, llm: LLMSettings) -> str | None:
    if choice.server is not None:
        return choice.server
    configured = settings.llm
    if llm.backend == configured.backend and (
        llm.backend == "embedded" or same_server(llm.resolved_base_url(), configured.resolved_base_url())
    ):
        return CONFIGURED_SERVER
    return None


def model_options(models: list[str], current: str | None) -> list[dict[str, str]]:
    """Dropdown options: the server's models, plus the configured one when the server did not list it."""
    names = list(models)
    if current and current not in names:
        names.insert(0, current)
    return [{"label": name, "value": name} for name in names]


def status_badge(ok: bool, message: str, label: str | None = None) -> list[Any]:
    """ "● reachable" in green, or "● not reachable" (or ``label``) in red with the reason."""
    label = label or (_("reachable") if ok else _("not reachable"))
    return [
        html.Span(className=f"dot {'ok' if ok else 'down'}"),
        html.Span(label, className="status-label"),
        html.Span(message, className="status-message", title=message),
    ]


def model_bar(settings: Settings) -> html.Div:
    """The model picker as a new tab first shows it: the configured settings (the tab's own choice, kept in its
    session store, is shown by the first callback). When visitors may not name servers of their own, it offers the
    configured server and the ``llm.servers`` entries by name, and no backend or URL box."""
    llm = settings.llm
    allowed = custom_llm_urls_allowed(settings)
    servers_shown = not allowed or bool(settings.llm.servers)
    return html.Div(
        className="model-bar",
        children=[
            html.Label(
                [
                    _("Server"),
                    dcc.Dropdown(
                        id=ids.SERVER_SELECT,
                        options=server_options(settings),
                        value=CONFIGURED_SERVER,
                        clearable=False,
                        searchable=False,
                        placeholder=_("a server of this tab's own"),
                    ),
                ],
                className="field server",
                style=SHOWN if servers_shown else HIDDEN,
            ),
            html.Label(
                [
                    _("Backend"),
                    dcc.Dropdown(
                        id=ids.BACKEND_SELECT,
                        options=backend_options(),
                        value=llm.backend,
                        clearable=False,
                        searchable=False,
                        disabled=not allowed,
                    ),
                ],
                className="field backend",
                style=SHOWN if allowed else HIDDEN,
            ),
            html.Label(
                [
                    _("Model"),
                    dcc.Dropdown(
                        id=ids.MODEL_SELECT,
                        options=model_options([], llm.model),
                        value=llm.model,
                        clearable=False,
                        placeholder=_("server default"),
                    ),
                ],
                className="field model",
            ),
            html.Label(
                [
                    _("Server URL"),
                    dcc.Input(
                        id=ids.BASE_URL_INPUT,
                        type="text",
                        value=_shown_url(settings, llm),
                        placeholder=url_placeholder(llm.backend),
                        disabled=llm.backend == "embedded" or not allowed,
                        debounce=True,
                    ),
                ],
                className="field url",
                style=SHOWN if allowed else HIDDEN,
            ),
            html.Label(
                [
                    _("API key"),
                    dcc.Input(
                        id=ids.API_KEY_INPUT,
                        type="password",
                        value="",
                        placeholder=_(KEY_PLACEHOLDER),
                        autoComplete="off",
                        debounce=True,
                    ),
                ],
                id=ids.API_KEY_FIELD,
                className="field api-key",
                title=_("Sent only to this tab's server, kept only in this tab (never saved with the conversation)"),
                style=SHOWN if llm.backend == "openai" else HIDDEN,
            ),
            html.Button(
                _("Refresh"),
                id=ids.REFRESH_MODELS_BUTTON,
                n_clicks=0,
                className="button secondary",
                title=_("Apply the URL and ask the server again"),
            ),
            html.Div(
                id=ids.BACKEND_STATUS,
                className="backend-status",
                children=[html.Span(className="dot unknown"), html.Span(_("checking…"), className="status-label")],
            ),
        ],
    )
