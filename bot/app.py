"""The composition root: builds the config-dependent parts once and passes them down.

No global look-ups and no import-time side effects: everything that needs the database, the
clock or the config receives it from an :class:`App` built here (DESIGN §4.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.config import Config
from models.calendar import BusinessCalendar, calendar_for
from models.clocks import SlaPolicy
from handlers.channel import ChannelTraits
from models.db import Database
from models.enums import Channel


class Clock:
    """Wall-clock time in UTC; tests substitute :class:`FixedClock` to run a week in seconds."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@dataclass
class FixedClock(Clock):
    at: datetime

    def now(self) -> datetime:
        return self.at


class OffsetClock(Clock):
    """Another clock's time (the wall clock's by default) moved forward by an offset that only
    grows: ``fieldbot demo`` plays its day at 09:00 of the next working day, whatever the hour,
    and moves on to each step's hour (:meth:`advance_to`) while real seconds still pass."""

    def __init__(self, source: Clock | None = None):
        self.source = source or Clock()
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return self.source.now() + self.offset

    def advance_to(self, moment: datetime) -> None:
        """Jump to ``moment`` unless it is already past (time never goes back)."""
        ahead = moment - self.now()
        if ahead > timedelta(0):
            self.offset += ahead


@dataclass
class App:
    config: Config
    db: Database
    clock: Clock = field(default_factory=Clock)
    calendar: BusinessCalendar | None = None
    sla: SlaPolicy | None = None
    #: What the push path and links know of each configured channel (no SDK needed).
    channels: dict[Channel, ChannelTraits] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.calendar is None:
            self.calendar = calendar_for(self.config.bot)
        if self.sla is None:
            self.sla = SlaPolicy(self.config.sla, self.config.chase, self.calendar)
        if not self.channels:
            self.channels = channel_traits(self.config)

    def join_links(self, token: str, *, customer: bool) -> list[tuple[ChannelTraits, str]]:
        """How to open an invite on every configured channel that serves its people (a staff
        invite: Telegram, the WeCom app; a customer's ticket link: Telegram, 微信客服)."""
        return [(traits, traits.join_link(token)) for traits in self.channels.values()
                if traits.join_link is not None and (traits.serves_customers if customer else traits.serves_staff)]

    def join_texts(self, token: str, *, customer: bool) -> list[str]:
        """:meth:`join_links` as said to the person: each channel's link with what to do with it."""
        return [traits.join_text(token) if traits.join_text is not None else link
                for traits, link in self.join_links(token, customer=customer)]

    def join_link(self, token: str, *, customer: bool = False) -> str:
        """The first of :meth:`join_links` that is a URL (for a QR code), else the first."""
        links = self.join_links(token, customer=customer)
        if not links:
            raise RuntimeError("no channel with join links is configured")
        # A channel only for customers (微信客服) is where a customer's QR code should lead.
        dedicated = [link for traits, link in links if traits.link_is_url and not traits.serves_staff]
        return (dedicated or [link for traits, link in links if traits.link_is_url] or [links[0][1]])[0]

    @property
    def tz(self) -> ZoneInfo:
        return self.config.bot.tz

    def local(self, moment: datetime) -> datetime:
        """A stored UTC time as the team sees it."""
        return moment.astimezone(self.tz)

    def today(self) -> date:
        return self.local(self.clock.now()).date()

    async def close(self) -> None:
        await self.db.dispose()


def channel_traits(config: Config) -> dict[Channel, ChannelTraits]:
    """Each channel's traits as configured: the one line per channel a new channel adds here.
    Telegram's links are always there (the demo and the CLI print them without a token)."""
    from bot.channels.telegram_protocol import TelegramRuntime
    from bot.channels.wecom.app import WecomAdapter
    from bot.channels.wecom.kf import WecomKfAdapter

    found = {}
    for adapter in (TelegramRuntime, WecomAdapter, WecomKfAdapter):
        traits = adapter.traits(config)
        if traits is not None:
            found[traits.channel] = traits
    return found


def build_app(config: Config, clock: Clock | None = None) -> App:
    return App(config=config, db=Database.from_config(config), clock=clock or Clock())
