"""Call the app's server-side callbacks over HTTP the way the browser does (for tests and benchmarks).

``CallbackClient(app).call(input_id, input_prop, value, state={...})`` posts to
``/_dash-update-component`` through Flask's test client and returns the raw response, so the
bytes measured are the bytes a browser would receive.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dash import Dash
from dash._utils import split_callback_id


UPDATE_PATH = "/_dash-update-component"


@dataclass(frozen=True)
class CallbackResponse:
    """One callback's HTTP answer."""

    status: int
    body: bytes

    @property
    def data(self) -> dict[str, Any]:
        """The parsed ``{"multi": true, "response": {id: {prop: value}}}`` (empty for 204 No Content)."""
        return json.loads(self.body) if self.body else {}

    def output(self, component_id: str, prop: str) -> Any:
        """The new value of one output, or None when the callback left it alone."""
        return self.data.get("response", {}).get(component_id, {}).get(prop)


class CallbackClient:
    """Finds a callback by its trigger and calls it with given input and state values."""

    def __init__(self, app: Dash) -> None:
        self._app = app
        self._http = app.server.test_client()

    def key_for(self, input_id: str, input_prop: str) -> str:
        """The callback-map key of the server-side callback that ``input_id.input_prop`` triggers."""
        matches = [
            key
            for key, spec in self._app.callback_map.items()
            if "callback" in spec and any(i["id"] == input_id and i["property"] == input_prop for i in spec["inputs"])
        ]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} server callbacks are triggered by {input_id}.{input_prop}")
        return matches[0]

    def call(
        self,
        input_id: str,
        input_prop: str,
        value: Any,
        *,
        inputs: Mapping[str, Any] | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> CallbackResponse:
        """Trigger the callback of ``input_id.input_prop`` with ``value``.

        ``inputs`` and ``state`` give other values as ``{"id.prop": value}`` (missing ones are None).
        """
        body = self.request_body(input_id, input_prop, value, inputs=inputs, state=state)
        response = self._http.post(UPDATE_PATH, json=body)
        return CallbackResponse(status=response.status_code, body=response.get_data())

    def request_body(
        self,
        input_id: str,
        input_prop: str,
        value: Any,
        *,
        inputs: Mapping[str, Any] | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The JSON the browser posts to ``UPDATE_PATH`` for this trigger (to send over real HTTP too)."""
        key = self.key_for(input_id, input_prop)
        spec = self._app.callback_map[key]
        given_inputs = {f"{input_id}.{input_prop}": value, **(inputs or {})}
        given_state = dict(state or {})
        return {
            "output": key,
            "outputs": split_callback_id(key),
            "inputs": [{**i, "value": given_inputs.get(f"{i['id']}.{i['property']}")} for i in spec["inputs"]],
            "state": [{**s, "value": given_state.get(f"{s['id']}.{s['property']}")} for s in spec["state"]],
            "changedPropIds": [f"{input_id}.{input_prop}"],
        }
