#!/usr/bin/env python3
"""TRAIN data scaling: the gene-level skill of pretraining against the number of training genes, at
equal compute.

Basenji's gene-level result (predicted CAGE at each test gene's TSS bins against its expression)
needs the model to learn promoter and enhancer strength from the genes it trains on; the small
world's training chromosome holds 360 of them. This script pretrains the same model on worlds whose
training chromosome (chr1) is ``--train-mb`` long (default 3, 6 and 24 Mb: 180, 360 and 1,440
genes). The validation and test chromosomes are byte-identical in every world (each chromosome is
generated from its own seed; ``test_chromosome_identical`` checks the sha256 the datasets record),
and the number of pretraining epochs is scaled so every point trains on the same number of windows
(``--epochs`` at the scale's own training chromosome). Each point is ``train_accuracy.py``'s
measurement: the test R over the noise ceiling per assay and the gene level per cell type.

Claims measured (keys of the JSON):

* ``points``: per training-chromosome length: ``train_genes``, ``train_windows``, ``epochs``,
  ``windows_seen``, ``test_r_over_ceiling_by_assay``, ``gene_level_fraction_of_ceiling_mean`` and
  ``gene_level_truth_spearman_mean`` (the model's gene-level Spearman against the truth expression,
  mean over the compendium cell types), ``validation_stops_improving_epoch``;
* ``gene_level_fraction_of_ceiling_by_train_genes``: training genes -> the mean fraction of the ceiling.

Run (writes ``benchmarks/results/train_scaling.json``)::

    python benchmarks/train_scaling.py [--train-mb 3,6,24] [--epochs 60] [--assay-weights CAGE=10] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import _train_common as tc
import train_accuracy
from _common import Timer, nanmean

from seq2func.simulate.config import config_for_scale

NAME = "train_scaling"


def parse_args(argv=None) -> argparse.Namespace:
    """This script's options: ``train_accuracy.py``'s and ``--train-mb``.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    ap = train_accuracy.parser(NAME, __doc__)
    ap.add_argument("--train-mb", default="3,6,24",
                    help="comma-separated lengths of the training chromosome (Mb), one pretraining each")
    args = tc.finish_options(ap.parse_args(argv), NAME)
    args.train_mb = [float(x) for x in str(args.train_mb).split(",") if x]
    return args


def point_epochs(epochs: int, base_mb: float, mb: float) -> int:
    """Epochs on a ``mb``-long training chromosome that see as many windows as ``epochs`` on ``base_mb``.

    Parameters
    ----------
    epochs
        Epochs at the scale's own training chromosome.
    base_mb, mb
        The scale's training chromosome length and this point's (Mb).
    """
    return max(1, int(round(epochs * base_mb / mb)))


def point_summary(setup: tc.Setup, mb: float, r: dict) -> dict:
    """The headline numbers of one point from ``train_accuracy.measure``'s result.

    Parameters
    ----------
    setup
        The point's world and dataset.
    mb
        Its training chromosome length (Mb).
    r
        ``train_accuracy.measure``'s result for it.
    """
    gl = r["pretrain"]["gene_level_by_cell_type"]
    genes = setup.truth["genes"]
    chrom = genes["columns"].index("chrom")
    n_genes = sum(row[chrom] == tc.SPLIT["train"] for row in genes["rows"])
    windows = int(setup.ds.split("train").size)
    return {"train_chrom_mb": mb, "train_genes": n_genes, "train_windows": windows,
            "epochs": setup.args.epochs, "windows_seen": windows * setup.args.epochs,
            "steps": r["pretrain"]["steps"],
            "test_r_over_ceiling": r["test_r_over_ceiling"],
            "test_r_over_ceiling_by_assay": r["test_r_over_ceiling_by_assay"],
            "gene_level_fraction_of_ceiling_mean": nanmean(g["fraction_of_ceiling"] for g in gl.values()),
            "gene_level_truth_spearman_mean": nanmean(g["truth_spearman_r"] for g in gl.values()),
            "gene_level_by_cell_type": gl,
            "validation_stops_improving_epoch": r["validation_stops_improving_epoch"],
            "test_chrom_sha256": setup.ds.manifest["genome"]["chroms"][tc.SPLIT["test"]]["sha256"]}


def measure(args: argparse.Namespace, result: dict, workdir: Path, timer: Timer) -> None:
    """One pretraining and evaluation per ``--train-mb``; writes ``points`` and the summaries.

    Parameters
    ----------
    args
        Parsed options.
    result
        The run's result (updated).
    workdir
        Work directory (one sub-directory per point).
    timer
        The run's stage timer (stages summed over the points).
    """
    base_mb = config_for_scale(args.scale).chrom_lengths[0] / 1e6
    points = []
    result["points"] = points
    for mb in args.train_mb:
        sub = argparse.Namespace(**{**vars(args), "train_chrom_mb": mb,
                                    "epochs": point_epochs(args.epochs, base_mb, mb)})
        setup = tc.Setup.build(sub, workdir / f"train_{mb:g}mb", timer)
        if not points:
            result["params"] = setup.params()
        r: dict = {}
        train_accuracy.measure(setup, r, timer)
        points.append(point_summary(setup, mb, r))
        tc.log.info("train chromosome %g Mb (%d genes): gene level %.3f of the ceiling, CAGE %.3f",
                    mb, points[-1]["train_genes"], points[-1]["gene_level_fraction_of_ceiling_mean"],
                    points[-1]["test_r_over_ceiling_by_assay"]["CAGE"])
    result["test_chromosome_identical"] = len({p["test_chrom_sha256"] for p in points}) == 1
    result["gene_level_fraction_of_ceiling_by_train_genes"] = {
        str(p["train_genes"]): p["gene_level_fraction_of_ceiling_mean"] for p in points}


def main(argv=None) -> int:
    """Run the scaling benchmark.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    args = parse_args(argv)
    return tc.run_benchmark(NAME, args, lambda result, workdir, timer: measure(args, result, workdir, timer))


if __name__ == "__main__":
    sys.exit(main())
