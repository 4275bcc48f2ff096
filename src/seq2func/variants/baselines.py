"""Baselines for the variant benchmark: a seeded random score and a motif-disruption score.

Brain-ResNet compared its fine-tuned model against public variant-effect tools; the simplest
of those score a variant by how much it changes the best match of known transcription-factor
motifs. :func:`pwm_scores` is that baseline, over the JASPAR matrices bundled with seq2func
(``assets/motifs/jaspar_subset.json``, :func:`seq2func.io.motifs.load_jaspar_subset`, the same
matrices the simulator plants), and :func:`random_scores` is the chance level.

PWMs: JASPAR counts -> probabilities with a pseudocount of 0.8 split over the four bases in
proportion to a uniform background (``p = (n_b + 0.8 * 0.25) / (N + 0.8)``, as JASPAR's and
MEME's tools do), log-odds ``log2(p / 0.25)`` in bits. An ``N`` (or any non-ACGT letter, and
the padding beyond a contig's ends) scores the column's minimum.

Match threshold: as FIMO-based tools and motifbreakR do, a motif counts for a variant only when
one allele has a match with p-value <= ``p_threshold`` (default 1e-4: the exact null distribution
of the PWM score under the uniform background, on a 0.02-bit grid). Without it the "largest
change" is dominated by poor matches in any sequence: one base swings the best of a few windows
that all score -20 bits by 10 bits or more, and a variant far from every motif scores as much as
one that destroys a strong site (measured on the simulated world: median |score| 11 bits far from
planted instances, 12 bits at their best base). ``p_threshold=None`` turns it off.
"""

from __future__ import annotations

import logging
import os
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import pysam

from seq2func.chroms import alias_map
from seq2func.io.fasta import fetch, open_fasta
from seq2func.io.motifs import Motif, load_jaspar_subset

log = logging.getLogger(__name__)

PSEUDOCOUNT = 0.8  #: JASPAR/MEME pseudocount, split over the bases by the background
P_THRESHOLD = 1e-4  #: p-value a match must reach (FIMO's default)
_GRID = 0.02  # bits: grid of the exact score distribution
_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _CODE[ord(_b)] = _i
    _CODE[ord(_b.lower())] = _i
_CHUNK = 2048  # variants scored at once


def random_scores(keys: Iterable[str], seed: int = 0) -> pd.Series:
    """Chance-level baseline: one uniform draw in [-1, 1] per variant.

    Parameters
    ----------
    keys
        Variant keys (``chrom:pos:ref:alt``); the draws follow their order.
    seed
        Seed of :func:`numpy.random.default_rng`: the same keys and seed give the same scores.

    Returns
    -------
    pandas.Series
        float64 scores indexed by key, named ``random``.
    """
    keys = list(keys)
    rng = np.random.default_rng(seed)
    return pd.Series(rng.uniform(-1.0, 1.0, size=len(keys)), index=pd.Index(keys, name="key"), name="random")


def pwm_matrix(motif: Motif, pseudocount: float = PSEUDOCOUNT) -> np.ndarray:
    """Log-odds PWM of a JASPAR count matrix, in bits, with an ``N`` column.

    Parameters
    ----------
    motif
        The count matrix (width x 4, A C G T).
    pseudocount
        Total pseudocount, split evenly over the four bases (uniform background).

    Returns
    -------
    numpy.ndarray
        ``(width, 5)`` float64: ``log2(p / 0.25)`` for A, C, G, T, then the column minimum for N.
    """
    lo = motif.log_odds(pseudocount=pseudocount) / np.log(2.0)
    return np.concatenate([lo, lo.min(axis=1, keepdims=True)], axis=1)


def match_threshold(pwm: np.ndarray, p: float = P_THRESHOLD) -> float:
    """Score (bits) that a window reaches with probability <= ``p`` in uniform random sequence.

    Parameters
    ----------
    pwm
        ``(width, 4 or 5)`` log-odds matrix (:func:`pwm_matrix`; an N column is ignored).
    p
        The p-value.

    Returns
    -------
    float
        The smallest score ``s`` on a 0.02-bit grid with ``P(score >= s) <= p``, computed exactly
        by convolving the per-column score distributions (each base 1/4); ``inf`` when even the
        best match is more probable than ``p``.
    """
    lo = np.round(np.asarray(pwm, dtype=np.float64)[:, :4] / _GRID).astype(np.int64)
    pmf = np.array([1.0])
    off = 0
    for col in lo:
        mn = int(col.min())
        k = np.zeros(int(col.max()) - mn + 1)
        np.add.at(k, col - mn, 0.25)
        pmf = np.convolve(pmf, k)
        off += mn
    tail = np.cumsum(pmf[::-1])[::-1]  # P(score >= grid value)
    ok = np.flatnonzero(tail <= p * (1 + 1e-9))
    if ok.size == 0:
        return float("inf")
    return float((ok[0] + off) * _GRID - _GRID / 2)  # half a grid step of slack for the rounding


def _reverse_complement_pwm(m: np.ndarray) -> np.ndarray:
    """The PWM of the minus strand: positions reversed, A<->T, C<->G, N stays."""
    return m[::-1][:, [3, 2, 1, 0, 4]]


def _variant_frame(variants: pd.DataFrame) -> pd.DataFrame:
    need = [c for c in ("chrom", "pos", "ref", "alt") if c not in variants.columns]
    if need:
        raise ValueError(f"variants lack column(s) {need}")
    v = variants.reset_index(drop=True)
    if "key" not in v.columns:
        v = v.assign(key=v["chrom"].astype(str) + ":" + v["pos"].astype(str) + ":" + v["ref"].astype(str)
                     + ":" + v["alt"].astype(str))
    return v


def pwm_scores(
    fasta,
    variants: pd.DataFrame,
    motifs: Sequence[Motif] | None = None,
    *,
    pseudocount: float = PSEUDOCOUNT,
    p_threshold: float | None = P_THRESHOLD,
    details: bool = False,
) -> pd.Series | pd.DataFrame:
    """Motif-disruption score of each variant: the largest change in best motif match.

    For every motif and each allele, the best log-odds match (either strand) among the windows
    of the motif's width that overlap the allele is found, in the reference sequence (flanks
    from the FASTA around the REF allele) and in the alternative sequence (the same flanks with
    the ALT allele substituted: indels change the length). The variant's score is
    ``best_alt - best_ref`` of the motif with the largest absolute difference, signed: negative
    when the ALT destroys a match, positive when it creates one. Only motifs for which one of
    the two alleles has a match with p-value <= ``p_threshold`` count (module docstring); a
    variant that touches no such match scores 0. Vectorised over variants and
    window starts (numpy), one motif and strand at a time.

    Parameters
    ----------
    fasta
        Path of an indexed FASTA, or an open ``pysam.FastaFile``. Variant contigs are mapped onto
        its names with :func:`seq2func.chroms.alias_map`.
    variants
        Columns ``chrom``, ``pos`` (1-based), ``ref``, ``alt`` (one ALT, VCF alleles) and
        optionally ``key`` (else built as ``chrom:pos:ref:alt``).
    motifs
        JASPAR count matrices; default: the bundled subset.
    pseudocount
        PWM pseudocount (see the module docstring).
    p_threshold
        p-value a match of the better allele must reach for the motif to count (:func:`match_threshold`);
        None: every motif counts, however poor its matches.
    details
        Return a DataFrame with the best motif and both best matches instead of the Series.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Indexed by key. The Series (named ``pwm``) holds the score in bits; NaN for a variant on
        a contig the FASTA lacks (or beyond its end). With ``details``: columns ``score``,
        ``matrix_id``, ``motif``, ``ref_best``, ``alt_best`` (of that motif; empty when no motif
        reaches the threshold).

    Notes
    -----
    A REF allele that disagrees with the FASTA is used as given (the reference sequence is the
    FASTA flanks around it); the count of such variants is logged as a warning.
    """
    if motifs is None:
        motifs, _ = load_jaspar_subset()
    motifs = list(motifs)
    if not motifs:
        raise ValueError("no motifs")
    v = _variant_frame(variants)
    own = not isinstance(fasta, pysam.FastaFile)
    fa = open_fasta(fasta) if own else fasta
    display = os.fspath(fasta) if own else fa.filename.decode() if isinstance(fa.filename, bytes) else str(fa.filename)
    try:
        lengths = dict(zip(fa.references, fa.lengths))
        amap = alias_map(fa.references, v["chrom"].astype(str).unique())
        pwms = [pwm_matrix(m, pseudocount) for m in motifs]
        wmax = max(p.shape[0] for p in pwms)
        flank = wmax - 1
        n = len(v)
        refs = v["ref"].astype(str).str.upper().tolist()
        alts = v["alt"].astype(str).str.upper().tolist()
        pos0 = v["pos"].astype(np.int64).to_numpy() - 1
        chroms = [amap.get(str(c)) for c in v["chrom"]]
        left = [b""] * n
        right = [b""] * n
        ok = np.zeros(n, dtype=bool)
        mismatch = 0
        for i in range(n):
            c = chroms[i]
            if c is None:
                continue
            L = lengths[c]
            p, r = int(pos0[i]), refs[i]
            if p < 0 or p + len(r) > L:
                continue
            a0 = max(0, p - flank)
            seq = fetch(fa, display, c, a0, min(L, p + len(r) + flank)).upper()
            off = p - a0
            if seq[off : off + len(r)] != r:
                mismatch += 1
            left[i] = (b"N" * (flank - off)) + seq[:off].encode()
            right[i] = seq[off + len(r) :].encode()
            right[i] += b"N" * (flank - len(right[i]))
            ok[i] = True
        if mismatch:
            log.warning("%s: %d of %d variant(s) have a REF that differs from the FASTA; scored with the REF given",
                        display, mismatch, n)
    finally:
        if own:
            fa.close()

    best_ref = np.full((n, len(pwms)), np.nan)
    best_alt = np.full((n, len(pwms)), np.nan)
    idx = np.flatnonzero(ok)
    # chunks of variants of similar allele length: short padding
    alen = np.array([max(len(refs[i]), len(alts[i])) for i in idx], dtype=np.int64)
    idx = idx[np.argsort(alen, kind="stable")]
    for s in range(0, idx.size, _CHUNK):
        sel = idx[s : s + _CHUNK]
        for allele_list, out in ((refs, best_ref), (alts, best_alt)):
            out[sel] = _best_matches([left[i] + allele_list[i].encode() + right[i] for i in sel],
                                     np.array([len(allele_list[i]) for i in sel]), flank, pwms)
    diff = best_alt - best_ref
    if p_threshold is not None:
        thr = np.array([match_threshold(p, p_threshold) for p in pwms])
        with np.errstate(invalid="ignore"):
            diff = np.where(np.fmax(best_ref, best_alt) >= thr[None, :], diff, 0.0)
    score = np.full(n, np.nan)
    which = np.full(n, -1, dtype=np.int64)
    if ok.any():
        k = np.argmax(np.abs(np.where(ok[:, None], diff, 0.0)), axis=1)
        rows = np.flatnonzero(ok)
        score[ok] = diff[rows, k[ok]]
        which[ok] = np.where(score[ok] != 0, k[ok], -1)
    index = pd.Index(v["key"].astype(str), name="key")
    if not details:
        return pd.Series(score, index=index, name="pwm")
    rows = np.flatnonzero(which >= 0)
    out = pd.DataFrame({"score": score, "matrix_id": None, "motif": None, "ref_best": np.nan, "alt_best": np.nan},
                       index=index)
    out.iloc[rows, out.columns.get_loc("matrix_id")] = [motifs[j].matrix_id for j in which[rows]]
    out.iloc[rows, out.columns.get_loc("motif")] = [motifs[j].name for j in which[rows]]
    out.iloc[rows, out.columns.get_loc("ref_best")] = best_ref[rows, which[rows]]
    out.iloc[rows, out.columns.get_loc("alt_best")] = best_alt[rows, which[rows]]
    return out


def _best_matches(seqs: list[bytes], allele_len: np.ndarray, flank: int, pwms: list[np.ndarray]) -> np.ndarray:
    """Best match of every PWM (either strand) among windows overlapping the allele.

    ``seqs[i]`` is ``flank`` bases, the allele (``allele_len[i]`` bases, possibly 0), ``flank``
    bases; the sequences are padded with N to one length. For a PWM of width ``w`` the windows
    start at ``flank - w + 1 + s`` for ``s`` in ``0 .. allele_len + w - 2`` (an empty allele:
    the windows spanning the junction, ``s`` in ``1 .. w - 1``)."""
    n = len(seqs)
    width = max(len(x) for x in seqs)
    buf = np.full((n, width), ord("N"), dtype=np.uint8)
    for i, x in enumerate(seqs):
        buf[i, : len(x)] = np.frombuffer(x, dtype=np.uint8)
    codes = _CODE[buf]
    amax = int(allele_len.max())
    out = np.empty((n, len(pwms)))
    for k, pwm in enumerate(pwms):
        w = pwm.shape[0]
        n_start = amax + w - 1
        first = flank - w + 1
        starts = np.arange(n_start)
        valid = starts[None, :] < (allele_len[:, None] + w - 1)
        valid &= (starts[None, :] >= 1) | (allele_len[:, None] > 0)  # empty allele: junction windows only
        best = np.full((n, n_start), -np.inf)
        for m in (pwm, _reverse_complement_pwm(pwm)):
            acc = np.zeros((n, n_start))
            for j in range(w):
                acc += m[j][codes[:, first + j : first + j + n_start]]
            np.maximum(best, acc, out=best)
        best[~valid] = -np.inf
        out[:, k] = best.max(axis=1)
    return out
