"""Words people write for "there is none" or "not known" in a field that may stay empty.

A serial number typed (or imported) as ``none``, ``无``, ``没有``, ``n/a``, ``-`` or ``不详`` is no serial:
stored empty (NULL) and shown as "none" / "无", never as a serial called "无" that no asset
search would match.  Shared by the registry (``/new``, ``fieldbot ticket create``, CSV import) and
the corrections (``/edit_ticket``, ``fieldbot ticket edit``).
"""

from __future__ import annotations

#: Compared after folding case and full-width forms, with trailing ``.`` / ``。`` dropped.
NONE_WORDS = frozenset({
    "none", "no", "nil", "null", "n/a", "na", "-", "--", "—", "/", "unknown", "not known",
    "无", "没有", "没", "暂无", "不详", "未知", "不知道", "无序列号", "没有序列号",
})


_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}  # ｎ／ａ → n/a


def is_blank(text: str | None) -> bool:
    """Whether ``text`` is empty or one of :data:`NONE_WORDS`."""
    folded = (text or "").translate(_FULL_WIDTH).strip().lower().rstrip(".。").strip()
    return not folded or folded in NONE_WORDS
