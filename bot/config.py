"""Configuration: one TOML file read into pydantic models, one model per section.

Why this shape: every key is validated up front (unknown keys are errors, so a typo such as
``ack_remider`` is caught at start-up instead of silently falling back to a default), every
problem is reported with its key path, and secrets are ``SecretStr`` so they never end up in a
log line.  Secrets may also come from environment variables ``FIELDBOT_<SECTION>_<KEY>``
(e.g. ``FIELDBOT_TELEGRAM_TOKEN``), which win over the file.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.config_channels import TelegramSection, WecomSection, ptb_missing  # noqa: F401  (re-exported)
from bot.config_faults import FaultsSection
from bot.config_pay import PaySection
from bot.config_types import ClockTime, Distance, Duration, Hours, Section  # noqa: F401  (re-exported)

DEFAULT_CONFIG_PATH = Path("config.toml")


class ConfigError(Exception):
    """The config cannot be used; ``problems`` holds one line per problem, each with its key path."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class WorkingHours(Section):
    mon: Hours = (time(8, 30), time(22, 0))
    tue: Hours = (time(8, 30), time(22, 0))
    wed: Hours = (time(8, 30), time(22, 0))
    thu: Hours = (time(8, 30), time(22, 0))
    fri: Hours = (time(8, 30), time(22, 0))
    sat: Hours = None
    sun: Hours = None

    def for_weekday(self, weekday: int) -> tuple[time, time] | None:
        """Hours of a weekday (0 = Monday), ``None`` when it is not a working day."""
        return getattr(self, ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[weekday])


class BotSection(Section):
    timezone: str = "Asia/Shanghai"
    language: Literal["zh-CN", "en"] = "zh-CN"
    invite_ttl: Duration = timedelta(days=7)
    customer_link_ttl: Duration = timedelta(days=30)
    warranty: Duration = timedelta(days=365)
    working_hours: WorkingHours = WorkingHours()
    holidays: list[date] = []
    makeup_workdays: list[date] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "timezone", '"{value}" is not a time zone; write e.g. "Asia/Shanghai"', {"value": value}
            ) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def makeup_on_workdays(self) -> list[date]:
        """Make-up dates (调休) that already are working weekdays (Monday–Friday with hours): most
        likely a typo, since a make-up day replaces a day off; ``check-config`` says so."""
        return sorted(d for d in self.makeup_workdays
                      if d.weekday() < 5 and self.working_hours.for_weekday(d.weekday()))

    @model_validator(mode="after")
    def _calendar_is_usable(self) -> BotSection:
        if not any(self.working_hours.for_weekday(day) for day in range(7)):
            raise PydanticCustomError("calendar", "working_hours: no working hours on any weekday")
        both = sorted(set(self.holidays) & set(self.makeup_workdays))
        if both:
            raise PydanticCustomError(
                "calendar", "{dates}: listed both as holiday and as make-up working day",
                {"dates": ", ".join(d.isoformat() for d in both)},
            )
        return self


class DatabaseSection(Section):
    url: SecretStr = SecretStr("sqlite+aiosqlite:///fieldbot.db")
    echo: bool = False
    busy_timeout: Duration = timedelta(seconds=5)

    @field_validator("url")
    @classmethod
    def _supported(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise PydanticCustomError(
                "db_url",
                "use sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER:PASSWORD@HOST/DB",
            )
        return value


class SlaLevel(Section):
    respond: Duration
    arrive: Duration
    resolve: Duration
    calendar: Literal["business", "24x7"] = "business"


class SlaSection(Section):
    warn_at: float = Field(0.8, gt=0, lt=1)
    escalate_after: Duration = timedelta(hours=2)
    level1: SlaLevel = Field(
        SlaLevel(respond=timedelta(hours=1), arrive=timedelta(hours=8), resolve=timedelta(hours=24), calendar="24x7"),
        alias="1",
    )
    level2: SlaLevel = Field(
        SlaLevel(respond=timedelta(hours=1), arrive=timedelta(hours=24), resolve=timedelta(hours=48)), alias="2"
    )
    level3: SlaLevel = Field(
        SlaLevel(respond=timedelta(hours=4), arrive=timedelta(days=2), resolve=timedelta(days=5)), alias="3"
    )
    level4: SlaLevel = Field(
        SlaLevel(respond=timedelta(hours=8), arrive=timedelta(days=3), resolve=timedelta(days=10)), alias="4"
    )

    def for_severity(self, severity: int) -> SlaLevel:
        return getattr(self, f"level{severity}")


class ChaseSection(Section):
    ack_reminder: Duration = timedelta(minutes=30)
    ack_repeat: Duration = timedelta(minutes=30)
    ack_max_reminders: int = Field(3, ge=0)
    dispatch_reminder: Duration = timedelta(minutes=15)
    dispatch_escalate: Duration = timedelta(hours=1)
    daily_checkin_due: ClockTime = time(18, 0)
    daily_checkin_escalate: Duration = timedelta(hours=2)
    callback_after: Duration = timedelta(days=3)
    callback_expire: Duration = timedelta(days=2)


class SchedulerSection(Section):
    enabled: bool = True
    tick: Duration = timedelta(seconds=30)


class ReportsSection(Section):
    """The monthly statistics: the push on the first working day, the chat table, the chart."""

    monthly: bool = True
    top: int = Field(5, ge=1, le=8)  # 3 breakdowns × 8 rows still fit in one chat message
    chart_font: str = ""
    #: The company named at the top of the service report (PDF); empty: the ticket's team.
    company: str = Field("", max_length=120)

    @field_validator("chart_font")
    @classmethod
    def _font_exists(cls, value: str) -> str:
        if value.strip() and not Path(value.strip()).expanduser().is_file():
            raise PydanticCustomError("font", '"{value}": no such font file', {"value": value})
        return value.strip()


class StorageSection(Section):
    media_dir: Path = Path("media")


class EvidenceSection(Section):
    """How far the server trusts a check-in's place and photos (issue 15): flags, never refusals."""

    geofence: Distance = 500.0
    exif_max_age: Duration = timedelta(hours=3)


class Config(Section):
    bot: BotSection = BotSection()
    database: DatabaseSection = DatabaseSection()
    telegram: TelegramSection = TelegramSection()
    wecom: WecomSection = WecomSection()
    sla: SlaSection = SlaSection()
    chase: ChaseSection = ChaseSection()
    scheduler: SchedulerSection = SchedulerSection()
    storage: StorageSection = StorageSection()
    evidence: EvidenceSection = EvidenceSection()
    reports: ReportsSection = ReportsSection()
    faults: FaultsSection = FaultsSection()
    pay: PaySection = PaySection()


_SECRET_SECTIONS = {
    "database": DatabaseSection,
    "telegram": TelegramSection,
    "wecom": WecomSection,
}


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> None:
    """Secrets from ``FIELDBOT_<SECTION>_<KEY>`` override the file (nothing secret in git)."""
    for section, model in _SECRET_SECTIONS.items():
        for name, field in model.model_fields.items():
            if field.annotation is not SecretStr:
                continue
            value = environ.get(f"FIELDBOT_{section}_{name}".upper())
            if value is not None:
                data.setdefault(section, {})
                if isinstance(data[section], dict):
                    data[section][name] = value


def _describe(error: dict[str, Any]) -> str:
    path = ".".join(str(p) for p in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown key"
    if error["type"] == "missing":
        return f"{path}: required"
    msg = error["msg"]
    if error["type"] in ("literal_error", "enum"):
        msg = f"{error['input']!r} is not allowed; use {error.get('ctx', {}).get('expected', msg)}"
    return f"{path}: {msg}"


def parse_config(text: str, environ: dict[str, str] | None = None, source: str = "config") -> Config:
    """Validate TOML text; raise :class:`ConfigError` listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: not valid TOML: {exc}"]) from None
    _apply_env(data, dict(os.environ) if environ is None else environ)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_describe(e) for e in exc.errors()]) from None


def load_config(path: Path | str | None = None, environ: dict[str, str] | None = None) -> Config:
    """Read the config file; a missing *default* file means built-in defaults (demo, tests)."""
    env = dict(os.environ) if environ is None else environ
    explicit = path is not None or "FIELDBOT_CONFIG" in env
    target = Path(path or env.get("FIELDBOT_CONFIG") or DEFAULT_CONFIG_PATH)
    if not target.exists():
        if explicit:
            raise ConfigError([f"{target}: no such config file (copy config.example.toml)"])
        return parse_config("", env)
    return parse_config(target.read_text(encoding="utf-8"), env, source=str(target))
