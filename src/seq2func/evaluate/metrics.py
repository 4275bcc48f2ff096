"""Track level: predictions of the evaluated windows through :class:`seq2func.predict.Predictor`, the
observed targets, and per-track Pearson/Spearman R (AUROC/AUPRC for classification models).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from seq2func.personal.stats import pearson_r
from seq2func.predict import Predictor
from seq2func.prepare import PreparedDataset, open_dataset
from seq2func.train.engine import adapt_target

TRACK_COLUMNS = ["track_id", "cell_type", "assay", "n", "pearson_r", "pearson_r_log1p", "spearman_r", "auroc", "auprc",
                 "mean_observed", "mean_predicted"]

TRUTH_TRACK_COLUMNS = ["ceiling", "sequence_ceiling", "fraction_of_ceiling"]


# --------------------------------------------------------------------------- prediction
@torch.no_grad()
def predict(
    model: torch.nn.Module,
    ds,
    split: str | None = "test",
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    rc_average: bool = False,
    indices: np.ndarray | None = None,
    rc_perm: Sequence[int] | None = None,
    bf16: bool = False,
) -> np.ndarray:
    """Model outputs for the windows of ``split`` (or ``indices``), float32 ``(n_windows, bins, tracks)``.

    A thin wrapper of :class:`seq2func.predict.Predictor`: the windows' codes are read
    ``batch_size`` at a time and predicted. Profile models give their output bins; classification
    (logits) and scalar models one bin. ``rc_average`` averages with the reverse-complement
    prediction (bins reversed back, stranded track pairs swapped via ``rc_perm`` or the
    ``rc_index`` of ``model.seq2func_tracks``). The model's train/eval mode is restored.

    Parameters
    ----------
    model : torch.nn.Module
        A seq2func model.
    ds : PreparedDataset or str or os.PathLike
        The dataset (or its directory).
    split : str or None, optional
        Split to predict; ``None``: every window. Ignored when ``indices`` is given.
    batch_size : int, optional
        Windows per forward pass.
    device : str or torch.device, optional
        Where to run the model.
    rc_average : bool, optional
        Average with the reverse-complement prediction.
    indices : np.ndarray or None, optional
        Window indices to predict, in this order.
    rc_perm : Sequence[int] or None, optional
        Output column each column swaps with under reverse complement.
    bf16 : bool, optional
        Run under bfloat16 autocast.

    Returns
    -------
    np.ndarray
        float32 ``(n_windows, n_bins, n_tracks)``; ``(0, 1, 0)`` when there is no window.
    """
    if not isinstance(ds, PreparedDataset):
        ds = open_dataset(ds)
    idx = np.asarray(indices if indices is not None else (ds.split(split) if split else np.arange(len(ds))), dtype=np.int64)
    predictor = Predictor(model, device=device, batch_size=batch_size, bf16=bf16, rc_perm=rc_perm)
    outs = [predictor.ensemble(np.asarray(ds.sequences[idx[s:s + batch_size]], dtype=np.uint8), rc_average=rc_average)
            for s in range(0, idx.size, batch_size)]
    if not outs:
        return np.zeros((0, 1, 0), dtype=np.float32)
    return np.concatenate(outs).astype(np.float32, copy=False)


def observed(ds, indices: np.ndarray, cols: Sequence[int], output_kind: str, n_out_bins: int) -> np.ndarray:
    """Observed targets shaped like :func:`predict`'s output (central bins / labels / log1p sums).

    Parameters
    ----------
    ds : PreparedDataset
        The dataset.
    indices : np.ndarray
        Window indices, in the order of the predictions.
    cols : Sequence[int]
        Target columns of the model's tracks, in output order.
    output_kind : str
        The model's ``output_kind``: ``profile``, ``classification`` or ``scalar``.
    n_out_bins : int
        Output bins of a profile model (the central bins are kept).

    Returns
    -------
    np.ndarray
        float32 ``(n_windows, n_out_bins, n_tracks)``; one bin for classification and scalar models.
    """
    y = torch.from_numpy(np.asarray(ds.targets[np.asarray(indices)], dtype=np.float32)[:, :, list(cols)])
    y = adapt_target(y, output_kind, n_out_bins if output_kind == "profile" else None)
    if output_kind != "profile":
        y = y[:, None, :]
    return y.numpy()


# --------------------------------------------------------------------------- metrics
def track_metrics(pred: np.ndarray, obs: np.ndarray, tracks: Sequence[dict], classification: bool = False) -> pd.DataFrame:
    """Per-track metrics over all bins flattened (see the module docstring).

    Parameters
    ----------
    pred : np.ndarray
        Predictions ``(n_windows, n_bins, T)``.
    obs : np.ndarray
        Observed values of the same shape.
    tracks : Sequence[dict]
        ``track_id``, ``cell_type``, ``assay`` of each column (missing ones named ``track<t>``).
    classification : bool, optional
        Also compute AUROC / AUPRC against ``obs > 0.5``.

    Returns
    -------
    pd.DataFrame
        One row per track, columns :data:`TRACK_COLUMNS` (NaN where a metric is undefined).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score  # deferred: sklearn is heavy; only for metrics

    T = pred.shape[-1]
    P = pred.reshape(-1, T).astype(np.float64)
    O = obs.reshape(-1, T).astype(np.float64)
    rows = []
    for t in range(T):
        ok = np.isfinite(P[:, t]) & np.isfinite(O[:, t])
        p, o = P[ok, t], O[ok, t]
        r = float(pearson_r(p, o)) if p.size else float("nan")
        rl = float(pearson_r(np.log1p(np.maximum(p, 0)), np.log1p(np.maximum(o, 0)))) if p.size else float("nan")
        if p.size >= 3 and np.ptp(p) > 0 and np.ptp(o) > 0:
            sp = float(spearmanr(p, o).statistic)
        else:
            sp = float("nan")
        au = ap = float("nan")
        if classification:
            lab = o > 0.5
            if lab.any() and not lab.all():
                au = float(roc_auc_score(lab, p))
                ap = float(average_precision_score(lab, p))
        tr = tracks[t] if t < len(tracks) else {}
        rows.append(dict(track_id=tr.get("track_id", f"track{t}"), cell_type=tr.get("cell_type", ""), assay=tr.get("assay", ""),
                         n=int(p.size), pearson_r=r, pearson_r_log1p=rl, spearman_r=sp, auroc=au, auprc=ap,
                         mean_observed=float(o.mean()) if o.size else float("nan"),
                         mean_predicted=float(p.mean()) if p.size else float("nan")))
    return pd.DataFrame(rows, columns=TRACK_COLUMNS)
