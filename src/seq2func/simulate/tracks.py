"""Coverage tracks (bigWig), peaks (narrowPeak) and noise ceilings.

Per cell type ``ct`` and base ``p`` (chromosome computed in chunks of ``chunk_bp``)::

    ATAC  lambda(p) = depth * (atac_bg + atac_gain * B3(sum over sites centred at p of act[ct,tf] * acc[tf] * occ))
    CAGE  lambda(p) = depth * (cage_bg + cage_gain * sum over genes x_ct(gene) * k(p - tss))

``B3`` = box filter of ``atac_box_bp`` applied ``atac_box_passes`` times (a smooth bell of a
few hundred bp); site centre = ``start + width // 2``; ``x_ct`` = the gene's reference expression
in that cell type (the truth expression model); ``k`` = discrete Gaussian (``cage_sd_bp``,
``+/- cage_half_width``, sums to 1). Inside N runs ``lambda = 0``; inside blacklist intervals
``depth * blacklist_level`` is added (an artefact, as in real blacklists). Observed coverage =
``Poisson(lambda)`` per base (integers), drawn from ``rng_for(seed, C_TRACK_NOISE, track, chrom,
chunk)``, and written to bigWig as runs of equal values (every base covered, zeros included).

Peaks: maximal runs with expected ``lambda >= peak_fold * depth * atac_bg`` and length
``>= peak_min_bp``; summit = first argmax of expected lambda; ``signalValue`` = fold enrichment over
``depth * atac_bg`` at the summit; ``pValue`` = -log10 P(Poisson(depth * atac_bg * length) >=
observed count in the peak); ``qValue`` = -1; ``score`` = min(1000, round(10 * signalValue)).

Ceilings of the evaluated quantity (per track and chromosome, :class:`TransformedCeiling`): the
same bins, transformed as the samplesheet says (``f``; the stored targets are float16), so they
are the ceilings of exactly the number EVALUATE reports on a chromosome: ``ceiling`` = Pearson of
``E[f(K) | L]`` (exact, Poisson pmf) with ``f(O)``, the best any predictor can reach, and
``sequence_ceiling`` = Pearson of ``f(L)`` (the noiseless expected track, i.e. the output of a
perfect sequence model) with ``f(O)``.

Noise ceiling (per track, ``bin_bp`` bins aligned to 0, partial last bins and bins touching the
blacklist excluded): ``analytic_r = sqrt(Var(L) / (Var(L) + E[L]))`` over bins of summed expected
``L`` (the best Pearson R any predictor of the observed binned counts can reach, since
``obs | L ~ Poisson(L)``), ``empirical_r`` = Pearson(expected, observed) binned, and
``empirical_r_log1p`` on log1p values.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.special import gammainc

from seq2func.simulate.config import C_TRACK_NOISE, rng_for


def cage_kernel(P) -> np.ndarray:
    """The discrete Gaussian kernel that spreads a gene's CAGE signal around its TSS.

    Parameters
    ----------
    P : ModelParams
        ``cage_sd_bp`` and ``cage_half_width``.

    Returns
    -------
    numpy.ndarray
        ``(2 * cage_half_width + 1,)`` weights summing to 1, centred on the TSS.
    """
    x = np.arange(-P.cage_half_width, P.cage_half_width + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / P.cage_sd_bp) ** 2)
    return k / k.sum()


def expected_chunk(world, cs, track: dict, a: int, b: int) -> np.ndarray:
    """Expected per-base coverage (float64) of ``track`` over [a, b) of chromosome state ``cs``.

    Parameters
    ----------
    world : seq2func.simulate.world.World
        The world (params, scanner, CAGE kernel).
    cs : seq2func.simulate.world.ChromState
        The chromosome (sites, accessibility, gene expression, layout, codes).
    track : dict
        One of ``world.tracks`` (``assay``, ``ct_index``, ``depth``).
    a : int
        Chunk start (0-based).
    b : int
        Chunk end (exclusive).

    Returns
    -------
    numpy.ndarray
        ``(b - a,)`` Poisson means (0 in N runs, blacklist artefact added).
    """
    P = world.params
    ct = track["ct_index"]
    n = b - a
    if track["assay"] == "ATAC":
        half = P.atac_box_bp // 2
        mg = half * P.atac_box_passes + 2
        lo, hi = a - mg, b + mg
        i0 = int(np.searchsorted(cs.sites.start, lo - world.scanner.wmax, side="left"))
        i1 = int(np.searchsorted(cs.sites.start, hi, side="left"))
        c = cs.site_centre[i0:i1]
        keep = (c >= lo) & (c < hi)
        wts = cs.site_acc[ct, i0:i1][keep]
        dense = np.bincount(c[keep] - lo, weights=wts, minlength=hi - lo).astype(np.float64)
        for _ in range(P.atac_box_passes):
            dense = uniform_filter1d(dense, size=P.atac_box_bp, mode="constant", cval=0.0)
        sig = np.maximum(dense[mg : mg + n], 0.0)
        lam = track["depth"] * (P.atac_bg + P.atac_gain * sig)
    else:
        k = world.cage_kernel
        hw = P.cage_half_width
        sig = np.zeros(n + 4 * hw)  # position p is index p - a + 2 * hw
        for gi, g in enumerate(cs.layout.genes):
            if a - hw <= g.tss < b + hw:
                o = g.tss - hw - a + 2 * hw  # index of the kernel's first base
                sig[o : o + k.size] += cs.gene_x[gi, ct] * k
        lam = track["depth"] * (P.cage_bg + P.cage_gain * sig[2 * hw : 2 * hw + n])
    lam[cs.codes[a:b] == 4] = 0.0
    for s, e in cs.layout.blacklist:
        s2, e2 = max(s, a), min(e, b)
        if s2 < e2:
            lam[s2 - a : e2 - a] += track["depth"] * P.blacklist_level
    return lam


def observed_chunk(world, track_index: int, chrom_index: int, chunk_index: int, lam: np.ndarray) -> np.ndarray:
    """Observed coverage of one chunk: ``Poisson(lam)`` from the chunk's own generator.

    Parameters
    ----------
    world : seq2func.simulate.world.World
        The world (its seed).
    track_index : int
        Index of the track in ``world.tracks``.
    chrom_index : int
        0-based chromosome index.
    chunk_index : int
        Index of the chunk on the chromosome.
    lam : numpy.ndarray
        Expected coverage of the chunk (from :func:`expected_chunk`).

    Returns
    -------
    numpy.ndarray
        Integer counts shaped like ``lam``.
    """
    rng = rng_for(world.seed, C_TRACK_NOISE, track_index, chrom_index, chunk_index)
    return rng.poisson(lam)


def run_length(values: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(starts, ends, values) of the runs of equal values, starts shifted by ``offset``.

    Parameters
    ----------
    values : numpy.ndarray
        1-D per-base values.
    offset : int
        Added to starts and ends (the coordinate of ``values[0]``).

    Returns
    -------
    tuple of numpy.ndarray
        Run starts and ends (int64, half-open) and run values (float64).
    """
    if values.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    ends = np.concatenate([change, [values.size]]).astype(np.int64)
    return starts + offset, ends + offset, values[starts].astype(np.float64)


def neglog10_poisson_sf(k: int, mu: float) -> float:
    """-log10 P(X >= k), X ~ Poisson(mu).

    Parameters
    ----------
    k : int
        Observed count.
    mu : float
        Poisson mean (> 0).

    Returns
    -------
    float
        0 for ``k <= 0``; a Chernoff bound when the probability underflows.
    """
    if k <= 0:
        return 0.0
    p = float(gammainc(k, mu))
    if p > 0:
        return -math.log10(p)
    return (k * math.log(k / mu) - k + mu) / math.log(10)  # Chernoff bound when P underflows


class PeakCaller:
    """Streams chunks of one ATAC track of one chromosome and writes narrowPeak lines."""

    def __init__(self, fh, track: dict, P, counter: list[int]):
        self.fh, self.track, self.P, self.counter = fh, track, P, counter
        self.base = track["depth"] * P.atac_bg
        self.thr = P.peak_fold * self.base
        self.open = None  # [start, max_lam, summit, obs_sum]
        self.chrom = None

    def start_chrom(self, chrom: str) -> None:
        """Start a chromosome (any peak still open is dropped).

        Parameters
        ----------
        chrom : str
            Chromosome name, written in the peak lines.
        """
        self.chrom = chrom
        self.open = None

    def feed(self, a: int, lam: np.ndarray, obs: np.ndarray) -> None:
        """Feed the next chunk [a, a + len) of the current chromosome (chunks in order).

        Parameters
        ----------
        a : int
            Chunk start (0-based).
        lam : numpy.ndarray
            Expected coverage of the chunk.
        obs : numpy.ndarray
            Observed coverage of the chunk (same shape).
        """
        mask = lam >= self.thr
        n = lam.size
        if self.open is not None and not (n and mask[0]):
            self._emit(self.open, a)
            self.open = None
        if not mask.any():
            return
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
        cs = np.concatenate([[0], np.cumsum(obs, dtype=np.int64)])
        for s, e in zip(edges[0::2], edges[1::2]):
            seg = lam[s:e]
            j = int(np.argmax(seg))
            osum = int(cs[e] - cs[s])
            if s == 0 and self.open is not None:
                o = self.open
                if seg[j] > o[1]:
                    o[1], o[2] = float(seg[j]), a + int(s) + j
                o[3] += osum
            else:
                self.open = [a + int(s), float(seg[j]), a + int(s) + j, osum]
            if e < n:
                self._emit(self.open, a + int(e))
                self.open = None

    def end_chrom(self, length: int) -> None:
        """Close the chromosome, writing a peak still open at its end.

        Parameters
        ----------
        length : int
            Chromosome length (the open peak's end).
        """
        if self.open is not None:
            self._emit(self.open, length)
            self.open = None

    def _emit(self, o, end: int) -> None:
        start, mx, summit, osum = o
        if end - start < self.P.peak_min_bp:
            return
        fe = mx / self.base
        self.counter[0] += 1
        pval = neglog10_poisson_sf(osum, self.base * (end - start))
        self.fh.write(
            f"{self.chrom}\t{start}\t{end}\t{self.track['track_id']}_peak{self.counter[0]}\t{min(1000, int(round(10 * fe)))}"
            f"\t.\t{fe:.4f}\t{pval:.4f}\t-1\t{summit - start}\n"
        )


def expected_transformed(L: np.ndarray, transform, divisor: float = 1.0, chunk: int = 2048) -> np.ndarray:
    """``E[f(K / divisor)]`` for ``K ~ Poisson(L)``, elementwise, exactly (pmf over +/- 12 SD).

    Parameters
    ----------
    L : array of Poisson means (binned expected coverage).
    transform : :class:`seq2func.transforms.Transform` (``f``; only its operations are applied).
    divisor : the aggregation's divisor (bin size for ``mean``, 1 for ``sum``).

    Returns
    -------
    ndarray of ``L``'s shape.
    """
    # deferred: scipy.stats is slow to import (~0.8 s) and only ceilings need it; simulate is a light stage
    from scipy.stats import poisson

    L = np.asarray(L, np.float64)
    if not transform.ops:
        return L / divisor
    out = np.empty_like(L)
    flat, res = L.ravel(), out.ravel()
    sd = np.sqrt(flat)
    lo = np.maximum(0, np.floor(flat - 12 * sd - 12)).astype(np.int64)
    hi = np.ceil(flat + 12 * sd + 12).astype(np.int64)
    order = np.argsort(hi - lo, kind="stable")
    for s in range(0, order.size, chunk):
        sel = order[s:s + chunk]
        W = int((hi[sel] - lo[sel]).max()) + 1
        k = lo[sel, None] + np.arange(W)[None, :]
        valid = k <= hi[sel, None]
        pmf = np.where(valid, poisson.pmf(k, flat[sel, None]), 0.0)
        f = transform.apply((k / divisor).astype(np.float64)).astype(np.float64)
        res[sel] = (pmf * f).sum(1) / pmf.sum(1)
    return res.reshape(L.shape)


class TransformedCeiling:
    """Per-chromosome ceilings of one track on the transformed scale (see module docstring)."""

    def __init__(self, bin_bp: int, transform):
        self.bin, self.tr = bin_bp, transform
        self.div = float(bin_bp) if transform.aggregation == "mean" else 1.0
        self.sums: dict[str, np.ndarray] = {}  # chrom -> n, c, c2, p, p2, y, y2, cy, py

    def feed(self, chrom: str, lam: np.ndarray, obs: np.ndarray, bad: np.ndarray) -> None:
        """Add a chunk's bins to the chromosome's moments.

        Parameters
        ----------
        chrom : str
            Chromosome name.
        lam : numpy.ndarray
            Expected per-base coverage of the chunk (starting on a bin boundary; a partial last
            bin is ignored).
        obs : numpy.ndarray
            Observed per-base coverage (same shape).
        bad : numpy.ndarray
            Per-base mask of excluded bases (blacklist): bins touching one are left out.
        """
        nb = lam.size // self.bin
        if nb == 0:
            return
        m = nb * self.bin
        L = lam[:m].reshape(nb, self.bin).sum(axis=1)
        O = obs[:m].reshape(nb, self.bin).sum(axis=1).astype(np.float64)
        keep = ~bad[:m].reshape(nb, self.bin).any(axis=1)
        L, O = L[keep], O[keep]
        y = self.tr.apply((O / self.div).astype(np.float32)).astype(np.float16).astype(np.float64)
        c = expected_transformed(L, self.tr, self.div)
        p = self.tr.apply((L / self.div).astype(np.float32)).astype(np.float64)
        acc = self.sums.setdefault(chrom, np.zeros(9))
        acc += np.array([L.size, c.sum(), (c * c).sum(), p.sum(), (p * p).sum(), y.sum(), (y * y).sum(),
                         (c * y).sum(), (p * y).sum()])

    def result(self) -> dict:
        """``{"transform", "bin_bp", "chroms": {chrom: {...}}, "all": {...}}`` with n_bins, ceiling, sequence_ceiling."""
        total = sum(self.sums.values()) if self.sums else np.zeros(9)
        return {"transform": str(self.tr), "bin_bp": self.bin,
                "chroms": {c: {**ceiling_from_moments(s), "moments": [float(x) for x in s]} for c, s in self.sums.items()},
                "all": ceiling_from_moments(total)}


def ceiling_from_moments(s) -> dict:
    """``{"n_bins", "ceiling", "sequence_ceiling"}`` from the 9 summed moments of :class:`TransformedCeiling`.

    Parameters
    ----------
    s : array-like
        ``n, sum c, sum c^2, sum p, sum p^2, sum y, sum y^2, sum c*y, sum p*y`` (``c``: expected
        transformed value, ``p``: transformed expectation, ``y``: transformed observation).

    Returns
    -------
    dict
        ``n_bins`` and the two Pearson R (None without bins; NaN when a variance is 0).
    """
    s = np.asarray(s, dtype=np.float64)
    n = s[0]
    if n == 0:
        return {"n_bins": 0, "ceiling": None, "sequence_ceiling": None}
    return {"n_bins": int(n),
            "ceiling": NoiseStats._r(n, s[1], s[2], s[5], s[6], s[7]),
            "sequence_ceiling": NoiseStats._r(n, s[3], s[4], s[5], s[6], s[8])}


class NoiseStats:
    """Moments of binned expected/observed coverage for the noise ceiling."""

    def __init__(self, bin_bp: int):
        self.bin = bin_bp
        self.n = 0
        self.s = np.zeros(10)  # sum L, L^2, O, O^2, LO, l, l^2, o, o^2, lo  (l, o: log1p)

    def feed(self, lam: np.ndarray, obs: np.ndarray, bad: np.ndarray) -> None:
        """Add a chunk's bins to the moments.

        Parameters
        ----------
        lam : numpy.ndarray
            Expected per-base coverage of the chunk (starting on a bin boundary; a partial last
            bin is ignored).
        obs : numpy.ndarray
            Observed per-base coverage (same shape).
        bad : numpy.ndarray
            Per-base mask of excluded bases (blacklist): bins touching one are left out.
        """
        nb = lam.size // self.bin
        if nb == 0:
            return
        m = nb * self.bin
        L = lam[:m].reshape(nb, self.bin).sum(axis=1)
        O = obs[:m].reshape(nb, self.bin).sum(axis=1).astype(np.float64)
        keep = ~bad[:m].reshape(nb, self.bin).any(axis=1)
        L, O = L[keep], O[keep]
        l, o = np.log1p(L), np.log1p(O)
        self.n += int(L.size)
        self.s += np.array([L.sum(), (L * L).sum(), O.sum(), (O * O).sum(), (L * O).sum(),
                            l.sum(), (l * l).sum(), o.sum(), (o * o).sum(), (l * o).sum()])

    @staticmethod
    def _r(n, sx, sxx, sy, syy, sxy) -> float:
        vx = sxx / n - (sx / n) ** 2
        vy = syy / n - (sy / n) ** 2
        cov = sxy / n - (sx / n) * (sy / n)
        return float(cov / math.sqrt(vx * vy)) if vx > 0 and vy > 0 else float("nan")

    def result(self) -> dict:
        n, s = self.n, self.s
        if n == 0:
            return {"bin_bp": self.bin, "n_bins": 0}
        mean = s[0] / n
        var = s[1] / n - mean * mean
        return {
            "bin_bp": self.bin,
            "n_bins": n,
            "mean_expected": float(mean),
            "var_expected": float(var),
            "analytic_r": float(math.sqrt(var / (var + mean))) if var + mean > 0 else float("nan"),
            "empirical_r": self._r(n, *s[:5]),
            "empirical_r_log1p": self._r(n, *s[5:]),
        }
