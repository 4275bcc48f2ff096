"""PyTorch access to a PREPARE dataset: ``SeqDataset``, device-side ``one_hot``, ``make_loader``.

Items are ``(x, y)``: ``x`` the window's uint8 codes ``(L,)`` (default; expand on the device with
:func:`one_hot`) or, with ``one_hot=True``, a float32 one-hot ``(4, L)`` (channels first, as
``torch.nn.Conv1d`` wants; N is all zeros); ``y`` float32 ``(n_bins, n_tracks)``.

Augmentation, drawn per item from ``numpy.random.default_rng([seed, epoch, window_index])`` so it
does not depend on worker scheduling (call :meth:`SeqDataset.set_epoch` each epoch):

- shift: an integer ``k`` uniform in ``[-shift, shift]``; the sequence moves ``k`` bp to the right
  (``k < 0``: left), padding with N; targets are unchanged;
- reverse complement (probability ``rc``; ``True`` means 0.5): codes reversed and complemented
  (A<->T, C<->G, N stays N), target bins reversed, and stranded ``+``/``-`` track pairs swapped
  (``tracks.tsv`` ``rc_index``); unpaired tracks are only reversed.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from seq2func.prepare.genome import COMPLEMENT, N
from seq2func.prepare.store import PreparedDataset, open_dataset


def one_hot(codes: torch.Tensor, channels_first: bool = True, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 codes ``(..., L)`` -> one-hot ``(..., 4, L)`` (or ``(..., L, 4)``); N -> zeros. Runs on any device.

    Parameters
    ----------
    codes : torch.Tensor
        Integer codes ``(..., L)`` (``A=0 C=1 G=2 T=3 N=4``), on any device.
    channels_first : bool, optional
        ``True``: ``(..., 4, L)`` (as ``Conv1d`` wants); ``False``: ``(..., L, 4)``.
    dtype : torch.dtype, optional
        Output dtype (default float32).

    Returns
    -------
    torch.Tensor
        The one-hot encoding, on the device of ``codes``.
    """
    x = torch.nn.functional.one_hot(codes.long().clamp_(0, N), num_classes=5)[..., :4].to(dtype)
    return x.transpose(-1, -2) if channels_first else x


def shift_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """Shift codes ``k`` bp right (``k < 0``: left) along the last axis, padding with N.

    Parameters
    ----------
    codes : np.ndarray
        uint8 codes ``(..., L)``.
    k : int
        Shift in bp; ``|k| >= L`` gives all N.

    Returns
    -------
    np.ndarray
        Shifted codes of the same shape (``codes`` itself when ``k == 0``).
    """
    if k == 0:
        return codes
    out = np.full_like(codes, N)
    if abs(k) >= codes.shape[-1]:
        return out
    if k > 0:
        out[..., k:] = codes[..., :-k]
    else:
        out[..., :k] = codes[..., -k:]
    return out


class SeqDataset(Dataset):
    """Windows of one split of a PREPARE dataset as a PyTorch ``Dataset``.

    ``ds``: a :class:`PreparedDataset` or its path. ``split``/``fold``: see
    :meth:`PreparedDataset.split` (``split=None``: all windows; ``indices`` overrides both).
    ``tracks``: optional subset of target columns (indices or track_ids).
    """

    def __init__(
        self,
        ds: PreparedDataset | str | os.PathLike,
        split: str | None = "train",
        rc: bool | float = False,
        shift: int = 0,
        seed: int = 0,
        one_hot: bool = False,
        fold: int | None = None,
        tracks: Sequence[int | str] | None = None,
        indices: Sequence[int] | np.ndarray | None = None,
    ):
        self.ds = ds if isinstance(ds, PreparedDataset) else open_dataset(ds)
        if indices is not None:
            self.indices = np.asarray(indices, dtype=np.int64)
        elif split is None:
            self.indices = np.arange(len(self.ds), dtype=np.int64)
        else:
            self.indices = self.ds.split(split, fold=fold)
        self.rc_prob = 0.5 if rc is True else float(rc or 0.0)
        if not 0.0 <= self.rc_prob <= 1.0:
            raise ValueError("rc must be a bool or a probability")
        self.shift = int(shift)
        if self.shift < 0:
            raise ValueError("shift must be >= 0")
        self.seed = int(seed)
        self.one_hot = bool(one_hot)
        self.epoch = 0
        tt = self.ds.tracks
        rci = tt["rc_index"].to_numpy(dtype=np.int64)
        if tracks is None:
            self.track_sel = None
            self.rc_perm = rci
        else:
            ids = list(tt["track_id"])
            sel = np.array([ids.index(t) if isinstance(t, str) else int(t) for t in tracks], dtype=np.int64)
            pos = {int(g): k for k, g in enumerate(sel)}
            self.track_sel = sel
            self.rc_perm = np.array([pos.get(int(rci[g]), k) for k, g in enumerate(sel)], dtype=np.int64)

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that seeds the augmentations drawn by :meth:`draw`.

        Parameters
        ----------
        epoch : int
            Epoch number.
        """
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return int(self.indices.size)

    def get(self, i: int, rc: bool = False, shift: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Item ``i`` with an explicit augmentation (no randomness): for tests and RC/shift ensembles.

        Parameters
        ----------
        i : int
            Item index (position in this dataset's ``indices``, not the global window index).
        rc : bool, optional
            Reverse-complement the sequence, reverse the bins and swap stranded track pairs.
        shift : int, optional
            Shift in bp (:func:`shift_codes`; positive: right).

        Returns
        -------
        tuple of torch.Tensor
            ``x``: uint8 codes ``(L,)`` or float32 one-hot ``(4, L)``; ``y``: float32 ``(n_bins, n_tracks)``.
        """
        g = int(self.indices[i])
        seq = np.array(self.ds.sequences[g], dtype=np.uint8)
        tgt = np.asarray(self.ds.targets[g], dtype=np.float32)
        if self.track_sel is not None:
            tgt = tgt[:, self.track_sel]
        if shift:
            seq = shift_codes(seq, shift)
        if rc:
            seq = COMPLEMENT[seq[::-1]]
            tgt = tgt[::-1][:, self.rc_perm]
        x = torch.from_numpy(np.ascontiguousarray(seq))
        if self.one_hot:
            x = one_hot(x)
        return x, torch.from_numpy(np.ascontiguousarray(tgt))

    def draw(self, i: int) -> tuple[bool, int]:
        """The (rc, shift) augmentation of item ``i`` in the current epoch.

        Parameters
        ----------
        i : int
            Item index (position in this dataset's ``indices``).

        Returns
        -------
        tuple of (bool, int)
            Whether to reverse-complement, and the shift in bp; drawn from
            ``default_rng([seed, epoch, window_index])``.
        """
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, self.epoch, int(self.indices[i])])
        k = int(rng.integers(-self.shift, self.shift + 1)) if self.shift else 0
        rc = bool(rng.random() < self.rc_prob) if self.rc_prob else False
        return rc, k

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        rc, k = self.draw(i)
        return self.get(i, rc=rc, shift=k)


def make_loader(
    ds: PreparedDataset | str | os.PathLike | SeqDataset,
    split: str | None = "train",
    batch_size: int = 8,
    shuffle: bool | None = None,
    num_workers: int = 0,
    seed: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
    **dataset_kwargs,
) -> DataLoader:
    """A seeded ``DataLoader`` over a split (shuffled by default for ``train`` only).

    Extra keyword arguments go to :class:`SeqDataset` (``rc``, ``shift``, ``one_hot``, ``fold``...).
    Call ``loader.dataset.set_epoch(e)`` before each epoch for fresh augmentations.

    Parameters
    ----------
    ds : PreparedDataset, str, os.PathLike or SeqDataset
        The dataset (or its path); a :class:`SeqDataset` is used as is (``split``, ``seed`` for the
        dataset and ``dataset_kwargs`` then do not apply).
    split : str or None, optional
        Split to load (:meth:`PreparedDataset.split`); ``None``: all windows.
    batch_size : int, optional
        Windows per batch.
    shuffle : bool or None, optional
        ``None``: shuffle when ``split == "train"``.
    num_workers : int, optional
        DataLoader worker processes.
    seed : int, optional
        Seed of the shuffling generator and of the augmentations.
    drop_last : bool, optional
        Drop the last incomplete batch.
    pin_memory : bool, optional
        Pin host memory (faster copies to a GPU).
    **dataset_kwargs
        Passed to :class:`SeqDataset`.

    Returns
    -------
    torch.utils.data.DataLoader
        Yields ``(x, y)`` batches.
    """
    sds = ds if isinstance(ds, SeqDataset) else SeqDataset(ds, split=split, seed=seed, **dataset_kwargs)
    if shuffle is None:
        shuffle = split == "train"
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    return DataLoader(
        sds,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        generator=gen,
        drop_last=drop_last,
        pin_memory=pin_memory,
        persistent_workers=False,
    )
