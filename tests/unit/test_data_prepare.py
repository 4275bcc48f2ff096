"""PREPARE profile/peak mode against independent oracles (pyBigWig, the FASTA text, hand-built cases)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from seq2func.errors import InputError
from seq2func.prepare import PrepareParams, merge_parts, open_dataset, prepare_chrom, prepare_dataset

try:
    from test_data_fixtures import build_profile_world, write_bigwig, write_fasta, write_samplesheet
except ImportError:  # pragma: no cover - package-style test layout
    from .test_data_fixtures import build_profile_world, write_bigwig, write_fasta, write_samplesheet

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
L, BIN, STRIDE, CROP = 4096, 128, 2048, 512
NB = (L - 2 * CROP) // BIN
PARAMS = PrepareParams(seq_length=L, bin_size=BIN, stride=STRIDE, crop_bp=CROP, max_n_frac=0.1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = build_profile_world(tmp_path_factory.mktemp("world"))
    w["ds"] = w["root"] / "ds"
    prepare_dataset(w["fasta"], w["samplesheet"], w["ds"], params=PARAMS, blacklist=w["blacklist"], test_chroms="chr3", valid_chroms="2")
    return w


def oracle_bin_sums(bw_path: Path, chrom: str, start: int) -> np.ndarray:
    """Per-bin sums of a window's targets straight from pyBigWig (exact stats; no data -> 0)."""
    bw = pyBigWig.open(str(bw_path))
    if chrom not in bw.chroms():
        return np.zeros(NB)
    out = []
    for k in range(NB):
        s = start + CROP + k * BIN
        v = bw.stats(chrom, s, s + BIN, type="sum", exact=True)[0]
        out.append(0.0 if v is None else v)
    return np.array(out)


def hand_transform(track_id: str, sums: np.ndarray) -> np.ndarray:
    """The samplesheet transforms of the fixture, written out by hand."""
    if track_id == "atac":  # sum
        return sums
    if track_id == "dnase":  # mean;sqrt
        return np.sqrt(sums / BIN)
    if track_id == "cage_p":  # sum;soft_clip=50;scale=0.5
        return np.where(sums > 50, 50 + np.sqrt(np.maximum(sums - 50, 0)), sums) * 0.5
    if track_id == "cage_m":  # sum;clip=300;log1p
        return np.log1p(np.minimum(sums, 300))
    raise KeyError(track_id)


def blacklisted_bins(chrom: str, start: int) -> np.ndarray:
    ivs = {"chr1": [(10000, 10500), (30100, 30101)], "chr3": [(5000, 7000)]}.get(chrom, [])
    bs = start + CROP + np.arange(NB) * BIN
    bad = np.zeros(NB, dtype=bool)
    for a, b in ivs:
        bad |= (bs < b) & (bs + BIN > a)
    return bad


def test_targets_equal_pybigwig_sums_on_random_windows(world):
    ds = open_dataset(world["ds"])
    rng = np.random.default_rng(0)
    files = {r["track_id"]: (world["root"] / r["file"]) if not os.path.isabs(r["file"]) else Path(r["file"]) for r in world["rows"]}
    bw_names = {"atac": lambda c: c.removeprefix("chr")}
    checked = 0
    for i in rng.choice(len(ds), size=12, replace=False):
        chrom, start = ds.regions.chrom[i], int(ds.regions.start[i])
        got = ds.targets[int(i)].astype(np.float64)
        bad = blacklisted_bins(chrom, start)
        for j, tid in enumerate(ds.tracks.track_id):
            name = bw_names.get(tid, lambda c: c)(chrom)
            want = hand_transform(tid, oracle_bin_sums(files[tid], name, start))
            np.testing.assert_allclose(got[~bad, j], want[~bad], rtol=2e-3, atol=1e-3, err_msg=f"{tid} {chrom}:{start}")
            assert np.all(got[bad, j] == 0)
            checked += 1
    assert checked == 48


def test_sequences_equal_fasta_text(world):
    ds = open_dataset(world["ds"])
    lut = {"A": 0, "C": 1, "G": 2, "T": 3}
    for i in (0, len(ds) // 2, len(ds) - 1):
        chrom, s, e = ds.regions.chrom[i], int(ds.regions.start[i]), int(ds.regions.end[i])
        want = np.array([lut.get(ch.upper(), 4) for ch in world["seqs"][chrom][s:e]], dtype=np.uint8)
        np.testing.assert_array_equal(ds.sequences[i], want)


def test_n_filter_drops_exactly_the_windows_over_the_limit(world):
    ds = open_dataset(world["ds"])
    seq = world["seqs"]["chr2"]
    starts = list(range(0, len(seq) - L + 1, STRIDE))
    nfrac = [seq[s : s + L].upper().count("N") / L for s in starts]
    keep = [s for s, f in zip(starts, nfrac) if f <= 0.1]
    got = ds.regions[ds.regions.chrom == "chr2"].start.tolist()
    assert got == keep and len(keep) < len(starts)
    m = ds.manifest
    assert m["counts"]["by_chrom"]["chr2"]["n_dropped"] == len(starts) - len(keep)
    assert m["counts"]["n_dropped"] == len(starts) - len(keep)  # chr1/chr3 have no N
    assert m["counts"]["n_dropped_by_split"]["valid"] == len(starts) - len(keep)


def test_blacklist_modes(world, tmp_path):
    p = PrepareParams(seq_length=L, bin_size=BIN, stride=STRIDE, crop_bp=CROP, blacklist_mode="mask")
    prepare_dataset(world["fasta"], world["samplesheet"], tmp_path / "m", params=p, blacklist=world["blacklist"], chroms=["chr1", "chr3"])
    prepare_dataset(world["fasta"], world["samplesheet"], tmp_path / "n", params=p, chroms=["chr1", "chr3"])
    masked, plain = open_dataset(tmp_path / "m"), open_dataset(tmp_path / "n")
    assert masked.manifest["store"]["targets"]["blacklisted_bins"] == "nan"
    n_bad = 0
    for i in range(len(masked)):
        bad = blacklisted_bins(masked.regions.chrom[i], int(masked.regions.start[i]))
        t, u = masked.targets[i], plain.targets[i]
        assert np.all(np.isnan(t[bad])) and not np.isnan(t[~bad]).any()
        np.testing.assert_array_equal(t[~bad], u[~bad])
        n_bad += int(bad.sum())
    assert n_bad > 0  # incl. the 1-bp interval and the interval named '3' (alias of chr3)
    # the 1-bp interval at chr1:30100 blacklists exactly the bins that contain base 30100
    i = int(np.flatnonzero((masked.regions.chrom == "chr1") & (masked.regions.start == 28672))[0])
    bs = 28672 + CROP + np.arange(NB) * BIN
    assert np.isnan(masked.targets[i][:, 0]).tolist() == ((bs <= 30100) & (30100 < bs + BIN)).tolist()


def test_every_transform_against_hand_computed_numpy(tmp_path):
    """Constant coverage per bin -> known sums; each transform of the grammar on the same bigWig."""
    chroms = {"chrT": 8192}
    write_fasta(tmp_path / "g.fa", chroms, n_runs=())
    v = np.array([0.0, 0.1, 0.5, 1.0, 2.0, 3.5, 10.0, 25.0, 100.0, 700.0] * 7)[: 8192 // BIN - 2]
    per_base = np.concatenate([[0.0], v, [0.0]])  # 64 bins of 128 bp
    bw = pyBigWig.open(str(tmp_path / "c.bw"), "w")
    bw.addHeader(list(chroms.items()))
    bw.addEntries("chrT", 0, values=np.repeat(per_base, BIN).tolist(), span=1, step=1)
    bw.close()
    transforms = {
        "t_sum": "sum",
        "t_mean": "mean",
        "t_clip": "sum;clip=100",
        "t_soft": "sum;soft_clip=64",
        "t_scale": "sum;scale=0.25",
        "t_sqrt": "sum;sqrt",
        "t_log1p": "sum;log1p",
        "t_chain": "mean;soft_clip=20;scale=2;sqrt",
    }
    rows = [dict(track_id=k, cell_type="x", assay="y", file="c.bw", role="target", transform=t, strand=".") for k, t in transforms.items()]
    write_samplesheet(tmp_path / "s.csv", rows)
    prepare_dataset(tmp_path / "g.fa", tmp_path / "s.csv", tmp_path / "ds", params=PrepareParams(seq_length=8192, bin_size=BIN))
    ds = open_dataset(tmp_path / "ds")
    assert ds.targets.shape == (1, 64, len(transforms))
    y = ds.targets[0].astype(np.float64)
    s = per_base * BIN  # per-bin sums
    m = per_base  # per-bin means
    soft = lambda x, t: np.where(x > t, t + np.sqrt(np.maximum(x - t, 0)), x)  # noqa: E731
    want = {
        "t_sum": s,
        "t_mean": m,
        "t_clip": np.minimum(s, 100),
        "t_soft": soft(s, 64),
        "t_scale": s * 0.25,
        "t_sqrt": np.sqrt(s),
        "t_log1p": np.log1p(s),
        "t_chain": np.sqrt(soft(m, 20) * 2),
    }
    for j, k in enumerate(transforms):
        if k == "t_sum":
            sat = s > 65504  # 700 * 128 = 89600 does not fit float16: saturates
            np.testing.assert_allclose(y[~sat, j], want[k][~sat], rtol=1e-3)
            assert np.all(y[sat, j] == 65504) and sat.any()
        else:
            np.testing.assert_allclose(y[:, j], want[k], rtol=1e-3, atol=1e-4, err_msg=k)
    assert ds.manifest["float16_saturated"] == {"t_sum": int((s > 65504).sum())}
    assert list(ds.tracks["transform"]) == list(transforms.values())


def test_missing_chromosome_zeros_with_warning_or_strict_error(world, tmp_path):
    ds = open_dataset(world["ds"])
    chr3 = ds.split("test")
    j = list(ds.tracks.track_id).index("dnase")
    assert np.all(ds.targets[chr3][:, :, j] == 0)
    assert any("dnase" in w and "chr3" in w for w in ds.manifest["warnings"])
    with pytest.raises(InputError, match="strict"):
        prepare_chrom(world["fasta"], world["samplesheet"], "chr3", tmp_path / "p", params=PrepareParams(seq_length=L, strict=True))
    assert not (tmp_path / "p").exists()


def test_contig_shorter_than_the_window_gives_an_empty_part(tmp_path):
    write_fasta(tmp_path / "g.fa", {"chrA": 9000, "chrS": 1000}, n_runs=())
    write_bigwig(tmp_path / "a.bw", {"chrA": 9000, "chrS": 1000}, seed=2)
    write_samplesheet(tmp_path / "s.csv", [dict(track_id="a", file="a.bw")])
    m = prepare_dataset(tmp_path / "g.fa", tmp_path / "s.csv", tmp_path / "ds", params=PrepareParams(seq_length=4096))
    assert m["counts"]["by_chrom"]["chrS"]["kept"] == 0 and [s["chrom"] for s in m["store"]["shards"]] == ["chrA"]
    ds = open_dataset(tmp_path / "ds")
    assert ds.sequences.shape == (2, 4096) and set(ds.regions.chrom) == {"chrA"}


def _hash_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_deterministic_bytes(world, tmp_path):
    prepare_dataset(world["fasta"], world["samplesheet"], tmp_path / "again", params=PARAMS, blacklist=world["blacklist"], test_chroms="chr3", valid_chroms="chr2")
    a, b = _hash_tree(world["ds"]), _hash_tree(tmp_path / "again")
    assert a == b and len(a) == 3 + 2 * 3


def test_manifest_contents(world):
    m = open_dataset(world["ds"]).manifest
    assert m["params"]["seq_length"] == L and m["params"]["bin_size"] == BIN and m["params"]["crop_bp"] == CROP and m["params"]["stride"] == STRIDE
    assert m["split"]["chroms"] == {"chr1": "train", "chr2": "valid", "chr3": "test"}
    assert sum(m["counts"]["by_split"].values()) == m["counts"]["windows"]
    # genome checksum: independent sha256 of the upper-case sequence
    for c, s in world["seqs"].items():
        assert m["genome"]["chroms"][c]["sha256"] == hashlib.sha256(s.upper().encode()).hexdigest()
    assert set(m["versions"]) >= {"seq2func", "numpy", "pyBigWig"}


# ----------------------------------------------------------------------------- peak mode
def _peak_world(root: Path, seed: int = 0):
    chroms = {"chrP": 20_000}
    seqs = write_fasta(root / "g.fa", chroms, seed=3, n_runs=())
    # narrowPeak: col 10 is the summit offset (-1: unknown -> midpoint); one peak too close to the edge
    (root / "a.narrowPeak").write_text(
        "chrP\t5000\t5400\tp1\t0\t.\t1\t1\t1\t100\n"
        "chrP\t12000\t12300\tp2\t0\t.\t1\t1\t1\t-1\n"
        "chrP\t15055\t15300\tp3\t0\t.\t1\t1\t1\t200\n"
        "chrP\t100\t200\tp4\t0\t.\t1\t1\t1\t50\n"
    )
    (root / "b.bed").write_text("track name=b\nchrP\t5140\t5200\nchrP\t15000\t15010\n")  # plain BED: midpoints
    rows = [
        dict(track_id="A", cell_type="c", assay="ChIP", file="a.narrowPeak", role="target", strand="."),
        dict(track_id="B", cell_type="c", assay="ATAC", file="b.bed", role="target", strand="."),
    ]
    write_samplesheet(root / "s.csv", rows)
    return seqs


def test_peak_mode_labels_by_centre_overlap(tmp_path):
    seqs = _peak_world(tmp_path)
    p = PrepareParams(mode="peak", seq_length=1000, bin_size=100, background_ratio=1.0, seed=7)
    prepare_dataset(tmp_path / "g.fa", tmp_path / "s.csv", tmp_path / "ds", params=p)
    ds = open_dataset(tmp_path / "ds")
    assert ds.targets.shape == (len(ds), 1, 2) and ds.targets.dtype == np.float16
    r = ds.regions
    pk = r[r.kind == "peak"]
    # summits 5100, 12150 (midpoint), 15255; B midpoints 5170, 15005; start = summit - 500
    # central bin = [start + 450, start + 550)
    want = {4600: (1, 1), 4670: (1, 1), 11650: (1, 0), 14505: (0, 1), 14755: (1, 0)}
    assert pk.start.tolist() == sorted(want)
    for i in pk.index:
        assert tuple(ds.targets[int(i)][0].astype(int)) == want[int(r.start[i])]
    bg = r[r.kind == "background"]
    assert len(bg) == 5 and np.all(ds.targets[bg.index.to_numpy()] == 0)
    counts = ds.manifest["counts"]["by_chrom"]["chrP"]
    assert counts["edge_dropped"] == 1 and counts["background_kept"] == 5
    # background central bins overlap no peak
    allpk = [(5000, 5400), (12000, 12300), (15055, 15300), (100, 200), (5140, 5200), (15000, 15010)]
    for s in bg.start:
        c0 = s + 450
        assert not any(c0 < b and c0 + 100 > a for a, b in allpk)
    # sequences are the FASTA's
    lut = {"A": 0, "C": 1, "G": 2, "T": 3}
    s0 = int(r.start[0])
    assert ds.sequences[0].tolist() == [lut.get(ch.upper(), 4) for ch in seqs["chrP"][s0 : s0 + 1000]]
    # seeded: same seed same background, other seed other background
    prepare_dataset(tmp_path / "g.fa", tmp_path / "s.csv", tmp_path / "ds2", params=p)
    prepare_dataset(tmp_path / "g.fa", tmp_path / "s.csv", tmp_path / "ds3", params=PrepareParams(mode="peak", seq_length=1000, bin_size=100, seed=8))
    assert _hash_tree(tmp_path / "ds") == _hash_tree(tmp_path / "ds2")
    assert open_dataset(tmp_path / "ds3").regions.start.tolist() != r.start.tolist()


def test_peak_background_is_gc_matched(tmp_path):
    """Peaks on GC-rich islands: the background must come from GC-rich places too."""
    rng = np.random.default_rng(5)
    n = 200_000
    at = np.frombuffer(b"AATTACGT", dtype=np.uint8)  # 25% GC background
    gc = np.frombuffer(b"GGCCGCAT", dtype=np.uint8)  # 75% GC islands
    s = at[rng.integers(0, 8, n)].copy()
    islands = rng.choice(np.arange(2_000, n - 2_000, 3_000), size=40, replace=False)
    for a in islands:
        s[a : a + 1500] = gc[rng.integers(0, 8, 1500)]
    (tmp_path / "g.fa").write_text(">chrG\n" + s.tobytes().decode() + "\n")
    peaks = [a for a in sorted(islands)[:20]]
    (tmp_path / "p.bed").write_text("".join(f"chrG\t{a + 700}\t{a + 800}\n" for a in peaks))
    write_samplesheet(tmp_path / "s.csv", [dict(track_id="P", file="p.bed", role="target")])
    prepare_dataset(tmp_path / "g.fa", tmp_path / "s.csv", tmp_path / "ds", params=PrepareParams(mode="peak", seq_length=600, bin_size=100, gc_bins=10))
    ds = open_dataset(tmp_path / "ds")
    gcfrac = lambda i: np.isin(ds.sequences[int(i)], (1, 2)).mean()  # noqa: E731
    pk = [gcfrac(i) for i in np.flatnonzero(ds.regions.kind == "peak")]
    bg = [gcfrac(i) for i in np.flatnonzero(ds.regions.kind == "background")]
    assert len(pk) == 20 and len(bg) == 20
    assert abs(np.mean(pk) - np.mean(bg)) < 0.05 and np.mean(bg) > 0.6


# ----------------------------------------------------------------------------- bad inputs
def _bad_setup(world, tmp_path, kind):
    """Returns kwargs for prepare_chrom that must fail with InputError, and a text the error must contain."""
    fasta, sheet = world["fasta"], world["samplesheet"]
    kw = dict(fasta=fasta, samplesheet=sheet, chrom="chr1", params=PrepareParams(seq_length=L))
    if kind == "other_assembly":
        write_bigwig(tmp_path / "hg.bw", {"chr1": 61_000, "chr2": 50_000}, seed=1)
        kw["samplesheet"] = write_samplesheet(tmp_path / "s.csv", [dict(track_id="x", file="hg.bw")])
        return kw, "hg.bw"
    if kind == "chrom_absent":
        kw["chrom"] = "chr9"
        return kw, "genome.fa"
    if kind == "bed_end_before_start":
        (tmp_path / "bl.bed").write_text("chr1\t100\t200\nchr1\t500\t400\n")
        kw["blacklist"] = tmp_path / "bl.bed"
        return kw, "line 2"
    if kind == "peak_end_before_start":
        (tmp_path / "p.bed").write_text("chr1\t100\t200\nchr2\t900\t800\n")
        kw["samplesheet"] = write_samplesheet(tmp_path / "s.csv", [dict(track_id="x", file="p.bed")])
        kw["params"] = PrepareParams(mode="peak", seq_length=1000)
        return kw, "p.bed"
    if kind == "empty_samplesheet":
        (tmp_path / "s.csv").write_text("")
        kw["samplesheet"] = tmp_path / "s.csv"
        return kw, "empty"
    if kind == "header_only_samplesheet":
        kw["samplesheet"] = write_samplesheet(tmp_path / "s.csv", [])
        return kw, "no tracks"
    if kind == "unreadable_bigwig":
        (tmp_path / "junk.bw").write_bytes(b"this is not a bigWig\n" * 10)
        kw["samplesheet"] = write_samplesheet(tmp_path / "s.csv", [dict(track_id="x", file="junk.bw")])
        return kw, "junk.bw"
    if kind == "truncated_bigwig":
        (tmp_path / "trunc.bw").write_bytes((world["root"] / "tracks" / "atac.bw").read_bytes()[:300])
        kw["samplesheet"] = write_samplesheet(tmp_path / "s.csv", [dict(track_id="x", file="trunc.bw")])
        return kw, "trunc.bw"
    if kind == "missing_file":
        kw["samplesheet"] = write_samplesheet(tmp_path / "s.csv", [dict(track_id="x", file="nope.bw")])
        return kw, "nope.bw"
    if kind == "bad_transform":
        kw["samplesheet"] = write_samplesheet(tmp_path / "s.csv", [dict(track_id="x", file=str(world["root"] / "tracks" / "atac.bw"), transform="sum;cube")])
        return kw, "cube"
    if kind == "bad_bin_size":
        kw["params"] = PrepareParams(seq_length=L, bin_size=100)
        return kw, "--bin_size"
    raise KeyError(kind)


BAD = ["other_assembly", "chrom_absent", "bed_end_before_start", "peak_end_before_start", "empty_samplesheet",
       "header_only_samplesheet", "unreadable_bigwig", "truncated_bigwig", "missing_file", "bad_transform", "bad_bin_size"]


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_is_one_line_input_error_and_nothing_published(world, tmp_path, kind):
    kw, needle = _bad_setup(world, tmp_path, kind)
    out = tmp_path / "out.part"
    with pytest.raises(InputError) as ei:
        prepare_chrom(out=out, **kw)
    msg = str(ei.value)
    assert "\n" not in msg and needle in msg, msg
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_merge_rejects_mismatched_parts(world, tmp_path):
    a = tmp_path / "a.part"
    b = tmp_path / "b.part"
    prepare_chrom(world["fasta"], world["samplesheet"], "chr1", a, params=PrepareParams(seq_length=L))
    prepare_chrom(world["fasta"], world["samplesheet"], "chr3", b, params=PrepareParams(seq_length=L, bin_size=256))
    with pytest.raises(InputError, match="params"):
        merge_parts([a, b], tmp_path / "ds")
    with pytest.raises(InputError, match="no part"):
        merge_parts([a], tmp_path / "ds")
    with pytest.raises(InputError, match="also in"):
        merge_parts([a, a], tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


# ----------------------------------------------------------------------------- CLI fan-out
def _run(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([PY, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True)


def test_cli_fan_out_equals_in_process(world, tmp_path):
    b = REPO / "bin"
    r = _run([b / "prepare_split.py", "--fasta", world["fasta"], "--test-chroms", "chr3", "--valid-chroms", "2",
              "--out", "split.json", "--chroms-out", "chroms.txt"], tmp_path)
    assert r.returncode == 0, r.stderr
    chroms = (tmp_path / "chroms.txt").read_text().split()
    assert chroms == ["chr1", "chr2", "chr3"]
    common = ["--fasta", world["fasta"], "--samplesheet", world["samplesheet"], "--split-json", "split.json",
              "--seq-length", L, "--bin-size", BIN, "--stride", STRIDE, "--crop-bp", CROP, "--max-n-frac", 0.1,
              "--blacklist", world["blacklist"]]
    for c in chroms:
        r = _run([b / "prepare_chrom.py", *common, "--chrom", c, "--out", f"{c}.part"], tmp_path)
        assert r.returncode == 0, r.stderr
    r = _run([b / "prepare_merge.py", *[f"{c}.part" for c in chroms], "--out", "dataset"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert _hash_tree(tmp_path / "dataset") == _hash_tree(world["ds"])
    # a bad input: exit 2, one ERROR line, nothing published
    r = _run([b / "prepare_chrom.py", *common, "--chrom", "chrZ", "--out", "bad.part"], tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("ERROR: ") and "chrZ" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "bad.part").exists()
    # a truncated bigWig: libBigWig's own complaints are swallowed, stderr is one line
    (tmp_path / "trunc.bw").write_bytes((world["root"] / "tracks" / "atac.bw").read_bytes()[:300])
    write_samplesheet(tmp_path / "bad.csv", [dict(track_id="x", file="trunc.bw")])
    r = _run([b / "prepare_chrom.py", "--fasta", world["fasta"], "--samplesheet", "bad.csv", "--chrom", "chr1", "--out", "bad.part"], tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("ERROR: ") and "trunc.bw" in r.stderr
    assert not (tmp_path / "bad.part").exists()


# ----------------------------------------------------------------------------- contig blocks
from seq2func.prepare.split import load_split, make_split, split_blocks, split_digest  # noqa: E402

ONE = {"chrOne": 400_000}
ONE_RUNS = (("chrOne", 150_000, 170_000), ("chrOne", 300_000, 302_000))  # a 20 kb assembly gap, a 2 kb N run
CONTIG_KW = dict(split_by="contig", block_size=50_000, min_gap=10_000, gap=6_000, seq_length=L)


def _one_chrom_world(root: Path, n_runs=ONE_RUNS) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    seqs = write_fasta(root / "g.fa", ONE, seed=5, n_runs=n_runs)
    write_bigwig(root / "a.bw", ONE, seed=3)
    write_samplesheet(root / "s.csv", [dict(track_id="atac", cell_type="c", assay="ATAC", file="a.bw", role="target", transform="sum", strand=".")])
    return dict(root=root, fasta=root / "g.fa", samplesheet=root / "s.csv", seqs=seqs)


def _expected_tiles(seq: str, blocks: list[dict], stride: int, max_n_frac: float) -> list[tuple[int, str]]:
    out = []
    for b in blocks:
        for s in range(b["start"], b["end"] - L + 1, stride):
            if seq[s : s + L].upper().count("N") / L <= max_n_frac:
                out.append((s, b["split"]))
    return out


def _min_distance_between_splits(starts: np.ndarray, labels: np.ndarray, length: int) -> float:
    best = np.inf
    for lab in set(labels):
        a = np.sort(starts[labels == lab])
        b = np.sort(starts[labels != lab])
        if a.size and b.size:
            # windows [a, a+length) and [b, b+length): distance max(b - (a+length), a - (b+length))
            d = np.maximum(b[None, :] - (a[:, None] + length), a[:, None] - (b[None, :] + length))
            best = min(best, float(d.min()))
    return best


def test_contig_blocks_give_every_split_windows_on_one_chromosome(tmp_path):
    w = _one_chrom_world(tmp_path / "w")
    split = make_split(w["fasta"], fractions=(0.6, 0.2, 0.2), seed=0, **CONTIG_KW)
    m = prepare_dataset(w["fasta"], w["samplesheet"], tmp_path / "ds", params=PARAMS, split=split)
    ds = open_dataset(tmp_path / "ds")
    r = ds.regions
    assert set(r.split) == {"train", "valid", "test"}
    blocks = split_blocks(split)
    assert all(b["end"] <= 150_000 or b["start"] >= 170_000 for b in blocks)  # cut at the 20 kb gap
    # windows: tiled from each block's start with the stride, wholly inside it, N filter as usual
    want = _expected_tiles(w["seqs"]["chrOne"], blocks, STRIDE, 0.1)
    assert list(zip(r.start.tolist(), r.split.tolist())) == want
    starts, labels = r.start.to_numpy(), r.split.to_numpy()
    for s, lab in zip(starts, labels):
        holder = [b for b in blocks if b["start"] <= s and s + L <= b["end"]]
        assert len(holder) == 1 and holder[0]["split"] == lab  # never across a block edge
        others = [b for b in blocks if b["split"] != lab and b["start"] < s + L and s < b["end"]]
        assert not others  # no window overlaps a block of another split
    assert _min_distance_between_splits(starts, labels, L) >= split["gap"] == 6_000
    # counts: per split in the part and the manifest; the chromosome's label is 'contigs'
    c = m["counts"]
    assert c["by_split"] == {k: int((labels == k).sum()) for k in ("test", "train", "valid")}
    assert sum(c["by_split"].values()) == c["windows"] == len(ds)
    assert c["by_chrom"]["chrOne"]["split"] == "contigs" and c["by_chrom"]["chrOne"]["by_split"] == c["by_split"]
    cand = sum(len(range(b["start"], b["end"] - L + 1, STRIDE)) for b in blocks)
    assert c["n_dropped"] == cand - len(ds) > 0 and sum(c["n_dropped_by_split"].values()) == c["n_dropped"]
    assert m["split"]["split_by"] == "contig" and m["split"]["blocks"] == split["blocks"]
    # sequences and targets are those of the FASTA / bigWig at the window
    lut = {"A": 0, "C": 1, "G": 2, "T": 3}
    for i in (0, len(ds) // 2, len(ds) - 1):
        s = int(r.start[i])
        assert ds.sequences[i].tolist() == [lut.get(ch.upper(), 4) for ch in w["seqs"]["chrOne"][s : s + L]]
        np.testing.assert_allclose(ds.targets[i][:, 0].astype(np.float64), oracle_bin_sums(w["root"] / "a.bw", "chrOne", s), rtol=2e-3, atol=1e-3)
    # the same split made inside prepare_dataset from its kwargs
    prepare_dataset(w["fasta"], w["samplesheet"], tmp_path / "ds2", params=PARAMS, fractions=(0.6, 0.2, 0.2), seed=0, **CONTIG_KW)
    assert _hash_tree(tmp_path / "ds2") == _hash_tree(tmp_path / "ds")
    # chrom mode on the same genome: one chromosome, all train (no request for valid/test)
    m1 = prepare_dataset(w["fasta"], w["samplesheet"], tmp_path / "ds3", params=PARAMS)
    assert m1["counts"]["by_split"] == {"train": len(range(0, 400_000 - L + 1, STRIDE)) - m1["counts"]["n_dropped"]}


def test_contig_blocks_k_folds(tmp_path):
    w = _one_chrom_world(tmp_path / "w")
    prepare_dataset(w["fasta"], w["samplesheet"], tmp_path / "ds", params=PARAMS, folds=3, seed=1, **CONTIG_KW)
    ds = open_dataset(tmp_path / "ds")
    assert sorted(set(ds.regions.split)) == ["fold0", "fold1", "fold2"]
    starts = ds.regions.start.to_numpy()
    for f in range(3):
        idx = {n: ds.split(n, fold=f) for n in ("train", "valid", "test")}
        np.testing.assert_array_equal(idx["test"], ds.split(f"fold{f}"))
        np.testing.assert_array_equal(idx["valid"], ds.split(f"fold{(f + 1) % 3}"))
        np.testing.assert_array_equal(np.sort(np.concatenate(list(idx.values()))), np.arange(len(ds)))
        role = np.empty(len(ds), dtype=object)
        for n, v in idx.items():
            role[v] = n
        assert _min_distance_between_splits(starts, role, L) >= 6_000
    assert ds.split("test", fold=0).size > 0


def test_merge_stops_when_a_requested_split_has_no_window(tmp_path):
    # chrom mode: the test chromosome is all N
    root = tmp_path / "c"
    root.mkdir()
    chroms = {"chr1": 30_000, "chr2": 30_000, "chr3": 30_000}
    write_fasta(root / "g.fa", chroms, n_runs=(("chr3", 0, 30_000),))
    write_bigwig(root / "a.bw", chroms, seed=1)
    write_samplesheet(root / "s.csv", [dict(track_id="a", file="a.bw")])
    with pytest.raises(InputError) as ei:
        prepare_dataset(root / "g.fa", root / "s.csv", tmp_path / "ds", params=PARAMS, test_chroms="chr3", valid_chroms="chr2")
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(f"{tmp_path / 'ds'}: test: empty split") and "chromosome" in msg, msg
    assert not (tmp_path / "ds").exists()
    m = prepare_dataset(root / "g.fa", root / "s.csv", tmp_path / "ds", params=PARAMS, test_chroms="chr3", valid_chroms="chr2", require=())
    assert m["counts"]["by_split"]["test"] == 0
    # contig mode: the test block is full of short N runs (no assembly gap, but every window fails the N filter)
    dense = tuple(("chrOne", a, a + 900) for a in range(250_000, 300_000, 1000))
    w = _one_chrom_world(tmp_path / "w", n_runs=dense)
    split = make_split(w["fasta"], fractions=(0.6, 0.2, 0.2), **CONTIG_KW)
    for b in split["blocks"]:
        b["split"] = "test" if b["start"] >= 250_000 and b["end"] <= 300_000 else ("valid" if b["start"] >= 300_000 else "train")
    split["digest"] = split_digest(split)
    assert {b["split"] for b in split["blocks"]} == {"train", "valid", "test"}
    with pytest.raises(InputError, match=r"test: empty split: its 1 block\(s\)") as ei:
        prepare_dataset(w["fasta"], w["samplesheet"], tmp_path / "dc", params=PARAMS, split=split)
    assert "\n" not in str(ei.value) and not (tmp_path / "dc").exists()


def test_peak_mode_contig_blocks_keep_windows_inside_blocks(tmp_path):
    _peak_world(tmp_path)
    L1 = 1000
    split = make_split(tmp_path / "g.fa", split_by="contig", block_size=5_000, gap=1_000, seq_length=L1, fractions=(0.5, 0.25, 0.25), seed=0)
    blocks = split_blocks(split)
    p = PrepareParams(mode="peak", seq_length=L1, bin_size=100, background_ratio=2.0, seed=7)
    m = prepare_dataset(tmp_path / "g.fa", tmp_path / "s.csv", tmp_path / "ds", params=p, split=split, require=())
    ds = open_dataset(tmp_path / "ds")
    r = ds.regions
    for s, lab in zip(r.start, r.split):
        holder = [b for b in blocks if b["start"] <= s and s + L1 <= b["end"]]
        assert len(holder) == 1 and holder[0]["split"] == lab
    summit_windows = [4600, 4670, 11650, 14505, 14755]  # see test_peak_mode_labels_by_centre_overlap
    inside = [s for s in summit_windows if any(b["start"] <= s and s + L1 <= b["end"] for b in blocks)]
    c = m["counts"]["by_chrom"]["chrP"]
    assert r[r.kind == "peak"].start.tolist() == inside
    assert c["split_gap_dropped"] == len(summit_windows) - len(inside) > 0
    assert c["background_kept"] == 2 * len(inside)


def test_cli_prepare_split_contig_mode(tmp_path):
    w = _one_chrom_world(tmp_path / "w")
    b = REPO / "bin"
    # one block of 1 Mb on one chromosome: nothing for valid/test -> one ERROR line, exit 2, nothing written
    r = _run([b / "prepare_split.py", "--fasta", w["fasta"], "--split-by", "contig", "--block-size", 1_000_000,
              "--seq-length", L, "--out", "split.json"], tmp_path)
    assert r.returncode == 2, r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("ERROR:")]
    assert len(errors) == 1 and "valid: empty split" in errors[0] and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "split.json").exists()
    # --require '' accepts it
    r = _run([b / "prepare_split.py", "--fasta", w["fasta"], "--split-by", "contig", "--block-size", 1_000_000,
              "--seq-length", L, "--out", "one.json", "--require", ""], tmp_path)
    assert r.returncode == 0, r.stderr
    # auto: told that 3 contigs hold data -> chrom mode -> one chromosome cannot fill valid/test
    r = _run([b / "prepare_split.py", "--fasta", w["fasta"], "--split-by", "auto", "--data-contigs", "chrOne,chr2,chr3",
              "--fractions", "0.8,0.1,0.1", "--out", "split.json"], tmp_path)
    assert r.returncode == 2 and "chrom mode" in r.stderr, r.stderr
    # auto on this one-chromosome FASTA -> contig blocks; then the per-chromosome fan-out
    r = _run([b / "prepare_split.py", "--fasta", w["fasta"], "--split-by", "auto", "--block-size", 50_000, "--min-gap", 10_000,
              "--gap", 6_000, "--seq-length", L, "--fractions", "0.6,0.2,0.2", "--out", "split.json", "--chroms-out", "chroms.txt"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "chroms.txt").read_text() == "chrOne\n"
    split = load_split(tmp_path / "split.json")
    assert split["split_by"] == "contig" and split == make_split(w["fasta"], fractions=(0.6, 0.2, 0.2), **CONTIG_KW)
    common = ["--fasta", w["fasta"], "--samplesheet", w["samplesheet"], "--split-json", "split.json", "--seq-length", L,
              "--bin-size", BIN, "--stride", STRIDE, "--crop-bp", CROP, "--max-n-frac", 0.1]
    r = _run([b / "prepare_chrom.py", *common, "--chrom", "chrOne", "--out", "chrOne.part"], tmp_path)
    assert r.returncode == 0, r.stderr
    r = _run([b / "prepare_merge.py", "chrOne.part", "--out", "dataset"], tmp_path)
    assert r.returncode == 0, r.stderr
    prepare_dataset(w["fasta"], w["samplesheet"], tmp_path / "inproc", params=PARAMS, split=tmp_path / "split.json")
    assert _hash_tree(tmp_path / "dataset") == _hash_tree(tmp_path / "inproc")
