"""The service report's content as plain data — every text in one language, the photos by their
sha256 — and its canonical form, which the report's digest covers (see
:mod:`handlers.service_report_data` for how it is gathered, :mod:`handlers.service_report_pdf`
for how it is drawn).  No imports of the project: both sides depend on it, not on each other."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

#: Bumped whenever the drawing changes: the same data then makes other bytes (and a new row).
LAYOUT = "2"  # 2: check-in photos as their stamped copies


@dataclass(frozen=True)
class ReportPhoto:
    caption: str
    sha256: str
    path: str | None  # relative to the media directory; not part of the content (the sha is)
    #: A check-in photo is shown as its stamped copy (:mod:`handlers.stamp`): the spec it is drawn
    #: from (made just before drawing) and that spec's key, which the content covers — what is
    #: stamped on the thumbnail is part of what the report says.  None / "" for other photos.
    stamp: object = None
    stamp_key: str = ""


@dataclass
class ReportContent:
    lang: str
    company: str
    title: str
    number: str
    issued: str  # "Closed 2026-11-22 14:40 (Asia/Shanghai)" — the close, in the team's zone
    created: datetime  # the close (UTC): the PDF's creation date
    sections: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    timeline_heading: str = ""
    timeline: list[str] = field(default_factory=list)
    photos_heading: str = ""
    photos: list[ReportPhoto] = field(default_factory=list)
    footer: str = ""  # with {digest} and {page}/{pages} to fill in

    def canonical(self) -> bytes:
        """The content as sorted-key compact UTF-8 JSON: what :meth:`digest` hashes."""
        data = {"layout": LAYOUT, "lang": self.lang, "company": self.company, "title": self.title,
                "number": self.number, "issued": self.issued, "created": self.created.isoformat(),
                "sections": [[h, [list(r) for r in rows]] for h, rows in self.sections],
                "timeline": [self.timeline_heading, self.timeline],
                "photos": [self.photos_heading, [[p.caption, p.sha256, p.stamp_key] for p in self.photos]],
                "footer": self.footer}
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()
