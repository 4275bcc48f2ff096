#!/usr/bin/env python3
"""TRAIN benchmark: accuracy against the simulator's noise ceiling, transfer vs scratch, data
loading vs model consumption, and (on a GPU) bf16 throughput and model FLOP utilisation.

One run, in one process, on the simulated world (``--scale small``: 3 chromosomes, 15 Mb;
chr1 = train, chr2 = valid, chr3 = test):

1. **simulate** the world, **prepare** a profile dataset (16,384-bp windows, 128-bp bins,
   ``crop_bp`` 1,024 so each predicted bin has >= 1 kb of context; the default stride equals the
   target span, so the target regions of consecutive windows tile the chromosome exactly);
2. **noise ceiling of exactly the evaluated quantity**: for every track and every evaluated bin
   (test windows, ``[start + crop, end - crop)``, 128-bp sums, the track's transform), the
   per-base expected and observed coverage are regenerated with ``load_world(...).coverage`` and
   binned like the dataset; the observed bins, transformed, must equal the stored float16 targets
   (checked; blacklisted bins are 0 in the store and are predicted as 0 by the ceiling predictor,
   which knows the blacklist). Two ceilings per track:

   * ``ceiling`` = Pearson R between ``E[f(K) | L]`` and the stored targets, where ``L`` is the
     expected bin sum, ``K ~ Poisson(L)`` the observed one and ``f`` the transform. The conditional
     expectation is the best possible predictor for Pearson R (Cauchy-Schwarz), so this *is* the
     ceiling. It is computed exactly from the Poisson pmf;
   * ``ceiling_plugin`` = Pearson R between ``f(L)`` and the stored targets. Identical for ATAC
     (``sum``: ``f`` is the identity); for CAGE (``sum;soft_clip=32;sqrt``) ``sqrt(L)`` is a poor
     predictor of ``sqrt(K)`` when ``L`` is small (most bins), so this "ceiling" is lower and the
     ratio against it is flattering (it can exceed 1). Reported for reference only;
   * ``ceiling_truth_whole_genome``: truth.json's ``analytic_r`` (raw bin sums, whole genome);
   * EVALUATE, given the truth, reports the truth's own per-chromosome ceiling (0-aligned bins);
     ``ceiling_check.truth_vs_exact_max_abs_diff`` compares it with the exact one.

3. **pretrain** ``basenji_tiny`` on the compendium tracks (``seq2func.train.pretrain``),
   **evaluate** on the test chromosome (``seq2func.evaluate.evaluate``): per track test R,
   ceiling, R / ceiling; ``test_r_over_ceiling`` = mean over the compendium tracks,
   ``test_r_over_ceiling_by_assay`` per assay. The learning curve is the validation R per epoch
   from ``metrics.json``, also divided by the same ceiling computed on the validation chromosome;
   ``validation_stops_improving_epoch`` = the best validation epoch. Gene level (Basenji's
   result, ``gene_level``): per cell type, the predicted CAGE summed over the TSS bins of each test
   gene against the observed CAGE there and against the truth expression; ``ceiling_spearman_r``
   is the truth's own R against the observed values, ``fraction_of_ceiling`` the model's share of
   it (compendium cell types: the pretrained model; target cell types: their best fine-tuned one);
4. **fine-tune** every target cell type at ``target_fraction`` (0.1) of its training windows with
   every strategy (head_only, full, gradual_unfreeze, lora, scratch; the same epochs and steps),
   evaluate each on the test chromosome: ``finetune_minus_scratch_r`` = best fine-tuning strategy's
   mean test R minus scratch's, per cell type;
5. **loader vs memory**: optimizer steps/s of the trainer's inner loop (one-hot on the device,
   autocast, loss, backward, clipping, AdamW, LR schedule) fed by the real loader (``SeqDataset``
   over the memory-mapped store with RC/shift augmentation + ``DataLoader`` with the trainer's
   ``EpochSampler`` and ``num_workers``) vs the same loop fed from pre-one-hot-encoded, pre-batched
   in-memory tensors; same model, batch size and step count, after warm-up steps; the two are
   interleaved (order alternating) ``--repeats`` times and the medians compared;
6. **GPU** (when CUDA is available, or ``--gpu on``): forward + backward + AdamW steps/s of
   ``basenji_131k`` under bf16 autocast, FLOPs per step counted with
   ``torch.utils.flop_counter.FlopCounterMode`` and MFU = achieved FLOP/s / ``--peak-tflops``.
   The FLOP-counting path runs on every machine (``flop_counter_check``: basenji_tiny on the CPU,
   FlopCounterMode's forward FLOPs vs an analytic sum over the Conv1d/Linear layers).

Writes ``benchmarks/results/train.json`` (``--quick``: ``train_quick.json``, a minutes-long smoke
run on the tiny world).

    python benchmarks/train.py [--workdir DIR] [--scale small] [--seed 1] [--epochs 40] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

# OpenMP threads that spin while waiting collapse throughput when the CPU is shared (measured on a
# 2-core machine with one other busy process: 2.5 windows/s spinning vs 63 passive), so wait
# passively unless the caller chose otherwise. Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

log = logging.getLogger("benchmarks.train")

SPLIT = {"train": "chr1", "valid": "chr2", "test": "chr3"}


# --------------------------------------------------------------------------- small helpers
def load_avg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


class Timer:
    """Wall time per named stage."""

    def __init__(self):
        self.wall: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str):
        t = time.perf_counter()
        log.info("stage %s ...", name)
        try:
            yield
        finally:
            self.wall[name] = round(self.wall.get(name, 0.0) + time.perf_counter() - t, 2)
            log.info("stage %s: %.1f s (load average %s)", name, self.wall[name], load_avg())


def clean(o):
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
    x = np.asarray(x, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    d = math.sqrt(float((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / d) if d > 0 else float("nan")


def nanmean(v) -> float:
    v = [float(x) for x in v if x is not None and math.isfinite(float(x))]
    return float(np.mean(v)) if v else float("nan")


def machine_info(threads: int) -> dict:
    import seq2func

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


# --------------------------------------------------------------------------- world + dataset
def simulate(workdir: Path, scale: str, seed: int) -> tuple[Path, bool]:
    from seq2func.simulate import simulate_world

    world = workdir / "world"
    truth = world / "truth.json"
    if truth.is_file():
        t = json.loads(truth.read_text())
        if t.get("scale") == scale and int(t.get("seed", -1)) == seed:
            return world, True
        shutil.rmtree(world)
    simulate_world(world, scale=scale, seed=seed)
    return world, False


def prepare(world: Path, out: Path, seq_length: int, stride: int, crop_bp: int, bin_size: int) -> dict:
    from seq2func.prepare.run import PrepareParams, prepare_dataset

    if out.exists():
        shutil.rmtree(out)
    params = PrepareParams(mode="profile", seq_length=seq_length, stride=stride, crop_bp=crop_bp, bin_size=bin_size)
    return prepare_dataset(world / "genome.fa", world / "samplesheet.csv", out, params=params,
                           test_chroms=[SPLIT["test"]], valid_chroms=[SPLIT["valid"]], blacklist=world / "blacklist.bed")


# --------------------------------------------------------------------------- noise ceiling
def read_intervals(path: Path) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        f = line.split("\t")
        out.setdefault(f[0], []).append((int(f[1]), int(f[2])))
    return out


def expected_transformed(L: np.ndarray, transform, divisor: float, chunk: int = 2048) -> np.ndarray:
    """``E[f(K / divisor)]`` for ``K ~ Poisson(L)``, elementwise, exactly (pmf over +/- 12 SD)."""
    from scipy.stats import poisson

    L = np.asarray(L, np.float64)
    if not transform.ops:
        return L / divisor
    out = np.empty_like(L)
    sd = np.sqrt(L)
    lo = np.maximum(0, np.floor(L - 12 * sd - 12)).astype(np.int64)
    hi = np.ceil(L + 12 * sd + 12).astype(np.int64)
    order = np.argsort(hi - lo, kind="stable")
    for s in range(0, order.size, chunk):
        sel = order[s:s + chunk]
        W = int((hi[sel] - lo[sel]).max()) + 1
        k = lo[sel, None] + np.arange(W)[None, :]
        valid = k <= hi[sel, None]
        pmf = np.where(valid, poisson.pmf(k, L[sel, None]), 0.0)
        f = transform.apply((k / divisor).astype(np.float64)).astype(np.float64)
        out[sel] = (pmf * f).sum(1) / pmf.sum(1)
    return out


def ceilings(world_dir: Path, ds, split: str, track_ids: list[str], truth: dict) -> dict:
    """Per-track noise ceilings of exactly the bins :func:`seq2func.evaluate.evaluate` scores on ``split``."""
    from seq2func.simulate import load_world
    from seq2func.transforms import parse_transform

    world = load_world(world_dir)
    idx = ds.split(split)
    regions = ds.regions.iloc[idx].reset_index(drop=True)
    p = ds.manifest["params"]
    crop, b, nb = int(p.get("crop_bp", 0) or 0), int(p["bin_size"]), int(ds.n_bins)
    ids = list(ds.tracks["track_id"])
    cols = [ids.index(t) for t in track_ids]
    stored = np.asarray(ds.targets[idx], dtype=np.float32)[:, :, cols]  # (n, nb, T) as evaluate reads them
    blacklist = read_intervals(world_dir / "blacklist.bed")
    truth_tracks = {t["track_id"]: t for t in truth["tracks"]}
    n, T = len(regions), len(track_ids)
    L_all = np.zeros((n, nb, T))
    O_all = np.zeros((n, nb, T), np.float32)
    bl_all = np.zeros((n, nb), bool)
    for chrom in regions["chrom"].unique():
        rows = np.flatnonzero(regions["chrom"].to_numpy() == chrom)
        bs = regions["start"].to_numpy(np.int64)[rows, None] + crop + b * np.arange(nb)[None, :]  # bin starts
        bl = np.zeros(bs.shape, bool)
        for s, e in blacklist.get(chrom, []):
            bl |= (bs < e) & (bs + b > s)
        bl_all[rows] = bl
        cs = world.chromosome(world.chrom_index(chrom))
        for j, tid in enumerate(track_ids):
            e, o = world.coverage(chrom, tid, cs)
            ce = np.concatenate([[0.0], np.cumsum(e)])
            co = np.concatenate([[0], np.cumsum(o)])
            L_all[rows, :, j] = ce[bs + b] - ce[bs]
            O_all[rows, :, j] = (co[bs + b] - co[bs]).astype(np.float32)
    per_track = {}
    eq_all, maxdiff, bl_nonzero = True, 0.0, 0
    for j, tid in enumerate(track_ids):
        row = ds.tracks.iloc[cols[j]]
        tr = parse_transform(row["transform"])
        div = float(b) if tr.aggregation == "mean" else 1.0
        y = stored[:, :, j]
        obs_t = tr.apply(O_all[:, :, j] / np.float32(div)).astype(np.float16).astype(np.float32)
        obs_t[bl_all] = 0.0
        diff = np.abs(obs_t - y)
        eq = bool(np.array_equal(obs_t, y))
        eq_all &= eq
        maxdiff = max(maxdiff, float(diff.max()))
        bl_nonzero += int((y[bl_all] != 0).sum())
        L = L_all[:, :, j]
        plug = tr.apply((L / div).astype(np.float32)).astype(np.float64)
        cond = expected_transformed(L.ravel(), tr, div).reshape(L.shape)
        plug[bl_all] = 0.0
        cond[bl_all] = 0.0
        # diagnostic (not a ceiling): the ideal predictor spread over 3 neighbouring bins, i.e. the
        # signal's position known to +/- 1 bin only (CAGE: the TSS is not marked base-exactly by sequence)
        pad = np.pad(cond, ((0, 0), (1, 1)))
        cnt = np.pad(np.ones_like(cond), ((0, 0), (1, 1)))
        blur = (pad[:, :-2] + pad[:, 1:-1] + pad[:, 2:]) / (cnt[:, :-2] + cnt[:, 1:-1] + cnt[:, 2:])
        tt = truth_tracks.get(tid, {})
        per_track[tid] = {
            "assay": row["assay"], "role": row["role"], "transform": row["transform"],
            "ceiling": pearson(cond, y), "ceiling_plugin": pearson(plug, y),
            "r_ideal_blurred_3_bins": pearson(blur, y),
            "ceiling_raw_sums": pearson(np.where(bl_all, 0.0, L), np.where(bl_all, 0.0, O_all[:, :, j])),
            "ceiling_truth_whole_genome": (tt.get("noise_ceiling") or {}).get("analytic_r"),
            "targets_equal_observed": eq, "mean_expected_bin_sum": float(L[~bl_all].mean()),
        }
    return {
        "split": split, "chroms": sorted(regions["chrom"].unique().tolist()), "n_windows": int(n), "bins_per_window": nb,
        "n_bins": int(n * nb), "n_blacklisted_bins": int(bl_all.sum()),
        "stored_targets_equal_binned_observed": bool(eq_all), "max_abs_diff_stored_vs_observed": maxdiff,
        "blacklisted_bins_nonzero_in_store": bl_nonzero, "tracks": per_track,
    }


# --------------------------------------------------------------------------- training + evaluation
def evaluate_ckpt(ckpt: Path, ds, outdir: Path, world: Path, batch_size: int) -> dict:
    from seq2func.evaluate import evaluate

    # gene level against the observed CAGE targets at the TSS bins of the same track (the world's
    # expression.tsv is one cell type's, truth config personal_cell_type, not the compendium's) and,
    # through --truth, against the truth expression of the track's cell type
    return evaluate(ckpt, ds, outdir, split="test", tss_bed=world / "tss.bed", batch_size=batch_size, device="auto",
                    plots=False, truth=world / "truth.json")


def gene_level_by_cell_type(ev: dict, tracks: dict) -> dict:
    """Gene-level R per cell type from one EVALUATE result (its CAGE tracks)."""
    out = {}
    for g in ev["gene_level"]["tracks"]:
        ct = tracks.get(g["track_id"])
        out[ct] = {k: g.get(k) for k in ("track_id", "n_genes", "pearson_r", "spearman_r", "observed_from",
                                         "truth_pearson_r", "truth_spearman_r", "ceiling_pearson_r",
                                         "ceiling_spearman_r", "fraction_of_ceiling")}
        out[ct]["observed_from"] = ev["gene_level"]["observed_from"]
    return out


def learning_curve(metrics_json: Path, valid_ceiling: dict | None) -> list[dict]:
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


def summarise_tracks(ev: dict, ceil: dict) -> tuple[list[dict], dict]:
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


def run_finetune(ds, world: Path, ckpt: Path, root: Path, cell_types: list[str], strategies: list[str],
                 fraction: float, tp, test_ceil: dict, eval_bs: int, timer: Timer) -> dict:
    from seq2func.train import finetune

    table = []
    for ct in cell_types:
        for strat in strategies:
            out = root / ct / strat
            t0 = time.perf_counter()
            res = finetune(ds, ckpt, out, cell_type=ct, strategy=strat, target_fraction=fraction, params=tp, resume=False)
            t1 = time.perf_counter()
            ev = evaluate_ckpt(out / "model.pt", ds, out / "evaluate", world, eval_bs)
            t2 = time.perf_counter()
            rows, agg = summarise_tracks(ev, test_ceil)
            s = res.summary
            table.append({"cell_type": ct, "strategy": strat, "test_r": ev["mean_pearson_r"],
                          "test_r_log1p": ev["mean_pearson_r_log1p"], "test_r_over_ceiling": agg["all"]["ratio"],
                          "tracks": {x["track_id"]: x["test_r"] for x in rows},
                          "best_valid_r": res.best_metric, "best_epoch": res.best_epoch + 1, "epochs_run": res.epochs_run,
                          "steps": res.steps, "n_train_windows": s["n_train_windows"],
                          "trainable_params": s["trainable_params"], "total_params": s["total_params"],
                          "gene_level_r": nanmean(g["pearson_r"] for g in ev["gene_level"]["tracks"]),
                          "gene_level": gene_level_by_cell_type(ev, {t["track_id"]: t["cell_type"] for t in ev["tracks"]}),
                          "train_s": round(t1 - t0, 1), "evaluate_s": round(t2 - t1, 1)})
            log.info("finetune %s %s: test R %.4f (%.0f s)", ct, strat, ev["mean_pearson_r"] or float("nan"), t2 - t0)
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
    return {"table": table, "best": best, "finetune_minus_scratch_r": diff}


# --------------------------------------------------------------------------- loader vs memory
def loader_vs_memory(ds, config: dict, cols: list[int], batch_size: int, warmup: int, steps: int, repeats: int,
                     num_workers: int, seed: int, lr: float) -> dict:
    """Optimizer steps/s of the trainer's inner loop fed by the real loader vs in-memory one-hot tensors."""
    from torch.utils.data import DataLoader

    from seq2func.losses import get_loss
    from seq2func.models import build_model
    from seq2func.prepare.dataset import SeqDataset, one_hot
    from seq2func.train import ddp
    from seq2func.train.device import autocast, resolve_device, seed_everything
    from seq2func.train.engine import adapt_target, check_output_bins, clip_gradients, seed_worker
    from seq2func.train.schedule import make_scheduler

    device = resolve_device("auto")
    seed_everything(seed)
    model = build_model(config).to(device)
    model.train()
    n_out = check_output_bins(model, ds.n_bins, ds.seq_length)
    loss_fn = get_loss(model.default_loss)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = make_scheduler(opt, 10, 10_000, 0.0)
    params = list(model.parameters())
    bf16 = device.type == "cuda"
    n_items = (warmup + steps) * batch_size

    train_set = SeqDataset(ds, split="train", rc=0.5, shift=3, seed=seed, tracks=cols)
    sampler = ddp.EpochSampler(train_set, num_replicas=1, rank=0, shuffle=True, seed=seed)
    gen = torch.Generator()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def step(x, y, codes: bool):
        if codes:
            x = one_hot(x.to(device, non_blocking=True))
        else:
            x = x.to(device, non_blocking=True)
        y = adapt_target(y.to(device, non_blocking=True), "profile", n_out)
        with autocast(device, bf16):
            pred = model(x)
        loss = loss_fn(pred.float(), y)
        loss.backward()
        clip_gradients(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        return loss

    # in-memory batches: the same augmented windows, one-hot encoded and batched up front
    epoch_for_memory = 10_000
    train_set.set_epoch(epoch_for_memory)
    sampler.set_epoch(epoch_for_memory)
    order = list(iter(sampler))
    while len(order) < n_items:
        order += order
    order = order[:n_items]
    mem = []
    for s in range(0, n_items, batch_size):
        items = [train_set[i] for i in order[s:s + batch_size]]
        mem.append((one_hot(torch.stack([it[0] for it in items])).contiguous(), torch.stack([it[1] for it in items])))
    mem_bytes = sum(x.numel() * x.element_size() + y.numel() * y.element_size() for x, y in mem)

    def run_memory() -> float:
        for x, y in mem[:warmup]:
            step(x, y, codes=False)
        sync()
        t = time.perf_counter()
        for x, y in mem[warmup:]:
            last = step(x, y, codes=False)
        float(last.detach())
        sync()
        return steps * batch_size / (time.perf_counter() - t)

    def run_loader(rep: int) -> float:
        train_set.set_epoch(rep)
        sampler.set_epoch(rep)
        sampler.set_start(0)
        gen.manual_seed(seed * 1_000_003 + rep * 7919)
        loader = DataLoader(train_set, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                            worker_init_fn=seed_worker, generator=gen, pin_memory=device.type == "cuda",
                            persistent_workers=False)
        it = iter(loader)
        k = 0

        def nxt():
            nonlocal it, k
            try:
                return next(it)
            except StopIteration:  # a short training split: start over (a new epoch, as the trainer would)
                k += 1
                train_set.set_epoch(rep + 1000 * k)
                it = iter(loader)
                return next(it)

        for _ in range(warmup):
            x, y = nxt()
            step(x, y, codes=True)
        sync()
        t = time.perf_counter()
        for _ in range(steps):
            x, y = nxt()
            last = step(x, y, codes=True)
        float(last.detach())
        sync()
        return steps * batch_size / (time.perf_counter() - t)

    def run_loader_only(rep: int) -> float:
        train_set.set_epoch(rep)
        sampler.set_epoch(rep)
        loader = DataLoader(train_set, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                            worker_init_fn=seed_worker, generator=gen, persistent_workers=False)
        t = time.perf_counter()
        n = 0
        for x, _ in loader:
            one_hot(x.to(device))
            n += x.shape[0]
        sync()
        return n / (time.perf_counter() - t)

    memory_wps, loader_wps = [], []
    for rep in range(repeats):
        order_ = ("memory", "loader") if rep % 2 == 0 else ("loader", "memory")
        for which in order_:
            if which == "memory":
                memory_wps.append(run_memory())
            else:
                loader_wps.append(run_loader(rep))
        log.info("throughput repeat %d: memory %.1f, loader %.1f windows/s", rep, memory_wps[-1], loader_wps[-1])
    loader_only = run_loader_only(repeats)
    med_m, med_l = statistics.median(memory_wps), statistics.median(loader_wps)
    return {
        "loader_vs_memory_ratio": med_l / med_m,
        "memory_windows_per_s": memory_wps, "loader_windows_per_s": loader_wps,
        "memory_windows_per_s_median": med_m, "loader_windows_per_s_median": med_l,
        "loader_only_windows_per_s": loader_only,
        "batch_size": batch_size, "warmup_steps": warmup, "measured_steps": steps, "repeats": repeats,
        "num_workers": num_workers, "device": str(device), "bf16_autocast": bf16, "n_tracks": len(cols),
        "memory_bytes": mem_bytes, "augmentation": {"rc": 0.5, "shift": 3},
        "protocol": "the trainer's inner loop (one-hot on the device, autocast, Poisson loss, backward, clip 1.0, AdamW, "
                    "LambdaLR); 'loader': SeqDataset(train split, rc 0.5, shift 3) over the memory-mapped store + "
                    "DataLoader(EpochSampler, num_workers) as in seq2func.train.engine.fit; 'memory': the same number "
                    "of pre-augmented windows one-hot encoded and batched in RAM beforehand; warm-up steps untimed; "
                    "memory and loader runs interleaved with alternating order; medians; 'loader_only': iterating the "
                    "loader + one-hot with no model",
    }


# --------------------------------------------------------------------------- FLOPs / GPU
def conv_linear_forward_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Analytic forward FLOPs of every Conv1d and Linear layer (2 x multiply-adds), from forward hooks."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, torch.nn.Conv1d):
            total[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0]
        elif isinstance(m, torch.nn.Linear):
            total[0] += 2 * out.numel() * m.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear))]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hs:
            h.remove()
    return total[0]


def train_step_benchmark(config_name: str, batch_size: int, steps: int, warmup: int, device: torch.device,
                         bf16: bool, n_tracks: int, peak_tflops: float | None, seed: int = 0) -> dict:
    """Forward + backward + AdamW steps/s of a model on random one-hot input; FLOPs via FlopCounterMode; MFU."""
    from torch.utils.flop_counter import FlopCounterMode

    from seq2func.losses import get_loss
    from seq2func.models import build_model, count_params, load_config
    from seq2func.prepare.dataset import one_hot
    from seq2func.train.device import autocast

    torch.manual_seed(seed)
    cfg = {**load_config(config_name), "n_tracks": n_tracks}
    L = int(cfg["seq_len"])
    model = build_model(cfg).to(device)
    model.train()
    nb = model.output_bins(L)
    loss_fn = get_loss(model.default_loss)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(seed)
    x = one_hot(torch.randint(0, 4, (batch_size, L), generator=g)).to(device)
    y = torch.poisson(torch.full((batch_size, nb, n_tracks), 2.0), generator=g).to(device)

    def step():
        with autocast(device, bf16):
            pred = model(x)
        loss = loss_fn(pred.float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    fwd_analytic = conv_linear_forward_flops(model, x)
    with FlopCounterMode(display=False) as fc_fwd:
        with torch.no_grad(), autocast(device, bf16):
            model(x)
    flops_fwd = int(fc_fwd.get_total_flops())
    with FlopCounterMode(display=False) as fc:
        step()
    flops_step = int(fc.get_total_flops())
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(warmup):
        step()
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        last = step()
    float(last.detach())
    sync()
    dt = time.perf_counter() - t
    sps = steps / dt
    out = {
        "model": config_name, "seq_len": L, "output_bins": nb, "n_tracks": n_tracks, "params": count_params(model),
        "batch_size": batch_size, "steps": steps, "warmup_steps": warmup, "device": str(device), "bf16_autocast": bf16,
        "seconds": dt, "steps_per_s": sps, "windows_per_s": sps * batch_size, "bp_per_s": sps * batch_size * L,
        "flops_per_step": flops_step, "flops_forward": flops_fwd, "flops_forward_conv_linear_analytic": fwd_analytic,
        "flop_counter_matches_analytic": flops_fwd == fwd_analytic,
        "achieved_tflops": flops_step * sps / 1e12,
    }
    if peak_tflops:
        out["peak_tflops"] = peak_tflops
        out["mfu"] = flops_step * sps / (peak_tflops * 1e12)
    if device.type == "cuda":
        out["peak_memory_gb"] = torch.cuda.max_memory_allocated(device) / 2**30
        out["gpu_name"] = torch.cuda.get_device_name(device)
    return out


def gpu_section(args) -> dict:
    if args.gpu == "off":
        return {"measured": False, "reason": "--gpu off"}
    if not torch.cuda.is_available():
        if args.gpu == "on":
            raise SystemExit("ERROR: --gpu on but no CUDA GPU is visible")
        return {"measured": False, "reason": "no GPU lent to this task (torch.cuda.is_available() is False)"}
    dev = torch.device("cuda", 0)
    res = {"measured": True}
    for bs in args.gpu_batch_sizes:
        try:
            res[f"batch_{bs}"] = train_step_benchmark(args.gpu_model, bs, args.gpu_steps, args.gpu_warmup, dev, True,
                                                      args.gpu_tracks, args.peak_tflops)
        except torch.cuda.OutOfMemoryError as err:  # pragma: no cover - depends on the GPU
            res[f"batch_{bs}"] = {"error": f"out of memory: {err}"[:300]}
        torch.cuda.empty_cache()
    ok = [v for k, v in res.items() if k.startswith("batch_") and "mfu" in v]
    if ok:
        best = max(ok, key=lambda v: v["mfu"])
        res.update({"mfu": best["mfu"], "windows_per_s": best["windows_per_s"], "best_batch_size": best["batch_size"],
                    "peak_tflops": args.peak_tflops,
                    "protocol": "random one-hot input, Poisson targets; forward under bf16 autocast, float32 loss, "
                                "backward, AdamW; FLOPs of one step (forward + backward) counted by FlopCounterMode "
                                "(matmul/conv only); MFU = flops_per_step x steps/s / peak"})
    return res


# --------------------------------------------------------------------------- main
def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=None, help="work directory (default: a fresh /tmp/s2f-train-bench-*; removed unless --keep)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--out", type=Path, default=None, help="JSON output (default benchmarks/results/train.json, --quick: train_quick.json)")
    ap.add_argument("--scale", default="small", choices=["tiny", "small", "large"])
    ap.add_argument("--seed", type=int, default=1, help="world seed (training seeds are --train-seed)")
    ap.add_argument("--train-seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="smoke variant: tiny world, 2 pretraining epochs, 2 fine-tuning epochs")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: all usable CPUs)")
    # dataset
    ap.add_argument("--seq-length", type=int, default=16384)
    ap.add_argument("--crop-bp", type=int, default=1024)
    ap.add_argument("--stride", type=int, default=None, help="window stride (default: seq_length - 2 * crop_bp: target regions tile)")
    ap.add_argument("--bin-size", type=int, default=128)
    # pretraining
    ap.add_argument("--model", default="basenji_tiny")
    ap.add_argument("--model-overrides", default='{"n_dilated": 5}',
                    help="JSON merged into the model config (default: 5 dilated blocks, a receptive field of 8,150 bp "
                         "that covers the small world's reach_bp of 4 kb on each side; basenji_tiny's own is 2,006 bp)")
    ap.add_argument("--epochs", type=int, default=None, help="pretraining epochs (default 60; --quick 2)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--warmup-steps", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    # fine-tuning
    ap.add_argument("--ft-epochs", type=int, default=None, help="fine-tuning epochs, every strategy (default 10; --quick 2)")
    ap.add_argument("--ft-lr", type=float, default=2e-3)
    ap.add_argument("--ft-batch-size", type=int, default=4)
    ap.add_argument("--ft-warmup-steps", type=int, default=10)
    ap.add_argument("--target-fraction", type=float, default=0.1)
    ap.add_argument("--cell-types", default=None, help="comma-separated target cell types (default: every target cell type)")
    ap.add_argument("--strategies", default="head_only,full,gradual_unfreeze,lora,scratch")
    # throughput
    ap.add_argument("--tp-steps", type=int, default=None, help="measured steps per repeat (default 50; --quick 4)")
    ap.add_argument("--tp-warmup", type=int, default=5)
    ap.add_argument("--tp-repeats", type=int, default=3)
    ap.add_argument("--tp-workers", type=int, default=0, help="DataLoader workers (the trainer's default is 0)")
    # GPU
    ap.add_argument("--gpu", choices=["auto", "on", "off"], default="auto", help="GPU section: auto = when CUDA is available")
    ap.add_argument("--gpu-model", default="basenji_131k")
    ap.add_argument("--gpu-batch-sizes", default="4", help="comma-separated batch sizes")
    ap.add_argument("--gpu-steps", type=int, default=30)
    ap.add_argument("--gpu-warmup", type=int, default=5)
    ap.add_argument("--gpu-tracks", type=int, default=24)
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="peak dense bf16 TFLOP/s of the GPU (H100 SXM: 989)")
    ap.add_argument("--skip", default="", help="comma-separated stages to skip: finetune,throughput")
    args = ap.parse_args(argv)
    if args.quick:
        args.scale = "tiny" if args.scale == "small" else args.scale
    args.epochs = args.epochs or (2 if args.quick else 60)
    args.ft_epochs = args.ft_epochs or (2 if args.quick else 10)
    args.tp_steps = args.tp_steps or (4 if args.quick else 50)
    if args.quick:
        args.tp_repeats = min(args.tp_repeats, 1)
    args.stride = args.stride or (args.seq_length - 2 * args.crop_bp)
    args.gpu_batch_sizes = [int(b) for b in str(args.gpu_batch_sizes).split(",") if b]
    args.out = args.out or (REPO / "benchmarks" / "results" / ("train_quick.json" if args.quick else "train.json"))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    from seq2func.models import load_config
    from seq2func.prepare import open_dataset
    from seq2func.train import TrainParams, pretrain
    from seq2func.train.engine import fit_config_to_dataset

    t_start = time.perf_counter()
    timer = Timer()
    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="s2f-train-bench-", dir="/tmp")) if own_workdir else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    result: dict = {"benchmark": "train", "quick": bool(args.quick), "machine": machine_info(args.threads or 0),
                    "workdir": str(workdir)}
    completed = False
    try:
        with timer("simulate"):
            world, reused = simulate(workdir, args.scale, args.seed)
        truth = json.loads((world / "truth.json").read_text())
        with timer("prepare"):
            prepare(world, workdir / "dataset", args.seq_length, args.stride, args.crop_bp, args.bin_size)
        ds = open_dataset(workdir / "dataset")
        tt = ds.tracks
        comp = tt.loc[tt["role"] == "compendium", "track_id"].tolist()
        targets = tt.loc[tt["role"] == "target", "track_id"].tolist()
        target_cts = list(dict.fromkeys(tt.loc[tt["role"] == "target", "cell_type"]))
        cell_types = [c.strip() for c in args.cell_types.split(",")] if args.cell_types else target_cts
        strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]

        config = {**load_config(args.model), **json.loads(args.model_overrides)}
        fitted = fit_config_to_dataset(config, ds, len(comp))
        pre_tp = TrainParams(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, warmup_steps=args.warmup_steps,
                             weight_decay=args.weight_decay, patience=0, seed=args.train_seed, progress="log",
                             log_every=100)
        ft_tp = TrainParams(epochs=args.ft_epochs, lr=args.ft_lr, batch_size=args.ft_batch_size,
                            warmup_steps=args.ft_warmup_steps, weight_decay=args.weight_decay, patience=0,
                            seed=args.train_seed, progress="log", log_every=100)
        result["params"] = {
            "world": {"scale": args.scale, "seed": args.seed, "reused": reused, "split": SPLIT,
                      "chrom_lengths": truth["config"]["chrom_lengths"]},
            "prepare": dict(ds.manifest["params"]),
            "windows": {s: int(ds.split(s).size) for s in ("train", "valid", "test")},
            "model": {"name": args.model, "config": fitted, "overrides": json.loads(args.model_overrides)},
            "pretrain": pre_tp.as_dict(), "finetune": ft_tp.as_dict(), "target_fraction": args.target_fraction,
            "compendium_tracks": comp, "target_tracks": targets, "cell_types": cell_types, "strategies": strategies,
        }

        with timer("ceiling"):
            test_ceil = ceilings(world, ds, "test", comp + targets, truth)
            valid_ceil = ceilings(world, ds, "valid", comp, truth)
        result["ceiling_check"] = {k: v for k, v in test_ceil.items() if k != "tracks"}
        result["ceiling_check"]["valid"] = {k: v for k, v in valid_ceil.items() if k != "tracks"}

        # ---- pretrain + evaluate
        pre_dir = workdir / "pretrain"
        with timer("pretrain"):
            res = pretrain(ds, fitted, pre_dir, params=pre_tp, resume=False)
        with timer("evaluate_pretrain"):
            ev = evaluate_ckpt(pre_dir / "model.pt", ds, workdir / "evaluate_pretrain", world, 16)
        rows, agg = summarise_tracks(ev, test_ceil)
        result["test_r_over_ceiling"] = agg["all"]["ratio"]
        result["test_r_over_ceiling_atac"] = agg["ATAC"]["ratio"]
        result["test_r_over_ceiling_cage"] = agg["CAGE"]["ratio"]
        result["test_r_over_ceiling_plugin"] = agg["all"]["ratio_plugin"]
        result["test_r_over_ceiling_by_assay"] = {a: agg[a]["ratio"] for a in ("ATAC", "CAGE")}
        # the truth's own per-chromosome ceiling (0-aligned bins) next to the exact one of the scored bins
        tc = {t["track_id"]: t for t in ev["tracks"]}
        result["ceiling_check"]["truth_vs_exact_max_abs_diff"] = max(
            abs(tc[t]["ceiling"] - c["ceiling"]) for t, c in test_ceil["tracks"].items()
            if t in tc and tc[t].get("ceiling") is not None and c["ceiling"] is not None)
        curve = learning_curve(pre_dir / "metrics.json", valid_ceil)
        s = res.summary
        result["pretrain"] = {
            "test_r_mean": ev["mean_pearson_r"], "test_r_log1p_mean": ev["mean_pearson_r_log1p"],
            "by_assay": agg, "tracks": rows,
            "gene_level": {"observed_from": ev["gene_level"]["observed_from"], "n_genes": ev["gene_level"]["n_genes"],
                           "mean_pearson_r": nanmean(g["pearson_r"] for g in ev["gene_level"]["tracks"])},
            "gene_level_by_cell_type": gene_level_by_cell_type(ev, {t["track_id"]: t["cell_type"] for t in ev["tracks"]}),
            "best_epoch": res.best_epoch + 1, "epochs_run": res.epochs_run, "steps": res.steps,
            "best_valid_r": res.best_metric, "total_params": s["total_params"], "device": s["device"],
            "train_windows_per_s_median": statistics.median([h["windows_per_s"] for h in curve]) if curve else None,
            "learning_curve": curve,
        }
        result["validation_stops_improving_epoch"] = res.best_epoch + 1
        log.info("pretrain: test R %.4f, R / ceiling %.4f (ATAC %.4f, CAGE %.4f)", ev["mean_pearson_r"],
                 agg["all"]["ratio"], agg["ATAC"]["ratio"], agg["CAGE"]["ratio"])

        # ---- fine-tune
        if "finetune" not in skip:
            with timer("finetune"):
                ft = run_finetune(ds, world, pre_dir / "model.pt", workdir / "finetune", cell_types, strategies,
                                  args.target_fraction, ft_tp, test_ceil, 16, timer)
            result["finetune_minus_scratch_r"] = ft["finetune_minus_scratch_r"]
            # Basenji's gene-level result per cell type: compendium cell types from the pretrained model,
            # target cell types from their best fine-tuned model
            gl = dict(result["pretrain"]["gene_level_by_cell_type"])
            for ct, b in ft["best"].items():
                row = next(r for r in ft["table"] if r["cell_type"] == ct and r["strategy"] == b["strategy"])
                gl.update({k: {**v, "model": f"{ct}/{b['strategy']}"} for k, v in row["gene_level"].items() if k == ct})
            result["gene_level"] = gl
            result["gene_level_fraction_of_ceiling_mean"] = nanmean(v.get("fraction_of_ceiling") for v in gl.values())
            result["finetune"] = {"target_fraction": args.target_fraction, **ft}

        # ---- loader vs memory
        if "throughput" not in skip:
            with timer("throughput"):
                tp = loader_vs_memory(ds, fitted, [list(tt["track_id"]).index(t) for t in comp], args.batch_size,
                                      args.tp_warmup, args.tp_steps, args.tp_repeats, args.tp_workers, args.train_seed,
                                      args.lr)
            result["loader_vs_memory_ratio"] = tp["loader_vs_memory_ratio"]
            result["throughput"] = tp

        # ---- FLOP counting (always, CPU-sized) and GPU
        with timer("flop_counter_check"):
            result["flop_counter_check"] = train_step_benchmark(args.model, 2, 2, 1, torch.device("cpu"), False,
                                                                len(comp), None)
        with timer("gpu"):
            result["gpu"] = gpu_section(args)
        completed = True
    finally:
        result["completed"] = completed
        result["wall_s"] = {**timer.wall, "total": round(time.perf_counter() - t_start, 1)}
        result["machine"]["load_average_at_end"] = load_avg()
        # a failed run never replaces a finished result: it goes to <out>.partial.json
        out = args.out if completed else args.out.with_suffix(".partial.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(clean(result), indent=2) + "\n")
        os.replace(tmp, out)
        log.info("wrote %s", out)
        if own_workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
