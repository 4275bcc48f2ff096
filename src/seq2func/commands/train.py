"""PRETRAIN / FINETUNE / predict: train sequence-to-function models on a PREPARE dataset.

  train.py pretrain --dataset ds/ --model basenji_tiny --outdir pretrain/
  train.py finetune --dataset ds/ --checkpoint pretrain/model.pt --cell-type HepG2 \
      --strategy head_only --target-fraction 0.1 --outdir finetune/HepG2/head_only
  train.py predict  --checkpoint model.pt --dataset ds/ --split test --out pred.npy

Multi-GPU: torchrun --standalone --nproc_per_node N train.py pretrain ...
Outputs: <outdir>/model.pt (best), last.pt (resume), metrics.json, history.tsv. A rerun with the
same --outdir resumes from last.pt (--no-resume starts afresh). --resume-dir DIR keeps last.pt and
model.pt in DIR/<key> (key: run label + fingerprint of the training configuration and inputs) while
training, so a rerun with a fresh --outdir resumes too (a retried Nextflow task); both move to
<outdir> at the end and DIR/<key> is deleted.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import List, Optional

import typer

from seq2func.errors import InputError
from seq2func.train.params import TrainParams

TP = TrainParams()  # the defaults of every training option

app = typer.Typer(add_completion=False, help=__doc__, no_args_is_help=True)


def _rank() -> int:
    return int(os.environ.get("RANK", "0") or 0)


def _params(**kw):
    if _rank() > 0:  # under torchrun only rank 0 logs progress
        logging.getLogger().setLevel(logging.WARNING)
    return TrainParams(**kw)


def _strategy_opts(opts: List[str]) -> dict:
    out = {}
    for o in opts or []:
        if "=" not in o:
            raise InputError("--strategy-opt", o, "expected KEY=VALUE")
        k, v = o.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except ValueError:
            out[k.strip()] = v
    return out


def _report(res) -> None:
    if _rank() > 0:
        return
    typer.echo(json.dumps({"outdir": str(res.outdir), "best_metric": res.best_metric, "best_epoch": res.best_epoch + 1,
                           "epochs_run": res.epochs_run, "steps": res.steps, "stopped_early": res.stopped_early}))


# the training options shared by pretrain and finetune (defaults: TrainParams)
EPOCHS = typer.Option(TP.epochs, "--epochs", help="passes over the training windows")
MAX_STEPS = typer.Option(TP.max_steps, "--max-steps", help="cap on optimizer steps (also sets the schedule length)")
BATCH = typer.Option(TP.batch_size, "--batch-size", help="windows per batch (per process under torchrun)")
LR = typer.Option(TP.lr, "--lr", help="peak learning rate (AdamW)")
WD = typer.Option(TP.weight_decay, "--weight-decay", help="AdamW weight decay (weights only, not biases/norms)")
OPTIM = typer.Option(TP.optimizer, "--optimizer", help="auto (the model config's, else adamw) | adamw | adam")
WARMUP = typer.Option(TP.warmup_steps, "--warmup-steps", help="linear warm-up steps, then cosine decay")
MINLR = typer.Option(TP.min_lr_ratio, "--min-lr-ratio", help="final learning rate as a fraction of --lr")
CLIP = typer.Option(TP.clip_grad, "--clip-grad", help="clip the gradient norm (0: no clipping)")
RC = typer.Option(TP.rc, "--rc", help="reverse-complement augmentation probability")
SHIFT = typer.Option(TP.shift, "--shift", help="largest shift augmentation in bp")
LOSS = typer.Option(TP.loss, "--loss", help="poisson | multinomial_poisson | mse | bce (default: the model's)")
METRIC = typer.Option(TP.metric, "--metric", help="early stopping: auto | valid_r | valid_loss | valid_auroc")
PATIENCE = typer.Option(TP.patience, "--patience", help="epochs without improvement before stopping (0: never)")
SEED = typer.Option(TP.seed, "--seed", help="seed of everything (init, order, augmentation, subsampling)")
DEVICE = typer.Option(TP.device, "--device", help="auto | cpu | cuda | cuda:<k>")
REQUIRE_GPU = typer.Option(TP.require_gpu, "--require-gpu", help="stop with an error when no CUDA GPU is visible (-profile gpu)")
BF16 = typer.Option(TP.bf16, "--bf16/--no-bf16", help="bf16 autocast on the GPU")
DETERMINISTIC = typer.Option(TP.deterministic, "--deterministic/--no-deterministic", help="torch deterministic algorithms")
WORKERS = typer.Option(TP.num_workers, "--num-workers", help="DataLoader worker processes")
CKPT_STEPS = typer.Option(TP.checkpoint_every_steps, "--checkpoint-every-steps", help="also write last.pt every N steps inside an epoch")
RESUME = typer.Option(True, "--resume/--no-resume", help="continue from <outdir>/last.pt when present")
RESUME_DIR = typer.Option(None, "--resume-dir", help="keep last.pt/model.pt in DIR/<key> while training and resume "
                          "from there (any --outdir); key = run label + fingerprint of the configuration and inputs")
PROGRESS = typer.Option(TP.progress, "--progress", help="auto (bar on a terminal, log lines otherwise) | bar | log | none")
LOG_EVERY = typer.Option(TP.log_every, "--log-every", help="steps between progress log lines")
FOLD = typer.Option(None, "--fold", help="k-fold datasets: the fold to train (its train/valid chromosomes)")


@app.command()
def pretrain(
    dataset: Path = typer.Option(..., "--dataset", help="PREPARE dataset directory"),
    model: str = typer.Option("basenji", "--model", help="model config: bundled name or JSON file"),
    outdir: Path = typer.Option(..., "--outdir", help="output directory"),
    tracks: Optional[str] = typer.Option(None, "--tracks", help="comma-separated track_ids (default: role == compendium)"),
    epochs: int = EPOCHS, max_steps: Optional[int] = MAX_STEPS, batch_size: int = BATCH, lr: float = LR,
    weight_decay: float = WD, optimizer: str = OPTIM, warmup_steps: int = WARMUP, min_lr_ratio: float = MINLR, clip_grad: float = CLIP,
    rc: float = RC, shift: int = SHIFT, loss: Optional[str] = LOSS, metric: str = METRIC, patience: int = PATIENCE,
    seed: int = SEED, device: str = DEVICE, require_gpu: bool = REQUIRE_GPU, bf16: bool = BF16,
    deterministic: bool = DETERMINISTIC, num_workers: int = WORKERS, checkpoint_every_steps: int = CKPT_STEPS,
    resume: bool = RESUME, progress: str = PROGRESS, log_every: int = LOG_EVERY, fold: Optional[int] = FOLD,
    resume_dir: Optional[Path] = RESUME_DIR,
) -> None:
    """Train a model on the compendium tracks."""
    from seq2func.train import pretrain as run  # deferred: the training engine is torch; the CLI stays light
    from seq2func.train.device import resolve_device  # deferred: imports torch

    resolve_device(device, require_gpu)  # fail fast, before reading anything
    p = _params(epochs=epochs, max_steps=max_steps, batch_size=batch_size, lr=lr, weight_decay=weight_decay, optimizer=optimizer,
                warmup_steps=warmup_steps, min_lr_ratio=min_lr_ratio, clip_grad=clip_grad or None, rc=rc, shift=shift,
                loss=loss, metric=metric, patience=patience, seed=seed, device=device, require_gpu=require_gpu, bf16=bf16,
                deterministic=deterministic, num_workers=num_workers, checkpoint_every_steps=checkpoint_every_steps,
                progress=progress, log_every=log_every)
    model_cfg = model
    if Path(model).suffix == ".json" and Path(model).is_file():
        model_cfg = Path(model)
    tr = [t for t in tracks.split(",") if t] if tracks else None
    _report(run(dataset, model_cfg, outdir, tracks=tr, params=p, resume=resume, fold=fold, resume_dir=resume_dir))


@app.command()
def finetune(
    dataset: Path = typer.Option(..., "--dataset", help="PREPARE dataset directory"),
    checkpoint: Path = typer.Option(..., "--checkpoint", help="pretrained checkpoint (model.pt)"),
    cell_type: str = typer.Option(..., "--cell-type", help="target cell type (samplesheet cell_type, role == target)"),
    strategy: str = typer.Option("full", "--strategy", help="head_only | full | gradual_unfreeze | lora | scratch"),
    target_fraction: float = typer.Option(1.0, "--target-fraction", help="fraction of the target's training windows used (seeded)"),
    outdir: Path = typer.Option(..., "--outdir", help="output directory"),
    strategy_opt: List[str] = typer.Option([], "--strategy-opt", help="KEY=VALUE passed to the strategy (e.g. rank=8); repeatable"),
    epochs: int = EPOCHS, max_steps: Optional[int] = MAX_STEPS, batch_size: int = BATCH, lr: float = LR,
    weight_decay: float = WD, optimizer: str = OPTIM, warmup_steps: int = WARMUP, min_lr_ratio: float = MINLR, clip_grad: float = CLIP,
    rc: float = RC, shift: int = SHIFT, loss: Optional[str] = LOSS, metric: str = METRIC, patience: int = PATIENCE,
    seed: int = SEED, device: str = DEVICE, require_gpu: bool = REQUIRE_GPU, bf16: bool = BF16,
    deterministic: bool = DETERMINISTIC, num_workers: int = WORKERS, checkpoint_every_steps: int = CKPT_STEPS,
    resume: bool = RESUME, progress: str = PROGRESS, log_every: int = LOG_EVERY, fold: Optional[int] = FOLD,
    resume_dir: Optional[Path] = RESUME_DIR,
) -> None:
    """Fine-tune a pretrained checkpoint on one target cell type with one strategy."""
    from seq2func.train import finetune as run  # deferred: the training engine is torch; the CLI stays light
    from seq2func.train.device import resolve_device  # deferred: imports torch

    resolve_device(device, require_gpu)
    p = _params(epochs=epochs, max_steps=max_steps, batch_size=batch_size, lr=lr, weight_decay=weight_decay, optimizer=optimizer,
                warmup_steps=warmup_steps, min_lr_ratio=min_lr_ratio, clip_grad=clip_grad or None, rc=rc, shift=shift,
                loss=loss, metric=metric, patience=patience, seed=seed, device=device, require_gpu=require_gpu, bf16=bf16,
                deterministic=deterministic, num_workers=num_workers, checkpoint_every_steps=checkpoint_every_steps,
                progress=progress, log_every=log_every)
    _report(run(dataset, checkpoint, outdir, cell_type=cell_type, strategy=strategy, target_fraction=target_fraction,
                params=p, strategy_kwargs=_strategy_opts(strategy_opt), resume=resume, fold=fold,
                resume_dir=resume_dir))


@app.command()
def predict(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="checkpoint (model.pt)"),
    dataset: Path = typer.Option(..., "--dataset", help="PREPARE dataset directory"),
    out: Path = typer.Option(..., "--out", help="output .npy: float32 (windows, bins, tracks)"),
    split: str = typer.Option("test", "--split", help="split to predict (train | valid | test | all)"),
    batch_size: int = typer.Option(8, "--batch-size"),
    rc_average: bool = typer.Option(False, "--rc-average", help="average with the reverse-complement prediction"),
    device: str = DEVICE, require_gpu: bool = REQUIRE_GPU,
) -> None:
    """Predict the windows of a split; writes OUT (.npy) and OUT.tracks.tsv."""
    from seq2func.evaluate.run import predict_split  # deferred: imports torch

    predict_split(checkpoint, dataset, out, split=split, batch_size=batch_size, rc_average=rc_average, device=device,
                  require_gpu=require_gpu)
