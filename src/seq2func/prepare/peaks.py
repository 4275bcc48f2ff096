"""Peak mode (DeepSEA / Brain-ResNet style): summit-centred windows, GC-matched background, labels.

Windows
    Every peak of every track gives a window of ``seq_length`` centred on its summit (narrowPeak
    column 10 offset; plain BED or offset ``-1``: the midpoint): ``start = summit - seq_length // 2``.
    Windows falling off the contig are dropped (``edge_dropped``), identical windows from several
    tracks are kept once (``duplicates``), windows whose central bin overlaps the blacklist are
    dropped (``blacklist_dropped``), then the N filter applies as in profile mode.

Central bin and labels
    The central bin of a window is ``[start + (seq_length - bin_size) // 2, + bin_size)``. The label
    of track *t* is 1 when any peak of *t* overlaps the central bin by at least 1 bp, else 0; targets
    are ``(n_windows, 1, n_tracks)`` float16 so profile and peak datasets share one layout.

Background
    ``round(background_ratio * n_peak_windows)`` windows per chromosome whose central bin overlaps
    no peak of any track and no blacklist interval, that pass the N filter, and whose GC fraction
    (G+C over non-N bases) histogram (``gc_bins`` equal bins on [0, 1]) matches the peak windows'.
    Candidates are drawn uniformly at random with a generator seeded by ``(seed, crc32(chrom))``, so
    each chromosome's part is reproducible on its own; when a GC bin runs out of candidates the
    shortfall is taken from the nearest GC bins (``gc_shortfall`` counts what could not be matched
    exactly).
"""

from __future__ import annotations

import zlib

import numpy as np

from seq2func.prepare.bed import BedRecords, IntervalSet


def chrom_rng(seed: int, chrom: str) -> np.random.Generator:
    """The random generator of one chromosome, seeded by ``(seed, crc32(chrom))``.

    Parameters
    ----------
    seed : int
        Run seed (its low 32 bits are used).
    chrom : str
        Chromosome name.

    Returns
    -------
    np.random.Generator
        Independent of the other chromosomes, so each chromosome's part is reproducible on its own.
    """
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(chrom.encode())])


def central_bin(starts: np.ndarray, seq_length: int, bin_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of the central bin of windows.

    Parameters
    ----------
    starts : np.ndarray
        Window starts (0-based).
    seq_length : int
        Window length in bp.
    bin_size : int
        Bin width in bp.

    Returns
    -------
    tuple of np.ndarray
        ``(bin_starts, bin_ends)``, int64.
    """
    cs = np.asarray(starts, dtype=np.int64) + (seq_length - bin_size) // 2
    return cs, cs + bin_size


def summit_windows(peaks: list[BedRecords], chrom: str, chrom_len: int, seq_length: int) -> tuple[np.ndarray, dict]:
    """Unique sorted window starts centred on the summits of all tracks' peaks on ``chrom``.

    Parameters
    ----------
    peaks : list of BedRecords
        One record set per track.
    chrom : str
        FASTA chromosome name.
    chrom_len : int
        Its length in bp; windows reaching past either end are dropped.
    seq_length : int
        Window length in bp.

    Returns
    -------
    tuple
        ``(starts, counts)``: the int64 window starts and ``{"peaks", "edge_dropped", "duplicates"}``.
    """
    summits = [p.chrom(chrom)[2] for p in peaks]
    s = np.concatenate(summits) if summits else np.zeros(0, dtype=np.int64)
    starts = s - seq_length // 2
    inside = (starts >= 0) & (starts + seq_length <= chrom_len)
    u = np.unique(starts[inside])
    return u, {"peaks": int(s.size), "edge_dropped": int((~inside).sum()), "duplicates": int(inside.sum() - u.size)}


def peak_sets(peaks: list[BedRecords], chrom: str) -> list[IntervalSet]:
    """One :class:`IntervalSet` per track for ``chrom``.

    Parameters
    ----------
    peaks : list of BedRecords
        One record set per track.
    chrom : str
        FASTA chromosome name.

    Returns
    -------
    list of IntervalSet
        Each track's peaks on ``chrom``, in track order.
    """
    return [IntervalSet(*p.chrom(chrom)[:2]) for p in peaks]


def labels(sets: list[IntervalSet], starts: np.ndarray, seq_length: int, bin_size: int) -> np.ndarray:
    """``(n, n_tracks)`` bool: a peak of the track overlaps the window's central bin.

    Parameters
    ----------
    sets : list of IntervalSet
        Peaks of each track on the chromosome (:func:`peak_sets`).
    starts : np.ndarray
        Window starts.
    seq_length : int
        Window length in bp.
    bin_size : int
        Width of the central bin in bp.

    Returns
    -------
    np.ndarray
        bool ``(n_windows, n_tracks)``.
    """
    cs, ce = central_bin(starts, seq_length, bin_size)
    out = np.zeros((np.asarray(starts).size, len(sets)), dtype=bool)
    for j, s in enumerate(sets):
        out[:, j] = s.overlaps(cs, ce)
    return out


def union_intervals(peaks: list[BedRecords], chrom: str) -> IntervalSet:
    """All tracks' peaks on one chromosome as one interval set.

    Parameters
    ----------
    peaks : list of BedRecords
        One record set per track.
    chrom : str
        FASTA chromosome name.

    Returns
    -------
    IntervalSet
        The union of the peaks (empty when there are no tracks).
    """
    s = [p.chrom(chrom)[0] for p in peaks]
    e = [p.chrom(chrom)[1] for p in peaks]
    if not s:
        return IntervalSet([], [])
    return IntervalSet(np.concatenate(s), np.concatenate(e))


def background_candidates(
    rng: np.random.Generator,
    n_wanted: int,
    chrom_len: int,
    seq_length: int,
    bin_size: int,
    avoid: list[IntervalSet],
    oversample: int = 10,
) -> np.ndarray:
    """Sorted unique random window starts whose central bin overlaps none of ``avoid``.

    Parameters
    ----------
    rng : np.random.Generator
        The chromosome's generator (:func:`chrom_rng`).
    n_wanted : int
        Number of background windows wanted; ``max(oversample * n_wanted, 1000)`` starts are drawn.
    chrom_len : int
        Chromosome length in bp.
    seq_length : int
        Window length in bp.
    bin_size : int
        Width of the central bin in bp.
    avoid : list of IntervalSet
        Intervals the central bin must not overlap (peaks, blacklist).
    oversample : int, optional
        Draws per wanted window.

    Returns
    -------
    np.ndarray
        int64 window starts, sorted and unique: candidates for :func:`gc_match` (usually more than
        ``n_wanted``).
    """
    n_pos = chrom_len - seq_length + 1
    if n_wanted <= 0 or n_pos <= 0:
        return np.zeros(0, dtype=np.int64)
    n = int(min(max(oversample * n_wanted, 1000), n_pos))
    starts = np.unique(rng.integers(0, n_pos, size=n, dtype=np.int64))
    cs, ce = central_bin(starts, seq_length, bin_size)
    ok = np.ones(starts.size, dtype=bool)
    for iv in avoid:
        ok &= ~iv.overlaps(cs, ce)
    return starts[ok]


def gc_match(
    rng: np.random.Generator,
    peak_gc: np.ndarray,
    cand_gc: np.ndarray,
    ratio: float,
    gc_bins: int,
) -> tuple[np.ndarray, dict]:
    """Indices into the candidates whose GC histogram matches ``ratio`` x the peaks' histogram.

    Candidates are taken per GC bin; a bin's shortfall is filled from the nearest bins.

    Parameters
    ----------
    rng : np.random.Generator
        The chromosome's generator (shuffles each bin's candidates).
    peak_gc : np.ndarray
        GC fraction of each peak window.
    cand_gc : np.ndarray
        GC fraction of each background candidate.
    ratio : float
        Background windows wanted per peak window.
    gc_bins : int
        Number of equal GC bins on ``[0, 1]``.

    Returns
    -------
    tuple
        ``(indices, counts)``: sorted int64 indices into the candidates, and
        ``{"background_wanted", "gc_shortfall", "background_unfilled"}``.
    """
    edges = np.linspace(0.0, 1.0, gc_bins + 1)
    pb = np.clip(np.searchsorted(edges, peak_gc, side="right") - 1, 0, gc_bins - 1)
    cb = np.clip(np.searchsorted(edges, cand_gc, side="right") - 1, 0, gc_bins - 1)
    want = np.round(ratio * np.bincount(pb, minlength=gc_bins)).astype(np.int64)
    pools = [list(rng.permutation(np.flatnonzero(cb == b))) for b in range(gc_bins)]
    chosen: list[int] = []
    short = np.zeros(gc_bins, dtype=np.int64)
    for b in range(gc_bins):
        k = min(int(want[b]), len(pools[b]))
        chosen.extend(pools[b][:k])
        pools[b] = pools[b][k:]
        short[b] = want[b] - k
    unmatched = 0
    for b in range(gc_bins):
        need = int(short[b])
        d = 1
        while need > 0 and d < gc_bins:
            for nb in (b - d, b + d):
                if 0 <= nb < gc_bins and need > 0 and pools[nb]:
                    k = min(need, len(pools[nb]))
                    chosen.extend(pools[nb][:k])
                    pools[nb] = pools[nb][k:]
                    need -= k
            d += 1
        unmatched += need
    idx = np.array(sorted(int(i) for i in chosen), dtype=np.int64)
    return idx, {"background_wanted": int(want.sum()), "gc_shortfall": int(short.sum()), "background_unfilled": int(unmatched)}
