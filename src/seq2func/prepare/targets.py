"""Profile-mode targets: per-bin coverage from bigWig, per-track transforms, blacklist, float16.

For a window ``[start, start + seq_length)`` the targets cover ``[start + crop_bp, end - crop_bp)``
in ``n_bins = (seq_length - 2 * crop_bp) / bin_size`` bins. Per track:

1. coverage is read with pyBigWig ``values(..., numpy=True)`` once per *chunk* of windows (the
   span of up to a few Mb), bases without data (NaN) count as 0;
2. ``sum``: per-bin sum (numpy reshape when the bins of the chunk share one grid, i.e. the stride
   is a multiple of ``bin_size``; prefix sums otherwise); ``mean``: that sum / ``bin_size``
   (uncovered bases count as 0, unlike bigWig ``stats(type='mean')``, which skips them);
3. the transform's operations (clip, soft_clip, scale, sqrt, log1p) in the order written;
4. bins overlapping the blacklist (by at least 1 bp) become 0 (``baseline``) or NaN (``mask``);
5. stored as float16: values beyond +/-65504 saturate (counted per track in the manifest; use
   ``scale``/``soft_clip`` to avoid it).

Chromosome names are matched through :func:`seq2func.chroms.alias_map`; a bigWig whose contig
lengths differ from the FASTA's is another assembly and is rejected. A bigWig without the
chromosome being prepared gives zeros (a warning), or an error with ``strict``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from typing import Iterator, Mapping

import numpy as np

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.prepare.bed import IntervalSet
from seq2func.prepare.tracks import TrackSpec

log = logging.getLogger(__name__)

FLOAT16_MAX = float(np.finfo(np.float16).max)  # 65504


@contextlib.contextmanager
def quiet_c_stderr() -> Iterator[None]:
    """Silence C-level stderr (libBigWig prints its own lines on a bad file) so that a bad input
    stays one ``ERROR:`` line; what it printed is logged at DEBUG level."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode(errors="replace").strip()
            if text:
                log.debug("libBigWig: %s", text)


class BigWigSource:
    """One samplesheet track's bigWig, checked against the FASTA's contigs."""

    def __init__(self, spec: TrackSpec, fasta_lengths: Mapping[str, int]):
        import pyBigWig  # deferred: C extension only needed to open bigWigs; keeps seq2func.prepare light

        self.spec = spec
        try:
            with quiet_c_stderr():
                bw = pyBigWig.open(str(spec.path))
        except (RuntimeError, OSError) as err:
            raise InputError(spec.path, spec.record, f"cannot open as bigWig: {err}") from None
        if bw is None or not bw.isBigWig():
            raise InputError(spec.path, spec.record, "cannot open as bigWig")
        self._bw = bw
        chroms = bw.chroms() or {}
        amap = alias_map(list(fasta_lengths), list(chroms))
        for name, fname in amap.items():
            if int(chroms[name]) != int(fasta_lengths[fname]):
                raise InputError(
                    spec.path, f"{spec.record}, contig {name}",
                    f"length {chroms[name]} differs from the FASTA's {fname} ({fasta_lengths[fname]}); bigWig of another assembly?",
                )
        if chroms and not amap:
            raise InputError(spec.path, spec.record, "no contig name matches the FASTA (another assembly or naming scheme?)")
        self.name_for = {f: n for n, f in amap.items()}  # FASTA name -> bigWig name
        # non-negative track (the usual coverage): NaN -> 0 in one pass with fmax
        self._nonneg = float((bw.header() or {}).get("minVal", -1)) >= 0

    def has(self, chrom: str) -> bool:
        """Whether the bigWig has the chromosome.

        Parameters
        ----------
        chrom : str
            FASTA chromosome name.

        Returns
        -------
        bool
            ``True`` when a bigWig contig maps onto it.
        """
        return chrom in self.name_for

    def values(self, chrom: str, start: int, end: int) -> np.ndarray:
        """float32 coverage of ``[start, end)``; 0 where the bigWig has no data or lacks the contig.

        Parameters
        ----------
        chrom : str
            FASTA chromosome name (mapped to the bigWig's spelling).
        start : int
            0-based start.
        end : int
            End (exclusive).

        Returns
        -------
        np.ndarray
            float32, length ``max(end - start, 0)``.

        Raises
        ------
        InputError
            When the bigWig's data cannot be read (corrupt block).
        """
        if chrom not in self.name_for or end <= start:
            return np.zeros(max(end - start, 0), dtype=np.float32)
        try:
            with quiet_c_stderr():  # a corrupt data block: libBigWig prints before it raises
                v = self._bw.values(self.name_for[chrom], int(start), int(end), numpy=True)
        except RuntimeError as err:
            raise InputError(self.spec.path, f"{self.spec.record}, {chrom}:{start}-{end}", f"cannot read values: {err}") from None
        v = np.asarray(v, dtype=np.float32)
        if self._nonneg:
            np.fmax(v, 0.0, out=v)  # fmax(NaN, 0) = 0
        else:
            np.copyto(v, 0.0, where=np.isnan(v))
        return v

    def close(self) -> None:
        self._bw.close()


def bin_sums(values: np.ndarray, offsets: np.ndarray, n_bins: int, bin_size: int) -> np.ndarray:
    """Per-bin sums of ``values`` for windows whose first bin starts at ``offsets`` (into ``values``).

    Returns ``(len(offsets), n_bins)`` float32. Uses one (pairwise float32) reshape-sum over a
    common bin grid when every offset is a multiple of ``bin_size``; float64 prefix sums otherwise.

    Parameters
    ----------
    values : np.ndarray
        float32 per-base coverage of one chunk.
    offsets : np.ndarray
        Position in ``values`` of each window's first bin.
    n_bins : int
        Bins per window.
    bin_size : int
        Bin width in bp.

    Returns
    -------
    np.ndarray
        float32 ``(len(offsets), n_bins)``.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.size == 0:
        return np.zeros((0, n_bins), dtype=np.float32)
    if np.all(offsets % bin_size == 0):
        n_grid = values.size // bin_size
        grid = values[: n_grid * bin_size].reshape(n_grid, bin_size).sum(axis=1)
        idx = (offsets // bin_size)[:, None] + np.arange(n_bins)[None, :]
        return grid[idx]
    cs = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    edges = offsets[:, None] + (np.arange(n_bins + 1) * bin_size)[None, :]
    c = cs[edges]
    return np.diff(c, axis=1).astype(np.float32)


def window_targets(
    sources: list[BigWigSource],
    chrom: str,
    target_starts: np.ndarray,
    n_bins: int,
    bin_size: int,
    blacklist: IntervalSet | None = None,
    blacklist_mode: str = "baseline",
    saturated: np.ndarray | None = None,
) -> np.ndarray:
    """Targets ``(n_windows, n_bins, n_tracks)`` float16 for windows of one chunk.

    ``target_starts`` are the first-bin coordinates (window start + crop). ``saturated`` (int64 per
    track), when given, is incremented by the number of values clipped to the float16 range.

    Parameters
    ----------
    sources : list of BigWigSource
        One open bigWig per track, in target-column order.
    chrom : str
        FASTA chromosome name.
    target_starts : np.ndarray
        First-bin coordinate of each window.
    n_bins : int
        Bins per window.
    bin_size : int
        Bin width in bp.
    blacklist : IntervalSet or None, optional
        Blacklist intervals on ``chrom``; bins overlapping them by at least 1 bp get the fill value.
    blacklist_mode : str, optional
        ``baseline`` (fill 0) or ``mask`` (fill NaN).
    saturated : np.ndarray or None, optional
        int64 ``(n_tracks,)`` counters of values clipped to +/-65504, updated in place.

    Returns
    -------
    np.ndarray
        float16 ``(n_windows, n_bins, n_tracks)``: transformed per-bin coverage.
    """
    ts = np.asarray(target_starts, dtype=np.int64)
    n, T = ts.size, len(sources)
    out = np.empty((n, n_bins, T), dtype=np.float16)
    if n == 0:
        return out
    lo = int(ts.min())
    hi = int(ts.max()) + n_bins * bin_size
    bl = None
    if blacklist is not None and len(blacklist):
        bs = ts[:, None] + (np.arange(n_bins) * bin_size)[None, :]
        bl = blacklist.overlaps(bs, bs + bin_size)
        if not bl.any():
            bl = None
    fill = 0.0 if blacklist_mode == "baseline" else np.nan
    for j, src in enumerate(sources):
        v = src.values(chrom, lo, hi)
        sums = bin_sums(v, ts - lo, n_bins, bin_size)
        tr = src.spec.transform
        if tr.aggregation == "mean":
            sums = sums / bin_size
        y = tr.apply(sums)
        if bl is not None:
            y[bl] = fill
        over = np.abs(y) > FLOAT16_MAX
        if over.any():
            if saturated is not None:
                saturated[j] += int(over.sum())
            np.clip(y, -FLOAT16_MAX, FLOAT16_MAX, out=y)
        out[:, :, j] = y
    return out
