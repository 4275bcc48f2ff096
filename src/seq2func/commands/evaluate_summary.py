"""EVALUATE summary: every evaluated checkpoint in one table, and what transfer bought over scratch."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    metrics: List[Path] = typer.Argument(..., help="metrics.json files written by evaluate.py"),
    labels: str = typer.Option("", "--labels", help="comma-separated run labels, one per metrics file"),
    outdir: Path = typer.Option(Path("summary"), "--outdir", help="output directory"),
) -> None:
    # deferred: seq2func.evaluate imports torch; the CLI stays light to import
    from seq2func.evaluate import summarize_runs, write_summary

    names = [x for x in labels.split(",") if x] or None
    if names is not None and len(names) != len(metrics):
        raise typer.BadParameter(f"{len(names)} labels for {len(metrics)} metrics files", param_hint="--labels")
    write_summary(summarize_runs(metrics, names), outdir)
