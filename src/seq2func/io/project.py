"""Files of the pipeline checkout that the package reads (the parameter and samplesheet schemas)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from seq2func.errors import InputError

PARAMS_SCHEMA = "nextflow_schema.json"
INPUT_SCHEMA = "assets/schema_input.json"


def assets_dir() -> Path:
    """The pipeline's ``assets/`` folder (bundled motifs, model configs): ``$SEQ2FUNC_ASSETS`` if
    set (the container image sets it: the package is installed there, not the checkout), else the
    checkout's ``assets/``."""
    env = os.environ.get("SEQ2FUNC_ASSETS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "assets"


def find_project_file(rel: str) -> Path:
    """A file of the pipeline checkout: ``$SEQ2FUNC_PROJECT_DIR/rel``, else next to the running
    ``bin/`` script (Nextflow puts ``<projectDir>/bin`` on PATH), else above the package.

    Parameters
    ----------
    rel : str
        The file's path relative to the pipeline checkout (e.g. ``assets/schema_input.json``).

    Returns
    -------
    pathlib.Path
        The first candidate that is a file.

    Raises
    ------
    InputError
        When no candidate exists.
    """
    candidates = []
    if os.environ.get("SEQ2FUNC_PROJECT_DIR"):
        candidates.append(Path(os.environ["SEQ2FUNC_PROJECT_DIR"]) / rel)
    if sys.argv and sys.argv[0]:
        candidates.append(Path(sys.argv[0]).resolve().parent.parent / rel)
    candidates.append(Path(__file__).resolve().parents[3] / rel)
    for c in candidates:
        if c.is_file():
            return c
    raise InputError(rel, None, "pipeline file not found (pass it explicitly, e.g. --schema)")
