"""The report content of each stage, read from the stage's own outputs and written as MultiQC
custom content (:mod:`seq2func.report.mqc`) next to them.

One function per stage; each takes the stage's output files, writes ``*_mqc.json`` / ``*_mqc.html``
into ``out_dir`` and returns the paths written. Every section says in its description what good
looks like. A stage that did not run writes nothing, so its sections are absent from the report.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from seq2func.report import mqc
from seq2func.simulate.truth import track_ceilings

Paths = list[Path]


def _read_json(path: str | os.PathLike) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _by_model_cell_type(df: pd.DataFrame, cols: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Table rows ``"<model> | <cell type>" -> {col: value}`` of a benchmark table."""
    return {f"{r.model} | {r.cell_type}": {k: _scalar(getattr(r, k)) for k in cols} for r in df.itertuples()}


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(label))


# -- VALIDATE ---------------------------------------------------------------------------------------
def validate_content(validation_json: str | os.PathLike, out_dir: str | os.PathLike) -> Paths:
    """Run summary (general statistics) and the input table from VALIDATE's ``validation.json``.

    Parameters
    ----------
    validation_json : str or os.PathLike
        VALIDATE's ``validation.json``.
    out_dir : str or os.PathLike
        Folder to write the ``*_mqc`` files into (created when missing).

    Returns
    -------
    list of Path
        The files written (empty when there was nothing to show).
    """
    v = _read_json(validation_json)
    d = v.get("decisions") or {}
    ss = v.get("samplesheet") or {}
    genome = v.get("genome") or {}
    expr = d.get("expression") or {}
    genes = d.get("genes") or {}
    variants = d.get("variants") or {}
    stats = {
        "genome_contigs": genome.get("contigs"),
        "genome_mb": round(genome["total_length"] / 1e6, 3) if genome.get("total_length") else None,
        "tracks": ss.get("tracks"),
        "cell_types": len(ss.get("cell_types") or []),
        "mode": d.get("mode"),
        "genes": genes.get("genes") if genes else expr.get("genes"),
        "individuals": len(expr.get("individuals_used") or []) or None,
        "variants": variants.get("unique"),
        "warnings": len(v.get("warnings") or []),
    }
    headers = {
        "genome_contigs": {"title": "Contigs", "description": "FASTA contigs", "format": "{:,.0f}"},
        "genome_mb": {"title": "Genome Mb", "description": "FASTA length (Mb)"},
        "tracks": {"title": "Tracks", "description": "samplesheet rows (tracks)", "format": "{:,.0f}"},
        "cell_types": {"title": "Cell types", "format": "{:,.0f}"},
        "mode": {"title": "Mode", "description": "profile (bigWig) or peak (BED)"},
        "genes": {"title": "Genes", "description": "genes placed at a TSS", "format": "{:,.0f}"},
        "individuals": {"title": "Individuals", "description": "cohort individuals with expression and genotypes",
                        "format": "{:,.0f}"},
        "variants": {"title": "Variants", "description": "unique variants to score (--vcf)", "format": "{:,.0f}"},
        "warnings": {"title": "Warnings", "description": "VALIDATE warnings", "format": "{:,.0f}"},
    }
    stats = {k: val for k, val in stats.items() if val is not None}
    written = [mqc.section(out_dir, "s2f_run_summary", "Run summary", "", "generalstats",
                           {"run": stats}, headers={k: headers[k] for k in stats})]
    rows = {}
    for f in v.get("files") or []:
        if f.get("param") == "input" and f.get("track_id"):
            rows[f["track_id"]] = {"kind": f.get("kind"), "contigs": f.get("contigs"),
                                   "shared_fraction": _num(f.get("shared_fraction")),
                                   "renamed": len(f.get("renamed") or {})}
    cts = d.get("cell_types") or {}
    role = {ct: r for r in ("compendium", "target") for ct in cts.get(r, [])}
    summary = {
        "mode": d.get("mode"), "compendium_cell_types": len(cts.get("compendium", [])),
        "target_cell_types": ", ".join(cts.get("target", [])) or "none",
        "data_contigs": len(d.get("data_contigs") or []), "split_by": d.get("split_by"),
        "expression_layout": expr.get("layout"), "individuals_dropped": expr.get("individuals_dropped"),
        "contig_aliases": ", ".join(f"{k}: {len(m)}" for k, m in (d.get("contig_aliases") or {}).items()) or "none",
        "warnings": "; ".join(str(w) for w in (v.get("warnings") or [])[:5]) or "none",
    }
    written.append(mqc.section(
        out_dir, "s2f_inputs", "Inputs",
        "What VALIDATE accepted and decided (later stages follow these decisions). Good: every track shares "
        "its contigs with the FASTA (shared fraction 1) and no warnings.",
        "table", {"decisions": {k: val for k, val in summary.items() if val is not None}}, parent="s2f_data",
        pconfig={"id": "s2f_inputs_table", "title": "seq2func: decisions", "col1_header": "VALIDATE"}))
    if rows:
        written.append(mqc.section(
            out_dir, "s2f_input_tracks", "Input tracks",
            f"Every track of the samplesheet ({len(rows)}), its file kind and how many of its contigs the FASTA has. "
            f"Cell types: {', '.join(f'{ct} ({r})' for ct, r in sorted(role.items()))}.",
            "table", rows, parent="s2f_data",
            pconfig={"id": "s2f_input_tracks_table", "title": "seq2func: input tracks", "col1_header": "track"}))
    return written


# -- PREPARE ----------------------------------------------------------------------------------------
def prepare_content(dataset_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Paths:
    """Data QC from PREPARE's dataset: windows kept and dropped per chromosome and split, and the
    target distribution per track.

    Parameters
    ----------
    dataset_dir : str or os.PathLike
        PREPARE's dataset directory (``manifest.json``, ``tracks.tsv`` and the target shards).
    out_dir : str or os.PathLike
        Folder to write the ``*_mqc`` files into (created when missing).

    Returns
    -------
    list of Path
        The files written (empty when there was nothing to show).
    """
    ds = Path(dataset_dir)
    m = _read_json(ds / "manifest.json")
    counts = m.get("counts") or {}
    written: Paths = []
    bars: dict[str, dict[str, int]] = {}
    for chrom, c in (counts.get("by_chrom") or {}).items():
        for split, n in (c.get("by_split") or {}).items():
            bars.setdefault(f"{chrom} {split}", {})["kept"] = int(n)
        for split, n in (c.get("n_dropped_by_split") or {}).items():
            bars.setdefault(f"{chrom} {split}", {})["dropped (N)"] = int(n)
        if c.get("split_gap_dropped"):
            bars.setdefault(f"{chrom} gap", {})["dropped (split gap)"] = int(c["split_gap_dropped"])
    if bars:
        total = counts.get("by_split") or {}
        written.append(mqc.section(
            out_dir, "s2f_windows", "Windows per chromosome and split",
            f"Windows of {m['params'].get('seq_length')} bp kept for training, validation and test, and those dropped "
            f"for too many N (> max_n_frac {m['params'].get('max_n_frac')}). Totals: "
            + ", ".join(f"{k} {v}" for k, v in total.items())
            + f"; blacklisted bins masked: {m.get('store', {}).get('targets', {}).get('blacklisted_bins', 0)}. "
            "Good: every split holds windows and few are dropped.",
            "bargraph", bars, parent="s2f_data",
            pconfig={"id": "s2f_windows_plot", "title": "seq2func: windows per chromosome and split",
                     "ylab": "windows", "cpswitch": False}))
    tracks = pd.read_csv(ds / "tracks.tsv", sep="\t")
    stats = _target_stats(ds, m, tracks)
    if stats:
        sat = m.get("float16_saturated") or {}
        for tid in stats:
            if isinstance(sat, dict) and tid in sat:
                stats[tid]["float16_saturated"] = sat[tid]
        written.append(mqc.section(
            out_dir, "s2f_targets", "Target distribution per track",
            "Binned targets after transforms, over all windows. Good: no track is all zero, and the "
            "upper quantiles are far from float16 saturation (65504).",
            "table", stats, parent="s2f_data",
            pconfig={"id": "s2f_targets_table", "title": "seq2func: targets per track", "col1_header": "track"}))
    return written


def _target_stats(ds: Path, manifest: Mapping[str, Any], tracks: pd.DataFrame) -> dict[str, dict[str, Any]]:
    shards = (manifest.get("store") or {}).get("shards") or []
    parts = []
    for sh in shards:
        p = ds / sh["targets"]
        if p.exists():
            t = np.load(p, mmap_mode="r")
            if t.size:
                parts.append(np.asarray(t, dtype=np.float32).reshape(-1, t.shape[-1]))
    if not parts:
        return {}
    x = np.concatenate(parts)
    out = {}
    q = np.nanquantile(x, [0.5, 0.99], axis=0) if x.shape[0] else np.full((2, x.shape[1]), np.nan)
    for i, tid in enumerate(tracks["track_id"].astype(str)):
        col = x[:, i]
        out[tid] = {"role": tracks["role"].iloc[i], "mean": float(np.nanmean(col)), "median": float(q[0, i]),
                    "p99": float(q[1, i]), "max": float(np.nanmax(col)), "zero_fraction": float(np.mean(col == 0))}
    return out


# -- PRETRAIN / FINETUNE --------------------------------------------------------------------------
def training_content(metrics_json: str | os.PathLike, label: str, out_dir: str | os.PathLike) -> Paths:
    """Loss and validation curves of one training run (one line per model once MultiQC merges the
    runs' files), and its row of the training table (best epoch, early stop, resumes).

    Parameters
    ----------
    metrics_json : str or os.PathLike
        The training run's ``metrics.json`` (history, best epoch, resumes).
    label : str
        The run's name in the report (also the file stem, made file-safe).
    out_dir : str or os.PathLike
        Folder to write the ``*_mqc`` files into (created when missing).

    Returns
    -------
    list of Path
        The files written (empty when there was nothing to show).
    """
    m = _read_json(metrics_json)
    hist = m.get("history") or []
    metric = m.get("metric", "valid_r")
    stem = _safe(label)
    valid = {str(h["epoch"]): _num(h.get("metric")) for h in hist if h.get("epoch") is not None}
    train = {str(h["epoch"]): _num(h.get("train_loss")) for h in hist if h.get("epoch") is not None}
    vloss = {str(h["epoch"]): _num(h.get("valid_loss")) for h in hist if h.get("epoch") is not None}
    written = []
    if hist:
        written.append(mqc.section(
            out_dir, "s2f_curve_metric", f"Validation {metric} per epoch",
            f"The early-stopping metric ({metric}) on the validation chromosomes after each epoch, per model. "
            "Good: it rises and levels off; the best epoch is kept.",
            "linegraph", {label: valid}, parent="s2f_training", file_name=f"{stem}.curve_metric",
            pconfig={"id": "s2f_curve_metric_plot", "title": f"seq2func: validation {metric}", "xlab": "epoch",
                     "ylab": metric}))
        written.append(mqc.section(
            out_dir, "s2f_curve_loss", "Loss per epoch",
            "Training loss (mean over the epoch) and validation loss per model. Good: both fall; a validation loss "
            "that rises while the training loss falls is overfitting (early stopping ends it).",
            "linegraph", {f"{label} train": train, f"{label} valid": vloss}, parent="s2f_training",
            file_name=f"{stem}.curve_loss",
            pconfig={"id": "s2f_curve_loss_plot", "title": "seq2func: loss", "xlab": "epoch", "ylab": "loss"}))
    resumes = m.get("resumes") or m.get("resume_events") or []
    row = {
        "kind": m.get("kind"), "model": m.get("model"), "strategy": m.get("strategy"),
        "epochs_run": m.get("epochs_run"), "best_epoch": m.get("best_epoch"),
        f"best_{metric}": _num(m.get("best_metric")), "stopped_early": m.get("stopped_early"),
        "resumed": len(resumes) if isinstance(resumes, list) else resumes,
        "train_windows": m.get("n_train_windows"), "trainable_params": m.get("trainable_params"),
        "device": m.get("device"),
        "windows_per_s": _num(np.mean([h["windows_per_s"] for h in hist if _num(h.get("windows_per_s"))])) if hist else None,
    }
    written.append(mqc.section(
        out_dir, "s2f_training_runs", "Training runs",
        "One row per trained model: epochs, the best epoch (kept), early stopping and resumes after a failure. "
        "Good: the best epoch is not the last of a run that hit its epoch limit (that run wanted more epochs).",
        "table", {label: {k: v for k, v in row.items() if v is not None}}, parent="s2f_training",
        file_name=f"{stem}.training_runs",
        pconfig={"id": "s2f_training_runs_table", "title": "seq2func: training runs", "col1_header": "model"}))
    return written


# -- EVALUATE ------------------------------------------------------------------------------------
def evaluate_content(metrics_files: Sequence[str | os.PathLike], labels: Sequence[str], summary: pd.DataFrame,
                     out_dir: str | os.PathLike, *, truth: str | os.PathLike | None = None) -> Paths:
    """Per-track test R (with the noise ceiling where the simulated truth knows it), transfer
    strategies vs scratch, and gene-level R.

    Parameters
    ----------
    metrics_files : Sequence of str or os.PathLike
        EVALUATE's ``metrics.json`` files.
    labels : Sequence[str]
        The model name of each file in the report.
    summary : pd.DataFrame
        EVALUATE_SUMMARY's table (:func:`seq2func.evaluate.summarize_runs`).
    out_dir : str or os.PathLike
        Folder to write the ``*_mqc`` files into (created when missing).
    truth : str, os.PathLike or None, optional
        A simulated world's ``truth.json``, for the noise ceilings (ignored when missing or unreadable).

    Returns
    -------
    list of Path
        The files written (empty when there was nothing to show).
    """
    truth_d: dict | None = None
    if truth is not None and Path(truth).is_file():
        try:
            truth_d = _read_json(truth)
        except (json.JSONDecodeError, OSError):
            truth_d = None
    written: Paths = []
    rows: dict[str, dict[str, Any]] = {}
    gene_rows: dict[str, dict[str, Any]] = {}
    peak = False
    any_ceiling = False
    for path, label in zip(metrics_files, labels):
        m = _read_json(path)
        # the ceiling of exactly the scored bins: EVALUATE's own (given --truth), else from the truth's moments
        ceiling = {}
        if truth_d is not None and m.get("chroms"):
            ceiling = {k: v["ceiling"] for k, v in track_ceilings(
                truth_d, [str(t.get("track_id")) for t in m.get("tracks") or []], m["chroms"]).items()}
        for t in m.get("tracks") or []:
            row = {"model": label, "track": t.get("track_id"), "cell_type": t.get("cell_type"),
                   "pearson_r": _num(t.get("pearson_r")), "spearman_r": _num(t.get("spearman_r"))}
            if _num(t.get("auroc")) is not None:
                peak = True
                row.update(auroc=_num(t.get("auroc")), auprc=_num(t.get("auprc")))
            c = _num(t.get("ceiling")) if _num(t.get("ceiling")) is not None else _num(ceiling.get(str(t.get("track_id"))))
            if c is not None:
                any_ceiling = True
                row.update(noise_ceiling_r=c, fraction_of_ceiling=(row["pearson_r"] / c) if row["pearson_r"] is not None and c else None)
            rows[f"{label} | {t.get('track_id')}"] = {k: v for k, v in row.items() if v is not None}
        for g in (m.get("gene_level") or {}).get("tracks") or []:
            if _num(g.get("pearson_r")) is not None:
                gr = {"model": label, "track": g.get("track_id"), "genes": g.get("n_genes"),
                      "pearson_r": _num(g.get("pearson_r")), "spearman_r": _num(g.get("spearman_r")),
                      "truth_spearman_r": _num(g.get("truth_spearman_r")),
                      "ceiling_spearman_r": _num(g.get("ceiling_spearman_r")),
                      "fraction_of_ceiling": _num(g.get("fraction_of_ceiling"))}
                gene_rows[f"{label} | {g.get('track_id')}"] = {k: v for k, v in gr.items() if v is not None}
    if rows:
        good = ("Good: R well above 0 and, on the simulated world, close to the noise ceiling (the R of the "
                "best predictor of the observed, transformed bins of these chromosomes: no model can beat it)." if any_ceiling else
                "Good: R well above 0 on every target track.")
        if peak:
            good += " Peak mode: AUROC above 0.5 (random)."
        written.append(mqc.section(
            out_dir, "s2f_track_metrics", "Test metrics per track",
            "Pearson R of predicted vs observed binned signal on the test chromosomes, per model and track. " + good,
            "table", rows, parent="s2f_evaluation",
            pconfig={"id": "s2f_track_metrics_table", "title": "seq2func: test R per track", "col1_header": "model | track"}))
    ft = summary[summary["strategy"].notna()] if "strategy" in summary else summary.iloc[0:0]
    if not ft.empty:
        bars: dict[str, dict[str, float]] = {}
        for r in ft.itertuples():
            if _num(r.mean_pearson_r) is not None:
                bars.setdefault(str(r.cell_type), {})[str(r.strategy)] = float(r.mean_pearson_r)
        cats = sorted({s for v in bars.values() for s in v}, key=lambda s: (s == "scratch", s))
        pre = summary[summary["kind"] == "pretrain"]["mean_pearson_r"]
        pre_txt = f" The pretrained model's mean R on its compendium tracks: {float(pre.iloc[0]):.3f}." if len(pre) and _num(pre.iloc[0]) is not None else ""
        written.append(mqc.section(
            out_dir, "s2f_transfer", "Transfer strategies vs scratch",
            "Mean test R on each target cell type's tracks per fine-tuning strategy and for a model trained "
            "from scratch with the same budget. Good: fine-tuning beats scratch; the gap is largest with little data."
            + pre_txt,
            "bargraph", bars, parent="s2f_evaluation", categories=cats,
            pconfig={"id": "s2f_transfer_plot", "title": "seq2func: mean test R by strategy", "ylab": "mean test R",
                     "cpswitch": False, "stacking": "group", "tt_decimals": 3}))
        table = {}
        for r in summary.itertuples():
            table[str(r.run)] = {k: (_num(getattr(r, k)) if k not in ("kind", "cell_type", "strategy", "model") else
                                     (None if pd.isna(getattr(r, k)) else str(getattr(r, k))))
                                 for k in ("kind", "model", "cell_type", "strategy", "mean_pearson_r", "gene_pearson_r",
                                           "minus_scratch_r")}
            table[str(r.run)] = {k: v for k, v in table[str(r.run)].items() if v is not None}
        written.append(mqc.section(
            out_dir, "s2f_transfer_table", "All evaluated models",
            "Mean test R, gene-level R and the gain over scratch (minus_scratch_r) of every checkpoint. "
            "Good: minus_scratch_r > 0 for the fine-tuned models.",
            "table", table, parent="s2f_evaluation",
            pconfig={"id": "s2f_transfer_table_table", "title": "seq2func: evaluated models", "col1_header": "run"}))
    if gene_rows:
        written.append(mqc.section(
            out_dir, "s2f_gene_metrics", "Gene-level R",
            "Across genes: the predicted CAGE-like signal at each TSS vs the observed (population-average) expression. "
            "On the simulated world also vs the truth expression of the track's cell type, the truth's own Spearman R "
            "against the observed values (the ceiling) and the fraction of it reached. "
            "Good: R > 0.5 for a model that learnt promoters; on the simulated world a fraction of ceiling >= 0.8.",
            "table", gene_rows, parent="s2f_evaluation",
            pconfig={"id": "s2f_gene_metrics_table", "title": "seq2func: gene-level R", "col1_header": "model | track"}))
    return written


# -- SCORE_VARIANTS / VARIANT_BENCHMARK --------------------------------------------------------------
def variants_content(benchmark_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Paths:
    """AUROC per model and cell type, sign consistency, enrichment, conservation and the
    cell-type heatmap of the top variants, from VARIANT_BENCHMARK's tables.

    Parameters
    ----------
    benchmark_dir : str or os.PathLike
        VARIANT_BENCHMARK's folder (``benchmark.json``, ``auroc.tsv`` and the other tables).
    out_dir : str or os.PathLike
        Folder to write the ``*_mqc`` files into (created when missing).

    Returns
    -------
    list of Path
        The files written (empty when there was nothing to show).
    """
    b = Path(benchmark_dir)
    written: Paths = []
    summary = _read_json(b / "benchmark.json") if (b / "benchmark.json").is_file() else {}
    score = summary.get("score", "the chosen score")
    auroc = _tsv(b / "auroc.tsv")
    if auroc is not None and len(auroc):
        rows = _by_model_cell_type(auroc, ("model", "cell_type", "n_pos", "n_neg", "auroc", "auroc_lo", "auroc_hi",
                                           "auprc", "auprc_baseline"))
        written.append(mqc.section(
            out_dir, "s2f_variant_auroc", "Variant benchmark: AUROC",
            f"How well |{score}| ranks the labelled allele-specific variants of each cell type above the unlabelled "
            "ones (95% bootstrap interval), for every trained model and two baselines (random; best JASPAR PWM change). "
            "Good: the model fine-tuned on a cell type beats scratch and the baselines on that cell type.",
            "table", rows, parent="s2f_variants",
            pconfig={"id": "s2f_variant_auroc_table", "title": "seq2func: variant AUROC", "col1_header": "model | cell type"}))
        bars: dict[str, dict[str, float]] = {}
        for r in auroc.itertuples():
            if _num(r.auroc) is not None:
                bars.setdefault(str(r.cell_type), {})[str(r.model)] = float(r.auroc)
        written.append(mqc.section(
            out_dir, "s2f_variant_auroc_bars", "Variant benchmark: AUROC by cell type",
            "AUROC per cell type and model (0.5 = random). Good: bars of the fine-tuned models above those of "
            "scratch and the baselines.",
            "bargraph", bars, parent="s2f_variants",
            pconfig={"id": "s2f_variant_auroc_plot", "title": "seq2func: variant AUROC", "ylab": "AUROC",
                     "cpswitch": False, "stacking": "group", "tt_decimals": 3, "ymin": 0, "ymax": 1}))
    sign = _tsv(b / "sign_consistency.tsv")
    if sign is not None and len(sign):
        rows = _by_model_cell_type(sign, ("model", "cell_type", "n", "n_agree", "fraction", "binom_p"))
        written.append(mqc.section(
            out_dir, "s2f_variant_sign", "Sign consistency",
            "Fraction of labelled variants whose predicted effect has the measured allelic direction (binomial p vs 0.5). "
            "Good: well above 0.5.",
            "table", rows, parent="s2f_variants",
            pconfig={"id": "s2f_variant_sign_table", "title": "seq2func: sign consistency", "col1_header": "model | cell type"}))
    enr = _tsv(b / "enrichment.tsv")
    if enr is not None and len(enr):
        lines: dict[str, dict[str, float]] = {}
        own = enr[~enr["agnostic"].astype(bool)] if (~enr["agnostic"].astype(bool)).any() else enr
        for r in own.itertuples():
            if _num(r.enrichment) is not None:
                lines.setdefault(f"{r.model} | {r.cell_type}", {})[str(r.quantile)] = float(r.enrichment)
        if lines:
            written.append(mqc.section(
                out_dir, "s2f_variant_enrichment", "Enrichment by score quantile",
                "Labelled variants per |score| quantile over the overall rate (Brain-ResNet's ASoC enrichment). "
                "Good: rises to > 1 in the top quantile.",
                "linegraph", lines, parent="s2f_variants",
                pconfig={"id": "s2f_variant_enrichment_plot", "title": "seq2func: enrichment by |score| quantile",
                         "xlab": "|score| quantile", "ylab": "enrichment", "categories": True}))
    cons = _tsv(b / "conservation.tsv")
    if cons is not None and len(cons):
        rows = _by_model_cell_type(cons, ("model", "cell_type", "n_top", "top_mean", "rest_mean", "mwu_p_greater"))
        written.append(mqc.section(
            out_dir, "s2f_variant_conservation", "Conservation of high-scoring variants",
            "Conservation (--conservation) of the top 10% |score| variants vs the rest (one-sided Mann-Whitney p). "
            "Good: top variants more conserved, small p.",
            "table", rows, parent="s2f_variants",
            pconfig={"id": "s2f_variant_conservation_table", "title": "seq2func: conservation", "col1_header": "model | cell type"}))
    heat = _tsv(b / "heatmap.tsv")
    if heat is not None and len(heat):
        key = "key" if "key" in heat.columns else heat.columns[0]
        num = heat.select_dtypes("number").drop(columns=["max_abs_score"], errors="ignore")
        if num.shape[1]:
            heat = heat.head(30)
            written.append(mqc.section(
                out_dir, "s2f_variant_heatmap", "Top variants across cell types",
                "Predicted effect of the top-scoring variants on each cell type's track. Good: cell-type-specific "
                "variants light up in their own cell type only.",
                "heatmap", heat[num.columns].to_numpy(float).tolist(), parent="s2f_variants",
                xcats=[str(c) for c in num.columns],
                ycats=[f"{k} ({m})" if "model" in heat.columns else str(k)
                       for k, m in zip(heat[key], heat.get("model", heat[key]))],
                pconfig={"id": "s2f_variant_heatmap_plot", "title": "seq2func: top variants x cell types",
                         "square": False}))
    return written


def _tsv(path: Path) -> pd.DataFrame | None:
    if not path.is_file() or path.stat().st_size == 0:
        return None
    return pd.read_csv(path, sep="\t")


def _scalar(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _num(v)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if hasattr(v, "item") else v


# -- INTERPRET -------------------------------------------------------------------------------------
def interpret_content(runs: Mapping[str, str | os.PathLike], summary_dir: str | os.PathLike,
                      out_dir: str | os.PathLike, *, max_patterns: int = 8) -> Paths:
    """Motif table with logos per model, matched TFs' attribution mass by cell type (heatmap), the
    TFs each fine-tuned model gained, and (simulated world) recovery of the planted TFs.

    Parameters
    ----------
    runs : Mapping[str, str or os.PathLike]
        Model label -> its INTERPRET folder (``summary.json``, ``patterns.tsv``, ``logos/``).
    summary_dir : str or os.PathLike
        INTERPRET_SUMMARY's folder (``specificity.tsv``, ``summary.json``, ``recovery.tsv``).
    out_dir : str or os.PathLike
        Folder to write the ``*_mqc`` files into (created when missing).
    max_patterns : int, optional
        Patterns shown per model in the motif table.

    Returns
    -------
    list of Path
        The files written (empty when there was nothing to show).
    """

    sdir = Path(summary_dir)
    written: Paths = []
    rows_html = []
    counts = {}
    for label, d in runs.items():
        d = Path(d)
        s = _read_json(d / "summary.json") if (d / "summary.json").is_file() else {}
        counts[label] = {"regions": s.get("regions"), "method": s.get("method"), "patterns": s.get("patterns"),
                         "patterns_matched": s.get("patterns_matched"), "filters": s.get("filters"),
                         "filters_matched": s.get("filters_matched"),
                         "matched_tfs": ", ".join(s.get("matched_tfs") or []) or "none",
                         "filter_tfs": ", ".join(s.get("filter_tfs") or []) or "none"}
        pt = _tsv(d / "patterns.tsv")
        if pt is None:
            continue
        for r in pt.head(max_patterns).itertuples():
            logo = d / "logos" / f"{str(r.pattern).replace('.', '_')}.png"
            rows_html.append({
                "model": label, "pattern": r.pattern, "seqlets": r.n_seqlets,
                "logo": mqc.img_tag(logo, str(r.pattern), width=240) if logo.is_file() else "",
                "best JASPAR match": "" if pd.isna(r.target_name) else f"{r.target_name} ({r.target_id})",
                "q": _num(r.q_value) if _num(r.q_value) is not None else float("nan")})
    if counts:
        written.append(mqc.section(
            out_dir, "s2f_interpret_models", "Interpreted models",
            "Per model: explained regions, attribution method, TF-MoDISco patterns and first-layer filters, and how many "
            "match a JASPAR matrix (Tomtom q < 0.05). Good: most patterns match known TFs.",
            "table", {k: {a: b for a, b in v.items() if b is not None} for k, v in counts.items()}, parent="s2f_interpret",
            pconfig={"id": "s2f_interpret_models_table", "title": "seq2func: interpreted models", "col1_header": "model"}))
    if rows_html:
        written.append(mqc.html_section(
            out_dir, "s2f_motifs", "Motifs (TF-MoDISco) with their JASPAR matches",
            f"The top {max_patterns} patterns of each model (contribution-weight logos) and their best Tomtom match. "
            "Good: sharp logos that match the TFs expected in these cell types.",
            mqc.html_table(rows_html, ["model", "pattern", "seqlets", "logo", "best JASPAR match", "q"], raw=["logo"]),
            parent="s2f_interpret"))
    spec = _tsv(sdir / "specificity.tsv")
    if spec is not None and len(spec):
        mat = spec.assign(col=spec["model"] + " | " + spec["cell_type"]).pivot_table(
            index="tf", columns="col", values="share", aggfunc="sum").fillna(0.0)
        written.append(mqc.section(
            out_dir, "s2f_motif_heatmap", "Matched motifs by cell type",
            "Share of each cell type's attribution mass on the seqlets of each matched TF, per model. Good: a fine-tuned "
            "model puts mass on its cell type's own (lineage) TFs.",
            "heatmap", mat.to_numpy(float).tolist(), parent="s2f_interpret",
            xcats=[str(c) for c in mat.columns], ycats=[str(i) for i in mat.index],
            pconfig={"id": "s2f_motif_heatmap_plot", "title": "seq2func: attribution mass by TF", "square": False}))
    summ = _read_json(sdir / "summary.json") if (sdir / "summary.json").is_file() else {}
    gained = summ.get("gained_tfs") or {}
    if gained:
        written.append(mqc.section(
            out_dir, "s2f_gained_tfs", "TFs gained by fine-tuning",
            "TFs a fine-tuned model uses that the pretrained model does not. Good: the target cell type's lineage TFs.",
            "table", {k: {"gained": ", ".join(v) or "none", "n": len(v)} for k, v in gained.items()}, parent="s2f_interpret",
            pconfig={"id": "s2f_gained_tfs_table", "title": "seq2func: gained TFs", "col1_header": "model"}))
    rec = _tsv(sdir / "recovery.tsv")
    if rec is not None and len(rec):
        frac = float(rec["recovered"].astype(bool).mean())
        written.append(mqc.section(
            out_dir, "s2f_recovery", "Recovery of the planted motifs (simulated world)",
            f"Each TF planted by the simulator, recovered (any Tomtom match q < 0.05 of a pattern or filter) or not: "
            f"{int(rec['recovered'].astype(bool).sum())} of {len(rec)} ({frac:.0%}). Good: most planted TFs recovered.",
            "table", {str(r.tf): {"matrix_id": r.matrix_id, "recovered": bool(r.recovered), "best_q": _num(r.best_q),
                                  "model": None if pd.isna(r.model) else r.model,
                                  "source": None if pd.isna(r.source) else r.source}
                      for r in rec.itertuples()}, parent="s2f_interpret",
            pconfig={"id": "s2f_recovery_table", "title": "seq2func: planted TF recovery", "col1_header": "TF"}))
    return written


# -- PERSONAL ---------------------------------------------------------------------------------------
def personal_content(personal_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Paths:
    """The cross-individual benchmark: summary, per-gene R vs -log10 p, deep model vs PrediXcan, drivers.

    Parameters
    ----------
    personal_dir : str or os.PathLike
        The personal benchmark's folder (``summary.json``, ``genes.tsv``, ``drivers.tsv``, ``figures/``).
    out_dir : str or os.PathLike
        Folder to write the ``*_mqc`` files into (created when missing).

    Returns
    -------
    list of Path
        The files written (empty when there was nothing to show).
    """
    p = Path(personal_dir)
    s = _read_json(p / "summary.json")
    written: Paths = []
    keys = ("n_individuals", "n_genes", "n_tested", "n_significant", "n_significant_negative", "frac_significant_negative",
            "mean_r", "median_r", "frac_negative_r", "population_r", "predixcan_mean_r", "predixcan_r_vs_model_r",
            "predictdb_mean_r")
    row = {k: _num(s.get(k)) if isinstance(s.get(k), float) else s.get(k) for k in keys if s.get(k) is not None}
    dr = s.get("drivers") or {}
    for k in ("n_drivers", "frac_supported", "median_abs_distance"):
        if dr.get(k) is not None:
            row[f"drivers_{k}"] = dr[k]
    written.append(mqc.section(
        out_dir, "s2f_personal_summary", "Personal-genome benchmark",
        "Predicting each gene's expression across individuals from their own haplotypes: genes tested, significant "
        "(BH q), significant with the wrong sign (R < 0, the headline failure of reference-trained models), mean R, and "
        "PrediXcan for comparison. Good: many significant genes, few with negative R; in published work deep models "
        "still trail PrediXcan.",
        "table", {s.get("mode", "run"): row}, parent="s2f_personal",
        pconfig={"id": "s2f_personal_summary_table", "title": "seq2func: personal benchmark", "col1_header": "mode"}))
    genes = _tsv(p / "genes.tsv")
    if genes is not None and len(genes):
        pts = {}
        for r in genes.itertuples():
            x, y = _num(getattr(r, "r", None)), _num(getattr(r, "log10p", None))
            if x is not None and y is not None:
                pts[str(r.gene_id)] = {"x": x, "y": y, "color": "#d62728" if bool(getattr(r, "significant", False)) else "#1f77b4"}
        if pts:
            written.append(mqc.section(
                out_dir, "s2f_personal_r_p", "Per-gene R vs -log10 p",
                "Each gene's Pearson R across individuals (x) and its significance against the random-weights null (y); "
                "red: significant. Good: significant genes on the right (R > 0), not the left.",
                "scatter", pts, parent="s2f_personal",
                pconfig={"id": "s2f_personal_r_p_plot", "title": "seq2func: per-gene R vs -log10 p",
                         "xlab": "R across individuals", "ylab": "-log10 p"}))
        if "predixcan_r" in genes.columns:
            pts = {}
            for r in genes.itertuples():
                x, y = _num(r.predixcan_r), _num(r.r)
                if x is not None and y is not None:
                    pts[str(r.gene_id)] = {"x": x, "y": y}
            if pts:
                written.append(mqc.section(
                    out_dir, "s2f_personal_predixcan", "Deep model vs PrediXcan",
                    "Per gene: the R of PrediXcan (elastic net on cis SNVs, nested cross-validation; x) and of the deep "
                    "model (y). Good: points on or above the diagonal.",
                    "scatter", pts, parent="s2f_personal",
                    pconfig={"id": "s2f_personal_predixcan_plot", "title": "seq2func: deep model vs PrediXcan",
                             "xlab": "PrediXcan R", "ylab": "deep model R", "xmin": -1, "xmax": 1, "ymin": -1, "ymax": 1}))
    drivers = _tsv(p / "drivers.tsv")
    if drivers is not None and len(drivers):
        cols = [c for c in ("gene_id", "rank", "variant_id", "distance_to_tss", "maf", "ism", "eqtl_slope", "eqtl_p",
                            "supported", "gene_r") if c in drivers.columns]
        rows = {f"{r['gene_id']} | {r.get('variant_id', i)}": {c: _scalar(r[c]) for c in cols if c != "gene_id"}
                for i, r in drivers.head(50).iterrows()}
        written.append(mqc.section(
            out_dir, "s2f_personal_drivers", "Driver SNVs",
            "SNVs that drive each gene's predicted variation across individuals (forward selection on dosage x ISM); "
            "supported = the ISM sign agrees with the eQTL slope. Good: most drivers supported, close to the TSS.",
            "table", rows, parent="s2f_personal",
            pconfig={"id": "s2f_personal_drivers_table", "title": "seq2func: driver SNVs", "col1_header": "gene | driver"}))
    figs = [(f, f.stem.replace("_", " ")) for f in sorted((p / "figures").glob("*.png"))] if (p / "figures").is_dir() else []
    if figs:
        written.append(mqc.html_section(
            out_dir, "s2f_personal_figures", "Personal-genome figures",
            "The benchmark's figures: population average, R vs p, deep model vs PrediXcan, ISM vs eQTL, drivers.",
            mqc.gallery(figs), parent="s2f_personal"))
    return written


def personal_finetune_content(finetune_json: str | os.PathLike, out_dir: str | os.PathLike) -> Paths:
    """Personal fine-tuning: reference-only vs personal-fine-tuned on held-out individuals and genes.

    Parameters
    ----------
    finetune_json : str or os.PathLike
        The personal fine-tuning's JSON (``evaluation``: set -> model -> metrics).
    out_dir : str or os.PathLike
        Folder to write the ``*_mqc`` files into (created when missing).

    Returns
    -------
    list of Path
        The files written (empty when there was nothing to show).
    """
    f = _read_json(finetune_json)
    ev = f.get("evaluation") or {}
    bars, rows = {}, {}
    for setname, res in ev.items():
        for model, met in res.items():
            if _num(met.get("mean_r")) is not None:
                bars.setdefault(setname, {})[model] = float(met["mean_r"])
            rows[f"{setname} | {model}"] = {k: _num(met.get(k)) if isinstance(met.get(k), float) else met.get(k)
                                            for k in ("n_genes", "mean_r", "frac_negative_r", "n_significant",
                                                      "n_significant_negative") if met.get(k) is not None}
    written: Paths = []
    if bars:
        written.append(mqc.section(
            out_dir, "s2f_personal_finetune", "Personal fine-tuning: before and after",
            "Mean R across held-out individuals of the reference-trained model and of the model fine-tuned on "
            "personal haplotypes + expression. Good: fine-tuning raises R on held-out individuals, and also on "
            "held-out genes (it learnt something general, not the training genes).",
            "bargraph", bars, parent="s2f_personal",
            pconfig={"id": "s2f_personal_finetune_plot", "title": "seq2func: personal fine-tuning", "ylab": "mean R",
                     "cpswitch": False, "stacking": "group", "tt_decimals": 3}))
        written.append(mqc.section(
            out_dir, "s2f_personal_finetune_table", "Personal fine-tuning: metrics",
            "Per evaluation set and model: genes, mean R, fraction with negative R, significant genes.",
            "table", rows, parent="s2f_personal",
            pconfig={"id": "s2f_personal_finetune_table_table", "title": "seq2func: personal fine-tuning",
                     "col1_header": "set | model"}))
    return written


# -- REPORT (run-level) ----------------------------------------------------------------------------
def run_content(params_json: str | os.PathLike, schema_json: str | os.PathLike, out_dir: str | os.PathLike,
                *, versions_yml: str | os.PathLike | None = None) -> Paths:
    """The parameters that differ from the schema's defaults, and the software versions (as
    MultiQC's own software-versions section).

    Parameters
    ----------
    params_json : str or os.PathLike
        The run's ``params.json``.
    schema_json : str or os.PathLike
        ``nextflow_schema.json`` (the defaults).
    out_dir : str or os.PathLike
        Folder to write the ``*_mqc`` files into (created when missing).
    versions_yml : str, os.PathLike or None, optional
        Software versions YAML, copied as ``seq2func_mqc_versions.yml`` when it exists.

    Returns
    -------
    list of Path
        The files written (empty when there was nothing to show).
    """
    params = _read_json(params_json)
    schema = _read_json(schema_json)
    defaults: dict[str, Any] = {}

    def walk(node: Mapping[str, Any]) -> None:
        for k, v in (node.get("properties") or {}).items():
            if isinstance(v, Mapping) and "default" in v:
                defaults[k] = v["default"]
        for d in (node.get("$defs") or node.get("definitions") or {}).values():
            walk(d)

    walk(schema)
    changed = {}
    for k in sorted(params):
        v = params[k]
        if k in defaults and _same(v, defaults[k]):
            continue
        if k not in defaults and v in (None, False, "", []):
            continue
        changed[k] = {"value": json.dumps(v) if isinstance(v, (dict, list)) else str(v),
                      "default": "" if k not in defaults else str(defaults[k])}
    written = [mqc.section(
        out_dir, "s2f_params", "Parameters that differ from the defaults",
        f"{len(changed)} of {len(params)} parameters were set (by the command line, a profile or a config); the rest "
        "kept the defaults of nextflow_schema.json. pipeline_info/params.json has all of them.",
        "table", changed, parent="s2f_run",
        pconfig={"id": "s2f_params_table", "title": "seq2func: parameters", "col1_header": "parameter"})]
    if versions_yml is not None and Path(versions_yml).is_file():
        dst = Path(out_dir) / "seq2func_mqc_versions.yml"
        dst.write_text(Path(versions_yml).read_text())
        written.append(dst)
    return written


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)
