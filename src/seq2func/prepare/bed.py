"""BED / narrowPeak reading and vectorised interval overlap (blacklists, peaks).

Only the columns PREPARE needs are kept: chrom, start, end and, for narrowPeak (10 columns with
an integer 10th), the summit offset. Plain BED summits are the midpoint ``(start + end) // 2``;
a narrowPeak summit of ``-1`` (unknown) also falls back to the midpoint. ``track``/``browser``/``#``
header lines are skipped; gzip input (``.gz``) is read transparently.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from seq2func.chroms import alias_map
from seq2func.errors import InputError


@dataclass
class BedRecords:
    """Intervals of one BED file, grouped by chromosome (names already mapped to the FASTA's)."""

    path: Path
    starts: dict[str, np.ndarray]
    ends: dict[str, np.ndarray]
    summits: dict[str, np.ndarray]
    unmapped: dict[str, int]  # chromosome names absent from the FASTA -> record count
    n_mapped: int = 0  # records on FASTA contigs (all of them, also when only one chromosome is kept)

    def chrom(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Starts, ends and summits of the records on one chromosome (empty arrays when it has none).

        Parameters
        ----------
        name : str
            Chromosome name as spelled in the FASTA.

        Returns
        -------
        tuple of np.ndarray
            ``(starts, ends, summits)``, int64, sorted by start.
        """
        e = np.zeros(0, dtype=np.int64)
        return self.starts.get(name, e), self.ends.get(name, e), self.summits.get(name, e)

    def n_records(self) -> int:
        """Records on FASTA contigs in the file (kept or not)."""
        return int(self.n_mapped)


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def read_bed(
    path: str | os.PathLike,
    fasta_lengths: Mapping[str, int],
    record_prefix: str = "",
    keep_chrom: str | None = None,
) -> BedRecords:
    """Read a BED(3+) or narrowPeak file, validate it and map its chromosome names onto the FASTA.

    Raises :class:`InputError` (naming the line) for malformed lines, ``end < start``, negative
    coordinates, summits outside their peak, or intervals past the end of a FASTA contig (another
    assembly). Records on contigs absent from the FASTA are counted in ``unmapped`` and skipped.
    Every line is validated, but with ``keep_chrom`` (a FASTA name) only that chromosome's records
    are kept in memory.

    Parameters
    ----------
    path : str or os.PathLike
        BED(3+) or narrowPeak file, plain or gzip.
    fasta_lengths : Mapping[str, int]
        Contig name -> length of the FASTA, in FASTA order; BED chromosome names are mapped onto these.
    record_prefix : str, optional
        Prefix of the record named in error messages (e.g. the samplesheet row); empty: none.
    keep_chrom : str or None, optional
        A FASTA contig name: keep only its records in memory (all lines are still validated);
        ``None``: keep every chromosome.

    Returns
    -------
    BedRecords
        The kept intervals per FASTA contig, sorted, with summits, the unmapped chromosome counts and
        the number of records on FASTA contigs.

    Raises
    ------
    InputError
        File missing or unreadable, malformed line, bad coordinates, summit outside its peak, or an
        interval past the end of its FASTA contig.
    """
    path = Path(path)
    pre = f"{record_prefix}, " if record_prefix else ""
    if not path.is_file():
        raise InputError(path, record_prefix or None, "BED file not found")
    fasta_names = list(fasta_lengths)
    name_cache: dict[str, str | None] = {}
    by: dict[str, list[tuple[int, int, int]]] = {}
    unmapped: dict[str, int] = {}
    n_kept = 0
    try:
        fh = _open_text(path)
    except OSError as err:
        raise InputError(path, record_prefix or None, f"cannot read: {err.strerror or err}") from None
    try:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\r\n").split("\t")
            if len(f) < 3:
                f = line.split()
            if len(f) < 3:
                raise InputError(path, f"{pre}line {lineno}", "expected at least 3 tab-separated columns (chrom, start, end)")
            try:
                s, e = int(f[1]), int(f[2])
            except ValueError:
                raise InputError(path, f"{pre}line {lineno}", f"start/end must be integers, got '{f[1]}', '{f[2]}'") from None
            if s < 0:
                raise InputError(path, f"{pre}line {lineno}", f"negative start {s}")
            if e < s:
                raise InputError(path, f"{pre}line {lineno}", f"end {e} < start {s}")
            summit = (s + e) // 2
            if len(f) >= 10:
                try:
                    off = int(f[9])
                except ValueError:
                    off = -1
                if off >= 0:
                    if s + off > e or (e > s and s + off == e):
                        raise InputError(path, f"{pre}line {lineno}", f"summit offset {off} outside the peak {s}-{e}")
                    summit = s + off
            c = f[0]
            if c not in name_cache:
                name_cache[c] = alias_map(fasta_names, [c]).get(c)
            fc = name_cache[c]
            if fc is None:
                unmapped[c] = unmapped.get(c, 0) + 1
                continue
            if e > fasta_lengths[fc]:
                raise InputError(
                    path, f"{pre}line {lineno} ({c}:{s}-{e})",
                    f"end beyond the FASTA contig {fc} (length {fasta_lengths[fc]}); another assembly?",
                )
            n_kept += 1
            if keep_chrom is None or fc == keep_chrom:
                by.setdefault(fc, []).append((s, e, summit))
    except UnicodeDecodeError:
        raise InputError(path, record_prefix or None, "not a text BED file") from None
    except (OSError, EOFError) as err:
        raise InputError(path, record_prefix or None, f"cannot read: {err}") from None
    finally:
        fh.close()
    starts, ends, summits = {}, {}, {}
    for c, recs in by.items():
        a = np.array(sorted(recs), dtype=np.int64).reshape(-1, 3)
        starts[c], ends[c], summits[c] = a[:, 0].copy(), a[:, 1].copy(), a[:, 2].copy()
    return BedRecords(path, starts, ends, summits, unmapped, n_kept)


class IntervalSet:
    """Half-open intervals on one chromosome with a vectorised "does [qs, qe) overlap any?" query."""

    def __init__(self, starts: Iterable[int] | np.ndarray, ends: Iterable[int] | np.ndarray):
        s = np.asarray(starts, dtype=np.int64)
        e = np.asarray(ends, dtype=np.int64)
        keep = e > s  # empty intervals overlap nothing
        s, e = s[keep], e[keep]
        order = np.argsort(s, kind="stable")
        self.starts = s[order]
        self.prefmax_end = np.maximum.accumulate(e[order]) if e.size else e

    def __len__(self) -> int:
        return int(self.starts.size)

    def overlaps(self, qs: np.ndarray, qe: np.ndarray) -> np.ndarray:
        """Boolean array: query ``[qs, qe)`` overlaps at least one interval (any shape, broadcast).

        Parameters
        ----------
        qs : np.ndarray
            Query starts (0-based, inclusive).
        qe : np.ndarray
            Query ends (exclusive); broadcast against ``qs``. An empty query overlaps nothing.

        Returns
        -------
        np.ndarray
            bool, of the broadcast shape of ``qs`` and ``qe``.
        """
        qs = np.asarray(qs, dtype=np.int64)
        qe = np.asarray(qe, dtype=np.int64)
        if self.starts.size == 0:
            return np.zeros(np.broadcast(qs, qe).shape, dtype=bool)
        # intervals with start < qe are a prefix; any of them ends after qs?
        idx = np.searchsorted(self.starts, qe, side="left")
        pm = np.where(idx > 0, self.prefmax_end[np.maximum(idx - 1, 0)], np.iinfo(np.int64).min)
        return (idx > 0) & (pm > qs) & (qe > qs)
