"""Chromosome splits: explicit lists, length-balanced fractions, k folds; never a chromosome in two splits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seq2func.data import PrepareParams, fold_roles, load_split, make_split, open_dataset, prepare_dataset, write_split
from seq2func.errors import InputError

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
