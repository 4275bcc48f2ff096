"""Basenji-style profile model (Kelley et al. 2018; Basenji2 layout).

stem conv (``stem_kernel`` bp) + max-pool -> conv tower (pre-activation BN/GELU/conv blocks, each
followed by max-pooling; the product of all pool factors equals ``bin_size``) -> dilated residual
blocks (kernel 3, dilation ``round(dilation_mult ** i)``, bottleneck ``dilated_ratio``, dropout) ->
crop ``crop_bins`` bins each side -> BN/GELU/pointwise conv to ``final_channels`` (dropout, GELU) ->
per-track pointwise conv + softplus head.

Output ``(B, n_bins_out, n_tracks)``, non-negative. The same parameterisation gives the
131,072 bp / 128 bp model (``assets/models/basenji_131k.json``) and the CPU test model
(``basenji_tiny.json``).
"""

from __future__ import annotations

import math

from torch import nn

from seq2func.models.blocks import (
    ConvBlock,
    Crop1d,
    DilatedResidualBlock,
    GeomOp,
    ProfileHead,
    SeqModel,
    check_positive_ints,
    receptive_field,
    round_half_up,
)

DEFAULTS: dict = {
    "n_tracks": 1,
    "seq_len": 131072,
    "bin_size": 128,
    "stem_channels": 288,
    "stem_kernel": 15,
    "stem_pool": 2,
    "tower_channels": [339, 399, 470, 554, 652, 768],
    "tower_kernel": 5,
    "tower_pools": [2, 2, 2, 2, 2, 2],
    "tower_dropout": 0.0,
    "n_dilated": 11,
    "dilated_kernel": 3,
    "dilation_mult": 1.5,
    "dilated_ratio": 0.5,
    "dilated_dropout": 0.3,
    "crop_bins": 64,
    "final_channels": 1536,
    "final_dropout": 0.05,
}


def dilation_schedule(n: int, mult: float) -> list[int]:
    """Basenji's schedule: ``round(mult ** i)`` (half up) for ``i = 0..n-1``.

    Parameters
    ----------
    n : int
        Number of dilated residual blocks.
    mult : float
        Dilation growth factor per block.

    Returns
    -------
    list of int
        Dilation of each block, input side first.
    """
    return [round_half_up(mult ** i) for i in range(n)]


class Basenji(SeqModel):
    output_kind = "profile"
    default_loss = "poisson"

    def __init__(self, config: dict):
        cfg = {**DEFAULTS, **config}
        cfg["tower_channels"] = list(cfg["tower_channels"])
        cfg["tower_pools"] = list(cfg["tower_pools"])
        check_positive_ints(cfg, ["n_tracks", "bin_size", "stem_channels", "stem_kernel", "stem_pool",
                                 "tower_kernel", "dilated_kernel", "final_channels"], "basenji")
        if len(cfg["tower_channels"]) != len(cfg["tower_pools"]):
            raise ValueError("basenji: tower_channels and tower_pools must have the same length")
        if cfg["tower_pools"]:
            check_positive_ints(cfg, ["tower_channels", "tower_pools"], "basenji")
        if cfg["stem_pool"] * math.prod(cfg["tower_pools"]) != cfg["bin_size"]:
            raise ValueError(f"basenji: stem_pool x prod(tower_pools) = "
                             f"{cfg['stem_pool'] * math.prod(cfg['tower_pools'])} != bin_size {cfg['bin_size']}")
        if int(cfg["n_dilated"]) < 0 or int(cfg["crop_bins"]) < 0:
            raise ValueError("basenji: n_dilated and crop_bins must be >= 0")
        super().__init__(cfg)

        self.dilations = list(cfg.get("dilations") or dilation_schedule(int(cfg["n_dilated"]), float(cfg["dilation_mult"])))
        if len(self.dilations) != int(cfg["n_dilated"]):
            raise ValueError("basenji: len(dilations) != n_dilated")

        if cfg["stem_kernel"] % 2 != 1:
            raise ValueError("basenji: stem_kernel must be odd")
        c0 = cfg["stem_channels"]
        stem = nn.Sequential(
            nn.Conv1d(4, c0, cfg["stem_kernel"], padding=cfg["stem_kernel"] // 2),
            nn.MaxPool1d(cfg["stem_pool"]) if cfg["stem_pool"] > 1 else nn.Identity(),
        )
        layers: list[nn.Module] = [stem]
        c = c0
        for c_out, pool in zip(cfg["tower_channels"], cfg["tower_pools"]):
            layers.append(ConvBlock(c, c_out, cfg["tower_kernel"], pool=pool, dropout=cfg["tower_dropout"]))
            c = c_out
        for d in self.dilations:
            layers.append(DilatedResidualBlock(c, cfg["dilated_kernel"], d, ratio=cfg["dilated_ratio"],
                                               dropout=cfg["dilated_dropout"]))
        layers.append(Crop1d(cfg["crop_bins"]))
        layers.append(nn.Sequential(
            nn.BatchNorm1d(c),
            nn.GELU(),
            nn.Conv1d(c, cfg["final_channels"], 1),
            nn.Dropout(cfg["final_dropout"]) if cfg["final_dropout"] > 0 else nn.Identity(),
            nn.GELU(),
        ))
        self.trunk = nn.Sequential(*layers)
        self.head = self.new_head(cfg["n_tracks"])

    def new_head(self, n_tracks: int) -> nn.Module:
        """A freshly initialised per-track pointwise conv + softplus head.

        Parameters
        ----------
        n_tracks : int
            Number of output tracks.

        Returns
        -------
        torch.nn.Module
            ``ProfileHead``: ``(B, final_channels, bins)`` -> ``(B, bins, n_tracks)``.
        """
        return ProfileHead(self.config["final_channels"], int(n_tracks))

    def _geometry(self) -> list[GeomOp]:
        cfg = self.config
        ops: list[GeomOp] = [(cfg["stem_kernel"], 1, 1), (cfg["stem_pool"], 1, cfg["stem_pool"])]
        for pool in cfg["tower_pools"]:
            ops += [(cfg["tower_kernel"], 1, 1), (pool, 1, pool)]
        for d in self.dilations:
            ops += [(cfg["dilated_kernel"], d, 1)]
        return ops

    def receptive_field(self) -> int:
        return receptive_field(self._geometry())

    def output_bins(self, seq_len: int) -> int:
        """Output bins for an input of ``seq_len`` bp: floor-divided by every pool, minus the crop.

        Parameters
        ----------
        seq_len : int
            Input length (bp).

        Returns
        -------
        int
            Number of output bins.

        Raises
        ------
        ValueError
            When no bin is left.
        """
        n = int(seq_len)
        for p in [self.config["stem_pool"], *self.config["tower_pools"]]:
            n //= p
        n -= 2 * self.config["crop_bins"]
        if n < 1:
            raise ValueError(f"basenji: input of {seq_len} bp leaves no output bins")
        return n
