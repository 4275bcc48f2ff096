"""The samplesheet as PREPARE sees it: one track per row, and the track table of the dataset.

Columns: ``track_id,cell_type,assay,file,role[,transform][,strand]`` (comma-separated; a ``.tsv``
samplesheet is read tab-separated). ``file`` is relative to the samplesheet's directory unless
absolute. Missing optional columns default to ``role=target``, ``transform=sum``, ``strand=.``.

Reverse-complement partners: a ``+`` and a ``-`` track with the same ``cell_type`` and ``assay``
are swapped when a sequence is reverse-complemented (the i-th ``+`` with the i-th ``-`` when a
group has equally many of each); every other track maps to itself. The result is the
``rc_index`` column of ``tracks.tsv``.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seq2func.errors import InputError
from seq2func.transforms import Transform, parse_transform

ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
ROLES = ("compendium", "target")
STRANDS = ("+", "-", ".")
BIGWIG_MAGIC = (0x888FFC26).to_bytes(4, "little")
BIGBED_MAGIC = (0x8789F2EB).to_bytes(4, "little")
TRACK_COLUMNS = ["index", "track_id", "cell_type", "assay", "file", "path", "role", "transform", "strand", "rc_index"]


@dataclass(frozen=True)
class TrackSpec:
    track_id: str
    cell_type: str
    assay: str
    file: str  # as written in the samplesheet
    path: Path  # resolved
    role: str
    transform: Transform
    strand: str
    record: str  # "row N (track_id=...)" for error messages


def sniff_kind(path: Path) -> str:
    """``bigwig``, ``bigbed`` or ``text`` (BED/narrowPeak, possibly gzipped) from the magic bytes."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == BIGWIG_MAGIC or head == BIGWIG_MAGIC[::-1]:
        return "bigwig"
    if head == BIGBED_MAGIC or head == BIGBED_MAGIC[::-1]:
        return "bigbed"
    return "text"


def read_samplesheet(path: str | os.PathLike, mode: str = "profile") -> list[TrackSpec]:
    """Parse and check the samplesheet; every problem is an :class:`InputError` naming the row.

    ``mode='profile'`` needs bigWig files, ``mode='peak'`` BED/narrowPeak files.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "samplesheet not found")
    delim = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh, delimiter=delim)]
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, None, f"cannot read samplesheet: {err}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError(path, None, "samplesheet is empty")
    header = [h.strip().lower() for h in rows[0]]
    for col in ("track_id", "file"):
        if col not in header:
            raise InputError(path, "header", f"missing column '{col}' (need track_id,cell_type,assay,file,role[,transform][,strand])")
    if len(set(header)) != len(header):
        raise InputError(path, "header", "duplicate column names")
    body = rows[1:]
    if not body:
        raise InputError(path, None, "samplesheet has no tracks (header only)")
    base = path.resolve().parent
    out: list[TrackSpec] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(body, start=2):
        if len(raw) > len(header):
            raise InputError(path, f"row {i}", f"{len(raw)} fields but the header has {len(header)}")
        rec = {h: (raw[j].strip() if j < len(raw) else "") for j, h in enumerate(header)}
        tid = rec["track_id"]
        record = f"row {i} (track_id={tid})"
        if not ID_RE.match(tid):
            raise InputError(path, record, "track_id must match [A-Za-z0-9_.-]+")
        if tid in seen:
            raise InputError(path, record, f"duplicate track_id (also row {seen[tid]})")
        seen[tid] = i
        role = rec.get("role", "") or "target"
        if role not in ROLES:
            raise InputError(path, record, f"role must be one of {', '.join(ROLES)}, got '{role}'")
        strand = rec.get("strand", "") or "."
        if strand not in STRANDS:
            raise InputError(path, record, f"strand must be +, - or ., got '{strand}'")
        try:
            transform = parse_transform(rec.get("transform", ""))
        except ValueError as err:
            raise InputError(path, record, str(err)) from None
        file = rec["file"]
        if not file:
            raise InputError(path, record, "empty file column")
        fpath = Path(file)
        if not fpath.is_absolute():
            fpath = base / fpath
        if not fpath.is_file():
            raise InputError(path, record, f"file not found: {file}")
        try:
            kind = sniff_kind(fpath)
        except OSError as err:
            raise InputError(fpath, record, f"cannot read: {err.strerror or err}") from None
        if mode == "profile" and kind != "bigwig":
            raise InputError(fpath, record, f"profile mode needs a bigWig file, this is {'a bigBed' if kind == 'bigbed' else 'not a bigWig'}")
        if mode == "peak" and kind != "text":
            raise InputError(fpath, record, f"peak mode needs a BED/narrowPeak file, this is a {kind}")
        out.append(TrackSpec(tid, rec.get("cell_type", ""), rec.get("assay", ""), file, fpath.resolve(), role, transform, strand, record))
    return out


def rc_index(tracks: list[TrackSpec]) -> list[int]:
    """Index of the partner of each track under reverse complement (itself when unpaired)."""
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


def track_table(tracks: list[TrackSpec]) -> pd.DataFrame:
    """The dataset's ``tracks.tsv`` (one row per target column, in order)."""
    rci = rc_index(tracks)
    return pd.DataFrame(
        {
            "index": range(len(tracks)),
            "track_id": [t.track_id for t in tracks],
            "cell_type": [t.cell_type for t in tracks],
            "assay": [t.assay for t in tracks],
            "file": [t.file for t in tracks],
            "path": [str(t.path) for t in tracks],
            "role": [t.role for t in tracks],
            "transform": [str(t.transform) for t in tracks],
            "strand": [t.strand for t in tracks],
            "rc_index": rci,
        },
        columns=TRACK_COLUMNS,
    )
