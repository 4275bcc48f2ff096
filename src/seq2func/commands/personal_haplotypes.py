"""Write haplotype 1 and 2 of every individual over one region as FASTA (``SAMPLE|1``, ``SAMPLE|2``).

Byte-identical, sequence for sequence, to ``samtools faidx FASTA REGION | bcftools consensus -s
SAMPLE -H 1|2 VCF`` (60 bases a line, as bcftools writes them); see ``seq2func.personal.haplotypes``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

import typer

from seq2func.errors import InputError
from seq2func.personal.haplotypes import REF_N_POLICIES, UNPHASED_POLICIES, HaplotypeBuilder, parse_region

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    vcf: Path = typer.Option(..., "--vcf", help="phased multi-sample VCF (bgzip + tabix, BCF, or plain)"),
    fasta: Path = typer.Option(..., "--fasta", help="reference FASTA (plain or bgzip, .fai made if missing)"),
    region: str = typer.Option(..., "--region", help="chrom:start-end, 1-based inclusive"),
    out: Path = typer.Option(..., "--out", help="output FASTA"),
    samples: Optional[str] = typer.Option(None, "--samples", help="comma-separated sample IDs (default: all)"),
    unphased: str = typer.Option("error", "--unphased", help="unphased heterozygous GT: error|reference|random"),
    seed: int = typer.Option(0, "--seed", help="seed of --unphased random"),
    ref_n: str = typer.Option("error", "--ref-n", help="records whose REF meets FASTA N (other bases matching): error|skip"),
    line_width: int = typer.Option(60, "--line-width", min=1, help="bases per FASTA line"),
) -> None:
    if unphased not in UNPHASED_POLICIES:
        raise InputError("--unphased", "", f"{unphased!r} is not one of {', '.join(UNPHASED_POLICIES)}")
    if ref_n not in REF_N_POLICIES:
        raise InputError("--ref-n", "", f"{ref_n!r} is not one of {', '.join(REF_N_POLICIES)}")
    chrom, start, end = parse_region(region)
    with HaplotypeBuilder(vcf, fasta, samples=samples, unphased=unphased, seed=seed, ref_n=ref_n) as builder:
        haps = builder.build(chrom, start, end)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            haps.to_fasta(handle, line_width=line_width)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    typer.echo(
        f"{len(haps.samples)} individuals, {haps.n_unique} distinct of {2 * len(haps.samples)} haplotypes, "
        f"{len(haps.variants)} records in {haps.chrom}:{haps.start}-{haps.end}"
        + (f" ({haps.n_ref_n_skipped} on FASTA N skipped)" if haps.n_ref_n_skipped else ""),
        err=True,
    )
