"""Chromosome-name harmonisation across FASTA, bigWig, BED, VCF and GTF.

Files from different sources spell the same contig differently: ``chr1`` / ``1``,
``chrM`` / ``MT`` / ``chrMT``, ``chrX`` / ``X``. We map every name to a *canonical key*
(``1``, ``X``, ``M``, ...) and, for a pair of name sets, build the alias map that renames the
names of one file onto the reference's spelling. Names that have no counterpart stay unmapped;
callers decide whether that is an error (VALIDATE) or a warning (a track missing a chromosome).
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

_MITO = {"m", "mt", "chrm", "chrmt", "mito", "mitochondria", "mitochondrion"}
_CHR_PREFIX = re.compile(r"^chr(?=[0-9A-Za-z])", re.IGNORECASE)


def canonical(name: str) -> str:
    """Canonical key of a contig name: ``chr1``->``1``, ``chrM``/``MT``->``M``, ``chrx``->``X``.

    Only the ``chr`` prefix, the mitochondrion's spellings and the case of the sex chromosomes
    are folded; anything else (``chr1_KI270706v1_random``, ``GL000192.1``) keeps its spelling
    minus a leading ``chr``.

    Parameters
    ----------
    name : str
        Contig name as spelled in some input file.

    Returns
    -------
    str
        The canonical key (``1``, ``X``, ``M``, ...).
    """
    if name.lower() in _MITO:
        return "M"
    core = _CHR_PREFIX.sub("", name)
    if core.upper() in {"X", "Y"}:
        return core.upper()
    return core


def alias_map(reference: Iterable[str], other: Iterable[str]) -> dict[str, str]:
    """Map names of ``other`` onto the spelling used by ``reference``.

    Exact matches win; otherwise names are matched through :func:`canonical`. Names of ``other``
    with no counterpart in ``reference`` are absent from the result.

    Parameters
    ----------
    reference : iterable of str
        Contig names whose spelling wins (usually the FASTA's); on a canonical-key clash the first wins.
    other : iterable of str
        Contig names of the file to rename.

    Returns
    -------
    dict of str to str
        ``{name in other: name in reference}`` for every name of ``other`` that has a counterpart.
    """
    ref = list(reference)
    ref_set = set(ref)
    by_key: dict[str, str] = {}
    for r in ref:
        by_key.setdefault(canonical(r), r)
    out: dict[str, str] = {}
    for o in other:
        if o in ref_set:
            out[o] = o
        else:
            hit = by_key.get(canonical(o))
            if hit is not None:
                out[o] = hit
    return out


def shared_fraction(reference: Iterable[str], other: Iterable[str]) -> float:
    """Fraction of ``other``'s names that map onto ``reference`` (1.0 for an empty ``other``).

    Parameters
    ----------
    reference : iterable of str
        Contig names of the reference file.
    other : iterable of str
        Contig names of the file compared with it.

    Returns
    -------
    float
        Share of ``other``'s names in :func:`alias_map`, in ``[0, 1]``.
    """
    other = list(other)
    if not other:
        return 1.0
    return len(alias_map(reference, other)) / len(other)


def rename(names: Iterable[str], mapping: Mapping[str, str]) -> list[str]:
    """Apply an alias map, leaving unmapped names as they are.

    Parameters
    ----------
    names : iterable of str
        Contig names to rename.
    mapping : mapping of str to str
        Alias map, e.g. from :func:`alias_map`.

    Returns
    -------
    list of str
        The renamed names, in input order.
    """
    return [mapping.get(n, n) for n in names]
