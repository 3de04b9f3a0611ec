"""HTTP control endpoints: the Python control API over JSON, for another process (the demo).

Why one generic route: every action is a method of WeComEmulator with the same name and keyword
arguments, so the HTTP and Python interfaces cannot drift apart (as in the Bot API emulator).

    POST {base}/_control/{action}       JSON object body = keyword arguments
    GET  {base}/_control/{action}?k=v   (values parsed as JSON when they parse: 42, true, [1])
    GET  {base}/_control/help           the actions with their signatures

Replies: ``{"ok": true, "result": ...}``; a bad argument, an unknown id or a refused action gives
400 ``{"ok": false, "error": "..."}``, a wait that timed out 408, an unknown action 404. Bytes
travel as base64 (``data_base64`` for user_image). No authentication: keep it on 127.0.0.1.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .server import WeComEmulator

ACTIONS = (
    # setup
    "settings", "set_callback", "add_member", "add_kf_account", "oauth_code", "set_trusted_domain",
    # the members' side
    "verify_url", "user_text", "user_image", "user_location", "user_location_event", "enter_agent",
    "menu_click", "menu_location_select", "card_click", "open_oauth_link",
    # the customers' side
    "customer_open_link", "customer_text", "customer_tap", "customer_image", "customer_location",
    "set_service_state",
    # reading
    "messages_to", "card_state", "kf_messages_to", "kf_session", "violations", "dropped", "deliveries",
    "api_calls", "menu", "counters", "now",
    # waiting (long requests: pass timeout)
    "wait_for_messages", "wait_for_kf_messages",
    # knobs
    "advance_clock", "invalidate_token", "expire", "ip_allowlist", "fail_next", "clear_faults",
    "kf_empty_sync_pages",
)


def add_routes(app: web.Application, emu: WeComEmulator) -> None:
    async def handle(request: web.Request) -> web.Response:
        return await _handle(emu, request)

    app.router.add_route("*", "/_control/{action}", handle)


async def _handle(emu: WeComEmulator, request: web.Request) -> web.Response:
    action = request.match_info["action"]
    if action == "help":
        return web.json_response({"ok": True, "result": _help(emu)})
    if action not in ACTIONS:
        return web.json_response({"ok": False, "error": f"unknown control action {action!r}"}, status=404)
    try:
        kwargs = await _arguments(request)
        if "data_base64" in kwargs:
            try:
                kwargs["data"] = base64.b64decode(kwargs.pop("data_base64"), validate=True)
            except (binascii.Error, TypeError):
                raise ValueError("data_base64 is not valid base64") from None
        target = getattr(emu, action)
        result = target(**kwargs) if callable(target) else target
        if inspect.isawaitable(result):
            result = await result
    except TimeoutError as exc:
        return web.json_response({"ok": False, "error": str(exc)}, status=408)
    except (TypeError, ValueError, LookupError, RuntimeError) as exc:
        return web.json_response({"ok": False, "error": f"{type(exc).__name__}: {exc}"}, status=400)
    return web.json_response({"ok": True, "result": result})


async def _arguments(request: web.Request) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for key, value in request.query.items():
        try:
            kwargs[key] = json.loads(value)
        except ValueError:
            kwargs[key] = value
    if request.method == "POST" and request.can_read_body:
        try:
            body = json.loads(await request.text() or "{}")
        except ValueError:
            raise ValueError("control request body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ValueError("control request body must be a JSON object")
        kwargs.update(body)
    return kwargs


def _help(emu: WeComEmulator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for action in ACTIONS:
        attr = inspect.getattr_static(type(emu), action)
        if isinstance(attr, property):
            out[action] = {"signature": "()", "doc": (attr.__doc__ or "").strip()}
            continue
        func = getattr(emu, action)
        out[action] = {"signature": str(inspect.signature(func)),
                       "doc": (inspect.getdoc(func) or "").split("\n\n")[0]}
    return out
