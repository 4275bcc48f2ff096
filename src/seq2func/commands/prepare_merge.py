"""PREPARE step 3: merge per-chromosome parts into one dataset (regions.tsv, tracks.tsv, manifest.json, shards/)."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from seq2func.prepare.run import merge_parts

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    parts: List[Path] = typer.Argument(..., help="part directories written by prepare_chrom.py"),
    out: Path = typer.Option(..., "--out", help="dataset directory to write"),
    link: str = typer.Option("hardlink", "--link", help="hardlink (copy across filesystems) | copy | symlink | move"),
    allow_missing: bool = typer.Option(False, "--allow-missing", help="accept a split chromosome without a part"),
) -> None:
    merge_parts(parts, out, link=link, allow_missing=allow_missing)
