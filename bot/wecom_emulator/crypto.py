"""The emulator's own WeCom callback crypto, written independently of the adapter's
(:mod:`bot.channels.wecom.crypto`): a shared bug in one module would otherwise pass every test
symmetrically.  Written from PROTOCOL.md §2.1 as WeCom's servers and clients do it — the envelope
``random(16) + len(4, big-endian) + msg + receive_id``, PKCS#7 padded to a multiple of **32**,
AES-256-CBC with IV = key[:16], base64; the signature ``sha1`` of the four sorted values — on
``cryptography``'s primitives directly, with its own layout code.  Both implementations are checked
against the three known-answer vectors (tests/test_wecom_crypto.py).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import string
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoError(Exception):
    """A reply or echo that does not decrypt or does not verify."""


def new_key() -> str:
    """A fresh 43-character EncodingAESKey, as the admin console generates one."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(43))


def key_bytes(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise ValueError("an EncodingAESKey has 43 characters")
    raw = base64.b64decode(encoding_aes_key + "=")
    if len(raw) != 32:
        raise ValueError("an EncodingAESKey decodes to 32 bytes")
    return raw


def sign(token: str, *parts: str) -> str:
    return hashlib.sha1("".join(sorted([token, *map(str, parts)])).encode("utf-8")).hexdigest()


class DeviceCrypto:
    """What the WeCom side does: seal callbacks for the bot, open the bot's passive replies."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        self.token = token
        self.key = key_bytes(encoding_aes_key)
        self.receive_id = receive_id.encode("utf-8")

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def seal(self, plaintext: str) -> str:
        body = plaintext.encode("utf-8")
        data = os.urandom(16) + struct.pack("!I", len(body)) + body + self.receive_id
        pad = BLOCK - len(data) % BLOCK
        data += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode("ascii")

    def open(self, encrypt: str) -> str:
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except ValueError as exc:
            raise CryptoError(f"not base64: {exc}") from None
        if not raw or len(raw) % 16:
            raise CryptoError("ciphertext is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        data = decryptor.update(raw) + decryptor.finalize()
        pad = data[-1]
        if not 1 <= pad <= BLOCK or data[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        data = data[:-pad]
        if len(data) < 20:
            raise CryptoError("envelope too short")
        (length,) = struct.unpack("!I", data[16:20])
        body, receive_id = data[20:20 + length], data[20 + length:]
        if len(body) != length:
            raise CryptoError("length field larger than the envelope")
        if receive_id != self.receive_id:
            raise CryptoError("wrong receive id")
        return body.decode("utf-8")

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return sign(self.token, timestamp, nonce, encrypt)

    def open_reply(self, body: bytes | str) -> str:
        """A passive reply ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``: verified, opened."""
        import xml.etree.ElementTree as ET

        text = body.decode("utf-8") if isinstance(body, bytes) else body
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            raise CryptoError("a reply with a DOCTYPE")
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise CryptoError(f"not XML: {exc}") from None
        encrypt = root.findtext("Encrypt") or ""
        stamp, nonce, given = (root.findtext(k) or "" for k in ("TimeStamp", "Nonce", "MsgSignature"))
        if not secrets.compare_digest(self.signature(stamp, nonce, encrypt), given):
            raise CryptoError("bad signature on the reply")
        return self.open(encrypt)
