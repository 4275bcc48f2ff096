"""seq2func.io.vcf: opening VCF/BCF without htslib on stderr, records of a region against
``bcftools view -H -r``, contig aliases, genotype decoding of odd cells, sample matching."""

from __future__ import annotations

import gzip
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from seq2func.errors import InputError
from seq2func.io.vcf import (
    ABSENT,
    MISSING,
    VcfText,
    Where,
    genotype_texts,
    match_samples,
    open_vcf,
    parse_genotypes,
    vcf_samples,
)

needs_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("bcftools", "bgzip", "tabix")), reason="bcftools/bgzip/tabix not installed"
)

SAMPLES = ["A", "B", "C"]
HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=22,length=100000>",
    '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">',
    '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(SAMPLES),
]
# (pos, id, ref, alt, info, format, cells): a deletion reaching into [1000, 1100) from before, an
# INFO/END record spanning it, records on both edges, a second contig-less stretch further on
RECORDS = [
    (500, "r1", "A", "G", "DP=3", "GT", ["0|1", "1|1", "0|0"]),
    (990, "del", "ACGTACGTACGTA", "A", ".", "GT", ["0|1", "0|0", "0|0"]),
    (995, "sym", "C", "<DEL>", "END=1050", "GT", ["0|0", "0|1", "0|0"]),
    (999, "edge0", "T", "C", ".", "GT", ["1|0", "0|0", "0|0"]),
    (1000, "in1", "G", "GA", "DP=7", "GT:DP", ["0|1:5", "1|0:6", "0|0:7"]),
    (1050, "in2", "C", "T,A", ".", "GT", ["1|2", "2|2", "0|1"]),
    (1100, "edge1", "A", "T", ".", "GT", ["0|1", "0|0", "1|1"]),
    (5000, "far", "T", "G", ".", "GT", ["0|0", "0|0", "0|1"]),
]
REGIONS = [(1000, 1100), (1, 100000), (1001, 1049), (995, 995), (5000, 5000), (6000, 7000)]  # 1-based, inclusive


def _record(pos, vid, ref, alt, info, fmt, cells, chrom="22") -> str:
    return "\t".join([chrom, str(pos), vid, ref, alt, ".", "PASS", info, fmt, *cells])


def _write(path: Path, header=HEADER, records=RECORDS, chrom="22") -> Path:
    path.write_text("\n".join(header + [_record(*r, chrom=chrom) for r in records]) + "\n")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The same small VCF as plain text, bgzip + tabix, bgzip without index, BCF + CSI, BCF alone."""
    if not all(shutil.which(t) for t in ("bcftools", "bgzip", "tabix")):
        pytest.skip("bcftools/bgzip/tabix not installed")
    d = tmp_path_factory.mktemp("vcf")
    plain = _write(d / "x.vcf")
    subprocess.run(["bgzip", "-k", str(plain)], check=True)
    gz = d / "x.vcf.gz"
    subprocess.run(["tabix", "-p", "vcf", str(gz)], check=True)
    nox = d / "nox.vcf.gz"
    shutil.copy(gz, nox)
    bcf = d / "x.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(gz)], check=True)
    nox_bcf = d / "nox.bcf"
    shutil.copy(bcf, nox_bcf)
    subprocess.run(["bcftools", "index", str(bcf)], check=True)
    return {"vcf.gz": gz, "vcf": plain, "nox.vcf.gz": nox, "bcf": bcf, "nox.bcf": nox_bcf}


def _bcftools_lines(vcf: Path, region: str, opt: str = "-r") -> list[str]:
    out = subprocess.run(["bcftools", "view", "-H", opt, region, str(vcf)], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


# ------------------------------------------------------------------------------------------
# opening
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, indexed, is_bcf",
    [("vcf.gz", True, False), ("vcf", False, False), ("nox.vcf.gz", False, False), ("bcf", True, True),
     ("nox.bcf", False, True)],
)
def test_open_every_kind(files, kind, indexed, is_bcf, caplog):
    caplog.set_level(logging.WARNING)
    with VcfText(files[kind]) as v:
        assert v.samples == SAMPLES
        assert v.contigs == ["22"]
        assert v.index is indexed and v.is_bcf is is_bcf
        assert v.path == str(files[kind])
    no_index = [r for r in caplog.records if "has no index" in r.getMessage()]
    assert len(no_index) == (0 if indexed else 1)
    assert vcf_samples(files[kind]) == SAMPLES
    vf = open_vcf(files[kind])
    assert list(vf.header.samples) == SAMPLES
    vf.close()


@needs_tools
@pytest.mark.parametrize("kind", ["vcf.gz", "vcf", "nox.vcf.gz", "bcf", "nox.bcf"])
def test_lines_equal_bcftools_view(files, kind):
    """Overlapping records (the default) are ``bcftools view -H -r``; POS-only ones ``-t``."""
    with VcfText(files[kind]) as v:
        for start, end in REGIONS:
            region = f"22:{start}-{end}"
            got = list(v.lines("22", start - 1, end))
            assert got == _bcftools_lines(files["vcf.gz"], region), (kind, region)
            assert list(v.lines("22", start - 1, end, overlapping=False)) == _bcftools_lines(
                files["vcf.gz"], region, "-t"
            ), (kind, region)
        assert list(v.lines("chr22", 0, 100000)) == []  # spelled otherwise: no records
        assert list(v.lines("22", 2000, 2000)) == []  # empty region


def test_lines_of_an_unsorted_unindexed_file(tmp_path):
    recs = [RECORDS[4], RECORDS[0], RECORDS[6], RECORDS[1]]
    with VcfText(_write(tmp_path / "u.vcf", records=recs)) as v:
        got = [line.split("\t")[2] for line in v.lines("22", 999, 1100)]
        assert got == ["in1", "edge1", "del"]  # file order; the deletion from 990 overlaps


def test_contig_aliases(tmp_path):
    with VcfText(_write(tmp_path / "a.vcf")) as v:
        assert v.contig("22") == "22"
        assert v.contig("chr22") == "22"
        assert v.contig("chr1") is None
    with VcfText(_write(tmp_path / "b.vcf", header=[h.replace("ID=22,", "ID=chr22,") for h in HEADER],
                        chrom="chr22")) as v:
        assert v.contig("22") == "chr22"
        assert [line.split("\t")[2] for line in v.lines(v.contig("22"), 999, 1000)] == ["del", "sym", "in1"]
    both = [HEADER[0], "##contig=<ID=chr22,length=100000>"] + HEADER[1:]
    with VcfText(_write(tmp_path / "c.vcf", header=both)) as v:  # both spellings: the exact one wins
        assert v.contigs == ["chr22", "22"]
        assert v.contig("22") == "22" and v.contig("chr22") == "chr22"


# ------------------------------------------------------------------------------------------
# errors, and nothing of htslib's on fd 2
# ------------------------------------------------------------------------------------------
def _htslib_free(capfd, caplog) -> None:
    """fd 2 holds nothing but what our logging printed (nothing under pytest's log capture)."""
    err = capfd.readouterr().err
    assert "[E::" not in err and "[W::" not in err and "idx_find_and_load" not in err, err
    ours = [r.getMessage() for r in caplog.records]
    assert all(any(m in line for m in ours) for line in err.splitlines() if line.strip()), err


def test_gzip_not_bgzip_is_one_line(tmp_path):
    plain = _write(tmp_path / "g.vcf")
    gz = tmp_path / "g.vcf.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    for call in (open_vcf, VcfText, vcf_samples):
        with pytest.raises(InputError) as err:
            call(gz)
        msg = str(err.value)
        assert "\n" not in msg and msg.startswith(f"{gz}: compressed with gzip, not bgzip")
        assert "bgzip g.vcf" in msg and "tabix -p vcf g.vcf.gz" in msg


def test_not_a_vcf_and_corrupt_files_are_one_line(tmp_path, files, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    capfd.readouterr()
    text = tmp_path / "notes.vcf"
    text.write_text("hello\nworld\n")
    binary = tmp_path / "bin.vcf"
    binary.write_bytes(bytes(range(256)))
    bad_header = tmp_path / "hdr.vcf"
    bad_header.write_text("##fileformat=VCFv4.2\n#CHROM POS ID\n22\t1\n")
    truncated = tmp_path / "trunc.vcf.gz"
    truncated.write_bytes(files["vcf.gz"].read_bytes()[:120])
    for path in (text, binary, bad_header, truncated, tmp_path / "absent.vcf", tmp_path):
        with pytest.raises(InputError) as err:
            VcfText(path, display="cohort.vcf")
        msg = str(err.value)
        assert "\n" not in msg and msg.startswith("cohort.vcf: "), msg
    _htslib_free(capfd, caplog)


def test_unindexed_vcf_prints_nothing_from_htslib(files, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    capfd.readouterr()
    for kind in ("nox.vcf.gz", "nox.bcf"):
        open_vcf(files[kind]).close()
        with VcfText(files[kind]) as v:
            assert len(list(v.lines("22", 0, 100000))) == len(RECORDS)
    _htslib_free(capfd, caplog)
    assert sum("has no index" in r.getMessage() for r in caplog.records) == 2  # one per VcfText


@pytest.mark.realdata
def test_realdata_unindexed_copy_is_quiet(shared, tmp_path, capfd, caplog):
    src = shared / "realdata" / "hg19_chr22" / "variants" / "1000G_phase1_5samples_chr22.vcf.gz"
    if not src.exists():
        pytest.skip(f"{src} not present")
    vcf = tmp_path / src.name
    shutil.copy(src, vcf)  # without its .tbi
    caplog.set_level(logging.DEBUG)
    capfd.readouterr()
    with VcfText(vcf) as v:
        assert v.samples == ["HG00096", "HG00097", "HG00099", "HG00100", "HG00101"]
        assert not v.index and v.contig("chr22") == "22"
        lines = list(v.lines("22", 0, 1 << 29))
    assert len(lines) > 1000
    assert vcf_samples(vcf)[0] == "HG00096"
    _htslib_free(capfd, caplog)


# ------------------------------------------------------------------------------------------
# genotypes
# ------------------------------------------------------------------------------------------
ODD = [
    # (pos, ref, alt, format, cells) -> expected (a1, a2, phased) per cell
    (100, "A", "G", "GT", ["0|1", "1/0", ".|1"], [(0, 1, True), (1, 0, False), (MISSING, 1, True)]),
    (200, "A", "G", "GT", [".", "1", "0|0"], [(MISSING, ABSENT, True), (1, ABSENT, True), (0, 0, True)]),
    (300, "A", "C,G,T,AA,AC,AG,AT,CA,CC,CG,CT", "GT", ["10|2", "11/0", "0|10"],
     [(10, 2, True), (11, 0, False), (0, 10, True)]),
    (400, "A", "G", "DP:GT", ["7:0|1", "3:1/1", "5"], [(0, 1, True), (1, 1, False), (MISSING, ABSENT, True)]),
    (500, "A", "G", "GT", ["|0|1", "/1|0", "./."], [(0, 1, True), (1, 0, True), (MISSING, MISSING, False)]),
    (600, "A", "G", "DP", ["1", "2", "3"], [(MISSING, ABSENT, True)] * 3),  # no GT: the reference
    (700, "A", "G,T", "GT:DP", ["2|0:1", "0/2:1", "1|1:1"], [(2, 0, True), (0, 2, False), (1, 1, True)]),
]


def _odd_vcf(path: Path, rows=ODD) -> Path:
    lines = HEADER[:-1] + ["#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(SAMPLES)]
    lines += ["\t".join(["22", str(p), ".", ref, alt, ".", "PASS", ".", fmt, *cells]) for p, ref, alt, fmt, cells, _ in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _decode(vcf: Path, sel=(0, 1, 2)):
    with VcfText(vcf) as v:
        recs = [line.split("\t", 9) for line in v.lines("22", 0, 100000)]
        texts, has_gt = genotype_texts(recs)
        where = Where(str(vcf), "22", [int(f[1]) - 1 for f in recs])
        return parse_genotypes(texts, has_gt, len(v.samples), np.asarray(sel, dtype=np.int64), where)


@pytest.mark.parametrize("indexed", [False, True])
def test_genotypes_of_odd_cells(tmp_path, indexed):
    vcf = _odd_vcf(tmp_path / "odd.vcf")
    if indexed:
        if not shutil.which("bgzip"):
            pytest.skip("bgzip not installed")
        subprocess.run(["bgzip", str(vcf)], check=True)
        vcf = Path(str(vcf) + ".gz")
        subprocess.run(["tabix", "-p", "vcf", str(vcf)], check=True)
    a1, a2, phased = _decode(vcf)
    want = np.asarray([row[-1] for row in ODD])  # (records, samples, 3)
    assert a1.tolist() == want[..., 0].tolist()
    assert a2.tolist() == want[..., 1].tolist()
    assert phased.tolist() == want[..., 2].astype(bool).tolist()
    s1, s2, sp = _decode(vcf, sel=(2, 0))  # a subset, in another order: those columns
    assert s1.tolist() == a1[:, [2, 0]].tolist() and s2.tolist() == a2[:, [2, 0]].tolist()
    assert sp.tolist() == phased[:, [2, 0]].tolist()


@pytest.mark.parametrize(
    "cells",
    [
        ["0|1", "1|0", "1|1"],  # every cell d|d: decoded by subtraction
        ["0|1", "1/0", "1|1"],  # three bytes each, one unphased: fixed offsets
        ["0|1", "1", "1|1"],  # a haploid cell: delimiter scan
    ],
)
def test_genotype_fast_paths_agree_with_the_slow_parse(tmp_path, cells):
    vcf = tmp_path / "f.vcf"
    rows = [(100 + k, "A", "G", "GT", cells[k:] + cells[:k], None) for k in range(3)]
    a1, a2, phased = _decode(_odd_vcf(vcf, rows))
    from seq2func.io.vcf import _parse_gt_slow

    for i, (_, _, _, _, row, _) in enumerate(rows):
        for j, cell in enumerate(row):
            assert (a1[i, j], a2[i, j], phased[i, j]) == _parse_gt_slow(cell, ("f", "x")), cell


@pytest.mark.parametrize("cell, bad", [("A|1", "'A'"), ("0|x", "'x'"), ("0|", "''"), ("1|99999", "99999")])
def test_malformed_gt_is_one_line_naming_the_record(tmp_path, cell, bad):
    rows = [ODD[0], (250, "A", "G", "GT", ["0|0", cell, "0|1"], None)]
    vcf = _odd_vcf(tmp_path / "bad.vcf", rows)
    with pytest.raises(InputError) as err:
        _decode(vcf)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{vcf}: 22:250: ") and bad in msg, msg


def test_sample_columns_differing_from_the_header(tmp_path):
    rows = [ODD[0], (250, "A", "G", "GT", ["0|0", "0|1"], None)]
    with pytest.raises(InputError, match=r"22:250: 2 sample columns, header has 3"):
        _decode(_odd_vcf(tmp_path / "short.vcf", rows))


def test_match_samples():
    assert match_samples(["a", "b", "c"], ["c", "a"]) == [2, 0]
    assert match_samples(["a", "b"], ["b", "zz"], missing="drop") == [1]
    with pytest.raises(InputError, match=r"^x.vcf: samples: 1 of 2 sample\(s\) not in the VCF \(2 samples there\): zz$"):
        match_samples(["a", "b"], ["b", "zz"], path="x.vcf")
    with pytest.raises(InputError, match="duplicated sample ID"):
        match_samples(["a", "b"], ["a", "a"])
