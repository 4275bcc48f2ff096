#!/usr/bin/env python3
"""TRAIN on a GPU: bf16 training throughput and model FLOP utilisation (MFU) of ``basenji_131k``,
with the FLOP count it rests on checked on every machine.

* ``gpu`` (when CUDA is available, or ``--gpu on``): forward + backward + AdamW steps/s of
  ``--gpu-model`` (``basenji_131k``) on random one-hot input under bf16 autocast, per batch size
  (``--gpu-batch-sizes``); FLOPs per step counted with ``torch.utils.flop_counter.FlopCounterMode``;
  MFU = achieved FLOP/s / ``--peak-tflops`` (default 989, H100 SXM dense bf16); the best batch
  size's ``mfu`` at the top. Without CUDA: ``{"measured": false, "reason": ...}``;
* ``flop_counter_check`` (always, CPU-sized): ``--model`` (``basenji_tiny`` alone, the trained ``basenji_small`` in ``train.py``), 2
  CPU steps of batch 2; FlopCounterMode's forward FLOPs vs an analytic sum over the Conv1d/Linear
  layers (``flop_counter_matches_analytic``), so the FLOPs behind MFU are trusted where no GPU is.

Run alone (simulates the world only to count its compendium tracks, the FLOP check's output
tracks; writes ``benchmarks/results/train_mfu.json``, ``--quick``: ``train_mfu_quick.json``)::

    python benchmarks/train_mfu.py [--gpu auto|on|off] [--gpu-batch-sizes 4,8] [--peak-tflops 989] [--quick]

``python benchmarks/train.py`` runs it last.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import _train_common as tc
import torch
from _common import Timer
from torch.utils.flop_counter import FlopCounterMode

from seq2func.losses import get_loss
from seq2func.models import build_model, count_params, load_config
from seq2func.prepare.dataset import one_hot
from seq2func.train.device import autocast

NAME = "train_mfu"

GPU_PROTOCOL = ("random one-hot input, Poisson targets; forward under bf16 autocast, float32 loss, "
                "backward, AdamW; FLOPs of one step (forward + backward) counted by FlopCounterMode "
                "(matmul/conv only); MFU = flops_per_step x steps/s / peak")


def parse_args(argv=None):
    """This script's options: the base group, ``--model`` and the GPU group.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    ap = tc.parser(__doc__)
    tc.add_base_options(ap, NAME)
    tc.add_model_options(ap, overrides=False, default="basenji_tiny")
    tc.add_gpu_options(ap)
    return tc.finish_options(ap.parse_args(argv), NAME)


def conv_linear_forward_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Analytic forward FLOPs of every Conv1d and Linear layer (2 x multiply-adds), from forward hooks.

    Parameters
    ----------
    model
        The model.
    x
        An input batch (one forward pass runs, without gradients).
    """
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, torch.nn.Conv1d):
            total[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0]
        elif isinstance(m, torch.nn.Linear):
            total[0] += 2 * out.numel() * m.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear))]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hs:
            h.remove()
    return total[0]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _count_flops(model, x, step, device: torch.device, bf16: bool) -> tuple[int, int, int]:
    """Forward FLOPs (analytic and FlopCounterMode) and FlopCounterMode's FLOPs of one training step."""
    fwd_analytic = conv_linear_forward_flops(model, x)
    with FlopCounterMode(display=False) as fc_fwd:
        with torch.no_grad(), autocast(device, bf16):
            model(x)
    with FlopCounterMode(display=False) as fc:
        step()
    return fwd_analytic, int(fc_fwd.get_total_flops()), int(fc.get_total_flops())


def _time_steps(step, warmup: int, steps: int, device: torch.device) -> float:
    """Seconds of ``steps`` training steps after ``warmup`` untimed ones (peak memory reset before)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(warmup):
        step()
    _sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        last = step()
    float(last.detach())
    _sync(device)
    return time.perf_counter() - t


def train_step_benchmark(config_name: str, batch_size: int, steps: int, warmup: int, device: torch.device,
                         bf16: bool, n_tracks: int, peak_tflops: float | None, seed: int = 0) -> dict:
    """Forward + backward + AdamW steps/s of a model on random one-hot input; FLOPs via FlopCounterMode; MFU.

    Parameters
    ----------
    config_name
        Model config name (its own config, ``n_tracks`` replaced).
    batch_size, steps, warmup
        Batch size, timed and untimed steps.
    device
        Where to run.
    bf16
        bf16 autocast.
    n_tracks
        Output tracks.
    peak_tflops
        The device's peak TFLOP/s (``None``: no MFU).
    seed
        Seed of the weights and the random batch.
    """
    torch.manual_seed(seed)
    cfg = {**load_config(config_name), "n_tracks": n_tracks}
    L = int(cfg["seq_len"])
    model = build_model(cfg).to(device)
    model.train()
    nb = model.output_bins(L)
    loss_fn = get_loss(model.default_loss)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(seed)
    x = one_hot(torch.randint(0, 4, (batch_size, L), generator=g)).to(device)
    y = torch.poisson(torch.full((batch_size, nb, n_tracks), 2.0), generator=g).to(device)

    def step():
        with autocast(device, bf16):
            pred = model(x)
        loss = loss_fn(pred.float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    fwd_analytic, flops_fwd, flops_step = _count_flops(model, x, step, device, bf16)
    dt = _time_steps(step, warmup, steps, device)
    sps = steps / dt
    out = {
        "model": config_name, "seq_len": L, "output_bins": nb, "n_tracks": n_tracks, "params": count_params(model),
        "batch_size": batch_size, "steps": steps, "warmup_steps": warmup, "device": str(device), "bf16_autocast": bf16,
        "seconds": dt, "steps_per_s": sps, "windows_per_s": sps * batch_size, "bp_per_s": sps * batch_size * L,
        "flops_per_step": flops_step, "flops_forward": flops_fwd, "flops_forward_conv_linear_analytic": fwd_analytic,
        "flop_counter_matches_analytic": flops_fwd == fwd_analytic,
        "achieved_tflops": flops_step * sps / 1e12,
    }
    if peak_tflops:
        out["peak_tflops"] = peak_tflops
        out["mfu"] = flops_step * sps / (peak_tflops * 1e12)
    if device.type == "cuda":
        out["peak_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
        out["gpu_name"] = torch.cuda.get_device_name(device)
    return out


def gpu_section(args) -> dict:
    """The ``gpu`` section: per batch size on CUDA device 0, and the best MFU; or why it was not measured.

    Parameters
    ----------
    args
        Parsed options (the GPU group).
    """
    if args.gpu == "off":
        return {"measured": False, "reason": "--gpu off"}
    if not torch.cuda.is_available():
        if args.gpu == "on":
            raise SystemExit("ERROR: --gpu on but no CUDA GPU is visible")
        return {"measured": False, "reason": "no GPU lent to this task (torch.cuda.is_available() is False)"}
    dev = torch.device("cuda", 0)
    res = {"measured": True}
    for bs in args.gpu_batch_sizes:
        try:
            res[f"batch_{bs}"] = train_step_benchmark(args.gpu_model, bs, args.gpu_steps, args.gpu_warmup, dev, True,
                                                      args.gpu_tracks, args.peak_tflops)
        except torch.cuda.OutOfMemoryError as err:  # pragma: no cover - depends on the GPU
            res[f"batch_{bs}"] = {"error": f"out of memory: {err}"[:300]}
        torch.cuda.empty_cache()
    ok = [v for k, v in res.items() if k.startswith("batch_") and "mfu" in v]
    if ok:
        best = max(ok, key=lambda v: v["mfu"])
        res.update({"mfu": best["mfu"], "windows_per_s": best["windows_per_s"], "best_batch_size": best["batch_size"],
                    "peak_tflops": args.peak_tflops, "protocol": GPU_PROTOCOL})
    return res


def measure(args, n_tracks: int, result: dict, timer: Timer) -> None:
    """The FLOP counter check and the GPU section; writes ``flop_counter_check`` and ``gpu``.

    Parameters
    ----------
    args
        Parsed options (``--model`` and the GPU group).
    n_tracks
        Output tracks of the FLOP check's model (the world's compendium tracks).
    result
        The run's result (updated).
    timer
        The run's stage timer (stages ``flop_counter_check``, ``gpu``).
    """
    with timer("flop_counter_check"):
        result["flop_counter_check"] = train_step_benchmark(args.model, 2, 2, 1, torch.device("cpu"), False,
                                                            n_tracks, None)
    with timer("gpu"):
        result["gpu"] = gpu_section(args)


def main(argv=None) -> int:
    """Run the MFU benchmark alone.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    args = parse_args(argv)

    def body(result: dict, workdir: Path, timer: Timer) -> None:
        with timer("simulate"):
            world, reused = tc.simulate(workdir, args.scale, args.seed, args.train_chrom_mb)
        comp = tc.compendium_tracks(world)
        truth = json.loads((world / "truth.json").read_text())
        result["params"] = {"world": tc.world_params(args, reused, truth), "compendium_tracks": comp}
        measure(args, len(comp), result, timer)

    return tc.run_benchmark(NAME, args, body)


if __name__ == "__main__":
    sys.exit(main())
