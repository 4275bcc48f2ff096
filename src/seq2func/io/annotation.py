"""Genes and their transcription start sites.

- :func:`read_tss`: a table ``(chrom, tss, gene_id, strand)`` (``tss`` 0-based) from a GTF (a
  gene's ``gene`` record start on ``+``, end on ``-``; genes without one use their first
  ``transcript``) or a BED6 of TSSs (``chrom, tss, tss+1, name, score, strand``; strand ``.`` when
  unknown), plain or gzipped;
- :func:`gene_key` / :func:`match_gene_ids`: gene IDs matched with or without an Ensembl-style
  version suffix (``ENSG00000100030.14`` = ``ENSG00000100030``), exact matches first;
- :func:`gene_table`: the genes of a run, resolved once by VALIDATE and written as ``genes.bed``:
  with an expression file, its genes (its own IDs) placed at the annotation's TSS when the
  annotation has the gene, else at the expression BED's ``start`` column (the tensorQTL/fastQTL
  convention: that column is the TSS); without one, the annotation's genes.

Malformed records raise one-line :class:`~seq2func.errors.InputError` naming the file and line.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Iterable, Mapping, Sequence

import pandas as pd

from seq2func.errors import InputError
from seq2func.io.text import open_text

log = logging.getLogger(__name__)

_GENE_ID = re.compile(r'gene_id\s+"([^"]+)"')
_VERSION = re.compile(r"^(.+)\.\d+$")
TSS_COLUMNS = ["chrom", "tss", "gene_id", "strand"]
GENE_COLUMNS = ["gene_id", "chrom", "tss", "strand", "tss_source"]


def is_gtf(path: str | os.PathLike) -> bool:
    """A GTF/GFF by its name (``.gtf``, ``.gff`` and their ``.gz``); anything else is a BED.

    Parameters
    ----------
    path : str or os.PathLike
        The annotation file; only its name is looked at (case-insensitive).

    Returns
    -------
    bool
        True for ``.gtf``, ``.gff``, ``.gff3`` (optionally ``.gz``).
    """
    name = str(path).lower()
    return name.endswith((".gtf", ".gtf.gz", ".gff", ".gff.gz", ".gff3", ".gff3.gz"))


def tss_from_gtf(path: str | os.PathLike) -> pd.DataFrame:
    """TSS table of a GTF (see the module doc).

    Parameters
    ----------
    path : str or os.PathLike
        A GTF, plain or gzipped.

    Returns
    -------
    pandas.DataFrame
        ``chrom, tss, gene_id, strand`` (``tss`` 0-based), one row per gene, genes with a ``gene``
        record first, then genes known only from a ``transcript`` record.

    Raises
    ------
    InputError
        On a line without 9 columns, a ``gene_id``, integer start/end or a ``+``/``-`` strand, or
        when the file has no gene or transcript records.
    """
    genes: dict[str, tuple] = {}
    transcripts: dict[str, tuple] = {}
    with open_text(path) as fh:
        for ln, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            f = line.rstrip("\n\r").split("\t")
            if len(f) != 9:
                raise InputError(path, f"line {ln}", f"expected 9 tab-separated GTF columns, got {len(f)}")
            if f[2] not in ("gene", "transcript"):
                continue
            m = _GENE_ID.search(f[8])
            if not m:
                raise InputError(path, f"line {ln}", "no gene_id attribute")
            try:
                start, end = int(f[3]), int(f[4])
            except ValueError:
                raise InputError(path, f"line {ln}", "start/end are not integers") from None
            strand = f[6]
            if strand not in ("+", "-"):
                raise InputError(path, f"line {ln}", f"strand {strand!r} is not + or -")
            tss = start - 1 if strand == "+" else end - 1
            target = genes if f[2] == "gene" else transcripts
            target.setdefault(m.group(1), (f[0], tss, m.group(1), strand))
    rows = list(genes.values()) + [v for k, v in transcripts.items() if k not in genes]
    if not rows:
        raise InputError(path, None, "no gene or transcript records")
    return pd.DataFrame(rows, columns=TSS_COLUMNS)


def tss_from_bed(path: str | os.PathLike) -> pd.DataFrame:
    """TSS table of a BED6 (``chrom, tss, tss+1, gene_id, score, strand``; 4 columns: strand ``.``).

    Parameters
    ----------
    path : str or os.PathLike
        A BED of TSSs, plain or gzipped; ``#``, ``track`` and ``browser`` lines are skipped.

    Returns
    -------
    pandas.DataFrame
        ``chrom, tss, gene_id, strand`` (``tss`` = the BED start, 0-based), in file order.

    Raises
    ------
    InputError
        On fewer than 4 columns, a non-integer or negative start, a strand other than ``+``,
        ``-``, ``.``, or when the file has no records.
    """
    rows = []
    with open_text(path) as fh:
        for ln, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n\r").split("\t")
            if len(f) < 4:
                raise InputError(path, f"line {ln}", f"expected BED6 (chrom, tss, tss+1, gene_id, score, strand), got {len(f)} columns")
            try:
                s = int(f[1])
            except ValueError:
                raise InputError(path, f"line {ln}", f"start {f[1]!r} is not an integer") from None
            if s < 0:
                raise InputError(path, f"line {ln}", "negative start")
            strand = f[5] if len(f) > 5 else "."
            if strand not in ("+", "-", "."):
                raise InputError(path, f"line {ln}", f"strand (column 6) {strand!r} is not +, - or . "
                                 "(a BED6 of TSSs is expected; an expression BED is not one)")
            rows.append((f[0], s, f[3], strand))
    if not rows:
        raise InputError(path, None, "no TSS records")
    return pd.DataFrame(rows, columns=TSS_COLUMNS)


def read_tss(path: str | os.PathLike) -> pd.DataFrame:
    """TSS table ``(chrom, tss, gene_id, strand)`` from a GTF (by file name) or a BED6 file.

    Parameters
    ----------
    path : str or os.PathLike
        A GTF/GFF (see :func:`is_gtf`) or a BED6 of TSSs, plain or gzipped.

    Returns
    -------
    pandas.DataFrame
        See :func:`tss_from_gtf` and :func:`tss_from_bed`.

    Raises
    ------
    InputError
        On a malformed record (see those two functions).
    """
    return tss_from_gtf(path) if is_gtf(path) else tss_from_bed(path)


def unique_tss(df: pd.DataFrame, path: str | os.PathLike | None = None) -> pd.DataFrame:
    """One TSS per gene (the first), with a warning naming how many genes had more than one.

    Parameters
    ----------
    df : pandas.DataFrame
        A TSS table with a ``gene_id`` column.
    path : str or os.PathLike, optional
        Where the table came from, named in the warning (default ``TSS table``).

    Returns
    -------
    pandas.DataFrame
        ``df`` without repeated genes, with a fresh 0-based index.
    """
    dup = df["gene_id"].duplicated()
    if dup.any():
        log.warning("%s: %d gene(s) with more than one TSS record; keeping the first", path or "TSS table",
                    int(df.loc[dup, "gene_id"].nunique()))
        df = df[~dup]
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# gene IDs
# --------------------------------------------------------------------------------------------
def gene_key(gene_id: str) -> str:
    """A gene ID without its trailing version: ``ENSG00000100030.14`` -> ``ENSG00000100030``.

    Parameters
    ----------
    gene_id : str
        A gene ID, with or without a ``.<digits>`` suffix (non-strings are converted with ``str``).

    Returns
    -------
    str
        The ID with one trailing ``.<digits>`` removed, else the ID unchanged.
    """
    m = _VERSION.match(str(gene_id))
    return m.group(1) if m else str(gene_id)


def match_gene_ids(theirs: Iterable[str], ours: Iterable[str]) -> dict[str, str]:
    """``{our gene_id: their gene_id}``: exact matches first, then version-stripped ones (the first
    of theirs in order when several versions fall on one of ours, with a warning).

    Parameters
    ----------
    theirs
        The IDs to look up in (an annotation, a PredictDB model).
    ours
        The IDs to place (an expression file's genes).

    Returns
    -------
    dict
        Our IDs that matched, each mapped to one of theirs.
    """
    their_list = list(dict.fromkeys(str(g) for g in theirs))
    their_set = set(their_list)
    by_key: dict[str, list[str]] = {}
    for g in their_list:
        by_key.setdefault(gene_key(g), []).append(g)
    out: dict[str, str] = {}
    for g in ours:
        g = str(g)
        if g in their_set:
            out[g] = g
            continue
        hits = by_key.get(gene_key(g), [])
        if hits:
            if len(hits) > 1:
                log.warning("gene %s: %d matches (%s); using %s", g, len(hits), ", ".join(hits[:3]), hits[0])
            out[g] = hits[0]
    return out


def gene_table(
    annotation: pd.DataFrame | None = None,
    expression_ids: Sequence[str] | None = None,
    expression_positions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The genes of a run: ``gene_id, chrom, tss, strand, tss_source``.

    Parameters
    ----------
    annotation
        A :func:`read_tss` table, or None.
    expression_ids
        The expression file's gene IDs (its own spelling, kept in the output), or None.
    expression_positions
        For a phenotype BED: ``gene_id, chrom, start, end`` (``start`` is the TSS).

    Returns
    -------
    pandas.DataFrame
        With an expression file, one row per expression gene that has a TSS: from the annotation
        (``tss_source`` ``annotation``; IDs matched with or without version suffix) or else from the
        BED (``expression_bed``; strand ``.``). Genes with neither are left out. Without an
        expression file, the annotation's genes (``annotation``).
    """
    if annotation is not None:
        annotation = unique_tss(annotation[TSS_COLUMNS])
    if expression_ids is None:
        if annotation is None:
            return pd.DataFrame(columns=GENE_COLUMNS)
        return annotation.assign(tss_source="annotation")[GENE_COLUMNS].reset_index(drop=True)
    ids = [str(g) for g in expression_ids]
    rows: dict[str, tuple] = {}
    if annotation is not None:
        by_id = annotation.set_index("gene_id")
        for ours, theirs in match_gene_ids(by_id.index, ids).items():
            r = by_id.loc[theirs]
            rows[ours] = (ours, str(r["chrom"]), int(r["tss"]), str(r["strand"]), "annotation")
    if expression_positions is not None:
        for r in expression_positions.itertuples(index=False):
            g = str(r.gene_id)
            if g not in rows:
                rows[g] = (g, str(r.chrom), int(r.start), ".", "expression_bed")
    out = [rows[g] for g in ids if g in rows]
    return pd.DataFrame(out, columns=GENE_COLUMNS)


def gene_table_bed(genes: pd.DataFrame) -> str:
    """A :func:`gene_table` as BED6 text (``chrom, tss, tss+1, gene_id, tss_source, strand``),
    readable by :func:`read_tss`.

    Parameters
    ----------
    genes : pandas.DataFrame
        A :func:`gene_table` (``gene_id, chrom, tss, strand, tss_source``).

    Returns
    -------
    str
        One tab-separated line per gene, each ending in a newline (empty for no genes).
    """
    lines = [f"{r.chrom}\t{int(r.tss)}\t{int(r.tss) + 1}\t{r.gene_id}\t{r.tss_source}\t{r.strand}\n"
             for r in genes.itertuples(index=False)]
    return "".join(lines)


def summarise_genes(genes: pd.DataFrame, n_expression: int | None = None) -> Mapping[str, int]:
    """Counts for ``validation.json``: genes placed, by TSS source, and (with an expression file)
    expression genes without a TSS.

    Parameters
    ----------
    genes : pandas.DataFrame
        A :func:`gene_table`.
    n_expression : int, optional
        Number of genes in the expression file; None when there is none.

    Returns
    -------
    dict
        ``genes``, one ``tss_from_<source>`` per TSS source, and with ``n_expression``
        ``expression_genes_without_tss``.
    """
    out = {"genes": int(len(genes))}
    for src, n in genes["tss_source"].value_counts().items():
        out[f"tss_from_{src}"] = int(n)
    if n_expression is not None:
        out["expression_genes_without_tss"] = int(n_expression - len(genes))
    return out


def resolve_genes(annotation: str | os.PathLike | pd.DataFrame | None, expression=None) -> pd.DataFrame | None:
    """The genes of a run from an annotation file (or table) and an expression file, as
    :func:`gene_table` places them; None when there is neither an annotation nor an expression BED.

    Parameters
    ----------
    annotation
        A GTF, a TSS BED6 (VALIDATE's ``genes.bed`` too), a :func:`read_tss` table, or None.
    expression
        A :class:`seq2func.io.expression.Expression`, or None.
    """
    table = annotation if isinstance(annotation, pd.DataFrame) or annotation is None else read_tss(annotation)
    positions = getattr(expression, "positions", None)
    if table is None and positions is None:
        return None
    ids = expression.genes if expression is not None else None
    return gene_table(table, ids, positions)


def place_genes(annotation: pd.DataFrame | None, expression_ids: Sequence[str],
                expression_positions: pd.DataFrame | None = None) -> pd.DataFrame:
    """A TSS table ``(gene_id, chrom, tss, strand)`` in the expression file's gene spelling: the
    annotation's genes, renamed to the expression ID they match (with or without version suffix;
    unmatched annotation genes are kept as they are), plus the expression BED's genes the
    annotation lacks (TSS = the BED's start, strand ``.``).

    Parameters
    ----------
    annotation : pandas.DataFrame or None
        A :func:`read_tss` table, or None.
    expression_ids : sequence of str
        The expression file's gene IDs.
    expression_positions : pandas.DataFrame, optional
        For a phenotype BED: ``gene_id, chrom, start, end`` (``start`` is the TSS).

    Returns
    -------
    pandas.DataFrame
        ``gene_id, chrom, tss, strand``: the annotation's rows first, then the BED-only genes
        (empty, with those columns, when there is neither).
    """
    cols = ["gene_id", "chrom", "tss", "strand"]
    parts = []
    have: set[str] = set()
    if annotation is not None:
        ann = annotation[cols]
        inverse = {theirs: ours for ours, theirs in match_gene_ids(ann["gene_id"], expression_ids).items()}
        ann = ann.assign(gene_id=ann["gene_id"].astype(str).map(lambda g: inverse.get(g, g)))
        parts.append(ann)
        have = set(ann["gene_id"])
    if expression_positions is not None:
        extra = expression_positions[~expression_positions["gene_id"].astype(str).isin(have)]
        parts.append(pd.DataFrame({"gene_id": extra["gene_id"].astype(str), "chrom": extra["chrom"].astype(str),
                                   "tss": extra["start"].astype(int), "strand": "."}))
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]
