"""The personal-genome benchmark, fan-out friendly.

:func:`run_chunk` handles one chunk of genes (a gene list or chromosomes) and writes per-chunk
tables; :func:`merge_chunks` concatenates chunks, runs the null test and Benjamini-Hochberg over
**all** genes at once (never per chunk), and writes the final tables, ``summary.json`` and the
figures. Everything a gene's statistics need is computed inside its chunk from seeds that depend
only on ``(seed, gene_id)`` (:func:`seq2func.personal.stats.gene_rng`), so any chunking gives the same
final table as one run over all genes.

Chunk directory (``run_chunk(out=...)``)::

    gene_stats.tsv    one row per gene: window, counts, R, null mean/SD, predictions summary,
                      PrediXcan R, linear-approximation R, drivers summary
    null_draws.tsv    gene_id, null_1..null_N: |R| of each random-weight draw (empirical mode)
    predictions.tsv   gene_id, reference (population-average prediction), one column per individual
    snvs.tsv.gz       one row per (gene, SNV): ALT frequency, distance to TSS, ISM (reference and
                      personal backgrounds), eQTL slope/SE/p, driver rank
    drivers.tsv       one row per driver SNV (see seq2func.personal.drivers.DRIVER_COLUMNS)
    predictdb_predictions.tsv
                      with ``RunParams.predictdb``: gene_id, one column per individual: the PredictDB
                      model's prediction (genes of the chunk that the db has; see
                      seq2func.personal.baselines.predictdb); gene_stats.tsv then has the ``predictdb_*``
                      columns filled (NA for genes absent from the db, and without a db)
    chunk.json        parameters, model, samples, genes done/skipped, counts, timings, PredictDB
                      matching totals and examples (``predictdb``, null without a db)

Final directory (``merge_chunks(out=...)``): ``genes.tsv`` (chunk columns + t, p, -log10 p, q,
-log10 q, significant, sign for the chosen mode, and ``p_<mode>``, ``q_<mode>``,
``significant_<mode>`` for all three modes), ``drivers.tsv`` (with the gene's R and significance),
``snvs.tsv.gz``, ``predictions.tsv``, ``null_draws.tsv``, ``summary.json`` and ``figures/*.png``; with a
PredictDB db also ``predictdb_predictions.tsv``. A run with a db in which not one weight matched a
VCF variant (or not one gene of the db is a benchmark gene) is an error at the merge: one line naming
the db with examples of its IDs and of ours, the usual cause being a naming or genome-build mismatch.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from seq2func.errors import InputError
from seq2func.io.atomic import atomic_dir
from seq2func.io.atomic import write_json as _write_json
from seq2func.personal.baselines.predictdb import GENE_COLUMNS as PREDICTDB_COLUMNS
from seq2func.personal.baselines.predictdb import predictdb_for_genes
from seq2func.personal.baselines.predixcan import elastic_net_cv
from seq2func.personal.cohort import fasta_contigs, load_cohort, sort_genes
from seq2func.personal.drivers import (
    DRIVER_COLUMNS,
    SNV_COLUMNS,
    Selection,
    eqtl_ols,
    forward_selection,
    ism_personal,
    ism_reference,
    snv_alleles,
    supported,
    tss_distance,
)
from seq2func.personal.figures import personal_figures
from seq2func.personal.haplotypes import HaplotypeBuilder, Haplotypes
from seq2func.personal.params import RunParams
from seq2func.personal.stats import MODES, NullSummary, gene_rng, gene_table, null_abs_r, pearson_r
from seq2func.simulate import load_world

if TYPE_CHECKING:
    from seq2func.personal.predict import GenePrediction, GeneWindow

log = logging.getLogger(__name__)

GENE_STATS_COLUMNS = [
    "gene_id", "chrom", "tss", "strand", "window_start", "window_end", "n_individuals", "n_variants", "n_snvs",
    "n_unique_haplotypes", "n_model_inputs", "r", "null_mean", "null_sd", "mean_prediction", "sd_prediction",
    "reference_prediction", "observed_mean", "observed_sd", "predixcan_r", "predixcan_n_snvs_used",
    "ism_done", "n_ism_computed", "linear_r", "n_drivers", "main_driver", "main_driver_supported",
    "frac_drivers_supported", "selection_stop", *PREDICTDB_COLUMNS,
]
PREDICTDB_INT_COLUMNS = [c for c in PREDICTDB_COLUMNS if c.startswith("predictdb_n_")]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def write_json(path: Path, obj) -> None:
    """JSON with NaN/numpy cleaned, written atomically (:func:`seq2func.io.atomic.write_json`).

    Parameters
    ----------
    path : pathlib.Path
        File to write.
    obj : object
        JSON-serialisable content once cleaned: numpy scalars, NaN/inf and ``pd.NA`` (written as null)
        allowed.
    """
    _write_json(path, obj)


# --------------------------------------------------------------------------------------------
# one chunk
# --------------------------------------------------------------------------------------------
@dataclass
class _ChunkCohort:
    """The chunk's genes that have expression, with the cohort and FASTA contigs they are read from."""

    sel: pd.DataFrame  # genes of the chunk with expression, in order
    expr: pd.DataFrame  # expression, genes x samples
    samples: list[str]
    lengths: dict[str, int]  # FASTA contig lengths
    fa_of: dict[str, str]  # TSS chromosome -> FASTA contig
    skipped: list[str]  # genes of the chunk without expression


@dataclass
class _ChunkResults:
    """What the genes of a chunk accumulate: table rows, counts and the seconds spent per step."""

    inputs_before: int  # predictor.n_model_inputs before the chunk
    requests_before: int  # predictor.n_requests before the chunk
    gene_rows: list[dict] = field(default_factory=list)
    null_rows: list[list] = field(default_factory=list)
    pred_rows: list[list] = field(default_factory=list)
    snv_frames: list[pd.DataFrame] = field(default_factory=list)
    driver_frames: list[pd.DataFrame] = field(default_factory=list)
    n_haps: int = 0
    n_unique: int = 0
    n_ref_n_skipped: int = 0
    timing: dict[str, float] = field(default_factory=lambda: {
        "haplotypes": 0.0, "predict": 0.0, "stats": 0.0, "predixcan": 0.0, "ism": 0.0, "predictdb": 0.0})


@dataclass
class _GeneFit:
    """One gene's window, haplotypes, predictions and association statistics."""

    gid: str
    win: GeneWindow
    haps: Haplotypes
    gp: GenePrediction
    y: np.ndarray  # observed expression per individual
    pred: np.ndarray  # predicted expression per individual
    dos: np.ndarray  # ALT dosages, individuals x SNVs
    r: float
    both: np.ndarray  # individuals with a finite prediction and observation
    ns: NullSummary
    eq: pd.DataFrame  # per-SNV eQTL slope, se, p
    px_r: float
    px_used: int


@dataclass
class _GeneIsm:
    """One gene's SNVs with their ALT frequencies, ISM effects, driver ranks and TSS distances."""

    snvs: pd.DataFrame
    m: int  # number of SNVs
    have: np.ndarray  # individuals with an observation
    af: np.ndarray
    ism_ref: np.ndarray
    ism_pers: np.ndarray
    computed: np.ndarray
    n_bg: np.ndarray
    rank: np.ndarray  # 1-based driver rank, 0 for non-drivers
    ism_done: bool
    sel_res: Selection | None
    dist: np.ndarray


def _chunk_cohort(
    p: RunParams,
    *,
    vcf: str | os.PathLike,
    fasta: str | os.PathLike,
    tss: str | os.PathLike | pd.DataFrame | None,
    expression: str | os.PathLike | pd.DataFrame,
    genes: Sequence[str] | None,
    chroms: Sequence[str] | None,
    gene_source: str,
) -> _ChunkCohort:
    """Load the chunk's cohort, check it is large enough, and drop the genes without expression.

    Parameters
    ----------
    p : RunParams
        Checked run parameters.
    vcf, fasta, tss, expression, genes, chroms, gene_source
        As for :func:`run_chunk`.

    Returns
    -------
    _ChunkCohort
        Genes with expression, expression table, shared samples, FASTA contigs and the skipped genes.
    """
    sel, expr, samples, expr_label = load_cohort(vcf, tss, expression, genes=genes, chroms=chroms,
                                                 missing_samples=p.missing_samples, gene_source=gene_source)
    if len(samples) < 3:
        raise InputError(expr_label, "samples", f"only {len(samples)} individual(s) shared with the VCF")
    if p.predixcan:  # nested CV: the smallest outer training fold must hold the inner folds
        n_train = len(samples) - math.ceil(len(samples) / p.predixcan_outer_k)
        if len(samples) < p.predixcan_outer_k or n_train < p.predixcan_inner_k:
            raise InputError(
                "--predixcan-inner-k", str(p.predixcan_inner_k),
                f"{len(samples)} individuals give outer training folds of {n_train} (--predixcan-outer-k "
                f"{p.predixcan_outer_k}), fewer than the inner folds; lower the fold counts or use --no-predixcan",
            )

    lengths, fa_of = fasta_contigs(fasta, sel["chrom"])
    in_expr = sel["gene_id"].isin(expr.index)
    skipped = sel.loc[~in_expr, "gene_id"].tolist()
    if skipped:
        log.warning("%d gene(s) not in the expression table are skipped: %s", len(skipped), ", ".join(skipped[:5]))
    sel = sel[in_expr].reset_index(drop=True)
    return _ChunkCohort(sel, expr, samples, lengths, fa_of, skipped)


def _chunk_predictdb(p: RunParams, vcf: str | os.PathLike, cohort: _ChunkCohort, timing: dict[str, float]):
    """The PredictDB baseline of the chunk's genes, with ``RunParams.predictdb`` (else ``None``).

    Parameters
    ----------
    p : RunParams
        Run parameters (``predictdb``, ``predictdb_drop_ambiguous``).
    vcf : path
        The cohort's VCF.
    cohort : _ChunkCohort
        The chunk's genes, expression and samples.
    timing : dict
        Seconds per step; ``timing["predictdb"]`` is set.

    Returns
    -------
    object or None
        The result of :func:`seq2func.personal.baselines.predictdb.predictdb_for_genes`, or ``None``
        without a db.
    """
    pdb = None
    if p.predictdb:  # the db's models read the VCF at their own variants (+-1 Mb), not the personal window
        t0 = time.time()
        pdb = predictdb_for_genes(p.predictdb, vcf, cohort.sel, cohort.samples, expression=cohort.expr,
                                  drop_ambiguous=p.predictdb_drop_ambiguous, db_name=os.fspath(p.predictdb))
        timing["predictdb"] = time.time() - t0
    return pdb


def _run_genes(predictor, vcf: str | os.PathLike, fasta: str | os.PathLike, cohort: _ChunkCohort, p: RunParams,
               acc: _ChunkResults) -> None:
    """Benchmark every gene of the chunk in order, accumulating into ``acc``.

    Parameters
    ----------
    predictor : GenePredictor
        The model's per-gene predictor.
    vcf, fasta : path
        The cohort's VCF and the reference FASTA.
    cohort : _ChunkCohort
        The chunk's genes, expression, samples and contigs.
    p : RunParams
        Run parameters.
    acc : _ChunkResults
        Filled in place (rows, counts, timings and ``n_ref_n_skipped``).

    Returns
    -------
    None
    """
    with HaplotypeBuilder(vcf, fasta, samples=cohort.samples, unphased=p.unphased, seed=p.seed,
                          ref_n=p.ref_n) as builder:
        for g in cohort.sel.itertuples(index=False):
            _run_gene(predictor, builder, g, cohort, p, acc)
    acc.n_ref_n_skipped = builder.n_ref_n_skipped
    if builder.n_ref_n_skipped:
        log.warning("%d VCF record(s) whose REF lies on FASTA N skipped over %d gene window(s) (--ref-n skip)",
                    builder.n_ref_n_skipped, len(cohort.sel))


def _run_gene(predictor, builder, g, cohort: _ChunkCohort, p: RunParams, acc: _ChunkResults) -> None:
    """Benchmark one gene: statistics, ISM and drivers; append its rows and frames to ``acc``.

    Parameters
    ----------
    predictor : GenePredictor
        The model's per-gene predictor (cleared afterwards).
    builder : HaplotypeBuilder
        The open haplotype builder of the chunk.
    g : namedtuple
        The gene's row of ``cohort.sel``.
    cohort : _ChunkCohort
        The chunk's genes, expression, samples and contigs.
    p : RunParams
        Run parameters.
    acc : _ChunkResults
        Filled in place.

    Returns
    -------
    None
    """
    fit = _fit_gene(predictor, builder, g, cohort, p, acc.timing)
    ism = _gene_ism(predictor, fit, p, acc.timing)
    acc.snv_frames.append(_snv_frame(fit, ism))
    dd, drv = _gene_drivers(fit, ism, p)
    if dd is not None:
        acc.driver_frames.append(dd)
    acc.gene_rows.append(_gene_row(g, fit, ism, drv))
    acc.null_rows.append([fit.gid, *fit.ns.draws.tolist()])
    acc.pred_rows.append([fit.gid, fit.gp.reference, *fit.pred.tolist()])
    acc.n_haps += len(fit.haps.inverse)
    acc.n_unique += fit.haps.n_unique
    predictor.clear()
    log.info("%s: R=%.3f, %d SNVs, %d/%d distinct haplotypes, %d drivers", fit.gid, fit.r, fit.dos.shape[1],
             fit.haps.n_unique, len(fit.haps.inverse), drv["n_drivers"])


def _fit_gene(predictor, builder, g, cohort: _ChunkCohort, p: RunParams, timing: dict[str, float]) -> _GeneFit:
    """Build one gene's haplotypes, predict them, and compute R, the null draws, eQTLs and PrediXcan.

    Parameters
    ----------
    predictor : GenePredictor
        The model's per-gene predictor.
    builder : HaplotypeBuilder
        The open haplotype builder of the chunk.
    g : namedtuple
        The gene's row of ``cohort.sel``.
    cohort : _ChunkCohort
        The chunk's genes, expression, samples and contigs.
    p : RunParams
        Run parameters.
    timing : dict
        Seconds per step; ``haplotypes``, ``predict``, ``stats`` and ``predixcan`` are added to.

    Returns
    -------
    _GeneFit
        The gene's window, haplotypes, predictions and statistics.
    """
    # deferred: personal.predict imports torch at top level; RunParams and merge_chunks stay torch-free
    from seq2func.personal.predict import gene_window, predict_gene

    gid = str(g.gene_id)
    fa_chrom = cohort.fa_of[g.chrom]
    t0 = time.time()
    win = gene_window(gid, fa_chrom, int(g.tss), str(g.strand), p.window, cohort.lengths[fa_chrom])
    haps = builder.build(fa_chrom, win.start, win.end)
    t1 = time.time()
    timing["haplotypes"] += t1 - t0
    gp = predict_gene(predictor, haps, win.ref_offset, p.combine)
    t2 = time.time()
    timing["predict"] += t2 - t1
    y = cohort.expr.loc[gid].to_numpy(dtype=float)
    pred = gp.individual
    dos = haps.alt_dosage.astype(float)
    r = float(pearson_r(pred, y))
    both = np.isfinite(pred) & np.isfinite(y)
    ns = null_abs_r(dos, np.where(both, y, np.nan), n_draws=p.null_draws, rng=gene_rng(p.seed, gid))
    eq = eqtl_ols(dos, y)
    t3 = time.time()
    timing["stats"] += t3 - t2
    px_r, px_used = math.nan, 0
    if p.predixcan:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # glmnet-like paths at tiny penalties
            res = elastic_net_cv(dos, y, min_maf=p.predixcan_min_maf, outer_k=p.predixcan_outer_k,
                                 inner_k=p.predixcan_inner_k, n_alphas=p.predixcan_n_alphas, seed=p.seed)
        px_r, px_used = float(res.r), int(res.n_snvs_used)
    timing["predixcan"] += time.time() - t3
    return _GeneFit(gid, win, haps, gp, y, pred, dos, r, both, ns, eq, px_r, px_used)


def _gene_ism(predictor, fit: _GeneFit, p: RunParams, timing: dict[str, float]) -> _GeneIsm:
    """One gene's SNVs, ALT frequencies, ISM effects (when ``p.ism`` asks and R is large enough) and
    the forward selection of drivers.

    Parameters
    ----------
    predictor : GenePredictor
        The model's per-gene predictor.
    fit : _GeneFit
        The gene's haplotypes, predictions and statistics.
    p : RunParams
        Run parameters.
    timing : dict
        Seconds per step; ``ism`` is added to.

    Returns
    -------
    _GeneIsm
        Per-SNV arrays (ISM effects NaN where not computed) and the selection (``None`` without ISM).
    """
    t0 = time.time()
    haps, win, dos, y = fit.haps, fit.win, fit.dos, fit.y
    snvs = snv_alleles(haps)
    m = len(snvs)
    have = np.isfinite(y)
    af = dos[have].mean(axis=0) / 2 if m and have.any() else np.full(m, np.nan)
    ism_ref = np.full(m, np.nan)
    ism_pers = np.full(m, np.nan)
    computed = np.zeros(m, dtype=bool)
    n_bg = np.zeros(m, dtype=np.int64)
    rank = np.zeros(m, dtype=np.int64)
    ism_done = p.ism != "none" and np.isfinite(fit.r) and abs(fit.r) >= p.ism_min_abs_r
    sel_res = None
    if ism_done and m:
        ism_ref, computed = ism_reference(predictor, haps, win.ref_offset, snvs, p.combine)
        if p.ism == "personal":
            ism_pers, n_bg = ism_personal(predictor, haps, win.ref_offset, snvs, p.combine,
                                          max_backgrounds=p.max_backgrounds, rng=gene_rng(p.seed + 1, fit.gid))
        w = ism_ref if p.driver_ism == "reference" else ism_pers
        sel_res = forward_selection(dos, w, fit.pred, r2_stop=p.r2_stop, min_gain=p.min_gain, max_drivers=p.max_drivers)
        for k, j in enumerate(sel_res.order):
            rank[j] = k + 1
    timing["ism"] += time.time() - t0
    dist = tss_distance(snvs["pos"].to_numpy(), win.tss, win.strand) if m else np.zeros(0, np.int64)
    return _GeneIsm(snvs, m, have, af, ism_ref, ism_pers, computed, n_bg, rank, ism_done, sel_res, dist)


def _snv_frame(fit: _GeneFit, ism: _GeneIsm) -> pd.DataFrame:
    """One gene's rows of ``snvs.tsv.gz``.

    Parameters
    ----------
    fit : _GeneFit
        The gene's statistics (eQTLs).
    ism : _GeneIsm
        The gene's SNVs, frequencies, ISM effects and driver ranks.

    Returns
    -------
    pandas.DataFrame
        One row per SNV, columns ``seq2func.personal.drivers.SNV_COLUMNS``.
    """
    snvs, af, eq = ism.snvs, ism.af, fit.eq
    return pd.DataFrame({
        "gene_id": fit.gid, "variant_id": snvs["variant_id"], "chrom": snvs["chrom"], "pos": snvs["pos"],
        "ref": snvs["ref"], "alt": snvs["alt"], "alt_freq": af, "maf": np.minimum(af, 1 - af),
        "distance_to_tss": ism.dist, "ism_computed": ism.computed, "ism_reference": ism.ism_ref,
        "ism_personal": ism.ism_pers, "n_backgrounds": ism.n_bg, "eqtl_slope": eq["slope"].to_numpy(),
        "eqtl_se": eq["se"].to_numpy(), "eqtl_p": eq["p"].to_numpy(), "is_driver": ism.rank > 0,
        "driver_rank": ism.rank,
    }, columns=SNV_COLUMNS)


def _gene_drivers(fit: _GeneFit, ism: _GeneIsm, p: RunParams) -> tuple[pd.DataFrame | None, dict]:
    """One gene's driver table and its summary for ``gene_stats.tsv``.

    Parameters
    ----------
    fit : _GeneFit
        The gene's statistics (eQTLs).
    ism : _GeneIsm
        The gene's SNVs, ISM effects and forward selection.
    p : RunParams
        Run parameters (``driver_ism``).

    Returns
    -------
    drivers : pandas.DataFrame or None
        One row per driver SNV (``seq2func.personal.drivers.DRIVER_COLUMNS``); ``None`` without drivers.
    summary : dict
        ``n_drivers``, ``main_driver``, ``main_driver_supported``, ``frac_drivers_supported``,
        ``linear_r`` and ``selection_stop``.
    """
    gid, eq, snvs, dist, af, sel_res = fit.gid, fit.eq, ism.snvs, ism.dist, ism.af, ism.sel_res
    ism_ref, ism_pers = ism.ism_ref, ism.ism_pers
    dd = None
    n_drv, main, main_sup, frac_sup, lin_r, stop = 0, "", pd.NA, math.nan, math.nan, ""
    if sel_res is not None:
        lin_r, stop = sel_res.r_full, sel_res.stopped
        if sel_res.order:
            o = np.asarray(sel_res.order)
            w = ism_ref if p.driver_ism == "reference" else ism_pers
            sup = supported(w[o], eq["slope"].to_numpy()[o])
            dd = pd.DataFrame({
                "gene_id": gid, "rank": np.arange(1, len(o) + 1), "is_main": np.arange(len(o)) == 0,
                "variant_id": snvs["variant_id"].to_numpy()[o], "chrom": snvs["chrom"].to_numpy()[o],
                "pos": snvs["pos"].to_numpy()[o], "ref": snvs["ref"].to_numpy()[o], "alt": snvs["alt"].to_numpy()[o],
                "distance_to_tss": dist[o], "abs_distance": np.abs(dist[o]), "maf": np.minimum(af, 1 - af)[o],
                "ism": w[o], "ism_reference": ism_ref[o], "ism_personal": ism_pers[o],
                "eqtl_slope": eq["slope"].to_numpy()[o], "eqtl_p": eq["p"].to_numpy()[o], "supported": sup,
                "r_partial": sel_res.r_partial, "gain": sel_res.gains,
            }, columns=DRIVER_COLUMNS)
            n_drv, main, main_sup = len(o), str(dd["variant_id"].iloc[0]), dd["supported"].iloc[0]
            sup_s = pd.Series(sup).dropna()
            frac_sup = float(sup_s.astype(bool).mean()) if len(sup_s) else math.nan
    return dd, {"n_drivers": n_drv, "main_driver": main, "main_driver_supported": main_sup,
                "frac_drivers_supported": frac_sup, "linear_r": lin_r, "selection_stop": stop}


def _gene_row(g, fit: _GeneFit, ism: _GeneIsm, drv: dict) -> dict:
    """One gene's row of ``gene_stats.tsv`` (without the ``predictdb_*`` columns).

    Parameters
    ----------
    g : namedtuple
        The gene's row of the chunk's gene table.
    fit : _GeneFit
        The gene's window, haplotypes, predictions and statistics.
    ism : _GeneIsm
        The gene's SNVs and ISM effects.
    drv : dict
        The driver summary of :func:`_gene_drivers`.

    Returns
    -------
    dict
        Column name -> value.
    """
    haps, pred, y, have = fit.haps, fit.pred, fit.y, ism.have
    return {
        "gene_id": fit.gid, "chrom": g.chrom, "tss": int(g.tss), "strand": g.strand,
        "window_start": fit.win.start, "window_end": fit.win.end, "n_individuals": int(fit.both.sum()),
        "n_variants": int(len(haps.variants)), "n_snvs": int(fit.dos.shape[1]),
        "n_unique_haplotypes": int(haps.n_unique), "n_model_inputs": int(fit.gp.n_inputs), "r": fit.r,
        "null_mean": fit.ns.mean, "null_sd": fit.ns.sd, "mean_prediction": float(np.nanmean(pred)),
        "sd_prediction": float(np.nanstd(pred)), "reference_prediction": fit.gp.reference,
        "observed_mean": float(np.nanmean(y)) if have.any() else math.nan,
        "observed_sd": float(np.nanstd(y)) if have.any() else math.nan,
        "predixcan_r": fit.px_r, "predixcan_n_snvs_used": fit.px_used, "ism_done": bool(ism.ism_done and ism.m > 0),
        "n_ism_computed": int(ism.computed.sum()), "linear_r": drv["linear_r"], "n_drivers": drv["n_drivers"],
        "main_driver": drv["main_driver"], "main_driver_supported": drv["main_driver_supported"],
        "frac_drivers_supported": drv["frac_drivers_supported"], "selection_stop": drv["selection_stop"],
    }


def _chunk_tables(acc: _ChunkResults, pdb, p: RunParams, samples: list[str]) -> dict[str, pd.DataFrame]:
    """The chunk's tables from the accumulated rows.

    Parameters
    ----------
    acc : _ChunkResults
        The chunk's accumulated rows and frames.
    pdb : object or None
        The PredictDB baseline (:func:`_chunk_predictdb`); fills the ``predictdb_*`` columns.
    p : RunParams
        Run parameters (``null_draws``).
    samples : list of str
        The chunk's individuals.

    Returns
    -------
    dict
        File name -> table, for ``gene_stats.tsv``, ``null_draws.tsv``, ``predictions.tsv``,
        ``snvs.tsv.gz`` and ``drivers.tsv``.
    """
    gs = pd.DataFrame(acc.gene_rows, columns=GENE_STATS_COLUMNS)
    if pdb is not None:
        pt = pdb.genes.set_index("gene_id")
        for c in PREDICTDB_COLUMNS:
            gs[c] = gs["gene_id"].map(pt[c]).astype(pt[c].dtype)
    gs[PREDICTDB_INT_COLUMNS] = gs[PREDICTDB_INT_COLUMNS].astype("Int64")
    nd = pd.DataFrame(acc.null_rows, columns=["gene_id"] + [f"null_{k + 1}" for k in range(p.null_draws)])
    pr = pd.DataFrame(acc.pred_rows, columns=["gene_id", "reference", *samples])
    sn = pd.concat(acc.snv_frames, ignore_index=True) if acc.snv_frames else pd.DataFrame(columns=SNV_COLUMNS)
    dr = pd.concat(acc.driver_frames, ignore_index=True) if acc.driver_frames else pd.DataFrame(columns=DRIVER_COLUMNS)
    return {"gene_stats.tsv": gs, "null_draws.tsv": nd, "predictions.tsv": pr, "snvs.tsv.gz": sn, "drivers.tsv": dr}


def _chunk_meta(predictor, p: RunParams, model_info: dict | None, cohort: _ChunkCohort,
                tables: dict[str, pd.DataFrame], acc: _ChunkResults, pdb, t_start: float) -> dict:
    """The content of ``chunk.json``.

    Parameters
    ----------
    predictor : GenePredictor
        The model's per-gene predictor (its input and request counters).
    p : RunParams
        Run parameters.
    model_info : dict or None
        Description of the model.
    cohort : _ChunkCohort
        The chunk's samples and skipped genes.
    tables : dict
        The chunk's tables (:func:`_chunk_tables`).
    acc : _ChunkResults
        Counts and timings.
    pdb : object or None
        The PredictDB baseline; its ``info`` is recorded.
    t_start : float
        ``time.time()`` at the start of the chunk.

    Returns
    -------
    dict
        Parameters, model, samples, genes, counts, seconds and PredictDB matching information.
    """
    gs = tables["gene_stats.tsv"]
    return {
        "format": "seq2func-personal-chunk/1",
        "params": asdict(p),
        "model": model_info or {},
        "samples": cohort.samples,
        "n_samples": len(cohort.samples),
        "genes": gs["gene_id"].tolist(),
        "genes_skipped_no_expression": cohort.skipped,
        "counts": {
            "genes": len(gs),
            "haplotypes": acc.n_haps,
            "unique_haplotypes": acc.n_unique,
            "model_inputs": predictor.n_model_inputs - acc.inputs_before,
            "requests": predictor.n_requests - acc.requests_before,
            "drivers": len(tables["drivers.tsv"]),
            "ref_n_skipped": acc.n_ref_n_skipped,
        },
        "seconds": {**{k: round(v, 3) for k, v in acc.timing.items()}, "total": round(time.time() - t_start, 3)},
        "predictdb": pdb.info if pdb is not None else None,
    }


def _write_chunk(out: str | os.PathLike, tables: dict[str, pd.DataFrame], pdb, samples: list[str], meta: dict) -> None:
    """Write the chunk directory ``out`` atomically.

    Parameters
    ----------
    out : path
        The chunk directory.
    tables : dict
        The chunk's tables (:func:`_chunk_tables`).
    pdb : object or None
        The PredictDB baseline; its predictions are written to ``PREDICTDB_FILE``.
    samples : list of str
        The chunk's individuals (columns of the PredictDB predictions).
    meta : dict
        The content of ``chunk.json``.

    Returns
    -------
    None
    """
    with atomic_dir(out) as tmp:
        tables["gene_stats.tsv"].to_csv(tmp / "gene_stats.tsv", sep="\t", index=False, na_rep="NA")
        tables["null_draws.tsv"].to_csv(tmp / "null_draws.tsv", sep="\t", index=False, na_rep="NA")
        tables["predictions.tsv"].to_csv(tmp / "predictions.tsv", sep="\t", index=False, na_rep="NA")
        tables["snvs.tsv.gz"].to_csv(tmp / "snvs.tsv.gz", sep="\t", index=False, na_rep="NA",
                                     compression={"method": "gzip", "mtime": 0})
        tables["drivers.tsv"].to_csv(tmp / "drivers.tsv", sep="\t", index=False, na_rep="NA")
        if pdb is not None:
            pdb.predictions.reindex(columns=samples).reset_index().to_csv(
                tmp / PREDICTDB_FILE, sep="\t", index=False, na_rep="NA")
        write_json(tmp / "chunk.json", meta)


def run_chunk(
    predictor,
    *,
    vcf: str | os.PathLike,
    fasta: str | os.PathLike,
    tss: str | os.PathLike | pd.DataFrame | None,
    expression: str | os.PathLike | pd.DataFrame,
    out: str | os.PathLike,
    genes: Sequence[str] | None = None,
    chroms: Sequence[str] | None = None,
    params: RunParams | None = None,
    model_info: dict | None = None,
    gene_source: str = "--genes-chunk",
) -> dict:
    """Benchmark one chunk of genes with ``predictor`` (:class:`~seq2func.personal.predict.GenePredictor`)
    and write the chunk directory ``out`` (atomically). Returns the ``chunk.json`` content.

    Parameters
    ----------
    predictor : GenePredictor
        The model turned into one value per input (:func:`seq2func.personal.predict.load_predictor`).
    vcf : str or os.PathLike
        Phased cohort VCF.
    fasta : str or os.PathLike
        Reference FASTA.
    tss : str or os.PathLike or pandas.DataFrame or None
        TSS annotation (BED6, GTF or a TSS table); None only with a phenotype BED as ``expression``.
    expression : str or os.PathLike or pandas.DataFrame
        Expression TSV or phenotype BED, or a genes x individuals frame.
    out : str or os.PathLike
        The chunk directory to write (replaced atomically).
    genes : sequence of str or None, optional
        The chunk's genes, in order; None = every gene (of ``chroms``).
    chroms : sequence of str or None, optional
        The chunk's chromosomes; None = every chromosome.
    params : RunParams or None, optional
        Run parameters (checked first); None = the defaults.
    model_info : dict or None, optional
        Description of the model recorded in ``chunk.json`` (the ``info`` of ``load_predictor``).
    gene_source : str, optional
        Where the gene list came from, for error messages (default ``--genes-chunk``).

    Returns
    -------
    dict
        The content of ``chunk.json``: parameters, model, samples, genes done and skipped, counts,
        seconds per step and PredictDB matching information.

    Raises
    ------
    InputError
        On bad parameters or inputs (unknown genes, too few shared individuals, fold counts the cohort
        cannot fill, bad VCF, FASTA or PredictDB db).
    """
    p = params or RunParams()
    p.check()
    t_start = time.time()
    cohort = _chunk_cohort(p, vcf=vcf, fasta=fasta, tss=tss, expression=expression, genes=genes, chroms=chroms,
                           gene_source=gene_source)
    acc = _ChunkResults(inputs_before=predictor.n_model_inputs, requests_before=predictor.n_requests)
    pdb = _chunk_predictdb(p, vcf, cohort, acc.timing)
    _run_genes(predictor, vcf, fasta, cohort, p, acc)
    tables = _chunk_tables(acc, pdb, p, cohort.samples)
    meta = _chunk_meta(predictor, p, model_info, cohort, tables, acc, pdb, t_start)
    _write_chunk(out, tables, pdb, cohort.samples, meta)
    return meta


# --------------------------------------------------------------------------------------------
# merge
# --------------------------------------------------------------------------------------------
CHUNK_FILES = ("gene_stats.tsv", "null_draws.tsv", "predictions.tsv", "snvs.tsv.gz", "drivers.tsv", "chunk.json")
PREDICTDB_FILE = "predictdb_predictions.tsv"  # chunk and final directory, with a PredictDB db
_CONSISTENT = ("window", "combine", "null_draws", "seed", "ism", "driver_ism", "r2_stop", "min_gain")
_CONSISTENT_MODEL = ("model", "output_kind", "seq_len", "tracks", "tss_bins", "rc")


def _read_tsv(path: Path, **kw) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=True, **kw)


def _bool_col(s: pd.Series) -> pd.Series:
    m = {"True": True, "False": False, True: True, False: False, "true": True, "false": False}
    return s.map(lambda v: m.get(v, pd.NA)).astype("boolean")


def read_chunks(chunk_dirs: Iterable[str | os.PathLike]) -> dict:
    """Concatenate chunk directories; checks that they agree on samples and parameters and that no
    gene appears twice.

    Parameters
    ----------
    chunk_dirs : iterable of str or os.PathLike
        Chunk directories written by :func:`run_chunk`.

    Returns
    -------
    dict
        ``genes``, ``null``, ``pred``, ``snvs``, ``drivers`` (concatenated tables, boolean columns
        restored), ``predictdb`` (the PredictDB predictions, or None without a db) and ``metas`` (the
        ``chunk.json`` contents, in order).

    Raises
    ------
    InputError
        If no directory is given, one is unfinished or of another format, the chunks disagree on
        individuals, parameters, model or PredictDB db, or a gene appears in two chunks.
    """
    dirs = [Path(d) for d in chunk_dirs]
    if not dirs:
        raise InputError("merge", None, "no chunk directories given")
    parts = {k: [] for k in ("genes", "null", "pred", "snvs", "drivers", "predictdb")}
    metas = []
    for d in dirs:
        for f in CHUNK_FILES:
            if not (d / f).is_file():
                raise InputError(d / f, None, "missing: not a finished personal chunk directory")
        meta = json.loads((d / "chunk.json").read_text())
        if meta.get("format") != "seq2func-personal-chunk/1":
            raise InputError(d / "chunk.json", "format", f"unexpected {meta.get('format')!r}")
        pdb = meta.get("predictdb")
        if pdb and not (d / PREDICTDB_FILE).is_file():
            raise InputError(d / PREDICTDB_FILE, None, "missing: not a finished personal chunk directory")
        if metas:
            ref = metas[0]
            a, b = pdb, ref.get("predictdb")
            if bool(a) != bool(b) or (a and Path(a["file"]).name != Path(b["file"]).name):
                show = lambda x: Path(x["file"]).name if x else "no PredictDB db"  # noqa: E731
                raise InputError(d / "chunk.json", "predictdb", f"{show(a)} != {show(b)} in {dirs[0]}")
            if meta["samples"] != ref["samples"]:
                raise InputError(d / "chunk.json", "samples", f"individuals differ from {dirs[0]}")
            for k in _CONSISTENT:
                if meta["params"].get(k) != ref["params"].get(k):
                    raise InputError(d / "chunk.json", f"params.{k}",
                                     f"{meta['params'].get(k)!r} != {ref['params'].get(k)!r} in {dirs[0]}")
            for k in _CONSISTENT_MODEL:  # not the checkpoint path: chunks may run in different work dirs
                a, b = (meta.get("model") or {}).get(k), (ref.get("model") or {}).get(k)
                if a != b:
                    raise InputError(d / "chunk.json", f"model.{k}", f"{a!r} != {b!r} in {dirs[0]}")
        metas.append(meta)
        parts["genes"].append(_read_tsv(d / "gene_stats.tsv", dtype={"gene_id": str, "chrom": str, "main_driver": str,
                                                                      "predictdb_gene": str}))
        parts["null"].append(_read_tsv(d / "null_draws.tsv", dtype={"gene_id": str}))
        parts["pred"].append(_read_tsv(d / "predictions.tsv", dtype={"gene_id": str}))
        parts["snvs"].append(_read_tsv(d / "snvs.tsv.gz", dtype={"gene_id": str, "variant_id": str, "chrom": str}))
        parts["drivers"].append(_read_tsv(d / "drivers.tsv", dtype={"gene_id": str, "variant_id": str, "chrom": str}))
        if pdb:
            parts["predictdb"].append(_read_tsv(d / PREDICTDB_FILE, dtype={"gene_id": str}))
    genes = pd.concat(parts["genes"], ignore_index=True)
    genes = genes.reindex(columns=list(dict.fromkeys([*genes.columns, *PREDICTDB_COLUMNS])))  # chunks of older runs
    genes[PREDICTDB_INT_COLUMNS] = genes[PREDICTDB_INT_COLUMNS].astype("Int64")
    dup = genes["gene_id"][genes["gene_id"].duplicated()]
    if len(dup):
        raise InputError("merge", f"gene {dup.iloc[0]}", "gene present in more than one chunk")
    out = {
        "genes": genes,
        "null": pd.concat(parts["null"], ignore_index=True),
        "pred": pd.concat(parts["pred"], ignore_index=True),
        "snvs": pd.concat([x for x in parts["snvs"] if len(x)] or parts["snvs"][:1], ignore_index=True),
        "drivers": pd.concat([x for x in parts["drivers"] if len(x)] or parts["drivers"][:1], ignore_index=True),
        "predictdb": pd.concat(parts["predictdb"], ignore_index=True) if parts["predictdb"] else None,
        "metas": metas,
    }
    for c in ("main_driver_supported", "ism_done"):
        out["genes"][c] = _bool_col(out["genes"][c])
    out["genes"]["main_driver"] = out["genes"]["main_driver"].fillna("")
    out["genes"]["selection_stop"] = out["genes"]["selection_stop"].fillna("")
    if len(out["drivers"]):
        out["drivers"]["supported"] = _bool_col(out["drivers"]["supported"])
        out["drivers"]["is_main"] = _bool_col(out["drivers"]["is_main"])
    if len(out["snvs"]):
        for c in ("ism_computed", "is_driver"):
            out["snvs"][c] = _bool_col(out["snvs"][c])
    return out


def benchmark_table(genes: pd.DataFrame, null: pd.DataFrame, *, n_draws: int, mode: str = "reference",
                    fdr: float = 0.05) -> pd.DataFrame:
    """``genes.tsv``: chunk gene stats + the null test and global BH in every mode.

    Parameters
    ----------
    genes : pandas.DataFrame
        The chunks' ``gene_stats.tsv`` rows, in output order.
    null : pandas.DataFrame
        The chunks' ``null_draws.tsv`` rows (``gene_id``, ``null_1..null_N``).
    n_draws : int
        Null draws per gene.
    mode : {"reference", "textbook", "empirical"}, optional
        The test whose t, p, q and significance fill the main columns (default ``"reference"``).
    fdr : float, optional
        BH false discovery rate (default 0.05).

    Returns
    -------
    pandas.DataFrame
        One row per gene: ``gene_id, chrom, tss, strand, r, abs_r, sign, null_mean, null_sd, t, p,
        log10p, q, log10q, significant``, ``p_<mode>, q_<mode>, significant_<mode>`` for every mode,
        then the remaining chunk columns.

    Raises
    ------
    InputError
        On an unknown ``mode``.
    """
    if mode not in MODES:
        raise InputError("--mode", mode, f"must be one of {', '.join(MODES)}")
    null = null.set_index("gene_id").reindex(genes["gene_id"])
    draws = null.to_numpy(dtype=float)
    tabs = {}
    for m in MODES:
        tabs[m] = gene_table(genes["gene_id"].tolist(), genes["r"].to_numpy(float), genes["null_mean"].to_numpy(float),
                             genes["null_sd"].to_numpy(float), n_draws=n_draws, mode=m, null_draws=draws, fdr=fdr,
                             n_individuals=genes["n_individuals"].to_numpy(), n_snvs=genes["n_snvs"].to_numpy())
    main = tabs[mode]
    front = genes[["gene_id", "chrom", "tss", "strand"]].copy()
    front["r"] = main["r"].to_numpy()
    front["abs_r"] = main["abs_r"].to_numpy()
    front["sign"] = main["sign"].to_numpy()
    front["null_mean"] = main["null_mean"].to_numpy()
    front["null_sd"] = main["null_sd"].to_numpy()
    for c in ("t", "p", "log10p", "q", "log10q", "significant"):
        front[c] = main[c].to_numpy()
    for m in MODES:
        front[f"p_{m}"] = tabs[m]["p"].to_numpy()
        front[f"q_{m}"] = tabs[m]["q"].to_numpy()
        front[f"significant_{m}"] = tabs[m]["significant"].to_numpy()
    rest = genes.drop(columns=["gene_id", "chrom", "tss", "strand", "r", "null_mean", "null_sd"])
    return pd.concat([front.reset_index(drop=True), rest.reset_index(drop=True)], axis=1)


def summarise(genes: pd.DataFrame, drivers: pd.DataFrame, *, mode: str, fdr: float) -> dict:
    """The headline numbers of ``summary.json``.

    Parameters
    ----------
    genes : pandas.DataFrame
        The final gene table (:func:`benchmark_table`).
    drivers : pandas.DataFrame
        The merged driver table (``gene_id``, ``supported``, ``is_main``, ``abs_distance``).
    mode : str
        The test mode of ``genes``' main columns (recorded).
    fdr : float
        The false discovery rate used (recorded).

    Returns
    -------
    dict
        Gene counts, significant genes and those with negative R (overall and ``by_mode``), R summaries,
        PrediXcan and PredictDB mean R and their R with the model's, the population-average R, and the
        driver summary (counts, fractions supported by gene set and R sign, distances to the TSS).
        Undefined values are None.
    """
    r = genes["r"].to_numpy(float)
    sig = genes["significant"].to_numpy(bool)
    neg = sig & (r < 0)
    fin = np.isfinite(r)
    px = genes["predixcan_r"].to_numpy(float)
    pdr = genes["predictdb_r"].to_numpy(float) if "predictdb_r" in genes else np.full(len(genes), np.nan)
    pop_pred = genes["reference_prediction"].to_numpy(float)
    pop_obs = genes["observed_mean"].to_numpy(float)
    by_mode = {}
    for m in MODES:
        s = genes[f"significant_{m}"].to_numpy(bool)
        by_mode[m] = {"n_significant": int(s.sum()), "n_significant_negative": int((s & (r < 0)).sum())}
    d = drivers
    sup = d["supported"] if len(d) else pd.Series([], dtype="boolean")
    dsig = d["gene_id"].isin(set(genes.loc[sig, "gene_id"])) if len(d) else pd.Series([], dtype=bool)
    rmap = dict(zip(genes["gene_id"], genes["r"]))
    dpos = d["gene_id"].map(rmap).to_numpy(float) > 0 if len(d) else np.zeros(0, bool)
    main = d["is_main"].fillna(False).to_numpy(bool) if len(d) else np.zeros(0, bool)

    def frac(mask) -> float | None:
        s = sup[mask] if len(d) else sup
        s = s.dropna()
        return float(s.astype(bool).mean()) if len(s) else None

    absd = d["abs_distance"].to_numpy(float) if len(d) else np.zeros(0)
    return {
        "mode": mode,
        "fdr": fdr,
        "n_genes": int(len(genes)),
        "n_genes_with_r": int(fin.sum()),
        "n_tested": int(np.isfinite(genes["p"].to_numpy(float)).sum()),
        "n_significant": int(sig.sum()),
        "n_significant_negative": int(neg.sum()),
        "frac_significant_negative": float(neg.sum() / sig.sum()) if sig.sum() else None,
        "mean_r": float(np.mean(r[fin])) if fin.any() else None,
        "median_r": float(np.median(r[fin])) if fin.any() else None,
        "frac_negative_r": float(np.mean(r[fin] < 0)) if fin.any() else None,
        "predixcan_mean_r": float(np.nanmean(px)) if np.isfinite(px).any() else None,
        "predixcan_n_genes": int(np.isfinite(px).sum()),
        "predixcan_r_vs_model_r": float(pearson_r(px, r)) if (np.isfinite(px) & fin).sum() >= 3 else None,
        "predictdb_mean_r": float(np.nanmean(pdr)) if np.isfinite(pdr).any() else None,
        "predictdb_n_genes": int(np.isfinite(pdr).sum()),
        "predictdb_r_vs_model_r": float(pearson_r(pdr, r)) if (np.isfinite(pdr) & fin).sum() >= 3 else None,
        "population_r": float(pearson_r(pop_pred, pop_obs)) if (np.isfinite(pop_pred) & np.isfinite(pop_obs)).sum() >= 3 else None,
        "by_mode": by_mode,
        "drivers": {
            "n_genes_with_drivers": int(d["gene_id"].nunique()) if len(d) else 0,
            "n_drivers": int(len(d)),
            "n_supported": int(sup.fillna(False).astype(bool).sum()) if len(d) else 0,
            "frac_supported": frac(np.ones(len(d), bool)),
            "frac_supported_significant_genes": frac(dsig.to_numpy(bool)) if len(d) else None,
            "frac_supported_positive_r": frac(dpos),
            "frac_supported_negative_r": frac(~dpos & np.isfinite(d["gene_id"].map(rmap).to_numpy(float))) if len(d) else None,
            "main_frac_supported_positive_r": frac(main & dpos),
            "main_frac_supported_negative_r": frac(main & ~dpos),
            "median_abs_distance": float(np.median(absd)) if absd.size else None,
            "frac_within_1kb": float(np.mean(absd <= 1000)) if absd.size else None,
        },
    }


_PREDICTDB_TOTALS = ("n_genes", "n_weights", "n_matched", "n_flipped", "n_strand_flipped", "n_ambiguous",
                     "n_unmatched", "n_genes_with_match")


def predictdb_summary(metas: Sequence[dict]) -> dict | None:
    """PredictDB matching totals over chunks (None without a db). A run where not one gene of the
    db is a benchmark gene, or not one weight matched a VCF variant, is an :class:`InputError`
    naming the db, with examples of its IDs and of ours.

    Parameters
    ----------
    metas : sequence of dict
        The chunks' ``chunk.json`` contents.

    Returns
    -------
    dict or None
        The db's file name and gene count, the matching totals summed over chunks and
        ``frac_matched``; None when the run had no db.

    Raises
    ------
    InputError
        If no db gene is a benchmark gene or no weight matched a VCF variant.
    """
    infos = [m.get("predictdb") for m in metas]
    if not any(infos):
        return None
    infos = [i for i in infos if i]
    name = Path(infos[0]["file"]).name
    tot = {k: int(sum(int(i.get(k) or 0) for i in infos)) for k in _PREDICTDB_TOTALS}

    def ex(key: str) -> str:
        seen = list(dict.fromkeys(x for i in infos for x in i.get(key) or []))
        return ", ".join(seen[:3]) or "none"

    n_ours = sum(len(m.get("genes", [])) for m in metas)
    if tot["n_genes"] == 0:
        raise InputError(name, "gene", f"none of the {infos[0].get('n_db_genes', 0)} gene(s) of the PredictDB db is "
                         f"one of the {n_ours} benchmark gene(s) (IDs must match exactly or without a .version "
                         f"suffix): db genes e.g. {ex('db_gene_examples')}; ours e.g. {ex('chunk_gene_examples')}")
    if tot["n_matched"] == 0:
        raise InputError(name, "weights", f"not one of the {tot['n_weights']} weight(s) of {tot['n_genes']} gene(s) "
                         f"matched a variant of the cohort VCF (check chromosome names, genome build and alleles): "
                         f"db varIDs e.g. {ex('db_varid_examples')}; VCF variants e.g. {ex('vcf_examples')}")
    return {"file": name, "n_db_genes": int(infos[0].get("n_db_genes", 0)), **tot,
            "frac_matched": tot["n_matched"] / tot["n_weights"] if tot["n_weights"] else None}


def merge_chunks(
    chunk_dirs: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    mode: str = "reference",
    fdr: float = 0.05,
    figures: bool = True,
) -> dict:
    """Merge chunk directories into the final tables (global BH), ``summary.json`` and figures.

    Parameters
    ----------
    chunk_dirs : sequence of str or os.PathLike
        Chunk directories written by :func:`run_chunk`.
    out : str or os.PathLike
        The final directory (written atomically; layout in the module docstring).
    mode : {"reference", "textbook", "empirical"}, optional
        The test of the main columns and of the summary (default ``"reference"``).
    fdr : float, optional
        BH false discovery rate, in (0, 1) (default 0.05).
    figures : bool, optional
        Whether to draw ``figures/*.png`` (default True).

    Returns
    -------
    dict
        The content of ``summary.json`` (:func:`summarise` plus individuals, parameters, model, chunk
        count, summed counts, skipped genes, PredictDB totals and the figure names).

    Raises
    ------
    InputError
        On a bad ``mode`` or ``fdr``, chunks that do not fit together, or a PredictDB db that matched
        nothing.
    """
    if mode not in MODES:
        raise InputError("--mode", mode, f"must be one of {', '.join(MODES)}")
    if not 0 < fdr < 1:
        raise InputError("--fdr", str(fdr), "must be in (0, 1)")
    ch = read_chunks(chunk_dirs)
    pdb = predictdb_summary(ch["metas"])  # before anything is written: a run that matched nothing stops here
    n_draws = int(ch["metas"][0]["params"]["null_draws"])
    genes = sort_genes(ch["genes"])
    table = benchmark_table(genes, ch["null"], n_draws=n_draws, mode=mode, fdr=fdr)
    order = {g: i for i, g in enumerate(table["gene_id"])}
    drivers = ch["drivers"]
    if len(drivers):
        gcols = table.set_index("gene_id")[["r", "q", "significant"]]
        drivers = drivers.join(gcols.rename(columns={"r": "gene_r", "q": "gene_q", "significant": "gene_significant"}),
                               on="gene_id")
        drivers = drivers.iloc[np.lexsort((drivers["rank"].to_numpy(), drivers["gene_id"].map(order).to_numpy()))]
    else:
        drivers = drivers.assign(gene_r=pd.Series(dtype=float), gene_q=pd.Series(dtype=float),
                                 gene_significant=pd.Series(dtype=bool))
    snvs = ch["snvs"]
    if len(snvs):
        snvs = snvs.iloc[np.argsort(snvs["gene_id"].map(order).to_numpy(), kind="stable")]
    pred = ch["pred"].set_index("gene_id").reindex(table["gene_id"]).reset_index()
    null = ch["null"].set_index("gene_id").reindex(table["gene_id"]).reset_index()
    summary = summarise(table, drivers, mode=mode, fdr=fdr)
    metas = ch["metas"]
    summary["n_individuals"] = int(metas[0]["n_samples"])
    summary["params"] = metas[0]["params"]
    summary["model"] = metas[0].get("model", {})
    summary["chunks"] = len(metas)
    summary["counts"] = {k: int(sum(m["counts"][k] for m in metas)) for k in metas[0]["counts"]}
    summary["genes_skipped_no_expression"] = sorted({g for m in metas for g in m.get("genes_skipped_no_expression", [])})
    summary["predictdb"] = pdb
    pdb_pred = None
    if ch["predictdb"] is not None:
        have = set(ch["predictdb"]["gene_id"])
        pdb_pred = ch["predictdb"].set_index("gene_id").reindex([g for g in table["gene_id"] if g in have]).reset_index()
    with atomic_dir(out) as tmp:
        table.to_csv(tmp / "genes.tsv", sep="\t", index=False, na_rep="NA")
        drivers.to_csv(tmp / "drivers.tsv", sep="\t", index=False, na_rep="NA")
        snvs.to_csv(tmp / "snvs.tsv.gz", sep="\t", index=False, na_rep="NA", compression={"method": "gzip", "mtime": 0})
        pred.to_csv(tmp / "predictions.tsv", sep="\t", index=False, na_rep="NA")
        null.to_csv(tmp / "null_draws.tsv", sep="\t", index=False, na_rep="NA")
        if pdb_pred is not None:
            pdb_pred.to_csv(tmp / PREDICTDB_FILE, sep="\t", index=False, na_rep="NA")
        if figures:
            summary["figures"] = personal_figures(tmp / "figures", table, drivers, snvs)
        write_json(tmp / "summary.json", summary)
    return summary


# --------------------------------------------------------------------------------------------
# a model that is right by construction (validation on the simulated world)
# --------------------------------------------------------------------------------------------
def truth_model(world_dir, cell_type: str | None = None, seq_len: int = 41001):
    """The simulated world's truth expression model as a seq2func scalar model (for validation).

    ``forward(x)`` decodes each one-hot input (all-zero columns are N), scores it with
    :meth:`seq2func.simulate.expression.ExpressionModel.predict` with the TSS at ``L // 2`` in
    ``cell_type`` (default: the world's personal cell type) and returns the haplotype's linear
    expression ``x`` (``(B, 1)``). With ``combine='mean'`` an individual's prediction is then
    ``(x1 + x2) / 2``, whose log2 is the simulator's noise-free expression: the benchmark must find
    positive R near the noise ceiling and supported drivers. ``seq_len`` should be at least
    ``2 * (window_bp + margin_bp) + 1`` of the world (41,001 bp for the default parameters).

    Parameters
    ----------
    world_dir : str or os.PathLike
        Directory of a simulated world (:func:`seq2func.simulate.load_world`).
    cell_type : str or None, optional
        Cell type to score; None = the world's personal cell type.
    seq_len : int, optional
        Model input length in bp (default 41,001).

    Returns
    -------
    torch.nn.Module
        A scalar model (``output_kind = "scalar"``, one track) whose ``config`` holds ``name``,
        ``seq_len``, ``n_tracks`` and ``cell_type``.
    """
    import torch  # deferred: torch is heavy; only this validation model needs it
    from torch import nn  # deferred: torch is heavy; only this validation model needs it

    world = load_world(world_dir)
    em = world.expression_model()
    ct = cell_type or world.config.personal_cell_type
    lut = np.frombuffer(b"ACGTN", dtype=np.uint8)

    class TruthModel(nn.Module):
        output_kind = "scalar"

        def __init__(self):
            super().__init__()
            self.config = {"name": "truth", "seq_len": int(seq_len), "n_tracks": 1, "cell_type": ct}

        def forward(self, x):
            codes = torch.where(x.sum(1) > 0, x.argmax(1), torch.full(x[:, 0].shape, 4, dtype=torch.long, device=x.device))
            out = [em.predict(lut[row].tobytes().decode(), x.shape[-1] // 2, ct)["x"] for row in codes.cpu().numpy()]
            return torch.tensor(out, dtype=x.dtype, device=x.device)[:, None]

    return TruthModel()
