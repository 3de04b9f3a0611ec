"""The channel contract on WeCom: the staff app adapter and the customer-service adapter driven
directly against the WeCom emulator, as tests/test_channel_contract.py drives the Telegram runtimes
— sending text, buttons, photos, edits and their fallback, menus, every error mapped to the right
delivery-error kind, download, the join link and the pacing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.stage import png
from bot.stage_wecom import WecomStage, labels, text_of
from handlers.channel import Button, DeliveryError, Outbound
from models.enums import Channel, Role

USER = "lilei"


@pytest.fixture
async def stage(tmp_path: Path):  # noqa: ANN201
    async with WecomStage(tmp_path) as s:
        s.emu.add_member(USER, "Li Lei")
        yield s


def app_adapter(s: WecomStage):  # noqa: ANN201
    return s.rt.adapters[Channel.WECOM]


async def test_text_buttons_photos_and_edits(stage: WecomStage) -> None:
    wecom = app_adapter(stage)
    sent = await wecom.deliver(USER, Outbound(text="hello\nsecond line"))
    assert sent and text_of(stage.messages(USER)[-1]) == "hello\nsecond line"
    long = "字" * 1500  # 4500 bytes: cut into pieces WeCom takes whole
    await wecom.deliver(USER, Outbound(text=long))
    assert "".join(text_of(m) for m in stage.messages(USER)[-3:]) == long
    task = await wecom.deliver(USER, Outbound(text="New job\nFS-1", buttons=[[Button("Accept", "acc:1"),
                                                                              Button("Decline", "dec:1")]]))
    card = stage.messages(USER)[-1]
    assert card["template_card"]["task_id"] == task and labels(card) == ["Accept", "Decline"]
    # Edit in place with the send's response code; then, the code used up, a new message.
    assert await wecom.deliver(USER, Outbound(text="You accepted FS-1", edit_message_id=task)) == task
    state = stage.emu.card_state(task, USER)
    assert state["disabled"] and len(stage.messages(USER)) == 5
    await wecom.deliver(USER, Outbound(text="Edited again", edit_message_id=task))
    assert text_of(stage.messages(USER)[-1]) == "Edited again" and len(stage.messages(USER)) == 6
    # Seven buttons: more than a card holds, so the text lists them as commands.
    seven = [[Button(f"B{n}", f"b:{n}")] for n in range(7)]
    await wecom.deliver(USER, Outbound(text="Pick one", buttons=seven))
    assert "B6: /_b_6" in text_of(stage.messages(USER)[-1]) and not labels(stage.messages(USER)[-1])
    # A photo from the media store (uploaded), and a location request becomes a hint.
    media = stage.rt.core.media
    stored = await media.save(png(5))
    await wecom.deliver(USER, Outbound(photos=[{"path": stored.path}]))
    assert stage.messages(USER)[-1]["msgtype"] == "image"
    await wecom.deliver(USER, Outbound(text="Send your location", request_location="Send location",
                                       location_hint="Use the menu: On site → Send location"))
    assert text_of(stage.messages(USER)[-1]).endswith("Use the menu: On site → Send location")
    # Per-chat command menus do not exist on WeCom: nothing is sent.
    before = len(stage.messages(USER))
    assert await wecom.deliver(USER, Outbound(kind="commands", commands=[("help", "help")])) is None
    assert len(stage.messages(USER)) == before
    assert stage.emu.violations == []


async def test_a_document_is_a_file_message_then_its_text(stage: WecomStage) -> None:
    stored = await stage.rt.core.media.save(b"%PDF-1.4 a service report")
    out = Outbound(text="Service report of ticket FS-1 (PDF).",
                   document={"path": stored.path, "filename": "service-report-FS-1.pdf", "mime": "application/pdf"})
    await app_adapter(stage).deliver(USER, out)
    file, text = stage.messages(USER)[-2:]
    assert file["msgtype"] == "file" and text_of(text) == out.text
    assert stage.emu.media_bytes(file["file"]["media_id"]) == b"%PDF-1.4 a service report"
    assert stage.emu.violations == []


async def test_errors_map_to_delivery_kinds(stage: WecomStage) -> None:
    wecom = app_adapter(stage)
    stage.emu.fail_next(1, errcode=45009, path="message/send")
    with pytest.raises(DeliveryError) as busy:
        await wecom.deliver(USER, Outbound(text="x"))
    assert busy.value.kind == "transient"
    stage.emu.fail_next(1, errcode=-1, path="message/send")
    with pytest.raises(DeliveryError) as system:
        await wecom.deliver(USER, Outbound(text="x"))
    assert system.value.kind == "transient"
    with pytest.raises(DeliveryError) as stranger:
        await wecom.deliver("nobody_here", Outbound(text="x"))
    assert stranger.value.kind == "permanent"
    stage.emu.invalidate_token()  # 40014: refreshed and retried once, invisible to the sender
    assert await wecom.deliver(USER, Outbound(text="after a new token"))
    stage.emu.ip_allowlist(["10.9.9.9"])  # 60020: a configuration problem, explained
    with pytest.raises(DeliveryError) as ip:
        await wecom.deliver(USER, Outbound(text="x"))
    stage.emu.ip_allowlist(None)
    assert ip.value.kind == "transient" and "企业可信IP" in ip.value.reason


async def test_download_parse_links_and_pacing(stage: WecomStage) -> None:
    wecom = app_adapter(stage)
    record = await stage.emu.user_image(USER, png(9), filename="p.png")
    assert await wecom.download(record["media_id"]) == png(9)
    token = await stage.invite(Role.ENGINEER, "Li Lei")
    staff = dict((traits.channel, link) for traits, link in stage.app.join_links(token, customer=False))
    assert staff == {Channel.WECOM: f"In WeCom, open the Fieldbot app and send: /start {token}"}
    customer = stage.app.join_links(token, customer=True)
    assert [t.channel for t, _ in customer] == [Channel.WECOM_KF] and "scene_param=" in customer[0][1]
    assert wecom.pacing.per_recipient == ((25, 60.0), (900, 3600.0))
    assert wecom.capabilities.max_buttons == 6 and not wecom.capabilities.chat_menus
