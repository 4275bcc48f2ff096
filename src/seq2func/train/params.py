"""Training hyper-parameters (:class:`TrainParams`): one dataclass, stored in every checkpoint, whose
defaults are those of ``bin/train.py``'s options and of the pipeline (``nextflow_schema.json``;
``tests/unit/test_project.py`` compares). Light to import (no torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from seq2func.errors import InputError
from seq2func.options import option

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

    epochs: int = option(20, "passes over the training windows")
    max_steps: int | None = option(None, "cap on optimizer steps (also sets the schedule length)")
    batch_size: int = option(8, "windows per batch (per process under torchrun)")
    lr: float = option(1e-3, "peak learning rate (AdamW)")
    weight_decay: float = option(0.01, "AdamW weight decay (weights only, not biases/norms)")
    optimizer: str = option("auto", "auto (the model config's, else adamw) | adamw | adam")
    betas: tuple[float, float] = option((0.9, 0.999), cli=False)
    warmup_steps: int = option(100, "linear warm-up steps, then cosine decay")
    min_lr_ratio: float = option(0.0, "final learning rate as a fraction of --lr")
    clip_grad: float | None = option(1.0, "clip the gradient norm (0: no clipping)")
    rc: float = option(0.5, "reverse-complement augmentation probability")
    shift: int = option(3, "largest shift augmentation in bp")
    loss: str | None = option(None, "poisson | multinomial_poisson | mse | bce (default: the model's)")
    assay_weights: str | None = option(None, "loss weight per assay, e.g. CAGE=3 (unnamed assays: 1); the weights "
                                       "are scaled to mean 1 over the trained tracks")
    metric: str = option("auto", "early stopping: auto | valid_r | valid_loss | valid_auroc")
    patience: int = option(5, "epochs without improvement before stopping (0: never)")
    min_delta: float = option(0.0, cli=False)
    seed: int = option(0, "seed of everything (init, order, augmentation, subsampling)")
    deterministic: bool = option(True, "torch deterministic algorithms", flag="--deterministic/--no-deterministic")
    bf16: bool = option(True, "bf16 autocast on the GPU", flag="--bf16/--no-bf16")
    device: str = option("auto", "auto | cpu | cuda | cuda:<k>")
    require_gpu: bool = option(False, "stop with an error when no CUDA GPU is visible (-profile gpu)")
    num_workers: int = option(0, "DataLoader worker processes")
    valid_batch_size: int | None = option(None, cli=False)
    checkpoint_every_steps: int = option(0, "also write last.pt every N steps inside an epoch")
    log_every: int = option(50, "steps between progress log lines")
    progress: str = option("auto", "auto (bar on a terminal, log lines otherwise) | bar | log | none")

    def __post_init__(self) -> None:
        self.rc = 0.5 if self.rc is True else float(self.rc or 0.0)
        self.clip_grad = self.clip_grad or None  # 0 = no clipping, as on the command line
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
        if self.assay_weights:
            try:
                parse_assay_weights(self.assay_weights)
            except ValueError as err:
                bad("assay_weights", str(err))
        return self

    def as_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d


def params_from_dict(d: dict) -> TrainParams:
    """Rebuild :class:`TrainParams` from a dict such as a checkpoint's ``train_params``.

    Keys that are not fields of :class:`TrainParams` (e.g. ``tracks`` added at run time)
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


def parse_assay_weights(text: str | None) -> dict[str, float]:
    """``"CAGE=3,ATAC=1"`` -> ``{"CAGE": 3.0, "ATAC": 1.0}`` (``None`` or ``""`` -> ``{}``).

    Parameters
    ----------
    text : str or None
        Comma-separated ``ASSAY=WEIGHT`` pairs; assay names as in the samplesheet's ``assay`` column.

    Returns
    -------
    dict
        Assay -> weight (> 0).

    Raises
    ------
    ValueError
        On a pair without ``=``, an empty assay, a repeated assay or a weight that is not a positive number.
    """
    out: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        assay, sep, value = item.partition("=")
        assay = assay.strip()
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not sep or not assay or not weight > 0 or weight == float("inf"):
            raise ValueError(f"expected ASSAY=WEIGHT pairs with weights > 0, got {item.strip()!r}")
        if assay in out:
            raise ValueError(f"assay {assay!r} given twice")
        out[assay] = weight
    return out
