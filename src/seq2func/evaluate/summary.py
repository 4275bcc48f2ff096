"""EVALUATE_SUMMARY: one table over every evaluated run (model x strategy x cell type)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from seq2func.io.atomic import json_clean
from seq2func.prepare.store import atomic_dir, publish_dir

SUMMARY_COLUMNS = ["run", "kind", "model", "cell_type", "strategy", "n_windows", "mean_pearson_r",
                   "mean_pearson_r_log1p", "mean_spearman_r", "mean_auroc", "gene_pearson_r", "minus_scratch_r"]


def summarize_runs(metrics_files: Sequence[str | os.PathLike], labels: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per evaluated checkpoint (EVALUATE's ``metrics.json``), with what transfer bought:
    ``minus_scratch_r`` = mean test R of the run minus that of the ``scratch`` run of the same
    cell type (NaN where there is no scratch run, and for pretraining).

    Parameters
    ----------
    metrics_files : Sequence of str or os.PathLike
        EVALUATE's ``metrics.json`` files.
    labels : Sequence[str] or None, optional
        Run names, one per file; ``None``: each file's folder name.

    Returns
    -------
    pd.DataFrame
        Columns :data:`SUMMARY_COLUMNS`, sorted by kind, cell type and strategy.
    """
    rows = []
    for i, path in enumerate(metrics_files):
        m = json.loads(Path(path).read_text())
        gene_r = [t.get("pearson_r") for t in (m.get("gene_level") or {}).get("tracks", []) if t.get("pearson_r") is not None]
        rows.append({
            "run": labels[i] if labels else Path(path).parent.name,
            "kind": m.get("kind"), "model": m.get("model"), "cell_type": m.get("cell_type"), "strategy": m.get("strategy"),
            "n_windows": m.get("n_windows"), "mean_pearson_r": m.get("mean_pearson_r"),
            "mean_pearson_r_log1p": m.get("mean_pearson_r_log1p"), "mean_spearman_r": m.get("mean_spearman_r"),
            "mean_auroc": m.get("mean_auroc"), "gene_pearson_r": float(np.mean(gene_r)) if gene_r else None,
        })
    df = pd.DataFrame(rows, columns=SUMMARY_COLUMNS[:-1])
    scratch = df[df["strategy"] == "scratch"].set_index("cell_type")["mean_pearson_r"]
    df["minus_scratch_r"] = [
        (r["mean_pearson_r"] - scratch[r["cell_type"]]) if (r["cell_type"] in scratch.index and r["mean_pearson_r"] is not None
                                                           and pd.notna(scratch[r["cell_type"]])) else np.nan
        for _, r in df.iterrows()
    ]
    return df.sort_values(["kind", "cell_type", "strategy"], na_position="first").reset_index(drop=True)


def write_summary(df: pd.DataFrame, outdir: str | os.PathLike) -> None:
    """``transfer_summary.tsv`` + ``transfer_summary.json`` + ``transfer_vs_scratch.png``, atomically.

    Parameters
    ----------
    df : pd.DataFrame
        :func:`summarize_runs` output.
    outdir : str or os.PathLike
        Output directory (published atomically).
    """
    import matplotlib  # deferred: matplotlib is heavy; only write_summary draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: after matplotlib.use("Agg") (headless backend)

    outdir = Path(outdir)
    tmp = atomic_dir(outdir, "transfer_summary.tsv")
    df.to_csv(tmp / "transfer_summary.tsv", sep="\t", index=False, na_rep="NA", float_format="%.6g")
    best = {}
    for ct, sub in df[df["strategy"].notna()].groupby("cell_type"):
        tuned = sub[sub["strategy"] != "scratch"].dropna(subset=["mean_pearson_r"])
        if not tuned.empty and sub["minus_scratch_r"].notna().any():
            top = tuned.loc[tuned["mean_pearson_r"].idxmax()]
            best[ct] = {"best_strategy": top["strategy"], "best_r": float(top["mean_pearson_r"]),
                        "best_minus_scratch_r": float(top["minus_scratch_r"])}
    (tmp / "transfer_summary.json").write_text(json.dumps(json_clean({"runs": df.to_dict(orient="records"), "best_by_cell_type": best}), indent=2) + "\n")
    ft = df[df["strategy"].notna()]
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(ft) + 2), 3.5))
    if not ft.empty:
        labels = [f"{r.cell_type}\n{r.strategy}" for r in ft.itertuples()]
        colors = ["#999999" if s == "scratch" else "#3b75af" for s in ft["strategy"]]
        ax.bar(range(len(ft)), ft["mean_pearson_r"].astype(float).fillna(0), color=colors)
        ax.set_xticks(range(len(ft)), labels, rotation=90, fontsize=7)
    pre = df[df["kind"] == "pretrain"]["mean_pearson_r"]
    if len(pre) and pd.notna(pre.iloc[0]):
        ax.axhline(float(pre.iloc[0]), color="k", lw=0.8, ls="--", label="pretrained (compendium tracks)")
        ax.legend(fontsize=7)
    ax.set_ylabel("mean test Pearson R")
    ax.set_title("Fine-tuning strategies vs scratch (grey)")
    fig.tight_layout()
    fig.savefig(tmp / "transfer_vs_scratch.png", dpi=110)
    plt.close(fig)
    publish_dir(tmp, outdir)
