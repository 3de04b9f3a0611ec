"""WeCom (企业微信): the self-built app for staff and 微信客服 (kf) for customers.

``crypto`` holds the callback crypto (PROTOCOL.md §2), shared by the adapter's callback endpoint and
by the local emulator (:mod:`bot.wecom_emulator`). The adapter itself lives beside it in this package.
Nothing is imported here, so importing one module never pulls in the others.
"""
