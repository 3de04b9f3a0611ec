"""Parameter checking against the Bot API spec: Telegram's ``api.json``, read as it is.

Why: the real server silently ignores unknown parameters, so a typo in the bot (``replymarkup``)
would pass every test and fail in production. The emulator is stricter than Telegram on
purpose: an unknown or missing parameter is a 400 naming the parameter, and values are
coerced by their declared type exactly once, here, so method handlers see clean Python values.

Where the spec comes from (:func:`locate_spec`): an explicit path, else the environment
variable ``FIELDBOT_BOTAPI_SPEC``, else the copy shipped in this package,
``bot/emulator/botapi/api.json`` (Bot API 10.1 without its documentation prose; see
``botapi/README.md`` for its source and how it is derived). Any full upstream ``api.json``
works as well, since only names, types and ``required`` are read. Parsed once per path and
process.

The shipped file is always there, so the emulator validates by default, in tests and in the
demo alike. Only when the default file is missing (a broken install) and the caller opted out
with ``require_spec=False`` does the emulator run on :meth:`ApiSpec.unvalidated`: the
parameter types aiogram declares, used only to turn form-encoded strings back into numbers,
booleans and objects, nothing rejected, with a warning.

``python -c "from bot.emulator.spec import ApiSpec; print(ApiSpec.load())"`` shows which file
is used and its Bot API version.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpecError, spec_error
from .wire import Upload

log = logging.getLogger(__name__)

ENV_VAR = "FIELDBOT_BOTAPI_SPEC"
# The copy shipped in the package (bot/emulator/botapi/api.json). Read at call time, so a
# test can point it elsewhere.
DEFAULT_SPEC_PATH = Path(__file__).resolve().parent / "botapi" / "api.json"
SHIPPED_NAME = "bot/emulator/botapi/api.json"  # how messages name it: no machine's own path

# aiogram compatibility: parameters that Telegram dropped from the documentation (so they are
# not in api.json) but still honours, and that aiogram 3 still sends when a bot uses them
# (``Message.answer(reply_to_message_id=...)``, the ``disable_web_page_preview`` default).
# Accepted only where their modern replacement exists in the method
# (name -> (types, replacement parameter)).
LEGACY_PARAMS: dict[str, tuple[list[str], str]] = {
    "reply_to_message_id": (["Integer"], "reply_parameters"),
    "allow_sending_without_reply": (["Boolean"], "reply_parameters"),
    "disable_web_page_preview": (["Boolean"], "link_preview_options"),
}

_INT = re.compile(r"^[+-]?\d+$")
_warned_missing = False  # the "not validating" warning is logged once per process


class SpecNotFound(FileNotFoundError):
    """None configured and the shipped spec is missing from the package (a broken install)."""


@dataclass(frozen=True)
class Param:
    name: str
    required: bool
    types: tuple[str, ...]


def locate_spec(path: str | os.PathLike[str] | None = None) -> tuple[Path | None, str]:
    """The spec file to use and where that choice came from.

    An explicit ``path`` or ``$FIELDBOT_BOTAPI_SPEC`` is returned as given (a missing file is
    then the caller's error to report); the shipped copy only if the file is there.
    """
    if path is not None:
        return Path(path), "argument"
    configured = os.environ.get(ENV_VAR, "").strip()
    if configured:
        return Path(configured), f"${ENV_VAR}"
    return (DEFAULT_SPEC_PATH if DEFAULT_SPEC_PATH.is_file() else None), "shipped with the package"


class ApiSpec:
    """Per-method parameter tables; method names are case-insensitive, as in Telegram.

    ``validating`` is False only for :meth:`unvalidated` (no spec file, by explicit opt-out):
    then parameters are coerced where their type is known and otherwise passed through, never
    rejected.
    """

    def __init__(self, version: str, methods: dict[str, list[Param]], *, validating: bool = True,
                 source: str | None = None) -> None:
        self.version = version
        self.validating = validating
        self.source = source
        self.methods = {name: {p.name: p for p in params} for name, params in methods.items()}
        self._by_lower = {name.lower(): name for name in methods}

    def __repr__(self) -> str:
        mode = "validating" if self.validating else "NOT validating"
        return f"<ApiSpec {self.version}, {len(self.methods)} methods, {mode}, from {self.source}>"

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> ApiSpec:
        """Read an ``api.json`` (see :func:`locate_spec`; the shipped copy by default);
        parsed once per path.

        Raises :class:`SpecNotFound` when nothing is configured and the shipped copy is missing,
        ``FileNotFoundError`` when a configured path does not exist.
        """
        found, origin = locate_spec(path)
        if found is None:
            raise SpecNotFound(
                f"the Bot API description that comes with the emulator ({SHIPPED_NAME}) is not "
                f"installed and ${ENV_VAR} is not set")
        if not found.is_file():
            raise FileNotFoundError(f"Bot API spec {found} (from {origin}) does not exist")
        return _load_cached(found.resolve())

    @classmethod
    def from_api_json(cls, full: dict[str, Any], source: str | None = None) -> ApiSpec:
        """Extract what validation needs from the full description: per method, each
        parameter's name, whether it is required and its declared types."""
        methods = {
            name: [Param(f["name"], bool(f.get("required")), tuple(f["types"]))
                   for f in method.get("fields", [])]
            for name, method in full["methods"].items()
        }
        return cls(full.get("version", "unknown"), methods, source=source)

    @classmethod
    def unvalidated(cls) -> ApiSpec:
        """A non-validating table for running without any spec file (see module doc)."""
        return _aiogram_spec()

    @classmethod
    def for_emulator(cls, *, require: bool) -> ApiSpec:
        """The spec an emulator uses: :meth:`load`, or, only when the shipped file is missing
        and ``require`` is False, :meth:`unvalidated` with a warning (logged once per process)."""
        global _warned_missing
        try:
            return cls.load()
        except SpecNotFound as exc:
            if require:
                raise SpecNotFound(f"{exc}; the emulator checks every request against it by default "
                                   f"(require_spec=True). Reinstall Fieldbot, or set {ENV_VAR} to "
                                   f"an api.json.") from None
            if not _warned_missing:
                _warned_missing = True
                log.warning("Telegram emulator: the Bot API description (%s) is not installed, so "
                            "requests are accepted without checking them. To check them, reinstall "
                            "Fieldbot or set %s to an api.json.", SHIPPED_NAME, ENV_VAR)
            return cls.unvalidated()

    def canonical(self, method: str) -> str | None:
        """The spec spelling of ``method`` (``sendmessage`` -> ``sendMessage``), or None."""
        return self._by_lower.get(method.lower())

    def validate(self, method: str, fields: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
        """Check and coerce one call's parameters; raise a 400 SpecError on the first problem.

        ``attach://name`` values are replaced by the uploaded part; a file part posted under
        a parameter's own name counts as that parameter. Other file parts are attachments
        and are only used if referenced. Not validating, nothing raises: unknown parameters
        and values that do not fit their type pass through as sent.
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
                    if not self.validating:
                        out[name] = value
                        continue
                    raise spec_error(f"unknown parameter '{name}' for method {method} ({self.version})")
                param = Param(name, False, tuple(legacy[0]))
            if value is None or (value == "" and "String" not in param.types):
                continue  # null, or an empty non-string, counts as not given
            # An empty string stays: handlers answer it as Telegram does ("message text is
            # empty"; setWebhook url="" removes the webhook).
            try:
                out[name] = value if value == "" else _coerce(method, param, value, uploads)
            except SpecError:
                if self.validating:
                    raise
                out[name] = value
        if self.validating:
            for param in table.values():
                if param.required and param.name not in out:
                    raise spec_error(f"parameter '{param.name}' is required by {method}")
        return out


@functools.lru_cache(maxsize=8)
def _load_cached(path: Path) -> ApiSpec:
    return ApiSpec.from_api_json(json.loads(path.read_text(encoding="utf-8")), source=str(path))


@functools.lru_cache(maxsize=1)
def _aiogram_spec() -> ApiSpec:
    """Parameter names and types from aiogram's method models (the client the bot uses)."""
    import aiogram
    import aiogram.methods
    from aiogram.methods.base import TelegramMethod

    methods: dict[str, list[Param]] = {}
    for obj in vars(aiogram.methods).values():
        name = getattr(obj, "__api_method__", None)
        if isinstance(obj, type) and issubclass(obj, TelegramMethod) and isinstance(name, str):
            methods[name] = [Param(field.alias or key, field.is_required(), _aiogram_types(field.annotation))
                             for key, field in obj.model_fields.items()]
    return ApiSpec(f"aiogram {aiogram.__version__} method models", methods, validating=False,
                   source="aiogram (no Bot API spec file)")


def _aiogram_types(annotation: Any) -> tuple[str, ...]:
    """Bot API type names (``Integer``, ``Array of X``, object names) of an aiogram annotation."""
    from aiogram.client.default import Default
    from aiogram.types import InputFile
    from pydantic import BaseModel

    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _aiogram_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        names: list[str] = []
        for arg in typing.get_args(annotation):
            names += [n for n in _aiogram_types(arg) if n not in names]
        return tuple(names)
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        return tuple(f"Array of {n}" for n in _aiogram_types(item)[:1]) or ("Array of String",)
    if origin is typing.Literal:
        return _aiogram_types(type(typing.get_args(annotation)[0]))
    if annotation is type(None) or annotation is Default:
        return ()
    simple = {bool: "Boolean", int: "Integer", float: "Float", str: "String",
              dt.datetime: "Integer", dt.timedelta: "Integer"}
    if annotation in simple:
        return (simple[annotation],)
    if isinstance(annotation, type) and issubclass(annotation, InputFile):
        return ("InputFile",)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return (annotation.__name__,)
    return ("String",)


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
