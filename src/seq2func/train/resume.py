"""Task-stable resume state: a killed training resumes from its last checkpoint even when the
retry runs in a fresh directory (Nextflow gives every attempt of a task a new work directory).

With a resume directory (``train.py --resume-dir DIR``, the pipeline's ``--resume_dir``) training
keeps its checkpoints in ``DIR/<key>/`` instead of the output directory::

    DIR/<key>/fingerprint.json   what the state belongs to: format, key, fingerprint, identity
    DIR/<key>/last.pt            the resume checkpoint, rewritten atomically every epoch
    DIR/<key>/model.pt           the best checkpoint so far (its epoch may precede the kill)

``key`` is ``<label>-<first 16 hex digits of the fingerprint>``: the label names the run for a
human (``pretrain``, ``finetune-<cell_type>-<strategy>``), the fingerprint (sha256 of
:func:`fingerprint`'s canonical JSON) identifies the computation: every training parameter that an
exact resume must keep (all but ``RESUME_FREE``), the dataset (manifest checksum, genome, window
geometry), the model config, the initial weights (seed, architecture and, for fine-tuning, the
parent checkpoint's weights all show there) and the seq2func / torch versions. The same training
task therefore finds its state again on any retry, and a different task or different inputs never
do. A state whose ``fingerprint.json`` does not match (or is unreadable) is discarded with a log
line and replaced.

When training has finished, :meth:`ResumeState.finish` moves both checkpoints into the output
directory (which then looks exactly as without a resume directory) and deletes ``DIR/<key>``
(and ``DIR`` itself when that leaves it empty), so no state outlives a successful run.

The tests kill a training after an epoch's checkpoint with a hook injected through
``SEQ2FUNC_TRAIN_HOOKS`` (:mod:`seq2func.train.hooks`, ``tests/hooks.py``), not with code here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RESUME_FORMAT = "seq2func-resume/1"
STATE_FILE = "fingerprint.json"
LAST = "last.pt"
BEST = "model.pt"


def _canonical(obj: Any) -> Any:
    """Plain JSON values (tuples as lists, paths as strings) with non-finite floats spelled out."""
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, float) and obj != obj:
        return "nan"
    if isinstance(obj, float) and obj in (float("inf"), float("-inf")):
        return str(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return _canonical(obj.item())
    return str(obj)


def fingerprint(identity: dict) -> str:
    """sha256 (hex) of the canonical JSON of ``identity`` (key order does not matter).

    Parameters
    ----------
    identity : dict
        JSON-like description of a training (see :func:`training_identity`); NaN/inf and numpy scalars allowed.

    Returns
    -------
    str
        64 hex digits.
    """
    text = json.dumps(_canonical(identity), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def training_identity(kind: str, train_params: dict, dataset: dict, model_config: dict, initial_weights: str,
                      strategy: dict | None = None, versions: dict | None = None,
                      free: set | frozenset = frozenset()) -> dict:
    """What a resume state belongs to. ``train_params`` minus the ``free`` keys (those an exact
    resume may change: device, progress...), ``dataset`` minus its local ``path``.

    Parameters
    ----------
    kind : str
        ``pretrain`` or ``finetune``.
    train_params : dict
        The run's training parameters (the checkpoint's ``train_params``).
    dataset : dict
        The checkpoint's ``dataset`` entry (manifest checksum, geometry, ...).
    model_config : dict
        The model's config.
    initial_weights : str
        Digest of the weights training starts from (:func:`seq2func.train.ddp.weights_digest`).
    strategy : dict, optional
        Fine-tuning strategy record (name, kwargs, cell type, target fraction); None for pre-training.
    versions : dict, optional
        Package versions; only ``seq2func`` and ``torch`` are kept.
    free : set of str, optional
        Training-parameter keys left out (those a resume may change).

    Returns
    -------
    dict
        ``kind``, ``train_params``, ``dataset``, ``model_config``, ``initial_weights``, ``strategy``,
        ``versions``.
    """
    return {
        "kind": kind,
        "train_params": {k: v for k, v in train_params.items() if k not in free},
        "dataset": {k: v for k, v in dataset.items() if k != "path"},
        "model_config": model_config,
        "initial_weights": initial_weights,
        "strategy": strategy or None,
        "versions": {k: v for k, v in (versions or {}).items() if k in ("seq2func", "torch")},
    }


def run_label(kind: str, strategy: dict | None = None) -> str:
    """``pretrain`` or ``finetune-<cell_type>-<strategy>`` (characters outside ``[A-Za-z0-9_.-]`` -> ``_``).

    Parameters
    ----------
    kind : str
        ``pretrain`` or ``finetune``.
    strategy : dict, optional
        Fine-tuning strategy record; its ``cell_type`` and ``name`` are appended when set.

    Returns
    -------
    str
        A file-name-safe label.
    """
    parts = [kind] + [str(strategy[k]) for k in ("cell_type", "name") if strategy and strategy.get(k)]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join(parts))


def state_key(label: str, fp: str) -> str:
    """The state's directory name: ``<label>-<first 16 hex digits of the fingerprint>``.

    Parameters
    ----------
    label : str
        Run label (:func:`run_label`); unsafe characters become ``_``.
    fp : str
        Fingerprint (:func:`fingerprint`).

    Returns
    -------
    str
        Directory name under the resume base.
    """
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', label)}-{fp[:16]}"


@dataclass
class ResumeState:
    """``base/<key>``: where one training keeps its checkpoints across attempts."""

    base: Path
    path: Path
    fingerprint: str

    @property
    def last(self) -> Path:
        return self.path / LAST

    @property
    def best(self) -> Path:
        return self.path / BEST

    @classmethod
    def locate(cls, base: str | os.PathLike, label: str, identity: dict) -> "ResumeState":
        """The state of this training (no file system access).

        Parameters
        ----------
        base : str or os.PathLike
            The resume base directory (``resume_dir``).
        label : str
            Run label (:func:`run_label`).
        identity : dict
            What the state belongs to (see :func:`training_identity`).

        Returns
        -------
        ResumeState
            Its paths and fingerprint.
        """
        fp = fingerprint(identity)
        base = Path(base)
        return cls(base, base / state_key(label, fp), fp)

    @classmethod
    def open(cls, base: str | os.PathLike, label: str, identity: dict, fresh: bool = False) -> "ResumeState":
        """Create or validate ``base/<key>`` (rank 0 only). A ``fingerprint.json`` that does not
        match this training's (or cannot be read) discards the state with a log line; ``fresh``
        discards the saved progress (``--no-resume``, or resuming from another file). Leftover
        temporary files of a killed write go.

        Parameters
        ----------
        base : str or os.PathLike
            The resume base directory (``resume_dir``); created when missing.
        label : str
            Run label (:func:`run_label`).
        identity : dict
            What the state belongs to (see :func:`training_identity`).
        fresh : bool, optional
            Discard any saved progress even when it matches.

        Returns
        -------
        ResumeState
            The state, its directory existing and its ``fingerprint.json`` written.
        """
        st = cls.locate(base, label, identity)
        record = {"format": RESUME_FORMAT, "key": st.path.name, "fingerprint": st.fingerprint,
                  "identity": _canonical(identity)}
        for attempt in range(5):  # another training's finish() may remove an empty base meanwhile
            try:
                st.path.mkdir(parents=True, exist_ok=True)
                break
            except FileNotFoundError:
                if attempt == 4:
                    raise
        for name in (LAST, BEST):
            for tmp in st.path.glob(f".{name}.tmp-*"):  # a write interrupted by the kill
                tmp.unlink(missing_ok=True)
        stamp = st.path / STATE_FILE
        if st.last.exists():
            try:
                have = json.loads(stamp.read_text())
                ok = have.get("format") == RESUME_FORMAT and have.get("fingerprint") == st.fingerprint
                why = "written by a different training configuration or inputs"
            except (OSError, ValueError, AttributeError) as err:
                ok, why = False, f"{STATE_FILE} unreadable: {type(err).__name__}"
            if not ok:
                st.discard(f"ignoring resume state {st.path}: {why}; starting afresh")
            elif fresh:
                st.discard(f"not resuming: discarding resume state {st.path}")
        else:
            st.best.unlink(missing_ok=True)  # a best checkpoint without the progress that led to it
        tmp = st.path / f".{STATE_FILE}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, stamp)
        return st

    def discard(self, message: str) -> None:
        """Forget the saved progress (``last.pt``, ``model.pt``), logging ``message``.

        Parameters
        ----------
        message : str
            Warning logged first.
        """
        log.warning("%s", message)
        self.last.unlink(missing_ok=True)
        self.best.unlink(missing_ok=True)

    def finish(self, outdir: str | os.PathLike) -> None:
        """Training is complete: move ``last.pt`` and ``model.pt`` to ``outdir`` and delete the
        state directory (and the base directory when it is left empty).

        Parameters
        ----------
        outdir : str or os.PathLike
            The run's output directory (must exist).
        """
        outdir = Path(outdir)
        for name in (LAST, BEST):
            src, dest = self.path / name, outdir / name
            if not src.is_file():
                continue
            try:
                os.replace(src, dest)
            except OSError:  # another file system: copy next to the destination, then rename
                tmp = outdir / f".{name}.tmp-{os.getpid()}"
                shutil.copyfile(src, tmp)
                os.replace(tmp, dest)
        shutil.rmtree(self.path, ignore_errors=True)
        try:
            self.base.rmdir()  # only when empty
        except OSError:
            pass
