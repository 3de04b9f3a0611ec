"""The WeCom emulator: an aiohttp server speaking qyapi.weixin.qq.com's ``/cgi-bin`` API on localhost,
and a device side that calls the bot's callback URL like WeCom does.

Why a real HTTP server: the WeCom adapter is tested unchanged, only its base URL pointed here,
through its own HTTP client, JSON handling, token cache and error mapping. One emulator is one
corp (``corp_id``) with one self-built app (``agent_id``, ``secret``), a 微信客服 secret
(``kf_secret``) and the callback settings the admin console would hold (``token``,
``encoding_aes_key``, ``callback_url``).

URL layout:
    ``{base}/cgi-bin/{path}?access_token=…``   the API (PROTOCOL.md §3-§7)
    ``{base}/_pic/{media_id}``                the PicUrl of members' photos
    ``{base}/_control/{action}``              test/demo control, see :mod:`.control`

Every API call passes, in order: an injected fault (:mod:`.faults`), the access_token (41001 /
40014 / 42001 / 48002), the IP allow-list (60020), the HTTP method (40058: "接口要求POST时…使用了GET"),
the body (40058 on bad JSON), then the endpoint. Every error is HTTP 200 with errcode/errmsg.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web

from .crypto import key_bytes as aes_key, new_key as new_encoding_aes_key

from . import access, cards, control, kf, media, menus, messages
from .browser import BrowserActions
from .callbacks import CallbackDelivery
from .customers import CustomerActions
from .device import DeviceActions
from .errors import WeComError
from .faults import Switches
from .observe import Observing
from .state import World
from .wire import Call, Route, read_json

log = logging.getLogger(__name__)
ROUTES: dict[str, Route] = {**access.ROUTES, **messages.ROUTES, **cards.ROUTES, **media.ROUTES,
                            **menus.ROUTES, **kf.ROUTES}
MASKED = "***"


class WeComEmulator(DeviceActions, BrowserActions, CustomerActions, Observing):
    """A local WeCom: ``await start()``, point the adapter at ``base_url``, drive people, assert.

    ``callback_timeout`` (5 s) and ``redeliveries`` (3) are WeCom's; ``retry_delay`` is the pause
    before each re-delivery. ``app_kf_access``: the app secret's token may call the kf API too.
    """

    def __init__(self, *, corp_id: str = "ww5823bf96d3bd56c7", agent_id: int = 1000002,
                 secret: str = "fieldbot-app-secret", kf_secret: str = "fieldbot-kf-secret",
                 token: str = "fieldbotToken", encoding_aes_key: str | None = None,
                 callback_url: str | None = None, callback_timeout: float = 5.0, redeliveries: int = 3,
                 retry_delay: float = 0.1, app_kf_access: bool = True,
                 kf_account: str | None = "Fieldbot 客服") -> None:
        self.world = World(corp_id=corp_id, agent_id=agent_id)
        self.secrets = {secret: "app", kf_secret: "kf"}
        self.token = token
        self.encoding_aes_key = encoding_aes_key or new_encoding_aes_key()
        aes_key(self.encoding_aes_key)  # fail now on a bad key, not at the first callback
        self.callback_url = callback_url
        self.callback_timeout = callback_timeout
        self.redeliveries = redeliveries
        self.retry_delay = retry_delay
        self.app_kf_access = app_kf_access
        self.switches = Switches()
        self.callbacks = CallbackDelivery(self)
        self.kf_empty_pages = 0
        self.trusted_domain: str | None = None  # 网页授权及JS-SDK → 可信域名 (see set_trusted_domain)
        self.trusted_upstream: str | None = None
        self.base_url = ""
        self.open_kfid = self.add_kf_account(kf_account) if kf_account else None
        self._background: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/cgi-bin/{path:.+}", self._handle_api)
        app.router.add_get("/_pic/{media_id}", self._handle_pic)
        control.add_routes(app, self)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind and serve; ``port=0`` picks a free port. Returns ``base_url``."""
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.base_url = f"http://{host}:{self._runner.addresses[0][1]}"
        await self.callbacks.open()
        return self.base_url

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.callbacks.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> WeComEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def set_callback(self, url: str, token: str | None = None, encoding_aes_key: str | None = None) -> dict[str, Any]:
        """What the admin console's 设置API接收 saves: URL, Token, EncodingAESKey (then verify_url())."""
        if encoding_aes_key is not None:
            aes_key(encoding_aes_key)
            self.encoding_aes_key = encoding_aes_key
        if token is not None:
            self.token = token
        self.callback_url = url
        return self.settings()

    def settings(self) -> dict[str, Any]:
        """What the adapter's config needs: base URL, corp id, agent id, secrets, callback crypto."""
        by_kind = {kind: secret for secret, kind in self.secrets.items()}
        return {"base_url": self.base_url, "corp_id": self.world.corp_id, "agent_id": self.world.agent_id,
                "secret": by_kind["app"], "kf_secret": by_kind["kf"], "token": self.token,
                "encoding_aes_key": self.encoding_aes_key, "callback_url": self.callback_url,
                "open_kfid": self.open_kfid}

    async def verify_url(self, timeout: float = 1.0) -> dict[str, Any]:
        """The console's URL check: GET with an encrypted echostr, the bare plaintext within 1 s."""
        return await self.callbacks.verify_url(timeout)

    # -- the API -------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"].strip("/")
        ip = request.remote or ""
        query = dict(request.query)
        record: dict[str, Any] = {"path": path, "http_method": request.method, "at": self.world.now(),
                                  "query": {k: (MASKED if k == "access_token" else v) for k, v in query.items()}}
        call = Call(path, request, query, ip)
        fault = self.switches.take(path)
        if fault is not None:
            record["fault"] = fault.describe()
            self.world.count("faults_injected")
        result: dict[str, Any] | web.StreamResponse
        try:
            if fault is not None and fault.when == "before":
                await asyncio.sleep(fault.delay)
                if fault.drop:
                    return self._drop(request, record)
                if fault.errcode is not None:
                    raise WeComError(fault.errcode, "injected")
            result = await self._run(call, record)
        except WeComError as exc:
            result = exc.payload(ip)
        except Exception as exc:  # an emulator bug: answer like WeCom's system error, log loudly
            log.exception("wecom emulator failed on %s", path)
            result = {"errcode": -1, "errmsg": f"system busy (emulator bug: {exc!r})"}
        if fault is not None and fault.when == "after":
            await asyncio.sleep(fault.delay)
            if fault.drop:
                return self._drop(request, record)
            if fault.errcode is not None:
                result = WeComError(fault.errcode, "injected").payload(ip)
        if isinstance(result, dict):
            record.update(errcode=result.get("errcode"), errmsg=result.get("errmsg"), result=result)
        else:
            record.update(errcode=0, errmsg="ok", result={"bytes": result.content_length})
        record.update(done=self.world.now(), reply=200 if isinstance(result, dict) else result.status)
        self.world.log_call(record)
        return web.json_response(result) if isinstance(result, dict) else result

    async def _run(self, call: Call, record: dict[str, Any]) -> dict[str, Any] | web.StreamResponse:
        route = ROUTES.get(call.path)
        if route is None:
            self.world.violation("unknown_endpoint", f"/cgi-bin/{call.path} is not emulated")
            raise WeComError(48002, f"/cgi-bin/{call.path} is not emulated")
        if route.token:
            call.token = access.check_token(self, call, route)
        if call.path != "gettoken" and not self.switches.ip_allowed(call.ip):
            raise WeComError(60020)
        if route.method != call.request.method:
            raise WeComError(40058, f"{call.path} needs {route.method}")
        if route.body == "json":
            call.body = await read_json(call.request)
            record["body"] = call.body
        result = route.handler(self, call)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    def _drop(self, request: web.Request, record: dict[str, Any]) -> web.StreamResponse:
        """Close the connection with no HTTP answer (the client sees a disconnect)."""
        self.world.count("connections_dropped")
        record.update(errcode=None, errmsg=None, done=self.world.now(), reply=0)
        self.world.log_call(record)
        if request.transport is not None:
            request.transport.close()
        return web.Response()

    async def _handle_pic(self, request: web.Request) -> web.StreamResponse:
        stored = self.world.media.get(request.match_info["media_id"])
        if stored is None:
            return web.Response(status=404)
        return media.media_response(stored, request.headers.get("Range"))


async def run_wecom_emulator(host: str = "127.0.0.1", port: int = 8082, **settings: Any) -> None:
    """Serve a WeCom emulator until cancelled (for a ``fieldbot wecom-emulator`` command).

    Prints the base URL and the settings the adapter needs (corp id, agent id, secrets, callback
    token and EncodingAESKey); ``POST {base}/_control/set_callback {"url": ...}`` points it at the bot.
    """
    emulator = WeComEmulator(**settings)
    base_url = await emulator.start(host, port)
    shown = {k: v for k, v in emulator.settings().items() if k != "base_url"}
    print(f"WeCom API emulator listening on {base_url} (control: {base_url}/_control/help; "
          f"settings: {shown})", flush=True)
    started = time.monotonic()
    try:
        await asyncio.Event().wait()
    finally:
        log.info("wecom emulator stopping after %.0fs", time.monotonic() - started)
        await emulator.stop()
