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

from seq2func.train.checkpoint import (
    CHECKPOINT_FORMAT,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from seq2func.train.device import resolve_device
from seq2func.train.engine import (
    FitResult,
    Interrupted,
    Trainer,
    adapt_target,
    clip_gradients,
    finetune,
    fit,
    pretrain,
    subsample_train,
)
from seq2func.train.params import TrainParams
from seq2func.train.schedule import make_scheduler, warmup_cosine

__all__ = [
    "CHECKPOINT_FORMAT",
    "FitResult",
    "Interrupted",
    "TrainParams",
    "Trainer",
    "adapt_target",
    "clip_gradients",
    "finetune",
    "fit",
    "load_checkpoint",
    "make_scheduler",
    "model_from_checkpoint",
    "pretrain",
    "resolve_device",
    "save_checkpoint",
    "subsample_train",
    "warmup_cosine",
]
