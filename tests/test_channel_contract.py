"""One channel contract, held by every Telegram runtime (aiogram, python-telegram-bot) — as
aiogram runs one storage contract over every backend.

Each test drives the adapter directly (no core, no database) against the Bot API emulator, which
checks every request against the Bot API spec (``spec_mismatches()`` must stay empty): sending
text, inline buttons, a location-request keyboard, photos by reference and by file, edits in place
("message is not modified" is no error), per-chat command menus; every failure classified into the
delivery-error kind the outbox sender acts on; downloads; receiving by long polling (confirmed only
once stored) and the webhook registration; parsing the updates the emulator produced into the same
:class:`~handlers.channel.Inbound` on both runtimes; the join link and pacing from config; and the
base class's degradation for a channel with fewer capabilities.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.channels.base import Capabilities, Pacing
from bot.channels.telegram_protocol import ALLOWED_UPDATES, TelegramRuntime
from bot.config import parse_config
from bot.emulator import BotApiEmulator
from handlers.channel import Button, DeliveryError, Inbound, Location, Outbound, render_text
from models.enums import Channel
from tests.support.telegram import RUNTIMES, TOKEN, button_labels, png

USER, OTHER = 11, 12
BOT_NAME = "fieldbot_test_bot"
#: Seconds a runtime waits for an answer in these tests (the timeout case waits longer than this).
TIMEOUT = 1.5
RECEIVED = datetime(2026, 3, 2, 2, 30, tzinfo=timezone.utc)


def adapter_class(runtime: str) -> type[TelegramRuntime]:
    if runtime == "ptb":
        from bot.channels.telegram_ptb import PtbTelegramAdapter

        return PtbTelegramAdapter
    from bot.channels.telegram import TelegramAdapter

    return TelegramAdapter


def make_adapter(runtime: str, config: Any, media_root: Path,  # noqa: ANN401
                 cls: type[TelegramRuntime] | None = None) -> TelegramRuntime:
    """The runtime's adapter as ``fieldbot run`` builds it, waiting :data:`TIMEOUT` for an answer."""
    cls = cls or adapter_class(runtime)
    if runtime == "ptb":
        return cls(config, media_root, timeout=TIMEOUT)
    adapter = cls(config, media_root)
    adapter.bot.session.timeout = TIMEOUT  # aiogram's per-request timeout
    return adapter


def telegram_config(emu: BotApiEmulator, runtime: str, extra: str = "") -> Any:  # noqa: ANN401
    return parse_config(
        f'[telegram]\ntoken = "{TOKEN}"\nruntime = "{runtime}"\napi_base = "{emu.base_url}"\n'
        f'bot_username = "{BOT_NAME}"\nrate = 12\nchat_interval = "2s"\ngroup_per_minute = 20\n' + extra,
        environ={},
    )


@dataclass
class Rig:
    runtime: str
    emu: BotApiEmulator
    config: Any
    media_root: Path
    adapter: TelegramRuntime
    extra: list[TelegramRuntime] = field(default_factory=list)

    def another(self, cls: type[TelegramRuntime] | None = None, config: Any = None) -> TelegramRuntime:  # noqa: ANN401
        """A second adapter of this runtime (a subclass, another config), closed with the rig."""
        adapter = make_adapter(self.runtime, config or self.config.telegram, self.media_root, cls)
        self.extra.append(adapter)
        return adapter


@pytest.fixture(params=RUNTIMES)
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    emu = BotApiEmulator(TOKEN)
    await emu.start()
    config = telegram_config(emu, request.param)
    media_root = tmp_path / "media"
    media_root.mkdir()
    r = Rig(request.param, emu, config, media_root, make_adapter(request.param, config.telegram, media_root))
    emu.add_user(USER, first_name="Li", last_name="Lei", language_code="en")
    emu.add_user(OTHER, first_name="Wang")
    try:
        yield r
    finally:
        for adapter in (r.adapter, *r.extra):
            await adapter.stop()
            await adapter.close()
        emu.clear_faults()
        await emu.stop()
    assert emu.spec_mismatches() == []


class Collecting:
    """An intake that keeps what it is given (``fail`` times it refuses first, as a full disk would)."""

    def __init__(self, fail: int = 0):
        self.items: list[tuple[str, dict]] = []
        self.fail = fail
        self.refused = 0

    async def wait_for_room(self) -> None:
        return None

    async def accept(self, channel: Channel, items: list[tuple[str, dict]]) -> None:
        assert channel is Channel.TELEGRAM
        if self.refused < self.fail:
            self.refused += 1
            raise RuntimeError("the inbox cannot store it")
        self.items.extend(items)


# -- sending --------------------------------------------------------------------------------------
async def test_text(rig: Rig) -> None:
    sent = await rig.adapter.deliver(str(USER), Outbound(text="Hello, Li Lei"))
    [message] = rig.emu.bot_messages(USER)
    assert (message["text"], str(message["message_id"])) == ("Hello, Li Lei", sent)
    assert "reply_markup" not in message


async def test_a_long_text_is_cut_at_4096_characters(rig: Rig) -> None:
    await rig.adapter.deliver(str(USER), Outbound(text="x" * 5000))
    await rig.adapter.send(str(USER), Outbound(text="y" * 5000))  # the protocol cuts too, whatever came in
    texts = [m["text"] for m in rig.emu.bot_messages(USER)]
    assert texts == ["x" * 4095 + "…", "y" * 4095 + "…"]


async def test_buttons_are_an_inline_keyboard(rig: Rig) -> None:
    buttons = [[Button("Accept", "acc:1"), Button("Decline", "dec:1")], [Button("Later", "later:1")]]
    await rig.adapter.deliver(str(USER), Outbound(text="New job", buttons=buttons))
    [message] = rig.emu.bot_messages(USER)
    assert message["reply_markup"] == {"inline_keyboard": [
        [{"text": "Accept", "callback_data": "acc:1"}, {"text": "Decline", "callback_data": "dec:1"}],
        [{"text": "Later", "callback_data": "later:1"}]]}


async def test_a_location_request_keyboard_and_its_removal(rig: Rig) -> None:
    await rig.adapter.deliver(str(USER), Outbound(text="Where are you?", request_location="📍 Send my location"))
    assert rig.emu.reply_keyboard(USER) == {"keyboard": [[{"text": "📍 Send my location", "request_location": True}]],
                                            "resize_keyboard": True, "one_time_keyboard": True}
    await rig.adapter.deliver(str(USER), Outbound(text="Thanks", remove_keyboard=True))
    assert rig.emu.reply_keyboard(USER) is None


async def test_a_photo_by_reference(rig: Rig) -> None:
    sent_by_user = rig.emu.send_photo(USER, png(3))
    file_id = sent_by_user["photo"][-1]["file_id"]
    await rig.adapter.deliver(str(OTHER), Outbound(text="From the site", photos=[
        {"channel": "telegram", "file_ref": file_id}]))
    photo, text = rig.emu.bot_messages(OTHER)
    assert rig.emu.file_bytes(photo["photo"][-1]["file_id"]) == png(3)
    assert text["text"] == "From the site"


async def test_a_photo_by_file(rig: Rig) -> None:
    stored = rig.media_root / "ab" / "cd" / "site.png"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(png(4))
    # a photo from the media store (one that came by another channel: no Telegram file_id to reuse)
    sent = await rig.adapter.deliver(str(USER), Outbound(photos=[{"path": "ab/cd/site.png", "channel": "wecom"}]))
    [photo] = rig.emu.bot_messages(USER)
    assert str(photo["message_id"]) == sent
    assert rig.emu.file_bytes(photo["photo"][-1]["file_id"]) == png(4)
    [call] = rig.emu.api_calls("sendPhoto")
    assert call["ok"]


async def test_a_document_by_file_with_its_caption(rig: Rig) -> None:
    stored = rig.media_root / "ef" / "01" / "report.pdf"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"%PDF-1.4 a service report")
    out = Outbound(text="Service report of ticket FS-2026-000001 (PDF).",
                   document={"path": "ef/01/report.pdf", "filename": "service-report-FS-2026-000001.pdf",
                             "mime": "application/pdf", "fallback": "Ask the service desk."})
    sent = await rig.adapter.deliver(str(USER), out)
    [message] = rig.emu.bot_messages(USER)
    assert str(message["message_id"]) == sent and message["caption"] == out.text
    assert message["document"]["file_name"] == "service-report-FS-2026-000001.pdf"
    assert rig.emu.file_bytes(message["document"]["file_id"]) == b"%PDF-1.4 a service report"
    [call] = rig.emu.api_calls("sendDocument")  # a multipart upload through the real client
    assert call["ok"]
    # A channel that cannot send files says how to get it instead.
    narrow = rig.another(type("NoFiles", (adapter_class(rig.runtime),), {"capabilities": Capabilities(documents=False)}))
    await narrow.deliver(str(USER), out)
    assert rig.emu.bot_messages(USER)[-1]["text"] == out.text + "\nAsk the service desk."
    assert len(rig.emu.api_calls("sendDocument")) == 1


async def test_edit_in_place_and_not_modified_is_no_error(rig: Rig) -> None:
    first = await rig.adapter.deliver(str(USER), Outbound(text="Dispatch to?", buttons=[[Button("Li", "dsp:1:2")]]))
    edit = Outbound(text="Li chosen.", buttons=[[Button("Undo", "undo:1")]], edit_message_id=first)
    assert await rig.adapter.deliver(str(USER), edit) == first
    [message] = rig.emu.bot_messages(USER)
    assert message["text"] == "Li chosen." and button_labels(message) == ["Undo"]
    assert await rig.adapter.deliver(str(USER), edit) == first  # the same again: Telegram says "not modified"
    assert [c["ok"] for c in rig.emu.api_calls("editMessageText")] == [True, False]
    assert await rig.adapter.deliver(str(USER), replace(edit, buttons=[])) == first
    assert button_labels(rig.emu.bot_messages(USER)[0]) == []
    assert len(rig.emu.bot_messages(USER)) == 1


async def test_per_chat_command_menu(rig: Rig) -> None:
    long = "Your open tickets " + "x" * 300
    assert await rig.adapter.deliver(str(USER), Outbound(kind="commands", commands=[
        ("tickets", long), ("help", "Help")])) is None
    assert rig.emu.commands({"type": "chat", "chat_id": USER}) == [
        {"command": "tickets", "description": long[:256]}, {"command": "help", "description": "Help"}]
    assert rig.emu.commands() == []  # the default menu is untouched
    assert rig.emu.bot_messages(USER) == []


# -- every failure as the sender needs it ---------------------------------------------------------
FAULTS = [
    pytest.param({"status": 429, "retry_after": 3}, "retry_after", 3.0, id="429"),
    pytest.param({"status": 500}, "transient", 0.0, id="500"),
    pytest.param({"status": 502}, "transient", 0.0, id="502"),
    pytest.param({"status": 503}, "transient", 0.0, id="503"),
    pytest.param({"status": 0}, "transient", 0.0, id="dropped"),
    pytest.param({"status": -1, "delay": TIMEOUT + 1.0}, "transient", 0.0, id="timeout"),
    pytest.param({"status": 400, "description": "Bad Request: can't parse entities"}, "permanent", 0.0, id="400"),
    pytest.param({"status": 413, "description": "Request Entity Too Large"}, "permanent", 0.0, id="413"),
]


@pytest.mark.parametrize(("fault", "kind", "retry_after"), FAULTS)
@pytest.mark.parametrize("method", ["sendMessage", "editMessageText", "sendPhoto", "setMyCommands"])
async def test_every_failure_is_classified(rig: Rig, method: str, fault: dict, kind: str, retry_after: float) -> None:
    target = None
    if method == "editMessageText":
        target = await rig.adapter.deliver(str(USER), Outbound(text="before"))
    message = {"sendMessage": Outbound(text="hello"), "editMessageText": Outbound(text="after", edit_message_id=target),
               "sendPhoto": Outbound(photos=[{"path": "p.png"}]),
               "setMyCommands": Outbound(kind="commands", commands=[("help", "Help")])}[method]
    (rig.media_root / "p.png").write_bytes(png(1))
    rig.emu.fail_next(method=method, **fault)
    with pytest.raises(DeliveryError) as info:
        await rig.adapter.deliver(str(USER), message)
    assert (info.value.kind, info.value.retry_after) == (kind, retry_after), info.value.reason
    assert rig.emu.counters["faults_injected"] == 1


async def test_a_blocked_chat_and_an_unknown_chat_are_permanent(rig: Rig) -> None:
    rig.emu.block_chat(USER)
    with pytest.raises(DeliveryError) as blocked:
        await rig.adapter.deliver(str(USER), Outbound(text="hello"))
    assert blocked.value.kind == "permanent" and "blocked" in blocked.value.reason
    with pytest.raises(DeliveryError) as unknown:
        await rig.adapter.deliver("424242", Outbound(text="hello"))
    assert unknown.value.kind == "permanent" and "chat not found" in unknown.value.reason.lower()


# -- receiving ------------------------------------------------------------------------------------
async def test_download_of_a_photo_a_user_sent(rig: Rig) -> None:
    sent = rig.emu.send_photo(USER, png(9))
    assert await rig.adapter.download(sent["photo"][-1]["file_id"]) == png(9)


def _play(emu: BotApiEmulator, pressed_on: int) -> tuple[list[dict], str]:
    """A person's updates of every kind Fieldbot reads; (the messages as queued, the callback id)."""
    date = int(RECEIVED.timestamp()) - 60
    queued = [
        emu.send_text(USER, f"/Start@{BOT_NAME} TOKEN123", date=date),
        emu.send_text(USER, "The fan is loud", date=date),
        emu.send_photo(USER, png(2), caption="the fan", date=date),
        emu.send_location(USER, 31.23041, 121.4737, date=date),
    ]
    callback = emu.press_button(USER, pressed_on, "acc:7")
    return queued, callback


def _check_inbounds(inbounds: list[Inbound], queued: list[dict], callback: str, pressed_on: int) -> None:
    start, text, photo, place, press = inbounds
    assert {i.session_key for i in inbounds} == {f"tg:{USER}:{USER}"}
    assert {(i.channel, i.user_id, i.chat_id, i.user_name, i.language, i.private, i.impersonal)
            for i in inbounds} == {(Channel.TELEGRAM, str(USER), str(USER), "Li Lei", "en", True, False)}
    assert (start.command, start.args, start.text) == ("start", "TOKEN123", None)
    assert (text.command, text.text, text.message_id) == (None, "The fan is loud", str(queued[1]["message_id"]))
    assert text.client_at == datetime.fromtimestamp(queued[1]["date"], timezone.utc)
    assert photo.text == "the fan" and [p.file_ref for p in photo.photos] == [queued[2]["photo"][-1]["file_id"]]
    assert place.location == Location(31.23041, 121.4737)
    assert (press.callback_data, press.callback_id, press.message_id) == ("acc:7", callback, str(pressed_on))


async def test_long_polling_confirms_only_what_was_stored_and_parses_every_kind(rig: Rig) -> None:
    pressed_on = int(await rig.adapter.deliver(str(USER), Outbound(text="Job", buttons=[[Button("Accept", "acc:7")]])))
    intake = Collecting(fail=2)
    queued, callback = _play(rig.emu, pressed_on)
    await rig.adapter.start(intake)
    await rig.emu.wait_until(lambda: intake.refused == 2, timeout=10, what="two refused pages")
    assert len(rig.emu.pending_updates()) == 5  # refused pages stay with Telegram
    await rig.emu.wait_until(lambda: len(intake.items) == 5, timeout=10, what="the page stored")
    await rig.emu.wait_until_consumed(timeout=10)  # confirmed by the next poll, once stored
    assert [raw["message"] for _, raw in intake.items[:4]] == queued  # stored as Telegram sent them
    assert [key for key, raw in intake.items] == [str(raw["update_id"]) for _, raw in intake.items]
    inbounds = [rig.adapter.parse(raw, RECEIVED) for _, raw in intake.items]
    _check_inbounds(inbounds, queued, callback, pressed_on)
    await rig.adapter.finish(inbounds[-1], "Accepted")
    assert (await rig.emu.wait_for_callback_answer(callback))["text"] == "Accepted"
    polls = rig.emu.api_calls("getUpdates")
    assert all(json.loads(c["params"]["allowed_updates"]) == ALLOWED_UPDATES for c in polls)


async def test_polling_rides_out_errors_and_a_flood_wait(rig: Rig) -> None:
    intake = Collecting()
    rig.emu.fail_next(method="getUpdates", status=502)
    rig.emu.fail_next(method="getUpdates", status=429, retry_after=1)
    rig.emu.send_text(USER, "still there?")
    await rig.adapter.start(intake)
    await rig.emu.wait_until(lambda: intake.items, timeout=15, what="the update after the errors")
    assert rig.emu.counters["faults_injected"] == 2


async def test_a_wrong_token_stops_receiving(rig: Rig) -> None:
    wrong = rig.config.telegram.model_copy(update={"token": SecretStr("999:wrong")})
    adapter = rig.another(config=wrong)
    with pytest.raises(Exception) as info:  # noqa: PT011 - each SDK has its own "unauthorized"
        await adapter.start(Collecting())
        await asyncio.wait_for(adapter.serve(), 10)
    assert not isinstance(info.value, asyncio.TimeoutError)
    assert adapter._fatal(info.value)


async def test_the_webhook_is_registered_with_its_secret_and_the_update_kinds(rig: Rig) -> None:
    config = telegram_config(rig.emu, rig.runtime, 'mode = "webhook"\nwebhook_url = "http://127.0.0.1:9/tg"\n'
                                                   'webhook_secret = "s3cret"\n')
    adapter = rig.another(config=config.telegram)
    assert [(m, p) for m, p, _ in adapter.routes(Collecting())] == [("POST", "/tg")]
    await adapter.start(Collecting())
    hook = rig.emu.webhook()
    assert hook["url"] == "http://127.0.0.1:9/tg" and hook["allowed_updates"] == ALLOWED_UPDATES
    [call] = rig.emu.api_calls("setWebhook")
    assert call["params"]["secret_token"] == "s3cret"
    await rig.adapter.start(Collecting())  # polling again removes it
    assert not (rig.emu.webhook() or {}).get("url")


async def test_both_runtimes_read_the_same_updates_the_same_way(tmp_path: Path) -> None:
    """The updates the emulator produced, fetched by each SDK's own getUpdates (unconfirmed, so both
    see them): the same raw JSON, and the same Inbound from both."""
    async with BotApiEmulator(TOKEN) as emu:
        emu.add_user(USER, first_name="Li", last_name="Lei", language_code="en")
        adapters = {rt: make_adapter(rt, telegram_config(emu, rt).telegram, tmp_path) for rt in RUNTIMES}
        try:
            pressed_on = int(await adapters["aiogram"].deliver(
                str(USER), Outbound(text="Job", buttons=[[Button("Accept", "acc:7")]])))
            queued, callback = _play(emu, pressed_on)
            raws = {rt: await a._call_get_updates(None, 0, ALLOWED_UPDATES) for rt, a in adapters.items()}
            assert raws["aiogram"] == raws["ptb"] == emu.pending_updates()
            parsed = {rt: [a.parse(raw, RECEIVED) for raw in raws[rt]] for rt, a in adapters.items()}
            assert parsed["aiogram"] == parsed["ptb"]
            _check_inbounds(parsed["ptb"], queued, callback, pressed_on)
        finally:
            for adapter in adapters.values():
                await adapter.close()
        assert emu.spec_mismatches() == []


# -- facts from config ----------------------------------------------------------------------------
async def test_the_join_link_comes_from_the_traits(rig: Rig) -> None:
    traits = adapter_class(rig.runtime).traits(rig.config)
    assert traits.channel is Channel.TELEGRAM and traits.reply_window is None
    assert traits.join_link("inv_ABC123") == f"https://t.me/{BOT_NAME}?start=inv_ABC123"


async def test_pacing_comes_from_config(rig: Rig) -> None:
    assert rig.adapter.pacing == Pacing(overall_per_second=12.0, chat_interval=2.0, group_interval=3.0)
    assert (rig.adapter.chat_interval(str(USER)), rig.adapter.chat_interval("-1001234")) == (2.0, 3.0)
    assert rig.adapter.is_group("-1001234") and not rig.adapter.is_group(str(USER))


# -- a channel that can show less: the base class degrades once --------------------------------------
NARROW = Capabilities(max_buttons=6, edit=False, location_request=False, chat_menus=False, max_text=4096)


async def test_degrade_for_a_channel_with_fewer_capabilities(rig: Rig) -> None:
    narrow = rig.another(type("Narrow", (adapter_class(rig.runtime),), {"capabilities": NARROW}))
    first = await narrow.deliver(str(USER), Outbound(text="v1"))
    second = await narrow.deliver(str(USER), Outbound(text="v2", edit_message_id=first))  # edit → new message
    assert second != first and [m["text"] for m in rig.emu.bot_messages(USER)] == ["v1", "v2"]

    seven = Outbound(text="Pick one", buttons=[[Button(f"Engineer {i}", f"dsp:1:{i}") for i in range(7)]])
    await narrow.deliver(str(USER), seven)  # 7 buttons, at most 6 shown → text commands
    message = rig.emu.bot_messages(USER)[-1]
    assert message["text"] == render_text(seven) and "reply_markup" not in message
    assert "Engineer 6: /_dsp_1_6" in message["text"]
    six = replace(seven, buttons=[seven.buttons[0][:6]])
    await narrow.deliver(str(USER), six)
    assert len(button_labels(rig.emu.bot_messages(USER)[-1])) == 6

    await narrow.deliver(str(USER), Outbound(text="Where are you?", request_location="📍 Send my location",
                                             location_hint="Send your location: 📎 → Location."))
    assert rig.emu.bot_messages(USER)[-1]["text"] == "Where are you?\nSend your location: 📎 → Location."
    assert rig.emu.reply_keyboard(USER) is None

    assert await narrow.deliver(str(USER), Outbound(kind="commands", commands=[("help", "Help")])) is None
    assert rig.emu.api_calls("setMyCommands") == []
