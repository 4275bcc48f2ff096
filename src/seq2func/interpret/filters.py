"""First-layer filters as PWMs from their top-activating sequences (Basset / DeepBind style).

A first-layer filter of a one-hot DNA model scores every ``w``-bp window; the sequences that
activate it most are what it has learned to detect. :func:`filter_pwms` follows Basset (Kelley et
al. 2016):

1. run the first convolution **alone** over the sequences: float one-hot input (``A, C, G, T``;
   N = all zeros), the layer's weights **and its bias**, no padding, its stride and dilation, and
   nothing after it (no batch norm, activation or pooling). The activation at output position
   ``p`` is the filter's score of the window whose bases are at ``p * stride + k * dilation``
   (``k = 0..w-1``);
2. windows that touch an N, or would run past a sequence edge (there is no padding), are never
   sites and do not count towards the maximum;
3. a filter's maximum activation is taken over every remaining window of the set; its sites are
   the windows whose activation exceeds ``threshold x`` that maximum (Basset's rule, strictly
   greater). A filter whose maximum is ``<= 0`` has no sites. ``max_sites`` keeps only the
   highest-scoring sites (ties at the cut-off broken by dataset order: sequence, then position);
4. the bases of the sites are counted -> a ``4 x w`` position frequency matrix (rows ``A, C, G,
   T``) and probabilities ``(count + pseudocount / 4) / (n_sites + pseudocount)`` (the
   ``pseudocount``, 1 by default, spread evenly over the four bases, as
   :meth:`seq2func.io.motifs.Motif.probabilities`); information content in bits against a uniform
   background, ``sum p log2(p / 0.25)``.

Sites are read in the orientation given (no reverse complement). Work is done in batches on
``device`` in two passes over the sequences (the maximum, then the sites), with memory bounded by
``batch_size`` and an element budget per batch; base counts are accumulated by a convolution of
the one-hot input with the site mask, so nothing per site is ever materialised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seq2func.errors import InputError
from seq2func.models.lora import LoRAConv1d
from seq2func.prepare.dataset import one_hot

__all__ = ["filter_pwms", "first_layer", "information_content", "pwm_from_counts"]

#: float32 elements of one batch's activation tensor (``B x C x P``); batches shrink to fit
ELEMENT_BUDGET = 1 << 25


def _lora_conv(module: nn.Module) -> nn.Conv1d | None:
    """A LoRA-wrapped Conv1d (:mod:`seq2func.models.lora`) as a plain Conv1d copy, adapter merged."""
    if not isinstance(module, LoRAConv1d):
        return None
    b = module.base
    conv = nn.Conv1d(b.in_channels, b.out_channels, b.kernel_size[0], stride=b.stride, padding=b.padding,
                     dilation=b.dilation, groups=b.groups, bias=b.bias is not None,
                     device=b.weight.device, dtype=b.weight.dtype)
    with torch.no_grad():
        w = b.weight.detach().clone()
        if not module.merged:
            w = w + module.delta_weight().detach().to(w.dtype)
        conv.weight.copy_(w)
        if b.bias is not None:
            conv.bias.copy_(b.bias.detach())
    return conv


def _as_one_hot_conv(module: Any) -> nn.Conv1d | None:
    conv = _lora_conv(module) if isinstance(module, nn.Module) else None
    if conv is not None:
        module = conv
    if isinstance(module, nn.Conv1d) and module.in_channels == 4 and module.groups == 1:
        return module
    return None


def first_layer(model: nn.Module) -> nn.Conv1d:
    """The first convolution of a one-hot DNA model.

    Parameters
    ----------
    model
        A seq2func model or any ``nn.Module``. ``basenji``: the stem conv ``trunk[0][0]``;
        ``resnet``: its stem conv ``trunk[0][0]``; ``simple_cnn``: its conv ``trunk[0]`` (900
        width-10 kernels by default); anything else (``enformer``, a hand-built module, or a
        bundled model whose layout does not match): the first ``nn.Conv1d`` with 4 input channels
        (and ``groups=1``) in ``model.modules()`` order.

    Returns
    -------
    torch.nn.Conv1d
        The layer itself, or, when it is LoRA-wrapped (:mod:`seq2func.models.lora`), a plain
        ``Conv1d`` copy with the adapter merged into its weight (the model is not changed).

    Raises
    ------
    seq2func.errors.InputError
        The model has no ``Conv1d`` with 4 input channels (one line).
    """
    cfg = getattr(model, "config", None)
    name = cfg.get("name") if isinstance(cfg, dict) else None
    trunk = getattr(model, "trunk", None)
    cand: Any = None
    try:
        if name in ("basenji", "resnet"):
            cand = trunk[0][0]
        elif name == "simple_cnn":
            cand = trunk[0]
    except (TypeError, IndexError, KeyError):
        cand = None
    conv = _as_one_hot_conv(cand) if cand is not None else None
    if conv is not None:
        return conv
    for m in model.modules():
        conv = _as_one_hot_conv(m)
        if conv is not None:
            return conv
    raise InputError(type(model).__name__, None, "model has no Conv1d with 4 input channels (a one-hot DNA first layer)")


def pwm_from_counts(counts: np.ndarray, pseudocount: float = 1.0) -> np.ndarray:
    """Column probabilities of a position frequency matrix.

    Parameters
    ----------
    counts
        Counts ``(4, w)`` (rows ``A, C, G, T``).
    pseudocount
        Added per column, spread evenly over the four bases.

    Returns
    -------
    numpy.ndarray
        float64 ``(4, w)``: ``(counts + pseudocount / 4) / (column total + pseudocount)``; a
        column with no counts and no pseudocount is uniform.
    """
    c = np.asarray(counts, dtype=np.float64) + float(pseudocount) / 4.0
    tot = c.sum(axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(tot > 0, c / np.where(tot > 0, tot, 1.0), 0.25)
    return p


def information_content(pwm: np.ndarray) -> float:
    """Total information content (bits) of a ``(4, w)`` probability matrix against a uniform
    background: ``sum p log2(p / 0.25)`` (``0 log 0 = 0``).

    Parameters
    ----------
    pwm : numpy.ndarray
        Probability matrix ``(4, w)`` (columns summing to 1).

    Returns
    -------
    float
        Information content in bits, summed over the ``w`` columns.
    """
    p = np.asarray(pwm, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * np.log2(p / 0.25), 0.0)
    return float(t.sum())


class _FirstConv:
    """The first conv's arithmetic on ``device`` (float32 weights, no padding)."""

    def __init__(self, conv: nn.Conv1d, device: torch.device):
        if conv.groups != 1 or conv.in_channels != 4:
            raise ValueError("the first layer must be a Conv1d with 4 input channels and groups=1")
        self.weight = conv.weight.detach().to(device=device, dtype=torch.float32)
        self.bias = None if conv.bias is None else conv.bias.detach().to(device=device, dtype=torch.float32)
        self.C, _, self.w = (int(x) for x in self.weight.shape)
        self.stride = int(conv.stride[0])
        self.dilation = int(conv.dilation[0])
        self.span = self.dilation * (self.w - 1) + 1
        self.device = device
        self.ones = torch.ones(1, 1, self.w, device=device)

    def n_positions(self, L: int) -> int:
        return (L - self.span) // self.stride + 1

    def run(self, codes: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x, act, valid)``: one-hot ``(B, 4, L)``, activations ``(B, C, P)`` (``-inf`` where
        not valid) and the valid-window mask ``(B, 1, P)``."""
        t = torch.from_numpy(np.ascontiguousarray(codes)).to(self.device)
        x = one_hot(t)
        act = F.conv1d(x, self.weight, self.bias, stride=self.stride, dilation=self.dilation)
        acgt = x.sum(dim=1, keepdim=True)  # 1 at A/C/G/T, 0 at N
        n_acgt = F.conv1d(acgt, self.ones, stride=self.stride, dilation=self.dilation)
        valid = n_acgt > self.w - 0.5
        act = act.masked_fill(~valid, float("-inf"))
        return x, act, valid

    def count(self, x: torch.Tensor, sites: torch.Tensor) -> torch.Tensor:
        """Base counts ``(C, 4, w)`` of the sites: ``sum_{b,p} sites[b,c,p] x[b,a,p*stride+k*dilation]``,
        computed as one convolution (batch as channels, the site mask as the kernel)."""
        out = F.conv1d(x.transpose(0, 1), sites.to(x.dtype).transpose(0, 1), stride=self.dilation, dilation=self.stride)
        return out[:, :, : self.w].permute(1, 0, 2)


def filter_pwms(model: nn.Module, codes: np.ndarray, *, threshold: float = 0.5, max_sites: int | None = 10_000,
                batch_size: int = 32, device: str | torch.device = "cpu", pseudocount: float = 1.0) -> list[dict]:
    """PWMs of the first-layer filters from their top-activating subsequences (Basset's rule).

    Parameters
    ----------
    model
        A model whose first layer :func:`first_layer` finds (a one-hot ``Conv1d``).
    codes
        uint8 codes ``(N, L)`` (``A=0 C=1 G=2 T=3 N=4``; larger values read as N), e.g.
        ``dataset.sequences[idx]``.
    threshold
        A site is a window whose activation exceeds ``threshold x`` the filter's maximum
        activation over the set (``0 <= threshold < 1``; Basset uses 0.5).
    max_sites
        Keep at most this many sites per filter: the highest activations, ties at the cut-off
        broken by dataset order (sequence, then position). ``None``: no cap.
    batch_size
        Sequences per convolution (lowered so one batch's activations stay within
        :data:`ELEMENT_BUDGET` float32 elements).
    device
        Where the convolutions run; the model itself is not moved.
    pseudocount
        Added to each column of counts, spread evenly over the four bases, for ``pwm``.

    Returns
    -------
    list of dict
        One per filter, in filter order: ``filter`` (int index), ``n_sites`` (int),
        ``counts`` (int64 ``(4, w)``, rows ``A, C, G, T``; each column sums to ``n_sites``),
        ``pwm`` (float64 ``(4, w)`` probabilities, see :func:`pwm_from_counts`),
        ``max_activation`` (float: the maximum over N-free windows, with the bias; NaN when no
        window is N-free) and ``information_content`` (bits, of ``pwm``). ``w`` is the filter
        width; with dilation ``d`` column ``k`` is the base at offset ``k * d``.

    Raises
    ------
    seq2func.errors.InputError
        The model has no one-hot first convolution.
    ValueError
        ``codes`` is not 2-D, sequences are shorter than the filter span, or a parameter is out
        of range.
    """
    threshold = float(threshold)
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold must be in [0, 1), got {threshold}")
    if max_sites is not None and int(max_sites) < 1:
        raise ValueError(f"max_sites must be >= 1 or None, got {max_sites}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if float(pseudocount) < 0:
        raise ValueError(f"pseudocount must be >= 0, got {pseudocount}")
    codes = codes.cpu().numpy() if isinstance(codes, torch.Tensor) else np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must be (N, L), got shape {codes.shape}")
    codes = np.minimum(codes, 4).astype(np.uint8, copy=False) if codes.dtype != np.uint8 else codes
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    fc = _FirstConv(first_layer(model), dev)
    N, L = codes.shape
    C, w = fc.C, fc.w
    if N and L < fc.span:
        raise ValueError(f"sequences of {L} bp are shorter than the filters ({fc.span} bp)")
    P = fc.n_positions(L) if N else 0
    # float32 site counts stay exact while one batch holds at most 2**24 windows
    B = max(1, min(int(batch_size), ELEMENT_BUDGET // max(1, C * P), (1 << 24) // max(1, P)))
    batches = [(s, min(s + B, N)) for s in range(0, N, B)]
    k = None if max_sites is None else int(max_sites)

    with torch.no_grad():
        # pass 1: each filter's maximum and, with a cap, its k highest activations
        vmax = torch.full((C,), float("-inf"), device=dev)
        top = torch.empty((C, 0), device=dev)
        for s, e in batches:
            _, act, _ = fc.run(codes[s:e])
            flat = act.transpose(0, 1).reshape(C, -1)
            vmax = torch.maximum(vmax, flat.max(dim=1).values)
            if k is not None:
                cand = torch.cat([top, flat], dim=1)
                top = cand.topk(min(k, cand.shape[1]), dim=1, sorted=False).values if cand.shape[1] > k else cand
        cut = torch.where(vmax > 0, threshold * vmax, torch.full_like(vmax, float("inf")))
        if k is not None and top.shape[1] >= k:
            kth = top.min(dim=1).values
            quota = k - (top > kth[:, None]).sum(dim=1)  # sites tied at the k-th value still allowed
        else:
            kth = torch.full((C,), float("-inf"), device=dev)
            quota = torch.zeros(C, dtype=torch.long, device=dev)

        # pass 2: the sites and their base counts
        n_sites = torch.zeros(C, dtype=torch.long, device=dev)
        counts = torch.zeros((C, 4, w), dtype=torch.float64, device=dev)
        for s, e in batches:
            x, act, _ = fc.run(codes[s:e])
            above = act > cut[None, :, None]
            sites = above & (act > kth[None, :, None])
            if k is not None:  # sites tied at the k-th value: the first ones in dataset order
                t = (above & (act == kth[None, :, None])).transpose(0, 1).reshape(C, -1)
                rows = t.any(dim=1).nonzero().flatten()
                if rows.numel():
                    tr = t[rows]
                    tr = tr & (tr.cumsum(dim=1) <= quota[rows, None])
                    quota[rows] -= tr.sum(dim=1)
                    keep = torch.zeros_like(t)
                    keep[rows] = tr
                    sites = sites | keep.reshape(C, e - s, P).transpose(0, 1)
            n = sites.sum(dim=(0, 2))
            if int(n.sum()) == 0:
                continue
            n_sites += n
            counts += fc.count(x, sites).double()

    counts_np = np.rint(counts.cpu().numpy()).astype(np.int64)
    n_np = n_sites.cpu().numpy()
    vmax_np = vmax.cpu().numpy().astype(np.float64)
    out = []
    for c in range(C):
        pwm = pwm_from_counts(counts_np[c], pseudocount)
        mx = float(vmax_np[c]) if np.isfinite(vmax_np[c]) else float("nan")
        out.append({
            "filter": c,
            "n_sites": int(n_np[c]),
            "counts": counts_np[c],
            "pwm": pwm,
            "max_activation": mx,
            "information_content": information_content(pwm),
        })
    return out
