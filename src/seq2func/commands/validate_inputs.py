"""VALIDATE: check parameters, samplesheet, genome, tracks, annotation, VCFs and expression.

  validate_inputs.py params --params params.input.json [--schema nextflow_schema.json] --out params.json
  validate_inputs.py inputs [--params params.json] --samplesheet S [--staged-dir tracks] --fasta F ...
      --out samplesheet.valid.csv --report validation.json [--genes-out genes.bed]

Bad input: one line `ERROR: <file>: <record>: <message>` on stderr, exit code 2, nothing written.
On success `inputs` writes the validated samplesheet (`file` rewritten to the staged layout
tracks/<iiii>/<basename>), validation.json (with the `decisions` later stages follow: track mode,
cell types, contigs holding data, split mode, expression layout and individuals, contig aliases)
and the run's genes (`--genes-out`); `params` writes the resolved parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from seq2func.io.annotation import gene_table_bed
from seq2func.io.atomic import write_json
from seq2func.validate import (
    DEFAULT_MAX_VCF_RECORDS,
    Inputs,
    Warnings,
    load_params,
    run_params,
    validate_all,
    write_outputs,
)

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)


@app.command("params")
def params_cmd(
    params: Path = typer.Option(..., "--params", help="The run's params as JSON (written by Nextflow)."),
    schema: Optional[Path] = typer.Option(None, "--schema", help="nextflow_schema.json (default: the pipeline's)."),
    out: Path = typer.Option(Path("params.json"), "--out", help="Resolved parameters (defaults filled in)."),
) -> None:
    """Check the parameters against nextflow_schema.json and the cross-field rules."""
    warnings = Warnings()
    resolved = run_params(load_params(params), schema, warnings)
    write_json(out, resolved)
    for w in warnings.items:
        typer.echo(f"WARNING: {w}", err=True)


@app.command("inputs")
def inputs_cmd(
    params: Optional[Path] = typer.Option(None, "--params", help="The run's params as JSON (raw or resolved by `params`)."),
    samplesheet: Optional[Path] = typer.Option(None, "--samplesheet", help="Samplesheet CSV (default: params.input)."),
    staged_dir: Optional[Path] = typer.Option(None, "--staged-dir", help="Where Nextflow staged the tracks: row i at DIR/<iiii>/<basename>."),
    fasta: Optional[Path] = typer.Option(None, "--fasta", help="Genome FASTA (default: params.fasta)."),
    gtf: Optional[Path] = typer.Option(None, "--gtf"),
    tss_bed: Optional[Path] = typer.Option(None, "--tss-bed"),
    blacklist: Optional[Path] = typer.Option(None, "--blacklist"),
    vcf: Optional[Path] = typer.Option(None, "--vcf"),
    cohort_vcf: Optional[Path] = typer.Option(None, "--cohort-vcf"),
    expression: Optional[Path] = typer.Option(None, "--expression"),
    covariates: Optional[Path] = typer.Option(None, "--covariates"),
    pretrained: Optional[Path] = typer.Option(None, "--pretrained"),
    variant_labels: Optional[Path] = typer.Option(None, "--variant-labels"),
    conservation: Optional[Path] = typer.Option(None, "--conservation"),
    schema: Optional[Path] = typer.Option(None, "--schema", help="nextflow_schema.json (default: the pipeline's)."),
    input_schema: Optional[Path] = typer.Option(None, "--input-schema", help="assets/schema_input.json (default: the pipeline's)."),
    work_dir: Path = typer.Option(Path("."), "--work-dir", help="Where to put a FASTA index when the FASTA's folder is read-only."),
    max_vcf_records: int = typer.Option(DEFAULT_MAX_VCF_RECORDS, "--max-vcf-records", help="REF-check at most this many records per VCF."),
    out: Path = typer.Option(Path("samplesheet.valid.csv"), "--out", help="Validated samplesheet."),
    report: Path = typer.Option(Path("validation.json"), "--report", help="Validation report (JSON)."),
    genes_out: Optional[Path] = typer.Option(None, "--genes-out", help="The run's genes as BED6 (TSS from the annotation, else "
                                             "the expression BED's start; IDs as in the expression file): written when there is "
                                             "an annotation or an expression BED."),
) -> None:
    """Check the samplesheet and every input file (and the parameters, when given)."""
    files = {
        "fasta": fasta, "gtf": gtf, "tss_bed": tss_bed, "blacklist": blacklist, "vcf": vcf,
        "cohort_vcf": cohort_vcf, "expression": expression, "covariates": covariates, "pretrained": pretrained,
        "variant_labels": variant_labels, "conservation": conservation,
    }
    inp = Inputs(
        params=load_params(params) if params is not None else {},
        samplesheet=samplesheet,
        staged_dir=staged_dir,
        files={k: v for k, v in files.items() if v is not None},
        schema=schema,
        input_schema=input_schema,
        work_dir=work_dir,
        max_vcf_records=max_vcf_records,
    )
    v = validate_all(inp)
    tracks, rep = v.tracks, v.report
    extra = {genes_out: gene_table_bed(v.genes)} if genes_out is not None and v.genes is not None else None
    write_outputs(tracks, rep, out, report, extra)
    for w in rep["warnings"]:
        typer.echo(f"WARNING: {w}", err=True)
    mode = rep.get("samplesheet", {}).get("mode", "-")
    typer.echo(
        f"validated {len(tracks)} tracks ({mode} mode), {rep['counts']['files_checked']} files, {len(rep['warnings'])} warnings",
        err=True,
    )
