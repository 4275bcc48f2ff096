"""Personal haplotype sequences from a phased multi-sample VCF.

For a window ``chrom:start-end`` (1-based, inclusive, as samtools writes regions) and the
individuals of a phased VCF, :func:`build_haplotypes` returns haplotype 1 and haplotype 2 of every
individual. The output is byte-identical to::

    samtools faidx FASTA chrom:start-end > win.fa
    bcftools consensus -s SAMPLE -H 1 -f win.fa VCF      # and -H 2

(bcftools 1.16, whose ``apply_variant`` we follow line by line; for phased genotypes ``-H 1pIu``
is the same as ``-H 1``), except for the documented policies below. The rules that matter, all
taken from bcftools:

* Variants are applied in VCF order. A variant starting at or before the last reference base
  touched by an already *applied* variant of the same haplotype is skipped ("overlaps with another
  variant"), unless it is an anchored indel (ALT and REF start with the same base), it starts
  exactly on that last base, and the previous applied variant was not an insertion: ``AAC>A``
  then ``C>CAA`` at the deletion's last base gives ``AAA``; ``C>T`` then ``C>CAA`` at the same
  position gives ``TAA``; two SNVs at one position keep the first.
* A variant whose POS lies before the window is ignored even when its REF reaches into the
  window (bcftools: "ignoring overlapping variant"). A variant starting in the window but whose
  REF runs past the window end is trimmed to the window: its REF is cut at the window end and so
  is its ALT when longer ("trimming variant").
* The ALT allele takes the case of the FASTA base at POS: soft-masked (lower-case) reference gives
  lower-case SNVs and inserted bases, everything else upper case.
* A REF allele that does not match the FASTA (case-insensitively) when the variant is applied is
  an error: :class:`~seq2func.errors.InputError` ``<vcf>: <chrom>:<pos>: REF 'X' != FASTA 'Y'``.
  Like bcftools, only variants that some requested haplotype actually applies are checked.
* The GT allele index picks the allele (multi-allelic sites); a missing allele (``.``) keeps the
  reference; a haploid GT gives its allele to haplotype 1 and the reference to haplotype 2
  (bcftools: "Can't apply 2-th haplotype").

Policies that bcftools does not have (``-H 1`` simply takes the first allele whatever the phase):

* Unphased heterozygous genotypes (``0/1``, ``./1``; homozygous ``1/1`` is unambiguous and kept):
  ``unphased='error'`` raises InputError naming the file, ``chrom:pos`` and the sample;
  ``'reference'`` gives both haplotypes the reference allele; ``'random'`` assigns the two alleles
  to the haplotypes by a fair coin that depends only on ``seed``, the sample's column in the VCF,
  the position and the record's rank among the records at that position -- so a genotype gets
  the same phase in every window that contains it.
* Symbolic and unsupported ALT alleles (``<DEL>``, ``<INS>``, ``<*>``, ``*``, breakends, anything
  that is not plain letters) are treated as the reference allele and reported in one warning
  (bcftools 1.16 would apply ``<DEL>``, write a literal ``*``, let ``<*>`` block overlapping
  variants, or stop on other symbolic alleles).
* A REF mismatch stops the whole window (bcftools, run per sample, stops only for the samples
  that carry the variant).
* Records whose REF meets FASTA ``N`` (hard-masked or partial references): ``ref_n='error'``
  (default) treats them like any REF mismatch (bcftools stops the same way); ``ref_n='skip'``
  drops every record whose REF span in the FASTA (the whole span, also past the window end)
  contains at least one ``N``/``n`` and equals the REF (case-insensitively) at all its other
  bases -- spans entirely N, and spans cut by the edge of an N run (``AACAG`` on ``NNcag``). They
  are dropped before anything else, as if they were not in the VCF (no haplotype applies them,
  they are not in :attr:`Haplotypes.variants` nor in ``alt_dosage``), so the haplotypes keep the
  reference ``N`` there; their number is a warning and :attr:`Haplotypes.n_ref_n_skipped`. A REF
  that differs from a non-N FASTA base is kept and stops as usual (a real mismatch). The result
  equals bcftools consensus on the VCF without those records.

Vectorisation: the records of the window are read once, as raw tabix lines; their genotypes are
decoded from the bytes (when every cell is ``a|b`` with one-digit alleles, by two subtractions on
the whole matrix) into a ``(2 * n_samples) x n_variants`` allele-index matrix; identical rows give
identical sequences, so each distinct haplotype is built once (:attr:`Haplotypes.inverse`). Rows
are grouped by a 64-bit hash of their bytes, and the grouping is then checked element by element,
so it is exact. Variants are grouped into clusters of overlapping REF spans; outside clusters
bcftools' state cannot carry over, so each cluster's replacement string is computed once per
distinct allele pattern with the bcftools rules (a lone variant on untouched reference is just its
case-adjusted ALT), and every haplotype is the reference with its cluster strings spliced in -- in
two levels, blocks of 32 clusters first (one string per distinct block pattern), then the blocks of
each haplotype joined. What only some callers need (the :attr:`Haplotypes.variants` table, the
piece lengths behind :meth:`Haplotypes.offset_shift`) is computed on first use.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pysam

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.io.fasta import fetch as fasta_fetch
from seq2func.io.text import CStderr
from seq2func.io.vcf import (
    ABSENT,
    MISSING,
    VcfText,
    Where,
    genotype_texts,
    match_samples,
    parse_genotypes,
)

log = logging.getLogger(__name__)

UNPHASED_POLICIES = ("error", "reference", "random")
REF_N_POLICIES = ("error", "skip")
_PLAIN_ALLELE = re.compile(r"[A-Za-z]+")
_REGION = re.compile(r"^\s*([^:\s]+):([0-9,]+)-([0-9,]+)\s*$")


# --------------------------------------------------------------------------------------------
# small public helpers
# --------------------------------------------------------------------------------------------
def parse_region(text: str, *, param: str = "--region") -> tuple[str, int, int]:
    """Parse ``chrom:start-end`` (1-based, inclusive; commas allowed) into ``(chrom, start, end)``.

    Parameters
    ----------
    text : str
        The region, e.g. ``chr1:1,000-2,000``.
    param : str, optional
        Name of the option or field the text came from, for the error message (default ``--region``).

    Returns
    -------
    tuple of (str, int, int)
        ``(chrom, start, end)``, 1-based, inclusive.

    Raises
    ------
    InputError
        If the text is not ``chrom:start-end`` or does not satisfy ``1 <= start <= end``.
    """
    m = _REGION.match(str(text))
    if not m:
        raise InputError(param, str(text), "expected chrom:start-end (1-based, inclusive)")
    chrom = m.group(1)
    start = int(m.group(2).replace(",", ""))
    end = int(m.group(3).replace(",", ""))
    if start < 1 or end < start:
        raise InputError(param, str(text), "need 1 <= start <= end")
    return chrom, start, end


def center_on(seq: str, center: int, length: int, pad: str = "N") -> str:
    """Cut ``length`` bases out of ``seq`` so that ``seq[center]`` lands at index ``length // 2``.

    The rule for model input: build the haplotype on a window wider than the model (a margin for
    indels), find where the TSS ended up in the haplotype -- its reference offset in the window
    plus the net length change of the variants applied upstream of it
    (:meth:`Haplotypes.offset_shift`) -- and pass that as ``center``. The TSS then sits at index
    ``length // 2`` (for even lengths the base right of the midpoint) whatever the upstream indels
    did; bases beyond either end of ``seq`` are ``pad``.

    Parameters
    ----------
    seq : str
        The sequence to cut (typically a haplotype of a window wider than the model).
    center : int
        0-based index in ``seq`` of the base to centre on; may lie outside ``seq``.
    length : int
        Length of the result (the model's input length), ``>= 0``.
    pad : str, optional
        Single character filling positions beyond either end of ``seq`` (default ``N``).

    Returns
    -------
    str
        ``length`` characters with ``seq[center]`` at index ``length // 2``.

    Raises
    ------
    ValueError
        If ``length`` is negative.
    """
    if length < 0:
        raise ValueError("length must be >= 0")
    left = center - length // 2
    right = left + length
    a, b = max(left, 0), min(right, len(seq))
    if a >= b:
        return pad * length
    return pad * (a - left) + seq[a:b] + pad * (right - b)


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------
@dataclass
class Haplotypes:
    """Haplotype sequences of one window for a set of individuals.

    ``sequences[2*i]`` / ``sequences[2*i + 1]`` are haplotype 1 / 2 of ``samples[i]``; they are the
    same ``str`` objects as ``unique_sequences[inverse[k]]``, so identical haplotypes share memory
    and need predicting once.
    """

    chrom: str  #: contig as spelled in the FASTA
    start: int  #: 1-based, inclusive
    end: int  #: 1-based, inclusive
    reference: str  #: the reference sequence of the window (FASTA case kept)
    samples: list[str]
    unique_sequences: list[str]
    inverse: np.ndarray  #: (2 * n_samples,) index into unique_sequences
    allele_matrix: np.ndarray  #: (2 * n_samples, n_variants) allele index applied (0 = REF)
    alt_dosage: np.ndarray  #: (n_samples, n_snvs) int8 non-REF allele count, from the raw GT
    snv_columns: np.ndarray  #: rows of ``variants`` that are SNVs (the columns of alt_dosage)
    warnings: list[str] = field(default_factory=list)
    n_ref_n_skipped: int = 0  #: records dropped by ``ref_n='skip'`` (REF span all N in the FASTA)
    # splice description of each unique haplotype, for coordinate mapping
    _cluster_start: np.ndarray = field(default=None, repr=False)  # window offsets, inclusive
    _cluster_end: np.ndarray = field(default=None, repr=False)  # window offsets, exclusive
    _pieces: list = field(default=None, repr=False)  # per cluster: candidate strings, 0 = reference
    _pidx: np.ndarray = field(default=None, repr=False)  # (n_unique, n_clusters) piece of each
    _variant_columns: object = field(default=None, repr=False)  # dict, or a function returning it
    _variants_df: pd.DataFrame | None = field(default=None, repr=False)
    _piece_stats: tuple | None = field(default=None, repr=False)  # (lengths, deltas), computed on demand

    @property
    def variants(self) -> pd.DataFrame:
        """One row per VCF record starting in the window (ALT not '.'), in VCF order: ``chrom``
        (VCF spelling), ``pos`` (1-based), ``id``, ``ref``, ``alt`` (comma-joined), ``is_snv``,
        ``is_indel``, ``haplotypes_alt`` (haplotypes carrying a non-REF allele after the policies);
        the columns of :attr:`allele_matrix`."""
        if self._variants_df is None:
            cols = self._variant_columns
            self._variants_df = pd.DataFrame(cols() if callable(cols) else cols)
        return self._variants_df

    @property
    def names(self) -> list[str]:
        """Record names ``SAMPLE|1``, ``SAMPLE|2`` in the order of :attr:`sequences`."""
        return [f"{s}|{h}" for s in self.samples for h in (1, 2)]

    @property
    def sequences(self) -> list[str]:
        u = self.unique_sequences
        return [u[i] for i in self.inverse.tolist()]

    @property
    def unique(self) -> np.ndarray:
        """Haplotype -> unique-sequence index (alias of :attr:`inverse`)."""
        return self.inverse

    @property
    def n_unique(self) -> int:
        return len(self.unique_sequences)

    @property
    def forward_passes_saved(self) -> float:
        """Share of haplotypes that need no model call because an identical one comes first."""
        n = len(self.inverse)
        return 0.0 if n == 0 else 1.0 - self.n_unique / n

    def offset_shift(self, ref_offset: int) -> np.ndarray:
        """Per unique haplotype: where window offset ``ref_offset`` (0-based) moved to, minus it.

        The net length change of the clusters of variants lying wholly before ``ref_offset``; if
        ``ref_offset`` falls inside a changed cluster it maps into that cluster's replacement,
        clipped to its last base.

        Parameters
        ----------
        ref_offset : int
            0-based offset in the reference window (e.g. of the TSS).

        Returns
        -------
        numpy.ndarray
            ``(n_unique,)`` int64 shift: the position of that base in each unique haplotype is
            ``ref_offset + shift``.
        """
        n_u = self.n_unique
        piece_len, piece_delta = self._piece_lengths()
        if piece_delta.size == 0:
            return np.zeros(n_u, dtype=np.int64)
        before = self._cluster_end <= ref_offset
        shift = piece_delta[:, before].sum(axis=1).astype(np.int64)
        inside = np.flatnonzero((self._cluster_start <= ref_offset) & (self._cluster_end > ref_offset))
        for k in inside.tolist():
            within = ref_offset - int(self._cluster_start[k])
            plen = piece_len[:, k].astype(np.int64)
            shift += np.minimum(within, np.maximum(plen - 1, 0)) - within
        return shift

    def _piece_lengths(self) -> tuple[np.ndarray, np.ndarray]:
        """``(n_unique, n_clusters)`` length of the piece each unique haplotype has at each cluster,
        and its length change against the reference span."""
        if self._piece_stats is None:
            pidx = self._pidx
            if pidx is None or pidx.size == 0:
                plens = deltas = np.zeros((self.n_unique, 0), dtype=np.int64)
            else:
                offsets = np.cumsum([0] + [len(plist) for plist in self._pieces])
                lens = np.fromiter(
                    (-1 if p is None else len(p) for plist in self._pieces for p in plist),
                    dtype=np.int64,
                    count=int(offsets[-1]),
                )
                plens = lens[pidx + offsets[None, :-1]]
                deltas = plens - (self._cluster_end - self._cluster_start)[None, :]
            self._piece_stats = (plens, deltas)
        return self._piece_stats

    def centered(self, ref_offset: int, length: int, pad: str = "N") -> list[str]:
        """Model inputs: each unique haplotype cut by :func:`center_on` around ``ref_offset``.

        Parameters
        ----------
        ref_offset : int
            0-based offset in the reference window to centre on (e.g. the TSS).
        length : int
            Length of each model input.
        pad : str, optional
            Character for positions beyond the haplotype's ends (default ``N``).

        Returns
        -------
        list of str
            One sequence of ``length`` bases per unique haplotype, in the order of
            :attr:`unique_sequences`.
        """
        centres = ref_offset + self.offset_shift(ref_offset)
        return [center_on(s, int(c), length, pad) for s, c in zip(self.unique_sequences, centres)]

    def to_fasta(self, handle, line_width: int = 60) -> None:
        """Write records ``>SAMPLE|1`` / ``>SAMPLE|2`` with ``line_width`` bases a line.

        Parameters
        ----------
        handle : file-like
            Text handle to write to (anything with ``write(str)``).
        line_width : int, optional
            Bases per sequence line (default 60, as bcftools writes them).
        """
        for name, seq in zip(self.names, self.sequences):
            handle.write(f">{name}\n")
            for i in range(0, len(seq), line_width):
                handle.write(seq[i : i + line_width])
                handle.write("\n")


# --------------------------------------------------------------------------------------------
# VCF records of a window
# --------------------------------------------------------------------------------------------
@dataclass
class _Window:
    pos0: list[int]
    ids: list[str]
    refs: list[str]
    alleles: list[list[str]]  # [REF, ALT1, ...]
    ref_len: list[int]
    plain: list[bool]  # every ALT is plain letters
    is_snv: list[bool]
    a1: np.ndarray  # (n_records, n_samples) int16: allele, -1 missing
    a2: np.ndarray  # ... -2 absent (haploid)
    phased: np.ndarray  # (n_records, n_samples) bool


def _variant_type(ref: str, alt: str) -> tuple[bool, int]:
    """``(is_indel, var_len)`` as htslib's ``bcf_set_variant_type`` (case-insensitive version)."""
    if len(ref) == 1 and len(alt) == 1:
        return False, (0 if alt == "." or ref == alt else 1)
    r, a = ref.upper(), alt.upper()
    i = 0
    n = min(len(r), len(a))
    while i < n and r[i] == a[i]:
        i += 1
    if i == len(r) and i < len(a):
        return True, len(a) - len(r)
    if i == len(a) and i < len(r):
        return True, len(a) - len(r)
    if i == len(r) and i == len(a):
        return False, 0
    re_, ae = len(r) - 1, len(a) - 1
    while re_ > i and ae > i and r[re_] == a[ae]:
        re_ -= 1
        ae -= 1
    if ae == i:
        if re_ == i:
            return False, 1
        return r[re_] == a[ae], -(re_ - i)
    if re_ == i:
        return r[re_] == a[ae], ae - i
    return False, (-(re_ - i + 1) if re_ - i > ae - i else ae - i + 1)


def _gt_text(a1: int, a2: int, phased: bool) -> str:
    def one(a: int) -> str:
        return "." if a == MISSING else str(a)

    if a2 == ABSENT:
        return one(a1)
    return one(a1) + ("|" if phased else "/") + one(a2)


def _splitmix_coin(seed: int, sample_cols: np.ndarray, pos0: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """A fair, reproducible coin per (record, sample): splitmix64 of seed, position, rank, column."""
    with np.errstate(over="ignore"):
        mask = np.uint64(0xFFFFFFFFFFFFFFFF)
        key = (
            np.uint64(seed & 0xFFFFFFFFFFFFFFFF) * np.uint64(0x9E3779B97F4A7C15)
            + pos0.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03)
            + rank.astype(np.uint64) * np.uint64(0x8CB92BA72F3D8DD7)
        )[:, None] ^ (sample_cols.astype(np.uint64) * np.uint64(0xABC98388FB8FAC03))[None, :]
        z = (key + np.uint64(0x9E3779B97F4A7C15)) & mask
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & mask
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & mask
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(63)).astype(bool)


# --------------------------------------------------------------------------------------------
# bcftools consensus, one cluster of overlapping variants at a time
# --------------------------------------------------------------------------------------------
class _Events:
    def __init__(self) -> None:
        self.overlap: set[int] = set()
        self.trimmed: set[int] = set()


def _apply_cluster(
    local: bytes,
    cs: int,
    calls: list[tuple[int, bytes, bytes, bool, int]],
    events: _Events,
    mismatch,
) -> bytes:
    """Apply ``calls`` (pos0, REF, ALT, is_indel, var_len; non-REF alleles only, VCF order) to the
    reference bytes ``local`` that start at 0-based position ``cs``, as bcftools 1.16
    ``apply_variant`` does for ``-s SAMPLE -H N``."""
    buf = bytearray(local)
    frz = -1  # fa_frz_pos
    mod_off = 0  # fa_mod_off
    prev_base = 0
    prev_base_pos = -1
    prev_is_insert = False
    for pos, ref, alt, is_indel, var_len in calls:
        trim_beg = 1 if (is_indel and ref[0] == alt[0]) else 0
        if pos <= frz:
            if pos < frz or not trim_beg or var_len == 0 or prev_is_insert:
                events.overlap.add(pos)
                continue
        idx = pos - cs + mod_off
        rlen = len(ref)
        remaining = len(buf) - idx
        if remaining <= 0:  # bcftools: "FIXME" error; unreachable for sorted input
            events.overlap.add(pos)
            continue
        if rlen > remaining:
            rlen = remaining
            if len(alt) > rlen:
                alt = alt[:rlen]
                events.trimmed.add(pos)
        if ref[:rlen].upper() != bytes(buf[idx : idx + rlen]).upper():
            ok = False
            if prev_base_pos == pos and ref[:1].upper() == bytes((prev_base,)).upper():
                ok = rlen == 1 or ref[1:rlen].upper() == bytes(buf[idx + 1 : idx + rlen]).upper()
            if not ok:
                mismatch(pos, ref)
        alen = len(alt)
        len_diff = alen - rlen
        alt = alt.lower() if 97 <= buf[idx] <= 122 else alt.upper()
        if len_diff <= 0:
            prev_base = buf[idx + rlen - 1]
            prev_base_pos = pos + rlen - 1
            prev_is_insert = False
            if trim_beg < alen:
                buf[idx + trim_beg : idx + alen] = alt[trim_beg:alen]
            if len_diff:
                del buf[idx + alen : idx + rlen]
        else:
            prev_is_insert = True
            prev_base_pos = pos
            ibeg = 1 if ref[0] == alt[0] else 0
            buf[idx + rlen : idx + rlen] = bytes(len_diff)
            buf[idx + ibeg : idx + alen] = alt[ibeg:]
        mod_off += len_diff
        frz = pos + rlen - 1
    return bytes(buf)


_HASH_MULT = np.zeros(0, dtype=np.uint64)


def _multipliers(n: int) -> np.ndarray:
    """``n`` fixed random odd 64-bit multipliers (one per 8-byte word of a row)."""
    global _HASH_MULT
    if _HASH_MULT.size < n:
        rng = np.random.default_rng(0x5EED5EED)
        _HASH_MULT = rng.integers(0, 2**63, size=max(n, 2 * _HASH_MULT.size, 256), dtype=np.uint64)
        _HASH_MULT = (_HASH_MULT << np.uint64(1)) | np.uint64(1)
    return _HASH_MULT[:n]


def _word_view(mat: np.ndarray) -> np.ndarray:
    """Rows of ``mat`` as 64-bit words (raw bytes, zero-padded to a multiple of 8)."""
    n = mat.shape[0]
    raw = np.ascontiguousarray(mat).view(np.uint8).reshape(n, -1)
    pad = (-raw.shape[1]) % 8
    if pad:
        raw = np.concatenate([raw, np.zeros((n, pad), dtype=np.uint8)], axis=1)
    return raw.view(np.uint64)


def _hash_groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Groups of equal ``keys`` in order of first appearance: (first index, inverse)."""
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order].astype(np.int64), rank[inv.reshape(-1)].astype(np.int64)


def _unique_rows_dict(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_unique_rows` by a hash table of each row's raw bytes (the exact fallback)."""
    n = mat.shape[0]
    raw = np.ascontiguousarray(mat).tobytes()
    w = len(raw) // n
    table: dict[bytes, int] = {}
    inv = np.fromiter((table.setdefault(raw[i : i + w], len(table)) for i in range(0, len(raw), w)), np.int64, n)
    first = np.full(len(table), n, dtype=np.int64)
    np.minimum.at(first, inv, np.arange(n))
    return first, inv


def _unique_rows(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique rows, in order of first appearance, and the inverse.

    Rows are hashed as a whole (a random linear hash of their 64-bit words) and grouped by hash;
    the grouping is then checked element by element against each group's first row, so the result
    is exact (a hash collision, never seen in practice, falls back to a table of raw bytes)."""
    n, m = mat.shape
    if m == 0 or n == 0:
        return np.zeros(1 if n else 0, dtype=np.int64), np.zeros(n, dtype=np.int64)
    words = _word_view(mat)
    with np.errstate(over="ignore"):
        keys = (words * _multipliers(words.shape[1])[None, :]).sum(axis=1, dtype=np.uint64)
    first, inv = _hash_groups(keys)
    if len(first) < n and not np.array_equal(mat[first[inv]], mat):
        return _unique_rows_dict(mat)
    return first, inv


def _splice(
    reference: str, starts: np.ndarray, ends: np.ndarray, pieces: list[list], pidx: np.ndarray, block: int = 32
) -> list[str]:
    """Sequences of the unique haplotypes: the reference with, for cluster ``k``, the span
    ``[starts[k], ends[k])`` replaced by ``pieces[k][pidx[u, k]]`` (piece 0 is the reference).

    Every candidate string gets the reference gap that follows its cluster appended (cluster 0's
    also the gap before it), so a haplotype is one item per cluster. Blocks of ``block`` consecutive
    clusters are joined once per distinct allele pattern (rows hashed block by block, checked
    exactly), then each haplotype joins its blocks."""
    n_u, n_cl = pidx.shape
    if n_cl == 0:
        return [reference] * n_u
    s_l, e_l = starts.tolist(), ends.tolist()
    gaps = [reference[x:y] for x, y in zip([0] + e_l, s_l + [len(reference)])]
    flat: list = []
    for k, plist in enumerate(pieces):
        gap = gaps[k + 1]
        if k == 0:
            flat.extend(None if p is None else gaps[0] + p + gap for p in plist)
        else:
            flat.extend(None if p is None else p + gap for p in plist)
    obj = np.empty(len(flat), dtype=object)
    obj[:] = flat
    piece_off = np.zeros(n_cl, dtype=np.int64)
    np.cumsum([len(plist) for plist in pieces[:-1]], out=piece_off[1:])
    gidx = pidx + piece_off[None, :].astype(pidx.dtype if len(flat) < 2**31 else np.int64)
    block += block % 2
    k0s = np.arange(0, n_cl, block)
    words = _word_view(np.ascontiguousarray(pidx, dtype=np.int32))  # two clusters a word
    with np.errstate(over="ignore"):
        bkeys = np.add.reduceat(words * _multipliers(words.shape[1])[None, :], k0s // 2, axis=1)
    blocks: list[str] = []
    index = np.empty((n_u, k0s.size), dtype=np.int64)
    for b, k0 in enumerate(k0s.tolist()):
        sub = gidx[:, k0 : k0 + block]
        first, inv = _hash_groups(bkeys[:, b])
        if len(first) < n_u and not np.array_equal(sub[first][inv], sub):
            first, inv = _unique_rows_dict(sub)  # a hash collision: never seen
        index[:, b] = inv + len(blocks)
        blocks.extend(map("".join, obj[sub[first]].tolist()))
    if k0s.size == 1:
        return [blocks[i] for i in index[:, 0].tolist()]
    arr = np.empty(len(blocks), dtype=object)
    arr[:] = blocks
    return list(map("".join, arr[index].tolist()))


# --------------------------------------------------------------------------------------------
# the steps of HaplotypeBuilder.build: read -> decode -> cluster -> splice
# --------------------------------------------------------------------------------------------
@dataclass
class _Job:
    """One window being built: where it lies, its reference, and what was found on the way."""

    region: str  # chrom:start-end as asked
    fa_chrom: str  # contig as spelled in the FASTA
    start: int  # 1-based, inclusive
    end: int  # 1-based, inclusive, clipped to the contig
    start0: int  # 0-based start
    end0: int  # 0-based end, inclusive
    reference: str  # the reference sequence of the window
    vname: str  # contig as spelled in the VCF (the FASTA's when the VCF lacks it), for messages
    warnings: list[str] = field(default_factory=list)
    n_before: int = 0  # records that start before the window (ignored)
    n_skip: int = 0  # records dropped by ref_n='skip'


@dataclass
class _Clusters:
    """Clusters of overlapping variants among the records some unique haplotype carries.

    Each cluster gets a list of candidate strings ("pieces"), piece 0 being the reference. A
    singleton cluster's piece index is the allele index itself; a multi-variant cluster's is the
    rank of its allele pattern among the unique haplotypes."""

    active: np.ndarray  # columns of the records some unique haplotype carries
    first_of: np.ndarray  # index into ``active`` of each cluster's first record
    sizes: np.ndarray  # records per cluster
    start: np.ndarray  # window offset of each cluster's span, inclusive
    end: np.ndarray  # window offset of each cluster's span, exclusive (trimmed to the window)
    pieces: list[list]  # per cluster: candidate strings, 0 = reference
    pidx: np.ndarray  # (n_unique, n_clusters) int32: piece of each unique haplotype


def _alt_dosage(win: _Window, ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dosage for statistics: from the raw genotype, whatever the phase.

    Parameters
    ----------
    win : _Window
        The records of the window, genotypes still decoded (``a1``, ``a2``).
    ns : int
        Number of samples.

    Returns
    -------
    is_snv : np.ndarray
        ``(n_variants,)`` bool, the record is an SNV.
    snv_columns : np.ndarray
        Indices of the SNV records.
    alt_dosage : np.ndarray
        ``(n_samples, n_snvs)`` int8 count of non-REF alleles.
    """
    nv = len(win.pos0)
    is_snv = np.asarray(win.is_snv, dtype=bool)
    snv_columns = np.flatnonzero(is_snv)
    a1s, a2s = (win.a1, win.a2) if snv_columns.size == nv else (win.a1[snv_columns], win.a2[snv_columns])
    if nv:
        alt_dosage = np.ascontiguousarray(((a1s > 0).view(np.int8) + (a2s > 0).view(np.int8)).T)
    else:
        alt_dosage = np.zeros((ns, 0), dtype=np.int8)
    return is_snv, snv_columns, alt_dosage


def _allele_matrix(h1: np.ndarray, h2: np.ndarray, ns: int, nv: int) -> np.ndarray:
    """The (haplotypes, variants) allele matrix; '.' and the absent second allele of a haploid GT: REF.

    Parameters
    ----------
    h1, h2 : np.ndarray
        ``(n_variants, n_samples)`` int16 allele codes of haplotype 1 and 2 (after the phasing
        policy); negative codes are missing or absent alleles.
    ns, nv : int
        Number of samples and of variants.

    Returns
    -------
    np.ndarray
        ``(2 * n_samples, n_variants)`` int16; row ``2*i`` is haplotype 1 of sample ``i``, row
        ``2*i + 1`` haplotype 2; missing and absent alleles are 0 (REF).
    """
    hm = np.empty((2 * ns, nv), dtype=np.int16)
    hm[0::2] = h1.T
    hm[1::2] = h2.T
    np.maximum(hm, 0, out=hm)
    return hm


def _mask_unsupported(win: _Window, hm: np.ndarray) -> int:
    """Alleles we cannot apply (symbolic, '*', breakends) set to reference in ``hm``, in place.

    Parameters
    ----------
    win : _Window
        The records of the window.
    hm : np.ndarray
        ``(2 * n_samples, n_variants)`` allele matrix, modified in place.

    Returns
    -------
    int
        Number of records where some haplotype carried such an allele.
    """
    n_sym = 0
    for k in (k for k, ok in enumerate(win.plain) if not ok):
        usable = np.asarray([True] + [bool(_PLAIN_ALLELE.fullmatch(x)) for x in win.alleles[k][1:]])
        col = hm[:, k]
        bad = ~usable[col]
        if bad.any():
            n_sym += 1
            col[bad] = 0
    return n_sym


def _dedup(hm: np.ndarray, ns: int, nv: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deduplicate haplotypes: identical allele rows give identical sequences.

    Parameters
    ----------
    hm : np.ndarray
        ``(2 * n_samples, n_variants)`` allele matrix.
    ns, nv : int
        Number of samples and of variants.

    Returns
    -------
    first : np.ndarray
        Row of ``hm`` of each unique haplotype, in order of first appearance.
    inverse : np.ndarray
        ``(2 * n_samples,)`` unique haplotype of each row.
    hu : np.ndarray
        ``(n_unique, n_variants)`` int16 allele matrix of the unique haplotypes.
    """
    first, inverse = _unique_rows(hm) if 2 * ns else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    hu = hm[first] if nv else np.zeros((len(first), 0), dtype=np.int16)
    return first, inverse, hu


def _cluster_spans(win: _Window, hu: np.ndarray, start0: int, end0: int) -> _Clusters:
    """Clusters of overlapping REF spans among the records some unique haplotype carries.

    Parameters
    ----------
    win : _Window
        The records of the window.
    hu : np.ndarray
        ``(n_unique, n_variants)`` allele matrix of the unique haplotypes.
    start0, end0 : int
        The window, 0-based, inclusive.

    Returns
    -------
    _Clusters
        The clusters, with every piece list empty and every piece index 0 (to be filled by
        :func:`_singleton_pieces` and :func:`_overlap_pieces`).
    """
    nv = len(win.pos0)
    active = np.flatnonzero((hu != 0).any(axis=0)) if nv else np.zeros(0, dtype=np.int64)
    if active.size:
        apos = np.asarray(win.pos0, dtype=np.int64)[active]
        aend = apos + np.asarray(win.ref_len, dtype=np.int64)[active] - 1
        run_max = np.maximum.accumulate(aend)
        new = np.ones(active.size, dtype=bool)
        new[1:] = apos[1:] > run_max[:-1]
        first_of = np.flatnonzero(new)
        sizes = np.diff(np.append(first_of, active.size))
    else:
        apos = run_max = first_of = sizes = np.zeros(0, dtype=np.int64)
    n_cl = int(first_of.size)
    cl_start = apos[first_of] - start0
    cl_end = np.minimum(run_max[first_of + sizes - 1], end0) - start0 + 1  # trimmed to the window
    pidx_mat = np.zeros((hu.shape[0], n_cl), dtype=np.int32)
    pieces: list[list] = [[]] * n_cl
    return _Clusters(active, first_of, sizes, cl_start, cl_end, pieces, pidx_mat)


def _singleton_pieces(cl: _Clusters, win: _Window, hu: np.ndarray, job: _Job, call, apply) -> None:
    """Pieces of the one-variant clusters: the piece index is the allele index.

    Parameters
    ----------
    cl : _Clusters
        The clusters; ``pieces`` and ``pidx`` of the singletons are filled in place.
    win : _Window
        The records of the window.
    hu : np.ndarray
        ``(n_unique, n_variants)`` allele matrix of the unique haplotypes.
    job : _Job
        The window (reference, 0-based start).
    call : callable
        ``call(k, a)``: allele ``a`` of record ``k`` as :func:`_apply_cluster` takes it.
    apply : callable
        ``apply(local, cs, calls)``: :func:`_apply_cluster` of ``calls`` to the reference bytes
        ``local`` starting at ``cs``, decoded.

    Returns
    -------
    None
    """
    reference, start0, pieces = job.reference, job.start0, cl.pieces
    cs_l, ce_l = cl.start.tolist(), cl.end.tolist()
    s_ids = np.flatnonzero(cl.sizes == 1)
    s_cols = cl.active[cl.first_of[s_ids]] if len(cs_l) else s_ids
    if not s_ids.size:
        return
    s_hu = hu[:, s_cols]
    cl.pidx[:, s_ids] = s_hu
    alleles, ref_len = win.alleles, win.ref_len
    hard: list[tuple[int, int, int]] = []
    for j, (cid, k) in enumerate(zip(s_ids.tolist(), s_cols.tolist())):
        local_s = reference[cs_l[cid] : ce_l[cid]]
        al = alleles[k]
        if len(local_s) == ref_len[k] and al[0].upper() == local_s.upper():
            # one variant on untouched reference, not cut by the window end: bcftools writes
            # the ALT in the case of the FASTA base at POS (and the anchor base it keeps
            # already has that case); alleles nobody carries are never used
            if len(al) == 2:
                pieces[cid] = [local_s, al[1].lower() if local_s[0].islower() else al[1].upper()]
            elif local_s[0].islower():
                pieces[cid] = [local_s] + [x.lower() for x in al[1:]]
            else:
                pieces[cid] = [local_s] + [x.upper() for x in al[1:]]
        else:
            pieces[cid] = [local_s] + [None] * (len(al) - 1)
            hard.append((j, cid, k))
    for j, cid, k in hard:  # trimmed at the window end, or REF != FASTA: the full rules
        cs = cs_l[cid] + start0
        local = pieces[cid][0].encode("ascii")
        for a_ in np.unique(s_hu[:, j]).tolist():
            if a_:
                pieces[cid][a_] = apply(local, cs, [call(k, a_)])


def _overlap_pieces(cl: _Clusters, hu: np.ndarray, job: _Job, call, apply) -> None:
    """Pieces of the clusters of overlapping variants: one bcftools pass per distinct allele pattern.

    Parameters
    ----------
    cl : _Clusters
        The clusters; ``pieces`` and ``pidx`` of the multi-variant clusters are filled in place.
    hu : np.ndarray
        ``(n_unique, n_variants)`` allele matrix of the unique haplotypes.
    job : _Job
        The window (reference, 0-based start).
    call, apply : callable
        As for :func:`_singleton_pieces`.

    Returns
    -------
    None
    """
    reference, start0, pieces, pidx_mat = job.reference, job.start0, cl.pieces, cl.pidx
    cs_l, ce_l = cl.start.tolist(), cl.end.tolist()
    for cid in np.flatnonzero(cl.sizes > 1).tolist():
        b0, size = int(cl.first_of[cid]), int(cl.sizes[cid])
        cols = cl.active[b0 : b0 + size]
        cs = cs_l[cid] + start0
        local_s = reference[cs_l[cid] : ce_l[cid]]
        local = local_s.encode("ascii")
        sub = hu[:, cols]
        pfirst, pinv = _unique_rows(sub)
        plist = [local_s]
        pmap = np.zeros(len(pfirst), dtype=np.int32)
        for u, row in enumerate(sub[pfirst].tolist()):
            calls = [call(int(k), a_) for k, a_ in zip(cols.tolist(), row) if a_]
            if not calls:
                continue
            pmap[u] = len(plist)
            plist.append(apply(local, cs, calls))
        pieces[cid] = plist
        pidx_mat[:, cid] = pmap[pinv]


def _report(job: _Job, events: _Events) -> None:
    """Add the warnings about skipped and trimmed variants, then log every warning of the window.

    Parameters
    ----------
    job : _Job
        The window; its ``warnings`` are extended in place.
    events : _Events
        What applying the variants met.

    Returns
    -------
    None
    """
    vname, warnings = job.vname, job.warnings
    if events.overlap:
        warnings.append(
            f"{len(events.overlap)} variant(s) overlapping an already applied variant were skipped in some "
            f"haplotypes (bcftools semantics), first at {vname}:{min(events.overlap) + 1}"
        )
    if events.trimmed:
        warnings.append(
            f"{len(events.trimmed)} variant(s) trimmed at the window end, first at {vname}:{min(events.trimmed) + 1}"
        )
    for w in warnings:
        log.warning("%s: %s", job.region, w)


def _variant_columns(vname: str, win: _Window, is_snv: np.ndarray, hm: np.ndarray):
    """The function that builds the :attr:`Haplotypes.variants` columns when they are first read.

    Parameters
    ----------
    vname : str
        Contig name for the ``chrom`` column.
    win : _Window
        The records of the window (only its lists are kept, not the window).
    is_snv : np.ndarray
        ``(n_variants,)`` bool.
    hm : np.ndarray
        ``(2 * n_samples, n_variants)`` allele matrix applied.

    Returns
    -------
    callable
        A function of no argument returning the columns as a dict.
    """
    nv = len(win.pos0)
    pos0, ids, refs, all_alleles, plain = win.pos0, win.ids, win.refs, win.alleles, win.plain

    def variant_columns() -> dict:  # built when Haplotypes.variants is first read
        return {
            "chrom": [vname] * nv,
            "pos": np.asarray(pos0, dtype=np.int64) + 1,
            "id": ids,
            "ref": refs,
            "alt": [",".join(a[1:]) for a in all_alleles],
            "is_snv": is_snv,
            "is_indel": [
                any(len(x) != len(a[0]) for x in a[1:] if ok or _PLAIN_ALLELE.fullmatch(x))
                for a, ok in zip(all_alleles, plain)
            ],
            "haplotypes_alt": (hm != 0).sum(axis=0) if nv else np.zeros(0, dtype=np.int64),
        }

    return variant_columns


# --------------------------------------------------------------------------------------------
# the builder
# --------------------------------------------------------------------------------------------
class HaplotypeBuilder:
    """Open a VCF and a FASTA once, then :meth:`build` any number of windows.

    ``samples``: IDs (list or comma-separated string) in output order, checked with
    :func:`match_samples`; ``None`` = every sample of the VCF. ``unphased``, ``ref_n``: see the
    module doc.
    """

    def __init__(
        self,
        vcf: str | os.PathLike,
        fasta: str | os.PathLike,
        samples: Sequence[str] | str | None = None,
        unphased: str = "error",
        seed: int = 0,
        ref_n: str = "error",
    ) -> None:
        if unphased not in UNPHASED_POLICIES:
            raise InputError("--unphased", "", f"{unphased!r} is not one of {', '.join(UNPHASED_POLICIES)}")
        if ref_n not in REF_N_POLICIES:
            raise InputError("--ref-n", "", f"{ref_n!r} is not one of {', '.join(REF_N_POLICIES)}")
        self.ref_n = ref_n
        self.n_ref_n_skipped = 0  #: records dropped by ref_n='skip', summed over every build
        self.vcf_path = os.fspath(vcf)
        self.fasta_path = os.fspath(fasta)
        self.unphased = unphased
        self.seed = int(seed)
        for p in (self.vcf_path, self.fasta_path):
            if not Path(p).exists():
                raise InputError(p, "", "file not found")
        cap = CStderr()
        try:
            with cap:
                self._fasta = pysam.FastaFile(self.fasta_path)
        except (OSError, ValueError) as err:
            detail = "; ".join(m for m in cap.messages("E") if not m.startswith("Failed to open")) or str(err)
            raise InputError(self.fasta_path, "", f"cannot open FASTA (plain or bgzip with .fai): {detail}") from None
        try:
            self._vcf = VcfText(self.vcf_path)  # htslib's stderr captured; unindexed: read whole
        except BaseException:
            self._fasta.close()
            raise
        self.vcf_samples = self._vcf.samples
        if isinstance(samples, str):
            samples = [s for s in samples.split(",") if s]
        if samples is None:
            self._sel = np.arange(len(self.vcf_samples))
        else:
            try:
                self._sel = np.asarray(match_samples(self.vcf_samples, samples, path=self.vcf_path), dtype=np.int64)
            except BaseException:
                self.close()
                raise
        self.samples = [self.vcf_samples[i] for i in self._sel.tolist()]

    # -- plumbing --------------------------------------------------------------------------
    def close(self) -> None:
        self._vcf.close()
        self._fasta.close()

    def __enter__(self) -> "HaplotypeBuilder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _fasta_chrom(self, chrom: str, region: str) -> str:
        refs = self._fasta.references
        if chrom in refs:
            return chrom
        hit = alias_map(refs, [chrom]).get(chrom)
        if hit is None:
            raise InputError(self.fasta_path, region, f"contig {chrom!r} not in the FASTA")
        return hit

    def _ref_n_keep(self, fa_chrom: str, reference: str, start0: int, pos0: list[int], refs: list[str]) -> np.ndarray:
        """False for the records (0-based POS >= start0) whose REF span in the FASTA has an N and whose
        REF equals the FASTA (case-insensitively) at every other base of the span."""
        lens = np.fromiter(map(len, refs), dtype=np.int64, count=len(refs))
        keep = np.ones(len(refs), dtype=bool)
        ok = np.flatnonzero(lens > 0)
        if ok.size == 0:
            return keep
        p = np.asarray(pos0, dtype=np.int64)[ok] - start0
        n = lens[ok]
        top = int((p + n).max())
        seq = reference
        if top > len(reference):  # a REF that runs past the window end: its whole span
            seq = reference + fasta_fetch(self._fasta, self.fasta_path, fa_chrom, start0 + len(reference), start0 + top)
        fa = np.zeros(top, dtype=np.uint8)  # past the contig end: 0, never N, never equal
        got = min(top, len(seq))
        fa[:got] = np.frombuffer(seq[:got].encode("ascii"), dtype=np.uint8)
        fa &= 0xDF  # upper case (letters)
        ref = np.frombuffer("".join(refs[k] for k in ok.tolist()).encode("ascii", "replace"), dtype=np.uint8) & 0xDF
        first = np.zeros(ok.size, dtype=np.int64)
        np.cumsum(n[:-1], out=first[1:])
        at = np.repeat(p - first, n) + np.arange(int(n.sum()), dtype=np.int64)  # FASTA offset of each REF base
        on_n = fa[at] == 78
        any_n = np.add.reduceat(on_n, first) > 0
        bad = np.add.reduceat(~on_n & (fa[at] != ref), first) > 0
        keep[ok] = ~(any_n & ~bad)
        return keep

    def _read_window(
        self, vcf_chrom: str, start0: int, end0: int, fa_chrom: str = "", reference: str = ""
    ) -> tuple[_Window, int, int]:
        recs: list[list] = []  # the fields of the records applied in the window, POS as 0-based int
        n_before = 0
        need_samples = len(self._sel) > 0
        for line in self._vcf.lines(vcf_chrom, start0, end0 + 1):  # records overlapping the window
            f = line.split("\t", 9)
            p = int(f[1]) - 1
            if p > end0:
                continue
            if p < start0:
                n_before += 1  # bcftools: "ignoring overlapping variant" -- never applied
                continue
            if f[4] in (".", ""):
                continue  # no ALT
            if len(f) < 10 and need_samples:
                raise InputError(self.vcf_path, f"{vcf_chrom}:{p + 1}", "record has no sample columns")
            f[1] = p
            recs.append(f)
        n_skip = 0
        if self.ref_n == "skip" and recs:
            keep = self._ref_n_keep(fa_chrom, reference, start0, [f[1] for f in recs], [f[3] for f in recs])
            n_skip = int(keep.size - np.count_nonzero(keep))
            if n_skip:
                recs = [f for f, k in zip(recs, keep.tolist()) if k]
        pos0 = [f[1] for f in recs]
        ids = [f[2] for f in recs]
        refs = [f[3] for f in recs]
        alt_lists = [f[4].split(",") for f in recs]
        alleles = [[f[3]] + alts for f, alts in zip(recs, alt_lists)]
        plain = [f[4].isascii() and f[4].replace(",", "").isalpha() for f in recs]  # every ALT plain letters
        snv = [ok and len(f[3]) == 1 and len(f[4]) == 2 * len(alts) - 1 for ok, f, alts in zip(plain, recs, alt_lists)]
        texts, has_gt = genotype_texts(recs)  # sample columns, GT first in every cell
        del recs
        where = Where(self.vcf_path, vcf_chrom, pos0)
        a1, a2, phased = parse_genotypes(texts, has_gt, len(self.vcf_samples), self._sel, where)
        return _Window(pos0, ids, refs, alleles, [len(r) for r in refs], plain, snv, a1, a2, phased), n_before, n_skip

    # -- the work --------------------------------------------------------------------------
    def build(self, chrom: str, start: int, end: int) -> Haplotypes:
        """Haplotypes of window ``chrom:start-end`` (1-based inclusive) for the builder's samples.

        Parameters
        ----------
        chrom : str
            Contig, as spelled in the FASTA or an alias of it (``chr1`` / ``1``).
        start : int
            First base of the window, 1-based.
        end : int
            Last base of the window, 1-based, inclusive; clipped to the contig's length (with a warning).

        Returns
        -------
        Haplotypes
            Haplotype 1 and 2 of every sample of the builder over the window.

        Raises
        ------
        InputError
            On a bad window or contig, a GT naming an absent allele, an unphased heterozygous genotype under
            ``unphased='error'``, or a REF that does not match the FASTA.
        """
        job, win = self._read(chrom, start, end)
        hm, is_snv, snv_columns, alt_dosage = self._decode(job, win)
        first, inverse, hu = _dedup(hm, len(self.samples), len(win.pos0))
        cl, events = self._cluster(job, win, hu)
        # splice, in two levels: blocks of consecutive clusters get one string per distinct allele
        # pattern (few, because haplotypes share stretches), then a haplotype joins its blocks
        unique_sequences = _splice(job.reference, cl.start, cl.end, cl.pieces, cl.pidx)
        _report(job, events)
        return Haplotypes(
            chrom=job.fa_chrom,
            start=job.start,
            end=job.end,
            reference=job.reference,
            samples=list(self.samples),
            unique_sequences=unique_sequences,
            inverse=np.asarray(inverse, dtype=np.int64),
            allele_matrix=hm,
            alt_dosage=alt_dosage,
            snv_columns=snv_columns,
            warnings=job.warnings,
            n_ref_n_skipped=job.n_skip,
            _cluster_start=cl.start,
            _cluster_end=cl.end,
            _pieces=cl.pieces,
            _pidx=cl.pidx,
            _variant_columns=_variant_columns(job.vname, win, is_snv, hm),
        )

    def _read(self, chrom: str, start: int, end: int) -> tuple[_Job, _Window]:
        """Read step: check the window, fetch its reference and read its VCF records.

        Parameters
        ----------
        chrom : str
            Contig, as spelled in the FASTA or an alias of it.
        start, end : int
            The window, 1-based, inclusive; ``end`` is clipped to the contig (with a warning).

        Returns
        -------
        job : _Job
            The window, with the warnings so far and the record counts ``n_before``, ``n_skip``.
        win : _Window
            Its records, genotypes decoded (empty when the VCF lacks the contig).
        """
        region = f"{chrom}:{start}-{end}"
        if start < 1 or end < start:
            raise InputError("--region", region, "need 1 <= start <= end")
        fa_chrom = self._fasta_chrom(chrom, region)
        clen = self._fasta.get_reference_length(fa_chrom)
        if start > clen:
            raise InputError(self.fasta_path, region, f"start beyond the end of {fa_chrom} ({clen} bp)")
        if end > clen:
            log.warning("%s: end clipped to the length of %s (%d)", region, fa_chrom, clen)
            end = clen
        start0, end0 = start - 1, end - 1
        reference = fasta_fetch(self._fasta, self.fasta_path, fa_chrom, start0, end0 + 1)
        vcf_chrom = self._vcf.contig(fa_chrom)
        job = _Job(region, fa_chrom, start, end, start0, end0, reference, vcf_chrom or fa_chrom)
        if vcf_chrom is None:
            job.warnings.append(f"{fa_chrom} not in {self.vcf_path}: haplotypes are the reference")
            win = _Window(
                [], [], [], [], [], [], [], *(np.zeros((0, len(self._sel)), dtype=t) for t in (np.int16, np.int16, bool))
            )
        else:
            win, job.n_before, job.n_skip = self._read_window(vcf_chrom, start0, end0, fa_chrom, reference)
            if job.n_skip:
                self.n_ref_n_skipped += job.n_skip
                job.warnings.append(f"{job.n_skip} record(s) whose REF lies on FASTA N skipped (--ref-n skip)")
        return job, win

    def _decode(self, job: _Job, win: _Window) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Decode step: genotypes to the allele matrix applied, after the checks and policies.

        Frees the genotype arrays of ``win`` (``a1``, ``a2``, ``phased`` become None).

        Parameters
        ----------
        job : _Job
            The window; warnings are added to it.
        win : _Window
            Its records, from :meth:`_read`.

        Returns
        -------
        hm : np.ndarray
            ``(2 * n_samples, n_variants)`` int16 allele index applied (0 = REF).
        is_snv : np.ndarray
            ``(n_variants,)`` bool.
        snv_columns : np.ndarray
            Indices of the SNV records.
        alt_dosage : np.ndarray
            ``(n_samples, n_snvs)`` int8 non-REF allele count, from the raw GT.
        """
        ns, nv = len(self.samples), len(win.pos0)
        self._check_allele_bounds(job, win)
        is_snv, snv_columns, alt_dosage = _alt_dosage(win, ns)
        h1, h2 = self._phase(job, win)
        hm = _allele_matrix(h1, h2, ns, nv)
        del h1, h2
        win.a1 = win.a2 = win.phased = None  # not needed any more: less memory while splicing
        n_sym = _mask_unsupported(win, hm)
        if n_sym:
            job.warnings.append(
                f"{n_sym} record(s) with symbolic or unsupported ALT alleles (<DEL>, *, ...) kept as reference"
            )
        if job.n_before:
            log.debug(
                "%s: %d record(s) start before the window and are ignored (bcftools semantics)",
                job.region,
                job.n_before,
            )
        return hm, is_snv, snv_columns, alt_dosage

    def _check_allele_bounds(self, job: _Job, win: _Window) -> None:
        """Alleles as called: raise InputError for a GT naming an allele the record does not have.

        Parameters
        ----------
        job : _Job
            The window (for the message).
        win : _Window
            Its records, genotypes decoded.

        Returns
        -------
        None
        """
        ns, nv = len(self.samples), len(win.pos0)
        n_alleles = np.fromiter((len(a) for a in win.alleles), dtype=np.int16, count=nv)
        if nv and ns:
            row_max = np.maximum(win.a1.max(axis=1), win.a2.max(axis=1))
            if (row_max >= n_alleles).any():
                too_big = (win.a1 >= n_alleles[:, None]) | (win.a2 >= n_alleles[:, None])
                i, j = (int(x[0]) for x in np.nonzero(too_big))
                raise InputError(
                    self.vcf_path,
                    f"{job.vname}:{win.pos0[i] + 1}",
                    f"GT {_gt_text(int(win.a1[i, j]), int(win.a2[i, j]), bool(win.phased[i, j]))} of sample "
                    f"{self.samples[j]} names allele {max(int(win.a1[i, j]), int(win.a2[i, j]))} but the record "
                    f"has {int(n_alleles[i]) - 1} ALT allele(s)",
                )

    def _phase(self, job: _Job, win: _Window) -> tuple[np.ndarray, np.ndarray]:
        """Phasing policy, on the raw allele codes (missing and absent alleles become REF later).

        Parameters
        ----------
        job : _Job
            The window; a warning is added when the policy resolved genotypes.
        win : _Window
            Its records, genotypes decoded.

        Returns
        -------
        h1, h2 : np.ndarray
            ``(n_variants, n_samples)`` int16 allele codes of haplotype 1 and 2 (``win.a1`` and
            ``win.a2`` themselves when nothing was ambiguous).
        """
        ns, nv = len(self.samples), len(win.pos0)
        h1, h2 = win.a1, win.a2
        ambiguous = None
        if nv and ns and not win.phased.all():
            ambiguous = (~win.phased) & (win.a2 != ABSENT) & (win.a1 != win.a2)
        if ambiguous is not None and ambiguous.any():
            i, j = (int(x[0]) for x in np.nonzero(ambiguous))
            n_amb = int(ambiguous.sum())
            if self.unphased == "error":
                raise InputError(
                    self.vcf_path,
                    f"{job.vname}:{win.pos0[i] + 1}",
                    f"unphased genotype {_gt_text(int(win.a1[i, j]), int(win.a2[i, j]), False)} for sample "
                    f"{self.samples[j]} ({n_amb} unphased heterozygous genotype(s) in {job.region}); "
                    "phase the VCF or choose --unphased reference|random",
                )
            if self.unphased == "reference":
                h1 = np.where(ambiguous, 0, h1).astype(np.int16, copy=False)
                h2 = np.where(ambiguous, 0, h2).astype(np.int16, copy=False)
            else:
                pos_arr = np.asarray(win.pos0, dtype=np.int64)
                rank = np.zeros(nv, dtype=np.int64)
                for k in range(1, nv):
                    rank[k] = rank[k - 1] + 1 if pos_arr[k] == pos_arr[k - 1] else 0
                swap = _splitmix_coin(self.seed, self._sel, pos_arr, rank) & ambiguous
                h1, h2 = np.where(swap, h2, h1), np.where(swap, h1, h2)
            job.warnings.append(f"{n_amb} unphased heterozygous genotype(s) resolved by policy '{self.unphased}'")
        return h1, h2

    def _cluster(self, job: _Job, win: _Window, hu: np.ndarray) -> tuple[_Clusters, _Events]:
        """Cluster step: clusters of overlapping variants and their candidate strings (bcftools rules).

        Parameters
        ----------
        job : _Job
            The window.
        win : _Window
            Its records.
        hu : np.ndarray
            ``(n_unique, n_variants)`` allele matrix of the unique haplotypes.

        Returns
        -------
        cl : _Clusters
            The clusters, pieces and piece indices filled.
        events : _Events
            Variants skipped as overlapping, or trimmed at the window end.
        """
        cl = _cluster_spans(win, hu, job.start0, job.end0)
        events = _Events()
        reference, start0, vname = job.reference, job.start0, job.vname

        def mismatch(pos: int, ref: bytes) -> None:
            fa = reference[pos - start0 : pos - start0 + len(ref)]
            raise InputError(self.vcf_path, f"{vname}:{pos + 1}", f"REF '{ref.decode()}' != FASTA '{fa}'")

        types: dict[tuple[str, str], tuple[bool, int]] = {}

        def call(k: int, a: int) -> tuple[int, bytes, bytes, bool, int]:
            ref, alt = win.alleles[k][0], win.alleles[k][a]
            t = types.get((ref, alt))
            if t is None:
                t = types[(ref, alt)] = _variant_type(ref, alt)
            return win.pos0[k], ref.encode(), alt.encode(), t[0], t[1]

        def apply(local: bytes, cs: int, calls: list[tuple[int, bytes, bytes, bool, int]]) -> str:
            return _apply_cluster(local, cs, calls, events, mismatch).decode("ascii")

        _singleton_pieces(cl, win, hu, job, call, apply)
        _overlap_pieces(cl, hu, job, call, apply)
        return cl, events


def build_haplotypes(
    vcf: str | os.PathLike,
    fasta: str | os.PathLike,
    chrom: str,
    start: int,
    end: int,
    samples: Sequence[str] | str | None = None,
    unphased: str = "error",
    seed: int = 0,
    ref_n: str = "error",
) -> Haplotypes:
    """Haplotype 1 and 2 of every requested individual over ``chrom:start-end`` (1-based, inclusive).

    See the module docstring for the bcftools semantics matched and the policies. For many windows
    keep one :class:`HaplotypeBuilder` open instead.

    Parameters
    ----------
    vcf : str or os.PathLike
        Phased multi-sample VCF (bgzipped and indexed, or plain: then read whole).
    fasta : str or os.PathLike
        Reference FASTA (plain or bgzip, with its ``.fai``).
    chrom : str
        Contig, as spelled in the FASTA or an alias of it.
    start : int
        First base of the window, 1-based.
    end : int
        Last base of the window, 1-based, inclusive.
    samples : sequence of str or str or None, optional
        Sample IDs (list or comma-separated string) in output order; None = every sample of the VCF.
    unphased : {"error", "reference", "random"}, optional
        Policy for unphased heterozygous genotypes (default ``"error"``).
    seed : int, optional
        Seed of the ``unphased='random'`` coin (default 0).
    ref_n : {"error", "skip"}, optional
        Policy for records whose REF lies on FASTA ``N`` (default ``"error"``).

    Returns
    -------
    Haplotypes
        The window's haplotypes for the requested samples.

    Raises
    ------
    InputError
        On a missing or unreadable file, an unknown sample or policy, or any error of
        :meth:`HaplotypeBuilder.build`.
    """
    with HaplotypeBuilder(vcf, fasta, samples=samples, unphased=unphased, seed=seed, ref_n=ref_n) as builder:
        return builder.build(chrom, start, end)
