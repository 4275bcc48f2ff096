"""The truth expression model: sequence -> per-haplotype expression.

For a haplotype sequence, a TSS index ``t`` in it and a cell type with TF activities ``a``::

    sites  = every (start, strand, tf) with score >= h_tf - cutoff, fully inside the sequence
    occ    = 1 / (1 + exp(-beta * (score - h_tf)))
    d      = |start + (width - 1) / 2 - t|                     (site centre to TSS, bp)
    g(d)   = 1                                                 if d <= promoter_bp
           = enhancer_gain * exp(-(d - promoter_bp) / decay_bp) if promoter_bp < d <= min(window_bp, reach_bp)
           = 0                                                 beyond
    drive  = sum over sites of a[tf] * tx_weight[tf] * occ * g(d)
    x      = x0 + x_scale * softplus(drive)                    (linear, CAGE-like units)

An individual's observed expression (``expression.tsv``, personal cell type) is
``log2((x_hap1 + x_hap2) / 2) + N(0, noise_sd^2)``. The haplotype sequences are those of the
reference interval ``[tss - window_bp - margin_bp, tss + window_bp + margin_bp)`` with the phased
VCF applied (``bcftools consensus -H 1`` / ``-H 2``; missing alleles hide REF alleles only, so
skipping them reproduces the truth).

:class:`ExpressionModel.predict` scans a whole sequence; the simulator uses
:func:`haplotype_drives`, which gives the same number from the reference sites plus precomputed
per-allele site changes and indel shifts (variants are at least one motif width apart, so their
site changes never interact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seq2func.simulate.config import ModelParams
from seq2func.simulate.scanning import Scanner, Sites, encode


def g_weight(d: np.ndarray, P: ModelParams) -> np.ndarray:
    """Distance weight ``g(d)`` of a site (see the module doc).

    Parameters
    ----------
    d : numpy.ndarray
        Distances from site centre to TSS (bp, non-negative).
    P : ModelParams
        ``promoter_bp``, ``enhancer_gain``, ``decay_bp``, ``window_bp``, ``reach_bp``.

    Returns
    -------
    numpy.ndarray
        Weights, shaped like ``d``: 1 within the promoter, decaying beyond, 0 past the reach.
    """
    d = np.asarray(d, dtype=np.float64)
    enh = P.enhancer_gain * np.exp(-(d - P.promoter_bp) / P.decay_bp)
    return np.where(d <= P.promoter_bp, 1.0, np.where(d <= min(P.window_bp, P.reach_bp), enh, 0.0))


def x_from_drive(drive: np.ndarray, P: ModelParams) -> np.ndarray:
    """Linear expression ``x = x0 + x_scale * softplus(drive)``.

    Parameters
    ----------
    drive : numpy.ndarray
        Drives (any shape).
    P : ModelParams
        ``x0`` and ``x_scale``.

    Returns
    -------
    numpy.ndarray
        ``x``, shaped like ``drive`` (CAGE-like units, > 0).
    """
    return P.x0 + P.x_scale * np.logaddexp(0.0, drive)


def site_drive(start, width, tf, occ, t, val, P: ModelParams) -> np.ndarray:
    """Drive of a set of sites; ``val`` is (n_tf,) or (n_ct, n_tf); ``t`` scalar.

    Parameters
    ----------
    start : numpy.ndarray
        Site starts (0-based, same coordinates as ``t``).
    width : numpy.ndarray
        Site widths (bp).
    tf : numpy.ndarray
        Site TF indices.
    occ : numpy.ndarray
        Site occupancies.
    t : float
        The TSS position.
    val : numpy.ndarray
        ``activity * tx_weight`` per TF: ``(n_tf,)``, or ``(n_ct, n_tf)`` for several cell types.
    P : ModelParams
        Constants of ``g(d)``.

    Returns
    -------
    numpy.ndarray
        The drive: a numpy scalar for ``(n_tf,)`` values, ``(n_ct,)`` for ``(n_ct, n_tf)``.
    """
    d = np.abs(start + (width - 1) / 2.0 - t)
    w = occ * g_weight(d, P)
    return (np.asarray(val)[..., tf] * w).sum(axis=-1)


@dataclass
class ExpressionModel:
    """Full-scan evaluation of the truth model (independent of the simulator's fast path)."""

    scanner: Scanner
    params: ModelParams
    cell_types: list[str]
    activity: np.ndarray  # (n_ct, n_tf)
    tx_weight: np.ndarray  # (n_tf,)

    def values(self, cell_type: str) -> np.ndarray:
        """``activity * tx_weight`` of one cell type.

        Parameters
        ----------
        cell_type : str
            One of ``cell_types``.

        Returns
        -------
        numpy.ndarray
            ``(n_tf,)``.
        """
        return self.activity[self.cell_types.index(cell_type)] * self.tx_weight

    def sites(self, seq) -> Sites:
        """All sites of a sequence (see :meth:`Scanner.scan`).

        Parameters
        ----------
        seq : str, bytes or numpy.ndarray
            DNA text or codes.

        Returns
        -------
        Sites
            Starts relative to ``seq[0]``.
        """
        return self.scanner.scan(encode(seq))

    def predict(self, seq, tss_index: int, cell_type: str) -> dict:
        """``{"drive", "x", "log2x"}`` of one haplotype sequence with its TSS at ``tss_index``.

        Parameters
        ----------
        seq : str, bytes or numpy.ndarray
            The haplotype sequence (DNA text or codes).
        tss_index : int
            0-based position of the TSS in ``seq``.
        cell_type : str
            One of ``cell_types``.

        Returns
        -------
        dict
            ``drive``, linear expression ``x`` and ``log2x``, as floats.
        """
        s = self.sites(seq)
        drive = float(site_drive(s.start, s.width, s.tf, s.occ, float(tss_index), self.values(cell_type), self.params))
        x = float(x_from_drive(drive, self.params))
        return {"drive": drive, "x": x, "log2x": float(np.log2(x))}

    def individual(self, seq1, tss1: int, seq2, tss2: int, cell_type: str) -> float:
        """Noise-free log2 expression of an individual from its two haplotypes.

        Parameters
        ----------
        seq1 : str, bytes or numpy.ndarray
            Haplotype 1 sequence.
        tss1 : int
            0-based TSS position in ``seq1``.
        seq2 : str, bytes or numpy.ndarray
            Haplotype 2 sequence.
        tss2 : int
            0-based TSS position in ``seq2``.
        cell_type : str
            One of ``cell_types``.

        Returns
        -------
        float
            ``log2((x1 + x2) / 2)``.
        """
        x1 = self.predict(seq1, tss1, cell_type)["x"]
        x2 = self.predict(seq2, tss2, cell_type)["x"]
        return float(np.log2((x1 + x2) / 2.0))


def window_site_index(sites: Sites, t: int, P: ModelParams) -> np.ndarray:
    """Indices of chromosome sites fully inside [t - W - M, t + W + M).

    Parameters
    ----------
    sites : Sites
        Sites of a chromosome, sorted by start.
    t : int
        The TSS (0-based chromosome coordinate).
    P : ModelParams
        ``window_bp`` (W) and ``margin_bp`` (M).

    Returns
    -------
    numpy.ndarray
        Integer indices into ``sites``, increasing.
    """
    lo = t - P.window_bp - P.margin_bp
    hi = t + P.window_bp + P.margin_bp
    a = int(np.searchsorted(sites.start, lo, side="left"))
    b = int(np.searchsorted(sites.start, hi, side="left"))
    idx = np.arange(a, b)
    return idx[sites.start[idx] + sites.width[idx] <= hi]


def haplotype_drives(
    sites: Sites,
    t: int,
    vpos: np.ndarray,
    vref_len: np.ndarray,
    vdelta: np.ndarray,
    alt_rows: dict,
    A: np.ndarray,
    val: np.ndarray,
    P: ModelParams,
) -> np.ndarray:
    """Drive of ``U`` haplotypes given as allele matrix ``A`` (U x n_var) over window variants.

    ``sites``: reference sites of the window; ``vpos``/``vref_len``: variant starts (0-based) and
    REF lengths, sorted; ``vdelta``: (n_var x max_alleles) length change of each allele;
    ``alt_rows``: sites created by each allele (arrays ``var``, ``allele``, ``rel``, ``tf``,
    ``occ``, ``width``; ``rel`` relative to the variant start in haplotype coordinates);
    ``val``: (n_tf,) activity * tx weight.

    Parameters
    ----------
    sites : Sites
        Reference sites of the window, sorted by start.
    t : int
        The reference TSS position.
    vpos : numpy.ndarray
        ``(n_var,)`` variant starts (0-based), sorted.
    vref_len : numpy.ndarray
        ``(n_var,)`` REF allele lengths.
    vdelta : numpy.ndarray
        ``(n_var, max_alleles)`` length change of each allele (0 for REF).
    alt_rows : dict
        Sites created by alleles: arrays ``var``, ``allele``, ``rel``, ``tf``, ``occ``, ``width``.
    A : numpy.ndarray
        ``(U, n_var)`` allele index of each haplotype at each variant (0 = REF).
    val : numpy.ndarray
        ``(n_tf,)`` activity * tx weight of the cell type.
    P : ModelParams
        Constants of ``g(d)``.

    Returns
    -------
    numpy.ndarray
        ``(U,)`` drives, one per haplotype.
    """
    U = A.shape[0]
    nv = vpos.size
    if nv == 0:
        d0 = site_drive(sites.start, sites.width, sites.tf, sites.occ, float(t), val, P)
        return np.full(U, float(d0))
    D = vdelta[np.arange(nv)[None, :], A]  # (U, nv)
    cumD = np.concatenate([np.zeros((U, 1), np.int64), np.cumsum(D, axis=1)], axis=1)
    ref_end = vpos + vref_len
    ks = np.searchsorted(ref_end, sites.start, side="right")
    kt = int(np.searchsorted(ref_end, t, side="right"))
    t_h = (t + cumD[:, kt]).astype(np.float64)
    # Variants ks.. end after the site start; only variant ks can overlap the site (variants are
    # further apart than any motif is wide), when it starts before the site ends.
    nxt = np.minimum(ks, nv - 1)
    ov_var = np.where((ks < nv) & (vpos[nxt] < sites.start + sites.width), nxt, -1)
    centre = sites.start + (sites.width - 1) / 2.0
    d = np.abs(centre[None, :] + cumD[:, ks] - t_h[:, None])
    w = sites.occ[None, :] * g_weight(d, P)
    has = ov_var >= 0
    if has.any():
        w[:, has] = np.where(A[:, ov_var[has]] != 0, 0.0, w[:, has])
    drive = (w * val[sites.tf][None, :]).sum(axis=1)
    if alt_rows["var"].size:
        j = alt_rows["var"]
        car = A[:, j] == alt_rows["allele"][None, :]
        start_h = vpos[j][None, :] + cumD[:, j] + alt_rows["rel"][None, :]
        d = np.abs(start_h + (alt_rows["width"][None, :] - 1) / 2.0 - t_h[:, None])
        wa = alt_rows["occ"][None, :] * g_weight(d, P) * car
        drive = drive + (wa * val[alt_rows["tf"]][None, :]).sum(axis=1)
    return drive
