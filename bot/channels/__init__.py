"""Channel adapters (Telegram on aiogram, python-telegram-bot, WeCom) and the channel-neutral
types they translate to and from (:mod:`bot.channels.types`)."""
