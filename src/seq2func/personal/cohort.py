"""The cohort PERSONAL and personal fine-tuning read: genes with expression, their order, the
individuals shared by the VCF and the expression table, and the FASTA's contigs.
"""

from __future__ import annotations

import os
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from seq2func.chroms import alias_map, canonical
from seq2func.errors import InputError
from seq2func.io.annotation import place_genes
from seq2func.io.expression import read_expression
from seq2func.io.vcf import match_samples
from seq2func.io.vcf import vcf_samples as read_vcf_samples


def select_genes(
    tss: pd.DataFrame,
    *,
    genes: Sequence[str] | None = None,
    chroms: Sequence[str] | None = None,
    gene_source: str = "--genes-chunk",
) -> pd.DataFrame:
    """Rows of the TSS table for a gene list (every listed gene must be there) or chromosomes.

    Parameters
    ----------
    tss : pandas.DataFrame
        TSS table with at least ``gene_id`` and ``chrom``.
    genes : sequence of str or None, optional
        Genes to keep, in this order; each must be in ``tss``. None = every gene.
    chroms : sequence of str or None, optional
        Chromosomes to keep (any spelling, ``chr1`` = ``1``); None or empty = every chromosome.
    gene_source : str, optional
        Where the gene list came from, for the error message (default ``--genes-chunk``).

    Returns
    -------
    pandas.DataFrame
        The selected rows, in the order of ``genes`` when given, index reset.

    Raises
    ------
    InputError
        If a listed gene is not in ``tss``.
    """
    df = tss
    if genes is not None:
        have = set(df["gene_id"])
        absent = [g for g in genes if g not in have]
        if absent:
            shown = ", ".join(absent[:5]) + (f" (+{len(absent) - 5} more)" if len(absent) > 5 else "")
            raise InputError(gene_source, None, f"{len(absent)} gene(s) not in the TSS annotation: {shown}")
        order = {g: i for i, g in enumerate(genes)}
        df = df[df["gene_id"].isin(order)].copy()
        df = df.iloc[np.argsort(df["gene_id"].map(order).to_numpy(), kind="stable")]
    if chroms:
        want = {canonical(c) for c in chroms}
        df = df[df["chrom"].map(canonical).isin(want)]
    return df.reset_index(drop=True)


def _nat_key(chrom: str):
    c = canonical(str(chrom))
    return (0, int(c), "") if c.isdigit() else (1, 0, c)


def sort_genes(df: pd.DataFrame) -> pd.DataFrame:
    """Genes in genome order: numbered chromosomes by number, then the others by name (M, X, Y); then TSS, gene ID.

    Parameters
    ----------
    df : pandas.DataFrame
        TSS table with ``gene_id``, ``chrom`` and ``tss``.

    Returns
    -------
    pandas.DataFrame
        The rows sorted, index reset.
    """
    keys = df["chrom"].map(_nat_key)
    order = sorted(range(len(df)), key=lambda i: (keys.iloc[i], int(df["tss"].iloc[i]), str(df["gene_id"].iloc[i])))
    return df.iloc[order].reset_index(drop=True)


def load_cohort(
    vcf: str | os.PathLike,
    tss: str | os.PathLike | pd.DataFrame | None,
    expression: str | os.PathLike | pd.DataFrame,
    *,
    genes: Sequence[str] | None = None,
    chroms: Sequence[str] | None = None,
    missing_samples: str = "error",
    gene_source: str = "--genes-chunk",
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], str | os.PathLike]:
    """The selected genes, the expression of the individuals shared with the VCF (in VCF order),
    those individuals, and how to name the expression input in errors. Used by the benchmark
    chunks and personal fine-tuning alike.

    Genes are placed by :func:`seq2func.io.annotation.place_genes`: the annotation's TSSs under the
    expression file's gene IDs (matched with or without version suffix), and for a phenotype BED
    its own start column for the genes the annotation lacks (``tss`` may then be None).

    Parameters
    ----------
    vcf : str or os.PathLike
        The cohort VCF (only its sample IDs are read here).
    tss : str or os.PathLike or pandas.DataFrame or None
        TSS annotation (BED6 or GTF file, or a :func:`seq2func.personal.predict.read_tss` table); None
        only when ``expression`` is a phenotype BED.
    expression : str or os.PathLike or pandas.DataFrame
        Expression TSV or phenotype BED, or a genes x individuals frame (index ``gene_id``).
    genes : sequence of str or None, optional
        Genes to keep, in this order (:func:`select_genes`); None = every gene.
    chroms : sequence of str or None, optional
        Chromosomes to keep; None = every chromosome.
    missing_samples : {"error", "drop"}, optional
        What to do with expression individuals absent from the VCF (default ``"error"``).
    gene_source : str, optional
        Where the gene list came from, for error messages (default ``--genes-chunk``).

    Returns
    -------
    tuple
        ``(genes, expression, samples, expr_label)``: the selected TSS table (``gene_id, chrom, tss,
        strand``), the expression frame restricted to ``samples``, the shared individuals in VCF order,
        and the name of the expression input used in errors.

    Raises
    ------
    InputError
        On unreadable inputs, no TSS source, no annotation gene with expression, listed genes absent from
        the annotation, or (``missing_samples='error'``) individuals absent from the VCF.
    """
    # deferred: personal.predict imports torch at top level; keeps cohort (and benchmark's merge) torch-free
    from seq2func.personal.predict import read_tss

    expr_label = "--expression" if isinstance(expression, pd.DataFrame) else expression
    positions = None
    if isinstance(expression, pd.DataFrame):
        expr = expression
    else:
        ef = read_expression(expression)
        expr, positions = ef.values, ef.positions
    annotation = tss if isinstance(tss, pd.DataFrame) or tss is None else read_tss(tss)
    if annotation is None and positions is None:
        raise InputError("--tss", None, f"required: {expr_label} is a gene_id TSV without positions (give a TSS BED6 "
                         "or GTF, or the expression as a phenotype BED '#chr start end id ...')")
    tss_df = place_genes(annotation, [str(g) for g in expr.index], positions)
    if positions is None and len(tss_df) and not tss_df["gene_id"].astype(str).isin(expr.index.astype(str)).any():
        # no annotation gene has expression: every chunk would be empty (another ID scheme?)
        ids = list(dict.fromkeys(annotation["gene_id"].astype(str)))
        raise InputError("--tss" if isinstance(tss, pd.DataFrame) else tss, None,
                         f"none of its {len(ids)} gene(s) ({', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''}) is in "
                         f"{expr_label} ({len(expr)} genes, e.g. {', '.join(map(str, expr.index[:3]))}; IDs compared "
                         "with and without version suffix)")
    sel = select_genes(tss_df, genes=genes, chroms=chroms, gene_source=gene_source)
    vcf_samples = read_vcf_samples(vcf)  # a bad VCF: one InputError line, nothing from htslib
    idx = match_samples(vcf_samples, list(expr.columns), path=expr_label, missing=missing_samples)
    samples = [vcf_samples[i] for i in idx]
    return sel, expr[samples], samples, expr_label


def fasta_contigs(fasta: str | os.PathLike, chroms: Iterable[str]) -> tuple[dict[str, int], dict[str, str]]:
    """FASTA contig lengths and, per TSS chromosome, its FASTA name (``chr1`` <-> ``1``); one error
    naming the FASTA when a chromosome is absent.

    Parameters
    ----------
    fasta : str or os.PathLike
        The reference FASTA.
    chroms : iterable of str
        Chromosome names as the TSS table spells them.

    Returns
    -------
    tuple of (dict of str to int, dict of str to str)
        ``(lengths, fa_of)``: FASTA contig -> length, and TSS chromosome -> FASTA contig name.

    Raises
    ------
    InputError
        If a chromosome is not in the FASTA.
    """
    # deferred: personal.predict imports torch at top level; keeps cohort (and benchmark's merge) torch-free
    from seq2func.personal.predict import contig_lengths

    chroms = list(dict.fromkeys(chroms))
    lengths = contig_lengths(fasta)
    fa_of = alias_map(list(lengths), chroms)
    absent = sorted(set(chroms) - set(fa_of))
    if absent:
        raise InputError(fasta, None, f"TSS chromosome(s) not in the FASTA: {', '.join(absent[:5])}")
    return lengths, fa_of
