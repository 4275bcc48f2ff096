"""VCF/BCF: opening, records of a region as raw text, genotypes, sample matching.

Every reader of the cohort VCF goes through this module: the personal haplotype builder
(:mod:`seq2func.personal.haplotypes`), the PredictDB baseline (:mod:`seq2func.personal.baselines.predictdb`),
the benchmark's sample list and VALIDATE.

* :func:`open_vcf` opens a VCF, VCF.gz (bgzip) or BCF with pysam. What htslib prints on standard
  error is captured (:class:`seq2func.io.text.CStderr`), never shown: a failure is one
  :class:`~seq2func.errors.InputError` line ``file: message`` with htslib's words folded in; a gzip
  (not bgzip) file is an error that says how to recompress it; an absent index is not an error
  (htslib's ``Could not retrieve index file`` is dropped).
* :class:`VcfText` holds what every reader needs: the samples, the contigs (header, index and, for
  an unindexed file, its records), the alias-mapped spelling of a contig (``22`` <-> ``chr22``)
  and :meth:`VcfText.lines`, the raw text of the records of a region -- through tabix for an
  indexed VCF.gz (the file's own lines: no parse and re-format; read in batches with htslib's
  stderr captured, so a corrupt BGZF block is one error line), through pysam for an indexed BCF
  (htslib's stderr captured per batch of records), and from a cache filled once for an unindexed
  file (read as text for a VCF, through pysam with stderr captured for a BCF; one logged warning).
* :func:`parse_genotypes` decodes the GT of many records at once from their text (fast paths for
  ``a|b`` with one-digit alleles); :func:`genotype_texts` makes its input from split records,
  extracting GT when it is not the first FORMAT key.
* :func:`match_samples` and :func:`vcf_samples`: wanted sample IDs against the VCF's.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pysam

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.io.text import GZIP_ERRORS, CStderr, is_bgzip, is_gzip, open_bytes

log = logging.getLogger(__name__)

MISSING = -1  #: allele code of ``.``
ABSENT = -2  #: allele code of the second allele of a haploid genotype
_BATCH = 1024  # records parsed by pysam per capture of htslib's stderr
_NOT_VCF = "not a VCF/BCF file (it must start with a '##fileformat=VCF' header line) or corrupt"


# --------------------------------------------------------------------------------------------
# opening
# --------------------------------------------------------------------------------------------
def _gzip_fix(path: Path) -> str:
    name = path.name
    if name.endswith(".gz") and len(name) > 3:
        plain = name[:-3]
        cmd = f"gunzip {name} && bgzip {plain} && tabix -p vcf {plain}.gz"
    else:
        out = (name.split(".")[0] or "cohort") + ".vcf.gz"
        cmd = f"gunzip -c {name} | bgzip > {out} && tabix -p vcf {out}"
    return f"compressed with gzip, not bgzip: recompress with '{cmd}'"


def _htslib_detail(cap: CStderr, err: BaseException | None = None) -> str:
    """htslib's error lines (``[E::func]`` prefix stripped) joined, else the exception's text."""
    msgs: list[str] = []
    for m in cap.messages("E"):
        if m.startswith("Failed to open file"):
            continue
        if msgs and msgs[-1].endswith(":"):  # a message continued on the next line
            msgs[-1] += " " + m
        elif m not in msgs:
            msgs.append(m)
    return "; ".join(msgs) or (str(err) if err is not None else "")


def open_vcf(path: str | os.PathLike, display: str | None = None) -> pysam.VariantFile:
    """Open a VCF, bgzipped VCF or BCF with pysam, nothing of htslib's reaching standard error.

    Parameters
    ----------
    path
        The file. Its index (``.tbi``/``.csi``) is loaded when present; none is not an error.
    display
        How to name the file in errors (default: ``path``).

    Returns
    -------
    pysam.VariantFile
        Open for reading, header parsed.

    Raises
    ------
    InputError
        One line: the file is absent, compressed with gzip instead of bgzip (with the commands that
        fix it), not a VCF/BCF, or unreadable; htslib's own message folded in where it has one.
    """
    p = Path(path)
    display = display or os.fspath(path)
    if not p.exists():
        raise InputError(display, None, "file not found")
    if p.is_dir():
        raise InputError(display, None, "is a directory, not a VCF/BCF file")
    try:
        if is_gzip(p) and not is_bgzip(p):
            raise InputError(display, None, _gzip_fix(p))
    except OSError as err:
        raise InputError(display, None, f"cannot read: {err.strerror or err}") from None
    cap = CStderr()
    try:
        with cap:
            vf = pysam.VariantFile(os.fspath(p))
    except (OSError, ValueError, NotImplementedError) as err:
        detail = _htslib_detail(cap, err)
        no_htslib_words = isinstance(err, ValueError) and not cap.messages("E")
        if no_htslib_words or "invalid file" in detail or "format error" in detail.lower():
            detail = _NOT_VCF
        raise InputError(display, None, f"cannot open as VCF/BCF: {detail}") from None
    for msg in dict.fromkeys(cap.messages()):
        if "Could not retrieve index file" in msg:
            continue  # no index: the caller decides (VcfText reads the file whole)
        if "older than the data file" in msg:
            log.warning("%s: %s", display, msg)
        else:
            log.debug("%s: htslib: %s", display, msg)
    return vf


def vcf_samples(path: str | os.PathLike, display: str | None = None) -> list[str]:
    """The sample IDs of a VCF/BCF header, in column order.

    Parameters
    ----------
    path
        The VCF/BCF.
    display
        How to name the file in errors (default: ``path``).

    Returns
    -------
    list of str
        The header's samples (empty for a sites-only VCF).
    """
    vf = open_vcf(path, display)
    try:
        return list(vf.header.samples)
    finally:
        vf.close()


# --------------------------------------------------------------------------------------------
# samples
# --------------------------------------------------------------------------------------------
def _first5(items: Sequence[str]) -> str:
    shown = ", ".join(items[:5])
    return shown + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")


def match_samples(
    vcf_samples: Sequence[str],
    wanted: Iterable[str],
    *,
    path: str | os.PathLike | None = None,
    missing: str = "error",
) -> list[int]:
    """Indices into ``vcf_samples`` of the ``wanted`` sample IDs, in ``wanted`` order.

    Parameters
    ----------
    vcf_samples
        The VCF's sample IDs, in column order.
    wanted
        The IDs wanted, in output order; duplicates are an error.
    path
        The file named in errors and warnings.
    missing
        ``'error'``: one :class:`InputError` listing the wanted IDs absent from the VCF (first 5,
        then a count); ``'drop'``: leave them out with a warning.

    Returns
    -------
    list of int
        Column indices of the wanted samples present in the VCF.
    """
    if missing not in ("error", "drop"):
        raise ValueError(f"missing must be 'error' or 'drop', not {missing!r}")
    index = {s: i for i, s in enumerate(vcf_samples)}
    wanted = list(wanted)
    dups = sorted({w for w in wanted if wanted.count(w) > 1}) if len(set(wanted)) != len(wanted) else []
    if dups:
        raise InputError(path, "samples", f"duplicated sample ID(s): {_first5(dups)}")
    absent = [w for w in wanted if w not in index]
    if absent:
        msg = (
            f"{len(absent)} of {len(wanted)} sample(s) not in the VCF ({len(index)} samples there): "
            f"{_first5(absent)}"
        )
        if missing == "error":
            raise InputError(path, "samples", msg)
        log.warning("%s: %s; leaving them out", path or "VCF", msg)
    return [index[w] for w in wanted if w in index]


# --------------------------------------------------------------------------------------------
# records of a region
# --------------------------------------------------------------------------------------------
@dataclass
class _Cached:
    """The records of one contig of an unindexed file, in file order."""

    lines: list[str] = field(default_factory=list)
    pos0: list[int] = field(default_factory=list)
    span: list[int] = field(default_factory=list)  # reference bases covered (REF, or INFO/END)
    ordered: bool = True  # POS never decreases
    max_span: int = 1

    def add(self, line: str, pos0: int, span: int) -> None:
        if self.pos0 and pos0 < self.pos0[-1]:
            self.ordered = False
        self.lines.append(line)
        self.pos0.append(pos0)
        self.span.append(span)
        self.max_span = max(self.max_span, span)

    def region(self, start0: int, end0: int, overlapping: bool) -> list[str]:
        if self.ordered:
            lo = bisect.bisect_left(self.pos0, start0 - self.max_span + 1 if overlapping else start0)
            hi = bisect.bisect_left(self.pos0, end0)
            idx: Iterable[int] = range(lo, hi)
        else:
            idx = (i for i, p in enumerate(self.pos0) if p < end0)
        pos0, span, lines = self.pos0, self.span, self.lines
        return [
            lines[i] for i in idx if pos0[i] >= start0 or (overlapping and pos0[i] + span[i] > start0)
        ]


def _record_span(pos0: int, ref: str, info: str) -> int:
    """Reference bases a record covers, as tabix counts them: REF, or up to INFO/END when longer."""
    span = max(len(ref), 1)
    if "END=" in info:
        for kv in info.split(";"):
            if kv.startswith("END="):
                try:
                    span = max(span, int(kv[4:]) - pos0)
                except ValueError:
                    pass
                break
    return span


class VcfText:
    """A VCF/BCF open for reading records of regions as raw text.

    Parameters
    ----------
    path
        VCF, bgzipped VCF (tabix or CSI index, or none) or BCF (CSI index, or none).
    display
        How to name the file in errors and warnings (default: ``path``).

    Attributes
    ----------
    path : str
        The file.
    samples : list of str
        The header's samples, in column order.
    contigs : list of str
        Contigs of the header, then of the index, then (unindexed files) of the records.
    index : bool
        Whether the file has an index; an unindexed file is read whole at opening.
    is_bcf : bool
        BCF rather than VCF text.
    """

    def __init__(self, path: str | os.PathLike, display: str | None = None) -> None:
        self.path = os.fspath(path)
        self.display = display or self.path
        self._tabix: pysam.TabixFile | None = None
        self._vf: pysam.VariantFile | None = open_vcf(self.path, self.display)
        self._cache: dict[str, _Cached] | None = None
        self._memo: dict[str, str | None] = {}
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self) -> None:
        vf = self._vf
        self.samples: list[str] = list(vf.header.samples)
        self.is_bcf = bool(vf.is_bcf)
        self.index = vf.index is not None
        contigs = list(vf.header.contigs)
        fetchable: list[str] = []
        if self.index:
            if not self.is_bcf:
                cap = CStderr()
                try:
                    with cap:
                        self._tabix = pysam.TabixFile(self.path)  # raw lines: no parse + re-format
                    fetchable = list(self._tabix.contigs)
                except (OSError, ValueError):
                    self._tabix = None  # an index tabix cannot read: records through pysam
            if self._tabix is None:
                try:
                    fetchable = list(vf.index.keys())
                except (OSError, ValueError):
                    fetchable = []
                fetchable += [c for c in contigs if c not in set(fetchable)]
        else:
            log.warning("%s has no index: reading it whole (bgzip + tabix it for speed)", self.display)
            self._cache = self._read_bcf() if self.is_bcf else self._read_text()
            fetchable = list(self._cache)
        self._fetchable = set(fetchable)
        seen = set(contigs)
        self.contigs: list[str] = contigs + [c for c in dict.fromkeys(fetchable) if c not in seen]

    # -- plumbing ----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the file (idempotent)."""
        for h in (self._tabix, self._vf):
            if h is not None:
                h.close()
        self._tabix = self._vf = None

    def __enter__(self) -> "VcfText":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_text(self) -> dict[str, _Cached]:
        """Every record of an unindexed text VCF, as written (no htslib involved)."""
        cache: dict[str, _Cached] = {}
        line_no = 0
        try:
            with open_bytes(self.path) as fh:
                for line_no, raw in enumerate(fh, start=1):
                    if raw[:1] == b"#" or not raw.strip():
                        continue
                    line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                    f = line.split("\t", 8)
                    if len(f) < 8:
                        raise InputError(
                            self.display, f"line {line_no}", f"{len(f)} tab-separated column(s), a VCF record has 8 or more"
                        )
                    try:
                        pos0 = int(f[1]) - 1
                    except ValueError:
                        raise InputError(self.display, f"line {line_no}", f"POS {f[1]!r} is not a number") from None
                    c = cache.get(f[0])
                    if c is None:
                        c = cache[f[0]] = _Cached()
                    c.add(line, pos0, _record_span(pos0, f[3], f[7]))
        except GZIP_ERRORS as err:
            raise InputError(self.display, f"line {line_no + 1}", f"corrupt or truncated gzip data: {err}") from None
        except OSError as err:
            raise InputError(self.display, None, f"cannot read: {err.strerror or err}") from None
        return cache

    def _read_bcf(self) -> dict[str, _Cached]:
        """Every record of an unindexed BCF, formatted as VCF text by htslib."""
        cache: dict[str, _Cached] = {}
        cap = CStderr()
        n = 0
        try:
            with cap:
                for n, r in enumerate(self._vf, start=1):
                    c = cache.get(r.chrom)
                    if c is None:
                        c = cache[r.chrom] = _Cached()
                    c.add(str(r).rstrip("\n"), r.pos - 1, max(int(r.rlen), 1))
        except (OSError, ValueError) as err:
            raise InputError(self.display, f"record {n + 1}", f"cannot read BCF record: {_htslib_detail(cap, err)}") from None
        for msg in dict.fromkeys(cap.messages()):
            log.debug("%s: htslib: %s", self.display, msg)
        return cache

    # -- queries -----------------------------------------------------------------------------
    def contig(self, name: str) -> str | None:
        """The file's spelling of contig ``name``, or None when it has none.

        Parameters
        ----------
        name
            A contig as another file spells it (``22``, ``chr22``, ``MT``, ...).

        Returns
        -------
        str or None
            ``name`` itself when the VCF has it; else the VCF contig with the same
            :func:`seq2func.chroms.canonical` key (``22`` <-> ``chr22``, ``MT`` <-> ``chrM``).
        """
        try:
            return self._memo[name]
        except KeyError:
            hit = self._memo[name] = alias_map(self.contigs, [name]).get(name)
            return hit

    def lines(self, contig: str, start0: int, end0: int, *, overlapping: bool = True) -> Iterator[str]:
        """Raw text (no newline) of the records of ``contig`` in ``[start0, end0)`` (0-based, half-open).

        Parameters
        ----------
        contig
            The VCF's spelling (see :meth:`contig`); an absent contig has no records.
        start0, end0
            The region, 0-based, half-open.
        overlapping
            True: every record whose reference span (REF, or up to INFO/END) overlaps the region,
            as tabix and ``bcftools view -r`` return them; False: only records whose POS lies in it.

        Returns
        -------
        iterator of str
            Record lines in file order. Indexed VCF.gz: the file's own text (tabix); BCF: htslib's
            VCF formatting; unindexed files: from the cache filled at opening.
        """
        start0, end0 = max(0, int(start0)), int(end0)
        if end0 <= start0:
            return iter(())
        if self._cache is not None:
            c = self._cache.get(contig)
            return iter(c.region(start0, end0, overlapping) if c is not None else ())
        if contig not in self._fetchable:
            return iter(())
        return self._fetch(contig, start0, end0, overlapping)

    def _fetch(self, contig: str, start0: int, end0: int, overlapping: bool) -> Iterator[str]:
        """Records from the index, read in batches of :data:`_BATCH`, each with htslib's stderr
        captured. Tabix gives the file's own lines (nothing parsed; htslib speaks only about a
        corrupt BGZF block); records parsed by pysam (BCF, or a VCF.gz whose index tabix cannot
        read) may draw warnings about undeclared tags and the like."""
        where = f"{contig}:{start0 + 1}-{end0}"
        if self._tabix is not None:
            try:
                it = self._tabix.fetch(contig, start0, end0)
            except ValueError:  # a region the index cannot query
                return
            while True:  # batches read with htslib's stderr captured: a corrupt BGZF block is one error line
                cap = CStderr()
                try:
                    with cap:
                        batch = list(itertools.islice(it, _BATCH))
                except (OSError, ValueError) as err:
                    raise InputError(self.display, where,
                                     f"cannot read records (corrupt bgzip data?): {_htslib_detail(cap, err)}") from None
                if overlapping:
                    yield from batch
                else:
                    for line in batch:
                        if int(line.split("\t", 2)[1]) - 1 >= start0:
                            yield line
                if len(batch) < _BATCH:
                    return
        cap = CStderr()
        try:
            with cap:
                records = self._vf.fetch(contig, start0, end0)
                batch = [str(r).rstrip("\n") for r in itertools.islice(records, _BATCH)]
        except ValueError:  # a contig the index cannot query
            return
        except OSError as err:
            raise InputError(self.display, where, f"cannot read records: {_htslib_detail(cap, err)}") from None
        while True:
            if overlapping:
                yield from batch
            else:
                for line in batch:
                    if int(line.split("\t", 2)[1]) - 1 >= start0:
                        yield line
            if len(batch) < _BATCH:
                return
            cap = CStderr()
            try:
                with cap:
                    batch = [str(r).rstrip("\n") for r in itertools.islice(records, _BATCH)]
            except (OSError, ValueError) as err:
                raise InputError(self.display, where, f"cannot read records: {_htslib_detail(cap, err)}") from None


# --------------------------------------------------------------------------------------------
# genotypes
# --------------------------------------------------------------------------------------------
class Where:
    """``where[i]`` -> ``(file, "chrom:pos")`` of record ``i``, built only when an error needs it.

    Parameters
    ----------
    path
        The file named in errors.
    chrom
        The records' contig.
    pos0
        0-based POS of each record.
    """

    def __init__(self, path: str, chrom: str, pos0: Sequence[int]) -> None:
        self.path, self.chrom, self.pos0 = path, chrom, pos0

    def __getitem__(self, i: int) -> tuple[str, str]:
        return self.path, f"{self.chrom}:{self.pos0[i] + 1}"


def genotype_texts(records: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray]:
    """The input of :func:`parse_genotypes` from records split on tabs (``line.split("\\t", 9)``).

    Parameters
    ----------
    records
        Per record its columns, the sample columns left joined in column 10.

    Returns
    -------
    texts : list of str
        Per record its sample columns, tab-separated, each cell starting with GT: the record's
        own text when GT is the first FORMAT key (as the VCF specification requires); the GT
        subfield of every cell when GT comes later (``.`` for a cell that stops before it).
    has_gt : numpy.ndarray
        Per record (bool) whether FORMAT has GT; records without keep the reference.
    """
    texts = [f[9] if len(f) > 9 else "" for f in records]
    has_gt = np.fromiter(
        (len(f) > 8 and (f[8] == "GT" or f[8].startswith("GT:")) for f in records), dtype=bool, count=len(records)
    )
    if not has_gt.all():
        for i in np.flatnonzero(~has_gt).tolist():
            f = records[i]
            keys = f[8].split(":") if len(f) > 9 else []
            if "GT" in keys:
                k = keys.index("GT")
                texts[i] = "\t".join(_subfield(cell, k) for cell in f[9].split("\t"))
                has_gt[i] = True
    return texts, has_gt


def _subfield(cell: str, k: int) -> str:
    parts = cell.split(":", k + 1)
    return parts[k] if len(parts) > k and parts[k] else "."


def _parse_allele(text: str, where: tuple) -> int:
    if text == ".":
        return MISSING
    if not text.isdigit():
        raise InputError(where[0], where[1], f"bad GT allele {text!r}")
    value = int(text)
    if value > 32000:
        raise InputError(where[0], where[1], f"GT allele index {value} too large")
    return value


def _parse_gt_slow(field_text: str, where: tuple) -> tuple[int, int, bool]:
    gt = field_text.split(":", 1)[0]
    if gt in ("", "."):
        return MISSING, ABSENT, True
    parts = re.split(r"[|/]", gt)
    seps = re.findall(r"[|/]", gt)
    if gt.startswith(("|", "/")):  # VCF 4.4 explicit phasing of the first allele
        parts = parts[1:]
        seps = seps[1:]
    a1 = _parse_allele(parts[0], where)
    a2 = _parse_allele(parts[1], where) if len(parts) > 1 else ABSENT
    return a1, a2, all(s == "|" for s in seps)


def parse_genotypes(
    texts: list[str],
    has_gt: np.ndarray,
    n_all: int,
    sel: np.ndarray,
    where,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GT of the selected sample columns of every record, vectorised over the raw text.

    Fast path: one-digit diploid (``a|b``, ``a/b``) and haploid genotypes straight from the bytes;
    anything else (multi-digit alleles, polyploid, VCF 4.4 prefixes) through a slow per-cell parse.
    When every cell is three bytes the fields sit at fixed offsets and no delimiter scan is needed;
    when moreover every genotype is phased with one-digit alleles (``0|1``), two subtractions decode
    the whole matrix.

    Parameters
    ----------
    texts
        ``texts[i]`` holds the sample columns of record ``i`` (tab-separated, FORMAT removed, GT
        first in every cell; see :func:`genotype_texts`).
    has_gt
        ``(n_records,)`` bool: records without GT get ``.`` (bcftools keeps the reference).
    n_all
        Sample columns in the header.
    sel
        ``(n_selected,)`` int64 column indices of the samples wanted, in output order.
    where
        ``where[i]`` -> ``(file, "chrom:pos")`` of record ``i`` (:class:`Where`), for errors.

    Returns
    -------
    a1, a2 : numpy.ndarray
        ``(n_records, n_selected)`` int16 allele indices: :data:`MISSING` (-1) for ``.``,
        :data:`ABSENT` (-2) as the second allele of a haploid genotype.
    phased : numpy.ndarray
        ``(n_records, n_selected)`` bool; haploid and missing genotypes count as phased.

    Raises
    ------
    InputError
        ``file: chrom:pos: message`` for a malformed GT allele or a record whose number of sample
        columns differs from the header's.
    """
    n, ns = len(texts), len(sel)
    if n == 0 or ns == 0:
        return (
            np.full((n, ns), MISSING, dtype=np.int16),
            np.full((n, ns), ABSENT, dtype=np.int16),
            np.ones((n, ns), dtype=bool),
        )
    blob = "\n".join(itertools.chain(texts, ("",))).encode("ascii", errors="replace")
    size = len(blob)
    everyone = ns == n_all and bool((sel == np.arange(n_all)).all())
    arr = np.frombuffer(blob, dtype=np.uint8)
    # fixed layout: every fourth byte a delimiter (tab or newline, the only bytes <= 10 in VCF
    # text), no other byte one, and each record's last cell followed by its newline
    fixed = (
        size == 4 * n * n_all
        and bool((arr[4 * n_all - 1 :: 4 * n_all] == 10).all())
        and bool((arr.view("<u4") < 0x0B000000).all())
        and int(np.count_nonzero(arr <= 10)) == n * n_all
    )
    if fixed:
        pairs = arr.view("<u2").reshape(n, n_all, 2)  # (c0 | c1 << 8, c2 | c3 << 8) of each cell
        if not everyone:
            pairs = pairs[:, sel]
        with np.errstate(over="ignore"):
            x1 = pairs[..., 0] - np.uint16(0x7C30)  # < 10 iff "d|": c0 a digit, c1 '|'
            x2 = (pairs[..., 1] & np.uint16(0xFF)) - np.uint16(0x30)  # < 10 iff c2 a digit
        if bool((x1 < 10).all()) and bool((x2 < 10).all()):
            a1, a2, phased = x1.view(np.int16), x2.view(np.int16), np.ones((n, ns), dtype=bool)
            if not has_gt.all():  # no GT in FORMAT: bcftools keeps the reference
                a1[~has_gt] = MISSING
                a2[~has_gt] = ABSENT
            return a1, a2, phased
        v = arr.reshape(n, n_all, 4)
        if not everyone:
            v = v[:, sel]
        c0, c1, c2, c3 = v[..., 0], v[..., 1], v[..., 2], v[..., 3]
    else:
        arr = np.frombuffer(blob + b"\n\n\n\n", dtype=np.uint8)
        delim = np.flatnonzero(arr[:size] <= 10)
        if delim.size != n * n_all:
            counts = [t.count("\t") + 1 for t in texts]
            bad = next(i for i, c in enumerate(counts) if c != n_all)
            raise InputError(*where[bad], f"{counts[bad]} sample columns, header has {n_all}")
        flat_starts = np.empty_like(delim)
        flat_starts[0] = 0
        flat_starts[1:] = delim[:-1] + 1
        starts = flat_starts.reshape(n, n_all)
        s = starts if everyone else starts[:, sel]
        c0, c1, c2, c3 = arr[s], arr[s + 1], arr[s + 2], arr[s + 3]

    def is_term(c):
        return (c == 58) | (c == 9) | (c == 10)

    dig0, dot0 = (c0 >= 48) & (c0 <= 57), c0 == 46
    dig2, dot2 = (c2 >= 48) & (c2 <= 57), c2 == 46
    ok0 = dig0 | dot0
    dip = ok0 & ((c1 == 124) | (c1 == 47)) & (dig2 | dot2) & is_term(c3)
    hap = ok0 & is_term(c1)
    a1 = np.where(dot0, MISSING, c0.astype(np.int16) - 48).astype(np.int16, copy=False)
    a2 = np.where(dip, np.where(dot2, MISSING, c2.astype(np.int16) - 48), ABSENT).astype(np.int16, copy=False)
    phased = ~dip | (c1 == 124)
    slow = ~(dip | hap) & has_gt[:, None]
    if slow.any():
        if fixed:
            s = 4 * (np.arange(n, dtype=np.int64)[:, None] * n_all + sel[None, :])
            e = s + 3
        else:
            e = delim.reshape(n, n_all)[:, sel]
        for i, j in zip(*np.nonzero(slow)):
            cell = blob[s[i, j] : e[i, j]].decode("ascii", errors="replace")
            a1[i, j], a2[i, j], phased[i, j] = _parse_gt_slow(cell, where[i])
    if not has_gt.all():  # no GT in FORMAT: bcftools keeps the reference
        a1[~has_gt] = MISSING
        a2[~has_gt] = ABSENT
        phased[~has_gt] = True
    return a1, a2, phased


def record_contigs(path: str | os.PathLike, display: str | None = None) -> list[str]:
    """The contigs that hold records, in file order: from the index when there is one (tabix or
    CSI), else by reading the file (an unindexed file is read whole; header-only contigs are not
    listed).

    Parameters
    ----------
    path
        VCF, bgzipped VCF or BCF.
    display
        How to name the file in errors.

    Returns
    -------
    list of str
        Contig names as the file spells them.
    """
    with VcfText(path, display) as vt:
        if vt._cache is not None:
            return [c for c, cached in vt._cache.items() if cached.lines]
        return [c for c in vt.contigs if c in vt._fetchable]  # a BCF's CSI index may add header contigs
