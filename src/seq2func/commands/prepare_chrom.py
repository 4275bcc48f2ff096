"""PREPARE step 2 (one task per chromosome): windows, sequences and targets of one chromosome -> a part directory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from seq2func.prepare.run import PrepareParams, prepare_chrom
from seq2func.prepare.split import make_split

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    fasta: Path = typer.Option(..., "--fasta", help="reference FASTA (plain or bgzip)"),
    samplesheet: Path = typer.Option(..., "--samplesheet", help="samplesheet CSV (bigWig in profile mode, BED/narrowPeak in peak mode)"),
    chrom: str = typer.Option(..., "--chrom", help="chromosome to prepare (any spelling: 22 or chr22)"),
    out: Path = typer.Option(..., "--out", help="part directory to write, e.g. chr1.part"),
    split_json: Optional[Path] = typer.Option(None, "--split-json", help="split from prepare_split.py (else built from the split options below)"),
    mode: str = typer.Option("profile", "--mode", help="profile | peak"),
    seq_length: Optional[int] = typer.Option(None, "--seq-length", help="window length (default 131072 profile, 1000 peak)"),
    bin_size: int = typer.Option(128, "--bin-size", help="target bin (profile) / central label bin (peak)"),
    stride: Optional[int] = typer.Option(None, "--stride", help="tiling stride (profile; default seq_length)"),
    crop_bp: int = typer.Option(0, "--crop-bp", help="bp cropped from each end of the targets (profile)"),
    max_n_frac: float = typer.Option(0.1, "--max-n-frac", help="drop windows with a larger fraction of N"),
    blacklist: Optional[Path] = typer.Option(None, "--blacklist", help="BED of blacklisted regions"),
    blacklist_mode: str = typer.Option("baseline", "--blacklist-mode", help="baseline (0) | mask (NaN)"),
    strict: bool = typer.Option(False, "--strict", help="a track missing the chromosome is an error, not zeros"),
    background_ratio: float = typer.Option(1.0, "--background-ratio", help="peak mode: GC-matched background windows per peak window"),
    gc_bins: int = typer.Option(20, "--gc-bins", help="peak mode: GC histogram bins for matching"),
    seed: int = typer.Option(0, "--seed", help="peak mode: background sampling seed"),
    test_chroms: Optional[str] = typer.Option(None, "--test-chroms", help="without --split-json: comma-separated test chromosomes"),
    valid_chroms: Optional[str] = typer.Option(None, "--valid-chroms", help="without --split-json: comma-separated validation chromosomes"),
    fractions: Optional[str] = typer.Option(None, "--fractions", help="without --split-json: train,valid,test length fractions"),
    folds: int = typer.Option(0, "--folds", help="without --split-json: k folds"),
    split_seed: int = typer.Option(0, "--split-seed", help="without --split-json: split seed"),
) -> None:
    params = PrepareParams(
        mode=mode, seq_length=seq_length, bin_size=bin_size, stride=stride, crop_bp=crop_bp, max_n_frac=max_n_frac,
        blacklist_mode=blacklist_mode, strict=strict, background_ratio=background_ratio, gc_bins=gc_bins, seed=seed,
    ).check()
    if split_json is not None:
        split = split_json
    else:
        split = make_split(fasta, test_chroms=test_chroms, valid_chroms=valid_chroms, fractions=fractions,
                           folds=folds or None, seed=split_seed)
    prepare_chrom(fasta, samplesheet, chrom, out, split=split, params=params, blacklist=blacklist)
