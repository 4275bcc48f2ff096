"""seq2func.personal.haplotypes against the oracle ``samtools faidx | bcftools consensus -H 1|2``."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest

from seq2func.errors import InputError
from seq2func.io.vcf import match_samples
from seq2func.personal.haplotypes import (
    HaplotypeBuilder,
    build_haplotypes,
    center_on,
    parse_region,
)

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
REALDATA = SHARED / "realdata" / "hg19_chr22"
CLI = REPO / "bin" / "personal_haplotypes.py"

needs_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("bcftools", "samtools", "bgzip", "tabix")),
    reason="bcftools/samtools/bgzip/tabix (the oracle) not installed",
)


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _bcftools(vcf: Path, fasta: Path, region: str, sample: str, hap: int, tmp: Path) -> str:
    """The oracle: bcftools consensus of one haplotype over samtools' FASTA of the region."""
    reg = tmp / "oracle_region.fa"
    subprocess.run(["samtools", "faidx", str(fasta), region, "-o", str(reg)], check=True)
    res = subprocess.run(
        ["bcftools", "consensus", "-s", sample, "-H", str(hap), "-f", str(reg), str(vcf)],
        capture_output=True,
        check=True,
    )
    lines = res.stdout.decode().splitlines()
    assert lines[0] == f">{region}"
    assert all(len(x) <= 60 for x in lines[1:])
    return "".join(lines[1:])


def _write_vcf(path: Path, contig: str, length: int, samples: list[str], records: list[tuple]) -> Path:
    """records: (pos, ref, alt, [gt per sample]); written, bgzipped and tabixed."""
    head = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={contig},length={length}>",
        '##ALT=<ID=DEL,Description="Deletion">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
    ]
    body = [f"{contig}\t{p}\tv{p}\t{r}\t{a}\t.\tPASS\t.\tGT\t" + "\t".join(g) for p, r, a, g in records]
    path.write_text("\n".join(head + body) + "\n")
    subprocess.run(["bgzip", "-f", str(path)], check=True)
    gz = Path(str(path) + ".gz")
    subprocess.run(["tabix", "-f", "-p", "vcf", str(gz)], check=True)
    return gz


def _genome(tmp: Path, name: str = "chr1", length: int = 400, seed: int = 7) -> tuple[Path, str]:
    rng = random.Random(seed)
    seq = [rng.choice("ACGT") for _ in range(length)]
    for i in range(150, 158):  # a soft-masked stretch
        seq[i] = seq[i].lower()
    seq = "".join(seq)
    fa = tmp / "genome.fa"
    fa.write_text(f">{name}\n" + "\n".join(seq[i : i + 70] for i in range(0, length, 70)) + "\n")
    subprocess.run(["samtools", "faidx", str(fa)], check=True)
    return fa, seq


def _other(base: str) -> str:
    return "G" if base.upper() != "G" else "T"


def _handbuilt(tmp: Path, contig: str = "chr1"):
    """A VCF exercising every rule; positions are 1-based, REF taken from the genome."""
    fa, seq = _genome(tmp, name="chr1")

    def ref(pos: int, n: int = 1) -> str:
        return seq[pos - 1 : pos - 1 + n].upper()

    samples = ["S1", "S2", "S3", "S4", "S5"]
    recs = [
        (1, ref(1, 2), ref(2), ["1|0", "0|1", "0|0", "0|0", "1"]),  # non-anchored deletion at base 1
        (5, ref(5), ref(5) + "TTG", ["0|1", "1|1", "0|0", "0|0", "0"]),  # insertion
        (90, ref(90, 14), ref(90), ["1|0", "0|1", "1|1", "0|0", "1"]),  # deletion crossing window start 101
        (101, ref(101), _other(ref(101)), ["0|1", "1|0", "0|0", "0|0", "0"]),  # SNV on the window's first base
        (105, ref(105), ref(105) + "GATTACA", ["1|0", "0|1", "1|1", "0|0", "1"]),  # insertion
        (110, ref(110, 4), ref(110), ["1|1", "1|0", "0|1", "0|0", "0"]),  # deletion 111-113
        (112, ref(112), _other(ref(112)), ["1|1", "0|1", "1|0", "0|0", "1"]),  # SNV inside it: skipped
        (113, ref(113), ref(113) + "CC", ["1|0", "1|1", "0|1", "0|0", "0"]),  # insertion on its last base
        (120, ref(120, 3), "".join(_other(b) for b in ref(120, 3)), ["1|0", "0|1", "0|0", "0|0", "1"]),  # MNP
        (121, ref(121), _other(ref(121)), ["1|1", "0|0", "0|0", "0|0", "0"]),  # SNV inside the MNP
        (130, ref(130), ",".join(b for b in "ACGT" if b != ref(130))[:3], ["1|2", "2|0", "0|1", "0|0", "2"]),
        (135, ref(135, 3), f"{ref(135)},{ref(135, 3)}AAT", ["1|2", "2|1", "0|0", "0|0", "1"]),  # multi-allelic indel
        (140, ref(140), _other(ref(140)), [".|1", "./.", "1|.", "0|0", "."]),  # missing alleles
        (145, ref(145, 2), ref(145), ["0|1", "1|0", "0|0", "0|0", "0"]),
        (146, ref(146), ref(146) + "A", ["0|1", "0|1", "0|0", "0|0", "0"]),  # insertion after a deletion
        (152, ref(152), _other(ref(152)), ["1|1", "0|1", "1|0", "0|0", "1"]),  # soft-masked SNV
        (154, ref(154), ref(154) + "GGA", ["1|0", "1|1", "0|1", "0|0", "0"]),  # soft-masked insertion
        (160, ref(160), _other(ref(160)), ["1|0", "0|1", "1|1", "0|0", "1"]),  # SNV then insertion, same POS
        (160, ref(160), ref(160) + "AA", ["1|1", "1|0", "1|0", "0|0", "0"]),
        (170, ref(170, 2), ref(170), ["1|0", "0|1", "0|0", "0|0", "0"]),  # deletion, then another overlapping
        (171, ref(171, 3), ref(171), ["1|1", "1|1", "0|0", "0|0", "0"]),
        (180, ref(180), "<DEL>", ["1|0", "0|0", "0|0", "0|0", "0"]),  # symbolic: kept as reference
        (195, ref(195, 10), ref(195), ["0|1", "1|0", "1|1", "0|0", "1"]),  # deletion crossing window end 200
        (200, ref(200, 2), "".join(_other(b) for b in ref(200, 2)), ["1|0", "0|0", "0|0", "0|0", "0"]),  # MNP cut
        (200, ref(200), ref(200) + "TTT", ["1|1", "0|1", "0|0", "0|0", "1"]),  # insertion on the last base
        (250, ref(250), _other(ref(250)), ["0|1", "1|0", "0|0", "0|0", "0"]),
        (398, ref(398, 3), ref(398), ["1|0", "0|1", "0|0", "0|0", "1"]),  # deletion to the contig end
    ]
    vcf = _write_vcf(tmp / "hand.vcf", contig, len(seq), samples, recs)
    return vcf, fa, seq, samples


def _assert_same_as_bcftools(vcf, fasta, region, samples, haps, tmp, oracle_vcf=None):
    for i, s in enumerate(samples):
        for h in (1, 2):
            expected = _bcftools(oracle_vcf or vcf, fasta, region, s, h, tmp)
            got = haps.sequences[2 * i + h - 1]
            assert got == expected, f"{region} {s}|{h}:\n exp {expected}\n got {got}"


# ------------------------------------------------------------------------------------------
# identical to bcftools
# ------------------------------------------------------------------------------------------
@needs_tools
@pytest.mark.parametrize(
    "region",
    ["chr1:101-200", "chr1:110-160", "chr1:1-60", "chr1:91-113", "chr1:146-146", "chr1:300-400", "chr1:1-400"],
)
def test_handbuilt_matches_bcftools(tmp_path, region):
    vcf, fa, _, samples = _handbuilt(tmp_path)
    chrom, start, end = parse_region(region)
    haps = build_haplotypes(vcf, fa, chrom, start, end)
    assert haps.samples == samples
    assert haps.names[:2] == ["S1|1", "S1|2"]
    _assert_same_as_bcftools(vcf, fa, region, samples, haps, tmp_path)


@needs_tools
def test_handbuilt_exercises_the_rules(tmp_path, caplog):
    vcf, fa, seq, _ = _handbuilt(tmp_path)
    with caplog.at_level("WARNING"):
        haps = build_haplotypes(vcf, fa, "chr1", 101, 200)
    text = " ".join(haps.warnings)
    assert "overlapping an already applied variant" in text  # SNV inside the deletion, etc.
    assert "trimmed at the window end" in text  # the MNP at 200-201
    assert "symbolic" in text and "symbolic" in caplog.text  # <DEL>
    s4 = haps.samples.index("S4")
    assert haps.sequences[2 * s4] == seq[100:200]  # all 0|0: the reference, soft-masking kept
    s1 = haps.sequences[0]
    assert "gga" in s1.lower() and any(c.islower() for c in s1)


@needs_tools
def test_vcf_contig_alias(tmp_path):
    """VCF says '1' while the FASTA says 'chr1': haplotypes are as for a VCF that says 'chr1'."""
    vcf, fa, _, samples = _handbuilt(tmp_path)
    (tmp_path / "b").mkdir()
    alias_vcf, _, _, _ = _handbuilt(tmp_path / "b", contig="1")
    h_alias = build_haplotypes(alias_vcf, fa, "chr1", 101, 200)
    h_plain = build_haplotypes(vcf, fa, "1", 101, 200)  # region spelled the other way works too
    assert h_alias.sequences == h_plain.sequences
    assert h_plain.chrom == "chr1"


@needs_tools
def test_gt_not_first_in_format(tmp_path):
    """GT after another FORMAT key (against the spec, but htslib finds it, so bcftools consensus
    applies it): the same haplotypes as with GT first, and as bcftools'."""
    vcf, fa, _, samples = _handbuilt(tmp_path)
    text = subprocess.run(["bgzip", "-dc", str(vcf)], capture_output=True, text=True, check=True).stdout
    out = []
    for k, line in enumerate(text.splitlines()):
        if line.startswith("##FORMAT"):
            out.append('##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">')
        if not line.startswith("#") and k % 2:
            f = line.split("\t")
            line = "\t".join(f[:8] + ["DP:GT"] + [f"{7 + j}:{c}" for j, c in enumerate(f[9:])])
        out.append(line)
    assert any("\tDP:GT\t" in x for x in out)
    dpgt = tmp_path / "dpgt.vcf"
    dpgt.write_text("\n".join(out) + "\n")
    subprocess.run(["bgzip", "-f", str(dpgt)], check=True)
    dpgt = Path(str(dpgt) + ".gz")
    subprocess.run(["tabix", "-f", "-p", "vcf", str(dpgt)], check=True)
    want = build_haplotypes(vcf, fa, "chr1", 101, 200)
    got = build_haplotypes(dpgt, fa, "chr1", 101, 200)
    assert got.sequences == want.sequences
    assert got.alt_dosage.tolist() == want.alt_dosage.tolist()
    _assert_same_as_bcftools(dpgt, fa, "chr1:101-200", samples, got, tmp_path)


@needs_tools
def test_plain_and_bcf_inputs(tmp_path):
    vcf, fa, _, _ = _handbuilt(tmp_path)
    plain = tmp_path / "plain.vcf"
    subprocess.run(["bcftools", "view", "-Ov", "-o", str(plain), str(vcf)], check=True)
    bcf = tmp_path / "x.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(vcf)], check=True)
    subprocess.run(["bcftools", "index", str(bcf)], check=True)
    want = build_haplotypes(vcf, fa, "chr1", 101, 200).sequences
    assert build_haplotypes(plain, fa, "chr1", 101, 200).sequences == want
    assert build_haplotypes(bcf, fa, "chr1", 101, 200).sequences == want


@needs_tools
@pytest.mark.realdata
def test_realdata_chr22_matches_bcftools(tmp_path):
    vcf = REALDATA / "variants" / "1000G_phase1_5samples_chr22.vcf.gz"
    fasta = REALDATA / "genome" / "hg19_chr22_partial.fa.gz"
    if not vcf.exists() or not fasta.exists():
        pytest.skip("../shared/realdata not present")
    # the oracle needs the VCF's '22' renamed to the FASTA's 'chr22'
    names = tmp_path / "rename.txt"
    names.write_text("22\tchr22\n")
    renamed = tmp_path / "renamed.vcf.gz"
    subprocess.run(
        ["bcftools", "annotate", "--rename-chrs", str(names), "-Oz", "-o", str(renamed), str(vcf)],
        check=True,
        capture_output=True,
    )
    subprocess.run(["tabix", "-f", "-p", "vcf", str(renamed)], check=True)
    windows = ["chr22:50305900-50308800", "chr22:50555300-50561100", "chr22:50881600-50888000", "chr22:50986500-50992300"]
    with HaplotypeBuilder(vcf, fasta) as builder:  # the original VCF, contig '22'
        for region in windows:
            haps = builder.build(*parse_region(region))
            assert len(haps.samples) == 5 and len(haps.variants) > 40
            assert haps.variants["is_indel"].any()
            _assert_same_as_bcftools(vcf, fasta, region, haps.samples, haps, tmp_path, oracle_vcf=renamed)
            assert haps.alt_dosage.shape == (5, int(haps.variants["is_snv"].sum()))


# ------------------------------------------------------------------------------------------
# policies and bad input
# ------------------------------------------------------------------------------------------
def _unphased_vcf(tmp: Path, gts_b: list[str]):
    fa, seq = _genome(tmp)
    recs = [
        (20, seq[19].upper(), _other(seq[19]), ["0|1", "1|1"]),
        (30, seq[29].upper(), _other(seq[29]), ["0|0", gts_b[0]]),
        (40, seq[39:42].upper(), seq[39].upper(), ["1|0", gts_b[1]]),
    ]
    return _write_vcf(tmp / "u.vcf", "chr1", len(seq), ["A", "B"], recs), fa, seq


@needs_tools
def test_unphased_error_is_one_line(tmp_path):
    vcf, fa, _ = _unphased_vcf(tmp_path, ["0/1", "1/1"])
    with pytest.raises(InputError) as err:
        build_haplotypes(vcf, fa, "chr1", 1, 100)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{vcf}: chr1:30: ") and "sample B" in msg and "0/1" in msg


@needs_tools
def test_unphased_homozygous_is_not_ambiguous(tmp_path):
    vcf, fa, _ = _unphased_vcf(tmp_path, ["1/1", "0/0"])
    haps = build_haplotypes(vcf, fa, "chr1", 1, 100)  # no error
    assert haps.sequences[2] == haps.sequences[3]


@needs_tools
def test_unphased_reference_policy(tmp_path):
    vcf, fa, _ = _unphased_vcf(tmp_path, ["0/1", "1/0"])
    (tmp_path / "o").mkdir()
    oracle_vcf, _, _ = _unphased_vcf(tmp_path / "o", ["0|0", "0|0"])  # what 'reference' means
    haps = build_haplotypes(vcf, fa, "chr1", 1, 100, unphased="reference")
    _assert_same_as_bcftools(vcf, fa, "chr1:1-100", ["A", "B"], haps, tmp_path, oracle_vcf=oracle_vcf)


@needs_tools
def test_unphased_random_policy_is_seeded(tmp_path):
    vcf, fa, _ = _unphased_vcf(tmp_path, ["0/1", "1/0"])
    a = build_haplotypes(vcf, fa, "chr1", 1, 100, unphased="random", seed=3)
    b = build_haplotypes(vcf, fa, "chr1", 1, 100, unphased="random", seed=3)
    assert a.sequences == b.sequences
    # whatever the coin says, sample B's two haplotypes are the two phasings of its alleles
    (tmp_path / "o").mkdir()
    oracle_vcf, _, _ = _unphased_vcf(tmp_path / "o", ["0|1", "1|0"])
    pair = {_bcftools(oracle_vcf, fa, "chr1:1-100", "B", h, tmp_path) for h in (1, 2)}
    (tmp_path / "p").mkdir()
    swapped, _, _ = _unphased_vcf(tmp_path / "p", ["1|0", "0|1"])
    pair_swapped = {_bcftools(swapped, fa, "chr1:1-100", "B", h, tmp_path) for h in (1, 2)}
    (tmp_path / "q").mkdir()
    mixed1, _, _ = _unphased_vcf(tmp_path / "q", ["0|1", "0|1"])
    (tmp_path / "r").mkdir()
    mixed2, _, _ = _unphased_vcf(tmp_path / "r", ["1|0", "1|0"])
    options = [pair, pair_swapped]
    options += [{_bcftools(v, fa, "chr1:1-100", "B", h, tmp_path) for h in (1, 2)} for v in (mixed1, mixed2)]
    for seed in range(6):
        got = build_haplotypes(vcf, fa, "chr1", 1, 100, unphased="random", seed=seed).sequences[2:4]
        assert set(got) in options


def test_unphased_random_coin_varies_with_seed():
    from seq2func.personal.haplotypes import _splitmix_coin

    cols, pos, rank = np.arange(200), np.arange(1000, 1100), np.zeros(100, dtype=np.int64)
    a = _splitmix_coin(1, cols, pos, rank)
    b = _splitmix_coin(2, cols, pos, rank)
    assert 0.4 < a.mean() < 0.6 and (a != b).mean() > 0.3
    assert (a == _splitmix_coin(1, cols, pos, rank)).all()


@needs_tools
def test_sample_mismatch(tmp_path):
    vcf, fa, _, _ = _handbuilt(tmp_path)
    with pytest.raises(InputError) as err:
        HaplotypeBuilder(vcf, fa, samples=["S1", "X1", "X2", "X3", "X4", "X5", "X6"])
    msg = str(err.value)
    assert "\n" not in msg and "6 of 7 sample(s) not in the VCF" in msg
    assert "X1, X2, X3, X4, X5 (+1 more)" in msg and "X6" not in msg
    assert match_samples(["a", "b", "c"], ["c", "a"]) == [2, 0]
    assert match_samples(["a", "b"], ["b", "zz"], missing="drop") == [1]
    haps = build_haplotypes(vcf, fa, "chr1", 101, 200, samples="S3,S1")
    assert haps.samples == ["S3", "S1"]
    full = build_haplotypes(vcf, fa, "chr1", 101, 200)
    assert haps.sequences == full.sequences[4:6] + full.sequences[0:2]


@needs_tools
def test_ref_mismatch(tmp_path):
    fa, seq = _genome(tmp_path)
    wrong = _other(seq[49])
    vcf = _write_vcf(tmp_path / "m.vcf", "chr1", len(seq), ["A"], [(50, wrong, "A" if wrong != "A" else "C", ["0|1"])])
    with pytest.raises(InputError) as err:
        build_haplotypes(vcf, fa, "chr1", 1, 100)
    assert str(err.value) == f"{vcf}: chr1:50: REF '{wrong}' != FASTA '{seq[49]}'"
    # like bcftools, a REF nobody carries the ALT of is not checked
    vcf2 = _write_vcf(tmp_path / "m2.vcf", "chr1", len(seq), ["A"], [(50, wrong, "A" if wrong != "A" else "C", ["0|0"])])
    assert build_haplotypes(vcf2, fa, "chr1", 1, 100).sequences == [seq[:100]] * 2


@needs_tools
def test_bad_region_and_contig(tmp_path):
    vcf, fa, _, _ = _handbuilt(tmp_path)
    for bad in ("chr1", "chr1:10", "chr1:20-10", "chr1:0-5"):
        with pytest.raises(InputError):
            parse_region(bad)
    with pytest.raises(InputError, match="contig 'chr9' not in the FASTA"):
        build_haplotypes(vcf, fa, "chr9", 1, 10)
    with pytest.raises(InputError, match="beyond the end"):
        build_haplotypes(vcf, fa, "chr1", 500, 600)


# ------------------------------------------------------------------------------------------
# dedup, coordinates, centring
# ------------------------------------------------------------------------------------------
@needs_tools
def test_identical_haplotypes_share_one_unique_sequence(tmp_path):
    fa, seq = _genome(tmp_path)
    recs = [
        (20, seq[19].upper(), _other(seq[19]), ["0|1", "1|0", "1|1", "0|0"]),
        (30, seq[29:32].upper(), seq[29].upper(), ["0|1", "1|0", "1|1", "0|0"]),
        (60, seq[59].upper(), seq[59].upper() + "AC", ["0|0", "0|0", "0|0", "0|0"]),
    ]
    vcf = _write_vcf(tmp_path / "d.vcf", "chr1", len(seq), list("ABCD"), recs)
    haps = build_haplotypes(vcf, fa, "chr1", 1, 100)
    assert haps.n_unique == 2  # reference and ALT-ALT
    assert haps.inverse.tolist() == [0, 1, 1, 0, 1, 1, 0, 0]
    assert haps.unique is haps.inverse
    assert haps.sequences[1] is haps.sequences[2]  # built once, shared
    assert haps.unique_sequences[0] == seq[:100]
    assert haps.forward_passes_saved == pytest.approx(1 - 2 / 8)
    _assert_same_as_bcftools(vcf, fa, "chr1:1-100", list("ABCD"), haps, tmp_path)
    # dosages come from the genotypes (SNV at 20 only)
    assert haps.alt_dosage.tolist() == [[1], [1], [2], [0]]
    assert haps.variants["pos"].tolist()[haps.snv_columns[0]] == 20


def test_center_on_rule():
    seq = "0123456789"
    assert center_on(seq, 5, 4) == "3456"  # seq[5] at index 4 // 2
    assert center_on(seq, 5, 5) == "34567"
    assert center_on(seq, 1, 6) == "NN0123"
    assert center_on(seq, 9, 4) == "789N"
    assert center_on(seq, 30, 3) == "NNN"
    assert center_on("", 0, 2) == "NN"


@needs_tools
def test_offset_shift_keeps_tss_centred(tmp_path):
    fa, seq = _genome(tmp_path)
    recs = [
        (20, seq[19].upper(), seq[19].upper() + "GGGG", ["1|0"]),  # +4 upstream of the TSS on hap 1
        (40, seq[39:43].upper(), seq[39].upper(), ["0|1"]),  # -3 upstream on hap 2
        (80, seq[79].upper(), seq[79].upper() + "TT", ["1|1"]),  # downstream: no shift
    ]
    vcf = _write_vcf(tmp_path / "c.vcf", "chr1", len(seq), ["A"], recs)
    haps = build_haplotypes(vcf, fa, "chr1", 11, 110)
    tss = 60 - 11  # window offset of chr1:60
    shift = haps.offset_shift(tss)
    u1, u2 = haps.inverse.tolist()
    assert shift[u1] == 4 and shift[u2] == -3
    for u, s in zip((u1, u2), (4, -3)):
        assert haps.unique_sequences[u][tss + s] == seq[59]
    model = haps.centered(tss, 21)
    assert all(len(m) == 21 and m[10] == seq[59] for m in model)
    assert model[u1][5:16].upper() == seq[54:65].upper()


# ------------------------------------------------------------------------------------------
# the fast paths: fixed-width genotypes, hashed dedup, block splicing
# ------------------------------------------------------------------------------------------
def _cohort(tmp: Path, n_samples: int = 12, n_sites: int = 110, length: int = 2000, seed: int = 3, unphased_hom=False):
    """Random SNVs, indels and MNPs; haplotypes are mosaics of 3 founders plus private flips, so
    they repeat (dedup) and differ in many clusters (several splice blocks)."""
    rng, slash = random.Random(seed), random.Random(seed + 1)
    fa, seq = _genome(tmp, length=length, seed=seed)
    positions = sorted(rng.sample(range(2, length - 30), n_sites))
    founders = [[rng.random() < 0.3 for _ in positions] for _ in range(3)]
    haps = []
    for _ in range(2 * n_samples):
        h = list(founders[rng.randrange(3)])
        if rng.random() < 0.5:
            j = rng.randrange(n_sites)
            h[j] = not h[j]
        haps.append(h)
    recs = []
    for j, p in enumerate(positions):
        r1, k = seq[p - 1].upper(), rng.random()
        if k < 0.7:
            ref, alt = r1, _other(r1)
        elif k < 0.8:
            ref, alt = r1, r1 + "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 5)))
        elif k < 0.9:
            ref, alt = seq[p - 1 : p + rng.randint(1, 6)].upper(), r1
        else:
            ref = seq[p - 1 : p + 1].upper()
            alt = "".join(_other(b) for b in ref)
        gts = []
        for i in range(n_samples):
            a, b = int(haps[2 * i][j]), int(haps[2 * i + 1][j])
            gts.append(f"{a}/{b}" if unphased_hom and a == b and slash.random() < 0.5 else f"{a}|{b}")
        recs.append((p, ref, alt, gts))
    samples = [f"P{i}" for i in range(n_samples)]
    return _write_vcf(tmp / "cohort.vcf", "chr1", length, samples, recs), fa, samples


@needs_tools
def test_many_clusters_match_bcftools(tmp_path):
    vcf, fa, samples = _cohort(tmp_path)
    haps = build_haplotypes(vcf, fa, "chr1", 1, 2000)
    assert len(haps._cluster_start) > 64  # three splice blocks of 32 clusters
    assert haps.n_unique < len(haps.inverse)  # haplotypes repeat
    _assert_same_as_bcftools(vcf, fa, "chr1:1-2000", samples, haps, tmp_path)


@needs_tools
def test_genotype_layouts_and_sample_subsets_agree(tmp_path):
    """All cells ``a|b`` (decoded by subtraction), some ``a/a`` (fixed width, general decoding): the
    same haplotypes, equal to bcftools'; a subset of samples in another order gives their rows."""
    vcf, fa, samples = _cohort(tmp_path)
    (tmp_path / "u").mkdir()
    vcf_u, _, _ = _cohort(tmp_path / "u", unphased_hom=True)
    assert "0/0" in subprocess.run(["bgzip", "-dc", str(vcf_u)], capture_output=True, text=True).stdout
    full = build_haplotypes(vcf, fa, "chr1", 301, 1700)
    assert build_haplotypes(vcf_u, fa, "chr1", 301, 1700).sequences == full.sequences
    some = ["P7", "P2", "P11", "P0"]
    sub = build_haplotypes(vcf_u, fa, "chr1", 301, 1700, samples=some)
    for i, s in enumerate(some):
        k = samples.index(s)
        assert sub.sequences[2 * i : 2 * i + 2] == full.sequences[2 * k : 2 * k + 2]
        assert sub.alt_dosage[i].tolist() == full.alt_dosage[k].tolist()
    _assert_same_as_bcftools(vcf_u, fa, "chr1:301-1700", some, sub, tmp_path)


@needs_tools
def test_hash_collisions_fall_back_to_exact_grouping(tmp_path, monkeypatch):
    from seq2func.personal import haplotypes as H

    vcf, fa, samples = _cohort(tmp_path)
    want = build_haplotypes(vcf, fa, "chr1", 1, 2000)
    # every row hashes alike: the element-wise check must catch it and fall back
    fallbacks = []
    exact = H._unique_rows_dict
    monkeypatch.setattr(H, "_multipliers", lambda n: np.zeros(n, dtype=np.uint64))
    monkeypatch.setattr(H, "_unique_rows_dict", lambda m: fallbacks.append(m.shape) or exact(m))
    got = build_haplotypes(vcf, fa, "chr1", 1, 2000)
    assert fallbacks
    assert got.sequences == want.sequences
    assert got.inverse.tolist() == want.inverse.tolist()
    # and the grouping itself, against a plain dictionary of row tuples
    rows = np.asarray([[1, 0, 2], [0, 0, 0], [1, 0, 2], [0, 1, 0], [0, 0, 0]], dtype=np.int16)
    first, inv = H._unique_rows(rows)
    seen: dict = {}
    oracle = [seen.setdefault(tuple(r), len(seen)) for r in rows.tolist()]
    assert inv.tolist() == oracle
    assert first.tolist() == [oracle.index(g) for g in range(len(seen))]


# ------------------------------------------------------------------------------------------
# the CLI
# ------------------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, str(CLI), *args], capture_output=True, text=True, env=env)


@needs_tools
def test_cli_writes_fasta_like_bcftools(tmp_path):
    vcf, fa, _, samples = _handbuilt(tmp_path)
    out = tmp_path / "out" / "haps.fa"
    res = _cli("--vcf", str(vcf), "--fasta", str(fa), "--region", "chr1:101-200", "--samples", "S2,S1", "--out", str(out))
    assert res.returncode == 0, res.stderr
    text = out.read_text().splitlines()
    names = [x[1:] for x in text if x.startswith(">")]
    assert names == ["S2|1", "S2|2", "S1|1", "S1|2"]
    records, cur = {}, None
    for line in text:
        if line.startswith(">"):
            cur = line[1:]
            records[cur] = []
        else:
            assert len(line) <= 60
            records[cur].append(line)
    for name, lines in records.items():
        sample, hap = name.split("|")
        oracle = subprocess.run(["samtools", "faidx", str(fa), "chr1:101-200"], capture_output=True, check=True)
        (tmp_path / "r.fa").write_bytes(oracle.stdout)
        bcf = subprocess.run(
            ["bcftools", "consensus", "-s", sample, "-H", hap, "-f", str(tmp_path / "r.fa"), str(vcf)],
            capture_output=True,
            check=True,
        ).stdout.decode()
        assert bcf.splitlines()[1:] == lines  # same sequence and the same 60-base wrapping


@needs_tools
@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--samples", "S1,NOPE"], "1 of 2 sample(s) not in the VCF"),
        (["--region", "chr1:300-200"], "need 1 <= start <= end"),
        (["--unphased", "maybe"], "'maybe' is not one of"),
        (["--ref-n", "maybe"], "'maybe' is not one of error, skip"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(tmp_path, extra, needle):
    vcf, fa, _, _ = _handbuilt(tmp_path)
    out = tmp_path / "o.fa"
    args = ["--vcf", str(vcf), "--fasta", str(fa), "--region", "chr1:101-200", "--out", str(out)]
    for i in range(0, len(extra), 2):
        if extra[i] in args:
            args[args.index(extra[i]) + 1] = extra[i + 1]
        else:
            args += extra[i : i + 2]
    res = _cli(*args)
    assert res.returncode == 2
    errors = [x for x in res.stderr.splitlines() if x.startswith("ERROR:")]
    assert len(errors) == 1 and needle in errors[0]
    assert "Traceback" not in res.stderr
    assert not out.exists()


@needs_tools
def test_cli_unphased_vcf_error(tmp_path):
    vcf, fa, _ = _unphased_vcf(tmp_path, ["0/1", "1/1"])
    res = _cli("--vcf", str(vcf), "--fasta", str(fa), "--region", "chr1:1-100", "--out", str(tmp_path / "o.fa"))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == (
        f"ERROR: {vcf}: chr1:30: unphased genotype 0/1 for sample B (1 unphased heterozygous genotype(s) in "
        "chr1:1-100); phase the VCF or choose --unphased reference|random"
    )
    ok = _cli("--vcf", str(vcf), "--fasta", str(fa), "--region", "chr1:1-100", "--out", str(tmp_path / "o.fa"),
              "--unphased", "reference")
    assert ok.returncode == 0, ok.stderr


# ------------------------------------------------------------------------------------------
# --ref-n: records whose REF lies entirely on FASTA N (hard-masked / partial references)
# ------------------------------------------------------------------------------------------
def _n_genome(tmp: Path) -> tuple[Path, str]:
    """The 400-bp test genome with 121-140 hard-masked (N) and 141-144 soft-masked (n)."""
    fa, seq = _genome(tmp)
    seq = seq[:120] + "N" * 20 + "n" * 4 + seq[144:]
    fa.write_text(">chr1\n" + "\n".join(seq[i : i + 70] for i in range(0, len(seq), 70)) + "\n")
    Path(str(fa) + ".fai").unlink()
    subprocess.run(["samtools", "faidx", str(fa)], check=True)
    return fa, seq


def _drop_all_n_records(vcf: Path, fasta: Path, out: Path, rename: dict[str, str] | None = None) -> tuple[Path, int]:
    """Oracle filter, independent of the builder: pysam reads each record's REF span from the FASTA
    and drops the record when the span has an N and the REF equals the FASTA at every other base
    (plain string comparison); bgzip + tabix the rest."""
    rename = rename or {}
    fa = pysam.FastaFile(str(fasta))
    kept, dropped = [], 0
    with pysam.VariantFile(str(vcf)) as vf:
        header = str(vf.header)
        for rec in vf:
            span = fa.fetch(rename.get(rec.chrom, rec.chrom), rec.pos - 1, rec.pos - 1 + len(rec.ref)).upper()
            if "N" in span and all(f == "N" or f == r for f, r in zip(span, rec.ref.upper(), strict=True)):
                dropped += 1
            else:
                kept.append(str(rec))
    for old, new in rename.items():
        header = header.replace(f"##contig=<ID={old},", f"##contig=<ID={new},")
        kept = [new + line[len(old):] if line.startswith(old + "\t") else line for line in kept]
    out.write_text(header + "".join(kept))
    subprocess.run(["bgzip", "-f", str(out)], check=True)
    gz = Path(str(out) + ".gz")
    subprocess.run(["tabix", "-f", "-p", "vcf", str(gz)], check=True)
    return gz, dropped


def test_ref_n_skip_policy(tmp_path, caplog):
    fa, seq = _n_genome(tmp_path)
    samples = ["A", "B", "C"]
    recs = [
        (50, seq[49], _other(seq[49]), ["0|1", "1|1", "0|0"]),  # real base: applied
        (117, seq[116:120].upper() + "AC", seq[116].upper(), ["0|0", "0|1", "0|0"]),  # real bases, then N: skipped
        (121, "A", "G", ["1|0", "0|1", "0|0"]),  # on N: error / skipped
        (125, "CAGT", "C", ["1|1", "0|0", "0|1"]),  # deletion entirely on N: skipped
        (139, "ACGTT", "A", ["0|1", "0|0", "0|0"]),  # N N n n n: entirely N (any case), skipped
        (143, "T", "TTT", ["1|0", "0|0", "1|1"]),  # insertion on soft-masked n: skipped
        (160, seq[159], seq[159] + "GA", ["0|1", "1|0", "0|0"]),  # real base: applied
        (199, seq[198:202], seq[198], ["1|1", "0|1", "0|0"]),  # runs past the window end (200): trimmed
    ]
    vcf = _write_vcf(tmp_path / "n.vcf", "chr1", len(seq), samples, recs)
    with pytest.raises(InputError) as err:
        build_haplotypes(vcf, fa, "chr1", 1, 200)
    assert re.fullmatch(rf"{re.escape(str(vcf))}: chr1:\d+: REF '[ACGT]+' != FASTA '[ACGT]*N+'", str(err.value))
    with pytest.raises(InputError, match="'maybe' is not one of error, skip"):
        build_haplotypes(vcf, fa, "chr1", 1, 200, ref_n="maybe")
    with caplog.at_level("WARNING"):
        haps = build_haplotypes(vcf, fa, "chr1", 1, 200, ref_n="skip")
    assert haps.n_ref_n_skipped == 5
    assert "5 record(s) whose REF lies on FASTA N skipped (--ref-n skip)" in caplog.text
    assert haps.variants["pos"].tolist() == [50, 160, 199]
    assert haps.alt_dosage.shape == (3, 1)
    oracle, dropped = _drop_all_n_records(vcf, fa, tmp_path / "oracle.vcf")
    assert dropped == 5
    _assert_same_as_bcftools(vcf, fa, "chr1:1-200", samples, haps, tmp_path, oracle_vcf=oracle)
    assert all(h[120:144] == seq[120:144] for h in haps.sequences)  # the reference N (and n) kept

    # a REF that differs from a real (non-N) base is checked as usual, so a real mismatch still stops
    bad_ref = _other(seq[117]) + seq[118:120].upper() + "A"
    part = _write_vcf(tmp_path / "p.vcf", "chr1", len(seq), samples, [(118, bad_ref, bad_ref[0], ["0|1", "0|0", "0|0"])])
    with pytest.raises(InputError, match=f"chr1:118: REF '{bad_ref}' != FASTA"):
        build_haplotypes(part, fa, "chr1", 1, 200, ref_n="skip")
    wrong = _other(seq[49])
    mism = _write_vcf(tmp_path / "m.vcf", "chr1", len(seq), samples, [(50, wrong, "A" if wrong != "A" else "C", ["0|1", "0|0", "0|0"])])
    with pytest.raises(InputError, match=f"chr1:50: REF '{wrong}' != FASTA"):
        build_haplotypes(mism, fa, "chr1", 1, 200, ref_n="skip")


def test_ref_n_skip_whole_ref_span_past_the_window(tmp_path):
    """The span checked is the record's whole REF in the FASTA, not its part inside the window."""
    fa, seq = _n_genome(tmp_path)
    # window 101-138 ends inside the N run (121-144); both REFs reach the real base 145 past the
    # window end: 137's differs from it (kept, trimmed to N N at the window end, which bcftools
    # applies), 138's equals it (skipped)
    recs = [(137, "N" * 8 + _other(seq[144]), "G", ["1|0"]), (138, "N" * 7 + seq[144].upper(), "T", ["0|1"])]
    vcf = _write_vcf(tmp_path / "w.vcf", "chr1", len(seq), ["A"], recs)
    haps = build_haplotypes(vcf, fa, "chr1", 101, 138, ref_n="skip")
    assert haps.n_ref_n_skipped == 1 and haps.variants["pos"].tolist() == [137]
    oracle, dropped = _drop_all_n_records(vcf, fa, tmp_path / "oracle.vcf")
    assert dropped == 1
    _assert_same_as_bcftools(vcf, fa, "chr1:101-138", ["A"], haps, tmp_path, oracle_vcf=oracle)


@pytest.mark.realdata
def test_realdata_chr22_ref_n_skip_matches_bcftools_on_filtered_vcf(tmp_path):
    """The real 1000G VCF (contig '22') lies partly where the partial hg19 chr22 FASTA is N: the
    default stops at the first such record, 'skip' equals bcftools consensus on the VCF without
    the records whose REF span is all N (filtered and renamed '22' -> 'chr22' by the oracle)."""
    vcf = REALDATA / "variants" / "1000G_phase1_5samples_chr22.vcf.gz"
    fasta = REALDATA / "genome" / "hg19_chr22_partial.fa.gz"
    assert vcf.exists() and fasta.exists(), "../shared/realdata missing"
    region = "chr22:50300001-50500000"
    with pytest.raises(InputError) as err:
        build_haplotypes(vcf, fasta, *parse_region(region))
    assert str(err.value) == f"{vcf}: 22:50300078: REF 'A' != FASTA 'N'"
    oracle, dropped = _drop_all_n_records(vcf, fasta, tmp_path / "filtered.vcf", rename={"22": "chr22"})
    with pysam.VariantFile(str(vcf)) as vf:  # records starting in the window, and those on N
        fa = pysam.FastaFile(str(fasta))
        in_win = [r for r in vf.fetch("22", 50300000, 50500000) if r.pos >= 50300001]
        spans = [(fa.fetch("chr22", r.pos - 1, r.pos - 1 + len(r.ref)).upper(), r.ref.upper()) for r in in_win]
        on_n = sum("N" in f and all(a == "N" or a == b for a, b in zip(f, r)) for f, r in spans)
    with HaplotypeBuilder(vcf, fasta, ref_n="skip") as builder:
        haps = builder.build(*parse_region(region))
    assert 0 < on_n < len(in_win) and dropped > on_n
    assert haps.n_ref_n_skipped == on_n == builder.n_ref_n_skipped
    assert len(haps.variants) == len(in_win) - on_n
    assert haps.n_unique > 1 and haps.variants["is_indel"].any()
    _assert_same_as_bcftools(vcf, fasta, region, haps.samples, haps, tmp_path, oracle_vcf=oracle)
