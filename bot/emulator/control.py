"""HTTP control endpoints: the Python control API over JSON, for another process (the demo).

Why one generic route: every action is a method of BotApiEmulator with the same name and
keyword arguments, so the HTTP and Python interfaces cannot drift apart.

    POST {base}/_control/{action}   JSON object body = keyword arguments
    GET  {base}/_control/{action}?k=v   (values parsed as JSON when they parse: 42, true, [1])
    GET  {base}/_control/help       the list of actions with their signatures

Replies: ``{"ok": true, "result": ...}``; a bad argument or unknown id gives 400
``{"ok": false, "error": "..."}``, a wait that timed out 408, an unknown action 404.
Bytes travel as base64: ``data_base64`` for send_photo / send_document. A raw update for
``inject_update`` is the ``update`` member: ``{"update": {...}}``.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .limits import RateLimits

if TYPE_CHECKING:
    from .server import BotApiEmulator

ACTIONS = (
    # the user side
    "add_user", "add_chat", "send_text", "send_command", "send_photo", "send_document",
    "send_location", "send_contact", "press_button", "press_reply_button", "inject_update",
    # reading
    "overview", "history", "bot_messages", "reply_keyboard", "api_calls", "callback_answer", "commands",
    "pending_updates", "webhook", "counters", "spec_mismatches",
    # waiting (long requests: pass timeout)
    "wait_for_messages", "wait_for_calls", "wait_for_callback_answer", "wait_until_consumed",
    "wait_for_change",
    # knobs
    "block_chat", "fail_next", "storm", "clear_faults", "enable_rate_limits", "disable_rate_limits",
)


def add_routes(app: web.Application, emu: BotApiEmulator) -> None:
    async def handle(request: web.Request) -> web.Response:
        return await _handle(emu, request)

    app.router.add_route("*", "/_control/{action}", handle)


async def _handle(emu: BotApiEmulator, request: web.Request) -> web.Response:
    action = request.match_info["action"]
    if action == "help":
        return web.json_response({"ok": True, "result": _help(emu)})
    if action not in ACTIONS:
        return web.json_response({"ok": False, "error": f"unknown control action {action!r}"}, status=404)
    try:
        kwargs = await _arguments(request)
        _decode_special(action, kwargs)
        target = getattr(emu, action)
        result = target(**kwargs) if callable(target) else target
        if inspect.isawaitable(result):
            result = await result
    except TimeoutError as exc:
        return web.json_response({"ok": False, "error": str(exc)}, status=408)
    except (TypeError, ValueError, LookupError) as exc:
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


def _decode_special(action: str, kwargs: dict[str, Any]) -> None:
    """Arguments JSON cannot carry directly: bytes and the RateLimits tuple object."""
    if "data_base64" in kwargs:
        try:
            kwargs["data"] = base64.b64decode(kwargs.pop("data_base64"), validate=True)
        except (binascii.Error, TypeError):
            raise ValueError("data_base64 is not valid base64") from None
    if action == "enable_rate_limits":
        limits = {k: tuple(kwargs.pop(k)) for k in ("overall", "private_chat", "group_chat") if k in kwargs}
        kwargs["limits"] = RateLimits(**limits)


def _help(emu: BotApiEmulator) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for action in ACTIONS:
        attr = inspect.getattr_static(type(emu), action)
        if isinstance(attr, property):
            out[action] = {"signature": "()", "doc": (attr.__doc__ or "").strip()}
            continue
        func = getattr(emu, action)
        doc = (inspect.getdoc(func) or "").split("\n\n")[0]
        out[action] = {"signature": str(inspect.signature(func)), "doc": doc}
    return out
