"""Test support: what the test modules share, so that no test module imports another.

* :mod:`tests.support.world` — the end-to-end World (Bot API emulator + the real bot + a real
  database) and the button helpers;
* :mod:`tests.support.cast` — the usual cast (team North's people as chat user ids), joining,
  person ids;
* :mod:`tests.support.tickets` — tickets registered and moved along the lifecycle directly,
  acting as a person the way a handler does, check-ins;
* :mod:`tests.support.chat` — reading the chat: an engineer's ticket card, menus;
* :mod:`tests.support.calendars` — the business calendar of the scheduler tests and an App on it;
* :mod:`tests.support.chase` — people, tickets and outbox rows for scheduler jobs run without a chat;
* :mod:`tests.support.sla` — the SLA fortnight and its crew;
* :mod:`tests.support.history` — finished work written straight into the database (reports, the
  knowledge base).
"""
