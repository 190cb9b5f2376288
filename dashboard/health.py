"""What ``GET /healthz`` reports: whether the app, its configured model backend, its shared state (Redis, with
several workers) and its dataset store answer.

It answers in well under a second whatever the model server does: the model's reachability is read from the
background checks of ``rag.backend_probe`` (waiting at most ``MODEL_WAIT_SECONDS`` for a new one). It reports the
configured backend only, never a server a tab chose, and names no dataset (a visitor's file name is theirs).
"""

from __future__ import annotations

from typing import Any

MODEL_WAIT_SECONDS = 0.5
"""Longest wait for a new check of the model server; the last result known is reported after it."""


def health_report(engine: Any) -> dict[str, Any]:
    """``status`` is ``ok`` when every check passed, ``failing`` otherwise; each check says why."""
    checks: dict[str, dict[str, Any]] = {"app": {"ok": True}}
    backend = engine.settings.llm.backend
    try:
        status = engine.backend_status(wait=MODEL_WAIT_SECONDS)
        checks["llm"] = {"ok": bool(status.ok), "backend": backend, "message": status.message}
    except Exception as exc:  # a health check reports, it never raises
        checks["llm"] = {"ok": False, "backend": backend, "message": str(exc)}
    if engine.shared_state is not None:  # answers and Stops shared through Redis
        try:
            engine.shared_state.ping()
            checks["shared_state"] = {"ok": True, "backend": "redis"}
        except Exception as exc:
            checks["shared_state"] = {"ok": False, "backend": "redis", "message": str(exc)}
    store = engine.store
    if store is not None:
        try:
            store.directory.mkdir(parents=True, exist_ok=True)  # cheap: probed often, it reads no entry
            checks["dataset_store"] = {"ok": True, "directory": str(store.directory)}
        except OSError as exc:
            checks["dataset_store"] = {"ok": False, "directory": str(store.directory), "message": str(exc)}
    return {
        "status": "ok" if all(check["ok"] for check in checks.values()) else "failing",
        "checks": checks,
        "warm": engine.warm,  # the embedding model is loaded: the first question will not wait for it
    }
