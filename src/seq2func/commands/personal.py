"""PERSONAL: predict personal haplotypes with a trained model and benchmark across individuals.

Subcommands (fan-out friendly):

* ``run``      one chunk of genes (``--genes-chunk FILE`` or ``--chrom``) -> a chunk directory
* ``merge``    chunk directories -> final tables (BH over all genes), summary.json, figures
* ``finetune`` personal-genome fine-tuning, reference-only vs fine-tuned -> finetune.json

See ``seq2func.personal.benchmark`` for the file layouts.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from seq2func.errors import InputError
from seq2func.personal.benchmark import RunParams, merge_chunks, run_chunk
from seq2func.personal.finetune import FinetuneParams

RP, FP = RunParams(), FinetuneParams()  # the defaults of the run and finetune options

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)


def _genes_and_chroms(genes_chunk: Optional[Path], chrom: Optional[List[str]]):
    from seq2func.personal.predict import read_gene_list  # deferred: seq2func.personal.predict imports torch

    genes = read_gene_list(genes_chunk) if genes_chunk else None
    if genes is not None and not genes:
        raise InputError(genes_chunk, None, "no gene IDs")
    chroms = [c for item in (chrom or []) for c in item.split(",") if c] or None
    return genes, chroms


@app.command()
def run(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="trained model (seq2func checkpoint)"),
    vcf: Path = typer.Option(..., "--vcf", help="phased multi-sample VCF (bgzip + tabix)"),
    fasta: Path = typer.Option(..., "--fasta", help="reference FASTA"),
    tss: Optional[Path] = typer.Option(None, "--tss", help="TSS BED6 (chrom, tss, tss+1, gene_id, score, strand) or GTF; "
                                       "optional with a phenotype-BED --expression (its start column is the TSS)"),
    expression: Path = typer.Option(..., "--expression", help="genes x individuals: TSV (gene_id, individuals...) or "
                                    "tensorQTL/fastQTL phenotype BED (#chr start end id individuals..., bgzipped or not)"),
    out: Path = typer.Option(..., "--out", help="chunk output directory"),
    genes_chunk: Optional[Path] = typer.Option(None, "--genes-chunk", help="gene IDs, one per line"),
    chrom: Optional[List[str]] = typer.Option(None, "--chrom", help="chromosome(s) (repeatable or comma-separated)"),
    track: Optional[str] = typer.Option(None, "--track", help="output track_id (or column) to use"),
    cell_type: Optional[str] = typer.Option(None, "--cell-type", help="use the CAGE track(s) of this cell type"),
    window: int = typer.Option(RP.window, "--window", help="bp around the TSS (personal_window)"),
    combine: str = typer.Option(RP.combine, "--combine", help="mean | log_before | log_after"),
    tss_bins: int = typer.Option(1, "--tss-bins", help="sum the TSS bin +- this many bins (profile models)"),
    rc: bool = typer.Option(False, "--rc/--no-rc", help="average with the reverse-complement prediction"),
    batch_size: int = typer.Option(16, "--batch-size", min=1),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:k]"),
    null_draws: int = typer.Option(RP.null_draws, "--null-draws", help="random-weight null draws per gene"),
    seed: int = typer.Option(RP.seed, "--seed"),
    unphased: str = typer.Option(RP.unphased, "--unphased", help="unphased heterozygous GT: error | reference | random"),
    ref_n: str = typer.Option(RP.ref_n, "--ref-n", help="VCF records whose REF meets FASTA N (other bases matching): error | skip"),
    missing_samples: str = typer.Option(RP.missing_samples, "--missing-samples", help="expression individuals absent from the VCF: error | drop"),
    predixcan: bool = typer.Option(True, "--predixcan/--no-predixcan", help="elastic-net baseline on the window's SNVs"),
    predixcan_min_maf: float = typer.Option(RP.predixcan_min_maf, "--predixcan-min-maf"),
    predixcan_outer_k: int = typer.Option(RP.predixcan_outer_k, "--predixcan-outer-k"),
    predixcan_inner_k: int = typer.Option(RP.predixcan_inner_k, "--predixcan-inner-k"),
    predixcan_n_alphas: int = typer.Option(RP.predixcan_n_alphas, "--predixcan-n-alphas"),
    ism: str = typer.Option(RP.ism, "--ism", help="none | reference | personal (personal includes reference)"),
    ism_min_abs_r: float = typer.Option(RP.ism_min_abs_r, "--ism-min-abs-r", help="ISM/drivers only for genes with |R| >= this"),
    max_backgrounds: int = typer.Option(RP.max_backgrounds, "--max-backgrounds", help="carrier haplotypes per SNV for personal ISM"),
    driver_ism: str = typer.Option(RP.driver_ism, "--driver-ism", help="ISM used for drivers: reference | personal"),
    r2_stop: float = typer.Option(RP.r2_stop, "--r2-stop", help="forward selection stops at this R^2"),
    min_gain: float = typer.Option(RP.min_gain, "--min-gain", help="forward selection: smallest gain in R"),
    max_drivers: Optional[int] = typer.Option(RP.max_drivers, "--max-drivers"),
    bf16: bool = typer.Option(False, "--bf16/--no-bf16", help="bf16 autocast on CUDA"),
    predictdb: Optional[Path] = typer.Option(None, "--predictdb", help="PredictDB .db (SQLite weights table): its "
                                             "models' predictions too, from the VCF at the db's variants"),
    predictdb_drop_ambiguous: bool = typer.Option(False, "--predictdb-drop-ambiguous/--predictdb-keep-ambiguous",
                                                  help="leave out A/T and C/G SNVs of the db"),
) -> None:
    """Benchmark one chunk of genes."""
    from seq2func.personal.predict import load_predictor  # deferred: imports torch

    genes, chroms = _genes_and_chroms(genes_chunk, chrom)
    params = RunParams(window=window, combine=combine, null_draws=null_draws, seed=seed, unphased=unphased, ref_n=ref_n,
                       missing_samples=missing_samples, predixcan=predixcan, predixcan_min_maf=predixcan_min_maf,
                       predixcan_outer_k=predixcan_outer_k, predixcan_inner_k=predixcan_inner_k,
                       predixcan_n_alphas=predixcan_n_alphas, ism=ism, ism_min_abs_r=ism_min_abs_r,
                       max_backgrounds=max_backgrounds, driver_ism=driver_ism, r2_stop=r2_stop, min_gain=min_gain,
                       max_drivers=max_drivers, predictdb=str(predictdb) if predictdb else None,
                       predictdb_drop_ambiguous=predictdb_drop_ambiguous)
    params.check()  # before the model loads: a bad --predictdb stops here
    predictor, info = load_predictor(checkpoint, track=track, cell_type=cell_type, device=device, tss_bins=tss_bins,
                                     rc=rc, batch_size=batch_size, bf16=bf16)
    meta = run_chunk(predictor, vcf=vcf, fasta=fasta, tss=tss, expression=expression, out=out, genes=genes,
                     chroms=chroms, params=params, model_info=info, gene_source=str(genes_chunk or "--genes-chunk"))
    c = meta["counts"]
    typer.echo(f"{c['genes']} genes, {c['model_inputs']} model inputs for {c['haplotypes']} haplotypes "
               f"({c['unique_haplotypes']} distinct), {c['drivers']} drivers -> {out}", err=True)


@app.command()
def merge(
    chunks: List[Path] = typer.Argument(..., help="chunk directories written by 'run'"),
    out: Path = typer.Option(..., "--out", help="final output directory"),
    mode: str = typer.Option("reference", "--mode", help="null test for genes.tsv: reference | textbook | empirical"),
    fdr: float = typer.Option(0.05, "--fdr"),
    figures: bool = typer.Option(True, "--figures/--no-figures"),
) -> None:
    """Merge chunks: global BH, genes.tsv, drivers.tsv, summary.json, figures."""
    s = merge_chunks(chunks, out, mode=mode, fdr=fdr, figures=figures)
    db = (f", PredictDB mean R {s['predictdb_mean_r']} ({s['predictdb']['n_matched']}/{s['predictdb']['n_weights']} "
          f"weights matched)") if s.get("predictdb") else ""
    typer.echo(f"{s['n_genes']} genes, {s['n_significant']} significant ({s['n_significant_negative']} negative R), "
               f"mean R {s['mean_r']}, PrediXcan mean R {s['predixcan_mean_r']}{db} -> {out}", err=True)


@app.command()
def finetune(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="trained model to start from"),
    vcf: Path = typer.Option(..., "--vcf"),
    fasta: Path = typer.Option(..., "--fasta"),
    tss: Optional[Path] = typer.Option(None, "--tss", help="TSS BED6 or GTF (optional with a phenotype-BED --expression)"),
    expression: Path = typer.Option(..., "--expression", help="TSV (gene_id, individuals...) or phenotype BED"),
    out: Path = typer.Option(..., "--out", help="output directory (finetune.json, genes.tsv, model.pt)"),
    genes_chunk: Optional[Path] = typer.Option(None, "--genes-chunk"),
    chrom: Optional[List[str]] = typer.Option(None, "--chrom"),
    track: Optional[str] = typer.Option(None, "--track"),
    cell_type: Optional[str] = typer.Option(None, "--cell-type"),
    window: int = typer.Option(FP.window, "--window"),
    combine: str = typer.Option(FP.combine, "--combine"),
    tss_bins: int = typer.Option(FP.tss_bins, "--tss-bins"),
    device: str = typer.Option("auto", "--device"),
    seed: int = typer.Option(FP.seed, "--seed"),
    holdout_individuals: float = typer.Option(FP.holdout_individuals, "--holdout-individuals", help="fraction of individuals held out"),
    holdout_genes: float = typer.Option(FP.holdout_genes, "--holdout-genes", help="fraction of genes held out"),
    epochs: int = typer.Option(FP.epochs, "--epochs"),
    steps_per_epoch: Optional[int] = typer.Option(FP.steps_per_epoch, "--steps-per-epoch", help="default: one step per training gene"),
    individuals_per_step: int = typer.Option(FP.individuals_per_step, "--individuals-per-step"),
    lr: float = typer.Option(FP.lr, "--lr"),
    weight_decay: float = typer.Option(FP.weight_decay, "--weight-decay"),
    mse_weight: float = typer.Option(FP.mse_weight, "--mse-weight"),
    pairwise_weight: float = typer.Option(FP.pairwise_weight, "--pairwise-weight"),
    scale_lr: float = typer.Option(FP.scale_lr, "--scale-lr", help="learning rate of the pairwise loss's shared prediction scale"),
    null_draws: int = typer.Option(FP.null_draws, "--null-draws"),
    unphased: str = typer.Option(FP.unphased, "--unphased"),
    ref_n: str = typer.Option(FP.ref_n, "--ref-n", help="VCF records whose REF meets FASTA N (other bases matching): error | skip"),
    missing_samples: str = typer.Option(FP.missing_samples, "--missing-samples"),
    batch_size: int = typer.Option(FP.batch_size, "--batch-size"),
    save_model: bool = typer.Option(True, "--save-model/--no-save-model", help="write the fine-tuned model.pt"),
) -> None:
    """Personal-genome fine-tuning; compares reference-only and fine-tuned models on held-out individuals/genes."""
    # deferred: seq2func.personal.finetune imports torch (only its light FinetuneParams is wanted at import time)
    from seq2func.personal.finetune import personal_finetune

    genes, chroms = _genes_and_chroms(genes_chunk, chrom)
    params = FinetuneParams(window=window, combine=combine, tss_bins=tss_bins, seed=seed,
                            holdout_individuals=holdout_individuals, holdout_genes=holdout_genes, epochs=epochs,
                            steps_per_epoch=steps_per_epoch, individuals_per_step=individuals_per_step, lr=lr,
                            weight_decay=weight_decay, mse_weight=mse_weight, pairwise_weight=pairwise_weight,
                            scale_lr=scale_lr, null_draws=null_draws, unphased=unphased, ref_n=ref_n,
                            missing_samples=missing_samples,
                            batch_size=batch_size)
    res = personal_finetune(checkpoint, vcf=vcf, fasta=fasta, tss=tss, expression=expression, out=out, genes=genes,
                            chroms=chroms, track=track, cell_type=cell_type, device=device, params=params,
                            save_model=save_model)
    ev = res["evaluation"]
    typer.echo("held-out individuals, training genes: mean R reference-only {:.3f} -> fine-tuned {:.3f}".format(
        ev["heldout_individuals"]["reference_only"]["mean_r"] or float("nan"),
        ev["heldout_individuals"]["personal_finetuned"]["mean_r"] or float("nan")), err=True)
