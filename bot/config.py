"""Configuration: one TOML file read into pydantic models, one model per section.

Why this shape: every key is validated up front (unknown keys are errors, so a typo such as
``ack_remider`` is caught at start-up instead of silently falling back to a default), every
problem is reported with its key path, and secrets are ``SecretStr`` so they never end up in a
log line.  Secrets may also come from environment variables ``FIELDBOT_<SECTION>_<KEY>``
(e.g. ``FIELDBOT_TELEGRAM_TOKEN``), which win over the file.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import tomllib
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.durations import DurationError, parse_duration

DEFAULT_CONFIG_PATH = Path("config.toml")


class ConfigError(Exception):
    """The config cannot be used; ``problems`` holds one line per problem, each with its key path."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise PydanticCustomError("duration", str(exc)) from None


Duration = Annotated[timedelta, BeforeValidator(_duration)]

_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def _hours(value: Any) -> tuple[time, time] | None:
    """``"08:30-22:00"`` → (08:30, 22:00); ``"off"`` or ``""`` → not a working day."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "off")):
        return None
    if isinstance(value, tuple):
        return value
    m = _RANGE.match(str(value).strip())
    bad = PydanticCustomError(
        "hours", '"{value}" is not a time range; write e.g. "08:30-22:00" or "off"', {"value": value}
    )
    if not m:
        raise bad
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise bad
    start = time(h1, m1)
    end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
    if end <= start:
        raise PydanticCustomError(
            "hours", '"{value}": the end must be after the start', {"value": value}
        )
    return (start, end)


def _clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    m = re.match(r"^(\d{2}):(\d{2})$", str(value).strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise PydanticCustomError("clock", '"{value}" is not a time of day; write e.g. "18:00"', {"value": value})
    return time(int(m.group(1)), int(m.group(2)))


Hours = Annotated[tuple[time, time] | None, BeforeValidator(_hours)]
ClockTime = Annotated[time, BeforeValidator(_clock)]


class Section(BaseModel):
    """Base for every section: unknown keys are errors, values are validated on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


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

    def first_working(self) -> tuple[time, time]:
        """Hours used for a make-up working day that normally has none (调休 on a Saturday)."""
        for day in range(7):
            hours = self.for_weekday(day)
            if hours:
                return hours
        return (time(8, 30), time(22, 0))


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


class TelegramSection(Section):
    token: SecretStr = SecretStr("")
    bot_username: str = "FieldbotDemoBot"
    runtime: Literal["aiogram", "ptb"] = "aiogram"
    mode: Literal["polling", "webhook"] = "polling"
    api_base: str = ""
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_listen: str = "127.0.0.1:8080"
    rate: float = Field(25.0, gt=0)
    chat_interval: Duration = timedelta(seconds=1)
    group_per_minute: int = Field(20, gt=0)

    @field_validator("runtime")
    @classmethod
    def _installed(cls, value: str) -> str:
        """A runtime whose SDK is missing is a config problem, so ``check-config`` and
        ``fieldbot run`` (which both read the config through here) say so alike, in one line."""
        problem = ptb_missing() if value == "ptb" else None
        if problem:
            raise PydanticCustomError("runtime", problem)
        return value


#: The python-telegram-bot releases the ``ptb`` runtime is written for.
PTB_MAJOR = 22


def ptb_missing() -> str | None:
    """Why ``telegram.runtime = "ptb"`` cannot run here; None if it can.  Looked up without
    importing the SDK (no import-time side effects, and check-config stays fast)."""
    install = 'install the ptb extra (pip install "fieldbot[ptb]") or use runtime = "aiogram"'
    try:
        version = importlib.metadata.version("python-telegram-bot")
        found = importlib.util.find_spec("telegram") is not None
    except (importlib.metadata.PackageNotFoundError, ValueError):
        found = False
    if not found:
        return f"python-telegram-bot is not installed; {install}"
    major = version.split(".", 1)[0]
    if major != str(PTB_MAJOR):
        return f"python-telegram-bot {version} is installed, the ptb runtime needs {PTB_MAJOR}.x; {install}"
    return None


class WecomSection(Section):
    enabled: bool = False
    corp_id: str = ""
    agent_id: int = 0
    secret: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    aes_key: SecretStr = SecretStr("")
    api_base: str = "https://qyapi.weixin.qq.com"
    callback_url: str = "https://fieldbot.example.com/wecom/callback"
    callback_listen: str = "127.0.0.1:8081"
    kf_open_kfid: str = ""
    kf_link: str = ""
    kf_secret: SecretStr = SecretStr("")
    link_secret: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _complete(self) -> WecomSection:
        if self.enabled:
            missing = [name for name, value in (("corp_id", self.corp_id), ("agent_id", self.agent_id),
                                                ("secret", self.secret.get_secret_value()),
                                                ("token", self.token.get_secret_value()),
                                                ("aes_key", self.aes_key.get_secret_value())) if not value]
            if missing:
                raise PydanticCustomError("wecom_incomplete", "wecom is enabled but {missing} is empty",
                                          {"missing": ", ".join(missing)})
            if len(self.aes_key.get_secret_value()) != 43:
                raise PydanticCustomError("wecom_aes_key", "wecom.aes_key (EncodingAESKey) has 43 characters")
            if bool(self.kf_open_kfid) != bool(self.kf_link):
                raise PydanticCustomError("wecom_kf", "set both wecom.kf_open_kfid and wecom.kf_link, or neither")
        return self


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

    @field_validator("chart_font")
    @classmethod
    def _font_exists(cls, value: str) -> str:
        if value.strip() and not Path(value.strip()).expanduser().is_file():
            raise PydanticCustomError("font", '"{value}": no such font file', {"value": value})
        return value.strip()


class StorageSection(Section):
    media_dir: Path = Path("media")


class Config(Section):
    bot: BotSection = BotSection()
    database: DatabaseSection = DatabaseSection()
    telegram: TelegramSection = TelegramSection()
    wecom: WecomSection = WecomSection()
    sla: SlaSection = SlaSection()
    chase: ChaseSection = ChaseSection()
    scheduler: SchedulerSection = SchedulerSection()
    storage: StorageSection = StorageSection()
    reports: ReportsSection = ReportsSection()


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
