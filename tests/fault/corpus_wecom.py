"""The bad-input corpus of the WeCom callback: a seeded, deterministic generator of what WeCom, a
member of the company app and a stranger on the internet can send to the bot's callback URL, each
case tagged with its family and with what the bot owes in return.  :mod:`tests.fault.test_bad_input_wecom`
plays them against the real bot's WeCom adapter with the local WeCom emulator; it is the WeCom
counterpart of :mod:`tests.fault.corpus` (whose cast, bad ids and dialogs it reuses).

Families (:data:`FAMILIES`):

* ``transport`` — raw HTTP requests to the callback URL, built here: bad signatures (a character
  flipped, empty, missing query parameters, another token, over another ciphertext), another
  corp's message or another key inside a correctly signed ciphertext, stale and future
  timestamps (a replay outside the adapter's ``FRESH`` window) and timestamps that are no time,
  an exact replay of a delivered envelope and the same plaintext re-sealed with a new nonce
  (WeCom's retry after a slow answer: stored once, answered once), malformed envelopes (not XML,
  no ``Encrypt``, not base64, not whole AES blocks, a broken pad, a length field past the
  buffer), bodies that are not UTF-8 (Latin-1, UTF-16, an unknown or multi-byte encoding
  declared), an empty body, bodies over the adapter's 1 MiB and over the server's 4 MiB (also
  as a gzip bomb), entity expansion and external entities in the envelope and in the decrypted
  plaintext, plaintexts that are no WeCom message (not XML, not UTF-8, nested thousands deep),
  and the URL check (GET) with a bad signature or a bad ``echostr``.  Each is refused with a
  4xx — or, where WeCom's semantics say so, accepted — and stores nothing (the accepted ones:
  exactly once).
* ``fields`` — correctly sealed and signed plaintexts whose fields are odd: message kinds
  Fieldbot does not read (voice, video, a file, a link, a kind WeCom may add), events it does
  not handle (with and without ``FromUserName``), no ``FromUserName``, ``CreateTime`` missing or
  no time, ``MsgId`` and ``Content`` odd, menu clicks with unknown keys, and ``kf_msg_or_event``
  with a forged Token, another account's Token or none.
* ``text`` — odd text (controls, NUL, C1, U+FFFD where a client had a lone surrogate, 2048+
  bytes, empty, CDATA's end marker, format strings, SQL…) as plain text and as the argument of the
  commands that parse or echo it, slash and word forms.
* ``commands`` — every role-restricted command, with the slash and as a word (WeCom has no command
  menu, so ``tickets`` is ``/tickets``), from strangers (members of the company who have not
  joined) and from each role that may not use it; unknown commands; commands from customers in
  微信客服.
* ``buttons`` — ``template_card_event`` with a forged ``EventKey``: every button prefix the router
  knows with bad ids, odd shapes, the right id pressed by the wrong person, team or role; forged
  ``TaskId`` and ``ResponseCode`` (a card never sent, a real card with a code WeCom never
  issued); a button pressed twice (a second click) and a click re-delivered (WeCom's retry).
* ``media`` — photos with a ``MediaId`` WeCom does not know (``media/get`` fails), empty or
  absurd; locations beyond the map, not numbers, at its edge; the menu's location picker without
  its ``SendLocationInfo``.

What a case owes is what :mod:`tests.fault.corpus` spells out — no crash, no traceback shown,
nothing watched changed where a refusal is due, nobody else written to, replies short and in the
sender's language — and on WeCom also: at most one WARNING log line per refused request and no
traceback in any log record of the bot, nothing stored in the inbox by a refused request, the
bot still answering a normal message afterwards.  On WeCom the app does not say which language a
member reads: a stranger is answered in the bot's language (English here), a member who joined in
the one they set with ``/lang``.

Everything here is data: builders take the player's context (``tx`` for a raw request: the
callback's URL, corp id, token and key; ``env`` for a plaintext: ids by name as in
:mod:`tests.fault.corpus`, the emulator's clock) and the sender.  ``FIELDBOT_BAD_INPUT_WECOM=full``
plays every bad id, carrier and role (≈ 3× the cases); the default is the CI size.
"""

from __future__ import annotations

import base64
import gzip
import os
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.wecom_emulator.crypto import DeviceCrypto, key_bytes, sign
from bot.wecom_emulator.device import Bare, render
from models.enums import Role
from tests.fault import corpus as telegram
from tests.fault.corpus import BAD_IDS, PAGED, SILENT, STRANGERS, Member

SEED = 20261202
FAMILIES = ("transport", "fields", "text", "commands", "buttons", "media")
#: ``ci`` (default) or ``full``.
SIZE = os.environ.get("FIELDBOT_BAD_INPUT_WECOM", "ci").strip().lower() or "ci"
FULL = SIZE == "full"
#: The Telegram corpus' cast, and two engineers more: WeCom takes at most 30 messages a minute to
#: one member, and most buttons are engineers'.
CAST = (*telegram.CAST, Member("eng2_en", 106, Role.ENGINEER, "Wu Gang", "en", "North"),
        Member("eng2_zh", 107, Role.ENGINEER, "钱芳", "zh-hans", "North"))
BY_KEY = {m.key: m for m in CAST}
STAFF = [m.key for m in CAST if m.role not in (None, Role.CUSTOMER)]
ENGINEERS = [m.key for m in CAST if m.role is Role.ENGINEER and m.team == "North"]
EN_STAFF = [k for k in STAFF if BY_KEY[k].expects == "en"]
#: Another app's EncodingAESKey (PROTOCOL.md §2.3, KAT-2): a ciphertext sealed with it is no message of ours.
OTHER_KEY = "cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP"


def expects(m: Member) -> str:
    """The language the bot owes ``m`` on WeCom: a stranger's app says nothing, so the bot's own."""
    return m.expects if m.role is not None else "en"


def address(m: Member) -> str:
    """``m``'s id on WeCom: a member ``u<n>`` of the company app, a customer ``wm<n>customer`` in 微信客服
    (as :class:`tests.support.wecom.WecomDriver` names them)."""
    return f"wm{m.uid}customer" if m.role is Role.CUSTOMER else f"u{m.uid}"


# -- what is sent ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """One HTTP request to the callback URL (``params`` None: no query string at all)."""

    method: str
    params: dict[str, str] | None
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Http:
    """Raw requests built here (``build(tx, member)``), sent in order.  ``status``: what each may be
    answered; ``stored``: inbox rows they leave together (0 or, accepted and deduped, 1);
    ``echo``: a URL check answered with the echostr's plaintext."""

    build: Callable[[Any, Member], list[Request]]
    status: tuple[int, ...]
    stored: int = 0
    echo: bool = False


@dataclass(frozen=True)
class Deliver:
    """A plaintext (``build(env, member)``) sealed, signed and delivered as WeCom does, by the
    emulator (re-delivered on an answer that is not 200).  ``outcome``: ``read`` (stored and
    handled), ``parked`` (stored, unreadable: kept for an operator), ``ignored`` (a kind Fieldbot
    does not handle: not stored) or ``refused`` (400 at the callback: not stored).  ``times``:
    delivered that many times (a retry after a slow answer), stored once."""

    build: Callable[[Any, Member], str]
    outcome: str = "read"
    times: int = 1


@dataclass(frozen=True)
class Typed:
    """What the emulator's device API sends for a person: a member's text in the app, a
    customer's in 微信客服 (pulled by the customer-service adapter)."""

    text: str


@dataclass(frozen=True)
class KfWake:
    """A ``kf_msg_or_event`` (no FromUserName, no body) with ``token``: ``forged`` (one WeCom never
    issued), ``other_account`` (a real one, of another 微信客服 account of the company, whose
    OpenKfId it names) or ``none``."""

    token: str


Send = Http | Deliver | Typed | KfWake


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    sender: str
    send: Send
    refusal: bool = True
    dialog: tuple[str | None, str, str, dict] | None = None
    fresh: tuple[str, ...] = ()
    prelude: tuple[Send, ...] = ()
    dialog_moves: bool = False
    silent: bool = False
    long_ok: bool = False
    lang: str | None = None
    messages: int | None = None
    #: After the checks: the sender sends this (a member's text, or a customer's) and must be answered.
    then: str | None = None
    defect: str | None = None

    @property
    def id(self) -> str:
        return f"{self.family}/{self.name}"


# -- plaintexts -------------------------------------------------------------------------------------
class Fmt(str):
    """A value with ``{name}`` placeholders, filled from the world when the plaintext is built."""


SENDER, NOW = object(), object()
#: A MsgId of its own (WeCom's are unique): two cases alike in the same second are not one message.
NEXT = object()


def plain(msgtype: str | None, *fields: tuple[str, Any], user: Any = SENDER, create_time: Any = NOW,
          agent: bool = True) -> Callable[[Any, Member], str]:
    """A plaintext as WeCom writes it (:func:`bot.wecom_emulator.device.render`: strings in CDATA,
    numbers and :class:`Bare` values bare — a ``Bare`` carries raw XML too); ``user`` None leaves
    FromUserName out, ``create_time`` None CreateTime."""
    def build(env: Any, m: Member) -> str:
        out: list[tuple[str, Any]] = [("ToUserName", env.corp)]
        if user is not None:
            out.append(("FromUserName", address(m) if user is SENDER else user))
        if create_time is not None:
            out.append(("CreateTime", int(env.now()) if create_time is NOW else create_time))
        if msgtype is not None:
            out.append(("MsgType", msgtype))
        out += [(k, _fill(env, v)) for k, v in fields]
        if agent:
            out.append(("AgentID", env.agent_id))
        return render(out)
    return build


def _fill(env: Any, value: Any) -> Any:
    if value is NEXT:
        return 10 ** 15 + env.next_id()
    if isinstance(value, Fmt):
        return env.format(value)
    if isinstance(value, list):
        return [(k, _fill(env, v)) for k, v in value]
    return value


def text(content: str, **kw: Any) -> Callable[[Any, Member], str]:
    return plain("text", ("Content", content), ("MsgId", NEXT), **kw)


def click(key: str, *, task: str = "fb-forged-task", code: str | None = None, **kw: Any) -> Callable:
    """A ``template_card_event``: button ``key`` pressed on card ``task`` (one never sent, by
    default) with response code ``code`` (a fresh forged one per case by default)."""
    def build(env: Any, m: Member) -> str:
        response = code if code is not None else f"forged{env.next_id()}"
        return plain("event", ("Event", "template_card_event"), ("EventKey", Fmt(key)), ("TaskId", Fmt(task)),
                     ("CardType", "button_interaction"), ("ResponseCode", response), **kw)(env, m)
    return build


def event(name: str, *fields: tuple[str, Any], **kw: Any) -> Callable[[Any, Member], str]:
    return plain("event", ("Event", name), *fields, **kw)


def location(lat: Any, lon: Any) -> Callable[[Any, Member], str]:
    """A location message (``Location_X`` = latitude); floats as WeCom writes them, strings as they are."""
    def bare(v: Any) -> Any:
        return Bare(f"{v:.6f}") if isinstance(v, float) else Bare(str(v))
    return plain("location", ("Location_X", bare(lat)), ("Location_Y", bare(lon)), ("Scale", 15),
                 ("Label", "site"), ("MsgId", NEXT), ("AppType", "wxwork"))


def picked(info: Any) -> Callable[[Any, Member], str]:
    """The menu's location picker (``location_select``) with ``info`` as its SendLocationInfo."""
    fields: list[tuple[str, Any]] = [("Event", "location_select"), ("EventKey", "loc")]
    if info is not None:
        fields.append(("SendLocationInfo", info))
    return plain("event", *fields)


def image(media_id: Any) -> Callable[[Any, Member], str]:
    fields: list[tuple[str, Any]] = [("PicUrl", "http://127.0.0.1:9/_pic/none")]
    if media_id is not None:
        fields.append(("MediaId", media_id))
    return plain("image", *fields, ("MsgId", NEXT))


# -- raw requests ---------------------------------------------------------------------------------
def seal_raw(encoding_aes_key: str, body: bytes, receive_id: bytes, *, length: int | None = None,
             last: int | None = None) -> str:
    """A ciphertext laid out by hand (what :class:`DeviceCrypto` cannot be made to write): any
    message bytes, any length field, and a pad whose ``last`` byte may lie."""
    key = key_bytes(encoding_aes_key)
    data = b"\x00" * 16 + struct.pack("!I", len(body) if length is None else length) + body + receive_id
    n = 32 - len(data) % 32
    data += bytes([n]) * (n - 1) + bytes([n if last is None else last])
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode("ascii")


class Tx:
    """What a transport case builds with: the callback URL's secrets and the emulator's clock."""

    NONCE = "1372623149"

    def __init__(self, corp: str, token: str, aes_key: str, agent_id: int, now: Callable[[], float]) -> None:
        self.corp, self.token, self.aes_key, self.agent_id, self._now = corp, token, aes_key, agent_id, now
        self.device = DeviceCrypto(token, aes_key, corp)
        self.msgids = 4561255354251345929

    def now(self) -> int:
        return int(self._now())

    def message(self, m: Member, content: str) -> str:
        """A text from ``m`` as WeCom writes it (each with a MsgId of its own)."""
        self.msgids += 1
        return render([("ToUserName", self.corp), ("FromUserName", address(m)), ("CreateTime", self.now()),
                       ("MsgType", "text"), ("Content", content), ("MsgId", self.msgids), ("AgentID", self.agent_id)])

    def change(self, m: Member) -> str:
        """A text that changes what is watched if it is ever handled: ``m`` switches language."""
        return self.message(m, "/lang zh" if expects(m) == "en" else "/lang en")

    def envelope(self, encrypt: str, *, to: str | None = None) -> bytes:
        return (f"<xml><ToUserName><![CDATA[{to or self.corp}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]>"
                f"</Encrypt><AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>").encode()

    def params(self, encrypt: str, *, timestamp: str | None = None, nonce: str | None = None,
               token: str | None = None) -> dict[str, str]:
        stamp, nonce = timestamp if timestamp is not None else str(self.now()), nonce or self.NONCE
        return {"msg_signature": sign(token or self.token, stamp, nonce, encrypt), "timestamp": stamp, "nonce": nonce}

    def post(self, encrypt: str, body: bytes | None = None, **kw: Any) -> Request:
        """A POST of ``encrypt`` (in ``body``, or the usual envelope), signed over ``encrypt``."""
        return Request("POST", self.params(encrypt, **kw), self.envelope(encrypt) if body is None else body)

    def signed(self, plaintext: str, *, device: DeviceCrypto | None = None, **kw: Any) -> Request:
        return self.post((device or self.device).seal(plaintext), **kw)

    def get(self, echostr: str, **kw: Any) -> Request:
        return Request("GET", {**self.params(echostr, **kw), "echostr": echostr})


def _with_params(request: Request, **changes: str | None) -> Request:
    params = dict(request.params or {})
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return replace(request, params=params)


def _retries(tx: Tx, m: Member) -> list[Request]:
    """One message delivered four times, each re-sealed with a new nonce a second later (WeCom
    after a slow answer)."""
    message = tx.message(m, "ping")
    return [tx.signed(message, nonce=str(n), timestamp=str(tx.now() + n)) for n in range(4)]


def _flip(signature: str, at: int) -> str:
    c = signature[at]
    return signature[:at] + ("0" if c != "0" else "1") + signature[at + 1:]


LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10)) + "]>")
EXTERNAL = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
PARAMETER = '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>'


def transport(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    senders = iter(EN_STAFF * 40)  # a refused text would change their language if it were ever handled

    def add(name: str, build: Callable[[Tx, Member], list[Request]], status: tuple[int, ...], *, stored: int = 0,
            echo: bool = False, defect: str | None = None) -> None:
        sender = next(senders)
        cases.append(Case("transport", name, sender, Http(build, status, stored, echo), silent=not stored,
                          messages=1 if stored else None, defect=defect))

    def one(make: Callable[[Tx, Member], Request]) -> Callable[[Tx, Member], list[Request]]:
        return lambda tx, m: [make(tx, m)]

    # Signatures.
    at = rng.randrange(40)
    add("signature/one_character_flipped", one(lambda tx, m: _with_params(
        r := tx.signed(tx.change(m)), msg_signature=_flip(r.params["msg_signature"], at))), (403,))
    add("signature/empty", one(lambda tx, m: _with_params(tx.signed(tx.change(m)), msg_signature="")), (403,))
    add("signature/missing", one(lambda tx, m: _with_params(tx.signed(tx.change(m)), msg_signature=None)), (403,))
    add("signature/no_query_at_all", one(lambda tx, m: replace(tx.signed(tx.change(m)), params=None)), (403,))
    add("signature/timestamp_missing", one(lambda tx, m: _with_params(tx.signed(tx.change(m)), timestamp=None)),
        (403,))
    add("signature/nonce_missing", one(lambda tx, m: _with_params(tx.signed(tx.change(m)), nonce=None)), (403,))
    add("signature/another_token", one(lambda tx, m: tx.signed(tx.change(m), token="NotOurToken42")), (403,))
    add("signature/over_another_ciphertext", one(lambda tx, m: tx.post(
        tx.device.seal(tx.change(m)), body=tx.envelope(tx.device.seal(tx.change(m))))), (403,))
    add("signature/truncated", one(lambda tx, m: _with_params(
        r := tx.signed(tx.change(m)), msg_signature=r.params["msg_signature"][:39])), (403,))
    add("signature/not_hex", one(lambda tx, m: _with_params(tx.signed(tx.change(m)), msg_signature="签名" * 20)),
        (403,))
    # Right signature, wrong contents.
    add("corp/another_corps_receive_id", one(lambda tx, m: tx.signed(
        tx.change(m), device=DeviceCrypto(tx.token, tx.aes_key, "ww0000000000000000"))), (400,))
    add("corp/receive_id_with_a_suffix", one(lambda tx, m: tx.signed(
        tx.change(m), device=DeviceCrypto(tx.token, tx.aes_key, tx.corp + "x"))), (400,))
    add("corp/empty_receive_id", one(lambda tx, m: tx.post(
        seal_raw(tx.aes_key, tx.change(m).encode(), b""))), (400,))
    add("corp/another_aes_key", one(lambda tx, m: tx.signed(
        tx.change(m), device=DeviceCrypto(tx.token, OTHER_KEY, tx.corp))), (400,))
    # Freshness: the signed timestamp is more than FRESH (10 min) away, or no time at all.
    for label, offset in (("stale_11_minutes", -660), ("stale_one_day", -86400), ("future_11_minutes", 660)):
        add(f"fresh/{label}", one(lambda tx, m, o=offset: tx.signed(tx.change(m), timestamp=str(tx.now() + o))),
            (400,))
    for label, stamp in (("words", "yesterday"), ("empty", ""), ("negative", "-1"), ("float", "1700000000.5"),
                         ("huge", str(10 ** 18)), ("beyond_time_t", str(2 ** 64))):
        add(f"fresh/timestamp_{label}", one(lambda tx, m, s=stamp: tx.signed(tx.change(m), timestamp=s)), (400,),
            defect="timestamp_out_of_the_platforms_range" if label == "huge" else None)
    add("fresh/nine_minutes_old_is_accepted", one(lambda tx, m: tx.signed(
        tx.message(m, "ping"), timestamp=str(tx.now() - 540))), (200,), stored=1)
    # Replays inside the window and WeCom's retries: the effect happens once.
    add("dedupe/exact_replay", lambda tx, m: [r := tx.signed(tx.message(m, "ping")), r], (200,), stored=1)
    add("dedupe/same_plaintext_new_nonce", lambda tx, m: [
        tx.signed(p := tx.message(m, "ping"), nonce="111"), tx.signed(p, nonce="222")], (200,), stored=1)
    add("dedupe/three_retries_after_a_slow_answer", _retries, (200,), stored=1)
    add("dedupe/replay_with_another_signature_order", lambda tx, m: [
        r := tx.signed(tx.message(m, "ping")), _with_params(r, msg_signature=r.params["msg_signature"].upper())],
        (200,), stored=1)
    # WeCom's semantics: the receive id inside the ciphertext is the corp; the envelope's
    # ToUserName is not checked, and an XInclude is an element like any other, never followed.
    add("accepted/envelope_to_user_name_of_another_corp", one(lambda tx, m: tx.post(
        e := tx.device.seal(tx.message(m, "ping")), body=tx.envelope(e, to="wwSomeoneElse"))), (200,), stored=1)
    add("accepted/xinclude_is_not_followed", one(lambda tx, m: tx.signed(tx.message(m, "ping").replace(
        "<xml>", '<xml xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd"/>', 1))),
        (200,), stored=1)
    # Malformed envelopes (signed over what they carry, so only the envelope is wrong).
    add("envelope/not_xml", one(lambda tx, m: tx.post("QUJD", body=b"hello, bot")), (400,))
    add("envelope/unclosed", one(lambda tx, m: tx.post("QUJD", body=b"<xml><Encrypt><![CDATA[QUJD")), (400,))
    add("envelope/no_encrypt", one(lambda tx, m: tx.post("", body=f"<xml><ToUserName>{tx.corp}</ToUserName>"
                                                          "<AgentID>1</AgentID></xml>".encode())), (400,))
    add("envelope/empty_encrypt", one(lambda tx, m: tx.post("", body=b"<xml><Encrypt></Encrypt></xml>")), (400,))
    add("envelope/root_is_not_xml", one(lambda tx, m: tx.post(
        e := tx.device.seal(tx.change(m)), body=f"<message><Encrypt>{e}</Encrypt></message>".encode())), (400,))
    add("envelope/encrypt_not_base64", one(lambda tx, m: tx.post("not base64 at all!")), (400,))
    add("envelope/encrypt_with_chinese", one(lambda tx, m: tx.post("QUJD签名")), (400,))
    add("envelope/ciphertext_of_17_bytes", one(lambda tx, m: tx.post(base64.b64encode(b"x" * 17).decode())), (400,))
    add("envelope/ciphertext_empty", one(lambda tx, m: tx.post("==")), (400,))
    add("envelope/bad_padding", one(lambda tx, m: tx.post(seal_raw(
        tx.aes_key, tx.change(m).encode(), tx.corp.encode(), last=33))), (400,))
    add("envelope/padding_of_zero", one(lambda tx, m: tx.post(seal_raw(
        tx.aes_key, b"<xml/>", tx.corp.encode(), last=0))), (400,))
    add("envelope/length_past_the_buffer", one(lambda tx, m: tx.post(seal_raw(
        tx.aes_key, tx.change(m).encode(), tx.corp.encode(), length=10 ** 6))), (400,))
    add("envelope/length_cuts_the_message", one(lambda tx, m: tx.post(seal_raw(
        tx.aes_key, (p := tx.change(m)).encode(), tx.corp.encode(), length=len(p) - 9))), (400,))
    # Bodies that are not UTF-8 (WeCom sends UTF-8), empty, or too large.
    add("body/latin1", one(lambda tx, m: tx.post(e := tx.device.seal(tx.change(m)), body=tx.envelope(e).replace(
        b"<AgentID>", "<Note>caf\xe9</Note><AgentID>".encode("latin-1")))), (400,))
    add("body/latin1_declared", one(lambda tx, m: tx.post(e := tx.device.seal(tx.change(m)), body=(
        b'<?xml version="1.0" encoding="ISO-8859-1"?>' + tx.envelope(e).replace(
            b"<AgentID>", "<Note>caf\xe9</Note><AgentID>".encode("latin-1"))))), (400,),
        defect="envelope_not_read_as_utf8")
    add("body/utf16", one(lambda tx, m: tx.post(e := tx.device.seal(tx.change(m)), body=tx.envelope(e).decode()
                                                .encode("utf-16"))), (400,), defect="envelope_not_read_as_utf8")
    add("body/unknown_encoding_declared", one(lambda tx, m: tx.post(e := tx.device.seal(tx.change(m)), body=(
        b'<?xml version="1.0" encoding="x-no-such-charset"?>' + tx.envelope(e)))), (400,),
        defect="envelope_not_read_as_utf8")
    add("body/codec_that_is_no_text_encoding_declared", one(lambda tx, m: tx.post(
        e := tx.device.seal(tx.change(m)), body=b'<?xml version="1.0" encoding="rot13"?>' + tx.envelope(e))),
        (400,), defect="envelope_not_read_as_utf8")
    add("body/gbk_declared", one(lambda tx, m: tx.post(e := tx.device.seal(tx.change(m)), body=(
        b'<?xml version="1.0" encoding="GBK"?>' + tx.envelope(e)))), (400,))
    add("body/empty", one(lambda tx, m: Request("POST", tx.params(""))), (400,))
    add("body/just_over_1_mib", one(lambda tx, m: tx.post(e := tx.device.seal(tx.change(m)), body=tx.envelope(e)
                                                          .replace(b"</xml>", b" " * 2 ** 20 + b"</xml>"))), (400,))
    add("body/over_the_servers_4_mib", one(lambda tx, m: tx.post(
        e := tx.device.seal(tx.change(m)), body=tx.envelope(e).replace(b"</xml>", b" " * 5 * 2 ** 20 + b"</xml>"))),
        (413,))
    add("body/gzip_bomb", one(lambda tx, m: replace(tx.post(
        e := tx.device.seal(tx.change(m)), body=gzip.compress(tx.envelope(e).replace(
            b"</xml>", b" " * 16 * 2 ** 20 + b"</xml>"))), headers=(("Content-Encoding", "gzip"),))), (400, 413))
    # Entity expansion and external entities: in the envelope, and inside the decrypted plaintext.
    for label, doctype in (("billion_laughs", LAUGHS), ("external_entity", EXTERNAL),
                           ("parameter_entity", PARAMETER)):
        ref = {"billion_laughs": "&lol9;", "external_entity": "&xxe;", "parameter_entity": "x"}[label]
        add(f"entities/{label}_in_the_envelope", one(lambda tx, m, d=doctype, r=ref: tx.post(
            "QUJD", body=f'<?xml version="1.0"?>{d}<xml><Encrypt>{r}</Encrypt></xml>'.encode())), (400,))
        add(f"entities/{label}_in_the_plaintext", one(lambda tx, m, d=doctype, r=ref: tx.signed(
            d + tx.message(m, "ping").replace("<Content><![CDATA[ping]]></Content>", f"<Content>{r}</Content>"))),
            (400,))
    add("entities/doctype_in_lower_case", one(lambda tx, m: tx.post("QUJD", body=(
        b'<!doctype x [<!entity e "QUJD">]><xml><Encrypt>&e;</Encrypt></xml>'))), (400,))
    add("entities/utf16_envelope_hiding_an_entity", one(lambda tx, m: tx.post(
        e := tx.device.seal(tx.change(m)), body=(f'<!DOCTYPE x [<!ENTITY e "{e}">]><xml><Encrypt>&e;</Encrypt>'
                                                 "</xml>").encode("utf-16"))), (400,),
        defect="envelope_not_read_as_utf8")
    add("entities/utf16_billion_laughs", one(lambda tx, m: tx.post(
        "QUJD", body=f'{LAUGHS}<xml><Encrypt>&lol9;</Encrypt></xml>'.encode("utf-16"))), (400,))
    # Plaintexts that are no WeCom message.
    add("plaintext/not_xml", one(lambda tx, m: tx.signed("hello, this is not XML")), (400,))
    add("plaintext/empty", one(lambda tx, m: tx.post(seal_raw(tx.aes_key, b"", tx.corp.encode()))), (400,))
    add("plaintext/root_is_not_xml", one(lambda tx, m: tx.signed(
        tx.change(m).replace("<xml>", "<message>").replace("</xml>", "</message>"))), (400,))
    add("plaintext/not_utf8", one(lambda tx, m: tx.post(seal_raw(
        tx.aes_key, tx.change(m).encode().replace(b"/lang", b"\xff\xfe/lang"), tx.corp.encode()))), (400,))
    add("plaintext/surrogate_as_cesu8", one(lambda tx, m: tx.post(seal_raw(
        tx.aes_key, tx.message(m, "a@b").encode().replace(b"@", b"\xed\xa0\x80"), tx.corp.encode()))), (400,))
    add("plaintext/surrogate_as_a_character_reference", one(lambda tx, m: tx.signed(tx.message(m, "ping").replace(
        "<![CDATA[ping]]>", "a&#xD800;b"))), (400,))
    add("plaintext/nested_3000_deep", one(lambda tx, m: tx.signed(tx.change(m).replace(
        "</xml>", "<x>" * 3000 + "</x>" * 3000 + "</xml>"))), (400,), defect="plaintext_nested_too_deep")
    # The URL check (GET).
    add("url_check/answered", one(lambda tx, m: tx.get(tx.device.seal("5927098245114375313"))), (200,), echo=True)
    add("url_check/bad_signature", one(lambda tx, m: _with_params(
        tx.get(tx.device.seal("1")), msg_signature="0" * 40)), (403,))
    add("url_check/no_query_at_all", one(lambda tx, m: Request("GET", None)), (403,))
    add("url_check/echostr_missing", one(lambda tx, m: _with_params(tx.get(""), echostr=None)), (403,))
    add("url_check/echostr_not_base64", one(lambda tx, m: tx.get("not base64!")), (403,))
    add("url_check/echostr_of_another_corp", one(lambda tx, m: tx.get(
        DeviceCrypto(tx.token, tx.aes_key, "ww0000000000000000").seal("1"))), (403,))
    add("url_check/echostr_of_another_key", one(lambda tx, m: tx.get(
        DeviceCrypto(tx.token, OTHER_KEY, tx.corp).seal("1"))), (403,))
    add("url_check/echostr_not_utf8", one(lambda tx, m: tx.get(seal_raw(tx.aes_key, b"\xff\xfe", tx.corp.encode()))),
        (403,))
    add("method/put", one(lambda tx, m: replace(tx.signed(tx.change(m)), method="PUT")), (405,))
    return cases


# -- fields --------------------------------------------------------------------------------------
def fields(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    anyone = STAFF + ["str_en", "str_zh", "str_xx"]
    turn = iter(rng.sample(anyone, len(anyone)) * 20)

    def add(name: str, send: Send, sender: str | None = None, **kw: Any) -> None:
        cases.append(Case("fields", name, sender or next(turn), send, **kw))

    arrive_photo = (None, "arrive", "photo", {"ticket_id": "{Z_route}", "number": "{n_Z_route}"})
    checkin = (None, "checkin", "collect", {"ticket_id": "{Z_site}", "number": "{n_Z_site}", "photos": [],
                                            "notes": [], "late_at": None})
    # A person's message of a kind Fieldbot does not read: answered as on Telegram (the dialog's
    # ask again, or "not sure what you mean"), never left without a word.
    kinds = {"voice": [("MediaId", "voice_media"), ("Format", "amr")],
             "video": [("MediaId", "video_media"), ("ThumbMediaId", "thumb")],
             "file": [("MediaId", "file_media"), ("FileName", "report.pdf")],
             "link": [("Title", "<b>site</b>"), ("Description", "{0}"), ("Url", "javascript:alert(1)"),
                      ("PicUrl", "")],
             "emotion": [("MediaId", "sticker")], "future_kind_2027": [("Anything", "x")]}
    for kind, extra in kinds.items():
        add(f"kind/{kind}", Deliver(plain(kind, *extra, ("MsgId", NEXT))), defect="odd_kinds_left_unanswered")
    add("kind/voice_at_the_arrival_photo_step", Deliver(plain("voice", *kinds["voice"])), "eng_zh",
        dialog=arrive_photo, defect="odd_kinds_left_unanswered")
    add("kind/file_in_a_checkin", Deliver(plain("file", *kinds["file"])), "eng_zh", dialog=checkin,
        defect="odd_kinds_left_unanswered")
    add("kind/upper_case_text", Deliver(plain("TEXT", ("Content", "hello"))))
    add("kind/missing", Deliver(plain(None, ("Content", "/lang zh")), outcome="ignored"), "sup_en", silent=True)
    add("kind/empty", Deliver(plain("", ("Content", "/lang zh")), outcome="ignored"), "eng_en", silent=True)
    # Events Fieldbot does not handle: not stored, not answered — whoever they name or not.
    events = {"enter_agent": [("EventKey", "")],
              "LOCATION": [("Latitude", Bare("23.137466")), ("Longitude", Bare("113.352425")),
                           ("Precision", Bare("119.385040"))],
              "LOCATION_garbage": [("Latitude", "north"), ("Longitude", Bare("<a>1</a>"))],
              "subscribe": [], "unsubscribe": [], "view": [("EventKey", "https://example.com")],
              "scancode_push": [("EventKey", "scan"), ("ScanCodeInfo", [("ScanType", "qrcode"),
                                                                         ("ScanResult", "/lang zh")])],
              "pic_sysphoto": [("EventKey", "photo"), ("SendPicsInfo", [("Count", 1), ("PicList", [
                  ("item", [("PicMd5Sum", "1b5f7c23b5bf75682a53e7b6d163e185")])])])],
              "template_card_menu_event": [("EventKey", "acc:1"), ("TaskId", "t"), ("CardType", "text_notice")],
              "taskcard_click": [("EventKey", "acc:1"), ("TaskId", "t")],
              "future_event_2027": [("Whatever", Bare("<deep><er/></deep>"))]}
    for name, extra in events.items():
        add(f"event/{name}", Deliver(event(name.replace("_garbage", ""), *extra), outcome="ignored"), silent=True)
    for name in ("change_contact", "batch_job_result", "future_event_2027"):
        add(f"event/{name}_without_from_user_name", Deliver(event(name, ("ChangeType", "update_user"), user=None),
                                                            outcome="ignored"), silent=True,
            defect="unhandled_event_without_a_sender_parked")
    add("event/change_external_contact_from_sys", Deliver(event("change_external_contact", ("ChangeType", "add"),
                                                                user="sys"), outcome="ignored"), silent=True)
    add("event/no_event_name", Deliver(plain("event", ("EventKey", "cmd:help")), outcome="ignored"), silent=True)
    # No sender: genuinely unreadable, kept for an operator; nobody to answer.
    add("from/missing_on_a_text", Deliver(text("/lang zh", user=None), outcome="parked"), silent=True)
    add("from/empty_on_a_text", Deliver(text("/lang zh", user=""), outcome="parked"), silent=True)
    add("from/blank_on_a_text", Deliver(text("/lang zh", user="   "), outcome="parked"), silent=True)
    add("from/missing_on_a_button", Deliver(click("ack:{CHK}", user=None), outcome="parked"), silent=True)
    add("from/missing_on_a_menu_click", Deliver(event("click", ("EventKey", "cmd:help"), user=None),
                                                outcome="parked"), silent=True)
    add("from/an_element_not_a_name", Deliver(text("/lang zh", user=Bare("<id>u100</id>")), outcome="parked"),
        silent=True, defect="sender_not_a_name")
    # CreateTime is the phone's word only: missing or no time, the message is read as it is.
    for label, value in (("missing", None), ("words", "yesterday"), ("negative", -1), ("zero", 0),
                         ("milliseconds", 1735000000000), ("huge", 10 ** 18), ("beyond_time_t", 2 ** 64),
                         ("float", Bare("1700000000.5")), ("far_future", 4102444800)):
        kw: dict[str, Any] = {"create_time": value} if value is not None else {"create_time": None}
        add(f"create_time/{label}", Deliver(text("hello there", **kw)),
            defect="create_time_out_of_the_platforms_range" if label in ("huge",) else None)
    for label, value in (("missing", None), ("words", "abc"), ("huge", Bare("9" * 80))):
        fields_ = [("Content", "hello again")] + ([("MsgId", value)] if value is not None else [])
        add(f"msg_id/{label}", Deliver(plain("text", *fields_)))
    add("content/missing", Deliver(plain("text", ("MsgId", NEXT))))
    add("content/an_element", Deliver(plain("text", ("Content", Bare("<b>bold</b>")))))
    add("content/twice_the_second_a_command", Deliver(plain("text", ("Content", "hello"), ("Content", "/lang xx"))))
    add("content/bare_with_entities", Deliver(plain("text", ("Content", Bare("&lt;b&gt; &amp;amp; &#x4e2d;")))))
    # Menu clicks: keys the menu never had.
    for label, key in (("unknown_command", "cmd:frobnicate"), ("no_command", "cmd:"), ("not_a_command", "zzz"),
                       ("upper_case_command", "cmd:HELP"), ("a_button_as_a_key", "acc:1"),
                       ("command_with_arguments", "cmd:ticket FS-1"), ("huge", "cmd:" + "x" * 3000)):
        silent = label in ("not_a_command", "a_button_as_a_key")
        add(f"menu/{label}", Deliver(event("click", ("EventKey", key)), outcome="ignored" if silent else "read"),
            silent=silent)
    add("menu/another_roles_command", Deliver(event("click", ("EventKey", "cmd:new"))), "eng_en")
    add("menu/a_stranger", Deliver(event("click", ("EventKey", "cmd:tickets"))), "str_zh")
    add("menu/photo_button_notice", Deliver(event("pic_sysphoto", ("EventKey", "photo"), ("SendPicsInfo", [
        ("Count", 1), ("PicList", [("item", [("PicMd5Sum", "x")])])])), outcome="ignored"), "eng_zh", silent=True,
        dialog=arrive_photo)
    # 微信客服 events: a forged Token, another account's, none.  Nothing stored, nobody answered,
    # no traceback logged — and the customer who writes next is answered.
    for label, who in (("forged", "cust_en"), ("other_account", "cust_zh"), ("none", "cust_en")):
        add(f"kf/{label}_token", KfWake(label), who, silent=True, then="hello", lang=BY_KEY[who].expects,
            defect="kf_token_refused_kept_and_logged_with_a_traceback" if label != "none" else None)
    return cases


# -- text ----------------------------------------------------------------------------------------
def odd_texts(rng: random.Random) -> dict[str, str]:
    """Payloads whose only fault is their text, as a WeCom plaintext can carry them (UTF-8: a
    client's lone surrogate arrives as U+FFFD)."""
    junk = "".join(rng.choice("aZ09 _-:/\\{}%$'\"<>&;]") for _ in range(60))
    return {
        "empty": "", "blank": "   \t  ", "newlines": "\n" * 200, "controls": "\x01\x02\x07\x1b[31mred\x1b[0m\r\n\x7f",
        "nul": "hi\x00there\x00", "c1_controls": "\x80\x85\x9f\xa0x", "replacement_character": "a\ufffdb\ufffd",
        "noncharacters": "\ufffe\uffff\ufdd0", "bytes_2049": "字" * 683, "chars_10000": "c" * 10000,
        "cjk_7000": "长" * 7000, "cdata_end": "a]]>b<![CDATA[c", "xml_specials": "<xml>&amp;</xml> & < > \"'",
        "emoji": "🔧" * 300, "zwsp": "\u200b\u200c\u200d\ufeff", "rtl_override": "\u202eolleh\u202c",
        "combining": "e" + "\u0301" * 500, "sql": "'; DROP TABLE tickets; --", "fmt_named": "{number}",
        "fmt_attr": "{__class__.__mro__}", "printf": "%s%s%s%n", "html": "<b>bold</b><script>alert(1)</script>",
        "slash_only": "/", "double_slash": "//tickets", "junk": junk,
    }


CARRIERS: list[tuple[str, str, str]] = [  # (sender, template, label)
    ("eng_en", "{t}", "text"), ("str_zh", "{t}", "text_stranger"), ("sup_en", "/ticket {t}", "ticket"),
    ("dsp_zh", "/kb {t}", "kb"), ("mgr_en", "/report {t}", "report"), ("eng_zh", "/lang {t}", "lang"),
    ("str_en", "/start {t}", "start"), ("dsp_en", "dispatch {t}", "dispatch_word"),
    ("sup_s_zh", "/reassign {t}", "reassign"), ("eng_zh", "checkin {t}", "checkin_word"),
    ("eng_s_en", "/parts {t}", "parts"), ("mgr_s_zh", "kb {t}", "kb_word"), ("sup_en", "/{t}", "as_command"),
]


def text_family(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    texts = odd_texts(rng)
    for n, name in enumerate(sorted(texts)):
        picks = CARRIERS if FULL else [CARRIERS[n % 2]] + rng.sample(CARRIERS[2:], 1)
        for sender, template, label in picks:
            payload = template.replace("{t}", texts[name])
            command = label not in ("text", "text_stranger", "as_command")
            blank = command and not texts[name].replace("\x00", "").strip()
            # A command whose argument is only whitespace is the command without one (/report
            # shows last month, ``checkin`` opens the engineer's one check-in, /ticket asks which).
            cases.append(Case("text", f"{name}/{label}", sender, Deliver(text(payload)), long_ok=blank,
                              dialog_moves=blank))
    return cases


# -- commands ------------------------------------------------------------------------------------
def commands(rng: random.Random, restricted: dict[str, frozenset[Role]]) -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    strangers = [*STRANGERS, "str_xx"]
    for n, (command, roles) in enumerate(sorted(restricted.items())):
        wrong = [k for k in STAFF if BY_KEY[k].role not in roles]
        forms = (("slash", f"/{command}"), ("word", command))
        for k, (form, said) in enumerate(forms):
            add(Case("commands", f"stranger/{command}/{form}", strangers[(n + k) % len(strangers)],
                     Deliver(text(said))))
            if wrong:
                picks = wrong if FULL else [wrong[(n + k) % len(wrong)]]
                for sender in picks:
                    add(Case("commands", f"wrong_role/{command}/{form}/{sender}", sender, Deliver(text(said))))
        if wrong and n % 3 == 0:  # with an argument, the word form too
            add(Case("commands", f"wrong_role/{command}/word_with_argument", rng.choice(wrong),
                     Deliver(plain("text", ("Content", Fmt(f"{command} {{n_T_site}}"))))))
    eta = (None, "depart", "eta", {"ticket_id": "{T_acc}", "number": "{n_T_acc}"})
    for name, sender, said, kw in (
            ("unknown/slash", "eng_en", "/frobnicate", {}),
            ("unknown/word", "dsp_zh", "frobnicate now", {}),
            ("unknown/stranger", "str_en", "/frobnicate", {}),
            ("unknown/underscore_only", "sup_en", "/_", {}),
            ("unknown/fallback_of_no_button", "mgr_en", "/_zzz_1", {}),
            ("fallback/bad_id", "eng_zh", "/_acc_999999", {}),
            ("fallback/another_engineers_card", "eng_zh", Fmt("/_card_{T_site}"), {}),
            ("upper_case/slash", "eng_zh", "/TICKETS", {"refusal": False, "long_ok": True}),
            ("upper_case/word", "eng_en", "TICKETS", {"refusal": False, "long_ok": True}),
            ("word_in_a_dialog_is_an_answer", "eng_en", "tickets", {"dialog": eta}),
            ("lang/unknown", "dsp_en", "/lang klingon", {}),
            ("lang/word_unknown", "sup_s_zh", "lang xx", {}),
            ("start/garbage_by_a_stranger", "str_zh", "/start !!!garbage!!!", {}),
            ("start/garbage_word_by_a_stranger", "str_xx", "start 0000", {}),
            ("start/again_without_a_token", "sup_en", "/start", {"refusal": False, "long_ok": True}),
            ("help/stranger", "str_en", "/help", {"refusal": False, "long_ok": True}),
            ("cancel/nothing_to_cancel", "mgr_s_zh", "cancel", {}),
            ("link/stranger", "str_zh", "/link", {})):
        build = text(said) if not isinstance(said, Fmt) else plain("text", ("Content", said))
        add(Case("commands", name, sender, Deliver(build), **kw))
    # Customers in 微信客服 typing staff commands, with the slash and as words.
    for name, sender, said in (("customer/board", "cust_en", "/board"), ("customer/kb_word", "cust_zh", "kb fan"),
                               ("customer/tickets_word", "cust_zh", "tickets"), ("customer/new", "cust_en", "/new"),
                               ("customer/ticket", "cust_en", "/ticket FS-1")):
        add(Case("commands", name, sender, Typed(said)))
    return cases


# -- buttons -------------------------------------------------------------------------------------
#: The right id pressed by the wrong person, team or role (members only: a customer's buttons are
#: 微信客服 menu taps, and anyone in the company can forge a card click).
WRONG: list[tuple[str, tuple[str, ...]]] = [
    ("acc:{T_disp}", ("eng2_zh", "eng_s_en", "sup_en", "str_zh")), ("dec:{T_disp}", ("eng_s_en", "dsp_en")),
    ("card:{T_site}", ("eng_zh", "dsp_zh")), ("go:{T_acc}", ("eng_s_en", "mgr_en")),
    ("arr:{T_route}", ("eng2_zh", "sup_s_zh")), ("pau:{T_site}", ("eng_s_en",)),
    ("paur:{T_site}:parts", ("eng2_en", "sup_en")), ("res:{T_paused}", ("mgr_s_zh",)),
    ("chk:{T_site}", ("eng2_zh",)), ("done:{T_site}", ("eng2_en",)), ("rsv:{T_site}", ("sup_en",)),
    ("rsvf:{T_site}:0", ("eng_s_en",)), ("sgn:{T_res}", ("eng2_en",)), ("sgnc:{T_res}", ("eng_s_en",)),
    ("sgnp:{T_res}", ("str_en",)), ("prt:{T_site}", ("dsp_zh",)), ("prn:{T_site}", ("eng2_zh",)),
    ("dspt:{T_new}", ("sup_s_zh", "eng_en")), ("dsp:{T_new}:{p_eng_en}", ("mgr_en", "str_zh")),
    ("dsp:{T_new}:{p_eng_s_en}", ("dsp_zh",)), ("dsp:{S_new}:{p_eng_s_en}", ("sup_en",)),
    ("pra:{PR}", ("sup_s_zh", "eng_en")), ("prr:{PR}", ("mgr_s_zh",)), ("cpa:{CP}", ("sup_s_zh", "str_en")),
    ("cpt:{T_site}", ("eng_en",)), ("cfm:{T_res}", ("eng_en",)), ("rate:{T_signed}:5", ("sup_en",)),
    ("nocmt:{T_rated}", ("dsp_en",)), ("cbr:{T_cb}:4", ("dsp_en",)), ("cbn:{T_cb}", ("eng_zh",)),
    ("ack:{CHK}", ("sup_s_zh", "eng_en")), ("ack:{CHK_S}", ("mgr_en",)), ("cbd:{T_cbx}", ("sup_s_zh",)),
    ("cbp:{T_cbx}:3", ("mgr_s_zh",)), ("pfa:202610", ("sup_en", "dsp_zh")), ("rsr:{T_acc}", ("eng_en",)),
    ("rsw:{T_acc}:{p_eng_zh}", ("sup_s_zh",)), ("rsg:{T_disp}", ("mgr_en",)),
    ("rsa:{T_disp}:{p_eng_zh}", ("sup_s_zh",)), ("bdt:{S_site}", ("dsp_zh",)), ("tkx:{T_site}", ("eng_s_en",)),
    ("tks:1", ("sup_en",)), ("brd:1", ("eng_en", "str_zh")), ("pnd:1", ("mgr_en",)), ("ok", ("eng_en",)),
]


def buttons(rng: random.Random, prefixes: dict[str, frozenset[Role] | None]) -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    core = ("zero", "minus_one", "missing_row", "not_a_number", "overlong", "superscript")
    rare = [label for label in BAD_IDS if label not in core]
    for n, prefix in enumerate(sorted(prefixes)):
        roles = prefixes[prefix]
        allowed = [k for k in STAFF if roles is None or BY_KEY[k].role in roles]
        customers_only = not allowed  # 微信客服 taps: a member pressing one is the wrong role
        pressers = allowed or STAFF
        labels = (*core, rare[n % len(rare)]) if FULL else (core[n % len(core)],) + (
            (rare[n // 2 % len(rare)],) if n % 2 == 0 else ())
        for k, label in enumerate(labels):
            sender = pressers[(n + k) % len(pressers)] if rng.random() < 0.5 else rng.choice(pressers)
            add(Case("buttons", f"bad_id/{prefix}/{label}", sender, Deliver(click(f"{prefix}:{BAD_IDS[label]}")),
                     long_ok=prefix in PAGED and not customers_only, silent=prefix in SILENT))
    for label, key in (("unknown_prefix", "zzz:1"), ("empty", ""), ("colon", ":"), ("upper_case", "ACC:{T_disp}"),
                       ("unicode_prefix", "аcc:{T_disp}"), ("cdata_end", "acc:]]>1"), ("huge", "acc:" + "9" * 3000),
                       ("extra_arguments", "acc:999999:2:3:4")):
        add(Case("buttons", f"shape/{label}", rng.choice(STAFF), Deliver(click(key))))
    # What XML cannot carry (NUL) is dropped and a value's surrounding blanks trimmed as WeCom's
    # values are read: the same button as without them (WeCom sends the key the bot set).
    for label, key, sender in (("leading_space_is_trimmed", " acc:{F} ", "eng_en"),
                               ("nul_is_dropped", "acc:\x00{F}", "eng_zh")):
        add(Case("buttons", f"shape/{label}", sender, Deliver(click(key)), refusal=False, long_ok=True,
                 fresh=(f"F=ticket:dispatched:{sender}",)))
    add(Case("buttons", "shape/event_key_an_element", "eng_zh", Deliver(plain(
        "event", ("Event", "template_card_event"), ("EventKey", Bare("<k>acc:1</k>")), ("TaskId", "t"),
        ("ResponseCode", "c")))))
    add(Case("buttons", "shape/event_key_missing", "dsp_zh", Deliver(plain(
        "event", ("Event", "template_card_event"), ("TaskId", "t"), ("ResponseCode", "c")))))
    for data, pressers in WRONG:
        picks = pressers if FULL else pressers[:1] if len(pressers) < 3 else pressers[::2]
        for sender in picks:
            prefix = data.split(":")[0]
            add(Case("buttons", f"wrong_person/{prefix}/{sender}/{_slug(data)}", sender, Deliver(click(data)),
                     silent=prefix in SILENT, long_ok=prefix in PAGED and BY_KEY[sender].role is not None
                     and prefixes[prefix] is not None and BY_KEY[sender].role in prefixes[prefix]))
    # Forged TaskId and ResponseCode: the press is taken on its merits; the card it names is no
    # card of the person's, so the answer comes as a new message.
    add(Case("buttons", "forged_task/own_ticket_card", "eng_en", Deliver(click("card:{T_site}", task="fb-no-such-card")),
             refusal=False, long_ok=True))
    add(Case("buttons", "forged_task/empty_task_and_code", "eng_zh", Deliver(click("acc:999999", task="", code=""))))
    add(Case("buttons", "forged_task/huge_task_id", "sup_en", Deliver(click("ack:999999", task="t" * 5000))))
    add(Case("buttons", "forged_code/on_a_real_card", "eng_en", Deliver(click("card:{T_site}", task="{CARD}")),
             refusal=False, long_ok=True, fresh=("CARD=card:eng_en:card:{T_site}",)))
    add(Case("buttons", "forged_task/another_members_card", "dsp_zh", Deliver(click("ack:{CHK}", task="{CARD}")),
             fresh=("CARD=card:sup_en:ack:{CHK}",)))
    # Pressed twice (a second click: a new ResponseCode) and re-delivered (WeCom's retry: the
    # same plaintext) — the effect happens once.
    for name, sender, fresh, key in (("accept", "eng_en", "F=ticket:dispatched", "acc:{F}"),
                                     ("pause_reason", "eng_zh", "F=ticket:on_site:eng_zh", "paur:{F}:parts"),
                                     ("dispatch", "sup_en", "F=ticket:new", "dsp:{F}:{p_eng_en}"),
                                     ("approve_parts", "sup_en", "PR=parts", "pra:{PR}"),
                                     ("acknowledge", "sup_en", "CHK=checkin", "ack:{CHK}")):
        add(Case("buttons", f"pressed_twice/{name}", sender, Deliver(click(key)), fresh=(fresh,),
                 prelude=(Deliver(click(key)),)))
    for name, sender, fresh, key in (("accept", "eng_zh", "F=ticket:dispatched:eng_zh", "acc:{F}"),
                                     ("resume", "eng_en", "F=ticket:paused", "res:{F}")):
        add(Case("buttons", f"retried/{name}", sender, Deliver(click(key, code="retried-code-1"), times=3),
                 fresh=(fresh,), refusal=False, long_ok=True))
    return cases


def _slug(data: str) -> str:
    return data.replace("{", "").replace("}", "").replace(":", "-")


# -- media ---------------------------------------------------------------------------------------
def media(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    engineers = iter(ENGINEERS * 20)

    def arrival(step: str) -> tuple[str, tuple[str, ...], tuple]:
        """An engineer at the arrival's ``step`` of a ticket made for the case."""
        engineer = next(engineers)
        data = {"ticket_id": "{F}", "number": "{n_F}"} if step == "photo" else {
            "ticket_id": "{F}", "number": "{n_F}", "photos": [], "late_at": None}
        return engineer, (f"F=ticket:en_route:{engineer}",), (None, "arrive", step, data)

    def checkin() -> tuple[str, tuple[str, ...], tuple]:
        engineer = next(engineers)
        return engineer, (f"F=ticket:on_site:{engineer}",), (None, "checkin", "collect", {
            "ticket_id": "{F}", "number": "{n_F}", "photos": [], "notes": [], "late_at": None})

    def paper() -> tuple[str, tuple[str, ...], tuple]:
        engineer = next(engineers)
        return engineer, (f"F=ticket:resolved:{engineer}",), (None, "paper", "photo", {
            "ticket_id": "{F}", "number": "{n_F}"})

    # A MediaId WeCom does not know (media/get answers 40007): asked again, the dialog waits.
    media_ids = {"unknown": "3" + "a" * 63, "empty": "", "missing": None, "huge": "m" * 5000,
                 "path": "../../../etc/passwd", "query": "x&access_token=stolen", "cjk": "媒体文件"}
    where = [("arrival", lambda: arrival("photo")), ("checkin", checkin), ("paper", paper),
             ("no_dialog", lambda: ("sup_en", (), None)), ("stranger", lambda: ("str_zh", (), None))]
    for n, (label, media_id) in enumerate(media_ids.items()):
        picks = where if FULL else [where[n % len(where)], where[(n + 2) % len(where)]]
        for place, make in picks:
            sender, fresh, dialog = make()
            add(Case("media", f"unknown_media/{label}/{place}", sender, Deliver(image(media_id)), dialog=dialog,
                     fresh=fresh))
    # Locations beyond the map: refused; not numbers: unreadable (parked, as on Telegram); at its
    # edge: a real place (the arrival is recorded).
    beyond = {"lat_just_over": (90.000001, 0.0), "lon_just_under": (45.0, -180.000001), "both_far": (1000.0, -1000.0),
              "nan": ("nan", "nan"), "infinity": ("inf", "0"), "overflow": ("1e400", "1"), "huge": (1e308, 1e308)}
    for n, (label, (lat, lon)) in enumerate(beyond.items()):
        engineer, fresh, dialog = arrival("location")
        add(Case("media", f"location_beyond/{label}/arrival", engineer, Deliver(location(lat, lon)), dialog=dialog,
                 fresh=fresh))
        sender = ["str_en", "sup_s_zh", "mgr_en", "dsp_en"][n % 4]
        add(Case("media", f"location_beyond/{label}/{sender}", sender, Deliver(location(lat, lon))))
    for label, (lat, lon) in {"words": ("north", "east"), "empty": ("", ""), "comma_decimal": ("31,2", "121,5"),
                              "an_element": ("<a>1</a>", "2")}.items():
        engineer, fresh, dialog = arrival("location")
        add(Case("media", f"location_not_numbers/{label}", engineer, Deliver(location(lat, lon), outcome="parked"),
                 dialog=dialog, fresh=fresh, silent=True))
    add(Case("media", "location_not_numbers/latitude_missing", "eng_zh", Deliver(plain(
        "location", ("Location_Y", Bare("121.5")), ("Label", "x")), outcome="parked"), silent=True))
    # (0, 0) is what a phone without a GPS fix sends (issue 15): refused like a place off the map.
    engineer, fresh, dialog = arrival("location")
    add(Case("media", "location_null_island/arrival", engineer, Deliver(location(0.0, 0.0)), dialog=dialog,
             fresh=fresh))
    for label, (lat, lon) in {"north_pole_dateline": (90.0, 180.0), "south_pole_antimeridian": (-90.0, -180.0),
                              "padded_digits": (" 31.2 ", " 121.47 ")}.items():
        engineer, fresh, dialog = arrival("location")
        add(Case("media", f"location_at_the_edge/{label}", engineer, Deliver(location(lat, lon)), refusal=False,
                 fresh=fresh, dialog=dialog, dialog_moves=True))
    # The menu's location picker.
    for label, info, outcome in (("no_send_location_info", None, "parked"), ("send_location_info_as_text",
                                 "31.2,121.5", "parked"), ("empty_send_location_info", [], "parked"),
                                 ("beyond_the_map", [("Location_X", "91"), ("Location_Y", "0"), ("Scale", "15"),
                                                     ("Label", "x"), ("Poiname", "y")], "read"),
                                 ("words", [("Location_X", "north"), ("Location_Y", "east")], "parked")):
        engineer, fresh, dialog = arrival("location")
        add(Case("media", f"picker/{label}", engineer, Deliver(picked(info), outcome=outcome), dialog=dialog,
                 fresh=fresh, silent=outcome == "parked"))
    add(Case("media", "picker/stranger_beyond_the_map", "str_en", Deliver(picked([
        ("Location_X", "-91"), ("Location_Y", "200")]))))
    return cases


# -- the whole corpus -----------------------------------------------------------------------------
def generate(seed: int = SEED, *, prefixes: dict[str, frozenset[Role] | None],
             commands_: dict[str, frozenset[Role] | None]) -> list[Case]:
    """The corpus, deterministic for a seed: each family draws from its own generator."""
    restricted = {k: r for k, r in commands_.items() if r is not None}
    out: list[Case] = []
    for n, family in enumerate(FAMILIES):
        rng = random.Random(seed * 37 + n)
        if family == "buttons":
            out += buttons(rng, prefixes)
        elif family == "commands":
            out += commands(rng, restricted)
        else:
            out += {"transport": transport, "fields": fields, "text": text_family, "media": media}[family](rng)
    ids = [c.id for c in out]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate case ids: {sorted(duplicates)}")
    return out
