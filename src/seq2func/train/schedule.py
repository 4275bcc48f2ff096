"""Learning-rate schedule: linear warm-up then cosine decay, as a ``torch.optim.lr_scheduler.LambdaLR``.

The multiplier of the base learning rate at optimizer step ``s`` (0-based: the multiplier used by
the ``s``-th ``optimizer.step()``) is

- ``(s + 1) / warmup_steps`` for ``s < warmup_steps`` (linear warm-up, reaching 1 at the last
  warm-up step);
- ``min_ratio + (1 - min_ratio) * (1 + cos(pi * p)) / 2`` afterwards, with
  ``p = (s - warmup_steps) / max(1, total_steps - warmup_steps)`` clipped to ``[0, 1]``
  (cosine decay from 1 to ``min_ratio`` at ``total_steps``).

The lambda is a plain closure, so the scheduler's ``state_dict()`` holds only numbers (it loads
with ``torch.load(weights_only=True)``); rebuild the scheduler with the same arguments and call
``load_state_dict`` to resume.
"""

from __future__ import annotations

import math
from typing import Callable

import torch


def warmup_cosine(warmup_steps: int, total_steps: int, min_ratio: float = 0.0) -> Callable[[int], float]:
    """The learning-rate multiplier as a function of the 0-based optimizer step.

    Parameters
    ----------
    warmup_steps : int
        Steps of linear warm-up (0: none).
    total_steps : int
        Step at which the cosine decay reaches ``min_ratio`` (at least 1).
    min_ratio : float, optional
        Final multiplier, in ``[0, 1]``.

    Returns
    -------
    callable
        ``factor(step) -> float``, the multiplier of the base learning rate.

    Raises
    ------
    ValueError
        When ``min_ratio`` is outside ``[0, 1]``.
    """
    warmup_steps = max(0, int(warmup_steps))
    total_steps = max(1, int(total_steps))
    min_ratio = float(min_ratio)
    if not 0.0 <= min_ratio <= 1.0:
        raise ValueError("min_ratio must be in [0, 1]")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        p = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        p = min(1.0, max(0.0, p))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))

    return factor


def make_scheduler(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                   min_ratio: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """``LambdaLR`` with :func:`warmup_cosine`; call ``scheduler.step()`` after each ``optimizer.step()``.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Optimizer whose learning rates are scheduled.
    warmup_steps : int
        Steps of linear warm-up.
    total_steps : int
        Total optimizer steps of the run (end of the cosine decay).
    min_ratio : float, optional
        Final fraction of the base learning rate.

    Returns
    -------
    torch.optim.lr_scheduler.LambdaLR
        The scheduler.
    """
    return torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(warmup_steps, total_steps, min_ratio))
