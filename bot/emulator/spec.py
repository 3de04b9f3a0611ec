"""Parameter checking against the Bot API spec (``api_spec.json``, see ``make_spec.py``).

Why: the real server silently ignores unknown parameters, so a typo in the bot (``replymarkup``)
would pass every test and fail in production. The emulator is stricter than Telegram on
purpose: an unknown or missing parameter is a 400 naming the parameter, and values are
coerced by their declared type exactly once, here, so method handlers see clean Python values.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import spec_error
from .wire import Upload

SPEC_PATH = Path(__file__).with_name("api_spec.json")

# Parameters that Telegram dropped from the documentation but still honours, and that
# aiogram still sends when a bot uses them. Accepted only where their modern replacement
# exists in the method (name -> (types, replacement parameter)).
LEGACY_PARAMS: dict[str, tuple[list[str], str]] = {
    "reply_to_message_id": (["Integer"], "reply_parameters"),
    "allow_sending_without_reply": (["Boolean"], "reply_parameters"),
    "disable_web_page_preview": (["Boolean"], "link_preview_options"),
}

_INT = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class Param:
    name: str
    required: bool
    types: tuple[str, ...]


class ApiSpec:
    """Per-method parameter tables; method names are case-insensitive, as in Telegram."""

    def __init__(self, version: str, methods: dict[str, list[Param]]) -> None:
        self.version = version
        self.methods = {name: {p.name: p for p in params} for name, params in methods.items()}
        self._by_lower = {name.lower(): name for name in methods}

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> ApiSpec:
        """Parse the spec file once per path (a small package file; later calls are cached)."""
        return _load_cached(path)

    @classmethod
    def from_json(cls, raw: dict) -> ApiSpec:
        methods = {
            name: [Param(p["name"], p["required"], tuple(p["types"])) for p in params]
            for name, params in raw["methods"].items()
        }
        return cls(raw["version"], methods)

    def canonical(self, method: str) -> str | None:
        """The spec spelling of ``method`` (``sendmessage`` -> ``sendMessage``), or None."""
        return self._by_lower.get(method.lower())

    def validate(self, method: str, fields: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
        """Check and coerce one call's parameters; raise a 400 ApiError on the first problem.

        ``attach://name`` values are replaced by the uploaded part; a file part posted under
        a parameter's own name counts as that parameter. Other file parts are attachments
        and are only used if referenced.
        """
        table = self.methods[method]
        merged: dict[str, Any] = dict(fields)
        for name, upload in uploads.items():
            if name in table and name not in merged:
                merged[name] = upload
        out: dict[str, Any] = {}
        for name, value in merged.items():
            param = table.get(name)
            if param is None:
                legacy = LEGACY_PARAMS.get(name)
                if legacy is None or legacy[1] not in table:
                    raise spec_error(f"unknown parameter '{name}' for method {method} ({self.version})")
                param = Param(name, False, tuple(legacy[0]))
            if value is None or (value == "" and "String" not in param.types):
                continue  # null, or an empty non-string, counts as not given
            # An empty string stays: handlers answer it as Telegram does ("message text is
            # empty"; setWebhook url="" removes the webhook).
            out[name] = value if value == "" else _coerce(method, param, value, uploads)
        for param in table.values():
            if param.required and param.name not in out:
                raise spec_error(f"parameter '{param.name}' is required by {method}")
        return out


@functools.lru_cache(maxsize=4)
def _load_cached(path: Path) -> ApiSpec:
    return ApiSpec.from_json(json.loads(path.read_text(encoding="utf-8")))


def _coerce(method: str, param: Param, value: Any, uploads: dict[str, Upload]) -> Any:
    """Turn a wire value into the Python value of one of the parameter's declared types."""
    if isinstance(value, str) and value.startswith("attach://") and "InputFile" in param.types:
        part = uploads.get(value[len("attach://"):])
        if part is None:
            raise spec_error(f"file attachment '{value}' for '{param.name}' was not uploaded")
        return part
    if isinstance(value, Upload):
        if "InputFile" in param.types:
            return value
        raise spec_error(f"parameter '{param.name}' of {method} can't be a file upload")
    ordered = [t for t in param.types if t != "String"] + (["String"] if "String" in param.types else [])
    for type_name in ordered:
        ok, result = _as_type(type_name, value)
        if ok:
            return result
    expected = " or ".join(param.types)
    raise spec_error(f"parameter '{param.name}' of {method} must be {expected}, got {value!r:.60}")


def _as_type(type_name: str, value: Any) -> tuple[bool, Any]:
    if type_name == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return True, value
        if isinstance(value, str) and _INT.match(value.strip()):
            return True, int(value)
        return False, None
    if type_name == "Float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, float(value)
        try:
            return (True, float(value)) if isinstance(value, str) else (False, None)
        except ValueError:
            return False, None
    if type_name == "Boolean":
        if isinstance(value, bool):
            return True, value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True, True
        if text in ("false", "0"):
            return True, False
        return False, None
    if type_name == "String":
        if isinstance(value, str):
            return True, value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, str(value)
        return False, None
    if type_name == "InputFile":
        return (True, value) if isinstance(value, str) else (False, None)
    # Objects and arrays: JSON-serialized on the wire, native in a JSON body.
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return False, None
    want_list = type_name.startswith("Array of")
    if want_list and isinstance(value, list):
        return True, value
    if not want_list and isinstance(value, dict):
        return True, value
    return False, None
