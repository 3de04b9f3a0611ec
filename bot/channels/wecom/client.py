"""An async client for WeCom's ``/cgi-bin`` API (aiohttp, configurable base URL).

* The access token is kept in the database (``channel_state``), so several instances share one
  token instead of each fetching its own (WeCom throttles frequent ``gettoken``); it is refreshed a
  little before it expires, and at once — with the call retried once — on 40014 (invalid) or
  42001 (expired).
* 40001 means a wrong secret (or a corp id / secret mismatch, or a disabled app): it is not
  retried in a loop (a wrong secret tried repeatedly gets the IP blocked for an hour) but raised as
  :class:`WecomConfigError`, which the runtime logs as one line and the sender reports.
* 60020 (the server's IP is not on the app's trusted-IP list) is explained in one line.
* Every error is WeCom's shape, HTTP 200 with ``errcode``: :meth:`WecomClient.call` raises
  :class:`WecomError` with the code; :func:`delivery_error` classifies it for the outbox
  (45009 rate limited, 45033 concurrency, -1 busy: transient; parameter errors: permanent).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp

from handlers.channel import DeliveryError

log = logging.getLogger(__name__)

#: Refresh this long before WeCom's stated expiry.
EARLY = timedelta(minutes=5)
TRANSIENT = frozenset({-1, 45009, 45033, 45011})
TOKEN_ERRORS = frozenset({40014, 42001, 41001})


class WecomError(Exception):
    def __init__(self, errcode: int, errmsg: str, path: str = ""):
        super().__init__(f"{path}: {errcode} {errmsg}".strip(": "))
        self.errcode, self.errmsg, self.path = errcode, errmsg, path


class WecomConfigError(WecomError):
    """The configuration is wrong (secret, trusted IP): retrying cannot help; a person must act."""


def explain(errcode: int, errmsg: str) -> str:
    if errcode == 40001:
        return ("WeCom refused the secret (40001): check wecom.corp_id and wecom.secret (the app's "
                "Secret in the admin console), and that the app is enabled")
    if errcode == 60020:
        return ("WeCom refused this server's IP (60020): add it to the app's 企业可信IP in the admin "
                "console (" + errmsg.split("from ip:")[-1].split(",")[0].strip() + ")")
    return f"WeCom error {errcode}: {errmsg}"


def delivery_error(exc: BaseException) -> DeliveryError | None:
    """A failed call as the outbox sees it (None: not a WeCom or network error)."""
    if isinstance(exc, WecomConfigError):
        return DeliveryError("transient", explain(exc.errcode, exc.errmsg))  # wait for a person to fix it
    if isinstance(exc, WecomError):
        if exc.errcode in TRANSIENT:
            return DeliveryError("transient", f"{exc.errcode} {exc.errmsg}")
        return DeliveryError("permanent", f"{exc.errcode} {exc.errmsg}")
    if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return DeliveryError("transient", f"{type(exc).__name__}: {exc}")
    return None


class WecomClient:
    def __init__(self, *, base_url: str, corp_id: str, secret: str, store: Any, token_name: str,  # noqa: ANN401
                 timeout: float = 10.0):
        """``store``: where the token is shared (``get(name)`` / ``put(name, value, expires_at)``)."""
        self.base_url = base_url.rstrip("/")
        self.corp_id, self.secret = corp_id, secret
        self.store, self.token_name = store, token_name
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._refresh = asyncio.Lock()

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the token ----------------------------------------------------------------------------
    async def token(self, *, fresh: bool = False, stale: str | None = None) -> str:
        """The shared access token; ``fresh`` after WeCom refused ``stale``."""
        if not fresh:
            cached = await self.store.get(self.token_name)
            if cached:
                return cached
        async with self._refresh:
            cached = await self.store.get(self.token_name)
            if cached and cached != stale:  # another task or instance refreshed it meanwhile
                return cached
            data = await self._get_json("/cgi-bin/gettoken", {"corpid": self.corp_id, "corpsecret": self.secret})
            expires = datetime.now(timezone.utc) + timedelta(seconds=int(data.get("expires_in", 7200))) - EARLY
            await self.store.put(self.token_name, data["access_token"], expires)
            return data["access_token"]

    # -- calls --------------------------------------------------------------------------------
    async def call(self, path: str, body: dict[str, Any] | None = None, *, params: dict[str, Any] | None = None,
                   method: str = "POST") -> dict[str, Any]:
        """One API call with the token; retried once with a fresh token on 40014/42001."""
        token = await self.token()
        try:
            return await self._call(path, body, params, method, token)
        except WecomError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("WeCom token refused (%s); fetching a new one", exc.errcode)
            token = await self.token(fresh=True, stale=token)
            return await self._call(path, body, params, method, token)

    async def _call(self, path: str, body: dict | None, params: dict | None, method: str, token: str) -> dict:
        query = {**(params or {}), "access_token": token}
        if method == "GET":
            return await self._get_json(path, query)
        async with self.session().post(self.base_url + path, params=query,
                                       data=json.dumps(body or {}, ensure_ascii=False).encode("utf-8"),
                                       headers={"Content-Type": "application/json"}) as resp:
            return self._check(path, await resp.json(content_type=None))

    async def _get_json(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        async with self.session().get(self.base_url + path, params=params) as resp:
            return self._check(path, await resp.json(content_type=None))

    @staticmethod
    def _check(path: str, data: Any) -> dict[str, Any]:  # noqa: ANN401
        if not isinstance(data, dict):
            raise WecomError(-1, "not a JSON object", path)
        code = int(data.get("errcode", 0) or 0)
        if code == 0:
            return data
        message = str(data.get("errmsg", ""))
        if code in (40001, 60020):
            raise WecomConfigError(code, message, path)
        raise WecomError(code, message, path)

    async def upload_image(self, path: Path) -> str:
        """A photo from the media store, uploaded: its ``media_id``."""
        data = await asyncio.to_thread(path.read_bytes)
        kind = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
        return await self.upload("image", path.name, data, kind)

    async def upload_file(self, path: Path, filename: str, content_type: str = "application/pdf") -> str:
        """A file from the media store (a PDF), uploaded as ``type=file``: its ``media_id``."""
        data = await asyncio.to_thread(path.read_bytes)
        return await self.upload("file", filename, data, content_type)

    async def upload(self, kind: str, filename: str, data: bytes, content_type: str) -> str:
        """``media/upload``: a ``media_id`` valid three days."""
        async def once(token: str) -> dict[str, Any]:
            form = aiohttp.FormData()
            form.add_field("media", data, filename=filename, content_type=content_type)
            async with self.session().post(f"{self.base_url}/cgi-bin/media/upload",
                                           params={"access_token": token, "type": kind}, data=form) as resp:
                return self._check("/cgi-bin/media/upload", await resp.json(content_type=None))

        token = await self.token()
        try:
            return (await once(token))["media_id"]
        except WecomError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            return (await once(await self.token(fresh=True, stale=token)))["media_id"]

    async def download(self, media_id: str) -> bytes:
        """``media/get``: the bytes, or a :class:`WecomError` (it answers JSON on error)."""
        for attempt in (1, 2):
            token = await self.token(fresh=attempt == 2)
            async with self.session().get(f"{self.base_url}/cgi-bin/media/get",
                                          params={"access_token": token, "media_id": media_id}) as resp:
                if "json" not in resp.headers.get("Content-Type", "") and "text/plain" not in resp.headers.get(
                        "Content-Type", ""):
                    return await resp.read()
                try:
                    self._check("/cgi-bin/media/get", await resp.json(content_type=None))
                except WecomError as exc:
                    if exc.errcode in TOKEN_ERRORS and attempt == 1:
                        continue
                    raise
        raise WecomError(-1, "media/get kept failing", "/cgi-bin/media/get")
