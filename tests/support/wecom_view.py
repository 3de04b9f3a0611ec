"""What a person sees in WeCom, as the neutral :class:`~tests.support.channels.Message`: a member's
app chat (text, images, template cards as that member sees them now) and a customer's 微信客服 chat
(text, images, menus).

The adapter lays a message out for the channel (``bot/channels/wecom/cards.py``, ``kf.py``); this
reads it back the way the person does:

* a card's first line is its title (cut at 36 characters, then the whole text is below it) and the
  rest its subtitle; several long button labels are numbered, with ``1. label`` lines under the
  text — read as the labels they stand for (pressing ``Pause: waiting for parts`` taps ``2``);
* a card greyed out (edited to have no buttons, or already used) has no buttons to press;
* a customer-service menu's items are its buttons, except the lone "Got it" tap target the adapter
  adds to a push that has none (still pressable by its label: :attr:`Message.data`);
* a text too long for a card, sent before the card that carries its buttons, is one message
  (:func:`joined`);
* a message with more buttons than the channel shows (6 on a card, 10 in a menu) comes as text
  with one ``label: /_command`` line per button (``handlers.channel.render_text``): read as its
  buttons, which the person presses by typing the command.
"""

from __future__ import annotations

import re
from typing import Any

from bot.wecom_emulator import WeComEmulator
from tests.support.channels import Message

#: The id of the tap target the customer-service adapter puts on a push without buttons.
GOT_IT = "ok"
#: A button spelled out as a command (``handlers.channel.render_text``).
TYPED = re.compile(r"^(.+?)(?:: |：)/_(\S+)$")


def member_view(emu: WeComEmulator, userid: str, message: dict[str, Any]) -> Message:
    """One message of a member's app chat (``emu.messages_to``)."""
    kind = message["msgtype"]
    if kind in ("text", "markdown"):
        return typed(message["msgid"], message[kind]["content"], message)
    if kind == "image":
        return Message(id=message["msgid"], text="", photo=True, raw=message)
    if kind != "template_card":
        return Message(id=message["msgid"], text=f"[{kind}]", raw=message)
    card = message["template_card"]
    text, labels, keys = read_card(card)
    if emu.card_state(card["task_id"], userid)["disabled"]:
        labels, keys = [], []
    # The bot knows a card by its task_id (the id it edits it by).
    return Message(id=card["task_id"], text=text, buttons=labels, data=dict(zip(labels, keys)), raw=message)


def joined(views: list[Message]) -> list[Message]:
    """A text too long for a card comes as text (in pieces of 2048 bytes) followed by a card with
    only its first line and the buttons (``bot/channels/wecom/cards.py: card_text``): read as the
    one message it is — the whole text, the card's buttons and id."""
    out: list[Message] = []
    for view in views:
        card = view.raw.get("msgtype") == "template_card" and "\n" not in view.text and view.text
        run = len(out)
        while card and run > 0 and out[run - 1].raw.get("msgtype") == "text" and not out[run - 1].buttons:
            run -= 1
            if out[run].text.split("\n", 1)[0] == view.text and "\n" in out[run].text:
                text = "\n".join(m.text for m in out[run:])
                out[run:] = [Message(id=view.id, text=text, buttons=view.buttons, data=view.data, raw=view.raw)]
                break
        else:
            out.append(view)
    return out


def read_card(card: dict[str, Any]) -> tuple[str, list[str], list[str]]:
    """A ``button_interaction`` card's text, its button labels (numbered ones read through the
    list under the text) and their keys."""
    title = (card.get("main_title") or {}).get("title", "")
    lines = card["sub_title_text"].split("\n") if card.get("sub_title_text") else []
    buttons = [b for b in card.get("button_list", []) if isinstance(b, dict)]
    labels, keys = [b.get("text", "") for b in buttons], [b.get("key", "") for b in buttons]
    n = len(labels)
    legend = lines[len(lines) - n:] if n else []
    if (n and labels == [str(i) for i in range(1, n + 1)] and len(legend) == n
            and all(line.startswith(f"{i}. ") for i, line in enumerate(legend, 1))):
        labels = [line.split(". ", 1)[1] for line in legend]
        lines = lines[:len(lines) - n]
    body = "\n".join(lines)
    if title.endswith("…") and body.startswith(title[:-1]):  # a cut title: the whole text is below
        return body, labels, keys
    return "\n".join(part for part in (title, body) if part), labels, keys


def typed(id: str, text: str, raw: dict[str, Any]) -> Message:  # noqa: A002
    """A text message; its trailing ``label: /_command`` lines are its buttons (their data)."""
    lines = text.split("\n")
    buttons: list[tuple[str, str]] = []
    while lines and (match := TYPED.match(lines[-1])):
        buttons.insert(0, (match[1], match[2].replace("_", ":")))
        lines.pop()
    return Message(id=id, text="\n".join(lines), buttons=[label for label, _ in buttons], data=dict(buttons),
                   raw=raw)


def customer_view(message: dict[str, Any]) -> Message:
    """One message of a customer's 微信客服 chat (``emu.kf_messages_to``)."""
    kind = message["msgtype"]
    if kind == "text":
        return typed(message["msgid"], message["text"]["content"], message)
    if kind == "image":
        return Message(id=message["msgid"], text="", photo=True, raw=message)
    if kind != "msgmenu":
        return Message(id=message["msgid"], text=f"[{kind}]", raw=message)
    menu = message["msgmenu"]
    items = [i["click"] for i in menu.get("list", []) if i.get("type") == "click"]
    text = "\n".join(p for p in (menu.get("head_content", ""), menu.get("tail_content", "")) if p)
    if [item["id"] for item in items] == [GOT_IT]:  # no buttons of its own (perhaps typed ones)
        view = typed(message["msgid"], text, message)
        view.data[items[0]["content"]] = GOT_IT
        return view
    return Message(id=message["msgid"], text=text, buttons=[item["content"] for item in items],
                   data={item["content"]: item["id"] for item in items}, raw=message)


def media_id(message: Message) -> str:
    """The media id of an image message (either chat)."""
    if not message.photo:
        raise ValueError(f"not a photo: {message.text!r}")
    return message.raw["image"]["media_id"]
