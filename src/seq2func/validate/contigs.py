"""Chromosome names and ends of every file against the FASTA, after harmonisation
(:func:`seq2func.chroms.alias_map`).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.io.fasta import Genome
from seq2func.validate.messages import Warnings, preview

# --------------------------------------------------------------------------------------------
# 3. FASTA


# --------------------------------------------------------------------------------------------
# 6. chromosome names


def check_contigs(
    genome: Genome,
    display: str,
    contigs: Mapping[str, int | None],
    *,
    kind: str,
    warnings: Warnings,
    record: str | None = None,
    check_lengths: bool = False,
    min_length_for_missing: int | None = None,
    data_contigs: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Harmonise a file's contig names onto the genome's; stop when they share nothing.

    ``contigs`` maps the file's names to lengths (``None`` when unknown). With ``check_lengths``
    a shared contig whose length differs from the FASTA's is an error (another assembly).
    ``min_length_for_missing``: warn about genome contigs at least that long the file lacks.
    ``data_contigs``: the contigs that hold records (a VCF header may declare many more); only
    those are warned about when the genome lacks them.

    Parameters
    ----------
    genome : Genome
        The checked FASTA (names, lengths).
    display : str
        The file as the user named it, for messages.
    contigs : Mapping[str, int or None]
        The file's contig names -> lengths (``None`` when unknown).
    kind : str
        What the file is (``bigWig``, ``VCF``, ...), for messages.
    warnings : Warnings
        Collects warnings (raised as errors under ``--strict``).
    record : str or None, optional
        Where in the file (e.g. the samplesheet row), for messages.
    check_lengths : bool, optional
        Compare the lengths of shared contigs with the FASTA's.
    min_length_for_missing : int or None, optional
        Warn about genome contigs at least this long that the file lacks; ``None``: no warning.
    data_contigs : Iterable[str] or None, optional
        Contigs that hold records; ``None``: every contig of ``contigs``.

    Returns
    -------
    dict
        ``contigs``, ``shared``, ``shared_fraction``, ``alias_map`` (file name -> FASTA name),
        ``renamed``, ``not_in_genome`` and ``genome_contigs_missing``.

    Raises
    ------
    InputError
        When no contig is shared, or a shared contig's length differs from the FASTA's.
    """
    names = list(contigs)
    amap = alias_map(genome.names, names)
    if names and not amap:
        raise InputError(
            display,
            record,
            f"chromosome names do not match {genome.display}: no contig in common "
            f"(file has {preview(names)}; genome has {preview(genome.names)})",
        )
    if check_lengths or any(v is not None for v in contigs.values()):
        bad = [(o, contigs[o], genome.lengths[g]) for o, g in amap.items() if contigs[o] is not None and contigs[o] != genome.lengths[g]]
        if bad:
            o, a, b = bad[0]
            more = f"; {len(bad)} contigs differ" if len(bad) > 1 else ""
            raise InputError(
                display,
                record,
                f"chromosome names/lengths do not match {genome.display} (e.g. '{o}' length {a} != {b}{more}): {kind} of another assembly?",
            )
    unmapped = [n for n in names if n not in amap]
    if data_contigs is not None:
        with_data = set(data_contigs)
        unmapped = [n for n in unmapped if n in with_data]
    if unmapped:
        warnings.add(display, record, f"{len(unmapped)} of {len(names)} contigs are not in {genome.display} and will be ignored: {preview(unmapped)}")
    missing: list[str] = []
    if min_length_for_missing is not None:
        covered = set(amap.values())
        missing = [g for g in genome.names if g not in covered and genome.lengths[g] >= min_length_for_missing]
        if missing:
            warnings.add(display, record, f"has no data for {len(missing)} genome contigs: {preview(missing)}")
    renamed = {k: v for k, v in amap.items() if k != v}
    return {
        "contigs": len(names),
        "shared": len(amap),
        "shared_fraction": round(len(amap) / len(names), 6) if names else 1.0,
        "alias_map": amap,
        "renamed": renamed,
        "not_in_genome": unmapped,
        "genome_contigs_missing": missing,
    }


def _check_ends(genome: Genome, display: str, amap: Mapping[str, str], max_end: Mapping[str, tuple[int, int]], what: str = "end", context: str = "") -> None:
    for chrom, (end, line) in max_end.items():
        g = amap.get(chrom)
        if g is not None and end > genome.lengths[g]:
            raise InputError(
                display,
                f"line {line}",
                f"{what} {end} is beyond the end of {chrom} (length {genome.lengths[g]} in {genome.display}): another assembly?{context}",
            )
