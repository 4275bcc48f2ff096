"""LoRA (Hu et al. 2021) for ``nn.Linear`` and ``nn.Conv1d``: mergeable low-rank adapters.

``W' = W + (alpha / r) * B @ A`` with ``A`` (r x fan_in) Kaiming-uniform and ``B`` (fan_out x r)
zero-initialised, so a freshly wrapped layer computes exactly what the base layer does. For a
Conv1d, ``A`` is a conv with the base layer's kernel/stride/padding/dilation to ``r`` channels and
``B`` a pointwise conv back to ``out_channels``; the merged kernel is
``(B[:, :, 0] @ A.reshape(r, -1)).reshape(W.shape)``.

API: :func:`apply_lora` (wrap layers in place, freeze the base weights), :func:`merge_lora`
(fold the adapters into plain layers again, e.g. before saving a checkpoint that
``build_model(config)`` can load), :class:`LoRALinear`, :class:`LoRAConv1d`.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn


class _LoRABase(nn.Module):
    base: nn.Module
    lora_A: nn.Parameter
    lora_B: nn.Parameter

    def __init__(self, base: nn.Module, rank: int, alpha: float, dropout: float, fan_in: int, fan_out: int):
        super().__init__()
        if rank < 1:
            raise ValueError(f"LoRA rank must be >= 1, got {rank}")
        self.base = base
        self.rank = int(rank)
        self.alpha = float(alpha)
        self.scaling = self.alpha / self.rank
        self.merged = False
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        w = base.weight
        self.fan_in, self.fan_out = fan_in, fan_out
        self.lora_A = nn.Parameter(torch.empty(self.rank, fan_in, device=w.device, dtype=w.dtype))
        self.lora_B = nn.Parameter(torch.zeros(fan_out, self.rank, device=w.device, dtype=w.dtype))
        if w.device.type != "meta":
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        for p in self.base.parameters():
            p.requires_grad_(False)

    def __getattr__(self, name: str):
        # transparent wrapper: .weight, .bias, .in_features, .kernel_size, ... come from the base
        # layer (some models read e.g. ``layer.weight.dtype``)
        try:
            return super().__getattr__(name)
        except AttributeError:
            base = self.__dict__.get("_modules", {}).get("base")
            if base is None or name == "base":
                raise
            return getattr(base, name)

    def delta_weight(self) -> torch.Tensor:
        """``scaling * B @ A`` reshaped like the base weight."""
        return (self.lora_B @ self.lora_A).reshape(self.base.weight.shape) * self.scaling

    @torch.no_grad()
    def merge(self) -> None:
        if not self.merged:
            self.base.weight += self.delta_weight().to(self.base.weight.dtype)
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        if self.merged:
            self.base.weight -= self.delta_weight().to(self.base.weight.dtype)
            self.merged = False

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha}, merged={self.merged}"


class LoRALinear(_LoRABase):
    def __init__(self, base: nn.Linear, rank: int = 8, alpha: float = 16.0, dropout: float = 0.0):
        super().__init__(base, rank, alpha, dropout, base.in_features, base.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Base layer output plus the scaled low-rank update (the base output alone once merged).

        Parameters
        ----------
        x : torch.Tensor
            Input ``(..., in_features)``.

        Returns
        -------
        torch.Tensor
            ``base(x) + scaling * B(A(dropout(x)))`` ``(..., out_features)``; ``base(x)`` once merged.
        """
        y = self.base(x)
        if self.merged:
            return y
        z = F.linear(F.linear(self.dropout(x), self.lora_A), self.lora_B)
        return y + z * self.scaling


class LoRAConv1d(_LoRABase):
    def __init__(self, base: nn.Conv1d, rank: int = 8, alpha: float = 16.0, dropout: float = 0.0):
        if base.groups != 1:
            raise ValueError("LoRAConv1d supports groups=1 convolutions only")
        if base.padding_mode != "zeros":
            raise ValueError("LoRAConv1d supports padding_mode='zeros' only")
        super().__init__(base, rank, alpha, dropout, base.in_channels * base.kernel_size[0], base.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Base convolution output plus the scaled low-rank update (the base output alone once merged).

        Parameters
        ----------
        x : torch.Tensor
            Input ``(B, in_channels, L)``.

        Returns
        -------
        torch.Tensor
            ``(B, out_channels, L_out)``, as the base convolution gives.
        """
        y = self.base(x)
        if self.merged:
            return y
        b = self.base
        a = self.lora_A.reshape(self.rank, b.in_channels, b.kernel_size[0])
        h = F.conv1d(self.dropout(x), a, None, b.stride, b.padding, b.dilation)
        z = F.conv1d(h, self.lora_B.unsqueeze(-1))
        return y + z * self.scaling


LORA_TYPES = (LoRALinear, LoRAConv1d)


def _eligible(module: nn.Module) -> bool:
    if isinstance(module, nn.Linear):
        return True
    return isinstance(module, nn.Conv1d) and module.groups == 1 and module.padding_mode == "zeros"


def apply_lora(module: nn.Module, rank: int = 8, alpha: float | None = None, dropout: float = 0.0,
               skip: Iterable[nn.Module] = ()) -> list[str]:
    """Wrap every ``nn.Linear``/``nn.Conv1d`` (groups=1) under ``module`` in place.

    The rank of each adapter is ``min(rank, fan_in, fan_out)``; ``alpha`` defaults to ``rank``
    (scaling 1). Base weights/biases are frozen (``requires_grad=False``); the adapters are
    trainable. ``skip``: modules left alone (with everything below them). Returns the qualified
    names of the wrapped layers.

    Parameters
    ----------
    module : torch.nn.Module
        Model (or part of one) whose layers are wrapped in place.
    rank : int, optional
        Adapter rank (capped per layer at ``min(fan_in, fan_out)``).
    alpha : float, optional
        LoRA scaling numerator (scaling ``alpha / rank``); None means ``rank``. Scaled with the per-layer
        rank so that capped layers keep the same scaling.
    dropout : float, optional
        Dropout on the adapter input.
    skip : iterable of torch.nn.Module, optional
        Sub-modules left untouched, together with everything below them (e.g. a fresh head).

    Returns
    -------
    list of str
        Qualified names (relative to ``module``) of the wrapped layers.
    """
    alpha = float(rank if alpha is None else alpha)
    skip_ids = {id(m) for m in skip}
    wrapped: list[str] = []

    def visit(parent: nn.Module, prefix: str) -> None:
        for name, child in list(parent.named_children()):
            qual = f"{prefix}{name}"
            if id(child) in skip_ids or isinstance(child, LORA_TYPES):
                continue
            if _eligible(child):
                if isinstance(child, nn.Linear):
                    r = min(rank, child.in_features, child.out_features)
                    new: nn.Module = LoRALinear(child, r, alpha * r / rank, dropout)
                else:
                    r = min(rank, child.in_channels * child.kernel_size[0], child.out_channels)
                    new = LoRAConv1d(child, r, alpha * r / rank, dropout)
                setattr(parent, name, new)
                wrapped.append(qual)
            else:
                visit(child, qual + ".")

    visit(module, "")
    return wrapped


def merge_lora(module: nn.Module) -> int:
    """Fold every LoRA adapter under ``module`` into its base layer and put the plain layer back
    (``requires_grad`` restored to True). Returns how many were merged.

    Parameters
    ----------
    module : torch.nn.Module
        Model whose LoRA layers are replaced in place.

    Returns
    -------
    int
        Number of adapters merged.
    """
    n = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LORA_TYPES):
                child.merge()
                for p in child.base.parameters():
                    p.requires_grad_(True)
                setattr(parent, name, child.base)
                n += 1
    return n


def lora_parameters(module: nn.Module) -> list[nn.Parameter]:
    """The adapter parameters (``lora_A``, ``lora_B`` of every LoRA layer) under ``module``.

    Parameters
    ----------
    module : torch.nn.Module
        Model with LoRA layers (see :func:`apply_lora`).

    Returns
    -------
    list of torch.nn.Parameter
        Two per LoRA layer, in module order.
    """
    return [p for m in module.modules() if isinstance(m, LORA_TYPES) for p in (m.lora_A, m.lora_B)]
