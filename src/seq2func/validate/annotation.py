"""GTF annotation: gene records, IDs and names, contigs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from seq2func.errors import InputError
from seq2func.io.fasta import Genome
from seq2func.io.text import iter_text_lines
from seq2func.validate.contigs import _check_ends, check_contigs
from seq2func.validate.messages import Warnings, preview

# --------------------------------------------------------------------------------------------
# 5. annotation, variants, expression


_GTF_GENE_ID = re.compile(r'(?:^|;)\s*gene_id\s+"?([^";]+)"?')

_GTF_GENE_NAME = re.compile(r'(?:^|;)\s*gene_name\s+"?([^";]+)"?')


def check_gtf(path: Path, display: str, genome: Genome | None, warnings: Warnings) -> dict[str, Any]:
    """Check a GTF annotation: 9 tab-separated columns, 1-based integer coordinates, strands, and
    a ``gene_id`` on every gene / transcript / exon record; contigs and ends against the FASTA.

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

    Returns
    -------
    dict
        ``kind``, ``records``, ``features`` (counts per feature type), ``genes``, the contig report of
        :func:`~seq2func.validate.contigs.check_contigs` with a genome, and ``_gene_ids`` (gene ids and
        names, private: not written to the report).

    Raises
    ------
    InputError
        On the first malformed record, a file without gene records, or contigs of another assembly.
    """
    max_end: dict[str, tuple[int, int]] = {}
    counts: dict[str, int] = {}
    gene_ids: set[str] = set()
    n = 0
    for line_no, line in iter_text_lines(path, display, "GTF"):
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split("\t")
        if len(f) != 9:
            hint = " (columns must be tab-separated)" if len(f) < 9 and len(line.split()) >= 9 else ""
            raise InputError(display, f"line {line_no}", f"expected 9 tab-separated GTF columns, got {len(f)}{hint}")
        chrom, _, feature, s, e, _, strand, _, attrs = f
        try:
            start, end = int(s), int(e)
        except ValueError:
            bad = s if not s.strip().isdigit() else e
            raise InputError(display, f"line {line_no}", f"coordinates must be integers, got {bad!r}") from None
        if start < 1:
            raise InputError(display, f"line {line_no}", f"start {start} < 1 (GTF is 1-based)")
        if end < start:
            raise InputError(display, f"line {line_no}", f"end {end} < start {start}")
        if strand not in ("+", "-", "."):
            raise InputError(display, f"line {line_no}", f"strand must be '+', '-' or '.', got {strand!r}")
        counts[feature] = counts.get(feature, 0) + 1
        if feature in ("gene", "transcript", "exon"):
            m = _GTF_GENE_ID.search(attrs)
            if not m:
                raise InputError(display, f"line {line_no}", f"{feature} record without a gene_id attribute")
            gene_ids.add(m.group(1))
            m2 = _GTF_GENE_NAME.search(attrs)
            if m2:
                gene_ids.add(m2.group(1))
        if chrom not in max_end or end > max_end[chrom][0]:
            max_end[chrom] = (end, line_no)
        n += 1
    if not (counts.get("gene") or counts.get("transcript") or counts.get("exon")):
        raise InputError(display, None, f"no gene, transcript or exon records (features: {preview(counts) if counts else 'none'})")
    info: dict[str, Any] = {"kind": "GTF", "records": n, "features": counts, "genes": len(gene_ids)}
    if genome is not None:
        c = check_contigs(genome, display, {k: None for k in max_end}, kind="GTF", warnings=warnings)
        _check_ends(genome, display, c["alias_map"], max_end)
        info.update(c)
    info["_gene_ids"] = gene_ids
    return info
