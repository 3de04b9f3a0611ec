"""The service report's drawing: a :class:`~handlers.service_report_data.ReportContent` as an A4 PDF
(fpdf2; DejaVu Sans for Latin text with Droid Sans Fallback for Chinese, both embedded as
subsets with a ToUnicode map, so the text extracts back as the same characters).

Deterministic: the same content and photo files give the same bytes — the creation date is the
ticket's close, the file /ID is made of the content digest, the producer names the layout and the
fpdf2 version (not the machine), thumbnails are made by Pillow with fixed settings.  Nothing
reads the clock, the environment or a random source.  CPU-bound (about half a second, most of it
reading the Chinese font): callers run it in a worker thread, never on the event loop and never
inside a database transaction.
"""

from __future__ import annotations

import io
from pathlib import Path

from handlers.fonts import CJK_FONT, latin_bold_font, latin_font
from handlers.service_report_content import LAYOUT, ReportContent

MARGIN = 15.0
LABEL_W = 42.0
LINE = 5.0
THUMB_W, THUMB_H, PER_ROW = 42.0, 32.0, 4
THUMB_PX = 480
DARK, GREY, RULE, FILL = (20, 20, 20), (95, 95, 95), (170, 170, 170), (236, 239, 243)


def _thumbnail(path: Path) -> io.BytesIO | None:
    """A downscaled JPEG of a photo (upright, RGB, at most THUMB_PX), the same bytes every time."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            image.save(out, "JPEG", quality=80, optimize=False, progressive=False)
    except (OSError, ValueError):
        return None
    out.seek(0)
    return out


def _document(content: ReportContent, digest: str):  # noqa: ANN202
    import fpdf
    from fpdf import FPDF

    footer = content.footer.replace("{digest}", digest).replace("{pages}", "{nb}")

    class Report(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", size=6.5)
            self.set_text_color(*GREY)
            self.cell(0, 4, footer.replace("{page}", str(self.page_no())), align="C")

        def file_id(self) -> str:
            return f"<{digest[:32].upper()}><{digest[:32].upper()}>"

    pdf = Report(orientation="P", unit="mm", format="A4")
    pdf.set_creation_date(content.created)
    pdf.set_producer(f"Fieldbot service report layout {LAYOUT} (fpdf2 {fpdf.__version__})")
    pdf.set_title(f"{content.title} {content.number}")
    pdf.set_author(content.company)
    pdf.set_subject(content.number)
    pdf.set_keywords(f"content-sha256:{digest}")
    pdf.set_lang(content.lang)
    pdf.add_font("DejaVu", "", str(latin_font()))
    pdf.add_font("DejaVu", "B", str(latin_bold_font()))
    pdf.add_font("Droid", "", str(CJK_FONT))
    pdf.set_fallback_fonts(["Droid"], exact_match=False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=18)
    return pdf


def _header(pdf, content: ReportContent) -> None:  # noqa: ANN001
    pdf.set_text_color(*DARK)
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 8, content.company, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(0, 7, content.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(90, 6, content.number)
    pdf.set_font("DejaVu", size=9)
    pdf.set_text_color(*GREY)
    pdf.cell(0, 6, content.issued, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*RULE)
    pdf.line(MARGIN, pdf.get_y() + 1, pdf.w - MARGIN, pdf.get_y() + 1)
    pdf.ln(3)


def _heading(pdf, text: str) -> None:  # noqa: ANN001
    if pdf.get_y() + 16 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(1.5)
    pdf.set_font("DejaVu", "B", 10.5)
    pdf.set_text_color(*DARK)
    pdf.set_fill_color(*FILL)
    pdf.cell(0, 6.5, " " + text, fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _row(pdf, label: str, value: str) -> None:  # noqa: ANN001
    width = pdf.w - 2 * MARGIN - LABEL_W
    pdf.set_font("DejaVu", size=9.5)
    lines = pdf.multi_cell(width, LINE, value or "—", dry_run=True, output="LINES")
    if pdf.get_y() + LINE * max(1, len(lines)) > pdf.page_break_trigger:
        pdf.add_page()
    top = pdf.get_y()
    pdf.set_text_color(*GREY)
    pdf.set_font("DejaVu", size=9)
    pdf.set_xy(MARGIN, top)
    pdf.multi_cell(LABEL_W - 2, LINE, label, new_x="LMARGIN", new_y="NEXT")
    bottom = pdf.get_y()
    pdf.set_text_color(*DARK)
    pdf.set_font("DejaVu", size=9.5)
    pdf.set_xy(MARGIN + LABEL_W, top)
    pdf.multi_cell(width, LINE, value or "—", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(bottom, pdf.get_y()) + 0.8)


def _photos(pdf, content: ReportContent, media_root: Path | None, missing: str) -> None:  # noqa: ANN001
    gap = (pdf.w - 2 * MARGIN - PER_ROW * THUMB_W) / (PER_ROW - 1)
    for start in range(0, len(content.photos), PER_ROW):
        if pdf.get_y() + THUMB_H + 10 > pdf.page_break_trigger:
            pdf.add_page()
        top = pdf.get_y()
        for index, photo in enumerate(content.photos[start:start + PER_ROW]):
            x = MARGIN + index * (THUMB_W + gap)
            thumb = _thumbnail(media_root / photo.path) if media_root is not None and photo.path else None
            pdf.set_draw_color(*RULE)
            if thumb is not None:
                pdf.image(thumb, x=x, y=top, w=THUMB_W, h=THUMB_H, keep_aspect_ratio=True)
            else:
                pdf.rect(x, top, THUMB_W, THUMB_H)
                pdf.set_xy(x + 2, top + THUMB_H / 2 - 3)
                pdf.set_font("DejaVu", size=7)
                pdf.set_text_color(*GREY)
                pdf.multi_cell(THUMB_W - 4, 3.5, missing, align="C")
            pdf.set_xy(x, top + THUMB_H + 0.8)
            pdf.set_font("DejaVu", size=7)
            pdf.set_text_color(*GREY)
            pdf.multi_cell(THUMB_W, 3.3, photo.caption, align="C")
        pdf.set_y(top + THUMB_H + 9)


def render_pdf(content: ReportContent, media_root: Path | None, *, missing_photo: str = "") -> bytes:
    """The PDF's bytes (deterministic; see the module's docstring)."""
    digest = content.digest()
    pdf = _document(content, digest)
    pdf.add_page()
    _header(pdf, content)
    for heading, rows in content.sections:
        _heading(pdf, heading)
        for label, value in rows:
            _row(pdf, label, value)
    if content.timeline:
        _heading(pdf, content.timeline_heading)
        pdf.set_font("DejaVu", size=8.5)
        pdf.set_text_color(*DARK)
        for line in content.timeline:
            pdf.multi_cell(0, 4.4, line, new_x="LMARGIN", new_y="NEXT")
    if content.photos:
        _heading(pdf, content.photos_heading)
        _photos(pdf, content, media_root, missing_photo)
    return bytes(pdf.output())
