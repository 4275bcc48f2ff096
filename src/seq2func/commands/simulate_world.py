"""Write the simulated ground-truth world into --outdir."""

from __future__ import annotations

from pathlib import Path

import typer

from seq2func.errors import InputError

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    scale: str = typer.Option("tiny", "--scale", help="tiny | small | large"),
    seed: int = typer.Option(1, "--seed", help="random seed (same seed, same bytes)"),
    outdir: Path = typer.Option(..., "--outdir", help="output directory (created if missing)"),
) -> None:
    from seq2func.simulate import SCALES, simulate_world  # deferred: seq2func.simulate pulls scipy; the CLI stays light

    if scale not in SCALES:
        raise InputError("--scale", None, f"unknown scale '{scale}' (known: {', '.join(SCALES)})")
    if seed < 0:
        raise InputError("--seed", None, f"must be >= 0, got {seed}")
    simulate_world(outdir, scale=scale, seed=seed)
