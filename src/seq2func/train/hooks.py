"""Epoch-end hooks of the training loop (:class:`seq2func.train.engine.Trainer`).

A hook is a callable ``hook(trainer)``. The trainer calls its hooks at the end of every epoch, on
every rank, once the epoch's ``last.pt``, ``metrics.json`` and ``history.tsv`` are written and all
ranks have met; the hook reads (and may act on) the trainer's state: ``trainer.epoch`` is then the
number of epochs completed, ``trainer.fresh_start`` whether the run started from scratch rather
than from a checkpoint, ``trainer.history`` the rows so far, and so on.

Hooks are passed to ``Trainer(hooks=...)``, or named in the environment, which reaches every
process of a training (Nextflow tasks through a config's ``env`` scope, ``torchrun`` workers)::

    SEQ2FUNC_TRAIN_HOOKS=package.module:callable[,package.module:callable...]

Each comma-separated ``module:callable`` spec is imported (the module must be importable, e.g. via
``PYTHONPATH``; the attribute may be dotted, ``module:Class.method``) and appended to the trainer's
hooks, in order. A spec that is malformed, cannot be imported or names something that is not
callable is an :class:`~seq2func.errors.InputError`, raised before training starts. The test suite
injects its kill hook this way (``tests/hooks.py``: SIGKILL after a given epoch's checkpoint).
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Callable, Mapping

from seq2func.errors import InputError

HOOKS_ENV = "SEQ2FUNC_TRAIN_HOOKS"

TrainHook = Callable[[Any], None]
"""A hook: called with the :class:`~seq2func.train.engine.Trainer` at the end of every epoch."""


def load_hook(spec: str) -> TrainHook:
    """Import the callable a ``module:callable`` spec names.

    Parameters
    ----------
    spec : str
        ``package.module:name`` (``name`` may be dotted: ``module:Class.method``).

    Returns
    -------
    callable
        The named object.

    Raises
    ------
    InputError
        The spec is malformed, the module cannot be imported, the attribute is missing or is not
        callable.
    """
    module_name, sep, attr = spec.partition(":")
    module_name, attr = module_name.strip(), attr.strip()
    if not sep or not module_name or not attr:
        raise InputError(HOOKS_ENV, spec, "not a module:callable spec")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise InputError(HOOKS_ENV, spec, f"cannot import {module_name}: {err}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InputError(HOOKS_ENV, spec, f"{module_name} has no attribute {attr}") from None
    if not callable(obj):
        raise InputError(HOOKS_ENV, spec, f"{attr} is not callable")
    return obj


def hooks_from_env(environ: Mapping[str, str] | None = None) -> list[TrainHook]:
    """The hooks ``SEQ2FUNC_TRAIN_HOOKS`` names, in order (none when it is unset or blank).

    Parameters
    ----------
    environ : mapping, optional
        The environment to read (default: ``os.environ``).

    Returns
    -------
    list of callables
        One per non-empty comma-separated spec.

    Raises
    ------
    InputError
        A spec cannot be loaded (see :func:`load_hook`).
    """
    value = (os.environ if environ is None else environ).get(HOOKS_ENV, "")
    return [load_hook(spec.strip()) for spec in value.split(",") if spec.strip()]
