"""WeCom callback crypto (PROTOCOL.md §2): signature, AES-256-CBC envelope, passive-reply envelope.

What it does, per the official scheme (d90968, the Tencent sample ``WXBizMsgCrypt.py``):

- ``msg_signature = sha1("".join(sorted([token, timestamp, nonce, encrypt])))`` in hex: the four
  *values* sorted and joined with no separator. Compared in constant time.
- ``AESKey = base64(EncodingAESKey + "=")`` (43 characters → 32 bytes), AES-256-CBC, ``IV = AESKey[:16]``.
- Plain buffer = 16 random bytes + 4-byte big-endian length + message (UTF-8) + receive id, padded
  PKCS#7-style to a multiple of **32** (pad value 1..32; KAT-1 has 30, so a 16-byte block unpadder
  refuses real traffic). The random prefix is binary in real traffic: never decoded.
- The receive id is the corp id for a self-built app and for 微信客服 events (the suite id for
  third-party suites); it is always checked.

Why directly on ``cryptography`` rather than ``wechatpy.enterprise.crypto.WeChatCrypto`` (1.8.18, the
only stable release): the scheme is 40 lines; importing wechatpy runs its package ``__init__``, which
pulls in the synchronous ``requests`` client and its dependencies the bot never uses; its
``InvalidCorpIdException`` is not a subclass of its ``InvalidSignatureException`` (a known source of
500s, wechatpy#799); and its unpadding silently accepts a broken pad. wechatpy's parser lacks
``template_card_event`` anyway, so the adapter parses XML itself. wechatpy stays in the ``test`` extra
only, as an independent implementation to cross-check this one.

Errors form one small hierarchy (:class:`WeComCryptoError`), each carrying the official return code
of ``ierror.py``, so the callback endpoint maps each to a refusal and nothing else escapes:
:class:`BadSignature` (-40001), :class:`WrongReceiveId` (-40005), :class:`BadPadding` (-40007),
:class:`MalformedMessage` (-40002 XML / -40010 base64 / -40008 buffer). A bad EncodingAESKey is a
configuration error, :class:`InvalidAESKey` (-40004, also a ``ValueError``), raised at construction.

Verify the signature before decrypting (:meth:`WeComCrypto.decrypt_callback` and
:meth:`WeComCrypto.verify_url` do): only then is the padding check no oracle for strangers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass


BLOCK = 32  # WeCom pads to 32 bytes, not to the AES block size
PREFIX = 16  # random bytes before the length field
KEY_RE = re.compile(r"^[A-Za-z0-9+/]{43}$")
MAX_ENVELOPE = 1024 * 1024  # a callback body larger than this is not WeCom's
#: An XML declaration's encoding (WeCom's bodies are UTF-8 and declare nothing else).
DECLARED = re.compile(r"""\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")


class WeComCryptoError(Exception):
    """Anything wrong with a callback's signature, ciphertext or envelope."""

    code = -40000


class BadSignature(WeComCryptoError):
    """``msg_signature`` does not match sha1 of token, timestamp, nonce and ciphertext."""

    code = -40001


class MalformedMessage(WeComCryptoError):
    """Not base64, not whole AES blocks, not XML, or a plain buffer too short for its length field."""

    code = -40002


class WrongReceiveId(WeComCryptoError):
    """Decrypted fine, but for another corp / kf / suite (``receiveid`` mismatch)."""

    code = -40005


class BadPadding(WeComCryptoError):
    """The decrypted buffer does not end in a valid 1..32 PKCS#7 pad (wrong key, tampering)."""

    code = -40007


class InvalidAESKey(WeComCryptoError, ValueError):
    """The EncodingAESKey is not 43 base64 characters (a configuration error)."""

    code = -40004


def signature(token: str, timestamp: str | int, nonce: str | int, encrypt: str) -> str:
    """sha1 hex of the four values sorted and joined (d90238)."""
    parts = sorted([str(token), str(timestamp), str(nonce), str(encrypt)])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey."""
    if not isinstance(encoding_aes_key, str) or not KEY_RE.match(encoding_aes_key):
        raise InvalidAESKey("EncodingAESKey must be exactly 43 characters of [A-Za-z0-9+/]")
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:  # cannot happen for 43 base64 characters; kept as a guard
        raise InvalidAESKey("EncodingAESKey does not decode to 32 bytes")
    return key


def new_encoding_aes_key() -> str:
    """A fresh random EncodingAESKey, as the admin console generates one."""
    return base64.b64encode(os.urandom(32)).decode("ascii")[:43]


def pad(data: bytes) -> bytes:
    amount = BLOCK - len(data) % BLOCK
    return data + bytes([amount]) * amount


def unpad(data: bytes) -> bytes:
    """Strip a 1..32 pad, checking every pad byte (raises :class:`BadPadding`)."""
    if not data:
        raise BadPadding("empty plaintext")
    amount = data[-1]
    if not 1 <= amount <= BLOCK or amount > len(data) or data[-amount:] != bytes([amount]) * amount:
        raise BadPadding("invalid padding (wrong key or tampered ciphertext)")
    return data[:-amount]


@dataclass(frozen=True)
class Envelope:
    """The outer XML of a callback POST: ``ToUserName`` (corp id), ``AgentID`` (a string, absent
    on kf events) and the base64 ciphertext ``Encrypt``."""

    to_user_name: str | None
    agent_id: str | None
    encrypt: str


def parse_envelope(body: bytes | str) -> Envelope:
    """Read ``<xml><ToUserName/><Encrypt/><AgentID/></xml>``; anything else is MalformedMessage.

    A DOCTYPE is refused outright (no entity expansion, no external entities), and so is a body
    over 1 MiB.  WeCom sends UTF-8: a body that is not UTF-8 or declares another encoding is
    refused, and the text is parsed, not the bytes — so no other encoding reaches the parser (UTF-16
    hid a DOCTYPE from the check below; an encoding the parser does not know raised LookupError,
    a 500).
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(raw) > MAX_ENVELOPE:
        raise MalformedMessage("callback body too large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage("callback body is not UTF-8") from None
    declared = DECLARED.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise MalformedMessage(f"callback body declares encoding {declared.group(1)[:40]!r}, not UTF-8")
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise MalformedMessage("DOCTYPE/ENTITY not allowed in a callback body")
    try:
        root = ET.fromstring(text)
    except (ET.ParseError, ValueError, LookupError) as exc:
        raise MalformedMessage(f"callback body is not XML: {exc}") from None
    encrypt = root.findtext("Encrypt")
    if root.tag != "xml" or not encrypt:
        raise MalformedMessage("callback body has no <Encrypt>")
    return Envelope(root.findtext("ToUserName"), root.findtext("AgentID"), encrypt.strip())


class WeComCrypto:
    """One callback configuration: Token, EncodingAESKey and the expected receive id."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        if not token:
            raise ValueError("token must not be empty")
        if not receive_id:
            raise ValueError("receive_id (the corp id) must not be empty")
        self.token = token
        self.receive_id = receive_id
        self._key = aes_key(encoding_aes_key)

    # -- signature ---------------------------------------------------------------------

    def sign(self, timestamp: str | int, nonce: str | int, encrypt: str) -> str:
        return signature(self.token, timestamp, nonce, encrypt)

    def verify_signature(self, msg_signature: str, timestamp: str | int, nonce: str | int, encrypt: str) -> None:
        """Raise :class:`BadSignature` unless ``msg_signature`` matches (constant-time compare)."""
        expected = self.sign(timestamp, nonce, encrypt)
        given = msg_signature if isinstance(msg_signature, str) else ""
        if not hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("ascii", "replace")):
            raise BadSignature("msg_signature does not match")

    # -- the envelope --------------------------------------------------------------------

    def encrypt(self, message: str | bytes, *, random_prefix: bytes | None = None,
                receive_id: str | None = None) -> str:
        """Base64 ciphertext of ``message``; ``random_prefix`` (16 bytes) only for known-answer tests."""
        body = message.encode("utf-8") if isinstance(message, str) else bytes(message)
        prefix = os.urandom(PREFIX) if random_prefix is None else random_prefix
        if len(prefix) != PREFIX:
            raise ValueError("random_prefix must be 16 bytes")
        rid = (self.receive_id if receive_id is None else receive_id).encode("utf-8")
        plain = pad(prefix + struct.pack(">I", len(body)) + body + rid)
        # Imported here: a Telegram-only instance never maps cryptography (5 MB).
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt_bytes(self, encrypt: str | bytes) -> tuple[bytes, bytes]:
        """``(message bytes, receive id bytes)`` of a ciphertext, receive id not yet checked."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise MalformedMessage("ciphertext is not base64") from None
        if not data or len(data) % 16:
            raise MalformedMessage("ciphertext is not a whole number of AES blocks")
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        plain = unpad(decryptor.update(data) + decryptor.finalize())
        if len(plain) < PREFIX + 4:
            raise MalformedMessage("plain buffer shorter than its header")
        (length,) = struct.unpack(">I", plain[PREFIX:PREFIX + 4])
        end = PREFIX + 4 + length
        if end > len(plain):
            raise MalformedMessage("length field runs past the plain buffer (truncated envelope)")
        return plain[PREFIX + 4:end], plain[end:]

    def decrypt(self, encrypt: str | bytes, *, receive_id: str | None = None) -> str:
        """The plaintext message, after checking the receive id (default: ours)."""
        message, rid = self.decrypt_bytes(encrypt)
        expected = (self.receive_id if receive_id is None else receive_id).encode("utf-8")
        if not hmac.compare_digest(rid, expected):
            raise WrongReceiveId("receiveid does not match")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedMessage("message is not UTF-8") from None

    # -- whole callbacks -----------------------------------------------------------------

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The GET verification (§1.2): check the signature over ``echostr``, return its plaintext,
        which the endpoint answers bare within 1 s."""
        self.verify_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def decrypt_callback(self, body: bytes | str, msg_signature: str, timestamp: str,
                         nonce: str) -> str:
        """A POST callback (§1.3): parse the envelope, verify the signature, decrypt; the plaintext XML."""
        envelope = parse_envelope(body)
        self.verify_signature(msg_signature, timestamp, nonce, envelope.encrypt)
        return self.decrypt(envelope.encrypt)

    def encrypt_reply(self, plaintext: str, *, timestamp: str | int | None = None,
                      nonce: str | None = None) -> str:
        """A passive reply (§1.5/§2.1): ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce if nonce is not None else str(int.from_bytes(os.urandom(4), "big"))
        encrypt = self.encrypt(plaintext)
        sig = self.sign(stamp, nonce, encrypt)
        return (f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{sig}]]>"
                f"</MsgSignature><TimeStamp>{stamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")

    def decrypt_reply(self, body: bytes | str) -> str:
        """Read a passive reply envelope (the emulator's side): verify its own signature, decrypt."""
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        envelope = parse_envelope(raw)
        root = ET.fromstring(raw.decode("utf-8"))  # parse_envelope read it as UTF-8 XML already
        sig, stamp, nonce = (root.findtext(tag) for tag in ("MsgSignature", "TimeStamp", "Nonce"))
        if not sig or stamp is None or nonce is None:
            raise MalformedMessage("reply envelope lacks MsgSignature, TimeStamp or Nonce")
        self.verify_signature(sig, stamp.strip(), nonce.strip(), envelope.encrypt)
        return self.decrypt(envelope.encrypt)
