"""Expression of genes across individuals, as people have it.

Two layouts, told apart by the header:

- a TSV: ``gene_id<TAB>individual...`` (the header's first column must be ``gene_id``: a table
  with another first column, such as a transposed individuals x genes matrix, is refused), plain
  or gzipped;
- the tensorQTL/fastQTL phenotype BED (GEUVADIS, GTEx): ``#chr start end phenotype_id
  individual...``, usually bgzipped and tabix-indexed; its ``start`` column is the gene's TSS
  (0-based), so it places genes on the genome without a separate annotation.

Missing values: empty, ``NA``, ``NaN``, ``NULL``, ``.``. Duplicated genes or individuals, rows of
the wrong width, non-numeric values and bad coordinates are one-line :class:`InputError` naming
the file and the line. :func:`read_expression` is what VALIDATE checks and what EVALUATE and
PERSONAL read, so the three agree.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seq2func.errors import InputError
from seq2func.io.text import iter_text_lines, open_bytes

NA_VALUES = ["", "NA", "NaN", "nan", "NAN", "NULL", "null", ".", "na"]
_NA = set(NA_VALUES)


@dataclass
class Expression:
    """An expression file, read.

    Attributes
    ----------
    values
        Genes x individuals, float (NaN missing), index ``gene_id`` as in the file, columns the
        individual IDs in file order.
    layout
        ``tsv`` or ``bed``.
    positions
        BED layout: ``gene_id, chrom, start, end`` (rows as in ``values``); else None.
    display
        How to name the file in messages.
    header_line
        Line number of the header.
    """

    values: pd.DataFrame
    layout: str
    positions: pd.DataFrame | None
    display: str
    header_line: int = 1

    @property
    def samples(self) -> list[str]:
        return [str(c) for c in self.values.columns]

    @property
    def genes(self) -> list[str]:
        return [str(g) for g in self.values.index]

    def population_mean(self) -> pd.Series:
        """Mean across individuals per gene (NaN skipped): the population-average expression."""
        return self.values.mean(axis=1, skipna=True).rename("observed")


def layout_of(header: list[str]) -> str:
    """``bed`` for a ``#chr start end id ...`` header, else ``tsv``.

    Parameters
    ----------
    header : list of str
        The header line's fields.

    Returns
    -------
    str
        ``bed`` when the first field starts with ``#`` or fields 2-3 are ``start``/``end``
        (case-insensitive), else ``tsv``.
    """
    h = [x.strip() for x in header]
    if h and h[0].startswith("#"):
        return "bed"
    if len(h) >= 4 and h[1].lower() == "start" and h[2].lower() == "end":
        return "bed"
    return "tsv"


def _bad_cell(path: Path, display: str, header: list[str], first: int, skip_upto: int) -> InputError:
    """The first non-numeric value, found line by line (only when pandas refused the matrix)."""
    for line_no, line in iter_text_lines(path, display, "expression"):
        if line_no <= skip_upto or not line.strip():
            continue
        f = line.split("\t")
        for j in range(first, len(f)):
            v = f[j].strip()
            if v in _NA:
                continue
            try:
                float(v)
            except ValueError:
                return InputError(display, f"line {line_no}", f"value {v!r} for sample '{header[j]}' is not a number (gene {f[first - 1].strip()!r})")
    return InputError(display, None, "cannot read the expression values")


def read_expression(path: str | os.PathLike, display: str | None = None) -> Expression:
    """Read an expression TSV or phenotype BED (see the module doc).

    Parameters
    ----------
    path
        The file (plain, gzip or bgzip).
    display
        How to name it in messages (default: ``path``).

    Returns
    -------
    Expression
    """
    path = Path(path)
    display = display or str(path)
    if not path.is_file():
        raise InputError(display, None, "file not found")
    header: list[str] | None = None
    header_line = 0
    genes: dict[str, int] = {}
    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    layout = "tsv"
    first = 1
    ncol = 0
    n_rows = 0
    for line_no, line in iter_text_lines(path, display, "expression"):
        if not line.strip():
            continue
        if header is None:
            header = [h.strip() for h in line.split("\t")]
            header_line = line_no
            layout = layout_of(header)
            first = 4 if layout == "bed" else 1
            ncol = len(header)
            if ncol < first + 1:
                raise InputError(
                    display, f"line {line_no}",
                    "header has no individual columns (expected gene_id then one column per individual, "
                    "or '#chr start end gene_id' then individuals)" + ("; is it tab-separated?" if "," in line or " " in line.strip() else ""),
                )
            if layout == "tsv" and header[0] != "gene_id":
                raise InputError(display, f"line {line_no}", f"header: expected 'gene_id' then one column per individual "
                                 f"(or a phenotype BED '#chr start end phenotype_id individual...'), got {header[0]!r} first")
            samples = header[first:]
            seen: dict[str, int] = {}
            for s in samples:
                if not s:
                    raise InputError(display, f"line {line_no}", "empty individual ID in the header")
                if s in seen:
                    raise InputError(display, f"line {line_no}", f"duplicated individual ID '{s}' in the header")
                seen[s] = 1
            continue
        n_tabs = line.count("\t")
        if n_tabs != ncol - 1:
            raise InputError(display, f"line {line_no}", f"expected {ncol} tab-separated columns (as in the header), got {n_tabs + 1}")
        f = line.split("\t", first)
        gid = f[first - 1].strip()
        if not gid:
            raise InputError(display, f"line {line_no}", "empty gene ID")
        if gid in genes:
            raise InputError(display, f"line {line_no}", f"duplicate gene ID '{gid}' (first at line {genes[gid]})")
        genes[gid] = line_no
        if layout == "bed":
            try:
                s, e = int(f[1]), int(f[2])
            except ValueError:
                raise InputError(display, f"line {line_no}", f"coordinates must be integers, got {f[1]!r}, {f[2]!r}") from None
            if s < 0:
                raise InputError(display, f"line {line_no}", f"negative start {s}")
            if e < s:
                raise InputError(display, f"line {line_no}", f"end {e} < start {s}")
            if not f[0].strip():
                raise InputError(display, f"line {line_no}", "empty chromosome name")
            chroms.append(f[0].strip())
            starts.append(s)
            ends.append(e)
        n_rows += 1
    if header is None:
        raise InputError(display, None, "empty expression file")
    if n_rows == 0:
        raise InputError(display, None, "no genes, header only (expected a header gene_id + individuals, then one row per gene)")
    samples = header[first:]
    with open_bytes(path) as fh:
        raw = fh.read()
    try:
        mat = pd.read_csv(
            io.BytesIO(raw), sep="\t", header=None, skiprows=header_line, usecols=range(first, ncol),
            dtype=np.float64, na_values=NA_VALUES, keep_default_na=False, skip_blank_lines=True, engine="c",
        )
    except ValueError:
        raise _bad_cell(path, display, header, first, header_line) from None
    if mat.shape != (n_rows, len(samples)):  # pragma: no cover - the line scan above guarantees it
        raise InputError(display, None, f"read {mat.shape[0]} x {mat.shape[1]} values, expected {n_rows} x {len(samples)}")
    mat.index = pd.Index(list(genes), name="gene_id")
    mat.columns = samples
    positions = None
    if layout == "bed":
        positions = pd.DataFrame({"gene_id": list(genes), "chrom": chroms, "start": starts, "end": ends})
    return Expression(values=mat, layout=layout, positions=positions, display=display, header_line=header_line)
