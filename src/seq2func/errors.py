"""One error type for bad user input, rendered as one line that names the file and the record."""

from __future__ import annotations

import os


class InputError(Exception):
    """Bad user input. ``str(err)`` is one line: ``<file>: <record>: <message>``.

    ``path`` is the offending file (or a parameter name such as ``--seq_length``), ``record``
    locates the problem inside it (``line 12``, ``row 3 (track_id=abc)``, ``chr1:100``) and may
    be empty when the problem is the file as a whole.
    """

    def __init__(self, path: str | os.PathLike | None, record: str | None, message: str):
        self.path = "" if path is None else os.fspath(path)
        self.record = record or ""
        self.message = " ".join(str(message).split())  # always one line
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.path, self.record, self.message) if p]
        return ": ".join(parts)
