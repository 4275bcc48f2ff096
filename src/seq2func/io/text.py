"""Text files as users have them: plain, gzip or bgzip; lines with their numbers; and the standard
error of C libraries (htslib, libBigWig), captured so that their messages never precede ours."""

from __future__ import annotations

import gzip
import io
import os
import re
import sys
import tempfile
import zlib
from pathlib import Path
from typing import IO, ClassVar, Iterator

from seq2func.errors import InputError

GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def is_gzip(path: str | os.PathLike) -> bool:
    """True when the file starts with the gzip magic bytes (gzip or bgzip).

    Parameters
    ----------
    path : str or os.PathLike
        The file to look at (its first two bytes are read).

    Returns
    -------
    bool
        Whether it is gzip-compressed.
    """
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def is_bgzip(path: str | os.PathLike) -> bool:
    """True for a BGZF file: a gzip member with FEXTRA and the ``BC`` subfield.

    Parameters
    ----------
    path : str or os.PathLike
        The file to look at (its first 18 bytes are read).

    Returns
    -------
    bool
        Whether it is bgzip-compressed (plain gzip gives False).
    """
    with open(path, "rb") as fh:
        head = fh.read(18)
    return len(head) >= 18 and head[:2] == b"\x1f\x8b" and bool(head[3] & 4) and head[12:14] == b"BC"


def open_bytes(path: str | os.PathLike) -> IO[bytes]:
    """A binary handle, decompressing gzip/bgzip (detected by content, not by name).

    Parameters
    ----------
    path : str or os.PathLike
        A plain, gzip or bgzip file.

    Returns
    -------
    IO[bytes]
        An open handle yielding the uncompressed bytes; the caller closes it.
    """
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def open_text(path: str | os.PathLike, display: str | None = None) -> IO[str]:
    """A UTF-8 text handle of a plain or gzipped file; a missing file is an :class:`InputError`.

    Parameters
    ----------
    path : str or os.PathLike
        A plain, gzip or bgzip text file.
    display : str, optional
        The name to use in the error message (default: ``path``).

    Returns
    -------
    IO[str]
        An open text handle (undecodable bytes replaced, universal newlines); the caller closes it.

    Raises
    ------
    InputError
        When ``path`` is not a file.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(display or p, None, "file not found")
    return io.TextIOWrapper(open_bytes(p), encoding="utf-8", errors="replace", newline=None)


def iter_text_lines(path: str | os.PathLike, display: str | None = None, what: str = "text") -> Iterator[tuple[int, str]]:
    """``(line number, line without its newline)`` of a plain or gzipped text file.

    Binary content, corrupt gzip data and unreadable files are :class:`InputError` naming the line.

    Parameters
    ----------
    path : str or os.PathLike
        A plain, gzip or bgzip text file.
    display : str, optional
        The name to use in error messages (default: ``path``).
    what : str, optional
        The kind of file, for the binary-data message (``not a <what> text file``).

    Yields
    ------
    tuple of (int, str)
        The 1-based line number and the UTF-8 line with ``\r``/``\n`` stripped.

    Raises
    ------
    InputError
        On a missing or unreadable file, a line that is not UTF-8, or corrupt gzip data.
    """
    display = display or os.fspath(path)
    line_no = 0
    try:
        with open_bytes(path) as fh:
            for line_no, raw in enumerate(fh, start=1):
                try:
                    yield line_no, raw.decode("utf-8").rstrip("\r\n")
                except UnicodeDecodeError:
                    raise InputError(display, f"line {line_no}", f"not a {what} text file (binary data)") from None
    except GZIP_ERRORS as err:
        raise InputError(display, f"line {line_no + 1}", f"corrupt or truncated gzip data: {err}") from None
    except FileNotFoundError:
        raise InputError(display, None, "file not found") from None
    except OSError as err:
        raise InputError(display, None, f"cannot read: {err.strerror or err}") from None


class CStderr:
    """Capture what C libraries (htslib, libBigWig) print on file descriptor 2.

    >>> cap = CStderr()
    >>> with cap:
    ...     pass  # open a file with pysam here
    >>> cap.messages()  # htslib's "[E::func] message" lines, prefix stripped
    []
    """

    _spare: ClassVar[list] = []  # buffers of finished captures, reused: creating a temporary file costs ~0.1 ms

    def __init__(self) -> None:
        self.text = ""

    def __enter__(self) -> "CStderr":
        sys.stderr.flush()
        self._buf = CStderr._spare.pop() if CStderr._spare else tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._buf.fileno(), 2)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            sys.stderr.flush()
        except Exception:  # pragma: no cover
            pass
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._buf.seek(0)
        self.text += self._buf.read().decode("utf-8", "replace")
        self._buf.seek(0)
        self._buf.truncate()
        CStderr._spare.append(self._buf)

    def messages(self, levels: str = "EW") -> list[str]:
        """htslib-style ``[E::func] message`` lines, prefix stripped; other non-empty lines too.

        Parameters
        ----------
        levels : str, optional
            The htslib levels to keep, ``E`` (error) and/or ``W`` (warning); default both.
            Lines without an ``[E::``/``[W::`` prefix are always kept (with any ``[...]`` prefix
            stripped), except unparsed ``[W::`` lines.

        Returns
        -------
        list of str
            The messages captured so far, in order.
        """
        out = []
        for line in self.text.splitlines():
            m = re.match(r"^\[([EW])::[^\]]*\]\s*(.*)$", line)
            if m:
                if m.group(1) in levels:
                    out.append(m.group(2).strip())
            elif line.strip() and not line.startswith("[W::"):
                out.append(re.sub(r"^\[[^\]]*\]\s*", "", line.strip()))
        return out
