"""Channel adapters (Telegram on aiogram or python-telegram-bot, WeCom): each owns both directions
of its channel and translates to and from the neutral vocabulary in :mod:`handlers.channel`."""
