"""The variants SCORE_VARIANTS scores, read from a VCF/BCF or a variants TSV and checked against
the reference FASTA.

:func:`read_variants` reads every input record, splits multi-allelic records into one row per ALT,
maps contig names onto the FASTA's spelling (``22`` -> ``chr22``) and normalises each allele pair
as ``bcftools norm -f genome.fa`` does (common suffix and prefix trimmed, indels left-aligned,
one anchor base kept), so that the same variant written differently -- ``22`` or ``chr22``, a TSV
``chr1 101 - T`` or a VCF ``chr1 100 G GT``, ``CTT>CT`` or ``CT>C`` -- is one unique variant, scored
once. What cannot be scored (symbolic ALTs such as ``<DEL>`` or ``<*>``, ``*``, ``.``, non-ACGTN
letters, an ALT equal to the REF, a contig absent from the FASTA) is skipped, counted and logged
once. :func:`check_ref` then compares each input REF with the FASTA under a policy (``error``,
``skip`` or ``flip``).

The result, a :class:`VariantSet`, keeps both sides: ``variants`` (unique variants, what the
scoring reads) and ``records`` (one row per input record x ALT, what the outputs are written from,
:mod:`seq2func.variants.output`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.io.fasta import fetch, open_fasta
from seq2func.io.text import GZIP_ERRORS, CStderr, iter_text_lines, open_bytes
from seq2func.io.vcf import _htslib_detail, open_vcf

log = logging.getLogger(__name__)

#: skip reasons of a record x ALT, in the order they are tested
SKIP_REASONS = (
    "unknown_contig",  # the record's contig is not in the FASTA
    "missing_alt",  # ALT '.'
    "star",  # ALT '*' (allele missing because of an overlapping deletion)
    "symbolic",  # <DEL>, <*>, <NON_REF>, breakends
    "invalid_allele",  # letters other than ACGTN in REF or ALT
    "same_as_ref",  # ALT equal to REF
    "ref_mismatch",  # REF differs from the FASTA (check_ref), or lies beyond the contig
    "ref_on_n",  # the FASTA is N under the REF (check_ref)
)
#: keys of :attr:`VariantSet.counts`, always all present
COUNT_KEYS = ("records", "alts", "kept", "unique", "duplicates") + SKIP_REASONS + ("flipped",)

TSV_COLUMNS = ("chrom", "pos", "ref", "alt")
_ACGTN = re.compile(r"^[ACGTN]+$")
_BLOCK = 1 << 20  # FASTA bases fetched per block
_BATCH = 4096  # BCF records read per capture of htslib's stderr

VARIANT_COLUMNS = ("chrom", "pos", "ref", "alt", "key", "id", "flipped")
RECORD_COLUMNS = (
    "record_index", "alt_index", "line", "input_chrom", "input_pos", "input_id", "input_ref", "input_alt",
    "chrom", "key", "skip_reason", "flipped",
)


# --------------------------------------------------------------------------------------------
# the reference
# --------------------------------------------------------------------------------------------
class _Genome:
    """An indexed FASTA read in upper-case 1 Mb blocks (a few kept), htslib's stderr captured."""

    def __init__(self, fasta: Any, display: str | None = None) -> None:
        if isinstance(fasta, (str, os.PathLike)):
            self.display = display or os.fspath(fasta)
            self.fa = open_fasta(fasta, self.display)
            self.path: str | None = os.fspath(fasta)
            self._own = True
        else:  # an open pysam.FastaFile
            name = getattr(fasta, "filename", None)
            name = name.decode() if isinstance(name, bytes) else name
            self.display = display or (os.fspath(name) if name else "FASTA")
            self.fa, self.path, self._own = fasta, (os.fspath(name) if name else None), False
        self.lengths: dict[str, int] = dict(zip(self.fa.references, (int(n) for n in self.fa.lengths)))
        self._blocks: dict[tuple[str, int], str] = {}

    def close(self) -> None:
        if self._own:
            self.fa.close()

    def __enter__(self) -> _Genome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _block(self, chrom: str, b: int) -> str:
        hit = self._blocks.get((chrom, b))
        if hit is None:
            start = b * _BLOCK
            hit = fetch(self.fa, self.display, chrom, start, min(start + _BLOCK, self.lengths[chrom])).upper()
            if len(self._blocks) >= 8:
                del self._blocks[next(iter(self._blocks))]
            self._blocks[(chrom, b)] = hit
        return hit

    def seq(self, chrom: str, start0: int, end0: int) -> str:
        """Upper-case bases of ``[start0, end0)`` (0-based), clipped to the contig."""
        start0, end0 = max(0, start0), min(end0, self.lengths[chrom])
        if end0 <= start0:
            return ""
        b0, b1 = start0 // _BLOCK, (end0 - 1) // _BLOCK
        text = "".join(self._block(chrom, b) for b in range(b0, b1 + 1))
        off = b0 * _BLOCK
        return text[start0 - off : end0 - off]


def _genome(fasta: Any, display: str | None = None) -> _Genome:
    return fasta if isinstance(fasta, _Genome) else _Genome(fasta, display)


# --------------------------------------------------------------------------------------------
# alleles
# --------------------------------------------------------------------------------------------
def _classify(allele: str) -> str | None:
    """Skip reason of an upper-cased ALT, or None when it is a sequence of ACGTN."""
    if allele == ".":
        return "missing_alt"
    if allele == "*":
        return "star"
    if allele.startswith("<") or "[" in allele or "]" in allele or (
        len(allele) > 1 and (allele.startswith(".") or allele.endswith("."))
    ):
        return "symbolic"
    if not _ACGTN.match(allele):
        return "invalid_allele"
    return None


def normalise(g: _Genome, chrom: str, pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Trim and left-align one allele pair as ``bcftools norm -f`` does (Tan et al. 2015).

    Parameters
    ----------
    g
        The reference.
    chrom
        FASTA contig.
    pos, ref, alt
        1-based position and non-empty upper-case alleles (VCF-anchored).

    Returns
    -------
    tuple
        ``(pos, ref, alt)``: common suffix trimmed (moving left over the reference while an allele
        would become empty, never into an N), then common prefix trimmed down to one anchor
        base. A pair that extends beyond the contig, or whose alleles are equal, is returned
        unchanged.
    """
    if (len(ref) == 1 and len(alt) == 1) or ref == alt or pos < 1 or pos + len(ref) - 1 > g.lengths[chrom]:
        return pos, ref, alt
    while ref[-1] == alt[-1]:
        if len(ref) == 1 or len(alt) == 1:
            b = g.seq(chrom, pos - 2, pos - 1) if pos > 1 else ""
            if b in ("", "N"):
                break  # nothing to the left, or a gap (never slid through): the base on the right anchors
            pos -= 1
            ref, alt = b + ref, b + alt
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _anchor(g: _Genome, chrom: str | None, pos: int, ref: str, alts: list[str]) -> tuple[int, str, list[str]]:
    """VCF alleles of a TSV record whose REF or an ALT is empty (``-``): the preceding reference
    base prepended and ``pos`` moved one left; at position 1 the following base appended."""
    seqs = [a for a in alts if _classify(a) is None or a == ""]
    if ref and all(seqs):
        return pos, ref, alts
    length = g.lengths.get(chrom, 0) if chrom is not None else 0
    if pos > 1:
        b = (g.seq(chrom, pos - 2, pos - 1) if chrom is not None and pos - 1 <= length else "") or "N"
        return pos - 1, b + ref, [b + a if (a == "" or _classify(a) is None) else a for a in alts]
    i0 = pos - 1 + len(ref)
    b = (g.seq(chrom, i0, i0 + 1) if chrom is not None else "") or "N"
    return pos, ref + b, [a + b if (a == "" or _classify(a) is None) else a for a in alts]


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------
@dataclass
class VariantSet:
    """Variants read by :func:`read_variants` (and checked by :func:`check_ref`).

    Attributes
    ----------
    variants : pandas.DataFrame
        One row per unique variant, sorted by FASTA contig order, position, REF, ALT. Columns:
        ``chrom`` (FASTA spelling), ``pos`` (1-based, int64), ``ref``, ``alt`` (upper case,
        normalised, ``ref`` matching the FASTA after :func:`check_ref`), ``key``
        (``chrom:pos:ref:alt``; for a flipped variant the alleles of the key keep the input's
        orientation, ``chrom:pos:alt:ref``, so that the two orientations of a site never share a
        key), ``id`` (the first input ID other than ``.``, else ``.``) and ``flipped`` (bool: the
        input's REF and ALT were swapped to match the FASTA; the scoring negates its scores).
    records : pandas.DataFrame
        One row per input record x ALT, in input order. Columns: ``record_index`` (0-based input
        record), ``alt_index`` (1-based), ``line`` (line number in a text file, NA for a BCF),
        ``input_chrom``, ``input_pos``, ``input_id``, ``input_ref``, ``input_alt`` (as given,
        this ALT only; ``-`` kept for a TSV), ``chrom`` (FASTA spelling, NA for an unknown contig),
        ``key`` (the unique variant, NA when skipped), ``skip_reason`` (NA when kept, else one of
        :data:`SKIP_REASONS`) and ``flipped`` (bool).
    counts : dict
        :data:`COUNT_KEYS`: ``records`` (input records), ``alts`` (rows of ``records``), ``kept``
        (rows with a key), ``unique`` (rows of ``variants``), ``duplicates`` (``kept - unique``),
        one count per skip reason, ``flipped`` (rows flipped).
    path, display, format
        The input file, its name in messages, and ``'vcf'``, ``'bcf'`` or ``'tsv'``.
    contigs : dict
        FASTA contig -> length, in FASTA order (the output VCF's ``##contig`` lines and sort order).
    aliases : dict
        Input contig -> FASTA contig, for the input contigs the FASTA has.
    fasta : str or None
        The FASTA's path (``##reference`` of the output VCF).
    """

    variants: pd.DataFrame
    records: pd.DataFrame
    counts: dict[str, int]
    path: str
    display: str
    format: str
    contigs: dict[str, int] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    fasta: str | None = None
    # per key: (chrom, pos, ref, alt, flipped) of every variant a record may map to
    _table: dict[str, tuple[str, int, str, str, bool]] = field(default_factory=dict, repr=False)
    # per TSV record with an empty allele: its VCF form (pos, REF, ALTs), anchored on the FASTA
    _anchored: dict[int, tuple[int, str, list[str]]] = field(default_factory=dict, repr=False)


def _key(chrom: str, pos: int, ref: str, alt: str) -> str:
    return f"{chrom}:{pos}:{ref}:{alt}"


def _assemble(vs_fields: dict[str, Any], rows: dict[str, list], table: dict, contigs: dict[str, int],
              base_counts: dict[str, int]) -> VariantSet:
    """Records table, unique variants and counts from per-row lists."""
    n = len(rows["record_index"])
    records = pd.DataFrame({
        "record_index": pd.array(rows["record_index"], dtype="int64"),
        "alt_index": pd.array(rows["alt_index"], dtype="int64"),
        "line": pd.array(rows["line"], dtype="Int64"),
        "input_chrom": pd.array(rows["input_chrom"], dtype=object),
        "input_pos": pd.array(rows["input_pos"], dtype="int64"),
        "input_id": pd.array(rows["input_id"], dtype=object),
        "input_ref": pd.array(rows["input_ref"], dtype=object),
        "input_alt": pd.array(rows["input_alt"], dtype=object),
        "chrom": pd.array(rows["chrom"], dtype=object),
        "key": pd.array(rows["key"], dtype=object),
        "skip_reason": pd.array(rows["skip_reason"], dtype=object),
        "flipped": pd.array(rows["flipped"], dtype=bool),
    }, index=pd.RangeIndex(n))
    first_id: dict[str, str] = {}
    for k, i in zip(rows["key"], rows["input_id"]):
        if k is not None and (k not in first_id or (first_id[k] == "." and i != ".")):
            first_id[k] = i
    rank = {c: r for r, c in enumerate(contigs)}
    keys = sorted(first_id, key=lambda k: (rank.get(table[k][0], len(rank)), table[k][1], table[k][2], table[k][3]))
    variants = pd.DataFrame({
        "chrom": pd.array([table[k][0] for k in keys], dtype=object),
        "pos": pd.array([table[k][1] for k in keys], dtype="int64"),
        "ref": pd.array([table[k][2] for k in keys], dtype=object),
        "alt": pd.array([table[k][3] for k in keys], dtype=object),
        "key": pd.array(keys, dtype=object),
        "id": pd.array([first_id[k] for k in keys], dtype=object),
        "flipped": pd.array([table[k][4] for k in keys], dtype=bool),
    })
    counts = {k: 0 for k in COUNT_KEYS}
    counts.update(base_counts)
    counts["alts"] = n
    for reason in SKIP_REASONS:
        counts[reason] = 0
    for r in rows["skip_reason"]:
        if r is not None:
            counts[r] += 1
    counts["kept"] = n - sum(counts[r] for r in SKIP_REASONS)
    counts["unique"] = len(variants)
    counts["duplicates"] = counts["kept"] - counts["unique"]
    counts["flipped"] = int(sum(rows["flipped"]))
    return VariantSet(variants=variants, records=records, counts=counts, contigs=dict(contigs),
                      _table={k: table[k] for k in keys}, **vs_fields)


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------
def _sniff(path: Path, display: str) -> str:
    if not path.exists():
        raise InputError(display, None, "file not found")
    if path.is_dir():
        raise InputError(display, None, "is a directory, not a VCF/BCF or variants TSV")
    try:
        with open_bytes(path) as fh:
            head = fh.read(64)
    except GZIP_ERRORS as err:
        raise InputError(display, None, f"corrupt or truncated gzip data: {err}") from None
    except OSError as err:
        raise InputError(display, None, f"cannot read: {err.strerror or err}") from None
    if head.startswith(b"BCF"):
        return "bcf"
    if head.startswith(b"##fileformat=VCF"):
        return "vcf"
    name = path.name.lower()
    if name.endswith((".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")):
        raise InputError(display, None, "not a VCF/BCF file (it must start with a '##fileformat=VCF' header line) or corrupt")
    return "tsv"


def vcf_header_and_records(path: str | os.PathLike, display: str | None = None
                           ) -> tuple[list[str], Iterator[tuple[int | None, list[str]]]]:
    """The header lines and the records (first 8 columns) of a VCF/BCF, in file order.

    Parameters
    ----------
    path
        VCF (plain or bgzip, indexed or not) or BCF.
    display
        How to name the file in errors.

    Returns
    -------
    header : list of str
        The ``##`` lines and the ``#CHROM`` line, without newlines.
    records : iterator
        ``(line number or None for a BCF, [CHROM, POS, ID, REF, ALT, QUAL, FILTER, INFO])``. A
        text VCF is read as text (its own characters, nothing reformatted); a BCF through htslib,
        its standard error captured per batch.

    Raises
    ------
    InputError
        One line: the file cannot be opened as VCF/BCF (see :func:`seq2func.io.vcf.open_vcf`), a
        record has fewer than 8 columns, the gzip data is corrupt.
    """
    display = display or os.fspath(path)
    vf = open_vcf(path, display)
    if vf.is_bcf:
        header = str(vf.header).rstrip("\n").split("\n")
        return header, _bcf_records(vf, display)
    vf.close()
    header = []
    try:
        with open_bytes(path) as fh:
            for raw in fh:
                if not raw.startswith(b"#"):
                    break
                header.append(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
    except GZIP_ERRORS as err:
        raise InputError(display, None, f"corrupt or truncated gzip data: {err}") from None
    return header, _text_records(path, display)


def _text_records(path: str | os.PathLike, display: str) -> Iterator[tuple[int | None, list[str]]]:
    line_no = 0
    try:
        with open_bytes(path) as fh:
            for line_no, raw in enumerate(fh, start=1):
                if raw[:1] == b"#" or not raw.strip():
                    continue
                f = raw.decode("utf-8", errors="replace").rstrip("\r\n").split("\t", 8)
                if len(f) < 8:
                    raise InputError(display, f"line {line_no}",
                                     f"{len(f)} tab-separated column(s), a VCF record has 8 or more")
                yield line_no, f[:8]
    except GZIP_ERRORS as err:
        raise InputError(display, f"line {line_no + 1}", f"corrupt or truncated gzip data: {err}") from None
    except OSError as err:
        raise InputError(display, None, f"cannot read: {err.strerror or err}") from None


def _bcf_records(vf: Any, display: str) -> Iterator[tuple[int | None, list[str]]]:
    try:
        vf.subset_samples([])  # sites only: genotypes are not decoded
        it = iter(vf)
        n = 0
        while True:
            cap = CStderr()
            try:
                with cap:
                    batch = []
                    for r in it:
                        batch.append(str(r).rstrip("\n").split("\t", 8)[:8])
                        if len(batch) == _BATCH:
                            break
            except (OSError, ValueError) as err:
                raise InputError(display, f"record {n + len(batch) + 1}",
                                 f"cannot read BCF record: {_htslib_detail(cap, err)}") from None
            n += len(batch)
            for f in batch:
                yield None, f
            if len(batch) < _BATCH:
                return
    finally:
        vf.close()


def _tsv_records(path: Path, display: str) -> Iterator[tuple[int | None, list[str]]]:
    """Records of a variants TSV as ``(line, [chrom, pos, id, ref, alt])``."""
    cols: dict[str, int] | None = None
    for line_no, line in iter_text_lines(path, display, what="variants TSV"):
        if not line.strip():
            continue
        if cols is None:
            if line.startswith("##"):
                continue
            names = [c.strip().lower() for c in line.lstrip("#").split("\t")]
            if not set(TSV_COLUMNS) <= set(names):
                shown = line if len(line) <= 60 else line[:57] + "..."
                raise InputError(display, f"line {line_no}", (
                    "neither a VCF/BCF (no '##fileformat=VCF' first line) nor a variants TSV (a header "
                    f"naming the tab-separated columns chrom, pos, ref, alt and optionally id): {shown!r}"))
            cols = {c: names.index(c) for c in TSV_COLUMNS + ("id",) if c in names}
            need = max(cols.values()) + 1
            continue
        if line.startswith("#"):
            continue
        f = line.split("\t")
        if len(f) < need:
            raise InputError(display, f"line {line_no}", f"{len(f)} tab-separated column(s), the header has {need} or more")
        chrom, pos = f[cols["chrom"]].strip(), f[cols["pos"]].strip()
        ref, alt = f[cols["ref"]].strip(), f[cols["alt"]].strip()
        vid = f[cols["id"]].strip() if "id" in cols else "."
        if not chrom:
            raise InputError(display, f"line {line_no}", "empty chrom")
        if not pos.isdigit() or int(pos) < 1:
            raise InputError(display, f"line {line_no}", f"pos {pos!r} is not a 1-based position")
        if not ref or not alt or "" in alt.split(","):
            raise InputError(display, f"line {line_no}", "empty allele: write '-' for an empty REF or ALT")
        if ref == "-" and "-" in alt.split(","):
            raise InputError(display, f"line {line_no}", "REF and ALT both empty ('-')")
        yield line_no, [chrom, pos, vid or ".", ref, alt]
    if cols is None:
        raise InputError(display, None, "empty file: no VCF header and no TSV header 'chrom pos ref alt [id]'")


def read_variants(path: str | os.PathLike, fasta: Any, *, display: str | None = None) -> VariantSet:
    """Read the variants to score from a VCF/BCF or a variants TSV.

    Parameters
    ----------
    path
        A VCF (plain, bgzip with or without a tabix/CSI index) or BCF; or a tab-separated table
        with a header naming ``chrom``, ``pos``, ``ref``, ``alt`` and optionally ``id`` (any
        order, case-insensitive, a leading ``#`` allowed, other columns ignored; plain or gzip).
        In the TSV ``pos`` is 1-based and ``-`` marks an empty allele: ``chr1 101 - T`` inserts
        ``T`` after position 100 (VCF ``chr1 100 G GT`` where the FASTA has ``G`` at 100),
        ``chr1 101 A -`` deletes position 101 (``chr1 100 GA G``); at position 1 the following
        base anchors instead. A comma-separated ``alt`` lists several ALTs.
    fasta
        The reference: a path (plain or bgzip FASTA, ``.fai`` built when missing) or an open
        ``pysam.FastaFile``.
    display
        How to name ``path`` in messages (default: ``path``).

    Returns
    -------
    VariantSet
        ``variants`` (unique, normalised, FASTA-spelled), ``records`` (every record x ALT) and
        ``counts``; see :class:`VariantSet`. REFs are not compared with the FASTA here
        (:func:`check_ref` does).

    Raises
    ------
    InputError
        One line ``file: record: message``: unreadable or malformed input, or no record on a
        contig of the FASTA.
    """
    p = Path(path)
    display = display or os.fspath(path)
    fmt = _sniff(p, display)
    with _genome(fasta) as g:
        if fmt == "tsv":
            source: Iterator[tuple[int | None, list[str]]] = _tsv_records(p, display)
        else:
            _, source = vcf_header_and_records(p, display)
        rows: dict[str, list] = {c: [] for c in RECORD_COLUMNS}
        table: dict[str, tuple[str, int, str, str, bool]] = {}
        aliases: dict[str, str | None] = {}
        anchored: dict[int, tuple[int, str, list[str]]] = {}
        n_records = 0
        for line_no, f in source:
            chrom_in, pos_txt, vid, ref_in, alt_txt = f[0], f[1], f[2], f[3], f[4]
            try:
                pos_in = int(pos_txt)
            except ValueError:
                raise InputError(display, f"line {line_no}" if line_no else f"{chrom_in}:{pos_txt}",
                                 f"POS {pos_txt!r} is not a number") from None
            if chrom_in not in aliases:
                aliases[chrom_in] = alias_map(g.lengths, [chrom_in]).get(chrom_in)
            chrom = aliases[chrom_in]
            alts_in = alt_txt.split(",")
            ref = ref_in.upper()
            alts = [a.upper() for a in alts_in]
            pos = pos_in
            if fmt == "tsv":
                ref = "" if ref == "-" else ref
                alts = ["" if a == "-" else a for a in alts]
                pos, ref, alts = _anchor(g, chrom, pos, ref, alts)
                if pos != pos_in or ref != ref_in.upper():
                    anchored[n_records] = (pos, ref, alts)
            ref_ok = bool(_ACGTN.match(ref))
            for j, (a_in, alt) in enumerate(zip(alts_in, alts), start=1):
                reason = "unknown_contig" if chrom is None else _classify(alt)
                if reason is None and not ref_ok:
                    reason = "invalid_allele"
                if reason is None and alt == ref:
                    reason = "same_as_ref"
                key = None
                if reason is None:
                    vp, vr, va = normalise(g, chrom, pos, ref, alt)
                    key = _key(chrom, vp, vr, va)
                    if key not in table:
                        table[key] = (chrom, vp, vr, va, False)
                rows["record_index"].append(n_records)
                rows["alt_index"].append(j)
                rows["line"].append(line_no)
                rows["input_chrom"].append(chrom_in)
                rows["input_pos"].append(pos_in)
                rows["input_id"].append(vid if vid else ".")
                rows["input_ref"].append(ref_in)
                rows["input_alt"].append(a_in)
                rows["chrom"].append(chrom)
                rows["key"].append(key)
                rows["skip_reason"].append(reason)
                rows["flipped"].append(False)
            n_records += 1
        unknown = [c for c, m in aliases.items() if m is None]
        if n_records and len(unknown) == len(aliases):
            raise InputError(display, None, (
                f"no contig of the variants ({_first5(unknown)}) is in the FASTA "
                f"{g.display} ({_first5(list(g.lengths))}): wrong genome?"))
        vs = _assemble(
            dict(path=os.fspath(path), display=display, format=fmt, fasta=g.path,
                 aliases={c: m for c, m in aliases.items() if m is not None}),
            rows, table, g.lengths, {"records": n_records},
        )
        vs._anchored = anchored
    c = vs.counts
    if unknown:
        log.warning("%s: %d variant(s) on %d contig(s) absent from the FASTA skipped: %s",
                    display, c["unknown_contig"], len(unknown), _first5(unknown))
    skipped = {r: c[r] for r in SKIP_REASONS if c[r] and r != "unknown_contig"}
    log.log(logging.WARNING if skipped else logging.DEBUG,
            "%s: %d record(s), %d ALT(s), %d unique variant(s) (%d duplicate(s))%s", display, c["records"],
            c["alts"], c["unique"], c["duplicates"],
            "; skipped: " + ", ".join(f"{k} {v}" for k, v in skipped.items()) if skipped else "")
    if n_records == 0:
        log.warning("%s: no variant records", display)
    return vs


def _first5(items: list[str]) -> str:
    shown = ", ".join(items[:5])
    return shown + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")


# --------------------------------------------------------------------------------------------
# REF against the FASTA
# --------------------------------------------------------------------------------------------
def check_ref(vs: VariantSet, fasta: Any, policy: str = "error", display: str | None = None) -> VariantSet:
    """Compare each input REF with the FASTA (case-insensitive).

    The REF checked is the input's own (before trimming, so a mismatch in a base that
    normalisation would drop still counts); a TSV's empty REF (``-``) has nothing to compare. A
    REF whose FASTA span holds an N, or whose normalised variant's REF does, is ``ref_on_n``; a
    REF beyond the contig's end is a mismatch.

    Parameters
    ----------
    vs
        From :func:`read_variants`.
    fasta
        The same reference (path or open ``pysam.FastaFile``).
    policy
        ``'error'``: the first bad record (in input order) is a one-line :class:`InputError`
        naming the file, the record (``chr1:12345`` as the input spells it; ``line N (...)`` for a
        TSV) and both alleles. ``'skip'``: bad ALTs get ``skip_reason`` ``ref_mismatch`` or
        ``ref_on_n`` and are counted. ``'flip'``: an ALT that matches the FASTA (same length as
        the REF) is swapped with the REF and marked ``flipped`` (the scoring negates its scores);
        other mismatches are skipped as under ``'skip'``.
    display
        How to name the variants file in errors (default: ``vs.display``).

    Returns
    -------
    VariantSet
        A new set: ``records`` with updated ``key``, ``skip_reason`` and ``flipped``;
        ``variants`` rebuilt from the records kept; ``counts`` updated (``ref_mismatch``,
        ``ref_on_n``, ``flipped``, ``kept``, ``unique``, ``duplicates``).

    Raises
    ------
    InputError
        Under ``'error'``, for the first REF that differs from the FASTA or lies on N.
    """
    if policy not in ("error", "skip", "flip"):
        raise ValueError(f"policy must be 'error', 'skip' or 'flip', not {policy!r}")
    display = display or vs.display
    rec = vs.records
    rows = {c: rec[c].tolist() for c in RECORD_COLUMNS}
    rows["key"] = [None if pd.isna(k) else k for k in rows["key"]]
    rows["skip_reason"] = [None if pd.isna(r) else r for r in rows["skip_reason"]]
    rows["line"] = [None if pd.isna(x) else int(x) for x in rows["line"]]
    table = dict(vs._table)
    tsv = vs.format == "tsv"
    with _genome(fasta) as g:
        for i in range(len(rec)):
            key = rows["key"][i]
            if key is None:
                continue
            chrom, pos = rows["chrom"][i], rows["input_pos"][i]
            ref_in, alt_in = rows["input_ref"][i].upper(), rows["input_alt"][i].upper()
            if tsv:
                ref_in, alt_in = ("" if ref_in == "-" else ref_in), ("" if alt_in == "-" else alt_in)
            n = g.lengths[chrom]
            end = pos - 1 + len(ref_in)
            beyond = pos < 1 or end > n or (not ref_in and pos > n + 1)
            fa = "" if beyond else g.seq(chrom, pos - 1, end)
            v = table[key]
            if beyond:
                reason = "ref_mismatch"
            elif "N" in fa or "N" in v[2]:
                reason = "ref_on_n"
            elif fa != ref_in:
                reason = "ref_mismatch"
            else:
                continue
            if policy == "error":
                where = f"{rows['input_chrom'][i]}:{pos}"
                if rows["line"][i] is not None and tsv:
                    where = f"line {rows['line'][i]} ({where})"
                shown = ref_in or "-"
                at = f" at {chrom}:{pos}" if chrom != rows["input_chrom"][i] else ""  # the FASTA's spelling
                if beyond:
                    msg = (f"REF {shown!r} lies beyond the end of {chrom} ({n} bp) in the FASTA "
                           "(wrong genome build?)")
                elif reason == "ref_on_n":
                    msg = (f"REF {shown!r} vs FASTA {fa or v[2]!r}{at}: FASTA is N there (assembly gap or masked "
                           "region; the 'skip' policy leaves such variants out)")
                else:
                    msg = f"REF {shown!r} != FASTA {fa!r}{at} (wrong genome build or unnormalised input?)"
                raise InputError(display, where, msg)
            if (policy == "flip" and reason == "ref_mismatch" and alt_in and len(alt_in) == len(ref_in)
                    and alt_in == fa and _ACGTN.match(alt_in)):
                vp, vr, va = normalise(g, chrom, pos, alt_in, ref_in)
                # the key keeps the input's orientation: no variant whose REF matches the FASTA has it
                fkey = _key(chrom, vp, va, vr)
                table[fkey] = (chrom, vp, vr, va, True)
                rows["key"][i] = fkey
                rows["flipped"][i] = True
                continue
            rows["key"][i] = None
            rows["skip_reason"][i] = reason
        fields = dict(path=vs.path, display=vs.display, format=vs.format, fasta=vs.fasta, aliases=dict(vs.aliases))
        out = _assemble(fields, rows, table, vs.contigs or g.lengths, {"records": vs.counts["records"]})
        out._anchored = vs._anchored
    c = out.counts
    if c["ref_mismatch"] or c["ref_on_n"] or c["flipped"]:
        log.warning("%s: REF vs FASTA (%s): %d mismatch(es) and %d on N skipped, %d flipped; %d unique variant(s) left",
                    display, policy, c["ref_mismatch"], c["ref_on_n"], c["flipped"], c["unique"])
    return out


__all__ = ["COUNT_KEYS", "SKIP_REASONS", "VariantSet", "check_ref", "normalise", "read_variants",
           "vcf_header_and_records"]
