"""The PREPARE dataset store: plain ``.npy`` shards per chromosome, memory-mapped on read.

Layout of a dataset directory::

    manifest.json                 genome checksum, parameters, split, counts, shards, versions
    regions.tsv                   one row per window, in dataset order: chrom start end split kind
    tracks.tsv                    one row per target column: index track_id cell_type assay file
                                  path role transform strand rc_index
    shards/<chrom>/sequences.npy  (n, seq_length) uint8 codes A=0 C=1 G=2 T=3 N=4
    shards/<chrom>/targets.npy    (n, n_bins, n_tracks) float16 (peak mode: n_bins = 1, 0/1 labels)

Row ``i`` of ``regions.tsv`` is global window ``i``; shards follow in FASTA order with the counts
listed in ``manifest.json["store"]["shards"]``. In ``blacklist_mode=mask`` blacklisted bins are NaN.
The ``split`` column is each window's label: its chromosome's with a whole-chromosome split, its
block's with a contig-block split (``split_by=contig``; one chromosome then holds windows of
several splits, never closer than the split's ``gap``). ``PreparedDataset.split(name, fold=k)``
maps these labels to train/valid/test for fold ``k``.

Why plain ``.npy`` shards rather than zarr or HDF5:

- ``np.load(mmap_mode="r")`` gives zero-copy random access to any window with no extra library,
  no decompression on the hot path and no file-handle state, so DataLoader workers (fork or
  spawn) can each map the same files safely; the page cache is shared between workers and runs;
- one shard per chromosome is exactly the unit of the Nextflow fan-out: each PREPARE task streams
  its own shard to disk sequentially (bounded memory, no whole-genome array) and the merge step
  only hard-links (or copies) finished files, so ``-resume`` re-does only the missing chromosomes;
- the bytes depend only on the inputs and parameters (no timestamps, no compressor versions), so
  the same inputs give byte-identical outputs and checksums are meaningful;
- the cost is no compression: DNA codes take 1 byte/bp and targets 2 bytes/value. Windows already
  dominate training I/O and the one-hot expansion (4-32x larger) is deferred to the device, so this
  is the cheaper trade for a training loader.

Read it back with :func:`open_dataset`.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

import seq2func
from seq2func.errors import InputError
from seq2func.io.atomic import new_temp_dir, publish_dir  # noqa: F401  (publish_dir: re-exported for PREPARE)
from seq2func.prepare.split import fold_roles, split_labels

DATASET_FORMAT = "seq2func-dataset/1"
PART_FORMAT = "seq2func-part/1"
REGION_COLUMNS = ["chrom", "start", "end", "split", "kind"]


# --------------------------------------------------------------------------- writing
class NpyWriter:
    """Stream rows of a C-ordered array into a ``.npy`` file whose shape is known up front."""

    def __init__(self, path: str | os.PathLike, shape: tuple[int, ...], dtype: np.dtype | str):
        self.path = Path(path)
        self.shape = tuple(int(x) for x in shape)
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self._fh = open(self.path, "wb")
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": self.shape}
        np.lib.format.write_array_header_1_0(self._fh, header)

    def write(self, block: np.ndarray) -> None:
        """Append rows to the file.

        Parameters
        ----------
        block : np.ndarray
            Rows ``(k, *shape[1:])``, cast to the writer's dtype.

        Raises
        ------
        ValueError
            When the block's trailing shape does not fit or more rows than declared are written.
        """
        block = np.ascontiguousarray(block, dtype=self.dtype)
        if block.shape[1:] != self.shape[1:]:
            raise ValueError(f"block shape {block.shape} does not fit {self.shape}")
        if self.rows + block.shape[0] > self.shape[0]:
            raise ValueError("more rows than declared")
        self._fh.write(block.tobytes())
        self.rows += block.shape[0]

    def close(self) -> None:
        self._fh.close()
        if self.rows != self.shape[0]:
            raise ValueError(f"{self.path}: wrote {self.rows} rows, declared {self.shape[0]}")

    def abort(self) -> None:
        self._fh.close()


def write_regions(path: Path, chrom: str, starts: np.ndarray, seq_length: int, split: str | Sequence[str] | np.ndarray, kinds: Sequence[str]) -> None:
    """Write a part's ``regions.tsv``.

    Parameters
    ----------
    path
        File to write.
    chrom
        Chromosome of every window.
    starts
        Window starts (0-based).
    seq_length
        Window length.
    split
        One label for every window (chrom mode), or one label per window (contig mode: each
        window's block label).
    kinds
        One kind per window (``tile``, ``peak``, ``background``).
    """
    starts = np.asarray(starts, dtype=np.int64).tolist()
    labels = [split] * len(starts) if isinstance(split, str) else [str(x) for x in split]
    if len(labels) != len(starts):
        raise ValueError(f"{len(labels)} split labels for {len(starts)} windows")
    with open(path, "w") as fh:
        fh.write("\t".join(REGION_COLUMNS) + "\n")
        for s, lab, k in zip(starts, labels, kinds):
            fh.write(f"{chrom}\t{s}\t{s + seq_length}\t{lab}\t{k}\n")


def atomic_dir(out: Path, marker: str) -> Path:
    """A fresh temporary sibling of ``out``; refuses to overwrite a directory that is not ours
    (:func:`seq2func.io.atomic.new_temp_dir`).

    Parameters
    ----------
    out : Path
        The directory to be published.
    marker : str
        A file that only a directory of ours holds (e.g. ``manifest.json``); an existing ``out``
        without it is not overwritten.

    Returns
    -------
    Path
        The new, empty temporary directory.

    Raises
    ------
    InputError
        When ``out`` exists but is not a directory holding ``marker``.
    """
    return new_temp_dir(out, marker)


def safe_name(chrom: str) -> str:
    """A file-system-safe folder name for a chromosome's shard.

    Characters other than letters, digits and ``_.-`` become ``_``; a changed name (or ``.`` /
    ``..``) gets 8 hex digits of the original's md5, so distinct chromosomes keep distinct folders.

    Parameters
    ----------
    chrom : str
        Chromosome name.

    Returns
    -------
    str
        ``chrom`` itself when it is already safe.
    """
    s = re.sub(r"[^A-Za-z0-9_.-]", "_", chrom)
    if s != chrom or s in (".", ".."):
        s = f"{s}_{hashlib.md5(chrom.encode()).hexdigest()[:8]}"
    return s


def versions() -> dict[str, str]:
    import pyBigWig  # deferred: C extension needed here only for its version string
    import pysam  # deferred: needed here only for its version string

    return {
        "seq2func": seq2func.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyBigWig": getattr(pyBigWig, "__version__", "unknown"),
        "pysam": pysam.__version__,
    }


# --------------------------------------------------------------------------- reading
class ShardedArray:
    """A read-only array stitched from per-chromosome ``.npy`` shards, memory-mapped lazily.

    Indexing by window (int, slice, integer or boolean array, optionally followed by more axes in
    a tuple) returns numpy arrays; nothing is read until indexed. Picklable (maps are reopened).
    """

    def __init__(self, paths: Sequence[Path], counts: Sequence[int], tail: tuple[int, ...], dtype: np.dtype):
        self.paths = [Path(p) for p in paths]
        self.counts = np.asarray(counts, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)
        self.shape = (int(self.offsets[-1]),) + tuple(int(x) for x in tail)
        self.dtype = np.dtype(dtype)
        self._maps: list[np.ndarray | None] = [None] * len(self.paths)

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_maps"] = [None] * len(self.paths)
        return d

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def shard(self, k: int) -> np.ndarray:
        """The memory map of one shard, opened on first use and checked against the manifest.

        Parameters
        ----------
        k : int
            Shard index (chromosome order of the manifest).

        Returns
        -------
        np.ndarray
            Read-only memory-mapped array ``(counts[k], *tail)``.

        Raises
        ------
        InputError
            When the shard's shape or dtype disagrees with the manifest.
        """
        m = self._maps[k]
        if m is None:
            m = np.load(self.paths[k], mmap_mode="r")
            if m.shape[0] != self.counts[k] or m.shape[1:] != self.shape[1:] or m.dtype != self.dtype:
                raise InputError(self.paths[k], None, f"shard shape {m.shape} {m.dtype} disagrees with the manifest")
            self._maps[k] = m
        return m

    def _locate(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = np.searchsorted(self.offsets, idx, side="right") - 1
        return k, idx - self.offsets[k]

    def __getitem__(self, key):
        rest = ()
        if isinstance(key, tuple):
            key, rest = key[0], key[1:]
        n = self.shape[0]
        if isinstance(key, (int, np.integer)):
            i = int(key)
            if i < 0:
                i += n
            if not 0 <= i < n:
                raise IndexError(f"index {key} out of range for {n} windows")
            k, r = self._locate(np.array([i]))
            out = self.shard(int(k[0]))[int(r[0])]
            return out[rest] if rest else out
        if isinstance(key, slice):
            idx = np.arange(*key.indices(n), dtype=np.int64)
        else:
            idx = np.asarray(key)
            if idx.dtype == bool:
                if idx.shape != (n,):
                    raise IndexError("boolean index must have one entry per window")
                idx = np.flatnonzero(idx)
            idx = idx.astype(np.int64).reshape(-1)
            idx = np.where(idx < 0, idx + n, idx)
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise IndexError(f"index out of range for {n} windows")
        out = np.empty((idx.size,) + self.shape[1:], dtype=self.dtype)
        if idx.size:
            ks, rs = self._locate(idx)
            for k in np.unique(ks):
                sel = ks == k
                out[sel] = self.shard(int(k))[rs[sel]]
        return out[(slice(None),) + rest] if rest else out

    def __repr__(self) -> str:
        return f"ShardedArray(shape={self.shape}, dtype={self.dtype}, shards={len(self.paths)})"


class PreparedDataset:
    """A PREPARE output opened read-only (see :func:`open_dataset`)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        mpath = self.path / "manifest.json"
        try:
            self.manifest: dict = json.loads(mpath.read_text())
        except (OSError, ValueError) as err:
            raise InputError(mpath, None, f"not a seq2func dataset: {err}") from None
        if self.manifest.get("format") != DATASET_FORMAT:
            raise InputError(mpath, "format", f"expected {DATASET_FORMAT}, got {self.manifest.get('format')!r}")
        self.regions: pd.DataFrame = pd.read_csv(
            self.path / "regions.tsv", sep="\t", dtype={"chrom": str, "start": np.int64, "end": np.int64, "split": str, "kind": str},
            keep_default_na=False,
        )
        self.tracks: pd.DataFrame = pd.read_csv(self.path / "tracks.tsv", sep="\t", dtype=str, keep_default_na=False)
        for col in ("index", "rc_index"):
            self.tracks[col] = self.tracks[col].astype(np.int64)
        st = self.manifest["store"]
        shards = st["shards"]
        L = int(self.manifest["params"]["seq_length"])
        n_bins = int(st["targets"]["shape"][1])
        T = int(st["targets"]["shape"][2])
        counts = [int(s["n"]) for s in shards]
        self.sequences = ShardedArray([self.path / s["sequences"] for s in shards], counts, (L,), np.uint8)
        self.targets = ShardedArray([self.path / s["targets"] for s in shards], counts, (n_bins, T), np.float16)
        if len(self.regions) != len(self.sequences):
            raise InputError(self.path / "regions.tsv", None, f"{len(self.regions)} rows but the shards hold {len(self.sequences)} windows")

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def mode(self) -> str:
        return self.manifest["mode"]

    @property
    def seq_length(self) -> int:
        return int(self.manifest["params"]["seq_length"])

    @property
    def n_bins(self) -> int:
        return self.targets.shape[1]

    @property
    def n_tracks(self) -> int:
        return self.targets.shape[2]

    def split_names(self) -> list[str]:
        return sorted(set(self.regions["split"]))

    def split(self, name: str, fold: int | None = None) -> np.ndarray:
        """Window indices (int64, ascending) of split ``name``.

        ``name`` is a label in ``regions.split`` (``train``/``valid``/``test`` or ``fold<k>``). For
        a k-fold dataset, ``split("train", fold=k)`` (and ``valid``/``test``) maps each window's
        label to its role with :func:`seq2func.prepare.split.fold_roles` (``by="label"``), so k folds
        work for whole-chromosome and contig-block splits alike.

        Parameters
        ----------
        name : str
            Split or label name (``train``, ``valid``, ``test``, ``fold<k>``).
        fold : int or None, optional
            Held-out fold of a k-fold dataset; ``None``: use the labels as stored.

        Returns
        -------
        np.ndarray
            int64 window indices, ascending.

        Raises
        ------
        KeyError
            When ``name`` is not a label of the dataset (without ``fold``).
        ValueError
            When ``fold`` is given but the dataset has no folds, or it is out of range.
        """
        if fold is not None:
            roles = fold_roles(self.manifest["split"], int(fold), by="label")
            lab = self.regions["split"].map(lambda x: roles.get(x, x))
            return np.flatnonzero((lab == name).to_numpy())
        known = set(self.regions["split"]) | set(self.manifest["split"]["chroms"].values()) | set(split_labels(self.manifest["split"]))
        if name not in known:
            raise KeyError(f"unknown split {name!r}; known: {', '.join(sorted(known))}")
        return np.flatnonzero((self.regions["split"] == name).to_numpy())

    def __repr__(self) -> str:
        return f"PreparedDataset({str(self.path)!r}, mode={self.mode}, windows={len(self)}, seq_length={self.seq_length}, bins={self.n_bins}, tracks={self.n_tracks})"


def open_dataset(path: str | os.PathLike) -> PreparedDataset:
    """Open a dataset directory written by PREPARE (``prepare_merge.py``).

    ``.sequences`` (N x L uint8) and ``.targets`` (N x bins x tracks float16) are lazily
    memory-mapped across shards; ``.regions`` / ``.tracks`` are pandas tables; ``.manifest`` a dict;
    ``.split(name)`` the window indices of a split.

    Parameters
    ----------
    path : str or os.PathLike
        The dataset directory (holding ``manifest.json``).

    Returns
    -------
    PreparedDataset
        The opened dataset.

    Raises
    ------
    InputError
        When the directory is not a seq2func dataset or its tables disagree with the shards.
    """
    return PreparedDataset(path)
