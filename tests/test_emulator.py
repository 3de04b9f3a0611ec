"""Tests of the local Telegram Bot API emulator, driven by the real aiogram HTTP client.

Every Bot API call here goes over HTTP through aiogram's AiohttpSession to the emulator, so
these tests also prove that aiogram's serialisation and error mapping meet what the
emulator sends back (TelegramRetryAfter, TelegramForbiddenError, ...).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import struct
import time
import zlib
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.emulator import BotApiEmulator, RateLimits, run_emulator
from bot.emulator import spec as spec_module
from bot.emulator.botapi import derive as derive_module
from bot.emulator.spec import ENV_VAR, LEGACY_PARAMS, ApiSpec, SpecNotFound

TOKEN = "123456:TEST-emulator-token"
SHIPPED_SPEC = Path(spec_module.__file__).resolve().parent / "botapi" / "api.json"
ALICE, BOB = 1001, 1002
GROUP = -500


def tiny_png(width: int, height: int) -> bytes:
    """A valid PNG of the given size, so the emulator can read real dimensions."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80\x20\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def make_bot(emu: BotApiEmulator, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))


@pytest.fixture
async def emu():
    async with BotApiEmulator() as emulator:
        # Fail loudly rather than pass on an emulator that checks nothing.
        assert emulator.spec.validating, f"the emulator is not validating against the Bot API: {emulator.spec!r}"
        yield emulator


@pytest.fixture
def no_spec_file(monkeypatch, tmp_path):
    """A broken install: no $FIELDBOT_BOTAPI_SPEC and the shipped api.json is missing."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(spec_module, "DEFAULT_SPEC_PATH", tmp_path / "botapi" / "api.json")
    monkeypatch.setattr(spec_module, "_warned_missing", False)
    return tmp_path


@pytest.fixture
async def bot(emu):
    client = make_bot(emu)
    yield client
    await client.session.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


def inline(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in pairs])


# -- identity, auth, routing -------------------------------------------------------------


async def test_get_me_describes_the_bot_of_the_token(bot):
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "fieldbot_emulator_bot")


async def test_a_second_token_is_unauthorized(emu, bot):
    await bot.get_me()  # the emulator adopts the first token it sees
    other = make_bot(emu, "999:other")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await other.get_me()
    finally:
        await other.session.close()


async def test_unknown_method_is_404_like_telegram(emu, bot, http):
    await bot.get_me()
    async with http.post(f"{emu.base_url}/bot{TOKEN}/sendTelepathy", json={"chat_id": 1}) as resp:
        assert resp.status == 404
        assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    # method names are case-insensitive, as on api.telegram.org
    async with http.get(f"{emu.base_url}/bot{TOKEN}/GETME") as resp:
        assert resp.status == 200 and (await resp.json())["result"]["id"] == 123456


async def test_loads_the_real_bot_api_description():
    spec = ApiSpec.load()
    assert spec.validating and spec.version.startswith("Bot API ")
    raw = json.loads(Path(spec.source).read_text(encoding="utf-8"))
    assert len(spec.methods) == len(raw["methods"]) >= 150
    assert ApiSpec.load() is spec and ApiSpec.load(spec.source) is spec  # parsed once per path
    assert spec.canonical("SENDMESSAGE") == "sendMessage" and spec.canonical("sendTelepathy") is None
    send = spec.methods["sendMessage"]
    assert (send["chat_id"].required, send["chat_id"].types) == (True, ("Integer", "String"))
    assert (send["text"].required, send["text"].types) == (True, ("String",))
    assert send["reply_markup"].types == ("InlineKeyboardMarkup", "ReplyKeyboardMarkup",
                                          "ReplyKeyboardRemove", "ForceReply")
    assert spec.methods["sendPhoto"]["photo"].types == ("InputFile", "String")
    assert spec.methods["setMyCommands"]["commands"] == spec_module.Param("commands", True, ("Array of BotCommand",))
    assert spec.methods["getUpdates"]["offset"] == spec_module.Param("offset", False, ("Integer",))
    assert spec.methods["getMe"] == {}
    # the aiogram-compatibility parameters are really gone from the documentation
    assert not set(LEGACY_PARAMS) & set(send)


def test_spec_location_argument_then_environment_then_the_shipped_copy(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    real = ApiSpec.load()
    assert spec_module.DEFAULT_SPEC_PATH == SHIPPED_SPEC and real.source == str(SHIPPED_SPEC)
    small = tmp_path / "api.json"
    small.write_text(json.dumps({"version": "Bot API 0.1", "methods": {
        "getMe": {"name": "getMe"},
        "sendMessage": {"name": "sendMessage", "fields": [
            {"name": "chat_id", "types": ["Integer", "String"], "required": True},
            {"name": "text", "types": ["String"], "required": True}]}}}), encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(small))
    from_env = ApiSpec.load()
    assert from_env.version == "Bot API 0.1" and set(from_env.methods) == {"getMe", "sendMessage"}
    assert ApiSpec.load(real.source) is real  # an explicit path wins over the environment
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.json"))
    with pytest.raises(FileNotFoundError, match="from \\$FIELDBOT_BOTAPI_SPEC"):
        ApiSpec.load()  # a configured path that is wrong is an error, never "no validation"
    with pytest.raises(FileNotFoundError):
        BotApiEmulator(require_spec=False)


def test_the_default_spec_is_the_shipped_bot_api_10_1(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")  # as in the demo: validation does not depend on pytest
    assert SHIPPED_SPEC.is_file() and SHIPPED_SPEC.is_relative_to(Path(spec_module.__file__).resolve().parent)
    spec = ApiSpec.load()
    assert (spec.source, spec.validating, spec.version) == (str(SHIPPED_SPEC), True, "Bot API 10.1")
    emu = BotApiEmulator()
    assert emu.spec is spec  # the emulator's default, demo included
    text = SHIPPED_SPEC.read_text(encoding="utf-8")
    shipped = json.loads(text)
    assert derive_module.dumps(shipped) == text  # compact, keys sorted: as derive.py writes it
    assert shipped["release_date"] == "June 11, 2026" and '"description":' not in text  # no prose left
    assert len(shipped["methods"]) == len(spec.methods) == 180 and len(shipped["types"]) == 359
    assert "InputMedia" in shipped["types"]["InputMediaPhoto"]["subtype_of"]
    assert "InputMediaPhoto" in shipped["types"]["InputMedia"]["subtypes"]
    assert shipped["methods"]["sendMessage"]["returns"] == ["Message"]
    assert len(text.encode()) < 300_000


def test_derive_keeps_names_types_and_required_and_drops_descriptions(tmp_path, capsys):
    def field(name: str, required: bool) -> dict:
        return {"name": name, "types": ["Integer"], "required": required, "description": "Prose.",
                "extra": 1}

    full = {
        "version": "Bot API 0.1", "release_date": "May 1, 2020", "changelog": "https://example/#may",
        "something_else": "dropped",
        "methods": {
            "getMe": {"name": "getMe", "href": "h#getme", "description": ["Who am I."], "returns": ["User"]},
            "sendThing": {"name": "sendThing", "href": "h#sendthing", "description": ["Sends."],
                          "returns": ["Message"], "fields": [field("chat_id", True), field("silent", False)]},
        },
        "types": {
            "Media": {"name": "Media", "href": "h#media", "description": ["Any media."],
                      "subtypes": ["MediaPhoto"]},
            "MediaPhoto": {"name": "MediaPhoto", "href": "h#mediaphoto", "description": ["A photo."],
                           "fields": [field("width", True)], "subtype_of": ["Media"]},
        },
    }
    slim = {"name": "chat_id", "types": ["Integer"], "required": True}
    assert derive_module.derive(full) == {
        "version": "Bot API 0.1", "release_date": "May 1, 2020", "changelog": "https://example/#may",
        "methods": {
            "getMe": {"name": "getMe", "href": "h#getme", "returns": ["User"]},
            "sendThing": {"name": "sendThing", "href": "h#sendthing", "returns": ["Message"],
                          "fields": [slim, {**slim, "name": "silent", "required": False}]},
        },
        "types": {
            "Media": {"name": "Media", "href": "h#media", "subtypes": ["MediaPhoto"]},
            "MediaPhoto": {"name": "MediaPhoto", "href": "h#mediaphoto", "subtype_of": ["Media"],
                           "fields": [{**slim, "name": "width"}]},
        },
    }
    source, dest = tmp_path / "full.json", tmp_path / "slim.json"
    source.write_text(json.dumps(full, indent=2), encoding="utf-8")
    assert derive_module.main([str(source), str(dest)]) == 0
    text = dest.read_text(encoding="utf-8")
    assert text.startswith('{"changelog":"https://example/#may","methods":{"getMe":{"href":') and text.endswith("}\n")
    assert json.loads(text) == derive_module.derive(full)
    assert ApiSpec.load(dest).methods["sendThing"]["chat_id"] == spec_module.Param("chat_id", True, ("Integer",))
    assert derive_module.main([str(source)]) == 2 and "usage" in capsys.readouterr().err


async def test_a_missing_shipped_spec_fails_loudly_by_default(no_spec_file):
    with pytest.raises(SpecNotFound, match="FIELDBOT_BOTAPI_SPEC") as raised:
        BotApiEmulator()  # require_spec defaults to True, in tests and in the demo
    assert str(no_spec_file) not in str(raised.value) and "bot/emulator/botapi/api.json" in str(raised.value)
    with pytest.raises(SpecNotFound):
        BotApiEmulator(require_spec=True)
    with pytest.raises(ValueError, match="does not validate"):
        BotApiEmulator(spec=ApiSpec.unvalidated(), require_spec=True)


async def test_without_a_spec_the_demo_still_runs_unchecked_and_says_so_once(no_spec_file, caplog):
    caplog.set_level(logging.WARNING, logger="bot.emulator.spec")
    first = BotApiEmulator(require_spec=False)
    async with BotApiEmulator(TOKEN, require_spec=False) as emu:
        assert not emu.spec.validating and not first.spec.validating
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "without checking them" in warnings[0].getMessage()
        assert str(no_spec_file) not in warnings[0].getMessage(), "no machine's own path in the warning"
        bot = make_bot(emu)
        try:
            emu.add_user(ALICE)
            # aiogram posts form data: types still come back (ids, keyboards, booleans)
            sent = await bot.send_message(ALICE, "42", reply_markup=inline(("Yes", "y")), disable_notification=True)
            assert sent.text == "42" and emu.bot_messages(ALICE)[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Yes"
            await bot(SendMessage(chat_id=ALICE, text="hi", colour="red"))  # not checked
            assert emu.spec_mismatches() == []
            with pytest.raises(TelegramBadRequest, match="message text is empty"):  # behaviour stays
                await bot.send_message(ALICE, " ")
        finally:
            await bot.session.close()


# -- parameter validation ------------------------------------------------------------------


async def test_unknown_and_missing_parameters_are_rejected(emu, bot, http):
    emu.add_user(ALICE)
    with pytest.raises(TelegramBadRequest, match="unknown parameter 'colour' for method sendMessage"):
        await bot(SendMessage(chat_id=ALICE, text="hi", colour="red"))
    async with http.post(f"{emu.base_url}/bot{TOKEN}/sendMessage", data={"chat_id": str(ALICE)}) as resp:
        body = await resp.json()
    assert resp.status == 400
    assert body["description"] == "Bad Request: parameter 'text' is required by sendMessage"
    async with http.post(f"{emu.base_url}/bot{TOKEN}/getUpdates", json={"limit": "many"}) as resp:
        assert resp.status == 400 and "'limit' of getUpdates must be Integer" in (await resp.json())["description"]
    assert emu.bot_messages(ALICE) == []
    assert [c["status"] for c in emu.api_calls("sendMessage")] == [400, 400]
    with pytest.raises(TelegramBadRequest, match="message text is empty"):  # valid call, bad content
        await bot(SendMessage(chat_id=ALICE, text=" "))
    mismatches = emu.spec_mismatches()
    assert [m["method"] for m in mismatches] == ["sendMessage", "sendMessage", "getUpdates"]
    assert "'colour'" in mismatches[0]["description"] and "'text'" in mismatches[1]["description"]


async def test_json_body_and_query_string_calls(emu, bot, http):
    await bot.get_me()
    emu.add_user(ALICE)
    api = f"{emu.base_url}/bot{TOKEN}"
    async with http.post(f"{api}/sendMessage", json={"chat_id": ALICE, "text": ""}) as resp:
        assert resp.status == 400 and (await resp.json())["description"] == "Bad Request: message text is empty"
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    async with http.post(f"{api}/sendMessage", json={"chat_id": ALICE, "text": "json", "reply_markup": markup}) as resp:
        body = await resp.json()
    assert body["ok"] and body["result"]["reply_markup"] == markup
    async with http.get(f"{api}/sendMessage", params={"chat_id": str(ALICE), "text": "42"}) as resp:
        assert (await resp.json())["result"]["text"] == "42"  # a String parameter stays a string
    async with http.post(f"{api}/setWebhook", json={"url": ""}) as resp:
        assert await resp.json() == {"ok": True, "result": True, "description": "Webhook is already deleted"}
    assert [m["text"] for m in emu.bot_messages(ALICE)] == ["json", "42"]


async def test_parse_mode_errors_and_entities(emu, bot):
    emu.add_user(ALICE)
    sent = await bot.send_message(ALICE, "<b>Ticket</b> #7 &lt;urgent&gt;", parse_mode="HTML")
    assert sent.text == "Ticket #7 <urgent>"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 6)]
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "urgent"'):
        await bot.send_message(ALICE, "Ticket <urgent>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Character '.' is reserved"):
        await bot.send_message(ALICE, "Arrive by 9.30", parse_mode="MarkdownV2")
    assert [m["text"] for m in emu.bot_messages(ALICE)] == ["Ticket #7 <urgent>"]


async def test_bad_inline_keyboard_is_rejected(emu, bot):
    emu.add_user(ALICE)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ALICE, "x", reply_markup=inline(("too long", "x" * 65)))


# -- getUpdates and long polling -----------------------------------------------------------


async def test_get_updates_offset_limit_and_negative_offset(emu, bot):
    for text in ("one", "two", "three"):
        emu.send_text(ALICE, text, first_name="Alice", language_code="zh-hans")
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first] == ["one", "two"]
    assert first[1].update_id == first[0].update_id + 1
    assert first[0].message.from_user.language_code == "zh-hans"
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest] == ["three"]
    assert len(emu.pending_updates()) == 1  # confirmed only by the next call's offset
    emu.send_text(ALICE, "four")
    emu.send_text(ALICE, "five")
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last] == ["five"]
    assert await bot.get_updates(offset=last[0].update_id + 1) == []
    assert emu.pending_updates() == []


async def test_long_poll_returns_when_an_update_arrives_or_at_timeout(emu, bot):
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert 0.9 <= time.monotonic() - started < 3

    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    assert not poll.done()
    started = time.monotonic()
    emu.send_text(ALICE, "wake up")
    updates = await asyncio.wait_for(poll, 3)
    assert time.monotonic() - started < 1
    assert [u.message.text for u in updates] == ["wake up"]


async def test_a_second_poller_terminates_the_first_with_409(emu, bot):
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(bot.get_updates(timeout=5))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(first, 3)
    emu.send_text(ALICE, "hi")
    assert [u.message.text for u in await asyncio.wait_for(second, 3)] == ["hi"]


async def test_allowed_updates_filters_new_updates(emu, bot):
    await bot.get_updates(allowed_updates=["message"])
    emu.send_text(ALICE, "hello")
    sent = await bot.send_message(ALICE, "pick", reply_markup=inline(("A", "a")))
    emu.press_button(ALICE, sent.message_id, "a")
    updates = await bot.get_updates()
    assert [bool(u.message) for u in updates] == [True]


async def test_dispatcher_polls_and_handles_messages_and_buttons(emu, bot):
    router = Router()

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}", reply_markup=inline(("Done", "done")))

    @router.callback_query(F.data == "done")
    async def done(query: CallbackQuery) -> None:
        await query.answer("Marked done", show_alert=True)
        await query.message.edit_text("Done ✔")

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=2))
    try:
        emu.send_text(ALICE, "hello", first_name="Alice")
        emu.send_text(BOB, "hi there", first_name="Bob")
        [reply] = await emu.wait_for_messages(ALICE, 1)
        assert reply["text"] == "echo: hello"
        assert (await emu.wait_for_messages(BOB, 1))[0]["text"] == "echo: hi there"
        callback_id = emu.press_button(ALICE, reply["message_id"], "done")
        answer = await emu.wait_for_callback_answer(callback_id)
        assert answer["text"] == "Marked done" and answer["show_alert"] is True
        await emu.wait_until(lambda: emu.bot_messages(ALICE)[0]["text"] == "Done ✔", 3, "edit")
        assert "reply_markup" not in emu.bot_messages(ALICE)[0]  # edit without markup drops it
        await emu.wait_until_consumed(3)
    finally:
        try:
            await dp.stop_polling()
        except RuntimeError:  # polling never got going: do not hide the real failure
            polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
    # aiogram asked only for the update types its handlers use
    assert {tuple(sorted(json.loads(c["params"]["allowed_updates"]))) for c in emu.api_calls("getUpdates")} == {
        ("callback_query", "message")}


# -- sending ------------------------------------------------------------------------------


async def test_send_message_with_inline_keyboard_is_stored_as_sent(emu, bot):
    emu.add_user(ALICE, first_name="Alice")
    sent = await bot.send_message(ALICE, "Accept ticket #12?", reply_markup=inline(("Accept", "acc:12"), ("Decline", "dec:12")))
    assert sent.chat.id == ALICE and sent.chat.type == "private" and sent.from_user.is_bot
    [stored] = emu.bot_messages(ALICE)
    assert stored["message_id"] == sent.message_id and stored["text"] == "Accept ticket #12?"
    assert [row[0]["callback_data"] for row in stored["reply_markup"]["inline_keyboard"]] == ["acc:12", "dec:12"]
    call = emu.api_calls("sendMessage")[-1]
    assert call["ok"] and json.loads(call["params"]["reply_markup"])["inline_keyboard"][0][0]["text"] == "Accept"


async def test_message_ids_increase_per_chat_and_groups_work(emu, bot):
    emu.add_chat(GROUP, title="Field team")
    a = emu.send_text(ALICE, "in group", chat_id=GROUP, first_name="Alice")
    b = emu.send_text(BOB, "me too", chat_id=GROUP, first_name="Bob")
    private = emu.send_text(ALICE, "private")
    assert (a["message_id"], b["message_id"], private["message_id"]) == (1, 2, 1)
    assert a["chat"] == {"id": GROUP, "type": "group", "title": "Field team"}
    sent = await bot.send_message(GROUP, "ack")
    assert sent.message_id == 3 and sent.chat.title == "Field team"
    assert [m["text"] for m in emu.history(GROUP)] == ["in group", "me too", "ack"]


async def test_reply_keyboard_with_location_button_then_removed(emu, bot):
    emu.add_user(ALICE)
    keyboard = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="📍 Share location", request_location=True)],
                                             [KeyboardButton(text="Cancel")]],
                                   resize_keyboard=True, one_time_keyboard=True)
    sent = await bot.send_message(ALICE, "Check in: share your location", reply_markup=keyboard)
    assert sent.reply_markup is None  # Telegram only echoes inline keyboards
    shown = emu.reply_keyboard(ALICE)
    assert shown["keyboard"][0][0] == {"text": "📍 Share location", "request_location": True}
    with pytest.raises(ValueError):
        emu.press_reply_button(ALICE, "📍 Share location")
    emu.press_reply_button(ALICE, "📍 Share location", latitude=31.2304, longitude=121.4737)
    [update] = await bot.get_updates()
    assert (update.message.location.latitude, update.message.location.longitude) == (31.2304, 121.4737)
    assert emu.reply_keyboard(ALICE) is None  # one-time keyboard hides after use
    await bot.send_message(ALICE, "menu", reply_markup=ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Board")]]))
    assert emu.reply_keyboard(ALICE) is not None
    await bot.send_message(ALICE, "bye", reply_markup=ReplyKeyboardRemove())
    assert emu.reply_keyboard(ALICE) is None
    with pytest.raises(LookupError, match="shown: \\[\\]"):
        emu.press_reply_button(ALICE, "Board")


async def test_replies_by_reply_parameters_and_legacy_reply_to(emu, bot, http):
    question = emu.send_text(ALICE, "Where is the site?")
    sent = await bot.send_message(ALICE, "Building 3", reply_parameters=ReplyParameters(message_id=question["message_id"]))
    assert sent.reply_to_message.message_id == question["message_id"]
    assert sent.reply_to_message.text == "Where is the site?"
    legacy = await bot.send_message(ALICE, "Gate B", reply_to_message_id=question["message_id"])
    assert legacy.reply_to_message.message_id == question["message_id"]
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(ALICE, "?", reply_parameters=ReplyParameters(message_id=999))
    loose = await bot.send_message(
        ALICE, "!", reply_parameters=ReplyParameters(message_id=999, allow_sending_without_reply=True))
    assert loose.reply_to_message is None
    # aiogram compatibility: the legacy parameters are accepted, not counted as mismatches
    legacy_loose = await bot.send_message(ALICE, "!!", reply_to_message_id=999, allow_sending_without_reply=True,
                                          disable_web_page_preview=True)
    assert legacy_loose.reply_to_message is None
    assert emu.spec_mismatches() == []
    # ... only where their modern replacement exists
    async with http.post(f"{emu.base_url}/bot{TOKEN}/answerCallbackQuery",
                         json={"callback_query_id": "1", "reply_to_message_id": 1}) as resp:
        assert "unknown parameter 'reply_to_message_id'" in (await resp.json())["description"]
    assert [m["method"] for m in emu.spec_mismatches()] == ["answerCallbackQuery"]
    # the user replies to a bot message
    emu.send_text(ALICE, "thanks", reply_to=sent.message_id)
    [update] = (await bot.get_updates())[-1:]
    assert update.message.reply_to_message.message_id == sent.message_id
    assert update.message.reply_to_message.reply_to_message is None  # never nested twice


async def test_edits_apply_and_unchanged_edit_is_not_modified(emu, bot):
    emu.add_user(ALICE)
    sent = await bot.send_message(ALICE, "Ticket #3: open", reply_markup=inline(("Close", "close:3")))
    edited = await bot.edit_message_text("Ticket #3: <b>closed</b>", chat_id=ALICE, message_id=sent.message_id,
                                         parse_mode="HTML", reply_markup=inline(("Reopen", "reopen:3")))
    assert edited.text == "Ticket #3: closed" and edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Ticket #3: <b>closed</b>", chat_id=ALICE, message_id=sent.message_id,
                                    parse_mode="HTML", reply_markup=inline(("Reopen", "reopen:3")))
    await bot.edit_message_reply_markup(chat_id=ALICE, message_id=sent.message_id, reply_markup=None)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=ALICE, message_id=sent.message_id)
    [current] = emu.bot_messages(ALICE)
    assert current["text"] == "Ticket #3: closed" and "reply_markup" not in current
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ALICE, message_id=404)
    user_msg = emu.send_text(ALICE, "mine")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=ALICE, message_id=user_msg["message_id"])


async def test_delete_message_and_chat_action(emu, bot):
    emu.add_user(ALICE)
    sent = await bot.send_message(ALICE, "temporary")
    assert await bot.send_chat_action(ALICE, "typing") is True
    assert await bot.delete_message(ALICE, sent.message_id) is True
    assert emu.bot_messages(ALICE) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ALICE, sent.message_id)


async def test_answer_callback_query_once(emu, bot):
    emu.add_user(ALICE)
    sent_msg = await bot.send_message(ALICE, "Rate the service", reply_markup=inline(("★★★★★", "rate:5")))
    with pytest.raises(LookupError):
        emu.press_button(ALICE, sent_msg.message_id, "rate:4")
    query_id = emu.press_button(ALICE, sent_msg.message_id, "rate:5", first_name="Alice")
    [update] = await bot.get_updates()
    query = update.callback_query
    assert (query.id, query.data, query.from_user.id, query.message.message_id) == (
        query_id, "rate:5", ALICE, sent_msg.message_id)
    assert emu.callback_answer(query_id) is None
    assert await bot.answer_callback_query(query.id, text="Thanks!") is True
    assert emu.callback_answer(query_id) == {"text": "Thanks!", "show_alert": False, "url": None, "cache_time": 0}
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id, text="again")
    stale = emu.press_button(ALICE, sent_msg.message_id, "rate:1", strict=False)
    assert emu.callback_answer(stale) is None


# -- files -------------------------------------------------------------------------------


async def test_photo_upload_get_file_and_download_round_trip(emu, bot):
    emu.add_user(ALICE)
    image = tiny_png(64, 48)
    sent = await bot.send_photo(ALICE, BufferedInputFile(image, "site.png"), caption="<i>Before</i>", parse_mode="HTML")
    [size] = sent.photo
    assert (size.width, size.height, size.file_size) == (64, 48, len(image))
    assert sent.caption == "Before" and sent.caption_entities[0].type == "italic"
    call = emu.api_calls("sendPhoto")[-1]
    assert call["params"]["photo"] == {"upload": "site.png", "content_type": "image/png", "size": len(image)}
    file = await bot.get_file(size.file_id)
    assert file.file_path.startswith("photos/") and file.file_size == len(image)
    downloaded = await bot.download_file(file.file_path)
    assert downloaded.read() == image
    again = await bot.send_photo(ALICE, size.file_id)  # re-send by file_id, no upload
    assert again.photo[0].file_unique_id == size.file_unique_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(ALICE, "no-such-file-id")
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.get_file("no-such-file-id")


async def test_document_upload_keeps_name_and_type(emu, bot):
    emu.add_user(ALICE)
    sent = await bot.send_document(ALICE, BufferedInputFile(b"%PDF-1.4 report", "report-12.pdf"), caption="Service report")
    assert sent.document.file_name == "report-12.pdf" and sent.document.mime_type == "application/pdf"
    file = await bot.get_file(sent.document.file_id)
    assert (await bot.download(file)).read() == b"%PDF-1.4 report"
    assert emu.file_bytes(sent.document.file_id) == b"%PDF-1.4 report"


async def test_user_photo_location_contact_and_offline_date(emu, bot):
    picture = tiny_png(8, 6)
    taken = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)
    emu.send_photo(ALICE, picture, caption="arrived", date=taken)
    emu.send_location(ALICE, 39.9042, 116.4074)
    emu.send_contact(ALICE, "+8613800000000", first_name="Alice")
    emu.send_command(ALICE, "start", "inv_abc123")
    photo_u, location_u, contact_u, command_u = await bot.get_updates()
    photo = photo_u.message.photo[-1]
    assert (photo.width, photo.height) == (8, 6) and photo_u.message.caption == "arrived"
    assert abs(photo_u.message.date.timestamp() - taken.timestamp()) < 1
    assert (await bot.download(photo.file_id)).read() == picture
    assert location_u.message.location.latitude == 39.9042
    assert contact_u.message.contact.phone_number == "+8613800000000"
    assert command_u.message.text == "/start inv_abc123"
    assert command_u.message.entities[0].type == "bot_command" and command_u.message.entities[0].length == 6


# -- commands and webhook ------------------------------------------------------------------


async def test_commands_are_stored_per_scope_and_language(emu, bot):
    emu.add_user(ALICE)
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands([BotCommand(command="board", description="Open tickets")],
                              scope=BotCommandScopeChat(chat_id=ALICE))
    await bot.set_my_commands([BotCommand(command="start", description="开始")], language_code="zh")
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=ALICE))] == ["board"]
    assert (await bot.get_my_commands(language_code="zh"))[0].description == "开始"
    assert emu.commands({"type": "chat", "chat_id": ALICE}) == [{"command": "board", "description": "Open tickets"}]
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.set_my_commands([BotCommand(command="x", description="x")], scope=BotCommandScopeChat(chat_id=77))
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])


async def webhook_receiver(handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/hook", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"


async def test_webhook_delivery_secret_errors_and_conflict(emu, bot):
    received: list[tuple[str | None, dict]] = []
    fail_first = [True]

    async def handler(request: web.Request) -> web.Response:
        if fail_first.pop() if fail_first else False:
            return web.Response(status=500)
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        if len(received) == 2:  # answer with a method call in the response body
            return web.json_response({"method": "sendMessage", "chat_id": ALICE, "text": "via webhook reply"})
        return web.json_response({})

    runner, url = await webhook_receiver(handler)
    try:
        assert await bot.set_webhook(url, secret_token="s3cret-Token_1") is True
        assert emu.api_calls("setWebhook")[-1]["description"] == "Webhook was set"
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        emu.send_text(ALICE, "first")
        emu.send_text(ALICE, "second")
        await emu.wait_until(lambda: len(received) == 2, 5, "two webhook deliveries")
        assert [secret for secret, _ in received] == ["s3cret-Token_1"] * 2
        assert [body["message"]["text"] for _, body in received] == ["first", "second"]
        await emu.wait_for_messages(ALICE, 1)
        assert emu.bot_messages(ALICE)[0]["text"] == "via webhook reply"
        assert emu.api_calls("sendMessage")[-1]["via"] == "webhook reply"
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        assert "500" in info.last_error_message  # the first attempt failed and was retried
        with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
            await bot.set_webhook(url, secret_token="no spaces allowed")
        assert await bot.delete_webhook() is True
        assert (await bot.get_webhook_info()).url == ""
        emu.send_text(ALICE, "polled again")
        assert [u.message.text for u in await bot.get_updates()] == ["polled again"]
    finally:
        await runner.cleanup()


async def test_aiogram_webhook_handler_receives_and_replies(emu, bot):
    router = Router()

    @router.message(F.text)
    async def reply(message: Message):
        return message.answer(f"webhook echo: {message.text}")  # returned method -> multipart reply

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token="topsecret").register(app, path="/hook")
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        await bot.set_webhook(url, secret_token="wrong-secret")
        emu.send_text(ALICE, "ping")
        await emu.wait_until(lambda: (emu.webhook() or {}).get("last_error_message"), 5, "a rejected delivery")
        assert "401" in emu.webhook()["last_error_message"]  # aiogram refuses a wrong secret
        await bot.set_webhook(url, secret_token="topsecret")
        [answer] = await emu.wait_for_messages(ALICE, 1)
        assert answer["text"] == "webhook echo: ping"
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


# -- errors, faults and flood limits ---------------------------------------------------------


async def test_unknown_chat_and_blocked_user(emu, bot):
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(4242, "hello?")
    emu.add_user(ALICE)
    emu.block_chat(ALICE)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "you there?")
    emu.block_chat(ALICE, blocked=False)
    assert (await bot.send_message(ALICE, "welcome back")).text == "welcome back"


async def test_injected_429_surfaces_as_retry_after(emu, bot):
    emu.add_user(ALICE)
    emu.fail_next(1, status=429, retry_after=7, method="sendMessage")
    assert (await bot.get_me()).id == 123456  # other methods are unaffected
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ALICE, "first try")
    assert caught.value.retry_after == 7
    assert (await bot.send_message(ALICE, "second try")).text == "second try"
    assert emu.counters["too_many_requests"] == 1 and emu.counters["faults_injected"] == 1
    assert [m["text"] for m in emu.bot_messages(ALICE)] == ["second try"]


async def test_injected_server_errors(emu, bot):
    emu.add_user(ALICE)
    emu.fail_next(2, status=502)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(ALICE, "a")
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.get_me()
    emu.fail_next(status=500, method="sendPhoto")
    assert (await bot.send_message(ALICE, "b")).text == "b"
    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.send_photo(ALICE, BufferedInputFile(b"x", "x.jpg"))
    assert emu.counters["faults_injected"] == 3 and emu.counters["too_many_requests"] == 0


def slow_bot(emu: BotApiEmulator, timeout: float) -> Bot:
    """A client that gives up after ``timeout`` seconds, as the outbox sender may."""
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url), timeout=timeout))


async def test_dropped_connection_is_a_network_error_and_nothing_is_sent(emu, bot):
    emu.add_user(ALICE)
    emu.fail_next(1, status=0, method="sendMessage")
    assert (await bot.get_me()).id == 123456
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(ALICE, "lost")
    assert (await bot.send_message(ALICE, "again")).text == "again"  # the next call is fine
    assert [m["text"] for m in emu.bot_messages(ALICE)] == ["again"]
    dropped, delivered = emu.api_calls("sendMessage")
    assert (dropped["status"], dropped["ok"], dropped["reply_status"]) == (0, False, 0)
    assert dropped["fault"] == {"source": "fail_next", "status": 0, "when": "before", "delay": 0.0}
    assert "message_id" not in dropped and delivered["message_id"] == 1
    counters = emu.counters
    assert (counters["connections_dropped"], counters["faults_injected"], counters["too_many_requests"]) == (1, 1, 0)


async def test_a_reply_slower_than_the_client_timeout_is_a_timeout(emu, bot):
    emu.add_user(ALICE)
    impatient = slow_bot(emu, 0.3)
    try:
        emu.fail_next(status=-1, delay=1.0, method="sendMessage")  # "before": runs late
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await impatient.send_message(ALICE, "slow")
        assert emu.bot_messages(ALICE) == []  # not yet: the server is still "busy"
        [late] = await emu.wait_for_messages(ALICE, 1, timeout=3)
        assert late["text"] == "slow"  # ...and then it went out although the client gave up
        await emu.wait_until(lambda: emu.api_calls("sendMessage")[0]["answered"], 3, "the late reply")
        call = emu.api_calls("sendMessage")[0]
        assert call["ok"] and call["done"] - call["at"] >= 1.0 and call["client_gone"] is True
        emu.fail_next(status=-1, delay=0.1, method="sendMessage")  # shorter than the timeout: fine
        assert (await impatient.send_message(ALICE, "a bit slow")).text == "a bit slow"
        with pytest.raises(ValueError, match="delay"):
            emu.fail_next(status=-1)  # slow needs a delay
        emu.fail_next(status=502, delay=0.6, method="getMe")  # an error held back: a timeout too
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await impatient.get_me()
    finally:
        await impatient.session.close()
    assert emu.counters["replies_delayed"] == 3


async def test_faults_after_execution_deliver_the_message_the_client_thinks_failed(emu, bot):
    emu.add_user(ALICE)
    emu.fail_next(status=502, when="after", method="sendMessage")
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(ALICE, "one")
    emu.fail_next(status=0, when="after", method="sendPhoto")
    with pytest.raises(TelegramNetworkError):
        await bot.send_photo(ALICE, BufferedInputFile(tiny_png(2, 2), "p.png"), caption="two")
    impatient = slow_bot(emu, 0.3)
    try:
        emu.fail_next(status=-1, delay=1.0, when="after", method="sendMessage")
        with pytest.raises(TelegramNetworkError, match="timeout"):
            await impatient.send_message(ALICE, "three")
        assert [m.get("text", m.get("caption")) for m in emu.bot_messages(ALICE)] == ["one", "two", "three"]
    finally:
        await impatient.session.close()
    await emu.wait_until(lambda: all(c["answered"] for c in emu.api_calls()), 3, "every reply")
    one, three = emu.api_calls("sendMessage")
    [two] = emu.api_calls("sendPhoto")
    assert [(c["status"], c["ok"], c["reply_status"], c["chat_id"], c["message_id"]) for c in (one, two, three)] == [
        (200, True, 502, ALICE, 1), (200, True, 0, ALICE, 2), (200, True, 200, ALICE, 3)]
    assert three["done"] - three["at"] < 0.5 <= three["answered"] - three["at"]  # stored at once, answered late
    assert three["client_gone"] is True and three["fault"]["when"] == "after"
    assert emu.counters["faulted_after_execution"] == 3 and emu.counters["connections_dropped"] == 1


async def test_storms_fail_matching_calls_for_their_duration_then_end(emu, bot):
    emu.add_user(ALICE)
    ends = emu.storm(1.0, status=429, retry_after=3, method="sendMessage")
    assert ends["ends_at"] == pytest.approx(time.time() + 1.0, abs=0.1)
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(TelegramRetryAfter) as caught:
            await bot.send_message(ALICE, "during the storm")
        assert caught.value.retry_after == 3
    assert (await bot.get_me()).id == 123456  # other methods pass
    await asyncio.sleep(max(0.0, started + 1.05 - time.monotonic()))
    assert (await bot.send_message(ALICE, "after the storm")).text == "after the storm"
    assert emu.counters["storm_faults"] == 3 and emu.counters["too_many_requests"] == 3
    assert [c["fault"]["source"] for c in emu.api_calls("sendMessage") if "fault" in c] == ["storm"] * 3


async def test_a_partial_storm_is_seeded_and_can_be_cleared(emu, bot):
    import random

    emu.add_user(ALICE)
    emu.storm(30, status=503, ratio=0.4, seed=7)
    draws = random.Random(7)
    expected = [draws.random() >= 0.4 for _ in range(12)]  # True = the call gets through
    outcomes = []
    for i in range(12):
        try:
            await bot.send_message(ALICE, f"m{i}")
            outcomes.append(True)
        except TelegramServerError as exc:
            assert "Service Unavailable" in str(exc)
            outcomes.append(False)
    assert outcomes == expected and 0 < outcomes.count(False) < 12
    assert len(emu.bot_messages(ALICE)) == outcomes.count(True)
    emu.clear_faults()
    assert (await bot.send_message(ALICE, "calm")).text == "calm"
    emu.fail_next(status=0, method="sendMessage")
    emu.storm(30, status=500, method="sendMessage")
    with pytest.raises(TelegramNetworkError):  # a pending fail_next comes first
        await bot.send_message(ALICE, "x")
    with pytest.raises(TelegramServerError):
        await bot.send_message(ALICE, "y")
    emu.clear_faults()
    for bad in ({"duration": 0}, {"duration": 1, "ratio": 0}, {"duration": 1, "status": 200},
                {"duration": 1, "when": "during"}):
        with pytest.raises(ValueError):
            emu.storm(**bad)


async def test_inject_update_reaches_get_updates_unchanged(emu, bot, http):
    emu.add_user(ALICE)
    no_sender = {"message": {"message_id": 5, "date": 1, "chat": {"id": ALICE, "type": "private"}, "text": "hi"}}
    no_message = {"callback_query": {"id": "77", "from": {"id": ALICE, "is_bot": False, "first_name": "A"},
                                     "chat_instance": "1", "data": "x"}}
    huge = {"message": {"message_id": 6, "date": 1, "chat": {"id": ALICE, "type": "private"},
                        "from": {"id": ALICE, "is_bot": False, "first_name": "A"}, "text": "字" * 100_000}}
    wrong_types = {"update_id": 900, "message": {"message_id": "six", "chat": None, "text": ["not", "text"]}}
    queued = [emu.inject_update(u) for u in (no_sender, no_message, huge, wrong_types)]
    emu.send_text(ALICE, "a normal one afterwards")
    assert [u["update_id"] for u in queued] == [1, 2, 3, 900]
    assert queued[0] == {"update_id": 1, **no_sender} and "update_id" not in no_sender  # the caller's dict is untouched
    async with http.post(f"{emu.base_url}/bot{TOKEN}/getUpdates", json={"limit": 4}) as resp:
        raw = (await resp.json())["result"]
    assert raw == queued  # exactly as injected, malformed or not
    [normal] = await bot.get_updates(offset=901)
    assert normal.update_id == 901 and normal.message.text == "a normal one afterwards"
    # what aiogram makes of the ones it can parse
    emu.inject_update(no_sender)
    emu.inject_update(no_message)
    first, second = await bot.get_updates(offset=902)
    assert first.message.from_user is None and first.message.text == "hi"
    assert second.callback_query.message is None and second.callback_query.data == "x"
    with pytest.raises(ValueError, match="update_id"):
        emu.inject_update({"update_id": "1", "message": {}})


async def test_inject_update_goes_to_the_webhook_unchanged(emu, bot):
    received: list[dict] = []

    async def handler(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({})

    runner, url = await webhook_receiver(handler)
    try:
        await bot.set_webhook(url)
        odd = {"edited_message": {"message_id": 1, "text": None, "chat": {"id": "not a number"}}}
        queued = emu.inject_update(odd)
        await emu.wait_until(lambda: received, 5, "the webhook delivery")
        assert received == [queued] == [{"update_id": 1, **odd}]
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


async def test_the_call_log_tells_which_messages_went_out_and_when(emu, bot):
    emu.add_user(ALICE)
    emu.add_chat(GROUP)
    before = time.time()
    text = await bot.send_message(ALICE, "text")
    photo = await bot.send_photo(GROUP, BufferedInputFile(tiny_png(2, 2), "p.png"))
    doc = await bot.send_document(ALICE, BufferedInputFile(b"%PDF-1.4", "r.pdf"))
    await bot.edit_message_text("edited", chat_id=ALICE, message_id=text.message_id)
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(ALICE, " ")
    await bot.send_chat_action(ALICE, "typing")
    after = time.time()
    log = [c for c in emu.api_calls() if c["method"] != "getMe"]
    sent = [(c["method"], c["chat_id"], c["message_id"]) for c in log if "message_id" in c]
    assert sent == [("sendMessage", ALICE, text.message_id), ("sendPhoto", GROUP, photo.message_id),
                    ("sendDocument", ALICE, doc.message_id), ("editMessageText", ALICE, text.message_id)]
    for call in log:
        assert before <= call["at"] <= call["done"] <= call["answered"] <= after
        assert call["reply_status"] == call["status"] and "client_gone" not in call
    assert [c["at"] for c in log] == sorted(c["at"] for c in log)
    assert not any("message_id" in c for c in log if not c["ok"] or c["method"] == "sendChatAction")


async def test_rate_limits_answer_429_and_count(emu, bot):
    for user in (ALICE, BOB):
        emu.add_user(user)
    emu.add_chat(GROUP)
    emu.enable_rate_limits(RateLimits(overall=(30, 1.0), private_chat=(1, 0.6), group_chat=(2, 60.0)))
    with pytest.raises(TelegramBadRequest):  # a rejected send does not use up the limit
        await bot.send_message(ALICE, "<oops>", parse_mode="HTML")
    await bot.send_message(ALICE, "1")
    first_sent = time.monotonic()
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ALICE, "2")
    assert caught.value.retry_after == 1
    await bot.send_message(BOB, "other chat is fine")
    await bot.send_message(GROUP, "g1")
    await bot.send_message(GROUP, "g2")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(GROUP, "g3")
    await asyncio.sleep(max(0.0, first_sent + 0.65 - time.monotonic()))  # window passes
    await bot.send_message(ALICE, "after the window")
    counters = emu.counters
    assert counters["rate_limited"] == 2 and counters["too_many_requests"] == 2
    assert counters["rate_limited_by_chat"] == {str(ALICE): 1, str(GROUP): 1}
    emu.enable_rate_limits(RateLimits(overall=(2, 60.0)))
    await bot.send_message(ALICE, "a")
    await bot.send_message(BOB, "b")
    with pytest.raises(TelegramRetryAfter) as overall:
        await bot.send_message(GROUP, "c")
    assert 50 <= overall.value.retry_after <= 60
    emu.disable_rate_limits()
    await bot.send_message(GROUP, "c")
    assert [m["text"] for m in emu.bot_messages(ALICE)] == ["1", "after the window", "a"]


# -- control API over HTTP and the CLI entry ----------------------------------------------


async def test_http_control_endpoints(emu, bot, http):
    async def control(action: str, expect: int = 200, **kwargs):
        async with http.post(f"{emu.base_url}/_control/{action}", json=kwargs) as resp:
            body = await resp.json()
            assert resp.status == expect, body
            return body["result"] if expect == 200 else body

    user = await control("add_user", user_id=ALICE, first_name="Alice", language_code="en")
    assert user == {"id": ALICE, "is_bot": False, "first_name": "Alice", "language_code": "en"}
    message = await control("send_text", user_id=ALICE, text="/start")
    assert message["entities"][0]["type"] == "bot_command"
    picture = tiny_png(4, 4)
    photo_msg = await control("send_photo", user_id=ALICE, data_base64=base64.b64encode(picture).decode())
    assert photo_msg["photo"][0]["width"] == 4
    await control("send_location", user_id=ALICE, latitude=1.5, longitude=2.5)
    updates = await bot.get_updates()
    assert [u.message.message_id for u in updates] == [1, 2, 3]
    assert (await bot.download(updates[1].message.photo[0].file_id)).read() == picture

    waiting = asyncio.create_task(control("wait_for_messages", chat_id=ALICE, count=1, timeout=3))
    sent = await bot.send_message(ALICE, "Pick", reply_markup=inline(("Yes", "y")))
    [seen] = await waiting
    assert seen["text"] == "Pick" and seen["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "y"
    callback_id = await control("press_button", user_id=ALICE, message_id=sent.message_id, data="y")
    [update] = await bot.get_updates(offset=updates[-1].update_id + 1)
    await bot.answer_callback_query(update.callback_query.id, text="ok")
    assert await control("callback_answer", callback_id=callback_id) == {
        "text": "ok", "show_alert": False, "url": None, "cache_time": 0}
    calls = await control("api_calls", method="answerCallbackQuery")
    assert calls[0]["params"]["callback_query_id"] == callback_id

    await control("fail_next", count=1, status=429, retry_after=2, method="sendMessage")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ALICE, "x")
    await control("block_chat", chat_id=ALICE)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(ALICE, "x")
    await control("enable_rate_limits", private_chat=[5, 1.0])
    assert emu.limiter.limits == RateLimits(private_chat=(5, 1.0))
    assert (await control("counters"))["too_many_requests"] == 1
    async with http.get(f"{emu.base_url}/_control/bot_messages", params={"chat_id": str(ALICE)}) as resp:
        assert [m["text"] for m in (await resp.json())["result"]] == ["Pick"]
    async with http.get(f"{emu.base_url}/_control/help") as resp:
        assert "send_text" in (await resp.json())["result"]

    assert "unknown control action" in (await control("teleport", expect=404))["error"]
    assert "no message 99" in (await control("press_button", 400, user_id=ALICE, message_id=99, data="y"))["error"]
    assert "TypeError" in (await control("send_text", 400, user_id=ALICE, txt="typo"))["error"]
    assert "timed out" in (await control("wait_for_messages", 408, chat_id=BOB, count=1, timeout=0.1))["error"]


async def test_fault_knobs_over_http_control(emu, bot, http):
    async def control(action: str, expect: int = 200, **kwargs):
        async with http.post(f"{emu.base_url}/_control/{action}", json=kwargs) as resp:
            body = await resp.json()
            assert resp.status == expect, body
            return body["result"] if expect == 200 else body

    await control("add_user", user_id=ALICE)
    await control("fail_next", status=502, when="after", method="sendMessage")
    with pytest.raises(TelegramServerError):
        await bot.send_message(ALICE, "delivered anyway")
    await control("fail_next", status=0, method="sendMessage")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(ALICE, "dropped")
    ends = await control("storm", duration=30, status=429, retry_after=2, method="sendMessage")
    assert ends["ends_at"] > time.time() + 25
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ALICE, "stormy")
    await control("clear_faults")
    await bot.send_message(ALICE, "calm")
    [call, *_] = await control("api_calls", method="sendMessage")
    assert (call["ok"], call["reply_status"], call["chat_id"], call["message_id"]) == (True, 502, ALICE, 1)
    assert call["at"] <= call["done"] <= call["answered"]
    queued = await control("inject_update", update={"message": {"message_id": 1, "text": 5}})
    assert queued == {"update_id": 1, "message": {"message_id": 1, "text": 5}}
    assert await control("pending_updates") == [queued]
    counters = await control("counters")
    assert (counters["faults_injected"], counters["storm_faults"], counters["connections_dropped"],
            counters["faulted_after_execution"]) == (3, 1, 1, 1)
    assert "status" in (await control("storm", 400, duration=1, status=302))["error"]
    async with http.get(f"{emu.base_url}/_control/help") as resp:
        actions = (await resp.json())["result"]
    assert {"storm", "clear_faults", "inject_update"} <= set(actions)
    assert "when" in actions["fail_next"]["signature"]


async def test_run_emulator_serves_until_cancelled(capsys, http):
    task = asyncio.create_task(run_emulator("127.0.0.1", 0))
    deadline = time.monotonic() + 5
    output = ""
    while "listening on" not in output and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        output += capsys.readouterr().out
    base_url = output.split("listening on ")[1].split()[0]
    assert "checking requests against Bot API" in output
    async with http.get(f"{base_url}/_control/counters") as resp:
        assert (await resp.json())["result"]["too_many_requests"] == 0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.get(f"{base_url}/_control/counters"):
            pass
