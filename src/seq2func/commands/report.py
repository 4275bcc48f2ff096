"""REPORT: each stage's MultiQC custom content, and the one HTML report built from it.

  report.py validate --validation validation.json --out mqc
  report.py prepare --dataset profile --out mqc
  report.py training --metrics pretrain/metrics.json --label pretrain --out pretrain/mqc
  report.py evaluate runs/*/metrics.json --labels a,b [--truth truth.json] --out mqc
  report.py variants --benchmark variants/benchmark --out variants/mqc
  report.py interpret --run label=interpret/<label> ... --summary interpret --out interpret/mqc
  report.py personal --personal personal --out personal/mqc
  report.py personal-finetune --finetune personal_finetune/finetune.json --out personal_finetune/mqc
  report.py build content/ ... --params params.json --schema nextflow_schema.json [--versions software_versions.yml] --out multiqc
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import List, Optional

import typer

import seq2func.cli
from seq2func.report import sections
from seq2func.report.build import build_report

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)
OUT = typer.Option(..., "--out", help="folder for the *_mqc.* files")


@app.command()
def validate(validation: Path = typer.Option(..., "--validation"), out: Path = OUT) -> None:
    """Run summary and inputs from VALIDATE's validation.json."""
    sections.validate_content(validation, out)


@app.command()
def prepare(dataset: Path = typer.Option(..., "--dataset"), out: Path = OUT) -> None:
    """Windows per chromosome/split and target distribution from PREPARE's dataset."""
    sections.prepare_content(dataset, out)


@app.command()
def training(metrics: Path = typer.Option(..., "--metrics"), label: str = typer.Option(..., "--label"),
             out: Path = OUT) -> None:
    """Loss/validation curves and the training-table row of one PRETRAIN/FINETUNE run."""
    sections.training_content(metrics, label, out)


@app.command()
def evaluate(metrics: List[Path] = typer.Argument(..., help="EVALUATE metrics.json files"),
             labels: str = typer.Option(..., "--labels", help="comma-separated run labels, one per file"),
             truth: Optional[Path] = typer.Option(None, "--truth", help="simulated truth.json (noise ceilings)"),
             out: Path = OUT) -> None:
    """Per-track R, transfer vs scratch and gene-level R."""
    from seq2func.evaluate import summarize_runs  # deferred: seq2func.evaluate imports torch

    names = [x for x in labels.split(",") if x]
    if len(names) != len(metrics):
        raise typer.BadParameter(f"{len(names)} labels for {len(metrics)} metrics files", param_hint="--labels")
    sections.evaluate_content(metrics, names, summarize_runs(metrics, names), out, truth=truth)


@app.command()
def variants(benchmark: Path = typer.Option(..., "--benchmark"), out: Path = OUT) -> None:
    """AUROC, sign consistency, enrichment, conservation and heatmap of VARIANT_BENCHMARK."""
    sections.variants_content(benchmark, out)


@app.command()
def interpret(run: List[str] = typer.Option(..., "--run", help="label=DIR of an INTERPRET output"),
              summary: Path = typer.Option(..., "--summary", help="INTERPRET_SUMMARY's folder"), out: Path = OUT) -> None:
    """Motif table with logos, TF x cell-type heatmap, gained TFs, recovery."""
    sections.interpret_content(seq2func.cli.label_dirs(run), summary, out)


@app.command()
def personal(personal: Path = typer.Option(..., "--personal"), out: Path = OUT) -> None:
    """The personal-genome benchmark's summary, scatters and drivers."""
    sections.personal_content(personal, out)


@app.command("personal-finetune")
def personal_finetune(finetune: Path = typer.Option(..., "--finetune"), out: Path = OUT) -> None:
    """Personal fine-tuning before/after."""
    sections.personal_finetune_content(finetune, out)


@app.command()
def build(content: List[Path] = typer.Argument(..., help="folders or files with *_mqc.* content"),
          params: Path = typer.Option(..., "--params", help="the run's params.json"),
          schema: Path = typer.Option(..., "--schema", help="nextflow_schema.json (defaults)"),
          versions: Optional[Path] = typer.Option(None, "--versions", help="software_versions.yml"),
          title: str = typer.Option("seq2func report", "--title"),
          out: Path = typer.Option(Path("multiqc"), "--out")) -> None:
    """Parameters and versions, then MultiQC over everything: OUT/multiqc_report.html + OUT/multiqc_data/."""
    with tempfile.TemporaryDirectory(prefix="s2f-run-content-") as run_dir:
        sections.run_content(params, schema, run_dir, versions_yml=versions)
        report = build_report([*content, Path(run_dir)], out, title=title)
    typer.echo(f"report: {report} ({report.stat().st_size / 1e6:.1f} MB)")
