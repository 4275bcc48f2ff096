"""Position frequency matrices from JASPAR: the bundled subset and helpers around it.

The repository ships ``assets/motifs/jaspar_subset.json``: real JASPAR CORE count matrices
copied verbatim from the JASPAR SQLite database that the ``pyjaspar`` package bundles (the JSON
carries its own provenance: pyjaspar version and JASPAR release). The simulator plants these
motifs; INTERPRET matches learned filters against them (or against the full database through
pyjaspar).

JSON layout::

    {"provenance": {"source": ..., "pyjaspar_version": "4.0.0", "jaspar_release": "JASPAR2026", ...},
     "motifs": [{"matrix_id": "MA0139.2", "name": "CTCF", "species": ["9606"],
                 "tf_class": [...], "counts": {"A": [...], "C": [...], "G": [...], "T": [...]}}, ...]}

Matrices are ``width x 4`` arrays with columns in ``ACGT`` order.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from seq2func.io.project import assets_dir  # one place locates assets/ (re-exported here)

BASES = "ACGT"
ASSET_RELPATH = Path("motifs") / "jaspar_subset.json"


@dataclass(frozen=True)
class Motif:
    """A JASPAR count matrix (``counts``: width x 4, columns A,C,G,T)."""

    matrix_id: str
    name: str
    counts: np.ndarray = field(repr=False)
    species: tuple[str, ...] = ()
    tf_class: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        return int(self.counts.shape[0])

    def probabilities(self, pseudocount: float = 1.0) -> np.ndarray:
        """Column probabilities with ``pseudocount`` spread evenly over the four bases.

        Parameters
        ----------
        pseudocount : float, optional
            Total pseudocount per position, ``pseudocount / 4`` added to each base's count.

        Returns
        -------
        numpy.ndarray
            ``(width, 4)`` probabilities (A, C, G, T), each row summing to 1.
        """
        c = np.asarray(self.counts, dtype=np.float64)
        return (c + pseudocount / 4.0) / (c.sum(axis=1, keepdims=True) + pseudocount)

    def log_odds(self, background: Sequence[float] = (0.25, 0.25, 0.25, 0.25), pseudocount: float = 1.0) -> np.ndarray:
        """Natural-log odds ``log(p / background)`` (width x 4).

        Parameters
        ----------
        background : sequence of float, optional
            Base frequencies A, C, G, T (default uniform).
        pseudocount : float, optional
            Total pseudocount per position (see :meth:`probabilities`).

        Returns
        -------
        numpy.ndarray
            ``(width, 4)`` log-odds scores in nats.
        """
        bg = np.asarray(background, dtype=np.float64)
        return np.log(self.probabilities(pseudocount) / bg[None, :])

    def information_content(self, pseudocount: float = 1.0) -> float:
        """Total information content in bits against a uniform background.

        Parameters
        ----------
        pseudocount : float, optional
            Total pseudocount per position (see :meth:`probabilities`).

        Returns
        -------
        float
            Sum over positions of the relative entropy to 0.25 per base, in bits.
        """
        p = self.probabilities(pseudocount)
        return float((p * np.log2(p / 0.25)).sum())




def bundled_motifs_path() -> Path:
    return assets_dir() / ASSET_RELPATH


def load_jaspar_subset(path: str | os.PathLike | None = None) -> tuple[list[Motif], dict]:
    """Load the bundled JASPAR subset: ``(motifs in file order, provenance dict)``.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A motif JSON in the layout of the module doc (default: the bundled
        ``assets/motifs/jaspar_subset.json``).

    Returns
    -------
    tuple of (list of Motif, dict)
        The motifs and the file's ``provenance`` (empty when it has none).
    """
    p = Path(path) if path is not None else bundled_motifs_path()
    with open(p) as fh:
        doc = json.load(fh)
    motifs = [motif_from_dict(d) for d in doc["motifs"]]
    return motifs, dict(doc.get("provenance", {}))


def motif_from_dict(d: dict) -> Motif:
    """A :class:`Motif` from one entry of the JSON's ``motifs`` list.

    Parameters
    ----------
    d : dict
        ``matrix_id``, ``name``, ``counts`` (``{"A": [...], "C": [...], "G": [...], "T": [...]}``)
        and optionally ``species`` and ``tf_class``.

    Returns
    -------
    Motif
        With ``counts`` as a ``(width, 4)`` float array.
    """
    counts = np.array([d["counts"][b] for b in BASES], dtype=np.float64).T
    return Motif(
        matrix_id=str(d["matrix_id"]),
        name=str(d["name"]),
        counts=counts,
        species=tuple(d.get("species", ())),
        tf_class=tuple(d.get("tf_class", ())),
    )


def motif_to_dict(m: Motif) -> dict:
    """One entry of the JSON's ``motifs`` list (the inverse of :func:`motif_from_dict`).

    Parameters
    ----------
    m : Motif
        The motif to write.

    Returns
    -------
    dict
        ``matrix_id``, ``name``, ``species``, ``tf_class`` and ``counts`` (one list of floats per base).
    """
    return {
        "matrix_id": m.matrix_id,
        "name": m.name,
        "species": list(m.species),
        "tf_class": list(m.tf_class),
        "counts": {b: [float(v) for v in m.counts[:, i]] for i, b in enumerate(BASES)},
    }


def fetch_from_pyjaspar(matrix_ids: Iterable[str], release: str | None = None) -> list[Motif]:
    """Fetch count matrices from the JASPAR database bundled with pyjaspar.

    Parameters
    ----------
    matrix_ids : iterable of str
        JASPAR matrix IDs with version (e.g. ``MA0139.2``).
    release : str, optional
        A JASPAR release known to pyjaspar (e.g. ``JASPAR2024``); default pyjaspar's latest.

    Returns
    -------
    list of Motif
        In the order of ``matrix_ids``.

    Raises
    ------
    KeyError
        When an ID is not in the release.
    """
    # deferred: pyjaspar (and its database) only to fetch from JASPAR, never to load the bundled subset
    from pyjaspar import jaspardb

    db = jaspardb(release=release) if release else jaspardb()
    out = []
    for mid in matrix_ids:
        m = db.fetch_motif_by_id(mid)
        if m is None:
            raise KeyError(f"{mid} not found in {db.release}")
        counts = np.array([m.counts[b] for b in BASES], dtype=np.float64).T
        out.append(Motif(m.matrix_id, m.name, counts, tuple(m.species or ()), tuple(m.tf_class or ())))
    return out


def export_jaspar_subset(matrix_ids: Sequence[str], path: str | os.PathLike, release: str | None = None) -> Path:
    """Write a subset of pyjaspar's database as the bundled JSON (how the asset was made).

    Parameters
    ----------
    matrix_ids : sequence of str
        JASPAR matrix IDs with version, in the order to write them.
    path : str or os.PathLike
        The JSON file to write (via a ``.tmp`` sibling, then renamed).
    release : str, optional
        A JASPAR release known to pyjaspar; default pyjaspar's latest.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    KeyError
        When an ID is not in the release.
    """
    # deferred: pyjaspar (and its database) only to fetch from JASPAR, never to load the bundled subset
    from pyjaspar import jaspardb

    rel = release or jaspardb().release
    motifs = fetch_from_pyjaspar(matrix_ids, rel)
    doc = {
        "provenance": {
            "source": "JASPAR SQLite database bundled with the pyjaspar Python package",
            "pyjaspar_version": importlib.metadata.version("pyjaspar"),
            "jaspar_release": rel,
            "collection": "CORE",
            "content": "count matrices copied verbatim (rows A,C,G,T; one value per motif position) with their JASPAR matrix IDs and names",
            "selection": "transcription factors planted by seq2func.simulate; chosen for information content high enough to be rare in random sequence",
        },
        "motifs": [motif_to_dict(m) for m in motifs],
    }
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    text = json.dumps(doc, indent=1)
    # keep each list of numbers / strings on one line
    text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    with open(tmp, "w") as fh:
        fh.write(text + "\n")
    os.replace(tmp, p)
    return p
