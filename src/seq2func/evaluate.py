"""EVALUATE: a trained model on held-out chromosomes (the ``test`` split by default).

Track level (:func:`track_metrics`), per track over every test bin flattened (NaN bins skipped):
Pearson R on the values as stored (``pearson_r``) and on ``log1p`` of them (``pearson_r_log1p``;
negative values are clipped at 0 first), Spearman R, and for classification models (peak mode)
AUROC / AUPRC of the logits against the 0/1 labels (scikit-learn).

Gene level (:func:`gene_level`): for every TSS (BED6: chrom, tss, tss+1, gene_id, score, strand)
that falls inside the target region of a test window (targets cover
``[start + crop_bp, end - crop_bp)`` in ``bin_size`` bins) the bins ``k - tss_bins .. k + tss_bins``
around the TSS's bin ``k`` are summed, for every CAGE-like track (``assay`` == CAGE), in the
predictions and in the observed targets. A TSS must have its whole bin range inside one window;
with overlapping windows the window where it is most central is used. The TSSs of one gene are
summed. The observed value is the population-average expression (mean over the individuals of an
expression TSV: ``gene_id`` then one column per individual) or, without one, the observed target
bins. Pearson / Spearman R per track across genes.

With a simulated world's ``truth.json`` (``truth``): every track gets the ceiling of exactly the
quantity scored here (the transformed bins of the evaluated chromosomes, from the truth's
per-chromosome moments), the sequence ceiling (a perfect sequence model) and
``fraction_of_ceiling`` = R / ceiling; every CAGE-like track of a cell type the world knows gets
the gene-level R against the truth expression of that cell type (``truth_pearson_r`` on log
scales, ``truth_spearman_r``), the R of the truth itself against the observed values
(``ceiling_pearson_r`` with log2 truth, ``ceiling_spearman_r``: what a perfect model reaches) and
``fraction_of_ceiling`` = spearman_r / ceiling_spearman_r (rank-based, so the units of the
observed values do not matter).

Outputs (``outdir``): ``track_metrics.tsv``, ``gene_predictions.tsv``, ``gene_metrics.tsv``,
``metrics.json``, ``track_r.png`` (bar of per-track R), ``scatter.png`` (predicted vs observed
bins per track) and ``gene_scatter.png``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.io.annotation import read_tss, resolve_genes
from seq2func.io.atomic import json_clean
from seq2func.io.expression import read_expression as read_expression_file
from seq2func.predict import Predictor, rc_permutation  # rc_permutation: re-exported (was defined here)
from seq2func.simulate.truth import read_truth, reference_log2x, track_ceilings

log = logging.getLogger(__name__)

TRACK_COLUMNS = ["track_id", "cell_type", "assay", "n", "pearson_r", "pearson_r_log1p", "spearman_r", "auroc", "auprc",
                 "mean_observed", "mean_predicted"]
TRUTH_TRACK_COLUMNS = ["ceiling", "sequence_ceiling", "fraction_of_ceiling"]


# --------------------------------------------------------------------------- prediction
@torch.no_grad()
def predict(
    model: torch.nn.Module,
    ds,
    split: str | None = "test",
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    rc_average: bool = False,
    indices: np.ndarray | None = None,
    rc_perm: Sequence[int] | None = None,
    bf16: bool = False,
) -> np.ndarray:
    """Model outputs for the windows of ``split`` (or ``indices``), float32 ``(n_windows, bins, tracks)``.

    A thin wrapper of :class:`seq2func.predict.Predictor`: the windows' codes are read
    ``batch_size`` at a time and predicted. Profile models give their output bins; classification
    (logits) and scalar models one bin. ``rc_average`` averages with the reverse-complement
    prediction (bins reversed back, stranded track pairs swapped via ``rc_perm`` or the
    ``rc_index`` of ``model.seq2func_tracks``). The model's train/eval mode is restored.
    """
    from seq2func.data import PreparedDataset, open_dataset

    if not isinstance(ds, PreparedDataset):
        ds = open_dataset(ds)
    idx = np.asarray(indices if indices is not None else (ds.split(split) if split else np.arange(len(ds))), dtype=np.int64)
    predictor = Predictor(model, device=device, batch_size=batch_size, bf16=bf16, rc_perm=rc_perm)
    outs = [predictor.ensemble(np.asarray(ds.sequences[idx[s:s + batch_size]], dtype=np.uint8), rc_average=rc_average)
            for s in range(0, idx.size, batch_size)]
    if not outs:
        return np.zeros((0, 1, 0), dtype=np.float32)
    return np.concatenate(outs).astype(np.float32, copy=False)


def observed(ds, indices: np.ndarray, cols: Sequence[int], output_kind: str, n_out_bins: int) -> np.ndarray:
    """Observed targets shaped like :func:`predict`'s output (central bins / labels / log1p sums)."""
    from seq2func.train.engine import adapt_target

    y = torch.from_numpy(np.asarray(ds.targets[np.asarray(indices)], dtype=np.float32)[:, :, list(cols)])
    y = adapt_target(y, output_kind, n_out_bins if output_kind == "profile" else None)
    if output_kind != "profile":
        y = y[:, None, :]
    return y.numpy()


# --------------------------------------------------------------------------- metrics
def track_metrics(pred: np.ndarray, obs: np.ndarray, tracks: Sequence[dict], classification: bool = False) -> pd.DataFrame:
    """Per-track metrics over all bins flattened (see the module docstring)."""
    from scipy.stats import spearmanr
    from sklearn.metrics import average_precision_score, roc_auc_score

    from seq2func.stats import pearson_r

    T = pred.shape[-1]
    P = pred.reshape(-1, T).astype(np.float64)
    O = obs.reshape(-1, T).astype(np.float64)
    rows = []
    for t in range(T):
        ok = np.isfinite(P[:, t]) & np.isfinite(O[:, t])
        p, o = P[ok, t], O[ok, t]
        r = float(pearson_r(p, o)) if p.size else float("nan")
        rl = float(pearson_r(np.log1p(np.maximum(p, 0)), np.log1p(np.maximum(o, 0)))) if p.size else float("nan")
        if p.size >= 3 and np.ptp(p) > 0 and np.ptp(o) > 0:
            sp = float(spearmanr(p, o).statistic)
        else:
            sp = float("nan")
        au = ap = float("nan")
        if classification:
            lab = o > 0.5
            if lab.any() and not lab.all():
                au = float(roc_auc_score(lab, p))
                ap = float(average_precision_score(lab, p))
        tr = tracks[t] if t < len(tracks) else {}
        rows.append(dict(track_id=tr.get("track_id", f"track{t}"), cell_type=tr.get("cell_type", ""), assay=tr.get("assay", ""),
                         n=int(p.size), pearson_r=r, pearson_r_log1p=rl, spearman_r=sp, auroc=au, auprc=ap,
                         mean_observed=float(o.mean()) if o.size else float("nan"),
                         mean_predicted=float(p.mean()) if p.size else float("nan")))
    return pd.DataFrame(rows, columns=TRACK_COLUMNS)


def read_tss_bed(path: str | os.PathLike) -> pd.DataFrame:
    """TSS file (BED6, or a GTF by its name) -> DataFrame(chrom, tss, gene_id, strand); errors as :class:`InputError`."""
    return read_tss(path)


def read_expression(path: str | os.PathLike) -> pd.Series:
    """Population-average expression per gene (mean across individuals, NaN skipped) of an
    expression TSV or phenotype BED (:func:`seq2func.io.expression.read_expression`)."""
    return read_expression_file(path).population_mean()


def tss_windows(regions: pd.DataFrame, tss: pd.DataFrame, crop_bp: int, bin_size: int, n_bins: int,
                tss_bins: int = 1) -> pd.DataFrame:
    """For each TSS, the window (row position in ``regions``) and bin holding it.

    Returns DataFrame(gene_id, chrom, tss, strand, window, bin): only TSSs whose bins
    ``bin - tss_bins .. bin + tss_bins`` all lie inside one window's target region; among several,
    the window where the TSS bin is most central.
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
    """(gene_predictions long table, gene_metrics per CAGE track). See the module docstring."""
    from scipy.stats import spearmanr

    from seq2func.stats import pearson_r

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
    from scipy.stats import spearmanr

    from seq2func.stats import pearson_r

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


# --------------------------------------------------------------------------- plots
def _plots(outdir: Path, pred: np.ndarray, obs: np.ndarray, tm: pd.DataFrame, genes: pd.DataFrame, seed: int = 0) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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


# --------------------------------------------------------------------------- entry point
_json_clean = json_clean


def evaluate(
    checkpoint: str | os.PathLike,
    dataset,
    outdir: str | os.PathLike,
    split: str = "test",
    tss_bed: str | os.PathLike | None = None,
    expression: str | os.PathLike | None = None,
    tss_bins: int = 1,
    batch_size: int = 8,
    device: str = "auto",
    require_gpu: bool = False,
    rc_average: bool = False,
    cage_assays: Sequence[str] = ("CAGE",),
    plots: bool = True,
    fold: int | None = None,
    truth: str | os.PathLike | None = None,
) -> dict:
    """Evaluate ``checkpoint`` on ``split`` of ``dataset`` and write the outputs into ``outdir`` (atomically).

    ``truth``: a simulated world's truth.json, for ceilings and the truth expression (module docstring).
    """
    from seq2func.data import PreparedDataset, open_dataset
    from seq2func.data.store import atomic_dir, publish_dir
    from seq2func.train.checkpoint import model_from_checkpoint
    from seq2func.train.device import resolve_device

    if tss_bins < 0:
        raise InputError("--tss-bins", str(tss_bins), "must be >= 0")
    dev = resolve_device(device, require_gpu)
    ds = dataset if isinstance(dataset, PreparedDataset) else open_dataset(dataset)
    expr_file = read_expression_file(expression) if expression else None
    tss = resolve_genes(tss_bed, expr_file)  # genes.bed, an annotation, or the expression BED's starts
    expr = expr_file.population_mean() if expr_file is not None else None
    model, ck = model_from_checkpoint(checkpoint, device=dev)
    tracks = list(ck["tracks"])
    model.seq2func_tracks = tracks
    kind = getattr(model, "output_kind", "profile")
    info = ck["dataset"]
    params = ds.manifest["params"]
    for key in ("seq_length", "bin_size"):
        if int(info.get(key, params[key])) != int(params[key]):
            raise InputError(checkpoint, key, f"the model was trained with {key}={info.get(key)}, the dataset has {params[key]}")
    ids = list(ds.tracks["track_id"])
    missing = [t["track_id"] for t in tracks if t["track_id"] not in ids]
    if missing:
        raise InputError(Path(ds.path) / "tracks.tsv", None,
                         f"the dataset lacks track(s) the model predicts: {', '.join(missing[:10])}")
    cols = [ids.index(t["track_id"]) for t in tracks]
    try:
        idx = ds.split(split, fold=fold)
    except (KeyError, ValueError, IndexError) as err:
        raise InputError("--split", split, str(err).strip("'\"")) from None
    if idx.size == 0:
        raise InputError(ds.path, f"split {split}", "no windows to evaluate")
    pred = predict(model, ds, indices=idx, batch_size=batch_size, device=dev, rc_average=rc_average,
                   rc_perm=rc_permutation(tracks, len(tracks)), bf16=dev.type == "cuda")
    obs = observed(ds, idx, cols, kind, pred.shape[1])
    tm = track_metrics(pred, obs, tracks, classification=kind == "classification")
    truth_d = read_truth(truth) if truth else None
    chroms = sorted(ds.regions.iloc[idx]["chrom"].astype(str).unique())
    if truth_d is not None:
        ceil = track_ceilings(truth_d, [t["track_id"] for t in tracks], chroms)
        tm["ceiling"] = [(ceil.get(t) or {}).get("ceiling") for t in tm["track_id"]]
        tm["sequence_ceiling"] = [(ceil.get(t) or {}).get("sequence_ceiling") for t in tm["track_id"]]
        tm["ceiling"] = pd.to_numeric(tm["ceiling"])
        tm["sequence_ceiling"] = pd.to_numeric(tm["sequence_ceiling"])
        tm["fraction_of_ceiling"] = tm["pearson_r"] / tm["ceiling"]
    genes = pd.DataFrame(columns=["gene_id", "track_id", "predicted", "observed"])
    gm = pd.DataFrame(columns=["track_id", "n_genes", "pearson_r", "pearson_r_log1p_pred", "spearman_r", "observed_from"])
    if tss is not None and kind == "profile":
        crop_bp = int(params.get("crop_bp", 0) or 0) + (ds.n_bins - pred.shape[1]) // 2 * int(params["bin_size"])
        genes, gm = gene_level(pred, obs, ds.regions.iloc[idx].reset_index(drop=True), tracks, tss, crop_bp,
                               int(params["bin_size"]), tss_bins, expr, cage_assays,
                               reference_log2x(truth_d) if truth_d is not None else None)
        if gm.empty:
            log.warning("gene level: no CAGE-like track (assay in %s) or no TSS inside a %s window", ",".join(cage_assays), split)
    summary = {
        "checkpoint": str(Path(checkpoint).resolve()),
        "kind": ck.get("kind"),
        "model": ck["model_config"].get("name"),
        "strategy": (ck.get("strategy") or {}).get("name"),
        "cell_type": (ck.get("strategy") or {}).get("cell_type"),
        "split": split,
        "fold": fold,
        "chroms": chroms,
        "n_windows": int(idx.size),
        "output_kind": kind,
        "rc_average": bool(rc_average),
        "tss_bins": int(tss_bins),
        "mean_pearson_r": float(np.nanmean(tm["pearson_r"])) if tm["pearson_r"].notna().any() else None,
        "mean_pearson_r_log1p": float(np.nanmean(tm["pearson_r_log1p"])) if tm["pearson_r_log1p"].notna().any() else None,
        "mean_spearman_r": float(np.nanmean(tm["spearman_r"])) if tm["spearman_r"].notna().any() else None,
        "mean_auroc": float(np.nanmean(tm["auroc"])) if tm["auroc"].notna().any() else None,
        "mean_auprc": float(np.nanmean(tm["auprc"])) if tm["auprc"].notna().any() else None,
        "mean_fraction_of_ceiling": (float(np.nanmean(tm["fraction_of_ceiling"]))
                                     if "fraction_of_ceiling" in tm and tm["fraction_of_ceiling"].notna().any() else None),
        "tracks": tm.to_dict(orient="records"),
        "gene_level": {"observed_from": "expression" if expr is not None else "targets",
                       "n_genes": int(genes["gene_id"].nunique()) if not genes.empty else 0,
                       "tracks": gm.to_dict(orient="records")},
    }
    outdir = Path(outdir)
    tmp = atomic_dir(outdir, "metrics.json")
    try:
        tm.to_csv(tmp / "track_metrics.tsv", sep="\t", index=False, na_rep="NA", float_format="%.9g")
        genes.to_csv(tmp / "gene_predictions.tsv", sep="\t", index=False, na_rep="NA", float_format="%.9g")
        gm.to_csv(tmp / "gene_metrics.tsv", sep="\t", index=False, na_rep="NA", float_format="%.9g")
        summary["plots"] = _plots(tmp, pred, obs, tm, genes) if plots else []
        (tmp / "metrics.json").write_text(json.dumps(_json_clean(summary), indent=2) + "\n")
        publish_dir(tmp, outdir)
    finally:
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    log.info("evaluated %d %s windows: mean R %.4f (log1p %.4f)", idx.size, split,
             summary["mean_pearson_r"] or float("nan"), summary["mean_pearson_r_log1p"] or float("nan"))
    return summary


SUMMARY_COLUMNS = ["run", "kind", "model", "cell_type", "strategy", "n_windows", "mean_pearson_r",
                   "mean_pearson_r_log1p", "mean_spearman_r", "mean_auroc", "gene_pearson_r", "minus_scratch_r"]


def summarize_runs(metrics_files: Sequence[str | os.PathLike], labels: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per evaluated checkpoint (EVALUATE's ``metrics.json``), with what transfer bought:
    ``minus_scratch_r`` = mean test R of the run minus that of the ``scratch`` run of the same
    cell type (NaN where there is no scratch run, and for pretraining)."""
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
    """``transfer_summary.tsv`` + ``transfer_summary.json`` + ``transfer_vs_scratch.png``, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seq2func.data.store import atomic_dir, publish_dir

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
    (tmp / "transfer_summary.json").write_text(json.dumps(_json_clean({"runs": df.to_dict(orient="records"), "best_by_cell_type": best}), indent=2) + "\n")
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
