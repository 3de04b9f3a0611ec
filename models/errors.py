"""Domain errors carry a code and parameters, never prose: the handler or CLI that catches one
renders it from the message catalog in the reader's language."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params
        detail = ", ".join(f"{k}={v}" for k, v in params.items())
        super().__init__(f"{code}({detail})" if detail else code)
