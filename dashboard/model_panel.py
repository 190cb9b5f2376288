"""The model picker as plain functions: apply a choice to the engine, describe the backend's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dash import html

from rag.errors import ConfigError, LLMError
from rag.settings import DEFAULT_OLLAMA_URL

BACKEND_OPTIONS = [
    {"label": "Embedded", "value": "embedded", "title": "llama.cpp in this process: no server needed"},
    {"label": "Ollama", "value": "ollama"},
    {"label": "OpenAI-compatible", "value": "openai", "title": "llama.cpp server, vLLM, LM Studio, ..."},
]
DEFAULT_URLS = {"ollama": DEFAULT_OLLAMA_URL, "openai": "http://127.0.0.1:8000/v1"}


@dataclass
class ModelPanelState:
    """What the model picker shows after a change or a refresh."""

    ok: bool
    message: str
    models: list[str] = field(default_factory=list)
    model: str | None = None
    base_url: str = ""
    url_placeholder: str = ""
    url_disabled: bool = False


def url_placeholder(backend: str) -> str:
    """The hint in the URL box: the address used when the box is empty."""
    if backend == "embedded":
        return "not needed for the embedded model"
    return f"default: {DEFAULT_URLS.get(backend, '')}"


def apply_model_choice(
    engine: Any, *, trigger: str | None, backend: str | None, base_url: str | None, model: str | None
) -> ModelPanelState:
    """Apply what the user changed to the engine, then ask the backend how it is.

    ``trigger`` names what changed: ``"backend"`` (switch backend; URL and model start from its
    defaults), ``"refresh"`` (use the URL in the box; check again), ``"model"`` (use this model),
    or None (page load: only look).
    """
    try:
        if trigger == "backend" and backend and backend != engine.settings.llm.backend:
            engine.configure_llm(backend=backend, base_url=None, model=None)
        elif trigger == "refresh":
            url = (base_url or "").strip() or None
            if url != engine.settings.llm.base_url:
                engine.configure_llm(base_url=url)
        elif trigger == "model" and model and model != engine.settings.llm.model:
            engine.configure_llm(model=model)
    except ConfigError as exc:
        return _state(engine, ok=False, message=str(exc), models=[])
    try:
        status = engine.backend_status()
    except LLMError as exc:
        return _state(engine, ok=False, message=str(exc), models=[])
    models = list(status.models or [])
    llm = engine.settings.llm
    if status.ok and models and llm.backend != "embedded" and not llm.model:
        try:
            engine.configure_llm(model=models[0])
        except ConfigError as exc:
            return _state(engine, ok=False, message=str(exc), models=models)
    return _state(engine, ok=status.ok, message=status.message, models=models)


def _state(engine: Any, *, ok: bool, message: str, models: list[str]) -> ModelPanelState:
    llm = engine.settings.llm
    chosen = llm.model
    if llm.backend == "embedded" and models:
        chosen = chosen if chosen in models else models[0]
    return ModelPanelState(
        ok=ok,
        message=message,
        models=models,
        model=chosen,
        base_url=llm.base_url or "",
        url_placeholder=url_placeholder(llm.backend),
        url_disabled=llm.backend == "embedded",
    )


def model_options(models: list[str], current: str | None) -> list[dict[str, str]]:
    """Dropdown options: the server's models, plus the configured one when the server did not list it."""
    names = list(models)
    if current and current not in names:
        names.insert(0, current)
    return [{"label": name, "value": name} for name in names]


def status_badge(ok: bool, message: str) -> list[Any]:
    """ "● reachable" in green, or "● not reachable" in red with the reason."""
    label = "reachable" if ok else "not reachable"
    return [
        html.Span(className=f"dot {'ok' if ok else 'down'}"),
        html.Span(label, className="status-label"),
        html.Span(message, className="status-message", title=message),
    ]
