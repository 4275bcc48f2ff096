"""Cross-individual statistics of the personal-genome benchmark.

The method of Sasse et al. 2023. Per gene we correlate a model's per-individual prediction with
observed expression (Pearson R across individuals), build a gene-specific null from random linear
predictors on the gene's own SNVs, test the observed |R| against that null one-sidedly, and control
the false discovery rate with Benjamini-Hochberg. The sign of R is reported beside the test: a gene can be significant with the
wrong sign, which is the paper's headline failure.

Conventions (and the evidence for them, from the code released with the paper,
mostafavilabuw/EnformerAssessment ``enformer_analysis/generate_null.py`` and
``compute_tstatpvalue.py``):

* Null draws: weights ~ N(0, 1), one per SNV (no MAF scaling), ALT dosages summed with those weights,
  correlated with expression; ``n_draws = 50``. The null summary is the mean and the **population**
  SD (``ddof=0``) of |R| over the draws: the published code calls ``np.std(pears)`` with numpy's
  default ``ddof=0``. ``ddof`` is a parameter here; 0 is the default for comparability.
* A draw whose predictor is constant (every individual has the same weighted dosage sum) has an
  undefined R; the published code turns it into 0 (``np.nan_to_num``) and so do we. When *every* draw is
  undefined (no SNVs, or all SNVs monomorphic among the individuals) the null carries no information
  and its mean and SD are NaN (the published code wrote 0 and 0, which later gives t = 0/0).
* Modes of the one-sided test of observed |R| against the null (``n = n_draws``, ``df = n - 1``):

  - ``reference``: the published statistic ``t = (|R| - mean) / sqrt(SD / n)`` (note: the square root
    of SD/n, not SD/sqrt(n)); ``p = t.sf(t, df)`` for ``t >= 0`` and ``p = 1`` for ``t < 0``.
  - ``textbook``: ``t = (|R| - mean) / (SD / sqrt(n))``, same df, ``p = t.sf(t, df)`` (no clamping
    needed: the survival function is already >= 0.5 for negative t).
  - ``empirical``: ``p = (1 + #{draws: |R_null| >= |R|}) / (1 + n_draws)``; ``t`` is NaN.

* Missing values (``nan_policy``): ``"omit"`` (default) gives NaN t, p and q wherever R or the null is
  undefined, and such genes are left out of the BH family (and are never significant).
  ``"published"`` reproduces the released code: NaN |R|, mean and SD are replaced by 0 before t is
  computed, and an undefined p (0/0) becomes 1 and stays in the BH family. Only the published policy
  reproduces Supplementary Table 1 to its 3 decimals, whose BH family is all 6,820 genes.
* ``log10p`` and ``log10q`` are **-log10** p and q (positive for small p), as in the published table.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _sps

Mode = Literal["reference", "textbook", "empirical"]
NanPolicy = Literal["omit", "published"]
MODES: tuple[str, ...] = ("reference", "textbook", "empirical")

__all__ = [
    "MODES",
    "NullSummary",
    "benjamini_hochberg",
    "gene_rng",
    "gene_table",
    "null_abs_r",
    "null_test",
    "pearson_r",
    "personal_benchmark",
    "r_sign",
]


# --------------------------------------------------------------------------------------------------
# Pearson R
# --------------------------------------------------------------------------------------------------
def pearson_r(x: np.ndarray, y: np.ndarray, *, min_n: int = 3) -> np.ndarray:
    """Pearson R along the last axis, NaN-aware (pairwise complete observations).

    ``x`` and ``y`` broadcast against each other: typically ``(genes, individuals)`` each, or
    ``(individuals,)`` against ``(individuals, draws).T``. For each row only the positions where both
    values are finite are used. The result is NaN where fewer than ``min_n`` pairs remain or either
    side is constant over them. Values are clipped to [-1, 1].

    Parameters
    ----------
    x : numpy.ndarray
        First variable, individuals along the last axis; NaN or inf marks a missing value.
    y : numpy.ndarray
        Second variable, broadcastable against ``x``.
    min_n : int, optional
        Fewest complete pairs for a defined R (default 3).

    Returns
    -------
    numpy.ndarray
        R of each row (the broadcast shape without its last axis), float, NaN where undefined.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = np.broadcast_arrays(x, y)
    mask = np.isfinite(x) & np.isfinite(y)
    n = mask.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xs = np.where(mask, x, 0.0)
        ys = np.where(mask, y, 0.0)
        mx = xs.sum(axis=-1) / n
        my = ys.sum(axis=-1) / n
        xc = np.where(mask, x - mx[..., None], 0.0)
        yc = np.where(mask, y - my[..., None], 0.0)
        sxx = np.einsum("...i,...i->...", xc, xc)
        syy = np.einsum("...i,...i->...", yc, yc)
        sxy = np.einsum("...i,...i->...", xc, yc)
        r = sxy / np.sqrt(sxx * syy)
    # "constant" = centred sum of squares within rounding error of centring (n * (c eps max|v|)^2)
    eps16 = 16 * np.finfo(float).eps
    tol_x = n * (eps16 * np.abs(xs).max(axis=-1, initial=0.0)) ** 2
    tol_y = n * (eps16 * np.abs(ys).max(axis=-1, initial=0.0)) ** 2
    degenerate = (n < min_n) | (sxx <= tol_x) | (syy <= tol_y)
    r = np.where(degenerate, np.nan, np.clip(r, -1.0, 1.0))
    return r


def r_sign(r: np.ndarray) -> pd.array:
    """Sign of R as a nullable integer array: +1, -1, 0 for R exactly 0, <NA> where R is NaN.

    Parameters
    ----------
    r : numpy.ndarray
        ``(genes,)`` correlations.

    Returns
    -------
    pandas.arrays.IntegerArray
        ``Int8`` array of the signs.
    """
    r = np.asarray(r, dtype=float)
    s = np.sign(np.nan_to_num(r)).astype("int8")
    return pd.array(np.where(np.isnan(r), pd.NA, s), dtype="Int8")


# --------------------------------------------------------------------------------------------------
# Gene-specific null
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NullSummary:
    """Null of one gene: mean and SD of |R| over the draws, and the draws themselves (|R|, NaN->0)."""

    mean: float
    sd: float
    draws: np.ndarray  # shape (n_draws,)
    n_snvs: int
    n_individuals: int


def gene_rng(seed: int, gene_id: str) -> np.random.Generator:
    """A Generator for one gene, independent of processing order and chunking.

    Seeded from ``(seed, crc32(gene_id))`` so a gene gets the same null draws whether it is computed
    alone, in a chromosome chunk, or in one run over all genes.

    Parameters
    ----------
    seed : int
        Run-level seed.
    gene_id : str
        The gene's identifier; its CRC32 (of the UTF-8 bytes) is the second seed word.

    Returns
    -------
    numpy.random.Generator
        A fresh generator for that gene.
    """
    return np.random.default_rng([int(seed), zlib.crc32(gene_id.encode("utf-8"))])


def _impute_columns(dosage: np.ndarray) -> np.ndarray:
    """Replace missing dosages (NaN) by the SNV's mean over the individuals that have it."""
    if not np.isnan(dosage).any():
        return dosage
    with np.errstate(invalid="ignore"):
        means = np.nanmean(dosage, axis=0)
    means = np.nan_to_num(means, nan=0.0)
    return np.where(np.isnan(dosage), means[None, :], dosage)


def null_abs_r(
    dosage: np.ndarray,
    expression: np.ndarray,
    *,
    n_draws: int = 50,
    rng: np.random.Generator | int | None = None,
    weights: np.ndarray | None = None,
    ddof: int = 0,
) -> NullSummary:
    """Gene-specific random-weight null of |R|.

    ``dosage`` is ``(individuals, snvs)`` of ALT dosages (0/1/2; NaN = missing, mean-imputed per SNV),
    ``expression`` is ``(individuals,)`` (NaN = missing; those individuals are left out). Weights
    ``(snvs, n_draws)`` are drawn ``N(0, 1)`` from ``rng`` (a Generator or a seed) unless given.
    Each draw's predictor is ``dosage @ weights[:, k]``; its |R| with expression is the draw (constant predictor ->
    |R| = 0, as published). Mean and SD (``ddof``, default 0 as ``np.std`` in the published code) of the
    draws summarise the null; both are NaN when every draw is undefined.

    Parameters
    ----------
    dosage : numpy.ndarray
        ``(individuals, snvs)`` ALT dosages of the gene's SNVs; NaN = missing.
    expression : numpy.ndarray
        ``(individuals,)`` observed expression; NaN = missing (that individual is dropped).
    n_draws : int, optional
        Number of random predictors when ``weights`` is not given (default 50).
    rng : numpy.random.Generator or int or None, optional
        Generator, or seed for a new one, for the weights; None draws fresh entropy.
    weights : numpy.ndarray or None, optional
        ``(snvs, n_draws)`` (or ``(snvs,)`` for one draw) weights to use instead of drawing them;
        their column count overrides ``n_draws``.
    ddof : int, optional
        Delta degrees of freedom of the null SD (default 0, as in the published code).

    Returns
    -------
    NullSummary
        Mean and SD of |R| over the draws, the draws, the SNV count and the count of individuals used.

    Raises
    ------
    ValueError
        If ``dosage`` is not ``(individuals, snvs)`` matching ``expression``, or ``weights`` has the
        wrong number of rows.
    """
    dosage = np.asarray(dosage, dtype=float)
    expression = np.asarray(expression, dtype=float)
    if dosage.ndim != 2 or dosage.shape[0] != expression.shape[0]:
        raise ValueError(
            f"dosage must be (individuals, snvs) with {expression.shape[0]} individuals, "
            f"got {dosage.shape}"
        )
    keep = np.isfinite(expression)
    d = _impute_columns(dosage[keep])
    e = expression[keep]
    n_snvs = d.shape[1]
    if weights is None:
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        weights = rng.standard_normal((n_snvs, n_draws))
    else:
        weights = np.asarray(weights, dtype=float)
        if weights.ndim == 1:
            weights = weights[:, None]
        if weights.shape[0] != n_snvs:
            raise ValueError(f"weights must have {n_snvs} rows, got {weights.shape}")
        n_draws = weights.shape[1]
    pred = d @ weights  # (individuals, draws)
    r = pearson_r(pred.T, e[None, :])  # (draws,)
    if n_snvs == 0 or np.all(np.isnan(r)):
        draws = np.full(n_draws, np.nan)
        return NullSummary(np.nan, np.nan, draws, n_snvs, int(keep.sum()))
    draws = np.abs(np.nan_to_num(r, nan=0.0))
    sd = float(np.std(draws, ddof=ddof)) if n_draws > ddof else np.nan
    return NullSummary(float(np.mean(draws)), sd, draws, n_snvs, int(keep.sum()))


# --------------------------------------------------------------------------------------------------
# Test and multiple testing
# --------------------------------------------------------------------------------------------------
def null_test(
    r: np.ndarray,
    null_mean: np.ndarray | None = None,
    null_sd: np.ndarray | None = None,
    *,
    n_draws: int = 50,
    mode: Mode = "reference",
    null_draws: np.ndarray | None = None,
    nan_policy: NanPolicy = "omit",
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided test of observed |R| against the gene-specific null; returns ``(t, p)`` arrays.

    ``r`` is the observed R (its absolute value is tested). ``reference`` / ``textbook`` need
    ``null_mean`` and ``null_sd`` (summaries over ``n_draws`` draws, df = n_draws - 1); ``empirical``
    needs ``null_draws`` of shape ``(genes, n_draws)`` holding |R_null| and gives NaN t. See the module
    docstring for the formulas and ``nan_policy``.

    Parameters
    ----------
    r : numpy.ndarray
        ``(genes,)`` observed R.
    null_mean : numpy.ndarray or None, optional
        ``(genes,)`` null mean of |R|; needed by the ``reference`` and ``textbook`` modes.
    null_sd : numpy.ndarray or None, optional
        ``(genes,)`` null SD of |R|; needed by the ``reference`` and ``textbook`` modes.
    n_draws : int, optional
        Number of null draws behind the summaries (the t test's n; df = n - 1; default 50).
    mode : {"reference", "textbook", "empirical"}, optional
        Test statistic (default ``"reference"``, the published one).
    null_draws : numpy.ndarray or None, optional
        ``(genes, n_draws)`` null |R| draws; needed by the ``empirical`` mode.
    nan_policy : {"omit", "published"}, optional
        How undefined values are treated (default ``"omit"``).

    Returns
    -------
    tuple of numpy.ndarray
        ``(t, p)``, each ``(genes,)``; t is NaN in the empirical mode.

    Raises
    ------
    ValueError
        On an unknown ``mode`` or ``nan_policy``, or when the mode's null inputs are missing.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if nan_policy not in ("omit", "published"):
        raise ValueError(f"nan_policy must be 'omit' or 'published', got {nan_policy!r}")
    abs_r = np.abs(np.asarray(r, dtype=float))
    if mode == "empirical":
        if null_draws is None:
            raise ValueError("mode 'empirical' needs null_draws (genes x n_draws of |R_null|)")
        nd = np.abs(np.asarray(null_draws, dtype=float))
        if nd.ndim == 1:
            nd = nd[None, :]
        if nan_policy == "published":
            abs_r = np.nan_to_num(abs_r)
            nd = np.nan_to_num(nd)
        finite = np.isfinite(nd)
        k = finite.sum(axis=-1)
        exceed = (np.where(finite, nd, -np.inf) >= abs_r[..., None]).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = (1.0 + exceed) / (1.0 + k)
        p = np.where(np.isnan(abs_r) | (k == 0), np.nan, p)
        if nan_policy == "published":
            p = np.nan_to_num(p, nan=1.0)
        return np.full_like(p, np.nan, dtype=float), p
    if null_mean is None or null_sd is None:
        raise ValueError(f"mode {mode!r} needs null_mean and null_sd")
    m = np.asarray(null_mean, dtype=float)
    s = np.asarray(null_sd, dtype=float)
    if nan_policy == "published":
        abs_r, m, s = np.nan_to_num(abs_r), np.nan_to_num(m), np.nan_to_num(s)
    df = n_draws - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        if mode == "reference":
            t = (abs_r - m) / np.sqrt(s / n_draws)
        else:
            t = (abs_r - m) / (s / np.sqrt(n_draws))
        p = _sps.t.sf(t, df)
    if mode == "reference":
        p = np.where(t < 0, 1.0, p)
    if nan_policy == "published":
        p = np.nan_to_num(p, nan=1.0)
    return np.asarray(t, dtype=float), np.asarray(p, dtype=float)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q), vectorised; NaN p stay NaN and are not counted.

    ``q_(i) = min_{j >= i} min(1, m p_(j) / j)`` over the m finite p-values sorted ascending; the same
    values as ``statsmodels.stats.multitest.multipletests(p, method='fdr_bh')[1]`` on the finite ones.

    Parameters
    ----------
    p : numpy.ndarray
        p-values, any shape; NaN or inf entries are left out of the family.

    Returns
    -------
    numpy.ndarray
        q-values of the same shape as ``p``, NaN where ``p`` was not finite.
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    flat = p.ravel()
    ok = np.isfinite(flat)
    pv = flat[ok]
    m = pv.size
    if m == 0:
        return q
    order = np.argsort(pv, kind="mergesort")
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.clip(ranked, 0.0, 1.0)
    qf = q.ravel()
    qf[ok] = out
    return qf.reshape(p.shape)


def _neg_log10(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -np.log10(np.asarray(x, dtype=float))


def gene_table(
    gene_ids: Sequence[str],
    r: np.ndarray,
    null_mean: np.ndarray | None = None,
    null_sd: np.ndarray | None = None,
    *,
    n_draws: int = 50,
    mode: Mode = "reference",
    null_draws: np.ndarray | None = None,
    fdr: float = 0.05,
    n_individuals: np.ndarray | Sequence[int] | None = None,
    n_snvs: np.ndarray | Sequence[int] | None = None,
    nan_policy: NanPolicy = "omit",
) -> pd.DataFrame:
    """Tidy per-gene table of the cross-individual benchmark.

    Columns: ``gene_id, r, abs_r, null_mean, null_sd, t, p, log10p, q, log10q, significant, sign,
    n_individuals, n_snvs`` where ``log10p = -log10 p``, ``log10q = -log10 q``, ``q`` is BH over the
    genes with a finite p (under ``nan_policy='published'`` every gene has one), ``significant`` is
    ``q < fdr`` and ``sign`` is the sign of R (+1/-1, 0 for R = 0, <NA> for NaN). For the empirical mode
    without summaries, ``null_mean`` / ``null_sd`` are computed from ``null_draws`` (ddof 0).

    Parameters
    ----------
    gene_ids : sequence of str
        Gene identifiers, one per row.
    r : numpy.ndarray
        ``(genes,)`` observed R.
    null_mean : numpy.ndarray or None, optional
        ``(genes,)`` null mean of |R|; None = computed from ``null_draws`` if given, else NaN.
    null_sd : numpy.ndarray or None, optional
        ``(genes,)`` null SD of |R|; None = computed from ``null_draws`` if given, else NaN.
    n_draws : int, optional
        Number of null draws behind the summaries (default 50).
    mode : {"reference", "textbook", "empirical"}, optional
        Test of :func:`null_test` (default ``"reference"``).
    null_draws : numpy.ndarray or None, optional
        ``(genes, n_draws)`` null |R| draws.
    fdr : float, optional
        BH false discovery rate below which a gene is significant (default 0.05).
    n_individuals : array-like of int or None, optional
        ``(genes,)`` count of individuals behind each R; None = missing (<NA>).
    n_snvs : array-like of int or None, optional
        ``(genes,)`` count of SNVs in each gene's null; None = missing (<NA>).
    nan_policy : {"omit", "published"}, optional
        How undefined values are treated (default ``"omit"``).

    Returns
    -------
    pandas.DataFrame
        One row per gene with the columns listed above, in the order of ``gene_ids``.
    """
    gene_ids = list(gene_ids)
    g = len(gene_ids)
    r = np.asarray(r, dtype=float).reshape(g)
    if null_draws is not None:
        nd = np.asarray(null_draws, dtype=float).reshape(g, -1)
        if null_mean is None:
            with np.errstate(invalid="ignore"):
                null_mean = np.nanmean(nd, axis=1) if nd.size else np.full(g, np.nan)
        if null_sd is None:
            with np.errstate(invalid="ignore"):
                null_sd = np.nanstd(nd, axis=1) if nd.size else np.full(g, np.nan)
    else:
        nd = None
    nm = np.full(g, np.nan) if null_mean is None else np.asarray(null_mean, dtype=float).reshape(g)
    ns = np.full(g, np.nan) if null_sd is None else np.asarray(null_sd, dtype=float).reshape(g)
    t, p = null_test(r, nm, ns, n_draws=n_draws, mode=mode, null_draws=nd, nan_policy=nan_policy)
    q = benjamini_hochberg(p)
    sig = np.where(np.isnan(q), False, q < fdr)

    def _counts(v):
        if v is None:
            return pd.array([pd.NA] * g, dtype="Int64")
        return pd.array(np.asarray(v).reshape(g), dtype="Int64")

    return pd.DataFrame(
        {
            "gene_id": gene_ids,
            "r": r,
            "abs_r": np.abs(r),
            "null_mean": nm,
            "null_sd": ns,
            "t": t,
            "p": p,
            "log10p": _neg_log10(p),
            "q": q,
            "log10q": _neg_log10(q),
            "significant": sig.astype(bool),
            "sign": r_sign(r),
            "n_individuals": _counts(n_individuals),
            "n_snvs": _counts(n_snvs),
        }
    )


def personal_benchmark(
    gene_ids: Sequence[str],
    predicted: np.ndarray,
    observed: np.ndarray,
    dosages: Sequence[np.ndarray],
    *,
    n_draws: int = 50,
    seed: int = 1,
    mode: Mode = "reference",
    fdr: float = 0.05,
    ddof: int = 0,
    nan_policy: NanPolicy = "omit",
) -> pd.DataFrame:
    """End to end for a set of genes: R, null, test, BH -> :func:`gene_table`.

    ``predicted`` and ``observed`` are ``(genes, individuals)`` (NaN = missing); ``dosages[i]`` is the
    ``(individuals, snvs)`` ALT dosage matrix of gene ``i`` (columns in the same individual order). The
    null of each gene uses the individuals where both prediction and expression are finite, and a
    per-gene Generator :func:`gene_rng` ``(seed, gene_id)``.

    Parameters
    ----------
    gene_ids : sequence of str
        Gene identifiers, one per row of ``predicted``.
    predicted : numpy.ndarray
        ``(genes, individuals)`` model predictions.
    observed : numpy.ndarray
        ``(genes, individuals)`` observed expression, individuals in the same order.
    dosages : sequence of numpy.ndarray
        Per gene, its ``(individuals, snvs)`` ALT dosage matrix.
    n_draws : int, optional
        Random predictors per gene's null (default 50).
    seed : int, optional
        Run-level seed of :func:`gene_rng` (default 1).
    mode : {"reference", "textbook", "empirical"}, optional
        Test of :func:`null_test` (default ``"reference"``).
    fdr : float, optional
        BH false discovery rate (default 0.05).
    ddof : int, optional
        Delta degrees of freedom of the null SD (default 0).
    nan_policy : {"omit", "published"}, optional
        How undefined values are treated (default ``"omit"``).

    Returns
    -------
    pandas.DataFrame
        The :func:`gene_table` of the genes.

    Raises
    ------
    ValueError
        If ``predicted``, ``observed`` and ``dosages`` disagree on the genes or individuals.
    """
    gene_ids = list(gene_ids)
    pred = np.asarray(predicted, dtype=float)
    obs = np.asarray(observed, dtype=float)
    if pred.shape != obs.shape or pred.shape[0] != len(gene_ids) or len(dosages) != len(gene_ids):
        raise ValueError("predicted, observed (genes x individuals) and dosages must agree on genes")
    r = pearson_r(pred, obs)
    means, sds, draws, n_ind, n_snv = [], [], [], [], []
    for i, gid in enumerate(gene_ids):
        both = np.isfinite(pred[i]) & np.isfinite(obs[i])
        e = np.where(both, obs[i], np.nan)
        ns = null_abs_r(dosages[i], e, n_draws=n_draws, rng=gene_rng(seed, gid), ddof=ddof)
        means.append(ns.mean)
        sds.append(ns.sd)
        draws.append(ns.draws)
        n_ind.append(int(both.sum()))
        n_snv.append(ns.n_snvs)
    return gene_table(
        gene_ids,
        r,
        np.array(means),
        np.array(sds),
        n_draws=n_draws,
        mode=mode,
        null_draws=np.vstack(draws) if draws else np.empty((0, n_draws)),
        fdr=fdr,
        n_individuals=n_ind,
        n_snvs=n_snv,
        nan_policy=nan_policy,
    )
