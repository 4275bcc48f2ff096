"""Outputs appear whole or not at all: temporary siblings renamed into place, JSON cleaned of
NaN and numpy scalars."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from seq2func.errors import InputError


def json_clean(o: Any) -> Any:
    """A JSON-able copy: numpy scalars to Python, non-finite floats and ``pd.NA`` to ``None``,
    tuples to lists, keys to strings.

    Parameters
    ----------
    o : Any
        A value to serialise: dicts, lists and tuples are cleaned recursively.

    Returns
    -------
    Any
        ``o`` with numpy booleans, integers and floats as Python ones, NaN/inf and ``pd.NA`` as
        None, tuples as lists and dict keys as strings; other values unchanged.
    """
    if isinstance(o, dict):
        return {str(k): json_clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [json_clean(v) for v in o]
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, (np.floating, float)):
        v = float(o)
        return v if math.isfinite(v) else None
    if o.__class__.__name__ == "NAType":
        return None
    return o


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; missing parent folders are created.
    text : str
        The content, written as UTF-8.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_files(texts: "dict[str | os.PathLike, str]") -> None:
    """Write several files as one step: every text goes to a temporary sibling first, and only
    when all are written are they renamed into place (a failure leaves none of them).

    Parameters
    ----------
    texts : dict
        File path -> text (UTF-8); missing parent folders are created.
    """
    pending: list[tuple[str, Path]] = []
    try:
        for path, text in texts.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            pending.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        for tmp, final in pending:
            os.replace(tmp, final)
    finally:
        for tmp, _ in pending:
            if os.path.exists(tmp):
                os.unlink(tmp)


def write_json(path: str | os.PathLike, obj: Any, *, sort_keys: bool = False) -> Path:
    """Write ``obj`` as indented JSON atomically, after :func:`json_clean`.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    obj : Any
        Any JSON-able value once cleaned (numpy scalars and NaN allowed).
    sort_keys : bool, optional
        Sort dict keys (default: keep insertion order).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    return write_text(path, json.dumps(json_clean(obj), indent=2, sort_keys=sort_keys) + "\n")


def new_temp_dir(out: str | os.PathLike, marker: str | None = None) -> Path:
    """A fresh temporary sibling of ``out``. With ``marker``, an existing ``out`` must be one of
    ours (a directory holding ``marker``), else it is an :class:`InputError`: we never replace
    something we did not write.

    Parameters
    ----------
    out : str or os.PathLike
        The final output directory; the temporary one is ``.<name>.tmp-<pid>`` in its parent
        (an older one of that name is removed).
    marker : str, optional
        A file name that marks a directory as a seq2func output; None skips the check.

    Returns
    -------
    pathlib.Path
        The new, empty temporary directory.

    Raises
    ------
    InputError
        When ``marker`` is given and ``out`` exists but is not a directory holding it.
    """
    out = Path(out)
    if marker is not None and out.exists() and not (out.is_dir() and (out / marker).is_file()):
        raise InputError(out, None, f"output exists and is not a seq2func output (no {marker}); remove it or pick another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def publish_dir(tmp: str | os.PathLike, out: str | os.PathLike) -> None:
    """Move a finished temporary directory into place (replacing an older output of ours).

    Parameters
    ----------
    tmp : str or os.PathLike
        The finished directory (from :func:`new_temp_dir`).
    out : str or os.PathLike
        Where it goes; an existing ``out`` is moved aside, then deleted once ``tmp`` is in place.
    """
    tmp, out = Path(tmp), Path(out)
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


@contextmanager
def atomic_dir(out: str | os.PathLike, marker: str | None = None) -> Iterator[Path]:
    """Yield a temporary sibling directory; when the block succeeds it replaces ``out``, when it
    fails it is removed: no partial outputs.

    Parameters
    ----------
    out : str or os.PathLike
        The final output directory.
    marker : str, optional
        A file name that marks a directory as ours (see :func:`new_temp_dir`).

    Yields
    ------
    pathlib.Path
        The temporary directory to write into.

    Raises
    ------
    InputError
        When ``out`` exists and is not ours (see :func:`new_temp_dir`).
    """
    tmp = new_temp_dir(out, marker)
    try:
        yield tmp
        publish_dir(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
