#!/usr/bin/env python3
"""TRAIN accuracy: how close pretraining comes to the simulator's noise ceiling, per assay, and when
validation stops improving.

On the simulated world (``--scale small``: chr1 train, chr2 valid, chr3 test; see
``_train_common``), one run:

1. **noise ceiling of exactly the evaluated quantity** (``_ceiling``): per track, the Pearson R of
   the best possible predictor ``E[f(K) | L]`` against the stored targets of the scored test bins
   (and of the validation bins, for the learning curve); ``ceiling_check`` records that the stored
   targets equal the simulator's observed coverage binned and transformed, bit for bit;
2. **pretrain** ``basenji_small`` (``--model``, ``--model-overrides``) on the compendium tracks
   (``seq2func.train.pretrain``) and **evaluate** it on the test chromosome
   (``seq2func.evaluate.evaluate``): per track test R, ceiling, R / ceiling.

Claims measured (keys of the JSON):

* ``test_r_over_ceiling`` = mean over the compendium tracks of test R / ceiling;
  ``test_r_over_ceiling_atac``, ``_cage`` and ``test_r_over_ceiling_by_assay`` per assay (aim: >= 0.8
  for every assay); ``test_r_over_ceiling_plugin`` against the flattering plug-in ceiling;
* ``validation_stops_improving_epoch``: the epoch with the best validation R; the learning curve
  (``pretrain.learning_curve``) is the validation R per epoch from ``metrics.json``, also divided by
  the same ceiling computed on the validation chromosome;
* gene level (Basenji's result, ``pretrain.gene_level`` and ``pretrain.gene_level_by_cell_type``):
  per cell type, the predicted CAGE summed over the TSS bins of each test gene against the observed
  CAGE there and against the truth expression; ``ceiling_spearman_r`` is the truth's own R against
  the observed values, ``fraction_of_ceiling`` the model's share of it. (The top-level ``gene_level``
  of ``train.json``, with the target cell types' fine-tuned models, is ``train_finetune.py``'s.)

Run alone (writes ``benchmarks/results/train_accuracy.json``, ``--quick``: ``train_accuracy_quick.json``)::

    python benchmarks/train_accuracy.py [--workdir DIR --keep] [--scale small] [--epochs 60] [--quick]

With ``--workdir DIR`` the world, the dataset and the pretrained checkpoint
(``DIR/pretrain/model.pt``) stay in ``DIR``, for ``train_finetune.py --workdir DIR``.
``python benchmarks/train.py`` runs this step first, then the others.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import _train_common as tc
from _common import Timer, nanmean

from seq2func.train import pretrain

NAME = "train_accuracy"


def parser(name: str = NAME, doc: str = __doc__):
    """The parser of this script's options: the base, dataset, model and pretraining groups of
    ``_train_common`` (``train_scaling.py`` adds its own to it).

    Parameters
    ----------
    name
        The result name (default output ``benchmarks/results/<name>.json``).
    doc
        The docstring whose first paragraph describes the script.
    """
    ap = tc.parser(doc)
    tc.add_base_options(ap, name)
    tc.add_dataset_options(ap)
    tc.add_model_options(ap)
    tc.add_pretrain_options(ap)
    return ap


def parse_args(argv=None):
    """This script's options (see :func:`parser`).

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    return tc.finish_options(parser().parse_args(argv), NAME)


def learning_curve(metrics_json: Path, valid_ceiling: dict | None) -> list[dict]:
    """Per epoch of a training run: losses, validation R and R / ceiling, lr, windows/s, cumulative seconds.

    Parameters
    ----------
    metrics_json
        The run's ``metrics.json``.
    valid_ceiling
        The validation split's ceilings (:meth:`_train_common.Setup.ceiling`), or ``None``.
    """
    m = json.loads(metrics_json.read_text())
    tracks = m["tracks"]
    ceil = [valid_ceiling["tracks"][t]["ceiling"] if valid_ceiling else None for t in tracks]
    out = []
    wall = 0.0
    for h in m["history"]:
        wall += float(h.get("wall_s") or 0.0)
        rpt = h.get("valid_r_per_track") or []
        ratio = nanmean([r / c for r, c in zip(rpt, ceil) if r is not None and c]) if valid_ceiling else None
        out.append({"epoch": h["epoch"], "step": h["step"], "train_loss": h["train_loss"], "valid_loss": h["valid_loss"],
                    "valid_r": h["valid_r"], "valid_r_over_ceiling": ratio, "lr": h["lr"],
                    "windows_per_s": h["windows_per_s"], "train_s": h["train_s"], "valid_s": h["valid_s"],
                    "cumulative_s": round(wall, 1)})
    return out


def _truth_vs_exact(test_ceil: dict, ev: dict) -> float:
    """Largest difference between the truth's own per-chromosome ceiling that EVALUATE reports (0-aligned
    bins) and the exact ceiling of the scored bins."""
    by_id = {t["track_id"]: t for t in ev["tracks"]}
    return max(abs(by_id[t]["ceiling"] - c["ceiling"]) for t, c in test_ceil["tracks"].items()
               if t in by_id and by_id[t].get("ceiling") is not None and c["ceiling"] is not None)


def _pretrain_record(res, ev: dict, rows: list[dict], agg: dict, curve: list[dict]) -> dict:
    """The ``pretrain`` section: test R, per-assay and per-track ratios, gene level, training summary."""
    s = res.summary
    return {
        "test_r_mean": ev["mean_pearson_r"], "test_r_log1p_mean": ev["mean_pearson_r_log1p"],
        "by_assay": agg, "tracks": rows,
        "gene_level": {"observed_from": ev["gene_level"]["observed_from"], "n_genes": ev["gene_level"]["n_genes"],
                       "mean_pearson_r": nanmean(g["pearson_r"] for g in ev["gene_level"]["tracks"])},
        "gene_level_by_cell_type": tc.gene_level_by_cell_type(ev),
        "best_epoch": res.best_epoch + 1, "epochs_run": res.epochs_run, "steps": res.steps,
        "best_valid_r": res.best_metric, "total_params": s["total_params"], "device": s["device"],
        "train_windows_per_s_median": statistics.median([h["windows_per_s"] for h in curve]) if curve else None,
        "learning_curve": curve,
    }


def measure(setup: tc.Setup, result: dict, timer: Timer) -> None:
    """Ceilings, pretraining and its evaluation; writes ``ceiling_check``, ``test_r_over_ceiling*``,
    ``pretrain`` and ``validation_stops_improving_epoch`` into ``result``.

    The checkpoint is ``<workdir>/pretrain/model.pt``.

    Parameters
    ----------
    setup
        The run's world, dataset and options.
    result
        The run's result (updated).
    timer
        The run's stage timer (stages ``ceiling``, ``pretrain``, ``evaluate_pretrain``).
    """
    with timer("ceiling"):
        test_ceil = setup.ceiling("test")
        valid_ceil = setup.ceiling("valid")
    result["ceiling_check"] = {k: v for k, v in test_ceil.items() if k != "tracks"}
    result["ceiling_check"]["valid"] = {k: v for k, v in valid_ceil.items() if k != "tracks"}

    pre_dir = setup.workdir / "pretrain"
    with timer("pretrain"):
        res = pretrain(setup.ds, setup.fitted, pre_dir, params=setup.pretrain_params(), resume=False)
    with timer("evaluate_pretrain"):
        ev = tc.evaluate_ckpt(pre_dir / "model.pt", setup.ds, setup.workdir / "evaluate_pretrain", setup.world, 16)
    rows, agg = tc.summarise_tracks(ev, test_ceil)
    result["test_r_over_ceiling"] = agg["all"]["ratio"]
    result["test_r_over_ceiling_atac"] = agg["ATAC"]["ratio"]
    result["test_r_over_ceiling_cage"] = agg["CAGE"]["ratio"]
    result["test_r_over_ceiling_plugin"] = agg["all"]["ratio_plugin"]
    result["test_r_over_ceiling_by_assay"] = {a: agg[a]["ratio"] for a in ("ATAC", "CAGE")}
    result["ceiling_check"]["truth_vs_exact_max_abs_diff"] = _truth_vs_exact(test_ceil, ev)
    curve = learning_curve(pre_dir / "metrics.json", valid_ceil)
    result["pretrain"] = _pretrain_record(res, ev, rows, agg, curve)
    result["validation_stops_improving_epoch"] = res.best_epoch + 1
    tc.log.info("pretrain: test R %.4f, R / ceiling %.4f (ATAC %.4f, CAGE %.4f)", ev["mean_pearson_r"],
                agg["all"]["ratio"], agg["ATAC"]["ratio"], agg["CAGE"]["ratio"])


def main(argv=None) -> int:
    """Run the accuracy benchmark alone.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    return tc.run_with_setup(NAME, parse_args(argv), measure)


if __name__ == "__main__":
    sys.exit(main())
