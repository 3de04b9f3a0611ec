"""``fieldbot demo``: a whole field-service day, played by four people against the real bot.

Nothing to configure: it starts the local Bot API emulator, runs the real bot (polling, its real
HTTP client: aiogram, or python-telegram-bot with ``--runtime ptb``) on a temporary SQLite
database, and plays registration in chat (``/new``, the customer joining by the link it makes) →
dispatch → accept → on my way → arrival with photo + location → progress check-in →
acknowledgement → resolve → customer sign-off with rating.  Then it prints what each person saw in their chat, and the ticket's timeline.

The day runs on its own clock (:class:`~bot.app.OffsetClock`, which the emulator follows): it
starts at 09:00 of the next working day in the team's zone, whatever the hour the demo is run at,
and each step moves it on to a plausible hour (the engineer sets off at 09:25, arrives at 10:05,
resolves after lunch) — under the product's real working hours, so nothing waits for the morning.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

from bot.app import Clock, OffsetClock
from bot.stage import Stage, button_labels
from handlers.i18n import t
from handlers.times import zone_long, zone_note
from handlers.timeline import timeline_lines
from models.calendar import BusinessCalendar
from models.enums import Role, TicketStatus
from models.queries import people_names, ticket_by_number, timeline

PEOPLE = {
    "en": {1001: ("Wang Wei", Role.SUPERVISOR), 1002: ("Zhang Min", Role.DISPATCHER),
           1003: ("Li Lei", Role.ENGINEER), 2001: ("Mr Chen", Role.CUSTOMER)},
    "zh-CN": {1001: ("王伟", Role.SUPERVISOR), 1002: ("张敏", Role.DISPATCHER),
              1003: ("李雷", Role.ENGINEER), 2001: ("陈先生", Role.CUSTOMER)},
}
SUP, DISP, ENG, CUST = 1001, 1002, 1003, 2001
#: The product's own working hours (the default 08:30–22:00 on weekdays), not a stage's round the clock.
WORKING_HOURS = "[bot.working_hours]\n"
#: When the day begins (team zone), on the first working day whose 09:00 is still ahead.
MORNING = time(9, 0)


def first_morning(calendar: BusinessCalendar, now: datetime) -> datetime:
    """09:00 (or the opening, if later) of the first working day on which it is still to come."""
    day = now.astimezone(calendar.tz).date()
    for _ in range(60):
        period = calendar.period(day)
        if period is not None:
            start = max(period[0], datetime.combine(day, MORNING, calendar.tz))
            if start > now and start < period[1]:
                return start
        day += timedelta(days=1)
    raise ValueError("no working morning within 60 days")


class Demo:
    def __init__(self, stage: Stage, lang: str):
        self.s = stage
        self.lang = lang
        self.people = PEOPLE[lang]
        self.log: dict[int, list[str]] = {uid: [] for uid in self.people}
        self.shown: dict[int, int] = {uid: 0 for uid in self.people}
        self.day: date | None = None

    def begin(self) -> datetime:
        """Move the stage's clock (an :class:`OffsetClock`) to the day's first morning."""
        start = first_morning(self.s.app.calendar, self.s.clock.now())
        self.s.clock.advance_to(start)
        self.day = start.astimezone(self.s.app.tz).date()
        return start

    def at(self, hour: int, minute: int) -> None:
        """Move the day on to ``hour:minute`` in the team's zone (unless that is past)."""
        self.s.clock.advance_to(datetime.combine(self.day, time(hour, minute), self.s.app.tz))

    def name(self, uid: int) -> str:
        return self.people[uid][0]

    async def step(self, uid: int, what: str) -> None:
        """After an action: wait for the bot, then file everyone's new messages."""
        self.log[uid].append(f"  {self.name(uid)} ▸ {what}")
        await self.s.settle(timeout=20)
        for chat in self.people:
            messages = self.s.emu.bot_messages(chat)
            for message in messages[self.shown[chat]:]:
                self.log[chat].append(_render(message, self.lang))
            self.shown[chat] = len(messages)

    async def say(self, uid: int, text: str) -> None:
        self.s.say(uid, text, first_name=self.name(uid), language_code=self.lang)
        await self.step(uid, text)

    async def press(self, uid: int, key: str, **params: str) -> None:
        await self.press_label(uid, t(self.lang, key, **params))

    async def press_label(self, uid: int, label: str) -> None:
        """Press the newest button whose label is ``label`` or starts with it ("Li Lei · 0 open")."""
        for message in reversed(self.s.emu.bot_messages(uid)):
            match = next((b for b in button_labels(message) if b == label or b.startswith(label + " ")), None)
            if match:
                self.s.press(uid, message, match)
                await self.step(uid, f"[{match}]")
                return
        raise LookupError(f"no {label!r} button in {self.name(uid)}'s chat")

    async def photo(self, uid: int, seed: int) -> None:
        self.s.photo(uid, seed)
        await self.step(uid, t(self.lang, "demo.photo"))

    async def location(self, uid: int, lat: float, lon: float) -> None:
        label = (self.s.emu.reply_keyboard(uid) or {}).get("keyboard", [[{}]])[0][0].get("text")
        self.s.injected += 1
        self.s.emu.press_reply_button(uid, label, latitude=lat, longitude=lon)
        await self.step(uid, t(self.lang, "demo.location", lat=f"{lat:.4f}", lon=f"{lon:.4f}"))

    async def join(self, uid: int, token: str) -> None:
        await self.say(uid, f"/start {token}")

    def registered(self) -> tuple[str, str]:
        """(the ticket number, the customer's link) from the dispatcher's /new confirmation."""
        done = next(m for m in reversed(self.s.emu.bot_messages(DISP)) if "?start=" in m.get("text", ""))
        number = next(word for word in done["text"].split() if word.startswith("FS-"))
        return number.rstrip(".。，,"), done["text"].splitlines()[-1]

    async def open_link(self, uid: int, link: str) -> None:
        """The customer opens the link (a Telegram deep link: ``/start TOKEN``)."""
        await self.say(uid, f"/start {link.rsplit('?start=', 1)[1]}")


def _render(message: dict, lang: str) -> str:
    text = message.get("text") or message.get("caption") or (t(lang, "demo.photo") if message.get("photo") else "")
    lines = text.splitlines() or [""]
    out = [f"  Fieldbot ◂ {lines[0]}"] + [f"             {line}" for line in lines[1:]]
    labels = button_labels(message)
    if labels:
        out.append("             " + " ".join(f"[{label}]" for label in labels))
    return "\n".join(out)


async def _setup(stage: Stage, demo: Demo) -> str:
    """The team joins by invite; the dispatcher registers the customer's call with ``/new`` and
    passes the customer the link the bot makes (the customer opens it)."""
    zh = demo.lang == "zh-CN"
    for uid, (name, role) in demo.people.items():
        if role is not Role.CUSTOMER:
            token = await stage.invite(role, name, "华东一组" if zh else "North")
            await demo.join(uid, token)
    demo.at(9, 2)  # the customer's call comes in
    await demo.say(DISP, "/new")
    await demo.say(DISP, "陈氏精密有限公司" if zh else "Chen Precision Ltd")
    await demo.say(DISP, "陈女士" if zh else "Ms Chen")  # the contact person
    await demo.say(DISP, "+86 138 0013 8000")
    await demo.say(DISP, "上海市世纪大道 88 号" if zh else "88 Century Avenue, Shanghai")
    await demo.say(DISP, "X200")
    await demo.say(DISP, "SN-2026-0042")
    await demo.say(DISP, (stage.app.today() - timedelta(days=200)).isoformat())
    await demo.say(DISP, "主轴运行 10 分钟后停止" if zh else "Spindle stops after 10 minutes")
    await demo.press_label(DISP, "2")  # severity 2 – risk of going down
    await demo.press(DISP, "service.onsite")
    await demo.press(DISP, "reg.btn.free")
    await demo.press(DISP, "reg.btn.confirm")
    number, link = demo.registered()
    demo.at(9, 12)
    await demo.open_link(CUST, link)
    return number


async def _play(demo: Demo, number: str) -> None:
    zh = demo.lang == "zh-CN"
    demo.at(9, 15)
    await demo.say(DISP, f"/dispatch {number}")
    await demo.press_label(DISP, demo.name(ENG))
    demo.at(9, 18)
    await demo.press(ENG, "btn.accept")
    demo.at(9, 25)
    await demo.press(ENG, "btn.depart")
    await demo.say(ENG, "40m")
    demo.at(10, 5)  # as expected
    await demo.press(ENG, "btn.arrive")
    await demo.photo(ENG, 1)
    await demo.location(ENG, 31.2354, 121.5055)
    demo.at(10, 8)
    await demo.press(SUP, "btn.ack")
    demo.at(11, 40)
    await demo.press(ENG, "btn.checkin")
    await demo.say(ENG, "主轴轴承磨损，已拆下检查。" if zh else "Spindle bearing worn; removed for inspection.")
    await demo.photo(ENG, 2)
    await demo.press(ENG, "btn.done")
    demo.at(11, 46)
    await demo.press(SUP, "btn.ack")
    demo.at(14, 20)  # after lunch: the bearing replaced and the machine run for two hours
    await demo.press(ENG, "btn.resolve")
    await demo.say(ENG, "主轴轴承磨损导致过热停机。" if zh else "Worn spindle bearing overheated and tripped the drive.")
    await demo.say(ENG, "更换轴承，重新润滑，试运行 2 小时。" if zh else "Replaced the bearing, relubricated, ran for 2 hours.")
    await demo.say(ENG, "轴承 6205-2RS ×1" if zh else "Bearing 6205-2RS x1")
    demo.at(14, 30)
    await demo.press(ENG, "btn.signoff")
    await demo.press(ENG, "btn.ask_customer")
    demo.at(14, 36)
    await demo.press(CUST, "btn.confirm")
    await demo.press(CUST, "btn.rate5")
    await demo.say(CUST, "师傅很专业，谢谢！" if zh else "Quick and tidy, thank you!")


async def run_demo(language: str = "en", runtime: str = "aiogram", channel: str = "telegram",
                   keep: bool = False, clock: Clock | None = None) -> int:
    """Play the day; 0 if the ticket ended closed.  ``runtime``: ``aiogram`` or ``ptb``;
    ``channel``: ``telegram`` or ``wecom`` (staff in the WeCom app, the customer in 微信客服);
    ``keep`` (Telegram): then keep the emulator and the bot running, for its chat page, until
    cancelled (Ctrl+C).  ``clock``: what "now" is before the day is moved to its morning (the
    wall clock; a test gives one at night)."""
    lang = "zh-CN" if language.startswith("zh") else "en"
    day_clock = OffsetClock(clock)
    with tempfile.TemporaryDirectory(prefix="fieldbot-demo-") as tmp:
        if channel == "wecom":
            from bot.demo_wecom import WecomDemo
            from bot.stage_wecom import WecomStage

            context, make = WecomStage(Path(tmp), language=lang, clock=day_clock, extra_config=WORKING_HOURS), WecomDemo
        else:
            context = Stage(Path(tmp), language=lang, runtime=runtime, clock=day_clock, extra_config=WORKING_HOURS)
            make = Demo
        async with context as stage:
            if channel != "wecom":  # Telegram stamps what people send by the day's clock too
                stage.emu.follow_clock(lambda: day_clock.now().timestamp())
            demo = make(stage, lang)
            print(t(lang, "demo.title_wecom" if channel == "wecom" else "demo.title", url=stage.emu.base_url))
            start, tz = demo.begin(), stage.app.tz
            local = start.astimezone(tz)
            print(t(lang, "demo.day", weekday=t(lang, f"weekday.{local.weekday()}"), date=local.date().isoformat(),
                    time=local.strftime("%H:%M"), zone=zone_long(lang, tz, start)))
            number = await _setup(stage, demo)
            await _play(demo, number)
            async with stage.app.db.read() as session:
                ticket = await ticket_by_number(session, number)
                events = await timeline(session, ticket.id)
                names = await people_names(session, {e.actor_id for e in events}
                                           | {e.details.get("assignee_id") for e in events})
            for uid, (name, role) in demo.people.items():
                print(f"\n── {t(lang, 'demo.person', name=name, role=t(lang, f'role.{role.value}'))} " + "─" * 30)
                print("\n".join(demo.log[uid]))
            print(f"\n── {t(lang, 'cli.timeline')} {number} " + "─" * 30)
            for line in timeline_lines(lang, events, stage.app.tz, names):
                print("  " + line)
            print("  " + zone_note(lang, stage.app.tz, day_clock.now()))
            done = ticket.status is TicketStatus.CLOSED
            print("\n" + t(lang, "demo.done" if done else "demo.unfinished",
                           status=t(lang, f"status.{ticket.status.value}")))
            if channel == "telegram":
                page = f"{stage.emu.base_url}/"
                print(t(lang, "demo.keep" if keep else "demo.keep_hint", url=page), flush=True)
                if keep:
                    await asyncio.Event().wait()
            return 0 if done else 1
