"""Per-base attributions of a trained seq2func model: DeepLIFT/DeepSHAP, gradient x input, saliency.

Every method explains **one scalar per sequence**: :class:`Target` wraps a seq2func model (float
one-hot ``(B, 4, L)`` -> profile ``(B, bins, tracks)`` or classification / scalar ``(B, tracks)``)
so that it returns ``(B, 1)``: one track, reduced over a bin range (``"sum"``, default the central
bins), taken at one bin (``"bin"``) or read as is (``"scalar"``: classification logits, scalar
outputs). The reductions are linear, so they change nothing in how the model is attributed.

:func:`attributions` returns two ``(N, 4, L)`` float32 arrays:

``attr``
    the contribution of each observed base (zero at the three other bases of a position and at
    ``N``), what a sequence logo of the attributions shows;
``hypothetical``
    the contribution each of the four bases *would* make at that position (Shrikumar et al.'s
    hypothetical contributions), what TF-MoDISco needs. ``attr == hypothetical * one_hot``.

Methods
-------
``deeplift_shap``
    DeepLIFT with the rescale rule, averaged over ``n_shuffles`` dinucleotide-shuffled references
    (DeepSHAP), through :func:`tangermeme.deep_lift_shap.deep_lift_shap` with
    ``references=dinucleotide_shuffle``, ``hypothetical=True`` and ``random_state=seed`` (reference
    ``k`` of every sequence is the shuffle drawn with seed ``seed + k``, whatever the batch, so the
    result is deterministic and independent of ``batch_size``). The attributions of a sequence sum
    to ``f(x) - mean_k f(ref_k)`` (summation-to-delta). tangermeme checks this for every
    sequence-reference pair and warns when a delta exceeds ``warning_threshold`` (absolute) or the
    mean delta of a batch exceeds 1% of the mean output difference; ``convergence`` chooses what
    happens then (``"warn"``: one warning naming the method, ``"raise"``, ``"ignore"``).

    How the seq2func layers are treated (tangermeme 1.6 attaches its rules to ``torch.nn`` module
    *types*; anything computed with a bare function is treated as linear, i.e. by its gradient):

    - ``nn.ReLU``, ``nn.GELU``, ``nn.Softplus`` (and SiLU, ELU, Sigmoid, Tanh, ...): the rescale
      rule ``m = (f(x) - f(x0)) / (x - x0)`` (the gradient where ``|x - x0| < 1e-6``). For an
      elementwise one-input non-linearity the secant is exact, so GELU and softplus satisfy
      summation-to-delta as ReLU does (GELU is not monotonic, and the secant multiplier can have
      the sign opposite to its gradient there: that is what DeepLIFT defines, not an error).
    - ``nn.MaxPool1d``: tangermeme's max-pool rule (exact); the ResNet's global max pooling
      (``GlobalPool1d``, a bare ``amax``) gets the same rule through ``"auto"`` (without it, it
      would be treated as linear and summation-to-delta would fail); ``nn.AvgPool1d``, convolutions, linear layers,
      ``BatchNorm1d`` in eval mode, ``Dropout`` in eval mode, cropping, flattening, the residual
      sums of Basenji/ResNet blocks: linear, exact.
    - ``nn.LayerNorm`` / ``nn.Softmax`` / ``nn.GLU``: tangermeme's dedicated rules.
    - The Enformer adapter (``enformer_pytorch``): its ``GELU`` is a module class of its own
      (``sigmoid(1.702 x) * x``), which ``additional_nonlinear_ops="auto"`` registers with the
      rescale rule (exact); its ``Attention`` and ``AttentionPool`` compute softmax attention with
      bare tensor functions, which the rescale rule cannot reach, so ``"auto"`` registers them with
      tangermeme's per-module integrated-gradients rule (8-point Gauss-Legendre path integral
      between the reference and the observed activation: summation-to-delta holds up to the
      quadrature error, so DeepLIFT is **not exact** there). Any other model with functional
      non-linearities (``F.gelu``, ``torch.exp`` ...) is treated as linear at those ops and
      tangermeme's convergence check will say so.

``grad_x_input``
    The gradient of the target with respect to the one-hot input (torch autograd, through
    :func:`tangermeme.saliency.saliency`), **mean-centred across the four bases at each position**
    (Majdandzic et al., Genome Biology 2023: removes the component that points off the one-hot
    simplex). ``hypothetical`` is the centred gradient (it sums to zero at each position),
    ``attr`` is that at the observed base (centred gradient x input).
``saliency``
    The raw gradient: ``hypothetical`` is the uncorrected gradient and ``attr`` the classic
    gradient x input (Simonyan et al. 2014; Shrikumar et al. 2016).

Sequences are uint8 codes ``(N, L)`` (``A=0 C=1 G=2 T=3 N=4``, :mod:`seq2func.prepare.genome`); ``N``
is an all-zero one-hot column, its attribution is zero, and the dinucleotide shuffles keep it as
a character of its own (tangermeme's ``allow_N``).
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from seq2func.errors import InputError
from seq2func.models.blocks import GlobalPool1d
from seq2func.prepare.dataset import one_hot

log = logging.getLogger(__name__)

__all__ = ["METHODS", "REDUCTIONS", "Target", "attributions", "auto_nonlinear_ops", "central_bins"]

METHODS = ("deeplift_shap", "grad_x_input", "saliency")
REDUCTIONS = ("sum", "bin", "scalar")
_N_VALIDATION = "must be one-hot encoded and cannot have unknown characters"


def central_bins(n_bins: int) -> tuple[int, int]:
    """The default bin range of the ``"sum"`` reduction: the central bin (odd ``n_bins``) or the
    central two (even ``n_bins``).

    Parameters
    ----------
    n_bins
        Number of output bins of the profile.

    Returns
    -------
    tuple of int
        Half-open ``(start, stop)`` bin range.
    """
    n = int(n_bins)
    if n < 1:
        raise InputError("bins", None, f"a profile needs at least one output bin, got {n}")
    if n % 2:
        return n // 2, n // 2 + 1
    return n // 2 - 1, n // 2 + 1


class Target(nn.Module):
    """A seq2func model reduced to one scalar per sequence, for attribution libraries.

    Parameters
    ----------
    model
        A seq2func model taking float one-hot ``(B, 4, L)``; ``model.output_kind`` is ``profile``
        (output ``(B, bins, tracks)``), ``classification`` or ``scalar`` (output ``(B, tracks)``;
        ``profile`` when the attribute is missing).
    track
        Output column (track index) to explain; negative indices count from the end.
    reduction
        ``"sum"``: the sum over the bin range ``bins`` (profile models; default for them);
        ``"bin"``: the value at bin ``bins`` (an int; profile models); ``"scalar"``: the model's
        single value per track (classification logits -- before the sigmoid --, scalar outputs;
        default for them).
    bins
        ``"sum"``: a half-open ``(start, stop)`` bin range, Python-style negative indices allowed;
        ``None``: :func:`central_bins`. ``"bin"``: the bin index (required).

    Notes
    -----
    ``forward`` returns ``(B, 1)``, so the tangermeme ``target`` is 0. The wrapped model is the
    ``model`` attribute: its train/eval mode and device follow the wrapper's.
    """

    def __init__(self, model: nn.Module, track: int = 0, reduction: str | None = None,
                 bins: int | Sequence[int] | None = None):
        super().__init__()
        self.model = model
        self.kind = str(getattr(model, "output_kind", "profile"))
        if reduction is None:
            reduction = "sum" if self.kind == "profile" else "scalar"
        if reduction not in REDUCTIONS:
            raise InputError("reduction", None, f"unknown reduction {reduction!r} (choose from {', '.join(REDUCTIONS)})")
        if self.kind == "profile" and reduction == "scalar":
            raise InputError("reduction", None, "a profile model has a bin axis: use 'sum' or 'bin', not 'scalar'")
        if self.kind != "profile" and reduction != "scalar":
            raise InputError("reduction", None, f"a {self.kind} model has no bin axis: use 'scalar', not {reduction!r}")
        try:
            self.track = int(track)
        except (TypeError, ValueError):
            raise InputError("track", None, f"track must be an integer column index, got {track!r}") from None
        n_tracks = _n_tracks(model)
        if n_tracks is not None and not -n_tracks <= self.track < n_tracks:
            raise InputError("track", None, f"track {self.track} is out of range for a model with {n_tracks} tracks")
        self.reduction = reduction
        if reduction == "bin":
            if bins is None or isinstance(bins, (tuple, list)):
                raise InputError("bins", None, "reduction 'bin' needs one bin index (an int)")
            self.bins: Any = int(bins)
        elif reduction == "sum" and bins is not None:
            b = tuple(int(v) for v in bins)  # type: ignore[union-attr]
            if len(b) != 2:
                raise InputError("bins", None, f"reduction 'sum' needs a (start, stop) bin range, got {bins!r}")
            self.bins = b
        else:
            self.bins = None

    def bin_range(self, n_bins: int) -> tuple[int, int]:
        """The half-open bin range this target reads on a profile of ``n_bins`` bins.

        Parameters
        ----------
        n_bins
            Output bins of the profile.

        Returns
        -------
        tuple of int
            ``(start, stop)`` with ``0 <= start < stop <= n_bins``.
        """
        n = int(n_bins)
        if self.reduction == "bin":
            j = self.bins + n if self.bins < 0 else self.bins
            if not 0 <= j < n:
                raise InputError("bins", None, f"bin {self.bins} is out of range for a profile of {n} bins")
            return j, j + 1
        if self.bins is None:
            return central_bins(n)
        start, stop, _ = slice(*self.bins).indices(n)
        if stop <= start:
            raise InputError("bins", None, f"bin range {self.bins} is empty on a profile of {n} bins")
        return start, stop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 4, L)`` one-hot -> ``(B, 1)``: the chosen track, reduced.

        Parameters
        ----------
        x : torch.Tensor
            One-hot sequences ``(B, 4, L)``.

        Returns
        -------
        torch.Tensor
            ``(B, 1)``: the track's output (classification/scalar), or its profile summed over the
            target's bins (``sum``) or read at one bin (``bin``).

        Raises
        ------
        InputError
            The track or bin is out of range for the model's output, or ``scalar`` on several bins.
        """
        y = self.model(x)
        if y.ndim not in (2, 3):
            raise ValueError(f"expected a (B, bins, tracks) or (B, tracks) model output, got {tuple(y.shape)}")
        if not -y.shape[-1] <= self.track < y.shape[-1]:
            raise InputError("track", None, f"track {self.track} is out of range for a model with {y.shape[-1]} tracks")
        t = self.track % y.shape[-1]
        if y.ndim == 2:  # classification / scalar: (B, tracks)
            return y[:, t:t + 1]
        if self.reduction == "scalar":
            if y.shape[1] != 1:
                raise InputError("reduction", None, f"reduction 'scalar' on an output of {y.shape[1]} bins")
            return y[:, 0, t:t + 1]
        start, stop = self.bin_range(y.shape[1])
        return y[:, start:stop, t].sum(dim=1, keepdim=True)


def _n_tracks(model: nn.Module) -> int | None:
    cfg = getattr(model, "config", None)
    if isinstance(cfg, dict) and cfg.get("n_tracks") is not None:
        try:
            return int(cfg["n_tracks"])
        except (TypeError, ValueError):
            return None
    return None


def auto_nonlinear_ops(model: nn.Module) -> dict:
    """Extra DeepLIFT rules for module types of the model that tangermeme does not know.

    Parameters
    ----------
    model
        The model to be attributed.

    Returns
    -------
    dict
        ``{module type: rule}`` for ``additional_nonlinear_ops`` of tangermeme:
        :class:`seq2func.models.blocks.GlobalPool1d` (the ResNet's global pooling, ``x.amax`` /
        ``x.mean``) -> tangermeme's max-pool rule over the whole axis (exact; linear in ``avg``
        mode); the ``enformer_pytorch`` ``GELU`` -> the rescale rule (exact for an elementwise
        function); its ``Attention`` and ``AttentionPool`` -> tangermeme's per-module
        integrated-gradients rule with 8 Gauss-Legendre nodes (approximate). Basenji and the
        simple CNN need none: their non-linearities are ``torch.nn`` modules tangermeme handles.
    """
    # deferred: tangermeme pulls in numba (seconds to import); only attribution runs need it
    from tangermeme.deep_lift_shap import _nonlinear, integrated_gradients_op

    ops: dict = {}
    for m in model.modules():
        cls = type(m)
        if isinstance(m, GlobalPool1d):
            ops[GlobalPool1d] = _global_pool_rule
            continue
        if not cls.__module__.startswith("enformer_pytorch"):
            continue
        if cls.__name__ == "GELU":
            ops[cls] = _nonlinear
        elif cls.__name__ in ("Attention", "AttentionPool") and cls not in ops:
            ops[cls] = integrated_gradients_op(K=8, name=cls.__name__)
    return ops


def _global_pool_rule(module: nn.Module, grad_input: tuple, grad_output: tuple) -> tuple:
    """DeepLIFT rule of :class:`~seq2func.models.blocks.GlobalPool1d` ``(B, C, L) -> (B, C)``:
    linear in ``avg`` mode; in ``max`` mode tangermeme's max-pool rule for one window of ``L``."""
    if getattr(module, "mode", "max") != "max":
        return grad_input
    from tangermeme._deep_lift_utils import _maxpool  # deferred: tangermeme pulls in numba (slow import)

    proxy = nn.MaxPool1d(int(module.input.shape[-1]))
    proxy.input = module.input
    proxy.output = module.output.unsqueeze(-1)
    return _maxpool(proxy, grad_input, (grad_output[0].unsqueeze(-1),))


_global_pool_rule._reads = ("input", "output")  # type: ignore[attr-defined]


def _as_codes(codes: Any) -> np.ndarray:
    if isinstance(codes, torch.Tensor):
        codes = codes.detach().cpu().numpy()
    arr = np.asarray(codes)
    if arr.ndim != 2:
        raise InputError("codes", None, f"sequences must be uint8 codes of shape (N, L), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError("codes", None, f"no sequences to attribute (shape {arr.shape})")
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputError("codes", None, f"sequences must be integer codes (A=0 C=1 G=2 T=3 N=4), got dtype {arr.dtype}")
    if arr.min() < 0:
        raise InputError("codes", None, "sequence codes must be >= 0 (A=0 C=1 G=2 T=3 N=4)")
    return np.minimum(arr, 4).astype(np.uint8, copy=False)


def attributions(
    model: nn.Module,
    codes: np.ndarray | torch.Tensor,
    *,
    track: int = 0,
    method: str = "deeplift_shap",
    reduction: str | None = None,
    bins: int | Sequence[int] | None = None,
    n_shuffles: int = 20,
    seed: int = 0,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    additional_nonlinear_ops: dict | str | None = "auto",
    warning_threshold: float = 0.001,
    convergence: str = "warn",
) -> tuple[np.ndarray, np.ndarray]:
    """Attribute one output of a model to the bases of each sequence.

    Parameters
    ----------
    model
        A seq2func model (float one-hot ``(B, 4, L)`` in), or a :class:`Target` (then ``track``,
        ``reduction`` and ``bins`` are ignored).
    codes
        uint8 codes ``(N, L)`` (``A=0 C=1 G=2 T=3 N=4``; larger values read as N).
    track
        Output track to explain (see :class:`Target`).
    method
        ``"deeplift_shap"``, ``"grad_x_input"`` or ``"saliency"`` (see the module docstring).
    reduction, bins
        How the track is reduced to a scalar (see :class:`Target`; default: the sum over the
        central bins for profile models, the value itself for classification / scalar models).
    n_shuffles
        DeepSHAP: dinucleotide-shuffled references per sequence.
    seed
        DeepSHAP: seed of the references (reference ``k`` of every sequence is drawn with
        ``seed + k``); the same inputs and seed give the same attributions on the CPU.
    batch_size
        Sequence-reference pairs (DeepSHAP) or sequences (gradients) per forward pass.
    device
        Where the model runs (it is moved back afterwards, and its train/eval mode restored).
    additional_nonlinear_ops
        DeepSHAP: extra tangermeme rules ``{module type: rule}``; ``"auto"``:
        :func:`auto_nonlinear_ops`; ``None``: none.
    warning_threshold
        DeepSHAP: absolute convergence-delta threshold of tangermeme's check.
    convergence
        DeepSHAP: what a failed convergence check does: ``"warn"`` (one ``RuntimeWarning``),
        ``"raise"`` (``RuntimeError``) or ``"ignore"``.

    Returns
    -------
    attr : numpy.ndarray
        float32 ``(N, 4, L)``: contributions of the observed bases (zero elsewhere and at N).
    hypothetical : numpy.ndarray
        float32 ``(N, 4, L)``: hypothetical contributions of every base
        (``attr == hypothetical * one_hot``).
    """
    if method not in METHODS:
        raise InputError("method", None, f"unknown attribution method {method!r} (choose from {', '.join(METHODS)})")
    if convergence not in ("warn", "raise", "ignore"):
        raise InputError("convergence", None, f"convergence must be 'warn', 'raise' or 'ignore', got {convergence!r}")
    if int(batch_size) < 1:
        raise InputError("batch_size", None, f"batch_size must be >= 1, got {batch_size}")
    arr = _as_codes(codes)
    target = model if isinstance(model, Target) else Target(model, track=track, reduction=reduction, bins=bins)
    X = one_hot(torch.from_numpy(np.ascontiguousarray(arr)))  # (N, 4, L) float32, N -> zeros
    dev = torch.device(device) if not isinstance(device, torch.device) else device

    if method == "deeplift_shap":
        if int(n_shuffles) < 1:
            raise InputError("n_shuffles", None, f"n_shuffles must be >= 1, got {n_shuffles}")
        if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise InputError("seed", None, f"seed must be an int (DeepSHAP references are seeded), got {seed!r}")
        ops = auto_nonlinear_ops(target) if additional_nonlinear_ops == "auto" else additional_nonlinear_ops
        hyp = _deep_lift_shap(target, X, has_n=bool((arr == 4).any()), n_shuffles=int(n_shuffles), seed=int(seed),
                              batch_size=int(batch_size), device=dev, ops=ops or None,
                              warning_threshold=float(warning_threshold), convergence=convergence)
    else:
        from tangermeme.saliency import saliency  # deferred: tangermeme pulls in numba (slow import)

        hyp = saliency(target, X, target=0, batch_size=int(batch_size), hypothetical=True,
                       gradient_correction=(method == "grad_x_input"), device=dev)
    hyp = hyp.detach().float().cpu()
    attr = hyp * X
    return attr.numpy().astype(np.float32, copy=False), hyp.numpy().astype(np.float32, copy=False)


def _deep_lift_shap(target: nn.Module, X: torch.Tensor, *, has_n: bool, n_shuffles: int, seed: int,
                    batch_size: int, device: torch.device, ops: dict | None, warning_threshold: float,
                    convergence: str) -> torch.Tensor:
    from tangermeme.deep_lift_shap import deep_lift_shap  # deferred: tangermeme pulls in numba (slow import)
    from tangermeme.ersatz import dinucleotide_shuffle  # deferred: as above

    # With N in the input the shuffles must keep it as a character of its own; the per-pair seeds
    # are the same as on tangermeme's fast path (reference k of a sequence: seed + k).
    refs: Callable = functools.partial(dinucleotide_shuffle, allow_N=True) if has_n else dinucleotide_shuffle
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hyp = deep_lift_shap(target, X, target=0, batch_size=batch_size, references=refs, n_shuffles=n_shuffles,
                             hypothetical=True, warning_threshold=warning_threshold, additional_nonlinear_ops=ops,
                             only_warn=has_n, device=device, random_state=seed, verbose=False)
    bad: list[str] = []
    for w in caught:
        msg = str(w.message)
        if has_n and _N_VALIDATION in msg:
            continue  # N is all-zero one-hot on purpose
        if issubclass(w.category, RuntimeWarning) and msg.startswith("Convergence deltas"):
            bad.append(msg)
            continue
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if bad and convergence != "ignore":
        kinds = sorted({"relative" if "% of the output" in m else "absolute" for m in bad})
        text = (f"DeepLIFT/SHAP summation-to-delta check failed in {len(bad)} batch(es) ({' and '.join(kinds)}): "
                "some operation of the model has no exact DeepLIFT rule (see seq2func.interpret.attribution); "
                f"first: {' '.join(bad[0].split())[:300]}")
        if convergence == "raise":
            raise RuntimeError(text)
        log.warning(text)
        warnings.warn(text, RuntimeWarning, stacklevel=3)
    return hyp
