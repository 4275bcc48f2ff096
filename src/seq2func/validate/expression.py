"""Expression matrices and covariates: sample IDs against the cohort VCF, missing-sample policies."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

from seq2func.errors import InputError
from seq2func.io.annotation import gene_key
from seq2func.io.expression import read_expression
from seq2func.io.fasta import Genome
from seq2func.io.text import iter_text_lines
from seq2func.validate.contigs import _check_ends, check_contigs
from seq2func.validate.messages import Warnings, preview
from seq2func.validate.variants import _read_table_header

MISSING_SAMPLE_POLICIES = ("error", "drop")


def check_expression(
    path: Path,
    display: str,
    genome: Genome | None,
    warnings: Warnings,
    *,
    vcf_samples: Sequence[str] | None = None,
    vcf_display: str = "the cohort VCF",
    gene_ids: set[str] | None = None,
    missing_samples: str = "drop",
) -> dict[str, Any]:
    """Genes x individuals, read by :func:`seq2func.io.expression.read_expression` (the reader every
    stage uses): a TSV (``gene_id`` then individuals) or a phenotype BED (``#chr start end id``
    then individuals). Against the cohort VCF's samples: none shared is an error; some absent is an
    error under ``missing_samples='error'`` (the stages' default, so VALIDATE refuses what PERSONAL
    would) and a warning under ``drop``.

    Parameters
    ----------
    path : Path
        Local (possibly staged) path of the file to read.
    display : str
        The file as the user named it, for messages.
    genome : Genome or None
        The checked FASTA (names, lengths); ``None``: contigs are not checked against it.
    warnings : Warnings
        Collects warnings (raised as errors under ``--strict``).
    vcf_samples : Sequence[str] or None, optional
        Sample IDs of the cohort VCF; ``None``: samples are not checked.
    vcf_display : str, optional
        How to name the cohort VCF in messages.
    gene_ids : set of str or None, optional
        Gene IDs and names of the annotation; ``None``: gene IDs are not checked.
    missing_samples : str, optional
        ``error`` or ``drop``: what an expression sample without genotypes is.

    Returns
    -------
    dict
        ``kind``, ``layout``, ``genes``, ``samples``, the samples shared with the VCF, the annotation
        genes found, the contig report (phenotype BED), and the private ``_samples`` and ``_expression``
        (the parsed table).

    Raises
    ------
    InputError
        On an unreadable table, an unknown ``missing_samples``, no sample shared with the VCF (or some
        missing under ``error``), or positions of another assembly.
    """
    expr = read_expression(path, display)
    header_line, samples, genes = expr.header_line, expr.samples, expr.genes
    info: dict[str, Any] = {"kind": "expression", "layout": expr.layout, "genes": len(genes), "samples": len(samples)}
    if vcf_samples is not None:
        if missing_samples not in MISSING_SAMPLE_POLICIES:
            raise InputError("--missing_samples", None, f"must be one of {', '.join(MISSING_SAMPLE_POLICIES)}, got {missing_samples!r}")
        vs = set(vcf_samples)
        shared = [s for s in samples if s in vs]
        no_geno = [s for s in samples if s not in vs]
        if not shared:
            raise InputError(
                display,
                f"line {header_line}",
                f"sample IDs do not match {vcf_display}: none of {len(samples)} expression samples ({preview(samples)}) "
                f"is among the {len(vs)} VCF samples ({preview(list(vcf_samples))})",
            )
        if no_geno:
            msg = f"{len(no_geno)} of {len(samples)} expression samples have no genotypes in {vcf_display}"
            if missing_samples == "error":
                raise InputError(display, f"line {header_line}", f"{msg}: {preview(no_geno)} (--missing_samples drop leaves them out)")
            warnings.add(display, f"line {header_line}", f"{msg} and will be ignored: {preview(no_geno)}")
        info["samples_shared_with_vcf"] = len(shared)
        info["samples_used"] = shared
        info["samples_dropped"] = len(no_geno)
    if gene_ids is not None:
        stripped = {gene_key(x) for x in gene_ids}
        found = sum(1 for g in genes if g in gene_ids or gene_key(g) in stripped)
        info["genes_in_annotation"] = found
        if found == 0 and expr.layout != "bed":
            warnings.add(display, None, f"none of its gene IDs ({preview(genes)}) is a gene_id/gene_name of the annotation")
    if expr.positions is not None and genome is not None:
        pos = expr.positions
        max_end: dict[str, tuple[int, int]] = {}
        for i, (c, e) in enumerate(zip(pos["chrom"], pos["end"])):
            if c not in max_end or e > max_end[c][0]:
                max_end[c] = (int(e), i)
        lines = {c: expr.header_line + 1 + i for c, (e, i) in max_end.items()}  # approximate: blank lines not counted
        c = check_contigs(genome, display, {k: None for k in max_end}, kind="expression BED", warnings=warnings)
        _check_ends(genome, display, c["alias_map"], {k: (v[0], lines[k]) for k, v in max_end.items()})
        info.update(c)
    info["_samples"] = samples
    info["_expression"] = expr
    return info


def check_covariates(path: Path, display: str, expr_samples: Sequence[str] | None, expr_display: str = "the expression file") -> dict[str, Any]:
    """Covariates x individuals (first column the covariate) or individuals x covariates.

    Parameters
    ----------
    path : Path
        Local (possibly staged) path of the file to read.
    display : str
        The file as the user named it, for messages.
    expr_samples : Sequence[str] or None
        Sample IDs of the expression table; ``None``: the layout is not detected (assumed
        covariates x samples).
    expr_display : str, optional
        How to name the expression table in messages.

    Returns
    -------
    dict
        ``kind``, ``layout`` (``covariates x samples`` or ``samples x covariates``), ``rows``, ``columns``.

    Raises
    ------
    InputError
        Without a header or rows, or when no sample ID is shared with the expression table.
    """
    header_line, header = _read_table_header(path, display, "covariates")
    if len(header) < 2:
        sep = "," if "," in header[0] else None
        header = header[0].split(sep) if sep else header
        if len(header) < 2:
            raise InputError(display, f"line {header_line}", "expected a tab-separated table with a header")
    header = [h.strip() for h in header]
    first_col: list[str] = []
    rows = 0
    for line_no, line in iter_text_lines(path, display, "covariates"):
        if line_no <= header_line or not line.strip():
            continue
        first_col.append(re.split(r"[\t,]", line, maxsplit=1)[0].strip())
        rows += 1
    if rows == 0:
        raise InputError(display, None, "no rows after the header")
    layout = "covariates x samples"
    if expr_samples is not None:
        es = set(expr_samples)
        if any(h in es for h in header[1:]):
            layout = "covariates x samples"
        elif any(s in es for s in first_col):
            layout = "samples x covariates"
        else:
            raise InputError(display, f"line {header_line}", f"no sample IDs in common with {expr_display} (header {preview(header[1:])}; first column {preview(first_col)})")
    return {"kind": "covariates", "layout": layout, "rows": rows, "columns": len(header)}
