"""Gene level (Basenji's result): predicted CAGE summed over each gene's TSS bins against the observed
expression, and, in a simulated world, against the truth expression.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from seq2func.chroms import alias_map
from seq2func.io.annotation import read_tss
from seq2func.io.expression import read_expression as read_expression_file
from seq2func.personal.stats import pearson_r


def read_tss_bed(path: str | os.PathLike) -> pd.DataFrame:
    """TSS file (BED6, or a GTF by its name) -> DataFrame(chrom, tss, gene_id, strand); errors as :class:`InputError`.

    Parameters
    ----------
    path : str or os.PathLike
        A TSS BED6 (``chrom, tss, tss+1, gene_id, score, strand``) or a GTF.

    Returns
    -------
    pd.DataFrame
        One row per TSS.
    """
    return read_tss(path)


def read_expression(path: str | os.PathLike) -> pd.Series:
    """Population-average expression per gene (mean across individuals, NaN skipped) of an
    expression TSV or phenotype BED (:func:`seq2func.io.expression.read_expression`).

    Parameters
    ----------
    path : str or os.PathLike
        Expression TSV (``gene_id`` then one column per individual) or phenotype BED.

    Returns
    -------
    pd.Series
        Mean expression per gene, indexed by gene_id.
    """
    return read_expression_file(path).population_mean()


def tss_windows(regions: pd.DataFrame, tss: pd.DataFrame, crop_bp: int, bin_size: int, n_bins: int,
                tss_bins: int = 1) -> pd.DataFrame:
    """For each TSS, the window (row position in ``regions``) and bin holding it.

    Returns DataFrame(gene_id, chrom, tss, strand, window, bin): only TSSs whose bins
    ``bin - tss_bins .. bin + tss_bins`` all lie inside one window's target region; among several,
    the window where the TSS bin is most central.

    Parameters
    ----------
    regions : pd.DataFrame
        The evaluated windows (``chrom``, ``start``), row order = window index.
    tss : pd.DataFrame
        TSSs (``gene_id``, ``chrom``, ``tss``, ``strand``; :func:`read_tss_bed`); chromosome names are
        matched to the regions' spelling.
    crop_bp : int
        bp between a window's start and its first target bin.
    bin_size : int
        Bin width in bp.
    n_bins : int
        Target bins per window.
    tss_bins : int, optional
        Bins summed on each side of the TSS's bin.

    Returns
    -------
    pd.DataFrame
        Columns ``gene_id, chrom, tss, strand, window, bin``, one row per placed TSS.
    """
    out = []
    alias = alias_map(regions["chrom"].unique(), tss["chrom"].unique())
    by_chrom = {c: g for c, g in regions.reset_index(drop=True).assign(window=np.arange(len(regions))).groupby("chrom")}
    for rec in tss.itertuples(index=False):
        c = alias.get(rec.chrom)
        if c is None or c not in by_chrom:
            continue
        g = by_chrom[c]
        t0 = g["start"].to_numpy() + crop_bp
        k = (int(rec.tss) - t0) // bin_size
        inside = (int(rec.tss) >= t0) & (k - tss_bins >= 0) & (k + tss_bins < n_bins)
        if not inside.any():
            continue
        cand = np.flatnonzero(inside)
        centrality = np.abs(k[cand] - (n_bins - 1) / 2)
        j = cand[int(np.argmin(centrality))]
        out.append((rec.gene_id, c, int(rec.tss), rec.strand, int(g["window"].iloc[j]), int(k[j])))
    return pd.DataFrame(out, columns=["gene_id", "chrom", "tss", "strand", "window", "bin"])


def tss_bin_sums(values: np.ndarray, sites: pd.DataFrame, tss_bins: int = 1) -> pd.DataFrame:
    """Sum of ``values[window, bin - tss_bins : bin + tss_bins + 1, :]`` per site, then per gene.

    ``values``: ``(n_windows, n_bins, T)``; returns a ``genes x T`` DataFrame indexed by gene_id.

    Parameters
    ----------
    values : np.ndarray
        Per-bin values ``(n_windows, n_bins, T)`` (NaN bins count as 0).
    sites : pd.DataFrame
        :func:`tss_windows` output (``gene_id``, ``window``, ``bin``).
    tss_bins : int, optional
        Bins summed on each side of the TSS's bin.

    Returns
    -------
    pd.DataFrame
        ``(n_genes, T)`` sums, the TSSs of one gene added together, in first-seen gene order.
    """
    T = values.shape[-1]
    if sites.empty:
        return pd.DataFrame(np.zeros((0, T)), index=pd.Index([], name="gene_id"))
    sums = np.stack([np.nansum(values[w, b - tss_bins:b + tss_bins + 1, :], axis=0)
                     for w, b in zip(sites["window"], sites["bin"])])
    df = pd.DataFrame(sums, index=pd.Index(sites["gene_id"].astype(str), name="gene_id"))
    return df.groupby(level=0, sort=False).sum()


def gene_level(pred: np.ndarray, obs_bins: np.ndarray, regions: pd.DataFrame, tracks: Sequence[dict], tss: pd.DataFrame,
               crop_bp: int, bin_size: int, tss_bins: int = 1, expression: pd.Series | None = None,
               cage_assays: Sequence[str] = ("CAGE",),
               truth_log2x: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(gene_predictions long table, gene_metrics per CAGE track). See the module docstring.

    Parameters
    ----------
    pred : np.ndarray
        Predictions ``(n_windows, n_bins, n_tracks)`` of the evaluated windows.
    obs_bins : np.ndarray
        Observed targets of the same shape (used when ``expression`` is ``None``).
    regions : pd.DataFrame
        The evaluated windows, row ``i`` = window ``i`` of ``pred``.
    tracks : Sequence[dict]
        The model's tracks (``track_id``, ``assay``, ``cell_type``), one per output column.
    tss : pd.DataFrame
        TSSs (:func:`read_tss_bed`).
    crop_bp : int
        bp between a window's start and its first predicted bin.
    bin_size : int
        Bin width in bp.
    tss_bins : int, optional
        Bins summed on each side of the TSS's bin.
    expression : pd.Series or None, optional
        Observed population-average expression per gene; ``None``: the observed target bins.
    cage_assays : Sequence[str], optional
        Assays (case-insensitive) of the tracks scored at genes.
    truth_log2x : pd.DataFrame or None, optional
        A simulated world's truth expression (log2, genes x cell types): adds the truth metrics.

    Returns
    -------
    tuple of pd.DataFrame
        ``(gene_predictions, gene_metrics)``: ``gene_id, track_id, predicted, observed`` per gene and
        track, and one row of R values per CAGE-like track; both empty without CAGE tracks or TSSs.
    """
    assays = {a.upper() for a in cage_assays}
    cols = [k for k, t in enumerate(tracks) if str(t.get("assay", "")).upper() in assays]
    empty = (pd.DataFrame(columns=["gene_id", "track_id", "predicted", "observed"]),
             pd.DataFrame(columns=["track_id", "n_genes", "pearson_r", "pearson_r_log1p_pred", "spearman_r", "observed_from"]))
    if not cols:
        return empty
    sites = tss_windows(regions, tss, crop_bp, bin_size, pred.shape[1], tss_bins)
    if sites.empty:
        return empty
    psum = tss_bin_sums(pred[:, :, cols], sites, tss_bins)
    source = "expression" if expression is not None else "targets"
    if expression is None:
        osum = tss_bin_sums(obs_bins[:, :, cols], sites, tss_bins)
    long, mets = [], []
    for j, k in enumerate(cols):
        tid = tracks[k]["track_id"]
        p = psum.iloc[:, j]
        o = expression.reindex(p.index) if expression is not None else osum.iloc[:, j]
        d = pd.DataFrame({"gene_id": p.index, "track_id": tid, "predicted": p.to_numpy(), "observed": o.to_numpy()})
        long.append(d)
        ok = np.isfinite(d["predicted"]) & np.isfinite(d["observed"])
        pv, ov = d["predicted"][ok].to_numpy(float), d["observed"][ok].to_numpy(float)
        r = float(pearson_r(pv, ov)) if pv.size else float("nan")
        rl = float(pearson_r(np.log1p(np.maximum(pv, 0)), ov)) if pv.size else float("nan")
        sp = float(spearmanr(pv, ov).statistic) if pv.size >= 3 and np.ptp(pv) > 0 and np.ptp(ov) > 0 else float("nan")
        row = dict(track_id=tid, n_genes=int(ok.sum()), pearson_r=r, pearson_r_log1p_pred=rl, spearman_r=sp,
                   observed_from=source)
        ct = str(tracks[k].get("cell_type", ""))
        if truth_log2x is not None and ct in truth_log2x.columns:
            row.update(_truth_gene_metrics(d[ok], truth_log2x[ct], sp))
        mets.append(row)
    return pd.concat(long, ignore_index=True), pd.DataFrame(mets)


def _truth_gene_metrics(d: pd.DataFrame, log2x: pd.Series, spearman_obs: float) -> dict:
    """Gene-level R against the truth expression and the truth's own R against the observed values."""
    t = log2x.reindex(d["gene_id"].astype(str)).to_numpy(float)
    ok = np.isfinite(t)
    p, o, t = d["predicted"].to_numpy(float)[ok], d["observed"].to_numpy(float)[ok], t[ok]
    if t.size < 3 or np.ptp(t) == 0:
        return {}

    def sp(a, b):
        return float(spearmanr(a, b).statistic) if np.ptp(a) > 0 and np.ptp(b) > 0 else float("nan")

    ceil_sp = sp(t, o)
    return {"truth_n_genes": int(t.size), "truth_pearson_r": float(pearson_r(np.log1p(np.maximum(p, 0)), t)),
            "truth_spearman_r": sp(p, t), "ceiling_pearson_r": float(pearson_r(t, o)), "ceiling_spearman_r": ceil_sp,
            "fraction_of_ceiling": spearman_obs / ceil_sp if ceil_sp and np.isfinite(ceil_sp) else float("nan")}
