"""Variant effect scores (Basenji SAD-style): the scoring core of SCORE_VARIANTS.

For each variant, the model predicts its reference window and its alternative window(s)
(:mod:`seq2func.variants.sequences`); indel predictions are stitched so that every output bin
compares the same genome positions; both profiles go back to the tracks' untransformed scale
(:meth:`seq2func.transforms.Transform.invert`), and per track:

=========  ==================================================================================
SAD        ``sum(alt) - sum(ref)`` over the output bins
logSAD     ``log2(sum(alt) + 1) - log2(sum(ref) + 1)``
D2         L2 norm of the bin differences ``sqrt(sum((alt - ref) ** 2))`` (unsigned)
SAX        ``alt - ref`` at the bin of largest ``|alt - ref|`` (the first such bin on ties)
dlogit     classification models (one logit per track): ``alt - ref``
dprob      classification models: ``sigmoid(alt) - sigmoid(ref)``
SAD        scalar models (one value per track): ``alt - ref``
=========  ==================================================================================

Classification and scalar outputs are used as they are (no untransform: a classifier's logits
and a scalar model's ``log1p`` window sums are not on a track's transformed scale), and only the
left-aligned alternative window is predicted (without bins there is nothing to stitch).

Ensembling: every orientation (forward; reverse complement with ``rc``; the predictor maps it back
to forward coordinates) and every shift is scored on its own and the scores are averaged (averaging
predictions first would mix bins that cover different genome positions). A shift ``s`` moves the
genome window so that the variant sits at input index ``L // 2 + s`` (real sequence, not N padding).

``flipped`` variants (alleles swapped relative to the file they came from) have their signed
scores negated; D2, which does not depend on the direction, is left as it is.

Shared reference windows (``share_reference=True``, Basenji's SNP clustering): variants sorted
by position are grouped while they lie within ``cluster_bp`` (default ``L // 8``) of their group's
first; one window centred on the group's midpoint (``(first + last) // 2``, plus the shift) serves
the whole group: its reference is predicted once and each variant's alternatives are built in
that same window. Scores then come from a window in which the variant is off-centre by up to
``cluster_bp / 2`` bp, so they differ slightly from the centred ones. Even without clustering,
variants with the same window (several ALT alleles at one position) share their reference.

Memory: a chunk of ``batch_size`` variants holds about ``3 * batch_size`` windows' predictions in
float32 plus their float64 copies while scoring (``batch_size * bins * tracks * 8`` bytes each).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from seq2func.errors import InputError
from seq2func.prepare.genome import Fasta
from seq2func.transforms import parse_transform
from seq2func.variants.sequences import VariantWindows, stitch, variant_windows

__all__ = [
    "CLASSIFICATION_SCORES",
    "PROFILE_SCORES",
    "SCALAR_SCORES",
    "SIGNED_SCORES",
    "compute_scores",
    "default_scores",
    "predict_windows",
    "score_variants",
    "untransform_predictions",
]

PROFILE_SCORES = ("SAD", "logSAD", "D2", "SAX")
CLASSIFICATION_SCORES = ("dlogit", "dprob")
SCALAR_SCORES = ("SAD",)
#: scores that change sign when REF and ALT are swapped (``flipped`` rows)
SIGNED_SCORES = frozenset({"SAD", "logSAD", "SAX", "dlogit", "dprob"})

_BY_KIND = {"profile": PROFILE_SCORES, "classification": CLASSIFICATION_SCORES, "scalar": SCALAR_SCORES}


def default_scores(kind: str) -> tuple[str, ...]:
    """Every score a model of output kind ``kind`` (``profile``, ``classification``, ``scalar``) gives.

    Parameters
    ----------
    kind : str
        The model's output kind: ``profile``, ``classification`` or ``scalar``.

    Returns
    -------
    tuple of str
        The score names, in their canonical order.

    Raises
    ------
    ValueError
        If ``kind`` is not a known output kind.
    """
    if kind not in _BY_KIND:
        raise ValueError(f"unknown model output kind {kind!r}")
    return _BY_KIND[kind]


def _check_scores(scores: Sequence[str] | str | None, kind: str) -> tuple[str, ...]:
    allowed = default_scores(kind)
    if scores is None:
        return allowed
    names = [scores] if isinstance(scores, str) else list(scores)
    names = [s.strip() for n in names for s in str(n).split(",") if s.strip()]
    if not names:
        raise InputError("--scores", None, f"no score named (a {kind} model gives {', '.join(allowed)})")
    bad = [s for s in names if s not in allowed]
    if bad:
        raise InputError("--scores", None, f"{', '.join(bad)}: not a score of a {kind} model "
                         f"(choose from {', '.join(allowed)})")
    return tuple(dict.fromkeys(names))


# --------------------------------------------------------------------------- building blocks
def untransform_predictions(y: np.ndarray, transforms: Sequence[str | None]) -> np.ndarray:
    """Predictions ``(..., tracks)`` back on each track's untransformed scale (float64):
    :meth:`~seq2func.transforms.Transform.invert` of ``transforms[i]`` on column ``i``.

    Parameters
    ----------
    y : numpy.ndarray
        Predictions ``(..., tracks)`` on the tracks' transformed scale (not modified).
    transforms : sequence of str or None
        One transform spec per track (:func:`seq2func.transforms.parse_transform`); ``None``: no transform.

    Returns
    -------
    numpy.ndarray
        A float64 copy of ``y``, each column inverted through its track's transform.

    Raises
    ------
    ValueError
        If the number of transforms differs from the number of tracks.
    """
    out = np.array(y, dtype=np.float64)  # a copy
    if len(transforms) != out.shape[-1]:
        raise ValueError(f"{len(transforms)} transforms for {out.shape[-1]} tracks")
    cols: dict[str, list[int]] = {}
    for i, t in enumerate(transforms):
        cols.setdefault(str(parse_transform(t)), []).append(i)
    for text, idx in cols.items():
        t = parse_transform(text)
        if t.ops:
            out[..., idx] = t.invert(out[..., idx])
    return out


def compute_scores(ref: np.ndarray, alt: np.ndarray, kind: str, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Scores of reference and (stitched) alternative predictions ``(N, bins, tracks)``.

    Parameters
    ----------
    ref : numpy.ndarray
        Reference predictions ``(N, bins, tracks)`` (``bins`` is 1 for classification and scalar models).
    alt : numpy.ndarray
        Alternative predictions, same shape and genome positions per bin as ``ref``.
    kind : str
        The model's output kind: ``profile``, ``classification`` or ``scalar``.
    names : sequence of str
        Scores to compute, names among :func:`default_scores` of ``kind``.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{name: (N, tracks) float64}`` (definitions: module docstring).
    """
    ref = np.asarray(ref, dtype=np.float64)
    alt = np.asarray(alt, dtype=np.float64)
    out: dict[str, np.ndarray] = {}
    if kind == "classification":
        for name in names:
            if name == "dlogit":
                out[name] = alt[:, 0, :] - ref[:, 0, :]
            elif name == "dprob":
                # sigmoid(v) = (1 + tanh(v / 2)) / 2, free of overflow
                out[name] = 0.5 * (np.tanh(0.5 * alt[:, 0, :]) - np.tanh(0.5 * ref[:, 0, :]))
        return out
    if kind == "scalar":
        return {name: alt[:, 0, :] - ref[:, 0, :] for name in names}
    d = alt - ref
    for name in names:
        if name == "SAD":
            out[name] = d.sum(axis=1)
        elif name == "logSAD":
            out[name] = np.log2(alt.sum(axis=1) + 1.0) - np.log2(ref.sum(axis=1) + 1.0)
        elif name == "D2":
            out[name] = np.sqrt(np.square(d).sum(axis=1))
        elif name == "SAX":
            j = np.abs(d).argmax(axis=1)  # (N, tracks)
            out[name] = np.take_along_axis(d, j[:, None, :], axis=1)[:, 0, :]
    return out


def predict_windows(predictor: Any, windows: VariantWindows, *, rc: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(ref, alt)`` predictions ``(n, bins, tracks)`` float32 of each variant's windows in one
    orientation, in forward coordinates: the reference window's, and the alternative (the two
    alignments stitched for indels of a profile model, else the left-aligned window's).

    All windows (distinct references, left-aligned, right-aligned) go to the predictor in one call.

    Parameters
    ----------
    predictor : seq2func.predict.Predictor
        Called as ``predictor(codes, rc=rc)`` on ``(n_windows, L)`` base codes; its ``bin_geometry``
        gives the crop and bin size used to stitch indels.
    windows : VariantWindows
        The variants' reference, left-aligned and right-aligned windows (:func:`variant_windows`).
    rc : bool, optional
        Predict the reverse complement (mapped back to forward coordinates by the predictor).

    Returns
    -------
    tuple of numpy.ndarray
        ``(ref, alt)``, each ``(n, bins, tracks)`` float32, one row per variant of ``windows``.
    """
    R, n, M = windows.ref.shape[0], len(windows), windows.right.shape[0]
    codes = np.concatenate([windows.ref, windows.left, windows.right]) if M else \
        np.concatenate([windows.ref, windows.left])
    y = predictor(codes, rc=rc)
    ref = y[:R][windows.ref_row]
    left = y[R:R + n]
    if not M:
        return ref, left
    right = y[R + n:]
    alt = left.copy()
    has = windows.right_row >= 0
    crop_bp, bin_size = predictor.bin_geometry(windows.seq_len)
    alt[has] = stitch(left[has], right[windows.right_row[has]], windows.offset[has], windows.ref_len[has],
                      crop_bp, bin_size)
    return ref, alt


# --------------------------------------------------------------------------- variants table
def _check_variants(variants: pd.DataFrame) -> pd.DataFrame:
    need = ["chrom", "pos", "ref", "alt", "key"]
    missing = [c for c in need if c not in variants.columns]
    if missing:
        raise InputError("variants", None, f"missing column(s) {', '.join(missing)}")
    df = variants.reset_index(drop=True)
    pos = pd.to_numeric(df["pos"], errors="coerce")
    bad = np.flatnonzero(pos.isna().to_numpy() | (pos.fillna(0) < 1).to_numpy()
                         | (pos.fillna(0) != np.floor(pos.fillna(0))).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise InputError("variants", f"row {i + 1} (key={df['key'].iloc[i]})", f"pos {df['pos'].iloc[i]!r} is not a "
                         "1-based position")
    dup = df["key"].duplicated()
    if dup.any():
        raise InputError("variants", f"key={df['key'][dup].iloc[0]}", "duplicate variant key")
    return df


def _track_rows(tracks: Sequence[Mapping] | pd.DataFrame | None, n_tracks: int) -> tuple[list[str], list[str | None]]:
    if tracks is None:
        return [str(i) for i in range(n_tracks)], [None] * n_tracks
    rows = tracks.to_dict("records") if isinstance(tracks, pd.DataFrame) else list(tracks)
    if len(rows) != n_tracks:
        raise InputError("tracks", None, f"{len(rows)} track rows for a model with {n_tracks} output tracks")
    ids = [str(r.get("track_id", i)) for i, r in enumerate(rows)]
    transforms = [r.get("transform") if isinstance(r.get("transform"), str) else None for r in rows]
    for i, t in enumerate(transforms):
        try:
            parse_transform(t)
        except ValueError as err:
            raise InputError("tracks", f"row {i + 1} (track_id={ids[i]})", str(err)) from None
    return ids, transforms


def _units(chrom_code: np.ndarray, p0: np.ndarray, share: bool, cluster_bp: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Variants sorted by (contig, position) split into units sharing a window centre; returns the
    units (index arrays, sorted order) and each variant's window centre (0-based)."""
    order = np.lexsort((np.arange(len(p0)), p0, chrom_code))
    centre = p0.copy()
    if not share:
        return [order[i:i + 1] for i in range(len(order))], centre
    units: list[np.ndarray] = []
    cur: list[int] = []
    for i in order.tolist():
        if cur and (chrom_code[i] != chrom_code[cur[0]] or p0[i] - p0[cur[0]] > cluster_bp):
            units.append(np.asarray(cur, dtype=np.int64))
            cur = []
        cur.append(i)
    if cur:
        units.append(np.asarray(cur, dtype=np.int64))
    for u in units:
        centre[u] = (p0[u[0]] + p0[u[-1]]) // 2
    return units, centre


def score_variants(predictor: Any, variants: pd.DataFrame, fasta: Fasta | str | os.PathLike,
                   tracks: Sequence[Mapping] | pd.DataFrame | None = None, *,
                   scores: Sequence[str] | str | None = None, rc: bool = True, shifts: Sequence[int] = (0,),
                   untransform: bool = True, share_reference: bool = False, cluster_bp: int | None = None,
                   batch_size: int = 32) -> pd.DataFrame:
    """Variant effect scores of every variant on every track.

    Parameters
    ----------
    predictor
        A :class:`seq2func.predict.Predictor` (its model's ``seq_len`` is the window length ``L``).
    variants
        Unique variants: ``chrom`` (FASTA spelling), ``pos`` (1-based), ``ref``, ``alt`` (anchored
        VCF alleles, upper case), ``key`` (unique), optionally ``flipped`` (bool).
    fasta
        The reference genome (a :class:`~seq2func.prepare.genome.Fasta` or its path).
    tracks
        The checkpoint's track rows (``track_id``, ``transform``), one per output column;
        ``None``: ids ``"0"``, ``"1"``, ... and no transform.
    scores
        Score names (a list or a comma-separated string); ``None``: every score of the model's
        output kind (:func:`default_scores`).
    rc
        Also score the reverse complement and average.
    shifts
        Window shifts (bp, ``|s| < L // 2``) scored separately and averaged.
    untransform
        Invert each track's transform before scoring (profile models).
    share_reference
        One reference prediction per cluster of nearby variants (module docstring).
    cluster_bp
        Clustering distance (default ``L // 8``).
    batch_size
        Variants per chunk: their windows go to the predictor together (it batches them).

    Returns
    -------
    pandas.DataFrame
        One row per variant ``key`` x track (variants in input order, tracks in model order):
        ``key``, ``track_id`` and one float64 column per score. ``df.attrs["counts"]``:
        ``variants``, ``forward_passes`` (sequences through the model, both orientations),
        ``reference_passes``, ``reference_passes_saved`` (against one reference per variant,
        orientation and shift), ``alternative_passes``.
    """
    L = int(getattr(predictor, "seq_len", None) or predictor.model.config["seq_len"])
    kind = getattr(predictor, "kind", None) or getattr(predictor.model, "output_kind", "profile")
    names = _check_scores(scores, kind)
    shifts = tuple(int(s) for s in shifts)
    if not shifts:
        raise InputError("--shifts", None, "at least one shift is needed (0: the centred window)")
    if any(abs(s) >= L // 2 for s in shifts):
        raise InputError("--shifts", None, f"shifts must lie within +-{L // 2 - 1} bp for a {L} bp input")
    if share_reference:
        cluster_bp = L // 8 if cluster_bp is None else int(cluster_bp)
        top = 2 * (L // 2 - max(abs(s) for s in shifts) - 2) + 1  # keeps every variant inside its window
        if cluster_bp < 0 or cluster_bp > top:
            raise InputError("--cluster_bp", None, f"{cluster_bp} is outside [0, {top}] for a {L} bp input "
                             f"and shifts {list(shifts)}")
    batch_size = max(int(batch_size), 1)
    orientations = (False, True) if rc else (False,)
    n_ens = len(orientations) * len(shifts)

    df = _check_variants(variants)
    n = len(df)
    n_tracks_out: int | None = None
    if not isinstance(fasta, Fasta):
        with Fasta(fasta) as fa:
            return score_variants(predictor, variants, fa, tracks, scores=scores, rc=rc, shifts=shifts,
                                  untransform=untransform, share_reference=share_reference,
                                  cluster_bp=cluster_bp, batch_size=batch_size)
    fa = fasta
    chrom = df["chrom"].astype(str).to_numpy()
    p0 = df["pos"].to_numpy(dtype=np.int64) - 1
    ref_a = df["ref"].astype(str).to_numpy()
    alt_a = df["alt"].astype(str).to_numpy()
    keys = df["key"].astype(str).to_numpy()
    flipped = df["flipped"].fillna(False).astype(bool).to_numpy() if "flipped" in df.columns else np.zeros(n, bool)
    rank = {c: i for i, c in enumerate(fa.names)}
    chrom_code = np.array([rank.get(c, len(rank)) for c in chrom], dtype=np.int64)

    units, centre = _units(chrom_code, p0, bool(share_reference), int(cluster_bp or 0))
    chunks: list[np.ndarray] = []
    cur: list[np.ndarray] = []
    size = 0
    for unit in units:
        # a cluster larger than a chunk is split (its pieces keep the cluster's window)
        for u in np.array_split(unit, -(-len(unit) // batch_size)):
            cur.append(u)
            size += len(u)
            if size >= batch_size:
                chunks.append(np.concatenate(cur))
                cur, size = [], 0
    if cur:
        chunks.append(np.concatenate(cur))

    n_forward0 = int(getattr(predictor, "n_forward", 0))
    ref_passes = alt_passes = 0
    acc: dict[str, np.ndarray] | None = None
    transforms: list[str | None] = []
    track_ids: list[str] = []
    for idx in chunks:
        part: dict[str, np.ndarray] = {}
        for s in shifts:
            w = variant_windows(fa, chrom[idx], p0[idx] + 1, ref_a[idx], alt_a[idx], L,
                                starts=centre[idx] - (L // 2 + s), right=(kind == "profile"), keys=keys[idx])
            for o in orientations:
                ref_p, alt_p = predict_windows(predictor, w, rc=o)
                ref_passes += w.ref.shape[0]
                alt_passes += w.left.shape[0] + w.right.shape[0]
                if n_tracks_out is None:
                    n_tracks_out = int(ref_p.shape[-1])
                    track_ids, transforms = _track_rows(tracks, n_tracks_out)
                    acc = {name: np.zeros((n, n_tracks_out), dtype=np.float64) for name in names}
                if untransform and kind == "profile":
                    ref_p = untransform_predictions(ref_p, transforms)
                    alt_p = untransform_predictions(alt_p, transforms)
                for name, v in compute_scores(ref_p, alt_p, kind, names).items():
                    part[name] = part.get(name, 0.0) + v
        for name, v in part.items():
            acc[name][idx] = v / n_ens

    counts = {
        "variants": n,
        "forward_passes": int(getattr(predictor, "n_forward", 0)) - n_forward0,
        "reference_passes": ref_passes,
        "reference_passes_saved": n * n_ens - ref_passes,
        "alternative_passes": alt_passes,
    }
    if acc is None:  # no variants
        if tracks is not None:
            rows = tracks.to_dict("records") if isinstance(tracks, pd.DataFrame) else list(tracks)
            track_ids = [str(r.get("track_id", i)) for i, r in enumerate(rows)]
        out = pd.DataFrame({"key": pd.Series([], dtype=object), "track_id": pd.Series([], dtype=object),
                            **{name: pd.Series([], dtype=np.float64) for name in names}})
        out.attrs["counts"] = counts
        return out
    sign = np.where(flipped, -1.0, 1.0)[:, None]
    n_t = len(track_ids)
    out = pd.DataFrame({"key": np.repeat(keys, n_t), "track_id": np.tile(np.asarray(track_ids, dtype=object), n)})
    for name in names:
        v = acc[name] * sign if name in SIGNED_SCORES else acc[name]
        out[name] = v.reshape(-1)
    out.attrs["counts"] = counts
    return out
