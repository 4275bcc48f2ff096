"""The Sasse et al. (2023) simple CNN baseline, exactly as in its Methods ("Training and testing of
simple CNN"):

    40,001 bp centred at the TSS -> one convolutional layer of 900 kernels of width 10 + ReLU ->
    one average pooling layer of 900 bp ("reduces the input of the network to 44 segments") ->
    one hidden layer of size 200 with ReLU -> the prediction (a linear output, one value per track:
    mean log expression). MSE loss, Adam, learning rate 0.001, default hyperparameters.

The convolution is unpadded ("valid"): 40,001 - 10 + 1 = 39,992 positions; the average pool has
kernel = stride = 900 (floor), so 44 segments x 900 channels = 39,600 features enter the dense
layer. Because the dense layer sees a fixed number of segments, the input length must equal
``config["seq_len"]``.

``receptive_field()`` is that of one pooled segment (10 + 899 = 909 bp); the output sees the whole
input.
"""

from __future__ import annotations

import torch
from torch import nn

from seq2func.models.blocks import SeqModel, check_positive_ints, receptive_field

DEFAULTS: dict = {
    "n_tracks": 1,
    "seq_len": 40001,
    "conv_channels": 900,
    "conv_kernel": 10,
    "pool": 900,
    "hidden": 200,
    "optimizer": {"name": "adam", "lr": 1e-3},
}


class SimpleCNN(SeqModel):
    output_kind = "scalar"
    default_loss = "mse"

    def __init__(self, config: dict):
        cfg = {**DEFAULTS, **config}
        cfg["optimizer"] = dict(cfg["optimizer"])
        check_positive_ints(cfg, ["n_tracks", "seq_len", "conv_channels", "conv_kernel", "pool", "hidden"],
                            "simple_cnn")
        n_segments = (cfg["seq_len"] - cfg["conv_kernel"] + 1) // cfg["pool"]
        if n_segments < 1:
            raise ValueError(f"simple_cnn: seq_len {cfg['seq_len']} is shorter than one pooling segment")
        super().__init__(cfg)
        self.n_segments = n_segments
        self.trunk = nn.Sequential(
            nn.Conv1d(4, cfg["conv_channels"], cfg["conv_kernel"]),
            nn.ReLU(),
            nn.AvgPool1d(cfg["pool"]),
            nn.Flatten(),
            nn.Linear(cfg["conv_channels"] * n_segments, cfg["hidden"]),
            nn.ReLU(),
        )
        self.head = self.new_head(cfg["n_tracks"])

    def new_head(self, n_tracks: int) -> nn.Module:
        """A freshly initialised linear output layer.

        Parameters
        ----------
        n_tracks : int
            Number of output tracks.

        Returns
        -------
        torch.nn.Module
            ``Linear(hidden, n_tracks)``: ``(B, hidden)`` -> ``(B, n_tracks)``.
        """
        return nn.Linear(self.config["hidden"], int(n_tracks))

    def receptive_field(self) -> int:
        return receptive_field([(self.config["conv_kernel"], 1, 1), (self.config["pool"], 1, self.config["pool"])])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict one value per track; the input length must equal ``config["seq_len"]``.

        Parameters
        ----------
        x : torch.Tensor
            Float one-hot ``(B, 4, seq_len)``.

        Returns
        -------
        torch.Tensor
            ``(B, n_tracks)``.

        Raises
        ------
        ValueError
            When the input is not one-hot ``(B, 4, L)`` or its length differs from ``seq_len``.
        """
        if x.ndim == 3 and x.shape[-1] != self.config["seq_len"]:
            raise ValueError(f"simple_cnn: input length {x.shape[-1]} != seq_len {self.config['seq_len']} "
                             "(the dense layer expects a fixed number of pooled segments)")
        return super().forward(x)
