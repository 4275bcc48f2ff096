"""PREPARE step 1: assign whole chromosomes (or contig blocks) to train/valid/test (or k folds) -> split.json.

--split-by chrom (default) assigns whole chromosomes; contig cuts the chromosomes at their assembly
gaps (N runs >= --min-gap) into blocks of at most --block-size bp, assigns the blocks and keeps
blocks of different splits at least --gap bp apart (for genomes with few chromosomes); auto picks
chrom when at least three (or --folds) contigs hold data (--data-contigs, else the FASTA contigs
kept by --chroms/--exclude-chroms/--min-length that are at least --seq-length long) or test/valid
chromosomes are given, else contig. A split that leaves one of --require empty stops here with one
ERROR line (exit 2) and writes nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer

from seq2func.errors import InputError
from seq2func.prepare.split import (
    DEFAULT_FRACTIONS,
    EXCLUDE,
    check_nonempty,
    make_split,
    resolve_split_by,
    split_summary,
    write_split,
)

app = typer.Typer(add_completion=False, help=__doc__)
log = logging.getLogger("prepare_split")


def _names(x: Optional[str]) -> list[str]:
    return [t for t in (x or "").replace(" ", ",").split(",") if t]


@app.command()
def main(
    fasta: Path = typer.Option(..., "--fasta", help="reference FASTA (plain or bgzip) or its .fai (contig mode needs the FASTA)"),
    out: Path = typer.Option(Path("split.json"), "--out", help="split JSON to write"),
    test_chroms: Optional[str] = typer.Option(None, "--test-chroms", help="comma-separated test chromosomes"),
    valid_chroms: Optional[str] = typer.Option(None, "--valid-chroms", help="comma-separated validation chromosomes"),
    fractions: Optional[str] = typer.Option(None, "--fractions", help="train,valid,test length fractions (default 0.8,0.1,0.1 when no fractions, folds, test or valid chromosomes are given)"),
    folds: int = typer.Option(0, "--folds", help="k-fold assignment of chromosomes / blocks (0: none)"),
    seed: int = typer.Option(0, "--seed"),
    chroms: Optional[str] = typer.Option(None, "--chroms", help="comma-separated chromosomes to use (default: all)"),
    exclude_chroms: Optional[str] = typer.Option(None, "--exclude-chroms", help="comma-separated chromosomes to leave out"),
    min_length: int = typer.Option(0, "--min-length", help="leave out contigs shorter than this (e.g. seq_length)"),
    chroms_out: Optional[Path] = typer.Option(None, "--chroms-out", help="also write the chromosomes to prepare, one per line"),
    split_by: str = typer.Option("chrom", "--split-by", help="chrom | contig | auto"),
    data_contigs: Optional[str] = typer.Option(None, "--data-contigs", help="auto: comma-separated contigs that hold data (default: FASTA contigs >= --seq-length)"),
    block_size: int = typer.Option(1_000_000, "--block-size", help="contig mode: largest block, bp"),
    min_gap: int = typer.Option(50_000, "--min-gap", help="contig mode: shortest N run that is an assembly gap, bp"),
    gap: Optional[int] = typer.Option(None, "--gap", help="contig mode: least bp between blocks of different splits (default --seq-length, else 131072)"),
    seq_length: Optional[int] = typer.Option(None, "--seq-length", help="window length; contig mode drops blocks shorter than this"),
    require: str = typer.Option("valid,test", "--require", help="comma-separated splits that must not be empty ('' for none)"),
) -> None:
    need = _names(require)
    for s in need:
        if s not in ("train", "valid", "test"):
            raise InputError("--require", s, "must name train, valid or test")
    mode = split_by.strip().lower()
    if mode == "auto" and data_contigs is not None:
        n_data = len(set(_names(data_contigs)))
        mode = resolve_split_by("auto", n_data, bool(_names(test_chroms) or _names(valid_chroms)), max(3, folds or 0))
        log.info("--split-by auto: %d contig(s) hold data -> %s", n_data, mode)
    elif mode != "auto":
        mode = resolve_split_by(mode, 0, False)
    # auto without --data-contigs: make_split counts the contigs it uses (--chroms, --exclude-chroms,
    # --min-length) that are at least --seq-length long
    if not (fractions or folds or _names(test_chroms) or _names(valid_chroms)):
        fractions = ",".join(map(str, DEFAULT_FRACTIONS))  # nothing chosen: 80/10/10 by length
    split = make_split(
        fasta, test_chroms=test_chroms, valid_chroms=valid_chroms, fractions=fractions, folds=folds or None,
        seed=seed, chroms=chroms, exclude_chroms=exclude_chroms, min_length=min_length,
        split_by=mode, block_size=block_size, min_gap=min_gap, gap=gap, seq_length=seq_length,
    )
    mode = split["split_by"]
    check_nonempty(split, need, source=str(fasta))  # the input that yields the empty split, not the unwritten output
    write_split(split, out)
    if chroms_out is not None:
        chroms_out.write_text("".join(f"{c}\n" for c, lab in split["chroms"].items() if lab != EXCLUDE))
    log.info("split (%s, %s): %s", mode, split["method"],
             ", ".join(f"{k} {v['blocks']} {'blocks' if mode == 'contig' else 'chromosomes'} {v['bp']} bp" for k, v in split_summary(split).items()))
