"""Joining by WeCom's OAuth link (PROTOCOL.md §7(b)), where ``wecom.oauth_url`` is configured.

A staff invite's WeCom "link" is then WeCom's authorize URL, with the invite token as ``state``::

    https://open.weixin.qq.com/connect/oauth2/authorize?appid=CORPID&redirect_uri=URLENC(oauth_url)
        &response_type=code&scope=snsapi_base&state=HEX(TOKEN)&agentid=AGENTID#wechat_redirect

(``state`` is the token in hex: WeCom's page on the link [d91022] allows only a-zA-Z0-9 there, at
most 128 bytes; an invite token also has ``-`` and ``_``.  22 characters make 44.)

Opened inside WeCom, it redirects (silently: ``snsapi_base``) to ``oauth_url?code=…&state=…`` —
only if ``oauth_url``'s host is the app's trusted domain (网页授权及JS-SDK → 可信域名).  That GET is
served here, on the callback listener: the code is redeemed with ``auth/getuserinfo`` (single use,
5 minutes, else 40029) for the member's ``userid``; a WeChat user who is not a member gets
``openid``/``external_userid`` instead and is refused.  The member then joins exactly as if they
had sent ``/start TOKEN`` to the app: the update stored in the inbox is that command from that
userid (``{"oauth": {"id", "userid", "token"}}``, read back by :func:`inbound`), so the flow runs
every usual check (an expired, used or unknown invite, a role conflict, a chat already linked to
someone else) and answers in the member's app chat, in their language.

The page itself only says where the answer is (the team's language; UTF-8, no external assets,
every text escaped, nothing the request carried is echoed back).  The inbox row is keyed on the
code: a reloaded page (same code) finds its row and says "done" again without asking WeCom or
binding twice.  Anything else — no code or state, a code WeCom refuses, a non-member, WeCom not
answering, the inbox not writable — is a short page with a 4xx/5xx status, and nothing is stored.
"""

from __future__ import annotations

import hashlib
import html
import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot.channels.wecom.client import WecomError, explain
from handlers.channel import Inbound, session_key
from handlers.i18n import normalise_language, t
from models.enums import Channel
from models.runtime import InboundEvent

log = logging.getLogger(__name__)

AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
#: WeCom's limits (§7(b)): ``state`` at most 128 bytes, the code at most 512.
MAX_STATE = 128
MAX_CODE = 512
#: WeCom refuses a code that was used or is older than 5 minutes with this.
CODE_REFUSED = 40029


def authorize_url(corp_id: str, agent_id: int, oauth_url: str, token: str) -> str:
    """The OAuth link a member opens in WeCom (§7(b)) to join with invite ``token``."""
    return (f"{AUTHORIZE}?appid={quote(corp_id, safe='')}&redirect_uri={quote(oauth_url, safe='')}"
            f"&response_type=code&scope=snsapi_base&state={state_of(token)}&agentid={int(agent_id)}"
            "#wechat_redirect")


def state_of(token: str) -> str:
    """The invite token as ``state``: hex, so only a-zA-Z0-9 (d91022)."""
    return token.encode("utf-8").hex()


def token_of(state: str) -> str | None:
    """The invite token a ``state`` carries; None if it is not one of ours."""
    if not state or len(state.encode()) > MAX_STATE:
        return None
    try:
        token = bytes.fromhex(state).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    return token if token.isprintable() and not any(ch.isspace() for ch in token) else None


def inbox_key(code: str) -> str:
    """The inbox row of one OAuth code (64 hex characters, like a callback's plaintext hash)."""
    return hashlib.sha256(f"oauth:{code}".encode()).hexdigest()


def inbound(raw: dict[str, Any], received_at: datetime) -> Inbound:
    """The stored OAuth landing as the neutral update it stands for: ``/start TOKEN`` from the member."""
    data = raw["oauth"]
    user, key = str(data.get("userid") or ""), str(data.get("id") or "")
    if not user or not key:
        raise ValueError("an OAuth landing without userid or id")
    return Inbound(channel=Channel.WECOM, update_id=key, session_key=session_key("wc", user, user), user_id=user,
                   chat_id=user, received_at=received_at, private=True, words_as_commands=True,
                   command="start", args=str(data.get("token") or "").strip())


class Landing:
    """``GET <path of oauth_url>?code=…&state=…``: one adapter's OAuth landing page."""

    def __init__(self, adapter: Any, intake: Any):
        self.adapter = adapter
        self.intake = intake
        self.lang = normalise_language(adapter.app.config.bot.language)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            return await self._land(request)
        except Exception:  # the database (the reload check, the inbox): nothing was stored
            log.exception("WeCom OAuth: could not take a landing in")
            return page(self.lang, "not_stored", 503)

    async def _land(self, request: web.Request) -> web.Response:
        code, token = request.query.get("code", ""), token_of(request.query.get("state", "").strip())
        if not code or token is None or len(code.encode()) > MAX_CODE:
            return page(self.lang, "incomplete", 400)
        key = inbox_key(code)
        if await self._stored(key):  # the page reloaded: its update is in, nothing to do twice
            return page(self.lang, "done", 200)
        try:
            data = await self.adapter.client.call("/cgi-bin/auth/getuserinfo", params={"code": code}, method="GET")
        except WecomError as exc:
            if exc.errcode == CODE_REFUSED:
                if await self._stored(key):  # a reload racing the first request, which took the code
                    return page(self.lang, "done", 200)
                return page(self.lang, "refused", 400)
            log.warning("WeCom OAuth: auth/getuserinfo failed: %s", explain(exc.errcode, exc.errmsg))
            return page(self.lang, "unavailable", 502)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("WeCom OAuth: auth/getuserinfo unreachable: %s: %s", type(exc).__name__, exc)
            return page(self.lang, "unavailable", 502)
        userid = str(data.get("userid") or data.get("UserId") or "")
        if not userid:
            if data.get("openid") or data.get("external_userid") or data.get("OpenId"):
                log.info("WeCom OAuth: a WeChat user who is not a member opened an invite link; refused")
                return page(self.lang, "not_member", 403)
            log.warning("WeCom OAuth: auth/getuserinfo answered neither userid nor openid: %s", sorted(data))
            return page(self.lang, "unavailable", 502)
        if len(userid) > 64 or not userid.isprintable() or any(ch.isspace() for ch in userid):
            log.warning("WeCom OAuth: auth/getuserinfo answered an impossible userid")
            return page(self.lang, "unavailable", 502)
        await self.intake.accept(Channel.WECOM, [(key, {"oauth": {"id": key, "userid": userid, "token": token}})])
        return page(self.lang, "done", 200)

    async def _stored(self, key: str) -> bool:
        async with self.adapter.app.db.read() as session:
            found = await session.scalar(select(InboundEvent.id).where(InboundEvent.channel == Channel.WECOM,
                                                                       InboundEvent.external_id == key))
        return found is not None


STYLE = ("body{margin:0;font:18px/1.5 -apple-system,system-ui,'PingFang SC','Microsoft YaHei',sans-serif;"
         "color:#1f2328;background:#f6f8fa}main{max-width:32em;margin:12vh auto 0;padding:1.5em;"
         "background:#fff;border-radius:12px}h1{font-size:1.3em;margin:0 0 .5em}p{margin:0}")


def page(lang: str, kind: str, status: int) -> web.Response:
    """A small self-contained HTML page (UTF-8, mobile width, no external assets, escaped)."""
    heading = t(lang, "wecom.oauth.done_title" if status < 400 else "wecom.oauth.error_title")
    body = (f'<!DOCTYPE html>\n<html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{html.escape(t(lang, "wecom.oauth.title"))}</title><style>{STYLE}</style></head>'
            f'<body><main><h1>{html.escape(heading)}</h1><p>{html.escape(t(lang, f"wecom.oauth.{kind}"))}</p>'
            '</main></body></html>\n')
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                 "X-Content-Type-Options": "nosniff"})
