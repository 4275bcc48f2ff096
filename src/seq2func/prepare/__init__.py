"""PREPARE: windows, targets, peaks, chromosome splits and the memory-mapped dataset store.

Python API::

    from seq2func.prepare import open_dataset, SeqDataset, make_loader
    ds = open_dataset("dataset/")          # .sequences .targets .regions .tracks .manifest .split()
    train = SeqDataset(ds, split="train", rc=True, shift=3, seed=0)

``SeqDataset``/``make_loader``/``one_hot`` import torch lazily, so the PREPARE scripts stay light.
"""

from __future__ import annotations

from seq2func.prepare.run import PrepareParams, merge_parts, prepare_chrom, prepare_dataset
from seq2func.prepare.split import fold_roles, load_split, make_split, write_split
from seq2func.prepare.store import PreparedDataset, open_dataset

__all__ = [
    "PrepareParams",
    "PreparedDataset",
    "SeqDataset",
    "fold_roles",
    "load_split",
    "make_loader",
    "make_split",
    "merge_parts",
    "one_hot",
    "open_dataset",
    "prepare_chrom",
    "prepare_dataset",
    "write_split",
]

_LAZY = {"SeqDataset", "make_loader", "one_hot"}


def __getattr__(name: str):
    if name in _LAZY:
        from seq2func.prepare import dataset  # deferred: dataset imports torch; PREPARE stays light

        return getattr(dataset, name)
    raise AttributeError(f"module 'seq2func.prepare' has no attribute {name!r}")
