"""gettoken, the access_token check, OAuth's auth/getuserinfo and getcallbackip (§3.1, §7).

Why on a fake clock: the adapter must cache one token per secret, reuse it while valid, refresh
once on 40014 (invalidated early: "企业微信可能会出于运营需要，提前使access_token失效") and on
42001 (expired), and alert, not loop, on 40001 (wrong secret). ``invalidate_token()`` and
``expire()`` make those happen on demand; ``advance_clock(7200)`` makes expiry happen naturally.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from .errors import WeComError, ok
from .state import Token
from .wire import Call, Route

if TYPE_CHECKING:
    from .server import WeComEmulator

TOKEN_TTL = 7200
OAUTH_CODE_TTL = 300


def gettoken(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    corpid, secret = call.query.get("corpid"), call.query.get("corpsecret")
    if not corpid:
        raise WeComError(41002)
    if not secret:
        raise WeComError(41004)
    if corpid != emu.world.corp_id:
        raise WeComError(40013)
    kind = emu.secrets.get(secret)
    if kind is None:
        emu.world.count("wrong_secret")
        raise WeComError(40001)
    world = emu.world
    now = world.now()
    current = world.tokens.get(world.current_token.get(kind, ""))
    if current is None or current.invalid or current.expires_at <= now:
        current = Token(secrets.token_urlsafe(150), kind, now + TOKEN_TTL)  # ~200 characters
        world.tokens[current.value] = current
        world.current_token[kind] = current.value
        world.count("tokens_issued")
    # the same token while valid, its remaining lifetime as expires_in
    return ok(access_token=current.value, expires_in=max(1, int(current.expires_at - now)))


def check_token(emu: WeComEmulator, call: Call, route: Route) -> Token:
    value = call.query.get("access_token")
    if not value:
        raise WeComError(41001)
    token = emu.world.tokens.get(value)
    if token is None or token.invalid:
        raise WeComError(40014)
    if token.expires_at <= emu.world.now():
        raise WeComError(42001)
    if token.kind not in route.kinds or (token.kind == "app" and call.path.startswith("kf/")
                                         and not emu.app_kf_access):
        raise WeComError(48002, f"a {token.kind} token cannot call {call.path}")
    return token


def getuserinfo(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    """``GET auth/getuserinfo?code=``: codes come from ``oauth_code()``; single use, 5 min (40029)."""
    code = call.query.get("code", "")
    entry = emu.world.oauth_codes.get(code)
    if entry is None:
        raise WeComError(40029)
    identity, issued_at, used = entry
    if used or emu.world.now() - issued_at > OAUTH_CODE_TTL:
        raise WeComError(40029)
    emu.world.oauth_codes[code] = (identity, issued_at, True)
    return ok(**identity)


def getcallbackip(emu: WeComEmulator, call: Call) -> dict[str, Any]:
    return ok(ip_list=["127.0.0.1"])


ROUTES = {
    "gettoken": Route("GET", gettoken, token=False, body=None),
    "auth/getuserinfo": Route("GET", getuserinfo, body=None, kinds=("app",)),
    "getcallbackip": Route("GET", getcallbackip, body=None),
}
