"""A null distribution for variant scores, and what it calibrates.

``--variant_null N`` scores N null variants with the same model and settings as the real ones:

- ``random`` (default): random SNVs of the genome (a uniformly drawn position whose reference
  base is A/C/G/T, and a uniformly drawn other base), the null of "a variant anywhere";
- ``shuffle``: ChromBPNet's null: the window of a real variant with its flanks dinucleotide-shuffled
  (tangermeme's Eulerian-path shuffle, the variant's own alleles kept in the middle), the null of
  "these alleles in a sequence context without its motifs".

Each real score then gets an empirical two-sided p-value against the null of its track and score,
``(1 + #{|null| >= |s|}) / (N + 1)``, a percentile (the fraction of null ``|score|`` below ``|s|``, in
%), and a Benjamini-Hochberg q-value across the variants of the track. :func:`calibration`
measures how honest the p-values are: half of the null scored against the other half should give
p < 0.05 for about 5% of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seq2func.prepare.genome import CODE_LUT
from seq2func.prepare.genome import N as CODE_N
from seq2func.variants.scores import _track_rows, compute_scores, untransform_predictions
from seq2func.variants.sequences import variant_windows

NULL_KINDS = ("random", "shuffle")
BASES = np.array(list("ACGT"))


def random_snvs(fasta, chrom: str, n: int, seed: int = 0, *, max_tries: int = 20) -> pd.DataFrame:
    """``n`` random SNVs on ``chrom`` of ``fasta`` (a :class:`seq2func.prepare.genome.Fasta` or anything
    with ``lengths`` and ``fetch_text``): positions uniform over the contig, kept where the
    reference base is A/C/G/T, the alternative a uniform other base.

    Parameters
    ----------
    fasta : seq2func.prepare.genome.Fasta
        The reference genome, or anything with ``lengths`` (contig -> bp) and ``fetch_text(chrom, start, end)``.
    chrom : str
        Contig to draw from (FASTA spelling).
    n : int
        Number of SNVs wanted.
    seed : int, optional
        Seed of the random draws (same seed, same SNVs).
    max_tries : int, optional
        Rounds of position draws before giving up on a contig that is mostly N.

    Returns
    -------
    pandas.DataFrame
        ``chrom, pos (1-based), ref, alt, key`` (``key`` prefixed ``null:``), at most ``n`` rows
        (fewer only for a contig that is almost all N).
    """
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x4E55])
    length = int(fasta.lengths[chrom])
    found: dict[int, str] = {}
    for _ in range(max_tries):
        if len(found) >= n:
            break
        for p in rng.integers(0, length, size=2 * (n - len(found)) + 8).tolist():
            if p in found:
                continue
            b = fasta.fetch_text(chrom, p, p + 1).upper()
            if b in ("A", "C", "G", "T"):
                found[p] = b
                if len(found) >= n:
                    break
    rows = sorted(found.items())
    pos = np.array([p for p, _ in rows], dtype=np.int64)
    ref = np.array([b for _, b in rows], dtype=object)
    shift = rng.integers(1, 4, size=len(rows))
    alt = BASES[(CODE_LUT[np.frombuffer("".join(ref).encode(), dtype=np.uint8)] + shift) % 4] if len(rows) else np.array([])
    df = pd.DataFrame({"chrom": chrom, "pos": pos + 1, "ref": ref.astype(str), "alt": alt.astype(str)})
    df["key"] = "null:" + df["chrom"] + ":" + df["pos"].astype(str) + ":" + df["ref"] + ":" + df["alt"]
    return df


def empirical_p(values: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided empirical p-values and percentiles of ``|values|`` against ``|null|``.

    Parameters
    ----------
    values
        Scores to calibrate (NaN stays NaN).
    null
        The null scores of the same track and score (NaN ignored).

    Returns
    -------
    (p, percentile)
        ``p = (1 + #{|null| >= |v|}) / (N + 1)``; ``percentile = 100 * #{|null| < |v|} / N``.
    """
    v = np.abs(np.asarray(values, dtype=np.float64))
    z = np.sort(np.abs(np.asarray(null, dtype=np.float64)))
    z = z[np.isfinite(z)]
    n = z.size
    p = np.full(v.shape, np.nan)
    pct = np.full(v.shape, np.nan)
    if n == 0:
        return p, pct
    ok = np.isfinite(v)
    below = np.searchsorted(z, v[ok], side="left")  # #{|null| < |v|}
    p[ok] = (1 + n - below) / (n + 1)
    pct[ok] = 100.0 * below / n
    return p, pct


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (NaN kept), as ``statsmodels.multipletests(method='fdr_bh')``.

    Parameters
    ----------
    p : numpy.ndarray
        p-values, any shape; NaN entries are left out of the correction.

    Returns
    -------
    numpy.ndarray
        float64 q-values, same shape as ``p``, NaN where ``p`` is NaN.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q


def add_calibration(scores: pd.DataFrame, null: pd.DataFrame, score_cols: list[str]) -> pd.DataFrame:
    """``scores`` (one row per variant ``key`` x ``track_id``) with ``pvalue_<s>``,
    ``percentile_<s>`` and ``qvalue_<s>`` columns for each score ``s``, against the ``null`` rows of
    the same track (same layout as ``scores``).

    Parameters
    ----------
    scores : pandas.DataFrame
        Real scores: ``key``, ``track_id`` and one column per score (not modified).
    null : pandas.DataFrame
        Null scores in the same layout.
    score_cols : list of str
        Scores to calibrate; a score missing from either table gets NaN columns.

    Returns
    -------
    pandas.DataFrame
        A copy of ``scores`` with ``pvalue_<s>``, ``percentile_<s>`` (%) and ``qvalue_<s>`` (BH per track) columns.
    """
    out = scores.copy()
    for s in score_cols:
        out[f"pvalue_{s}"] = np.nan
        out[f"percentile_{s}"] = np.nan
        out[f"qvalue_{s}"] = np.nan
        if s not in null.columns or s not in out.columns:
            continue
        for tid, idx in out.groupby("track_id").groups.items():
            z = null.loc[null["track_id"] == tid, s].to_numpy(float)
            p, pct = empirical_p(out.loc[idx, s].to_numpy(float), z)
            out.loc[idx, f"pvalue_{s}"] = p
            out.loc[idx, f"percentile_{s}"] = pct
            out.loc[idx, f"qvalue_{s}"] = bh(p)
    return out


def calibration(null: pd.DataFrame, score_cols: list[str], seed: int = 0, alpha: float = 0.05) -> dict:
    """How honest the p-values are: the null split at random in two halves, one half's p-values
    against the other half; returns ``{score: fraction of p < alpha}`` over all tracks (about
    ``alpha`` when calibrated) and the numbers it came from.

    Parameters
    ----------
    null : pandas.DataFrame
        Null scores: ``key`` (one per null draw), ``track_id`` and one column per score.
    score_cols : list of str
        Scores to check (those missing from ``null`` are skipped).
    seed : int, optional
        Seed of the random split of the null draws.
    alpha : float, optional
        p-value threshold.

    Returns
    -------
    dict
        ``alpha``, ``n_null_variants`` and ``fraction_below_alpha`` (score -> fraction of p < alpha,
        ``None`` where no p-value could be computed).
    """
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xCA1])
    keys = null["key"].unique()
    half = set(rng.permutation(keys)[: keys.size // 2].tolist())
    a = null[null["key"].isin(half)]
    b = null[~null["key"].isin(half)]
    out: dict = {"alpha": alpha, "n_null_variants": int(keys.size), "fraction_below_alpha": {}}
    for s in score_cols:
        if s not in null.columns:
            continue
        fr = []
        for tid, g in a.groupby("track_id"):
            z = b.loc[b["track_id"] == tid, s].to_numpy(float)
            p, _ = empirical_p(g[s].to_numpy(float), z)
            fr.append(p[np.isfinite(p)])
        allp = np.concatenate(fr) if fr else np.zeros(0)
        out["fraction_below_alpha"][s] = float((allp < alpha).mean()) if allp.size else None
    return out


def shuffled_null_scores(predictor, variants: pd.DataFrame, fasta, tracks, n: int, *, scores: list[str],
                         seed: int = 0, rc: bool = True, untransform: bool = True) -> pd.DataFrame:
    """ChromBPNet's null: ``n`` draws, each a real variant's reference window dinucleotide-shuffled
    (tangermeme's ``dinucleotide_shuffle``: the window's dinucleotide counts kept, its motifs gone)
    with that variant's REF and then ALT written at its place (the sequence after the allele moved,
    cut or N-padded to the input length), scored like a real variant (no stitching: the shuffled
    flanks have no genomic coordinates).

    Parameters
    ----------
    predictor : seq2func.predict.Predictor
        The model's predictor (``seq_len``, ``kind``, called as ``predictor(codes, rc=...)``).
    variants : pandas.DataFrame
        The real variants to draw from: ``chrom``, ``pos`` (1-based), ``ref``, ``alt``, ``key``.
    fasta : Fasta or str or os.PathLike
        The reference genome (a :class:`~seq2func.prepare.genome.Fasta` or its path).
    tracks : sequence of mapping or pandas.DataFrame or None
        The checkpoint's track rows (``track_id``, ``transform``); ``None``: ids ``"0"``, ``"1"``, ...
    n : int
        Number of null draws (variants drawn with replacement); ``<= 0`` gives an empty table.
    scores : list of str
        Score names (:func:`seq2func.variants.scores.default_scores`).
    seed : int, optional
        Seed of the draws and of the shuffles.
    rc : bool, optional
        Also score the reverse complement and average.
    untransform : bool, optional
        Invert each track's transform before scoring (profile models).

    Returns
    -------
    pandas.DataFrame
        One row per null draw (``key`` = ``null:<i>:<variant key>``) x ``track_id``, one column per score.
    """
    # deferred: torch (and tangermeme, which imports it) is heavy; the random null and the merge never need it
    import torch
    from tangermeme.ersatz import dinucleotide_shuffle  # deferred: tangermeme imports torch

    if n <= 0 or variants.empty:
        return pd.DataFrame(columns=["key", "track_id", *scores])
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5A0F])
    pick = variants.iloc[rng.integers(0, len(variants), size=int(n))].reset_index(drop=True)
    L = int(predictor.seq_len)
    w = variant_windows(fasta, list(pick["chrom"]), pick["pos"].to_numpy(), list(pick["ref"]), list(pick["alt"]), L)
    ref_w = w.ref[w.ref_row]  # (n, L) codes
    onehot = np.zeros((len(pick), 4, L), dtype=np.float32)
    ok = ref_w < 4
    onehot[np.arange(len(pick))[:, None], np.where(ok, ref_w, 0), np.arange(L)[None, :]] = ok
    shuf = dinucleotide_shuffle(torch.from_numpy(onehot), n=1, random_state=int(rng.integers(2**31)), allow_N=True)
    shuf = shuf[:, 0].numpy() if shuf.ndim == 4 else shuf.numpy()
    codes = np.where(shuf.sum(axis=1) > 0, shuf.argmax(axis=1), CODE_N).astype(np.uint8)
    enc = {b: i for i, b in enumerate("ACGT")}
    refs, alts = np.empty_like(codes), np.empty_like(codes)
    for i, r in enumerate(pick.itertuples(index=False)):
        o = int(w.offset[i])
        a_ref = np.array([enc.get(c, CODE_N) for c in str(r.ref).upper()], dtype=np.uint8)
        a_alt = np.array([enc.get(c, CODE_N) for c in str(r.alt).upper()], dtype=np.uint8)
        tail = codes[i, o + len(a_ref):]
        for dst, allele in ((refs, a_ref), (alts, a_alt)):
            seq = np.concatenate([codes[i, :o], allele, tail])[:L]
            dst[i] = np.pad(seq, (0, L - seq.size), constant_values=CODE_N)
    outs, ids = [], None
    for orient in ([False, True] if rc else [False]):
        yr, ya = predictor(refs, rc=orient), predictor(alts, rc=orient)
        if ids is None:
            ids, transforms = _track_rows(tracks, yr.shape[-1])
        if untransform and predictor.kind == "profile":
            yr, ya = untransform_predictions(yr, transforms), untransform_predictions(ya, transforms)
        outs.append(compute_scores(yr, ya, predictor.kind, scores))
    T = len(ids)
    keys = [f"null:{i}:{k}" for i, k in enumerate(pick["key"])]
    df = pd.DataFrame({"key": np.repeat(keys, T), "track_id": np.tile(ids, len(keys))})
    for s in scores:
        df[s] = (sum(o[s] for o in outs) / len(outs)).reshape(-1)
    return df
