"""Figures of the personal-genome benchmark, matplotlib Agg, PNG.

``population_average.png``  reference-sequence prediction vs observed mean expression, per gene
``r_vs_log10p.png``         per-gene R vs -log10 p, coloured by the mean prediction; BH line
``model_vs_predixcan.png``  deep-model R vs PrediXcan (elastic net) R; the mean as a green cross; with a
                            PredictDB db also its R (orange triangles, mean as an orange cross)
``ism_vs_eqtl.png``         ISM vs eQTL slope of every SNV with a computed ISM; drivers circled
``supported_vs_r.png``      fraction of supported drivers per gene vs the gene's R
``driver_distance.png``     driver distance to the TSS (all drivers and main drivers)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seq2func.personal.stats import pearson_r

FIGURES = ("population_average.png", "r_vs_log10p.png", "model_vs_predixcan.png", "ism_vs_eqtl.png",
           "supported_vs_r.png", "driver_distance.png")


def _plt():
    import matplotlib  # deferred: matplotlib is heavy; importing the PERSONAL stage must not load it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: matplotlib is heavy, and the Agg backend must be set first

    return plt


def _empty(ax, text="no data"):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")


def _r(x, y) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    return float(pearson_r(x[ok], y[ok])) if ok.sum() >= 3 else float("nan")


def personal_figures(outdir: str | Path, genes: pd.DataFrame, drivers: pd.DataFrame, snvs: pd.DataFrame) -> list[str]:
    """Write the six figures into ``outdir``; returns their file names.

    Parameters
    ----------
    outdir : str or pathlib.Path
        Folder to write into (created if needed).
    genes : pandas.DataFrame
        The merged ``genes.tsv`` table (``gene_id``, ``r``, ``p``, ``log10p``, ``significant``,
        ``observed_mean``, ``reference_prediction``, ``mean_prediction``, ``predixcan_r``, optionally
        ``predictdb_r``).
    drivers : pandas.DataFrame
        The merged ``drivers.tsv`` table (``gene_id``, ``supported``, ``distance_to_tss``, ``is_main``).
    snvs : pandas.DataFrame
        The merged ``snvs.tsv`` table (``ism_computed``, ``ism_reference``, ``eqtl_slope``,
        ``is_driver``); may be empty.

    Returns
    -------
    list of str
        File names of the figures written (those of :data:`FIGURES`), in that order.
    """
    plt = _plt()
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        written.append(name)

    r = genes["r"].to_numpy(float)
    sig = genes["significant"].to_numpy(bool)

    # 1. population average
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    x = genes["observed_mean"].to_numpy(float)
    y = genes["reference_prediction"].to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.any():
        ax.scatter(x[ok], y[ok], s=10, alpha=0.7)
        ax.set_title(f"population average, R = {_r(x, y):.3f} ({ok.sum()} genes)", fontsize=9)
    else:
        _empty(ax)
    ax.set_xlabel("observed mean expression")
    ax.set_ylabel("predicted (reference sequence)")
    save(fig, "population_average.png")

    # 2. R vs -log10 p
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    lp = genes["log10p"].to_numpy(float)
    mp = genes["mean_prediction"].to_numpy(float)
    ok = np.isfinite(lp) & np.isfinite(r)
    if ok.any():
        c = mp[ok]
        sc = ax.scatter(np.minimum(lp[ok], 50), r[ok], c=c, s=12, cmap="viridis")
        fig.colorbar(sc, ax=ax, label="mean prediction")
        if sig.any():
            thr = -np.log10(np.nanmax(genes.loc[sig, "p"].to_numpy(float)))
            ax.axvline(thr, color="red", ls="--", lw=1, label="FDR BH")
            ax.legend(fontsize=7, loc="lower right")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(f"{sig.sum()} significant, {(sig & (r < 0)).sum()} with negative R", fontsize=9)
    else:
        _empty(ax)
    ax.set_xlabel("-log10 p (gene-specific null)")
    ax.set_ylabel("R across individuals")
    save(fig, "r_vs_log10p.png")

    # 3. model vs PrediXcan
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    px = genes["predixcan_r"].to_numpy(float)
    ok = np.isfinite(px) & np.isfinite(r)
    pdr = genes["predictdb_r"].to_numpy(float) if "predictdb_r" in genes else np.full(len(genes), np.nan)
    okd = np.isfinite(pdr) & np.isfinite(r)
    if ok.any() or okd.any():
        title = []
        if ok.any():
            ax.scatter(px[ok & ~sig], r[ok & ~sig], s=10, alpha=0.35, color="tab:blue", label="not significant")
            ax.scatter(px[ok & sig], r[ok & sig], s=12, alpha=0.9, color="navy", label="significant")
            ax.plot([np.mean(px[ok])], [np.mean(r[ok])], marker="+", color="green", ms=14, mew=2, ls="none", label="mean")
            title.append(f"mean R model {np.mean(r[ok]):.3f}, PrediXcan {np.mean(px[ok]):.3f}")
        if okd.any():
            ax.scatter(pdr[okd], r[okd], s=14, alpha=0.7, marker="^", color="tab:orange", label="PredictDB db")
            ax.plot([np.mean(pdr[okd])], [np.mean(r[okd])], marker="+", color="darkorange", ms=14, mew=2, ls="none",
                    label="PredictDB mean")
            title.append(f"PredictDB {np.mean(pdr[okd]):.3f} ({okd.sum()} genes)")
        lim = [-1, 1]
        ax.plot(lim, lim, color="grey", lw=0.5)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.legend(fontsize=7)
        ax.set_title(", ".join(title), fontsize=8 if okd.any() else 9)
    else:
        _empty(ax)
    ax.set_xlabel("PrediXcan R (elastic net; PredictDB db)" if okd.any() else "PrediXcan (elastic net) R")
    ax.set_ylabel("model R")
    save(fig, "model_vs_predixcan.png")

    # 4. ISM vs eQTL
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    if len(snvs) and "ism_reference" in snvs:
        s = snvs[snvs["ism_computed"].fillna(False).astype(bool)]
        ism = s["ism_reference"].to_numpy(float)
        eq = s["eqtl_slope"].to_numpy(float)
        ok = np.isfinite(ism) & np.isfinite(eq)
        drv = s["is_driver"].fillna(False).to_numpy(bool)
        if ok.any():
            ax.scatter(eq[ok], ism[ok], s=6, alpha=0.4, color="grey", label="SNVs")
            d = ok & drv
            if d.any():
                ax.scatter(eq[d], ism[d], s=40, facecolors="none", edgecolors="red", label="drivers")
            ax.axhline(0, color="grey", lw=0.5)
            ax.axvline(0, color="grey", lw=0.5)
            ax.legend(fontsize=7)
        else:
            _empty(ax)
    else:
        _empty(ax)
    ax.set_xlabel("eQTL slope (expression per ALT allele)")
    ax.set_ylabel("ISM (reference background)")
    save(fig, "ism_vs_eqtl.png")

    # 5. fraction supported vs R
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    if len(drivers):
        d = drivers.dropna(subset=["supported"])
        if len(d):
            f = d.groupby("gene_id")["supported"].apply(lambda v: float(np.mean(v.astype(bool))))
            rr = genes.set_index("gene_id")["r"].reindex(f.index).to_numpy(float)
            ax.scatter(rr, f.to_numpy(float), s=14, alpha=0.7)
            ax.axvline(0, color="grey", lw=0.5)
        else:
            _empty(ax)
    else:
        _empty(ax)
    ax.set_xlabel("R across individuals")
    ax.set_ylabel("fraction of supported drivers")
    ax.set_ylim(-0.05, 1.05)
    save(fig, "supported_vs_r.png")

    # 6. driver distance
    fig, ax = plt.subplots(figsize=(5.0, 3.8))
    if len(drivers):
        dist = drivers["distance_to_tss"].to_numpy(float)
        main = drivers["is_main"].fillna(False).to_numpy(bool)
        lim = max(1000.0, float(np.nanmax(np.abs(dist))) if dist.size else 1000.0)
        bins = np.linspace(-lim, lim, 41)
        ax.hist(dist, bins=bins, color="lightgrey", label=f"all drivers ({dist.size})")
        ax.hist(dist[main], bins=bins, color="tab:red", alpha=0.8, label=f"main drivers ({main.sum()})")
        ax.legend(fontsize=7)
        ax.set_title(f"{np.mean(np.abs(dist) <= 1000):.0%} within 1 kb of the TSS", fontsize=9)
    else:
        _empty(ax)
    ax.set_xlabel("driver distance to TSS (bp, upstream < 0)")
    ax.set_ylabel("drivers")
    save(fig, "driver_distance.png")
    return written
