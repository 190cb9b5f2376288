"""Checks every request passes before Flask and Dash see it, and the one-line error responses of the app.

Host check
    A page bound to loopback must not be reachable under another name: a site whose DNS name is made to
    point at 127.0.0.1 (DNS rebinding) would otherwise read the page and post callbacks as if it were the
    same origin. The ``Host`` header (without its port) must be one of ``HostPolicy.names``:

    * bound to loopback (``127.0.0.1``, ``localhost``, ``::1``): ``127.0.0.1``, ``localhost``, ``[::1]``, the
      bound name, and ``server.allowed_hosts``;
    * bound to an address of the machine (``192.168.1.5``): that, the loopback names and ``allowed_hosts``;
    * bound to every address (``0.0.0.0``, ``::``): the loopback names and ``allowed_hosts``; with no
      ``allowed_hosts`` any name is accepted, and a warning at start says to set it.

    ``"*"`` in ``allowed_hosts`` accepts any name. A request without a ``Host`` header (no browser sends
    one) is not refused; ``/healthz`` is not checked (load balancers probe it by address).

Callback bodies
    ``POST /_dash-update-component`` is the way into the page's server-side callbacks. Its body is checked
    against ``app.callback_map`` before Dash reads it (``check_callback_body``): a JSON object whose
    ``output`` names a server-side callback, whose ``outputs``, ``inputs`` and ``state`` are the ``{id,
    property, value}`` lists that callback declares, in order, whose ``changedPropIds`` name its inputs, and
    whose every input and state value has a type its component property can hold (``VALUE_RULES``, then
    ``PROP_RULES`` by property name; a property in neither may hold anything). Dash trusts the body: without
    this, a wrong body raised inside Dash or inside a callback and answered 500.

Error responses
    Refusals are ``400`` with ``{"error": "<one line>"}``. An exception raised by a callback that passed the
    checks (a genuine bug) stays a 500, answered ``{"error": "Internal error ..."}`` instead of Flask's HTML
    page (the traceback is logged, never sent); ``--debug`` keeps Flask's debugger.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dash import Dash
from dash._utils import stringify_id
from flask import Response, request
from werkzeug.exceptions import InternalServerError

from dashboard import ids
from rag.redis_buffer import is_answer_id
from rag.settings import ServerSettings

log = logging.getLogger(__name__)

UPDATE_PATH = "_dash-update-component"
UNCHECKED_PATHS = ("/healthz",)
"""Paths served whatever the ``Host`` header says (health probes name the server by its address)."""
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "[::]"})
ANY_HOST = "*"
MAX_HOST_CHARS = 260
"""A DNS name has at most 253 characters; a port and brackets add a few."""
INTERNAL_ERROR = "Internal error while answering this request; the app's log has the details."

_HOST_HEADER = re.compile(r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9_.-]+))(?::[0-9]{1,5})?")


# --------------------------------------------------------------------------------------------- responses
def error_response(message: str, status: int = 400) -> Response:
    """``{"error": message}`` with ``status``; the message is kept to one line."""
    line = " ".join(str(message).split())
    return Response(json.dumps({"error": line}), status=status, mimetype="application/json")


class Refused(ValueError):
    """A request refused before it reaches its route; the message is the one-line reason."""


# --------------------------------------------------------------------------------------------- hosts
def host_name(header: str) -> str | None:
    """The name in a ``Host`` header, lower-case and without port or brackets; None when it is not one."""
    match = _HOST_HEADER.fullmatch(header.strip()) if len(header) <= MAX_HOST_CHARS else None
    if match is None:
        return None
    name = match.group("v6") or match.group("name")
    return name.lower().rstrip(".")


@dataclass(frozen=True)
class HostPolicy:
    """Which ``Host`` header names the app answers to."""

    names: frozenset[str]
    """Accepted names (lower-case, without port or brackets)."""
    any_host: bool = False
    """Every name is accepted (bound to every address with no ``allowed_hosts``, or ``"*"`` listed)."""

    @classmethod
    def from_settings(cls, server: ServerSettings) -> "HostPolicy":
        bound = server.host.strip().lower()
        allowed = {_setting_name(entry) for entry in server.allowed_hosts}
        wildcard = bound in WILDCARD_HOSTS
        names = set(LOOPBACK_NAMES) | (allowed - {ANY_HOST})
        if not wildcard:
            names.add(bound.strip("[]").rstrip("."))
        any_host = ANY_HOST in allowed or (wildcard and not server.allowed_hosts)
        return cls(names=frozenset(names), any_host=any_host)

    def refusal(self, header: str | None) -> str | None:
        """Why a request with this ``Host`` header is refused, or None when it is accepted."""
        if header is None:
            return None
        name = host_name(header)
        if name is None:
            return "Bad Host header."
        if self.any_host or name in self.names:
            return None
        return f"Host {name!r} is not served here; add it to server.allowed_hosts to reach the app under that name."


def _setting_name(entry: str) -> str:
    entry = str(entry).strip()
    if entry == ANY_HOST:
        return ANY_HOST
    return host_name(entry) or entry.lower()


# --------------------------------------------------------------------------------------------- values
@dataclass(frozen=True)
class Rule:
    """What one input or state value may be."""

    expected: str
    """Named in the refusal: ``bad value for tab-id.data: expected <expected>``."""
    check: Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional(kind: type | tuple[type, ...]) -> Callable[[Any], bool]:
    return lambda value: value is None or isinstance(value, kind)


def _object_of(**fields: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """An object (or null) whose named fields, when present, pass their checks; other fields may hold anything."""
    return lambda value: value is None or (
        isinstance(value, dict) and all(check(value.get(name)) for name, check in fields.items())
    )


def _list_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or (isinstance(value, list) and all(check(item) for item in value))


_SCALAR = _optional((str, int, float, bool))
_COMPUTED = _object_of(assumptions=_optional(list), columns=_optional(list), rows=_optional(list), spec=_optional(dict))
TURN_FIELDS: dict[str, Callable[[Any], bool]] = {
    "id": lambda value: value is None or is_answer_id(value),
    "question": lambda value: isinstance(value, str),  # every turn has one (the model's history reads it)
    "answer": _optional(str),
    "status": _optional(str),
    "error": _optional(str),
    "asked_at": _optional(str),
    "sources": _list_of(_object_of(label=_SCALAR, record_id=_SCALAR, score=_SCALAR, text=_SCALAR)),
    "metrics": _optional(dict),
    "meta": _object_of(cited=_optional(list), notes=_optional(list), settings=_optional(dict), computed=_COMPUTED),
    "computed": _COMPUTED,
}
"""The fields of a stored turn (``dashboard.chat_view.new_turn``) the callbacks that draw or export a conversation
read, and what each may hold (a turn comes back from the tab's session storage, which the visitor can edit)."""


def _is_turns(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, list):
        return False
    return all(
        isinstance(turn, dict) and all(check(turn.get(name)) for name, check in TURN_FIELDS.items()) for turn in value
    )


COUNT = Rule("a whole number or null", lambda value: value is None or _is_int(value))
TEXT = Rule("a string or null", _optional(str))
FLAG = Rule("true, false or null", _optional(bool))
OBJECT = Rule("an object or null", _optional(dict))
ANSWER_ID = Rule("an answer id or null", lambda value: value is None or is_answer_id(value))
TAB = Rule("a tab id or null", lambda value: value is None or is_answer_id(value))
TURNS = Rule("a list of conversation turns or null", _is_turns)
ANYTHING = Rule("anything", lambda value: True)
SPEC_REQUEST = Rule(
    "an answer's action, spec and dataset, or null",
    _object_of(action=_optional(str), spec=_optional((str, dict)), dataset=_optional(str)),
)
SELECTION = Rule(
    "record ids selected by an answer, or null",
    _object_of(ids=_list_of(lambda item: isinstance(item, str)), text=_optional(str), spec=_optional(dict)),
)

VALUE_RULES: dict[tuple[str, str], Rule] = {
    (ids.TAB_ID, "data"): TAB,
    (ids.STORED_DATA, "data"): OBJECT,
    (ids.SOURCE_REQUEST, "data"): OBJECT,
    (ids.SPEC_REQUEST, "data"): SPEC_REQUEST,
    (ids.RECORDS_SELECTION, "data"): SELECTION,
    (ids.UPLOAD_GATE, "data"): OBJECT,
    (ids.UPLOAD, "contents"): TEXT,  # multiple=False: one data URL, never a list
    (ids.UPLOAD, "filename"): TEXT,
    (ids.DATA_MESSAGE, "children"): ANYTHING,  # component children; the callback only hears that they changed
    (ids.RECENT_DATASETS, "value"): TEXT,
    (ids.BACKEND_SELECT, "value"): TEXT,
    (ids.MODEL_SELECT, "value"): TEXT,
    (ids.BASE_URL_INPUT, "value"): TEXT,
    (ids.CHAT_INPUT, "value"): TEXT,
    (ids.CHAT_HISTORY_STORE, "data"): TURNS,
    (ids.HISTORY_RESTORE_REQUEST, "data"): TURNS,
    (ids.STREAMING_ACTIVE, "data"): FLAG,
    (ids.STREAMING_SESSION_ID, "data"): ANSWER_ID,
    (ids.SERVER_SELECT, "value"): TEXT,
    (ids.API_KEY_INPUT, "value"): TEXT,
    (ids.LLM_CHOICE, "data"): OBJECT,
}
"""The page's own inputs and states (``dashboard.layout``): what each component property holds there."""
PROP_RULES: dict[str, Rule] = {
    "n_clicks": COUNT,
    "n_submit": COUNT,
    "n_blur": COUNT,
    "n_intervals": COUNT,
    "disabled": FLAG,
}
"""Properties that hold the same kind of value on every component."""


def value_rule(component_id: Any, prop: str) -> Rule | None:
    """The rule for ``component_id.prop``, or None when it may hold anything."""
    if isinstance(component_id, str):
        rule = VALUE_RULES.get((component_id, prop))
        if rule is not None:
            return rule
    return PROP_RULES.get(prop)


# --------------------------------------------------------------------------------------------- callback bodies
def check_callback_body(body: Any, callback_map: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise ``Refused`` unless ``body`` is a request for one of ``callback_map``'s server-side callbacks, shaped
    as that callback declares, with values their properties can hold."""
    if not isinstance(body, dict):
        raise Refused("The callback request is not a JSON object.")
    key = body.get("output")
    if not isinstance(key, str):
        raise Refused("The callback request names no output.")
    spec = callback_map.get(key)
    if spec is None or "callback" not in spec:
        raise Refused("The callback request names no callback of this app.")
    if not spec.get("no_output"):
        _check_outputs(body.get("outputs"), spec["output"])
    inputs = _check_dependencies(body, "inputs", spec["inputs"])
    _check_dependencies(body, "state", spec.get("state") or [])
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(item, str) for item in changed):
        raise Refused("changedPropIds is not a list of strings.")
    if not set(changed) <= inputs:
        raise Refused("changedPropIds names a property that is not an input of this callback.")


def _check_outputs(given: Any, declared: Any) -> None:
    if not isinstance(declared, (list, tuple)):
        given = [given]
    if not isinstance(given, list) or len(given) != len(_as_list(declared)):
        raise Refused("outputs do not match the callback's outputs.")
    for item, output in zip(given, _as_list(declared)):
        if _is_pattern(output.component_id):  # a wildcard output: a list of matching components
            if not isinstance(item, list) or not all(isinstance(i, dict) for i in item):
                raise Refused("outputs do not match the callback's outputs.")
        elif not isinstance(item, dict) or not isinstance(item.get("property"), str):
            raise Refused("outputs do not match the callback's outputs.")
        elif _dependency_key(item.get("id"), item["property"]) != _dependency_key(
            output.component_id, output.component_property
        ):
            raise Refused("outputs do not match the callback's outputs.")


def _check_dependencies(body: Mapping[str, Any], field: str, declared: list[Mapping[str, Any]]) -> set[str]:
    """Check ``body[field]`` against the callback's declared inputs (or state); the ``id.prop`` names."""
    given = body.get(field, [])
    if not isinstance(given, list) or len(given) != len(declared):
        raise Refused(f"{field} do not match the callback's {field}.")
    names: set[str] = set()
    for item, wanted in zip(given, declared):
        component_id, prop = wanted["id"], wanted["property"]
        if _is_pattern(component_id):  # a wildcard id: a list of matching components (none on this page)
            if not isinstance(item, list) or not all(_is_dependency(i, prop) for i in item):
                raise Refused(f"{field} do not match the callback's {field}.")
            names.update(f"{_stringify(i['id'])}.{prop}" for i in item)
            continue
        if not _is_dependency(item, prop) or _dependency_key(item["id"], prop) != _dependency_key(component_id, prop):
            raise Refused(f"{field} do not match the callback's {field}.")
        rule = value_rule(component_id, prop)
        if rule is not None and not rule.check(item.get("value")):
            raise Refused(f"bad value for {_stringify(component_id)}.{prop}: expected {rule.expected}.")
        names.add(f"{_stringify(component_id)}.{prop}")
    return names


def _is_dependency(item: Any, prop: str) -> bool:
    return isinstance(item, dict) and item.get("property") == prop and isinstance(item.get("id"), (str, dict))


def _is_pattern(component_id: Any) -> bool:
    """Whether a declared id (a dict id is declared as its JSON text) holds a wildcard (``ALL``, ``MATCH``...)."""
    if isinstance(component_id, str) and component_id.startswith("{"):
        try:
            component_id = json.loads(component_id)
        except ValueError:
            return False
    return isinstance(component_id, dict) and any(
        not isinstance(value, (str, int, float, bool)) for value in component_id.values()
    )


def _dependency_key(component_id: Any, prop: str) -> str:
    return f"{_stringify(component_id)}.{str(prop).split('@', 1)[0]}"


def _stringify(component_id: Any) -> str:
    """A component id as Dash names it in ``id.prop`` strings (a dict id as its compact JSON, keys sorted)."""
    try:
        return stringify_id(component_id)
    except (TypeError, ValueError, AttributeError):
        return "?"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --------------------------------------------------------------------------------------------- install
def install_request_guards(app: Dash, server_settings: ServerSettings) -> HostPolicy:
    """Check the ``Host`` header of every request (before any other hook, sign-in included) and the body of every
    callback request of ``app`` (after the hooks installed before this call), and answer 500s with one JSON line;
    returns the host policy in force."""
    policy = HostPolicy.from_settings(server_settings)
    if policy.any_host and ANY_HOST not in server_settings.allowed_hosts:
        log.warning(
            "the app listens on every address (%s) and accepts any Host header: set server.allowed_hosts to the "
            "names it is reached by, so that no other site's name can be made to point at it (DNS rebinding)",
            server_settings.host or "*",
        )
    update_path = app.config.routes_pathname_prefix + UPDATE_PATH
    server = app.server

    def check_host() -> Response | None:
        if request.path in UNCHECKED_PATHS:
            return None
        refusal = policy.refusal(request.headers.get("Host"))
        return None if refusal is None else error_response(refusal)

    def check_callback_request() -> Response | None:
        if request.path != update_path or request.method != "POST":
            return None
        body = request.get_json(force=True, silent=True)  # cached: Dash reads the same parsed body
        try:
            check_callback_body(body, app.callback_map)
        except Refused as refused:
            return error_response(str(refused))
        return None

    server.before_request_funcs.setdefault(None, []).insert(0, check_host)
    server.before_request(check_callback_request)

    @server.errorhandler(InternalServerError)
    def internal_error(_error: Exception) -> Response:  # Flask has logged the traceback
        return error_response(INTERNAL_ERROR, 500)

    return policy
