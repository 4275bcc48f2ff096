"""The reference FASTA as users have it: plain or bgzip (not plain gzip), scanned whole once for
structure (a ``>`` header first, unique non-empty records, IUPAC letters only), and indexed
(``.fai``, ``.gzi``) next to it or, when that folder is read-only, in a work folder.

:func:`check_fasta` is what VALIDATE runs; :func:`open_fasta` opens an indexed FASTA for reading
with htslib's messages captured, :func:`fetch` reads from it the same way, and :func:`contig_lengths`
reads the index.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysam

from seq2func.errors import InputError
from seq2func.io.text import GZIP_ERRORS as _GZIP_ERRORS
from seq2func.io.text import CStderr
from seq2func.io.text import is_bgzip as _is_bgzip
from seq2func.io.text import is_gzip as _is_gzip
from seq2func.io.text import open_bytes as _open_bytes

IUPAC = b"ACGTNRYKMSWBDHVacgtnrykmswbdhv"


def _dir_writable(d: Path) -> bool:
    try:
        fd, name = tempfile.mkstemp(dir=d, prefix=".s2f_write_test")
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


@dataclass
class Genome:
    display: str
    path: Path
    names: list[str]
    lengths: dict[str, int]
    fai: Path
    gzi: Path | None
    built_index: bool = False
    _fa: Any = None

    def fasta(self):
        """An open ``pysam.FastaFile`` (cached)."""
        if self._fa is None:
            cap = CStderr()
            try:
                with cap:
                    self._fa = pysam.FastaFile(
                        str(self.path),
                        filepath_index=str(self.fai),
                        filepath_index_compressed=str(self.gzi) if self.gzi else None,
                    )
            except (OSError, ValueError) as err:
                raise InputError(self.display, None, f"cannot open: {'; '.join(cap.messages()) or err}") from None
        return self._fa

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """The sequence of ``chrom:start-end`` (0-based, half-open) as the FASTA spells it.

        Parameters
        ----------
        chrom : str
            A record name of the FASTA.
        start : int
            0-based start.
        end : int
            0-based exclusive end.

        Returns
        -------
        str
            The bases (case kept).
        """
        return self.fasta().fetch(chrom, start, end)


def _scan_fasta(path: Path, display: str) -> list[str]:
    """Scan the whole FASTA in blocks: '>' first, unique non-empty names, IUPAC bases only."""
    names: dict[str, int] = {}
    order: list[str] = []
    cur: str | None = None
    cur_line = 0
    cur_has_seq = False
    lineno = 1  # line number at the start of the current block
    buf = b""
    delete_ok = IUPAC + b"\r\n"

    def check_segment(seg: bytes, seg_start_line: int) -> None:
        nonlocal cur_has_seq
        if not seg:
            return
        if cur is None and seg.strip():
            first = len(seg) - len(seg.lstrip())
            line = seg_start_line + seg.count(b"\n", 0, first)
            raise InputError(display, f"line {line}", "not a FASTA file: text before the first '>' header")
        bad = seg.translate(None, delete_ok)
        if bad:
            c = bad[:1]
            idx = seg.find(c)
            line = seg_start_line + seg.count(b"\n", 0, idx)
            ch = c.decode("latin-1")
            raise InputError(
                display,
                f"line {line} (record '{cur}')",
                f"invalid sequence character {ch!r}; allowed: IUPAC nucleotide codes ACGTN RYKMSWBDHV (either case)",
            )
        if len(seg) > seg.count(b"\n") + seg.count(b"\r"):
            cur_has_seq = True

    try:
        with _open_bytes(path) as fh:
            while True:
                chunk = fh.read(1 << 24)
                eof = not chunk
                data = buf + chunk
                if not eof:
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        buf = data
                        continue
                    block, buf = data[: cut + 1], data[cut + 1 :]
                else:
                    block, buf = data, b""
                pos = 0
                counted_pos, counted_lines = 0, 0
                while pos <= len(block):
                    if block.startswith(b">", pos):
                        h = pos
                    else:
                        f = block.find(b"\n>", pos)
                        h = -1 if f < 0 else f + 1
                    seg_end = len(block) if h < 0 else h
                    counted_lines += block.count(b"\n", counted_pos, pos)
                    counted_pos = pos
                    check_segment(block[pos:seg_end], lineno + counted_lines)
                    if h < 0:
                        break
                    counted_lines += block.count(b"\n", counted_pos, h)
                    counted_pos = h
                    hline = lineno + counted_lines
                    e = block.find(b"\n", h)
                    e = len(block) if e < 0 else e
                    header = block[h + 1 : e].decode("utf-8", "replace").strip()
                    if cur is not None and not cur_has_seq:
                        raise InputError(display, f"line {cur_line} (record '{cur}')", "empty sequence")
                    name = header.split()[0] if header.split() else ""
                    if not name:
                        raise InputError(display, f"line {hline}", "header '>' without a sequence name")
                    if name in names:
                        raise InputError(display, f"line {hline} (record '{name}')", f"duplicate sequence name (first at line {names[name]})")
                    names[name] = hline
                    order.append(name)
                    cur, cur_line, cur_has_seq = name, hline, False
                    pos = e + 1
                lineno += block.count(b"\n")
                if eof:
                    break
    except _GZIP_ERRORS as err:
        raise InputError(display, None, f"corrupt or truncated gzip data: {err}") from None
    except OSError as err:
        raise InputError(display, None, f"cannot read: {err.strerror or err}") from None
    if cur is None:
        raise InputError(display, None, "not a FASTA file: no '>' header" if lineno > 1 or buf else "empty file")
    if not cur_has_seq:
        raise InputError(display, f"line {cur_line} (record '{cur}')", "empty sequence")
    return order


def _read_fai(fai: Path, display: str) -> dict[str, int]:
    lengths: dict[str, int] = {}
    with open(fai, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            f = line.rstrip("\n").split("\t")
            if len(f) < 5 or not f[1].isdigit():
                raise InputError(str(fai), f"line {n}", "malformed .fai index (delete it to rebuild)")
            if f[0] in lengths:
                raise InputError(display, f"record '{f[0]}'", "duplicate sequence name in the .fai index")
            lengths[f[0]] = int(f[1])
    return lengths


def check_fasta(path: str | os.PathLike, display: str | None = None, work_dir: str | os.PathLike = ".") -> Genome:
    """Validate a FASTA and make sure it is indexed (next to it, else in ``work_dir``).

    Parameters
    ----------
    path : str or os.PathLike
        The FASTA, plain or bgzip.
    display : str, optional
        The name as the user gave it, for messages (default: ``path``).
    work_dir : str or os.PathLike, optional
        Where a missing ``.fai``/``.gzi`` is built when the FASTA's folder is read-only
        (default: the current folder).

    Returns
    -------
    Genome
        Record names in FASTA order, their lengths, the index paths, and whether an index was built.

    Raises
    ------
    InputError
        On a missing file, plain gzip, a malformed FASTA (see the module doc), a failed or stale
        index, or an empty record.
    """
    path = Path(path)
    display = display or str(path)
    if not path.exists():
        raise InputError(display, None, "FASTA not found")
    if path.is_dir():
        raise InputError(display, None, "is a directory, expected a FASTA file")
    gz = _is_gzip(path)
    if gz and not _is_bgzip(path):
        raise InputError(display, None, f"compressed with gzip, not bgzip: decompress it, or recompress with 'gunzip {path.name} && bgzip {path.stem}'")
    names = _scan_fasta(path, display)

    fai = Path(str(path) + ".fai")
    gzi = Path(str(path) + ".gzi") if gz else None
    built = False
    if not fai.exists() or (gzi is not None and not gzi.exists()):
        if not _dir_writable(path.parent):
            wd = Path(work_dir).resolve()
            fai = wd / (path.name + ".fai")
            gzi = wd / (path.name + ".gzi") if gz else None
        args = [str(path), "--fai-idx", str(fai)] + (["--gzi-idx", str(gzi)] if gzi else [])
        cap = CStderr()
        try:
            with cap:
                pysam.faidx(*args)
        except (pysam.utils.SamtoolsError, OSError) as err:
            msgs = [m for m in cap.messages("E")] or [str(err)]
            text = "; ".join(msgs)
            m = re.search(r"at line (\d+)", text)
            record = f"line {m.group(1)}" if m else None
            if "different line length" in text.lower() or "unexpected" in text.lower():
                text += " (lines of a record must all have the same length except the last)"
            raise InputError(display, record, f"cannot index FASTA: {text}") from None
        built = True
    lengths = _read_fai(fai, display)
    if list(lengths) != names:
        missing = [n for n in names if n not in lengths]
        raise InputError(display, f"record '{missing[0]}'" if missing else None, "the .fai index does not match the FASTA records (stale index? delete it to rebuild)")
    for name, ln in lengths.items():
        if ln == 0:
            raise InputError(display, f"record '{name}'", "empty sequence")
    return Genome(display=display, path=path, names=names, lengths=lengths, fai=fai, gzi=gzi, built_index=built)


def open_fasta(path: str | os.PathLike, display: str | None = None):
    """An open ``pysam.FastaFile`` (plain or bgzip; a missing ``.fai``/``.gzi`` is built by htslib).

    Every failure is one :class:`InputError` naming the file; htslib's own messages never reach
    standard error.

    Parameters
    ----------
    path : str or os.PathLike
        The FASTA, plain or bgzip.
    display : str, optional
        The name to use in messages (default: ``path``).

    Returns
    -------
    pysam.FastaFile
        Open for reading; the caller closes it.

    Raises
    ------
    InputError
        When the file is missing or cannot be opened or indexed.
    """
    display = display or os.fspath(path)
    p = Path(path)
    if not p.is_file():
        raise InputError(display, None, "FASTA file not found")
    cap = CStderr()
    try:
        with cap:
            return pysam.FastaFile(str(p))
    except (OSError, ValueError) as err:
        hint = ""
        if _is_gzip(p) and not _is_bgzip(p):
            hint = f" (compressed with gzip, not bgzip: recompress with 'gunzip {p.name} && bgzip {p.stem}')"
        detail = "; ".join(cap.messages("E")) or str(err)
        raise InputError(display, None, f"cannot open as indexed FASTA{hint}: {detail}") from None


def fetch(fa: Any, display: str | os.PathLike, chrom: str, start: int, end: int) -> str:
    """``fa.fetch(chrom, start, end)`` of an open ``pysam.FastaFile`` with htslib's stderr captured:
    a corrupt or truncated bgzip block is one :class:`InputError` naming the file and the region.

    Parameters
    ----------
    fa : pysam.FastaFile
        An open FASTA (from :func:`open_fasta`).
    display : str or os.PathLike
        The FASTA's name for messages.
    chrom : str
        A record name.
    start : int
        0-based start.
    end : int
        0-based exclusive end.

    Returns
    -------
    str
        The bases (case kept).

    Raises
    ------
    InputError
        When htslib cannot read the region.
    """
    cap = CStderr()
    try:
        with cap:
            return fa.fetch(chrom, int(start), int(end))
    except (OSError, ValueError) as err:
        detail = "; ".join(cap.messages("E")) or str(err)
        raise InputError(display, f"{chrom}:{int(start) + 1}-{int(end)}", "cannot read the sequence (corrupt or truncated "
                         f"bgzip data, or a stale .fai/.gzi index?): {detail}") from None


def contig_lengths(path: str | os.PathLike) -> dict[str, int]:
    """Contig name -> length of a FASTA (from its index, built when missing), in FASTA order.

    Parameters
    ----------
    path : str or os.PathLike
        The FASTA, plain or bgzip.

    Returns
    -------
    dict
        Record name -> length in bases.

    Raises
    ------
    InputError
        When the FASTA cannot be opened (see :func:`open_fasta`).
    """
    fa = open_fasta(path)
    try:
        return dict(zip(fa.references, fa.lengths))
    finally:
        fa.close()
