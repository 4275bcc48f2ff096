"""Sequence-to-function models: ``basenji`` (profile), ``resnet`` (peak classifier), ``simple_cnn``
(the Sasse et al. baseline) and ``enformer`` (adapter for Enformer-style models from local weights).

Python API::

    from seq2func.models import build_model, load_config, replace_head
    model = build_model(load_config("basenji_tiny") | {"n_tracks": 8})
    y = model(x)                      # x: float one-hot (B, 4, L) -> (B, model.output_bins(L), 8)
    replace_head(model, 3)            # fresh head for 3 tracks; config["n_tracks"] updated

Every model has ``.config`` (JSON-serialisable dict, defaults filled in), ``.trunk`` (everything
but the head), ``.head`` (the per-track output layer), ``.output_kind`` (``profile`` |
``classification`` | ``scalar``), ``.default_loss`` (``poisson`` | ``multinomial_poisson`` | ``mse``
| ``bce``), ``.output_bins(seq_len)``, ``.receptive_field()`` (bp) and ``.trunk_blocks()`` (trunk
pieces, input side first, used by gradual unfreezing). ``forward(x) == head(trunk(x))``.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

import seq2func
from seq2func.io.project import assets_dir
from seq2func.models.adapters import build_enformer
from seq2func.models.basenji import Basenji
from seq2func.models.blocks import SeqModel
from seq2func.models.resnet import ResNet
from seq2func.models.simple_cnn import SimpleCNN

__all__ = [
    "MODEL_NAMES",
    "SeqModel",
    "build_model",
    "config_dirs",
    "count_params",
    "init_output_bias",
    "list_configs",
    "load_config",
    "replace_head",
]

MODEL_NAMES = ("basenji", "resnet", "simple_cnn", "enformer")


def build_model(config: dict, *, load_weights: bool = True) -> nn.Module:
    """Build a model from its config (``config["name"]`` in :data:`MODEL_NAMES`).

    The input dict is not modified; ``model.config`` is a deep copy with every default filled in.
    ``load_weights=False`` skips loading ``config["weights"]`` (``enformer`` only), e.g. when a
    seq2func checkpoint's state dict is loaded right after.

    Parameters
    ----------
    config : dict
        Model config with ``name`` (``basenji``, ``resnet``, ``simple_cnn``, ``enformer``) and that model's
        hyper-parameters (``n_tracks``, ``seq_len``, ...); missing keys take the model's defaults.
    load_weights : bool, optional
        Load the local ``config["weights"]`` of an ``enformer`` model (default true).

    Returns
    -------
    torch.nn.Module
        A :class:`SeqModel` with freshly initialised (or, for ``enformer``, loaded) weights.

    Raises
    ------
    ValueError
        When ``config`` has no ``name``, names an unknown model or has invalid hyper-parameters.
    """
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError("model config must be a dict with a 'name'")
    cfg = copy.deepcopy(config)
    name = cfg["name"]
    if name == "basenji":
        return Basenji(cfg)
    if name == "resnet":
        return ResNet(cfg)
    if name == "simple_cnn":
        return SimpleCNN(cfg)
    if name == "enformer":
        return build_enformer(cfg, load_weights=load_weights)
    raise ValueError(f"unknown model name {name!r} (choose from {', '.join(MODEL_NAMES)})")


def config_dirs() -> list[Path]:
    """Where bundled configs live: ``assets/models`` (:func:`seq2func.io.project.assets_dir`), then
    package data if installed so."""
    dirs = [assets_dir() / "models",
            Path(seq2func.__file__).resolve().parent / "assets" / "models"]
    return [d for d in dirs if d.is_dir()]


def list_configs() -> list[str]:
    return sorted({p.stem for d in config_dirs() for p in d.glob("*.json")})


def load_config(name_or_path: str | os.PathLike) -> dict:
    """Read a model config: a JSON file path, or the name of a bundled config (``basenji_131k``,
    ``basenji_tiny``, ``resnet_peak``, ``simple_cnn``).

    Parameters
    ----------
    name_or_path : str or os.PathLike
        Path of a JSON config (anything ending in ``.json``, containing a path separator or naming an
        existing file), else the stem of a bundled config searched in :func:`config_dirs`.

    Returns
    -------
    dict
        The parsed config (defaults not filled in).

    Raises
    ------
    FileNotFoundError
        When no bundled config has that name.
    ValueError
        When the JSON is not a dict whose ``name`` is in :data:`MODEL_NAMES`.
    """
    s = os.fspath(name_or_path)
    p = Path(s)
    if not (p.suffix == ".json" or os.sep in s or p.is_file()):
        for d in config_dirs():
            if (d / f"{s}.json").is_file():
                p = d / f"{s}.json"
                break
        else:
            raise FileNotFoundError(f"no model config {s!r} (bundled: {', '.join(list_configs()) or 'none'})")
    with open(p) as fh:
        cfg = json.load(fh)
    if not isinstance(cfg, dict) or cfg.get("name") not in MODEL_NAMES:
        raise ValueError(f"{p}: not a model config (needs 'name' in {MODEL_NAMES})")
    return cfg


def replace_head(model: nn.Module, n_tracks: int) -> nn.Module:
    """Put a freshly initialised head for ``n_tracks`` tracks (same device/dtype as the old head);
    updates ``model.config["n_tracks"]``. Returns the (same) model.

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`SeqModel`; its ``head`` is replaced in place.
    n_tracks : int
        Number of output tracks of the new head (>= 1).

    Returns
    -------
    torch.nn.Module
        ``model`` itself.
    """
    if int(n_tracks) < 1:
        raise ValueError(f"n_tracks must be >= 1, got {n_tracks}")
    old = next(model.head.parameters(), None)
    new = model.new_head(int(n_tracks))
    if old is not None:
        new = new.to(device=old.device, dtype=old.dtype)
    model.head = new
    model.config["n_tracks"] = int(n_tracks)
    return model


def count_params(model: nn.Module) -> int:
    """Number of parameters of a model, trainable or not.

    Parameters
    ----------
    model : torch.nn.Module
        Any module.

    Returns
    -------
    int
        Total element count of its parameters.
    """
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def init_output_bias(model: nn.Module, values: Sequence[float] | torch.Tensor) -> nn.Module:
    """Set the head's output bias so an all-zero head input predicts ``values`` (one per track):
    the mean target per bin for profile (softplus) heads, the positive fraction for classifiers
    (logit), the mean for scalar heads. Speeds up the first epochs; returns the model.

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`SeqModel`; the bias of the last biased ``Linear``/``Conv1d`` of its head is overwritten.
    values : sequence of float or torch.Tensor
        Target value per track ``(n_tracks,)``: mean per bin (profile), positive fraction
        (classification) or mean (scalar).

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Raises
    ------
    ValueError
        When the head has no biased layer or ``values`` has the wrong number of entries.
    """
    layers = [m for m in model.head.modules() if isinstance(m, (nn.Linear, nn.Conv1d)) and m.bias is not None]
    if not layers:
        raise ValueError("the head has no biased Linear/Conv1d layer")
    bias = layers[-1].bias
    v = torch.as_tensor(values, dtype=torch.float64).flatten()
    if v.numel() != bias.numel():
        raise ValueError(f"{v.numel()} values for {bias.numel()} tracks")
    kind = getattr(model, "output_kind", "scalar")
    if kind == "profile":
        v = v.clamp(min=1e-4)
        v = v + torch.log(-torch.expm1(-v))  # inverse softplus: log(exp(v) - 1)
    elif kind == "classification":
        v = v.clamp(1e-4, 1 - 1e-4)
        v = torch.log(v / (1 - v))
    bias.copy_(v.to(bias.dtype))
    return model
