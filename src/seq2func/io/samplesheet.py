"""The samplesheet: one row per track, ``track_id,cell_type,assay,file,role[,transform][,strand]``.

Comma-separated (a ``.tsv`` file, or a header with tabs and no commas, is read tab-separated). Rows are checked against ``assets/schema_input.json`` (its ``items`` is the schema of one row),
then for duplicate ``track_id``\\ s and a parseable ``transform``. ``file`` is resolved relative to
the samplesheet's directory unless absolute; when Nextflow has staged the files (``stageAs:
'tracks/????/*'``) row *i* (1-based, header excluded) lives at ``<staged_dir>/<iiii>/<basename>``.
The validated samplesheet rewrites ``file`` to that staged layout, ``tracks/<iiii>/<basename>``, so
every downstream process stages the tracks the same way.

Every problem raises :class:`seq2func.errors.InputError` naming the samplesheet (as the user gave
it) and the row.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Sequence

import jsonschema

from seq2func.errors import InputError
from seq2func.io.project import INPUT_SCHEMA, find_project_file
from seq2func.transforms import Transform, parse_transform

REQUIRED_COLUMNS = ("track_id", "cell_type", "assay", "file", "role")
OPTIONAL_COLUMNS = ("transform", "strand")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
STAGED_PREFIX = "tracks"


@dataclass
class Track:
    """One validated samplesheet row."""

    index: int  # 1-based row number, header excluded
    track_id: str
    cell_type: str
    assay: str
    file: str  # as written in the samplesheet
    role: str
    transform: Transform
    strand: str
    path: Path  # where the file is on this machine (staged or resolved)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def record(self) -> str:
        return f"row {self.index} (track_id={self.track_id})"

    @property
    def basename(self) -> str:
        return staged_basename(self.file)

    @property
    def staged_file(self) -> str:
        return staged_relpath(self.index, self.file)

    def as_row(self) -> dict[str, str]:
        row = {
            "track_id": self.track_id,
            "cell_type": self.cell_type,
            "assay": self.assay,
            "file": self.staged_file,
            "role": self.role,
            "transform": str(self.transform),
            "strand": self.strand,
        }
        row.update(self.extra)
        return row


def staged_basename(file: str) -> str:
    """Basename of a samplesheet ``file`` value (local path or URL).

    Parameters
    ----------
    file : str
        The ``file`` column as written: a path or a URL (a ``?query`` and trailing ``/`` are ignored).

    Returns
    -------
    str
        The last path component, or ``file`` itself when it has none.
    """
    name = PurePosixPath(file.split("?", 1)[0].rstrip("/")).name
    return name or file


def staged_relpath(index: int, file: str) -> str:
    """Where Nextflow's ``stageAs: 'tracks/????/*'`` puts row ``index``'s file.

    Parameters
    ----------
    index : int
        The row number, 1-based, header excluded.
    file : str
        The row's ``file`` value.

    Returns
    -------
    str
        ``tracks/<index, 4 digits>/<basename>``.
    """
    return f"{STAGED_PREFIX}/{index:04d}/{staged_basename(file)}"


def load_row_schema(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """The schema of one row: ``items`` of an nf-core array schema, or the schema itself.

    Without ``path``, the pipeline's ``assets/schema_input.json``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A JSON schema file; None finds ``assets/schema_input.json`` of the pipeline checkout.

    Returns
    -------
    dict
        The JSON schema of one samplesheet row.

    Raises
    ------
    InputError
        When ``path`` is None and the pipeline's schema cannot be found.
    """
    if path is None:
        path = find_project_file(INPUT_SCHEMA)
    with open(path, encoding="utf-8") as fh:
        schema = json.load(fh)
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return schema["items"]
    return schema


def _fmt_value(value: object) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def _row_error(row_schema: dict[str, Any], row: dict[str, str]) -> str | None:
    """First schema violation of a row as a message, or None."""
    validator = jsonschema.Draft7Validator(row_schema)
    errors = list(validator.iter_errors(row))
    if not errors:
        return None
    order = {c: i for i, c in enumerate(COLUMNS)}

    def key(err: Any) -> tuple[int, str]:
        if err.validator == "required":
            col = err.message.split("'")[1] if "'" in err.message else ""
        else:
            col = str(err.path[0]) if err.path else ""
        return (order.get(col, len(order)), col)

    err = min(errors, key=key)
    if err.validator == "required":
        col = err.message.split("'")[1] if "'" in err.message else "?"
        return f"missing value for required column '{col}'"
    col = str(err.path[0]) if err.path else ""
    prop = row_schema.get("properties", {}).get(col, {})
    msg = prop.get("errorMessage") or f"{col}: {err.message}"
    return f"{msg}, got {_fmt_value(err.instance)}"


def _read_text(path: Path, display: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(display, None, "samplesheet not found") from None
    except OSError as err:
        raise InputError(display, None, f"cannot read samplesheet: {err.strerror or err}") from None
    if not raw.strip():
        raise InputError(display, None, "empty samplesheet: expected a header " + ",".join(REQUIRED_COLUMNS) + "[,transform][,strand] and one row per track")
    if raw[:2] == b"\x1f\x8b":
        raise InputError(display, None, "samplesheet is compressed; give a plain CSV")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError(display, f"line {line}", "not UTF-8 text (binary file?)") from None


def read_samplesheet(
    path: str | os.PathLike,
    *,
    display: str | None = None,
    staged_dir: str | os.PathLike | None = None,
    row_schema: dict[str, Any] | None = None,
) -> list[Track]:
    """Parse and check a samplesheet; resolve each row's file (existence is checked here).

    ``display`` is the samplesheet path as the user gave it (used in messages). Without
    ``staged_dir`` files are resolved relative to the samplesheet's directory unless absolute.
    ``row_schema``: the schema of one row (default: the pipeline's ``assets/schema_input.json``).

    Parameters
    ----------
    path : str or os.PathLike
        The samplesheet: CSV, or tab-separated (``.tsv`` name, or a header with tabs and no commas).
    display : str, optional
        The samplesheet path as the user gave it, for messages (default: ``path``).
    staged_dir : str or os.PathLike, optional
        The folder Nextflow staged the track files into (row *i*'s file is
        ``<staged_dir>/<iiii>/<basename>``); None resolves ``file`` against the samplesheet's folder.
    row_schema : dict, optional
        The JSON schema of one row (see :func:`load_row_schema`).

    Returns
    -------
    list of Track
        One per row, in file order.

    Raises
    ------
    InputError
        On an unreadable, empty or malformed samplesheet, a missing required column, a row that
        breaks the schema, a duplicate ``track_id``, a bad ``transform``, a remote ``file``
        outside the pipeline, or a track file that is missing, a directory or unreadable.
    """
    path = Path(path)
    display = display or str(path)
    text = _read_text(path, display)
    first = text.lstrip().split("\n", 1)[0]
    delim = "\t" if path.suffix.lower() == ".tsv" or ("\t" in first and "," not in first) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        lines = [(reader.line_num, rec) for rec in reader]
    except csv.Error as err:
        raise InputError(display, f"line {reader.line_num}", f"malformed CSV: {err}") from None
    # drop blank lines (but keep their numbering)
    lines = [(n, rec) for n, rec in lines if any(c.strip() for c in rec)]
    if not lines:
        raise InputError(display, None, "empty samplesheet: no header")
    header_line, header = lines[0]
    header = [h.strip() for h in header]
    seen: set[str] = set()
    for h in header:
        if not h:
            raise InputError(display, "header", f"empty column name in header {','.join(header)!r}")
        if h in seen:
            raise InputError(display, "header", f"duplicate column '{h}'")
        seen.add(h)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        hint = " (is it tab-separated? it must be comma-separated)" if len(header) == 1 and "\t" in header[0] else ""
        raise InputError(
            display,
            "header",
            f"missing required column(s) {', '.join(repr(c) for c in missing)}; have {','.join(header)!r}; "
            f"expected {','.join(REQUIRED_COLUMNS)}[,transform][,strand]{hint}",
        )
    extra_cols = [h for h in header if h not in COLUMNS]
    rows = lines[1:]
    if not rows:
        raise InputError(display, None, "empty samplesheet: header only, no tracks")
    if row_schema is None:
        row_schema = load_row_schema()

    tracks: list[Track] = []
    first_row: dict[str, int] = {}
    base = path.resolve().parent
    staged = Path(staged_dir) if staged_dir is not None else None
    for index, (line_no, rec) in enumerate(rows, start=1):
        if len(rec) != len(header):
            sep = "tab" if delim == "\t" else "comma"
            raise InputError(display, f"row {index} (line {line_no})", f"expected {len(header)} {sep}-separated fields, got {len(rec)}")
        values = {h: v.strip() for h, v in zip(header, rec)}
        record = f"row {index} (track_id={values.get('track_id', '')})"
        checked = {k: v for k, v in values.items() if k in COLUMNS and v != ""}
        msg = _row_error(row_schema, checked)
        if msg:
            raise InputError(display, record, msg)
        tid = values["track_id"]
        if tid in first_row:
            raise InputError(display, record, f"duplicate track_id '{tid}' (first in row {first_row[tid]})")
        first_row[tid] = index
        try:
            transform = parse_transform(values.get("transform"))
        except ValueError as err:
            raise InputError(display, record, str(err)) from None
        strand = values.get("strand") or "."
        file_value = values["file"]
        if staged is not None:
            local = staged / f"{index:04d}" / staged_basename(file_value)
        else:
            if "://" in file_value:
                raise InputError(display, record, f"file {file_value!r} is remote; run through the pipeline (Nextflow stages it) or download it first")
            p = Path(os.path.expanduser(file_value))
            local = p if p.is_absolute() else base / p
        where = f"listed in {display} {record}"
        if not local.exists():
            how = "" if staged is not None else f"; resolved to {local}"
            raise InputError(file_value, None, f"file not found ({where}{how})")
        if local.is_dir():
            raise InputError(file_value, None, f"is a directory, expected a bigWig or BED/narrowPeak file ({where})")
        if not os.access(local, os.R_OK):
            raise InputError(file_value, None, f"file is not readable ({where})")
        tracks.append(
            Track(
                index=index,
                track_id=tid,
                cell_type=values["cell_type"],
                assay=values["assay"],
                file=file_value,
                role=values["role"],
                transform=transform,
                strand=strand,
                path=local,
                extra={c: values[c] for c in extra_cols},
            )
        )
    return tracks


def extra_columns(tracks: Sequence[Track]) -> list[str]:
    """The columns beyond the known ones that the tracks carry, in first-seen order.

    Parameters
    ----------
    tracks : sequence of Track
        Tracks from :func:`read_samplesheet`.

    Returns
    -------
    list of str
        Names of the extra columns.
    """
    cols: list[str] = []
    for t in tracks:
        for c in t.extra:
            if c not in cols:
                cols.append(c)
    return cols


def to_csv(tracks: Iterable[Track]) -> str:
    """The validated samplesheet as CSV text (normalised transform, strand, staged file paths).

    Parameters
    ----------
    tracks : iterable of Track
        Tracks from :func:`read_samplesheet`.

    Returns
    -------
    str
        A header (known columns, then extra ones) and one line per track.
    """
    tracks = list(tracks)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS) + extra_columns(tracks), lineterminator="\n")
    writer.writeheader()
    for t in tracks:
        writer.writerow(t.as_row())
    return buf.getvalue()
