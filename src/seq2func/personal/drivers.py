"""eQTL effects, in-silico mutagenesis of the cohort's SNVs, and driver SNVs.

* **eQTL** (:func:`eqtl_ols`): per SNV, the OLS slope of expression on ALT dosage (0/1/2) with an
  intercept and no covariates (as the published code), with its standard error, t and two-sided p
  (``n - 2`` df). Individuals with missing expression are left out; monomorphic SNVs give NaN.
* **ISM on the reference background** (:func:`ism_reference`): the reference window with one SNV's
  ALT inserted (the most common non-reference allele among the cohort's haplotypes at a
  multi-allelic site) minus the reference window, both centred on the TSS, in *haplotype space*
  (identity for ``combine='mean'``, ``log1p`` for the log options, see
  :mod:`seq2func.personal.predict`).
* **ISM on personal backgrounds** (:func:`ism_personal`): for the haplotypes that carry the SNV's
  ALT, the haplotype as it is minus the same haplotype with the reference base put back at the SNV
  (its position in the haplotype found through the indel shifts), averaged over those haplotypes
  (an individual homozygous for ALT counts twice). At most ``max_backgrounds`` carrier haplotypes
  are used per SNV (a seeded sample).
  For profile models with a receptive field smaller than the input, SNVs that cannot reach the
  TSS bins have an ISM of exactly 0 and are not predicted (``ism_computed`` False); SNVs outside the
  model input likewise.
* **Drivers** (:func:`forward_selection`): the linear approximation of the model's per-individual
  prediction is ``ŷ_i = Σ_s dosage_is × ISM_s``. Forward selection starts from the empty set and
  greedily adds the SNV whose term most increases the Pearson R between the partial approximation
  and the model's actual predictions (ties within 1e-9, e.g. SNVs in perfect LD, go to the SNV
  with the larger term, ``|ISM| x SD(dosage)``); it stops when ``R² ≥ r2_stop`` (default 0.9, with R > 0), when
  the best addition raises R by less than ``min_gain`` (default 0.001: "no improvement"), or after
  ``max_drivers``. The selected SNVs are the gene's drivers, in order; the first is the *main*
  driver. (The published rule instead ranks SNVs by |ISM| and keeps those raising R(partial)/R(full)
  by > 0.05 with a positive own term and a p-value filter; greedy selection on R gives the same
  drivers when one or a few SNVs dominate and handles SNVs in LD, whose terms are redundant, by
  not adding the second one.) ``linear_r`` is the R of the full approximation (all SNVs); the paper
  kept genes where it is > 0.2.
* **Supported / unsupported**: a driver is supported when ``sign(ISM) == sign(eQTL slope)``;
  undefined (NA) when either is 0 or NaN.
* **Distance to the TSS**: ``(pos - 1 - tss)`` for ``+`` genes and ``(tss - (pos - 1))`` for ``-``
  genes: negative upstream, positive downstream, in bp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _sps

from seq2func.personal.haplotypes import center_on
from seq2func.personal.stats import pearson_r

__all__ = [
    "DRIVER_COLUMNS",
    "SNV_COLUMNS",
    "eqtl_ols",
    "forward_selection",
    "ism_personal",
    "ism_reference",
    "snv_alleles",
    "tss_distance",
]

SNV_COLUMNS = [
    "gene_id", "variant_id", "chrom", "pos", "ref", "alt", "alt_freq", "maf", "distance_to_tss",
    "ism_computed", "ism_reference", "ism_personal", "n_backgrounds", "eqtl_slope", "eqtl_se", "eqtl_p",
    "is_driver", "driver_rank",
]
DRIVER_COLUMNS = [
    "gene_id", "rank", "is_main", "variant_id", "chrom", "pos", "ref", "alt", "distance_to_tss", "abs_distance",
    "maf", "ism", "ism_reference", "ism_personal", "eqtl_slope", "eqtl_p", "supported", "r_partial", "gain",
]


# --------------------------------------------------------------------------------------------
# eQTL
# --------------------------------------------------------------------------------------------
def eqtl_ols(dosage: np.ndarray, expression: np.ndarray) -> pd.DataFrame:
    """Per-SNV OLS ``expression ~ 1 + dosage``: ``slope, intercept, se, t, p, n`` (vectorised).

    ``dosage`` ``(individuals, snvs)``; ``expression`` ``(individuals,)`` with NaN = missing (those
    individuals are dropped for every SNV). Monomorphic SNVs (or n < 3) give NaN.

    Parameters
    ----------
    dosage : numpy.ndarray
        ``(individuals, snvs)`` ALT dosages.
    expression : numpy.ndarray
        ``(individuals,)`` expression; NaN = missing.

    Returns
    -------
    pandas.DataFrame
        One row per SNV: ``slope``, ``intercept``, ``se``, ``t``, two-sided ``p`` (``n - 2`` df) and
        ``n`` (individuals used).
    """
    d = np.asarray(dosage, dtype=float)
    y = np.asarray(expression, dtype=float)
    keep = np.isfinite(y)
    d, y = d[keep], y[keep]
    n = y.size
    m = d.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = d.mean(axis=0) if n else np.full(m, np.nan)
        xc = d - xm
        yc = y - (y.mean() if n else np.nan)
        sxx = (xc * xc).sum(axis=0)
        sxy = xc.T @ yc if n else np.full(m, np.nan)
        slope = sxy / sxx
        intercept = (y.mean() if n else np.nan) - slope * xm
        resid_ss = (yc * yc).sum() - slope * sxy
        df = n - 2
        sigma2 = np.maximum(resid_ss, 0.0) / df if df > 0 else np.full(m, np.nan)
        se = np.sqrt(sigma2 / sxx)
        t = slope / se
        p = 2.0 * _sps.t.sf(np.abs(t), df) if df > 0 else np.full(m, np.nan)
    bad = (sxx <= 1e-12) | (n < 3)
    out = pd.DataFrame({"slope": slope, "intercept": intercept, "se": se, "t": t, "p": p, "n": n})
    out.loc[bad, ["slope", "intercept", "se", "t", "p"]] = np.nan
    # exact fit: residual 0 -> infinite t, p 0 (keep as numpy gives)
    return out


# --------------------------------------------------------------------------------------------
# SNV table of a window
# --------------------------------------------------------------------------------------------
def tss_distance(pos1: np.ndarray, tss0: int, strand: str) -> np.ndarray:
    """Signed distance (bp) of 1-based positions to a 0-based TSS, upstream negative.

    Parameters
    ----------
    pos1 : numpy.ndarray
        1-based variant positions.
    tss0 : int
        0-based TSS position.
    strand : str
        The gene's strand; ``-`` flips the sign so that upstream is negative on either strand.

    Returns
    -------
    numpy.ndarray
        int64 distances in bp, same shape as ``pos1``.
    """
    d = np.asarray(pos1, dtype=np.int64) - 1 - int(tss0)
    return -d if strand == "-" else d


def snv_alleles(haps) -> pd.DataFrame:
    """One row per SNV column of ``haps.alt_dosage``: window offset, REF, the ALT used by ISM (most
    common non-reference allele applied among the haplotypes, else the first ALT), variant ID.

    Parameters
    ----------
    haps : Haplotypes
        The gene's window (:class:`seq2func.personal.haplotypes.Haplotypes`).

    Returns
    -------
    pandas.DataFrame
        One row per SNV: ``column`` (row of ``haps.variants``), ``pos`` (1-based), ``offset`` (0-based in
        the window), ``ref`` and ``alt`` (upper case), ``allele`` (the ALT's allele index), ``variant_id``
        (the VCF ID, else ``chrom:pos:ref:alt``), ``chrom``.
    """
    v = haps.variants
    cols = np.asarray(haps.snv_columns, dtype=np.int64)
    rows = []
    for k in cols.tolist():
        r = v.iloc[k]
        alts = str(r["alt"]).split(",")
        a = 1
        if len(alts) > 1 and haps.allele_matrix.size:
            counts = np.bincount(haps.allele_matrix[:, k].clip(0), minlength=len(alts) + 1)[1:]
            if counts.sum():
                a = int(np.argmax(counts)) + 1
        vid = str(r["id"]) if str(r["id"]) not in (".", "") else f"{r['chrom']}:{int(r['pos'])}:{r['ref']}:{alts[a - 1]}"
        rows.append((k, int(r["pos"]), int(r["pos"]) - haps.start, str(r["ref"]).upper(), alts[a - 1].upper(), a, vid,
                     str(r["chrom"])))
    return pd.DataFrame(rows, columns=["column", "pos", "offset", "ref", "alt", "allele", "variant_id", "chrom"])


# --------------------------------------------------------------------------------------------
# ISM
# --------------------------------------------------------------------------------------------
def ism_reference(predictor, haps, ref_offset: int, snvs: pd.DataFrame, combine: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Reference-background ISM per SNV row of ``snvs`` (see :func:`snv_alleles`).

    Returns ``(ism, computed)``; SNVs that cannot change the value are 0 and not computed.

    Parameters
    ----------
    predictor : GenePredictor
        The model (:class:`seq2func.personal.predict.GenePredictor`).
    haps : Haplotypes
        The gene's window; its reference sequence is mutated.
    ref_offset : int
        0-based offset of the TSS in the window; inputs are centred on it.
    snvs : pandas.DataFrame
        SNV table of :func:`snv_alleles`.
    combine : {"mean", "log_before", "log_after"}, optional
        Haplotype combination, which sets the haplotype space of the differences (default ``"mean"``).

    Returns
    -------
    tuple of numpy.ndarray
        ``(ism, computed)``, each ``(n_snvs,)``: ISM in haplotype space (float) and whether it was
        predicted (bool).
    """
    # deferred: personal.predict imports torch at top level; keeps drivers (and benchmark's merge) torch-free
    from seq2func.personal.predict import hap_space

    L = int(predictor.seq_len)
    left = ref_offset - L // 2  # window offset of input index 0
    ref = haps.reference
    ism = np.zeros(len(snvs))
    computed = np.zeros(len(snvs), dtype=bool)
    seqs, idx = [], []
    for i, (off, alt) in enumerate(zip(snvs["offset"].tolist(), snvs["alt"].tolist())):
        if not predictor.affects(off - left):
            continue
        base = ref[off]
        a = alt.lower() if base.islower() else alt
        mutated = ref[:off] + a + ref[off + 1:]
        seqs.append(center_on(mutated, ref_offset, L))
        idx.append(i)
    if seqs:
        ref_in = center_on(ref, ref_offset, L)
        vals = predictor.predict(seqs + [ref_in])
        h = hap_space(vals, combine)
        ism[idx] = h[:-1] - h[-1]
        computed[idx] = True
    return ism, computed


def ism_personal(
    predictor,
    haps,
    ref_offset: int,
    snvs: pd.DataFrame,
    combine: str = "mean",
    max_backgrounds: int = 10,
    rng: np.random.Generator | int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Personal-background ISM per SNV (mean over carrier haplotypes of with-ALT minus with-REF).

    Returns ``(ism, n_backgrounds)``; NaN where no carrier haplotype could be used (no carrier, the
    SNV not applied in any carrier, e.g. under an overlapping deletion). 0 for SNVs that cannot
    change the value.

    Parameters
    ----------
    predictor : GenePredictor
        The model (:class:`seq2func.personal.predict.GenePredictor`).
    haps : Haplotypes
        The gene's window, built for every individual.
    ref_offset : int
        0-based offset of the TSS in the reference window; each haplotype is centred on where it moved.
    snvs : pandas.DataFrame
        SNV table of :func:`snv_alleles`.
    combine : {"mean", "log_before", "log_after"}, optional
        Haplotype combination, which sets the haplotype space of the differences (default ``"mean"``).
    max_backgrounds : int, optional
        Most carrier haplotypes used per SNV (default 10).
    rng : numpy.random.Generator or int or None, optional
        Generator, or its seed, for sampling the carriers (default 0).

    Returns
    -------
    tuple of numpy.ndarray
        ``(ism, n_backgrounds)``, each ``(n_snvs,)``: ISM in haplotype space (float, NaN where undefined)
        and the number of carrier haplotypes it averages (int64).
    """
    # deferred: personal.predict imports torch at top level; keeps drivers (and benchmark's merge) torch-free
    from seq2func.personal.predict import hap_space

    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    L = int(predictor.seq_len)
    n = len(snvs)
    ism = np.full(n, np.nan)
    nb = np.zeros(n, dtype=np.int64)
    centres = ref_offset + haps.offset_shift(ref_offset)
    inv = np.asarray(haps.inverse)
    useqs = haps.unique_sequences
    shift_cache: dict[int, np.ndarray] = {}
    for i, row in enumerate(snvs.itertuples(index=False)):
        col, off, alt, refb = int(row.column), int(row.offset), row.alt, row.ref
        carriers = np.flatnonzero(haps.allele_matrix[:, col] == int(row.allele)) if haps.allele_matrix.size else np.zeros(0, int)
        if carriers.size == 0:
            continue
        if carriers.size > max_backgrounds:
            carriers = np.sort(rng.choice(carriers, size=max_backgrounds, replace=False))
        if off not in shift_cache:
            shift_cache[off] = haps.offset_shift(off)
        hpos = off + shift_cache[off]
        units, counts = np.unique(inv[carriers], return_counts=True)
        with_seqs, without_seqs, weights, far = [], [], [], 0
        for u, c in zip(units.tolist(), counts.tolist()):
            s = useqs[u]
            p = int(hpos[u])
            if not (0 <= p < len(s)) or s[p].upper() != alt:
                continue  # SNV not applied on this haplotype (overlapping variant)
            left = int(centres[u]) - L // 2
            if not predictor.affects(p - left):
                far += c
                continue
            rb = refb.lower() if s[p].islower() else refb
            with_seqs.append(center_on(s, int(centres[u]), L))
            without_seqs.append(center_on(s[:p] + rb + s[p + 1:], int(centres[u]), L))
            weights.append(c)
        used = int(sum(weights)) + far
        if used == 0:
            continue
        nb[i] = used
        if not weights:
            ism[i] = 0.0
            continue
        vals = predictor.predict(with_seqs + without_seqs)
        h = hap_space(vals, combine)
        k = len(with_seqs)
        diffs = h[:k] - h[k:]
        ism[i] = float(np.sum(diffs * np.asarray(weights)) / used)  # far carriers contribute 0
    return ism, nb


# --------------------------------------------------------------------------------------------
# forward selection
# --------------------------------------------------------------------------------------------
@dataclass
class Selection:
    """Drivers in selection order: column indices, R of the partial approximation after each
    addition, and the gain in R of each addition; ``r_full`` is R of the full approximation."""

    order: list[int]
    r_partial: list[float]
    gains: list[float]
    r_full: float
    stopped: str


def forward_selection(
    dosage: np.ndarray,
    ism: np.ndarray,
    target: np.ndarray,
    *,
    r2_stop: float = 0.9,
    min_gain: float = 1e-3,
    max_drivers: int | None = None,
) -> Selection:
    """Greedy forward selection of driver SNVs on ``ŷ = dosage @ ism`` against ``target``.

    ``dosage`` ``(individuals, snvs)``, ``ism`` ``(snvs,)`` (NaN treated as 0), ``target``
    ``(individuals,)`` the model's per-individual predictions (NaN individuals dropped).

    Parameters
    ----------
    dosage : numpy.ndarray
        ``(individuals, snvs)`` ALT dosages.
    ism : numpy.ndarray
        ``(snvs,)`` ISM effects in haplotype space.
    target : numpy.ndarray
        ``(individuals,)`` the model's per-individual predictions.
    r2_stop : float, optional
        Stop once the partial approximation's R² reaches this (with R > 0; default 0.9).
    min_gain : float, optional
        Stop when the best addition raises R by less than this (default 0.001).
    max_drivers : int or None, optional
        Most drivers to select; None = no limit.

    Returns
    -------
    Selection
        The selected SNV columns in order, R after each addition, the gains, R of the full approximation
        and why selection stopped (``"r2 reached"``, ``"no improvement"``, ``"max drivers"``,
        ``"no candidates"`` or ``"constant target"``).
    """
    d = np.asarray(dosage, dtype=float)
    w = np.nan_to_num(np.asarray(ism, dtype=float))
    y = np.asarray(target, dtype=float)
    keep = np.isfinite(y)
    d, y = d[keep], y[keep]
    terms = d * w[None, :]
    r_full = float(pearson_r(terms.sum(axis=1), y)) if terms.size else float("nan")
    order: list[int] = []
    rp: list[float] = []
    gains: list[float] = []
    if y.size < 3 or not np.isfinite(pearson_r(y, y)):
        return Selection(order, rp, gains, r_full, "constant target")
    spread = terms.std(axis=0) if terms.size else np.zeros(terms.shape[1])
    cand = np.flatnonzero((w != 0) & (np.ptp(terms, axis=0) > 0)) if terms.size else np.zeros(0, int)
    cur = np.zeros(y.size)
    r_cur = 0.0
    stopped = "no candidates"
    limit = len(cand) if max_drivers is None else min(int(max_drivers), len(cand))
    while len(order) < limit:
        avail = np.setdiff1d(cand, order, assume_unique=True)
        if avail.size == 0:
            stopped = "no candidates"
            break
        trial = cur[:, None] + terms[:, avail]
        r = pearson_r(trial.T, y[None, :])
        r = np.where(np.isfinite(r), r, -np.inf)
        best = np.max(r)
        tied = np.flatnonzero(r >= best - 1e-9)  # e.g. SNVs in perfect LD: the larger term wins
        b = int(tied[np.argmax(spread[avail[tied]])])
        if not np.isfinite(r[b]) or r[b] - r_cur < min_gain:
            stopped = "no improvement"
            break
        j = int(avail[b])
        order.append(j)
        gains.append(float(r[b] - r_cur))
        r_cur = float(r[b])
        rp.append(r_cur)
        cur = cur + terms[:, j]
        if r_cur > 0 and r_cur ** 2 >= r2_stop:
            stopped = "r2 reached"
            break
    else:
        stopped = "max drivers" if order else stopped
    return Selection(order, rp, gains, r_full, stopped)


def supported(ism: np.ndarray, slope: np.ndarray) -> pd.array:
    """Nullable bool: sign(ISM) == sign(eQTL slope); NA where either is 0 or NaN.

    Parameters
    ----------
    ism : numpy.ndarray
        ISM effects of the drivers.
    slope : numpy.ndarray
        eQTL slopes of the same SNVs.

    Returns
    -------
    pandas.arrays.BooleanArray
        Per SNV: True when the signs agree, False when they differ, <NA> when either is 0 or NaN.
    """
    a = np.sign(np.nan_to_num(np.asarray(ism, dtype=float)))
    b = np.sign(np.nan_to_num(np.asarray(slope, dtype=float)))
    ok = (a != 0) & (b != 0)
    return pd.array([bool(x) if o else pd.NA for x, o in zip(a == b, ok)], dtype="boolean")
