"""The training loop shared by PRETRAIN and FINETUNE: :class:`Trainer` (run by :func:`fit`),
:func:`pretrain`, :func:`finetune`.

What one epoch does, in order:

1. (fine-tuning with ``gradual_unfreeze``) apply the unfreezing schedule for this epoch;
2. ``SeqDataset.set_epoch(epoch)`` (fresh reverse-complement / shift draws, seeded by
   ``(seed, epoch, window)``) and ``EpochSampler.set_epoch(epoch)`` (shuffle seeded by
   ``seed + epoch``, sharded across DDP ranks);
3. for each batch: uint8 codes -> one-hot on the device, forward under bf16 autocast (CUDA only),
   loss in float32 (NaN targets ignored), backward, gradient clipping (the pre-clip norm is
   logged; a non-finite norm skips the update on every rank), AdamW step, LambdaLR step
   (linear warm-up, cosine decay);
4. validation on the ``valid`` split: loss, mean Pearson R across tracks (streaming, float64;
   AUROC for classifiers), the early-stopping metric, ``model.pt`` when it improved;
5. ``last.pt`` with everything needed to resume (model, optimizer, scheduler, RNG states, epoch,
   step, best metric, early-stopping counter, history), ``metrics.json`` and ``history.tsv``.

``checkpoint_every_steps`` also writes ``last.pt`` inside an epoch (with the batch position), so a
long epoch resumes where it stopped. Resuming (the default when ``<outdir>/last.pt`` exists)
restores every piece of state, so on the CPU an interrupted-and-resumed run ends with
bit-identical weights to an uninterrupted one. With ``resume_dir`` the resume checkpoint lives in
a task-stable directory instead (:mod:`seq2func.train.resume`), so a retry in a fresh output
directory (a killed Nextflow task) resumes too.

:class:`Trainer` holds the run's state in attributes (model, optimizer, scheduler, epoch, step,
best metric, stale epochs, history...) and does each part in its own method (setup, resume, one
epoch, validation, best checkpoint, early stopping, the epoch-end checkpoint, finish). After each
epoch's checkpoint it calls its hooks, ``hook(trainer)``: those given to it and those the
environment variable ``SEQ2FUNC_TRAIN_HOOKS`` names as comma-separated ``module:callable`` specs
(:mod:`seq2func.train.hooks`; a spec that cannot be imported is an :class:`InputError`). The tests
inject a hook that kills training this way (``tests/hooks.py``).

Determinism: python/numpy/torch are seeded, ``torch.use_deterministic_algorithms`` is on (warn
only), the data order depends only on ``(seed, epoch)``, augmentation only on
``(seed, epoch, window)``, DataLoader workers are seeded by ``worker_init_fn`` and the loader's
own generator is reseeded every epoch, so the global torch RNG (dropout) is touched by nothing else.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader

from seq2func.errors import InputError
from seq2func.losses import get_loss, track_weighted
from seq2func.models import build_model, load_config, replace_head
from seq2func.predict import Predictor
from seq2func.prepare import PreparedDataset, open_dataset
from seq2func.prepare.dataset import SeqDataset, one_hot
from seq2func.train import ddp
from seq2func.train import resume as resume_state
from seq2func.train.checkpoint import (
    capture_rng,
    dataset_info,
    load_checkpoint,
    model_from_checkpoint,
    restore_rng,
    save_checkpoint,
    to_plain,
    track_rows,
    unwrap,
    versions,
)
from seq2func.train.device import autocast, resolve_device, seed_everything, set_deterministic
from seq2func.train.hooks import TrainHook, hooks_from_env
from seq2func.train.params import RESUME_FREE, TrainParams, parse_assay_weights
from seq2func.train.schedule import make_scheduler
from seq2func.train.strategies import apply_strategy

log = logging.getLogger(__name__)

STRATEGIES = ("head_only", "full", "gradual_unfreeze", "lora", "scratch")


# --------------------------------------------------------------------------- helpers
def clip_gradients(parameters, max_norm: float | None) -> float:
    """Clip the total gradient norm to ``max_norm`` (``None``: no clipping); return the norm *before* clipping.

    Parameters
    ----------
    parameters : iterable of torch.nn.Parameter
        Parameters whose gradients are clipped (those without ``.grad`` are skipped).
    max_norm : float or None
        Largest total L2 norm; None or 0 means no clipping.

    Returns
    -------
    float
        The total gradient norm before clipping (0.0 when no parameter has a gradient; may be inf/NaN).
    """
    params = [p for p in parameters if p.grad is not None]
    if not params:
        return 0.0
    norm = torch.nn.utils.clip_grad_norm_(params, float(max_norm) if max_norm else float("inf"))
    return float(norm)


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn``: seed numpy and python in a DataLoader worker from its torch seed.

    Parameters
    ----------
    worker_id : int
        The worker's index (unused: the seed comes from ``torch.initial_seed()``).
    """
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


def adapt_target(y: torch.Tensor, output_kind: str, n_out_bins: int | None = None) -> torch.Tensor:
    """Dataset targets ``(B, bins, T)`` -> what the model predicts.

    ``profile``: the central ``n_out_bins`` bins (a model may crop more than the dataset);
    ``classification``: max over bins (peak-mode datasets have one bin of 0/1 labels);
    ``scalar``: ``log1p`` of the sum over bins (NaN bins ignored).

    Parameters
    ----------
    y : torch.Tensor
        Dataset targets ``(B, bins, n_tracks)``.
    output_kind : str
        The model's ``output_kind``: ``profile``, ``classification`` or ``scalar``.
    n_out_bins : int, optional
        Output bins of a profile model; None keeps every bin.

    Returns
    -------
    torch.Tensor
        ``(B, n_out_bins, n_tracks)`` for profiles, ``(B, n_tracks)`` otherwise.

    Raises
    ------
    ValueError
        For an unknown ``output_kind``.
    """
    if output_kind == "profile":
        nb = y.shape[1]
        if n_out_bins is None or n_out_bins == nb:
            return y
        c = (nb - n_out_bins) // 2
        return y[:, c:c + n_out_bins]
    if output_kind == "classification":
        return y[:, 0] if y.shape[1] == 1 else y.amax(dim=1)
    if output_kind == "scalar":
        return torch.log1p(torch.nansum(y, dim=1).clamp_min(0))
    raise ValueError(f"unknown output_kind {output_kind!r}")


def check_output_bins(model: torch.nn.Module, ds_bins: int, seq_length: int) -> int | None:
    """Output bins of a profile model for the dataset's windows; an :class:`InputError` if they cannot be matched.

    Parameters
    ----------
    model : torch.nn.Module
        The model (wrappers allowed).
    ds_bins : int
        Target bins per window in the dataset.
    seq_length : int
        Window length of the dataset (bp).

    Returns
    -------
    int or None
        The model's output bins (equal to ``ds_bins`` or fewer by an even number); None for
        classification and scalar models.

    Raises
    ------
    InputError
        When the model predicts more bins than the dataset has, or the difference is odd.
    """
    m = unwrap(model)
    if getattr(m, "output_kind", "profile") != "profile":
        return None
    nb = int(m.output_bins(seq_length))
    if nb > ds_bins or (ds_bins - nb) % 2:
        raise InputError("--model", getattr(m, "config", {}).get("name"),
                         f"the model predicts {nb} bins for {seq_length}-bp windows but the dataset has {ds_bins} target bins "
                         "(it must equal them, or be fewer by an even number to crop symmetrically)")
    return nb


class PearsonAccumulator:
    """Streaming per-track Pearson R (Chan et al. pairwise update in float64), NaN pairs skipped."""

    def __init__(self, n_tracks: int):
        self.n = np.zeros(n_tracks)
        self.mx = np.zeros(n_tracks)
        self.my = np.zeros(n_tracks)
        self.sxx = np.zeros(n_tracks)
        self.syy = np.zeros(n_tracks)
        self.sxy = np.zeros(n_tracks)

    def update(self, pred: np.ndarray, obs: np.ndarray) -> None:
        """``pred``/``obs``: ``(..., T)``; every leading axis is flattened.

        Parameters
        ----------
        pred : numpy.ndarray
            Predictions ``(..., n_tracks)``.
        obs : numpy.ndarray
            Observed values, same shape; pairs where either is non-finite are skipped.
        """
        T = pred.shape[-1]
        x = np.asarray(pred, dtype=np.float64).reshape(-1, T)
        y = np.asarray(obs, dtype=np.float64).reshape(-1, T)
        ok = np.isfinite(x) & np.isfinite(y)
        nb = ok.sum(0).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            xs, ys = np.where(ok, x, 0.0), np.where(ok, y, 0.0)
            mxb = np.where(nb > 0, xs.sum(0) / np.maximum(nb, 1), 0.0)
            myb = np.where(nb > 0, ys.sum(0) / np.maximum(nb, 1), 0.0)
            xc, yc = np.where(ok, x - mxb, 0.0), np.where(ok, y - myb, 0.0)
            self._merge(nb, mxb, myb, (xc * xc).sum(0), (yc * yc).sum(0), (xc * yc).sum(0))

    def _merge(self, nb, mxb, myb, sxxb, syyb, sxyb) -> None:
        n = self.n + nb
        safe = np.maximum(n, 1)
        dx, dy = mxb - self.mx, myb - self.my
        f = self.n * nb / safe
        self.sxx += sxxb + dx * dx * f
        self.syy += syyb + dy * dy * f
        self.sxy += sxyb + dx * dy * f
        self.mx += dx * nb / safe
        self.my += dy * nb / safe
        self.n = n

    def state(self) -> np.ndarray:
        return np.stack([self.n, self.mx, self.my, self.sxx, self.syy, self.sxy])

    def merge_state(self, st: np.ndarray) -> None:
        """Fold in another accumulator's statistics (e.g. gathered from another DDP rank).

        Parameters
        ----------
        st : numpy.ndarray
            ``(6, n_tracks)`` from :meth:`state`: counts, means of x and y, and the sums of squares and cross-products.
        """
        self._merge(*st)

    def r(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            r = self.sxy / np.sqrt(self.sxx * self.syy)
        tiny = (self.sxx <= 1e-300) | (self.syy <= 1e-300) | (self.n < 3)
        return np.where(tiny, np.nan, np.clip(r, -1, 1))


def _auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score  # deferred: sklearn is heavy; only classifiers' validation needs it

    vals = []
    for t in range(labels.shape[1]):
        ok = np.isfinite(labels[:, t]) & np.isfinite(scores[:, t])
        y = labels[ok, t] > 0.5
        if y.any() and not y.all():
            vals.append(roc_auc_score(y, scores[ok, t]))
    return float(np.mean(vals)) if vals else float("nan")


# --------------------------------------------------------------------------- progress
class Progress:
    """A progress bar on an interactive terminal (tqdm when installed, else a one-line bar),
    plain log lines every ``log_every`` steps otherwise; silent on ranks > 0."""

    def __init__(self, total: int, desc: str, mode: str = "auto", log_every: int = 50, enabled: bool = True):
        self.total, self.desc, self.log_every, self.n = total, desc, max(1, log_every), 0
        self.t0 = time.time()
        if not enabled or mode == "none":
            self.kind = "none"
        elif mode == "bar" or (mode == "auto" and sys.stderr.isatty()):
            try:
                from tqdm import tqdm  # deferred: optional dependency (a simple bar without it)

                self._bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True)
                self.kind = "tqdm"
            except ImportError:
                self.kind = "simple"
        else:
            self.kind = "log"

    def update(self, loss: float, lr: float) -> None:
        """Count one step and show it (bar, one-line bar or a log line every ``log_every`` steps).

        Parameters
        ----------
        loss : float
            The step's training loss.
        lr : float
            The current learning rate.
        """
        self.n += 1
        if self.kind == "tqdm":
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{loss:.4g}", lr=f"{lr:.2e}", refresh=False)
        elif self.kind == "simple":
            w = 30
            k = int(w * self.n / max(1, self.total))
            sys.stderr.write(f"\r{self.desc} [{'#' * k}{'.' * (w - k)}] {self.n}/{self.total} loss {loss:.4g}")
            sys.stderr.flush()
        elif self.kind == "log" and (self.n % self.log_every == 0 or self.n == self.total):
            rate = self.n / max(1e-9, time.time() - self.t0)
            log.info("%s step %d/%d loss %.4g lr %.3g (%.2f batches/s)", self.desc, self.n, self.total, loss, lr, rate)

    def close(self) -> None:
        if self.kind == "tqdm":
            self._bar.close()
        elif self.kind == "simple":
            sys.stderr.write("\n")
            sys.stderr.flush()


# --------------------------------------------------------------------------- outputs
def _atomic_write(path: Path, text: str) -> None:
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    tmp.write_text(text)
    os.replace(tmp, path)


HISTORY_COLUMNS = ("epoch", "step", "train_loss", "valid_loss", "valid_r", "valid_auroc", "metric", "lr",
                   "grad_norm", "skipped_steps", "train_windows", "train_s", "valid_s", "wall_s",
                   "windows_per_s", "best", "trainable_params")


def _fmt(v: Any) -> str:
    if v is None:
        return "NA"
    if isinstance(v, float):
        return "NA" if not math.isfinite(v) else f"{v:.6g}"
    return str(v)


def write_metrics(outdir: Path, summary: dict) -> None:
    """Write ``metrics.json`` (non-finite numbers as null) and ``history.tsv`` atomically.

    Parameters
    ----------
    outdir : pathlib.Path
        The run's output directory.
    summary : dict
        The run summary; its ``history`` (one dict per epoch) becomes the rows of ``history.tsv``
        (columns :data:`HISTORY_COLUMNS`, missing or non-finite values as ``NA``).
    """
    def clean(o):
        if isinstance(o, float) and not math.isfinite(o):
            return None
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        return o

    _atomic_write(outdir / "metrics.json", json.dumps(clean(summary), indent=2) + "\n")
    lines = ["\t".join(HISTORY_COLUMNS)]
    for h in summary.get("history", []):
        lines.append("\t".join(_fmt(h.get(c)) for c in HISTORY_COLUMNS))
    _atomic_write(outdir / "history.tsv", "\n".join(lines) + "\n")


# --------------------------------------------------------------------------- the loop
@dataclass
class FitResult:
    outdir: Path
    best_metric: float
    best_epoch: int
    epochs_run: int
    steps: int
    stopped_early: bool
    history: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)


class Interrupted(Exception):
    """Raised by a callback to stop training abruptly (tests simulate a kill with it)."""


def _loss_fn(name: str):
    return get_loss(name)


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for _, p in unwrap(model).named_parameters():
        (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def make_optimizer(model: torch.nn.Module, params: TrainParams) -> torch.optim.Optimizer:
    """AdamW (decoupled weight decay on weights, none on biases/norms) over every parameter, frozen
    ones included (they get no gradient and are skipped until unfrozen). ``optimizer="auto"`` uses
    the model config's ``optimizer.name`` when it names ``adam`` (the simple_cnn baseline: plain
    Adam, no weight decay), else AdamW.

    Parameters
    ----------
    model : torch.nn.Module
        The model (wrappers allowed).
    params : TrainParams
        Uses ``optimizer``, ``lr``, ``betas`` and ``weight_decay``.

    Returns
    -------
    torch.optim.Optimizer
        ``torch.optim.AdamW`` or ``torch.optim.Adam``.
    """
    name = params.optimizer
    if name == "auto":
        cfg_opt = (getattr(unwrap(model), "config", {}) or {}).get("optimizer") or {}
        name = "adam" if str(cfg_opt.get("name", "")).lower() == "adam" else "adamw"
    if name == "adam":
        return torch.optim.Adam(unwrap(model).parameters(), lr=params.lr, betas=params.betas)
    return torch.optim.AdamW(_param_groups(model, params.weight_decay), lr=params.lr, betas=params.betas,
                             weight_decay=params.weight_decay)


def _freeze_norm_stats(model: torch.nn.Module) -> None:
    """Batch-norm layers whose parameters are all frozen keep their running statistics frozen too."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            ps = list(m.parameters(recurse=False))
            if ps and not any(p.requires_grad for p in ps):
                m.eval()


def _trainable_signature(model: torch.nn.Module) -> tuple:
    return tuple(n for n, p in model.named_parameters() if p.requires_grad)


def count_params(model: torch.nn.Module) -> tuple[int, int]:
    """Trainable and total parameter counts (elements) of a model.

    Parameters
    ----------
    model : torch.nn.Module
        The model (wrappers allowed).

    Returns
    -------
    tuple of (int, int)
        ``(trainable, total)``.
    """
    m = unwrap(model)
    total = sum(p.numel() for p in m.parameters())
    return sum(p.numel() for p in m.parameters() if p.requires_grad), total


def _call_schedule(schedule, epoch: int) -> None:
    if schedule is None:
        return
    if hasattr(schedule, "step"):
        schedule.step(epoch)
    else:
        schedule(epoch)


class Trainer:
    """The training loop of :func:`fit` as an object: explicit state, one method per concern.

    Construct it with :func:`fit`'s arguments and call :meth:`run`. :meth:`setup` (DDP, seeding,
    loss, metric, data, optimizer), :meth:`resume` (restore an interrupted run), then one
    :meth:`run_epoch` per epoch (:meth:`begin_epoch` with :meth:`wrap_ddp`, :meth:`train_epoch` /
    :meth:`train_step`, :meth:`validate_epoch`, :meth:`update_best`, :meth:`record_epoch`,
    :meth:`check_early_stopping`, :meth:`end_epoch` with :meth:`save_last`), and :meth:`finish`.

    The progress of the run lives in attributes (what ``last.pt`` saves and a resume restores):
    ``epoch`` (epochs completed; during an epoch, its 0-based index), ``step`` (optimizer steps),
    ``batch_pos`` (where the current epoch started: non-zero only after a mid-epoch resume),
    ``batch`` (batches done in the current epoch), ``best``, ``best_epoch``, ``bad_epochs`` (epochs
    without improvement), ``stopped_early``, ``completed``, ``max_reached``, ``history`` (one dict per
    epoch) and ``epoch_acc`` (the running sums of an interrupted epoch). ``fresh_start`` tells whether
    the run started from scratch rather than from a checkpoint.

    Parameters
    ----------
    model, ds, outdir, params, tracks, train_indices, valid_indices, loss, meta, unfreeze_schedule, resume, callbacks, device, fold, resume_dir
        As for :func:`fit`.
    hooks : sequence of callables, optional
        Called as ``hook(trainer)`` at the end of every epoch, on every rank, once the epoch's
        checkpoint and metrics are written (``trainer.epoch`` is then the number of epochs
        completed). The hooks named by ``SEQ2FUNC_TRAIN_HOOKS`` (:mod:`seq2func.train.hooks`) are
        appended.

    Raises
    ------
    InputError
        ``SEQ2FUNC_TRAIN_HOOKS`` names something that cannot be imported or called.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        ds,
        outdir: str | os.PathLike,
        params: TrainParams,
        *,
        tracks: Sequence[int],
        train_indices: np.ndarray | None = None,
        valid_indices: np.ndarray | None = None,
        loss: str | Callable | None = None,
        meta: dict | None = None,
        unfreeze_schedule: Any = None,
        resume: bool | str | os.PathLike = True,
        callbacks: Sequence[Callable[[dict], None]] = (),
        device: torch.device | None = None,
        fold: int | None = None,
        resume_dir: str | os.PathLike | None = None,
        hooks: Sequence[TrainHook] = (),
    ):
        self.params = params.check()
        self.model, self.ds, self.outdir = model, ds, Path(outdir)
        self.train_indices, self.valid_indices, self.loss = train_indices, valid_indices, loss
        self.meta = dict(meta or {})
        self.unfreeze_schedule, self.resume_from, self.resume_dir = unfreeze_schedule, resume, resume_dir
        self.callbacks, self.device, self.fold = callbacks, device, fold
        self.tracks = [int(t) for t in tracks]
        self.hooks: list[TrainHook] = [*hooks, *hooks_from_env()]
        self.state: resume_state.ResumeState | None = None
        self.epoch = self.step = self.batch_pos = self.batch = 0
        self.best, self.best_epoch, self.bad_epochs = math.nan, -1, 0
        self.stopped_early = self.completed = self.max_reached = False
        self.fresh_start = True
        self.history: list[dict] = []
        self.epoch_acc: dict = {}

    # ------------------------------------------------------------------ the run
    def run(self) -> FitResult:
        """Set up, resume, train epoch after epoch until done, finish.

        Returns
        -------
        FitResult
            The best metric and epoch, the epochs run, the steps, the history and the summary
            written to ``metrics.json``.
        """
        self.setup()
        self.resume()
        self.wrapped, self._ddp_sig = self.model, None
        self.raw_params = list(unwrap(self.model).parameters())
        while not self.completed and self.epoch < self.params.epochs and not self.max_reached:
            self.run_epoch()
            if self.stopped_early:
                break
        return self.finish()

    def setup(self) -> None:
        """Join the process group, create ``outdir``, seed, and build the loss, the metric, the
        data pipeline, the optimizer and the learning-rate schedule."""
        params = self.params
        info = ddp.env_dist()
        if self.device is None:
            self.device = resolve_device(params.device, params.require_gpu, info.local_rank if info.enabled else None)
        self.info = ddp.init_distributed(self.device.type)
        self.main = self.info.is_main
        if self.main:
            self.outdir.mkdir(parents=True, exist_ok=True)
        ddp.barrier()
        seed_everything(params.seed + self.info.rank)
        if params.deterministic:
            set_deterministic(True)
        self._setup_loss()
        self._setup_splits()
        self.best = -math.inf if self.higher_better else math.inf
        self._setup_data()
        self._setup_optimizer()

    def _setup_loss(self) -> None:
        self.base = unwrap(self.model)
        self.output_kind = getattr(self.base, "output_kind", "profile")
        self.n_out_bins = check_output_bins(self.base, self.ds.n_bins, self.ds.seq_length)
        loss = self.loss
        loss_name = loss if isinstance(loss, str) else (self.params.loss or getattr(self.base, "default_loss", None))
        if callable(loss):
            loss_fn, loss_name = loss, getattr(loss, "__name__", "custom")
        else:
            if not loss_name:
                raise InputError("--loss", None, "no loss given and the model has no default_loss")
            loss_fn = _loss_fn(loss_name)
        if self.params.assay_weights:
            loss_fn = track_weighted(loss_fn, self._track_weights())
        self.loss_fn, self.loss_name = loss_fn, loss_name
        self.metric = self.params.metric
        if self.metric == "auto":
            self.metric = "valid_auroc" if self.output_kind == "classification" else "valid_r"

    def _track_weights(self) -> list[float]:
        """Per trained track, the loss weight of its assay (``--assay-weights``; others 1), mean 1."""
        wanted = parse_assay_weights(self.params.assay_weights)
        assays = [str(a) for a in self.ds.tracks["assay"].iloc[self.tracks]]
        missing = sorted(set(wanted) - set(assays))
        if missing:
            log.warning("--assay-weights: no trained track has assay %s (assays: %s)", ", ".join(missing),
                        ", ".join(sorted(set(assays))))
        w = np.array([wanted.get(a, 1.0) for a in assays], dtype=float)
        w = w / w.mean()
        log.info("loss weight per assay: %s", {a: round(float(x), 4) for a, x in zip(assays, w)})
        return w.tolist()

    def _setup_splits(self) -> None:
        ds, fold = self.ds, self.fold
        self.train_idx = split_indices(ds, "train", fold) if self.train_indices is None \
            else np.asarray(self.train_indices, dtype=np.int64)
        self.valid_idx = split_indices(ds, "valid", fold, required=False) if self.valid_indices is None \
            else np.asarray(self.valid_indices, dtype=np.int64)
        if self.train_idx.size == 0:
            raise InputError(ds.path, "split train", "no training windows")
        if self.valid_idx.size == 0:
            log.warning("no validation windows: early stopping and model selection use the training loss")
            self.metric = "train_loss"
        self.higher_better = self.metric in ("valid_r", "valid_auroc")

    def _setup_data(self) -> None:
        params, info, ds = self.params, self.info, self.ds
        self.one_hot = one_hot
        self.train_set = SeqDataset(ds, indices=self.train_idx, rc=params.rc, shift=params.shift, seed=params.seed,
                                    tracks=self.tracks)
        self.valid_set = SeqDataset(ds, indices=self.valid_idx, tracks=self.tracks)
        self.sampler = ddp.EpochSampler(self.train_set, num_replicas=info.world_size, rank=info.rank, shuffle=True,
                                        seed=params.seed)
        self.loader_gen = torch.Generator()
        self.loader = DataLoader(self.train_set, batch_size=params.batch_size, sampler=self.sampler,
                                 num_workers=params.num_workers, worker_init_fn=seed_worker, generator=self.loader_gen,
                                 pin_memory=self.device.type == "cuda", persistent_workers=False)
        self.steps_per_epoch = math.ceil(self.sampler.num_samples / params.batch_size)
        self.total_steps = params.epochs * self.steps_per_epoch
        if params.max_steps:
            self.total_steps = min(self.total_steps, params.max_steps)
        # this rank's validation windows (a disjoint, un-padded share; statistics are summed over ranks)
        self.valid_mine = np.arange(self.valid_idx.size)[info.rank::info.world_size]

    def _setup_optimizer(self) -> None:
        params = self.params
        self.model.to(self.device)
        self.optimizer = make_optimizer(self.model, params)
        self.scheduler = make_scheduler(self.optimizer, params.warmup_steps, self.total_steps, params.min_lr_ratio)
        self.track_table = track_rows(self.ds, self.tracks)
        self.ds_info = dataset_info(self.ds)
        pdict = params.as_dict()
        pdict.update(loss=self.loss_name, metric=self.metric, tracks=[r["track_id"] for r in self.track_table],
                     n_train_windows=int(self.train_idx.size), n_valid_windows=int(self.valid_idx.size),
                     steps_per_epoch=self.steps_per_epoch, total_steps=self.total_steps,
                     world_size=self.info.world_size, optimizer_used=type(self.optimizer).__name__, fold=self.fold)
        pdict.update({k: v for k, v in self.meta.pop("train_params_extra", {}).items()})
        self.pdict = pdict

    # ------------------------------------------------------------------ resume
    def resume(self) -> None:
        """Restore the state of an interrupted run (``outdir/last.pt``, a given checkpoint, or the
        state in ``resume_dir``), or remove an older run's outputs from ``outdir`` on a fresh start."""
        self.last_path, self.best_path = self.outdir / "last.pt", self.outdir / "model.pt"
        r = self.resume_from
        resume_path = (self.outdir / "last.pt") if r is True else (Path(r) if r else None)
        ck = None
        if self.resume_dir is not None:
            ck, resume_path = self._open_resume_dir(resume_path)
        if resume_path is not None and resume_path.is_file():
            self._restore(resume_path, ck)
        elif self.main:  # a fresh start: outputs of an older run in this directory must not survive
            for name in ("model.pt", "last.pt", "metrics.json", "history.tsv"):
                (self.outdir / name).unlink(missing_ok=True)
            self.best_path.unlink(missing_ok=True)
        ddp.barrier()
        self.fresh_start = self.epoch == 0 and self.batch_pos == 0
        self.n_trainable, self.n_total = count_params(self.model)
        self.max_reached = self.params.max_steps is not None and self.step >= self.params.max_steps

    def _open_resume_dir(self, resume_path: Path | None) -> tuple[dict | None, Path | None]:
        """Open (rank 0) and locate this training's state in ``resume_dir``; its checkpoint when usable."""
        kind, strategy = self.meta.get("kind", "pretrain"), self.meta.get("strategy")
        identity = resume_state.training_identity(
            kind, self.pdict, self.ds_info, dict(getattr(self.base, "config", {}) or {}),
            ddp.weights_digest(self.base), strategy, versions(), RESUME_FREE)
        label = resume_state.run_label(kind, strategy)
        if self.main:  # create it, or validate what a killed attempt left there
            resume_state.ResumeState.open(self.resume_dir, label, identity, fresh=self.resume_from is not True)
        ddp.barrier()
        state = self.state = resume_state.ResumeState.locate(self.resume_dir, label, identity)
        self.last_path, self.best_path = state.last, state.best
        ck = None
        if self.resume_from is True and state.last.is_file():
            try:  # the state matched this training's fingerprint: anything unusable in it means start afresh
                ck = load_checkpoint(state.last)
                _check_resume(state.last, ck, self.pdict, self.ds_info)
                resume_path = state.last
            except InputError as err:
                if self.main:
                    state.discard(f"ignoring resume state {state.path}: {err}; starting afresh")
                ck = None
            ddp.barrier()
        return ck, resume_path

    def _restore(self, resume_path: Path, ck: dict | None) -> None:
        """Load model, optimizer, scheduler, RNG states and progress from a resume checkpoint."""
        if ck is None:
            ck = load_checkpoint(resume_path)
            _check_resume(resume_path, ck, self.pdict, self.ds_info)
        prog = ck["progress"]
        for e in range(int(prog["epoch"]) + (1 if prog["batch_in_epoch"] else 0)):
            _call_schedule(self.unfreeze_schedule, e)  # replay the unfreezing up to the resumed epoch
        unwrap(self.model).load_state_dict(ck["state_dict"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        rngs = ck["rng"]
        if len(rngs) != self.info.world_size:
            raise InputError(resume_path, "rng", f"written by {len(rngs)} process(es), resumed with {self.info.world_size}")
        restore_rng(rngs[self.info.rank])
        self.epoch, self.step, self.batch_pos = int(prog["epoch"]), int(prog["step"]), int(prog["batch_in_epoch"])
        self.best, self.best_epoch, self.bad_epochs = float(prog["best"]), int(prog["best_epoch"]), int(prog["bad_epochs"])
        self.stopped_early, self.completed = bool(prog["stopped_early"]), bool(prog["completed"])
        self.history = list(prog["history"])
        self.epoch_acc = dict(prog.get("epoch_acc") or {})
        if self.main and self.state is not None and resume_path != self.state.last and (self.outdir / "model.pt").is_file():
            shutil.copyfile(self.outdir / "model.pt", self.best_path)  # resumed from <outdir>/last.pt: its best so far too
        if self.main:
            log.info("resumed from %s at epoch %d step %d%s", resume_path, self.epoch, self.step,
                     f" (batch {self.batch_pos} of the epoch)" if self.batch_pos else "")

    # ------------------------------------------------------------------ one epoch
    def run_epoch(self) -> None:
        """Train and validate one epoch, keep the best model, decide on early stopping, checkpoint."""
        train = self.train_epoch()
        vres, valid_s = self.validate_epoch()
        value = train["train_loss"] if self.metric == "train_loss" else vres[self.metric]
        improved = self.update_best(value, vres)
        self.record_epoch(train, vres, value, valid_s, improved)
        self.epoch += 1
        self.batch_pos = 0
        self.check_early_stopping()
        self.end_epoch()

    def begin_epoch(self) -> None:
        """Unfreezing schedule, DDP (re)wrapping, epoch seeds of data and sampler, train mode."""
        params = self.params
        if self.batch_pos == 0:  # (a resumed mid-epoch start already replayed this epoch's unfreezing)
            _call_schedule(self.unfreeze_schedule, self.epoch)
        self.wrap_ddp()
        self.n_trainable, self.n_total = count_params(self.model)
        self.train_set.set_epoch(self.epoch)
        self.sampler.set_epoch(self.epoch)
        self.sampler.set_start(self.batch_pos * params.batch_size)
        self.loader_gen.manual_seed(params.seed * 1_000_003 + self.epoch * 7919 + self.info.rank)
        self.wrapped.train()
        _freeze_norm_stats(unwrap(self.model))

    def wrap_ddp(self) -> None:
        """Under DDP, (re)wrap the model in ``DistributedDataParallel`` when its trainable set changed."""
        if self.info.enabled and _trainable_signature(unwrap(self.model)) != self._ddp_sig:
            self._ddp_sig = _trainable_signature(unwrap(self.model))
            self.wrapped = DDP(unwrap(self.model), device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def train_epoch(self) -> dict:
        """Train one epoch (its remaining batches after a mid-epoch resume).

        Returns
        -------
        dict
            ``train_loss``, ``grad_norm`` (mean pre-clip norm), ``skipped_steps``,
            ``train_windows`` (summed across ranks), ``train_s`` and ``windows_per_s``.
        """
        params = self.params
        self.begin_epoch()
        self.epoch_t0 = t0 = time.time()
        acc = dict(self.epoch_acc) if self.batch_pos else dict(loss_sum=0.0, loss_n=0, seen=0, skipped=0, norm_sum=0.0,
                                                                norm_n=0, train_s=0.0)
        prog = Progress(self.steps_per_epoch - self.batch_pos, f"epoch {self.epoch + 1}/{params.epochs}",
                        params.progress, params.log_every, enabled=self.main)
        self.batch = self.batch_pos
        try:  # always close the bar
            for x, y in self.loader:
                if self.train_step(x, y, acc, prog, t0):
                    break
        finally:
            prog.close()
        train_s = acc["train_s"] + time.time() - t0
        tot = ddp.all_reduce_sum(np.array([acc["loss_sum"], acc["loss_n"], acc["seen"], acc["skipped"]], dtype=np.float64))
        ddp.broadcast_buffers(unwrap(self.model))  # e.g. batch-norm running statistics: rank 0's everywhere
        return dict(train_loss=tot[0] / tot[1] if tot[1] else float("nan"),
                    grad_norm=acc["norm_sum"] / acc["norm_n"] if acc["norm_n"] else float("nan"),
                    skipped_steps=int(tot[3]), train_windows=int(tot[2]), train_s=train_s,
                    windows_per_s=tot[2] / max(train_s, 1e-9) if tot[2] else float("nan"))

    def train_step(self, x: torch.Tensor, y: torch.Tensor, acc: dict, prog: Progress, t0: float) -> bool:
        """One optimizer step on a batch, the step callbacks and the mid-epoch checkpoint.

        Parameters
        ----------
        x, y : torch.Tensor
            The batch: uint8 sequence codes and targets as the dataset yields them.
        acc : dict
            The epoch's running sums (updated in place).
        prog : Progress
            The epoch's progress display.
        t0 : float
            When this (part of the) epoch started (``time.time()``).

        Returns
        -------
        bool
            True when ``max_steps`` is reached and the epoch must stop.
        """
        params = self.params
        x = self.one_hot(x.to(self.device, non_blocking=True))
        y = adapt_target(y.to(self.device, non_blocking=True), self.output_kind, self.n_out_bins)
        with autocast(self.device, params.bf16):
            pred = self.wrapped(x)
        lval = self.loss_fn(pred.float(), y)
        lval.backward()
        gnorm = clip_gradients(self.raw_params, params.clip_grad)
        if math.isfinite(gnorm):
            self.optimizer.step()
            acc["norm_sum"] += gnorm
            acc["norm_n"] += 1
        else:
            acc["skipped"] += 1
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.batch += 1
        lv = float(lval.detach())
        if math.isfinite(lv):
            acc["loss_sum"] += lv * x.shape[0]
            acc["loss_n"] += x.shape[0]
        acc["seen"] += x.shape[0]
        prog.update(lv, self.scheduler.get_last_lr()[0])
        for cb in self.callbacks:
            cb(dict(epoch=self.epoch, step=self.step, batch=self.batch, loss=lv, grad_norm=gnorm,
                    model=unwrap(self.model), optimizer=self.optimizer))
        if (params.checkpoint_every_steps and self.step % params.checkpoint_every_steps == 0
                and self.batch < self.steps_per_epoch):
            self.epoch_acc = dict(acc, train_s=acc["train_s"] + time.time() - t0)
            self.save_last(self.epoch, self.batch)
        if params.max_steps is not None and self.step >= params.max_steps:
            self.max_reached = True
            return True
        return False

    def validate_epoch(self) -> tuple[dict, float]:
        """Validate the model on this rank's share of the validation windows (summed over ranks).

        Returns
        -------
        tuple of (dict, float)
            :func:`validate`'s results and the seconds it took.
        """
        params = self.params
        t1 = time.time()
        vres = validate(unwrap(self.model), self.valid_set, self.valid_mine, self.loss_fn, self.output_kind,
                        self.n_out_bins, self.device, params.valid_batch_size or params.batch_size, params.bf16,
                        want_auroc=self.metric == "valid_auroc")
        return vres, time.time() - t1

    def update_best(self, value: float, vres: dict) -> bool:
        """Compare this epoch's metric with the best so far; on improvement save the best checkpoint.

        Parameters
        ----------
        value : float
            This epoch's early-stopping metric.
        vres : dict
            The validation results (stored in the best checkpoint's metrics).

        Returns
        -------
        bool
            Whether the metric improved by more than ``min_delta``.
        """
        params = self.params
        improved = math.isfinite(value) and (
            (value > self.best + params.min_delta) if self.higher_better else (value < self.best - params.min_delta))
        if improved:
            self.best, self.best_epoch, self.bad_epochs = value, self.epoch, 0
            if self.main:
                save_checkpoint(self.best_path, self.model, epoch=self.epoch + 1, step=self.step,
                                metrics=dict(best=self.best, best_epoch=self.best_epoch, metric=self.metric, **vres),
                                **self.ckpt_common())
        else:
            self.bad_epochs += 1
        return improved

    def record_epoch(self, train: dict, vres: dict, value: float, valid_s: float, improved: bool) -> None:
        """Append the epoch's row to ``history`` and log it (rank 0).

        Parameters
        ----------
        train : dict
            :meth:`train_epoch`'s results.
        vres : dict
            :meth:`validate_epoch`'s results.
        value : float
            The epoch's early-stopping metric.
        valid_s : float
            Seconds spent validating.
        improved : bool
            Whether this epoch is the best so far.
        """
        self.history.append(dict(
            epoch=self.epoch + 1, step=self.step, train_loss=train["train_loss"], valid_loss=vres["valid_loss"],
            valid_r=vres["valid_r"], valid_auroc=vres.get("valid_auroc", float("nan")), metric=value,
            lr=self.scheduler.get_last_lr()[0], grad_norm=train["grad_norm"], skipped_steps=train["skipped_steps"],
            train_windows=train["train_windows"], train_s=train["train_s"], valid_s=valid_s,
            wall_s=time.time() - self.epoch_t0, windows_per_s=train["windows_per_s"], best=bool(improved),
            trainable_params=self.n_trainable,
            valid_r_per_track=[None if not math.isfinite(v) else float(v) for v in vres["valid_r_per_track"]]))
        if self.main:
            log.info("epoch %d/%d step %d: train loss %.4g, valid loss %.4g, valid R %.4f%s, %.1f windows/s",
                     self.epoch + 1, self.params.epochs, self.step, train["train_loss"], vres["valid_loss"],
                     vres["valid_r"], " (best)" if improved else "", self.history[-1]["windows_per_s"])

    def check_early_stopping(self) -> None:
        """Stop after ``patience`` epochs without improvement; mark the run complete when it is over."""
        params = self.params
        if params.patience and self.bad_epochs >= params.patience:
            self.stopped_early = True
            if self.main:
                log.info("early stopping: %s did not improve for %d epochs (best %.4g at epoch %d)", self.metric,
                         self.bad_epochs, self.best, self.best_epoch + 1)
        if self.stopped_early or self.epoch >= params.epochs or self.max_reached:
            self.completed = True

    def end_epoch(self) -> None:
        """Write ``last.pt``, ``metrics.json`` and ``history.tsv``, wait for every rank, call the hooks."""
        self.save_last(self.epoch, 0)
        if self.main:
            write_metrics(self.outdir, self.summary())
        ddp.barrier()
        for hook in self.hooks:
            hook(self)

    # ------------------------------------------------------------------ checkpoints and outputs
    def ckpt_common(self) -> dict:
        """The entries every checkpoint of this run shares (kind, tracks, dataset, parameters, ``meta``).

        Returns
        -------
        dict
            Keyword arguments for :func:`seq2func.train.checkpoint.save_checkpoint`.
        """
        return dict(kind=self.meta.get("kind", "pretrain"), tracks=self.track_table, dataset=self.ds_info,
                    train_params=self.pdict, **{k: v for k, v in self.meta.items() if k != "kind"})

    def save_last(self, epoch_next: int, batch_in_epoch: int) -> None:
        """Write the resume checkpoint ``last.pt`` (rank 0; the RNG states of every rank).

        Parameters
        ----------
        epoch_next : int
            The epoch to resume at.
        batch_in_epoch : int
            The batches of that epoch already done (0 at an epoch's end).
        """
        rngs = ddp.all_gather_object(capture_rng())
        if not self.main:
            return
        save_checkpoint(
            self.last_path, self.model, epoch=epoch_next, step=self.step, optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(), rng=rngs,
            progress=dict(epoch=epoch_next, step=self.step, batch_in_epoch=batch_in_epoch, best=self.best,
                          best_epoch=self.best_epoch, bad_epochs=self.bad_epochs, stopped_early=self.stopped_early,
                          completed=self.completed, history=self.history, metric=self.metric,
                          epoch_acc=self.epoch_acc if batch_in_epoch else {}),
            metrics=dict(best=self.best, best_epoch=self.best_epoch, metric=self.metric), **self.ckpt_common())

    def summary(self) -> dict:
        """What ``metrics.json`` holds.

        Returns
        -------
        dict
            The run's settings, best metric, progress and history.
        """
        return dict(
            kind=self.meta.get("kind", "pretrain"), metric=self.metric, higher_is_better=self.higher_better,
            best_metric=self.best, best_epoch=self.best_epoch, epochs_run=len(self.history), steps=self.step,
            stopped_early=self.stopped_early, completed=self.completed, n_train_windows=int(self.train_idx.size),
            n_valid_windows=int(self.valid_idx.size), steps_per_epoch=self.steps_per_epoch,
            total_steps=self.total_steps, trainable_params=self.n_trainable, total_params=self.n_total,
            device=str(self.device), world_size=self.info.world_size, loss=self.loss_name,
            tracks=[r["track_id"] for r in self.track_table], strategy=(self.meta.get("strategy") or {}).get("name"),
            model=getattr(self.base, "config", {}).get("name"), history=self.history, train_params=self.pdict)

    def finish(self) -> FitResult:
        """Final ``last.pt`` / ``model.pt`` / metrics, the cross-rank weights check, the resume state moved out.

        Returns
        -------
        FitResult
            The result :func:`fit` returns.
        """
        if not self.completed:  # resumed an already finished run with a smaller budget, or nothing to do
            self.completed = True
            self.save_last(self.epoch, 0)
        summ = self.summary()
        if self.info.enabled:
            digests = ddp.all_gather_object(ddp.weights_digest(unwrap(self.model)))
            summ["weights_sha256_by_rank"] = digests
            if len(set(digests)) != 1:
                log.error("weights differ across ranks: %s", digests)
        if self.main:
            if not self.best_path.exists():
                save_checkpoint(self.best_path, self.model, epoch=self.epoch, step=self.step,
                                metrics=dict(best=self.best, best_epoch=self.best_epoch, metric=self.metric),
                                **self.ckpt_common())
            write_metrics(self.outdir, summ)
        ddp.barrier()
        if self.state is not None and self.main:
            self.state.finish(self.outdir)
        return FitResult(self.outdir, self.best, self.best_epoch, len(self.history), self.step, self.stopped_early,
                         self.history, summ)


def fit(
    model: torch.nn.Module,
    ds,
    outdir: str | os.PathLike,
    params: TrainParams,
    *,
    tracks: Sequence[int],
    train_indices: np.ndarray | None = None,
    valid_indices: np.ndarray | None = None,
    loss: str | Callable | None = None,
    meta: dict | None = None,
    unfreeze_schedule: Any = None,
    resume: bool | str | os.PathLike = True,
    callbacks: Sequence[Callable[[dict], None]] = (),
    device: torch.device | None = None,
    fold: int | None = None,
    resume_dir: str | os.PathLike | None = None,
) -> FitResult:
    """Train ``model`` on the dataset columns ``tracks`` and write ``outdir``/{model.pt,last.pt,metrics.json,history.tsv}.

    ``train_indices``/``valid_indices`` default to the ``train``/``valid`` splits. ``loss`` is a
    name for :func:`seq2func.losses.get_loss` or a callable ``(pred, target) -> scalar`` (default:
    ``params.loss`` or the model's ``default_loss``). ``meta`` is merged into every checkpoint
    (``kind``, ``strategy``, ``parent``...). ``resume``: ``True`` continues from
    ``outdir/last.pt`` when it exists, a path resumes from that file, ``False`` starts afresh.
    ``callbacks`` get a dict (``epoch``, ``step``, ``batch``, ``loss``, ``grad_norm``, ``model``)
    after every optimizer step. ``fold``: k-fold datasets, the fold whose train/valid roles to use.
    ``resume_dir``: keep ``last.pt`` in a task-stable ``resume_dir/<key>/`` (see
    :mod:`seq2func.train.resume`) and resume from it when it belongs to this training, whatever
    ``outdir`` is (a retried Nextflow task runs in a fresh directory); when training has finished,
    ``last.pt`` moves to ``outdir`` and the state directory is deleted.

    A thin wrapper: ``Trainer(...).run()`` (:class:`Trainer`; epoch-end hooks from
    ``SEQ2FUNC_TRAIN_HOOKS``, see :mod:`seq2func.train.hooks`).

    Parameters
    ----------
    model : torch.nn.Module
        The model to train (moved to ``device``).
    ds : seq2func.prepare.PreparedDataset
        The opened dataset.
    outdir : str or os.PathLike
        Output directory.
    params : TrainParams
        Training hyper-parameters (checked).
    tracks : sequence of int
        Dataset track columns to train on, in the model's output order.
    train_indices, valid_indices : numpy.ndarray, optional
        Window indices of the training and validation sets.
    loss : str or callable, optional
        Loss name or callable.
    meta : dict, optional
        Extra checkpoint entries.
    unfreeze_schedule : callable, optional
        Called with the epoch number at the start of each epoch
        (e.g. :class:`~seq2func.train.strategies.GradualUnfreeze`).
    resume : bool or str or os.PathLike, optional
        True continues from ``outdir/last.pt`` when it exists, a path resumes from that file, False starts afresh.
    callbacks : sequence of callables, optional
        Called after every optimizer step with a dict (``epoch``, ``step``, ``batch``, ``loss``,
        ``grad_norm``, ``model``).
    fold : int, optional
        For k-fold datasets, the fold whose train/valid roles to use.
    resume_dir : str or os.PathLike, optional
        Task-stable directory for the resume state (see above and :mod:`seq2func.train.resume`).
    device : torch.device, optional
        Where to train; default from ``params.device`` / ``params.require_gpu`` (and the local rank under DDP).

    Returns
    -------
    FitResult
        Best metric and epoch, epochs run, steps, whether training stopped early, history and summary.

    Raises
    ------
    InputError
        On a model/dataset mismatch, an empty training split, an unusable resume checkpoint or
        bad hooks in ``SEQ2FUNC_TRAIN_HOOKS``.
    """
    return Trainer(model, ds, outdir, params, tracks=tracks, train_indices=train_indices, valid_indices=valid_indices,
                   loss=loss, meta=meta, unfreeze_schedule=unfreeze_schedule, resume=resume, callbacks=callbacks,
                   device=device, fold=fold, resume_dir=resume_dir).run()


def _check_resume(path: Path, ck: dict, pdict: dict, ds_info: dict) -> None:
    if "progress" not in ck or "optimizer" not in ck:
        raise InputError(path, None, "not a resumable checkpoint (no optimizer/progress state); pass --no-resume")
    old = ck["train_params"]
    for k, v in pdict.items():
        if k in RESUME_FREE:
            continue
        ov = old.get(k)
        if to_plain(ov) != to_plain(v) and not (isinstance(v, tuple) and list(v) == ov):
            raise InputError(path, k, f"differs from the interrupted run ({ov!r} then, {v!r} now); "
                             "resume with the same parameters, or use a fresh --outdir / --no-resume")
    if ck["dataset"].get("manifest_checksum") != ds_info["manifest_checksum"]:
        raise InputError(path, "dataset", "the interrupted run used a different dataset (manifest checksum differs)")


@torch.no_grad()
def validate(model: torch.nn.Module, valid_set, positions: np.ndarray, loss_fn, output_kind: str, n_out_bins: int | None,
             device: torch.device, batch_size: int, bf16: bool = True, want_auroc: bool = False) -> dict:
    """Loss, per-track and mean Pearson R (and AUROC) over ``valid_set`` items ``positions``, summed across DDP ranks.

    Parameters
    ----------
    model : torch.nn.Module
        The model (its train/eval mode is restored afterwards).
    valid_set : seq2func.prepare.dataset.SeqDataset
        Validation dataset (no augmentation).
    positions : numpy.ndarray
        Positions in ``valid_set`` this rank evaluates.
    loss_fn : callable
        ``loss(pred, target) -> scalar tensor``.
    output_kind : str
        The model's ``output_kind``.
    n_out_bins : int or None
        Output bins of a profile model (see :func:`adapt_target`).
    device : torch.device
        Where to run the model.
    batch_size : int
        Windows per forward pass.
    bf16 : bool, optional
        bf16 autocast on CUDA.
    want_auroc : bool, optional
        Also compute the mean AUROC across tracks (classifiers).

    Returns
    -------
    dict
        ``valid_loss``, ``valid_r`` (mean over tracks with a finite R), ``valid_r_per_track`` and, with
        ``want_auroc``, ``valid_auroc``.
    """
    was_training = model.training
    model.eval()
    predictor = Predictor(model, device=device, batch_size=batch_size, bf16=bf16)
    T = len(valid_set.track_sel) if valid_set.track_sel is not None else valid_set.ds.n_tracks
    acc = PearsonAccumulator(T)
    loss_sum, n = 0.0, 0
    labels, scores = [], []
    for s in range(0, len(positions), batch_size):
        items = [valid_set.get(int(i)) for i in positions[s:s + batch_size]]
        codes = torch.stack([it[0] for it in items])
        y = adapt_target(torch.stack([it[1] for it in items]).to(device), output_kind, n_out_bins)
        pred = predictor.forward_tensor(codes)  # (B, bins, T); one bin for classification / scalar
        if output_kind != "profile":
            pred = pred[:, 0, :]
        lv = float(loss_fn(pred, y))
        if math.isfinite(lv):
            loss_sum += lv * codes.shape[0]
            n += codes.shape[0]
        pn, yn = pred.cpu().numpy(), y.cpu().numpy()
        acc.update(pn, yn)
        if want_auroc:
            labels.append(yn.reshape(-1, T))
            scores.append(pn.reshape(-1, T))
    if was_training:
        model.train()
    tot = ddp.all_reduce_sum(np.array([loss_sum, n]))
    states = ddp.all_gather_object(acc.state())
    full = PearsonAccumulator(T)
    for st in states:
        full.merge_state(st)
    r = full.r()
    out = {"valid_loss": tot[0] / tot[1] if tot[1] else float("nan"),
           "valid_r": float(np.nanmean(r)) if np.isfinite(r).any() else float("nan"),
           "valid_r_per_track": r.tolist()}
    if want_auroc:
        parts = ddp.all_gather_object((np.concatenate(labels) if labels else np.zeros((0, T)),
                                       np.concatenate(scores) if scores else np.zeros((0, T))))
        out["valid_auroc"] = _auroc(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return out


# --------------------------------------------------------------------------- PRETRAIN / FINETUNE
def _open(dataset) -> Any:
    return dataset if isinstance(dataset, PreparedDataset) else open_dataset(dataset)


def split_indices(ds, name: str, fold: int | None = None, required: bool = True) -> np.ndarray:
    """Window indices of a split (k-fold datasets: the role ``name`` in ``fold``); an
    :class:`InputError` when the split is unknown and ``required``, else an empty array.

    Parameters
    ----------
    ds : seq2func.prepare.PreparedDataset
        The opened dataset.
    name : str
        Split name: ``train``, ``valid`` or ``test``.
    fold : int, optional
        Fold of a k-fold dataset.
    required : bool, optional
        Raise when the split is unknown (default) instead of returning an empty array.

    Returns
    -------
    numpy.ndarray
        int64 window indices.

    Raises
    ------
    InputError
        When the split (or fold) is unknown and ``required``.
    """
    try:
        return ds.split(name, fold=fold)
    except (KeyError, ValueError, IndexError) as err:
        if not required:
            return np.zeros(0, dtype=np.int64)
        msg = str(err).strip("'\"")
        raise InputError(Path(ds.path) / "regions.tsv", f"split {name}" + (f" fold {fold}" if fold is not None else ""),
                         msg + ("" if fold is not None else " (a k-fold dataset needs --fold)")) from None


def _select_tracks(ds, tracks: Sequence[int | str] | None, role: str | None, cell_type: str | None = None) -> list[int]:
    tt = ds.tracks
    if tracks is not None:
        ids = list(tt["track_id"])
        out = []
        for t in tracks:
            if isinstance(t, (int, np.integer)):
                out.append(int(t))
            elif t in ids:
                out.append(ids.index(t))
            else:
                raise InputError(Path(ds.path) / "tracks.tsv", f"track_id={t}", "not a track of the dataset")
        return out
    sel = tt
    if role is not None:
        sel = sel[sel["role"] == role]
    if cell_type is not None:
        sel = sel[sel["cell_type"] == cell_type]
    return [int(i) for i in sel["index"]]


def pretrain(
    dataset,
    model_config: dict | str | os.PathLike,
    outdir: str | os.PathLike,
    tracks: Sequence[int | str] | None = None,
    params: TrainParams | None = None,
    resume: bool | str | os.PathLike = True,
    callbacks: Sequence[Callable[[dict], None]] = (),
    fold: int | None = None,
    resume_dir: str | os.PathLike | None = None,
    **param_overrides,
) -> FitResult:
    """PRETRAIN: train ``model_config`` (a dict, a bundled config name or a JSON path) on the
    compendium tracks (``role == "compendium"``, or the given ``tracks``) of ``dataset``.
    ``resume_dir``: task-stable resume state, see :func:`fit`.

    Parameters
    ----------
    dataset : str or os.PathLike or seq2func.prepare.PreparedDataset
        Prepared dataset directory, or the opened dataset.
    model_config : dict or str or os.PathLike
        Model config, bundled config name or JSON path; adapted to the dataset by :func:`fit_config_to_dataset`.
    outdir : str or os.PathLike
        Output directory.
    tracks : sequence of int or str, optional
        Track columns or ``track_id`` values to train on instead of the compendium tracks.
    params : TrainParams, optional
        Training hyper-parameters (default :class:`TrainParams`).
    resume : bool or str or os.PathLike, optional
        True continues from ``outdir/last.pt`` when it exists, a path resumes from that file, False starts afresh.
    callbacks : sequence of callables, optional
        Called after every optimizer step with a dict (``epoch``, ``step``, ``batch``, ``loss``,
        ``grad_norm``, ``model``).
    fold : int, optional
        For k-fold datasets, the fold whose train/valid roles to use.
    resume_dir : str or os.PathLike, optional
        Task-stable directory for the resume state (see :func:`fit`).
    **param_overrides
        :class:`TrainParams` fields overriding ``params``.

    Returns
    -------
    FitResult
        As for :func:`fit`.

    Raises
    ------
    InputError
        When there are no compendium tracks, the model config cannot be read or does not fit the dataset.
    """
    params = replace(params or TrainParams(), **param_overrides).check()
    info = ddp.env_dist()
    device = resolve_device(params.device, params.require_gpu, info.local_rank if info.enabled else None)
    ds = _open(dataset)
    cols = _select_tracks(ds, tracks, "compendium")
    if not cols:
        raise InputError(Path(ds.path) / "tracks.tsv", None, "no compendium tracks (role == compendium) to pretrain on")
    try:
        config = dict(load_config(model_config) if not isinstance(model_config, dict) else model_config)
    except (OSError, ValueError) as err:  # no such config, not JSON, not a model config
        raise InputError("--model", str(model_config), str(err).replace(f"{model_config}: ", "")) from None
    config = fit_config_to_dataset(config, ds, len(cols))
    seed_everything(params.seed)
    try:
        model = build_model(config)
    except ValueError as err:  # a geometry the architecture cannot take (e.g. too short an input)
        hint = "; peak mode needs a classifier such as resnet_peak" if ds.mode == "peak" and config.get("name") != "resnet" else ""
        raise InputError("--model", str(config.get("name")),
                         f"{err} (the dataset has {ds.seq_length}-bp windows, {ds.mode} mode{hint})") from None
    return fit(model, ds, outdir, params, tracks=cols, meta={"kind": "pretrain"}, resume=resume,
               callbacks=callbacks, device=device, fold=fold, resume_dir=resume_dir)


def fit_config_to_dataset(config: dict, ds, n_tracks: int) -> dict:
    """The model config adapted to the dataset: ``n_tracks``, the input length (``seq_len``) and,
    for profile models with a ``crop_bins`` key, the crop that makes the output bins cover exactly
    the dataset's (already cropped) target bins. A ``bin_size`` that disagrees is an error.

    Parameters
    ----------
    config : dict
        Model config (not modified).
    ds : seq2func.prepare.PreparedDataset
        The opened dataset.
    n_tracks : int
        Number of output tracks.

    Returns
    -------
    dict
        A copy with ``n_tracks``, ``seq_len`` and (profile datasets) ``crop_bins`` set.

    Raises
    ------
    InputError
        When the model's ``bin_size`` differs from the dataset's.
    """
    config = dict(config)
    config["n_tracks"] = int(n_tracks)
    config["seq_len"] = int(ds.seq_length)
    if ds.mode == "profile":
        p = ds.manifest["params"]
        bin_size, crop_bp = int(p["bin_size"]), int(p.get("crop_bp", 0) or 0)
        if "bin_size" in config and int(config["bin_size"]) != bin_size:
            raise InputError("--model", config.get("name"), f"the model bins at {config['bin_size']} bp, the dataset at {bin_size} bp")
        if "crop_bins" in config and crop_bp % bin_size == 0 and int(config["crop_bins"]) != crop_bp // bin_size:
            log.info("model crop_bins %s -> %d to match the dataset's crop_bp %d", config["crop_bins"], crop_bp // bin_size, crop_bp)
            config["crop_bins"] = crop_bp // bin_size
    return config


def subsample_train(indices: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A seeded subset (sorted) of ``round(fraction * n)`` training windows (at least one).

    Parameters
    ----------
    indices : numpy.ndarray
        Training window indices.
    fraction : float
        Fraction to keep, in ``(0, 1]``; 1 keeps every window.
    seed : int
        Seed of the draw.

    Returns
    -------
    numpy.ndarray
        int64 indices, sorted.

    Raises
    ------
    InputError
        When ``fraction`` is outside ``(0, 1]``.
    """
    if not 0 < fraction <= 1:
        raise InputError("--target-fraction", str(fraction), "must be in (0, 1]")
    indices = np.asarray(indices, dtype=np.int64)
    if fraction >= 1 or indices.size == 0:
        return indices
    k = max(1, int(round(fraction * indices.size)))
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5EED])
    return np.sort(rng.choice(indices, size=k, replace=False))


def finetune(
    dataset,
    checkpoint: str | os.PathLike,
    outdir: str | os.PathLike,
    cell_type: str,
    strategy: str = "full",
    target_fraction: float = 1.0,
    params: TrainParams | None = None,
    strategy_kwargs: dict | None = None,
    tracks: Sequence[int | str] | None = None,
    resume: bool | str | os.PathLike = True,
    callbacks: Sequence[Callable[[dict], None]] = (),
    fold: int | None = None,
    resume_dir: str | os.PathLike | None = None,
    **param_overrides,
) -> FitResult:
    """FINETUNE: the target cell type's tracks (``role == "target"``), a new head, a strategy.

    ``strategy``: ``head_only`` | ``full`` | ``gradual_unfreeze`` | ``lora`` | ``scratch`` (same
    architecture re-initialised, same budget). The training windows are subsampled to
    ``target_fraction`` (seeded by ``params.seed``); valid/test windows are untouched.
    ``resume_dir``: task-stable resume state, see :func:`fit`.

    Parameters
    ----------
    dataset : str or os.PathLike or seq2func.prepare.PreparedDataset
        Prepared dataset directory, or the opened dataset.
    checkpoint : str or os.PathLike
        Pre-trained checkpoint (same ``seq_length`` and ``bin_size`` as the dataset).
    outdir : str or os.PathLike
        Output directory.
    cell_type : str
        Target cell type whose ``target`` tracks are trained on.
    strategy : str, optional
        Fine-tuning strategy (see :mod:`seq2func.train.strategies`).
    target_fraction : float, optional
        Fraction of the training windows used, in ``(0, 1]``.
    params : TrainParams, optional
        Training hyper-parameters (default :class:`TrainParams`).
    strategy_kwargs : dict, optional
        Options of the strategy (see :func:`~seq2func.train.strategies.apply_strategy`).
    tracks : sequence of int or str, optional
        Track columns or ``track_id`` values instead of the cell type's target tracks.
    resume : bool or str or os.PathLike, optional
        True continues from ``outdir/last.pt`` when it exists, a path resumes from that file, False starts afresh.
    callbacks : sequence of callables, optional
        Called after every optimizer step with a dict (``epoch``, ``step``, ``batch``, ``loss``,
        ``grad_norm``, ``model``).
    fold : int, optional
        For k-fold datasets, the fold whose train/valid roles to use.
    resume_dir : str or os.PathLike, optional
        Task-stable directory for the resume state (see :func:`fit`).
    **param_overrides
        :class:`TrainParams` fields overriding ``params``.

    Returns
    -------
    FitResult
        As for :func:`fit`.

    Raises
    ------
    InputError
        For an unknown strategy, a cell type without target tracks, or a checkpoint whose geometry
        differs from the dataset's.
    """
    params = replace(params or TrainParams(), **param_overrides).check()
    if strategy not in STRATEGIES:
        raise InputError("--strategy", strategy, f"must be one of {', '.join(STRATEGIES)}")
    info = ddp.env_dist()
    device = resolve_device(params.device, params.require_gpu, info.local_rank if info.enabled else None)
    ds = _open(dataset)
    cols = _select_tracks(ds, tracks, "target", cell_type)
    if not cols:
        cts = sorted(set(ds.tracks.loc[ds.tracks["role"] == "target", "cell_type"]))
        raise InputError("--cell-type", cell_type, f"no target tracks of this cell type in the dataset (target cell types: {', '.join(cts) or 'none'})")
    seed_everything(params.seed)
    model, parent = model_from_checkpoint(checkpoint, eval_mode=False)
    pd_ = parent["dataset"]
    for key in ("seq_length", "bin_size"):
        have = int(ds.manifest["params"].get(key, 0) or 0)
        if int(pd_.get(key, have)) != have:
            raise InputError(checkpoint, key, f"the checkpoint was trained with {key}={pd_.get(key)}, the dataset has {have}")
    replace_head(model, len(cols))
    if isinstance(getattr(model, "config", None), dict):
        model.config["n_tracks"] = len(cols)
    skw = dict(strategy_kwargs or {})
    sched = apply_strategy(model, strategy, **skw)
    unfreeze = sched if strategy == "gradual_unfreeze" and (hasattr(sched, "step") or callable(sched)) else None
    train_idx = subsample_train(split_indices(ds, "train", fold), target_fraction, params.seed)
    meta = {
        "kind": "finetune",
        "strategy": {"name": strategy, "kwargs": to_plain(skw), "cell_type": cell_type, "target_fraction": float(target_fraction)},
        "parent": {"path": str(Path(checkpoint).resolve()), "model_config": parent["model_config"],
                   "tracks": [t["track_id"] for t in parent["tracks"]], "dataset": parent["dataset"]},
        "train_params_extra": {"strategy": strategy, "cell_type": cell_type, "target_fraction": float(target_fraction),
                               "strategy_kwargs": to_plain(skw)},
    }
    return fit(model, ds, outdir, params, tracks=cols, train_indices=train_idx, meta=meta, unfreeze_schedule=unfreeze,
               resume=resume, callbacks=callbacks, device=device, fold=fold, resume_dir=resume_dir)
