"""VCFs and variant tables: REF alleles against the FASTA, genotype fields, record limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.io.fasta import Genome
from seq2func.io.text import CStderr, iter_text_lines
from seq2func.io.vcf import open_vcf
from seq2func.validate.contigs import check_contigs
from seq2func.validate.messages import Warnings, preview
from seq2func.variants.records import check_ref, read_variants

DEFAULT_MAX_VCF_RECORDS = 10_000


def _open_vcf(path: Path, display: str):
    return open_vcf(path, display)


def check_vcf(
    path: Path,
    display: str,
    genome: Genome | None,
    warnings: Warnings,
    *,
    cohort: bool = False,
    max_records: int = DEFAULT_MAX_VCF_RECORDS,
) -> dict[str, Any]:
    """Open a VCF/BCF, check its contigs and REF alleles (first ``max_records`` records, spread
    over contigs when indexed) against the FASTA; for a cohort VCF, GT and samples.

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
    cohort : bool, optional
        A cohort VCF: it must have samples, unique sample IDs and a GT field.
    max_records : int, optional
        Most records read (spread over the indexed contigs: at least 100 per contig).

    Returns
    -------
    dict
        ``kind``, ``samples``, ``records_checked``, ``ref_checked``, ``records_on_unknown_contigs``,
        the contig report with a genome, and the private ``_samples``.

    Raises
    ------
    InputError
        On an unreadable header or record, a bad cohort header, no records, a position past a contig's
        end, or a REF that differs from the FASTA.
    """
    vf = _open_vcf(path, display)
    cap = CStderr()
    try:
        with cap:
            header = vf.header
            samples = list(header.samples)
            has_gt = "GT" in header.formats
            header_contigs = {c: (header.contigs[c].length if header.contigs[c].length else None) for c in header.contigs}
            index_contigs: list[str] = []
            if vf.index is not None:
                index_contigs = list(vf.index.keys())
    except (OSError, ValueError) as err:
        raise InputError(display, None, f"cannot read VCF header: {err}") from None
    if cohort:
        if not samples:
            raise InputError(display, "header", "cohort VCF has no sample columns")
        if not has_gt:
            raise InputError(display, "header", "cohort VCF has no GT (genotype) FORMAT field")
        dup = sorted({s for s in samples if samples.count(s) > 1})
        if dup:
            raise InputError(display, "header", f"duplicate sample IDs {preview(dup)}")

    contigs: dict[str, int | None] = dict(header_contigs)
    for c in index_contigs:
        contigs.setdefault(c, None)
    checked = skipped = 0
    amap: dict[str, str] = alias_map(genome.names, contigs) if genome is not None else {}

    def records() -> Iterator[Any]:
        if index_contigs:
            per = max(100, max_records // max(1, len(index_contigs)))
            for c in index_contigs:
                it = vf.fetch(c)
                for i, rec in enumerate(it):
                    if i >= per:
                        break
                    yield rec
        else:
            for i, rec in enumerate(vf):
                if i >= max_records:
                    break
                yield rec

    n = 0
    last = "the header"
    seen_contigs: set[str] = set()
    it = records()
    failure: Exception | None = None
    cap = CStderr()
    with cap:
        while True:
            try:
                rec = next(it, None)
                if rec is not None:
                    chrom, pos, ref = rec.chrom, rec.pos, rec.ref
            except (OSError, ValueError) as err:
                failure = err
                break
            if rec is None:
                break
            n += 1
            last = f"{chrom}:{pos}"
            seen_contigs.add(chrom)
            if chrom not in contigs:
                contigs[chrom] = None
                if genome is not None:
                    amap = alias_map(genome.names, contigs)
            if genome is None or ref is None:
                continue
            g = amap.get(chrom)
            if g is None:
                skipped += 1
                continue
            glen = genome.lengths[g]
            if pos < 1 or pos > glen:
                raise InputError(display, f"{chrom}:{pos}", f"position beyond the end of {g} (length {glen} in {genome.display}): another assembly?")
            fa = genome.fetch(g, pos - 1, min(glen, pos - 1 + len(ref))).upper()
            r = ref.upper()
            if len(fa) < len(r) or any(a != b and a in "ACGT" and b in "ACGT" for a, b in zip(r, fa)):
                where = f" ({genome.display} {g}:{pos})" if g != chrom else ""
                raise InputError(display, f"{chrom}:{pos}", f"REF '{ref}' != FASTA '{fa}'{where}: wrong genome build or unnormalised VCF?")
            checked += 1
    if failure is not None:
        detail = "; ".join(cap.messages("E")) or str(failure)
        raise InputError(display, f"record {n + 1} (after {last})", f"malformed VCF record: {detail}")
    if n == 0:
        raise InputError(display, None, "no variant records")
    info: dict[str, Any] = {
        "kind": "cohort VCF" if cohort else "VCF",
        "samples": len(samples),
        "records_checked": n,
        "ref_checked": checked,
        "records_on_unknown_contigs": skipped,
    }
    if genome is not None:
        c = check_contigs(genome, display, contigs, kind="VCF", warnings=warnings, data_contigs=set(index_contigs) | seen_contigs)
        info.update(c)
    info["_samples"] = samples
    vf.close()
    return info


def _read_table_header(path: Path, display: str, what: str) -> tuple[int, list[str]]:
    for line_no, line in iter_text_lines(path, display, what):
        if line.strip():
            return line_no, line.split("\t")
    raise InputError(display, None, f"empty {what} file")


def check_variants(path: Path, display: str, genome: Genome, warnings: Warnings, ref_mismatch: str = "error") -> dict[str, Any]:
    """The variants to score, read by SCORE_VARIANTS' own reader
    (:func:`seq2func.variants.records.read_variants`: VCF/BCF or a ``chrom pos ref alt`` TSV) and
    REF-checked against the FASTA under ``ref_mismatch`` (:func:`~seq2func.variants.records.check_ref`).

    Parameters
    ----------
    path : Path
        Local (possibly staged) path of the file to read.
    display : str
        The file as the user named it, for messages.
    genome : Genome
        The checked FASTA (names, lengths).
    warnings : Warnings
        Collects warnings (raised as errors under ``--strict``).
    ref_mismatch : str, optional
        ``error``, ``skip`` or ``flip``: the policy of :func:`~seq2func.variants.records.check_ref`.

    Returns
    -------
    dict
        ``kind``, ``format``, ``ref_mismatch_policy``, the reader's counts, ``ref_checked``,
        ``alias_map``, ``renamed`` and the private ``_contigs`` (FASTA contigs holding variants).

    Raises
    ------
    InputError
        On an unreadable file, a REF mismatch under ``error``, or no variant left to score.
    """
    vs = check_ref(read_variants(path, genome.path, display=display), genome.path, ref_mismatch, display=display)
    skipped = {k: v for k, v in vs.counts.items() if k in ("ref_mismatch", "ref_on_n", "symbolic", "star", "missing_alt",
                                                              "unknown_contig", "invalid_allele", "same_as_ref") and v}
    if skipped:
        warnings.add(display, None, "variants left out: " + ", ".join(f"{k} {v}" for k, v in skipped.items()), promote=False)
    if vs.counts.get("unique", 0) == 0:
        raise InputError(display, None, "no variant left to score (" + (", ".join(f"{k} {v}" for k, v in skipped.items()) or "empty") + ")")
    held = set(vs.variants["chrom"])
    rec = vs.records
    compared = rec["skip_reason"].isna() | rec["skip_reason"].isin(["ref_mismatch", "ref_on_n"])
    return {"kind": "variants", "format": vs.format, "ref_mismatch_policy": ref_mismatch, **vs.counts,
            "ref_checked": int(rec.loc[compared, "record_index"].nunique()),  # records whose REF met the FASTA
            "alias_map": dict(vs.aliases), "renamed": {k: v for k, v in vs.aliases.items() if k != v},
            "_contigs": [c for c in genome.names if c in held]}
