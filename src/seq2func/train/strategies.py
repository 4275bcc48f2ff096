"""FINETUNE strategies: which parameters of a (pre-trained) model train.

    from seq2func.train.strategies import apply_strategy, count_trainable
    schedule = apply_strategy(model, "gradual_unfreeze")
    for epoch in range(n_epochs):
        schedule(epoch)            # no-op for every strategy but gradual_unfreeze
        train_mode(model)          # model.train(), but frozen BatchNorm layers stay in eval mode
        ...

Strategies (:data:`STRATEGIES`):

``head_only``        only ``model.head`` trains.
``full``             everything trains.
``gradual_unfreeze`` at epoch 0 only the head; each later epoch unfreezes ``blocks_per_epoch``
                     more trunk blocks (:meth:`SeqModel.trunk_blocks`) from the top (output side)
                     down; ``epochs`` instead spreads all blocks evenly over that many epochs.
``lora``             LoRA adapters (``rank``, ``alpha``, ``dropout``) on every Conv1d/Linear of the
                     trunk (:mod:`seq2func.models.lora`); all base trunk weights (BatchNorm
                     included) frozen; head trains. :func:`seq2func.models.lora.merge_lora` folds
                     the adapters back into plain layers.
``scratch``          every weight re-initialised (a fresh ``build_model(model.config)``, weights not
                     loaded; ``seed`` optional), everything trains.

Build the optimiser over ``model.parameters()`` *after* :func:`apply_strategy` (LoRA adds
parameters); frozen parameters get no ``.grad`` and torch optimisers skip them, so parameters that
gradual unfreezing turns on later are picked up without rebuilding the optimiser.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from seq2func.models import build_model
from seq2func.models.lora import apply_lora

STRATEGIES = ("head_only", "full", "gradual_unfreeze", "lora", "scratch")


def set_trainable(module: nn.Module, flag: bool) -> None:
    """Set ``requires_grad`` of every parameter under ``module``.

    Parameters
    ----------
    module : torch.nn.Module
        Module whose parameters (recursively) are switched.
    flag : bool
        True to train them, False to freeze them.
    """
    for p in module.parameters():
        p.requires_grad_(flag)


def count_trainable(model: nn.Module) -> int:
    """Number of parameters (elements) with ``requires_grad``.

    Parameters
    ----------
    model : torch.nn.Module
        Any module.

    Returns
    -------
    int
        Total element count of its trainable parameters.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def trunk_blocks(model: nn.Module) -> list[nn.Module]:
    """Trunk blocks, input side first: ``model.trunk_blocks()`` when defined, else the trunk's
    children with parameters.

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`SeqModel` (or any module with a ``trunk``).

    Returns
    -------
    list of torch.nn.Module
        The trunk blocks, input side first.
    """
    if hasattr(model, "trunk_blocks"):
        return list(model.trunk_blocks())
    return [m for m in model.trunk.children() if any(True for _ in m.parameters())]


def train_mode(model: nn.Module) -> nn.Module:
    """``model.train()``, then put BatchNorm layers whose affine parameters are all frozen back in
    eval mode, so frozen blocks keep their pre-trained running statistics.

    Parameters
    ----------
    model : torch.nn.Module
        Model switched to training mode in place.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.
    """
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            params = list(m.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                m.eval()
    return model


class Schedule:
    """What :func:`apply_strategy` returns: ``schedule(epoch)`` applies the strategy's state for
    that epoch and returns the number of trunk blocks newly unfrozen (0 for static strategies)."""

    def __init__(self, model: nn.Module, strategy: str, info: dict | None = None):
        self.model = model
        self.strategy = strategy
        self.info = info or {}

    def __call__(self, epoch: int) -> int:
        return 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(strategy={self.strategy!r}, info={self.info})"


class GradualUnfreeze(Schedule):
    """Top-down unfreezing: epoch ``e`` trains the head and the last ``n(e)`` trunk blocks with
    ``n(e) = min(len(blocks), e * blocks_per_epoch)``, or ``ceil(e * len(blocks) / epochs)`` when
    ``epochs`` is given. Idempotent, so calling it for a resumed epoch restores the right state."""

    def __init__(self, model: nn.Module, blocks_per_epoch: int = 1, epochs: int | None = None):
        self.blocks = trunk_blocks(model)
        if blocks_per_epoch < 1:
            raise ValueError("blocks_per_epoch must be >= 1")
        if epochs is not None and epochs < 1:
            raise ValueError("epochs must be >= 1")
        super().__init__(model, "gradual_unfreeze",
                         {"n_blocks": len(self.blocks), "blocks_per_epoch": blocks_per_epoch, "epochs": epochs})
        self.blocks_per_epoch = int(blocks_per_epoch)
        self.epochs = epochs
        self.n_unfrozen = 0

    def n_for_epoch(self, epoch: int) -> int:
        """Number of trunk blocks (counted from the output side) that train at ``epoch``.

        Parameters
        ----------
        epoch : int
            0-based epoch index (negative values count as 0).

        Returns
        -------
        int
            ``n(epoch)`` as in the class docstring, at most the number of blocks.
        """
        epoch = max(0, int(epoch))
        if self.epochs is not None:
            return min(len(self.blocks), math.ceil(epoch * len(self.blocks) / self.epochs))
        return min(len(self.blocks), epoch * self.blocks_per_epoch)

    def __call__(self, epoch: int) -> int:
        n = self.n_for_epoch(epoch)
        set_trainable(self.model.trunk, False)
        set_trainable(self.model.head, True)
        for block in self.blocks[len(self.blocks) - n:]:
            set_trainable(block, True)
        newly = max(0, n - self.n_unfrozen)
        self.n_unfrozen = n
        return newly


def _reinitialise(model: nn.Module, seed: int | None) -> None:
    if seed is not None:
        torch.manual_seed(seed)
    fresh = build_model(model.config, load_weights=False)
    model.load_state_dict(fresh.state_dict())  # copies into the existing tensors: device/dtype kept


def apply_strategy(model: nn.Module, strategy: str, **kw) -> Schedule | Callable[[int], int]:
    """Set ``requires_grad`` (and wrap layers, for LoRA) in place for a fine-tuning strategy.

    Keyword arguments: ``gradual_unfreeze``: ``blocks_per_epoch`` (1), ``epochs`` (None);
    ``lora``: ``rank`` (8), ``alpha`` (``2 * rank``), ``dropout`` (0.0); ``scratch``: ``seed``.
    Returns a :class:`Schedule` (call it with the epoch number at the start of every epoch).

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`SeqModel` (``trunk`` and ``head``), modified in place.
    strategy : str
        One of :data:`STRATEGIES`.
    **kw
        The strategy's options listed above; any other is a ``TypeError``.

    Returns
    -------
    Schedule
        :class:`GradualUnfreeze` for ``gradual_unfreeze`` (already applied for epoch 0); otherwise a
        no-op :class:`Schedule` whose ``info`` records e.g. the LoRA rank, alpha and wrapped layers.

    Raises
    ------
    ValueError
        For an unknown strategy.
    TypeError
        For an option the strategy does not take.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown fine-tuning strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")
    allowed = {"head_only": set(), "full": set(), "gradual_unfreeze": {"blocks_per_epoch", "epochs"},
               "lora": {"rank", "alpha", "dropout"}, "scratch": {"seed"}}[strategy]
    extra = set(kw) - allowed
    if extra:
        raise TypeError(f"{strategy}: unexpected options {sorted(extra)}")

    if strategy == "head_only":
        set_trainable(model, False)
        set_trainable(model.head, True)
        return Schedule(model, strategy)
    if strategy == "full":
        set_trainable(model, True)
        return Schedule(model, strategy)
    if strategy == "scratch":
        _reinitialise(model, kw.get("seed"))
        set_trainable(model, True)
        return Schedule(model, strategy)
    if strategy == "gradual_unfreeze":
        schedule = GradualUnfreeze(model, kw.get("blocks_per_epoch", 1), kw.get("epochs"))
        schedule(0)
        return schedule
    # lora
    rank = int(kw.get("rank", 8))
    alpha = float(kw.get("alpha", 2 * rank))
    set_trainable(model, False)
    wrapped = apply_lora(model.trunk, rank=rank, alpha=alpha, dropout=float(kw.get("dropout", 0.0)))
    set_trainable(model.head, True)
    return Schedule(model, strategy, {"rank": rank, "alpha": alpha, "layers": wrapped})
