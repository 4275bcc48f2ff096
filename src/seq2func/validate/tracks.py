"""Samplesheet tracks: bigWigs open with pyBigWig, BED/narrowPeak intervals parse, one kind per
samplesheet; signal bigWigs (conservation).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

from seq2func.errors import InputError
from seq2func.io.fasta import Genome
from seq2func.io.samplesheet import Track
from seq2func.io.text import CStderr, iter_text_lines
from seq2func.io.tracks import BIGWIG_MAGIC, track_kind
from seq2func.validate.contigs import _check_ends, check_contigs
from seq2func.validate.messages import Warnings

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# 4. tracks


def check_bigwig(track: Track, genome: Genome | None, warnings: Warnings, seq_length: int | None = None) -> dict[str, Any]:
    """Check a samplesheet bigWig: it opens with pyBigWig, has chromosomes and a readable data
    index, and its contigs and lengths match the FASTA's.

    Parameters
    ----------
    track : Track
        The samplesheet row (``path`` is read, ``file`` named in messages).
    genome : Genome or None
        The checked FASTA (names, lengths); ``None``: contigs are not checked against it.
    warnings : Warnings
        Collects warnings (raised as errors under ``--strict``).
    seq_length : int or None, optional
        Window length: warn about genome contigs at least this long that the bigWig lacks.

    Returns
    -------
    dict
        ``kind`` and, with a genome, the contig report of :func:`~seq2func.validate.contigs.check_contigs`.

    Raises
    ------
    InputError
        When the file is not a bigWig, is truncated or corrupt, has no chromosomes, or is of another assembly.
    """
    import pyBigWig  # deferred: C extension only needed for bigWig inputs; keeps seq2func.validate light

    display = track.file
    with open(track.path, "rb") as fh:
        head = fh.read(4)
    if head != BIGWIG_MAGIC:
        raise InputError(display, track.record, "not a bigWig file (bad magic number: corrupt, or another format?)")
    cap = CStderr()
    bw = None
    try:
        with cap:
            bw = pyBigWig.open(str(track.path))
            ok = bw is not None and bw.isBigWig()
            chroms = dict(bw.chroms()) if ok else {}
            if ok and chroms:
                c0, l0 = next(iter(chroms.items()))
                bw.stats(c0, 0, min(l0, 100_000))  # touch the data index
    except (RuntimeError, OSError) as err:
        log.debug("libBigWig: %s (%s)", cap.text.strip(), err)
        raise InputError(display, track.record, "cannot read bigWig: truncated or corrupt (libBigWig could not read its header/index)") from None
    finally:
        if bw is not None:
            bw.close()
    if not ok:
        raise InputError(display, track.record, "not a bigWig file")
    if not chroms:
        raise InputError(display, track.record, "bigWig has no chromosomes")
    info: dict[str, Any] = {"kind": "bigwig"}
    if genome is not None:
        info.update(check_contigs(genome, display, chroms, kind="bigWig", warnings=warnings, record=track.record, check_lengths=True, min_length_for_missing=seq_length))
    return info


def check_bed(
    path: Path,
    display: str,
    genome: Genome | None,
    warnings: Warnings,
    *,
    what: str = "BED",
    min_cols: int = 3,
    strand_col: int | None = None,
    strands: str = "+-",
    context: str = "",
    min_length_for_missing: int | None = None,
) -> dict[str, Any]:
    """Intervals: >= min_cols tab-separated columns, integer 0 <= start < end, strand if asked.

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
    what : str, optional
        What the file is (``BED``, ``peak BED``, ...), for messages.
    min_cols : int, optional
        Fewest tab-separated columns of a record.
    strand_col : int or None, optional
        0-based column holding the strand; ``None``: not checked.
    strands : str, optional
        Allowed strand characters.
    context : str, optional
        Added to messages (e.g. the samplesheet row).
    min_length_for_missing : int or None, optional
        Warn about genome contigs at least this long that the file lacks.

    Returns
    -------
    dict
        ``kind``, ``records`` and, with a genome, the contig report.

    Raises
    ------
    InputError
        On the first malformed record, a file without records, or intervals past a contig's end.
    """
    max_end: dict[str, tuple[int, int]] = {}
    n = 0
    ctx = f" ({context})" if context else ""
    for line_no, line in iter_text_lines(path, display, what):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        f = line.split("\t")
        if len(f) < min_cols:
            if len(line.split()) >= min_cols:
                raise InputError(display, f"line {line_no}", f"{what} columns must be tab-separated{ctx}")
            raise InputError(display, f"line {line_no}", f"expected at least {min_cols} tab-separated columns, got {len(f)}{ctx}")
        chrom = f[0].strip()
        try:
            start, end = int(f[1]), int(f[2])
        except ValueError:
            bad = f[1] if not f[1].strip().lstrip("-").isdigit() else f[2]
            raise InputError(display, f"line {line_no}", f"coordinates must be integers, got {bad!r}{ctx}") from None
        if start < 0:
            raise InputError(display, f"line {line_no}", f"negative start {start}{ctx}")
        if end < start:
            raise InputError(display, f"line {line_no}", f"end {end} < start {start}{ctx}")
        if end == start:
            raise InputError(display, f"line {line_no}", f"end == start {start}: empty interval (BED is 0-based, half-open){ctx}")
        if strand_col is not None and f[strand_col].strip() not in strands:
            raise InputError(display, f"line {line_no}", f"strand must be {' or '.join(repr(s) for s in strands)}, got {f[strand_col]!r}{ctx}")
        if not chrom:
            raise InputError(display, f"line {line_no}", f"empty chromosome name{ctx}")
        if chrom not in max_end or end > max_end[chrom][0]:
            max_end[chrom] = (end, line_no)
        n += 1
    if n == 0:
        raise InputError(display, None, f"no {what} records{ctx}")
    info: dict[str, Any] = {"kind": what, "records": n}
    if genome is not None:
        c = check_contigs(genome, display, {k: None for k in max_end}, kind=what, warnings=warnings, record=context or None, min_length_for_missing=min_length_for_missing)
        _check_ends(genome, display, c["alias_map"], max_end, context=ctx)
        info.update(c)
    return info


def check_tracks(tracks: Sequence[Track], genome: Genome | None, warnings: Warnings, samplesheet_display: str, seq_length: int | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Check every track; returns the mode ('profile' or 'peak') and per-track reports.

    Parameters
    ----------
    tracks : Sequence[Track]
        The samplesheet rows.
    genome : Genome or None
        The checked FASTA (names, lengths); ``None``: contigs are not checked against it.
    warnings : Warnings
        Collects warnings (raised as errors under ``--strict``).
    samplesheet_display : str
        The samplesheet as the user named it, for messages.
    seq_length : int or None, optional
        Window length: warn about genome contigs at least this long that a bigWig lacks.

    Returns
    -------
    tuple
        ``(mode, reports)``: ``profile`` (all bigWig) or ``peak`` (all BED/narrowPeak), and one dict per
        track (``track_id``, ``path``, ``staged_as`` and the file's checks).

    Raises
    ------
    InputError
        On a bigBed, mixed track kinds, or a bad track file.
    """
    kinds = []
    for t in tracks:
        k = track_kind(t.path, t.file)
        if k == "bigbed":
            raise InputError(t.file, t.record, "bigBed is not supported; give a bigWig (profile mode) or BED/narrowPeak (peak mode)")
        kinds.append(k)
    first = kinds[0]
    for t, k in zip(tracks, kinds):
        if k != first:
            a = "bigWig" if first == "bigwig" else "BED/narrowPeak"
            b = "bigWig" if k == "bigwig" else "BED/narrowPeak"
            raise InputError(
                samplesheet_display,
                t.record,
                f"{b} file {t.file!r} mixed with {a} tracks (row 1 is {a}); one samplesheet must be all bigWig (profile mode) or all BED/narrowPeak (peak mode)",
            )
    reports = []
    for t, k in zip(tracks, kinds):
        if k == "bigwig":
            info = check_bigwig(t, genome, warnings, seq_length)
        else:
            info = check_bed(t.path, t.file, genome, warnings, what="peak BED", context=f"samplesheet row {t.index}, track_id={t.track_id}")
        reports.append({"track_id": t.track_id, "path": t.file, "staged_as": t.staged_file, **info})
    return ("profile" if first == "bigwig" else "peak"), reports


def check_signal_bigwig(path: Path, display: str, genome: Genome | None, warnings: Warnings) -> dict[str, Any]:
    """A bigWig that is not a samplesheet track (``--conservation``): it opens, and its contigs and
    lengths agree with the FASTA's.

    Parameters
    ----------
    path : Path
        Local path of the bigWig.
    display : str
        The file as the user named it, for messages.
    genome : Genome or None
        The checked FASTA (names, lengths); ``None``: contigs are not checked against it.
    warnings : Warnings
        Collects warnings (raised as errors under ``--strict``).

    Returns
    -------
    dict
        ``kind`` and, with a genome, the contig report.

    Raises
    ------
    InputError
        When the file is not a readable bigWig, has no chromosomes, or is of another assembly.
    """
    import pyBigWig  # deferred: C extension only needed for bigWig inputs; keeps seq2func.validate light

    with open(path, "rb") as fh:
        if fh.read(4) != BIGWIG_MAGIC:
            raise InputError(display, None, "not a bigWig file (bad magic number)")
    cap = CStderr()
    try:
        with cap:
            bw = pyBigWig.open(str(path))
            chroms = dict(bw.chroms()) if bw is not None else {}
            if bw is not None:
                bw.close()
    except (RuntimeError, OSError):
        raise InputError(display, None, "cannot read bigWig: truncated or corrupt") from None
    if not chroms:
        raise InputError(display, None, "bigWig has no chromosomes")
    info: dict[str, Any] = {"kind": "bigWig"}
    if genome is not None:
        info.update(check_contigs(genome, display, chroms, kind="bigWig", warnings=warnings, check_lengths=True))
    return info
