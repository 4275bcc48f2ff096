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
    """``'a', 'b', 'c' ... (12 in all)`` — the first few of a list and its size.

    Parameters
    ----------
    items : Iterable[object]
        The offending items (shown as quoted strings).
    n : int, optional
        How many to show.

    Returns
    -------
    str
        The first ``n`` items, and the total when there are more.
    """
    items = list(items)
    head = ", ".join(repr(str(i)) for i in items[:n])
    return head if len(items) <= n else f"{head} ... ({len(items)} in all)"


class Warnings:
    """Collected warnings; under ``strict`` a data warning becomes an :class:`InputError`."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.items: list[str] = []

    def add(self, path: str | None, record: str | None, message: str, *, promote: bool = True) -> None:
        """Record a warning, or raise it as an error under ``strict``.

        Parameters
        ----------
        path : str or None
            The file (or ``--parameter``) the warning is about.
        record : str or None
            Where in it (``line 12``, ``row 3 (track_id=...)``); ``None``: the file as a whole.
        message : str
            What is wrong.
        promote : bool, optional
            Whether ``strict`` turns this warning into an error (``False`` for warnings about
            parameters rather than data).

        Raises
        ------
        InputError
            Under ``strict`` when ``promote`` is true.
        """
        err = InputError(path, record, message)
        if self.strict and promote:
            raise InputError(err.path, err.record, err.message + " (an error under --strict)")
        self.items.append(str(err))
