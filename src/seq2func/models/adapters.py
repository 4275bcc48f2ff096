"""Adapter for Enformer-style models (Enformer, Borzoi-like ports) loaded from LOCAL weights.

An *Enformer-style backbone* is any ``nn.Module`` with

- ``.trunk``: a module mapping channels-last one-hot ``(B, L, 4)`` to embeddings ``(B, bins, D)``
  (cropping to the target length included), and
- ``.heads``: a mapping (``nn.ModuleDict``) ``name -> module`` of per-species heads
  ``(B, bins, D) -> (B, bins, n)`` (e.g. ``Linear + Softplus``),

which is what ``enformer_pytorch.Enformer`` exposes. :class:`EnformerAdapter` presents it with the
seq2func interface: input ``(B, 4, L)``, output ``(B, bins, n_tracks)``, ``.trunk`` (the backbone
trunk behind a channels-first shim), ``.head`` (the chosen species head, or a fresh one when
``n_tracks`` differs), ``.config``.

Config keys (``name: "enformer"``):

``backend``     ``"enformer_pytorch"`` (default; needs the ``enformer-pytorch`` package) or
                ``"callable"`` with ``factory: "package.module:function"`` and ``kwargs`` (a
                backbone factory of your own, e.g. a Borzoi port).
``hparams``     ``Enformer.from_hparams`` keyword arguments (``dim``, ``depth``, ``heads``,
                ``output_heads``, ``target_length``, ``num_downsamples``, ...). Replaced by the
                checkpoint's own hyper-parameters when ``weights`` is a ``save_pretrained`` folder.
``head``        which backbone head to expose (default ``"human"``).
``n_tracks``    number of output tracks; ``None``/absent: the size of that head. A different number
                puts a freshly initialised head.
``weights``     optional LOCAL path: a ``save_pretrained`` directory (loaded with
                ``from_pretrained(dir, local_files_only=True)``), or a file holding a state dict
                (``torch.load(weights_only=True)``; ``.safetensors`` via safetensors), either of the
                backbone or of this adapter (keys ``trunk.*``/``head.*``). Never a hub name.
``seq_len``     input length (bp; default 196,608).
``bin_size``    output resolution (default ``2 ** num_downsamples``, i.e. 128).
``target_length`` bins kept by the backbone's crop (default ``hparams["target_length"]``; -1: none).
``receptive_field`` bp; default ``seq_len`` (attention sees the whole input).
``use_tf_gamma`` ``true`` for the TensorFlow-ported Enformer weights (196,608 bp input only), as
                ``enformer_pytorch.from_pretrained`` sets for them; ``null``: leave as built.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seq2func.errors import InputError
from seq2func.models.blocks import SeqModel

DEFAULTS: dict = {
    "backend": "enformer_pytorch",
    "head": "human",
    "hparams": {},
    "weights": None,
    "seq_len": 196608,
}


class ChannelsLastTrunk(nn.Module):
    """``(B, 4, L)`` -> ``body((B, L, 4))``."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the channels-last body on a channels-first input.

        Parameters
        ----------
        x : torch.Tensor
            Float one-hot ``(B, 4, L)``.

        Returns
        -------
        torch.Tensor
            The body's output, e.g. embeddings ``(B, bins, D)``.
        """
        return self.body(x.transpose(1, 2))


def _first_linear(module: nn.Module) -> nn.Linear | None:
    if isinstance(module, nn.Linear):
        return module
    return next((m for m in module.modules() if isinstance(m, nn.Linear)), None)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class EnformerAdapter(SeqModel):
    """Wrap an Enformer-style backbone (see the module docstring) in the seq2func interface.

    Only the backbone's trunk and the chosen head are kept (other species heads are dropped).
    """

    output_kind = "profile"
    default_loss = "poisson"

    def __init__(self, backbone: nn.Module, config: dict | None = None):
        cfg = {"name": "enformer", **DEFAULTS, **(config or {})}
        hp = dict(cfg.get("hparams") or {})
        if cfg.get("bin_size") is None:
            cfg["bin_size"] = 2 ** int(hp.get("num_downsamples", 7))
        if cfg.get("target_length") is None:
            cfg["target_length"] = int(hp.get("target_length", -1))
        super().__init__(cfg)
        if not hasattr(backbone, "trunk") or not hasattr(backbone, "heads"):
            raise TypeError("Enformer-style backbone needs .trunk and .heads")
        self.trunk = ChannelsLastTrunk(backbone.trunk)
        heads = backbone.heads
        name = cfg["head"]
        head = heads[name] if name in heads else None
        lin = _first_linear(head) if head is not None else None
        if lin is None and cfg.get("embed_dim") is None:
            raise ValueError(f"enformer: backbone has no head {name!r} with a Linear layer; set config['embed_dim']")
        self.embed_dim = int(cfg.get("embed_dim") or lin.in_features)
        cfg["embed_dim"] = self.embed_dim
        n_tracks = cfg.get("n_tracks")
        if n_tracks is None:
            if lin is None:
                raise ValueError("enformer: config['n_tracks'] is required when the backbone has no such head")
            n_tracks = lin.out_features
        cfg["n_tracks"] = int(n_tracks)
        if head is not None and lin is not None and lin.out_features == cfg["n_tracks"]:
            self.head = head
        else:
            new = self.new_head(cfg["n_tracks"])
            p = next(backbone.parameters(), None)
            self.head = new.to(device=p.device, dtype=p.dtype) if p is not None else new

    def new_head(self, n_tracks: int) -> nn.Module:
        """A freshly initialised ``Linear(embed_dim, n_tracks) + Softplus`` head.

        Parameters
        ----------
        n_tracks : int
            Number of output tracks.

        Returns
        -------
        torch.nn.Module
            Head mapping ``(B, bins, embed_dim)`` to ``(B, bins, n_tracks)``.
        """
        return nn.Sequential(nn.Linear(self.embed_dim, int(n_tracks)), nn.Softplus())

    def output_bins(self, seq_len: int) -> int:
        """Output bins for an input of ``seq_len`` bp: ``target_length`` when the backbone crops, else
        ``seq_len // bin_size``.

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
            When the input gives fewer bins than ``target_length``.
        """
        n = int(seq_len) // int(self.config["bin_size"])
        t = int(self.config["target_length"])
        if t > 0:
            if n < t:
                raise ValueError(f"enformer: {seq_len} bp gives {n} bins < target_length {t}")
            return t
        return n

    def receptive_field(self) -> int:
        return int(self.config.get("receptive_field") or self.config["seq_len"])

    def trunk_blocks(self) -> list[nn.Module]:
        """Children of the backbone trunk with parameters, ``nn.Sequential``/``ModuleList`` ones
        expanded one level (Enformer: stem layers, conv tower blocks, transformer layers, final
        pointwise)."""
        blocks: list[nn.Module] = []
        for child in self.trunk.body.children():
            subs = list(child.children()) if isinstance(child, (nn.Sequential, nn.ModuleList)) else [child]
            blocks += [m for m in subs if any(True for _ in m.parameters())]
        return blocks


def _check_local(path: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(path, "weights", "no such local file or directory (weights are never fetched from a hub)")
    return p


def _load_state_file(p: Path) -> dict:
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file  # deferred: optional dependency, only for .safetensors weights

        return load_file(str(p), device="cpu")
    obj = torch.load(p, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise InputError(str(p), "weights", "not a state dict")
    return obj


def _enformer_pytorch_backbone(cfg: dict, weights: Path | None) -> nn.Module:
    try:
        # deferred: optional dependency (the enformer extra), only for the enformer_pytorch backend
        from enformer_pytorch import Enformer
        from enformer_pytorch.config_enformer import EnformerConfig  # deferred: optional (enformer extra)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("config backend 'enformer_pytorch' needs the enformer-pytorch package "
                          "(pip install enformer-pytorch)") from e
    if weights is not None and weights.is_dir():
        model = Enformer.from_pretrained(str(weights), local_files_only=True)
        keys = set(inspect.signature(EnformerConfig.__init__).parameters) - {"self", "kwargs"}
        cfg["hparams"] = _jsonable({k: v for k, v in model.config.to_dict().items() if k in keys})
        return model
    hp = dict(cfg.get("hparams") or {})
    hp.setdefault("output_heads", {cfg["head"]: int(cfg.get("n_tracks") or 1)})
    cfg["hparams"] = _jsonable(hp)
    return Enformer.from_hparams(**hp)


def _callable_backbone(cfg: dict) -> nn.Module:
    spec = cfg.get("factory")
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError("enformer: backend 'callable' needs factory: 'package.module:function'")
    mod, attr = spec.split(":", 1)
    factory = getattr(importlib.import_module(mod), attr)
    return factory(**dict(cfg.get("kwargs") or {}))


def build_enformer(config: dict, load_weights: bool = True) -> EnformerAdapter:
    """Build the backbone named by ``config`` (and load its local weights) and wrap it.

    Parameters
    ----------
    config : dict
        ``enformer`` model config (keys in the module docstring); missing keys take :data:`DEFAULTS`.
    load_weights : bool, optional
        Load ``config["weights"]`` when set (default true); false builds the architecture only.

    Returns
    -------
    EnformerAdapter
        The wrapped backbone; its ``config["hparams"]`` records the hyper-parameters used.

    Raises
    ------
    InputError
        When ``weights`` does not exist locally, is not a state dict, or matches neither the backbone
        nor the adapter.
    ValueError
        On an unknown ``backend`` or a malformed ``factory``.
    """
    cfg = {**DEFAULTS, **config}
    weights = _check_local(cfg["weights"]) if (load_weights and cfg.get("weights")) else None
    backend = cfg["backend"]
    if backend == "enformer_pytorch":
        backbone = _enformer_pytorch_backbone(cfg, weights)
    elif backend == "callable":
        backbone = _callable_backbone(cfg)
    else:
        raise ValueError(f"enformer: unknown backend {backend!r} (enformer_pytorch, callable)")
    adapter_state = None
    if weights is not None and weights.is_file():
        state = _load_state_file(weights)
        try:
            backbone.load_state_dict(state)
        except RuntimeError:  # not the backbone's: maybe a state dict of this adapter
            adapter_state = state
    if cfg.get("use_tf_gamma") is not None:  # as enformer_pytorch.from_pretrained does for the TF port
        for m in backbone.modules():
            if hasattr(m, "use_tf_gamma"):
                m.use_tf_gamma = bool(cfg["use_tf_gamma"])
    model = EnformerAdapter(backbone, cfg)
    if adapter_state is not None:
        try:
            model.load_state_dict(adapter_state)
        except RuntimeError as e:
            raise InputError(str(weights), "weights", "state dict matches neither the backbone nor the adapter: "
                             + str(e).splitlines()[0]) from None
    return model
