"""The Bot API description shipped with the emulator (``api.json``) and how it was derived.

Why inside the package: the emulator checks every request against it, and a fresh clone or
an installed wheel must do that with nothing beside it. See ``README.md`` in this folder.
"""
