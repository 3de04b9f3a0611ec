"""Test support: what the test modules share, so that no test module imports another.

* :mod:`tests.support.world` — the end-to-end World: the real bot on a real database behind one
  channel's emulator, people played with neutral verbs (say, press, send_photo, send_location,
  expect) and bot messages read as neutral :class:`~tests.support.channels.Message` views;
* :mod:`tests.support.channels` — the :class:`~tests.support.channels.Driver` a channel implements
  to plug into the World, the registry of drivers and ``FIELDBOT_TEST_CHANNELS``;
* :mod:`tests.support.telegram` — Telegram: the drivers for aiogram and python-telegram-bot, and
  :class:`~tests.support.telegram.TelegramWorld` (Bot API dicts, the emulator's internals) for the
  tests of Telegram itself;
* :mod:`tests.support.cast` — the usual cast (team North's people as chat user ids), joining,
  person ids;
* :mod:`tests.support.tickets` — tickets registered and moved along the lifecycle directly,
  acting as a person the way a handler does, check-ins;
* :mod:`tests.support.chat` — reading the chat: an engineer's ticket card and its text;
* :mod:`tests.support.calendars` — the business calendar of the scheduler tests and an App on it;
* :mod:`tests.support.chase` — people, tickets and outbox rows for scheduler jobs run without a chat;
* :mod:`tests.support.sla` — the SLA fortnight and its crew;
* :mod:`tests.support.cli` — ``fieldbot`` run on the command line against the test's database;
* :mod:`tests.support.history` — finished work written straight into the database (reports, the
  knowledge base).
"""
