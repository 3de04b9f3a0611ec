"""The knowledge base: past resolutions (the service reports of resolved tickets) found again by
product model, fault type and free text, for ``/kb`` and for the tips an engineer gets on accept.

Two halves, so the ranking can be tested without a database:

* :func:`find_fixes` lets SQL narrow the candidates — the same model (by the indexed column) or a
  ``LIKE`` per query term over the report's text, roughly pre-ordered, with a ``LIMIT`` — so no
  search ever pulls the ticket table into memory;
* :func:`rank` (pure) orders them exactly: model match, then fault type match, then how many
  query terms the report shares, the most recently resolved first on ties.

Chinese has no spaces between words, so :func:`terms` cuts runs of CJK characters into character
bigrams ("屏幕闪烁" → 屏幕 幕闪 闪烁) and Latin text into words with a light suffix trim
("flickering" → flicker).  Bigrams need no dictionary, match across word boundaries a segmenter
might draw differently for the query and the report, and stay substrings of the original text,
so the same term serves the SQL ``LIKE`` and the Python overlap.

Confidentiality (DESIGN §2): engineers search across the whole company, so a :class:`Fix` holds
technical content only — never the customer, contact, phone or address — and those values, and
anything that looks like a phone number, are masked if an engineer typed them into the report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from sqlalchemy import String, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.customers import Customer
from models.enums import TicketStatus
from models.tickets import Ticket

#: Tickets whose service report is written: their findings are past fixes.
PAST = (TicketStatus.RESOLVED, TicketStatus.SIGNED_OFF, TicketStatus.CLOSED)
#: At most this many query terms reach SQL (each is one ``LIKE``); the rest only re-rank.
MAX_SQL_TERMS = 16
#: Candidates fetched per search; the SQL pre-order puts the likely best among them.
CANDIDATES = 50
#: The accept tips look at this many of the model's most recently registered reports at most: they run inside the
#: engineer's accept, so their cost must not grow with a popular model's history.
MODEL_WINDOW = 500
#: What masked confidential text is replaced by.
MASK = "***"

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_LETTER = rf"(?:(?![{_CJK}])[^\W_])"
#: A CJK run, or a Latin word possibly joined by - . / (model names such as KFR-35GW/BP).
_TOKEN = re.compile(rf"([{_CJK}]+)|({_LETTER}+(?:[-./]{_LETTER}+)*)")
_STOP = frozenset("""a an and are as at be but by for from has have in into is it its of on or
    the then there this to was were will with after before not no yes""".split())
#: Mainland mobile numbers (138 0013 8000, +86-13800138000) and any +international number.
_PHONE = re.compile(r"(?<![\w+])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)|\+\d[\d\s-]{6,}\d")


def _stem(word: str) -> str:
    """Trim plural and verb endings so "cables"/"cable" and "replaced"/"replacing" meet; the stem
    stays a prefix of the word, so it still works as a SQL ``LIKE`` substring."""
    if not word.isalpha() or len(word) < 4:
        return word
    for suffix in ("ing", "ed", "s", "e"):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix in ("s", "ing", "ed") and word.endswith("e") and len(word) > 3:
                word = word[:-1]
            break
    return word


def terms(text: str | None) -> set[str]:
    """The search terms of ``text``: CJK bigrams (a lone CJK character stays as it is) and
    lower-cased, trimmed Latin words without stop words; a compound word also gives its parts."""
    out: set[str] = set()
    for cjk, word in _TOKEN.findall((text or "").lower()):
        if cjk:
            out.update({cjk} if len(cjk) == 1 else {cjk[i:i + 2] for i in range(len(cjk) - 1)})
            continue
        parts = re.split(r"[-./]", word)
        for piece in ([word] if len(parts) > 1 else []) + parts:
            if len(piece) > 1 and piece not in _STOP:
                out.add(_stem(piece))
    return out


def squash(text: str | None) -> str:
    """Lower case without any spaces: how model names and fault types are compared."""
    return re.sub(r"\s+", "", (text or "").lower())


@dataclass(frozen=True)
class Query:
    """What to look for: ``words`` (see :func:`terms`), ``models`` (squashed strings that may
    name a product model) and ``fault`` (text a past ticket's fault type may be part of)."""

    words: frozenset[str]
    models: frozenset[str]
    fault: str

    @classmethod
    def from_text(cls, text: str) -> Query:
        """A ``/kb`` query: any word, pair or triple of words, or Latin token may be the model
        ("X200", "X200 Pro", the "x200" of "x200屏幕闪烁"); the whole text may hold the fault type."""
        chunks = [c for c in (w.strip("\"'“”‘’,，。.;；:：!！?？()（）") for w in text.split()) if c]
        models = {" ".join(chunks[i:i + n]) for n in (1, 2, 3) for i in range(len(chunks) - n + 1)}
        models |= {word for _, word in _TOKEN.findall(text) if word}
        return cls(words=frozenset(terms(text)), models=frozenset(squash(m) for m in models if m),
                   fault=squash(text))

    @classmethod
    def like_ticket(cls, model: str, fault_type: str | None, symptom: str | None) -> Query:
        """Past fixes similar to a ticket: its model, its fault type, the words of its symptom."""
        return cls(words=frozenset(terms(f"{symptom or ''} {fault_type or ''}")),
                   models=frozenset({squash(model)}), fault=squash(fault_type))

    @property
    def empty(self) -> bool:
        return not self.words and not self.models


@dataclass(frozen=True)
class Fix:
    """One past resolution, technical content only (see the module docstring)."""

    ticket_id: int
    number: str
    model: str
    fault_type: str | None
    symptom: str
    findings: str
    actions: str
    parts: str | None
    result: str | None
    resolved_at: datetime

    @property
    def text(self) -> str:
        return " ".join(p for p in (self.fault_type, self.symptom, self.findings, self.actions,
                                    self.parts, self.result) if p)


@dataclass(frozen=True, order=True)
class Score:
    """Compared field by field: a model match beats any amount of shared text."""

    model: bool
    fault: bool
    overlap: int

    @property
    def relevant(self) -> bool:
        return self.model or self.fault or self.overlap > 0


def score(fix: Fix, query: Query) -> Score:
    fault = squash(fix.fault_type)
    return Score(model=squash(fix.model) in query.models,
                 fault=bool(fault) and fault in query.fault,
                 overlap=len(query.words & terms(fix.text)))


def rank(fixes: Iterable[Fix], query: Query, *, limit: int, relevant_only: bool = True) -> list[Fix]:
    """The best ``limit`` fixes for ``query``; ties go to the most recently resolved.

    With ``relevant_only`` a fix that shares nothing with the query (no model, no fault type, no
    term) is left out; the accept tips keep them, as every candidate there is the same model."""
    scored = [(score(fix, query), fix) for fix in fixes]
    if relevant_only:
        scored = [(s, fix) for s, fix in scored if s.relevant]
    scored.sort(key=lambda pair: (pair[0], pair[1].resolved_at, pair[1].ticket_id), reverse=True)
    return [fix for _, fix in scored[:limit]]


# -- SQL ----------------------------------------------------------------------------------------
#: A past fix's fault type: the one the engineer confirmed at resolve, else the registration's.
_FAULT = func.coalesce(Ticket.fault_cause, Ticket.fault_type)
_TEXT_COLUMNS = (_FAULT, Ticket.fault_symptom, Ticket.findings, Ticket.actions_taken,
                 Ticket.parts_replaced, Ticket.result)


def _report_text():  # noqa: ANN202
    """All of a report's searchable text as one SQL string (one ``LIKE`` per term, not six)."""
    return reduce(lambda a, b: a + " " + b, [func.coalesce(c, "") for c in _TEXT_COLUMNS])


def _model_variants(model: str) -> list[str]:
    """The spellings of a model looked up through the index (typed by different people)."""
    base = model.strip()
    return sorted({model, base, base.upper(), base.lower()})


def mask(text: str | None, secrets: Iterable[str | None]) -> str | None:
    """``text`` with the ticket's confidential values and phone-like numbers replaced by MASK."""
    if not text:
        return text
    for secret in sorted({s.strip() for s in secrets if s and len(s.strip()) >= 2}, key=len, reverse=True):
        text = re.sub(_secret_pattern(secret), MASK, text, flags=re.IGNORECASE)
    return _PHONE.sub(MASK, text)


def _secret_pattern(secret: str) -> str:
    """A name or address as written; a phone number (stored as ``+8675512345678``) however its
    digits are spaced or dashed, with or without the country code."""
    digits = re.sub(r"\D", "", secret)
    if len(digits) < 7 or re.sub(r"[\s\-()+]", "", secret) != digits:
        return re.escape(secret)
    local_part = digits[2:] if digits.startswith("86") and secret.lstrip().startswith("+") else digits
    spaced = r"[\s\-()]*".join(local_part)
    return rf"(?<!\d)(?:\+?86[\s-]*)?0?{spaced}(?!\d)" if local_part != digits else rf"(?<!\d)\+?{spaced}(?!\d)"


async def find_fixes(session: AsyncSession, query: Query, *, limit: int, model: str | None = None,
                     exclude_ticket_id: int | None = None) -> list[Fix]:
    """Past fixes for ``query``, best first.

    With ``model`` (the accept tips) only that model's ``MODEL_WINDOW`` most recently registered
    reports are candidates, found through the model index; without it (``/kb``) a report is a
    candidate if its model, its fault type or any query term matches.
    """
    if query.empty:
        return []
    rows = (await session.execute(_candidates(query, model, exclude_ticket_id, max(CANDIDATES, limit)))).all()
    return rank([_fix(row) for row in rows], query, limit=limit, relevant_only=model is None)


def _candidates(query: Query, model: str | None, exclude_ticket_id: int | None, limit: int):  # noqa: ANN202
    """The SELECT of :func:`find_fixes`, roughly in rank order.  Terms never contain ``%`` or
    ``_`` (see :func:`terms`), so they go into ``LIKE`` patterns as they are."""
    text = _report_text()
    sql_terms = sorted(query.words, key=lambda w: (-len(w), w))[:MAX_SQL_TERMS]
    term_hits = [text.ilike(f"%{w}%") for w in sql_terms]
    term_count = reduce(lambda a, b: a + b, [case((hit, 1), else_=0) for hit in term_hits], literal(0))
    fault_hit = and_(_FAULT.is_not(None), _FAULT != "",
                     literal(query.fault, String).contains(func.lower(func.replace(_FAULT, " ", ""))))
    model_hit = func.lower(func.replace(Ticket.product_model, " ", "")).in_(sorted(query.models))
    stmt = (
        select(Ticket.id, Ticket.number, Ticket.product_model, _FAULT.label("fault_type"), Ticket.fault_symptom,
               Ticket.findings, Ticket.actions_taken, Ticket.parts_replaced, Ticket.result,
               Ticket.resolved_at, Ticket.updated_at,
               # Read only to mask them in the report text; never part of a Fix.
               Ticket.contact_name, Ticket.contact_phone, Ticket.address,
               Customer.name.label("customer_name"), Customer.phone.label("customer_phone"))
        .join(Customer, Customer.id == Ticket.customer_id)
        .where(Ticket.status.in_(PAST), Ticket.findings.is_not(None))
    )
    if model is not None:
        latest = (select(Ticket.id)
                  .where(Ticket.product_model.in_(_model_variants(model)), Ticket.status.in_(PAST),
                         Ticket.findings.is_not(None))
                  .order_by(Ticket.id.desc()).limit(MODEL_WINDOW))
        stmt = stmt.where(Ticket.id.in_(latest.scalar_subquery()))
    else:
        stmt = stmt.where(or_(model_hit, fault_hit, *term_hits))
    if exclude_ticket_id is not None:
        stmt = stmt.where(Ticket.id != exclude_ticket_id)
    order = [] if model is not None else [case((model_hit, 1), else_=0).desc()]
    return stmt.order_by(*order, case((fault_hit, 1), else_=0).desc(), term_count.desc(),
                         Ticket.resolved_at.desc(), Ticket.id.desc()).limit(limit)


def _fix(row) -> Fix:  # noqa: ANN001
    """A candidate row as a Fix: the confidential columns only mask the text, then are dropped."""
    secrets = (row.contact_name, row.contact_phone, row.address, row.customer_name, row.customer_phone)
    return Fix(
        ticket_id=row.id, number=row.number, model=row.product_model, fault_type=row.fault_type,
        symptom=mask(row.fault_symptom, secrets) or "", findings=mask(row.findings, secrets) or "",
        actions=mask(row.actions_taken, secrets) or "", parts=mask(row.parts_replaced, secrets),
        result=mask(row.result, secrets), resolved_at=row.resolved_at or row.updated_at)
