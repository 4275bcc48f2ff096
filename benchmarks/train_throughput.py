#!/usr/bin/env python3
"""TRAIN data loading: the real data loader keeps up with the model (loading windows from the
memory-mapped store costs the training loop nothing measurable).

Optimizer steps/s of the trainer's inner loop (one-hot on the device, autocast, loss, backward,
clipping, AdamW, LR schedule) fed by the real loader (``SeqDataset`` over the memory-mapped store
with RC/shift augmentation + ``DataLoader`` with the trainer's ``EpochSampler`` and
``--tp-workers``) vs the same loop fed from pre-one-hot-encoded, pre-batched in-memory tensors;
same model (the fitted ``--model`` with ``--model-overrides``), batch size (``--batch-size``) and
step count (``--tp-steps``), after ``--tp-warmup`` untimed steps; the two are interleaved (order
alternating) ``--tp-repeats`` times and the medians compared.

Claim measured (keys of the JSON): ``loader_vs_memory_ratio`` = median windows/s fed by the loader
/ fed from memory (1 = loading costs nothing); ``throughput`` holds every repeat of both,
``loader_only_windows_per_s`` (loader + one-hot, no model) and the protocol.

Run alone (simulates and prepares the world; writes ``benchmarks/results/train_throughput.json``,
``--quick``: ``train_throughput_quick.json``)::

    python benchmarks/train_throughput.py [--quick] [--tp-steps 50 --tp-repeats 3 --tp-workers 0] [--threads 2]

``python benchmarks/train.py`` runs it after fine-tuning (``--skip throughput`` leaves it out).
"""

from __future__ import annotations

import statistics
import sys
import time

import _train_common as tc
import torch
from _common import Timer
from torch.utils.data import DataLoader

from seq2func.losses import get_loss
from seq2func.models import build_model
from seq2func.prepare.dataset import SeqDataset, one_hot
from seq2func.train import ddp
from seq2func.train.device import autocast, resolve_device, seed_everything
from seq2func.train.engine import adapt_target, check_output_bins, clip_gradients, seed_worker
from seq2func.train.schedule import make_scheduler

NAME = "train_throughput"

PROTOCOL = ("the trainer's inner loop (one-hot on the device, autocast, Poisson loss, backward, clip 1.0, AdamW, "
            "LambdaLR); 'loader': SeqDataset(train split, rc 0.5, shift 3) over the memory-mapped store + "
            "DataLoader(EpochSampler, num_workers) as in seq2func.train.engine.fit; 'memory': the same number "
            "of pre-augmented windows one-hot encoded and batched in RAM beforehand; warm-up steps untimed; "
            "memory and loader runs interleaved with alternating order; medians; 'loader_only': iterating the "
            "loader + one-hot with no model")


def parse_args(argv=None):
    """This script's options: the base, dataset, model, pretraining (``--batch-size``, ``--lr``) and
    throughput groups.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    ap = tc.parser(__doc__)
    tc.add_base_options(ap, NAME)
    tc.add_dataset_options(ap)
    tc.add_model_options(ap)
    tc.add_pretrain_options(ap)
    tc.add_throughput_options(ap)
    return tc.finish_options(ap.parse_args(argv), NAME)


class TrainLoop:
    """The trainer's inner loop on one freshly built model, fed by the loader or from memory.

    Parameters
    ----------
    ds
        The prepared dataset.
    config
        The fitted model config.
    cols
        Dataset columns of the tracks trained on.
    batch_size, seed, lr
        Batch size, seed of the model and the sampler, AdamW learning rate.
    """

    def __init__(self, ds, config: dict, cols: list[int], batch_size: int, seed: int, lr: float):
        self.device = device = resolve_device("auto")
        seed_everything(seed)
        self.model = build_model(config).to(device)
        self.model.train()
        self.n_out = check_output_bins(self.model, ds.n_bins, ds.seq_length)
        self.loss_fn = get_loss(self.model.default_loss)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=0.01)
        self.sched = make_scheduler(self.opt, 10, 10_000, 0.0)
        self.params = list(self.model.parameters())
        self.bf16 = device.type == "cuda"
        self.batch_size, self.seed = batch_size, seed
        self.train_set = SeqDataset(ds, split="train", rc=0.5, shift=3, seed=seed, tracks=cols)
        self.sampler = ddp.EpochSampler(self.train_set, num_replicas=1, rank=0, shuffle=True, seed=seed)
        self.gen = torch.Generator()

    def sync(self) -> None:
        """Wait for the device (CUDA) to finish."""
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def step(self, x: torch.Tensor, y: torch.Tensor, codes: bool) -> torch.Tensor:
        """One optimizer step on a batch; the loss.

        Parameters
        ----------
        x
            Base codes (``codes``) or one-hot windows.
        y
            Targets.
        codes
            One-hot encode ``x`` on the device first (as the trainer does with loader batches).
        """
        x = one_hot(x.to(self.device, non_blocking=True)) if codes else x.to(self.device, non_blocking=True)
        y = adapt_target(y.to(self.device, non_blocking=True), "profile", self.n_out)
        with autocast(self.device, self.bf16):
            pred = self.model(x)
        loss = self.loss_fn(pred.float(), y)
        loss.backward()
        clip_gradients(self.params, 1.0)
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad(set_to_none=True)
        return loss

    def memory_batches(self, n_items: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``n_items`` augmented training windows, one-hot encoded and batched up front.

        Parameters
        ----------
        n_items
            Windows (the sampler's order, repeated when the split is shorter).
        """
        epoch_for_memory = 10_000
        self.train_set.set_epoch(epoch_for_memory)
        self.sampler.set_epoch(epoch_for_memory)
        order = list(iter(self.sampler))
        while len(order) < n_items:
            order += order
        order = order[:n_items]
        mem = []
        for s in range(0, n_items, self.batch_size):
            items = [self.train_set[i] for i in order[s:s + self.batch_size]]
            mem.append((one_hot(torch.stack([it[0] for it in items])).contiguous(),
                        torch.stack([it[1] for it in items])))
        return mem

    def _timed(self, batches, warmup: int, steps: int, codes: bool) -> float:
        """Windows/s of ``steps`` steps after ``warmup`` untimed ones, drawing batches from ``batches``."""
        for _ in range(warmup):
            self.step(*next(batches), codes=codes)
        self.sync()
        t = time.perf_counter()
        for _ in range(steps):
            last = self.step(*next(batches), codes=codes)
        float(last.detach())
        self.sync()
        return steps * self.batch_size / (time.perf_counter() - t)

    def run_memory(self, mem: list, warmup: int, steps: int) -> float:
        """Windows/s fed from the in-memory batches.

        Parameters
        ----------
        mem
            :meth:`memory_batches` (``warmup + steps`` batches).
        warmup, steps
            Untimed and timed steps.
        """
        return self._timed(iter(mem), warmup, steps, codes=False)

    def _loader(self, num_workers: int, pin: bool) -> DataLoader:
        """A DataLoader over the training set with the trainer's sampler and worker seeding."""
        return DataLoader(self.train_set, batch_size=self.batch_size, sampler=self.sampler, num_workers=num_workers,
                          worker_init_fn=seed_worker, generator=self.gen, pin_memory=pin, persistent_workers=False)

    def run_loader(self, rep: int, warmup: int, steps: int, num_workers: int) -> float:
        """Windows/s fed by the real loader (epoch ``rep``; a short split starts over as a new epoch).

        Parameters
        ----------
        rep
            Repeat number: the epoch of the dataset and the sampler.
        warmup, steps
            Untimed and timed steps.
        num_workers
            DataLoader workers.
        """
        self.train_set.set_epoch(rep)
        self.sampler.set_epoch(rep)
        self.sampler.set_start(0)
        self.gen.manual_seed(self.seed * 1_000_003 + rep * 7919)
        loader = self._loader(num_workers, self.device.type == "cuda")

        def batches():
            k = 0
            while True:
                yield from loader
                # a short training split: start over (a new epoch, as the trainer would)
                k += 1
                self.train_set.set_epoch(rep + 1000 * k)

        return self._timed(batches(), warmup, steps, codes=True)

    def run_loader_only(self, rep: int, num_workers: int) -> float:
        """Windows/s of one epoch of the loader + one-hot, no model.

        Parameters
        ----------
        rep
            The epoch.
        num_workers
            DataLoader workers.
        """
        self.train_set.set_epoch(rep)
        self.sampler.set_epoch(rep)
        loader = self._loader(num_workers, False)
        t = time.perf_counter()
        n = 0
        for x, _ in loader:
            one_hot(x.to(self.device))
            n += x.shape[0]
        self.sync()
        return n / (time.perf_counter() - t)


def loader_vs_memory(ds, config: dict, cols: list[int], batch_size: int, warmup: int, steps: int, repeats: int,
                     num_workers: int, seed: int, lr: float) -> dict:
    """Optimizer steps/s of the trainer's inner loop fed by the real loader vs in-memory one-hot tensors.

    Parameters
    ----------
    ds
        The prepared dataset.
    config
        The fitted model config.
    cols
        Dataset columns of the tracks trained on.
    batch_size, warmup, steps, repeats
        Batch size, untimed and timed steps per run, interleaved repeats.
    num_workers
        DataLoader workers.
    seed, lr
        Seed and learning rate.

    Returns
    -------
    The ``throughput`` section (``loader_vs_memory_ratio`` and what it rests on).
    """
    loop = TrainLoop(ds, config, cols, batch_size, seed, lr)
    mem = loop.memory_batches((warmup + steps) * batch_size)
    mem_bytes = sum(x.numel() * x.element_size() + y.numel() * y.element_size() for x, y in mem)
    memory_wps, loader_wps = [], []
    for rep in range(repeats):
        for which in (("memory", "loader") if rep % 2 == 0 else ("loader", "memory")):
            if which == "memory":
                memory_wps.append(loop.run_memory(mem, warmup, steps))
            else:
                loader_wps.append(loop.run_loader(rep, warmup, steps, num_workers))
        tc.log.info("throughput repeat %d: memory %.1f, loader %.1f windows/s", rep, memory_wps[-1], loader_wps[-1])
    loader_only = loop.run_loader_only(repeats, num_workers)
    med_m, med_l = statistics.median(memory_wps), statistics.median(loader_wps)
    return {
        "loader_vs_memory_ratio": med_l / med_m,
        "memory_windows_per_s": memory_wps, "loader_windows_per_s": loader_wps,
        "memory_windows_per_s_median": med_m, "loader_windows_per_s_median": med_l,
        "loader_only_windows_per_s": loader_only,
        "batch_size": batch_size, "warmup_steps": warmup, "measured_steps": steps, "repeats": repeats,
        "num_workers": num_workers, "device": str(loop.device), "bf16_autocast": loop.bf16, "n_tracks": len(cols),
        "memory_bytes": mem_bytes, "augmentation": {"rc": 0.5, "shift": 3}, "protocol": PROTOCOL,
    }


def measure(setup: tc.Setup, result: dict, timer: Timer) -> None:
    """Loader vs memory on the compendium tracks; writes ``loader_vs_memory_ratio`` and ``throughput``.

    Parameters
    ----------
    setup
        The run's world, dataset and options.
    result
        The run's result (updated).
    timer
        The run's stage timer (stage ``throughput``).
    """
    a = setup.args
    cols = [list(setup.ds.tracks["track_id"]).index(t) for t in setup.comp]
    with timer("throughput"):
        tp = loader_vs_memory(setup.ds, setup.fitted, cols, a.batch_size, a.tp_warmup, a.tp_steps, a.tp_repeats,
                              a.tp_workers, a.train_seed, a.lr)
    result["loader_vs_memory_ratio"] = tp["loader_vs_memory_ratio"]
    result["throughput"] = tp


def main(argv=None) -> int:
    """Run the data-loading benchmark alone.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    return tc.run_with_setup(NAME, parse_args(argv), measure)


if __name__ == "__main__":
    sys.exit(main())
