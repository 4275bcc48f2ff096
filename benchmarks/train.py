#!/usr/bin/env python3
"""TRAIN benchmark: accuracy against the simulator's noise ceiling, transfer vs scratch, data
loading vs model consumption, and (on a GPU) bf16 throughput and model FLOP utilisation.

The driver: one run, in one process, on one simulated world (``--scale small``: 3 chromosomes,
15 Mb; chr1 = train, chr2 = valid, chr3 = test), runs the per-claim scripts' steps in order and
writes their sections into one JSON. The world, the dataset, the noise ceilings and the pretrained
checkpoint are made once and shared by the steps (fine-tuning starts from the checkpoint).

1. **simulate** the world, **prepare** a profile dataset (``_train_common``: 16,384-bp windows,
   128-bp bins, ``crop_bp`` 1,024; the default stride equals the target span, so the target regions
   tile the chromosome exactly);
2. ``train_accuracy.py``: the **noise ceiling** of exactly the evaluated bins (``_ceiling``),
   **pretrain** ``basenji_small`` on the compendium tracks and **evaluate** it on the test
   chromosome: ``test_r_over_ceiling`` (per assay: ``test_r_over_ceiling_by_assay``),
   ``validation_stops_improving_epoch``, ``pretrain``, ``ceiling_check``;
3. ``train_finetune.py``: **fine-tune** every target cell type at ``--target-fraction`` (0.1) of its
   training windows with every strategy and evaluate each: ``finetune_minus_scratch_r``,
   ``finetune``, and Basenji's gene-level result per cell type (``gene_level``,
   ``gene_level_fraction_of_ceiling_mean``);
4. ``train_throughput.py``: the training loop fed by the real **loader vs in-memory** tensors:
   ``loader_vs_memory_ratio``, ``throughput``;
5. ``train_mfu.py``: the **FLOP counter** checked on the CPU (``flop_counter_check``) and, on a GPU,
   ``basenji_131k`` bf16 steps/s and **MFU** (``gpu``).

``--skip finetune,throughput`` leaves steps 3 and 4 out. Each step also runs alone (see its
script's docstring); this driver accepts every option of every step.

Writes ``benchmarks/results/train.json`` (``--quick``: ``train_quick.json``, a minutes-long smoke
run on the tiny world); a failed run writes ``<out>.partial.json``, never over a finished result.

    python benchmarks/train.py [--workdir DIR] [--keep] [--scale small] [--seed 1] [--epochs 60] [--quick]
"""

from __future__ import annotations

import sys

import _train_common as tc
import train_accuracy
import train_finetune
import train_mfu
import train_throughput


def parse_args(argv=None):
    """Every step's options (the same names and defaults as each script's) and ``--skip``.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    ap = tc.parser(__doc__)
    tc.add_base_options(ap, "train")
    tc.add_dataset_options(ap)
    tc.add_model_options(ap)
    tc.add_pretrain_options(ap)
    tc.add_finetune_options(ap)
    tc.add_throughput_options(ap)
    tc.add_gpu_options(ap)
    ap.add_argument("--skip", default="", help="comma-separated stages to skip: finetune,throughput")
    return tc.finish_options(ap.parse_args(argv), "train")


def measure(setup: tc.Setup, result: dict, timer) -> None:
    """Every step in order, sharing ``setup`` (world, dataset, ceilings) and the pretrained checkpoint.

    Parameters
    ----------
    setup
        The run's world, dataset and options.
    result
        The run's result (updated).
    timer
        The run's stage timer.
    """
    skip = {s.strip() for s in setup.args.skip.split(",") if s.strip()}
    train_accuracy.measure(setup, result, timer)
    if "finetune" not in skip:
        train_finetune.measure(setup, result, timer, setup.workdir / "pretrain" / "model.pt")
    if "throughput" not in skip:
        train_throughput.measure(setup, result, timer)
    train_mfu.measure(setup.args, len(setup.comp), result, timer)


def main(argv=None) -> int:
    """Run every TRAIN step and write ``train.json``.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).
    """
    return tc.run_with_setup("train", parse_args(argv), measure)


if __name__ == "__main__":
    sys.exit(main())
