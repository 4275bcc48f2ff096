#!/usr/bin/env python3
"""TRAIN transfer: fine-tuning the pretrained model on a new cell type with 10% of its data beats
training from scratch on the same data; and Basenji's gene-level result per cell type.

On the simulated world and the model ``train_accuracy.py`` pretrained on its compendium tracks,
every target cell type (``--cell-types``) is fine-tuned at ``--target-fraction`` (0.1) of its
training windows with every strategy (``--strategies``: head_only, full, gradual_unfreeze, lora, and
scratch, a fresh model; the same epochs and steps), and each is evaluated on the test chromosome.

Claims measured (keys of the JSON):

* ``finetune_minus_scratch_r``: per target cell type, the best fine-tuning strategy's mean test R
  minus scratch's (> 0: transfer helps); ``finetune.table`` per cell type x strategy, ``finetune.best``;
* ``gene_level`` and ``gene_level_fraction_of_ceiling_mean``: Basenji's gene-level result per cell
  type (predicted CAGE summed over the TSS bins of each test gene vs the observed CAGE and the truth
  expression; ``fraction_of_ceiling`` = Spearman R / the truth's own): compendium cell types from the
  pretrained model, target cell types from their best fine-tuned model.

Run alone, it needs the pretrained checkpoint of a ``train_accuracy.py`` run with the same world and
dataset options (writes ``benchmarks/results/train_finetune.json``, ``--quick``:
``train_finetune_quick.json``)::

    python benchmarks/train_accuracy.py --workdir DIR [--quick]
    python benchmarks/train_finetune.py --workdir DIR [--quick] [--ft-epochs 10] [--cell-types neuron]

(``--checkpoint CKPT`` names another checkpoint.) Run alone, the pretrained model is evaluated
again (stage ``evaluate_pretrain``) for the compendium cell types' gene level; ``python
benchmarks/train.py`` shares it and the test ceilings with ``train_accuracy.py`` instead.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import _train_common as tc
from _common import Timer, nanmean

from seq2func.train import finetune

NAME = "train_finetune"


def parse_args(argv=None):
    """This script's options: the base, dataset, model, pretraining and fine-tuning groups, ``--checkpoint``.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    ap = tc.parser(__doc__)
    tc.add_base_options(ap, NAME)
    tc.add_dataset_options(ap)
    tc.add_model_options(ap)
    tc.add_pretrain_options(ap)
    tc.add_finetune_options(ap)
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="the pretrained checkpoint (default: WORKDIR/pretrain/model.pt of train_accuracy.py "
                         "--workdir WORKDIR)")
    args = tc.finish_options(ap.parse_args(argv), NAME)
    if args.checkpoint is None and args.workdir is None:
        ap.error("needs a pretrained checkpoint: --workdir DIR of a train_accuracy.py --workdir DIR run, or --checkpoint")
    args.checkpoint = args.checkpoint or args.workdir / "pretrain" / "model.pt"
    if not args.checkpoint.is_file():
        ap.error(f"no pretrained checkpoint at {args.checkpoint}: run train_accuracy.py --workdir DIR first")
    return args


def _finetune_one(setup: tc.Setup, ckpt: Path, out: Path, ct: str, strat: str, test_ceil: dict) -> dict:
    """Fine-tune one cell type with one strategy, evaluate it; its row of ``finetune.table``."""
    t0 = time.perf_counter()
    res = finetune(setup.ds, ckpt, out, cell_type=ct, strategy=strat, target_fraction=setup.args.target_fraction,
                   params=setup.finetune_params(), resume=False)
    t1 = time.perf_counter()
    ev = tc.evaluate_ckpt(out / "model.pt", setup.ds, out / "evaluate", setup.world, 16)
    t2 = time.perf_counter()
    rows, agg = tc.summarise_tracks(ev, test_ceil)
    s = res.summary
    tc.log.info("finetune %s %s: test R %.4f (%.0f s)", ct, strat, ev["mean_pearson_r"] or float("nan"), t2 - t0)
    return {"cell_type": ct, "strategy": strat, "test_r": ev["mean_pearson_r"],
            "test_r_log1p": ev["mean_pearson_r_log1p"], "test_r_over_ceiling": agg["all"]["ratio"],
            "tracks": {x["track_id"]: x["test_r"] for x in rows},
            "best_valid_r": res.best_metric, "best_epoch": res.best_epoch + 1, "epochs_run": res.epochs_run,
            "steps": res.steps, "n_train_windows": s["n_train_windows"],
            "trainable_params": s["trainable_params"], "total_params": s["total_params"],
            "gene_level_r": nanmean(g["pearson_r"] for g in ev["gene_level"]["tracks"]),
            "gene_level": tc.gene_level_by_cell_type(ev),
            "train_s": round(t1 - t0, 1), "evaluate_s": round(t2 - t1, 1)}


def best_vs_scratch(table: list[dict], cell_types: list[str]) -> tuple[dict, dict]:
    """The best fine-tuning strategy per cell type, and its test R minus scratch's.

    Parameters
    ----------
    table
        ``finetune.table`` rows.
    cell_types
        The cell types fine-tuned.

    Returns
    -------
    ``best`` (cell type -> strategy, test R, scratch's test R) and ``finetune_minus_scratch_r``.
    """
    diff, best = {}, {}
    for ct in cell_types:
        rows = [r for r in table if r["cell_type"] == ct]
        scratch = next((r for r in rows if r["strategy"] == "scratch"), None)
        ft = [r for r in rows if r["strategy"] != "scratch" and r["test_r"] is not None]
        if ft:
            b = max(ft, key=lambda r: r["test_r"])
            best[ct] = {"strategy": b["strategy"], "test_r": b["test_r"]}
            if scratch and scratch["test_r"] is not None:
                diff[ct] = b["test_r"] - scratch["test_r"]
                best[ct]["scratch_test_r"] = scratch["test_r"]
    return best, diff


def run_finetune(setup: tc.Setup, ckpt: Path, root: Path, test_ceil: dict) -> dict:
    """Every cell type x strategy (``<root>/<cell type>/<strategy>``), and the best against scratch.

    Parameters
    ----------
    setup
        The run's world, dataset and options.
    ckpt
        The pretrained checkpoint.
    root
        Output folder of the fine-tuned models.
    test_ceil
        The test split's ceilings.

    Returns
    -------
    ``table``, ``best`` and ``finetune_minus_scratch_r``.
    """
    cell_types = setup.cell_types
    table = [_finetune_one(setup, ckpt, root / ct / strat, ct, strat, test_ceil)
             for ct in cell_types for strat in setup.strategies]
    best, diff = best_vs_scratch(table, cell_types)
    return {"table": table, "best": best, "finetune_minus_scratch_r": diff}


def gene_level(pretrained: dict, ft: dict) -> dict:
    """Basenji's gene-level result per cell type: the pretrained model's, target cell types replaced
    by their best fine-tuned model's (marked ``model``).

    Parameters
    ----------
    pretrained
        The pretrained model's gene level per cell type (``pretrain.gene_level_by_cell_type``).
    ft
        :func:`run_finetune`'s result.
    """
    gl = dict(pretrained)
    for ct, b in ft["best"].items():
        row = next(r for r in ft["table"] if r["cell_type"] == ct and r["strategy"] == b["strategy"])
        gl.update({k: {**v, "model": f"{ct}/{b['strategy']}"} for k, v in row["gene_level"].items() if k == ct})
    return gl


def measure(setup: tc.Setup, result: dict, timer: Timer, ckpt: Path) -> None:
    """Fine-tune and evaluate; writes ``finetune_minus_scratch_r``, ``gene_level``,
    ``gene_level_fraction_of_ceiling_mean`` and ``finetune`` into ``result``.

    Uses ``result["pretrain"]["gene_level_by_cell_type"]`` when ``train_accuracy.measure`` filled it
    (the driver), else evaluates ``ckpt`` (stage ``evaluate_pretrain``).

    Parameters
    ----------
    setup
        The run's world, dataset and options.
    result
        The run's result (updated).
    timer
        The run's stage timer (stage ``finetune``; ``ceiling`` when the ceilings are not computed yet).
    ckpt
        The pretrained checkpoint.
    """
    pretrained = (result.get("pretrain") or {}).get("gene_level_by_cell_type")
    if pretrained is None:
        with timer("evaluate_pretrain"):
            ev = tc.evaluate_ckpt(ckpt, setup.ds, setup.workdir / "evaluate_pretrain", setup.world, 16)
        pretrained = tc.gene_level_by_cell_type(ev)
    with timer("ceiling") if not setup.has_ceiling("test") else contextlib.nullcontext():
        test_ceil = setup.ceiling("test")
    with timer("finetune"):
        ft = run_finetune(setup, ckpt, setup.workdir / "finetune", test_ceil)
    result["finetune_minus_scratch_r"] = ft["finetune_minus_scratch_r"]
    gl = gene_level(pretrained, ft)
    result["gene_level"] = gl
    result["gene_level_fraction_of_ceiling_mean"] = nanmean(v.get("fraction_of_ceiling") for v in gl.values())
    result["finetune"] = {"target_fraction": setup.args.target_fraction, **ft}


def main(argv=None) -> int:
    """Run the transfer benchmark alone, from a pretrained checkpoint.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    args = parse_args(argv)
    return tc.run_with_setup(NAME, args, lambda setup, result, timer: measure(setup, result, timer, args.checkpoint))


if __name__ == "__main__":
    sys.exit(main())
