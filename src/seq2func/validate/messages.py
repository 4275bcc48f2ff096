"""What VALIDATE collects besides errors: warnings (errors under ``--strict``) and short previews of
offending items.
"""

from __future__ import annotations

import json
from typing import Iterable

from seq2func.errors import InputError

# --------------------------------------------------------------------------------------------
# small helpers


def _fmt(value: object) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def preview(items: Iterable[object], n: int = 3) -> str:
    """``'a', 'b', 'c' ... (12 in all)`` — the first few of a list and its size."""
    items = list(items)
    head = ", ".join(repr(str(i)) for i in items[:n])
    return head if len(items) <= n else f"{head} ... ({len(items)} in all)"


class Warnings:
    """Collected warnings; under ``strict`` a data warning becomes an :class:`InputError`."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.items: list[str] = []

    def add(self, path: str | None, record: str | None, message: str, *, promote: bool = True) -> None:
        err = InputError(path, record, message)
        if self.strict and promote:
            raise InputError(err.path, err.record, err.message + " (an error under --strict)")
        self.items.append(str(err))
