"""The one prediction primitive: a trained model run on encoded sequences.

Every stage that runs a model goes through :class:`Predictor` (EVALUATE on dataset windows,
PERSONAL on haplotypes and for ISM, SCORE_VARIANTS on reference/alternative sequences):

- inputs are uint8 codes ``(N, L)`` (``A=0 C=1 G=2 T=3 N=4``, :mod:`seq2func.prepare.genome`),
  one-hot encoded on the device;
- outputs are float32 ``(N, bins, tracks)``: a profile model's output bins, one bin for
  classification (logits) and scalar models;
- ``rc=True`` runs the reverse complement and maps the output back to forward coordinates (bins
  reversed, stranded ``+``/``-`` track pairs swapped through ``rc_perm``, the checkpoint's
  ``rc_index``); :meth:`Predictor.ensemble` averages forward and reverse-complement outputs and
  input shifts (``shift_codes``: ``k`` bp to the right, padded with N);
- batches of ``batch_size``, bf16 autocast on CUDA (``bf16``), gradients off, and the model's
  train/eval mode restored afterwards.

:meth:`Predictor.forward_tensor` is the differentiable core (one batch, codes on any device), for
callers that need gradients (personal fine-tuning, attributions).
"""

from __future__ import annotations

import contextlib
from typing import Iterable, Sequence

import numpy as np
import torch

from seq2func.prepare.dataset import one_hot, shift_codes
from seq2func.prepare.genome import COMPLEMENT

__all__ = ["Predictor", "rc_permutation", "reverse_complement_codes_t"]


def rc_permutation(tracks: Sequence[dict] | None, n_tracks: int) -> np.ndarray:
    """Output-column permutation under reverse complement.

    Parameters
    ----------
    tracks
        A checkpoint's track rows (``rc_index``: the column of the opposite-strand partner; a row
        without one maps to itself), or ``None``.
    n_tracks
        Number of output tracks (used when ``tracks`` is empty).

    Returns
    -------
    numpy.ndarray
        int64 ``(n_tracks,)``: column ``k`` of a reverse-complement output, mapped back to forward
        coordinates, is column ``perm[k]`` of the raw reverse-complement output (stranded ``+``/``-``
        pairs swap); the identity without a track table.
    """
    if not tracks:
        return np.arange(n_tracks, dtype=np.int64)
    return np.array([int(t.get("rc_index", k)) for k, t in enumerate(tracks)], dtype=np.int64)


def reverse_complement_codes_t(codes: torch.Tensor) -> torch.Tensor:
    """Reverse complement of uint8 codes on any device.

    Parameters
    ----------
    codes
        Codes ``(..., L)`` (``A=0 C=1 G=2 T=3 N=4``; larger values are read as N).

    Returns
    -------
    torch.Tensor
        uint8 codes ``(..., L)`` on the same device: complemented and reversed along the last axis.
    """
    comp = torch.as_tensor(COMPLEMENT, device=codes.device)
    return comp[codes.long().clamp(0, 4).flip(-1)]


class Predictor:
    """A model made ready to predict.

    Parameters
    ----------
    model
        A seq2func model (``output_kind`` ``profile``, ``classification`` or ``scalar``) taking
        float one-hot ``(B, 4, L)``; moved to ``device``.
    device
        Where to run it (``cpu``, ``cuda``, a :class:`torch.device`).
    batch_size
        Sequences per forward pass.
    bf16
        bf16 autocast on CUDA (ignored on the CPU).
    rc_perm
        Output-column permutation under reverse complement (see :func:`rc_permutation`; default:
        from the ``rc_index`` of ``model.seq2func_tracks``, else the identity).

    Attributes
    ----------
    kind : str
        The model's ``output_kind`` (``profile`` when it has none).
    n_forward : int
        Sequences sent through the model so far (reverse complements counted).
    """

    def __init__(self, model: torch.nn.Module, *, device: str | torch.device = "cpu", batch_size: int = 8,
                 bf16: bool = False, rc_perm: Sequence[int] | None = None):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.device = torch.device(device) if not isinstance(device, torch.device) else device
        self.batch_size = int(batch_size)
        self.bf16 = bool(bf16)
        self.kind = getattr(model, "output_kind", "profile")
        self.rc_perm = None if rc_perm is None else np.asarray(rc_perm, dtype=np.int64)
        self._perm_t: torch.Tensor | None = None
        self.n_forward = 0
        model.to(self.device)

    # -- geometry ---------------------------------------------------------------------------
    @property
    def config(self) -> dict:
        """The model's config (``model.config``; empty when it has none)."""
        return getattr(self.model, "config", {}) or {}

    @property
    def seq_len(self) -> int:
        """The model's input length (``config["seq_len"]``)."""
        return int(self.config["seq_len"])

    def output_bins(self, seq_len: int | None = None) -> int:
        """Output bins for inputs of ``seq_len`` bp (default :attr:`seq_len`); 1 for
        classification and scalar models.

        Parameters
        ----------
        seq_len : int, optional
            Input length (bp); None (or 0) means the model's :attr:`seq_len`.

        Returns
        -------
        int
            Number of output bins.
        """
        if self.kind != "profile":
            return 1
        return int(self.model.output_bins(int(seq_len or self.seq_len)))

    def bin_geometry(self, seq_len: int | None = None) -> tuple[int, int]:
        """``(crop_bp, bin_size)`` of a profile model: output bin ``j`` covers input positions
        ``[crop_bp + j * bin_size, crop_bp + (j + 1) * bin_size)`` (``(0, L)`` for one-bin models).

        Parameters
        ----------
        seq_len : int, optional
            Input length ``L`` (bp); None (or 0) means the model's :attr:`seq_len`.

        Returns
        -------
        tuple of (int, int)
            ``(crop_bp, bin_size)``: bp left uncovered before the first output bin, and the bin width (bp).
        """
        L = int(seq_len or self.seq_len)
        if self.kind != "profile":
            return 0, L
        bin_size = int(self.config.get("bin_size", L))
        n = self.output_bins(L)
        return (L - n * bin_size) // 2, bin_size

    def receptive_field(self) -> int:
        """Receptive field of one output position (bp); the input length when unknown."""
        try:
            return int(self.model.receptive_field())
        except (AttributeError, NotImplementedError, TypeError, ValueError):
            return self.seq_len

    def rc_permutation(self, n_tracks: int) -> np.ndarray:
        """The output-column permutation applied under reverse complement (see ``rc_perm``).

        Parameters
        ----------
        n_tracks : int
            Number of output tracks (the identity's length when there is no track table).

        Returns
        -------
        numpy.ndarray
            int64 ``(n_tracks,)``: ``rc_perm`` when given, else from the model's ``seq2func_tracks``
            (see :func:`rc_permutation`).
        """
        if self.rc_perm is not None:
            return self.rc_perm
        return rc_permutation(getattr(self.model, "seq2func_tracks", None), n_tracks)

    # -- running ----------------------------------------------------------------------------
    def _autocast(self):
        if self.bf16 and self.device.type == "cuda":
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _perm(self, n_tracks: int, device: torch.device) -> torch.Tensor:
        p = self._perm_t
        if p is None or p.device != device or p.numel() != n_tracks:
            perm = self.rc_permutation(n_tracks)
            if perm.shape != (n_tracks,):
                raise ValueError(f"rc_perm has {perm.size} entries for a model with {n_tracks} output tracks")
            p = self._perm_t = torch.as_tensor(perm, device=device)
        return p

    def forward_tensor(self, codes: torch.Tensor, rc: bool = False) -> torch.Tensor:
        """Run the model on one batch, differentiably.

        The model's train/eval mode is left as it is and gradients flow when enabled (personal
        fine-tuning, attributions).

        Parameters
        ----------
        codes
            uint8 codes ``(B, L)`` on any device.
        rc
            Run the reverse complement instead and map its output back to forward coordinates
            (bins reversed, track columns permuted by ``rc_perm``).

        Returns
        -------
        torch.Tensor
            float32 ``(B, bins, tracks)`` on the predictor's device (``bins`` is 1 for models whose
            output is ``(B, tracks)``).
        """
        codes = codes.to(self.device)
        if rc:
            codes = reverse_complement_codes_t(codes)
        with self._autocast():
            y = self.model(one_hot(codes)).float()
        if y.ndim == 2:  # classification / scalar: one bin
            y = y[:, None, :]
        elif rc:
            y = y.flip(1)
        if rc:
            y = y[:, :, self._perm(y.shape[-1], y.device)]
        self.n_forward += int(codes.shape[0])
        return y

    @torch.no_grad()
    def __call__(self, codes: np.ndarray | torch.Tensor, *, rc: bool = False, shift: int = 0) -> np.ndarray:
        """Predict codes in batches of ``batch_size``, in eval mode, without gradients.

        Parameters
        ----------
        codes
            uint8 codes ``(N, L)`` (numpy or torch).
        rc
            Predict the reverse complements (see :meth:`forward_tensor`).
        shift
            Move the input ``shift`` bp to the right (left when negative) first, N-padded.

        Returns
        -------
        numpy.ndarray
            float32 ``(N, bins, tracks)``. The model's train/eval mode is restored afterwards.
        """
        codes = codes.cpu().numpy() if isinstance(codes, torch.Tensor) else np.asarray(codes)
        codes = codes.astype(np.uint8, copy=False)
        if codes.ndim != 2:
            raise ValueError(f"codes must be (N, L), got shape {codes.shape}")
        if shift:
            codes = shift_codes(codes, int(shift))
        out = []
        was = self.model.training
        self.model.eval()
        try:
            for s in range(0, codes.shape[0], self.batch_size):
                part = torch.from_numpy(np.ascontiguousarray(codes[s:s + self.batch_size]))
                out.append(self.forward_tensor(part, rc=rc).cpu().numpy())
        finally:
            self.model.train(was)
        if not out:
            return np.zeros((0, self._bins_or_one(codes.shape[1]), int(self.config.get("n_tracks", 0) or 0)),
                            dtype=np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)

    def _bins_or_one(self, L: int) -> int:
        try:
            return self.output_bins(L)
        except Exception:  # noqa: BLE001 - only the shape of an empty result
            return 1

    def ensemble(self, codes: np.ndarray | torch.Tensor, *, rc_average: bool = False,
                 shifts: Iterable[int] = (0,)) -> np.ndarray:
        """The mean of the outputs over input shifts and, optionally, both orientations.

        Parameters
        ----------
        codes
            uint8 codes ``(N, L)``.
        rc_average
            Average each shift's forward and reverse-complement outputs too.
        shifts
            Input shifts (bp to the right, N-padded; see :meth:`__call__`).

        Returns
        -------
        numpy.ndarray
            float32 ``(N, bins, tracks)``; the mean is taken in float64 then rounded once.
        """
        outs = []
        for k in shifts:
            outs.append(self(codes, shift=int(k)))
            if rc_average:
                outs.append(self(codes, shift=int(k), rc=True))
        if not outs:
            raise ValueError("ensemble of no predictions: give at least one shift")
        if len(outs) == 1:
            return outs[0]
        acc = np.zeros(outs[0].shape, dtype=np.float64)
        for o in outs:
            acc += o
        return (acc / len(outs)).astype(np.float32)
