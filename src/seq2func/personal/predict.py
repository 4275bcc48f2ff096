"""Predict personal haplotypes with a trained model.

For each gene, the window of ``window`` bp (default 40,001) centred on the TSS is built per
individual with :class:`~seq2func.personal.haplotypes.HaplotypeBuilder` (haplotype 1 and 2,
byte-identical to ``bcftools consensus -H 1/2``). The model input is each haplotype re-centred on
the TSS (:meth:`Haplotypes.centered`: the TSS's window offset plus the net length change of the
indels applied upstream of it, so the TSS sits at input index ``L // 2`` whatever the indels did)
and cut or N-padded to the model's input length ``L``. A window shorter than ``L`` is padded with N
(as the published benchmark zero-padded 196,608 bp to Enformer's 393,216 bp); a longer one is
trimmed symmetrically around the TSS.

One number per haplotype (:class:`GenePredictor`):

* profile models (``output_kind == "profile"``, output ``(B, bins, tracks)``): output bin ``j``
  covers input ``[crop_bp + j * bin_size, crop_bp + (j + 1) * bin_size)``; the TSS bin is
  ``j0 = (L // 2 - crop_bp) // bin_size`` and the value is the sum of bins ``j0 - k .. j0 + k``
  (``tss_bins = k``, default 1: three bins, as the published benchmark) over the chosen track(s).
  ``crop_bp`` is ``(L - bins * bin_size) / 2`` from the model itself (checked against the
  checkpoint's dataset entry). Reverse-strand genes use the same bins: the window is centred on
  the TSS either way and an unstranded track needs no flip (stranded track pairs are the caller's
  choice of track);
* scalar and classification models (``(B, tracks)``): the chosen track's value.

Optional reverse-complement averaging: the reverse complement of the input is predicted too, its
bins flipped back and stranded ``+``/``-`` track pairs swapped (checkpoint ``rc_index``), then the
two are averaged.

Identical model inputs are predicted once: every distinct haplotype
(:attr:`Haplotypes.unique_sequences`) is one candidate, and a per-gene cache keyed by the input
deduplicates further. For convolutional profile models whose receptive field is smaller than the
input, the key is only the part of the input that can reach the TSS bins (the TSS bin span widened
by one receptive field on each side): two haplotypes differing only farther away give the same
output there exactly. Inputs are batched and run through :class:`seq2func.predict.Predictor`
(one-hot encoded on the device, reverse complement, bf16 autocast) under ``torch.no_grad`` with the
model in eval mode.

Combining the two haplotypes ``a`` and ``b`` of an individual (``combine``):

* ``mean``: ``(a + b) / 2`` (the published benchmark);
* ``log_before``: ``(log1p(a) + log1p(b)) / 2``;
* ``log_after``: ``log1p((a + b) / 2)``.

``log1p`` is applied to values clipped at 0 (profile outputs are non-negative; a scalar model's
negative outputs are clipped, with a warning). The *haplotype space* used by ISM and the linear
approximation is the identity for ``mean`` and ``log1p`` for the two log options. The reference
prediction of a gene (the population-average prediction) is the combination
of the reference sequence with itself.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.io.annotation import read_tss as _read_tss
from seq2func.io.annotation import unique_tss
from seq2func.io.expression import read_expression
from seq2func.io.fasta import contig_lengths as _contig_lengths
from seq2func.io.text import open_text
from seq2func.personal.haplotypes import center_on
from seq2func.personal.params import COMBINE_MODES
from seq2func.predict import Predictor
from seq2func.prepare.genome import encode
from seq2func.train.checkpoint import model_from_checkpoint
from seq2func.train.device import resolve_device

log = logging.getLogger(__name__)


__all__ = [
    "COMBINE_MODES",
    "GenePredictor",
    "GeneWindow",
    "combine_haplotypes",
    "gene_window",
    "hap_space",
    "load_predictor",
    "read_expression_matrix",
    "read_gene_list",
    "read_tss",
    "select_tracks",
]


# --------------------------------------------------------------------------------------------
# inputs: TSS, expression, gene lists
# --------------------------------------------------------------------------------------------
def read_tss(path: str | os.PathLike) -> pd.DataFrame:
    """Gene TSSs from a BED6 file or a GTF (:func:`seq2func.io.annotation.read_tss`).

    Returns ``DataFrame(gene_id, chrom, tss, strand)`` with ``tss`` 0-based. A gene listed more
    than once keeps its first TSS (with a warning).

    Parameters
    ----------
    path : str or os.PathLike
        BED6 or GTF file (plain or gzip).

    Returns
    -------
    pandas.DataFrame
        One row per gene: ``gene_id``, ``chrom``, ``tss`` (0-based), ``strand``.

    Raises
    ------
    InputError
        If the file cannot be read as a TSS annotation.
    """
    return unique_tss(_read_tss(path)[["gene_id", "chrom", "tss", "strand"]], path)


def read_expression_matrix(path: str | os.PathLike) -> pd.DataFrame:
    """Genes x individuals float frame of an expression TSV or phenotype BED
    (:func:`seq2func.io.expression.read_expression`, the reader VALIDATE checks with).

    Non-numeric cells, duplicated genes or individuals are one-line :class:`InputError`; empty
    cells and ``NA`` are NaN.

    Parameters
    ----------
    path : str or os.PathLike
        Expression TSV or phenotype BED (plain, gzip or bgzip).

    Returns
    -------
    pandas.DataFrame
        Genes x individuals, float (NaN missing), index ``gene_id``, columns the individual IDs in file
        order.

    Raises
    ------
    InputError
        If the file is missing or malformed.
    """
    return read_expression(path).values


def read_gene_list(path: str | os.PathLike) -> list[str]:
    """Gene IDs, one per line (first whitespace-separated field; ``#`` comments and blanks skipped).

    Parameters
    ----------
    path : str or os.PathLike
        Text file (plain or gzip) with one gene ID per line.

    Returns
    -------
    list of str
        The gene IDs in file order, duplicates dropped.
    """
    out = []
    with open_text(path) as fh:
        for line in fh:
            s = line.strip()
            if s and not s.startswith("#"):
                out.append(s.split()[0])
    return list(dict.fromkeys(out))


# --------------------------------------------------------------------------------------------
# combining haplotypes
# --------------------------------------------------------------------------------------------
_warned_negative = False


def _log1p0(x: np.ndarray | torch.Tensor):
    global _warned_negative
    if isinstance(x, torch.Tensor):
        return torch.log1p(torch.clamp(x, min=0.0))
    x = np.asarray(x, dtype=float)
    if not _warned_negative and np.any(x < 0):
        log.warning("log1p of negative model outputs: clipped at 0 (use --combine mean for signed outputs)")
        _warned_negative = True
    return np.log1p(np.maximum(x, 0.0))


def hap_space(x, combine: str = "mean"):
    """A haplotype's value in the space the individual prediction is linear in (ISM space).

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor or float
        Raw model value(s) of haplotypes.
    combine : {"mean", "log_before", "log_after"}, optional
        How the haplotypes of an individual are combined (default ``"mean"``): identity for ``mean``,
        ``log1p`` of the values clipped at 0 otherwise.

    Returns
    -------
    numpy.ndarray or torch.Tensor or float
        The values in haplotype space (``x`` itself for ``mean``).

    Raises
    ------
    ValueError
        On an unknown ``combine``.
    """
    if combine not in COMBINE_MODES:
        raise ValueError(f"combine must be one of {COMBINE_MODES}, got {combine!r}")
    return x if combine == "mean" else _log1p0(x)


def combine_haplotypes(a, b, combine: str = "mean"):
    """Per-individual prediction from haplotype values ``a`` and ``b`` (numpy or torch).

    Parameters
    ----------
    a : numpy.ndarray or torch.Tensor
        Raw model values of haplotype 1, one per individual.
    b : numpy.ndarray or torch.Tensor
        Raw model values of haplotype 2, same shape as ``a``.
    combine : {"mean", "log_before", "log_after"}, optional
        The combination rule of the module docstring (default ``"mean"``).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Per-individual predictions, same shape and type as ``a``.

    Raises
    ------
    ValueError
        On an unknown ``combine``.
    """
    if combine == "mean":
        return (a + b) / 2
    if combine == "log_before":
        return (_log1p0(a) + _log1p0(b)) / 2
    if combine == "log_after":
        return _log1p0((a + b) / 2)
    raise ValueError(f"combine must be one of {COMBINE_MODES}, got {combine!r}")


# --------------------------------------------------------------------------------------------
# tracks
# --------------------------------------------------------------------------------------------
def select_tracks(
    tracks: Sequence[dict] | None,
    n_tracks: int,
    *,
    track: str | None = None,
    cell_type: str | None = None,
    assay: str = "CAGE",
    where: str = "--checkpoint",
) -> list[int]:
    """Output columns to sum: ``track`` (a track_id or a column number), else every ``assay`` track
    of ``cell_type``, else the only ``assay`` track, else column 0 of a one-track model.

    Parameters
    ----------
    tracks : sequence of dict or None
        The checkpoint's track table (dicts with ``track_id``, ``assay``, ``cell_type``), or None.
    n_tracks : int
        Number of output columns of the model.
    track : str or None, optional
        A ``track_id`` of the table or a 0-based column number; overrides the rest.
    cell_type : str or None, optional
        Cell type whose ``assay`` tracks are summed.
    assay : str, optional
        Assay to pick tracks of, case-insensitive (default ``"CAGE"``).
    where : str, optional
        Source of the track table (checkpoint path or ``"model"``); accepted but not used at present.

    Returns
    -------
    list of int
        0-based output columns to sum.

    Raises
    ------
    InputError
        If ``track`` is not a track of the model, ``cell_type`` has no ``assay`` track, or the choice is
        ambiguous (several candidate tracks, or several columns and no track table).
    """
    if track is not None:
        if tracks:
            ids = [str(t.get("track_id")) for t in tracks]
            if track in ids:
                return [ids.index(track)]
        if str(track).isdigit() and int(track) < n_tracks:
            return [int(track)]
        shown = ", ".join(str(t.get("track_id")) for t in (tracks or [])[:10])
        raise InputError("--track", track, f"not a track of the model ({n_tracks} tracks{': ' + shown if shown else ''})")
    if tracks:
        want = assay.upper()
        cands = [k for k, t in enumerate(tracks) if str(t.get("assay", "")).upper() == want]
        if cell_type is not None:
            hit = [k for k in cands if str(tracks[k].get("cell_type")) == cell_type]
            if not hit:
                cts = sorted({str(tracks[k].get("cell_type")) for k in cands})
                raise InputError("--cell-type", cell_type, f"no {assay} track of that cell type (have: {', '.join(cts[:10]) or 'none'})")
            return hit
        if len(cands) == 1:
            return cands
        if len(cands) > 1:
            raise InputError("--cell-type", None, f"{len(cands)} {assay} tracks: choose one with --cell-type or --track")
    if n_tracks == 1:
        return [0]
    raise InputError("--track", None, f"the model has {n_tracks} output tracks and no track table: give --track <column>")


# --------------------------------------------------------------------------------------------
# the predictor
# --------------------------------------------------------------------------------------------
@dataclass
class GenePredictor:
    """A model turned into one number per sequence (see the module docstring).

    ``model`` takes float one-hot ``(B, 4, L)``. ``columns``: output tracks summed. ``seq_len``:
    the model input length (default ``model.config["seq_len"]``). ``crop_bp``: checked against the
    model's geometry when given. ``rc``: reverse-complement averaging; ``rc_perm`` the output-column
    permutation under reverse complement. ``rf_dedup``: key the cache by the receptive-field
    relevant part of the input (profile models with a finite receptive field only). Without
    ``rc_perm`` the permutation comes from ``model.seq2func_tracks`` when set, else the identity
    (:class:`~seq2func.predict.Predictor`).

    ``n_model_inputs`` counts the sequences sent through the model (reverse complements not
    counted separately); ``n_requests`` the sequences asked for.
    """

    model: torch.nn.Module
    columns: Sequence[int] = (0,)
    seq_len: int | None = None
    crop_bp: int | None = None
    tss_bins: int = 1
    rc: bool = False
    rc_perm: Sequence[int] | None = None
    batch_size: int = 16
    device: str | torch.device = "cpu"
    bf16: bool = False
    rf_dedup: bool = True
    n_model_inputs: int = 0
    n_requests: int = 0
    _cache: dict = field(default_factory=dict, repr=False)
    _predictor: Predictor | None = field(default=None, init=False, repr=False, compare=False)
    _predictor_key: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        self.device = torch.device(self.device) if not isinstance(self.device, torch.device) else self.device
        cfg = getattr(self.model, "config", {}) or {}
        if self.seq_len is None:
            if "seq_len" not in cfg:
                raise ValueError("seq_len is needed for a model without config['seq_len']")
            self.seq_len = int(cfg["seq_len"])
        L = int(self.seq_len)
        self.kind = getattr(self.model, "output_kind", "scalar")
        self.columns = [int(c) for c in self.columns]
        self.center = L // 2
        self.relevant = (0, L)  # input span that can change the value
        if self.kind == "profile":
            bin_size = int(cfg.get("bin_size", 128))
            n_out = int(self.model.output_bins(L)) if hasattr(self.model, "output_bins") else None
            if n_out is None:
                raise ValueError("profile model without output_bins()")
            crop = (L - n_out * bin_size) // 2
            if self.crop_bp is not None and int(self.crop_bp) != crop:
                log.warning("checkpoint crop_bp %s != the model's %d ((L - bins * bin_size) / 2): using the model's",
                            self.crop_bp, crop)
            self.crop_bp, self.bin_size, self.n_bins = crop, bin_size, n_out
            j0 = (self.center - crop) // bin_size
            k = int(self.tss_bins)
            if self.center < crop or j0 - k < 0 or j0 + k >= n_out:
                raise InputError("--tss-bins", str(k), f"TSS bins {j0 - k}..{j0 + k} fall outside the model's {n_out} output bins")
            self.tss_bin = j0
            self.bin_slice = slice(j0 - k, j0 + k + 1)
            try:
                rf = int(self.model.receptive_field())
            except (AttributeError, NotImplementedError, TypeError, ValueError):
                rf = L
            if self.rf_dedup and rf < L:
                lo = crop + (j0 - k) * bin_size - rf
                hi = crop + (j0 + k + 1) * bin_size + rf
                self.relevant = (max(0, lo), min(L, hi))
        else:
            self.crop_bp, self.bin_size, self.n_bins, self.tss_bin, self.bin_slice = 0, L, 1, 0, slice(0, 1)
        self.model.eval()
        self.model.to(self.device)

    # -- keys and cache -------------------------------------------------------------------------
    def key(self, seq: str) -> str:
        """Cache key of a model input: the part of it that can change the value (:attr:`relevant`).

        Parameters
        ----------
        seq : str
            A model input of ``seq_len`` bases.

        Returns
        -------
        str
            ``seq`` itself, or its slice ``relevant[0]:relevant[1]`` when the receptive field is smaller than
            the input.
        """
        a, b = self.relevant
        return seq if (a, b) == (0, len(seq)) else seq[a:b]

    def clear(self) -> None:
        self._cache.clear()

    def affects(self, input_pos: int) -> bool:
        """Whether a change at input index ``input_pos`` can change the value.

        Parameters
        ----------
        input_pos : int
            0-based index in the model input.

        Returns
        -------
        bool
            True when ``input_pos`` lies in the relevant span (:attr:`relevant`).
        """
        return self.relevant[0] <= input_pos < self.relevant[1]

    # -- the model ------------------------------------------------------------------------------
    def reduce(self, y: torch.Tensor) -> torch.Tensor:
        """Model output -> one value per sequence (differentiable), summed in float64.

        Parameters
        ----------
        y : torch.Tensor
            Model output: ``(B, bins, tracks)`` for profile models, ``(B, tracks)`` (or ``(B, 1, tracks)``)
            otherwise.

        Returns
        -------
        torch.Tensor
            ``(B,)`` float64: the chosen columns summed over the TSS bins (profile) or taken as they are.
        """
        cols = self.columns
        if self.kind == "profile":
            return y[:, self.bin_slice, :][:, :, cols].double().sum(dim=(1, 2))
        if y.ndim == 3:
            y = y[:, 0, :]
        return y[:, cols].double().sum(dim=1)

    def encode(self, seqs: Sequence[str]) -> torch.Tensor:
        """Encode model inputs as uint8 base codes (:func:`seq2func.prepare.genome.encode`).

        Parameters
        ----------
        seqs : sequence of str
            Model inputs, each exactly ``seq_len`` bases.

        Returns
        -------
        torch.Tensor
            ``(len(seqs), seq_len)`` uint8 codes on the CPU.

        Raises
        ------
        ValueError
            If a sequence is not ``seq_len`` bases long.
        """
        L = int(self.seq_len)
        codes = np.empty((len(seqs), L), dtype=np.uint8)
        for i, s in enumerate(seqs):
            if len(s) != L:
                raise ValueError(f"sequence of {len(s)} bp for a {L} bp model")
            codes[i] = encode(s)
        return torch.from_numpy(codes)

    @property
    def predictor(self) -> Predictor:
        """The :class:`~seq2func.predict.Predictor` that runs the model (rebuilt when ``model``,
        ``device``, ``bf16`` or ``rc_perm`` change)."""
        perm = None if self.rc_perm is None else tuple(int(k) for k in self.rc_perm)
        key = (id(self.model), str(self.device), bool(self.bf16), perm)
        if self._predictor is None or self._predictor_key != key:
            self._predictor = Predictor(self.model, device=self.device, batch_size=self.batch_size, bf16=self.bf16,
                                        rc_perm=perm)
            self._predictor_key = key
        return self._predictor

    def forward_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """uint8 codes ``(B, L)`` (any device) -> values ``(B,)`` with gradients if enabled
        (:meth:`Predictor.forward_tensor` then :meth:`reduce`; with ``rc`` the mean of the forward
        and reverse-complement values). The model's train/eval mode is left as it is.

        Parameters
        ----------
        codes : torch.Tensor
            ``(B, seq_len)`` uint8 base codes.

        Returns
        -------
        torch.Tensor
            ``(B,)`` float64 values on the predictor's device.
        """
        pred = self.predictor
        v = self.reduce(pred.forward_tensor(codes))
        if self.rc:
            v = 0.5 * (v + self.reduce(pred.forward_tensor(codes, rc=True)))
        return v

    @torch.no_grad()
    def _run(self, seqs: list[str]) -> np.ndarray:
        out = np.empty(len(seqs), dtype=np.float64)
        was = self.model.training
        self.model.eval()
        for s in range(0, len(seqs), self.batch_size):
            part = seqs[s:s + self.batch_size]
            out[s:s + len(part)] = self.forward_codes(self.encode(part)).double().cpu().numpy()
        self.n_model_inputs += len(seqs)
        if was:
            self.model.train()
        return out

    def predict(self, seqs: Sequence[str]) -> np.ndarray:
        """Values of model inputs of length ``seq_len``; identical (relevant parts of) inputs once.

        Parameters
        ----------
        seqs : sequence of str
            Model inputs, each ``seq_len`` bases.

        Returns
        -------
        numpy.ndarray
            ``(len(seqs),)`` float64 values, from the cache where the key was seen before.
        """
        self.n_requests += len(seqs)
        keys = [self.key(s) for s in seqs]
        todo: dict[str, str] = {}
        for k, s in zip(keys, seqs):
            if k not in self._cache and k not in todo:
                todo[k] = s
        if todo:
            vals = self._run(list(todo.values()))
            self._cache.update(zip(todo.keys(), vals.tolist()))
        return np.array([self._cache[k] for k in keys], dtype=np.float64)


def load_predictor(
    checkpoint: str | os.PathLike | None = None,
    model: torch.nn.Module | None = None,
    *,
    track: str | None = None,
    cell_type: str | None = None,
    tracks: Sequence[dict] | None = None,
    device: str = "auto",
    **kwargs,
) -> tuple[GenePredictor, dict]:
    """A :class:`GenePredictor` from a seq2func checkpoint (``train.checkpoint`` format) or a model.

    Returns ``(predictor, info)`` where ``info`` describes the model and the chosen tracks.

    Parameters
    ----------
    checkpoint : str or os.PathLike or None, optional
        A seq2func checkpoint; needed when ``model`` is None.
    model : torch.nn.Module or None, optional
        A model to use instead of loading one (its ``config`` gives ``seq_len`` and ``n_tracks``).
    track : str or None, optional
        Output track to use: a ``track_id`` or a column number (:func:`select_tracks`).
    cell_type : str or None, optional
        Cell type whose CAGE tracks are summed (:func:`select_tracks`).
    tracks : sequence of dict or None, optional
        Track table to use when the checkpoint has none (or with ``model``).
    device : str, optional
        ``auto``, ``cpu``, ``cuda`` or ``cuda:<index>`` (default ``auto``:
        :func:`seq2func.train.device.resolve_device`).
    **kwargs
        Further :class:`GenePredictor` fields (``seq_len``, ``crop_bp``, ``tss_bins``, ``rc``,
        ``batch_size``, ``bf16``, ``rf_dedup``); ``seq_len`` and ``crop_bp`` default to the checkpoint's
        dataset entry.

    Returns
    -------
    tuple of (GenePredictor, dict)
        The predictor (its ``ckpt`` attribute holds the loaded checkpoint, ``{}`` for a model) and
        ``info``: checkpoint, model name, output kind, geometry (``seq_len``, ``bin_size``, ``crop_bp``,
        ``tss_bin``, ``tss_bins``, ``relevant_span``), chosen tracks and columns, ``rc`` and device.

    Raises
    ------
    ValueError
        If neither a checkpoint nor a model is given.
    InputError
        On a bad device, checkpoint or track choice.
    """
    dev = resolve_device(device)
    ckpt: dict = {}
    if model is None:
        if checkpoint is None:
            raise ValueError("give a checkpoint or a model")
        model, ckpt = model_from_checkpoint(checkpoint, device=dev)
        tracks = ckpt.get("tracks") or tracks
    cfg = getattr(model, "config", {}) or {}
    n_tracks = int(cfg.get("n_tracks") or (len(tracks) if tracks else 1))
    cols = select_tracks(tracks, n_tracks, track=track, cell_type=cell_type,
                         where=str(checkpoint) if checkpoint else "model")
    ds = ckpt.get("dataset") or {}
    seq_len = kwargs.pop("seq_len", None) or ds.get("seq_length") or cfg.get("seq_len")
    crop_bp = kwargs.pop("crop_bp", None)
    if crop_bp is None and ds.get("crop_bp") is not None:
        crop_bp = int(ds["crop_bp"])
    rc_perm = None
    if tracks:
        rc_perm = [int(t.get("rc_index", k)) for k, t in enumerate(tracks)]
    pred = GenePredictor(model, columns=cols, seq_len=int(seq_len) if seq_len else None, crop_bp=crop_bp,
                         rc_perm=rc_perm, device=dev, **kwargs)
    pred.ckpt = ckpt
    info = {
        "checkpoint": str(checkpoint) if checkpoint else None,
        "model": cfg.get("name"),
        "output_kind": pred.kind,
        "seq_len": int(pred.seq_len),
        "bin_size": int(pred.bin_size),
        "crop_bp": int(pred.crop_bp),
        "tss_bin": int(pred.tss_bin),
        "tss_bins": int(pred.tss_bins),
        "relevant_span": list(pred.relevant),
        "tracks": [str(tracks[c].get("track_id")) if tracks else str(c) for c in cols],
        "columns": cols,
        "rc": bool(pred.rc),
        "device": str(dev),
    }
    return pred, info


# --------------------------------------------------------------------------------------------
# per gene
# --------------------------------------------------------------------------------------------
@dataclass
class GeneWindow:
    """The window of one gene: 1-based inclusive ``start..end`` on ``chrom`` and the TSS offset."""

    gene_id: str
    chrom: str
    tss: int  # 0-based
    strand: str
    start: int
    end: int
    ref_offset: int  # 0-based offset of the TSS in the window


def gene_window(gene_id: str, chrom: str, tss: int, strand: str, window: int, chrom_len: int | None = None) -> GeneWindow:
    """``window`` bp centred on the 0-based ``tss`` (``tss - window // 2 .. tss + (window - 1) // 2``
    as 0-based inclusive bounds), clipped to the chromosome.

    Parameters
    ----------
    gene_id : str
        The gene (for the error message and the result).
    chrom : str
        Chromosome of the TSS.
    tss : int
        0-based TSS position.
    strand : str
        ``+`` or ``-`` (kept in the result; the window is symmetric either way).
    window : int
        Window length in bp.
    chrom_len : int or None, optional
        Chromosome length; the window's end is clipped to it when given.

    Returns
    -------
    GeneWindow
        The window, 1-based inclusive, with the TSS's 0-based offset in it.

    Raises
    ------
    InputError
        If the TSS lies beyond the end of the chromosome.
    """
    half_l = int(window) // 2
    half_r = int(window) - 1 - half_l
    s0 = max(0, int(tss) - half_l)
    e0 = int(tss) + half_r
    if chrom_len is not None:
        e0 = min(e0, int(chrom_len) - 1)
    if int(tss) > e0:
        raise InputError("--tss", f"{gene_id} {chrom}:{tss + 1}", "TSS beyond the end of the chromosome")
    return GeneWindow(gene_id, chrom, int(tss), strand, s0 + 1, e0 + 1, int(tss) - s0)


@dataclass
class GenePrediction:
    """Predictions of one gene: per unique haplotype, per haplotype, per individual, reference."""

    unique_values: np.ndarray  # (n_unique,) raw model value of each unique haplotype
    hap_values: np.ndarray  # (2 * n_individuals,)
    individual: np.ndarray  # (n_individuals,) combined
    reference_value: float  # raw value of the reference sequence
    reference: float  # combine(ref, ref)
    centres: np.ndarray  # (n_unique,) haplotype index of the TSS
    n_inputs: int  # distinct model inputs predicted for this gene (haplotypes + reference)


def predict_gene(predictor: GenePredictor, haps, ref_offset: int, combine: str = "mean") -> GenePrediction:
    """Predict every distinct haplotype of a window once and combine per individual.

    Parameters
    ----------
    predictor : GenePredictor
        The model, turned into one value per input.
    haps : Haplotypes
        The gene's window, built for every individual.
    ref_offset : int
        0-based offset of the TSS in the reference window; each haplotype is centred on where it moved
        (:meth:`Haplotypes.offset_shift`).
    combine : {"mean", "log_before", "log_after"}, optional
        How the two haplotypes of an individual are combined (default ``"mean"``).

    Returns
    -------
    GenePrediction
        Values per unique haplotype, per haplotype and per individual, and of the reference.
    """
    L = int(predictor.seq_len)
    before = predictor.n_model_inputs
    centres = ref_offset + haps.offset_shift(ref_offset)
    inputs = [center_on(s, int(c), L) for s, c in zip(haps.unique_sequences, centres)]
    ref_input = center_on(haps.reference, ref_offset, L)
    vals = predictor.predict(inputs + [ref_input])
    u, ref_v = vals[:-1], float(vals[-1])
    hv = u[haps.inverse] if len(haps.inverse) else np.zeros(0)
    ind = combine_haplotypes(hv[0::2], hv[1::2], combine)
    ref = float(combine_haplotypes(np.array([ref_v]), np.array([ref_v]), combine)[0])
    return GenePrediction(u, hv, np.asarray(ind, dtype=float), ref_v, ref, np.asarray(centres), predictor.n_model_inputs - before)


def contig_lengths(fasta: str | os.PathLike) -> dict[str, int]:
    """Contig lengths of a FASTA (:func:`seq2func.io.fasta.contig_lengths`).

    Parameters
    ----------
    fasta : str or os.PathLike
        FASTA, plain or bgzip (its index is built when missing).

    Returns
    -------
    dict of str to int
        Contig name -> length in bp, in FASTA order.

    Raises
    ------
    InputError
        If the FASTA cannot be read.
    """
    return _contig_lengths(fasta)


def resolve_chroms(names: Iterable[str], fasta_contigs: Iterable[str]) -> dict[str, str]:
    """TSS chromosome spelling -> FASTA spelling (chr1 <-> 1).

    Parameters
    ----------
    names : iterable of str
        Chromosome names as the TSS annotation spells them.
    fasta_contigs : iterable of str
        Contig names of the FASTA.

    Returns
    -------
    dict of str to str
        Annotation name -> FASTA name, for the names that have a counterpart.
    """
    return alias_map(list(fasta_contigs), list(names))


def finite_mean(x: np.ndarray) -> float:
    """Mean of the finite values of ``x`` (NaN when there are none).

    Parameters
    ----------
    x : numpy.ndarray
        Values, any shape; NaN and inf are ignored.

    Returns
    -------
    float
        The mean, or NaN.
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan
