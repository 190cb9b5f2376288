"""Who is asking: each browser's id, the signed-in user, and what their scope may see.

When visitors are isolated (``rag.settings.visitors_isolated``: the app is served beyond loopback, or by several
workers, or the setting says so; or sign-in is configured), every request has a **scope**:

- ``user:<name>`` when there is sign-in: ``auth.users_file`` (HTTP basic sign-in by ``dash_auth.BasicAuth``)
  or ``auth.trusted_header`` (the user named by a header the reverse proxy sets; requests without it get 401);
  a user has one scope across their browsers;
- ``browser:<id>`` otherwise: a random id (``secrets.token_urlsafe``) in an HttpOnly, SameSite=Lax cookie
  (Secure over https), given to a browser by its first request.

A scope sees only the datasets it loaded or opened, and those shared with everyone (``rag.dataset_access``),
and only the answers and loading jobs it started. When visitors are not isolated (one analyst on loopback),
there is one scope for everybody and nothing is checked.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import g, has_request_context, jsonify, request

from rag.dataset_access import (
    ANSWER,
    EVERYBODY,
    JOB,
    DatasetAccess,
    DatasetUse,
    make_dataset_access,
    make_owners,
)
from rag.errors import ConfigError
from rag.settings import AuthSettings, Settings, visitors_isolated

__all__ = ["ANSWER", "JOB", "BROWSER_COOKIE", "Visitors", "install_visitors", "read_users_file"]

BROWSER_COOKIE = "rag_browser"
BROWSER_ID_BYTES = 24
_BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{32}")
"""What ``secrets.token_urlsafe(BROWSER_ID_BYTES)`` makes; a cookie of another shape is replaced."""
COOKIE_MAX_AGE = 180 * 24 * 3600
"""A browser keeps its id (and so its datasets) this long after its last new id."""
PUBLIC_PATHS = ("/healthz",)
"""Paths served without sign-in and without a browser id (a load balancer's health check)."""
NOBODY = "nobody"
"""The scope outside a request: it records nothing that any request's scope sees."""
SIGN_IN_REQUIRED = "Sign-in required: this app is reached through its sign-in proxy only."

SignedIn = Callable[[], "str | None"]


class Visitors:
    """The scope of the request being served, and what it may see (everything, when not isolated)."""

    def __init__(self, *, isolated: bool, access: DatasetAccess | None = None, owners: Any = None) -> None:
        self.isolated = isolated
        self._access = access
        self._owners = owners

    # ------------------------------------------------------------------ who
    def scope(self) -> str:
        """The scope of the current request (``EVERYBODY`` when not isolated). A request that got none (outside a
        request, or one the hooks did not see) has a scope of its own that sees nothing."""
        if not self.isolated:
            return EVERYBODY
        if not has_request_context():
            return NOBODY
        if not g.get("rag_scope"):
            g.rag_scope = f"browser:unknown-{secrets.token_urlsafe(16)}"
        return g.rag_scope

    def tab(self, tab: str | None) -> str:
        """The engine's name of a tab: the page's tab id, within the scope when isolated (a tab id sent by
        another browser never names this one's loads)."""
        tab = tab or ""
        return json.dumps([self.scope(), tab]) if self.isolated else tab  # unambiguous, whatever the names hold

    # ------------------------------------------------------------------ datasets
    def dataset(self, dataset_id: Any) -> str | None:
        """``dataset_id`` (from a request) when the scope may use it, else None: "not found"."""
        if not isinstance(dataset_id, str) or not dataset_id:
            return None
        if not self.isolated:
            return dataset_id
        return dataset_id if self._access.may_use(self.scope(), dataset_id) else None

    def recorder(self, *, loaded: bool) -> Callable[[str], None]:
        """Records a dataset for the current scope, from any thread (a background load reports its dataset
        after the request that started it ended)."""
        if not self.isolated:
            return lambda _dataset_id: None
        scope, access = self.scope(), self._access
        return lambda dataset_id: access.record(scope, dataset_id, loaded=loaded)

    def record(self, dataset_id: str, *, loaded: bool) -> None:
        """The current scope loaded (``loaded``) or opened ``dataset_id``."""
        self.recorder(loaded=loaded)(dataset_id)

    def visible(self, limit: int = 20) -> list[DatasetUse] | None:
        """The datasets of the scope and those shared with everyone, most recent first; None when not isolated
        (every stored dataset)."""
        return self._access.visible(self.scope(), limit) if self.isolated else None

    def latest(self) -> str | None:
        """The scope's most recent dataset (what its new tabs start with); None when not isolated."""
        return self._access.latest(self.scope()) if self.isolated else None

    def may_share(self, dataset_id: Any) -> bool:
        return self.isolated and self._access.may_share(self.scope(), dataset_id)

    def is_shared(self, dataset_id: Any) -> bool:
        return self.isolated and self._access.is_shared(dataset_id)

    def share(self, dataset_id: Any, shared: bool) -> bool:
        """Share the scope's dataset with everyone, or stop; False when the scope did not load it."""
        return self.isolated and self._access.share(self.scope(), dataset_id, shared)

    # ------------------------------------------------------------------ answers and loading jobs
    def claim(self, kind: str, item_id: str) -> None:
        """The current scope started the answer or loading job ``item_id`` (``ANSWER`` or ``JOB``)."""
        if self.isolated and item_id:
            self._owners.claim(kind, item_id, self.scope())

    def may_read(self, kind: str, item_id: str) -> bool:
        """Whether the current scope may poll or stop ``item_id``: one another scope started is refused. An id
        nobody claimed (an answer started outside the page) is not refused: an id is never shown to anyone but
        the scope that started it."""
        if not self.isolated:
            return True
        owner = self._owners.owner(kind, item_id)
        return owner is None or owner == self.scope()


def install_visitors(app: Any, settings: Settings, *, shared_state: Any = None) -> Visitors:
    """Set up sign-in (when configured) and, when visitors are isolated, the hooks that give every request its
    scope; return the app's ``Visitors``. ``shared_state`` is the engine's Redis connection (several workers)."""
    signed_in, header_required = install_sign_in(app, settings.auth)
    isolated = visitors_isolated(settings) or signed_in is not None
    if not isolated:
        return Visitors(isolated=False)
    _install_scope_hooks(app.server, signed_in, header_required=header_required)
    return Visitors(
        isolated=True, access=make_dataset_access(settings, shared_state), owners=make_owners(shared_state)
    )


def install_sign_in(app: Any, auth: AuthSettings) -> tuple[SignedIn | None, bool]:
    """Sign-in from the settings: the function naming the signed-in user of a request (None: no sign-in), and
    whether a request naming none is refused here (the trusted header; ``dash_auth`` refuses its own)."""
    if auth.users_file and auth.trusted_header:
        raise ConfigError("auth.users_file and auth.trusted_header: set one way of signing in, not both")
    if auth.users_file:
        basic_sign_in(app, read_users_file(auth.users_file))

        def basic_user() -> str | None:  # checked by dash_auth before any hook of ours runs
            return request.authorization.username if request.authorization else None

        return basic_user, False
    if auth.trusted_header:
        header = auth.trusted_header

        def header_user() -> str | None:
            return (request.headers.get(header) or "").strip() or None

        return header_user, True
    return None, False


def basic_sign_in(app: Any, users: dict[str, str]) -> Any:
    """HTTP basic sign-in for ``users`` by ``dash_auth.BasicAuth``: every path but ``PUBLIC_PATHS`` asks for it
    (the page's layout and scripts too).

    The ``Authorization`` header is parsed by werkzeug (a malformed one is a 401, not an error) and passwords
    are compared in constant time (``hmac.compare_digest``)."""
    import dash_auth

    expected = {name: password.encode("utf-8") for name, password in users.items()}

    def check(username: str, password: str) -> bool:
        known = expected.get(username)
        given = password.encode("utf-8")
        return hmac.compare_digest(known if known is not None else b"\0" * len(given), given) and known is not None

    class BasicSignIn(dash_auth.BasicAuth):
        def is_authorized(self) -> bool:
            if request.path in PUBLIC_PATHS:
                return True
            credentials = request.authorization
            if credentials is None or credentials.type != "basic" or not credentials.username:
                return False
            return check(credentials.username, credentials.password or "")

    # no public_routes: dash_auth would then make the page's own routes (its layout, its scripts) public too
    return BasicSignIn(app, auth_func=check)


def read_users_file(path: str | Path) -> dict[str, str]:
    """``{"user": "password", ...}`` from ``auth.users_file``; a ``ConfigError`` naming the file otherwise."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"auth.users_file {path} cannot be read: {exc}") from exc
    try:
        users = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"auth.users_file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if (
        not isinstance(users, dict)
        or not users
        or not all(isinstance(name, str) and name and ":" not in name for name in users)
        or not all(isinstance(password, str) and password for password in users.values())
    ):
        raise ConfigError(
            f'auth.users_file {path} must hold a JSON object {{"user": "password", ...}} with at least one user '
            "(names without ':', passwords not empty)"
        )
    return users


def _install_scope_hooks(server: Any, signed_in: SignedIn | None, *, header_required: bool) -> None:
    """Give every request its scope (before it is served), and a new browser its id cookie (after)."""

    @server.before_request
    def identify_visitor() -> Any:
        if request.path in PUBLIC_PATHS:
            return None
        user = signed_in() if signed_in is not None else None
        if user:
            g.rag_scope = f"user:{user}"
            return None
        if header_required:
            return jsonify(error=SIGN_IN_REQUIRED), 401
        browser = request.cookies.get(BROWSER_COOKIE, "")
        if not _BROWSER_ID.fullmatch(browser):
            browser = g.rag_new_browser = secrets.token_urlsafe(BROWSER_ID_BYTES)
        g.rag_scope = f"browser:{browser}"
        return None

    @server.after_request
    def give_browser_id(response: Any) -> Any:
        browser = g.get("rag_new_browser")
        if browser:
            response.set_cookie(
                BROWSER_COOKIE,
                browser,
                max_age=COOKIE_MAX_AGE,
                path="/",
                httponly=True,
                samesite="Lax",
                secure=request.is_secure,
            )
        return response
