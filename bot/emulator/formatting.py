"""Server-side parsing of ``parse_mode`` text into plain text + MessageEntity list.

Why: the most common production failure of a Telegram bot is text that is not valid for its
parse mode (an unescaped ``<`` in a customer's address, a ``.`` in MarkdownV2). Telegram then
answers 400 ``can't parse entities``. Parsing here with Telegram's rules (and its error
wording) makes such bugs fail in tests, and gives tests the text a person would actually see.
Offsets and lengths are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re

from .errors import ApiError, bad_request

HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}
MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_ATTR = re.compile(r"""\s*([a-zA-Z-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]*)))?""")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class _Builder:
    """Accumulates plain text while tracking its length in UTF-16 units."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[dict] = []

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.pos += len(text.encode("utf-16-le")) // 2

    def entity(self, type_: str, start: int, **extra: object) -> None:
        if self.pos > start:  # Telegram drops empty entities
            self.entities.append({"type": type_, "offset": start, "length": self.pos - start, **extra})

    def result(self) -> tuple[str, list[dict]]:
        ents = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), ents


def _fail(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def _byte(text: str, i: int) -> int:
    return len(text[:i].encode("utf-8"))


def parse_html(text: str) -> tuple[str, list[dict]]:
    out = _Builder()
    stack: list[tuple[str, int, dict]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            m = re.match(r"&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);", text[i:])
            if m:
                key = m.group(1)
                if key.startswith("#x"):
                    out.emit(chr(int(key[2:], 16)))
                elif key.startswith("#"):
                    out.emit(chr(int(key[1:])))
                elif key.lower() in _NAMED:
                    out.emit(_NAMED[key.lower()])
                else:
                    out.emit(m.group(0))
                i += len(m.group(0))
                continue
        if c != "<":
            out.emit(c)
            i += 1
            continue
        begin = i
        if i + 1 < n and text[i + 1] == "/":
            if not stack:
                raise _fail(f"Unexpected end tag at byte offset {_byte(text, begin)}")
            close = text.find(">", i)
            name = text[i + 2:close].strip().lower() if close >= 0 else ""
            if close < 0 or any(ch.isspace() or ch == "<" for ch in name):
                raise _fail(f"Unclosed end tag at byte offset {_byte(text, begin)}")
            tag, start, attrs = stack.pop()
            if name and name != tag:
                raise _fail(f'Unmatched end tag at byte offset {_byte(text, begin)}, '
                            f'expected "</{tag}>", found "</{name}>"')
            _close_html(out, tag, start, attrs, stack)
            i = close + 1
            continue
        j = i + 1
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise _fail(f"Unclosed start tag at byte offset {_byte(text, begin)}")
        tag = text[i + 1:j].lower()
        if tag not in HTML_TAGS:
            raise _fail(f'Unsupported start tag "{tag}" at byte offset {_byte(text, begin)}')
        close = text.find(">", j)
        if close < 0:
            raise _fail(f"Unclosed start tag at byte offset {_byte(text, begin)}")
        attrs = {m.group(1).lower(): next((g for g in m.groups()[1:] if g is not None), "")
                 for m in _ATTR.finditer(text[j:close]) if m.group(1)}
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _fail('Tag "span" must have class "tg-spoiler"')
        stack.append((tag, out.pos, attrs))
        i = close + 1
    if stack:
        raise _fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _close_html(out: _Builder, tag: str, start: int, attrs: dict, stack: list) -> None:
    kind = HTML_TAGS[tag]
    if kind == "text_link":
        href = attrs.get("href", "")
        if href:
            out.entity("text_link", start, url=href)
        return
    if kind == "code" and stack and stack[-1][0] == "pre":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1][2]["language"] = language[len("language-"):]
            return
    if kind == "pre" and attrs.get("language"):
        out.entity("pre", start, language=attrs["language"])
    elif kind == "custom_emoji":
        out.entity("custom_emoji", start, custom_emoji_id=attrs.get("emoji-id", ""))
    elif kind == "blockquote" and "expandable" in attrs:
        out.entity("expandable_blockquote", start)
    else:
        out.entity(kind, start)


def parse_markdown_v2(text: str) -> tuple[str, list[dict]]:
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # (kind, utf16 start, char index)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        top = stack[-1][0] if stack else None
        if c == "\\" and i + 1 < n and ord(text[i + 1]) < 127:
            out.emit(text[i + 1])
            i += 2
            continue
        if top in ("code", "pre"):
            end = "```" if top == "pre" else "`"
            if text.startswith(end, i):
                kind, start, _ = stack.pop()
                out.entity(kind, start)
                i += len(end)
            else:
                out.emit(c)
                i += 1
            continue
        if c not in MDV2_RESERVED:
            out.emit(c)
            i += 1
            continue
        closing = {"bold": "*", "italic": "_", "underline": "__", "strikethrough": "~",
                   "spoiler": "||", "text_link": "]"}.get(top or "")
        # "__" inside italic opens underline unless an underline is open below to be closed.
        opens_underline = top == "italic" and text.startswith("__", i) and not any(
            k == "underline" for k, *_ in stack)
        if closing and text.startswith(closing, i) and not opens_underline:
            kind, start, at = stack.pop()
            i += len(closing)
            if kind == "text_link":
                m = re.match(r"\(((?:\\.|[^)\\])*)\)", text[i:])
                if not m:
                    raise _fail(f"Can't find end of TextUrl entity at byte offset {_byte(text, at)}")
                out.entity("text_link", start, url=re.sub(r"\\(.)", r"\1", m.group(1)))
                i += len(m.group(0))
            else:
                out.entity(kind, start)
            continue
        opener = _mdv2_opener(text, i)
        if opener is None:
            raise _fail(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        kind, width = opener
        if kind == "pre":
            newline = text.find("\n", i + 3)
            width = (newline - i + 1) if newline >= 0 and re.fullmatch(r"[\w+-]*", text[i + 3:newline]) else 3
        stack.append((kind, out.pos, i))
        i += width
    if stack:
        kind, _, at = stack[-1]
        raise _fail(f"Can't find end of {kind} entity at byte offset {_byte(text, at)}")
    return out.result()


def _mdv2_opener(text: str, i: int) -> tuple[str, int] | None:
    if text.startswith("```", i):
        return "pre", 3
    for token, kind in (("__", "underline"), ("||", "spoiler"), ("*", "bold"), ("_", "italic"),
                        ("~", "strikethrough"), ("`", "code"), ("[", "text_link")):
        if text.startswith(token, i):
            return kind, len(token)
    return None


def parse_markdown(text: str) -> tuple[str, list[dict]]:
    """Legacy ``Markdown``: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out = _Builder()
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.emit(text[i + 1])
            i += 2
            continue
        token = "```" if text.startswith("```", i) else c if c in "*_`[" else None
        if token is None:
            out.emit(c)
            i += 1
            continue
        end_token = "]" if token == "[" else token
        end = text.find(end_token, i + len(token))
        if end < 0:
            raise _fail(f"Can't find end of the entity starting at byte offset {_byte(text, i)}")
        start = out.pos
        out.emit(text[i + len(token):end])
        i = end + len(end_token)
        if token == "[":
            m = re.match(r"\(([^)]*)\)", text[i:])
            if m:
                out.entity("text_link", start, url=m.group(1))
                i += len(m.group(0))
            continue
        out.entity({"*": "bold", "_": "italic", "`": "code", "```": "pre"}[token], start)
    return out.result()


def render(text: str, parse_mode: str | None, entities: list | None) -> tuple[str, list[dict]]:
    """Return ``(plain_text, entities)`` as Telegram would store the message."""
    if entities is not None and parse_mode:
        # Telegram uses explicit entities and ignores parse_mode; mirror that.
        return text, list(entities)
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    if mode:
        raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    return text, list(entities or [])
