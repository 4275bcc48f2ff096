"""Reference FASTA access for PREPARE: uint8 sequence codes, streaming base counts, checksums.

Sequences are stored as uint8 codes ``A=0, C=1, G=2, T=3, N=4`` (lower case folded, every other
IUPAC letter becomes N). One-hot encoding happens only on the device
(:func:`seq2func.prepare.dataset.one_hot`).

The FASTA may be plain or bgzip-compressed; pysam builds a missing ``.fai`` (and ``.gzi``) next
to it. Nothing here ever holds a whole chromosome in memory: :func:`scan_chrom` walks a contig
in fixed blocks, so memory stays flat as the genome grows.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seq2func.errors import InputError
from seq2func.io.fasta import fetch, open_fasta

#: code of each base; N is also the code of every non-ACGT letter
A, C, G, T, N = 0, 1, 2, 3, 4
ALPHABET = "ACGTN"

CODE_LUT = np.full(256, N, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    CODE_LUT[ord(_b)] = _i
    CODE_LUT[ord(_b.lower())] = _i
#: complement of a code: A<->T, C<->G, N stays N
COMPLEMENT = np.array([T, G, C, A, N], dtype=np.uint8)
#: raw byte -> 1 for N (any non-ACGT letter) / for G or C
N_LUT = (CODE_LUT == N).astype(np.uint8)
GC_LUT = ((CODE_LUT == C) | (CODE_LUT == G)).astype(np.uint8)

SCAN_BLOCK_BP = 1 << 20  # 1 Mb per block when walking a chromosome


def encode(seq: str | bytes) -> np.ndarray:
    """Sequence text -> uint8 codes (A=0 C=1 G=2 T=3, anything else N=4).

    Parameters
    ----------
    seq : str or bytes
        Sequence text (latin-1 when a str), any case.

    Returns
    -------
    np.ndarray
        uint8 codes, one per letter.
    """
    if isinstance(seq, str):
        seq = seq.encode("latin-1")
    return CODE_LUT[np.frombuffer(seq, dtype=np.uint8)]


def decode(codes: np.ndarray) -> str:
    """uint8 codes -> upper-case text (for tests and debugging).

    Parameters
    ----------
    codes : np.ndarray
        Integer codes ``0..4`` of any shape (flattened).

    Returns
    -------
    str
        The sequence as ``ACGTN`` letters.
    """
    return np.frombuffer(b"ACGTN", dtype=np.uint8)[np.asarray(codes, dtype=np.intp)].tobytes().decode()


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of a code array along its last axis (N stays N).

    Parameters
    ----------
    codes : np.ndarray
        uint8 codes ``(..., L)``.

    Returns
    -------
    np.ndarray
        uint8 codes of the same shape, reversed along the last axis and complemented.
    """
    return COMPLEMENT[np.asarray(codes)[..., ::-1]]


class Fasta:
    """A random-access FASTA (plain or bgzip) with its contig names and lengths."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        # htslib's own messages are captured: a failure is one InputError line (with the bgzip hint)
        self._fa = open_fasta(self.path)
        self.names: list[str] = list(self._fa.references)
        self.lengths: dict[str, int] = dict(zip(self._fa.references, self._fa.lengths))
        if not self.names:
            raise InputError(self.path, None, "FASTA has no sequences")

    def length(self, chrom: str) -> int:
        """Length of one contig.

        Parameters
        ----------
        chrom : str
            Contig name as spelled in the FASTA.

        Returns
        -------
        int
            Length in bp.

        Raises
        ------
        InputError
            When the contig is not in the FASTA.
        """
        if chrom not in self.lengths:
            raise InputError(self.path, chrom, "chromosome absent from the FASTA")
        return self.lengths[chrom]

    def fetch_text(self, chrom: str, start: int, end: int) -> str:
        """Sequence text of ``chrom[start:end)`` as stored in the FASTA (case kept).

        Parameters
        ----------
        chrom : str
            Contig name as spelled in the FASTA.
        start : int
            0-based start.
        end : int
            End (exclusive); must lie inside the contig.

        Returns
        -------
        str
            The sequence text.

        Raises
        ------
        InputError
            When htslib cannot read the region (e.g. a corrupt bgzip block).
        """
        return fetch(self._fa, self.path, chrom, start, end)  # a corrupt bgzip block: one InputError

    def fetch(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Codes of ``chrom[start:end)`` (must lie inside the contig).

        Parameters
        ----------
        chrom : str
            Contig name as spelled in the FASTA.
        start : int
            0-based start.
        end : int
            End (exclusive).

        Returns
        -------
        np.ndarray
            uint8 codes, length ``end - start``.
        """
        return encode(self.fetch_text(chrom, start, end))

    def close(self) -> None:
        self._fa.close()

    def __enter__(self) -> "Fasta":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def names_lengths_md5(names: list[str], lengths: dict[str, int]) -> str:
    """md5 of ``name<TAB>length<NL>`` over all contigs in FASTA order: identifies the assembly layout.

    Parameters
    ----------
    names : list of str
        Contig names in FASTA order.
    lengths : dict[str, int]
        Contig name -> length in bp.

    Returns
    -------
    str
        Hex md5 digest.
    """
    h = hashlib.md5()
    for n in names:
        h.update(f"{n}\t{lengths[n]}\n".encode())
    return h.hexdigest()


def genome_sha256(chrom_digests: list[tuple[str, int, str]]) -> str:
    """Combine per-chromosome ``(name, length, sha256)`` into one digest (order as given).

    Parameters
    ----------
    chrom_digests : list of (str, int, str)
        ``(name, length, sha256 of the upper-case sequence)`` per chromosome.

    Returns
    -------
    str
        Hex sha256 digest.
    """
    h = hashlib.sha256()
    for name, length, digest in chrom_digests:
        h.update(f"{name}\t{length}\t{digest}\n".encode())
    return h.hexdigest()


@dataclass
class ScanResult:
    """Counts of N and of G+C bases in ``[0, x)`` for each requested boundary ``x``."""

    boundaries: np.ndarray  # sorted unique int64
    cum_n: np.ndarray  # int64, same length
    cum_gc: np.ndarray  # int64, same length
    sha256: str  # of the upper-case sequence of the whole contig
    length: int

    def _at(self, cum: np.ndarray, x: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.boundaries, x)
        return cum[idx]

    def n_count(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Number of N bases in each interval ``[starts, ends)``.

        Parameters
        ----------
        starts : np.ndarray
            Interval starts; each must be one of ``boundaries``.
        ends : np.ndarray
            Interval ends; each must be one of ``boundaries``.

        Returns
        -------
        np.ndarray
            int64 counts, one per interval.
        """
        return self._at(self.cum_n, ends) - self._at(self.cum_n, starts)

    def gc_count(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Number of G or C bases in each interval ``[starts, ends)``.

        Parameters
        ----------
        starts : np.ndarray
            Interval starts; each must be one of ``boundaries``.
        ends : np.ndarray
            Interval ends; each must be one of ``boundaries``.

        Returns
        -------
        np.ndarray
            int64 counts, one per interval.
        """
        return self._at(self.cum_gc, ends) - self._at(self.cum_gc, starts)


def scan_chrom(fasta: Fasta, chrom: str, boundaries: np.ndarray, block_bp: int = SCAN_BLOCK_BP) -> ScanResult:
    """One streaming pass over ``chrom``: N and GC prefix counts at ``boundaries`` + sha256.

    Memory is O(block_bp + len(boundaries)) whatever the contig length: per 1 Mb block, the raw
    bytes, two uint8 indicators and their int32 prefix sums.

    Parameters
    ----------
    fasta : Fasta
        The open reference.
    chrom : str
        Contig name as spelled in the FASTA.
    boundaries : np.ndarray
        Positions ``0..length`` at which prefix counts are wanted (sorted and deduplicated here).
    block_bp : int, optional
        Bases read at a time (default 1 Mb).

    Returns
    -------
    ScanResult
        Prefix counts of N and G+C at the boundaries, the contig's sha256 and its length.

    Raises
    ------
    ValueError
        When a boundary lies outside ``[0, length]``.
    """
    length = fasta.length(chrom)
    b = np.unique(np.asarray(boundaries, dtype=np.int64))
    if b.size and (b[0] < 0 or b[-1] > length):
        raise ValueError("boundaries outside the contig")
    cum_n = np.zeros(b.size, dtype=np.int64)
    cum_gc = np.zeros(b.size, dtype=np.int64)
    h = hashlib.sha256()
    tot_n = tot_gc = 0
    for b0 in range(0, length, block_bp):
        b1 = min(b0 + block_bp, length)
        raw = fasta.fetch_text(chrom, b0, b1).encode("latin-1").upper()
        h.update(raw)
        arr = np.frombuffer(raw, dtype=np.uint8)
        is_n = N_LUT[arr]
        is_gc = GC_LUT[arr]
        del arr, raw
        # boundaries x in (b0, b1]: count in [0, x) = total before the block + count in [b0, x)
        lo, hi = np.searchsorted(b, [b0, b1], side="right")
        if hi > lo:
            off = b[lo:hi] - b0  # 1..block
            cum_n[lo:hi] = tot_n + np.cumsum(is_n, dtype=np.int32)[off - 1]
            cum_gc[lo:hi] = tot_gc + np.cumsum(is_gc, dtype=np.int32)[off - 1]
        tot_n += int(np.count_nonzero(is_n))
        tot_gc += int(np.count_nonzero(is_gc))
    return ScanResult(b, cum_n, cum_gc, h.hexdigest(), length)
