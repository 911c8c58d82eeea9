"""``/_emulator/*``: switches and counters for an emulator running in another process."""

from __future__ import annotations

import json
from typing import Any

from .base import BaseHandler
from .core import Fault
from .errors import BoxError


class ControlHandler(BaseHandler):
    """JSON in, JSON out; only answers requests from loopback."""

    async def prepare(self) -> None:
        if self.request.remote_ip not in {"127.0.0.1", "::1"}:
            raise BoxError(404, "not_found", "Not Found")

    def body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BoxError(400, "bad_request", "Expected a JSON object")
        return body


class StateHandler(ControlHandler):
    def get(self) -> None:
        state = self.state
        self.write_json({
            "counters": state.counters.snapshot(),
            "settings": state.settings.to_dict(),
            "clock_offset": state.clock.offset,
            "apps": [app.public() for app in state.oauth.apps.values()],
            "users": [user.mini() for user in state.content.users.values()],
        })


class ClockHandler(ControlHandler):
    def post(self) -> None:
        seconds = self.body().get("advance")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise BoxError(400, "bad_request", "'advance' must be a number of seconds >= 0")
        self.state.clock.advance(seconds)
        self.write_json({"clock_offset": self.state.clock.offset})


class FaultsHandler(ControlHandler):
    def post(self) -> None:
        try:
            fault = Fault(**self.body())
        except (TypeError, ValueError) as exc:
            raise BoxError(400, "bad_request", str(exc)) from None
        self.state.faults.inject(fault)
        self.write_json({"ok": True}, 201)

    def delete(self) -> None:
        self.state.faults.clear()
        self.set_status(204)
        self.finish()


class SettingsHandler(ControlHandler):
    def post(self) -> None:
        try:
            self.state.settings.update(self.body())
        except ValueError as exc:
            raise BoxError(400, "bad_request", str(exc)) from None
        self.write_json(self.state.settings.to_dict())


class AppsHandler(ControlHandler):
    def post(self) -> None:
        body = self.body()
        try:
            app = self.state.add_app(
                str(body["name"]), list(body["redirect_uris"]),
                client_id=body.get("client_id"), client_secret=body.get("client_secret"),
                scopes=tuple(body.get("scopes", ("root_readwrite",))),
                ccg_enabled=bool(body.get("ccg_enabled", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BoxError(400, "bad_request", f"invalid app: {exc}") from None
        self.write_json({**app.public(), "client_secret": app.client_secret}, 201)
