"""What a track file is, decided from its content (magic number) and, failing that, its name.

One answer for every stage: VALIDATE records the run's mode from it (``profile`` for bigWig
tracks, ``peak`` for BED/narrowPeak) and PREPARE checks its tracks with the same function.
"""

from __future__ import annotations

import os
from typing import Iterable

BIGWIG_MAGIC = (0x888FFC26).to_bytes(4, "little")
BIGBED_MAGIC = (0x8789F2EB).to_bytes(4, "little")
BIGWIG_SUFFIXES = (".bw", ".bigwig")
PEAK_SUFFIXES = (".bed", ".narrowpeak", ".broadpeak", ".bed.gz", ".narrowpeak.gz", ".broadpeak.gz")
MODES = {"bigwig": "profile", "peaks": "peak"}


def track_kind(path: str | os.PathLike, file_value: str | None = None) -> str:
    """``bigwig``, ``bigbed`` or ``peaks`` (BED/narrowPeak text, plain or gzipped).

    The magic number decides (either byte order); a file whose name says bigWig but whose bytes
    do not is still ``bigwig`` (the bigWig reader then reports it as corrupt, naming the file).

    Parameters
    ----------
    path
        The file on this machine.
    file_value
        The name as the samplesheet wrote it (default: ``path``).
    """
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head in (BIGWIG_MAGIC, BIGWIG_MAGIC[::-1]):
        return "bigwig"
    if head in (BIGBED_MAGIC, BIGBED_MAGIC[::-1]):
        return "bigbed"
    if str(file_value or path).lower().endswith(BIGWIG_SUFFIXES):
        return "bigwig"
    return "peaks"


def mode_of(kinds: Iterable[str]) -> str:
    """The run's mode from its track kinds: ``profile`` (all bigWig) or ``peak`` (all peaks);
    ``mixed`` otherwise (VALIDATE refuses it).

    Parameters
    ----------
    kinds : iterable of str
        Track kinds from :func:`track_kind` (a kind other than ``bigwig``/``peaks`` is its own mode).

    Returns
    -------
    str
        ``profile``, ``peak``, another single kind (e.g. ``bigbed``), or ``mixed`` (several modes, or no kinds).
    """
    modes = {MODES.get(k, k) for k in kinds}
    return modes.pop() if len(modes) == 1 else "mixed"
