"""Reference and alternative input windows of variants, and the stitching of indel predictions.

Conventions (all coordinates 0-based, half-open, on the forward strand):

- A variant is ``(chrom, pos, ref, alt)`` with ``pos`` 1-based and anchored VCF alleles; its REF
  allele occupies the genome interval ``[p, p + len(ref))`` with ``p = pos - 1``.
- **Reference window** of input length ``L`` and shift ``s``: the genome interval
  ``[start, start + L)`` with ``start = p - (L // 2 + s)``, so the REF allele's first base sits at
  window index ``offset = L // 2 + s`` (``s > 0`` moves the window's content to the right, like
  :meth:`seq2func.predict.Predictor.__call__`'s ``shift``, but with real genome sequence instead
  of N padding). An explicit ``start`` (shared reference windows) gives ``offset = p - start``.
- **Left-aligned alternative** window: the same start. Indices ``[0, offset)`` hold the same
  genome as the reference window, then the ALT allele, then the genome from the REF allele's end
  ``p + len(ref)`` on, as far as needed to fill ``L`` (a deletion pulls in sequence beyond the
  reference window's end, an insertion pushes the window's tail out). In forward coordinates::

      (genome[start:p] + alt + genome[p + len(ref):])[:L]

- **Right-aligned alternative** window: the same end. Indices ``[offset + len(ref), L)`` hold the
  same genome as the reference window, preceded by the ALT allele and the genome before ``p``::

      (genome[:p] + alt + genome[p + len(ref):start + L])[-L:]

  It exists only for indels (``len(ref) != len(alt)``) whose REF allele ends inside the window
  (``offset + len(ref) < L``); for SNVs and equal-length substitutions both alignments are the same
  sequence and the left-aligned one is the only alternative.
- Positions outside the contig are N (code 4); nothing is wrapped or clipped.

:func:`stitch` turns the profile predictions of the two alternative windows into one alternative
profile whose every bin covers the same genome positions as the reference's bin (see there).

Sequences come from the FASTA once per region: variants on one chromosome are sorted by window
start and covered by regions of at most ``max_region_bp``, each fetched and encoded once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seq2func.errors import InputError
from seq2func.prepare.genome import Fasta, N, decode, encode

__all__ = [
    "MAX_REGION_BP",
    "VariantWindows",
    "centred_starts",
    "fetch_padded",
    "stitch",
    "stitch_split",
    "variant_sequences",
    "variant_windows",
]

#: largest genome region fetched at once when building windows (bp)
MAX_REGION_BP = 1 << 22

_ALLELE = re.compile(r"^[A-Za-z]+$")


def _ramp(lengths: np.ndarray) -> np.ndarray:
    """``[0..l0), [0..l1), ...`` concatenated."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if not lengths.size:
        return np.zeros(0, dtype=np.int64)
    firsts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) - firsts


def centred_starts(pos: np.ndarray | Sequence[int] | int, seq_len: int, shift: int = 0) -> np.ndarray:
    """Window starts (0-based) putting each 1-based ``pos`` at window index ``seq_len // 2 + shift``.

    Parameters
    ----------
    pos : int or array-like of int
        1-based variant position(s).
    seq_len : int
        Input window length ``L`` (bp).
    shift : int, optional
        Offset (bp) of the variant from the window's centre index ``L // 2``.

    Returns
    -------
    numpy.ndarray
        int64 window start(s), same shape as ``pos``; may be negative near a contig's start.
    """
    return np.asarray(pos, dtype=np.int64) - 1 - (int(seq_len) // 2 + int(shift))


def fetch_padded(fasta: Fasta, chrom: str, start: int, end: int) -> np.ndarray:
    """Codes of ``chrom[start:end)``; positions outside the contig (``start < 0``, ``end`` past its
    length) are N.

    Parameters
    ----------
    fasta : seq2func.prepare.genome.Fasta
        The open reference genome.
    chrom : str
        Contig name (FASTA spelling).
    start, end : int
        0-based half-open interval; may extend past either end of the contig.

    Returns
    -------
    numpy.ndarray
        uint8 base codes ``(max(end - start, 0),)``, N (code 4) outside the contig.
    """
    start, end = int(start), int(end)
    out = np.full(max(end - start, 0), N, dtype=np.uint8)
    length = fasta.length(chrom)
    lo, hi = max(start, 0), min(end, length)
    if hi > lo:
        out[lo - start:hi - start] = fasta.fetch(chrom, lo, hi)
    return out


@dataclass
class VariantWindows:
    """Encoded input windows of ``n`` variants (uint8 codes, ``L`` bp each).

    Attributes
    ----------
    ref
        ``(R, L)`` the distinct reference windows (variants sharing ``(chrom, start)`` share one).
    ref_row
        ``(n,)`` row of ``ref`` of each variant.
    left
        ``(n, L)`` left-aligned alternative window of each variant.
    right
        ``(M, L)`` right-aligned alternative windows (indels only).
    right_row
        ``(n,)`` row of ``right`` of each variant; -1 where the left-aligned window is the only
        alternative (SNVs, equal-length substitutions, REF running to the window's end, or
        ``right=False``).
    offset
        ``(n,)`` window index of the REF allele's first base.
    ref_len, alt_len
        ``(n,)`` allele lengths.
    start
        ``(n,)`` genome start of each variant's reference window.
    """

    ref: np.ndarray
    ref_row: np.ndarray
    left: np.ndarray
    right: np.ndarray
    right_row: np.ndarray
    offset: np.ndarray
    ref_len: np.ndarray
    alt_len: np.ndarray
    start: np.ndarray

    @property
    def seq_len(self) -> int:
        return int(self.left.shape[1])

    def __len__(self) -> int:
        return int(self.offset.shape[0])


def _check_alleles(display: str, where: str, ref: str, alt: str) -> None:
    for name, a in (("REF", ref), ("ALT", alt)):
        if not isinstance(a, str) or not _ALLELE.match(a):
            raise InputError(display, where, f"{name} allele {a!r} is not a sequence of bases (symbolic, "
                             "missing or breakend alleles cannot be scored)")


def _regions(starts: np.ndarray, seq_len: int, pad: np.ndarray, max_region_bp: int) -> list[np.ndarray]:
    """Split variants (indices sorted by start) into groups whose fetched span stays under
    ``max_region_bp`` (a single variant always forms a group, however long its span)."""
    order = np.argsort(starts, kind="stable")
    groups: list[np.ndarray] = []
    cur: list[int] = []
    lo = hi = 0
    for i in order:
        a = int(starts[i]) - int(pad[i])
        b = int(starts[i]) + seq_len + int(pad[i])
        if cur and max(hi, b) - min(lo, a) > max_region_bp:
            groups.append(np.asarray(cur, dtype=np.int64))
            cur = []
        if not cur:
            lo, hi = a, b
        cur.append(int(i))
        lo, hi = min(lo, a), max(hi, b)
    if cur:
        groups.append(np.asarray(cur, dtype=np.int64))
    return groups


def variant_windows(fasta: Fasta | str | os.PathLike, chrom: Sequence[str], pos: Sequence[int] | np.ndarray,
                    ref: Sequence[str], alt: Sequence[str], seq_len: int, *, shift: int = 0,
                    starts: Sequence[int] | np.ndarray | None = None, right: bool = True,
                    keys: Sequence[str] | None = None, max_region_bp: int = MAX_REGION_BP) -> VariantWindows:
    """Reference and alternative windows of variants (conventions: module docstring).

    Parameters
    ----------
    fasta
        The reference genome (a :class:`~seq2func.prepare.genome.Fasta` or its path).
    chrom, pos, ref, alt
        One entry per variant: contig (FASTA spelling), 1-based position, anchored alleles.
    seq_len
        Input length ``L``.
    shift
        Window index of the REF allele is ``L // 2 + shift`` (ignored when ``starts`` is given).
    starts
        Explicit 0-based window starts, one per variant (shared reference windows).
    right
        Build the right-aligned windows of indels (only profile models need them).
    keys
        Variant names for error messages (default ``chrom:pos``).
    max_region_bp
        Largest region fetched from the FASTA at once.

    Returns
    -------
    VariantWindows

    Raises
    ------
    InputError
        An unknown contig, a non-sequence allele, a REF allele that runs past the contig's end or
        does not match the FASTA, a REF allele that starts outside its window.
    """
    if not isinstance(fasta, Fasta):
        with Fasta(fasta) as fa:
            return variant_windows(fa, chrom, pos, ref, alt, seq_len, shift=shift, starts=starts, right=right,
                                   keys=keys, max_region_bp=max_region_bp)
    fa = fasta
    display = str(fa.path)
    L = int(seq_len)
    chrom = [str(c) for c in chrom]
    pos = np.asarray(pos, dtype=np.int64)
    ref = [str(a) for a in ref]
    alt = [str(a) for a in alt]
    n = len(chrom)
    if not (len(pos) == len(ref) == len(alt) == n):
        raise ValueError("chrom, pos, ref and alt must have the same length")
    where = [f"{c}:{p}" + (f" ({k})" if keys is not None else "") for c, p, k in
             zip(chrom, pos.tolist(), keys if keys is not None else [None] * n)]
    for i in range(n):
        _check_alleles(display, where[i], ref[i], alt[i])
    p0 = pos - 1
    if n and int(p0.min()) < 0:
        i = int(np.argmin(p0))
        raise InputError(display, where[i], "positions are 1-based: pos must be >= 1")
    lr = np.array([len(a) for a in ref], dtype=np.int64)
    la = np.array([len(a) for a in alt], dtype=np.int64)
    start = centred_starts(pos, L, shift) if starts is None else np.asarray(starts, dtype=np.int64).copy()
    if start.shape != (n,):
        raise ValueError("starts must have one entry per variant")
    offset = p0 - start
    bad = np.flatnonzero((offset < 0) | (offset >= L))
    if bad.size:
        i = int(bad[0])
        raise InputError(display, where[i], f"the variant lies outside its {L} bp window (window index "
                         f"{int(offset[i])}): shift or clustering distance too large for the input length")

    left = np.empty((n, L), dtype=np.uint8)
    has_right = right & (lr != la) & (offset + lr < L)
    right_row = np.full(n, -1, dtype=np.int64)
    right_row[has_right] = np.arange(int(has_right.sum()))
    right_arr = np.empty((int(has_right.sum()), L), dtype=np.uint8)
    ref_key: dict[tuple[str, int], int] = {}
    ref_row = np.empty(n, dtype=np.int64)
    ref_rows: list[np.ndarray] = []

    # beyond [start, start + L): a deletion's left window reads lr - la bp past the end; its right
    # window starts lr - la bp before the start
    pad = np.maximum(lr - la, 0)
    by_chrom: dict[str, list[int]] = {}
    for i, c in enumerate(chrom):
        by_chrom.setdefault(c, []).append(i)
    for c, members in by_chrom.items():
        members_a = np.asarray(members, dtype=np.int64)
        length = fa.length(c)  # InputError for an unknown contig
        too_long = members_a[p0[members_a] + lr[members_a] > length]
        if too_long.size:
            i = int(too_long[0])
            raise InputError(display, where[i], f"REF allele runs past the end of {c} ({length} bp)")
        for group in _regions(start[members_a], L, pad[members_a], max_region_bp):
            idx = members_a[group]
            r0 = int((start[idx] - pad[idx]).min())
            r1 = int((start[idx] + L + pad[idx]).max())
            region = fetch_padded(fa, c, r0, r1)
            win = np.lib.stride_tricks.sliding_window_view(region, L)
            s0 = start[idx] - r0  # window starts in the region
            q = p0[idx] - r0  # REF starts in the region
            # REF alleles against the FASTA (all at once: concatenated codes vs gathered region codes)
            got = region[np.repeat(q, lr[idx]) + _ramp(lr[idx])]
            want = encode("".join(ref[i] for i in idx.tolist()))
            if not np.array_equal(got, want):
                k = int(np.flatnonzero(got != want)[0])
                i = int(idx[np.searchsorted(np.cumsum(lr[idx]), k, side="right")])
                seen = decode(region[p0[i] - r0:p0[i] - r0 + lr[i]])
                raise InputError(display, where[i], f"REF allele {ref[i]} does not match the FASTA ({seen})")
            # distinct reference windows
            for u in np.unique(start[idx]).tolist():
                if (c, u) not in ref_key:
                    ref_key[(c, u)] = len(ref_rows)
                    ref_rows.append(win[u - r0])
            ref_row[idx] = [ref_key[(c, u)] for u in start[idx].tolist()]
            # SNVs, vectorised: the reference window with one code swapped
            snv = (lr[idx] == 1) & (la[idx] == 1)
            ii = idx[snv]
            if ii.size:
                left[ii] = win[s0[snv]]
                left[ii, offset[ii]] = encode("".join(alt[i] for i in ii.tolist()))
            for i in idx[~snv].tolist():
                s0_i, q_i = int(start[i]) - r0, int(p0[i]) - r0
                alt_codes = encode(alt[i])
                off, a_len, r_len = int(offset[i]), int(la[i]), int(lr[i])
                if a_len == r_len:  # substitution: the reference window with the allele swapped
                    row = win[s0_i].copy()
                    row[off:off + a_len] = alt_codes[:max(L - off, 0)]
                    left[i] = row
                    continue
                tail = max(L - off - a_len, 0)
                left[i] = np.concatenate([region[s0_i:q_i], alt_codes, region[q_i + r_len:q_i + r_len + tail]])[:L]
                if has_right[i]:
                    head = max(off + r_len - a_len, 0)
                    right_arr[right_row[i]] = np.concatenate(
                        [region[q_i - head:q_i], alt_codes, region[q_i + r_len:s0_i + L]])[-L:]
    ref_arr = np.stack(ref_rows) if ref_rows else np.empty((0, L), dtype=np.uint8)
    return VariantWindows(ref=ref_arr, ref_row=ref_row, left=left, right=right_arr, right_row=right_row,
                          offset=offset, ref_len=lr, alt_len=la, start=start)


def variant_sequences(fasta: Fasta | str | os.PathLike, chrom: str, pos: int, ref: str, alt: str, seq_len: int,
                      shift: int = 0, start: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(reference, left_aligned, right_aligned)`` codes ``(L,)`` of one variant; the right-aligned
    window is ``None`` where it does not exist (see the module docstring).

    Parameters
    ----------
    fasta : Fasta or str or os.PathLike
        The reference genome (a :class:`~seq2func.prepare.genome.Fasta` or its path).
    chrom : str
        Contig (FASTA spelling).
    pos : int
        1-based position of the REF allele's first base.
    ref, alt : str
        Anchored VCF alleles.
    seq_len : int
        Input window length ``L`` (bp).
    shift : int, optional
        Puts the REF allele at window index ``L // 2 + shift`` (ignored when ``start`` is given).
    start : int, optional
        Explicit 0-based window start.

    Returns
    -------
    tuple of numpy.ndarray
        ``(reference, left_aligned, right_aligned)`` uint8 codes ``(L,)``; ``right_aligned`` is ``None``
        for SNVs, substitutions and REF alleles running to the window's end.

    Raises
    ------
    InputError
        As :func:`variant_windows` (unknown contig, bad allele, REF not matching the FASTA...).
    """
    w = variant_windows(fasta, [chrom], [pos], [ref], [alt], seq_len, shift=shift,
                        starts=None if start is None else [start])
    r = int(w.right_row[0])
    return w.ref[w.ref_row[0]], w.left[0], (w.right[r] if r >= 0 else None)


def stitch_split(offset: np.ndarray | int, ref_len: np.ndarray | int, crop_bp: int, bin_size: int,
                 n_bins: int) -> np.ndarray:
    """Index of the first output bin taken from the right-aligned prediction: the first bin that
    starts at or after the REF allele's end (window index ``offset + ref_len``), clipped to
    ``[0, n_bins]``.

    Parameters
    ----------
    offset : int or numpy.ndarray
        Window index of the REF allele's first base (scalar or ``(N,)``).
    ref_len : int or numpy.ndarray
        Length of the REF allele (scalar or ``(N,)``).
    crop_bp : int
        Bases cropped from the window's start before the first output bin.
    bin_size : int
        Bases per output bin.
    n_bins : int
        Output bins per window.

    Returns
    -------
    numpy.ndarray
        int64 bin index (0-d or ``(N,)``) in ``[0, n_bins]``.
    """
    end = np.asarray(offset, dtype=np.int64) + np.asarray(ref_len, dtype=np.int64) - int(crop_bp)
    k = -(-end // int(bin_size))  # ceil
    return np.clip(k, 0, int(n_bins))


def stitch(left_pred: np.ndarray, right_pred: np.ndarray | None, offset: np.ndarray | int,
           ref_len: np.ndarray | int, crop_bp: int, bin_size: int) -> np.ndarray:
    """One alternative profile from the predictions of the left- and right-aligned windows.

    Output bin ``j`` covers window indices ``[crop_bp + j * bin_size, crop_bp + (j + 1) * bin_size)``
    (:meth:`seq2func.predict.Predictor.bin_geometry`). Bins that start at or after the REF allele's
    end (``offset + ref_len``) come from the right-aligned prediction, whose input there is the
    reference window's; every other bin comes from the left-aligned prediction: the bins ending at
    or before the variant (the same input as the reference's) and the bin(s) holding the variant
    (REF's first base to its end). Every bin of the result thus compares the same genome positions
    as the reference's same bin, except the bins holding the variant itself.

    Parameters
    ----------
    left_pred, right_pred
        ``(bins, tracks)`` or ``(N, bins, tracks)`` in forward coordinates; ``right_pred`` ``None``
        (SNVs) returns ``left_pred``.
    offset, ref_len
        Window index of the REF allele's first base and REF's length (scalars or ``(N,)``).
    crop_bp, bin_size
        The model's bin geometry.
    """
    if right_pred is None:
        return left_pred
    left_pred = np.asarray(left_pred)
    right_pred = np.asarray(right_pred)
    if left_pred.shape != right_pred.shape:
        raise ValueError(f"left {left_pred.shape} and right {right_pred.shape} predictions differ in shape")
    n_bins = left_pred.shape[-2]
    k = stitch_split(offset, ref_len, crop_bp, bin_size, n_bins)
    from_left = np.arange(n_bins) < (k[..., None] if np.ndim(k) else k)
    return np.where(from_left[..., None], left_pred, right_pred)
