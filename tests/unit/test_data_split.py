"""Chromosome splits: explicit lists, length-balanced fractions, k folds; never a chromosome in two splits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seq2func.errors import InputError
from seq2func.prepare import (
    PrepareParams,
    fold_roles,
    load_split,
    make_split,
    open_dataset,
    prepare_dataset,
    write_split,
)

try:
    from test_data_fixtures import build_profile_world
except ImportError:  # pragma: no cover
    from .test_data_fixtures import build_profile_world

HUMANISH = {f"chr{i}": int(250e6 * (1 - 0.035 * (i - 1))) for i in range(1, 23)} | {"chrX": 156_000_000, "chrY": 57_000_000, "chrM": 16_569}


@pytest.fixture()
def fai(tmp_path):
    p = tmp_path / "g.fa.fai"
    p.write_text("".join(f"{c}\t{n}\t0\t60\t61\n" for c, n in HUMANISH.items()))
    return p


def _one_label_each(split):
    labels = split["chroms"]
    assert set(labels) == set(HUMANISH)  # every contig exactly once (a dict: one label per contig)
    return labels


def test_explicit_chroms_any_spelling(fai):
    s = make_split(fai, test_chroms="8,chr9", valid_chroms=["10"], exclude_chroms="chrM,Y")
    lab = _one_label_each(s)
    assert [c for c, v in lab.items() if v == "test"] == ["chr8", "chr9"]
    assert [c for c, v in lab.items() if v == "valid"] == ["chr10"]
    assert lab["chrM"] == lab["chrY"] == "exclude"
    assert sum(v == "train" for v in lab.values()) == len(HUMANISH) - 5


def test_fractions_balanced_by_length(fai):
    s = make_split(fai, fractions=(0.8, 0.1, 0.1), seed=3, exclude_chroms="chrM")
    lab = _one_label_each(s)
    total = sum(n for c, n in HUMANISH.items() if c != "chrM")
    share = {k: sum(HUMANISH[c] for c, v in lab.items() if v == k) / total for k in ("train", "valid", "test")}
    assert abs(share["train"] - 0.8) < 0.05 and abs(share["valid"] - 0.1) < 0.04 and abs(share["test"] - 0.1) < 0.04
    assert make_split(fai, fractions="0.8,0.1,0.1", seed=3, exclude_chroms="chrM")["chroms"] == lab  # deterministic


def test_folds_balanced_and_disjoint(fai):
    s = make_split(fai, folds=5, test_chroms="chr1", seed=1)
    lab = _one_label_each(s)
    assert lab["chr1"] == "test"
    sizes = [sum(HUMANISH[c] for c, v in lab.items() if v == f"fold{k}") for k in range(5)]
    assert min(sizes) > 0 and max(sizes) / min(sizes) < 1.3
    seen = {}
    for k in range(5):
        roles = fold_roles(s, k)
        assert roles["chr1"] == "test"
        held = {c for c, v in roles.items() if v == "test"} - {"chr1"}
        assert held == {c for c, v in lab.items() if v == f"fold{k}"}
        for c in held:
            assert c not in seen  # each chromosome is held out in exactly one fold
            seen[c] = k
        # within one fold the three roles are disjoint by construction (one label per contig)
        assert set(roles.values()) <= {"train", "valid", "test"}


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(test_chroms="chr99"), "chr99"),
        (dict(test_chroms="chr2", valid_chroms="2"), "both"),
        (dict(fractions="0.5,0.5"), "--fractions"),
        (dict(fractions=(0.9, 0.2, -0.1)), "--fractions"),
        (dict(folds=1), "--folds"),
        (dict(folds=3, valid_chroms="chr3"), "--folds"),
    ],
)
def test_bad_split_requests(fai, kwargs, needle):
    with pytest.raises(InputError) as ei:
        make_split(fai, **kwargs)
    assert needle in str(ei.value) and "\n" not in str(ei.value)


def test_split_json_roundtrip_and_tamper(fai, tmp_path):
    s = make_split(fai, folds=3)
    write_split(s, tmp_path / "split.json")
    assert load_split(tmp_path / "split.json") == s
    d = json.loads((tmp_path / "split.json").read_text())
    d["chroms"]["chr1"] = "fold2" if d["chroms"]["chr1"] != "fold2" else "fold1"
    (tmp_path / "split.json").write_text(json.dumps(d))
    with pytest.raises(InputError, match="digest"):
        load_split(tmp_path / "split.json")


def test_dataset_split_never_shares_a_chromosome(tmp_path):
    w = build_profile_world(tmp_path / "w")
    prepare_dataset(w["fasta"], w["samplesheet"], tmp_path / "ds", params=PrepareParams(seq_length=4096, stride=4096),
                    fractions=(0.4, 0.3, 0.3), seed=0)
    ds = open_dataset(tmp_path / "ds")
    by = {name: set(ds.regions.chrom[ds.split(name)]) for name in ("train", "valid", "test")}
    assert all(by.values())
    assert not (by["train"] & by["valid"]) and not (by["train"] & by["test"]) and not (by["valid"] & by["test"])
    assert sum(ds.split(n).size for n in ("train", "valid", "test")) == len(ds)
    assert ds.manifest["split"]["method"] == "fractions"
    # k folds: split(name, fold=k) derives train/valid/test from the fold labels
    prepare_dataset(w["fasta"], w["samplesheet"], tmp_path / "k", params=PrepareParams(seq_length=4096, stride=4096), folds=3)
    k = open_dataset(tmp_path / "k")
    assert sorted(set(k.regions.split)) == ["fold0", "fold1", "fold2"]
    for f in range(3):
        idx = {n: k.split(n, fold=f) for n in ("train", "valid", "test")}
        assert sum(v.size for v in idx.values()) == len(k)
        np.testing.assert_array_equal(idx["test"], k.split(f"fold{f}"))
        chroms = {n: set(k.regions.chrom[v]) for n, v in idx.items()}
        assert not (chroms["train"] & chroms["test"]) and not (chroms["valid"] & chroms["test"]) and not (chroms["train"] & chroms["valid"])


# ----------------------------------------------------------------------------- contig blocks
from seq2func.prepare.genome import Fasta  # noqa: E402
from seq2func.prepare.split import (  # noqa: E402
    check_nonempty,
    cut_blocks,
    find_contigs,
    resolve_split_by,
    split_blocks,
    split_digest,
)

# chromosome -> (length, [(start, end, letters of the run)]); min_gap 5000 cuts at runs >= 5 kb only
GAPPY = {
    "chrA": (300_000, [(0, 1_000, "N"), (50_000, 60_000, "N"), (120_000, 123_000, "N"), (200_000, 206_000, "nNRY"), (295_000, 300_000, "n")]),
    "chrB": (180_000, []),
    "chrC": (40_000, [(0, 40_000, "N")]),
    "chrD": (90_000, [(30_000, 45_000, "N"), (89_000, 89_990, "N")]),
}
CONTIGS_5K = {"chrA": [(1_000, 50_000), (60_000, 200_000), (206_000, 295_000)], "chrB": [(0, 180_000)], "chrC": [], "chrD": [(0, 30_000), (45_000, 90_000)]}


def write_gappy_fasta(path, chroms=GAPPY, seed=0):
    """A FASTA with N runs (also lower-case n and IUPAC letters, which count as N), indexed with pysam."""
    import pysam

    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        for name, (n, runs) in chroms.items():
            s = np.frombuffer(b"ACGTacgt", dtype=np.uint8)[rng.integers(0, 8, n)].copy()
            for a, b, letters in runs:
                s[a:b] = np.frombuffer(letters.encode(), dtype=np.uint8)[rng.integers(0, len(letters), b - a)]
            fh.write(f">{name}\n")
            text = s.tobytes().decode()
            for i in range(0, n, 60):
                fh.write(text[i : i + 60] + "\n")
    pysam.faidx(str(path))
    return path


@pytest.fixture()
def gappy(tmp_path):
    return write_gappy_fasta(tmp_path / "gappy.fa")


def _different_label_distances(blocks):
    """Smallest distance between blocks of different labels on the same chromosome (inf if none)."""
    best = np.inf
    for i, a in enumerate(blocks):
        for b in blocks[i + 1 :]:
            if a["chrom"] == b["chrom"] and a["split"] != b["split"]:
                d = max(b["start"] - a["end"], a["start"] - b["end"])
                best = min(best, d)
    return best


def test_contigs_cut_at_long_n_runs_only(gappy):
    with Fasta(gappy) as fa:
        for c in GAPPY:
            assert find_contigs(fa, c, 5_000) == CONTIGS_5K[c], c
            # streaming in tiny blocks (runs crossing block edges) gives the same contigs
            assert find_contigs(fa, c, 5_000, block_bp=997) == CONTIGS_5K[c], c
        # a larger min_gap: the 6 kb and 10 kb runs no longer cut chrA, the 15 kb run still cuts chrD
        assert find_contigs(fa, "chrA", 12_000) == [(1_000, 295_000)]
        assert find_contigs(fa, "chrD", 12_000, block_bp=4096) == [(0, 30_000), (45_000, 90_000)]
        assert find_contigs(fa, "chrD", 20_000) == [(0, 90_000)]
    assert cut_blocks(0, 10, 4) == [(0, 3), (3, 6), (6, 10)]
    assert cut_blocks(100, 200, 100) == [(100, 200)] and cut_blocks(5, 5, 10) == []


def test_contig_blocks_sizes_gaps_and_labels(gappy):
    L, G, B = 4096, 8192, 40_000
    s = make_split(gappy, split_by="contig", block_size=B, min_gap=5_000, gap=G, seq_length=L, fractions=(0.6, 0.2, 0.2), seed=1)
    assert s["split_by"] == "contig" and s["method"] == "fractions" and (s["block_size"], s["min_gap"], s["gap"], s["seq_length"]) == (B, 5_000, G, L)
    assert s["chroms"] == {"chrA": "contigs", "chrB": "contigs", "chrC": "exclude", "chrD": "contigs"}
    assert s["digest"] == split_digest(s) and {"format", "method", "seed", "folds", "fractions", "chroms", "lengths", "digest"} <= set(s)
    blocks = s["blocks"]
    order = list(GAPPY)
    assert blocks == sorted(blocks, key=lambda b: (order.index(b["chrom"]), b["start"]))
    for b in blocks:
        # every block lies inside one contig, is at most block_size long; kept blocks hold a window
        assert any(a <= b["start"] < b["end"] <= e for a, e in CONTIGS_5K[b["chrom"]]), b
        assert b["end"] - b["start"] <= B
        assert b["split"] in ("train", "valid", "test", "exclude")
        if b["split"] != "exclude":
            assert b["end"] - b["start"] >= L
    kept = split_blocks(s)
    assert {b["split"] for b in kept} == {"train", "valid", "test"}
    assert _different_label_distances(kept) >= G
    # equal pieces: chrB (180 kb, no gap) -> 5 blocks of 36 kb before any trimming
    ends = [b["end"] for b in blocks if b["chrom"] == "chrB"]
    assert ends == [36_000, 72_000, 108_000, 144_000, 180_000]
    # fractions roughly respected (blocks are coarse: a few dozen kb each)
    total = sum(b["end"] - b["start"] for b in kept)
    share = {k: sum(b["end"] - b["start"] for b in kept if b["split"] == k) / total for k in ("train", "valid", "test")}
    assert abs(share["train"] - 0.6) < 0.15 and abs(share["valid"] - 0.2) < 0.1 and abs(share["test"] - 0.2) < 0.1, share
    # seeded: same seed same split; other seeds give other assignments
    assert make_split(gappy, split_by="contig", block_size=B, min_gap=5_000, gap=G, seq_length=L, fractions=(0.6, 0.2, 0.2), seed=1) == s
    others = [make_split(gappy, split_by="contig", block_size=B, min_gap=5_000, gap=G, seq_length=L, fractions=(0.6, 0.2, 0.2), seed=k)["blocks"] for k in range(2, 6)]
    assert any(o != blocks for o in others)
    # default fractions 0.8,0.1,0.1 and default gap = seq_length
    d = make_split(gappy, split_by="contig", block_size=B, min_gap=5_000, seq_length=L)
    assert d["fractions"] == [0.8, 0.1, 0.1] and d["gap"] == L
    assert _different_label_distances(split_blocks(d)) >= L
    # no seq_length: gap defaults to 131072
    assert make_split(gappy, split_by="contig", block_size=B, min_gap=5_000)["gap"] == 131072


def test_contig_gap_trims_the_later_block(tmp_path):
    fa = write_gappy_fasta(tmp_path / "one.fa", {"chr1": (100_000, [])})
    s = make_split(fa, split_by="contig", block_size=20_000, gap=3_000, seq_length=1_000, fractions=(0.4, 0.3, 0.3), seed=0)
    blocks = s["blocks"]
    assert [b["end"] for b in blocks] == [20_000, 40_000, 60_000, 80_000, 100_000]  # ends never move
    for a, b in zip(blocks, blocks[1:]):
        want = a["end"] + 3_000 if a["split"] != b["split"] else a["end"]
        assert b["start"] == want, blocks
    assert blocks[0]["start"] == 0
    # a block that the gap leaves shorter than seq_length is excluded
    s = make_split(fa, split_by="contig", block_size=20_000, gap=19_500, seq_length=1_000, fractions=(0.4, 0.3, 0.3), seed=0)
    kept = split_blocks(s)
    assert any(b["split"] == "exclude" for b in s["blocks"]) and _different_label_distances(kept) >= 19_500


def test_contig_folds(gappy):
    s = make_split(gappy, split_by="contig", block_size=30_000, min_gap=5_000, gap=5_000, seq_length=4096, folds=4, seed=2)
    kept = split_blocks(s)
    assert s["method"] == "folds" and {b["split"] for b in kept} == {f"fold{k}" for k in range(4)}
    assert _different_label_distances(kept) >= 5_000
    sizes = [sum(b["end"] - b["start"] for b in kept if b["split"] == f"fold{k}") for k in range(4)]
    assert max(sizes) / min(sizes) < 1.6
    held = []
    for k in range(4):
        roles = fold_roles(s, k, by="label")
        assert roles[f"fold{k}"] == "test" and roles[f"fold{(k + 1) % 4}"] == "valid"
        assert sum(v == "train" for lab, v in roles.items() if lab.startswith("fold")) == 2
        rb = fold_roles(s, k, by="block")
        held.extend((b["chrom"], b["start"]) for b in rb if b["role"] == "test")
        assert fold_roles(s, k)["chrB"] == "contigs"  # by chromosome: roles vary per block
    assert sorted(held) == sorted((b["chrom"], b["start"]) for b in kept)  # each block held out once
    check_nonempty(s)


def test_contig_split_bad_requests(gappy, tmp_path):
    with pytest.raises(InputError) as ei:
        make_split(gappy, split_by="contig", test_chroms="chrA")
    assert str(ei.value).startswith("--split_by") and "\n" not in str(ei.value)
    with pytest.raises(InputError, match="--split_by"):
        make_split(gappy, split_by="windows")
    with pytest.raises(InputError, match="--split_block_size"):
        make_split(gappy, split_by="contig", block_size=1000, seq_length=4096)
    with pytest.raises(InputError, match="--folds"):
        make_split(gappy, split_by="contig", block_size=1_000_000, folds=5)
    # a bare .fai has no sequence to find gaps in
    (tmp_path / "bare").mkdir()
    fai = tmp_path / "bare" / "g.fa.fai"
    fai.write_text((tmp_path / "gappy.fa.fai").read_text())
    with pytest.raises(InputError, match="FASTA itself"):
        make_split(fai, split_by="contig")
    assert make_split(str(gappy) + ".fai", split_by="contig", min_gap=5_000, seq_length=4096)["blocks"]  # FASTA next to it


def test_check_nonempty_one_line(tmp_path, fai):
    fa = write_gappy_fasta(tmp_path / "one.fa", {"chr1": (200_000, [])})
    s = make_split(fa, split_by="contig", block_size=1_000_000, seq_length=4096)
    assert len(split_blocks(s)) == 1
    with pytest.raises(InputError) as ei:
        check_nonempty(s)
    msg = str(ei.value)
    assert msg == ("split.json: valid: empty split: no chromosome/block assigned (contig mode: 1 blocks of 1000000 bp on "
                   "1 chromosome(s); lower --split_block_size or change --chrom_fractions)")
    check_nonempty(s, need=("train",))
    # chrom mode: an explicit test chromosome and nothing for validation
    with pytest.raises(InputError, match=r"^split.json: valid: empty split") as ei:
        check_nonempty(make_split(fai, test_chroms="chr3"))
    assert "\n" not in str(ei.value)
    check_nonempty(make_split(fai, test_chroms="chr3", valid_chroms="chr4"))
    # a split with fraction 0 is not needed
    one = make_split(fa, split_by="contig", block_size=100_000, seq_length=4096, fractions=(0.5, 0.5, 0.0))
    check_nonempty(one)
    with pytest.raises(InputError, match="test: empty split"):
        check_nonempty(make_split(fa, split_by="contig", block_size=100_000, seq_length=4096, fractions=(0.5, 0.4, 0.1)))
    # folds: every fold must get something
    check_nonempty(make_split(fai, folds=5))


def test_resolve_split_by():
    assert resolve_split_by("auto", 1, False) == "contig"
    assert resolve_split_by("auto", 2, False) == "contig"
    assert resolve_split_by("auto", 3, False) == "chrom"
    assert resolve_split_by("auto", 24, False) == "chrom"
    assert resolve_split_by("auto", 1, True) == "chrom"
    assert resolve_split_by("auto", 4, False, min_contigs=5) == "contig"
    assert resolve_split_by("chrom", 1, False) == "chrom" and resolve_split_by("contig", 30, True) == "contig"
    with pytest.raises(InputError, match="--split_by"):
        resolve_split_by("blocks", 3, False)


def test_chrom_mode_split_json_unchanged_but_for_split_by(fai):
    s = make_split(fai, fractions=(0.8, 0.1, 0.1), seed=3)
    assert list(s) == ["format", "method", "seed", "folds", "fractions", "chroms", "lengths", "split_by", "digest"]
    assert s["split_by"] == "chrom" and "blocks" not in s
    assert make_split(fai, split_by="auto", fractions=(0.8, 0.1, 0.1), seed=3) == s  # 25 contigs: auto -> chrom
