"""The request side shared by every endpoint: routes, one call's inputs, field helpers.

Why strict helpers: the adapter's own bugs (a string agentid, a missing field, a list where WeCom
wants ``a|b``) must fail here as they would on WeCom, with the same errcode, not pass silently.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import WeComError

if TYPE_CHECKING:
    from .server import WeComEmulator
    from .state import Token

Result = dict[str, Any] | web.StreamResponse
Handler = Callable[["WeComEmulator", "Call"], Awaitable[Result] | Result]


@dataclass(frozen=True)
class Route:
    method: str  # "GET" or "POST"
    handler: Handler
    token: bool = True  # needs ?access_token=
    body: str | None = "json"  # "json", "multipart" or None
    kinds: tuple[str, ...] = ("app", "kf")  # which secrets' tokens may call it


@dataclass
class Call:
    path: str
    request: web.Request
    query: dict[str, str]
    ip: str
    body: dict[str, Any] = field(default_factory=dict)
    token: Token | None = None


async def read_json(request: web.Request) -> dict[str, Any]:
    """The JSON object body; anything else is 40058 ("json不合法", d90313)."""
    raw = await request.read()
    try:
        body = json.loads(raw.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        raise WeComError(40058, "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise WeComError(40058, "request body must be a JSON object")
    return body


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def cut_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def get_str(obj: dict[str, Any], key: str, *, missing: int = 40058, required: bool = True,
            max_bytes: int | None = None, too_long: int = 40058, where: str = "") -> str | None:
    """A string field: absent/empty → ``missing`` if required, wrong type → 40058, too long → ``too_long``."""
    value = obj.get(key)
    name = f"{where}{key}"
    if value is None or value == "":
        if required:
            raise WeComError(missing, f"{name} is required")
        return None
    if not isinstance(value, str):
        raise WeComError(40058, f"{name} must be a string")
    if max_bytes is not None and utf8_len(value) > max_bytes:
        raise WeComError(too_long, f"{name} exceeds {max_bytes} bytes")
    return value


def get_int(obj: dict[str, Any], key: str, *, missing: int = 40058, required: bool = True,
            default: int | None = None, where: str = "") -> int | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise WeComError(missing, f"{where}{key} is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise WeComError(40058, f"{where}{key} must be an integer")
    return value


def get_obj(obj: dict[str, Any], key: str, *, missing: int = 40058, where: str = "") -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise WeComError(missing, f"{where}{key} must be an object")
    return value


def get_list(obj: dict[str, Any], key: str, *, required: bool = False, where: str = "") -> list[Any]:
    value = obj.get(key)
    if value is None:
        if required:
            raise WeComError(40058, f"{where}{key} is required")
        return []
    if not isinstance(value, list):
        raise WeComError(40058, f"{where}{key} must be an array")
    return value
