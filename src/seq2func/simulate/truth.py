"""What other stages read from a simulated world's ``truth.json``.

EVALUATE (given ``--truth``) reports each track's ceiling on exactly the chromosomes it scored and
compares gene-level predictions with the truth expression; the report and the benchmarks read
the same numbers through these functions.
"""

from __future__ import annotations

import json
import os
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from seq2func.simulate.tracks import ceiling_from_moments


def read_truth(path: str | os.PathLike) -> dict:
    """The parsed truth.json of a simulated world.

    Parameters
    ----------
    path : str or os.PathLike
        The world's ``truth.json``.

    Returns
    -------
    dict
        The JSON document.
    """
    with open(path) as fh:
        return json.load(fh)


def track_ceilings(truth: dict, track_ids: Sequence[str], chroms: Iterable[str]) -> dict[str, dict]:
    """Ceilings of the transformed, binned signal of each track over ``chroms`` together.

    Parameters
    ----------
    truth : parsed truth.json.
    track_ids : tracks to report (unknown ones are left out).
    chroms : the chromosomes scored (e.g. the test split's).

    Returns
    -------
    dict track_id -> ``{"n_bins", "ceiling", "sequence_ceiling", "chroms"}``; ``ceiling`` is the
    best Pearson R any predictor reaches against the observed (transformed) bins,
    ``sequence_ceiling`` that of the noiseless expected track. Tracks of a truth.json written
    before per-chromosome ceilings existed are left out.
    """
    chroms = sorted(set(chroms))
    by_id = {t["track_id"]: t for t in truth.get("tracks", [])}
    out = {}
    for tid in track_ids:
        per = ((by_id.get(tid) or {}).get("ceilings") or {}).get("chroms") or {}
        mom = [per[c]["moments"] for c in chroms if c in per and "moments" in per[c]]
        if not mom:
            continue
        out[tid] = {**ceiling_from_moments(np.sum(np.asarray(mom, dtype=np.float64), axis=0)), "chroms": chroms}
    return out


def reference_log2x(truth: dict) -> pd.DataFrame:
    """Truth expression of the reference genome: genes x cell types, log2 of the linear level ``x``.

    Parameters
    ----------
    truth : dict
        Parsed truth.json (its ``genes`` table and ``cell_types``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``gene_id``, one float column per cell type.
    """
    g = truth["genes"]
    cols = g["columns"]
    i_id, i_x = cols.index("gene_id"), cols.index("ref_log2x")
    names = [c["name"] for c in truth["cell_types"]]
    return pd.DataFrame([r[i_x] for r in g["rows"]], index=pd.Index([r[i_id] for r in g["rows"]], name="gene_id"),
                        columns=names, dtype=float)
