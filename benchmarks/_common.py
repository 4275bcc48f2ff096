"""Helpers shared by the benchmark scripts (not a benchmark itself).

Importing this module puts the repository's ``src/`` first on ``sys.path`` (so the scripts run
from a checkout without installing the package) and loads only the standard library and numpy:
benchmarks that never build a model (``prepare.py``, ``haplotypes.py``) import it without paying
for torch, and their measurements (peak RSS of a child that imports the package) stay unchanged.

The scripts import it by name (``from _common import ...``): Python puts a script's own folder
first on ``sys.path``, so ``python benchmarks/<script>.py`` finds it from any working directory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
sys.path.insert(0, str(REPO / "src"))


def load_avg() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages, rounded to 2 decimals (``None`` where unavailable)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


class Timer:
    """Wall time per named stage, summed over repeated uses of the same name.

    Parameters
    ----------
    log
        Logger that reports each stage's start and end (with the load average).
    """

    def __init__(self, log: logging.Logger):
        self.log = log
        self.wall: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        """Time the ``with`` block as stage ``name``.

        Parameters
        ----------
        name
            Stage name, the key in :attr:`wall`.
        """
        t = time.perf_counter()
        self.log.info("stage %s ...", name)
        try:
            yield
        finally:
            self.wall[name] = round(self.wall.get(name, 0.0) + time.perf_counter() - t, 2)
            self.log.info("stage %s: %.1f s (load average %s)", name, self.wall[name], load_avg())


def clean(o):
    """A JSON-able copy of ``o``: non-finite floats to ``None``, numpy scalars to Python, paths to strings.

    Parameters
    ----------
    o
        Any nesting of dicts, lists, tuples and scalars (dict keys become strings).

    Returns
    -------
    The cleaned copy.
    """
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, (np.floating,)):
        return clean(float(o))
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, dict):
        return {str(k): clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [clean(v) for v in o]
    if isinstance(o, Path):
        return str(o)
    return o


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson R of two arrays (flattened), over the positions where both are finite.

    Parameters
    ----------
    x, y
        Arrays of the same size.

    Returns
    -------
    R, or NaN when either side is constant.
    """
    x = np.asarray(x, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    d = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / d) if d > 0 else float("nan")


def nanmean(v) -> float:
    """Mean of the finite values of ``v``, skipping ``None``; NaN when none is left.

    Parameters
    ----------
    v
        Iterable of numbers or ``None``.
    """
    v = [float(x) for x in v if x is not None and math.isfinite(float(x))]
    return float(np.mean(v)) if v else float("nan")


def machine_info(threads: int) -> dict:
    """CPUs, library versions, torch threads and device, ``OMP_WAIT_POLICY`` and the load average now.

    Parameters
    ----------
    threads
        The ``--threads`` the script was given (0: all usable CPUs); recorded through
        ``torch_threads``, which reads the value already set.
    """
    import torch  # deferred: heavy, and prepare.py/haplotypes.py import this module without it

    import seq2func  # deferred: the package is found only after the sys.path insert above runs

    info = {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "seq2func": seq2func.__version__,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cuda_available": torch.cuda.is_available(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "load_average_at_start": load_avg(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if torch.cuda.is_available():
        info["gpu_name"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info


def write_result(out: Path, result: dict, completed: bool = True) -> Path:
    """Write ``result`` (cleaned) as indented JSON, atomically; a failed run never replaces a finished one.

    Parameters
    ----------
    out
        The JSON path of a finished run.
    result
        The benchmark's result.
    completed
        False for a failed run: it goes to ``<out stem>.partial.json`` next to ``out``.

    Returns
    -------
    The path written.
    """
    out = Path(out) if completed else Path(out).with_suffix(".partial.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(clean(result), indent=2) + "\n")
    os.replace(tmp, out)
    return out
