#!/usr/bin/env python3
"""PREPARE step 1: assign whole chromosomes to train/valid/test (or k folds) -> split.json."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

import seq2func.cli
from seq2func.data.split import EXCLUDE, make_split, write_split

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    fasta: Path = typer.Option(..., "--fasta", help="reference FASTA (plain or bgzip) or its .fai"),
    out: Path = typer.Option(Path("split.json"), "--out", help="split JSON to write"),
    test_chroms: Optional[str] = typer.Option(None, "--test-chroms", help="comma-separated test chromosomes"),
    valid_chroms: Optional[str] = typer.Option(None, "--valid-chroms", help="comma-separated validation chromosomes"),
    fractions: Optional[str] = typer.Option(None, "--fractions", help="train,valid,test length fractions, e.g. 0.8,0.1,0.1"),
    folds: int = typer.Option(0, "--folds", help="k-fold assignment of chromosomes (0: none)"),
    seed: int = typer.Option(0, "--seed"),
    chroms: Optional[str] = typer.Option(None, "--chroms", help="comma-separated chromosomes to use (default: all)"),
    exclude_chroms: Optional[str] = typer.Option(None, "--exclude-chroms", help="comma-separated chromosomes to leave out"),
    min_length: int = typer.Option(0, "--min-length", help="leave out contigs shorter than this (e.g. seq_length)"),
    chroms_out: Optional[Path] = typer.Option(None, "--chroms-out", help="also write the chromosomes to prepare, one per line"),
) -> None:
    split = make_split(
        fasta, test_chroms=test_chroms, valid_chroms=valid_chroms, fractions=fractions, folds=folds or None,
        seed=seed, chroms=chroms, exclude_chroms=exclude_chroms, min_length=min_length,
    )
    write_split(split, out)
    if chroms_out is not None:
        chroms_out.write_text("".join(f"{c}\n" for c, lab in split["chroms"].items() if lab != EXCLUDE))


if __name__ == "__main__":
    seq2func.cli.run(app)
