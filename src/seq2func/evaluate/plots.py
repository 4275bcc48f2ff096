"""EVALUATE's figures: per-track R, predicted vs observed bins, gene scatter."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd


# --------------------------------------------------------------------------- plots
def _plots(outdir: Path, pred: np.ndarray, obs: np.ndarray, tm: pd.DataFrame, genes: pd.DataFrame, seed: int = 0) -> list[str]:
    import matplotlib  # deferred: matplotlib is heavy; only needed when figures are drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: after matplotlib.use("Agg") (headless backend)

    files = []
    T = pred.shape[-1]
    fig, ax = plt.subplots(figsize=(max(4, 0.4 * T + 2), 3.5))
    ax.bar(np.arange(T), tm["pearson_r"].fillna(0), color="#4477aa", label="Pearson R")
    ax.bar(np.arange(T), tm["pearson_r_log1p"].fillna(0), color="none", edgecolor="#cc6677", label="Pearson R (log1p)")
    ax.set_xticks(np.arange(T))
    ax.set_xticklabels(tm["track_id"], rotation=90, fontsize=7)
    ax.set_ylabel("test R")
    ax.set_ylim(min(0, float(np.nanmin(tm["pearson_r"].to_numpy(float), initial=0))) - 0.05, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(outdir / "track_r.png", dpi=110)
    plt.close(fig)
    files.append("track_r.png")

    rng = np.random.default_rng(seed)
    n = min(T, 16)
    ncol = min(4, n)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3 * ncol, 3 * nrow), squeeze=False)
    P, O = pred.reshape(-1, T), obs.reshape(-1, T)
    for t in range(nrow * ncol):
        ax = axes[t // ncol][t % ncol]
        if t >= n:
            ax.axis("off")
            continue
        sel = np.flatnonzero(np.isfinite(P[:, t]) & np.isfinite(O[:, t]))
        if sel.size > 5000:
            sel = rng.choice(sel, 5000, replace=False)
        ax.scatter(np.log1p(np.maximum(O[sel, t], 0)), np.log1p(np.maximum(P[sel, t], 0)), s=3, alpha=0.4)
        ax.set_title(f"{tm['track_id'].iloc[t]} R={tm['pearson_r'].iloc[t]:.2f}", fontsize=8)
        ax.set_xlabel("log1p observed", fontsize=7)
        ax.set_ylabel("log1p predicted", fontsize=7)
    fig.tight_layout()
    fig.savefig(outdir / "scatter.png", dpi=110)
    plt.close(fig)
    files.append("scatter.png")

    if not genes.empty:
        tids = list(dict.fromkeys(genes["track_id"]))[:8]
        fig, axes = plt.subplots(1, len(tids), figsize=(3.2 * len(tids), 3.2), squeeze=False)
        for ax, tid in zip(axes[0], tids):
            d = genes[genes["track_id"] == tid]
            ax.scatter(d["observed"], np.log1p(np.maximum(d["predicted"].astype(float), 0)), s=6, alpha=0.6)
            ax.set_title(tid, fontsize=8)
            ax.set_xlabel("observed expression", fontsize=7)
            ax.set_ylabel("log1p predicted TSS sum", fontsize=7)
        fig.tight_layout()
        fig.savefig(outdir / "gene_scatter.png", dpi=110)
        plt.close(fig)
        files.append("gene_scatter.png")
    return files
