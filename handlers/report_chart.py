"""The monthly report's chart — jobs per product model, fault type and engineer as horizontal bars,
drawn with matplotlib (Agg, no display) into a PNG kept in the media store — and the report
message that carries it as a photo above the text (:func:`report_message`, for ``/report`` and the
monthly push).

matplotlib is imported only when a chart is drawn: it costs tens of megabytes and a second of
start-up that the bot should not pay for every update.  Drawing is blocking CPU work, so callers
run :func:`store_chart` (which draws in a worker thread) rather than :func:`draw_chart` directly.

Fonts: by default the project's own pair (:mod:`handlers.fonts`) — DejaVu Sans for Latin, with
Droid Sans Fallback for Chinese through matplotlib's per-glyph fallback over a family list — so
Chinese names are drawn on any machine.  ``[reports] chart_font`` names another font file to use
instead.  Any text the font(s) cannot draw is left out — a bar is then labelled with its row
number (``#1``), the number of the same row in the message text, and a panel's title is left to
the text, which names the panels in order.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import t
from handlers.messages import Msg
from handlers.report_view import report_text, row_label
from models.people import Team
from models.reports import DIMENSIONS, MonthlyReport, ReportRow

if TYPE_CHECKING:
    from bot.app import App
    from handlers.media import StoredFile

log = logging.getLogger(__name__)
BAR_COLOUR = "#3b7dd8"
#: Longest bar name; a longer one would squeeze the bars (the text has the names in full).
CHART_LABEL_LIMIT = 24


def glyph_check(font_path: str) -> tuple[Callable[[str], bool], object]:
    """(can the font(s) draw the whole text?, the font properties to draw with).  ``font_path``
    empty: DejaVu Sans with Droid Sans Fallback for what it lacks (Chinese)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    if font_path:
        props = font_manager.FontProperties(fname=font_path)
        paths = [font_path]
    else:
        from handlers.fonts import CJK_FONT, latin_font

        cjk = _registered(font_manager, str(CJK_FONT))
        props = font_manager.FontProperties(family=["DejaVu Sans", cjk])
        paths = [str(latin_font()), str(CJK_FONT)]
    charmaps = [FT2Font(path).get_charmap() for path in paths]
    return (lambda text: all(c.isspace() or any(ord(c) in m for m in charmaps) for c in text)), props


def _registered(font_manager, path: str) -> str:  # noqa: ANN001
    """Add a font file to matplotlib's font list once; its family name."""
    name = font_manager.FontProperties(fname=path).get_name()
    if not any(entry.fname == path for entry in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(path)
    return name


def bar_labels(dimension: str, rows: list[ReportRow], lang: str, drawable: Callable[[str], bool]) -> list[str]:
    """Each bar's name, or its row number (``#2``) where the font cannot draw the name."""
    names = [row_label(dimension, row, CHART_LABEL_LIMIT).render(lang) for row in rows]
    return [name if drawable(name) else f"#{rank}" for rank, name in enumerate(names, start=1)]


def draw_chart(report: MonthlyReport, lang: str, *, top: int, font_path: str = "") -> bytes:
    """The PNG bytes of the chart (blocking: run it in a thread)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawable, props = glyph_check(font_path)
    panels = [(d, report.rows(d)[:top]) for d in DIMENSIONS if report.rows(d)]
    figure = Figure(figsize=(7, 1.2 + sum(0.45 * len(rows) + 0.9 for _, rows in panels)), dpi=100)
    FigureCanvasAgg(figure)
    heights = [max(1, len(rows)) for _, rows in panels] or [1]
    axes_list = figure.subplots(len(heights), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for axes, (dimension, rows) in zip(axes_list, panels):
        labels = bar_labels(dimension, rows, lang, drawable)
        counts = [row.jobs for row in rows]
        positions = list(range(len(rows)))[::-1]  # the first row on top, as in the text
        bars = axes.barh(positions, counts, color=BAR_COLOUR)
        axes.bar_label(bars, labels=[str(c) for c in counts], padding=3, fontproperties=props)
        axes.set_yticks(positions, labels=labels, fontproperties=props)
        axes.set_xlim(0, max(counts) * 1.15 + 0.5)
        axes.xaxis.set_visible(False)
        for side in ("top", "right", "bottom"):
            axes.spines[side].set_visible(False)
        title = t(lang, f"report.chart.{dimension}")
        if drawable(title):
            axes.set_title(title, loc="left", fontproperties=props)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


async def store_chart(app: App, report: MonthlyReport, lang: str) -> StoredFile:
    """Draw the chart off the event loop and keep it in the media store (by content)."""
    from handlers.media import MediaStore

    settings = app.config.reports
    png = await asyncio.to_thread(draw_chart, report, lang, top=settings.top, font_path=settings.chart_font)
    return await MediaStore(app.config.storage.media_dir).save(png)


async def report_message(app: App, session: AsyncSession, report: MonthlyReport, lang: str, *,
                         monthly: bool = False) -> Msg:
    """The report as one message in ``lang``: the chart as a photo (when there is something to
    draw), then the text.  Used by ``/report`` and the monthly push."""
    team = await session.get(Team, report.team_id) if report.team_id is not None else None
    body = report_text(report, team.name if team else None, top=app.config.reports.top, monthly=monthly)
    photos = []
    if report.total.jobs:
        try:
            stored = await store_chart(app, report, lang)
        except Exception:  # a broken font or a full disk costs the picture, not the figures
            log.exception("drawing the %s report chart failed; sending the text alone", report.month)
        else:
            photos.append({"path": stored.path})
    return Msg(body=body, photos=photos)
