"""Run the dashboard: ``python app.py [--host 127.0.0.1] [--port 8050] [--config PATH] [--threads N]
[--workers N] [--debug]``.

The page is served by waitress, a production WSGI server (``--debug`` uses Flask's development server
with Dash's dev tools instead). ``--workers N`` runs N processes under gunicorn, which share answers,
Stops and loading jobs through Redis (``state.backend: redis``) and datasets through the dataset store;
``gunicorn -w 4 -k gthread --threads 16 'app:wsgi_app()'`` does the same by hand. ``GET /healthz``
tells whoever deploys it whether the app, its model backend and Redis answer.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from dash import Dash  # noqa: E402
from flask import jsonify, request  # noqa: E402

from dashboard.callbacks import register_callbacks  # noqa: E402
from dashboard.health import health_report  # noqa: E402
from dashboard.i18n import _, format_number, register_language_switch  # noqa: E402
from dashboard.layout import build_layout  # noqa: E402
from dashboard.polling import response_hook  # noqa: E402
from dashboard.request_guard import install_request_guards  # noqa: E402
from dashboard.uploads import request_size_limit  # noqa: E402
from dashboard.visitors import install_visitors  # noqa: E402
from rag.engine import RAGEngine, configure_rag_engine, get_rag_engine  # noqa: E402
from rag.errors import ConfigError  # noqa: E402
from rag.settings import Settings, load_settings  # noqa: E402

ASSETS_DIR = Path(__file__).resolve().parent / "dashboard" / "assets"
TITLE = "JSON RAG Chat"
CONFIG_ENV = "JSON_RAG_CHAT_CONFIG"
"""The settings file of ``wsgi_app()`` (what ``--config`` names), for processes started by gunicorn."""
HOST_ENV, PORT_ENV = "JSON_RAG_CHAT_HOST", "JSON_RAG_CHAT_PORT"
"""The address ``--host`` and ``--port`` bind gunicorn to, for its workers' ``server.host`` and ``server.port``."""
WORKERS_NEED_REDIS = (
    "several workers share answers, Stops and loading jobs through Redis: set \"state\": "
    "{\"backend\": \"redis\", \"redis_url\": \"redis://127.0.0.1:6379/0\"} in the config file"
)
SERVER_THREADS = 64
"""Requests served at once: each streaming tab holds one answer poll for up to a second (see
``dashboard.polling.HOLD_MS``), so a few threads would leave the other tabs' requests queued."""


def create_app(settings: Settings | None = None, *, engine: RAGEngine | None = None) -> Dash:
    """The Dash app over ``engine``, or over a process-wide engine made from ``settings``."""
    if engine is None:
        engine = configure_rag_engine(settings or load_settings())
    app = Dash(
        __name__,
        title=TITLE,
        update_title=None,
        assets_folder=str(ASSETS_DIR),
        hooks={"request_post": response_hook()},
    )

    # first of the request hooks: sign-in, then each request's scope (a browser id cookie, or the signed-in user)
    visitors = install_visitors(app, engine.settings, shared_state=engine.shared_state)
    engine.answer_last_by_default = not visitors.isolated  # isolated: the dataset loaded last may be anyone's
    # the Host check goes before all of them (DNS rebinding); callback bodies are checked after them
    install_request_guards(app, engine.settings.server)

    def current_engine() -> RAGEngine:
        return engine

    def layout() -> object:  # runs on every page load: nothing per-visitor is made at import time
        info = None if visitors.isolated else engine.dataset_info  # isolated: nobody's dataset, see stores()
        return build_layout(engine.settings, info.to_dict() if info else None, isolated=visitors.isolated)

    app.layout = layout
    register_callbacks(app, engine=current_engine, visitors=visitors)
    register_language_switch(app)

    max_mb = engine.settings.data.max_upload_mb
    app.server.config["MAX_CONTENT_LENGTH"] = request_size_limit(max_mb)

    @app.server.before_request
    def note_port() -> None:  # the port this app serves on: a model server there is refused (it would ask itself)
        engine.app_address.note_port(request.environ.get("SERVER_PORT"))

    @app.server.after_request
    def worker_header(response: Any) -> Any:  # which process served it, for whoever runs several workers
        response.headers["X-Worker-Pid"] = str(os.getpid())
        return response

    @app.server.get("/healthz")
    def healthz():
        report = health_report(engine)
        return jsonify(report), 200 if report["status"] == "ok" else 503

    @app.server.errorhandler(413)
    def too_large(_error: Exception):  # the browser checks sizes first; this guards direct requests
        message = _("The upload is larger than the limit of {mb} MB (setting data.max_upload_mb).")
        message = message.format(mb=format_number(max_mb))
        return jsonify(error=message), 413

    return app


def wsgi_app() -> Any:
    """The WSGI app for gunicorn (``gunicorn 'app:wsgi_app()'``), with the settings ``JSON_RAG_CHAT_CONFIG``
    names (``config/config.json`` when unset) and the address ``python app.py --workers`` binds it to; Dash's
    setup is done before it serves (see ``serving``)."""
    port = os.environ.get(PORT_ENV)
    bound = {"host": os.environ.get(HOST_ENV), "port": int(port) if port and port.isdigit() else None}
    return serving(create_app(load_settings(os.environ.get(CONFIG_ENV) or None, {"server": bound}))).server


_DASH_SETUP_LOCK = threading.Lock()


def serving(app: Dash) -> Dash:
    """``app`` about to serve, set up: its engine loads the embedding model in the background meanwhile.

    Dash (4.4) sets itself up in a ``before_request`` hook of its first request, and marks that done before it
    registers the component libraries: the other first requests of a fresh worker (the page's scripts, fetched
    at once) were answered 500, "dash is not a registered library". The setup is run here, once, instead."""
    with _DASH_SETUP_LOCK, app.server.test_request_context("/"):
        app._setup_server()  # noqa: SLF001  (returns at once when done already; the hook then does nothing)
    threading.Thread(target=get_rag_engine().warm_up, name="warm-up", daemon=True).start()
    return app


def gunicorn_command(args: argparse.Namespace) -> list[str]:
    """The gunicorn command that runs ``args.workers`` workers of this app."""
    return [
        sys.executable, "-m", "gunicorn",
        "--workers", str(args.workers),
        "--worker-class", "gthread",
        "--threads", str(max(4, args.threads // 4)),
        "--bind", f"{args.host}:{args.port}",
        "--timeout", "120",
        "--chdir", str(Path(__file__).resolve().parent),
        "app:wsgi_app()",
    ]  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Chat with a JSON dataset through a local language model.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8050, help="port to listen on (default 8050)")
    parser.add_argument("--config", default=None, help="JSON settings file (default config/config.json when present)")
    parser.add_argument(
        "--threads", type=int, default=SERVER_THREADS, help=f"requests served at once (default {SERVER_THREADS})"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="processes serving the app (more than 1 needs state.backend: redis)"
    )
    parser.add_argument(
        "--debug", action="store_true", help="Flask's development server with Dash's dev tools, instead of waitress"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings(args.config, {"server": {"host": args.host, "port": args.port}})
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.workers > 1:
        if settings.state.backend != "redis":
            print(f"error: --workers {args.workers}: {WORKERS_NEED_REDIS}", file=sys.stderr)
            return 2
        if args.config:
            os.environ[CONFIG_ENV] = str(Path(args.config).resolve())
        os.environ[HOST_ENV], os.environ[PORT_ENV] = args.host, str(args.port)
        print(f"Serving on http://{args.host}:{args.port} (gunicorn, {args.workers} workers)", flush=True)
        os.execv(sys.executable, gunicorn_command(args))
    app = serving(create_app(settings))
    if args.debug:
        app.run(host=args.host, port=args.port, debug=True)
        return 0
    from waitress import serve

    print(f"Serving on http://{args.host}:{args.port} (waitress, {args.threads} threads)", flush=True)
    serve(app.server, host=args.host, port=args.port, threads=max(4, args.threads), ident="waitress")
    return 0


if __name__ == "__main__":
    sys.exit(main())
