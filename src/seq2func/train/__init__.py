"""PRETRAIN / FINETUNE: the training loop, checkpoints, devices, DDP and the learning-rate schedule.

Python API::

    from seq2func.train import TrainParams, pretrain, finetune, model_from_checkpoint
    pretrain("dataset/", "basenji_tiny", "pretrain/", epochs=20)              # compendium tracks
    finetune("dataset/", "pretrain/model.pt", "ft/HepG2/head_only", cell_type="HepG2",
             strategy="head_only", target_fraction=0.1)
    model, ckpt = model_from_checkpoint("ft/HepG2/head_only/model.pt")

Outputs of a run (``outdir``): ``model.pt`` (best checkpoint by the validation metric),
``last.pt`` (everything needed to resume), ``metrics.json`` and ``history.tsv`` (per epoch).
Multi-GPU: launch ``bin/train.py`` with ``torchrun --nproc_per_node N``.
"""

from __future__ import annotations

import importlib

# name -> submodule; loaded on first use, so ``seq2func.train.params`` (TrainParams, read by the CLI
# for its options) stays light: the engine, checkpoints and devices import torch
_EXPORTS = {
    "CHECKPOINT_FORMAT": "checkpoint", "load_checkpoint": "checkpoint", "model_from_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint", "resolve_device": "device",
    "FitResult": "engine", "Interrupted": "engine", "Trainer": "engine", "adapt_target": "engine",
    "clip_gradients": "engine", "finetune": "engine", "fit": "engine", "pretrain": "engine",
    "subsample_train": "engine", "TrainParams": "params", "make_scheduler": "schedule", "warmup_cosine": "schedule",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
