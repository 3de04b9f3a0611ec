"""The WeCom callback crypto (bot.channels.wecom.crypto) against PROTOCOL.md §2.3's known-answer
vectors, against wechatpy 1.8.18 as an independent implementation (both ways), and against broken
input: every failure is one of the module's own errors, never anything else."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.wecom.crypto import (
    BadPadding,
    BadSignature,
    InvalidAESKey,
    MalformedMessage,
    WeComCrypto,
    WeComCryptoError,
    WrongReceiveId,
    aes_key,
    new_encoding_aes_key,
    pad,
    parse_envelope,
    signature,
)

# KAT-1: the official d90968 example (ciphertext from the Tencent sample); pad byte 30.
KAT1 = dict(token="QDG6eK", key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", rid="wx5823bf96d3bd56c7",
            timestamp="1409659813", nonce="1372623149", sig="477715d11cdb4164915debcba66cb864d751f3e6",
            prefix=b"0960688932c47ef1",
            encrypt="RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3Qczcd"
                    "CUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4X"
                    "gpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+Kq"
                    "CKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS"
                    "9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZI"
                    "s2pDBS8R07+qN+E7Q==",
            plain="<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]>"
                  "</FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n"
                  "<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>")
# KAT-2: a real capture (xen0n/go-workwx); the random prefix is binary.
KAT2 = dict(token="kz7Yx62CH8SaLN", key="cD0d7jx4tYvVtzqrmh3Dm3QFCXe6f8SlHoMtMh3qQEP", rid="ww6a112864f8022910",
            timestamp="1583995625", nonce="1584392382", sig="f265ae551b1932727204c3d707628d01376a6940",
            prefix=bytes.fromhex("21e33070c56d1ca4e4fa84ace71334f6"),
            encrypt="EUCt7xMcNiyASzZj0Hjc5yDjFQrCum6AfQ3ntHiUzjGQ51xieKmbvtrZ40/EcB2W/W8yH0n4Lqx48gJl/T9HD/R309I0"
                    "P/r5pIZucK3lyEn48FYMr4YdE0QdL2jIJ3xkcXUr6uzefzCxG6lMvwpAJaOyVCzN7sRRw47njfxy5EIqU6R9ZBhlTzfd"
                    "nhhOhK/nTwzrZX3SoGlXFA9OBeZ6ru1NWpXFk76x9DUMe0lcxPPiUqK8ctnQcYXSGUHVqC6DfG7E7mab0OmruNN8cBZY"
                    "5d3dYOBA4OgaH55Q0AJmUpdT8vNiXpXx+6TxT3TIjySXpDrHVyrsb772aYywgg/Nu4kUmGkALwFZlzhjNegR7wDwb9lr"
                    "4ERXsSSS8JZ8lbBmaQ3F2Tq584xoPj5rIhXAF734ynm4no1g+SdHiNqR328=",
            plain="<xml><ToUserName><![CDATA[ww6a112864f8022910]]></ToUserName><FromUserName><![CDATA[foobar]]>"
                  "</FromUserName><CreateTime>1583995625</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>"
                  "<![CDATA[x123]]></Content><MsgId>2018405441</MsgId><AgentID>1000002</AgentID></xml>")
# KAT-3: the GET verification with KAT-1's keys.
KAT3 = dict(timestamp="1409659589", nonce="263014780", sig="5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
            prefix=b"c41b64491c2468d0", plain="1616140317555161061",
            echostr="P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==")


def crypto_of(kat: dict) -> WeComCrypto:
    return WeComCrypto(kat["token"], kat["key"], kat["rid"])


def raw_encrypt(key_text: str, plain: bytes) -> str:
    """AES-CBC over an already built (and possibly broken) plain buffer, no padding added."""
    key = aes_key(key_text)
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def buffer(message: bytes, rid: bytes, *, length: int | None = None) -> bytes:
    return b"R" * 16 + struct.pack(">I", len(message) if length is None else length) + message + rid


# -- known answers -----------------------------------------------------------------------------

@pytest.mark.parametrize("kat", [KAT1, KAT2], ids=["KAT-1", "KAT-2"])
def test_known_answer_post(kat: dict) -> None:
    c = crypto_of(kat)
    assert signature(kat["token"], kat["timestamp"], kat["nonce"], kat["encrypt"]) == kat["sig"]
    assert c.decrypt(kat["encrypt"]) == kat["plain"]
    assert c.encrypt(kat["plain"], random_prefix=kat["prefix"]) == kat["encrypt"]
    envelope = (f"<xml><ToUserName><![CDATA[{kat['rid']}]]></ToUserName><Encrypt><![CDATA[{kat['encrypt']}]]>"
                f"</Encrypt><AgentID><![CDATA[218]]></AgentID></xml>")
    assert c.decrypt_callback(envelope, kat["sig"], kat["timestamp"], kat["nonce"]) == kat["plain"]
    assert parse_envelope(envelope).agent_id == "218"


def test_known_answer_url_verification() -> None:
    c = crypto_of(KAT1)
    assert c.verify_url(KAT3["sig"], KAT3["timestamp"], KAT3["nonce"], KAT3["echostr"]) == KAT3["plain"]
    assert c.encrypt(KAT3["plain"], random_prefix=KAT3["prefix"]) == KAT3["echostr"]


def test_kat1_pads_thirty_bytes_which_a_16_byte_unpadder_would_refuse() -> None:
    key = aes_key(KAT1["key"])
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(base64.b64decode(KAT1["encrypt"])) + dec.finalize()
    assert plain[-1] == 30


# -- cross-check against wechatpy ------------------------------------------------------------

try:  # the test extra installs wechatpy 1.8.18; the known answers above do not need it
    import xmltodict
    from wechatpy.enterprise import crypto as wechatpy_crypto
except ImportError:  # pragma: no cover
    wechatpy_crypto = None

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=24)


@pytest.mark.skipif(wechatpy_crypto is None, reason="wechatpy (test extra) is not installed")
@settings(max_examples=60, deadline=None)
@given(message=st.text(max_size=3000), rid=ids, token=ids, nonce=st.integers(0, 2**31))
def test_wechatpy_reads_ours_and_we_read_wechatpys(message: str, rid: str, token: str, nonce: int) -> None:
    key = new_encoding_aes_key()
    ours = WeComCrypto(token, key, rid)
    theirs = wechatpy_crypto.WeChatCrypto(token, key, rid)
    # ours → theirs: a passive reply envelope, signature included
    reply = ours.encrypt_reply(message, timestamp=1700000000, nonce=str(nonce))
    fields = xmltodict.parse(reply)["xml"]
    assert theirs.decrypt_message({"Encrypt": fields["Encrypt"]}, fields["MsgSignature"], "1700000000",
                                  str(nonce)) == message
    # theirs → ours
    wrapped = theirs.encrypt_message(message, str(nonce), "1700000001")
    assert ours.decrypt_reply(wrapped) == message
    # the raw ciphertext both ways
    assert wechatpy_crypto.PrpCrypto(aes_key(key)).decrypt(ours.encrypt(message), rid) == message
    assert ours.decrypt(wechatpy_crypto.PrpCrypto(aes_key(key)).encrypt(message, rid)) == message


# -- broken input: the right error, nothing else ----------------------------------------------

def test_tampered_ciphertext_fails_the_signature_before_decryption() -> None:
    c = crypto_of(KAT1)
    tampered = ("A" if KAT1["encrypt"][0] != "A" else "B") + KAT1["encrypt"][1:]
    envelope = f"<xml><Encrypt><![CDATA[{tampered}]]></Encrypt></xml>"
    with pytest.raises(BadSignature):
        c.decrypt_callback(envelope, KAT1["sig"], KAT1["timestamp"], KAT1["nonce"])
    with pytest.raises(BadSignature):
        c.verify_signature(KAT1["sig"], KAT1["timestamp"], str(int(KAT1["nonce"]) + 1), KAT1["encrypt"])
    for junk in ("", "zz", "签名" * 20, KAT1["sig"][:-1]):
        with pytest.raises(BadSignature):
            c.verify_signature(junk, KAT1["timestamp"], KAT1["nonce"], KAT1["encrypt"])


def test_tampered_last_block_is_bad_padding() -> None:
    data = bytearray(base64.b64decode(KAT1["encrypt"]))
    data[-17] ^= 0x80  # flips the pad byte: 30 becomes 158
    with pytest.raises(BadPadding):
        crypto_of(KAT1).decrypt(base64.b64encode(bytes(data)).decode())


def test_wrong_key() -> None:
    other = WeComCrypto(KAT1["token"], "A" * 43, KAT1["rid"])
    with pytest.raises(BadPadding):
        other.decrypt(KAT1["encrypt"])


@settings(max_examples=200, deadline=None)
@given(message=st.text(max_size=200), seed=st.binary(min_size=32, max_size=32))
def test_any_wrong_key_raises_only_crypto_errors(message: str, seed: bytes) -> None:
    right = WeComCrypto("t", new_encoding_aes_key(), "wwcorp")
    wrong = WeComCrypto("t", base64.b64encode(seed).decode()[:43], "wwcorp")
    ciphertext = right.encrypt(message)
    try:
        assert wrong.decrypt(ciphertext) == message  # only if the seed happened to be the key
    except WeComCryptoError as exc:
        assert isinstance(exc, (BadPadding, MalformedMessage, WrongReceiveId))


def test_wrong_receive_id() -> None:
    c = crypto_of(KAT1)
    with pytest.raises(WrongReceiveId):
        WeComCrypto(KAT1["token"], KAT1["key"], "wwSomeoneElse").decrypt(KAT1["encrypt"])
    with pytest.raises(WrongReceiveId):
        c.decrypt(c.encrypt("<xml/>", receive_id="wk-kf-account"))
    assert c.decrypt(c.encrypt("<xml/>", receive_id="wkKF"), receive_id="wkKF") == "<xml/>"


@pytest.mark.parametrize("tail", [b"\x00" * 32, b"\x21" * 32, b"\x05\x05\x05\x04\x05", b"\x02" * 15 + b"\x03"],
                         ids=["pad-0", "pad-33", "uneven-pad", "short-pad"])
def test_bad_padding(tail: bytes) -> None:
    body = buffer(b"<xml/>", KAT1["rid"].encode())
    filler = b"x" * ((-len(body) - len(tail)) % 32)
    c = crypto_of(KAT1)
    with pytest.raises(BadPadding):
        c.decrypt(raw_encrypt(KAT1["key"], body + filler + tail))


def test_truncated_envelope() -> None:
    c = crypto_of(KAT1)
    rid = KAT1["rid"].encode()
    too_long = buffer(b"<xml/>", rid, length=5000)
    with pytest.raises(MalformedMessage):
        c.decrypt(raw_encrypt(KAT1["key"], pad(too_long)))
    short = b"R" * 10 + b"\x06" * 6  # 16 bytes: no room for the length field after unpadding
    with pytest.raises(MalformedMessage):
        c.decrypt(raw_encrypt(KAT1["key"], short))
    cut = base64.b64decode(KAT1["encrypt"])[:-5]
    with pytest.raises(MalformedMessage):
        c.decrypt(base64.b64encode(cut).decode())


@pytest.mark.parametrize("text", ["", "not base64!", "QUJD", "==", "Zm9v\n签"])
def test_not_a_ciphertext(text: str) -> None:
    with pytest.raises(MalformedMessage):
        crypto_of(KAT1).decrypt(text)


@pytest.mark.parametrize("body", [b"", b"not xml", b"<xml></xml>", b"<xml><Encrypt></Encrypt></xml>",
                                  b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>',
                                  b"<other><Encrypt>QUJD</Encrypt></other>"])
def test_malformed_envelope(body: bytes) -> None:
    with pytest.raises(MalformedMessage):
        crypto_of(KAT1).decrypt_callback(body, KAT1["sig"], KAT1["timestamp"], KAT1["nonce"])


def test_non_utf8_message_is_malformed() -> None:
    c = crypto_of(KAT1)
    with pytest.raises(MalformedMessage):
        c.decrypt(c.encrypt(b"\xff\xfe bad"))


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes_raise_only_crypto_errors(data: bytes) -> None:
    c = crypto_of(KAT1)
    for attempt in (lambda: c.decrypt(base64.b64encode(data).decode()),
                    lambda: c.decrypt_callback(data, "x", "1", "2"),
                    lambda: c.decrypt_reply(data)):
        with pytest.raises(WeComCryptoError):
            attempt()


def test_reply_round_trip_and_tampered_reply() -> None:
    c = crypto_of(KAT2)
    reply = c.encrypt_reply("<xml><MsgType><![CDATA[update_button]]></MsgType></xml>", timestamp=1, nonce="9")
    assert "update_button" in c.decrypt_reply(reply)
    forged = reply.replace("<TimeStamp>1<", "<TimeStamp>2<")
    with pytest.raises(BadSignature):
        c.decrypt_reply(forged)


@pytest.mark.parametrize("key", ["", "short", "A" * 44, "A" * 42 + "!", None])
def test_invalid_aes_key_is_a_configuration_error(key) -> None:
    with pytest.raises(InvalidAESKey) as info:
        WeComCrypto("token", key, "wwcorp")
    assert isinstance(info.value, ValueError) and info.value.code == -40004


def test_error_codes_follow_the_official_sample() -> None:
    assert (BadSignature.code, WrongReceiveId.code, BadPadding.code) == (-40001, -40005, -40007)
    assert all(issubclass(e, WeComCryptoError) for e in (BadSignature, WrongReceiveId, BadPadding, MalformedMessage))


# -- the emulator's own implementation (independent code, same vectors) -------------------------

@pytest.mark.parametrize("kat", [KAT1, KAT2], ids=["KAT-1", "KAT-2"])
def test_the_emulators_independent_crypto_meets_the_same_vectors(kat: dict) -> None:
    from bot.wecom_emulator.crypto import DeviceCrypto, sign

    device = DeviceCrypto(kat["token"], kat["key"], kat["rid"])
    assert sign(kat["token"], kat["timestamp"], kat["nonce"], kat["encrypt"]) == kat["sig"]
    assert device.open(kat["encrypt"]) == kat["plain"]
    # What the emulator seals, the adapter opens, and the other way round (random prefixes).
    for text in (kat["plain"], "短消息", "x" * 1000):
        assert crypto_of(kat).decrypt(device.seal(text)) == text
        assert device.open(crypto_of(kat).encrypt(text)) == text
    reply = crypto_of(kat).encrypt_reply("<xml><MsgType><![CDATA[update_button]]></MsgType></xml>")
    assert device.open_reply(reply) == "<xml><MsgType><![CDATA[update_button]]></MsgType></xml>"


def test_the_emulators_crypto_opens_the_url_check_vector() -> None:
    from bot.wecom_emulator.crypto import DeviceCrypto

    assert DeviceCrypto(KAT1["token"], KAT1["key"], KAT1["rid"]).open(KAT3["echostr"]) == KAT3["plain"]
