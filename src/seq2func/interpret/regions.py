"""The regions INTERPRET explains (``--interpret_regions``, ``--interpret_n``).

Two sources, one output: a table with one row per (region, cell type) and the uint8 codes of
each row's sequence.

- **dataset windows** (default, ``how="signal"``): for each cell type, the ``n`` windows of a
  split with the highest summed target signal of that cell type. The cell types are those of the
  ``target`` tracks of ``dataset.tracks`` (every cell type when no track has role ``target``),
  or the ones asked for. A cell type's *ranking tracks* are all its tracks (any role) whose assay
  is accessibility-like (ATAC or DNase, any spelling such as ``ATAC-seq``/``dnase``) when it has
  any, else all its tracks. The score of a window is

  - profile mode: the sum over bins and ranking tracks of the stored targets (float64, NaN bins
    of ``blacklist_mode=mask`` skipped);
  - peak mode: the sum of the 0/1 labels over the ranking tracks (how many of them call the
    window a peak); only windows with a score > 0 are eligible. The labels carry no strength,
    so ties, usually all of them, go to the first windows in dataset order (FASTA contig order,
    then position) - the "strongest" peaks are simply the first ``n`` positive ones.

  Ties are always broken by dataset order, so the choice is deterministic. A window chosen for
  two cell types appears once per cell type. ``how="random"`` instead draws ``n`` windows of the
  split uniformly without replacement (``numpy.random.default_rng(seed)``), the same windows for
  every cell type, in dataset order, scored the same way.
- **a user BED** (``bed=``; ``chrom start end [name]``, 0-based half-open; ``#``/``track``/
  ``browser`` lines and blank lines skipped; gzip read transparently): each region is recentred
  and resized to the dataset's ``seq_length`` ``L`` - the window ``[c - L // 2, c - L // 2 + L)``
  with ``c = (start + end) // 2`` - and its sequence fetched from the reference FASTA
  (``fasta=``). Contig names are matched to the FASTA's (``1`` / ``chr1``,
  :func:`seq2func.chroms.alias_map`) and reported in the FASTA's spelling. Every region gets one
  row per cell type (the cell types chosen as above) with ``window = -1`` and ``score = NaN``.
  A malformed line, a region on a contig absent from the FASTA, a region past a contig's end, or
  a window that would run past a contig edge is one :class:`~seq2func.errors.InputError` naming
  the BED line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.prepare.bed import _open_text
from seq2func.prepare.genome import Fasta
from seq2func.prepare.store import PreparedDataset, open_dataset

__all__ = ["COLUMNS", "ranking_tracks", "read_regions_bed", "select_regions", "window_scores"]

#: columns of the table :func:`select_regions` returns, in order
COLUMNS = ["chrom", "start", "end", "window", "cell_type", "track_id", "score", "rank", "name"]

#: assays whose signal ranks a cell type's windows when it has any (matched case-insensitively
#: on the assay name with ``-``/``_``/spaces removed, as a prefix: ``ATAC-seq``, ``DNase_hs``)
ACCESSIBILITY_ASSAYS = ("atac", "dnase")

#: float16 target elements read per chunk when scoring windows
TARGET_BUDGET = 1 << 25


def _is_accessibility(assay: str) -> bool:
    a = "".join(ch for ch in str(assay).lower() if ch not in "-_ ")
    return a.startswith(ACCESSIBILITY_ASSAYS)


def _open(dataset):
    return dataset if isinstance(dataset, PreparedDataset) or hasattr(dataset, "targets") else open_dataset(dataset)


def ranking_tracks(dataset, cell_types: Sequence[str] | None = None) -> dict[str, list[int]]:
    """The target columns that rank each cell type's windows.

    Parameters
    ----------
    dataset
        A :class:`~seq2func.prepare.store.PreparedDataset` (or its path).
    cell_types
        Cell types to rank for; default: those of the tracks with role ``target`` (every cell
        type of ``dataset.tracks`` when none has that role), in track order.

    Returns
    -------
    dict
        Cell type -> target column indices (ascending): its ATAC/DNase tracks when it has any,
        else all its tracks (any role).

    Raises
    ------
    seq2func.errors.InputError
        A requested cell type has no track in the dataset.
    """
    ds = _open(dataset)
    tt = ds.tracks
    ct_col = tt["cell_type"].astype(str).tolist()
    if cell_types is None:
        roles = tt["role"].astype(str).str.lower().tolist()
        pool = [c for c, r in zip(ct_col, roles) if r == "target"] or ct_col
        cell_types = list(dict.fromkeys(pool))
    else:
        cell_types = [cell_types] if isinstance(cell_types, str) else list(dict.fromkeys(str(c) for c in cell_types))
        known = list(dict.fromkeys(ct_col))
        for c in cell_types:
            if c not in known:
                raise InputError("cell_types", c, f"not a cell type of the dataset (known: {', '.join(known)})")
    cols = tt["index"].to_numpy(dtype=np.int64) if "index" in tt.columns else np.arange(len(tt), dtype=np.int64)
    access = np.array([_is_accessibility(a) for a in tt["assay"]], dtype=bool)
    out: dict[str, list[int]] = {}
    for c in cell_types:
        mine = np.array([x == c for x in ct_col], dtype=bool)
        sel = mine & access if (mine & access).any() else mine
        out[c] = sorted(int(i) for i in cols[sel])
    return out


def window_scores(dataset, windows: np.ndarray, tracks: dict[str, list[int]]) -> np.ndarray:
    """Summed target signal of windows for each cell type's ranking tracks.

    Parameters
    ----------
    dataset
        A :class:`~seq2func.prepare.store.PreparedDataset` (or its path).
    windows
        Window indices ``(n,)``.
    tracks
        Cell type -> target columns (see :func:`ranking_tracks`).

    Returns
    -------
    numpy.ndarray
        float64 ``(n, len(tracks))``: per window and cell type, the sum over bins and columns of
        the stored targets (NaN skipped). Targets are read in chunks of at most
        :data:`TARGET_BUDGET` values.
    """
    ds = _open(dataset)
    windows = np.asarray(windows, dtype=np.int64)
    names = list(tracks)
    out = np.zeros((windows.size, len(names)), dtype=np.float64)
    union = sorted({c for cols in tracks.values() for c in cols})
    if not windows.size or not union:
        return out
    pos = {c: k for k, c in enumerate(union)}
    groups = [[pos[c] for c in tracks[n]] for n in names]
    _, n_bins, n_tracks = ds.targets.shape
    chunk = max(1, TARGET_BUDGET // max(1, n_bins * n_tracks))
    for s in range(0, windows.size, chunk):
        t = np.asarray(ds.targets[windows[s:s + chunk]])[:, :, union].astype(np.float64)
        per_track = np.nansum(t, axis=1)  # (b, len(union))
        for j, g in enumerate(groups):
            out[s:s + t.shape[0], j] = per_track[:, g].sum(axis=1)
    return out


def read_regions_bed(path: str | os.PathLike, fasta_lengths: dict[str, int], seq_length: int,
                     ) -> list[tuple[str, int, int, str]]:
    """Read a BED of regions and recentre each on a ``seq_length`` window inside its contig.

    Parameters
    ----------
    path
        BED file (``chrom start end [name]``, 0-based half-open; tabs, or whitespace when a
        line has fewer than 3 tab-separated fields; ``.gz`` read transparently).
    fasta_lengths
        Contig name -> length of the reference FASTA (in FASTA order).
    seq_length
        Window length ``L``.

    Returns
    -------
    list of tuple
        ``(chrom, start, end, name)`` per region in file order: the FASTA's contig name, the
        window ``[c - L // 2, c - L // 2 + L)`` with ``c = (start + end) // 2``, and the BED name
        (``chrom:start-end`` of the BED line when it has none).

    Raises
    ------
    seq2func.errors.InputError
        One line naming the BED file and line: fewer than 3 columns, non-integer or negative
        coordinates, ``end < start``, a contig absent from the FASTA, an end past the contig, a
        window past a contig edge; or a BED with no region.
    """
    path = Path(path)
    L = int(seq_length)
    if not path.is_file():
        raise InputError(path, None, "BED file not found")
    names = list(fasta_lengths)
    cache: dict[str, str | None] = {}
    out: list[tuple[str, int, int, str]] = []
    try:
        fh = _open_text(path)
    except OSError as err:
        raise InputError(path, None, f"cannot read: {err.strerror or err}") from None
    try:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\r\n").split("\t")
            if len(f) < 3:
                f = line.split()
            rec = f"line {lineno}"
            if len(f) < 3:
                raise InputError(path, rec, "expected at least 3 tab-separated columns (chrom, start, end[, name])")
            try:
                s, e = int(f[1]), int(f[2])
            except ValueError:
                raise InputError(path, rec, f"start/end must be integers, got '{f[1]}', '{f[2]}'") from None
            c = f[0].strip()
            rec = f"line {lineno} ({c}:{s}-{e})"
            if s < 0:
                raise InputError(path, rec, f"negative start {s}")
            if e < s:
                raise InputError(path, rec, f"end {e} < start {s}")
            if c not in cache:
                cache[c] = alias_map(names, [c]).get(c)
            fc = cache[c]
            if fc is None:
                raise InputError(path, rec, f"contig '{c}' is not in the FASTA")
            n = int(fasta_lengths[fc])
            if e > n:
                raise InputError(path, rec, f"end beyond the FASTA contig {fc} (length {n}); another assembly?")
            ws = (s + e) // 2 - L // 2
            if ws < 0 or ws + L > n:
                raise InputError(path, rec, f"the {L} bp window centred on the region, {fc}:{ws}-{ws + L}, "
                                            f"runs past the contig {'start' if ws < 0 else 'end'} (length {n})")
            name = f[3].strip() if len(f) > 3 and f[3].strip() else f"{c}:{s}-{e}"
            out.append((fc, ws, ws + L, name))
    except UnicodeDecodeError:
        raise InputError(path, None, "not a text BED file") from None
    except (OSError, EOFError) as err:
        raise InputError(path, None, f"cannot read: {err}") from None
    finally:
        fh.close()
    if not out:
        raise InputError(path, None, "no regions in the BED file")
    return out


def _empty(L: int) -> tuple[pd.DataFrame, np.ndarray]:
    return _frame([], [], [], [], [], [], [], [], []), np.zeros((0, L), dtype=np.uint8)


def _frame(chrom, start, end, window, cell_type, track_id, score, rank, name) -> pd.DataFrame:
    return pd.DataFrame({
        "chrom": pd.Series(chrom, dtype=object),
        "start": np.asarray(start, dtype=np.int64),
        "end": np.asarray(end, dtype=np.int64),
        "window": np.asarray(window, dtype=np.int64),
        "cell_type": pd.Series(cell_type, dtype=object),
        "track_id": pd.Series(track_id, dtype=object),
        "score": np.asarray(score, dtype=np.float64),
        "rank": np.asarray(rank, dtype=np.int64),
        "name": pd.Series(name, dtype=object),
    }, columns=COLUMNS)


def select_regions(dataset, *, cell_types: Sequence[str] | None = None, n: int = 10, split: str | None = "test",
                   how: str = "signal", bed: str | os.PathLike | None = None, fasta: str | os.PathLike | None = None,
                   fold: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Choose the regions INTERPRET explains, and their sequences.

    Parameters
    ----------
    dataset
        A :class:`~seq2func.prepare.store.PreparedDataset` (or its path).
    cell_types
        Cell types to choose for (default: the ``target`` tracks' cell types, else every cell
        type; see :func:`ranking_tracks`).
    n
        Windows per cell type (dataset windows only; fewer when the split has fewer, or, in peak
        mode, fewer positive windows).
    split
        Split to choose from (a label of ``dataset.regions.split``, or with ``fold`` a role of
        :meth:`~seq2func.prepare.store.PreparedDataset.split`); ``None``: every window.
    how
        ``signal``: the top ``n`` by summed signal (see the module docstring); ``random``: ``n``
        random windows of the split, the same for every cell type (seeded by ``seed``).
    bed
        A BED of regions to explain instead of dataset windows.
    fasta
        The reference FASTA (plain or bgzip) the BED regions are fetched from; required with
        ``bed``.
    fold
        Fold of a k-fold dataset (passed to ``dataset.split``).
    seed
        Seed of ``how="random"``.

    Returns
    -------
    table : pandas.DataFrame
        One row per (region, cell type), columns :data:`COLUMNS`: ``chrom``, ``start``, ``end``
        (the ``L``-bp window, 0-based half-open), ``window`` (dataset index; -1 for BED regions),
        ``cell_type``, ``track_id`` (the cell type's ranking tracks, ``;``-joined), ``score``
        (summed signal; NaN for BED regions), ``rank`` (1-based within the cell type; the BED
        line order for BED regions) and
        ``name`` (the BED name, else ``chrom:start-end``). Cell types follow one another in the
        order chosen; within one, rows go by rank.
    codes : numpy.ndarray
        uint8 ``(len(table), L)``: row ``i``'s sequence (``dataset.sequences[window]``, or the
        FASTA's for BED regions), ``A=0 C=1 G=2 T=3 N=4``.

    Raises
    ------
    seq2func.errors.InputError
        An unknown cell type or split, a bad BED line (one line naming it), a missing FASTA, or a
        FASTA whose contig lengths disagree with the dataset's.
    ValueError
        ``n < 1`` or an unknown ``how``.
    """
    ds = _open(dataset)
    L = int(ds.seq_length)
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if how not in ("signal", "random"):
        raise ValueError(f"how must be 'signal' or 'random', got {how!r}")
    tracks = ranking_tracks(ds, cell_types)
    ids = ds.tracks["track_id"].astype(str).tolist()
    tid = {c: ";".join(ids[i] for i in cols) for c, cols in tracks.items()}

    if bed is not None:
        return _from_bed(ds, bed, fasta, tracks, tid, L)

    if split is None:
        idx = np.arange(len(ds), dtype=np.int64)
    else:
        try:
            idx = np.asarray(ds.split(split, fold=fold), dtype=np.int64)
        except KeyError as err:
            raise InputError("split", str(split), str(err.args[0] if err.args else err)) from None
    if not idx.size:
        return _empty(L)
    peak = ds.mode == "peak"
    k = min(int(n), idx.size)
    if how == "random":
        drawn = np.sort(np.random.default_rng(int(seed)).choice(idx, size=k, replace=False))
        scores = window_scores(ds, drawn, tracks)
        picks = {c: (drawn, scores[:, j]) for j, c in enumerate(tracks)}
    else:
        scores = window_scores(ds, idx, tracks)
        picks = {}
        for j, c in enumerate(tracks):
            sc = scores[:, j]
            order = np.lexsort((idx, -sc))  # score descending, then dataset order
            if peak:
                order = order[sc[order] > 0]
            order = order[:k]
            picks[c] = (idx[order], sc[order])

    reg = ds.regions
    rows: dict[str, list] = {col: [] for col in COLUMNS}
    for c, (win, sc) in picks.items():
        for r, (g, v) in enumerate(zip(win.tolist(), sc.tolist()), 1):
            ch, s, e = str(reg["chrom"].iat[g]), int(reg["start"].iat[g]), int(reg["end"].iat[g])
            for col, val in zip(COLUMNS, (ch, s, e, g, c, tid[c], v, r, f"{ch}:{s}-{e}")):
                rows[col].append(val)
    table = _frame(*(rows[col] for col in COLUMNS))
    if not len(table):
        return _empty(L)
    win = table["window"].to_numpy()
    uniq, inv = np.unique(win, return_inverse=True)
    codes = np.asarray(ds.sequences[uniq], dtype=np.uint8)[inv.reshape(-1)]
    return table, codes


def _from_bed(ds, bed, fasta, tracks: dict[str, list[int]], tid: dict[str, str], L: int) -> tuple[pd.DataFrame, np.ndarray]:
    if fasta is None:
        raise InputError("fasta", None, f"regions from a BED ({bed}) need the reference FASTA to fetch their sequences")
    with Fasta(fasta) as fa:
        regions = read_regions_bed(bed, {c: fa.lengths[c] for c in fa.names}, L)
        known = ((ds.manifest.get("genome") or {}).get("chroms") or {})
        for c in dict.fromkeys(r[0] for r in regions):
            want = (known.get(c) or {}).get("length")
            if want is not None and int(want) != fa.lengths[c]:
                raise InputError(fasta, c, f"contig length {fa.lengths[c]} differs from the dataset's ({want}); another assembly?")
        seqs = np.stack([fa.fetch(c, s, e) for c, s, e, _ in regions]).astype(np.uint8)
    if seqs.shape[1] != L:  # pragma: no cover - fetch inside the contig always returns L bases
        raise InputError(fasta, None, "fetched sequences have the wrong length")
    rows: dict[str, list] = {col: [] for col in COLUMNS}
    which: list[int] = []
    for c in tracks:
        for r, (ch, s, e, name) in enumerate(regions):
            for col, val in zip(COLUMNS, (ch, s, e, -1, c, tid[c], np.nan, r + 1, name)):
                rows[col].append(val)
            which.append(r)
    return _frame(*(rows[col] for col in COLUMNS)), seqs[np.asarray(which, dtype=np.int64)]
