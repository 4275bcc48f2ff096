"""INTERPRET: what a trained model learnt: attributions, MoDISco motifs and first-layer filters matched
to JASPAR, exact fast in-silico mutagenesis, and cell-type specificity across models.

  interpret.py model --checkpoint model.pt --dataset prepare/profile --out interpret/<label> [--ism-bp 100]
  interpret.py summary --run label=interpret/<label> ... [--truth truth.json] --out interpret/summary

In-silico mutagenesis runs inside ``model`` (``--ism-bp``: the central bp of each cell type's
first region; 0 turns it off).

Bad input: one `ERROR:` line, exit 2, nothing written.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

import seq2func.cli

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)


@app.command()
def model(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="trained model (seq2func checkpoint)"),
    dataset: Path = typer.Option(..., "--dataset", help="PREPARE dataset directory"),
    out: Path = typer.Option(..., "--out", help="output directory"),
    label: str = typer.Option("model", "--label"),
    n: int = typer.Option(20, "--n", min=1, help="regions per cell type (highest signal of its tracks)"),
    split: str = typer.Option("test", "--split", help="dataset split the regions come from"),
    regions: Optional[Path] = typer.Option(None, "--regions", help="BED of regions instead (recentred to the input length; needs --fasta)"),
    fasta: Optional[Path] = typer.Option(None, "--fasta", help="reference FASTA (with --regions)"),
    method: str = typer.Option("deeplift_shap", "--method", help="deeplift_shap | grad_x_input | saliency"),
    n_shuffles: int = typer.Option(20, "--shuffles", min=1, help="dinucleotide-shuffled references per sequence (DeepSHAP)"),
    jaspar_release: str = typer.Option("JASPAR2024", "--jaspar-release", help="pyjaspar release (vertebrate CORE)"),
    ism_bp: int = typer.Option(100, "--ism-bp", min=0, help="central bp of each cell type's first region mutated (ISM); 0 = off"),
    max_seqlets: int = typer.Option(2000, "--max-seqlets", min=1),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device"),
    require_gpu: bool = typer.Option(False, "--require-gpu"),
) -> None:
    """Explain one model."""
    from seq2func.interpret.run import interpret_model  # deferred: imports torch; the CLI stays light to import

    interpret_model(checkpoint, dataset, out, label=label, n=n, split=split, regions_bed=regions, fasta=fasta, method=method,
                    n_shuffles=n_shuffles, jaspar_release=jaspar_release, ism_bp=ism_bp, max_seqlets=max_seqlets, seed=seed,
                    device=device, require_gpu=require_gpu)


@app.command()
def summary(
    run: List[str] = typer.Option(..., "--run", help="label=DIR of a model's INTERPRET output (repeatable)"),
    out: Path = typer.Option(..., "--out"),
    truth: Optional[Path] = typer.Option(None, "--truth", help="the simulated world's truth.json: recovery of the planted TFs"),
) -> None:
    """Cell-type specificity across models; recovery of planted TFs (simulated world)."""
    from seq2func.interpret.run import summarise  # deferred: imports torch; the CLI stays light to import

    runs = seq2func.cli.label_dirs(run)
    summarise(runs, out, truth=truth)
