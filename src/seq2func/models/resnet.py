"""Residual peak classifier (the Brain-ResNet shape) for peak / classification mode.

conv stem (conv ``stem_kernel`` bp, BN, ReLU) -> stages of ``blocks_per_stage`` residual basic
blocks (``kernel``-wide convs) each followed by max-pooling -> global pooling (avg or max) ->
dense ``hidden`` (ReLU, dropout) -> ``n_tracks`` logits (multi-task BCE; the sigmoid is in the loss).

Output ``(B, n_tracks)`` logits. ``receptive_field()`` is that of the last positional feature map
(before global pooling); the logits themselves see the whole input.
"""

from __future__ import annotations

from torch import nn

from seq2func.models.blocks import GeomOp, GlobalPool1d, ResidualBlock, SeqModel, check_positive_ints, receptive_field

DEFAULTS: dict = {
    "n_tracks": 1,
    "seq_len": 1000,
    "stem_channels": 64,
    "stem_kernel": 15,
    "stage_channels": [64, 128, 256],
    "stage_pools": [4, 4, 4],
    "blocks_per_stage": 2,
    "kernel": 5,
    "global_pool": "max",
    "hidden": 256,
    "dropout": 0.3,
}


class ResNet(SeqModel):
    output_kind = "classification"
    default_loss = "bce"

    def __init__(self, config: dict):
        cfg = {**DEFAULTS, **config}
        cfg["stage_channels"] = list(cfg["stage_channels"])
        cfg["stage_pools"] = list(cfg["stage_pools"])
        check_positive_ints(cfg, ["n_tracks", "stem_channels", "stem_kernel", "stage_channels", "stage_pools",
                                  "blocks_per_stage", "kernel", "hidden"], "resnet")
        if len(cfg["stage_channels"]) != len(cfg["stage_pools"]):
            raise ValueError("resnet: stage_channels and stage_pools must have the same length")
        if cfg["stem_kernel"] % 2 != 1:
            raise ValueError("resnet: stem_kernel must be odd")
        super().__init__(cfg)

        c = cfg["stem_channels"]
        layers: list[nn.Module] = [nn.Sequential(
            nn.Conv1d(4, c, cfg["stem_kernel"], padding=cfg["stem_kernel"] // 2, bias=False),
            nn.BatchNorm1d(c),
            nn.ReLU(),
        )]
        for c_out, pool in zip(cfg["stage_channels"], cfg["stage_pools"]):
            for _ in range(cfg["blocks_per_stage"]):
                layers.append(ResidualBlock(c, c_out, cfg["kernel"]))
                c = c_out
            layers.append(nn.MaxPool1d(pool) if pool > 1 else nn.Identity())
        layers.append(GlobalPool1d(cfg["global_pool"]))
        layers.append(nn.Sequential(
            nn.Linear(c, cfg["hidden"]),
            nn.ReLU(),
            nn.Dropout(cfg["dropout"]) if cfg["dropout"] > 0 else nn.Identity(),
        ))
        self.trunk = nn.Sequential(*layers)
        self.head = self.new_head(cfg["n_tracks"])

    def new_head(self, n_tracks: int) -> nn.Module:
        """A freshly initialised linear logit head.

        Parameters
        ----------
        n_tracks : int
            Number of output tracks.

        Returns
        -------
        torch.nn.Module
            ``Linear(hidden, n_tracks)``: ``(B, hidden)`` -> logits ``(B, n_tracks)``.
        """
        return nn.Linear(self.config["hidden"], int(n_tracks))

    def _geometry(self) -> list[GeomOp]:
        cfg = self.config
        ops: list[GeomOp] = [(cfg["stem_kernel"], 1, 1)]
        for pool in cfg["stage_pools"]:
            ops += [(cfg["kernel"], 1, 1)] * (2 * cfg["blocks_per_stage"])
            ops += [(pool, 1, pool)]
        return ops

    def receptive_field(self) -> int:
        return receptive_field(self._geometry())
