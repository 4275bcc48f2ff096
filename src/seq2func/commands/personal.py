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

from seq2func.cli import options_from
from seq2func.errors import InputError
from seq2func.personal.benchmark import merge_chunks, run_chunk
from seq2func.personal.params import FinetuneParams, RunParams

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)


def _genes_and_chroms(genes_chunk: Optional[Path], chrom: Optional[List[str]]):
    from seq2func.personal.predict import read_gene_list  # deferred: seq2func.personal.predict imports torch

    genes = read_gene_list(genes_chunk) if genes_chunk else None
    if genes is not None and not genes:
        raise InputError(genes_chunk, None, "no gene IDs")
    chroms = [c for item in (chrom or []) for c in item.split(",") if c] or None
    return genes, chroms


@app.command()
@options_from(params=RunParams)
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
    tss_bins: int = typer.Option(1, "--tss-bins", help="sum the TSS bin +- this many bins (profile models)"),
    rc: bool = typer.Option(False, "--rc/--no-rc", help="average with the reverse-complement prediction"),
    batch_size: int = typer.Option(16, "--batch-size", min=1),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:k]"),
    bf16: bool = typer.Option(False, "--bf16/--no-bf16", help="bf16 autocast on CUDA"),
    params: RunParams = None,
) -> None:
    """Benchmark one chunk of genes."""
    from seq2func.personal.predict import load_predictor  # deferred: imports torch

    genes, chroms = _genes_and_chroms(genes_chunk, chrom)
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
@options_from(params=FinetuneParams)
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
    device: str = typer.Option("auto", "--device"),
    save_model: bool = typer.Option(True, "--save-model/--no-save-model", help="write the fine-tuned model.pt"),
    params: FinetuneParams = None,
) -> None:
    """Personal-genome fine-tuning; compares reference-only and fine-tuned models on held-out individuals/genes."""
    # deferred: seq2func.personal.finetune imports torch
    from seq2func.personal.finetune import personal_finetune

    genes, chroms = _genes_and_chroms(genes_chunk, chrom)
    res = personal_finetune(checkpoint, vcf=vcf, fasta=fasta, tss=tss, expression=expression, out=out, genes=genes,
                            chroms=chroms, track=track, cell_type=cell_type, device=device, params=params,
                            save_model=save_model)
    ev = res["evaluation"]
    typer.echo("held-out individuals, training genes: mean R reference-only {:.3f} -> fine-tuned {:.3f}".format(
        ev["heldout_individuals"]["reference_only"]["mean_r"] or float("nan"),
        ev["heldout_individuals"]["personal_finetuned"]["mean_r"] or float("nan")), err=True)
