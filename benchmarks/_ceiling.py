"""The noise ceiling of exactly the quantity EVALUATE scores, for the TRAIN benchmarks (not a benchmark itself).

For every track and every evaluated bin of a split (its windows, ``[start + crop, end - crop)``,
128-bp sums, the track's transform), the per-base expected and observed coverage are regenerated
with ``load_world(...).coverage`` and binned like the dataset. The observed bins, transformed, must
equal the stored float16 targets (checked; blacklisted bins are 0 in the store and are predicted as
0 by the ceiling predictor, which knows the blacklist). Per track:

* ``ceiling`` = Pearson R between ``E[f(K) | L]`` and the stored targets, where ``L`` is the
  expected bin sum, ``K ~ Poisson(L)`` the observed one and ``f`` the transform. The conditional
  expectation is the best possible predictor for Pearson R (Cauchy-Schwarz), so this *is* the
  ceiling. It is computed exactly from the Poisson pmf;
* ``ceiling_plugin`` = Pearson R between ``f(L)`` and the stored targets. Identical for ATAC
  (``sum``: ``f`` is the identity); for CAGE (``sum;soft_clip=32;sqrt``) ``sqrt(L)`` is a poor
  predictor of ``sqrt(K)`` when ``L`` is small (most bins), so this "ceiling" is lower and the
  ratio against it is flattering (it can exceed 1). Reported for reference only;
* ``ceiling_truth_whole_genome``: truth.json's ``analytic_r`` (raw bin sums, whole genome);
* ``r_ideal_blurred_3_bins``: a diagnostic, not a ceiling (the ideal predictor spread over 3
  neighbouring bins).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _common import pearson
from scipy.stats import poisson

from seq2func.simulate import load_world
from seq2func.transforms import parse_transform


def read_intervals(path: Path) -> dict[str, list[tuple[int, int]]]:
    """The intervals of a BED file per chromosome (header, ``track`` and ``browser`` lines skipped).

    Parameters
    ----------
    path
        BED file.
    """
    out: dict[str, list[tuple[int, int]]] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        f = line.split("\t")
        out.setdefault(f[0], []).append((int(f[1]), int(f[2])))
    return out


def expected_transformed(L: np.ndarray, transform, divisor: float, chunk: int = 2048) -> np.ndarray:
    """``E[f(K / divisor)]`` for ``K ~ Poisson(L)``, elementwise, exactly (pmf over +/- 12 SD).

    Parameters
    ----------
    L
        Poisson means.
    transform
        A parsed track transform (``seq2func.transforms.parse_transform``).
    divisor
        Bin size for ``mean`` aggregation, else 1.
    chunk
        Values per vectorised block.
    """
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


def _binned_coverage(world_dir: Path, regions, track_ids: list[str], crop: int, b: int, nb: int):
    """Expected and observed bin sums ``(n, nb, T)`` of every scored bin, and the blacklist mask ``(n, nb)``."""
    world = load_world(world_dir)
    blacklist = read_intervals(world_dir / "blacklist.bed")
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
    return L_all, O_all, bl_all


def _track_ceiling(row, y: np.ndarray, L: np.ndarray, O: np.ndarray, bl: np.ndarray, b: int, tt: dict) -> dict:
    """One track's ceilings and store check; ``y`` the stored targets, ``L``/``O`` expected/observed bin sums."""
    tr = parse_transform(row["transform"])
    div = float(b) if tr.aggregation == "mean" else 1.0
    obs_t = tr.apply(O / np.float32(div)).astype(np.float16).astype(np.float32)
    obs_t[bl] = 0.0
    plug = tr.apply((L / div).astype(np.float32)).astype(np.float64)
    cond = expected_transformed(L.ravel(), tr, div).reshape(L.shape)
    plug[bl] = 0.0
    cond[bl] = 0.0
    # diagnostic (not a ceiling): the ideal predictor spread over 3 neighbouring bins, i.e. the
    # signal's position known to +/- 1 bin only (CAGE: the TSS is not marked base-exactly by sequence)
    pad = np.pad(cond, ((0, 0), (1, 1)))
    cnt = np.pad(np.ones_like(cond), ((0, 0), (1, 1)))
    blur = (pad[:, :-2] + pad[:, 1:-1] + pad[:, 2:]) / (cnt[:, :-2] + cnt[:, 1:-1] + cnt[:, 2:])
    return {
        "assay": row["assay"], "role": row["role"], "transform": row["transform"],
        "ceiling": pearson(cond, y), "ceiling_plugin": pearson(plug, y),
        "r_ideal_blurred_3_bins": pearson(blur, y),
        "ceiling_raw_sums": pearson(np.where(bl, 0.0, L), np.where(bl, 0.0, O)),
        "ceiling_truth_whole_genome": (tt.get("noise_ceiling") or {}).get("analytic_r"),
        "targets_equal_observed": bool(np.array_equal(obs_t, y)), "mean_expected_bin_sum": float(L[~bl].mean()),
        # not reported per track: folded into the split's checks by ceilings()
        "_max_abs_diff": float(np.abs(obs_t - y).max()), "_blacklisted_nonzero": int((y[bl] != 0).sum()),
    }


def ceilings(world_dir: Path, ds, split: str, track_ids: list[str], truth: dict) -> dict:
    """Per-track noise ceilings of exactly the bins :func:`seq2func.evaluate.evaluate` scores on ``split``.

    Parameters
    ----------
    world_dir
        The simulated world (``truth.json``, ``blacklist.bed``, the coverage model).
    ds
        The prepared profile dataset (``seq2func.prepare.open_dataset``).
    split
        ``"test"`` or ``"valid"``.
    track_ids
        Tracks to score.
    truth
        The world's parsed ``truth.json``.

    Returns
    -------
    The split's bins and checks (``stored_targets_equal_binned_observed`` ...) and ``tracks``:
    per track ``ceiling``, ``ceiling_plugin`` and the diagnostics of the module docstring.
    """
    idx = ds.split(split)
    regions = ds.regions.iloc[idx].reset_index(drop=True)
    p = ds.manifest["params"]
    crop, b, nb = int(p.get("crop_bp", 0) or 0), int(p["bin_size"]), int(ds.n_bins)
    ids = list(ds.tracks["track_id"])
    cols = [ids.index(t) for t in track_ids]
    stored = np.asarray(ds.targets[idx], dtype=np.float32)[:, :, cols]  # (n, nb, T) as evaluate reads them
    truth_tracks = {t["track_id"]: t for t in truth["tracks"]}
    L_all, O_all, bl_all = _binned_coverage(world_dir, regions, track_ids, crop, b, nb)
    per_track = {}
    eq_all, maxdiff, bl_nonzero = True, 0.0, 0
    for j, tid in enumerate(track_ids):
        c = _track_ceiling(ds.tracks.iloc[cols[j]], stored[:, :, j], L_all[:, :, j], O_all[:, :, j], bl_all, b,
                           truth_tracks.get(tid, {}))
        eq_all &= c["targets_equal_observed"]
        maxdiff = max(maxdiff, c.pop("_max_abs_diff"))
        bl_nonzero += c.pop("_blacklisted_nonzero")
        per_track[tid] = c
    n = len(regions)
    return {
        "split": split, "chroms": sorted(regions["chrom"].unique().tolist()), "n_windows": int(n), "bins_per_window": nb,
        "n_bins": int(n * nb), "n_blacklisted_bins": int(bl_all.sum()),
        "stored_targets_equal_binned_observed": bool(eq_all), "max_abs_diff_stored_vs_observed": maxdiff,
        "blacklisted_bins_nonzero_in_store": bl_nonzero, "tracks": per_track,
    }
