"""PREPARE on real files: ../shared/realdata/hg19_chr22 (partial chr22 with long N runs, bgzipped FASTA,
a STAT1 bigWig covering only 1-30 Mb, CTCF MACS narrowPeak). Oracles: pyBigWig and pysam directly."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyBigWig
import pysam
import pytest

from seq2func.prepare import PrepareParams, open_dataset, prepare_dataset
from seq2func.prepare.split import check_nonempty, make_split, split_blocks, split_summary

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
RD = SHARED / "realdata" / "hg19_chr22"
FASTA = RD / "genome" / "hg19_chr22_partial.fa.gz"
BIGWIG = RD / "tracks" / "GM12878_STAT1_chr22_1-30Mb.bigWig"
PEAKS = RD / "tracks" / "CTCF_chr22_peaks.narrowPeak"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not FASTA.is_file(), reason="../shared/realdata/hg19_chr22 not available"),
]


def _sheet(path: Path, file: Path) -> Path:
    path.write_text(f"track_id,cell_type,assay,file,role,transform,strand\nT,GM12878,ChIP,{file},target,sum,.\n")
    return path


@pytest.mark.parametrize("seq_length, stride, max_n_frac", [(131072, 65536, 0.5), (16384, 16384, 0.1)])
def test_realdata_profile(tmp_path, seq_length, stride, max_n_frac):
    t0 = time.perf_counter()
    p = PrepareParams(seq_length=seq_length, stride=stride, bin_size=128, max_n_frac=max_n_frac)
    m = prepare_dataset(FASTA, _sheet(tmp_path / "s.csv", BIGWIG), tmp_path / "ds", params=p)
    secs = time.perf_counter() - t0
    ds = open_dataset(tmp_path / "ds")
    kept, dropped = m["counts"]["windows"], m["counts"]["n_dropped"]
    print(f"\nrealdata profile L={seq_length} stride={stride} max_n_frac={max_n_frac}: kept {kept}, N-dropped {dropped}, {secs:.2f} s")
    n_cand = (51_304_566 - seq_length) // stride + 1
    assert kept + dropped == n_cand and kept > 50 and dropped > 0
    fa = pysam.FastaFile(str(FASTA))
    bw = pyBigWig.open(str(BIGWIG))
    rng = np.random.default_rng(1)
    inside = np.flatnonzero(ds.regions.end.to_numpy() <= 30_000_000)
    beyond = np.flatnonzero(ds.regions.start.to_numpy() >= 30_000_000)
    assert inside.size and beyond.size
    for i in rng.choice(inside, size=5, replace=False):
        s = int(ds.regions.start[i])
        seq = fa.fetch("chr22", s, s + seq_length).upper()
        assert seq.count("N") / seq_length <= max_n_frac
        want = [v or 0.0 for v in bw.stats("chr22", s, s + seq_length, type="sum", nBins=seq_length // 128, exact=True)]
        np.testing.assert_allclose(ds.targets[int(i)][:, 0].astype(np.float64), want, rtol=2e-3, atol=1e-3)
        codes = np.frombuffer(seq.encode(), np.uint8)
        assert ((codes == ord("N")) == (ds.sequences[int(i)] == 4)).all()
    assert not ds.targets[beyond].any()  # the bigWig only covers 1-30 Mb
    assert m["genome"]["names_lengths_md5"] and m["genome"]["chroms"]["chr22"]["length"] == 51_304_566


def test_realdata_peak(tmp_path):
    t0 = time.perf_counter()
    p = PrepareParams(mode="peak", seq_length=1000, bin_size=200, max_n_frac=0.1, seed=1)
    m = prepare_dataset(FASTA, _sheet(tmp_path / "s.csv", PEAKS), tmp_path / "ds", params=p)
    secs = time.perf_counter() - t0
    ds = open_dataset(tmp_path / "ds")
    c = m["counts"]["by_chrom"]["chr22"]
    print(f"\nrealdata peak L=1000: {c['peaks']} peaks, kept {c['peak_kept']} peak + {c['background_kept']} background windows, "
          f"N-dropped {c['n_dropped']}, GC {c['gc_mean_peak']} vs {c['gc_mean_background']}, {secs:.2f} s")
    assert c["peak_kept"] > 100 and c["n_dropped"] > 0 and c["background_kept"] == c["peak_kept"]
    kind = ds.regions.kind.to_numpy()
    y = ds.targets[:][:, 0, 0]
    assert np.all(y[kind == "peak"] == 1)  # a window centred on a summit overlaps its own peak
    assert np.all(y[kind == "background"] == 0)
    assert abs(c["gc_mean_peak"] - c["gc_mean_background"]) < 0.02
    # summits from column 10: every peak window's centre is some peak's start + offset
    summits = set()
    for line in PEAKS.read_text().splitlines():
        f = line.split("\t")
        summits.add(int(f[1]) + int(f[9]))
    starts = ds.regions.start.to_numpy()[kind == "peak"]
    assert all(int(s) + 500 in summits for s in starts)


def test_realdata_contig_blocks(shared, tmp_path):
    """One chromosome (hg19 chr22, 51.3 Mb of which 22 Mb real bases in fragments) cut into contig blocks at its
    assembly gaps (N runs >= 50 kb, the default): windows in train, valid and test, never across a block edge
    and never closer than ``gap`` to a window of another split."""
    fasta = shared / "realdata" / "hg19_chr22" / "genome" / "hg19_chr22_partial.fa.gz"
    bigwig = shared / "realdata" / "hg19_chr22" / "tracks" / "GM12878_STAT1_chr22_1-30Mb.bigWig"
    L = 16384
    t0 = time.perf_counter()
    split = make_split(fasta, split_by="contig", seq_length=L, block_size=1_000_000, min_gap=50_000, seed=0)
    check_nonempty(split)
    t_split = time.perf_counter() - t0
    p = PrepareParams(seq_length=L, stride=L, bin_size=128, max_n_frac=0.1)
    m = prepare_dataset(fasta, _sheet(tmp_path / "s.csv", bigwig), tmp_path / "ds", params=p, split=split)
    secs = time.perf_counter() - t0
    ds = open_dataset(tmp_path / "ds")
    summ = split_summary(split)
    c = m["counts"]
    print(f"\nrealdata contig blocks (min_gap 50 kb, block 1 Mb, L={L}, max_n_frac 0.1): "
          + ", ".join(f"{k} {v['blocks']} blocks {v['bp'] / 1e6:.2f} Mb" for k, v in summ.items())
          + f"; excluded blocks {sum(b['split'] == 'exclude' for b in split['blocks'])}; windows {c['by_split']}, "
          f"N-dropped {c['n_dropped_by_split']}; split {t_split:.2f} s, total {secs:.2f} s")
    assert set(summ) == {"train", "valid", "test"} and summ["train"]["bp"] > 5 * summ["test"]["bp"]
    assert all(c["by_split"][k] > 10 for k in ("train", "valid", "test"))
    blocks = split_blocks(split)
    assert all(b["end"] - b["start"] <= 1_000_000 for b in blocks) and len(blocks) > 30
    bs = np.array([b["start"] for b in blocks])
    be = np.array([b["end"] for b in blocks])
    blab = np.array([b["split"] for b in blocks], dtype=object)
    starts, labels = ds.regions.start.to_numpy(), ds.regions.split.to_numpy()
    k = np.searchsorted(bs, starts, side="right") - 1
    assert (k >= 0).all() and (starts + L <= be[k]).all() and (blab[k] == labels).all()  # inside its own block
    # blocks of different labels >= gap (= seq_length) apart, hence windows too
    for a, b in zip(blocks, blocks[1:]):
        if a["split"] != b["split"]:
            assert b["start"] - a["end"] >= split["gap"] == L
    # windows: every one passes the N filter (pysam oracle), and targets match pyBigWig in 1-30 Mb
    fa = pysam.FastaFile(str(fasta))
    bw = pyBigWig.open(str(bigwig))
    rng = np.random.default_rng(0)
    for lab in ("valid", "test"):
        for i in rng.choice(ds.split(lab), size=3, replace=False):
            s = int(ds.regions.start[i])
            assert fa.fetch("chr22", s, s + L).upper().count("N") / L <= 0.1
            if s + L <= 30_000_000:
                want = [v or 0.0 for v in bw.stats("chr22", s, s + L, type="sum", nBins=L // 128, exact=True)]
                np.testing.assert_allclose(ds.targets[int(i)][:, 0].astype(np.float64), want, rtol=2e-3, atol=1e-3)
