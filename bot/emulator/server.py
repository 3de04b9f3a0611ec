"""The emulator object: an aiohttp server speaking the Telegram Bot API on localhost.

Why a real HTTP server rather than a mocked client: the bot is tested through aiogram's own
HTTP session, serialisation and error mapping, exactly as in production, just pointed at
``TelegramAPIServer.from_base(emulator.base_url)``. One emulator is one Telegram with one
bot: the first token seen (or the one given) is the bot's; other tokens get 401.

URL layout, as on api.telegram.org:
    ``{base}/bot{token}/{method}``        Bot API calls (GET or POST; JSON, form, multipart)
    ``{base}/file/bot{token}/{path}``     file downloads (paths from getFile)
    ``{base}/_control/{action}``          test/demo control, see :mod:`.control`
    ``{base}/`` (or ``/chat``)             the chat page for a person in a browser, see :mod:`.page`

Every call lands in the call log (``api_calls()``) with the times it arrived, finished and was
answered, and, for a call that produced a message, that message's ``chat_id`` and
``message_id``: a harness that kills the bot can tell exactly which messages went out before.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import control, messaging, page, updates
from .errors import ApiError, SpecError, not_found, spec_error, unauthorized
from .limits import DROP, SLOW, Injection, Limiter, is_sending_method
from .observe import Observing
from .spec import ApiSpec
from .state import World, chat_type_for
from .users import UserActions
from .webhook import WebhookDelivery
from .wire import Upload, read_request

log = logging.getLogger(__name__)
TOKEN_RE = re.compile(r"^\d+:[\w-]+$")
HANDLERS = {**messaging.HANDLERS, **updates.HANDLERS}


class BotApiEmulator(UserActions, Observing):
    """A local Telegram: ``await start()``, point the bot at ``base_url``, drive users, assert.

    The user-side API (send_text, press_button, ...) comes from :class:`.users.UserActions`;
    reading what the bot did, wait helpers, faults and limits from :class:`.observe.Observing`.

    Requests are checked against the Bot API spec, by default the ``api.json`` shipped in
    ``bot/emulator/botapi/`` (see :mod:`.spec`), in tests and in the demo alike. Only
    ``require_spec=False`` lets the emulator run unchecked, with a warning, and only if that
    file is missing.
    """

    def __init__(self, token: str | None = None, *, bot_name: str = "Fieldbot",
                 bot_username: str = "fieldbot_emulator_bot", spec: ApiSpec | None = None,
                 require_spec: bool = True) -> None:
        if token is not None and not TOKEN_RE.match(token):
            raise ValueError("token must look like a Telegram token: '<digits>:<letters>'")
        self.token = token
        self.bot_name = bot_name
        self.bot_username = bot_username
        if spec is None:
            spec = ApiSpec.for_emulator(require=require_spec)
        elif require_spec and not spec.validating:
            raise ValueError(f"require_spec=True but the given spec does not validate: {spec!r}")
        self.spec = spec
        self.world = World()
        self.limiter = Limiter()
        self.poll_generation = 0
        self.webhooks = WebhookDelivery(self)
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        if token is not None:
            self._adopt_token(token)

    # -- lifecycle -------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        control.add_routes(app, self)
        page.add_routes(app, self)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind and serve; ``port=0`` picks a free port. Returns ``base_url``."""
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        self.world.closed = False
        await self.webhooks.open()
        return self.base_url

    async def stop(self) -> None:
        """Release pending long polls, stop webhook delivery and close the listener."""
        self.world.closed = True
        self.world.changed.notify()
        await self.webhooks.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def webhook_changed(self) -> None:
        self.webhooks.restart()
        self.world.changed.notify()

    # -- Bot API ---------------------------------------------------------------------

    def _adopt_token(self, token: str) -> None:
        self.token = token
        self.world.bot_user = {
            "id": int(token.split(":", 1)[0]), "is_bot": True, "first_name": self.bot_name,
            "username": self.bot_username, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        }

    def _authorize(self, token: str) -> None:
        if self.token is None and TOKEN_RE.match(token):
            self._adopt_token(token)
        if token != self.token:
            raise unauthorized()

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        arrived = time.time()
        try:
            self._authorize(request.match_info["token"])
            fields, uploads = await read_request(request)
        except ApiError as exc:
            return web.json_response(exc.payload(), status=exc.code)
        call = await self._call(request.match_info["method"], fields, uploads, via="http", arrived=arrived)
        return await self._answer(request, call)

    async def execute(self, method: str, fields: dict[str, Any], uploads: dict[str, Upload],
                      *, via: str = "http") -> tuple[int, dict[str, Any]]:
        """Run one Bot API call through faults, validation, limits and its handler; return
        the method's own outcome ``(status, body)``.

        Every call lands in the call log with its outcome, whatever happened. Reply faults
        (drop, delay, ``when="after"``) shape only HTTP replies (:meth:`_answer`); for a call
        made here directly, e.g. in a webhook reply, a fault only decides whether it runs.
        """
        call = await self._call(method, fields, uploads, via=via, arrived=time.time())
        return call.status, call.body

    async def _call(self, method: str, fields: dict[str, Any], uploads: dict[str, Upload],
                    *, via: str, arrived: float) -> _Call:
        name = self.spec.canonical(method) or method
        record: dict[str, Any] = {"method": name, "params": _loggable(fields, uploads), "via": via,
                                  "at": arrived}
        fault: Injection | None = None
        try:
            if self.spec.canonical(method) is None:
                raise spec_error("Not Found", 404)
            fault = self.limiter.take_fault(name)
            if fault is not None:
                record["fault"] = fault.describe()
                if fault.when == "before":
                    if fault.delay and via == "http":
                        await asyncio.sleep(fault.delay)
                    if fault.status != SLOW:
                        raise fault.error()  # the method does not run
            params = self.spec.validate(name, fields, uploads)
            handler = HANDLERS.get(name)
            if handler is None:
                raise spec_error(f"method {name} is not implemented by the Fieldbot emulator")
            limited_chat = self._rate_limited_chat(name, params)
            if limited_chat is not None:
                self.limiter.check_rate(limited_chat, chat_type_for(limited_chat) == "private")
            result = handler(self, params)
            if inspect.isawaitable(result):
                result = await result
            if limited_chat is not None:
                self.limiter.record_send(limited_chat)
            body: dict[str, Any] = {"ok": True, "result": result}
            if isinstance(result, updates.Described):
                body = {"ok": True, "result": result.result, "description": result.description}
            status = 200
        except ApiError as exc:
            status, body = exc.code, exc.payload()
            record["spec_mismatch"] = isinstance(exc, SpecError)
        except Exception as exc:  # an emulator bug: answer like Telegram would, log loudly
            log.exception("emulator failed on %s", name)
            status, body = 500, {"ok": False, "error_code": 500,
                                 "description": f"Internal Server Error: emulator bug: {exc!r}"}
        result = body.get("result")
        record.update(status=status, ok=status == 200, result=result,
                      description=body.get("description"), done=time.time())
        if status == 200 and isinstance(result, dict) and "message_id" in result and "chat" in result:
            record.update(chat_id=result["chat"]["id"], message_id=result["message_id"])
        record.update(reply_status=status, answered=None)
        self.world.log_call(record)
        return _Call(status, body, record, fault)

    async def _answer(self, request: web.Request, call: _Call) -> web.StreamResponse:
        """Send the reply of an HTTP call, spoiled as its fault says; stamp the log record."""
        status, body, fault = call.status, call.body, call.fault
        if fault is not None and fault.when == "after":
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status != SLOW:
                error = fault.error()
                status, body = error.code, error.payload()
        record = call.record
        record["reply_status"] = status
        record["answered"] = time.time()
        if request.transport is None or request.transport.is_closing():
            record["client_gone"] = True  # it timed out or hung up: the reply reaches nobody
        self.world.changed.notify()
        if status == DROP:
            if request.transport is not None:
                request.transport.close()  # the client sees the connection end, no response
            return web.Response()
        return web.json_response(body, status=status)

    def _rate_limited_chat(self, method: str, params: dict[str, Any]) -> int | None:
        """The chat a sending call counts against, if flood limits apply to it."""
        chat_id = params.get("chat_id")
        if is_sending_method(method) and isinstance(chat_id, int) and chat_id in self.world.chats:
            return chat_id
        return None

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        try:
            self._authorize(request.match_info["token"])
        except ApiError as exc:
            return web.json_response(exc.payload(), status=exc.code)
        stored = self.world.files_by_path.get(request.match_info["path"])
        if stored is None or stored.data is None:
            return web.json_response(not_found().payload(), status=404)
        return web.Response(body=stored.data, content_type="application/octet-stream")


@dataclass
class _Call:
    """One executed call: the method's own outcome, its log record and the fault that hit it."""

    status: int
    body: dict[str, Any]
    record: dict[str, Any]
    fault: Injection | None


def _loggable(fields: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
    """Call parameters for the log: uploads described, attach:// references resolved."""
    params: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in uploads:
            params[key] = uploads[value[9:]].describe()
        else:
            params[key] = value
    for key, upload in uploads.items():
        if key not in params and f"attach://{key}" not in fields.values():
            params[key] = upload.describe()
    return params


async def run_emulator(host: str = "127.0.0.1", port: int = 8081, token: str | None = None) -> None:
    """Serve an emulator until cancelled (the ``fieldbot emulator`` command).

    Prints where everything is: the base URL to point a bot at (``telegram.api_base``), the chat
    page to talk to that bot in a browser, and the control endpoints for scripts. A person at a
    broken install still gets a working emulator: unchecked, with one calm warning.
    """
    emulator = BotApiEmulator(token, require_spec=False)
    base_url = await emulator.start(host, port)
    checking = (f"checking requests against {emulator.spec.version}" if emulator.spec.validating
                else "requests are not checked against the Bot API")
    print(f"Telegram Bot API emulator listening on {base_url} ({checking})\n"
          f"  chat page:   {base_url}/  (open it in a browser and talk to the bot as anyone)\n"
          f'  for the bot: telegram.api_base = "{base_url}", any token like 123456:ABC\n'
          f"  control API: {base_url}/_control/help", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await emulator.stop()
