#!/usr/bin/env python3
"""PREPARE benchmark: throughput and peak memory vs genome size, and binned targets vs pyBigWig.

Generates two synthetic genomes (default 20 Mb and 80 Mb, same number of chromosomes, so each
chromosome is 4x longer in the large one) with N runs and a few bigWig tracks in a temporary
directory, runs the whole PREPARE (split, every chromosome, merge) for each in a fresh subprocess
that reports its own peak RSS (``VmHWM`` of /proc/self/status; see :func:`peak_rss_kb`), and, in the same
run, times our binned-target extraction against reading the same bins straight from pyBigWig
(``values(numpy=True)`` + reshape-sum per window, and ``stats(type='sum', nBins=..., exact=True)``).

Writes ``benchmarks/results/prepare.json`` with ``windows_per_s``, ``peak_rss_mb``,
``peak_rss_ratio_large_vs_small`` and ``ratio_vs_pybigwig_direct`` (ours / the fastest direct
pyBigWig way, same windows, same tracks; > 1 means we are faster).

    python benchmarks/prepare.py [--sizes-mb 20,80] [--tracks 4] [--out benchmarks/results/prepare.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import REPO  # also puts src/ on sys.path

N_CHROMS = 4
SEQ_LENGTH, STRIDE, BIN, CROP = 131072, 32768, 128, 8192


def make_genome(root: Path, size_bp: int, n_tracks: int, seed: int) -> tuple[Path, Path]:
    import pyBigWig

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    per = size_bp // N_CHROMS
    chroms = {f"chr{i + 1}": per for i in range(N_CHROMS)}
    with open(root / "genome.fa", "wb") as fh:
        for c, n in chroms.items():
            s = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, n, dtype=np.uint8)].copy()
            for a in rng.integers(0, n - 400_000, size=max(1, n // 5_000_000)):  # ~200 kb N runs
                s[a : a + int(rng.integers(50_000, 400_000))] = ord("N")
            fh.write(f">{c}\n".encode())
            pad = (-n) % 60
            lines = np.concatenate([s, np.full(pad, ord("\n"), np.uint8)]).reshape(-1, 60)
            body = np.concatenate([lines, np.full((lines.shape[0], 1), ord("\n"), np.uint8)], axis=1).tobytes()
            fh.write(body[: n + n // 60 + (1 if n % 60 else 0)] if pad else body)
            if pad:
                fh.write(b"\n")
    rows = ["track_id,cell_type,assay,file,role,transform,strand"]
    for t in range(n_tracks):
        path = root / f"t{t}.bw"
        bw = pyBigWig.open(str(path), "w")
        bw.addHeader(list(chroms.items()))
        for c, n in chroms.items():
            lens = rng.integers(1, 200, size=n // 50 + 10)
            starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
            keep = starts < n
            starts, ends = starts[keep], np.minimum(starts[keep] + lens[keep], n)
            sel = rng.random(starts.size) < 0.8
            vals = rng.gamma(1.0, 5.0, size=starts.size)
            bw.addEntries([c] * int(sel.sum()), starts[sel].tolist(), ends=ends[sel].tolist(), values=vals[sel].tolist())
        bw.close()
        transform = ["sum", "mean;sqrt", "sum;soft_clip=384;scale=0.5", "sum;log1p"][t % 4]
        rows.append(f"t{t},cell{t},ATAC,{path.name},compendium,{transform},.")
    (root / "samplesheet.csv").write_text("\n".join(rows) + "\n")
    return root / "genome.fa", root / "samplesheet.csv"


def peak_rss_kb() -> int:
    """This process's peak RSS. ``VmHWM`` belongs to the address space made at exec, whereas
    ``ru_maxrss`` also keeps the high-water mark of the forking parent's image (Linux carries it
    across execve), which would charge the generator's memory to the child."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_prepare(fasta: str, sheet: str, out: str) -> None:
    """Runs in a fresh process: one whole PREPARE; prints timing and this process's peak RSS."""
    from seq2func.prepare import PrepareParams, prepare_dataset

    t0 = time.perf_counter()
    m = prepare_dataset(fasta, sheet, out, params=PrepareParams(seq_length=SEQ_LENGTH, stride=STRIDE, bin_size=BIN, crop_bp=CROP, max_n_frac=0.1),
                        fractions=(0.5, 0.25, 0.25))
    dt = time.perf_counter() - t0
    print(json.dumps({"seconds": dt, "windows": m["counts"]["windows"], "n_dropped": m["counts"]["n_dropped"],
                      "maxrss_kb": peak_rss_kb()}))


def child_baseline() -> None:
    import pandas  # noqa: F401
    import pyBigWig  # noqa: F401
    import pysam  # noqa: F401

    import seq2func.prepare  # noqa: F401

    print(json.dumps({"maxrss_kb": peak_rss_kb()}))


def _child(args: list[str]) -> dict:
    r = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(REPO / "src")))
    if r.returncode:
        raise SystemExit(f"child failed: {r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_targets(fasta: Path, sheet: Path, stride: int, stats_windows: int = 8, repeats: int = 3) -> dict:
    """Binned targets of every window of chr1: ours (chunked) vs pyBigWig per window."""
    import pyBigWig

    from seq2func.prepare.genome import Fasta
    from seq2func.prepare.run import CHUNK_BP, CHUNK_BYTES, chunk_bounds
    from seq2func.prepare.targets import BigWigSource, window_targets
    from seq2func.prepare.tracks import read_samplesheet

    fa = Fasta(fasta)
    tracks = read_samplesheet(sheet)
    chrom = fa.names[0]
    n_bins = (SEQ_LENGTH - 2 * CROP) // BIN
    starts = np.arange(0, fa.lengths[chrom] - SEQ_LENGTH + 1, stride, dtype=np.int64)
    T = len(tracks)
    sources = [BigWigSource(t, fa.lengths) for t in tracks]
    max_n = max(1, min(CHUNK_BYTES // SEQ_LENGTH, CHUNK_BYTES // (n_bins * T * 4)))
    bws = [pyBigWig.open(str(t.path)) for t in tracks]

    def run_ours() -> np.ndarray:
        return np.concatenate([window_targets(sources, chrom, starts[i:j] + CROP, n_bins, BIN)
                               for i, j in chunk_bounds(starts, SEQ_LENGTH, CHUNK_BP, max_n)])

    def run_direct() -> np.ndarray:
        direct = np.empty((starts.size, n_bins, T), dtype=np.float16)
        for k, s in enumerate(starts.tolist()):
            for j, bw in enumerate(bws):
                v = bw.values(chrom, s + CROP, s + SEQ_LENGTH - CROP, numpy=True)
                sums = np.nan_to_num(v).reshape(n_bins, BIN).sum(axis=1)
                direct[k, :, j] = tracks[j].transform.apply(sums / BIN if tracks[j].transform.aggregation == "mean" else sums)
        return direct

    t_ours, t_values = np.inf, np.inf
    for _ in range(repeats):  # interleaved, best of `repeats` (shared machines are noisy)
        t0 = time.perf_counter()
        ours = run_ours()
        t_ours = min(t_ours, time.perf_counter() - t0)
        t0 = time.perf_counter()
        direct = run_direct()
        t_values = min(t_values, time.perf_counter() - t0)
    ok = np.allclose(ours.astype(np.float32), direct.astype(np.float32), rtol=1e-3, atol=1e-3)
    t0 = time.perf_counter()
    m = min(stats_windows, starts.size)
    for s in starts[:m].tolist():
        for bw in bws:
            bw.stats(chrom, s + CROP, s + SEQ_LENGTH - CROP, type="sum", nBins=n_bins, exact=True)
    t_stats = (time.perf_counter() - t0) * starts.size / max(m, 1)  # extrapolated to all windows
    n = int(starts.size)
    return {
        "chrom": chrom, "windows": n, "tracks": T, "stride": stride, "n_bins": n_bins,
        "repeats": repeats,
        "ours_windows_per_s": n / t_ours,
        "pybigwig_values_windows_per_s": n / t_values,
        "pybigwig_stats_exact_windows_per_s": n / t_stats,
        "pybigwig_stats_windows_measured": m,
        "ours_equal_values_reshape": bool(ok),
        "ratio_vs_pybigwig_values": t_values / t_ours,
        "ratio_vs_pybigwig_stats_exact": t_stats / t_ours,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes-mb", default="20,80")
    ap.add_argument("--tracks", type=int, default=4)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "prepare.json"))
    ap.add_argument("--child-prepare", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--child-baseline", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child_prepare:
        return child_prepare(*a.child_prepare)
    if a.child_baseline:
        return child_baseline()

    import pyBigWig

    import seq2func

    sizes = [int(float(x) * 1e6) for x in a.sizes_mb.split(",")]
    if len(sizes) != 2:
        raise SystemExit("--sizes-mb needs two sizes")
    t_all = time.perf_counter()
    res: dict = {
        "benchmark": "prepare",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "pyBigWig": pyBigWig.__version__, "seq2func": seq2func.__version__},
        "params": {"seq_length": SEQ_LENGTH, "stride": STRIDE, "bin_size": BIN, "crop_bp": CROP, "max_n_frac": 0.1,
                   "chromosomes": N_CHROMS, "tracks": a.tracks},
        "genomes": {},
    }
    base = _child(["--child-baseline"])
    res["baseline_rss_mb"] = base["maxrss_kb"] / 1024
    with tempfile.TemporaryDirectory(prefix="s2f-bench-") as tmp:
        tmp = Path(tmp)
        for label, size in zip(("small", "large"), sizes):
            t0 = time.perf_counter()
            fasta, sheet = make_genome(tmp / label, size, a.tracks, seed=size % 1000)
            gen = time.perf_counter() - t0
            r = _child(["--child-prepare", str(fasta), str(sheet), str(tmp / label / "dataset")])
            res["genomes"][label] = {
                "size_bp": size, "chromosome_bp": size // N_CHROMS, "generate_s": round(gen, 2),
                "windows": r["windows"], "n_dropped": r["n_dropped"], "seconds": round(r["seconds"], 3),
                "windows_per_s": r["windows"] / r["seconds"], "mb_per_s": size / 1e6 / r["seconds"],
                "peak_rss_mb": r["maxrss_kb"] / 1024,
            }
            print(f"{label}: {res['genomes'][label]}", file=sys.stderr)
        fasta, sheet = tmp / "large" / "genome.fa", tmp / "large" / "samplesheet.csv"
        res["targets"] = bench_targets(fasta, sheet, STRIDE)
        res["targets_no_overlap"] = bench_targets(fasta, sheet, SEQ_LENGTH - 2 * CROP)
    g = res["genomes"]
    res["windows_per_s"] = {k: v["windows_per_s"] for k, v in g.items()}
    res["peak_rss_mb"] = {k: v["peak_rss_mb"] for k, v in g.items()}
    res["peak_rss_ratio_large_vs_small"] = g["large"]["peak_rss_mb"] / g["small"]["peak_rss_mb"]
    res["genome_size_ratio_large_vs_small"] = g["large"]["size_bp"] / g["small"]["size_bp"]
    tg, tn = res["targets"], res["targets_no_overlap"]
    res["ratio_vs_pybigwig_direct"] = tg["ours_windows_per_s"] / max(tg["pybigwig_values_windows_per_s"], tg["pybigwig_stats_exact_windows_per_s"])
    res["ratio_vs_pybigwig_direct_no_overlap"] = tn["ours_windows_per_s"] / max(tn["pybigwig_values_windows_per_s"], tn["pybigwig_stats_exact_windows_per_s"])
    res["total_s"] = round(time.perf_counter() - t_all, 1)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps({k: res[k] for k in ("windows_per_s", "peak_rss_mb", "peak_rss_ratio_large_vs_small", "ratio_vs_pybigwig_direct",
                                          "ratio_vs_pybigwig_direct_no_overlap", "total_s")}, indent=2))


if __name__ == "__main__":
    main()
