"""The bad-input corpus of the fault suite: a seeded, deterministic generator of cases that people
(and Telegram, and forgers) can throw at the bot, each tagged with its family and with what the
bot owes in return.  :mod:`tests.fault.test_bad_input` plays them against the real bot.

Families (:data:`FAMILIES`):

* ``malformed`` — raw Update JSON: fields missing, wrong types, ids as strings / floats / huge,
  unknown update kinds, callback queries without a message or data, nested garbage, a resent
  ``update_id`` (twice in one page, and again after handling), and odd text (empty, 4096+
  characters, zero-width and right-to-left characters, emoji, NUL and control bytes, lone
  surrogates, SQL and format-string payloads, HTML / Markdown) as plain text, as the argument of
  the commands that parse or echo it, as a command name and as button data.
* ``buttons`` — every callback prefix the router knows with bad ids (0, -1, 999999, a word, 80
  digits, ², and one rarer spelling on every third prefix); odd shapes and second arguments; the
  right id pressed by the wrong person, team or role (every prefix); a button pressed twice (the
  first press is legitimate); buttons of tickets in a state where they no longer apply; the
  plain-text fallback (``/_acc_12``); the unaccepted-dispatch Reassign where no alert was sent.
* ``roles`` — every role-restricted command by each role that may not use it and by strangers who
  have not joined; another team's tickets; unknown commands; commands in a group.
* ``tokens`` — ``/start`` with garbage, expired, used, truncated tokens, another role's invite, a
  customer link opened by staff or by another customer.
* ``dialogs`` — wrong kinds of answer at every dialog step (photo, location, sticker, voice,
  contact, animation, poll, dice, document, blank, overlong text, values out of range), commands
  mid-dialog (another role's, unknown, ``/help``, ``/cancel``, a look-up, one that would begin
  another dialog, a Leave / Continue of no question), answering a dialog from another
  person's chat or from a group, pressing another person's dialog button, restarting a dialog,
  dialogs whose ticket moved on or whose data is garbage, replies to a check-in that are not
  text, lone surrogates in answers that are stored.
* ``media`` — a document instead of a photo, photos with huge captions, a photo the chat app will
  not hand over, an eleventh photo, locations at the edge of the map and beyond it.

What a case owes (checked by the test for every case): no crash (nothing parked unless the update
is genuinely unreadable, no internal-error apology, no ERROR log with a traceback), no traceback
text shown, every reply short and in the sender's language; and where ``refusal`` is due, nothing
changes — not the domain tables, not anybody's dialog, and nobody else is written to.

``long_ok`` marks the only replies allowed over the length limit, and only these kinds: ``/help``
(the role's command list), a page of a view (``tks:``/``brd:``/``pnd:`` with a bad page number
is clamped and shows the view) and a command whose argument is only whitespace (it is the command
without argument: ``/report`` shows last month).

``dialog_moves`` lets the *sender's own* dialog change (never anyone else's, never the domain),
and only where the case is a legitimate dialog step, decided per family:

* ``malformed``: a command with a whitespace-only argument (it opens its dialog as without one);
* ``buttons``: pressing a dialog's opening button (On my way, Decline, Arrived, Resolve, Paper
  form) a second time restarts that dialog;
* ``dialogs``: ``/cancel`` ends the dialog; ``/new``, ``/checkin``, ``/complain`` sent again, or
  another dialog's command, keep theirs and ask first whether to leave it (the question is kept
  with the dialog); a second photo at the location step is an album's (kept); digits typed
  fullwidth or in another script are digits (the quantity step moves on); a dialog whose ticket
  was taken away, vanished, holds garbage or names an unknown flow ends;
* ``media``: none (a real place at the edge of the map, or a photo with a huge caption at the
  arrival's photo step, is a legitimate step: ``refusal=False``).

Everything here is data: ``{name}`` placeholders (ticket ids ``T_site``, numbers ``n_T_site``,
person ids ``p_eng_en``, join tokens ``tok``…) are filled in by the test from the world it built;
``fresh`` asks it for objects made just for the case (a legitimate first press uses them up).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from models.enums import Role

SEED = 20260302
FAMILIES = ("malformed", "buttons", "roles", "tokens", "dialogs", "media")
GROUP = -700


# -- the cast ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    key: str
    uid: int
    role: Role | None  # None: a stranger who has not joined
    name: str
    lang: str | None  # Telegram's language_code; None: the client sent none
    team: str | None = None

    @property
    def expects(self) -> str:
        """The language the bot owes this person (its default is English)."""
        return "zh-CN" if (self.lang or "").startswith("zh") else "en"


CAST = (
    Member("sup_en", 100, Role.SUPERVISOR, "Wang Wei", "en", "North"),
    Member("dsp_zh", 101, Role.DISPATCHER, "陈静", "zh-hans", "North"),
    Member("eng_en", 102, Role.ENGINEER, "Li Lei", "en", "North"),
    Member("eng_zh", 103, Role.ENGINEER, "赵敏", "zh-hans", "North"),
    Member("mgr_en", 104, Role.MANAGER, "Grace Hu", "en", "North"),
    Member("dsp_en", 105, Role.DISPATCHER, "Dan Park", "en-US", "North"),
    Member("sup_s_zh", 110, Role.SUPERVISOR, "孙强", "zh", "South"),
    Member("eng_s_en", 111, Role.ENGINEER, "Sam Sun", "en", "South"),
    Member("mgr_s_zh", 112, Role.MANAGER, "周洁", "zh-hans", "South"),
    Member("cust_en", 900, Role.CUSTOMER, "Mr Lin", "en", None),  # Acme Ltd's contact
    Member("cust_zh", 901, Role.CUSTOMER, "张三", "zh-hans", None),  # 华星电子's contact
    Member("str_en", 800, None, "Eve", "en"),
    Member("str_zh", 801, None, "路人甲", "zh-hans"),
    Member("str_xx", 802, None, "Nobody", None),
)
BY_KEY = {m.key: m for m in CAST}
STRANGERS = ("str_en", "str_zh")


def members(role: Role | None) -> list[str]:
    return [m.key for m in CAST if m.role is role and m.key != "str_xx"]


# -- what is sent ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Say:
    """A text message through the emulator (``chat="group"``: in the team's group chat;
    ``reply_to``: a button's data identifying the bot message replied to)."""

    text: str
    chat: str = "private"
    reply_to: str | None = None


@dataclass(frozen=True)
class Press:
    """An inline button press with this data: under the sender's last bot message (the emulator's
    press), or — ``raw`` — as a raw callback query (strangers have no bot message to press)."""

    data: str
    raw: bool = False
    group: bool = False


@dataclass(frozen=True)
class Inject:
    """A raw Update built from the world (``build(env, member) -> dict``).  ``outcome``: how the
    intake must take it — ``read`` (handled), ``parked`` (unreadable, kept for an operator) or
    ``ignored`` (a kind Fieldbot does not handle: not even stored)."""

    build: Callable[[Any, Member], dict]
    outcome: str = "read"
    twice: bool = False  # the same update_id twice in one getUpdates page (a resend)


@dataclass(frozen=True)
class Resend:
    """The update of the prelude's last Inject, accepted again as a webhook resend would be."""


@dataclass(frozen=True)
class Photo:
    caption: str | None = None
    unfetchable: bool = False  # getFile fails: the chat app will not hand the photo over
    reply_to: str | None = None  # as :class:`Say`


@dataclass(frozen=True)
class Document:
    file_name: str = "report.pdf"
    mime: str = "application/pdf"
    size: int = 2048
    caption: str | None = None
    #: The file's bytes: one of :data:`IMAGES` by name (a bomb, a hostile JPEG…); None: ``size`` zeros.
    data: str | None = None


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    live: bool = False  # a live location (``live_period``)
    forwarded: bool = False  # forwarded from another chat (``forward_origin``)


#: Files sent as documents (a photo sent as a file keeps its EXIF), by name: see tests.support.images.
IMAGES = ("bomb", "truncated", "hostile_exif", "malformed_exif")


Send = Say | Press | Inject | Resend | Photo | Document | Place


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    sender: str
    send: Send
    refusal: bool = True
    #: (owner, flow, step, data) put in place before the case; owner defaults to the sender.
    dialog: tuple[str | None, str, str, dict] | None = None
    fresh: tuple[str, ...] = ()
    prelude: tuple[Send, ...] = ()  # legitimate steps before the snapshot (crash-checked only)
    dialog_moves: bool = False
    silent: bool = False  # the bot must not answer at all
    long_ok: bool = False
    lang: str | None = None  # the language owed, when not the sender's (e.g. no ``from``)
    messages: int | None = None  # exactly this many messages to the sender (a resend answered once)
    defect: str | None = None  # a known defect: the case is run under a strict xfail

    @property
    def id(self) -> str:
        return f"{self.family}/{self.name}"


# -- raw update building blocks -------------------------------------------------------------------
def user(m: Member, **over: Any) -> dict:
    u = {"id": m.uid, "is_bot": False, "first_name": m.name}
    if m.lang:
        u["language_code"] = m.lang
    u.update(over)
    return u


def message(env: Any, m: Member, **fields: Any) -> dict:
    """A well-formed private message from ``m``; ``fields`` override or add (None removes)."""
    msg = {"message_id": env.next_message_id(), "date": env.now_ts(), "chat": {"id": m.uid, "type": "private",
                                                                               "first_name": m.name},
           "from": user(m), "text": "hello"}
    msg.update(fields)
    return {k: v for k, v in msg.items() if v is not None}


def update(kind: str, payload: Any) -> dict:
    return {kind: payload}


def msg_update(**fields: Any) -> Callable[[Any, Member], dict]:
    return lambda env, m: {"message": message(env, m, **fields)}


def text_update(text: str) -> Callable[[Any, Member], dict]:
    def build(env: Any, m: Member) -> dict:
        fields: dict[str, Any] = {"text": env.format(text)}
        if fields["text"].startswith("/"):
            head = fields["text"].split(" ", 1)[0]
            length = len(head.encode("utf-16-le", "surrogatepass")) // 2
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"message": message(env, m, **fields)}
    return build


def query(env: Any, m: Member, data: str | None, *, message_chat: int | None = None, with_message: bool = True,
          **over: Any) -> dict:
    q: dict[str, Any] = {"id": str(env.next_message_id() * 7919), "from": user(m), "chat_instance": "42"}
    if data is not None:
        q["data"] = env.format(data)
    if with_message:
        chat = message_chat if message_chat is not None else m.uid
        q["message"] = {"message_id": 1, "date": env.now_ts(), "text": "…",
                        "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"},
                        "from": {"id": 123456, "is_bot": True, "first_name": "Fieldbot"}}
    q.update(over)
    return {"callback_query": q}


STICKER = {"file_id": "CAACAgIAAxkBAAEBsticker", "file_unique_id": "AgADsticker", "type": "regular", "width": 512,
           "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}
VOICE = {"file_id": "AwACAgIAAxkBAAEBvoice", "file_unique_id": "AgADvoice", "duration": 3, "mime_type": "audio/ogg"}
CONTACT = {"phone_number": "+8613800000009", "first_name": "Zhang"}
ANIMATION = {"file_id": "CgACAgIAAxkBAAEBgif", "file_unique_id": "AgADgif", "width": 1, "height": 1, "duration": 1}
POLL = {"id": "5", "question": "ok?", "options": [{"persistent_id": "a", "text": "yes", "voter_count": 0}],
        "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
        "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}
DICE = {"emoji": "🎲", "value": 6}
VENUE_AT = {"latitude": 31.2, "longitude": 121.5}
#: Non-text message kinds a person can send where the bot expects something else.
ODD_KINDS: dict[str, dict] = {
    "sticker": {"sticker": STICKER}, "voice": {"voice": VOICE}, "contact": {"contact": CONTACT},
    "animation": {"animation": ANIMATION, "document": {"file_id": "CgACAgIAAxkBAAEBgif",
                                                       "file_unique_id": "AgADgif"}},
    "poll": {"poll": POLL}, "dice": {"dice": DICE},
}


def odd(kind: str) -> Inject:
    return Inject(msg_update(text=None, **ODD_KINDS[kind]))


# -- odd text -------------------------------------------------------------------------------------
def odd_texts(rng: random.Random) -> dict[str, str]:
    """Payloads whose only fault is their text; a few are generated (seeded)."""
    junk = "".join(rng.choice("aZ09 _-:/\\{}%$'\"<>&;") for _ in range(60))
    mixed = "".join(chr(rng.choice([0x41, 0x4E2D, 0x05D0, 0x0627, 0x1F600, 0x200B, 0x202E, 0x0301]) + rng.randrange(8))
                    for _ in range(80))
    return {
        "empty": "", "space": "   \t  ", "n4096": "a" * 4096, "n4097": "b" * 4097, "n10000": "c" * 10000,
        "n65536": "d" * 65536, "zwsp": "\u200b\u200c\u200d\ufeff", "rtl_override": "\u202eolleh\u202c",
        "arabic": "مرحبا بالعالم", "hebrew": "שלום עולם", "emoji": "🔧" * 300,
        "zwj_family": "👨\u200d👩\u200d👧\u200d👦" * 120, "flags": "🇨🇳🇺🇸" * 200, "combining": "e" + "\u0301" * 500,
        "nul": "hi\x00there\x00", "controls": "\x01\x02\x07\x1b[31mred\x1b[0m\r\n\x7f",
        "lone_surrogate": "a\ud800b\udfff", "sql": "'; DROP TABLE tickets; --",
        "sql_union": "1 UNION SELECT * FROM people",
        "fmt_braces": "{}", "fmt_index": "{0}", "fmt_named": "{number}", "fmt_attr": "{__class__.__mro__}",
        "fmt_spec": "{0!r:>{1}}", "printf": "%s%s%s%n", "printf_named": "%(name)s",
        "html": "<b>bold</b><script>alert(1)</script>",
        "html_entities": "&amp;&lt;&gt;&#0;", "markdown": "*bold* _it_ `code` [x](http://e.com) ~~s~~ ||sp||",
        "markdown_v2": "\\*\\_\\`", "newlines": "\n" * 200, "junk": junk, "mixed": mixed,
        "path": "../../etc/passwd", "url": "javascript:alert(1)",
    }


# -- the families ---------------------------------------------------------------------------------
def malformed(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    joined = ["eng_en", "dsp_zh", "sup_en", "cust_zh", "mgr_s_zh", "eng_zh"]
    anyone = joined + list(STRANGERS)

    # Unreadable: the intake parks them (kept for an operator), nobody is answered.
    unreadable: dict[str, Callable[[Any, Member], dict]] = {
        "no_chat": msg_update(chat=None), "no_date": msg_update(date=None),
        "no_message_id": lambda e, m: {"message": {k: v for k, v in message(e, m).items() if k != "message_id"}},
        "text_number": msg_update(text=12345), "text_list": msg_update(text=["a", "b"]),
        "text_bool": msg_update(text=True), "text_object": msg_update(text={"$ne": None}),
        "user_id_fraction": lambda e, m: {"message": message(e, m, **{"from": user(m, id=m.uid + 0.5)})},
        "user_id_words": lambda e, m: {"message": message(e, m, **{"from": user(m, id="one hundred")})},
        "chat_id_words": lambda e, m: {"message": message(e, m, chat={"id": "abc", "type": "private"})},
        "chat_null": msg_update(chat=None, text="/help"),
        "first_name_number": lambda e, m: {"message": message(e, m, **{"from": user(m, first_name=7)})},
        "language_code_number": lambda e, m: {"message": message(e, m, **{"from": user(m, language_code=86)})},
        "date_words": msg_update(date="yesterday"), "date_overflow": msg_update(date=10 ** 20),
        "entities_not_a_list": msg_update(entities="garbage"),
        "entities_garbage": msg_update(entities=[{"nested": [[[[{"x": 1}]]]]}]),
        "reply_to_garbage": msg_update(reply_to_message={"foo": {"bar": [1, 2, {"baz": None}]}}),
        "location_words": msg_update(text=None, location={"latitude": "north", "longitude": 1}),
        "photo_without_file_id": msg_update(text=None, photo=[{"width": 1, "height": 1}]),
        "message_is_a_list": lambda e, m: {"message": [1, 2, 3]},
        "message_is_a_string": lambda e, m: {"message": "hello"},
        "callback_without_from": lambda e, m: {"callback_query": {"id": "9", "chat_instance": "1", "data": "acc:1"}},
        "callback_data_number": lambda e, m: _with(query(e, m, None), "callback_query", data=12),
        "callback_is_a_number": lambda e, m: {"callback_query": 5},
        "deep_nesting_in_a_typed_field": lambda e, m: {"message": message(e, m, photo=[_nest(60)])},
    }
    for n, (name, build) in enumerate(unreadable.items()):
        add(Case("malformed", f"unreadable/{name}", anyone[n % len(anyone)], Inject(build, outcome="parked"),
                 silent=True))

    # Kinds Fieldbot does not handle: not stored, not answered.
    ignored: dict[str, Callable[[Any, Member], dict]] = {
        "edited_message": lambda e, m: {"edited_message": {**message(e, m, text="/start forged"),
                                                           "edit_date": e.now_ts()}},
        "channel_post": lambda e, m: {"channel_post": message(e, m, chat={"id": -1001, "type": "channel",
                                                                          "title": "c"})},
        "inline_query": lambda e, m: {"inline_query": {"id": "1", "from": user(m), "query": "'; DROP", "offset": ""}},
        "my_chat_member": lambda e, m: {"my_chat_member": {
            "chat": {"id": m.uid, "type": "private"}, "from": user(m), "date": e.now_ts(),
            "old_chat_member": {"status": "member", "user": user(m)},
            "new_chat_member": {"status": "kicked", "user": user(m), "until_date": 0}}},
        "poll": lambda e, m: {"poll": POLL},
        # A kind not handled is not read at all, so its garbage is not kept either.
        "edited_message_garbage": lambda e, m: {"edited_message": {"x": 1}},
        "unknown_kind": lambda e, m: {"future_update_kind": {"anything": [1, {"deep": True}]}},
        "message_null": lambda e, m: {"message": None},
        "nothing_at_all": lambda e, m: {},
    }
    for n, (name, build) in enumerate(ignored.items()):
        add(Case("malformed", f"ignored/{name}", anyone[(n + 3) % len(anyone)], Inject(build, outcome="ignored"),
                 silent=True))

    # Readable, but not from a person or not what it seems: refused in one line, or silently.
    add(Case("malformed", "no_from", "eng_en", Inject(msg_update(**{"from": None})), lang="en"))
    add(Case("malformed", "no_from_command", "dsp_zh", Inject(msg_update(**{"from": None}, text="/board")), lang="en"))
    add(Case("malformed", "is_bot_as_word", "str_zh", Inject(lambda e, m: {"message": message(
        e, m, **{"from": user(m, is_bot="yes")}, text="/start x")})))
    add(Case("malformed", "user_id_as_string", "eng_en", Inject(lambda e, m: {"message": message(
        e, m, **{"from": user(m, id=str(m.uid))}, text="what now?")})))
    add(Case("malformed", "user_id_as_float", "dsp_zh", Inject(lambda e, m: {"message": message(
        e, m, **{"from": user(m, id=float(m.uid))}, text="/tickets")})))
    add(Case("malformed", "user_id_huge", "str_en", Inject(lambda e, m: {"message": message(
        e, m, **{"from": user(m, id=2 ** 70)}, chat={"id": 2 ** 70, "type": "private"})})))
    add(Case("malformed", "user_id_negative", "str_zh", Inject(lambda e, m: {"message": message(
        e, m, **{"from": user(m, id=-7)}, chat={"id": -7, "type": "private"}, text="/help me")}), refusal=True))
    add(Case("malformed", "known_user_in_a_strange_private_chat", "eng_en", Inject(lambda e, m: {"message": message(
        e, m, chat={"id": 777000 + m.uid, "type": "private"}, text="hello?")})))
    add(Case("malformed", "chat_type_unknown", "sup_en", Inject(lambda e, m: {"message": message(
        e, m, chat={"id": m.uid, "type": "weird"}, text="chatter")}), silent=True))
    add(Case("malformed", "chat_type_unknown_command", "dsp_zh", Inject(lambda e, m: {"message": message(
        e, m, chat={"id": m.uid, "type": "weird"}, text="/board")})))
    add(Case("malformed", "date_before_1970", "cust_zh", Inject(msg_update(date=-1))))
    add(Case("malformed", "date_in_milliseconds", "mgr_s_zh", Inject(msg_update(date=10 ** 12))))
    add(Case("malformed", "date_far_future", "eng_zh", Inject(msg_update(date=4102444800))))
    add(Case("malformed", "entities_out_of_range", "sup_en", Inject(msg_update(
        text="hello", entities=[{"type": "bot_command", "offset": 100, "length": 50}]))))
    add(Case("malformed", "command_entity_on_plain_text", "eng_zh", Inject(msg_update(
        text="tickets please", entities=[{"type": "bot_command", "offset": 0, "length": 7}]))))
    add(Case("malformed", "empty_photo_list", "eng_en", Inject(msg_update(text=None, photo=[]))))
    add(Case("malformed", "no_content_at_all", "cust_en", Inject(msg_update(text=None))))
    add(Case("malformed", "extra_fields_deeply_nested", "dsp_zh", Inject(msg_update(
        text="x", future_field=_nest(150)))))
    add(Case("malformed", "reply_to_a_message_never_sent", "sup_en", Inject(msg_update(
        text="ok, noted", reply_to_message={"message_id": 999999, "date": 0, "chat": {"id": 100, "type": "private"},
                                            "from": {"id": 123456, "is_bot": True, "first_name": "Fieldbot"}}))))
    add(Case("malformed", "message_and_callback_together", "eng_en", Inject(lambda e, m: {
        "message": message(e, m, text="both"), **query(e, m, "acc:{T_disp}")})))
    add(Case("malformed", "callback_without_message", "eng_en", Inject(lambda e, m: query(
        e, m, "acc:999999", with_message=False))))
    add(Case("malformed", "callback_without_message_inline", "eng_zh", Inject(lambda e, m: query(
        e, m, "go:{T_acc}", with_message=False, inline_message_id="AAAA"))))
    add(Case("malformed", "callback_without_data", "sup_en", Inject(lambda e, m: query(
        e, m, None, game_short_name="tetris"))))
    add(Case("malformed", "callback_empty_data", "cust_zh", Inject(lambda e, m: query(e, m, ""))))
    add(Case("malformed", "callback_from_a_bot", "sup_en", Inject(lambda e, m: query(
        e, m, "ack:{CHK}", **{"from": user(m, is_bot=True)}))))
    add(Case("malformed", "callback_under_a_group_message", "dsp_zh", Inject(lambda e, m: query(
        e, m, "dspt:{T_new}", message_chat=GROUP))))
    add(Case("malformed", "callback_nested_garbage_data", "eng_en", Inject(lambda e, m: query(
        e, m, "card:" + "{{" * 20 + "}}" * 20))))

    # A resend must be dropped: the same update twice in one page, and a webhook resend later.
    add(Case("malformed", "duplicate_update_id_help", "eng_en", Inject(text_update("/help"), twice=True),
             refusal=False, long_ok=True, messages=1))
    add(Case("malformed", "duplicate_update_id_refusal", "str_zh", Inject(text_update("/board"), twice=True),
             messages=1))
    add(Case("malformed", "duplicate_update_id_press", "eng_en", Inject(
        lambda e, m: query(e, m, "acc:{F}"), twice=True), refusal=False, fresh=("F=ticket:dispatched:eng_en:x300",),
        messages=1))
    add(Case("malformed", "resend_after_handling_accept", "eng_en", Resend(), fresh=("F=ticket:dispatched",),
             prelude=(Inject(lambda e, m: query(e, m, "acc:{F}")),), silent=True))
    add(Case("malformed", "resend_after_handling_text", "dsp_zh", Resend(),
             prelude=(Inject(text_update("/dispatch")),), silent=True))

    # Odd text: as plain text, and as the argument of every command that echoes or parses it.
    texts = odd_texts(rng)
    carriers: list[tuple[str, str, str]] = [  # (sender, template, label)
        ("eng_en", "{t}", "text"), ("str_zh", "{t}", "text_stranger"), ("sup_en", "/ticket {t}", "ticket"),
        ("dsp_zh", "/kb {t}", "kb"), ("mgr_en", "/report {t}", "report"), ("cust_zh", "/lang {t}", "lang"),
        ("str_en", "/start {t}", "start"), ("dsp_en", "/dispatch {t}", "dispatch"),
        ("sup_s_zh", "/reassign {t}", "reassign"), ("eng_zh", "/checkin {t}", "checkin"),
        ("eng_en", "/parts {t}", "parts"), ("cust_en", "/complain {t}", "complain"), ("sup_en", "/{t}", "as_command"),
    ]
    names = sorted(texts)
    for n, name in enumerate(names):
        # Every payload as plain text, and through two echoing commands (rotating, seeded); a lone
        # surrogate through all of them.
        picks = carriers if name == "lone_surrogate" else \
            [carriers[0] if n % 2 == 0 else carriers[1]] + rng.sample(carriers[2:], 1)
        for sender, template, label in picks:
            payload = template.replace("{t}", texts[name].replace("{", "{{").replace("}", "}}"))
            send: Send = Inject(text_update(payload)) if payload else Inject(msg_update(text=""))
            # Whitespace only is no argument at all: the command does what it does without one
            # (/checkin opens the engineer's one check-in, /report shows last month).
            blank = not texts[name].strip() and label not in ("text", "text_stranger", "as_command")
            add(Case("malformed", f"text/{name}/{label}", sender, send, long_ok=blank, dialog_moves=blank))
    # Odd text as button data (forged callback data, not from our keyboards).
    for n, name in enumerate(["sql", "fmt_named", "nul", "rtl_override", "n4096", "emoji", "html", "fmt_attr"]):
        sender = ["eng_en", "sup_s_zh", "cust_en", "dsp_zh"][n % 4]
        data = "acc:" + texts[name].replace("{", "{{").replace("}", "}}")
        add(Case("malformed", f"callback_data/{name}", sender, Inject(lambda e, m, d=data: query(e, m, d))))
    return cases


def _with(raw: dict, kind: str, **fields: Any) -> dict:
    raw[kind].update(fields)
    return raw


def _nest(depth: int) -> Any:
    value: Any = {"leaf": "x"}
    for i in range(depth):
        value = {"n": [value, i]}
    return value


BAD_IDS = {"zero": "0", "minus_one": "-1", "missing_row": "999999", "not_a_number": "abc", "overlong": "9" * 80,
           "superscript": "²", "arabic_digit": "٣", "fullwidth": "３", "float": "1.5", "hex": "0x1"}
#: Button codes whose target is a page number (a bad page is clamped, the view is shown) or that
#: answer with a whole view.
PAGED = {"tks", "brd", "pnd"}
#: Tap targets that do nothing and say nothing, whatever they carry and whoever taps them ("Got it",
#: which 微信客服 puts under a message so a tap reopens the customer's window).
SILENT = {"ok"}


def buttons(rng: random.Random, prefixes: dict[str, frozenset[Role] | None]) -> list[Case]:
    cases: list[Case] = []
    add = cases.append

    # 1. Every prefix with bad ids, pressed by someone whose role may use it: the six spellings of
    #    a bad id everywhere, one rarer spelling and one odd shape per prefix (rotating, seeded).
    core = ("zero", "minus_one", "missing_row", "not_a_number", "overlong", "superscript")
    rare = [label for label in BAD_IDS if label not in core]
    shapes = (("no_argument", "{p}"), ("empty_argument", "{p}:"), ("extra_arguments", "{p}:999999:2:3:4"))
    for n, prefix in enumerate(sorted(prefixes)):
        roles = prefixes[prefix]
        allowed = [m.key for m in CAST if m.role is not None and (roles is None or m.role in roles)]
        for k, label in enumerate((*core, *((rare[n // 3 % len(rare)],) if n % 3 == 0 else ()))):
            sender = allowed[(k + n) % len(allowed)] if rng.random() < 0.5 else rng.choice(allowed)
            add(Case("buttons", f"bad_id/{prefix}/{label}", sender, Press(f"{prefix}:{BAD_IDS[label]}"),
                     long_ok=prefix in PAGED, silent=prefix in SILENT))
        label, data = shapes[n % len(shapes)]
        if n % 2:
            continue
        add(Case("buttons", f"shape/{prefix}/{label}", rng.choice(allowed), Press(data.replace("{p}", prefix)),
                 long_ok=prefix in PAGED, silent=prefix in SILENT))
    for label, data in (("unknown_prefix", "zzz:1"), ("empty", ""), ("colon", ":"), ("upper_case", "ACC:{T_disp}"),
                        ("leading_space", " acc:{T_disp}"), ("unicode_prefix", "аcc:{T_disp}")):
        add(Case("buttons", f"shape/{label}", "eng_en", Press(data)))

    # Second arguments: a real ticket, a bad value.
    second = {"dsp": ("{T_new}", "sup_en"), "rsw": ("{T_acc}", "dsp_en"), "rsa": ("{T_disp}", "dsp_zh"),
              "rate": ("{T_signed}", "cust_en"), "cbr": ("{T_cb}", "cust_en"), "cbp": ("{T_cbx}", "sup_en")}
    for prefix, (first, sender) in second.items():
        people = prefix in ("dsp", "rsw", "rsa")  # the second argument names an engineer, else a rating
        for label, bad in (("zero", "0"), ("six", "6") if not people else ("missing", "999999"), ("minus", "-1"),
                           ("word", "five"), ("superscript", "²"), ("overlong", "9" * 40),
                           *((("customer", "{p_cust_en}"), ("supervisor", "{p_sup_en}")) if people else ())):
            add(Case("buttons", f"second_arg/{prefix}/{label}", sender, Press(f"{prefix}:{first}:{bad}")))
    for label, reason in (("empty", ""), ("upper", "PARTS"), ("unknown", "lunch"), ("sql", "parts';--"),
                          ("superscript", "²")):
        add(Case("buttons", f"second_arg/paur/{label}", "eng_en", Press(f"paur:{{T_site}}:{reason}")))
    add(Case("buttons", "second_arg/paur/overlong_ticket", "eng_en", Press("paur:" + "9" * 80 + ":parts")))
    add(Case("buttons", "fallback_text/go/overlong", "eng_zh", Say("/_go_" + "9" * 30)))
    add(Case("buttons", "fallback_text/go/nineteen_digits", "eng_en", Say("/_go_" + "9" * 19)))
    add(Case("buttons", "fallback_text/card/other_engineers", "eng_zh", Say("/_card_{T_site}")))
    add(Case("buttons", "fallback_text/acc/stale", "eng_en", Say("/_acc_{T_acc}")))
    for label, data in (("no_dialog", "reg:abc123:ok"), ("wrong_rid", "reg:ffffff:x"), ("no_code", "reg:abc123"),
                        ("severity_7", "reg:abc123:v:7"), ("unknown_code", "reg:abc123:zz:1")):
        add(Case("buttons", f"register/{label}", "dsp_zh", Press(data)))
    rid_dialog = (None, "register", "severity", REGISTER_DATA)
    for label, data in (("severity_7", "reg:abc123:v:7"), ("severity_0", "reg:abc123:v:0"),
                        ("severity_word", "reg:abc123:v:high"), ("step_mismatch", "reg:abc123:b:1"),
                        ("pick_unoffered_customer", "reg:abc123:c:{T_new}"), ("other_rid", "reg:000000:v:2"),
                        ("fault_type_at_severity", "reg:abc123:f:0")):
        add(Case("buttons", f"register_in_dialog/{label}", "sup_en", Press(data), dialog=rid_dialog))

    # 2. The right id, the wrong person, team or role.
    wrong: list[tuple[str, tuple[str, ...]]] = [
        ("acc:{T_disp}", ("eng_zh", "eng_s_en", "sup_en", "cust_en", "str_zh")),
        ("dec:{T_disp}", ("eng_zh", "eng_s_en", "dsp_en", "str_en")),
        ("card:{T_site}", ("eng_zh", "eng_s_en", "dsp_zh", "cust_zh")),
        ("go:{T_acc}", ("eng_zh", "eng_s_en", "mgr_en")),
        ("arr:{T_route}", ("eng_zh", "sup_s_zh")),
        ("pau:{T_site}", ("eng_s_en", "cust_en")),
        ("paur:{T_site}:parts", ("eng_zh", "sup_en")),
        ("res:{T_paused}", ("eng_zh", "mgr_s_zh")),
        ("chk:{T_site}", ("eng_zh", "dsp_en")),
        ("done:{T_site}", ("eng_zh",)),
        ("rsv:{T_site}", ("eng_s_en", "sup_en")),
        ("rsvf:{T_site}:0", ("eng_s_en", "sup_en")),
        ("sgn:{T_res}", ("eng_zh", "cust_en")),
        ("sgnc:{T_res}", ("eng_s_en",)),
        ("sgnp:{T_res}", ("eng_zh", "str_en")),
        ("prt:{T_site}", ("eng_zh", "dsp_zh")),
        ("prn:{T_site}", ("eng_zh",)),
        ("dspt:{T_new}", ("sup_s_zh", "eng_en", "mgr_en", "cust_zh")),
        ("dsp:{T_new}:{p_eng_en}", ("sup_s_zh", "mgr_en", "eng_en", "str_zh")),
        ("dsp:{T_new}:{p_eng_s_en}", ("sup_en", "dsp_zh")),  # an engineer of another team
        ("dsp:{T_new}:{p_sup_en}", ("dsp_en",)),  # not an engineer
        ("dsp:{S_new}:{p_eng_s_en}", ("sup_en",)),  # another team's ticket
        ("pra:{PR}", ("sup_s_zh", "mgr_s_zh", "dsp_zh", "eng_en")),
        ("prr:{PR}", ("sup_s_zh", "cust_en")),
        ("cpa:{CP}", ("sup_s_zh", "eng_en", "cust_en", "str_en")),
        ("cpt:{T_site}", ("cust_zh", "eng_en")),
        ("cpn:{T_site}", ("cust_zh",)),
        ("ack:{CHK}", ("sup_s_zh", "mgr_s_zh", "dsp_zh", "eng_en")),
        ("ack:{CHK_S}", ("sup_en", "mgr_en")),
        ("cfm:{T_res}", ("cust_zh", "eng_en")),
        ("rate:{T_signed}:5", ("cust_zh", "sup_en")),
        ("nocmt:{T_rated}", ("cust_zh",)),
        ("cbr:{T_cb}:4", ("cust_zh", "dsp_en")),
        ("cbn:{T_cb}", ("cust_zh",)),
        ("cbd:{T_cbx}", ("sup_s_zh", "mgr_en", "eng_en")),
        ("cbp:{T_cbx}:3", ("sup_s_zh", "cust_en")),
        ("pfa:202610", ("sup_en", "dsp_zh", "eng_en", "cust_en")),  # approving the sheet: managers only
        ("rsr:{T_acc}", ("sup_s_zh", "mgr_en", "eng_en")),
        ("rsw:{T_acc}:{p_eng_zh}", ("dsp_en", "sup_s_zh")),
        ("rsg:{T_disp}", ("sup_s_zh", "mgr_en", "eng_zh")),
        ("rsa:{T_disp}:{p_eng_zh}", ("sup_s_zh", "eng_en")),
        ("rsa:{S_disp}:{p_eng_zh}", ("sup_en",)),
        ("rsa:{S_disp}:{p_eng_s_en}", ("sup_s_zh",)),  # to the engineer it already waits for
        ("srp:{T_closed}", ("sup_s_zh", "str_zh")),  # the service report: another team's, a stranger
        ("tks:1", ("sup_en", "cust_zh")),
        ("brd:1", ("eng_en", "cust_en", "str_zh")),
        ("bdt:{S_site}", ("sup_en", "dsp_zh")),
        ("bdt:{T_site}", ("eng_en", "sup_s_zh")),
        ("pnd:1", ("dsp_zh", "mgr_en")),
        ("cln:{T_site}", ("sup_s_zh", "eng_en", "cust_zh", "str_en")),  # a customer link: other team, not the desk
        ("tkx:{T_site}", ("eng_s_en", "sup_s_zh", "cust_en", "str_zh")),  # SLA details of another team's ticket
        # Cancel / reopen / correct a ticket (desk), and the customer's Not fixed.
        ("tcn:{T_acc}", ("sup_s_zh", "eng_en", "cust_en", "str_zh")),
        ("tro:{T_res}", ("sup_s_zh", "eng_zh", "cust_en")),
        ("tke:{T_site}", ("sup_s_zh", "mgr_en", "eng_en")),
        ("tkf:{T_site}:address", ("sup_s_zh", "mgr_en", "cust_zh")),
        ("tkv:{T_site}:1", ("dsp_en", "eng_en")),  # no correction dialog / not the desk
        ("nfx:{T_res}", ("cust_zh", "eng_en", "sup_en")),
        ("ok", ("cust_zh", "eng_en", "str_en")),
    ]
    for data, pressers in wrong:
        for sender in pressers:
            raw = BY_KEY[sender].role is None
            prefix = data.split(":")[0]
            add(Case("buttons", f"wrong_person/{prefix}/{sender}/{_slug(data)}", sender,
                     Press(data, raw=raw), silent=prefix in SILENT))
    add(Case("buttons", "wrong_person/reg/other_desk_dialog", "dsp_zh", Press("reg:abc123:v:2"),
             dialog=("sup_en", "register", "severity", REGISTER_DATA)))
    add(Case("buttons", "wrong_person/done/other_engineer_dialog", "eng_en", Press("done:{Z_site}"),
             dialog=("eng_zh", "checkin", "collect", {"ticket_id": "{Z_site}", "number": "{n_Z_site}", "photos": [],
                                                      "notes": ["fan replaced"], "late_at": None})))
    add(Case("buttons", "wrong_person/in_a_group", "sup_en", Press("ack:{CHK}", group=True)))

    # 3. Pressed twice: the first press is legitimate, the second must change nothing.
    replays: list[tuple[str, str, tuple[str, ...], tuple[Send, ...], tuple | None]] = [
        ("accept", "eng_en", ("F=ticket:dispatched",), (Press("acc:{F}"),), None),
        ("accept_fallback_text", "eng_zh", ("F=ticket:dispatched:eng_zh",), (Say("/_acc_{F}"),), None),
        ("pause_reason", "eng_en", ("F=ticket:on_site",), (Press("paur:{F}:parts"),), None),
        ("resume", "eng_zh", ("F=ticket:paused:eng_zh",), (Press("res:{F}"),), None),
        ("dispatch", "sup_en", ("F=ticket:new",), (Press("dsp:{F}:{p_eng_en}"),), None),
        ("dispatch_fallback_text", "dsp_zh", ("F=ticket:new",), (Say("/_dsp_{F}_{p_eng_zh}"),), None),
        ("approve_parts", "sup_en", ("PR=parts",), (Press("pra:{PR}"),), None),
        ("acknowledge", "sup_en", ("CHK=checkin",), (Press("ack:{CHK}"),), None),
        ("confirm", "cust_en", ("F=ticket:resolved",), (Press("cfm:{F}"),), None),
        ("rate", "cust_en", ("F=ticket:signed_off",), (Press("rate:{F}:4"),), None),
        ("no_comment", "cust_en", ("F=ticket:signed_off",), (Press("rate:{F}:2"), Press("nocmt:{F}")), None),
        ("callback_rating", "cust_zh", ("F=callback:sent:huaxing",), (Press("cbr:{F}:5"),), None),
        ("phoned_rating", "dsp_zh", ("F=callback:expired",), (Press("cbp:{F}:3"),), None),
        ("checkin_done", "eng_en", ("F=ticket:on_site",), (Press("done:{F}"),),
         (None, "checkin", "collect", {"ticket_id": "{F}", "number": "{n_F}", "photos": [], "notes": ["ok"],
                                       "late_at": None})),
        ("parts_no_note", "eng_zh", ("F=ticket:on_site:eng_zh",), (Press("prn:{F}"),),
         (None, "parts", "note", {"ticket_id": "{F}", "number": "{n_F}", "part": "fan", "quantity": 2})),
        ("complaint_no_photo", "cust_en", ("F=ticket:on_site",), (Press("cpn:{F}"),),
         (None, "complain", "photo", {"ticket_id": "{F}", "photos": [], "text": "late again"})),
        ("register_confirm", "sup_en", (), (Press("reg:abc123:ok"),),
         (None, "register", "confirm", {**REGISTER_DATA, "severity": 2, "service": "onsite", "billable": False})),
        ("register_drop", "dsp_en", (), (Press("reg:abc123:x"),),
         (None, "register", "confirm", {**REGISTER_DATA, "severity": 3, "service": "phone", "billable": True})),
        ("answer_complaint", "sup_en", ("CP=complaint",), (Press("cpa:{CP}"), Say("Sorry, we will call you")),
         None),
        ("reject_parts", "sup_en", ("PR=parts",), (Press("prr:{PR}"), Say("not in stock")), None),
        ("reassign_pick", "dsp_en", ("F=ticket:accepted",), (Press("rsr:{F}"), Say("engineer ill"),
                                                              Press("rsw:{F}:{p_eng_zh}")), None),
    ]
    for name, sender, fresh, prelude, dialog in replays:
        last = [s for s in prelude if isinstance(s, Press) or (isinstance(s, Say) and s.text.startswith("/_"))][-1]
        add(Case("buttons", f"replay/{name}", sender, last, fresh=fresh, prelude=prelude, dialog=dialog))
    # The Reassign of the unaccepted-dispatch alert, pressed where no alert was ever sent (a
    # forged press, or the fallback typed by hand) on a job dispatched a moment ago.
    add(Case("buttons", "forged/rsa_without_an_alert", "dsp_zh", Press("rsa:{F}:{p_eng_zh}"),
             fresh=("F=ticket:dispatched",)))
    add(Case("buttons", "forged/rsa_typed_without_an_alert", "sup_en", Say("/_rsa_{F}_{p_eng_zh}"),
             fresh=("F=ticket:dispatched",)))
    # Pressing a dialog's opening button again restarts the dialog: nothing written.
    for name, sender, fresh, data in (("on_my_way", "eng_en", "F=ticket:accepted", "go:{F}"),
                                      ("decline", "eng_zh", "F=ticket:dispatched:eng_zh", "dec:{F}"),
                                      ("arrived", "eng_en", "F=ticket:en_route", "arr:{F}"),
                                      ("resolve", "eng_zh", "F=ticket:on_site:eng_zh", "rsv:{F}"),
                                      ("paper", "eng_en", "F=ticket:resolved", "sgnp:{F}")):
        add(Case("buttons", f"replay_restarts/{name}", sender, Press(data), fresh=(fresh,), prelude=(Press(data),),
                 dialog_moves=True))

    # 4. Buttons of tickets in a state where they no longer apply.
    stale: list[tuple[str, str]] = [
        ("go:{T_site}", "eng_en"), ("go:{T_closed}", "eng_en"), ("arr:{T_acc}", "eng_en"), ("arr:{T_site}", "eng_en"),
        ("pau:{T_paused}", "eng_en"), ("pau:{T_res}", "eng_en"), ("paur:{T_closed}:parts", "eng_en"),
        ("res:{T_site}", "eng_en"), ("rsv:{T_paused}", "eng_en"), ("rsv:{T_res}", "eng_en"),
        ("sgn:{T_site}", "eng_en"), ("sgn:{T_closed}", "eng_en"), ("sgnc:{T_closed}", "eng_en"),
        ("sgnp:{T_acc}", "eng_en"), ("acc:{T_acc}", "eng_en"), ("acc:{T_cancel}", "eng_en"), ("dec:{T_site}", "eng_en"),
        ("chk:{T_acc}", "eng_en"), ("prt:{T_res}", "eng_en"), ("prt:{T_cancel}", "eng_en"),
        ("dspt:{T_disp}", "sup_en"), ("dsp:{T_acc}:{p_eng_zh}", "dsp_zh"), ("dsp:{T_closed}:{p_eng_zh}", "dsp_en"),
        ("rsr:{T_closed}", "sup_en"), ("rsr:{T_new}", "dsp_zh"), ("rsg:{T_acc}", "dsp_en"),
        ("rsa:{T_site}:{p_eng_zh}", "sup_en"), ("rsw:{T_site}:{p_eng_zh}", "dsp_zh"),
        ("pra:{PR_done}", "sup_en"), ("prr:{PR_done}", "sup_en"), ("pra:{PR_closed}", "sup_en"),
        ("cpa:{CP_done}", "dsp_zh"), ("ack:{CHK_acked}", "sup_en"), ("cfm:{T_acc}", "cust_en"),
        ("cfm:{T_closed}", "cust_en"), ("rate:{T_res}:3", "cust_en"), ("nocmt:{T_res}", "cust_en"),
        ("cbr:{T_closed}:3", "cust_en"), ("cbn:{T_closed}", "cust_en"), ("cbd:{T_closed}", "sup_en"),
        ("cbp:{T_cb}:3", "dsp_zh"), ("cpn:{T_closed}", "cust_en"), ("done:{T_res}", "eng_en"),
        ("srp:{T_site}", "sup_en"),  # no service report before the close
        ("rsvf:{T_site}:0", "eng_en"), ("rsvf:{T_res}:o", "eng_en"),  # no resolve dialog at its fault type step
    ]
    for data, sender in stale:
        add(Case("buttons", f"stale/{data.split(':')[0]}/{_slug(data)}", sender, Press(data)))
    return cases


REGISTER_DATA = {"rid": "abc123", "customer": "Acme Ltd", "customer_id": None, "contact": None,
                 "phone": "+8613800000001", "address": "1 Harbour Rd", "model": "X200", "serial": None,
                 "purchased": None, "fault": "Display flickers", "offered": [], "query": None}


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.replace("{", "").replace("}", "")).strip("_")


def roles(rng: random.Random, commands: dict[str, frozenset[Role] | None]) -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    number_args = {"ticket", "dispatch", "reassign", "checkin", "parts", "complain"}
    for command in sorted(commands):
        allowed = commands[command]
        if allowed is None:
            continue
        for role in Role:
            if role in allowed:
                continue
            for sender in members(role):
                if sender == "eng_s_en":
                    continue  # the other team's engineer has the other_team cases below
                arg = rng.choice(["", " {n_T_site}"]) if command in number_args else ""
                add(Case("roles", f"{command}/{sender}", sender, Say(f"/{command}{arg}")))
        for sender in STRANGERS:
            add(Case("roles", f"{command}/{sender}", sender, Say(f"/{command}")))
    # Another team's (or another person's) tickets, by people whose role may use the command.
    for sender, text in (("sup_en", "/ticket {n_S_site}"), ("dsp_zh", "/ticket {n_S_site}"),
                         ("mgr_s_zh", "/ticket {n_T_site}"), ("eng_zh", "/ticket {n_T_site}"),
                         ("eng_s_en", "/ticket {n_T_acc}"), ("sup_en", "/dispatch {n_S_new}"),
                         ("dsp_zh", "/dispatch {n_T_acc}"), ("dsp_en", "/reassign {n_S_site}"),
                         ("sup_en", "/reassign {n_T_closed}"), ("dsp_zh", "/reassign {n_T_new}"),
                         ("sup_s_zh", "/reassign"), ("eng_en", "/checkin {n_T_acc}"), ("eng_en", "/checkin {n_Z_site}"),
                         ("eng_zh", "/parts {n_T_res}"), ("eng_en", "/parts {n_S_site}"),
                         ("cust_en", "/complain {n_H_res}"), ("cust_zh", "/complain {n_T_site}"),
                         ("cust_zh", "/complain X-0000-0000"), ("eng_s_en", "/checkin {n_T_site}"),
                         ("sup_s_zh", "/customer_link {n_T_site}"), ("dsp_en", "/customer_link {n_T_closed}")):
        add(Case("roles", f"other_team/{_slug(text)}/{sender}", sender, Say(text)))
    # Unknown and disguised commands.
    for n, text in enumerate(("/admin", "/sudo rm -rf /", "/delete_all", "/tickets@SomeOtherBot", "/TICKETS",
                              "/start@fieldbot", "/_", "/__", "/ /", "/help@", "/cancel_all", "/new\u00a0")):
        sender = ["sup_en", "dsp_zh", "eng_en", "cust_zh", "str_en", "str_zh"][n % 6]
        refusal = not (text == "/TICKETS" and BY_KEY[sender].role is Role.ENGINEER)
        add(Case("roles", f"unknown/{_slug(text) or 'slash'}/{sender}", sender, Say(text), refusal=refusal))
    for sender in ("str_en", "str_zh", "str_xx"):
        add(Case("roles", f"start_without_token/{sender}", sender, Say("/start")))
        add(Case("roles", f"lang_before_joining/{sender}", sender, Say("/lang zh")))
    # Staff views in the team's group chat: customer data stays out of groups.
    for sender, text in (("sup_en", "/board"), ("dsp_zh", "/ticket {n_T_site}"), ("eng_en", "/tickets"),
                         ("sup_en", "/customer_link {n_T_site}"),
                         ("eng_zh", "/checkin"), ("cust_en", "/status"), ("str_zh", "/start abc")):
        add(Case("roles", f"in_a_group/{_slug(text)}/{sender}", sender, Say(text, chat="group")))
    add(Case("roles", "in_a_group/chatter", "sup_en", Say("morning all", chat="group"), silent=True))
    # A supervisor replying to a check-in that is not theirs to answer (the other team's).
    add(Case("roles", "reply_to_a_welcome_message", "sup_en", Say("thanks", reply_to="welcome")))
    return cases


def tokens(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    garbage = {"short": "abc", "punctuation": "!!!", "too_long": "x" * 65, "valid_alphabet_unknown": "A" * 64,
               "chinese": "令牌令牌", "nul": "\x00abc", "sql": "'; DROP TABLE invites;--", "format": "{token}",
               "printf": "%s%s", "html": "<b>x</b>", "with_space": "tok en", "key_value": "start=abc",
               "path": "../../etc/passwd", "emoji": "🎟️", "very_long": "Z" * 5000, "base64_padding": "YWJj==",
               "random": "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789_-")
                                 for _ in range(22))}
    for n, (name, token) in enumerate(sorted(garbage.items())):
        for sender in (STRANGERS[n % 2], ["eng_en", "cust_zh", "dsp_zh", "sup_en"][n % 4]):
            text = "/start " + token.replace("{", "{{").replace("}", "}}")
            add(Case("tokens", f"garbage/{name}/{sender}", sender, Say(text)))
    for sender in ("str_en", "str_zh", "str_xx"):
        add(Case("tokens", f"expired/{sender}", sender, Say("/start {tok}"), fresh=("tok=invite:engineer:expired",)))
        add(Case("tokens", f"used/{sender}", sender, Say("/start {tok}"), fresh=("tok=invite:dispatcher:used",)))
        add(Case("tokens", f"truncated_by_one/{sender}", sender, Say("/start {tok_cut1}"),
                 fresh=("tok=invite:engineer",)))
        add(Case("tokens", f"truncated_half/{sender}", sender, Say("/start {tok_half}"),
                 fresh=("tok=invite:supervisor",)))
        add(Case("tokens", f"one_char_more/{sender}", sender, Say("/start {tok}x"), fresh=("tok=invite:manager",)))
        add(Case("tokens", f"customer_link_expired/{sender}", sender, Say("/start {tok}"),
                 fresh=("tok=custlink:acme:expired",)))
    for sender in ("eng_en", "cust_zh", "sup_s_zh"):
        add(Case("tokens", f"own_link_again/{sender}", sender, Say("/start {tok_" + sender + "}")))
    for sender, role in (("eng_en", "supervisor"), ("sup_en", "engineer"), ("dsp_zh", "manager"),
                         ("mgr_s_zh", "dispatcher"), ("cust_en", "dispatcher"), ("cust_zh", "engineer")):
        add(Case("tokens", f"another_roles_invite/{sender}_opens_{role}", sender, Say("/start {tok}"),
                 fresh=(f"tok=invite:{role}",)))
    for sender in ("eng_en", "eng_zh", "sup_en", "dsp_zh", "mgr_en", "sup_s_zh"):
        add(Case("tokens", f"customer_link_opened_by_staff/{sender}", sender, Say("/start {tok}"),
                 fresh=("tok=custlink:acme",)))
    add(Case("tokens", "customer_link_of_another_record/cust_en", "cust_en", Say("/start {tok}"),
             fresh=("tok=custlink:huaxing",)))
    add(Case("tokens", "customer_link_of_another_record/cust_zh", "cust_zh", Say("/start {tok}"),
             fresh=("tok=custlink:acme",)))
    for sender in ("str_en", "eng_en"):
        add(Case("tokens", f"in_a_group/{sender}", sender, Say("/start {tok}", chat="group"),
                 fresh=("tok=invite:engineer",)))
    add(Case("tokens", "token_twice_in_one_message", "str_zh", Say("/start {tok} {tok}"),
             fresh=("tok=invite:engineer",)))
    add(Case("tokens", "token_as_plain_text", "str_en", Say("{tok}"), fresh=("tok=invite:engineer",)))
    add(Case("tokens", "token_in_a_fallback_command", "str_zh", Say("/_start_{tok}"), fresh=("tok=invite:engineer",)))
    return cases


# -- dialogs ----------------------------------------------------------------------------------------
#: (name, owner, flow, step, data, expects) — ``expects``: "text", "photo", "location", "text_or_photo".
DIALOGS: list[tuple[str, str, str, str, dict, str]] = [
    ("eta", "eng_en", "depart", "eta", {"ticket_id": "{T_acc}", "number": "{n_T_acc}"}, "text"),
    ("arrive_photo", "eng_zh", "arrive", "photo", {"ticket_id": "{Z_route}", "number": "{n_Z_route}"}, "photo"),
    ("arrive_location", "eng_en", "arrive", "location",
     {"ticket_id": "{T_route}", "number": "{n_T_route}", "photos": [], "late_at": None}, "location"),
    ("checkin", "eng_zh", "checkin", "collect",
     {"ticket_id": "{Z_site}", "number": "{n_Z_site}", "photos": [], "notes": [], "late_at": None}, "text_or_photo"),
    ("findings", "eng_en", "resolve", "findings", {"ticket_id": "{T_site}", "number": "{n_T_site}"}, "text"),
    ("actions", "eng_zh", "resolve", "actions",
     {"ticket_id": "{Z_site}", "number": "{n_Z_site}", "findings": "fan dead"}, "text"),
    ("parts_replaced", "eng_en", "resolve", "parts",
     {"ticket_id": "{T_site}", "number": "{n_T_site}", "findings": "x", "actions_taken": "y"}, "text"),
    ("paper_photo", "eng_en", "paper", "photo", {"ticket_id": "{T_res}", "number": "{n_T_res}"}, "photo"),
    ("paper_name", "eng_zh", "paper", "name", {"ticket_id": "{Z_res}", "number": "{n_Z_res}", "photos": []}, "text"),
    ("part", "eng_en", "parts", "part", {"ticket_id": "{T_site}", "number": "{n_T_site}"}, "text"),
    ("quantity", "eng_zh", "parts", "quantity", {"ticket_id": "{Z_site}", "number": "{n_Z_site}", "part": "fan"},
     "text"),
    ("note", "eng_en", "parts", "note",
     {"ticket_id": "{T_site}", "number": "{n_T_site}", "part": "fan", "quantity": 1}, "text"),
    ("decline_reason", "eng_en", "decline", "reason", {"ticket_id": "{T_disp}", "card": None}, "text"),
    ("reject_reason", "sup_en", "parts_reject", "reason", {"request_id": "{PR}", "message_id": None}, "text"),
    ("complaint_text", "cust_en", "complain", "text", {"ticket_id": "{T_site}", "photos": []}, "text_or_photo"),
    ("complaint_photo", "cust_zh", "complain", "photo", {"ticket_id": "{H_res}", "photos": [], "text": "太慢"},
     "photo"),
    ("complaint_answer", "sup_en", "complaint_answer", "text", {"complaint_id": "{CP}", "message_id": None}, "text"),
    ("signoff_comment", "cust_en", "comment", "text", {"ticket_id": "{T_rated}"}, "text"),
    ("callback_comment", "cust_zh", "callback", "comment", {"ticket_id": "{H_cbf}"}, "text"),
    ("reassign_reason", "dsp_en", "reassign", "reason",
     {"ticket_id": "{T_acc}", "since": "{since_T_acc}", "assignee": "{p_eng_en}"}, "text"),
    ("reassign_pick", "sup_en", "reassign", "pick",
     {"ticket_id": "{T_acc}", "since": "{since_T_acc}", "assignee": "{p_eng_en}", "reason": "ill"}, "button"),
    ("register_phone", "dsp_zh", "register", "phone", {**REGISTER_DATA, "customer": "新客户"}, "text"),
    ("register_purchased", "sup_en", "register", "purchased", REGISTER_DATA, "text"),
    ("register_severity", "dsp_en", "register", "severity", REGISTER_DATA, "text"),
    ("register_confirm", "dsp_zh", "register", "confirm",
     {**REGISTER_DATA, "severity": 2, "service": "onsite", "billable": False}, "button"),
    ("cancel_reason", "sup_en", "amend", "cancel", {"ticket_id": "{T_acc}", "number": "{n_T_acc}"}, "text"),
    ("edit_phone", "dsp_zh", "edit", "value", {"ticket_id": "{T_acc}", "number": "{n_T_acc}", "field": "phone"},
     "text"),
    ("dispute_text", "cust_en", "dispute", "text", {"ticket_id": "{T_res}", "number": "{n_T_res}", "report": None},
     "text"),
]
#: Typed answers each step refuses, by step (beyond the wrong kinds of message every step gets).
BAD_ANSWERS: dict[str, list[tuple[str, str]]] = {
    "eta": [("words", "soon"), ("zero", "0"), ("too_far", "25h"), ("bad_clock", "24:10"), ("huge", "9" * 40)],
    "quantity": [("zero", "0"), ("too_many", "1000"), ("negative", "-1"), ("fraction", "1.5"), ("superscript", "²"),
                 ("word", "ten"), ("fullwidth_too_many", "１０００")],
    "register_phone": [("letters", "call me maybe"), ("too_long", "1" * 41)],
    "register_purchased": [("future", "2099-01-01"), ("words", "yesterday"), ("impossible", "2025-02-30")],
    "register_severity": [("seven", "7"), ("zero", "0"), ("word", "very bad")],
    "register_confirm": [("typed_ok", "ok")],
    "edit_phone": [("letters", "call me maybe"), ("too_long", "1" * 41)],
}
#: Odd-looking answers that are right: digits typed with a Chinese IME (fullwidth) or in another
#: script are digits (the dialog moves on, nothing is written yet).
GOOD_ODD_ANSWERS: dict[str, list[tuple[str, str]]] = {
    "quantity": [("fullwidth", "３"), ("arabic_digit", "٣")],
}
LIMITED = {"eta": 41, "findings": 2001, "actions": 2001, "parts_replaced": 2001, "paper_name": 121, "part": 201,
           "note": 1001, "decline_reason": 501, "reject_reason": 501, "complaint_text": 2001,
           "complaint_answer": 2001, "signoff_comment": 2001, "callback_comment": 2001, "reassign_reason": 501,
           "checkin": 3001, "cancel_reason": 501, "dispute_text": 501}
#: Steps where a text answer is a legitimate step (so odd *text* moves the dialog on).
FREE_TEXT = {"findings", "actions", "part", "note", "paper_name", "decline_reason", "reject_reason",
             "complaint_text", "complaint_answer", "signoff_comment", "callback_comment", "reassign_reason",
             "checkin", "parts_replaced", "cancel_reason", "dispute_text"}


def dialogs(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    kinds = sorted(ODD_KINDS)
    rng.shuffle(kinds)
    for turn, (name, owner, flow, step, data, expects) in enumerate(DIALOGS):
        dialog = (None, flow, step, data)
        wrong: list[tuple[str, Send]] = []
        if expects != "location":
            wrong.append(("location", Place(31.23, 121.47)))
        if expects in ("text", "button", "location"):
            wrong.append(("photo", Photo()))
        if expects == "photo":
            wrong.append(("text", Say("here you go")))
            wrong.append(("document_image", Document("photo.png", "image/png", 3000)))
        wrong.append((kinds[len(cases) % len(kinds)], odd(kinds[len(cases) % len(kinds)])))
        if expects != "photo":
            wrong.append(("document", Document()))
        for label, send in wrong:
            album = expects == "location" and label == "photo"  # a second photo of an album: kept
            add(Case("dialogs", f"{name}/{label}", owner, send, dialog=dialog, dialog_moves=album))
        for label, text in BAD_ANSWERS.get(name, []):
            add(Case("dialogs", f"{name}/answer_{label}", owner, Say(text), dialog=dialog))
        for label, text in GOOD_ODD_ANSWERS.get(name, []):
            add(Case("dialogs", f"{name}/answer_{label}", owner, Say(text), dialog=dialog, dialog_moves=True))
        if name in LIMITED:
            add(Case("dialogs", f"{name}/answer_too_long", owner, Say("x" * LIMITED[name]), dialog=dialog))
        if expects != "photo" and expects != "location":
            add(Case("dialogs", f"{name}/blank_answer", owner, Inject(msg_update(text="   ")), dialog=dialog))
        # Commands mid-dialog: a role's wrong command and an unknown one are refused (the dialog
        # waits); /help keeps it; /cancel ends it (look-ups and other dialogs' commands: below).
        wrong_command = "/new" if BY_KEY[owner].role in (Role.ENGINEER, Role.CUSTOMER) else "/tickets"
        add(Case("dialogs", f"{name}/wrong_role_command", owner, Say(wrong_command), dialog=dialog))
        if turn % 3 == 0:
            add(Case("dialogs", f"{name}/unknown_command", owner, Say("/frobnicate"), dialog=dialog))
        if turn % 3 == 1:
            add(Case("dialogs", f"{name}/help", owner, Say("/help"), dialog=dialog, refusal=False, long_ok=True))
        add(Case("dialogs", f"{name}/cancel", owner, Say("/cancel"), dialog=dialog, dialog_moves=True))
        # Someone else answering: their own chat, their own (empty) dialog.
        other = rng.choice([m.key for m in CAST if m.key != owner and m.role is not None])
        add(Case("dialogs", f"{name}/answered_by_{other}", other, Say("30m"), dialog=(owner, flow, step, data)))
        if turn % 3 == 2:
            add(Case("dialogs", f"{name}/answered_in_a_group", owner, Say("30m", chat="group"), dialog=dialog,
                     silent=True))
    # A second opening of the same dialog, and a button of the step before.
    add(Case("dialogs", "new_twice", "dsp_zh", Say("/new"), prelude=(Say("/new"),), dialog_moves=True))
    add(Case("dialogs", "checkin_twice", "eng_zh", Say("/checkin {n_Z_site}"), prelude=(Say("/checkin {n_Z_site}"),),
             dialog_moves=True))
    add(Case("dialogs", "complain_twice", "cust_zh", Say("/complain {n_H_res}"),
             prelude=(Say("/complain {n_H_res}"),), dialog_moves=True))
    # A look-up mid-dialog is answered and the dialog kept (its question asked again); a command
    # that would begin another dialog only asks whether to leave this one (handlers/midway.py);
    # a Leave or Continue of a question never asked is out of date.
    add(Case("dialogs", "look_up_mid_dialog", "eng_en", Say("/kb zzqx flux capacitor"),
             dialog=(None, "depart", "eta", {"ticket_id": "{T_acc}", "number": "{n_T_acc}"}), refusal=False))
    add(Case("dialogs", "another_dialog_mid_dialog", "dsp_en", Say("/reassign {n_T_acc}"),
             dialog=(None, "register", "severity", REGISTER_DATA), dialog_moves=True))
    add(Case("dialogs", "leave_of_no_question", "eng_en", Press("dlg:go:0badc0de"),
             dialog=(None, "depart", "eta", {"ticket_id": "{T_acc}", "number": "{n_T_acc}"})))
    add(Case("dialogs", "continue_without_a_dialog", "sup_s_zh", Press("dlg:stay:0badc0de")))
    add(Case("dialogs", "severity_button_at_confirm", "dsp_zh", Press("reg:abc123:v:2"),
             dialog=(None, "register", "confirm", {**REGISTER_DATA, "severity": 2, "service": "onsite",
                                                   "billable": False})))
    add(Case("dialogs", "done_of_another_ticket", "eng_zh", Press("done:{T_site}"),
             dialog=(None, "checkin", "collect", {"ticket_id": "{Z_site}", "number": "{n_Z_site}", "photos": [],
                                                  "notes": ["x"], "late_at": None})))
    add(Case("dialogs", "done_with_nothing_collected", "eng_zh", Press("done:{Z_site}"),
             dialog=(None, "checkin", "collect", {"ticket_id": "{Z_site}", "number": "{n_Z_site}", "photos": [],
                                                  "notes": [], "late_at": None})))
    add(Case("dialogs", "no_note_at_quantity_step", "eng_zh", Press("prn:{Z_site}"),
             dialog=(None, "parts", "quantity", {"ticket_id": "{Z_site}", "number": "{n_Z_site}", "part": "fan"})))
    add(Case("dialogs", "eta/answer_fullwidth_clock", "eng_zh", Say("１４：３０"), fresh=("F=ticket:accepted:eng_zh",),
             dialog=(None, "depart", "eta", {"ticket_id": "{F}", "number": "{n_F}"}), refusal=False))
    add(Case("dialogs", "dialog_of_a_ticket_taken_away", "eng_zh", Say("30m"),
             dialog=(None, "depart", "eta", {"ticket_id": "{T_acc}", "number": "{n_T_acc}"}), dialog_moves=True))
    add(Case("dialogs", "dialog_with_a_vanished_ticket", "eng_en", Say("fan replaced"),
             dialog=(None, "resolve", "findings", {"ticket_id": 999999, "number": "X"}), dialog_moves=True))
    add(Case("dialogs", "dialog_with_garbage_data", "eng_en", Say("1"),
             dialog=(None, "parts", "quantity", {"ticket_id": "not-a-number", "part": None}), dialog_moves=True))
    add(Case("dialogs", "dialog_of_an_unknown_flow", "sup_en", Say("hello"),
             dialog=(None, "teleport", "destination", {"x": 1}), dialog_moves=True))
    add(Case("dialogs", "reply_to_checkin_with_a_photo", "sup_en", Photo(reply_to="ack:{CHK}")))
    add(Case("dialogs", "reply_to_checkin_too_long", "sup_en", Say("y" * 4001, reply_to="ack:{CHK}")))
    add(Case("dialogs", "reply_to_checkin_with_a_location", "sup_en", Place(1.0, 2.0)))
    # Answers with a lone surrogate (a broken UTF-16 pair some clients send): legitimate steps
    # that store the text, and refusals that echo it.
    surrogate = "new fan \ud800 please"
    for name, sender, fresh, dialog, send in (
            ("parts_note", "eng_en", "F=ticket:on_site",
             (None, "parts", "note", {"ticket_id": "{F}", "number": "{n_F}", "part": "fan", "quantity": 1}),
             Say(surrogate)),
            ("decline_reason", "eng_zh", "F=ticket:dispatched:eng_zh",
             (None, "decline", "reason", {"ticket_id": "{F}", "card": None}), Say(surrogate)),
            ("signer_name", "eng_en", "F=ticket:resolved",
             (None, "paper", "name", {"ticket_id": "{F}", "number": "{n_F}", "photos": []}), Say("Zhang \udfff")),
            ("complaint_with_photo", "cust_en", "F=ticket:on_site",
             (None, "complain", "text", {"ticket_id": "{F}", "photos": []}), Photo(caption=surrogate)),
            ("eta", "eng_en", "F=ticket:accepted",
             (None, "depart", "eta", {"ticket_id": "{F}", "number": "{n_F}"}), Say("30m\ud800"))):
        refusal = name == "eta"
        add(Case("dialogs", f"lone_surrogate/{name}", sender, send, fresh=(fresh,), dialog=dialog, refusal=refusal,
                 dialog_moves=not refusal))
    return cases


def media(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    huge = "caption " * 700  # 5600 characters (Telegram allows 1024: a forged or future client)
    arrive_photo = (None, "arrive", "photo", {"ticket_id": "{Z_route}", "number": "{n_Z_route}"})
    arrive_location = (None, "arrive", "location", {"ticket_id": "{T_route}", "number": "{n_T_route}", "photos": [],
                                                    "late_at": None})
    checkin = (None, "checkin", "collect", {"ticket_id": "{Z_site}", "number": "{n_Z_site}", "photos": [], "notes": [],
                                            "late_at": None})
    paper = (None, "paper", "photo", {"ticket_id": "{T_res}", "number": "{n_T_res}"})
    complain = (None, "complain", "text", {"ticket_id": "{T_site}", "photos": []})
    complain_photo = (None, "complain", "photo", {"ticket_id": "{H_res}", "photos": [], "text": "太慢"})
    documents = {"pdf": Document(), "png_as_file": Document("site.png", "image/png", 4096),
                 "empty_file": Document("x.jpg", "image/jpeg", 0),
                 "exe": Document("setup.exe", "application/x-msdownload"),
                 "no_extension": Document("noext", "application/octet-stream"),
                 "unicode_name": Document("现场照片.jpg", "image/jpeg"), "huge_caption": Document(caption=huge)}
    for where, owner, dialog in (("arrive_photo", "eng_zh", arrive_photo), ("paper_photo", "eng_en", paper),
                                 ("complaint_photo", "cust_zh", complain_photo)):
        for label in rng.sample(sorted(documents), 4):
            add(Case("media", f"document_instead_of_photo/{where}/{label}", owner, documents[label], dialog=dialog))
    for label, document in sorted(documents.items()):
        sender = rng.choice(["sup_en", "dsp_zh", "cust_en", "str_zh", "mgr_s_zh"])
        add(Case("media", f"document_out_of_the_blue/{label}/{sender}", sender, document))
    # Photos with a caption far over Telegram's 1024 characters.
    add(Case("media", "huge_caption/checkin_note", "eng_zh", Photo(huge), dialog=checkin))
    add(Case("media", "huge_caption/complaint", "cust_en", Photo(huge), dialog=complain))
    add(Case("media", "huge_caption/eta_step", "eng_en", Photo(huge),
             dialog=(None, "depart", "eta", {"ticket_id": "{T_acc}", "number": "{n_T_acc}"})))
    add(Case("media", "huge_caption/no_dialog_supervisor", "sup_en", Photo(huge)))
    add(Case("media", "huge_caption/stranger", "str_en", Photo(huge)))
    add(Case("media", "huge_caption/arrival_photo", "eng_zh", Photo(huge), dialog=arrive_photo, refusal=False,
             dialog_moves=True))
    add(Case("media", "caption_format_payload/reply_to_checkin", "sup_en",
             Photo("{{number}} %s {{0}}", reply_to="ack:{CHK}"), fresh=("CHK=checkin",), refusal=False))
    # A photo the chat app will not hand over: asked again, the dialog waits.
    add(Case("media", "unfetchable_photo/arrival", "eng_zh", Photo(unfetchable=True), dialog=arrive_photo))
    add(Case("media", "unfetchable_photo/checkin", "eng_zh", Photo(unfetchable=True), dialog=checkin))
    add(Case("media", "unfetchable_photo/stranger", "str_zh", Photo(unfetchable=True)))
    # An eleventh photo to a check-in that holds ten.
    ten = [{"file_ref": f"AgAC{i}", "path": None, "sha256": None, "size": 10, "mime": "image/png"} for i in range(10)]
    add(Case("media", "eleventh_photo", "eng_zh", Photo(),
             dialog=(None, "checkin", "collect", {"ticket_id": "{Z_site}", "number": "{n_Z_site}", "photos": ten,
                                                  "notes": [], "late_at": None})))
    # Locations at the edge of the map are real places (an arrival is recorded); beyond it, refused.
    for label, (lat, lon) in (("north_pole_dateline", (90.0, 180.0)), ("south_pole_antimeridian", (-90.0, -180.0)),
                              ("edge_mixed", (90.0, -180.0))):
        add(Case("media", f"location_at_the_edge/{label}", "eng_en", Place(lat, lon), refusal=False,
                 fresh=("F=ticket:en_route",), dialog=(None, "arrive", "location",
                                                       {"ticket_id": "{F}", "number": "{n_F}", "photos": [],
                                                        "late_at": None}),
                 dialog_moves=True))
    # Evidence (issue 15): (0, 0) is what a phone without a GPS fix sends, a forwarded location is
    # nobody's evidence of being here now; photos sent as files that are not usable images are
    # refused, one whose EXIF is hostile is a good photo (its EXIF ignored).
    add(Case("media", "location_null_island/arrival", "eng_en", Place(0.0, 0.0), dialog=arrive_location))
    add(Case("media", "location_null_island/no_dialog", "sup_s_zh", Place(0.0, 0.0)))
    add(Case("media", "location_forwarded/arrival", "eng_en", Place(31.2, 121.5, forwarded=True),
             dialog=arrive_location))
    add(Case("media", "location_forwarded_live/arrival", "eng_en", Place(31.2, 121.5, live=True, forwarded=True),
             dialog=arrive_location))
    add(Case("media", "location_live/arrival", "eng_en", Place(31.2, 121.5, live=True), refusal=False,
             fresh=("F=ticket:en_route",), dialog=(None, "arrive", "location",
                                                   {"ticket_id": "{F}", "number": "{n_F}", "photos": [],
                                                    "late_at": None}), dialog_moves=True))
    for name, where, owner, dialog in (("bomb", "arrive_photo", "eng_zh", arrive_photo),
                                       ("bomb", "checkin", "eng_zh", checkin),
                                       ("truncated", "arrive_photo", "eng_zh", arrive_photo),
                                       ("truncated", "complaint_photo", "cust_zh", complain_photo),
                                       ("bomb", "paper_photo", "eng_en", paper)):
        add(Case("media", f"unusable_image_as_file/{name}/{where}", owner,
                 Document(f"{name}.png", "image/png", data=name), dialog=dialog))
    add(Case("media", "unusable_image_as_file/bomb/no_dialog", "sup_en", Document("bomb.png", "image/png", data="bomb")))
    for name in ("hostile_exif", "malformed_exif"):
        add(Case("media", f"hostile_metadata_as_file/{name}/arrival_photo", "eng_zh",
                 Document(f"{name}.jpg", "image/jpeg", data=name), dialog=arrive_photo, refusal=False,
                 dialog_moves=True))
    beyond = {"lat_just_over": (90.000001, 0.0), "lat_just_under": (-90.000001, 10.0),
              "lon_just_over": (0.0, 180.000001),
              "lon_just_under": (45.0, -180.000001), "both_far": (1000.0, -1000.0), "huge": (1e308, 1e308),
              "negative_huge": (-1e308, 0.0), "integer_huge": (10 ** 30, 1), "tiny_but_fine": (5e-324, -5e-324)}
    for n, (label, (lat, lon)) in enumerate(beyond.items()):
        ok = label == "tiny_but_fine"
        add(Case("media", f"location_beyond/{label}/arrival", "eng_en", Place(lat, lon),
                 fresh=("F=ticket:en_route",) if ok else (),
                 dialog=arrive_location if not ok else (None, "arrive", "location",
                                                        {"ticket_id": "{F}", "number": "{n_F}", "photos": [],
                                                         "late_at": None}),
                 refusal=not ok, dialog_moves=ok))
        sender = ["str_en", "sup_s_zh", "cust_zh", "eng_zh"][n % 4]
        if not ok:
            add(Case("media", f"location_beyond/{label}/{sender}", sender, Place(lat, lon)))
    add(Case("media", "live_location_at_the_edge/no_dialog", "eng_zh", Inject(msg_update(
        text=None, location={"latitude": -90.0, "longitude": 180.0, "live_period": 900, "heading": 360}))))
    add(Case("media", "venue_instead_of_photo", "eng_zh", Inject(msg_update(
        text=None, location=VENUE_AT, venue={"location": VENUE_AT, "title": "<b>Site</b>", "address": "{0}"})),
        dialog=arrive_photo))
    add(Case("media", "location_with_bad_accuracy", "eng_en", Inject(msg_update(
        text=None, location={"latitude": 95.0, "longitude": 0.0, "horizontal_accuracy": -5})), dialog=arrive_location))
    add(Case("media", "photo_sizes_odd", "sup_en", Inject(msg_update(text=None, photo=[
        {"file_id": "AgACodd", "file_unique_id": "odd", "width": 0, "height": 0, "file_size": 0}]))))
    add(Case("media", "photo_unknown_file_in_dialog", "eng_zh", Inject(msg_update(text=None, photo=[
        {"file_id": "AgACnope", "file_unique_id": "nope", "width": 90, "height": 90, "file_size": 10 ** 12}])),
        dialog=arrive_photo))
    return cases


# -- the whole corpus -----------------------------------------------------------------------------
def generate(seed: int = SEED, *, prefixes: dict[str, frozenset[Role] | None],
             commands: dict[str, frozenset[Role] | None]) -> list[Case]:
    """The corpus, deterministic for a seed: each family draws from its own generator (adding a
    case to one family does not reshuffle the others)."""
    out: list[Case] = []
    for n, family in enumerate(FAMILIES):
        rng = random.Random(seed * 31 + n)
        if family == "buttons":
            out += buttons(rng, prefixes)
        elif family == "roles":
            out += roles(rng, commands)
        else:
            out += {"malformed": malformed, "tokens": tokens, "dialogs": dialogs, "media": media}[family](rng)
    ids = [c.id for c in out]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate case ids: {sorted(duplicates)}")
    return out


def with_defects(cases: list[Case], defects: dict[str, str]) -> list[Case]:
    """Mark the cases named in ``defects`` (case id → the name of the defect they show)."""
    unknown = set(defects) - {c.id for c in cases}
    if unknown:
        raise ValueError(f"defects name cases that do not exist: {sorted(unknown)}")
    return [replace(c, defect=defects[c.id]) if c.id in defects else c for c in cases]


