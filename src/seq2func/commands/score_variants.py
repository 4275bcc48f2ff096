"""SCORE_VARIANTS: predicted variant effects (SAD, logSAD, D2, SAX; dlogit/dprob for classifiers).

  score_variants.py chunk --checkpoint model.pt --vcf variants.vcf.gz --fasta genome.fa --chrom chr1 --out chunk/
  score_variants.py merge chunk1/ chunk2/ ... --vcf variants.vcf.gz --fasta genome.fa --out variants/model/
  score_variants.py benchmark --run label=variants/label ... --labels asv_labels.tsv --fasta genome.fa --out benchmark/

Variants: a VCF/BCF (bgzipped + indexed, or not) or a TSV `chrom pos ref alt [id]` where `-` marks
an empty allele. Bad input: one `ERROR:` line, exit 2, nothing written.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

import seq2func.cli
from seq2func.variants.run import merge_chunks, run_benchmark, score_chunk

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)


def _ints(text: str, name: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()] or [0]
    except ValueError:
        raise typer.BadParameter(f"comma-separated integers, got {text!r}", param_hint=name) from None


@app.command()
def chunk(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="trained model (seq2func checkpoint)"),
    vcf: Path = typer.Option(..., "--vcf", help="variants: VCF/BCF or TSV (chrom pos ref alt [id]; '-' = empty allele)"),
    fasta: Path = typer.Option(..., "--fasta", help="reference FASTA (plain or bgzip)"),
    chrom: str = typer.Option(..., "--chrom", help="score the variants of this FASTA contig"),
    out: Path = typer.Option(..., "--out", help="chunk directory to write"),
    label: str = typer.Option("model", "--label", help="the model's name in the outputs"),
    scores: str = typer.Option("", "--scores", help="comma-separated (default: SAD,logSAD,D2,SAX; dlogit,dprob for classifiers)"),
    shifts: str = typer.Option("0", "--shifts", help="comma-separated input shifts in bp, scored separately and averaged"),
    rc: bool = typer.Option(True, "--rc/--no-rc", help="also score the reverse complement and average"),
    ref_mismatch: str = typer.Option("error", "--ref-mismatch", help="REF != FASTA: error | skip | flip"),
    null: int = typer.Option(200, "--null", min=0, help="null draws for the whole run (this chunk draws its share; 0: none)"),
    null_kind: str = typer.Option("random", "--null-kind", help="random (genomic SNVs) | shuffle (dinucleotide-shuffled flanks)"),
    seed: int = typer.Option(0, "--seed"),
    share_reference: bool = typer.Option(False, "--share-reference/--no-share-reference",
                                         help="variants whose windows overlap share one reference prediction"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda"),
    require_gpu: bool = typer.Option(False, "--require-gpu", help="stop when no CUDA GPU is visible"),
    batch_size: int = typer.Option(32, "--batch-size", min=1),
) -> None:
    """Score one chromosome's variants with one model."""
    score_chunk(checkpoint, vcf, fasta, chrom, out, label=label, scores=[s for s in scores.split(",") if s] or None,
                shifts=_ints(shifts, "--shifts"), rc=rc, ref_mismatch=ref_mismatch, null=null, null_kind=null_kind,
                seed=seed, share_reference=share_reference, device=device, require_gpu=require_gpu, batch_size=batch_size)


@app.command()
def merge(
    chunks: List[Path] = typer.Argument(..., help="chunk directories of one model"),
    vcf: Path = typer.Option(..., "--vcf", help="the variants the chunks scored"),
    fasta: Path = typer.Option(..., "--fasta"),
    out: Path = typer.Option(..., "--out", help="output directory"),
    ref_mismatch: str = typer.Option("error", "--ref-mismatch", help="as in chunk"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """One model's chunks -> tables (TSV, Parquet), an indexed VCF with INFO scores, calibration, summary."""
    merge_chunks(chunks, vcf, fasta, out, ref_mismatch=ref_mismatch, seed=seed)


@app.command()
def benchmark(
    run: List[str] = typer.Option(..., "--run", help="label=DIR of a merged model (repeatable); labels with '/' are fine-tuned"),
    labels: Path = typer.Option(..., "--labels", help="TSV: variant_id chrom pos ref alt cell_type label direction"),
    fasta: Path = typer.Option(..., "--fasta", help="reference FASTA (the PWM baseline reads it)"),
    out: Path = typer.Option(..., "--out", help="output directory"),
    vcf: Optional[Path] = typer.Option(None, "--vcf", help="the scored variants: AF from INFO or genotypes (MAF bins)"),
    conservation: Optional[Path] = typer.Option(None, "--conservation", help="bigWig (GERP, phyloP) at the variants"),
    score: Optional[str] = typer.Option(None, "--score", help="score to rank by (default SAD; dlogit for classifiers)"),
    assays: str = typer.Option("", "--assays", help="comma-separated assays whose tracks stand for a cell type (default: all)"),
    n_boot: int = typer.Option(200, "--n-boot", min=0),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """AUROC/AUPRC per cell type with bootstrap intervals, sign consistency, enrichment by score quantile,
    scores by MAF, conservation of top-scoring variants, a cell-type heatmap; random and PWM baselines."""
    runs = seq2func.cli.label_dirs(run)
    run_benchmark(runs, labels, fasta, out, vcf=vcf, conservation=conservation, score=score,
                  assays=[a for a in assays.split(",") if a] or None, n_boot=n_boot, seed=seed)
