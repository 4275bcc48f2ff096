"""Gene annotation: transcription start sites from a BED6 file or a GTF.

Both give a table ``(chrom, tss, gene_id, strand)`` with ``tss`` 0-based. From a GTF, a gene's TSS
is its ``gene`` record's start (``+`` strand) or end (``-`` strand); genes without a ``gene``
record use their first ``transcript`` record. Malformed records raise one-line
:class:`~seq2func.errors.InputError` naming the file and the line.
"""

from __future__ import annotations

import gzip
import os
import re

import pandas as pd

from seq2func.errors import InputError

_GENE_ID = re.compile(r'gene_id\s+"([^"]+)"')


def _open(path: str | os.PathLike):
    return gzip.open(path, "rt") if str(path).endswith(".gz") else open(path)


def is_gtf(path: str | os.PathLike) -> bool:
    name = str(path).lower()
    return name.endswith((".gtf", ".gtf.gz", ".gff", ".gff.gz"))


def tss_from_gtf(path: str | os.PathLike) -> pd.DataFrame:
    genes: dict[str, tuple] = {}
    transcripts: dict[str, tuple] = {}
    with _open(path) as fh:
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
    return pd.DataFrame(rows, columns=["chrom", "tss", "gene_id", "strand"])


def tss_from_bed(path: str | os.PathLike) -> pd.DataFrame:
    rows = []
    with _open(path) as fh:
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
    return pd.DataFrame(rows, columns=["chrom", "tss", "gene_id", "strand"])


def read_tss(path: str | os.PathLike) -> pd.DataFrame:
    """TSS table from a GTF (by file name) or a BED6 file."""
    return tss_from_gtf(path) if is_gtf(path) else tss_from_bed(path)
