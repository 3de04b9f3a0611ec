"""WeCom's decrypted callback XML, read into plain values (PROTOCOL.md §1.4).

A 20-line ElementTree reader instead of wechatpy's parser (which lacks ``template_card_event``):
flat ``<Tag>`` children become strings (CDATA or bare numbers alike), nested blocks
(``SendLocationInfo``, ``SendPicsInfo``) become dicts.  A document with a DOCTYPE or an entity is
refused (no entity expansion, ever).  Characters XML 1.0 cannot carry (C0 controls but tab and
line breaks, lone surrogates, U+FFFE/U+FFFF) are dropped before parsing: a member's text pasted
with a control character in it would otherwise be refused as "not XML" and never answered, however
often WeCom re-delivered it.  WeCom nests at most four levels below ``<xml>``
(``SendPicsInfo/PicList/item/PicMd5Sum``); a document nested deeper than :data:`MAX_DEPTH` is
refused, not read recursively into a RecursionError (which escaped the callback as a 500).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

#: What XML 1.0 does not allow anywhere in a document.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Levels of elements below ``<xml>`` read; deeper is not a WeCom message.
MAX_DEPTH = 8


class BadXml(ValueError):
    """Not a WeCom message."""


def read(plaintext: str) -> dict[str, Any]:
    if "<!DOCTYPE" in plaintext or "<!ENTITY" in plaintext:
        raise BadXml("a DOCTYPE or entity in a WeCom message")
    try:
        root = ET.fromstring(NOT_XML.sub("", plaintext))
    except ET.ParseError as exc:
        raise BadXml(f"not XML: {exc}") from None
    if root.tag != "xml":
        raise BadXml(f"root element {root.tag!r}, not xml")
    return {child.tag: _value(child, 1) for child in root}


def _value(node: ET.Element, depth: int) -> Any:  # noqa: ANN401
    children = list(node)
    if not children:
        return (node.text or "").strip() if node.tag not in ("Content", "Label") else (node.text or "")
    if depth >= MAX_DEPTH:
        raise BadXml(f"elements nested over {MAX_DEPTH} levels deep")
    return {child.tag: _value(child, depth + 1) for child in children}


def number(fields: dict[str, Any], *keys: str) -> float:
    """The first of ``keys`` present, as a number (``Location_X``/``Latitude`` …)."""
    for key in keys:
        value = fields.get(key)
        if value not in (None, ""):
            try:
                return float(value)
            except (TypeError, ValueError):
                raise BadXml(f"{key} is not a number: {value!r:.40}") from None
    raise BadXml(f"none of {keys} in the message")
