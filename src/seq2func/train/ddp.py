"""Multi-GPU (or multi-process CPU) data parallelism with ``torch.distributed`` under ``torchrun``.

``torchrun --standalone --nproc_per_node N bin/train.py pretrain ...`` sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed`
reads them (``init_method="env://"``) and joins the process group with ``nccl`` on GPUs and
``gloo`` on the CPU. Without those variables everything runs as a single process (rank 0 of 1).

Each rank sees its own shard of the training windows through :class:`EpochSampler` (a
``DistributedSampler`` that can also skip the batches already done in an interrupted epoch);
gradients are averaged by ``DistributedDataParallel``; only rank 0 logs and writes checkpoints.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data.distributed import DistributedSampler


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_dist() -> DistInfo:
    """Rank / world size / local rank from the ``torchrun`` environment (1 process when unset)."""
    ws = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if ws <= 1:
        return DistInfo()
    return DistInfo(int(os.environ.get("RANK", "0")), ws, int(os.environ.get("LOCAL_RANK", "0")))


def init_distributed(device_type: str = "cpu", timeout_s: int = 1800) -> DistInfo:
    """Join the process group described by the environment (no-op for a single process).

    Parameters
    ----------
    device_type : str, optional
        ``cuda`` joins with ``nccl`` (and selects the GPU ``LOCAL_RANK``); anything else with ``gloo``.
    timeout_s : int, optional
        Timeout of collective operations (seconds).

    Returns
    -------
    DistInfo
        This process's rank, world size and local rank.
    """
    info = env_dist()
    if not info.enabled or dist.is_initialized():
        return info
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(info.local_rank)
    dist.init_process_group(backend=backend, init_method="env://", rank=info.rank, world_size=info.world_size,
                            timeout=datetime.timedelta(seconds=timeout_s))
    return info


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def barrier() -> None:
    if active():
        dist.barrier()


def all_reduce_sum(values: np.ndarray) -> np.ndarray:
    """Element-wise sum of a float64 array across ranks (identity for one process).

    Parameters
    ----------
    values : numpy.ndarray
        Array of the same shape on every rank.

    Returns
    -------
    numpy.ndarray
        float64 sums, same shape.
    """
    arr = np.asarray(values, dtype=np.float64)
    if not active():
        return arr
    t = torch.from_numpy(arr.copy())
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.cpu().numpy()


def all_gather_object(obj: Any) -> list[Any]:
    """Gather a picklable object from every rank (``[obj]`` for one process).

    Parameters
    ----------
    obj : object
        This rank's picklable object.

    Returns
    -------
    list
        One object per rank, in rank order.
    """
    if not active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s object on every rank (``obj`` itself for one process).

    Parameters
    ----------
    obj : object
        Picklable object; only the one on rank ``src`` matters.
    src : int, optional
        Rank whose object is sent.

    Returns
    -------
    object
        Rank ``src``'s object.
    """
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def weights_digest(module: torch.nn.Module) -> str:
    """sha256 of every parameter and buffer (name, dtype, shape, bytes) in ``state_dict`` order.

    Parameters
    ----------
    module : torch.nn.Module
        Model whose ``state_dict`` is hashed.

    Returns
    -------
    str
        Hex digest; equal across ranks exactly when their weights are bit-identical.
    """
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        t = t.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


class EpochSampler(DistributedSampler):
    """``DistributedSampler`` (shuffled by ``seed + epoch``, padded so every rank gets as many
    items) that can start an epoch at item ``start`` — used to resume an interrupted epoch
    exactly where it stopped. ``num_replicas``/``rank`` are explicit, so it also works without a
    process group (one process: ``num_replicas=1``)."""

    def __init__(self, dataset, num_replicas: int = 1, rank: int = 0, shuffle: bool = True, seed: int = 0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=False)
        self.start = 0

    def set_start(self, start: int) -> None:
        """Skip the first ``start`` items of this rank's shard in the next iteration.

        Parameters
        ----------
        start : int
            Items already done in the current epoch (batches done times the batch size).
        """
        self.start = int(start)

    def __iter__(self) -> Iterator[int]:
        it = super().__iter__()
        for k, i in enumerate(it):
            if k >= self.start:
                yield i

    def __len__(self) -> int:
        return max(0, self.num_samples - self.start)


def broadcast_buffers(module: torch.nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s buffers (batch-norm running statistics...) to every rank.

    Parameters
    ----------
    module : torch.nn.Module
        Model whose buffers are overwritten in place (no-op for one process).
    src : int, optional
        Rank whose buffers are copied.
    """
    if not active():
        return
    with torch.no_grad():
        for b in module.buffers():
            dist.broadcast(b, src)
