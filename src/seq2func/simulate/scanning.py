"""PWM scanning and the occupancy model of the simulated world.

Sequences are ``uint8`` codes ``A=0 C=1 G=2 T=3 N=4``. For each TF the log-odds matrix is
``ln(p / background)`` (``p`` from the JASPAR counts with a pseudocount; an ``N`` scores
``n_log_odds`` at every motif position). A *site* is a start position and strand whose score
``s`` reaches ``h - cutoff``; its occupancy is ``1 / (1 + exp(-beta (s - h)))``. The per-TF
threshold ``h`` is the larger of (a) the score exceeded with probability ``bg_tail_p`` by
background sequence and (b) the ``planted_quantile`` quantile of scores of PWM samples, both
computed exactly on a ``score_grid`` grid by convolving the per-column score distributions,
capped at ``max score - plant_margin - 0.5`` so that plantable instances exist.

Scores are sums of 4-mer block tables (``ceil(w / 4)`` lookups per position) added in a fixed
order, so the score of a site depends only on its own bases: scanning a chromosome, a local
window or a haplotype gives bit-identical scores and occupancies for identical bases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seq2func.simulate.config import ModelParams

CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    CODE[ord(_b)] = _i
    CODE[ord(_b.lower())] = _i
LETTERS = np.frombuffer(b"ACGTN", dtype=np.uint8)
COMPLEMENT = np.array([3, 2, 1, 0, 4], dtype=np.uint8)

_DIGITS = np.array([[(k // 125) % 5, (k // 25) % 5, (k // 5) % 5, k % 5] for k in range(625)], dtype=np.int64)
_SCAN_CHUNK = 1 << 16


def encode(seq: str | bytes | np.ndarray) -> np.ndarray:
    """DNA text (any case, anything else -> N) to codes.

    Parameters
    ----------
    seq : str, bytes or numpy.ndarray
        ASCII DNA, or an array of codes already (returned as ``uint8`` without copying).

    Returns
    -------
    numpy.ndarray
        ``uint8`` codes ``A=0 C=1 G=2 T=3 N=4``, one per base.
    """
    if isinstance(seq, np.ndarray):
        return seq.astype(np.uint8, copy=False)
    if isinstance(seq, str):
        seq = seq.encode("ascii")
    return CODE[np.frombuffer(seq, dtype=np.uint8)]


def decode(codes: np.ndarray) -> str:
    """Codes back to DNA text (upper case).

    Parameters
    ----------
    codes : numpy.ndarray
        Integer codes ``0..4`` (``A C G T N``).

    Returns
    -------
    str
        The sequence.
    """
    return LETTERS[codes].tobytes().decode("ascii")


@dataclass
class Sites:
    """Sites sorted by (start, tf, strand). ``strand`` is +1/-1; ``width`` per site."""

    start: np.ndarray  # int64
    tf: np.ndarray  # int16
    strand: np.ndarray  # int8
    score: np.ndarray  # float64
    occ: np.ndarray  # float64
    width: np.ndarray  # int64

    def __len__(self) -> int:
        return int(self.start.size)

    def take(self, idx) -> "Sites":
        """The sites selected by ``idx``.

        Parameters
        ----------
        idx : array-like
            Integer indices or a boolean mask, applied to every field.

        Returns
        -------
        Sites
        """
        return Sites(self.start[idx], self.tf[idx], self.strand[idx], self.score[idx], self.occ[idx], self.width[idx])

    @staticmethod
    def empty() -> "Sites":
        return Sites(np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0, np.int8), np.zeros(0), np.zeros(0), np.zeros(0, np.int64))

    @staticmethod
    def concat(parts: list["Sites"]) -> "Sites":
        """The sites of several sets, one after the other (not re-sorted).

        Parameters
        ----------
        parts : list of Sites
            The sets to join.

        Returns
        -------
        Sites
            Empty when ``parts`` is.
        """
        if not parts:
            return Sites.empty()
        return Sites(*[np.concatenate([getattr(p, f) for p in parts]) for f in ("start", "tf", "strand", "score", "occ", "width")])


def _score_distribution(lo: np.ndarray, weights: np.ndarray, step: float) -> tuple[np.ndarray, int]:
    """Exact distribution of the summed (grid-rounded) score; returns (pmf, offset in grid units)."""
    lo_i = np.round(lo / step).astype(np.int64)
    pmf = np.array([1.0])
    off = 0
    for col in range(lo.shape[0]):
        mn, mx = int(lo_i[col].min()), int(lo_i[col].max())
        k = np.zeros(mx - mn + 1)
        for b in range(4):
            k[lo_i[col, b] - mn] += weights[col, b] if weights.ndim == 2 else weights[b]
        pmf = np.convolve(pmf, k)
        off += mn
    return pmf, off


class Scanner:
    """Scores all TFs on both strands; see the module docstring for the model."""

    def __init__(self, names: list[str], log_odds: list[np.ndarray], thresholds: np.ndarray, params: ModelParams):
        self.names = list(names)
        self.params = params
        self.log_odds = [np.asarray(lo, dtype=np.float64) for lo in log_odds]
        self.widths = np.array([lo.shape[0] for lo in self.log_odds], dtype=np.int64)
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self.wmax = int(self.widths.max())
        # Stacked float32 block tables: column 2*tf is the forward strand, 2*tf+1 the reverse.
        self.n_blocks = int(max((w + 3) // 4 for w in self.widths))
        self._stack = np.zeros((self.n_blocks, 625, 2 * len(self.names)), dtype=np.float32)
        for i, lo in enumerate(self.log_odds):
            for j, m in enumerate((lo, self._rc(lo))):
                t = self._block_tables(m)
                self._stack[: t.shape[0], :, 2 * i + j] = t
        self._low = np.repeat(self.thresholds - params.cutoff, 2).astype(np.float32)
        self._col_tf = np.repeat(np.arange(len(self.names)), 2).astype(np.int16)
        self._col_strand = np.tile(np.array([1, -1], np.int8), len(self.names))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_motifs(cls, motifs, params: ModelParams) -> "Scanner":
        """Build from :class:`seq2func.io.motifs.Motif` objects, computing the thresholds.

        Parameters
        ----------
        motifs : iterable of seq2func.io.motifs.Motif
            The TFs' count matrices, in TF index order.
        params : ModelParams
            Pseudocount, background, score grid and the threshold constants (see the module doc).

        Returns
        -------
        Scanner
        """
        names, los, ths = [], [], []
        bg = np.asarray(params.background)
        for m in motifs:
            lo = m.log_odds(params.background, params.pseudocount)
            p = m.probabilities(params.pseudocount)
            pmf_bg, off_bg = _score_distribution(lo, bg, params.score_grid)
            tail = np.cumsum(pmf_bg[::-1])[::-1]
            ok = np.flatnonzero(tail <= params.bg_tail_p)
            h_bg = (ok[0] + off_bg) * params.score_grid if ok.size else np.inf
            pmf_m, off_m = _score_distribution(lo, p, params.score_grid)
            cdf = np.cumsum(pmf_m)
            q = (int(np.searchsorted(cdf, params.planted_quantile)) + off_m) * params.score_grid
            h = min(max(h_bg, q), float(lo.max(axis=1).sum()) - params.plant_margin - 0.5)
            names.append(m.name)
            los.append(lo)
            ths.append(round(float(h), 6))
        return cls(names, los, np.array(ths), params)

    @staticmethod
    def _rc(lo: np.ndarray) -> np.ndarray:
        return lo[::-1, ::-1].copy()

    def _block_tables(self, lo: np.ndarray) -> np.ndarray:
        w = lo.shape[0]
        nb = (w + 3) // 4
        lo5 = np.zeros((nb * 4, 5))
        lo5[:w, :4] = lo
        lo5[:w, 4] = self.params.n_log_odds
        tabs = np.empty((nb, 625))
        for b in range(nb):
            t = lo5[4 * b, _DIGITS[:, 0]]
            for i in range(1, 4):
                t = t + lo5[4 * b + i, _DIGITS[:, i]]
            tabs[b] = t
        return tabs

    # ------------------------------------------------------------------ scoring
    def occupancy(self, score: np.ndarray, tf: np.ndarray) -> np.ndarray:
        """Occupancy ``1 / (1 + exp(-beta (score - h_tf)))`` of sites.

        Parameters
        ----------
        score : numpy.ndarray
            Site scores (log-odds, nats).
        tf : numpy.ndarray
            The TF index of each site (same shape as ``score``).

        Returns
        -------
        numpy.ndarray
            Occupancies in ``(0, 1)``, shaped like ``score``.
        """
        return 1.0 / (1.0 + np.exp(-self.params.beta * (score - self.thresholds[tf])))

    def _kmers(self, codes: np.ndarray) -> np.ndarray:
        c = np.concatenate([codes, np.full(4 * self.n_blocks + 4, 4, np.uint8)]).astype(np.int16)
        return c[:-3] * 125 + c[1:-2] * 25 + c[2:-1] * 5 + c[3:]

    def score_matrix(self, codes: np.ndarray) -> np.ndarray:
        """float32 scores (positions x (2 * n_tf)) of every start position of ``codes``.

        Column ``2*tf`` is the forward strand, ``2*tf + 1`` the reverse. Positions where the
        motif runs past the end score as if followed by N.

        Parameters
        ----------
        codes : numpy.ndarray
            Sequence codes (see :func:`encode`).

        Returns
        -------
        numpy.ndarray
            ``(len(codes), 2 * n_tf)`` float32 scores.
        """
        K = self._kmers(np.asarray(codes, np.uint8))
        n = int(np.asarray(codes).size)
        S = np.take(self._stack[0], K[:n], axis=0)
        for b in range(1, self.n_blocks):
            S += np.take(self._stack[b], K[4 * b : 4 * b + n], axis=0)
        return S

    def score_one(self, codes: np.ndarray, tf: int, strand: int = 1) -> float:
        """Score of one placement (codes of length width), same arithmetic as the scan.

        Parameters
        ----------
        codes : numpy.ndarray
            Sequence codes starting at the placement (at least the motif's width; only the first
            position is scored).
        tf : int
            TF index.
        strand : int, optional
            ``+1`` forward (default) or ``-1`` reverse.

        Returns
        -------
        float
            The log-odds score (nats).
        """
        S = self.score_matrix(np.asarray(codes, np.uint8))
        return float(S[0, 2 * tf + (0 if strand > 0 else 1)])

    def scan(self, codes: np.ndarray, offset: int = 0) -> Sites:
        """All sites (score >= h - cutoff) fully inside ``codes``; starts are shifted by ``offset``.

        Parameters
        ----------
        codes : numpy.ndarray
            Sequence codes (see :func:`encode`).
        offset : int, optional
            Added to every start (e.g. the 0-based coordinate of ``codes[0]`` on the chromosome).

        Returns
        -------
        Sites
            Sorted by ``(start, tf, strand)``.
        """
        codes = np.asarray(codes, dtype=np.uint8)
        n = codes.size
        parts = []
        for a in range(0, n, _SCAN_CHUNK):
            b = min(n, a + _SCAN_CHUNK)
            S = self.score_matrix(codes[a : min(n, b + 4 * self.n_blocks + 4)])[: b - a]
            pos, col = np.nonzero(S >= self._low[None, :])
            if pos.size == 0:
                continue
            tf = self._col_tf[col]
            w = self.widths[tf]
            start = pos.astype(np.int64) + a
            ok = start + w <= n
            pos, col, tf, w, start = pos[ok], col[ok], tf[ok], w[ok], start[ok]
            sc = S[pos, col].astype(np.float64)
            parts.append(Sites(start + offset, tf, self._col_strand[col], sc, self.occupancy(sc, tf), w))
        sites = Sites.concat(parts)
        order = np.lexsort((sites.strand, sites.tf, sites.start))
        return sites.take(order)

    # ------------------------------------------------------------------ sampling
    def sample_instance(self, tf: int, rng: np.random.Generator, probs: np.ndarray, min_score: float) -> np.ndarray:
        """A PWM sample (forward-strand codes) scoring >= ``min_score``; consensus if none found.

        Parameters
        ----------
        tf : int
            TF index.
        rng : numpy.random.Generator
            Source of the draws (up to 50 batches of 64 candidates).
        probs : numpy.ndarray
            ``(width, 4)`` base probabilities to sample from (A, C, G, T).
        min_score : float
            Lowest acceptable log-odds score (nats).

        Returns
        -------
        numpy.ndarray
            ``(width,)`` ``uint8`` codes: the first candidate that scores high enough, else the
            log-odds consensus.
        """
        w = int(self.widths[tf])
        cum = np.cumsum(probs, axis=1)[:, :3]
        for _ in range(50):
            u = rng.random((64, w))
            cand = (u[:, :, None] > cum[None, :, :]).sum(axis=2).astype(np.uint8)
            sc = self.log_odds[tf][np.arange(w)[None, :], cand].sum(axis=1)
            ok = np.flatnonzero(sc >= min_score)
            if ok.size:
                return cand[ok[0]]
        return self.log_odds[tf].argmax(axis=1).astype(np.uint8)
