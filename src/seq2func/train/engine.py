"""The training loop shared by PRETRAIN and FINETUNE: :func:`fit`, :func:`pretrain`, :func:`finetune`.

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
from torch.utils.data import DataLoader

from seq2func.errors import InputError
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
from seq2func.train.params import RESUME_FREE, TrainParams
from seq2func.train.schedule import make_scheduler

log = logging.getLogger(__name__)

STRATEGIES = ("head_only", "full", "gradual_unfreeze", "lora", "scratch")


# --------------------------------------------------------------------------- helpers
def clip_gradients(parameters, max_norm: float | None) -> float:
    """Clip the total gradient norm to ``max_norm`` (``None``: no clipping); return the norm *before* clipping."""
    params = [p for p in parameters if p.grad is not None]
    if not params:
        return 0.0
    norm = torch.nn.utils.clip_grad_norm_(params, float(max_norm) if max_norm else float("inf"))
    return float(norm)


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn``: seed numpy and python in a DataLoader worker from its torch seed."""
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


def adapt_target(y: torch.Tensor, output_kind: str, n_out_bins: int | None = None) -> torch.Tensor:
    """Dataset targets ``(B, bins, T)`` -> what the model predicts.

    ``profile``: the central ``n_out_bins`` bins (a model may crop more than the dataset);
    ``classification``: max over bins (peak-mode datasets have one bin of 0/1 labels);
    ``scalar``: ``log1p`` of the sum over bins (NaN bins ignored).
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
    """Output bins of a profile model for the dataset's windows; an :class:`InputError` if they cannot be matched."""
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
        """``pred``/``obs``: ``(..., T)``; every leading axis is flattened."""
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
        self._merge(*st)

    def r(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            r = self.sxy / np.sqrt(self.sxx * self.syy)
        tiny = (self.sxx <= 1e-300) | (self.syy <= 1e-300) | (self.n < 3)
        return np.where(tiny, np.nan, np.clip(r, -1, 1))


def _auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

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
                from tqdm import tqdm  # optional

                self._bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True)
                self.kind = "tqdm"
            except ImportError:
                self.kind = "simple"
        else:
            self.kind = "log"

    def update(self, loss: float, lr: float) -> None:
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
    from seq2func.losses import get_loss

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
    Adam, no weight decay), else AdamW."""
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
    """
    params = params.check()
    outdir = Path(outdir)
    info = ddp.env_dist()
    if device is None:
        device = resolve_device(params.device, params.require_gpu, info.local_rank if info.enabled else None)
    info = ddp.init_distributed(device.type)
    main = info.is_main
    meta = dict(meta or {})
    if main:
        outdir.mkdir(parents=True, exist_ok=True)
    ddp.barrier()

    seed_everything(params.seed + info.rank)
    if params.deterministic:
        set_deterministic(True)

    tracks = [int(t) for t in tracks]
    base = unwrap(model)
    output_kind = getattr(base, "output_kind", "profile")
    n_out_bins = check_output_bins(base, ds.n_bins, ds.seq_length)
    loss_name = loss if isinstance(loss, str) else (params.loss or getattr(base, "default_loss", None))
    if callable(loss):
        loss_fn, loss_name = loss, getattr(loss, "__name__", "custom")
    else:
        if not loss_name:
            raise InputError("--loss", None, "no loss given and the model has no default_loss")
        loss_fn = _loss_fn(loss_name)
    metric = params.metric
    if metric == "auto":
        metric = "valid_auroc" if output_kind == "classification" else "valid_r"

    train_idx = split_indices(ds, "train", fold) if train_indices is None else np.asarray(train_indices, dtype=np.int64)
    valid_idx = split_indices(ds, "valid", fold, required=False) if valid_indices is None \
        else np.asarray(valid_indices, dtype=np.int64)
    if train_idx.size == 0:
        raise InputError(ds.path, "split train", "no training windows")
    if valid_idx.size == 0:
        log.warning("no validation windows: early stopping and model selection use the training loss")
        metric = "train_loss"
    higher_better = metric in ("valid_r", "valid_auroc")

    from seq2func.prepare.dataset import SeqDataset, one_hot

    train_set = SeqDataset(ds, indices=train_idx, rc=params.rc, shift=params.shift, seed=params.seed, tracks=tracks)
    valid_set = SeqDataset(ds, indices=valid_idx, tracks=tracks)
    sampler = ddp.EpochSampler(train_set, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=params.seed)
    loader_gen = torch.Generator()
    loader = DataLoader(train_set, batch_size=params.batch_size, sampler=sampler, num_workers=params.num_workers,
                        worker_init_fn=seed_worker, generator=loader_gen, pin_memory=device.type == "cuda",
                        persistent_workers=False)
    steps_per_epoch = math.ceil(sampler.num_samples / params.batch_size)
    total_steps = params.epochs * steps_per_epoch
    if params.max_steps:
        total_steps = min(total_steps, params.max_steps)
    # this rank's validation windows (a disjoint, un-padded share; statistics are summed over ranks)
    valid_mine = np.arange(valid_idx.size)[info.rank::info.world_size]

    model.to(device)
    optimizer = make_optimizer(model, params)
    scheduler = make_scheduler(optimizer, params.warmup_steps, total_steps, params.min_lr_ratio)

    track_table = track_rows(ds, tracks)
    ds_info = dataset_info(ds)
    pdict = params.as_dict()
    pdict.update(loss=loss_name, metric=metric, tracks=[r["track_id"] for r in track_table],
                 n_train_windows=int(train_idx.size), n_valid_windows=int(valid_idx.size),
                 steps_per_epoch=steps_per_epoch, total_steps=total_steps, world_size=info.world_size,
                 optimizer_used=type(optimizer).__name__, fold=fold)
    pdict.update({k: v for k, v in meta.pop("train_params_extra", {}).items()})

    # ---- state
    start_epoch, step, batch_pos = 0, 0, 0
    best = -math.inf if higher_better else math.inf
    best_epoch, bad_epochs, stopped_early, completed = -1, 0, False, False
    history: list[dict] = []
    epoch_acc: dict = {}
    last_path, best_path = outdir / "last.pt", outdir / "model.pt"
    state = None
    resume_path = (outdir / "last.pt") if resume is True else (Path(resume) if resume else None)
    ck = None
    if resume_dir is not None:
        identity = resume_state.training_identity(
            meta.get("kind", "pretrain"), pdict, ds_info, dict(getattr(base, "config", {}) or {}),
            ddp.weights_digest(base), meta.get("strategy"), versions(), RESUME_FREE)
        label = resume_state.run_label(meta.get("kind", "pretrain"), meta.get("strategy"))
        if main:  # create it, or validate what a killed attempt left there
            resume_state.ResumeState.open(resume_dir, label, identity, fresh=resume is not True)
        ddp.barrier()
        state = resume_state.ResumeState.locate(resume_dir, label, identity)
        last_path, best_path = state.last, state.best
        if resume is True and state.last.is_file():
            try:  # the state matched this training's fingerprint: anything unusable in it means start afresh
                ck = load_checkpoint(state.last)
                _check_resume(state.last, ck, pdict, ds_info)
                resume_path = state.last
            except InputError as err:
                if main:
                    state.discard(f"ignoring resume state {state.path}: {err}; starting afresh")
                ck = None
            ddp.barrier()
    if resume_path is not None and resume_path.is_file():
        if ck is None:
            ck = load_checkpoint(resume_path)
            _check_resume(resume_path, ck, pdict, ds_info)
        prog = ck["progress"]
        for e in range(int(prog["epoch"]) + (1 if prog["batch_in_epoch"] else 0)):
            _call_schedule(unfreeze_schedule, e)  # replay the unfreezing up to the resumed epoch
        unwrap(model).load_state_dict(ck["state_dict"])
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
        rngs = ck["rng"]
        if len(rngs) != info.world_size:
            raise InputError(resume_path, "rng", f"written by {len(rngs)} process(es), resumed with {info.world_size}")
        restore_rng(rngs[info.rank])
        start_epoch, step, batch_pos = int(prog["epoch"]), int(prog["step"]), int(prog["batch_in_epoch"])
        best, best_epoch, bad_epochs = float(prog["best"]), int(prog["best_epoch"]), int(prog["bad_epochs"])
        stopped_early, completed = bool(prog["stopped_early"]), bool(prog["completed"])
        history = list(prog["history"])
        epoch_acc = dict(prog.get("epoch_acc") or {})
        if main and state is not None and resume_path != state.last and (outdir / "model.pt").is_file():
            shutil.copyfile(outdir / "model.pt", best_path)  # resumed from <outdir>/last.pt: its best so far too
        if main:
            log.info("resumed from %s at epoch %d step %d%s", resume_path, start_epoch, step,
                     f" (batch {batch_pos} of the epoch)" if batch_pos else "")
    elif main:  # a fresh start: outputs of an older run in this directory must not survive
        for name in ("model.pt", "last.pt", "metrics.json", "history.tsv"):
            (outdir / name).unlink(missing_ok=True)
        best_path.unlink(missing_ok=True)
    ddp.barrier()
    fresh_start = start_epoch == 0 and batch_pos == 0
    n_trainable, n_total = count_params(model)

    def ckpt_common() -> dict:
        return dict(kind=meta.get("kind", "pretrain"), tracks=track_table, dataset=ds_info, train_params=pdict,
                    **{k: v for k, v in meta.items() if k != "kind"})

    def save_last(epoch_next: int, batch_in_epoch: int) -> None:
        rngs = ddp.all_gather_object(capture_rng())
        if not main:
            return
        save_checkpoint(
            last_path, model, epoch=epoch_next, step=step, optimizer=optimizer.state_dict(),
            scheduler=scheduler.state_dict(), rng=rngs,
            progress=dict(epoch=epoch_next, step=step, batch_in_epoch=batch_in_epoch, best=best, best_epoch=best_epoch,
                          bad_epochs=bad_epochs, stopped_early=stopped_early, completed=completed, history=history,
                          metric=metric, epoch_acc=epoch_acc if batch_in_epoch else {}),
            metrics=dict(best=best, best_epoch=best_epoch, metric=metric), **ckpt_common())

    def summary() -> dict:
        return dict(
            kind=meta.get("kind", "pretrain"), metric=metric, higher_is_better=higher_better, best_metric=best,
            best_epoch=best_epoch, epochs_run=len(history), steps=step, stopped_early=stopped_early, completed=completed,
            n_train_windows=int(train_idx.size), n_valid_windows=int(valid_idx.size), steps_per_epoch=steps_per_epoch,
            total_steps=total_steps, trainable_params=n_trainable, total_params=n_total, device=str(device),
            world_size=info.world_size, loss=loss_name, tracks=[r["track_id"] for r in track_table],
            strategy=(meta.get("strategy") or {}).get("name"), model=getattr(base, "config", {}).get("name"),
            history=history, train_params=pdict)

    wrapped = model
    ddp_sig = None
    raw_params = [p for p in unwrap(model).parameters()]
    max_reached = params.max_steps is not None and step >= params.max_steps

    epoch = start_epoch
    while not completed and epoch < params.epochs and not max_reached:
        if batch_pos == 0:  # (a resumed mid-epoch start already replayed this epoch's unfreezing)
            _call_schedule(unfreeze_schedule, epoch)
        if info.enabled and _trainable_signature(unwrap(model)) != ddp_sig:  # (re)wrap when the trainable set changes
            ddp_sig = _trainable_signature(unwrap(model))
            from torch.nn.parallel import DistributedDataParallel as DDP

            wrapped = DDP(unwrap(model), device_ids=[device.index] if device.type == "cuda" else None)
        n_trainable, n_total = count_params(model)
        train_set.set_epoch(epoch)
        sampler.set_epoch(epoch)
        sampler.set_start(batch_pos * params.batch_size)
        loader_gen.manual_seed(params.seed * 1_000_003 + epoch * 7919 + info.rank)
        wrapped.train()
        _freeze_norm_stats(unwrap(model))
        t0 = time.time()
        acc = dict(epoch_acc) if batch_pos else dict(loss_sum=0.0, loss_n=0, seen=0, skipped=0, norm_sum=0.0, norm_n=0,
                                                      train_s=0.0)
        prog = Progress(steps_per_epoch - batch_pos, f"epoch {epoch + 1}/{params.epochs}", params.progress,
                        params.log_every, enabled=main)
        b = batch_pos
        interrupted = None
        try:
            for x, y in loader:
                x = one_hot(x.to(device, non_blocking=True))
                y = adapt_target(y.to(device, non_blocking=True), output_kind, n_out_bins)
                with autocast(device, params.bf16):
                    pred = wrapped(x)
                lval = loss_fn(pred.float(), y)
                lval.backward()
                gnorm = clip_gradients(raw_params, params.clip_grad)
                if math.isfinite(gnorm):
                    optimizer.step()
                    acc["norm_sum"] += gnorm
                    acc["norm_n"] += 1
                else:
                    acc["skipped"] += 1
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                b += 1
                lv = float(lval.detach())
                if math.isfinite(lv):
                    acc["loss_sum"] += lv * x.shape[0]
                    acc["loss_n"] += x.shape[0]
                acc["seen"] += x.shape[0]
                prog.update(lv, scheduler.get_last_lr()[0])
                for cb in callbacks:
                    cb(dict(epoch=epoch, step=step, batch=b, loss=lv, grad_norm=gnorm, model=unwrap(model),
                            optimizer=optimizer))
                if params.checkpoint_every_steps and step % params.checkpoint_every_steps == 0 and b < steps_per_epoch:
                    epoch_acc = dict(acc, train_s=acc["train_s"] + time.time() - t0)
                    save_last(epoch, b)
                if params.max_steps is not None and step >= params.max_steps:
                    max_reached = True
                    break
        except BaseException as err:  # noqa: BLE001 - always close the bar
            interrupted = err
        prog.close()
        if interrupted is not None:
            raise interrupted
        train_s = acc["train_s"] + time.time() - t0
        tot = ddp.all_reduce_sum(np.array([acc["loss_sum"], acc["loss_n"], acc["seen"], acc["skipped"]], dtype=np.float64))
        train_loss = tot[0] / tot[1] if tot[1] else float("nan")
        ddp.broadcast_buffers(unwrap(model))  # e.g. batch-norm running statistics: rank 0's everywhere

        # ---- validation
        t1 = time.time()
        vres = validate(unwrap(model), valid_set, valid_mine, loss_fn, output_kind, n_out_bins, device,
                        params.valid_batch_size or params.batch_size, params.bf16, want_auroc=metric == "valid_auroc")
        valid_s = time.time() - t1
        value = train_loss if metric == "train_loss" else vres[metric]
        improved = math.isfinite(value) and (
            (value > best + params.min_delta) if higher_better else (value < best - params.min_delta))
        if improved:
            best, best_epoch, bad_epochs = value, epoch, 0
            if main:
                save_checkpoint(best_path, model, epoch=epoch + 1, step=step,
                                metrics=dict(best=best, best_epoch=best_epoch, metric=metric, **vres), **ckpt_common())
        else:
            bad_epochs += 1
        history.append(dict(
            epoch=epoch + 1, step=step, train_loss=train_loss, valid_loss=vres["valid_loss"], valid_r=vres["valid_r"],
            valid_auroc=vres.get("valid_auroc", float("nan")), metric=value, lr=scheduler.get_last_lr()[0],
            grad_norm=acc["norm_sum"] / acc["norm_n"] if acc["norm_n"] else float("nan"), skipped_steps=int(tot[3]),
            train_windows=int(tot[2]), train_s=train_s, valid_s=valid_s, wall_s=time.time() - t0,
            windows_per_s=tot[2] / max(train_s, 1e-9) if tot[2] else float("nan"), best=bool(improved), trainable_params=n_trainable,
            valid_r_per_track=[None if not math.isfinite(v) else float(v) for v in vres["valid_r_per_track"]]))
        if main:
            log.info("epoch %d/%d step %d: train loss %.4g, valid loss %.4g, valid R %.4f%s, %.1f windows/s",
                     epoch + 1, params.epochs, step, train_loss, vres["valid_loss"], vres["valid_r"],
                     " (best)" if improved else "", history[-1]["windows_per_s"])
        epoch += 1
        batch_pos = 0
        if params.patience and bad_epochs >= params.patience:
            stopped_early = True
            if main:
                log.info("early stopping: %s did not improve for %d epochs (best %.4g at epoch %d)", metric,
                         bad_epochs, best, best_epoch + 1)
        if stopped_early or epoch >= params.epochs or max_reached:
            completed = True
        save_last(epoch, 0)
        if main:
            write_metrics(outdir, summary())
        ddp.barrier()
        resume_state.maybe_test_kill(epoch, fresh_start)
        if stopped_early:
            break

    if not completed:  # resumed an already finished run with a smaller budget, or nothing to do
        completed = True
        save_last(epoch, 0)
    summ = summary()
    if info.enabled:
        digests = ddp.all_gather_object(ddp.weights_digest(unwrap(model)))
        summ["weights_sha256_by_rank"] = digests
        if len(set(digests)) != 1:
            log.error("weights differ across ranks: %s", digests)
    if main:
        if not best_path.exists():
            save_checkpoint(best_path, model, epoch=epoch, step=step,
                            metrics=dict(best=best, best_epoch=best_epoch, metric=metric), **ckpt_common())
        write_metrics(outdir, summ)
    ddp.barrier()
    if state is not None and main:
        state.finish(outdir)
    return FitResult(outdir, best, best_epoch, len(history), step, stopped_early, history, summ)


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
    """Loss, per-track and mean Pearson R (and AUROC) over ``valid_set`` items ``positions``, summed across DDP ranks."""
    from seq2func.predict import Predictor

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
    from seq2func.prepare import PreparedDataset, open_dataset

    return dataset if isinstance(dataset, PreparedDataset) else open_dataset(dataset)


def split_indices(ds, name: str, fold: int | None = None, required: bool = True) -> np.ndarray:
    """Window indices of a split (k-fold datasets: the role ``name`` in ``fold``); an
    :class:`InputError` when the split is unknown and ``required``, else an empty array."""
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
    ``resume_dir``: task-stable resume state, see :func:`fit`."""
    params = replace(params or TrainParams(), **param_overrides).check()
    info = ddp.env_dist()
    device = resolve_device(params.device, params.require_gpu, info.local_rank if info.enabled else None)
    ds = _open(dataset)
    cols = _select_tracks(ds, tracks, "compendium")
    if not cols:
        raise InputError(Path(ds.path) / "tracks.tsv", None, "no compendium tracks (role == compendium) to pretrain on")
    from seq2func.models import build_model, load_config

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
    the dataset's (already cropped) target bins. A ``bin_size`` that disagrees is an error."""
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
    """A seeded subset (sorted) of ``round(fraction * n)`` training windows (at least one)."""
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
    from seq2func.models import replace_head
    from seq2func.train.strategies import apply_strategy

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
