"""Device selection (``--device auto|cpu|cuda[:k]``), ``--require-gpu``, determinism and autocast.

A pipeline run under ``-profile gpu`` passes ``--require-gpu``: when no CUDA GPU is visible the
task stops with one clear line (``InputError``, exit 2) instead of silently training on the CPU.
"""

from __future__ import annotations

import contextlib
import os
import random

import numpy as np
import torch

from seq2func.errors import InputError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def _no_gpu_reason() -> str:
    vis = os.environ.get("CUDA_VISIBLE_DEVICES")
    why = f"CUDA_VISIBLE_DEVICES={vis!r}" if vis is not None else "CUDA_VISIBLE_DEVICES is unset"
    built = torch.version.cuda or "none"
    return f"torch {torch.__version__} (CUDA build {built}), {why}"


def resolve_device(device: str = "auto", require_gpu: bool = False, local_rank: int | None = None) -> torch.device:
    """``auto`` -> ``cuda`` when available else ``cpu``; ``cuda`` without a GPU, or
    ``require_gpu`` without one, raise :class:`InputError` (never a silent CPU fallback).

    Under ``torchrun`` pass ``local_rank`` to get ``cuda:<local_rank>``.

    Parameters
    ----------
    device : str, optional
        ``auto``, ``cpu``, ``cuda`` or ``cuda:<index>`` (case-insensitive; empty means ``auto``).
    require_gpu : bool, optional
        Refuse to run without a visible CUDA GPU.
    local_rank : int, optional
        GPU index for a plain ``cuda``/``auto`` device (the ``torchrun`` local rank); default 0.

    Returns
    -------
    torch.device
        The device to train or predict on.

    Raises
    ------
    InputError
        For an unknown device, a CUDA device without a GPU, ``require_gpu`` without a GPU or with
        ``cpu``, or a GPU index beyond those visible.
    """
    device = (device or "auto").strip().lower()
    base = device.split(":", 1)[0]
    if base not in DEVICE_CHOICES:
        raise InputError("--device", device, f"must be one of {', '.join(DEVICE_CHOICES)} (or cuda:<index>)")
    has_cuda = torch.cuda.is_available()
    if require_gpu and not has_cuda:
        raise InputError("--use_gpu", None, f"no CUDA GPU is visible ({_no_gpu_reason()}); the GPU profile refuses to "
                         "fall back to the CPU: run on a GPU node, or drop -profile gpu / --require-gpu to train on the CPU")
    if require_gpu and base == "cpu":
        raise InputError("--device", device, "--require-gpu was given together with --device cpu")
    if base == "cuda" and not has_cuda:
        raise InputError("--device", device, f"no CUDA GPU is visible ({_no_gpu_reason()})")
    if base == "auto":
        base = "cuda" if has_cuda else "cpu"
    if base == "cpu":
        return torch.device("cpu")
    if ":" in device:
        idx = int(device.split(":", 1)[1])
    else:
        idx = int(local_rank) if local_rank is not None else 0
    if idx >= torch.cuda.device_count():
        raise InputError("--device", device, f"only {torch.cuda.device_count()} CUDA device(s) visible")
    return torch.device("cuda", idx)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) RNGs.

    Parameters
    ----------
    seed : int
        Seed for every generator (numpy gets its low 32 bits).
    """
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    torch.manual_seed(seed)


def set_deterministic(enabled: bool = True) -> None:
    """``torch.use_deterministic_algorithms`` (warn-only where an op has no deterministic kernel).

    On CUDA, cuBLAS needs ``CUBLAS_WORKSPACE_CONFIG`` set before the first call; it is set here if
    absent. cuDNN benchmarking is turned off when deterministic.

    Parameters
    ----------
    enabled : bool, optional
        Turn deterministic algorithms on (default) or off.
    """
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(bool(enabled), warn_only=True)
    torch.backends.cudnn.deterministic = bool(enabled)
    torch.backends.cudnn.benchmark = not enabled


def autocast(device: torch.device, bf16: bool = True):
    """bf16 autocast on CUDA (when ``bf16``); a no-op context on the CPU.

    Parameters
    ----------
    device : torch.device
        Device the forward pass runs on.
    bf16 : bool, optional
        Use bf16 autocast on CUDA (default true).

    Returns
    -------
    contextlib.AbstractContextManager
        ``torch.autocast`` on CUDA with ``bf16``, else ``contextlib.nullcontext()``.
    """
    if device.type == "cuda" and bf16:
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
