"""Counting from outside, after the run (bot stopped, everything drained).

Sources: the emulator (its pending updates and its call log: every sendMessage / sendPhoto with
arrival and completion times and the message it made), ``fieldbot ticket show NUMBER --json``
(each ticket's progress check-ins and their photo counts, from the timeline), and the database
read-only for what the JSON does not show (check-in texts, outbox rows, inbox rows,
acknowledgements).

* **confirmed**: an update the emulator no longer holds (getUpdates offset passed it, or the
  webhook got a 2xx).
* **lost**: a confirmed update whose effect is missing — a note in no stored check-in, a photo not
  counted on its check-in, a **Done** without its check-in, a ``/help`` never answered.  Besides,
  every confirmed update must have its inbox row handled (``inbound_events.status = done``).
* **orphan send**: a message the emulator delivered whose result the bot never recorded — a
  sendMessage whose ``(chat, message_id)`` is in no sent outbox row's ``external_message_id``; for
  photos (the outbox keeps no message id for a photo row) the copies of one photo to one chat
  beyond the outbox rows that sent it, the earliest ones.  Each orphan is attributed to the
  incarnation alive when its call arrived; if that one was SIGKILLed after the call arrived (or
  at most :data:`AFTER_KILL` before: the request was already in the socket), it is a *send in
  flight at that kill*.  (With two instances the emulator cannot tell which one
  called: an orphan is attributed to an instance killed while it was alive, the soonest one.)  A kill with at least one is a *kill inside a send*.
* **duplicated**: extra copies of one logical message in one chat.  A recorded message is its
  outbox row; an orphan is the same logical message as the first later message in that chat with
  identical parameters sent after its incarnation ended (the row's resend after the restart);
  photos are one logical message per (chat, photo).  Cross-check by content: messages carrying a
  note marker are keyed by (chat, marker, first line) — a check-in push or a reminder shown
  twice — and every extra copy found that way must be an orphan of a killed incarnation.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from handlers.stamp import StampSpec, for_reader
from tests.fault.load import Cycle, Probe, Sent, update_key
from tests.fault.procs import Life, as_json

SENDING = ("sendMessage", "sendPhoto", "sendDocument")
MARKER = re.compile(r"\[([A-Za-z0-9]+:\d+:\d+:\d+)\]")
#: An unrecorded send whose call finished this long before its incarnation's kill is suspicious:
#: marking a row sent is one short commit right after the reply.
LATE_RECORD = 5.0


@dataclass
class Observed:
    calls: list[dict]  # successful and failed sending calls, oldest first
    pending: list[dict]  # updates the emulator still holds
    outbox: list[dict]
    inbox: list[dict]
    checkins: list[dict]
    photos_by_checkin: dict[int, int]
    tickets: dict[str, dict]  # ticket show --json, by number
    acks: list[dict] = field(default_factory=list)
    spec_mismatches: list[dict] = field(default_factory=list)


class CallLog:
    """The emulator's call log for the sending methods, pulled every few seconds and merged, so a
    long run outlives the emulator's bounded log (10,000 calls)."""

    def __init__(self, emu):  # noqa: ANN001
        self.emu = emu
        self.calls: dict[tuple, dict] = {}

    async def pull(self) -> None:
        for method in SENDING:
            for call in await self.emu.call("api_calls", method=method, http_timeout=120):
                self.calls[(call["method"], call["at"], call.get("done"))] = call

    def all(self) -> list[dict]:
        return sorted(self.calls.values(), key=lambda c: c["at"])


async def observe(emu, db, calllog: CallLog, tickets: dict[str, dict]) -> Observed:  # noqa: ANN001
    await calllog.pull()
    outbox = await db.rows("SELECT id, chat_id, status, external_message_id, payload, purpose, dedupe_key,"
                           " created_at, sent_at, attempts, person_id FROM outbox ORDER BY id")
    for row in outbox:
        row["payload"] = as_json(row["payload"])
    photos = {r["checkin_id"]: r["n"] for r in await db.rows(
        "SELECT checkin_id, COUNT(*) AS n FROM attachments WHERE checkin_id IS NOT NULL GROUP BY checkin_id")}
    return Observed(
        calls=calllog.all(),
        pending=await emu.call("pending_updates"),
        outbox=outbox,
        inbox=await db.rows("SELECT external_id, status, attempts, last_error FROM inbound_events"),
        checkins=await db.rows("SELECT id, ticket_id, text, kind FROM checkins ORDER BY id"),
        photos_by_checkin=photos,
        tickets=tickets,
        acks=await db.rows("SELECT id, checkin_id, reminder_count, next_reminder_at, escalation_level, acked_at"
                           " FROM acknowledgements ORDER BY id"),
        spec_mismatches=await emu.call("spec_mismatches"),
    )


# -- sends: orphans, kills inside a send, duplicates ---------------------------------------------
def _content(call: dict) -> str:
    params = {k: v for k, v in (call.get("params") or {}).items() if k != "chat_id"}
    return json.dumps(params, sort_keys=True, default=str)


def _photo_key(value: Any) -> str:
    if isinstance(value, dict) and "upload" in value:  # an uploaded file: known by its name
        return str(value["upload"])
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _row_photo_key(payload: dict) -> str:
    """What the sending call of a photo row is known by: a check-in photo goes out as its stamped
    copy (issue 15), uploaded under its spec's file name; a stored file by its name; a photo the
    chat app already has by its file_id."""
    photo = payload["photos"][0]
    if photo.get("stamp"):
        spec = for_reader(StampSpec.from_payload(photo["stamp"]), payload.get("lang"))
        return PurePath(spec.path()).name
    if photo.get("file_ref"):
        return _photo_key(photo["file_ref"])
    return PurePath(photo["path"]).name if photo.get("path") else ""


@dataclass
class Sends:
    delivered: int = 0  # successful sending calls
    orphans: list[dict] = field(default_factory=list)
    extras: list[dict] = field(default_factory=list)  # duplicate copies (each one is an orphan)
    in_flight: dict[tuple, list[dict]] = field(default_factory=dict)  # (process, life) → orphans
    unexplained: list[dict] = field(default_factory=list)  # orphans no kill accounts for
    late: list[tuple[float, dict]] = field(default_factory=list)  # (kill − done, orphan) > LATE_RECORD
    marker_extras: list[dict] = field(default_factory=list)
    rows_missing: list[dict] = field(default_factory=list)  # sent text rows with no message at the emulator
    logical: dict[int, tuple] = field(default_factory=dict)  # id(call) → its logical message

    @property
    def duplicated(self) -> int:
        return len(self.extras)


#: A request the bot wrote just before its SIGKILL still reaches the emulator after it: the kernel
#: sends what is in the socket's buffer when it closes a dead process's sockets.  The next
#: incarnation needs seconds of start-up before it can send anything, so a call arriving this soon
#: after a kill is the killed process's.
AFTER_KILL = 0.5


def _killed_life(call: dict, lives: list[Life]) -> Life | None:
    """The SIGKILLed incarnation alive when the call arrived (the one killed soonest after)."""
    killed = [life for life in lives if life.how == "killed" and life.started <= call["at"] <= life.ended + AFTER_KILL]
    return min(killed, key=lambda life: life.ended) if killed else None


def analyse_sends(obs: Observed, lives: list[Life]) -> Sends:
    out = Sends()
    ok = [c for c in obs.calls if c.get("ok") and c.get("message_id") is not None and c["method"] in SENDING]
    out.delivered = len(ok)
    text_rows = {(str(r["chat_id"]), str(r["external_message_id"])): r for r in obs.outbox
                 if r["status"] == "sent" and r["external_message_id"] and not r["payload"].get("edit_message_id")
                 and (r["payload"].get("text") or r["payload"].get("secret"))}
    photo_rows: Counter = Counter()
    for r in obs.outbox:
        photos = r["payload"].get("photos") or []
        if r["status"] == "sent" and photos and not r["payload"].get("text"):
            photo_rows[(str(r["chat_id"]), _row_photo_key(r["payload"]))] += 1
    seen = {(str(c["chat_id"]), str(c["message_id"])) for c in ok if c["method"] == "sendMessage"}
    out.rows_missing = [r for key, r in text_rows.items() if key not in seen]

    # Text messages: recorded ones are their row; an orphan is the first later identical message
    # in its chat sent after its incarnation ended (the row's resend after the restart).
    by_chat: dict[str, list[dict]] = defaultdict(list)
    for call in ok:
        if call["method"] == "sendMessage":
            by_chat[str(call["chat_id"])].append(call)
    for chat, calls in by_chat.items():
        for i in range(len(calls) - 1, -1, -1):
            call = calls[i]
            row = text_rows.get((chat, str(call["message_id"])))
            if row is not None:
                out.logical[id(call)] = ("row", row["id"])
                continue
            out.orphans.append(call)
            life = _killed_life(call, lives)
            after = life.ended if life is not None else call["at"]
            match = next((d for d in calls[i + 1:] if d["at"] >= after and _content(d) == _content(call)), None)
            out.logical[id(call)] = out.logical[id(match)] if match is not None else ("alone", id(call))
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for call in ok:
        if call["method"] == "sendMessage":
            groups[out.logical[id(call)]].append(call)
    for key, calls in groups.items():
        if len(calls) > 1:
            recorded = key[0] == "row"
            out.extras += [c for c in calls if not recorded or (str(c["chat_id"]), str(c["message_id"])) not in text_rows]
            if not recorded:
                out.extras.remove(calls[-1])

    # Photos (and documents): one logical message per (chat, file); the last copies are the ones
    # the outbox recorded, the earlier ones orphans.
    copies: dict[tuple, list[dict]] = defaultdict(list)
    for call in ok:
        if call["method"] != "sendMessage":
            params = call.get("params") or {}
            copies[(str(call["chat_id"]), _photo_key(params.get("photo", params.get("document"))))].append(call)
    for key, calls in copies.items():
        recorded = min(photo_rows.get(key, 0), len(calls))
        orphans = calls[:len(calls) - recorded]
        out.orphans += orphans
        for call in calls:
            out.logical[id(call)] = ("photo",) + key
        if len(calls) > max(recorded, 1):
            out.extras += orphans if recorded else orphans[:-1]

    # Which kill each orphan belongs to.
    for call in out.orphans:
        life = _killed_life(call, lives)
        if life is None:
            out.unexplained.append(call)
            continue
        out.in_flight.setdefault((life.process, life.index), []).append(call)
        gap = life.ended - (call.get("done") or call["at"])  # negative: it arrived after the signal
        if gap > LATE_RECORD:
            out.late.append((gap, call))

    # The content view: a message carrying a note marker, by (chat, marker, first line).
    marked: dict[tuple, list[dict]] = defaultdict(list)
    for call in ok:
        text = (call.get("params") or {}).get("text") or ""
        found = MARKER.search(text)
        if call["method"] == "sendMessage" and found:
            marked[(str(call["chat_id"]), found.group(1), text.split("\n", 1)[0])].append(call)
    orphan_ids = {id(c) for c in out.orphans}
    extra_ids = {id(c) for c in out.extras}
    for calls in marked.values():
        if len(calls) > 1:
            unrecorded = [c for c in calls if id(c) in orphan_ids]
            extras = unrecorded if len(unrecorded) < len(calls) else unrecorded[:-1]
            # copies beyond the orphans are two rows for one message: nothing accounts for them
            out.marker_extras += extras + [c for c in calls if id(c) not in orphan_ids][1:]
    out.unexplained += [c for c in out.marker_extras if id(c) not in extra_ids and c not in out.unexplained]
    return out


# -- effects: lost updates ------------------------------------------------------------------------
@dataclass
class Effects:
    confirmed: set = field(default_factory=set)
    lost: list[tuple[str, Any, list]] = field(default_factory=list)  # (what, detail, keys of the updates)
    #: check-ins whose notes are not their cycle's notes in order: per-session order broken (the
    #: same notes in another order, or a note in the next cycle's check-in)
    misordered: list[tuple[str, list]] = field(default_factory=list)  # (detail, keys of the updates)
    duplicate_effects: list[str] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    checkins: int = 0
    photos_stored: int = 0
    inbox_not_done: list[dict] = field(default_factory=list)
    inbox_missing: list[int] = field(default_factory=list)


def analyse_effects(obs: Observed, sent: list[Sent], cycles: list[Cycle], probes: list[Probe],
                    confirmed: set | None = None) -> Effects:
    """``confirmed``: the keys of the updates the channel holds as confirmed, when they are not
    Telegram's (the emulator's pending list); the caller then checks the inbox itself."""
    eff = Effects()
    if confirmed is not None:
        eff.confirmed = set(confirmed)
    else:
        pending = {update_key(u) for u in obs.pending}
        eff.confirmed = {s.key for s in sent} - pending
        # The inbox: every confirmed update stored once and handled.  The emulator numbers the
        # updates 1, 2, … in the order they were queued, and only the harness queues any.
        pending_ids = {u["update_id"] for u in obs.pending}
        done = {int(r["external_id"]) for r in obs.inbox if r["status"] == "done"}
        eff.inbox_not_done = [r for r in obs.inbox if r["status"] != "done"]
        eff.inbox_missing = sorted(set(range(1, len(sent) + 1)) - pending_ids - done
                                   - {int(r["external_id"]) for r in eff.inbox_not_done})

    # Check-ins: the ticket JSON's timeline names them (with photo counts); texts from the database.
    progress = [c for c in obs.checkins if c["kind"] == "progress"]
    eff.checkins = len(progress)
    texts = {c["id"]: c["text"] or "" for c in progress}
    json_photos: dict[int, int] = {}
    for number, ticket in obs.tickets.items():
        for event in ticket.get("timeline", []):
            if event.get("kind") == "checkin_progress":
                details = event.get("details") or {}
                json_photos[details.get("checkin_id")] = details.get("photos", 0)
    if set(json_photos) != set(texts):
        eff.anomalies.append(f"check-ins in `ticket show --json` ({len(json_photos)}) and in the database "
                             f"({len(texts)}) differ: {sorted(set(json_photos) ^ set(texts))[:10]}")
    for checkin_id, n in json_photos.items():
        if obs.photos_by_checkin.get(checkin_id, 0) != n:
            eff.anomalies.append(f"check-in {checkin_id}: the timeline says {n} photo(s), "
                                 f"{obs.photos_by_checkin.get(checkin_id, 0)} attachment row(s)")
    eff.photos_stored = sum(json_photos.values())

    holder: dict[str, list[int]] = defaultdict(list)
    for checkin_id, text in texts.items():
        for line in text.split("\n"):
            if line:
                holder[line].append(checkin_id)
    for line, ids in holder.items():
        if len(ids) > 1:
            eff.duplicate_effects.append(f"note {line!r} stored in check-ins {ids}")
    matched: set[int] = set()
    by_text = {s.text: s for s in sent if s.text}
    for cycle in cycles:
        notes = cycle.notes(eff.confirmed)
        for s in cycle.items:
            if s.text and s.key in eff.confirmed and s.text not in holder:
                eff.lost.append(("note", s.text, [s.key]))
        if cycle.done is None or cycle.done.key not in eff.confirmed or not notes:
            continue
        votes = Counter(i for note in notes for i in holder.get(note, []))
        ids = sorted(votes, key=lambda i: (-votes[i], i))
        if not ids:
            eff.lost.append(("done", f"engineer {cycle.uid} cycle {cycle.index}: no check-in",
                             [cycle.done.key] + [s.key for s in cycle.items]))
            continue
        checkin_id = ids[0]
        matched.add(checkin_id)
        held = texts[checkin_id].split("\n")
        if held != notes:
            what = "order broken" if sorted(held) == sorted(notes) else "notes in the wrong check-in"
            keys = [s.key for s in cycle.items] + [cycle.done.key] + [by_text[n].key for n in held if n in by_text]
            eff.misordered.append((f"{what}: check-in {checkin_id} holds {held!r}, cycle {cycle.index} of engineer "
                                   f"{cycle.uid} sent {notes!r}", keys))
        want, got = cycle.photos(eff.confirmed), json_photos.get(checkin_id, obs.photos_by_checkin.get(checkin_id, 0))
        if got < want:
            eff.lost += [("photo", f"check-in {checkin_id}: {got} of {want} photo(s)",
                          [s.key for s in cycle.items if s.kind == "photo"])] * (want - got)
        elif got > want:
            eff.duplicate_effects.append(f"check-in {checkin_id}: {got} photo(s), {want} sent")
    for checkin_id in sorted(set(texts) - matched):
        eff.duplicate_effects.append(f"check-in {checkin_id} ({texts[checkin_id]!r}) matches no cycle")

    for p in probes:
        if p.sent.key in eff.confirmed and p.answered is None:
            eff.lost.append(("help", f"/help from {p.uid} after restart {p.restart} never answered", [p.sent.key]))
    return eff


# -- the scheduler's reminders (failover) --------------------------------------------------------
def reminders(obs: Observed, sends: Sends, max_reminders: int, escalates: bool = True) -> dict[str, Any]:
    """Every acknowledgement's ladder complete (remind 1..max, then the escalation), each written
    once (unique dedupe keys) and delivered once."""
    rows = {r["dedupe_key"]: r for r in obs.outbox}
    missing: list[str] = []
    for ack in obs.acks:
        keys = [f"ack:{ack['id']}:remind:{n}" for n in range(1, max_reminders + 1)]
        if escalates:
            keys += [f"ack:{ack['id']}:escalate", f"ack:{ack['id']}:escalated"]
        missing += [k for k in keys if rows.get(k, {}).get("status") != "sent"]
    ids = {r["id"] for r in obs.outbox if r["purpose"] in ("ack_reminder", "ack_escalation")}
    extras = [c for c in sends.extras if sends.logical.get(id(c), ("",))[0] == "row"
              and sends.logical[id(c)][1] in ids]
    return {"acks": len(obs.acks), "reminder_rows": len(ids), "reminders_missing": missing,
            "reminders_delivered_twice": len(extras)}
