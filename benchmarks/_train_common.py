"""What the TRAIN benchmarks share (not a benchmark itself): their command-line options, the
simulated world and the profile dataset, the evaluation summaries, and the runner that writes one
JSON per run.

The scripts that use it (``train.py``, the driver, and one script per claim: ``train_accuracy.py``,
``train_finetune.py``, ``train_throughput.py``, ``train_mfu.py``) import it *first*
(``import _train_common as tc``): it sets ``OMP_WAIT_POLICY=PASSIVE`` unless the caller chose a
policy, which only works before torch is imported.

The world is ``simulate_world(scale, seed)`` (``--scale small``: 3 chromosomes, 15 Mb; chr1 = train,
chr2 = valid, chr3 = test) in ``<workdir>/world`` (reused when its scale and seed match); the
dataset is a profile PREPARE of it in ``<workdir>/dataset`` (16,384-bp windows, 128-bp bins,
``crop_bp`` 1,024 so each predicted bin has >= 1 kb of context; the default stride equals the
target span, so the target regions of consecutive windows tile the chromosome exactly).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

# OpenMP threads that spin while waiting collapse throughput when the CPU is shared (measured on a
# 2-core machine with one other busy process: 2.5 windows/s spinning vs 63 passive), so wait
# passively unless the caller chose otherwise. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from _ceiling import ceilings  # noqa: E402
from _common import RESULTS, Timer, load_avg, machine_info, nanmean, write_result  # noqa: E402

from seq2func.evaluate import evaluate  # noqa: E402
from seq2func.models import load_config  # noqa: E402
from seq2func.prepare import open_dataset  # noqa: E402
from seq2func.prepare.run import PrepareParams, prepare_dataset  # noqa: E402
from seq2func.simulate import simulate_world  # noqa: E402
from seq2func.simulate.config import config_for_scale  # noqa: E402
from seq2func.train import TrainParams  # noqa: E402
from seq2func.train.engine import fit_config_to_dataset  # noqa: E402

log = logging.getLogger("benchmarks.train")

SPLIT = {"train": "chr1", "valid": "chr2", "test": "chr3"}


# --------------------------------------------------------------------------- options
def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser whose description is the first paragraph of ``doc`` (a module docstring).

    Parameters
    ----------
    doc
        The script's module docstring.
    """
    return argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_base_options(ap: argparse.ArgumentParser, name: str) -> None:
    """Work directory, output, world, seeds, ``--quick`` and threads (every script).

    Parameters
    ----------
    ap
        The script's parser.
    name
        The script's result name: the default output is ``benchmarks/results/<name>.json``.
    """
    ap.add_argument("--workdir", type=Path, default=None,
                    help="work directory (default: a fresh /tmp/s2f-train-bench-*; removed unless --keep)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"JSON output (default benchmarks/results/{name}.json, --quick: {name}_quick.json)")
    ap.add_argument("--scale", default="small", choices=["tiny", "small", "large"])
    ap.add_argument("--seed", type=int, default=1, help="world seed (training seeds are --train-seed)")
    ap.add_argument("--train-seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true",
                    help="smoke variant: tiny world, 2 pretraining epochs, 2 fine-tuning epochs")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all usable CPUs)")
    ap.add_argument("--train-chrom-mb", type=float, default=None,
                    help="length of the training chromosome (chr1) in Mb, to vary the training data (default: "
                         "the scale's; the validation and test chromosomes stay as they are)")


def add_dataset_options(ap: argparse.ArgumentParser) -> None:
    """PREPARE's window geometry.

    Parameters
    ----------
    ap
        The script's parser.
    """
    ap.add_argument("--seq-length", type=int, default=16384)
    ap.add_argument("--crop-bp", type=int, default=1024)
    ap.add_argument("--stride", type=int, default=None,
                    help="window stride (default: seq_length - 2 * crop_bp: target regions tile)")
    ap.add_argument("--bin-size", type=int, default=128)


def add_model_options(ap: argparse.ArgumentParser, overrides: bool = True, default: str = "basenji_small") -> None:
    """The model (``--model``) and, with ``overrides``, ``--model-overrides``.

    Parameters
    ----------
    ap
        The script's parser.
    overrides
        Add ``--model-overrides`` (the trained model's config; the FLOP check uses the bare config).
    default
        The default ``--model``: ``basenji_small`` (283,192 parameters with 24 tracks; 5 dilated
        blocks, a receptive field of 8,150 bp that covers the small world's reach_bp of 4 kb on each
        side). On the small world it reached 0.59 of the gene-level ceiling where ``basenji_tiny``
        with 5 dilated blocks reached 0.44 (same loss weights, CAGE=10).
    """
    ap.add_argument("--model", default=default)
    if overrides:
        ap.add_argument("--model-overrides", default="{}",
                        help="JSON merged into the model config (e.g. '{\"n_dilated\": 5}' with --model basenji_tiny)")


def add_pretrain_options(ap: argparse.ArgumentParser) -> None:
    """Pretraining: epochs, learning rate, batch size, warm-up, weight decay.

    Parameters
    ----------
    ap
        The script's parser.
    """
    ap.add_argument("--epochs", type=int, default=None, help="pretraining epochs (default 60; --quick 2)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--warmup-steps", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--assay-weights", default="CAGE=10",
                    help="loss weight per assay, pretraining and fine-tuning (train.py --assay-weights; '' = equal)")


def add_finetune_options(ap: argparse.ArgumentParser) -> None:
    """Fine-tuning: epochs, learning rate, batch size, warm-up, target fraction, cell types, strategies.

    Parameters
    ----------
    ap
        The script's parser.
    """
    ap.add_argument("--ft-epochs", type=int, default=None,
                    help="fine-tuning epochs, every strategy (default 10; --quick 2)")
    ap.add_argument("--ft-lr", type=float, default=2e-3)
    ap.add_argument("--ft-batch-size", type=int, default=4)
    ap.add_argument("--ft-warmup-steps", type=int, default=10)
    ap.add_argument("--target-fraction", type=float, default=0.1)
    ap.add_argument("--cell-types", default=None,
                    help="comma-separated target cell types (default: every target cell type)")
    ap.add_argument("--strategies", default="head_only,full,gradual_unfreeze,lora,scratch")


def add_throughput_options(ap: argparse.ArgumentParser) -> None:
    """Loader vs memory: measured and warm-up steps, repeats, DataLoader workers.

    Parameters
    ----------
    ap
        The script's parser.
    """
    ap.add_argument("--tp-steps", type=int, default=None, help="measured steps per repeat (default 50; --quick 4)")
    ap.add_argument("--tp-warmup", type=int, default=5)
    ap.add_argument("--tp-repeats", type=int, default=3)
    ap.add_argument("--tp-workers", type=int, default=0, help="DataLoader workers (the trainer's default is 0)")


def add_gpu_options(ap: argparse.ArgumentParser) -> None:
    """The GPU section: when to run it, model, batch sizes, steps, tracks, the GPU's peak.

    Parameters
    ----------
    ap
        The script's parser.
    """
    ap.add_argument("--gpu", choices=["auto", "on", "off"], default="auto",
                    help="GPU section: auto = when CUDA is available")
    ap.add_argument("--gpu-model", default="basenji_131k")
    ap.add_argument("--gpu-batch-sizes", default="4", help="comma-separated batch sizes")
    ap.add_argument("--gpu-steps", type=int, default=30)
    ap.add_argument("--gpu-warmup", type=int, default=5)
    ap.add_argument("--gpu-tracks", type=int, default=24)
    ap.add_argument("--peak-tflops", type=float, default=989.0,
                    help="peak dense bf16 TFLOP/s of the GPU (H100 SXM: 989)")


def finish_options(args: argparse.Namespace, name: str) -> argparse.Namespace:
    """Fill the defaults that depend on ``--quick`` and on other options (for the groups ``args`` has).

    Parameters
    ----------
    args
        Parsed options.
    name
        The script's result name (default output ``benchmarks/results/<name>[_quick].json``).
    """
    if args.quick:
        args.scale = "tiny" if args.scale == "small" else args.scale
    if hasattr(args, "epochs"):
        args.epochs = args.epochs or (2 if args.quick else 60)
    if hasattr(args, "ft_epochs"):
        args.ft_epochs = args.ft_epochs or (2 if args.quick else 10)
    if hasattr(args, "tp_steps"):
        args.tp_steps = args.tp_steps or (4 if args.quick else 50)
        if args.quick:
            args.tp_repeats = min(args.tp_repeats, 1)
    if hasattr(args, "seq_length"):
        args.stride = args.stride or (args.seq_length - 2 * args.crop_bp)
    if hasattr(args, "gpu_batch_sizes"):
        args.gpu_batch_sizes = [int(b) for b in str(args.gpu_batch_sizes).split(",") if b]
    args.out = args.out or (RESULTS / (f"{name}_quick.json" if args.quick else f"{name}.json"))
    return args


# --------------------------------------------------------------------------- world + dataset
def simulate(workdir: Path, scale: str, seed: int, train_chrom_mb: float | None = None) -> tuple[Path, bool]:
    """Simulate the world into ``<workdir>/world``, or reuse the one there when its scale, seed and
    chromosome lengths match.

    Parameters
    ----------
    workdir
        Work directory.
    scale, seed
        ``simulate_world``'s scale and seed.
    train_chrom_mb
        Length of the training chromosome (``SPLIT["train"]``, the first) in Mb; ``None``: the scale's.
        Chromosomes are generated each from its own seed, so the others stay byte-identical.

    Returns
    -------
    The world directory, and whether it was reused.
    """
    config = config_for_scale(scale)
    if train_chrom_mb:
        config = replace(config, chrom_lengths=(int(round(train_chrom_mb * 1e6)), *config.chrom_lengths[1:]))
    world = workdir / "world"
    truth = world / "truth.json"
    if truth.is_file():
        t = json.loads(truth.read_text())
        if (t.get("scale") == scale and int(t.get("seed", -1)) == seed
                and list(t.get("config", {}).get("chrom_lengths", [])) == list(config.chrom_lengths)):
            return world, True
        shutil.rmtree(world)
    simulate_world(world, scale=scale, seed=seed, config=config)
    return world, False


def prepare(world: Path, out: Path, seq_length: int, stride: int, crop_bp: int, bin_size: int) -> dict:
    """A fresh profile PREPARE of the world (``SPLIT``'s valid and test chromosomes, the world's blacklist).

    Parameters
    ----------
    world
        The simulated world.
    out
        Dataset directory (replaced).
    seq_length, stride, crop_bp, bin_size
        Window geometry.
    """
    if out.exists():
        shutil.rmtree(out)
    params = PrepareParams(mode="profile", seq_length=seq_length, stride=stride, crop_bp=crop_bp, bin_size=bin_size)
    return prepare_dataset(world / "genome.fa", world / "samplesheet.csv", out, params=params,
                           test_chroms=[SPLIT["test"]], valid_chroms=[SPLIT["valid"]],
                           blacklist=world / "blacklist.bed")


def world_params(args: argparse.Namespace, reused: bool, truth: dict) -> dict:
    """The ``params.world`` record: scale, seed, whether reused, the split, chromosome lengths.

    Parameters
    ----------
    args
        Parsed options (``scale``, ``seed``).
    reused
        Whether the world was reused from the work directory.
    truth
        The world's parsed ``truth.json``.
    """
    return {"scale": args.scale, "seed": args.seed, "reused": reused, "split": SPLIT,
            "chrom_lengths": truth["config"]["chrom_lengths"], "train_chrom_mb": args.train_chrom_mb}


@dataclass
class Setup:
    """The world, the dataset and the fitted model config one run shares between its steps.

    Build it with :meth:`build`; the driver builds it once and hands it to every step.
    """

    args: argparse.Namespace
    workdir: Path
    world: Path
    reused: bool
    truth: dict
    ds: object
    comp: list[str]
    targets: list[str]
    target_cts: list[str]
    fitted: dict
    _ceilings: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, args: argparse.Namespace, workdir: Path, timer: Timer) -> Setup:
        """Simulate (stage ``simulate``) and prepare (stage ``prepare``) in ``workdir``; fit the model config.

        Parameters
        ----------
        args
            Parsed options (base, dataset and model groups).
        workdir
            Work directory.
        timer
            The run's stage timer.
        """
        with timer("simulate"):
            world, reused = simulate(workdir, args.scale, args.seed, args.train_chrom_mb)
        truth = json.loads((world / "truth.json").read_text())
        with timer("prepare"):
            prepare(world, workdir / "dataset", args.seq_length, args.stride, args.crop_bp, args.bin_size)
        ds = open_dataset(workdir / "dataset")
        tt = ds.tracks
        comp = tt.loc[tt["role"] == "compendium", "track_id"].tolist()
        targets = tt.loc[tt["role"] == "target", "track_id"].tolist()
        target_cts = list(dict.fromkeys(tt.loc[tt["role"] == "target", "cell_type"]))
        config = {**load_config(args.model), **json.loads(args.model_overrides)}
        fitted = fit_config_to_dataset(config, ds, len(comp))
        return cls(args, workdir, world, reused, truth, ds, comp, targets, target_cts, fitted)

    @property
    def cell_types(self) -> list[str]:
        """``--cell-types``, or every target cell type."""
        a = self.args.cell_types
        return [c.strip() for c in a.split(",")] if a else self.target_cts

    @property
    def strategies(self) -> list[str]:
        """``--strategies`` as a list."""
        return [s.strip() for s in self.args.strategies.split(",") if s.strip()]

    def pretrain_params(self) -> TrainParams:
        """Pretraining parameters from the pretraining options."""
        a = self.args
        return TrainParams(epochs=a.epochs, lr=a.lr, batch_size=a.batch_size, warmup_steps=a.warmup_steps,
                           weight_decay=a.weight_decay, patience=0, seed=a.train_seed, progress="log", log_every=100,
                           assay_weights=a.assay_weights or None)

    def finetune_params(self) -> TrainParams:
        """Fine-tuning parameters from the fine-tuning options (and ``--weight-decay``)."""
        a = self.args
        return TrainParams(epochs=a.ft_epochs, lr=a.ft_lr, batch_size=a.ft_batch_size,
                           warmup_steps=a.ft_warmup_steps, weight_decay=a.weight_decay, patience=0,
                           seed=a.train_seed, progress="log", log_every=100, assay_weights=a.assay_weights or None)

    def params(self) -> dict:
        """The ``params`` record: world, dataset, model, and the parameters of the steps this script has."""
        a, ds = self.args, self.ds
        p = {"world": world_params(a, self.reused, self.truth), "prepare": dict(ds.manifest["params"]),
             "windows": {s: int(ds.split(s).size) for s in ("train", "valid", "test")},
             "model": {"name": a.model, "config": self.fitted, "overrides": json.loads(a.model_overrides)}}
        if hasattr(a, "epochs"):
            p["pretrain"] = self.pretrain_params().as_dict()
        if hasattr(a, "ft_epochs"):
            p["finetune"] = self.finetune_params().as_dict()
            p["target_fraction"] = a.target_fraction
        p["compendium_tracks"], p["target_tracks"] = self.comp, self.targets
        if hasattr(a, "ft_epochs"):
            p["cell_types"], p["strategies"] = self.cell_types, self.strategies
        return p

    def has_ceiling(self, split: str) -> bool:
        """Whether :meth:`ceiling` has computed ``split`` already.

        Parameters
        ----------
        split
            ``"test"`` or ``"valid"``.
        """
        return split in self._ceilings

    def ceiling(self, split: str) -> dict:
        """The noise ceilings of ``split`` (test: compendium and target tracks; valid: compendium), computed once.

        Parameters
        ----------
        split
            ``"test"`` or ``"valid"``.
        """
        if split not in self._ceilings:
            tracks = self.comp + self.targets if split == "test" else self.comp
            self._ceilings[split] = ceilings(self.world, self.ds, split, tracks, self.truth)
        return self._ceilings[split]


def compendium_tracks(world: Path) -> list[str]:
    """The compendium track IDs of a world's sample sheet (the tracks a pretrained model predicts).

    Parameters
    ----------
    world
        The simulated world.
    """
    import csv  # deferred: only train_mfu.py, run alone, reads the sample sheet

    with open(world / "samplesheet.csv") as fh:
        return [r["track_id"] for r in csv.DictReader(fh) if r["role"] == "compendium"]


# --------------------------------------------------------------------------- evaluation summaries
def evaluate_ckpt(ckpt: Path, ds, outdir: Path, world: Path, batch_size: int) -> dict:
    """EVALUATE a checkpoint on the test split, gene level included.

    Parameters
    ----------
    ckpt
        The checkpoint.
    ds
        The dataset.
    outdir
        EVALUATE's output directory.
    world
        The simulated world (``tss.bed``, ``truth.json``).
    batch_size
        Evaluation batch size.
    """
    # gene level against the observed CAGE targets at the TSS bins of the same track (the world's
    # expression.tsv is one cell type's, truth config personal_cell_type, not the compendium's) and,
    # through --truth, against the truth expression of the track's cell type
    return evaluate(ckpt, ds, outdir, split="test", tss_bed=world / "tss.bed", batch_size=batch_size, device="auto",
                    plots=False, truth=world / "truth.json")


def gene_level_by_cell_type(ev: dict) -> dict:
    """Gene-level R per cell type from one EVALUATE result (its CAGE tracks).

    Parameters
    ----------
    ev
        :func:`evaluate_ckpt`'s result.
    """
    tracks = {t["track_id"]: t["cell_type"] for t in ev["tracks"]}
    out = {}
    for g in ev["gene_level"]["tracks"]:
        ct = tracks.get(g["track_id"])
        out[ct] = {k: g.get(k) for k in ("track_id", "n_genes", "pearson_r", "spearman_r", "observed_from",
                                         "truth_pearson_r", "truth_spearman_r", "ceiling_pearson_r",
                                         "ceiling_spearman_r", "fraction_of_ceiling")}
        out[ct]["observed_from"] = ev["gene_level"]["observed_from"]
    return out


def summarise_tracks(ev: dict, ceil: dict) -> tuple[list[dict], dict]:
    """Per-track test R against the ceilings, and their means per assay (``all``, ``ATAC``, ``CAGE``).

    Parameters
    ----------
    ev
        :func:`evaluate_ckpt`'s result.
    ceil
        The test split's :meth:`Setup.ceiling`.
    """
    rows = []
    for t in ev["tracks"]:
        c = ceil["tracks"][t["track_id"]]
        r = t["pearson_r"]
        rows.append({"track_id": t["track_id"], "assay": t["assay"], "test_r": r, "test_r_log1p": t["pearson_r_log1p"],
                     "ceiling": c["ceiling"], "ratio": r / c["ceiling"] if r is not None and c["ceiling"] else None,
                     "ceiling_plugin": c["ceiling_plugin"],
                     "ratio_plugin": r / c["ceiling_plugin"] if r is not None and c["ceiling_plugin"] else None,
                     "ceiling_truth_whole_genome": c["ceiling_truth_whole_genome"],
                     "r_ideal_blurred_3_bins": c["r_ideal_blurred_3_bins"]})
    agg = {}
    for name, sel in (("all", None), ("ATAC", "ATAC"), ("CAGE", "CAGE")):
        rr = [x for x in rows if sel is None or x["assay"] == sel]
        agg[name] = {"n_tracks": len(rr), "test_r": nanmean(x["test_r"] for x in rr),
                     "ceiling": nanmean(x["ceiling"] for x in rr), "ratio": nanmean(x["ratio"] for x in rr),
                     "ratio_plugin": nanmean(x["ratio_plugin"] for x in rr),
                     "ceiling_truth_whole_genome": nanmean(x["ceiling_truth_whole_genome"] for x in rr),
                     "r_ideal_blurred_3_bins": nanmean(x["r_ideal_blurred_3_bins"] for x in rr)}
    return rows, agg


# --------------------------------------------------------------------------- running
def run_benchmark(name: str, args: argparse.Namespace, measure: Callable[[dict, Path, Timer], None]) -> int:
    """Run ``measure(result, workdir, timer)`` and write ``result`` to ``args.out``, even when it fails.

    Sets logging and torch threads, makes the work directory (a fresh one under ``/tmp`` unless
    ``--workdir``; removed at the end unless ``--keep`` or ``--workdir``), starts the result with
    ``benchmark``, ``quick``, ``machine`` and ``workdir``, and ends it with ``completed`` and
    ``wall_s`` (per stage and total). A failed run goes to ``<out>.partial.json``.

    Parameters
    ----------
    name
        The ``benchmark`` key.
    args
        Parsed options (the base group).
    measure
        Fills ``result`` with the script's sections.

    Returns
    -------
    0 (the process exit status; a failure raises).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    t_start = time.perf_counter()
    timer = Timer(log)
    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="s2f-train-bench-", dir="/tmp")) if own_workdir else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict = {"benchmark": name, "quick": bool(args.quick), "machine": machine_info(args.threads or 0),
                    "workdir": str(workdir)}
    completed = False
    try:
        measure(result, workdir, timer)
        completed = True
    finally:
        result["completed"] = completed
        result["wall_s"] = {**timer.wall, "total": round(time.perf_counter() - t_start, 1)}
        result["machine"]["load_average_at_end"] = load_avg()
        log.info("wrote %s", write_result(args.out, result, completed))
        if own_workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def run_with_setup(name: str, args: argparse.Namespace, measure: Callable[[Setup, dict, Timer], None]) -> int:
    """:func:`run_benchmark` for a script that needs the world and the dataset: build the :class:`Setup`,
    record ``params``, then ``measure(setup, result, timer)``.

    Parameters
    ----------
    name
        The ``benchmark`` key.
    args
        Parsed options (base, dataset and model groups at least).
    measure
        Fills ``result`` with the script's sections.
    """
    def body(result: dict, workdir: Path, timer: Timer) -> None:
        setup = Setup.build(args, workdir, timer)
        result["params"] = setup.params()
        measure(setup, result, timer)

    return run_benchmark(name, args, body)
