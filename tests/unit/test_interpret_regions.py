"""INTERPRET region choice: top-n windows by summed signal (oracle: numpy on ``dataset.targets``),
split restriction, cell-type track choice, peak mode, and BED regions recentred and fetched
(oracle: pysam's FASTA fetch), bad BED lines as one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam
import pytest

from seq2func.errors import InputError
from seq2func.interpret.regions import COLUMNS, ranking_tracks, select_regions
from seq2func.prepare import PrepareParams, open_dataset, prepare_dataset
from seq2func.prepare.genome import encode

try:
    from test_data_fixtures import build_profile_world, write_fasta, write_samplesheet
except ImportError:  # pragma: no cover - package-style test layout
    from .test_data_fixtures import build_profile_world, write_fasta, write_samplesheet

L, BIN, STRIDE, CROP = 4096, 128, 2048, 512


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The PREPARE test world plus a K562 CAGE target track: K562 (ATAC + DNase compendium, CAGE
    target) and HepG2 (CAGE +/- targets); test = chr3, valid = chr2."""
    w = build_profile_world(tmp_path_factory.mktemp("world"))
    rows = w["rows"] + [dict(track_id="k562_cage", cell_type="K562", assay="CAGE", file="tracks/cage_plus.bw",
                             role="target", transform="sum", strand=".")]
    sheet = write_samplesheet(w["root"] / "samplesheet2.csv", rows)
    w["ds"] = w["root"] / "ds"
    prepare_dataset(w["fasta"], sheet, w["ds"], params=PrepareParams(seq_length=L, bin_size=BIN, stride=STRIDE, crop_bp=CROP),
                    test_chroms="chr3", valid_chroms="chr2")
    return w


def _cols(ds, *track_ids):
    ids = ds.tracks.track_id.tolist()
    return [ids.index(t) for t in track_ids]


def _oracle_top(ds, split, cols, n):
    idx = np.flatnonzero((ds.regions.split == split).to_numpy()) if split else np.arange(len(ds))
    t = np.stack([ds.targets[int(i)] for i in idx]).astype(np.float64)
    score = np.nansum(t[:, :, cols], axis=(1, 2))
    order = sorted(range(idx.size), key=lambda k: (-score[k], idx[k]))[:n]
    return idx[order], score[order]


def test_ranking_tracks_prefer_accessibility(world):
    ds = open_dataset(world["ds"])
    # default: the target tracks' cell types, in track order (cage_p is HepG2's, k562_cage last)
    assert ranking_tracks(ds) == {"HepG2": _cols(ds, "cage_p", "cage_m"), "K562": _cols(ds, "atac", "dnase")}
    assert list(ranking_tracks(ds, ["K562"])) == ["K562"]
    ds.tracks["role"] = "compendium"  # no target track: every cell type
    assert list(ranking_tracks(ds)) == ["K562", "HepG2"]
    with pytest.raises(InputError) as e:
        ranking_tracks(ds, ["GM12878"])
    assert "\n" not in str(e.value) and "GM12878" in str(e.value) and "K562" in str(e.value)


@pytest.mark.parametrize("split", ["test", "valid"])
def test_top_n_by_summed_signal_from_the_split(world, split):
    ds = open_dataset(world["ds"])
    n = 5
    table, codes = select_regions(ds, n=n, split=split)
    assert list(table.columns) == COLUMNS
    assert table.cell_type.tolist() == ["HepG2"] * n + ["K562"] * n
    for ct, cols in (("HepG2", _cols(ds, "cage_p", "cage_m")), ("K562", _cols(ds, "atac", "dnase"))):
        sub = table[table.cell_type == ct]
        want_idx, want_score = _oracle_top(ds, split, cols, n)
        assert sub.window.tolist() == want_idx.tolist()
        np.testing.assert_allclose(sub.score.to_numpy(), want_score, rtol=1e-12)
        assert sub["rank"].tolist() == list(range(1, n + 1))
        assert set(ds.regions.split[sub.window]) == {split}
        reg = ds.regions.iloc[sub.window.to_numpy()]
        assert sub.chrom.tolist() == reg.chrom.tolist() and sub.start.tolist() == reg.start.tolist()
        assert sub.end.tolist() == reg.end.tolist()
        assert set(sub.track_id) == {";".join(ds.tracks.track_id[cols])}
    assert codes.shape == (2 * n, L) and codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, ds.sequences[table.window.to_numpy()])
    assert np.all(table.score.diff()[table["rank"] > 1] <= 0)


def test_same_window_once_per_cell_type_and_other_options(world):
    ds = open_dataset(world["ds"])
    n_test = int((ds.regions.split == "test").sum())
    table, codes = select_regions(ds, n=1000, split="test")  # more than there are: every window
    assert len(table) == 2 * n_test
    assert all(sorted(g) == ["HepG2", "K562"] for _, g in table.groupby("window").cell_type)
    assert table.window.nunique() == n_test
    assert codes.shape == (2 * n_test, L)
    # explicit cell types, all windows
    t2, _ = select_regions(ds, cell_types=["K562"], n=3, split=None)
    want_idx, _ = _oracle_top(ds, None, _cols(ds, "atac", "dnase"), 3)
    assert t2.window.tolist() == want_idx.tolist() and set(t2.cell_type) == {"K562"}
    # random: seeded, the same windows for every cell type, in dataset order, within the split
    r1, _ = select_regions(ds, n=4, how="random", seed=3)
    r2, _ = select_regions(ds, n=4, how="random", seed=3)
    assert r1.equals(r2)
    hep, k562 = r1[r1.cell_type == "HepG2"].window.tolist(), r1[r1.cell_type == "K562"].window.tolist()
    assert hep == k562 == sorted(hep) and set(ds.regions.split[hep]) == {"test"}
    with pytest.raises(InputError) as e:
        select_regions(ds, split="nope")
    assert "\n" not in str(e.value) and "nope" in str(e.value)
    with pytest.raises(ValueError):
        select_regions(ds, n=0)
    with pytest.raises(ValueError):
        select_regions(ds, how="best")
    # a path works as well as an opened dataset
    t3, _ = select_regions(world["ds"], n=2)
    assert t3.window.tolist() == select_regions(ds, n=2)[0].window.tolist()


# ----------------------------------------------------------------------------- peak mode
def test_peak_mode_positive_windows_first_by_label_count_then_position(tmp_path):
    chroms = {"chr1": 30_000, "chr2": 20_000, "chr3": 30_000}
    write_fasta(tmp_path / "g.fa", chroms, seed=5, n_runs=())
    rng = np.random.default_rng(0)
    files = {}
    starts = {}
    for name in ("atac", "dnase", "chip1", "chip2"):
        lines = []
        for c, n in chroms.items():
            s_ = np.sort(rng.choice(np.arange(1000, n - 1500, 700), 8, replace=False))
            if name == "dnase":  # half of DNase's peaks are ATAC's too
                s_ = np.unique(np.concatenate([starts["atac", c][::2], s_[:4]]))
            starts[name, c] = s_
            lines += [f"{c}\t{s}\t{s + 200}\n" for s in s_]
        (tmp_path / f"{name}.bed").write_text("".join(lines))
        files[name] = f"{name}.bed"
    rows = [dict(track_id="atac", cell_type="c1", assay="ATAC-seq", file=files["atac"], role="compendium", strand="."),
            dict(track_id="dnase", cell_type="c1", assay="DNase", file=files["dnase"], role="compendium", strand="."),
            dict(track_id="chip1", cell_type="c1", assay="ChIP", file=files["chip1"], role="target", strand="."),
            dict(track_id="chip2", cell_type="c2", assay="ChIP", file=files["chip2"], role="target", strand=".")]
    write_samplesheet(tmp_path / "s.csv", rows)
    prepare_dataset(tmp_path / "g.fa", tmp_path / "s.csv", tmp_path / "ds",
                    params=PrepareParams(mode="peak", seq_length=1000, bin_size=100, seed=1),
                    test_chroms="chr3", valid_chroms="chr2")
    ds = open_dataset(tmp_path / "ds")
    assert ds.mode == "peak"
    lab = ds.targets[:, 0, :].astype(np.float64)
    test = np.flatnonzero((ds.regions.split == "test").to_numpy())
    table, codes = select_regions(ds, n=10, split="test")
    assert list(dict.fromkeys(table.cell_type)) == ["c1", "c2"]
    for ct, cols in (("c1", [0, 1]), ("c2", [3])):  # c1: ATAC + DNase, not its ChIP target
        sc = lab[test][:, cols].sum(axis=1)
        pos = [k for k in sorted(range(test.size), key=lambda k: (-sc[k], test[k])) if sc[k] > 0][:10]
        sub = table[table.cell_type == ct]
        assert sub.window.tolist() == test[pos].tolist() and (sub.score > 0).all()
        np.testing.assert_array_equal(sub.score.to_numpy(), sc[pos])
    assert (table[table.cell_type == "c1"].score.to_numpy() == 2).any()  # ATAC and DNase both: first
    np.testing.assert_array_equal(codes, ds.sequences[table.window.to_numpy()])
    # more than there are positives: only the positive windows
    big, _ = select_regions(ds, cell_types=["c2"], n=10_000, split="test")
    assert len(big) == int((lab[test, 3] > 0).sum()) and (big.score == 1).all()


# ----------------------------------------------------------------------------- BED regions
def test_bed_regions_recentred_and_fetched(world, tmp_path):
    ds = open_dataset(world["ds"])
    bed = tmp_path / "r.bed"
    bed.write_text("track name=mine\n# a comment\n"
                   "chr1\t1000\t3100\tr1\n"
                   "\n"
                   "1\t30000\t30001\n"  # Ensembl spelling -> chr1; no name
                   "chr2\t45000\t45101\tnear_end\textra\tcols\n"
                   "chr3 20000 20010 spaces\n")
    table, codes = select_regions(ds, bed=bed, fasta=world["fasta"])
    fa = pysam.FastaFile(str(world["fasta"]))
    want = [("chr1", 2050 - L // 2, "r1"), ("chr1", 30000 - L // 2, "1:30000-30001"),
            ("chr2", 45050 - L // 2, "near_end"), ("chr3", 20005 - L // 2, "spaces")]
    assert len(table) == 2 * len(want) and codes.shape == (2 * len(want), L)
    assert table.cell_type.tolist() == ["HepG2"] * 4 + ["K562"] * 4
    assert (table.window == -1).all() and table.score.isna().all()
    assert table["rank"].tolist() == [1, 2, 3, 4] * 2
    for k, row in enumerate(table.itertuples()):
        chrom, start, name = want[k % 4]
        assert (row.chrom, row.start, row.end, row.name) == (chrom, start, start + L, name)
        np.testing.assert_array_equal(codes[k], encode(fa.fetch(chrom, start, start + L)))
    fa.close()
    # the BED coordinates of a dataset window give back exactly that window's sequence
    i = int(np.flatnonzero((ds.regions.split == "test").to_numpy())[2])
    r = ds.regions.iloc[i]
    bed.write_text(f"{r.chrom}\t{r.start}\t{r.end}\tw\n")
    t1, c1 = select_regions(ds, bed=bed, fasta=world["fasta"], cell_types=["K562"])
    assert (t1.start.tolist(), t1.end.tolist()) == ([r.start], [r.end])
    np.testing.assert_array_equal(c1[0], ds.sequences[i])


BAD_BED = {
    "unknown_contig": ("chrZ\t100\t200\n", "not in the FASTA"),
    "window_past_start": ("chr1\t100\t200\n", "runs past the contig start"),
    "window_past_end": ("chr1\t59000\t59100\n", "runs past the contig end"),
    "region_past_end": ("chr1\t70000\t70100\n", "end beyond the FASTA contig"),
    "two_columns": ("chr1\t100\n", "at least 3"),
    "not_integer": ("chr1\tabc\t200\n", "integers"),
    "end_before_start": ("chr1\t5000\t4000\n", "end 4000 < start 5000"),
    "negative": ("chr1\t-5\t10\n", "negative start"),
}


@pytest.mark.parametrize("case", sorted(BAD_BED))
def test_bad_bed_lines_are_one_line_errors(world, tmp_path, case):
    line, msg = BAD_BED[case]
    bed = tmp_path / "bad.bed"
    bed.write_text("chr1\t10000\t10100\tok\n" + line)
    with pytest.raises(InputError) as e:
        select_regions(world["ds"], bed=bed, fasta=world["fasta"])
    s = str(e.value)
    assert "\n" not in s and str(bed) in s and "line 2" in s and msg in s, s


def test_bed_needs_a_fasta_of_the_same_assembly(world, tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t10000\t10100\n")
    with pytest.raises(InputError, match="FASTA"):
        select_regions(world["ds"], bed=bed)
    other = tmp_path / "other.fa"
    write_fasta(other, {"chr1": 70_000}, n_runs=())
    with pytest.raises(InputError) as e:
        select_regions(world["ds"], bed=bed, fasta=other)
    assert "\n" not in str(e.value) and "another assembly" in str(e.value)
    (tmp_path / "empty.bed").write_text("# nothing\n")
    with pytest.raises(InputError, match="no regions"):
        select_regions(world["ds"], bed=tmp_path / "empty.bed", fasta=world["fasta"])
    with pytest.raises(InputError, match="not found"):
        select_regions(world["ds"], bed=Path(tmp_path / "missing.bed"), fasta=world["fasta"])
