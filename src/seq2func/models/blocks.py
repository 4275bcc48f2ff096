"""Building blocks shared by the models, and the common model base class :class:`SeqModel`.

Receptive fields are computed analytically from a list of *geometric ops* ``(kernel, dilation,
stride)`` in forward order (a pooling layer of size ``p`` is ``(p, 1, p)``; residual branches are
described by their longest path): ``rf = 1 + sum_i (k_i - 1) * d_i * J_i`` with ``J_i`` the product
of the strides before op ``i``.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch
from torch import nn

GeomOp = tuple[int, int, int]  # (kernel, dilation, stride)


def receptive_field(ops: Iterable[GeomOp]) -> int:
    """Receptive field (bp) of one output position of a stack of convolutions/poolings.

    Parameters
    ----------
    ops : iterable of (int, int, int)
        ``(kernel, dilation, stride)`` of each op in forward order.

    Returns
    -------
    int
        Receptive field in input positions (bp).
    """
    rf, jump = 1, 1
    for k, d, s in ops:
        rf += (int(k) - 1) * int(d) * jump
        jump *= int(s)
    return rf


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves up (unlike Python's banker's :func:`round`).

    Parameters
    ----------
    x : float
        Non-negative value.

    Returns
    -------
    int
        ``int(x + 0.5)``.
    """
    return int(x + 0.5)


class SeqModel(nn.Module):
    """Common interface of every seq2func model.

    ``forward(x)``: float one-hot ``(B, 4, L)`` (A, C, G, T; N = zeros) -> ``head(trunk(x))``.
    Subclasses set ``trunk``, ``head``, ``output_kind``, ``default_loss`` and implement
    :meth:`new_head`, :meth:`output_bins`, :meth:`receptive_field` and :meth:`trunk_blocks`.
    """

    output_kind: str = "profile"
    default_loss: str = "poisson"

    def __init__(self, config: dict):
        super().__init__()
        self.config = config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``head(trunk(x))``.

        Parameters
        ----------
        x : torch.Tensor
            Float one-hot ``(B, 4, L)`` (A, C, G, T; N = zeros).

        Returns
        -------
        torch.Tensor
            ``(B, bins, n_tracks)`` for profile models, ``(B, n_tracks)`` otherwise.

        Raises
        ------
        ValueError
            When ``x`` is not ``(B, 4, L)``.
        """
        if x.ndim != 3 or x.shape[1] != 4:
            raise ValueError(f"expected one-hot input of shape (B, 4, L), got {tuple(x.shape)}")
        return self.head(self.trunk(x))

    def new_head(self, n_tracks: int) -> nn.Module:  # pragma: no cover - abstract
        """A freshly initialised head for ``n_tracks`` tracks (implemented by each model).

        Parameters
        ----------
        n_tracks : int
            Number of output tracks.

        Returns
        -------
        torch.nn.Module
            The head, mapping the trunk's output to the model's output.
        """
        raise NotImplementedError

    def trunk_blocks(self) -> list[nn.Module]:
        """Trunk sub-modules with parameters, input side first (for gradual unfreezing)."""
        return [m for m in self.trunk.children() if any(True for _ in m.parameters())]

    def output_bins(self, seq_len: int) -> int:
        """Number of output bins for an input of ``seq_len`` bp (1 for models without a bin axis).

        Parameters
        ----------
        seq_len : int
            Input length (bp).

        Returns
        -------
        int
            Number of output bins.
        """
        return 1

    def receptive_field(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError


class ConvBlock(nn.Module):
    """Pre-activation conv block: BatchNorm -> GELU -> Conv1d ('same') -> Dropout -> MaxPool."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int = 1, pool: int = 1,
                 dropout: float = 0.0):
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"kernel sizes must be odd ('same' padding), got {kernel}")
        self.norm = nn.BatchNorm1d(c_in)
        self.act = nn.GELU()
        self.conv = nn.Conv1d(c_in, c_out, kernel, dilation=dilation, padding=dilation * (kernel // 2))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.pool = nn.MaxPool1d(pool) if pool > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """BatchNorm -> GELU -> conv -> dropout -> max-pool.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, c_in, L)``.

        Returns
        -------
        torch.Tensor
            ``(B, c_out, L // pool)``.
        """
        return self.pool(self.dropout(self.conv(self.act(self.norm(x)))))


class DilatedResidualBlock(nn.Module):
    """Basenji dilated residual block: x + Dropout(Conv1x1(GELU(BN(Conv_k,dil(GELU(BN(x))))))).

    The bottleneck has ``round(channels * ratio)`` channels.
    """

    def __init__(self, channels: int, kernel: int, dilation: int, ratio: float = 0.5,
                 dropout: float = 0.0):
        super().__init__()
        mid = max(1, round_half_up(channels * ratio))
        self.body = nn.Sequential(
            nn.BatchNorm1d(channels),
            nn.GELU(),
            nn.Conv1d(channels, mid, kernel, dilation=dilation, padding=dilation * (kernel // 2)),
            nn.BatchNorm1d(mid),
            nn.GELU(),
            nn.Conv1d(mid, channels, 1),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` plus the bottleneck branch.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, channels, L)``.

        Returns
        -------
        torch.Tensor
            ``(B, channels, L)``.
        """
        return x + self.body(x)


class Crop1d(nn.Module):
    """Remove ``n`` positions from each end of the last axis."""

    def __init__(self, n: int):
        super().__init__()
        self.n = int(n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Crop ``n`` positions from each end of the last axis.

        Parameters
        ----------
        x : torch.Tensor
            ``(..., bins)``.

        Returns
        -------
        torch.Tensor
            ``(..., bins - 2 * n)`` (``x`` itself when ``n`` is 0).

        Raises
        ------
        ValueError
            When ``bins <= 2 * n``.
        """
        if self.n == 0:
            return x
        if x.shape[-1] <= 2 * self.n:
            raise ValueError(f"cannot crop {self.n} bins from each side of {x.shape[-1]} bins")
        return x[..., self.n:-self.n]

    def extra_repr(self) -> str:
        return f"n={self.n}"


class ProfileHead(nn.Module):
    """Per-track pointwise projection + softplus; ``(B, C, bins)`` -> ``(B, bins, n_tracks)``."""

    def __init__(self, c_in: int, n_tracks: int):
        super().__init__()
        self.proj = nn.Conv1d(c_in, n_tracks, 1)
        self.act = nn.Softplus()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pointwise projection + softplus, bins moved to axis 1.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, c_in, bins)``.

        Returns
        -------
        torch.Tensor
            Non-negative ``(B, bins, n_tracks)``.
        """
        return self.act(self.proj(x)).transpose(1, 2)


class ResidualBlock(nn.Module):
    """ResNet basic block: ReLU(BN(conv(ReLU(BN(conv(x))))) + shortcut(x))."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int = 1):
        super().__init__()
        if kernel % 2 != 1:
            raise ValueError(f"kernel sizes must be odd ('same' padding), got {kernel}")
        pad = dilation * (kernel // 2)
        self.conv1 = nn.Conv1d(c_in, c_out, kernel, dilation=dilation, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel, dilation=dilation, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.act = nn.ReLU()
        if c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv1d(c_in, c_out, 1, bias=False), nn.BatchNorm1d(c_out))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Two conv/BN layers plus the shortcut, then ReLU.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, c_in, L)``.

        Returns
        -------
        torch.Tensor
            ``(B, c_out, L)``.
        """
        y = self.act(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.act(y + self.shortcut(x))


class GlobalPool1d(nn.Module):
    """Global average or max pooling over the last axis: ``(B, C, L)`` -> ``(B, C)``."""

    def __init__(self, mode: str = "avg"):
        super().__init__()
        if mode not in ("avg", "max"):
            raise ValueError(f"global_pool must be 'avg' or 'max', got {mode!r}")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Average or max over the last axis.

        Parameters
        ----------
        x : torch.Tensor
            ``(B, C, L)``.

        Returns
        -------
        torch.Tensor
            ``(B, C)``.
        """
        return x.mean(dim=-1) if self.mode == "avg" else x.amax(dim=-1)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


def check_positive_ints(config: dict, keys: Sequence[str], model: str) -> None:
    """Check that config values are positive integers (or non-empty lists of them).

    Parameters
    ----------
    config : dict
        Model config with defaults filled in.
    keys : sequence of str
        Keys to check.
    model : str
        Model name used in the error message.

    Raises
    ------
    ValueError
        Naming the first key whose value is missing, not an int (bools rejected), < 1 or an empty list.
    """
    for key in keys:
        value = config.get(key)
        values = value if isinstance(value, (list, tuple)) else [value]
        if not values or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
            raise ValueError(f"{model}: config[{key!r}] must be a positive integer (or list of them), got {value!r}")
