"""Evidence a supervisor can trust (issue 15), unit by unit: what a received photo is (refused or
its EXIF read), the stamped copy (a pure function, cached and re-made identically), distances in
words, the geofence and EXIF rules, the config key, and how Telegram updates carry a photo sent as
a file, a live location and a forwarded one."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from bot.channels.telegram_updates import parse_update
from bot.config import Config
from handlers.channel import Inbound, Location
from handlers.evidence_text import distance_text, timeline_notes
from handlers.media import MediaStore
from handlers.photo_check import inspect
from handlers.screening import screen
from handlers.stamp import StampSpec, lines, make, render, runs
from models.enums import Channel
from models.errors import DomainError
from models.evidence import EvidenceRules, distance_m, exif_findings
from tests.support.images import (
    bomb_png,
    camera_jpeg,
    hostile_exif_jpeg,
    malformed_exif_jpeg,
    truncated_jpeg,
)
from tests.support.world import png

SHANGHAI = (31.23041, 121.47370)
BEIJING = (39.90420, 116.40740)


# -- what a received photo is ---------------------------------------------------------------------
def test_a_camera_photo_gives_its_gps_and_capture_time() -> None:
    facts = inspect(camera_jpeg(lat=BEIJING[0], lon=BEIJING[1], taken=datetime(2026, 3, 1, 8, 0), offset="+08:00"))
    assert facts.problem is None and (facts.width, facts.height) == (320, 240)
    assert facts.exif_lat == pytest.approx(BEIJING[0], abs=1e-6) and facts.exif_lon == pytest.approx(BEIJING[1], abs=1e-6)
    assert facts.taken_at == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    south_west = inspect(camera_jpeg(lat=-33.86, lon=-70.65, taken=datetime(2026, 3, 1, 8, 0)))
    assert south_west.exif_lat == pytest.approx(-33.86) and south_west.exif_lon == pytest.approx(-70.65)
    assert south_west.taken_at == datetime(2026, 3, 1, 8, 0)  # no offset: the camera's local time


@pytest.mark.parametrize(("data", "problem"), [
    (b"\x00" * 2048, "not_an_image"), (b"", "not_an_image"), (b"%PDF-1.7\n", "not_an_image"),
    (bomb_png(), "image_too_large"), (truncated_jpeg(), "image_broken"),
], ids=["zeros", "empty", "pdf", "decompression_bomb", "truncated"])
def test_unusable_files_are_refused(data: bytes, problem: str) -> None:
    assert inspect(data).problem == problem


@pytest.mark.parametrize("data", [hostile_exif_jpeg(), malformed_exif_jpeg()], ids=["absurd_values", "garbage_ifd"])
def test_hostile_exif_is_ignored_and_the_photo_kept(data: bytes) -> None:
    facts = inspect(data)
    assert facts.problem is None and facts.exif_lat is None and facts.exif_lon is None and facts.taken_at is None


async def test_the_media_store_writes_nothing_for_a_refused_file(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    refused = await store.save_photo(bomb_png())
    assert refused.facts.problem == "image_too_large" and not (tmp_path / refused.path).exists()
    kept = await store.save_photo(png(3))
    assert kept.facts.problem is None and (tmp_path / kept.path).read_bytes() == png(3)
    # a file the bot made itself (a service report) is stored as it is, with no photo check
    made = await store.save(b"%PDF-1.7 a service report")
    assert made.facts is None and made.mime == "application/pdf" and (tmp_path / made.path).exists()


# -- the stamped copy -----------------------------------------------------------------------------
def _spec(data: bytes, **over: object) -> StampSpec:
    fields = {"original": "ab/cd/x.jpg", "sha256": hashlib.sha256(data).hexdigest(), "ticket": "FS-2026-000007",
                  "server_at": "2026-03-02T02:30:00+00:00", "client_at": "2026-03-02T01:05:00+00:00",
                  "lat": BEIJING[0], "lon": BEIJING[1], "distance_m": 1_067_012.4, "off_site": True, "live": True,
                  "tz": "Asia/Shanghai", "lang": "en"}
    fields.update(over)
    return StampSpec(**fields)


def test_the_stamp_says_ticket_times_and_place_in_the_readers_language() -> None:
    data = camera_jpeg()
    assert lines(_spec(data)) == [
        "Ticket FS-2026-000007", "Server time 2026-03-02 10:30:00 UTC+08:00",
        "Phone time 2026-03-02 09:05:00 UTC+08:00",
        "Live location 39.90420, 116.40740 · 1,067 km from the site: off site"]
    assert lines(_spec(data, lang="zh-CN", live=False, off_site=False, distance_m=120.0, client_at=None)) == [
        "工单 FS-2026-000007", "服务器时间 2026-03-02 10:30:00 UTC+08:00", "位置 39.90420, 116.40740 · 距现场 120 米"]
    assert lines(_spec(data, lat=None, lon=None, distance_m=None))[-1] == "Phone time 2026-03-02 09:05:00 UTC+08:00"


def test_each_run_of_text_gets_the_font_with_its_glyphs() -> None:
    assert runs("距现场 1,042 公里") == [(True, "距现场"), (False, " 1,042 "), (True, "公里")]
    assert runs("Ticket FS-1") == [(False, "Ticket FS-1")]


def test_the_stamped_copy_is_a_pure_function_of_its_spec() -> None:
    data = camera_jpeg(size=(800, 600))
    spec = _spec(data)
    first = render(spec, data)
    assert render(spec, data) == first  # same input, same bytes
    assert render(_spec(data, lang="zh-CN"), data) != first
    stamped = Image.open(io.BytesIO(first))
    assert stamped.format == "JPEG" and stamped.width == 800 and stamped.height > 600  # the band below
    assert not stamped.getexif()  # the original keeps the EXIF; the copy carries none
    with pytest.raises(ValueError, match="sha256"):
        render(_spec(data), camera_jpeg(seed=1))


def test_a_big_photo_is_stamped_at_a_readable_size() -> None:
    data = camera_jpeg(size=(4000, 3000))
    stamped = Image.open(io.BytesIO(render(_spec(data), data)))
    assert max(stamped.size) <= 2560 + 400


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_no_line_of_the_stamp_is_cut_on_a_narrow_photo(lang: str) -> None:
    """A 320-px photo cannot hold the place line even at the smallest text: the band grows wider
    than the photo (the photo's own pixels are kept as they are); a wide photo keeps its width."""
    from handlers.stamp import MIN_TEXT, _fonts, _width, lines

    narrow = camera_jpeg(size=(320, 240))
    spec = _spec(narrow, lang=lang)
    stamped = Image.open(io.BytesIO(render(spec, narrow)))
    latin, cjk = _fonts(MIN_TEXT)
    assert stamped.width >= max(_width(line, latin, cjk) for line in lines(spec)) > 320
    assert stamped.getpixel((10, 10)) == Image.open(io.BytesIO(narrow)).convert("RGB").getpixel((10, 10))
    wide = camera_jpeg(size=(1600, 1200))
    assert Image.open(io.BytesIO(render(_spec(wide, lang=lang), wide))).width == 1600


def test_a_lost_copy_is_made_again_identically(tmp_path: Path) -> None:
    data = camera_jpeg()
    stored = MediaStore(tmp_path)._write(data, photo=True)
    spec = _spec(data, original=stored.path)
    made = make(tmp_path, spec)
    assert made.path == spec.path() and made.path.startswith("stamped/")
    target = tmp_path / made.path
    assert hashlib.sha256(target.read_bytes()).hexdigest() == made.sha256
    assert make(tmp_path, spec) == made  # cached
    target.unlink()  # a crash before the copy was written, or a cleaned-up disk
    assert make(tmp_path, spec) == made and target.exists()
    assert (tmp_path / stored.path).read_bytes() == data  # the original untouched


# -- distances, the geofence and the EXIF rules ---------------------------------------------------
@pytest.mark.parametrize(("metres", "en", "zh"), [
    (0.4, "0 m", "0 米"), (350.2, "350 m", "350 米"), (999.4, "999 m", "999 米"), (4_210.0, "4.2 km", "4.2 公里"),
    (1_042_300.0, "1,042 km", "1,042 公里"),
])
def test_distances_in_words(metres: float, en: str, zh: str) -> None:
    assert distance_text("en", metres) == en and distance_text("zh-CN", metres) == zh


def test_distance_shanghai_beijing() -> None:
    assert 1_060_000 < distance_m(SHANGHAI, BEIJING) < 1_075_000
    assert distance_m(SHANGHAI, SHANGHAI) == 0.0


def test_exif_far_from_the_report_or_taken_long_before_is_flagged() -> None:
    rules = EvidenceRules(geofence_m=500, exif_max_age=timedelta(hours=3))
    now = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
    near = {"exif_lat": 31.2310, "exif_lon": 121.4740, "exif_taken_at": (now - timedelta(hours=1)).isoformat()}
    far_old = {"exif_lat": BEIJING[0], "exif_lon": BEIJING[1], "exif_taken_at": (now - timedelta(days=1)).isoformat()}
    assert exif_findings([near, {}], SHANGHAI, now, rules) == {}
    found = exif_findings([near, far_old], SHANGHAI, now, rules)
    assert 1_060_000 < found["exif_far_m"] < 1_075_000
    assert found["exif_taken_at"] == (now - timedelta(days=1)).isoformat()
    assert exif_findings([far_old], None, now, rules) == {"exif_taken_at": (now - timedelta(days=1)).isoformat()}


def test_timeline_notes() -> None:
    tz = timezone(timedelta(hours=8))
    details = {"distance_m": 1_067_012, "off_site": 1, "live": 1, "client_at": "2026-03-02T01:05:00+00:00"}
    assert timeline_notes("en", details, tz) == (", off site: 1,067 km from the site (live location); "
                                                 "sent from the phone at 2026-03-02 09:05")
    assert timeline_notes("zh-CN", {"site_located": 1}, tz) == "，现场位置由此确定"
    assert timeline_notes("en", {"distance_m": 120}, tz) == ", 120 m from the site"


# -- config ---------------------------------------------------------------------------------------
def test_the_geofence_is_written_with_its_unit() -> None:
    assert Config().evidence.geofence == 500.0 and Config().evidence.exif_max_age == timedelta(hours=3)
    assert Config.model_validate({"evidence": {"geofence": "1.5km", "exif_max_age": "90m"}}).evidence.geofence == 1500
    for bad in ("500", "-3m", "far", "0m"):
        with pytest.raises(ValueError, match="is not a distance"):
            Config.model_validate({"evidence": {"geofence": bad}})


# -- what reaches the core ------------------------------------------------------------------------
def _inbound(location: Location) -> Inbound:
    return Inbound(channel=Channel.TELEGRAM, update_id="1", session_key="tg:1:1", user_id="1", chat_id="1",
                   received_at=datetime(2026, 3, 2, tzinfo=UTC), location=location)


def test_null_island_is_refused_like_a_place_off_the_map() -> None:
    for place in (Location(0.0, 0.0), Location(91.0, 0.0), Location(float("nan"), 1.0)):
        with pytest.raises(DomainError) as refused:
            screen(_inbound(place))
        assert refused.value.code == "bad_location"
    screen(_inbound(Location(0.0, 0.5)))  # the Gulf of Guinea, not a phone without a fix


def _update(**fields: object) -> dict:
    return {"update_id": 5, "message": {"message_id": 9, "date": 1_772_418_600, "chat": {"id": 7, "type": "private"},
                                        "from": {"id": 7, "is_bot": False, "first_name": "Li"}, **fields}}


def test_telegram_photo_as_file_live_and_forwarded_locations() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    doc = {"file_id": "BQAD1", "file_unique_id": "u1", "file_name": "IMG_0001.JPG", "mime_type": "image/jpeg",
           "file_size": 1234}
    [photo] = parse_update(_update(document=doc), now).photos
    assert (photo.file_ref, photo.as_file, photo.size) == ("BQAD1", True, 1234)
    assert parse_update(_update(document={**doc, "mime_type": "application/pdf"}), now).photos == []
    sized = [{"file_id": "AgAC1", "file_unique_id": "p1", "width": 90, "height": 90}]
    assert parse_update(_update(photo=sized), now).photos[0].as_file is False
    live = parse_update(_update(location={"latitude": 31.2, "longitude": 121.4, "live_period": 900}), now)
    assert live.location == Location(31.2, 121.4, live=True) and not live.forwarded
    pin = parse_update(_update(location={"latitude": 31.2, "longitude": 121.4}), now)
    assert pin.location.live is False
    forwarded = parse_update(_update(location={"latitude": 31.2, "longitude": 121.4}, forward_origin={
        "type": "user", "date": 1_772_000_000, "sender_user": {"id": 8, "is_bot": False, "first_name": "X"}}), now)
    assert forwarded.forwarded


# -- the outbox sender's last step ----------------------------------------------------------------
async def test_the_sender_sends_the_stamped_copy_or_else_the_original(tmp_path: Path) -> None:
    from bot.outbox_stamp import with_stamped_photos
    from handlers.channel import Outbound

    data = camera_jpeg()
    stored = MediaStore(tmp_path)._write(data, photo=True)
    spec = _spec(data, original=stored.path)
    photo = {"file_ref": "AgAC1", "channel": "telegram", "path": stored.path, "stamp": spec.to_payload()}
    out = await with_stamped_photos(None, tmp_path, Outbound(photos=[photo], lang="zh-CN"))
    zh = StampSpec.from_payload({**spec.to_payload(), "lang": "zh-CN"})
    assert out.photos == [{"file_ref": None, "channel": "telegram", "path": zh.path()}]  # in the reader's language
    assert (tmp_path / zh.path()).read_bytes() == render(zh, data)
    (tmp_path / stored.path).unlink()  # the original gone (a disk restored from an old backup)
    (tmp_path / zh.path()).unlink()
    out = await with_stamped_photos(None, tmp_path, Outbound(photos=[photo], lang="zh-CN"))
    assert out.photos == [{"file_ref": "AgAC1", "channel": "telegram", "path": stored.path}]  # still evidence
    plain = Outbound(text="hi")
    assert await with_stamped_photos(None, tmp_path, plain) is plain


def test_the_monthly_report_lists_arrivals_off_site_per_engineer() -> None:
    from handlers.report_view import report_text
    from models.reports import Month, MonthlyReport, ReportRow

    row = ReportRow("X200", 3, 3600.0, 1.0, 1.0, 5.0, 1, 0)
    report = MonthlyReport(Month(2026, 10), None, row, [row], [row], [row], 0,
                           off_site=[("Li Lei", 2), ("王伟", 1)])
    en = report_text(report, "North", top=5, chart=False).render("en").splitlines()
    assert en[-1] == "Arrivals off site (farther from the site than the geofence): Li Lei 2, 王伟 1."
    zh = report_text(report, "North", top=5, chart=False).render("zh-CN").splitlines()
    assert zh[-1] == "不在现场的到场签到（超出现场范围）：Li Lei 2 次、王伟 1 次。"
    quiet = MonthlyReport(Month(2026, 10), None, row, [row], [row], [row], 0)
    assert "off site" not in report_text(quiet, "North", top=5, chart=False).render("en")
