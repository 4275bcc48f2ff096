"""The samplesheet as PREPARE sees it: one track per row, and the track table of the dataset.

The samplesheet is parsed by :mod:`seq2func.io.samplesheet` (the parser VALIDATE uses), so a
samplesheet VALIDATE accepts PREPARE accepts: ``track_id,cell_type,assay,file,role[,transform]
[,strand]``, ``file`` relative to the samplesheet's directory unless absolute, ``transform``
defaulting to ``sum`` and ``strand`` to ``.``.

Reverse-complement partners: a ``+`` and a ``-`` track with the same ``cell_type`` and ``assay``
are swapped when a sequence is reverse-complemented (the i-th ``+`` with the i-th ``-`` when a
group has equally many of each); every other track maps to itself. The result is the
``rc_index`` column of ``tracks.tsv``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from seq2func.errors import InputError
from seq2func.io.samplesheet import Track
from seq2func.io.samplesheet import read_samplesheet as _read
from seq2func.io.tracks import track_kind

TRACK_COLUMNS = ["index", "track_id", "cell_type", "assay", "file", "path", "role", "transform", "strand", "rc_index"]

#: a samplesheet row as PREPARE uses it (the one parser: :mod:`seq2func.io.samplesheet`)
TrackSpec = Track


def read_samplesheet(path: str | os.PathLike, mode: str = "profile") -> list[Track]:
    """Parse and check the samplesheet with :func:`seq2func.io.samplesheet.read_samplesheet` (the
    parser VALIDATE uses), then check that every track suits ``mode``: ``profile`` needs bigWig
    files, ``peak`` BED/narrowPeak files (:func:`seq2func.io.tracks.track_kind`).

    Parameters
    ----------
    path : str or os.PathLike
        The samplesheet CSV.
    mode : str, optional
        ``profile`` or ``peak``.

    Returns
    -------
    list of Track
        One per samplesheet row, in order.

    Raises
    ------
    InputError
        On a bad samplesheet, an unreadable track file, or a track file of the wrong kind for ``mode``.
    """
    tracks = _read(path)
    for t in tracks:
        try:
            kind = track_kind(t.path, t.file)
        except OSError as err:
            raise InputError(t.path, t.record, f"cannot read: {err.strerror or err}") from None
        if mode == "profile" and kind != "bigwig":
            raise InputError(t.path, t.record, f"profile mode needs a bigWig file, this is {'a bigBed' if kind == 'bigbed' else 'not a bigWig'}")
        if mode == "peak" and kind != "peaks":
            raise InputError(t.path, t.record, f"peak mode needs a BED/narrowPeak file, this is a {kind}")
    return tracks


def rc_index(tracks: list[Track]) -> list[int]:
    """Index of the partner of each track under reverse complement (itself when unpaired).

    Parameters
    ----------
    tracks : list of Track
        Samplesheet tracks in target-column order.

    Returns
    -------
    list of int
        For track ``i``, the column it swaps with.
    """
    idx = list(range(len(tracks)))
    groups: dict[tuple[str, str], dict[str, list[int]]] = {}
    for i, t in enumerate(tracks):
        if t.strand in "+-":
            groups.setdefault((t.cell_type, t.assay), {"+": [], "-": []})[t.strand].append(i)
    for g in groups.values():
        if len(g["+"]) == len(g["-"]):
            for p, m in zip(g["+"], g["-"]):
                idx[p], idx[m] = m, p
    return idx


def track_table(tracks: list[Track]) -> pd.DataFrame:
    """The dataset's ``tracks.tsv`` (one row per target column, in order).

    Parameters
    ----------
    tracks : list of Track
        Samplesheet tracks in target-column order.

    Returns
    -------
    pd.DataFrame
        Columns :data:`TRACK_COLUMNS` (``path`` resolved to an absolute path, ``rc_index`` from :func:`rc_index`).
    """
    rci = rc_index(tracks)
    return pd.DataFrame(
        {
            "index": range(len(tracks)),
            "track_id": [t.track_id for t in tracks],
            "cell_type": [t.cell_type for t in tracks],
            "assay": [t.assay for t in tracks],
            "file": [t.file for t in tracks],
            "path": [str(Path(t.path).resolve()) for t in tracks],
            "role": [t.role for t in tracks],
            "transform": [str(t.transform) for t in tracks],
            "strand": [t.strand for t in tracks],
            "rc_index": rci,
        },
        columns=TRACK_COLUMNS,
    )
