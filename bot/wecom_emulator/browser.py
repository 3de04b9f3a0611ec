"""What WeCom's built-in browser does with an app's OAuth link (PROTOCOL.md §7(b)).

Why: a member can bind by opening, inside WeCom, ::

    https://open.weixin.qq.com/connect/oauth2/authorize?appid=CORPID&redirect_uri=URLENC
        &response_type=code&scope=snsapi_base&state=<≤128>&agentid=AGENTID#wechat_redirect

WeCom then redirects to ``redirect_uri?code=…&state=…`` — only when the redirect's domain is the
app's trusted domain (网页授权及JS-SDK → 可信域名) — and the page redeems the code with
``auth/getuserinfo`` (:mod:`.access`: single use, 5 minutes, else 40029) for ``userid``, or for
``openid``/``external_userid`` when a WeChat user who is not a member opened it [d91022, d91023].
``open_oauth_link`` checks the link as WeCom would, issues the code (:meth:`oauth_code`) and follows
the redirect with a GET as the browser does, returning the page the bot served.

The emulator cannot be the trusted domain's host: :meth:`set_trusted_domain` holds the console's
可信域名 and where requests for that host really land (the reverse proxy in front of the bot, e.g.
``http://127.0.0.1:8081``); path and query are kept.  ``state`` outside a-zA-Z0-9 (d91022: "企业可以
填写a-zA-Z0-9的参数值，长度不可超过128个字节") is passed on but recorded as a violation
(⚠ what WeCom really does with other characters is not documented).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

if TYPE_CHECKING:
    from .callbacks import CallbackDelivery
    from .state import World

AUTHORIZE = ("open.weixin.qq.com", "/connect/oauth2/authorize")
SCOPES = ("snsapi_base", "snsapi_privateinfo")
STATE_RE = re.compile(r"^[A-Za-z0-9]*$")
DOMAIN_RE = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


class BrowserActions:
    """Mixin of :class:`~.server.WeComEmulator`: a member (or a WeChat user) opening an OAuth link."""

    world: World
    callbacks: CallbackDelivery
    trusted_domain: str | None
    trusted_upstream: str | None

    def set_trusted_domain(self, domain: str | None, upstream: str | None = None) -> dict[str, Any]:
        """What the app's 网页授权及JS-SDK → 可信域名 holds (a host, e.g. ``fieldbot.example.com``;
        None: none set, every OAuth redirect refused), and ``upstream``: where requests for it
        reach (the reverse proxy in front of the bot, ``http://127.0.0.1:PORT``)."""
        if domain is not None and not DOMAIN_RE.match(domain):
            raise ValueError("domain: a host name like fieldbot.example.com (no scheme, no path)")
        if upstream is not None and urlsplit(upstream).scheme not in ("http", "https"):
            raise ValueError("upstream: an http(s) base URL like http://127.0.0.1:8081")
        self.trusted_domain = domain.lower() if domain else None
        self.trusted_upstream = upstream.rstrip("/") if upstream else None
        return {"domain": self.trusted_domain, "upstream": self.trusted_upstream}

    async def open_oauth_link(self, url: str, userid: str | None = None, external_userid: str | None = None,
                              *, timeout: float = 10.0) -> dict[str, Any]:
        """``userid`` (a member) or ``external_userid`` (a WeChat user who is not one) opens ``url``.

        Refused with ValueError, as WeCom shows an error page instead of redirecting, unless: the
        link is ``https://open.weixin.qq.com/connect/oauth2/authorize``; ``appid`` is this corp;
        ``response_type=code``; ``scope`` is snsapi_base or snsapi_privateinfo (which needs
        ``agentid``); an ``agentid`` given is this app's; it ends in ``#wechat_redirect`` (how the
        client knows to add the identity); ``state`` ≤ 128 bytes; ``redirect_uri`` is on the trusted
        domain (⚠ WeCom's error code for this is not in PROTOCOL.md).  Then a code is issued and
        ``redirect_uri?code=…&state=…`` fetched at the upstream.  Returns ``{status, content_type,
        text, code, redirect}`` (``redirect``: the URL WeCom sent the browser to).
        """
        if (userid is None) == (external_userid is None):
            raise ValueError("give userid (a member) or external_userid (a WeChat user)")
        redirect, state = self._check_link(url)
        code = self.oauth_code(userid=userid, external_userid=external_userid)  # type: ignore[attr-defined]
        target = urlsplit(redirect)
        query = (target.query + "&" if target.query else "") + urlencode({"code": code, "state": state})
        location = target._replace(query=query, fragment="").geturl()
        if self.callbacks.session is None:
            raise RuntimeError("the emulator is not started")
        upstream = (self.trusted_upstream or f"{target.scheme}://{target.netloc}") + (target.path or "/")
        async with self.callbacks.session.get(upstream + "?" + query, allow_redirects=False,
                                              timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            text = await resp.text(errors="replace")
            record = {"status": resp.status, "content_type": resp.headers.get("Content-Type", ""), "text": text,
                      "code": code, "redirect": location}
        self.world.count("oauth_redirects")
        self.world.changed.notify()
        return record

    def _check_link(self, url: str) -> tuple[str, str]:
        """The redirect_uri and state of a well-formed OAuth link of this app (else ValueError)."""
        link = urlsplit(url)
        if link.scheme != "https" or (link.hostname, link.path) != AUTHORIZE:
            raise ValueError(f"not WeCom's OAuth link (https://{''.join(AUTHORIZE)}): {url!r}")
        query = {k: v[-1] for k, v in parse_qs(link.query, keep_blank_values=True).items()}
        if query.get("appid") != self.world.corp_id:
            raise ValueError(f"appid {query.get('appid')!r} is not this corp's id {self.world.corp_id!r}")
        if query.get("response_type") != "code":
            raise ValueError("response_type must be code")
        scope = query.get("scope")
        if scope not in SCOPES:
            raise ValueError(f"scope {scope!r}: snsapi_base or snsapi_privateinfo")
        agent = query.get("agentid")
        if agent is not None and agent != str(self.world.agent_id):
            raise ValueError(f"agentid {agent!r} is not this app's ({self.world.agent_id})")
        if scope == "snsapi_privateinfo" and agent is None:
            raise ValueError("snsapi_privateinfo needs agentid")
        if link.fragment != "wechat_redirect":
            raise ValueError("the link must end in #wechat_redirect (else the client adds no identity)")
        state = query.get("state", "")
        if len(state.encode()) > 128:
            raise ValueError("state is longer than 128 bytes")
        if not STATE_RE.match(state):
            self.world.violation("oauth_state", f"state {state!r} is not a-zA-Z0-9 (d91022)")
        redirect = query.get("redirect_uri", "")
        host = urlsplit(redirect).netloc.lower() if redirect else ""
        if urlsplit(redirect).scheme not in ("http", "https") or not host:
            raise ValueError(f"redirect_uri {redirect!r} is not a URL (url-encode it)")
        if self.trusted_domain is None or host != self.trusted_domain:
            raise ValueError(f"redirect_uri's domain {host!r} is not the app's trusted domain "
                             f"({self.trusted_domain!r}; 网页授权及JS-SDK → 可信域名)")
        return redirect, state
