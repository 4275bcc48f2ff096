"""PREPARE orchestration: one chromosome -> one part directory; parts -> one dataset.

``prepare_chrom`` (``bin/prepare_chrom.py``) is the per-chromosome Nextflow task. It checks every
input first (FASTA, samplesheet, bigWig/BED files, chromosome names and lengths, blacklist,
parameters) and only then streams the chromosome in chunks of windows, writing
``sequences.npy`` / ``targets.npy`` row by row: memory is bounded by the chunk size, never by the
chromosome or genome length. Output goes to a temporary sibling directory that is renamed into
place at the end, so a failed task publishes nothing.

A part directory holds ``part.json`` (parameters, split, counts, checksums, warnings),
``sequences.npy``, ``targets.npy``, ``regions.tsv`` and ``tracks.tsv``. ``merge_parts``
(``bin/prepare_merge.py``) checks that the parts agree, links their shards into the dataset
layout described in :mod:`seq2func.prepare.store` and writes ``manifest.json``.

Windows are tiled only inside the split's blocks (:func:`seq2func.prepare.split.chrom_blocks`): a
whole-chromosome split gives one block ``[0, length)`` per chromosome, so windows start at ``0,
stride, 2*stride, ...`` with the chromosome's label; a contig-block split
(``split_by="contig"``) gives each window its block's label, and blocks of different labels lie at
least the split's ``gap`` apart, so no window of one split reaches into a block of another.
``part.json`` ``counts["by_split"]`` / ``counts["n_dropped_by_split"]`` (windows kept / dropped
for N per label) add up to the manifest's ``counts.by_split`` / ``counts.n_dropped_by_split``;
``merge_parts`` stops with one line when a requested validation or test split ends up without
windows.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.prepare import peaks as peakmod
from seq2func.prepare.bed import IntervalSet, read_bed
from seq2func.prepare.genome import Fasta, genome_sha256, names_lengths_md5, scan_chrom
from seq2func.prepare.split import (
    EXCLUDE,
    chrom_blocks,
    load_split,
    make_split,
    requested_labels,
    split_blocks,
    split_mode,
)
from seq2func.prepare.store import (
    DATASET_FORMAT,
    PART_FORMAT,
    REGION_COLUMNS,
    NpyWriter,
    atomic_dir,
    publish_dir,
    safe_name,
    versions,
    write_regions,
)
from seq2func.prepare.targets import BigWigSource, window_targets
from seq2func.prepare.tracks import read_samplesheet, track_table

log = logging.getLogger(__name__)

MODES = ("profile", "peak")
BLACKLIST_MODES = ("baseline", "mask")
CHUNK_BP = 2 << 20  # largest span of one chunk of windows (cache-friendly bigWig reads)
CHUNK_BYTES = 64 << 20  # budget for one chunk's sequences / float32 targets


@dataclass(frozen=True)
class PrepareParams:
    """PREPARE parameters (all recorded in the manifest).

    ``stride`` defaults to ``seq_length`` (non-overlapping tiles); ``seq_length`` defaults to
    131072 in profile mode and 1000 in peak mode. ``crop_bp`` applies to profile targets only.
    """

    mode: str = "profile"
    seq_length: int | None = None
    bin_size: int = 128
    stride: int | None = None
    crop_bp: int = 0
    max_n_frac: float = 0.1
    blacklist_mode: str = "baseline"
    strict: bool = False
    background_ratio: float = 1.0
    gc_bins: int = 20
    seed: int = 0

    def resolved(self) -> "PrepareParams":
        L = self.seq_length or (131072 if self.mode == "profile" else 1000)
        return dataclasses.replace(self, seq_length=int(L), stride=int(self.stride or L))

    def check(self) -> "PrepareParams":
        p = self.resolved()
        if p.mode not in MODES:
            raise InputError("--mode", p.mode, f"must be one of {', '.join(MODES)}")
        if p.seq_length <= 0:
            raise InputError("--seq_length", str(p.seq_length), "must be positive")
        if p.bin_size <= 0 or p.bin_size > p.seq_length:
            raise InputError("--bin_size", str(p.bin_size), "must be positive and at most seq_length")
        if p.stride <= 0:
            raise InputError("--stride", str(p.stride), "must be positive")
        if p.mode == "profile":
            if p.crop_bp < 0 or 2 * p.crop_bp >= p.seq_length:
                raise InputError("--crop_bp", str(p.crop_bp), "must be >= 0 and leave part of the window uncropped")
            if (p.seq_length - 2 * p.crop_bp) % p.bin_size:
                raise InputError("--bin_size", str(p.bin_size), f"seq_length - 2*crop_bp = {p.seq_length - 2 * p.crop_bp} is not a multiple of it")
        if not 0.0 <= p.max_n_frac <= 1.0:
            raise InputError("--max_n_frac", str(p.max_n_frac), "must be in [0, 1]")
        if p.blacklist_mode not in BLACKLIST_MODES:
            raise InputError("--blacklist_mode", p.blacklist_mode, f"must be one of {', '.join(BLACKLIST_MODES)}")
        if p.background_ratio < 0:
            raise InputError("--background_ratio", str(p.background_ratio), "must be >= 0")
        if p.gc_bins < 1:
            raise InputError("--gc_bins", str(p.gc_bins), "must be >= 1")
        return p

    @property
    def n_bins(self) -> int:
        if self.mode == "peak":
            return 1
        return (self.seq_length - 2 * self.crop_bp) // self.bin_size

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["n_bins"] = self.n_bins
        d["target_length"] = self.n_bins * self.bin_size
        if self.mode == "peak":
            d.pop("stride")
            d.pop("crop_bp")
        else:
            for k in ("background_ratio", "gc_bins"):
                d.pop(k)
        return d


def _file_md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def chunk_bounds(starts: np.ndarray, span: int, max_bp: int, max_n: int) -> Iterator[tuple[int, int]]:
    """Consecutive ``[i, j)`` ranges of sorted ``starts`` covering at most ``max_bp`` and ``max_n``.

    Parameters
    ----------
    starts : np.ndarray
        Sorted window starts.
    span : int
        Length of one window in bp.
    max_bp : int
        Largest genomic span of a chunk (from the first window's start to the last one's end).
    max_n : int
        Most windows in a chunk.

    Yields
    ------
    tuple of (int, int)
        ``(i, j)``: the chunk is ``starts[i:j]``; every chunk holds at least one window.
    """
    n = starts.size
    i = 0
    while i < n:
        lim = int(np.searchsorted(starts, starts[i] + max_bp - span, side="right"))
        j = max(i + 1, min(lim, i + max_n, n))
        yield i, j
        i = j


def _window_codes(fa: Fasta, chrom: str, starts: np.ndarray, L: int) -> np.ndarray:
    lo = int(starts[0])
    codes = fa.fetch(chrom, lo, int(starts[-1]) + L)
    view = np.lib.stride_tricks.sliding_window_view(codes, L)
    return view[starts - lo]


def _resolve_chrom(fa: Fasta, chrom: str) -> str:
    amap = alias_map(fa.names, [chrom])
    if chrom not in amap:
        raise InputError(fa.path, chrom, "chromosome absent from the FASTA")
    return amap[chrom]


def _tile_blocks(blocks: list[tuple[int, int, str]], L: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Window starts tiled from each block's start with ``stride``, wholly inside it, and their labels."""
    starts, labels = [], []
    for b0, b1, lab in blocks:
        if b1 - b0 >= L:
            c = np.arange(b0, b1 - L + 1, stride, dtype=np.int64)
            starts.append(c)
            labels.append(np.full(c.size, lab, dtype=object))
    if not starts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    return np.concatenate(starts), np.concatenate(labels)


def _window_labels(starts: np.ndarray, L: int, blocks: list[tuple[int, int, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Label of the block holding each window ``[s, s + L)`` wholly, and whether there is one."""
    starts = np.asarray(starts, dtype=np.int64)
    labels = np.full(starts.size, "", dtype=object)
    if not blocks or not starts.size:
        return labels, np.zeros(starts.size, dtype=bool)
    bs = np.array([b[0] for b in blocks], dtype=np.int64)
    be = np.array([b[1] for b in blocks], dtype=np.int64)
    bl = np.array([b[2] for b in blocks], dtype=object)
    k = np.searchsorted(bs, starts, side="right") - 1
    kk = np.maximum(k, 0)
    inside = (k >= 0) & (starts + L <= be[kk])
    labels[inside] = bl[kk[inside]]
    return labels, inside


def _label_counts(labels: np.ndarray, known: Sequence[str]) -> dict[str, int]:
    out = {lab: 0 for lab in known}
    for lab, k in Counter(np.asarray(labels, dtype=object).tolist()).items():
        out[lab] = out.get(lab, 0) + k
    return dict(sorted(out.items()))


def _check_split(split: dict, fa: Fasta, split_src: str) -> None:
    lengths = split.get("lengths", {})
    bad = [c for c in fa.names if c in lengths and int(lengths[c]) != fa.lengths[c]]
    missing = [c for c in fa.names if c not in lengths]
    if bad or missing or len(lengths) != len(fa.names):
        what = bad[0] if bad else (missing[0] if missing else "contigs")
        raise InputError(split_src, what, "split was made from another FASTA (contig names or lengths differ)")


def _load_chrom_split(
    split: dict | str | os.PathLike | None, fa: Fasta, chrom: str
) -> tuple[dict, str, str, list[tuple[int, int, str]]]:
    """Load the split, check it against the FASTA and find ``chrom``'s label and blocks.

    Parameters
    ----------
    split : dict, path or None
        A :func:`make_split` dict, the path of a ``split.json``, or None (every contig ``train``).
    fa : Fasta
        The opened genome.
    chrom : str
        The chromosome, in the FASTA's spelling.

    Returns
    -------
    split : dict
        The split dict.
    split_src : str
        What to name in errors about the split (``"split"`` or the ``split.json`` path).
    label : str
        The chromosome's split label.
    blocks : list of (int, int, str)
        The split's blocks of ``chrom`` (start, end, label).
    """
    split_src = "split"
    if split is None:
        split = make_split(str(fa.path))
    elif not isinstance(split, dict):
        split_src = str(split)
        split = load_split(split)
    _check_split(split, fa, split_src)
    label = split["chroms"][chrom]
    if label == EXCLUDE:
        raise InputError(split_src, chrom, "chromosome is excluded by the split; nothing to prepare")
    return split, split_src, label, chrom_blocks(split, chrom)


def _read_blacklist(
    blacklist: str | os.PathLike | None, fa: Fasta, chrom: str
) -> tuple[IntervalSet | None, dict | None]:
    """Read the blacklist intervals of ``chrom``.

    Parameters
    ----------
    blacklist : path or None
        The blacklist BED file, or None for no blacklist.
    fa : Fasta
        The opened genome (its lengths map chromosome names).
    chrom : str
        The chromosome, in the FASTA's spelling.

    Returns
    -------
    bl : IntervalSet or None
        The blacklist intervals of ``chrom`` (None without a blacklist).
    bl_info : dict or None
        The ``part.json`` record of the blacklist file (None without a blacklist).
    """
    bl = None
    bl_info = None
    if blacklist:
        blr = read_bed(blacklist, fa.lengths, keep_chrom=chrom)
        if blr.n_records() == 0 and blr.unmapped:
            raise InputError(blacklist, None, "no chromosome name matches the FASTA")
        s, e, _ = blr.chrom(chrom)
        bl = IntervalSet(s, e)
        bl_info = {"file": str(Path(blacklist).resolve()), "md5": _file_md5(Path(blacklist)), "intervals": blr.n_records()}
    return bl, bl_info


def _open_track_inputs(tracks: list, p: PrepareParams, fa: Fasta, chrom: str) -> tuple[list[BigWigSource], list, list[str]]:
    """Open the tracks' signal (profile mode) or read their peaks of ``chrom`` (peak mode).

    Parameters
    ----------
    tracks : list
        The samplesheet's tracks.
    p : PrepareParams
        The checked parameters (``mode``, ``strict``).
    fa : Fasta
        The opened genome.
    chrom : str
        The chromosome, in the FASTA's spelling.

    Returns
    -------
    sources : list of BigWigSource
        One open bigWig source per track in profile mode; empty in peak mode.
    peak_recs : list
        One peak record set per track in peak mode; empty in profile mode.
    warnings : list of str
        Tracks without data for ``chrom`` (profile mode, not strict).
    """
    warnings: list[str] = []
    sources: list[BigWigSource] = []
    peak_recs = []
    if p.mode == "profile":
        for t in tracks:
            src = BigWigSource(t, fa.lengths)
            if not src.has(chrom):
                if p.strict:
                    raise InputError(t.path, t.record, f"no data for {chrom} (strict mode)")
                msg = f"track {t.track_id} ({t.file}) has no {chrom}: targets are zeros"
                log.warning(msg)
                warnings.append(msg)
            sources.append(src)
    else:
        for t in tracks:
            r = read_bed(t.path, fa.lengths, record_prefix=t.record, keep_chrom=chrom)
            if r.n_records() == 0 and r.unmapped:
                raise InputError(t.path, t.record, "no chromosome name matches the FASTA")
            peak_recs.append(r)
    return sources, peak_recs, warnings


def _profile_windows(fa: Fasta, chrom: str, blocks: list[tuple[int, int, str]], p: PrepareParams) -> tuple:
    """Tile the blocks with windows and drop those with too many N (profile mode).

    Parameters
    ----------
    fa : Fasta
        The opened genome.
    chrom : str
        The chromosome, in the FASTA's spelling.
    blocks : list of (int, int, str)
        The split's blocks of ``chrom``.
    p : PrepareParams
        The checked parameters.

    Returns
    -------
    starts : numpy.ndarray
        Start of each kept window.
    win_lab : numpy.ndarray
        Split label of each kept window.
    kinds : list of str
        Kind of each kept window (``tile``).
    dropped_lab : numpy.ndarray
        Split label of each window dropped for N.
    counts : dict
        ``candidates``, ``n_dropped`` and ``kept``.
    scan : object
        The chromosome scan (:func:`scan_chrom`).
    label_sets : None
        No peak label sets in profile mode.
    """
    L = p.seq_length
    counts: dict[str, object] = {}
    cand, cand_lab = _tile_blocks(blocks, L, p.stride)
    scan = scan_chrom(fa, chrom, np.concatenate([cand, cand + L]))
    nfrac = scan.n_count(cand, cand + L) / L
    keep = nfrac <= p.max_n_frac
    starts = cand[keep]
    win_lab = cand_lab[keep]
    kinds = ["tile"] * starts.size
    counts.update(candidates=int(cand.size), n_dropped=int((~keep).sum()), kept=int(starts.size))
    dropped_lab = cand_lab[~keep]
    return starts, win_lab, kinds, dropped_lab, counts, scan, None


def _summit_windows(chrom: str, clen: int, blocks: list[tuple[int, int, str]], p: PrepareParams, peak_recs: list,
                    bl: IntervalSet | None, counts: dict) -> tuple[np.ndarray, np.ndarray]:
    """Peak summit windows off the blacklist and wholly inside a block, with their labels (peak mode).

    Parameters
    ----------
    chrom : str
        The chromosome, in the FASTA's spelling.
    clen : int
        The chromosome's length.
    blocks : list of (int, int, str)
        The split's blocks of ``chrom``.
    p : PrepareParams
        The checked parameters.
    peak_recs : list
        One peak record set per track.
    bl : IntervalSet or None
        The blacklist intervals of ``chrom``.
    counts : dict
        Updated in place: summit counts, ``blacklist_dropped``, ``split_gap_dropped``.

    Returns
    -------
    pw : numpy.ndarray
        Start of each peak window kept.
    pw_lab : numpy.ndarray
        Split label of each peak window kept.
    """
    L, bin_size = p.seq_length, p.bin_size
    pw, c = peakmod.summit_windows(peak_recs, chrom, clen, L)
    counts.update(c)
    if bl is not None and len(bl):
        cs, ce = peakmod.central_bin(pw, L, bin_size)
        inbl = bl.overlaps(cs, ce)
        counts["blacklist_dropped"] = int(inbl.sum())
        pw = pw[~inbl]
    else:
        counts["blacklist_dropped"] = 0
    pw_lab, inside = _window_labels(pw, L, blocks)
    counts["split_gap_dropped"] = int((~inside).sum())
    pw, pw_lab = pw[inside], pw_lab[inside]
    return pw, pw_lab


def _peak_windows(fa: Fasta, chrom: str, clen: int, blocks: list[tuple[int, int, str]], p: PrepareParams,
                  peak_recs: list, bl: IntervalSet | None) -> tuple:
    """Peak windows and GC-matched background windows inside the blocks (peak mode).

    Parameters
    ----------
    fa : Fasta
        The opened genome.
    chrom : str
        The chromosome, in the FASTA's spelling.
    clen : int
        The chromosome's length.
    blocks : list of (int, int, str)
        The split's blocks of ``chrom``.
    p : PrepareParams
        The checked parameters.
    peak_recs : list
        One peak record set per track.
    bl : IntervalSet or None
        The blacklist intervals of ``chrom``.

    Returns
    -------
    starts : numpy.ndarray
        Start of each kept window, sorted.
    win_lab : numpy.ndarray
        Split label of each kept window.
    kinds : list of str
        Kind of each kept window (``peak`` / ``background``).
    dropped_lab : numpy.ndarray
        Split label of each peak window dropped for N.
    counts : dict
        Peak, blacklist, split-gap, N, GC-matching and kept counts.
    scan : object
        The chromosome scan (:func:`scan_chrom`).
    label_sets : object
        The peak sets of ``chrom`` (:func:`seq2func.prepare.peaks.peak_sets`).
    """
    L, bin_size = p.seq_length, p.bin_size
    counts: dict[str, object] = {}
    pw, pw_lab = _summit_windows(chrom, clen, blocks, p, peak_recs, bl, counts)
    rng = peakmod.chrom_rng(p.seed, chrom)
    n_want_max = int(round(p.background_ratio * pw.size))
    avoid = [peakmod.union_intervals(peak_recs, chrom)] + ([bl] if bl is not None else [])
    bg = peakmod.background_candidates(rng, n_want_max, clen, L, bin_size, avoid)
    bg_lab, inside = _window_labels(bg, L, blocks)
    counts["split_gap_dropped_background"] = int((~inside).sum())
    bg, bg_lab = bg[inside], bg_lab[inside]
    allw = np.concatenate([pw, bg])
    scan = scan_chrom(fa, chrom, np.concatenate([allw, allw + L]))
    n_pw = scan.n_count(pw, pw + L)
    keep = n_pw / L <= p.max_n_frac
    counts["n_dropped"] = int((~keep).sum())
    dropped_lab = pw_lab[~keep]
    pw, n_pw, pw_lab = pw[keep], n_pw[keep], pw_lab[keep]
    counts["peak_kept"] = int(pw.size)
    n_bg = scan.n_count(bg, bg + L)
    okb = n_bg / L <= p.max_n_frac
    bg, n_bg, bg_lab = bg[okb], n_bg[okb], bg_lab[okb]
    gc_p = scan.gc_count(pw, pw + L) / np.maximum(L - n_pw, 1)
    gc_b = scan.gc_count(bg, bg + L) / np.maximum(L - n_bg, 1)
    idx, c = peakmod.gc_match(rng, gc_p, gc_b, p.background_ratio, p.gc_bins)
    counts.update(c)
    bg, bg_lab = bg[idx], bg_lab[idx]
    counts["background_kept"] = int(bg.size)
    allw = np.concatenate([pw, bg])
    kind = np.array(["peak"] * pw.size + ["background"] * bg.size, dtype=object)
    order = np.argsort(allw, kind="stable")
    starts, kinds = allw[order], list(kind[order])
    win_lab = np.concatenate([pw_lab, bg_lab])[order]
    counts["kept"] = int(starts.size)
    label_sets = peakmod.peak_sets(peak_recs, chrom)
    counts["gc_mean_peak"] = round(float(gc_p.mean()), 4) if gc_p.size else None
    counts["gc_mean_background"] = round(float(gc_b[idx].mean()), 4) if idx.size else None
    return starts, win_lab, kinds, dropped_lab, counts, scan, label_sets


def _write_arrays(tmp: Path, fa: Fasta, chrom: str, starts: np.ndarray, p: PrepareParams, T: int,
                  sources: list[BigWigSource], label_sets, bl: IntervalSet | None, saturated: np.ndarray) -> None:
    """Stream the windows' ``sequences.npy`` and ``targets.npy`` into ``tmp``, chunk by chunk.

    Parameters
    ----------
    tmp : Path
        The temporary part directory.
    fa : Fasta
        The opened genome.
    chrom : str
        The chromosome, in the FASTA's spelling.
    starts : numpy.ndarray
        Start of each window, sorted.
    p : PrepareParams
        The checked parameters.
    T : int
        Number of tracks.
    sources : list of BigWigSource
        The tracks' signal (profile mode).
    label_sets : object
        The peak sets of ``chrom`` (peak mode).
    bl : IntervalSet or None
        The blacklist intervals of ``chrom``.
    saturated : numpy.ndarray
        Per-track count of float16-saturated targets, updated in place (profile mode).

    Returns
    -------
    None
    """
    L, bin_size, n_bins = p.seq_length, p.bin_size, p.n_bins
    n = int(starts.size)
    seq_w = NpyWriter(tmp / "sequences.npy", (n, L), np.uint8)
    tgt_w = NpyWriter(tmp / "targets.npy", (n, n_bins, T), np.float16)
    max_n = max(1, min(CHUNK_BYTES // L, CHUNK_BYTES // max(1, n_bins * T * 4)))
    for i, j in chunk_bounds(starts, L, CHUNK_BP, max_n):
        st = starts[i:j]
        seq_w.write(_window_codes(fa, chrom, st, L))
        if p.mode == "profile":
            tg = window_targets(sources, chrom, st + p.crop_bp, n_bins, bin_size, bl, p.blacklist_mode, saturated)
        else:
            tg = peakmod.labels(label_sets, st, L, bin_size).astype(np.float16)[:, None, :]
        tgt_w.write(tg)
    seq_w.close()
    tgt_w.close()


def _part_record(p: PrepareParams, fa: Fasta, chrom: str, label: str, split: dict, samplesheet: str | os.PathLike,
                 bl_info: dict | None, scan, tracks_sha: str, n: int, tracks: list, counts: dict,
                 saturated: np.ndarray, warnings: list[str]) -> dict:
    """The ``part.json`` dict of a prepared chromosome.

    Parameters
    ----------
    p : PrepareParams
        The checked parameters.
    fa : Fasta
        The opened genome.
    chrom : str
        The chromosome, in the FASTA's spelling.
    label : str
        The chromosome's split label.
    split : dict
        The split dict.
    samplesheet : path
        The samplesheet file.
    bl_info : dict or None
        The blacklist record (:func:`_read_blacklist`).
    scan : object
        The chromosome scan (its ``sha256``).
    tracks_sha : str
        SHA-256 of ``tracks.tsv``.
    n : int
        Number of windows.
    tracks : list
        The samplesheet's tracks.
    counts : dict
        The window counts.
    saturated : numpy.ndarray
        Per-track count of float16-saturated targets.
    warnings : list of str
        The warnings of the task.

    Returns
    -------
    dict
        The part record.
    """
    return {
        "format": PART_FORMAT,
        "chrom": chrom,
        "chrom_length": fa.lengths[chrom],
        "split_label": label,
        "mode": p.mode,
        "params": p.as_dict(),
        "blacklist": bl_info,
        "samplesheet": {"file": str(Path(samplesheet).resolve()), "md5": _file_md5(Path(samplesheet))},
        "split": split,
        "genome": {
            "fasta": str(fa.path.resolve()),
            "names_lengths_md5": names_lengths_md5(fa.names, fa.lengths),
            "chrom_sha256": scan.sha256,
        },
        "tracks_sha256": tracks_sha,
        "n": n,
        "n_bins": p.n_bins,
        "n_tracks": len(tracks),
        "counts": counts,
        "float16_saturated": {t.track_id: int(k) for t, k in zip(tracks, saturated) if k},
        "warnings": warnings,
    }


def prepare_chrom(
    fasta: str | os.PathLike,
    samplesheet: str | os.PathLike,
    chrom: str,
    out: str | os.PathLike,
    split: dict | str | os.PathLike | None = None,
    params: PrepareParams | None = None,
    blacklist: str | os.PathLike | None = None,
) -> dict:
    """Prepare one chromosome into the part directory ``out``; returns the part's ``part.json`` dict.

    ``split`` is a :func:`make_split` dict or the path of a ``split.json``; without it every contig
    is ``train``. Windows come from the split's blocks of ``chrom``: with a whole-chromosome split
    one block ``[0, length)`` (windows at ``0, stride, 2*stride, ...``); with contig blocks,
    windows are tiled from each block's start with ``stride`` and lie wholly inside the block, and
    each window's ``split`` in ``regions.tsv`` is its block's label. In peak mode a peak or
    background window keeps its block's label when it lies wholly inside a block and is dropped
    otherwise (``counts["split_gap_dropped"]`` for peak windows; background candidates outside
    blocks are never drawn into the GC matching). ``part.json``'s ``split_label`` is the
    chromosome's label (``contigs`` for contig blocks); ``counts["by_split"]`` /
    ``counts["n_dropped_by_split"]`` give kept / N-dropped windows per window label.

    Parameters
    ----------
    fasta : str or os.PathLike
        Reference FASTA (plain or bgzip).
    samplesheet : str or os.PathLike
        The samplesheet CSV (tracks and their files).
    chrom : str
        Chromosome to prepare (any spelling the FASTA's names map from).
    out : str or os.PathLike
        Part directory to write (published atomically).
    split : dict, str, os.PathLike or None, optional
        A :func:`make_split` dict or ``split.json`` path; ``None``: every contig is ``train``.
    params : PrepareParams or None, optional
        Window, bin and filter parameters (default :class:`PrepareParams`).
    blacklist : str, os.PathLike or None, optional
        BED of regions to blank (profile) or keep away from (peak mode).

    Returns
    -------
    dict
        The part's ``part.json``: parameters, split, genome digests, counts and warnings.

    Raises
    ------
    InputError
        On bad parameters or inputs (chromosome absent or excluded, split of another FASTA, bad tracks).
    """
    t0 = time.perf_counter()
    p = (params or PrepareParams()).check()
    out = Path(out)
    fa = Fasta(fasta)
    chrom = _resolve_chrom(fa, chrom)
    clen = fa.lengths[chrom]
    split, split_src, label, blocks = _load_chrom_split(split, fa, chrom)

    tracks = read_samplesheet(samplesheet, p.mode)
    T = len(tracks)
    bl, bl_info = _read_blacklist(blacklist, fa, chrom)
    sources, peak_recs, warnings = _open_track_inputs(tracks, p, fa, chrom)

    if p.mode == "profile":
        windows = _profile_windows(fa, chrom, blocks, p)
    else:
        windows = _peak_windows(fa, chrom, clen, blocks, p, peak_recs, bl)
    starts, win_lab, kinds, dropped_lab, counts, scan, label_sets = windows

    block_labels = sorted({b[2] for b in blocks})
    counts["by_split"] = _label_counts(win_lab, block_labels)
    counts["n_dropped_by_split"] = _label_counts(dropped_lab, block_labels)
    n = int(starts.size)
    tmp = atomic_dir(out, "part.json")
    saturated = np.zeros(T, dtype=np.int64)
    try:
        _write_arrays(tmp, fa, chrom, starts, p, T, sources, label_sets, bl, saturated)
        write_regions(tmp / "regions.tsv", chrom, starts, p.seq_length, win_lab, kinds)
        table = track_table(tracks)
        table.to_csv(tmp / "tracks.tsv", sep="\t", index=False, lineterminator="\n")
        tracks_sha = hashlib.sha256((tmp / "tracks.tsv").read_bytes()).hexdigest()
        part = _part_record(p, fa, chrom, label, split, samplesheet, bl_info, scan, tracks_sha, n, tracks, counts,
                            saturated, warnings)
        (tmp / "part.json").write_text(json.dumps(part, indent=2) + "\n")
        publish_dir(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        for s in sources:
            s.close()
        fa.close()
    dt = time.perf_counter() - t0
    log.info("%s: %d windows kept (%s), %d dropped for N (%.1f s)", chrom, n,
             ", ".join(f"{k} {v}" for k, v in counts["by_split"].items()), counts.get("n_dropped", 0), dt)
    return part


# --------------------------------------------------------------------------- merge
def _read_part(path: Path) -> dict:
    pj = path / "part.json"
    try:
        part = json.loads(pj.read_text())
    except (OSError, ValueError) as err:
        raise InputError(pj, None, f"not a prepare_chrom part: {err}") from None
    if part.get("format") != PART_FORMAT:
        raise InputError(pj, "format", f"expected {PART_FORMAT}")
    for f in ("sequences.npy", "targets.npy", "regions.tsv", "tracks.tsv"):
        if not (path / f).is_file():
            raise InputError(path / f, None, "missing from the part")
    return part


def _place(src: Path, dst: Path, link: str) -> None:
    src = src.resolve()
    if link == "copy":
        shutil.copyfile(src, dst)
    elif link == "symlink":
        os.symlink(src, dst)
    elif link == "move":
        shutil.move(str(src), dst)
    else:  # hardlink, falling back to a copy across filesystems
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)


def merge_parts(
    parts: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    link: str = "hardlink",
    allow_missing: bool = False,
    require: Sequence[str] = ("valid", "test"),
) -> dict:
    """Merge per-chromosome parts into a dataset directory; returns the manifest.

    Parts must share mode, parameters, split, track table and genome layout; each chromosome may
    appear once. Unless ``allow_missing``, every chromosome the split assigns (not ``exclude``)
    needs a part. ``link``: ``hardlink`` (default; copies across filesystems), ``copy``,
    ``symlink`` or ``move``.

    ``require`` (default ``valid`` and ``test``): each of these splits that the split assigned
    some chromosome or block to (for k folds: every fold) must end up with at least one window,
    else a one-line :class:`InputError` names the dataset and the split (e.g. all its blocks were
    dropped by the N filter). A split the split assigned nothing to is
    :func:`seq2func.prepare.split.check_nonempty`'s business (``prepare_split.py --require``); with
    ``allow_missing``, splits none of whose chromosomes has a part are not checked. The check runs
    before anything is linked or moved. ``()`` turns it off.

    Parameters
    ----------
    parts : Sequence of str or os.PathLike
        Part directories written by :func:`prepare_chrom`.
    out : str or os.PathLike
        Dataset directory to write (published atomically).
    link : str, optional
        How shard files get into ``out``: ``hardlink``, ``copy``, ``symlink`` or ``move``.
    allow_missing : bool, optional
        Accept that some chromosomes of the split have no part.
    require : Sequence of str, optional
        Splits that must get at least one window; ``()``: no check.

    Returns
    -------
    dict
        The dataset's ``manifest.json``.

    Raises
    ------
    InputError
        When parts disagree, a chromosome is missing or duplicated, or a required split has no window.
    """
    if link not in ("hardlink", "copy", "symlink", "move"):
        raise InputError("--link", link, "must be hardlink, copy, symlink or move")
    out = Path(out)
    paths = [Path(x) for x in parts]
    if not paths:
        raise InputError("--parts", None, "no parts given")
    loaded = [(pp, _read_part(pp)) for pp in paths]
    ref_path, ref = loaded[0]
    ref_tracks = (ref_path / "tracks.tsv").read_bytes()
    seen: dict[str, Path] = {}
    for pp, part in loaded:
        for key in ("mode", "params", "blacklist"):
            if part[key] != ref[key]:
                raise InputError(pp / "part.json", key, f"differs from {ref_path / 'part.json'}")
        if part["split"].get("digest") != ref["split"].get("digest"):
            raise InputError(pp / "part.json", "split", f"made with another split than {ref_path / 'part.json'}")
        if part["genome"]["names_lengths_md5"] != ref["genome"]["names_lengths_md5"]:
            raise InputError(pp / "part.json", "genome", f"made from another FASTA than {ref_path / 'part.json'}")
        if (pp / "tracks.tsv").read_bytes() != ref_tracks:
            raise InputError(pp / "tracks.tsv", None, f"track table differs from {ref_path / 'tracks.tsv'}")
        if part["chrom"] in seen:
            raise InputError(pp / "part.json", part["chrom"], f"chromosome also in {seen[part['chrom']]}")
        seen[part["chrom"]] = pp
    split = ref["split"]
    order = list(split["chroms"])
    wanted = [c for c in order if split["chroms"][c] != EXCLUDE]
    missing = [c for c in wanted if c not in seen]
    if missing and not allow_missing:
        raise InputError("--parts", ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""), "no part for these chromosomes of the split")
    loaded.sort(key=lambda x: order.index(x[1]["chrom"]))
    by_split, nd_split = _split_counts(loaded, split)
    _check_windows(split, by_split, nd_split, loaded, out, require, ref["params"])

    tmp = atomic_dir(out, "manifest.json")
    try:
        (tmp / "shards").mkdir()
        shards = []
        with open(tmp / "regions.tsv", "w") as reg:
            reg.write("\t".join(REGION_COLUMNS) + "\n")
            for pp, part in loaded:
                with open(pp / "regions.tsv") as fh:
                    header = fh.readline().rstrip("\n").split("\t")
                    if header != REGION_COLUMNS:
                        raise InputError(pp / "regions.tsv", "header", "unexpected columns")
                    k = 0
                    for line in fh:
                        reg.write(line)
                        k += 1
                if k != part["n"]:
                    raise InputError(pp / "regions.tsv", None, f"{k} rows but part.json says {part['n']}")
                if part["n"] == 0:
                    continue
                d = Path("shards") / safe_name(part["chrom"])
                (tmp / d).mkdir()
                _place(pp / "sequences.npy", tmp / d / "sequences.npy", link)
                _place(pp / "targets.npy", tmp / d / "targets.npy", link)
                shards.append({"chrom": part["chrom"], "n": part["n"], "sequences": str(d / "sequences.npy"), "targets": str(d / "targets.npy")})
        (tmp / "tracks.tsv").write_bytes(ref_tracks)
        track_ids = [ln.split("\t")[1] for ln in ref_tracks.decode().splitlines()[1:]]
        manifest = _manifest(loaded, shards, missing if allow_missing else [], track_ids, by_split, nd_split)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        publish_dir(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("dataset %s: %d windows (%s), %d dropped for N", out, manifest["counts"]["windows"],
             ", ".join(f"{k} {v}" for k, v in manifest["counts"]["by_split"].items()), manifest["counts"]["n_dropped"])
    return manifest


def _split_counts(loaded: list[tuple[Path, dict]], split: dict) -> tuple[dict[str, int], dict[str, int]]:
    """Kept and N-dropped windows per window label over all parts (every label of the split listed)."""
    by_split: dict[str, int] = {}
    nd_split: dict[str, int] = {}
    for _, part in loaded:
        c = part["counts"]
        kept = c.get("by_split", {part["split_label"]: part["n"]})
        dropped = c.get("n_dropped_by_split", {part["split_label"]: c.get("n_dropped", 0)})
        for lab, k in kept.items():
            by_split[lab] = by_split.get(lab, 0) + int(k)
        for lab, k in dropped.items():
            nd_split[lab] = nd_split.get(lab, 0) + int(k)
    for lab in {b["split"] for b in split_blocks(split)}:
        by_split.setdefault(lab, 0)
        nd_split.setdefault(lab, 0)
    return dict(sorted(by_split.items())), dict(sorted(nd_split.items()))


def _check_windows(split: dict, by_split: dict[str, int], nd_split: dict[str, int], loaded: list[tuple[Path, dict]],
                   out: Path, require: Sequence[str], params: dict) -> None:
    """One-line error when a split the split asked for (see :func:`merge_parts`) has no window."""
    blocks = split_blocks(split)
    prepared = {part["chrom"] for _, part in loaded}
    for lab in requested_labels(split, tuple(require)):
        mine = [b for b in blocks if b["split"] == lab]
        if not mine or by_split.get(lab, 0) > 0:
            continue  # assigned nothing: prepare_split.py's check; or it has windows
        if not any(b["chrom"] in prepared for b in mine):
            continue  # none of its chromosomes was prepared (allow_missing)
        what = "block(s)" if split_mode(split) == "contig" else "chromosome(s)"
        bp = sum(int(b["end"]) - int(b["start"]) for b in mine)
        raise InputError(out, lab, f"empty split: its {len(mine)} {what} ({bp} bp) gave no window "
                                   f"({nd_split.get(lab, 0)} dropped for N > max_n_frac {params.get('max_n_frac')}, "
                                   f"seq_length {params.get('seq_length')}); change the split or --max_n_frac")


def _manifest(loaded: list[tuple[Path, dict]], shards: list[dict], missing: list[str], track_ids: list[str],
              by_split: dict[str, int], nd_split: dict[str, int]) -> dict:
    ref = loaded[0][1]
    split = ref["split"]
    by_chrom = {}
    sat: dict[str, int] = {}
    warnings: list[str] = []
    for _, part in loaded:
        by_chrom[part["chrom"]] = {"split": part["split_label"], **part["counts"]}
        for k, v in part["float16_saturated"].items():
            sat[k] = sat.get(k, 0) + v
        warnings.extend(part["warnings"])
    warnings.extend(f"no part for {c} (merged with --allow-missing)" for c in missing)
    n_total = sum(s["n"] for s in shards)
    T = ref["n_tracks"]
    digests = [(part["chrom"], part["chrom_length"], part["genome"]["chrom_sha256"]) for _, part in loaded]
    return {
        "format": DATASET_FORMAT,
        "mode": ref["mode"],
        "genome": {
            "fasta": ref["genome"]["fasta"],
            "names_lengths_md5": ref["genome"]["names_lengths_md5"],
            "sha256": genome_sha256(digests),
            "sha256_of": "sha256 over 'chrom<TAB>length<TAB>sha256(upper-case sequence)<NL>' of the prepared chromosomes in FASTA order",
            "chroms": {c: {"length": n, "sha256": d} for c, n, d in digests},
        },
        "params": ref["params"],
        "blacklist": ref["blacklist"],
        "samplesheet": ref["samplesheet"],
        "split": split,
        "tracks": {"n": T, "table": "tracks.tsv", "track_ids": track_ids},
        "store": {
            "format": "npy",
            "regions": "regions.tsv",
            "sequences": {"dtype": "uint8", "shape": [n_total, ref["params"]["seq_length"]], "codes": {"A": 0, "C": 1, "G": 2, "T": 3, "N": 4}},
            "targets": {
                "dtype": "float16",
                "shape": [n_total, ref["n_bins"], T],
                "blacklisted_bins": "nan" if ref["params"]["blacklist_mode"] == "mask" else "0",
            },
            "shards": shards,
        },
        "counts": {
            "windows": n_total,
            "by_split": dict(sorted(by_split.items())),
            "n_dropped": sum(nd_split.values()),
            "n_dropped_by_split": dict(sorted(nd_split.items())),
            "by_chrom": by_chrom,
        },
        "float16_saturated": sat,
        "warnings": warnings,
        "versions": versions(),
    }


# --------------------------------------------------------------------------- all in one
def prepare_dataset(
    fasta: str | os.PathLike,
    samplesheet: str | os.PathLike,
    out: str | os.PathLike,
    params: PrepareParams | None = None,
    split: dict | str | os.PathLike | None = None,
    blacklist: str | os.PathLike | None = None,
    chroms: Sequence[str] | None = None,
    require: Sequence[str] = ("valid", "test"),
    **split_kwargs,
) -> dict:
    """Split + every chromosome + merge in one process (tests, benchmarks, small genomes).

    ``split`` is a split dict or ``split.json``; otherwise :func:`make_split` runs on the FASTA
    with ``split_kwargs`` (``test_chroms``, ``fractions``, ``folds``, ``split_by``,
    ``block_size``, ``min_gap``, ``gap``, ...; in contig mode ``seq_length`` defaults to the
    window length of ``params``). ``chroms`` limits the chromosomes prepared (merged with
    ``allow_missing``). ``require`` is passed to :func:`merge_parts`.

    Parameters
    ----------
    fasta : str or os.PathLike
        Reference FASTA (plain or bgzip).
    samplesheet : str or os.PathLike
        The samplesheet CSV.
    out : str or os.PathLike
        Dataset directory to write; parts are built in a hidden sibling folder that is removed after.
    params : PrepareParams or None, optional
        PREPARE parameters (default :class:`PrepareParams`).
    split : dict, str, os.PathLike or None, optional
        A split dict or ``split.json``; ``None``: made here from ``split_kwargs``.
    blacklist : str, os.PathLike or None, optional
        Blacklist BED.
    chroms : Sequence of str or None, optional
        Only these chromosomes (names as in the split); ``None``: every non-excluded chromosome.
    require : Sequence of str, optional
        Splits that must get at least one window (:func:`merge_parts`).
    **split_kwargs
        Passed to :func:`make_split` when ``split`` is ``None``.

    Returns
    -------
    dict
        The dataset's manifest.
    """
    out = Path(out)
    if split is None:
        if str(split_kwargs.get("split_by", "chrom")).lower() != "chrom":
            split_kwargs.setdefault("seq_length", (params or PrepareParams()).resolved().seq_length)
        split = make_split(fasta, **split_kwargs)
    elif not isinstance(split, dict):
        split = load_split(split)
    todo = [c for c, lab in split["chroms"].items() if lab != EXCLUDE]
    if chroms is not None:
        todo = [c for c in todo if c in set(chroms)]
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.parts-{os.getpid()}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    try:
        parts = []
        for c in todo:
            pp = work / f"{safe_name(c)}.part"
            prepare_chrom(fasta, samplesheet, c, pp, split=split, params=params, blacklist=blacklist)
            parts.append(pp)
        return merge_parts(parts, out, link="move", allow_missing=chroms is not None, require=require)
    finally:
        shutil.rmtree(work, ignore_errors=True)
