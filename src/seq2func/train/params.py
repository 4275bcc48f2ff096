"""Training hyper-parameters (:class:`TrainParams`): one dataclass, stored in every checkpoint, whose
defaults are those of ``bin/train.py``'s options and of the pipeline (``nextflow_schema.json``;
``tests/unit/test_project.py`` compares). Light to import (no torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from seq2func.errors import InputError

METRICS = ("auto", "valid_r", "valid_loss", "valid_auroc")


# parameters that may change between an interrupted run and its resumption
RESUME_FREE = {"device", "require_gpu", "num_workers", "log_every", "progress", "checkpoint_every_steps",
               "valid_batch_size", "bf16"}


@dataclass
class TrainParams:
    """Training hyper-parameters (stored in every checkpoint as ``train_params``).

    ``max_steps`` caps the total number of optimizer steps (and sets the schedule length with
    ``epochs``); ``epochs`` is the budget in passes over the training windows. ``rc`` is the
    reverse-complement probability (``True`` -> 0.5), ``shift`` the largest shift in bp.
    ``metric``: ``valid_r`` (mean Pearson R across tracks, higher is better), ``valid_loss``
    (lower is better), ``valid_auroc`` (classifiers) or ``auto`` (``valid_auroc`` for
    classification models, else ``valid_r``). ``patience`` epochs without an improvement larger
    than ``min_delta`` stop training (0 disables early stopping).
    """

    epochs: int = 20
    max_steps: int | None = None
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.01
    optimizer: str = "auto"  # auto | adamw | adam
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 100
    min_lr_ratio: float = 0.0
    clip_grad: float | None = 1.0
    rc: float = 0.5
    shift: int = 3
    loss: str | None = None
    metric: str = "auto"
    patience: int = 5
    min_delta: float = 0.0
    seed: int = 0
    deterministic: bool = True
    bf16: bool = True
    device: str = "auto"
    require_gpu: bool = False
    num_workers: int = 0
    valid_batch_size: int | None = None
    checkpoint_every_steps: int = 0
    log_every: int = 50
    progress: str = "auto"  # auto (bar when stderr is a terminal) | bar | log | none

    def __post_init__(self) -> None:
        self.rc = 0.5 if self.rc is True else float(self.rc or 0.0)
        self.betas = (float(self.betas[0]), float(self.betas[1]))

    def check(self) -> "TrainParams":
        def bad(name: str, msg: str):
            raise InputError(f"--{name.replace('_', '-')}", str(getattr(self, name)), msg)

        if self.epochs < 1:
            bad("epochs", "must be >= 1")
        if self.max_steps is not None and self.max_steps < 1:
            bad("max_steps", "must be >= 1")
        if self.batch_size < 1:
            bad("batch_size", "must be >= 1")
        if not self.lr > 0:
            bad("lr", "must be > 0")
        if self.weight_decay < 0:
            bad("weight_decay", "must be >= 0")
        if self.warmup_steps < 0:
            bad("warmup_steps", "must be >= 0")
        if not 0 <= self.min_lr_ratio <= 1:
            bad("min_lr_ratio", "must be in [0, 1]")
        if self.clip_grad is not None and not self.clip_grad > 0:
            bad("clip_grad", "must be > 0 (or omitted)")
        if not 0 <= self.rc <= 1:
            bad("rc", "must be a probability")
        if self.shift < 0:
            bad("shift", "must be >= 0")
        if self.metric not in METRICS:
            bad("metric", f"must be one of {', '.join(METRICS)}")
        if self.patience < 0:
            bad("patience", "must be >= 0")
        if self.optimizer not in ("auto", "adamw", "adam"):
            bad("optimizer", "must be auto, adamw or adam")
        if self.progress not in ("auto", "bar", "log", "none"):
            bad("progress", "must be auto, bar, log or none")
        return self

    def as_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d


def params_from_dict(d: dict) -> TrainParams:
    """Rebuild :class:`TrainParams` from a dict such as a checkpoint's ``train_params``.

    Keys that are not fields of :class:`TrainParams` (e.g. ``loss`` or ``tracks`` added at run time)
    are ignored; ``betas`` is turned back into a tuple.

    Parameters
    ----------
    d : dict
        Training parameters, e.g. from :meth:`TrainParams.as_dict`.

    Returns
    -------
    TrainParams
        The parameters (not checked; call :meth:`TrainParams.check`).
    """
    names = {f.name for f in fields(TrainParams)}
    kw = {k: v for k, v in d.items() if k in names}
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    return TrainParams(**kw)
