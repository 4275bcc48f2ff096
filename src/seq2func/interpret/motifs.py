"""Motifs for INTERPRET: JASPAR matrices, Tomtom matching, TF-MoDISco patterns, MEME files, logos.

Everything here drives the field's libraries: JASPAR from the SQLite releases that ``pyjaspar``
bundles (offline), motif comparison with ``memelite``'s Tomtom, motif discovery from hypothetical
contributions with ``modiscolite`` (TF-MoDISco lite), logos with ``logomaker``.

Matrix convention: a motif is a ``(4, w)`` float array, rows ``A C G T`` (the PyTorch / memelite
layout; :mod:`seq2func.io.motifs` keeps the JASPAR ``(w, 4)`` layout, transpose to go between them).
A PWM is a position *probability* matrix (columns sum to 1); a CWM holds contribution scores.

Tomtom statistics (:func:`tomtom_matches`)
------------------------------------------
- ``p_value``: memelite's Tomtom p-value (complete scores, Euclidean column distance, background of
  each query column = its scores against every target column) of the best alignment, minimised
  over both strands of the target and corrected for the two strands (``1 - (1 - p)^2``);
- ``e_value``: ``p_value x number of targets`` (MEME Tomtom's E-value; the strand correction is
  already in ``p_value``);
- ``q_value``: Benjamini-Hochberg, by default **per query over its p-values against all targets**
  (``q_scope="query"``), which is what MEME Tomtom does (it computes q-values per query motif from
  the p-values of all its target matches); MEME additionally estimates the null fraction pi0
  (Storey), BH here takes pi0 = 1 and so is slightly more conservative. ``q_scope="all"`` runs BH
  over every query x target pair instead (stricter with many queries);
- ``offset``: the target column aligned with the query's first column, on the strand reported
  (negative: the query overhangs the target's start), ``overlap``: aligned columns;
- ``strand``: ``+`` when the query matches the target as stored, ``-`` when it matches the target's
  reverse complement.

Tomtom's p-values use the target set as background: use a whole collection (memelite warns below
25 targets). Low-information queries (near-uniform columns) get small p-values against the long
JASPAR matrices that contain near-uniform stretches (e.g. the 31-33 bp CTCF matrices MA1929/MA1930),
so trim flat flanks first (:func:`trim_motif`, as :func:`run_modisco` does) and read
``query_ic`` before trusting a match.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from seq2func.errors import InputError
from seq2func.io.atomic import write_text

__all__ = [
    "JasparMatrix",
    "ModiscoPattern",
    "consensus",
    "information_content",
    "jaspar_motifs",
    "jaspar_releases",
    "logo_png",
    "motif_table",
    "run_modisco",
    "tomtom_matches",
    "trim_motif",
    "write_meme",
]

BASES = "ACGT"
DEFAULT_RELEASE = "JASPAR2024"


# -- matrices ---------------------------------------------------------------------------------
class JasparMatrix(NamedTuple):
    """One JASPAR matrix: ``(matrix_id, name, counts)`` with ``counts`` ``(4, w)`` (rows A C G T)."""

    matrix_id: str
    name: str
    counts: np.ndarray

    @property
    def width(self) -> int:
        """Number of positions."""
        return int(self.counts.shape[1])

    def probabilities(self, pseudocount: float = 0.0) -> np.ndarray:
        """Position probability matrix ``(4, w)``.

        Parameters
        ----------
        pseudocount
            Total pseudocount per column, spread evenly over the four bases (0: the plain column
            frequencies, as JASPAR's MEME-format downloads; 0.8: :mod:`seq2func.variants.baselines`).

        Returns
        -------
        numpy.ndarray
            float64 ``(4, w)``, columns summing to 1.
        """
        c = np.asarray(self.counts, dtype=np.float64)
        return (c + pseudocount / 4.0) / (c.sum(axis=0, keepdims=True) + pseudocount)


def _check_matrix(m: Any, name: str, what: str = "query_pwms", *, normalise: bool = True,
                  nonnegative: bool = True) -> np.ndarray:
    """A ``(4, w)`` float64 matrix, or one InputError naming the motif."""
    try:
        arr = np.asarray(m, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(what, f"motif {name!r}", "not a numeric matrix") from None
    if arr.ndim != 2:
        raise InputError(what, f"motif {name!r}", f"must be a (4, w) matrix (rows A C G T), got shape {arr.shape}")
    if arr.shape[0] != 4:
        hint = " (a (w, 4) matrix? transpose it)" if arr.shape[1] == 4 else ""
        raise InputError(what, f"motif {name!r}", f"must be a (4, w) matrix (rows A C G T), got shape {arr.shape}{hint}")
    if arr.shape[1] < 1:
        raise InputError(what, f"motif {name!r}", "has no positions")
    if not np.isfinite(arr).all():
        raise InputError(what, f"motif {name!r}", "has non-finite values")
    if nonnegative and (arr < 0).any():
        raise InputError(what, f"motif {name!r}", "has negative values (probabilities or counts expected)")
    if normalise:
        s = arr.sum(axis=0, keepdims=True)
        if (s <= 0).any():
            raise InputError(what, f"motif {name!r}", "has a column summing to 0")
        arr = arr / s
    return arr


def information_content(pwm: np.ndarray, background: Sequence[float] = (0.25, 0.25, 0.25, 0.25)) -> np.ndarray:
    """Information content per position, in bits.

    Parameters
    ----------
    pwm
        ``(4, w)`` probabilities.
    background
        Background base frequencies (A, C, G, T).

    Returns
    -------
    numpy.ndarray
        float64 ``(w,)``: ``sum_b p_b log2(p_b / bg_b)``.
    """
    p = _check_matrix(pwm, "pwm", "pwm")
    bg = np.asarray(background, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / bg), 0.0)
    return terms.sum(axis=0)


def consensus(pwm: np.ndarray) -> str:
    """Most likely base at each position of a ``(4, w)`` matrix (probabilities or a CWM).

    Parameters
    ----------
    pwm : numpy.ndarray
        ``(4, w)`` matrix, rows A, C, G, T.

    Returns
    -------
    str
        ``w`` letters of ``ACGT`` (the first row on ties).
    """
    arr = np.asarray(pwm, dtype=np.float64)
    return "".join(BASES[i] for i in arr.argmax(axis=0))


def trim_motif(cwm: np.ndarray, threshold: float = 0.3) -> tuple[int, int]:
    """Trim bounds of a motif as the TF-MoDISco report does.

    Parameters
    ----------
    cwm
        ``(4, w)`` contribution-weighted matrix (or any matrix whose column magnitude says how much
        a position matters, e.g. information content).
    threshold
        Keep from the first to the last position whose ``sum |cwm|`` is at least ``threshold`` x
        the maximum.

    Returns
    -------
    tuple of int
        Half-open ``(start, stop)``.
    """
    score = np.abs(np.asarray(cwm, dtype=np.float64)).sum(axis=0)
    if score.size == 0 or score.max() <= 0:
        return 0, int(score.size)
    keep = np.flatnonzero(score >= float(threshold) * score.max())
    return int(keep.min()), int(keep.max()) + 1


# -- JASPAR -----------------------------------------------------------------------------------
def jaspar_releases() -> list[str]:
    """The JASPAR releases the installed pyjaspar ships as SQLite files, oldest first.

    Returns
    -------
    list of str
        e.g. ``["JASPAR2014", ..., "JASPAR2024", "JASPAR2026"]`` for pyjaspar 4.0.0.
    """
    import pyjaspar  # deferred: pyjaspar (and Biopython) load only to read JASPAR

    return sorted(pyjaspar.jaspar_releases)


@functools.lru_cache(maxsize=8)
def _fetch_jaspar(release: str, collection: str | None, tax_group: str | None) -> tuple[JasparMatrix, ...]:
    from pyjaspar import jaspardb  # deferred: pyjaspar (and Biopython) load only to read JASPAR

    db = jaspardb(release=release)
    kw: dict = {"collection": collection}
    if tax_group is not None:
        kw["tax_group"] = tax_group
    out = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Zero motifs returned")  # reported as an InputError
        records = db.fetch_motifs(**kw)
    for m in records:
        counts = np.array([m.counts[b] for b in BASES], dtype=np.float64)
        counts.setflags(write=False)
        out.append(JasparMatrix(str(m.matrix_id), str(m.name), counts))
    return tuple(out)


def jaspar_motifs(release: str = DEFAULT_RELEASE, collection: str | None = "CORE",
                  tax_group: str | None = "vertebrates") -> list[JasparMatrix]:
    """All matrices of a JASPAR collection, from pyjaspar's offline SQLite database.

    Only the latest version of each matrix is returned (pyjaspar's default). Results are cached
    per ``(release, collection, tax_group)``; the count arrays are read-only.

    Parameters
    ----------
    release
        A release pyjaspar ships (see :func:`jaspar_releases`).
    collection
        JASPAR collection (``CORE``, ``UNVALIDATED``, ...); ``None``: all collections.
    tax_group
        Taxonomic group (``vertebrates``, ``plants``, ``insects``, ``nematodes``, ``fungi``, ...);
        ``None``: all.

    Returns
    -------
    list of JasparMatrix
        ``(matrix_id, name, counts (4, w))`` in database order.

    Raises
    ------
    InputError
        Unknown release, or no matrix for that collection and taxonomic group.
    """
    releases = jaspar_releases()
    if release not in releases:
        raise InputError("release", None, f"unknown JASPAR release {release!r}; pyjaspar ships {', '.join(releases)}")
    motifs = _fetch_jaspar(release, collection, tax_group)
    if not motifs:
        raise InputError("release", None, f"{release} has no matrices for collection={collection!r} tax_group={tax_group!r}")
    return list(motifs)


# -- Tomtom -----------------------------------------------------------------------------------
def _targets(targets: Any, pseudocount: float) -> tuple[list[str], list[str], list[np.ndarray]]:
    if targets is None:
        targets = jaspar_motifs()
    ids: list[str] = []
    names: list[str] = []
    mats: list[np.ndarray] = []
    items: Iterable = targets.items() if isinstance(targets, Mapping) else targets
    for k, t in enumerate(items):
        if isinstance(targets, Mapping):
            mid, mat = t
            name = str(mid)
        elif isinstance(t, JasparMatrix):
            mid, name, mat = t.matrix_id, t.name, t.probabilities(pseudocount)
        elif isinstance(t, (tuple, list)) and len(t) == 3:
            mid, name, mat = t
        else:
            raise InputError("targets", f"target {k}", "targets are JasparMatrix, (matrix_id, name, (4, w) matrix) "
                                                       "tuples or a dict name -> (4, w) matrix")
        ids.append(str(mid))
        names.append(str(name))
        mats.append(_check_matrix(mat, str(mid), "targets"))
    if not mats:
        raise InputError("targets", None, "no target motifs")
    return ids, names, mats


def tomtom_matches(query_pwms: Mapping[str, np.ndarray], targets: Any = None, *, top_k: int = 5,
                   q_scope: str = "query", target_pseudocount: float = 0.0, n_jobs: int = -1) -> pd.DataFrame:
    """Match query motifs against a motif database with memelite's Tomtom.

    Parameters
    ----------
    query_pwms
        ``name -> (4, w)`` probabilities (counts are normalised per column).
    targets
        ``None``: :func:`jaspar_motifs` (JASPAR2024 CORE vertebrates); a list of
        :class:`JasparMatrix` (counts -> probabilities with ``target_pseudocount``) or of
        ``(matrix_id, name, (4, w) matrix)``; or a dict ``id -> (4, w) matrix``.
    top_k
        Matches kept per query (ranked by p-value, then score).
    q_scope
        ``"query"``: Benjamini-Hochberg per query over all targets (as MEME Tomtom); ``"all"``: over
        every query x target pair.
    target_pseudocount
        Pseudocount added to JASPAR counts (see :meth:`JasparMatrix.probabilities`).
    n_jobs
        numba threads for Tomtom (-1: numba's default, all cores).

    Returns
    -------
    pandas.DataFrame
        ``top_k`` rows per query, in query order then rank: ``query``, ``rank`` (1 = best match),
        ``target_id``, ``target_name``, ``p_value``, ``e_value``, ``q_value``, ``score``,
        ``offset``, ``overlap``, ``strand`` (``+``/``-``), ``query_width``, ``target_width``,
        ``query_consensus``, ``query_ic`` (bits). See the module docstring for the statistics.
    """
    from memelite.tomtom import tomtom  # deferred: memelite pulls in numba (slow import)

    if q_scope not in ("query", "all"):
        raise InputError("q_scope", None, f"q_scope must be 'query' or 'all', got {q_scope!r}")
    if int(top_k) < 1:
        raise InputError("top_k", None, f"top_k must be >= 1, got {top_k}")
    if not isinstance(query_pwms, Mapping) or not query_pwms:
        raise InputError("query_pwms", None, "query_pwms must be a non-empty dict name -> (4, w) matrix")
    qnames = [str(k) for k in query_pwms]
    queries = [_check_matrix(v, str(k)) for k, v in query_pwms.items()]
    ids, names, mats = _targets(targets, target_pseudocount)

    Qs = [np.ascontiguousarray(q) for q in queries]
    Ts = [np.ascontiguousarray(t) for t in mats]
    p, score, offset, overlap, strand = tomtom(Qs, Ts, n_nearest=None, reverse_complement=True, n_jobs=int(n_jobs))
    p = np.clip(p, 0.0, 1.0)
    if q_scope == "query":
        q = false_discovery_control(p, axis=1, method="bh")
    else:
        q = false_discovery_control(p.ravel(), method="bh").reshape(p.shape)
    k = min(int(top_k), len(Ts))
    rows = []
    for i, qname in enumerate(qnames):
        order = np.lexsort((-score[i], p[i]))[:k]
        cons, ic = consensus(queries[i]), float(information_content(queries[i]).sum())
        for r, j in enumerate(order, start=1):
            rows.append({
                "query": qname, "rank": r, "target_id": ids[j], "target_name": names[j],
                "p_value": float(p[i, j]), "e_value": float(p[i, j] * len(Ts)), "q_value": float(q[i, j]),
                "score": float(score[i, j]), "offset": int(offset[i, j]), "overlap": int(overlap[i, j]),
                "strand": "-" if strand[i, j] else "+", "query_width": queries[i].shape[1],
                "target_width": Ts[j].shape[1], "query_consensus": cons, "query_ic": ic,
            })
    return pd.DataFrame(rows)


# -- TF-MoDISco -------------------------------------------------------------------------------
@dataclass
class ModiscoPattern:
    """One TF-MoDISco pattern, trimmed.

    Attributes
    ----------
    name : str
        ``pos_patterns.pattern_<i>`` / ``neg_patterns.pattern_<i>`` (modisco's HDF5 naming).
    metacluster : str
        ``pos`` (positive contributions) or ``neg``.
    n_seqlets : int
        Seqlets supporting the pattern.
    pwm : numpy.ndarray
        ``(4, w)`` base probabilities of the aligned seqlets, trimmed.
    cwm : numpy.ndarray
        ``(4, w)`` mean contribution scores (contribution-weighted matrix), trimmed.
    hcwm : numpy.ndarray
        ``(4, w)`` mean hypothetical contributions, trimmed.
    trim : tuple of int
        ``(start, stop)`` of the trimmed motif in modisco's untrimmed pattern.
    seqlets : pandas.DataFrame
        ``example_idx``, ``start``, ``end`` (input coordinates, untrimmed seqlet), ``is_revcomp``.
    """

    name: str
    metacluster: str
    n_seqlets: int
    pwm: np.ndarray = field(repr=False)
    cwm: np.ndarray = field(repr=False)
    hcwm: np.ndarray = field(repr=False)
    trim: tuple[int, int] = (0, 0)
    seqlets: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)


@contextlib.contextmanager
def _seeded(seed: int | None):
    if seed is None:
        yield
        return
    np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed(int(seed) % (2 ** 32))
    random.seed(int(seed))
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def _finite_pairwise(jaccards: np.ndarray, neighbors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make modiscolite's ``pairwise_jaccard`` top-k well defined when rows are all zero.

    Two all-zero seqlet vectors (seqlets of zero contribution, or shifted past a sequence end)
    have a continuous Jaccard similarity of 0/0 = NaN, including a zero row with itself; the NaN
    then reaches Leiden ("Cannot accept NaN weights"). Such a pair shares nothing (similarity 0),
    and a row is identical to itself (1, first among its neighbours, as modisco assumes when it
    drops column 0). Rows are re-sorted, largest first, stably.
    """
    jac = np.array(jaccards, dtype=np.float64, copy=True)
    nb = np.array(neighbors, copy=True)
    bad = np.flatnonzero(~np.isfinite(jac).all(axis=1) | (nb[:, 0] != np.arange(len(nb))))
    for i in bad:
        row_j = np.nan_to_num(jac[i], nan=0.0, posinf=0.0, neginf=0.0)
        row_n = nb[i]
        self_at = np.flatnonzero(row_n == i)
        if self_at.size:
            row_j, row_n = np.delete(row_j, self_at), np.delete(row_n, self_at)
        else:
            row_j, row_n = row_j[:-1], row_n[:-1]
        order = np.argsort(-row_j, kind="stable")
        jac[i] = np.concatenate([[1.0], row_j[order]])
        nb[i] = np.concatenate([[i], row_n[order]])
    return jac, nb


@contextlib.contextmanager
def _finite_jaccard():
    """modiscolite's continuous Jaccard similarity of two all-zero seqlet vectors (seqlets shifted
    past a sequence end when patterns are aligned, or seqlets of zero contribution) is 0/0 = NaN,
    which then stops the pattern merging with scikit-learn's "Input contains NaN", or the
    sub-clustering with Leiden's "Cannot accept NaN weights". Such a pair shares nothing:
    similarity 0 (:func:`_finite_pairwise` for the nearest-neighbour form)."""
    from modiscolite import affinitymat  # deferred: modiscolite pulls in numba and h5py (slow import)

    orig = affinitymat.jaccard
    orig_pairwise = affinitymat.pairwise_jaccard

    def jaccard(*args, **kwargs):
        out = orig(*args, **kwargs)
        if isinstance(out, np.ndarray) and out.dtype.kind == "f":
            np.nan_to_num(out, copy=False, nan=0.0)
        return out

    def pairwise_jaccard(X, k):
        return _finite_pairwise(*orig_pairwise(X, k))

    affinitymat.jaccard = jaccard
    affinitymat.pairwise_jaccard = pairwise_jaccard
    try:
        yield
    finally:
        affinitymat.jaccard = orig
        affinitymat.pairwise_jaccard = orig_pairwise


def _check_tracks(onehot: Any, hypothetical: Any) -> tuple[np.ndarray, np.ndarray]:
    oh = np.asarray(onehot, dtype=np.float32)
    hy = np.asarray(hypothetical, dtype=np.float32)
    if oh.ndim != 3 or oh.shape[1] != 4:
        raise InputError("onehot", None, f"must be one-hot (N, 4, L), got shape {oh.shape}")
    if hy.shape != oh.shape:
        raise InputError("hypothetical", None, f"shape {hy.shape} differs from the one-hot's {oh.shape}")
    if oh.shape[0] == 0:
        raise InputError("onehot", None, "no sequences")
    if not (((oh == 0) | (oh == 1)).all() and (oh.sum(axis=1) <= 1).all()):
        raise InputError("onehot", None, "must be one-hot (0/1, at most one base per position)")
    if not np.isfinite(hy).all():
        raise InputError("hypothetical", None, "has non-finite values")
    return oh, hy


def _cache_modisco_kernels() -> None:
    """Let modiscolite's numba kernels load from / go to numba's on-disk cache when it cannot fork.

    modiscolite 3.0 compiles its kernels into the cache in forked children; once numba's OpenMP
    threading layer is running in this process (e.g. after memelite's Tomtom) it cannot fork, and
    it then compiles every kernel in-process without the cache (~20 s per run). Enabling caching
    on those kernels makes such runs reuse the children's cache entries. Best effort: it touches
    modiscolite internals and does nothing if they change.
    """
    try:
        from modiscolite import precompile  # deferred: modiscolite is slow to import

        if precompile._can_fork():
            return
        for group in precompile._kernels():
            for dispatcher, _sig in group:
                if hasattr(dispatcher, "enable_caching") and not dispatcher.overloads:
                    dispatcher.enable_caching()
    except Exception:  # noqa: BLE001 - an optimisation only
        return


def run_modisco(onehot: np.ndarray, hypothetical: np.ndarray, *, window: int | None = None,
                max_seqlets: int = 2000, sliding_window_size: int = 21, flank_size: int = 10,
                min_metacluster_size: int = 100, final_min_cluster_size: int = 20, n_leiden_runs: int = 50,
                trim_threshold: float = 0.3, seed: int | None = 0, verbose: bool = False) -> list[ModiscoPattern]:
    """Discover motifs from hypothetical contributions with TF-MoDISco lite (``modiscolite``).

    Parameters
    ----------
    onehot
        ``(N, 4, L)`` one-hot sequences (N = all-zero column).
    hypothetical
        ``(N, 4, L)`` hypothetical contributions (:func:`seq2func.interpret.attribution.attributions`);
        the contributions modisco scores seqlets on are ``hypothetical * onehot``.
    window
        Use only the central ``window`` bp of each sequence (modisco's CLI ``-w``); ``None``: all.
    max_seqlets
        Seqlets per metacluster (``max_seqlets_per_metacluster``; the CLI's default 2000).
    sliding_window_size, flank_size, min_metacluster_size, final_min_cluster_size, n_leiden_runs
        Passed to :func:`modiscolite.tfmodisco.TFMoDISco` (its defaults: 21, 10, 100, 20, 50).
        A metacluster needs *more than* ``min_metacluster_size`` seqlets to be clustered.
    trim_threshold
        Trim each pattern to the positions whose ``sum |cwm|`` is at least this fraction of the
        maximum (as modisco's report does; :func:`trim_motif`).
    seed
        Seeds numpy's and Python's global generators during the run (restored afterwards).
        modiscolite 3.0 itself is deterministic: it seeds its Laplacian null (1234), its
        subsampling (1234) and its Leiden runs (1..n_leiden_runs) internally.
    verbose
        modisco's progress messages.

    Returns
    -------
    list of ModiscoPattern
        Positive metacluster first, then negative, each in modisco's order (by support).
    """
    from modiscolite.tfmodisco import TFMoDISco  # deferred: modiscolite is slow to import

    oh, hy = _check_tracks(onehot, hypothetical)
    L = oh.shape[2]
    lo = 0
    if window is not None:
        w = int(window)
        if w < 1 or w > L:
            raise InputError("window", None, f"window must be in [1, {L}], got {window}")
        lo = (L - w) // 2
        oh, hy = oh[:, :, lo:lo + w], hy[:, :, lo:lo + w]
    if oh.shape[2] < sliding_window_size + 2 * flank_size:
        raise InputError("window", None, f"sequences of {oh.shape[2]} bp are shorter than one seqlet "
                                         f"({sliding_window_size} + 2 x {flank_size} bp)")
    _cache_modisco_kernels()
    oh_t = np.ascontiguousarray(oh.transpose(0, 2, 1))  # modiscolite wants (N, L, 4)
    hy_t = np.ascontiguousarray(hy.transpose(0, 2, 1))
    with _seeded(seed), _finite_jaccard():
        pos, neg = TFMoDISco(one_hot=oh_t, hypothetical_contribs=hy_t, sliding_window_size=int(sliding_window_size),
                             flank_size=int(flank_size), min_metacluster_size=int(min_metacluster_size),
                             max_seqlets_per_metacluster=int(max_seqlets), final_min_cluster_size=int(final_min_cluster_size),
                             n_leiden_runs=int(n_leiden_runs), verbose=bool(verbose))
    out: list[ModiscoPattern] = []
    for meta, patterns in (("pos", pos), ("neg", neg)):
        for i, pat in enumerate(patterns or []):
            ppm = np.asarray(pat.sequence, dtype=np.float64).T
            cwm = np.asarray(pat.contrib_scores, dtype=np.float64).T
            hcwm = np.asarray(pat.hypothetical_contribs, dtype=np.float64).T
            a, b = trim_motif(cwm, trim_threshold)
            sl = pd.DataFrame({
                "example_idx": [int(s.example_idx) for s in pat.seqlets],
                "start": [int(s.start) + lo for s in pat.seqlets],
                "end": [int(s.end) + lo for s in pat.seqlets],
                "is_revcomp": [bool(s.is_revcomp) for s in pat.seqlets],
            })
            out.append(ModiscoPattern(name=f"{meta}_patterns.pattern_{i}", metacluster=meta,
                                      n_seqlets=len(pat.seqlets), pwm=ppm[:, a:b].copy(), cwm=cwm[:, a:b].copy(),
                                      hcwm=hcwm[:, a:b].copy(), trim=(a, b), seqlets=sl))
    return out


# -- outputs ----------------------------------------------------------------------------------
def _motif_items(motifs: Any) -> list[tuple[str, str, np.ndarray, int]]:
    """``(id, alt name, (4, w) probabilities, nsites)`` of each motif."""
    items: list[tuple[str, str, np.ndarray, int]] = []
    if isinstance(motifs, Mapping):
        for k, v in motifs.items():
            items.append((str(k), "", _check_matrix(v, str(k), "motifs"), 0))
        return items
    for k, m in enumerate(motifs):
        if isinstance(m, ModiscoPattern):
            items.append((m.name, "", _check_matrix(m.pwm, m.name, "motifs"), m.n_seqlets))
        elif isinstance(m, JasparMatrix):
            items.append((m.matrix_id, m.name, m.probabilities(), round(float(m.counts[:, 0].sum()))))
        elif isinstance(m, (tuple, list)) and len(m) == 3:
            items.append((str(m[0]), str(m[1]), _check_matrix(m[2], str(m[0]), "motifs"), 0))
        else:
            raise InputError("motifs", f"motif {k}", "expected a dict name -> (4, w) matrix, ModiscoPattern, "
                                                     "JasparMatrix or (id, name, matrix) items")
    return items


def write_meme(path: str | os.PathLike, motifs: Any,
               background: Sequence[float] = (0.25, 0.25, 0.25, 0.25)) -> Path:
    """Write motifs in MEME minimal format (readable by MEME Suite and memelite), atomically.

    Parameters
    ----------
    path
        Output file.
    motifs
        A dict ``name -> (4, w)`` probabilities, or a list of :class:`ModiscoPattern`,
        :class:`JasparMatrix` or ``(id, name, (4, w) matrix)``. Whitespace in IDs becomes ``_``;
        the ``MOTIF`` line is ``MOTIF <id> [<name>]``.
    background
        Background letter frequencies (A, C, G, T).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    items = _motif_items(motifs)
    bg = " ".join(f"{b} {float(f):.6g}" for b, f in zip(BASES, background))
    lines = ["MEME version 5", "", "ALPHABET= ACGT", "", "strands: + -", "", "Background letter frequencies", bg, ""]
    for mid, alt, pwm, nsites in items:
        mid = "_".join(mid.split()) or "motif"
        alt = "_".join(alt.split())
        lines.append(f"MOTIF {mid} {alt}".rstrip())
        lines.append(f"letter-probability matrix: alength= 4 w= {pwm.shape[1]} nsites= {max(int(nsites), 1)} E= 0")
        for col in pwm.T:
            lines.append(" ".join(f"{v:.6f}" for v in col))
        lines.append("")
    return write_text(path, "\n".join(lines))


def logo_png(path: str | os.PathLike, pwm: np.ndarray, title: str | None = None, *, kind: str = "information",
             dpi: int = 150) -> Path:
    """Draw a sequence logo with logomaker and write it as PNG, atomically.

    Parameters
    ----------
    path
        Output PNG.
    pwm
        ``(4, w)`` matrix: probabilities for ``kind="information"`` / ``"probability"``, signed
        contribution scores (a CWM) for ``kind="weight"``.
    title
        Plot title.
    kind
        ``"information"`` (letter heights = probability x column information content in bits,
        uniform background), ``"probability"``, or ``"weight"`` (the values as given, negative
        letters below the axis).
    dpi
        Resolution.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import logomaker  # deferred: logomaker and matplotlib are heavy; only logo drawing needs them
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # deferred: as above
    from matplotlib.figure import Figure  # deferred: as above

    if kind not in ("information", "probability", "weight"):
        raise InputError("kind", None, f"logo kind must be 'information', 'probability' or 'weight', got {kind!r}")
    if kind == "weight":
        mat = _check_matrix(pwm, title or "pwm", "pwm", normalise=False, nonnegative=False)
    else:
        mat = _check_matrix(pwm, title or "pwm", "pwm")
    df = pd.DataFrame(mat.T, columns=list(BASES))
    if kind == "information":
        df = logomaker.transform_matrix(df, from_type="probability", to_type="information")
    w = mat.shape[1]
    fig = Figure(figsize=(max(2.5, 0.35 * w + 1.0), 2.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111)
    logomaker.Logo(df, ax=ax, color_scheme="classic")
    ax.set_xticks(range(w))
    ax.set_xticklabels([str(i + 1) for i in range(w)], fontsize=7)
    ax.set_ylabel({"information": "bits", "probability": "probability", "weight": "contribution"}[kind])
    if kind == "information":
        ax.set_ylim(0, 2)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=int(dpi))
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def motif_table(path: str | os.PathLike, patterns: Sequence[ModiscoPattern] | pd.DataFrame,
                matches: pd.DataFrame | None = None) -> pd.DataFrame:
    """Write the motif summary table (TSV), atomically.

    Parameters
    ----------
    path
        Output TSV.
    patterns
        :class:`ModiscoPattern` list (one row each: ``pattern``, ``metacluster``, ``n_seqlets``,
        ``width``, ``consensus``, ``ic_bits``, ``cwm_sum``), or a ready DataFrame written as is.
    matches
        Optional :func:`tomtom_matches` result: the best match of each pattern is joined
        (``best_target_id``, ``best_target_name``, ``best_p_value``, ``best_q_value``,
        ``best_strand``, ``best_offset``).

    Returns
    -------
    pandas.DataFrame
        The table written.
    """
    if isinstance(patterns, pd.DataFrame):
        df = patterns.copy()
    else:
        df = pd.DataFrame([{
            "pattern": p.name, "metacluster": p.metacluster, "n_seqlets": int(p.n_seqlets),
            "width": int(p.pwm.shape[1]), "consensus": consensus(p.pwm),
            "ic_bits": float(information_content(p.pwm).sum()), "cwm_sum": float(p.cwm.sum()),
        } for p in patterns], columns=["pattern", "metacluster", "n_seqlets", "width", "consensus", "ic_bits", "cwm_sum"])
        if matches is not None and len(matches):
            best = matches[matches["rank"] == 1].set_index("query")
            cols = {"target_id": "best_target_id", "target_name": "best_target_name", "p_value": "best_p_value",
                    "q_value": "best_q_value", "strand": "best_strand", "offset": "best_offset"}
            df = df.join(best[list(cols)].rename(columns=cols), on="pattern")
    write_text(path, df.to_csv(sep="\t", index=False, float_format="%.6g", na_rep="NA"))
    return df
