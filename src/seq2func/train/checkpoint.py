"""Self-describing, atomically written checkpoints that load with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict (tensors, numbers, strings, lists, tuples, dicts only)::

    format        "seq2func-checkpoint/1"
    kind          "pretrain" | "finetune"
    model_config  dict: the config build_model() needs (incl. "name", "n_tracks")
    state_dict    the model weights (CPU tensors)
    tracks        list of track-table rows the output columns stand for, in order: track_id,
                  cell_type, assay, transform, role, strand, dataset_index, rc_index (the
                  reverse-strand partner's position within this list)
    dataset       manifest_checksum (sha256 of manifest.json), seq_length, bin_size, crop_bp,
                  n_bins, mode, genome_sha256, path
    train_params  dict of the training parameters
    versions      dict of package versions
    strategy      fine-tuning strategy and its keyword arguments (finetune only), parent checkpoint
    epoch, step   progress (epochs completed; optimizer steps taken)
    metrics       best metric etc.
  resume state (``last.pt`` only):
    optimizer, scheduler      their state_dicts
    rng                       torch / numpy / python / cuda RNG states (lists of ints, tensors)
    progress                  batch position in the current epoch, early-stopping counter, history

Writes go to a temporary file in the same directory followed by ``os.replace``, so a killed
process never leaves a truncated checkpoint behind.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seq2func.errors import InputError
from seq2func.models import build_model
from seq2func.train.strategies import apply_strategy
from seq2func.versions import package_versions

CHECKPOINT_FORMAT = "seq2func-checkpoint/1"
REQUIRED = ("model_config", "state_dict", "tracks", "dataset", "train_params", "versions")


# --------------------------------------------------------------------------- plain data
def to_plain(obj: Any) -> Any:
    """Recursively convert numpy scalars/arrays, Paths and sets into types ``weights_only`` accepts.

    Parameters
    ----------
    obj : object
        Nested dicts, lists, tuples, sets, tensors (detached to the CPU), numpy values, paths and scalars.

    Returns
    -------
    object
        The same structure with plain values; sets become lists, non-str/int dict keys strings.

    Raises
    ------
    TypeError
        For a value of any other type.
    """
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {str(k) if not isinstance(k, (int, str)) else k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(to_plain(v) for v in obj)
    if isinstance(obj, (list, set, frozenset)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if obj is None or isinstance(obj, (bool, int, float, str, torch.dtype, torch.device)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a weights_only checkpoint")


def capture_rng() -> dict:
    """Every RNG state the training loop touches, as tensors and lists of ints."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    out = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(np_state[0]), "keys": np.asarray(np_state[1]).astype(np.int64).tolist(),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": {"version": int(py_state[0]), "state": [int(x) for x in py_state[1]],
                   "gauss_next": py_state[2]},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return out


def restore_rng(state: dict) -> None:
    """Put back the RNG states :func:`capture_rng` recorded.

    CUDA states are restored only when as many GPUs are visible as were recorded.

    Parameters
    ----------
    state : dict
        ``torch``, ``numpy``, ``python`` (and optionally ``cuda``) states; empty or None: nothing happens.
    """
    if not state:
        return
    torch.set_rng_state(state["torch"].cpu() if isinstance(state["torch"], torch.Tensor) else torch.tensor(state["torch"], dtype=torch.uint8))
    n = state["numpy"]
    np.random.set_state((n["kind"], np.asarray(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


# --------------------------------------------------------------------------- dataset / tracks
def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks.

    Parameters
    ----------
    path : str or os.PathLike
        File to hash.

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_sha256(checkpoint: str | os.PathLike | dict) -> str:
    """sha256 of a checkpoint's weights alone: what tells two trainings apart.

    A checkpoint file also records where its dataset and parent lay (``dataset.path``,
    ``parent.path``) and the package versions, so the same weights trained in another work
    directory give another :func:`file_sha256`. This hash covers only ``state_dict``: every
    tensor in sorted key order as its name, dtype, shape and little-endian bytes.

    Parameters
    ----------
    checkpoint : str, os.PathLike or dict
        A checkpoint file (loaded with ``weights_only=True``) or a loaded checkpoint dict.

    Returns
    -------
    str
        64 hex digits.
    """
    ckpt = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint)
    h = hashlib.sha256()
    for name in sorted(ckpt["state_dict"]):
        t = ckpt["state_dict"][name].detach().cpu().contiguous()
        h.update(f"{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def dataset_info(ds) -> dict:
    """The ``dataset`` entry of a checkpoint for a :class:`seq2func.prepare.PreparedDataset`.

    Parameters
    ----------
    ds : seq2func.prepare.PreparedDataset
        The opened dataset.

    Returns
    -------
    dict
        ``manifest_checksum``, ``seq_length``, ``bin_size``, ``crop_bp``, ``n_bins``, ``mode``,
        ``genome_sha256`` and the absolute ``path``.
    """
    p = ds.manifest["params"]
    return {
        "manifest_checksum": file_sha256(Path(ds.path) / "manifest.json"),
        "seq_length": int(p["seq_length"]),
        "bin_size": int(p["bin_size"]),
        "crop_bp": int(p.get("crop_bp", 0) or 0),
        "n_bins": int(ds.n_bins),
        "mode": str(ds.mode),
        "genome_sha256": str(ds.manifest.get("genome", {}).get("sha256", "")),
        "path": str(Path(ds.path).resolve()),
    }


def track_rows(ds, indices) -> list[dict]:
    """Rows of the dataset's track table for the given column indices (checkpoint ``tracks``).

    Parameters
    ----------
    ds : seq2func.prepare.PreparedDataset
        The opened dataset.
    indices : sequence of int
        Dataset track columns, in the model's output order.

    Returns
    -------
    list of dict
        One row per index: ``track_id``, ``cell_type``, ``assay``, ``transform``, ``role``, ``strand``,
        ``dataset_index`` and ``rc_index`` (the partner's position in this list; itself when the partner
        is not selected).
    """
    tt = ds.tracks
    indices = [int(i) for i in indices]
    pos = {g: k for k, g in enumerate(indices)}
    rows = []
    for k, g in enumerate(indices):
        r = tt.iloc[g]
        rows.append({
            "track_id": str(r["track_id"]),
            "cell_type": str(r["cell_type"]),
            "assay": str(r["assay"]),
            "transform": str(r["transform"]),
            "role": str(r["role"]),
            "strand": str(r.get("strand", ".")),
            "dataset_index": g,
            "rc_index": int(pos.get(int(r["rc_index"]), k)),
        })
    return rows


@functools.lru_cache(maxsize=1)
def _versions() -> tuple:
    return tuple(package_versions(("seq2func", "torch", "numpy", "pandas", "scipy", "scikit-learn")).items())


def versions() -> dict:
    """Package versions recorded in checkpoints (read once per process)."""
    return dict(_versions())


# --------------------------------------------------------------------------- save / load
def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The bare model inside ``DistributedDataParallel`` / ``torch.compile`` wrappers.

    Parameters
    ----------
    model : torch.nn.Module
        A model, possibly wrapped (several times).

    Returns
    -------
    torch.nn.Module
        The innermost module.
    """
    while True:
        if hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module | None = None, **fields: Any) -> Path:
    """Write a checkpoint atomically (temporary file in the same directory, then ``os.replace``).

    ``model`` fills ``state_dict`` and ``model_config`` (from ``model.config``) unless given in
    ``fields``. Every value must be plain data (see :func:`to_plain`); ``format`` and ``versions``
    are added when absent.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file; its directory is created.
    model : torch.nn.Module, optional
        Model (wrappers removed) whose weights and config are stored.
    **fields
        Further checkpoint entries (``kind``, ``tracks``, ``dataset``, ``train_params``, ``epoch``, ...).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        When a required entry (``model_config``, ``state_dict``, ``tracks``, ``dataset``,
        ``train_params``, ``versions``) is missing.
    """
    path = Path(path)
    ckpt: dict[str, Any] = {"format": CHECKPOINT_FORMAT}
    if model is not None:
        m = unwrap(model)
        ckpt["model_config"] = dict(getattr(m, "config", {}) or {})
        ckpt["state_dict"] = {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
    ckpt.update(fields)
    ckpt.setdefault("versions", versions())
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise ValueError(f"checkpoint lacks {', '.join(missing)}")
    ckpt = to_plain(ckpt)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            torch.save(ckpt, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True``; a missing or foreign file is an :class:`InputError`.

    Parameters
    ----------
    path : str or os.PathLike
        Checkpoint file.
    map_location : str or torch.device, optional
        Where tensors are loaded.

    Returns
    -------
    dict
        The checkpoint (see the module docstring).

    Raises
    ------
    InputError
        When the file is missing, not a PyTorch file, truncated, not loadable with ``weights_only``, of
        another format or lacking a required entry.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "checkpoint not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - unpickling errors come in many types
        with open(path, "rb") as fh:
            head = fh.read(4)
        if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):  # torch.save's zip, or a legacy pickle
            # torch's own text would advise weights_only=False, which cannot help a file that is not a checkpoint
            raise InputError(path, None, "not a PyTorch checkpoint file (neither torch.save's zip archive nor a "
                             "pickle): corrupt, or another format?") from None
        if head.startswith(b"PK\x03\x04") and not zipfile.is_zipfile(path):
            raise InputError(path, None, "truncated or corrupt checkpoint (torch.save's zip archive is incomplete: "
                             "an interrupted copy or download?)") from None
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(path, None, f"not a loadable seq2func checkpoint (weights_only=True): {msg}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        fmt = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise InputError(path, "format", f"expected {CHECKPOINT_FORMAT}, got {fmt!r}")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise InputError(path, None, f"checkpoint lacks {', '.join(missing)}")
    return ckpt


def build_from_checkpoint(ckpt: dict) -> torch.nn.Module:
    """The model architecture a checkpoint describes (weights not loaded).

    LoRA fine-tuned checkpoints get their adapters applied, so the state dict fits.

    Parameters
    ----------
    ckpt : dict
        A loaded checkpoint (``model_config``, optional ``strategy``).

    Returns
    -------
    torch.nn.Module
        The freshly initialised model.
    """
    model = build_model(dict(ckpt["model_config"]), load_weights=False)
    strat = ckpt.get("strategy") or {}
    if strat.get("name") == "lora":  # adapters add parameters the plain architecture lacks
        apply_strategy(model, "lora", **dict(strat.get("kwargs") or {}))
    return model


def model_from_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu",
                          eval_mode: bool = True) -> tuple[torch.nn.Module, dict]:
    """``(model, ckpt)``: the architecture from ``model_config`` with the stored weights loaded.

    Parameters
    ----------
    path : str or os.PathLike
        Checkpoint file.
    device : str or torch.device, optional
        Where the model is moved.
    eval_mode : bool, optional
        Put the model in eval mode (default true).

    Returns
    -------
    tuple of (torch.nn.Module, dict)
        The model and the checkpoint dict.

    Raises
    ------
    InputError
        When the checkpoint cannot be loaded or its weights do not fit its ``model_config``.
    """
    ckpt = load_checkpoint(path)
    try:
        model = build_from_checkpoint(ckpt)
        model.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, KeyError, ValueError, TypeError) as err:
        msg = " ".join(str(err).split())[:400]
        raise InputError(path, "state_dict", f"weights do not fit the model_config: {msg}") from None
    model.to(device)
    if eval_mode:
        model.eval()
    return model, ckpt
