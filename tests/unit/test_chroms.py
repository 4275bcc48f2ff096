"""seq2func.chroms: canonical keys and alias maps between naming conventions."""

from __future__ import annotations

import pytest

from seq2func.chroms import alias_map, canonical, rename, shared_fraction

UCSC = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY", "chrM"]
ENSEMBL = [str(i) for i in range(1, 23)] + ["X", "Y", "MT"]


@pytest.mark.parametrize(
    "name, key",
    [
        ("chr1", "1"), ("1", "1"), ("chr22", "22"), ("CHR3", "3"),
        ("chrM", "M"), ("MT", "M"), ("chrMT", "M"), ("M", "M"), ("mito", "M"),
        ("chrX", "X"), ("x", "X"), ("chry", "Y"),
        ("chr1_KI270706v1_random", "1_KI270706v1_random"), ("GL000192.1", "GL000192.1"),
        ("chr", "chr"),  # a bare 'chr' is not stripped to nothing
    ],
)
def test_canonical(name, key):
    assert canonical(name) == key


def test_alias_map_ucsc_vs_ensembl_both_ways():
    amap = alias_map(UCSC, ENSEMBL)
    assert amap == {e: u for e, u in zip(ENSEMBL, UCSC)}
    assert amap["MT"] == "chrM" and amap["22"] == "chr22"
    back = alias_map(ENSEMBL, UCSC)
    assert back["chrM"] == "MT" and back["chrX"] == "X"


def test_alias_map_exact_match_wins_and_unmapped_absent():
    ref = ["chr1", "1", "chr2"]
    amap = alias_map(ref, ["1", "chr1", "2", "chr9", "scaffold_7"])
    assert amap["1"] == "1" and amap["chr1"] == "chr1"  # exact names are kept
    assert amap["2"] == "chr2"
    assert "chr9" not in amap and "scaffold_7" not in amap


def test_alias_map_first_reference_spelling_wins():
    # two reference spellings of the same key: the first one is the target
    assert alias_map(["chrM", "MT"], ["M"]) == {"M": "chrM"}


def test_shared_fraction_and_rename():
    assert shared_fraction(UCSC, ENSEMBL) == 1.0
    assert shared_fraction(UCSC, ["1", "2", "weird", "chrUn_x"]) == pytest.approx(0.5)
    assert shared_fraction(UCSC, []) == 1.0
    assert shared_fraction(UCSC, ["a", "b"]) == 0.0
    amap = alias_map(UCSC, ["22", "MT", "extra"])
    assert rename(["22", "MT", "extra"], amap) == ["chr22", "chrM", "extra"]
