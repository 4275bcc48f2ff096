"""Training losses. Every loss returns a scalar mean over the *valid* target entries: NaN targets
(masked/blacklisted bins) are ignored, as are entries where an optional boolean ``mask`` is False.
Inputs are cast to float32 (safe under bf16 autocast). When nothing is valid the loss is 0 (still
connected to ``pred`` so ``backward()`` works).

- :func:`poisson`: ``mean(pred - target * log(pred + eps))`` with ``pred`` the Poisson rate. This is
  the Poisson negative log-likelihood ``-log P(target | pred)`` minus the constant
  ``log(target!)`` (= ``lgamma(target + 1)``), which does not depend on the prediction.
- :func:`multinomial_poisson`: Borzoi's ``poisson_multinomial`` for profiles ``(..., bins, tracks)``:
  per (example, track), with ``S = sum_bins target`` and ``s = sum_bins pred`` over valid bins,
  ``poisson = s - S log s`` (the total count) and
  ``multinomial = -sum_bins target * log(pred / s)`` (the profile shape; the multinomial NLL minus
  its constant ``log(S!) - sum log(target!)``); loss = ``(multinomial + total_weight * poisson) / n_valid_bins``,
  averaged over (example, track) columns. As in Borzoi, ``eps`` is added to ``pred`` and
  ``target`` on valid bins first.
- :func:`mse`: ``mean((pred - target)^2)``.
- :func:`bce`: binary cross-entropy on logits (sigmoid inside, numerically stable).

:func:`track_weighted` turns any of them into a weighted mean of per-track losses (e.g. a larger
weight on a sparse assay such as CAGE, whose Poisson loss is small next to ATAC's).

:func:`get_loss` maps a name (``poisson``, ``multinomial_poisson``, ``mse``, ``bce``) to a
``loss(pred, target, mask=None)`` callable, binding extra keyword arguments.
"""

from __future__ import annotations

import functools
from typing import Callable

import torch
import torch.nn.functional as F

LossFn = Callable[..., torch.Tensor]


def _valid(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None):
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    pred = pred.float()
    target = target.float()
    valid = ~torch.isnan(target)
    if mask is not None:
        valid = valid & mask.to(device=valid.device, dtype=torch.bool).expand_as(valid)
    target = torch.where(valid, target, torch.zeros_like(target))
    return pred, target, valid


def _masked_mean(elem: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    elem = torch.where(valid, elem, torch.zeros_like(elem))
    return elem.sum() / valid.sum().clamp(min=1)


def poisson(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
            eps: float = 1e-6) -> torch.Tensor:
    """Poisson NLL with ``pred`` the rate, up to the dropped constant ``log(target!)``.

    Parameters
    ----------
    pred : torch.Tensor
        Predicted Poisson rates (non-negative), any shape.
    target : torch.Tensor
        Targets, same shape as ``pred``; NaN entries are ignored.
    mask : torch.Tensor, optional
        Boolean mask broadcastable to ``target``; False entries are ignored.
    eps : float, optional
        Added to ``pred`` inside the log.

    Returns
    -------
    torch.Tensor
        Scalar float32 loss (0 when no entry is valid).
    """
    pred, target, valid = _valid(pred, target, mask)
    safe = torch.where(valid, pred, torch.ones_like(pred))
    return _masked_mean(safe - target * torch.log(safe + eps), valid)


def multinomial_poisson(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
                        total_weight: float = 0.2, eps: float = 1e-6) -> torch.Tensor:
    """Borzoi-style Poisson (per-track total) + multinomial (profile shape) loss; bins on axis -2.

    Parameters
    ----------
    pred : torch.Tensor
        Predicted non-negative profiles ``(..., n_bins, n_tracks)``.
    target : torch.Tensor
        Targets, same shape as ``pred``; NaN entries are ignored.
    mask : torch.Tensor, optional
        Boolean mask broadcastable to ``target``; False entries are ignored.
    total_weight : float, optional
        Weight of the Poisson total-count term against the multinomial shape term.
    eps : float, optional
        Pseudocount added to ``pred`` and ``target`` on valid bins.

    Returns
    -------
    torch.Tensor
        Scalar float32 loss averaged over (example, track) columns with a valid bin (0 when none).
    """
    pred, target, valid = _valid(pred, target, mask)
    if pred.ndim < 2:
        raise ValueError("multinomial_poisson expects (..., bins, tracks)")
    vf = valid.float()
    p = torch.where(valid, pred, torch.zeros_like(pred)) + eps * vf
    t = target + eps * vf
    n_bins = vf.sum(dim=-2)  # (..., tracks)
    s_pred = p.sum(dim=-2)
    s_true = t.sum(dim=-2)
    col = n_bins > 0
    s_pred_safe = torch.where(col, s_pred, torch.ones_like(s_pred))
    poisson_term = s_pred_safe - s_true * torch.log(s_pred_safe)
    log_p = torch.log(torch.where(valid, p, torch.ones_like(p)) / s_pred_safe.unsqueeze(-2))
    multinomial_term = -(t * log_p * vf).sum(dim=-2)
    per_col = (multinomial_term + total_weight * poisson_term) / n_bins.clamp(min=1)
    return _masked_mean(per_col, col)


def mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error over valid entries.

    Parameters
    ----------
    pred : torch.Tensor
        Predictions, any shape.
    target : torch.Tensor
        Targets, same shape as ``pred``; NaN entries are ignored.
    mask : torch.Tensor, optional
        Boolean mask broadcastable to ``target``; False entries are ignored.

    Returns
    -------
    torch.Tensor
        Scalar float32 loss (0 when no entry is valid).
    """
    pred, target, valid = _valid(pred, target, mask)
    return _masked_mean((pred - target) ** 2, valid)


def bce(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
        pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy on logits over valid entries (``pos_weight`` per track, optional).

    Parameters
    ----------
    logits : torch.Tensor
        Predicted logits (before the sigmoid), any shape.
    target : torch.Tensor
        0/1 targets, same shape as ``logits``; NaN entries are ignored.
    mask : torch.Tensor, optional
        Boolean mask broadcastable to ``target``; False entries are ignored.
    pos_weight : torch.Tensor, optional
        Weight of positive examples per track ``(n_tracks,)``, broadcast over the last axis.

    Returns
    -------
    torch.Tensor
        Scalar float32 loss (0 when no entry is valid).
    """
    logits, target, valid = _valid(logits, target, mask)
    elem = F.binary_cross_entropy_with_logits(logits, target, reduction="none",
                                              pos_weight=None if pos_weight is None else pos_weight.float())
    return _masked_mean(elem, valid)


LOSSES: dict[str, LossFn] = {
    "poisson": poisson,
    "multinomial_poisson": multinomial_poisson,
    "mse": mse,
    "bce": bce,
}


def get_loss(name: str, **kwargs) -> LossFn:
    """``get_loss("multinomial_poisson", total_weight=0.2)`` -> ``loss(pred, target, mask=None)``.

    Parameters
    ----------
    name : str
        One of ``poisson``, ``multinomial_poisson``, ``mse``, ``bce``.
    **kwargs
        Extra keyword arguments bound to the loss (e.g. ``total_weight``, ``eps``, ``pos_weight``).

    Returns
    -------
    callable
        ``loss(pred, target, mask=None) -> torch.Tensor``.

    Raises
    ------
    ValueError
        For an unknown loss name.
    """
    try:
        fn = LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r} (choose from {', '.join(LOSSES)})") from None
    return functools.partial(fn, **kwargs) if kwargs else fn


def track_weighted(loss_fn: LossFn, weights) -> LossFn:
    """A loss that is the weighted mean of ``loss_fn`` over tracks (the last axis).

    Each track's loss is ``loss_fn`` on that track alone (its own valid entries); the result is
    ``sum_k w_k L_k / sum_k w_k``. With equal weights and no masked entries this equals ``loss_fn``
    for the element-wise losses (``poisson``, ``mse``, ``bce``) and for ``multinomial_poisson``.

    Parameters
    ----------
    loss_fn : callable
        ``loss(pred, target, mask=None)`` from :func:`get_loss`.
    weights : sequence of float or torch.Tensor
        One weight (>= 0, not all 0) per track, in the order of the last axis.

    Returns
    -------
    callable
        ``loss(pred, target, mask=None)`` -> scalar.
    """
    w = torch.as_tensor(weights, dtype=torch.float32).flatten()
    if w.numel() == 0 or bool((w < 0).any()) or not float(w.sum()) > 0:
        raise ValueError("track weights must be >= 0 and not all 0")

    def weighted(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        n = pred.shape[-1]
        if n != w.numel():
            raise ValueError(f"{w.numel()} track weights for {n} tracks")
        per_track = []
        for k in range(n):
            m = None if mask is None else (mask[..., k:k + 1] if mask.shape[-1] == n else mask)
            per_track.append(loss_fn(pred[..., k:k + 1], target[..., k:k + 1], m))
        wd = w.to(pred.device)
        return (torch.stack(per_track) * wd).sum() / wd.sum()

    return weighted
