"""What ``GET /healthz`` reports: whether the app, its model backend, its shared state (Redis, with several
workers) and its dataset store answer."""

from __future__ import annotations

from typing import Any


def health_report(engine: Any) -> dict[str, Any]:
    """``status`` is ``ok`` when every check passed, ``failing`` otherwise; each check says why."""
    checks: dict[str, dict[str, Any]] = {"app": {"ok": True}}
    try:
        status = engine.backend_status()
        checks["llm"] = {"ok": bool(status.ok), "backend": engine.settings.llm.backend, "message": status.message}
    except Exception as exc:  # a health check reports, it never raises
        checks["llm"] = {"ok": False, "backend": engine.settings.llm.backend, "message": str(exc)}
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
    info = engine.dataset_info
    report = {
        "status": "ok" if all(check["ok"] for check in checks.values()) else "failing",
        "checks": checks,
        "dataset": info.name if info else None,
        "warm": engine.warm,  # the embedding model is loaded: the first question will not wait for it
    }
    return report
