"""EVALUATE: a checkpoint on held-out chromosomes: per-track Pearson (raw, log1p) / Spearman R,
AUROC / AUPRC for classifiers, gene-level R of TSS-bin sums of CAGE tracks against observed
(population-average) expression; TSV + JSON + PNG into --outdir."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="trained checkpoint (model.pt)"),
    dataset: Path = typer.Option(..., "--dataset", help="PREPARE dataset directory"),
    outdir: Path = typer.Option(..., "--outdir", help="output directory (replaced atomically)"),
    split: str = typer.Option("test", "--split", help="split to evaluate"),
    tss_bed: Optional[Path] = typer.Option(None, "--tss-bed", help="TSSs: BED6 (chrom, tss, tss+1, gene_id, score, strand) or GTF; optional with a phenotype-BED --expression (its start column is the TSS)"),
    expression: Optional[Path] = typer.Option(None, "--expression", help="genes x individuals: TSV (gene_id, individuals...) or phenotype BED (#chr start end id individuals...); observed = mean"),
    tss_bins: int = typer.Option(1, "--tss-bins", help="bins on each side of the TSS bin summed at gene level"),
    cage_assays: str = typer.Option("CAGE", "--cage-assays", help="comma-separated assay names treated as CAGE-like"),
    batch_size: int = typer.Option(8, "--batch-size"),
    rc_average: bool = typer.Option(False, "--rc-average", help="average with the reverse-complement prediction"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda"),
    require_gpu: bool = typer.Option(False, "--require-gpu", help="stop with an error when no CUDA GPU is visible"),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="write the PNG figures"),
    fold: Optional[int] = typer.Option(None, "--fold", help="k-fold datasets: evaluate this fold's test chromosomes"),
    truth: Optional[Path] = typer.Option(None, "--truth", help="simulated world's truth.json: ceilings of the scored bins and gene-level R against the truth expression"),
) -> None:
    from seq2func.evaluate import evaluate  # deferred: imports torch; the CLI stays light to import
    from seq2func.train.device import resolve_device  # deferred: imports torch

    resolve_device(device, require_gpu)
    evaluate(checkpoint, dataset, outdir, split=split, tss_bed=tss_bed, expression=expression, tss_bins=tss_bins,
             batch_size=batch_size, device=device, require_gpu=require_gpu, rc_average=rc_average,
             cage_assays=[a for a in cage_assays.split(",") if a], plots=plots, fold=fold, truth=truth)
