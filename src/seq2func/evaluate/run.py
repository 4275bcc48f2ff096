"""EVALUATE end to end: predict the evaluated split, score tracks and genes, write the tables,
``metrics.json`` and figures.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from seq2func.errors import InputError
from seq2func.evaluate.genes import gene_level
from seq2func.evaluate.metrics import observed, predict, track_metrics
from seq2func.evaluate.plots import _plots
from seq2func.io.annotation import resolve_genes
from seq2func.io.atomic import json_clean
from seq2func.io.expression import read_expression as read_expression_file
from seq2func.predict import rc_permutation
from seq2func.prepare import PreparedDataset, open_dataset
from seq2func.prepare.store import atomic_dir, publish_dir
from seq2func.simulate.truth import read_truth, reference_log2x, track_ceilings
from seq2func.train.checkpoint import model_from_checkpoint
from seq2func.train.device import resolve_device

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- entry point


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

    Parameters
    ----------
    checkpoint : str or os.PathLike
        A seq2func checkpoint (``model.pt``).
    dataset : PreparedDataset or str or os.PathLike
        The PREPARE dataset (or its directory); its ``seq_length`` and ``bin_size`` must be the model's.
    outdir : str or os.PathLike
        Output directory (published atomically).
    split : str, optional
        Split (or, with ``fold``, role) to evaluate.
    tss_bed : str, os.PathLike or None, optional
        TSS BED6 or GTF for the gene level; ``None``: the expression BED's positions, or no gene level.
    expression : str, os.PathLike or None, optional
        Expression TSV / phenotype BED: the observed values of the gene level.
    tss_bins : int, optional
        Bins summed on each side of a TSS's bin.
    batch_size : int, optional
        Windows per forward pass.
    device : str, optional
        ``auto``, ``cpu``, ``cuda`` or ``cuda:<index>``.
    require_gpu : bool, optional
        Refuse to run without a GPU.
    rc_average : bool, optional
        Average with the reverse-complement prediction.
    cage_assays : Sequence[str], optional
        Assays scored at genes.
    plots : bool, optional
        Draw the figures.
    fold : int or None, optional
        Held-out fold of a k-fold dataset.
    truth : str, os.PathLike or None, optional
        A simulated world's ``truth.json``.

    Returns
    -------
    dict
        The content of ``metrics.json`` (means, per-track and gene-level metrics, figure names).

    Raises
    ------
    InputError
        On a bad ``tss_bins``, a split without windows, or a dataset that does not suit the model.
    """
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
        (tmp / "metrics.json").write_text(json.dumps(json_clean(summary), indent=2) + "\n")
        publish_dir(tmp, outdir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("evaluated %d %s windows: mean R %.4f (log1p %.4f)", idx.size, split,
             summary["mean_pearson_r"] or float("nan"), summary["mean_pearson_r_log1p"] or float("nan"))
    return summary


def predict_split(checkpoint: str | os.PathLike, dataset: str | os.PathLike, out: str | os.PathLike, *,
                  split: str = "test", batch_size: int = 8, rc_average: bool = False, device: str = "auto",
                  require_gpu: bool = False) -> Path:
    """Predict every window of a split of a PREPARE dataset and write the array (``train.py predict``).

    Parameters
    ----------
    checkpoint
        A seq2func checkpoint (``model.pt``).
    dataset
        A PREPARE dataset directory.
    out
        The ``.npy`` to write: float32 ``(windows, bins, tracks)``; ``<out>.tracks.tsv`` names the
        columns (``column``, ``track_id``, ``cell_type``, ``assay``).
    split
        ``train``, ``valid``, ``test`` or ``all``.
    batch_size, rc_average, device, require_gpu
        As for :func:`seq2func.evaluate.metrics.predict` and :func:`seq2func.train.device.resolve_device`.

    Returns
    -------
    Path
        ``out``, written atomically.
    """
    out = Path(out)
    dev = resolve_device(device, require_gpu)
    model, ck = model_from_checkpoint(checkpoint, device=dev)
    model.seq2func_tracks = ck["tracks"]
    ds = open_dataset(dataset)
    pred = predict(model, ds, split=None if split == "all" else split, batch_size=batch_size, device=dev,
                   rc_average=rc_average, bf16=dev.type == "cuda")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}.npy"
    np.save(tmp, pred)
    os.replace(tmp, out)
    with open(f"{out}.tracks.tsv", "w") as fh:
        fh.write("column\ttrack_id\tcell_type\tassay\n")
        for k, t in enumerate(ck["tracks"]):
            fh.write(f"{k}\t{t['track_id']}\t{t['cell_type']}\t{t['assay']}\n")
    return out
