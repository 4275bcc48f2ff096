"""seq2func.variants.records: variants from VCF / BCF / TSV, split, normalised, deduplicated, REF
checked against the FASTA."""

from __future__ import annotations

import gzip
import logging
import random
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pysam
import pytest

from seq2func.errors import InputError
from seq2func.variants import COUNT_KEYS, check_ref, read_variants
from seq2func.variants.records import _Genome, normalise

# --------------------------------------------------------------------------------------------
# a small genome: chr1 (1000 bp; an A homopolymer at 301-306, N at 501-520), chr22 (600 bp)
# --------------------------------------------------------------------------------------------
_rng = random.Random(7)
CHR1 = list("".join(_rng.choice("ACGT") for _ in range(1000)))
CHR1[299] = "C"
CHR1[300:306] = "AAAAAA"
CHR1[306] = "G"
CHR1[500:520] = "N" * 20
CHR1 = "".join(CHR1)
CHR22 = "".join(_rng.choice("ACGT") for _ in range(600))
GENOME = {"chr1": CHR1, "chr22": CHR22}


def base(chrom: str, pos: int, n: int = 1) -> str:
    """Reference bases at 1-based ``pos``."""
    return GENOME[chrom][pos - 1 : pos - 1 + n]


def other(b: str) -> str:
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[b]


def write_fasta(path: Path, lower_from: int | None = None) -> Path:
    with open(path, "w") as fh:
        for name, seq in GENOME.items():
            if lower_from is not None and name == "chr1":
                seq = seq[:lower_from] + seq[lower_from:].lower()  # soft-masked: case must not matter
            fh.write(f">{name}\n")
            fh.writelines(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60))
    pysam.faidx(str(path))
    return path


@pytest.fixture(scope="module")
def fasta(tmp_path_factory) -> Path:
    return write_fasta(tmp_path_factory.mktemp("genome") / "genome.fa", lower_from=700)


VCF_HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr1,length=1000>\n##contig=<ID=chr22,length=600>\n##contig=<ID=22,length=600>\n"
    "##contig=<ID=chrUn>\n"
    '##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)


def vcf_text(rows: list[tuple]) -> str:
    """VCF from ``(chrom, pos, id, ref, alt)`` rows (INFO DP=n)."""
    body = "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t50\tPASS\tDP={n + 10}\n" for n, (c, p, i, r, a) in enumerate(rows))
    return VCF_HEADER + body


def write_vcf(path: Path, rows: list[tuple], kind: str = "plain") -> Path:
    """``kind``: plain, bgzip (+ tabix), bgzip_noindex, bcf (+ csi via bcftools), bcf_noindex."""
    plain = path.with_suffix("") if kind != "plain" else path
    plain.write_text(vcf_text(rows))
    if kind == "plain":
        return plain
    if kind.startswith("bcf"):
        subprocess.run(["bcftools", "view", "-Ob", "-o", str(path), str(plain)], check=True, capture_output=True)
        if kind == "bcf":
            subprocess.run(["bcftools", "index", str(path)], check=True, capture_output=True)
        return path
    pysam.tabix_compress(str(plain), str(path), force=True)
    if kind == "bgzip":
        pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


needs_bcftools = pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")


def snv(pos: int, chrom: str = "chr1", vid: str = ".") -> tuple:
    b = base(chrom, pos)
    return (chrom, pos, vid, b, other(b))


# a mixed set: SNV, multi-allelic, insertion, deletion, duplicated via 22/chr22
def mixed_rows() -> list[tuple]:
    return [
        snv(10, vid="rs10"),
        ("chr1", 20, "multi", base("chr1", 20), f"{other(base('chr1', 20))},{other(other(base('chr1', 20)))}"),
        ("chr1", 40, "ins", base("chr1", 40), base("chr1", 40) + other(base("chr1", 40)) * 2),
        ("chr1", 60, "del", base("chr1", 60, 3), base("chr1", 60)),
        snv(100, "chr22", "a22"),
        ("22", 100, "b22", base("chr22", 100), other(base("chr22", 100))),
    ]


# --------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------
def test_normalise_trims_and_left_aligns(fasta):
    g = _Genome(fasta)
    try:
        # A inserted after the homopolymer end (306) moves to the base before it (300, C)
        assert normalise(g, "chr1", 306, "A", "AA") == (300, "C", "CA")
        # deletion of one A from the homopolymer, written at its end
        assert normalise(g, "chr1", 305, "AA", "A") == (300, "CA", "C")
        # an SNV with a padding base on each side: trimmed to the SNV
        p = 50
        r = base("chr1", p - 1, 3)
        a = r[0] + other(r[1]) + r[2]
        assert normalise(g, "chr1", p - 1, r, a) == (p, r[1], a[1])
        # beyond the contig, or equal alleles: unchanged
        assert normalise(g, "chr1", 999, "AAA", "A") == (999, "AAA", "A")
        assert normalise(g, "chr1", 50, "AC", "AC") == (50, "AC", "AC")
        # a deletion inside the N run does not slide through it
        assert normalise(g, "chr1", 515, "NN", "N") == (515, "NN", "N")
        # at position 1 the base on the right anchors
        assert normalise(g, "chr1", 1, base("chr1", 1, 2), base("chr1", 2)) == (1, base("chr1", 1, 2), base("chr1", 2))
    finally:
        g.close()


# --------------------------------------------------------------------------------------------
# the four VCF/BCF forms give the same variants
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["plain", "bgzip", "bgzip_noindex", pytest.param("bcf", marks=needs_bcftools),
                                  pytest.param("bcf_noindex", marks=needs_bcftools)])
def test_vcf_forms(tmp_path, fasta, kind, capfd):
    name = {"plain": "v.vcf", "bgzip": "v.vcf.gz", "bgzip_noindex": "v.vcf.gz", "bcf": "v.bcf", "bcf_noindex": "v.bcf"}[kind]
    path = write_vcf(tmp_path / name, mixed_rows(), kind)
    vs = read_variants(path, fasta)
    assert vs.format == ("bcf" if kind.startswith("bcf") else "vcf")
    assert set(vs.counts) == set(COUNT_KEYS)
    c = vs.counts
    assert (c["records"], c["alts"], c["kept"], c["unique"], c["duplicates"]) == (6, 7, 7, 6, 1)
    v = vs.variants
    assert list(v.columns) == ["chrom", "pos", "ref", "alt", "key", "id", "flipped"]
    assert v["key"].is_unique
    assert (v["key"] == v["chrom"] + ":" + v["pos"].astype(str) + ":" + v["ref"] + ":" + v["alt"]).all()
    assert list(v["chrom"]) == ["chr1"] * 5 + ["chr22"]  # FASTA order, then position
    # 22 and chr22: one variant, two records, first ID kept
    k22 = f"chr22:100:{base('chr22', 100)}:{other(base('chr22', 100))}"
    assert v.set_index("key").loc[k22, "id"] == "a22"
    rec = vs.records
    assert list(rec["key"]).count(k22) == 2
    assert list(rec.loc[rec["key"] == k22, "input_chrom"]) == ["chr22", "22"]
    # multi-allelic split: two rows of record 1, ALT index 1 and 2
    m = rec[rec["record_index"] == 1]
    assert list(m["alt_index"]) == [1, 2] and m["key"].notna().all()
    assert list(m["input_alt"]) == [other(base("chr1", 20)), other(other(base("chr1", 20)))]
    # insertion and deletion kept anchored
    ins = v[v["id"] == "ins"].iloc[0]
    assert (ins["pos"], ins["ref"], ins["alt"]) == (40, base("chr1", 40), base("chr1", 40) + other(base("chr1", 40)) * 2)
    dele = v[v["id"] == "del"].iloc[0]
    assert (dele["pos"], dele["ref"], dele["alt"]) == (60, base("chr1", 60, 3), base("chr1", 60))
    assert rec["line"].isna().all() if kind.startswith("bcf") else rec["line"].notna().all()
    assert not v["flipped"].any()
    err = capfd.readouterr().err
    assert "[W::" not in err and "[E::" not in err  # no htslib text


def test_forms_agree(tmp_path, fasta):
    a = read_variants(write_vcf(tmp_path / "a.vcf", mixed_rows()), fasta)
    b = read_variants(write_vcf(tmp_path / "b.vcf.gz", mixed_rows(), "bgzip"), fasta)
    pd.testing.assert_frame_equal(a.variants, b.variants)
    pd.testing.assert_frame_equal(a.records, b.records)
    assert a.counts == b.counts


def test_open_fastafile_accepted(tmp_path, fasta):
    fa = pysam.FastaFile(str(fasta))
    vs = read_variants(write_vcf(tmp_path / "a.vcf", mixed_rows()), fa)
    assert vs.counts["unique"] == 6
    assert fa.fetch("chr1", 0, 3)  # still open: not ours to close
    fa.close()


# --------------------------------------------------------------------------------------------
# TSV with '-' alleles == hand-written VCF normalised by bcftools
# --------------------------------------------------------------------------------------------
def tsv_and_vcf() -> tuple[str, list[tuple]]:
    """TSV rows with '-' alleles and the equivalent hand-written anchored VCF rows."""
    def b(p: int, n: int = 1) -> str:
        return base("chr1", p, n)

    tsv = [
        ("chr1", 101, "-", "T", "ins101"),  # T inserted after 100
        ("chr1", 121, b(121), "-", "del121"),  # 121 deleted
        ("chr1", 141, b(141, 2), "-", "del141"),  # 141-142 deleted
        ("chr1", 1, "-", "T", "ins1"),  # before the first base
        ("chr1", 1, b(1), "-", "del1"),  # the first base deleted
        ("chr1", 307, "-", "A", "ins_hp"),  # A inserted after the homopolymer: left-aligned to 300
        ("chr1", 160, b(160), other(b(160)), "snv160"),
        ("chr22", 50, base("chr22", 50).lower(), other(base("chr22", 50)).lower(), "lower"),
    ]
    vcf = [
        ("chr1", 100, "ins101", b(100), b(100) + "T"),
        ("chr1", 120, "del121", b(120, 2), b(120)),
        ("chr1", 140, "del141", b(140, 3), b(140)),
        ("chr1", 1, "ins1", b(1), "T" + b(1)),
        ("chr1", 1, "del1", b(1, 2), b(2)),
        ("chr1", 306, "ins_hp", "A", "AA"),
        ("chr1", 160, "snv160", b(160), other(b(160))),
        ("chr22", 50, "lower", base("chr22", 50), other(base("chr22", 50))),
    ]
    text = "chrom\tpos\tref\talt\tid\n" + "".join(f"{c}\t{p}\t{r}\t{a}\t{i}\n" for c, p, r, a, i in tsv)
    return text, vcf


@needs_bcftools
def test_tsv_dash_alleles_equal_bcftools_norm(tmp_path, fasta):
    text, vcf_rows = tsv_and_vcf()
    tsv = tmp_path / "variants.tsv"
    tsv.write_text(text)
    vs_tsv = read_variants(tsv, fasta)
    assert vs_tsv.format == "tsv"
    vcf = write_vcf(tmp_path / "hand.vcf", vcf_rows)
    normed = subprocess.run(["bcftools", "norm", "-f", str(fasta), str(vcf)], check=True, capture_output=True,
                            text=True).stdout
    oracle = {}
    for line in normed.splitlines():
        if not line.startswith("#"):
            f = line.split("\t")
            oracle[f[2]] = f"{'chr1' if f[0] == 'chr1' else f[0]}:{f[1]}:{f[3]}:{f[4]}"
    got = dict(zip(vs_tsv.variants["id"], vs_tsv.variants["key"]))
    assert got == oracle
    # the left-aligned insertion: anchored on the C before the homopolymer
    assert got["ins_hp"] == "chr1:300:C:CA"
    assert got["ins1"] == f"chr1:1:{base('chr1', 1)}:T{base('chr1', 1)}"
    # the hand-written VCF, read by us, gives the same keys
    vs_vcf = read_variants(vcf, fasta)
    assert dict(zip(vs_vcf.variants["id"], vs_vcf.variants["key"])) == oracle
    # records keep the TSV's own notation
    r = vs_tsv.records.set_index("input_id")
    assert (r.loc["ins101", "input_pos"], r.loc["ins101", "input_ref"], r.loc["ins101", "input_alt"]) == (101, "-", "T")
    assert r.loc["ins101", "line"] == 2
    # and pass check_ref
    assert check_ref(vs_tsv, fasta).counts["unique"] == len(vcf_rows)


def test_tsv_and_vcf_notations_deduplicate(tmp_path, fasta):
    """A TSV deletion and the same deletion written as an unnormalised VCF-style TSV row are one."""
    tsv = tmp_path / "v.tsv.gz"
    def b(p: int, n: int = 1) -> str:
        return base("chr1", p, n)

    rows = [("chr1", 121, b(121), "-"), ("1", 120, b(120, 2), b(120)), ("chr1", 119, b(119, 3), b(119, 2))]
    with gzip.open(tsv, "wt") as fh:
        fh.write("#CHROM\tPOS\tREF\tALT\textra\n" + "".join(f"{c}\t{p}\t{r}\t{a}\tx\n" for c, p, r, a in rows))
    vs = read_variants(tsv, fasta)
    assert vs.counts["unique"] == 1 and vs.counts["duplicates"] == 2
    assert vs.variants["key"].tolist() == [f"chr1:120:{b(120, 2)}:{b(120)}"]
    assert vs.variants["id"].tolist() == ["."]
    assert vs.aliases == {"chr1": "chr1", "1": "chr1"}


@pytest.mark.parametrize("text, where, words", [
    ("chr\tposition\n1\t2\n", "line 1", "neither a VCF/BCF"),
    ("chrom\tpos\tref\talt\nchr1\tx\tA\tC\n", "line 2", "not a 1-based position"),
    ("chrom\tpos\tref\talt\nchr1\t5\tA\n", "line 2", "column(s)"),
    ("chrom\tpos\tref\talt\nchr1\t5\t-\t-\n", "line 2", "both empty"),
    ("chrom\tpos\tref\talt\nchr1\t5\tA\t\n", "line 2", "write '-'"),
    ("", None, "empty file"),
])
def test_tsv_errors(tmp_path, fasta, text, where, words):
    p = tmp_path / "bad.tsv"
    p.write_text(text)
    with pytest.raises(InputError) as e:
        read_variants(p, fasta, display="variants.tsv")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("variants.tsv: ") and words in msg
    if where:
        assert f": {where}: " in msg


# --------------------------------------------------------------------------------------------
# skipped ALTs and contigs
# --------------------------------------------------------------------------------------------
def test_symbolic_star_missing_counted(tmp_path, fasta, caplog):
    b10 = base("chr1", 10)
    rows = [
        ("chr1", 10, "sym", b10, "<DEL>"),
        ("chr1", 11, "gvcf", base("chr1", 11), f"{other(base('chr1', 11))},<*>"),
        ("chr1", 12, "star", base("chr1", 12), f"*,{other(base('chr1', 12))}"),
        ("chr1", 13, "none", base("chr1", 13), "."),
        ("chr1", 14, "bnd", base("chr1", 14), base("chr1", 14) + "[chr22:5["),
        ("chr1", 15, "iupac", base("chr1", 15), "R"),
        ("chr1", 16, "same", base("chr1", 16), base("chr1", 16)),
    ]
    with caplog.at_level(logging.INFO, logger="seq2func.variants.records"):
        vs = read_variants(write_vcf(tmp_path / "s.vcf", rows), fasta)
    c = vs.counts
    assert (c["records"], c["alts"], c["kept"]) == (7, 9, 2)
    assert (c["symbolic"], c["star"], c["missing_alt"], c["invalid_allele"], c["same_as_ref"]) == (3, 1, 1, 1, 1)
    rec = vs.records
    assert rec["skip_reason"].notna().sum() == 7 and rec.loc[rec["skip_reason"].notna(), "key"].isna().all()
    assert list(rec.loc[rec["record_index"] == 1, "skip_reason"].fillna("")) == ["", "symbolic"]
    msgs = [r.getMessage() for r in caplog.records if "skipped:" in r.getMessage()]
    assert len(msgs) == 1 and "symbolic 3" in msgs[0] and "star 1" in msgs[0]


def test_unknown_contig_skipped_with_warning(tmp_path, fasta, caplog):
    rows = mixed_rows() + [("chrUn", 5, ".", "A", "C"), ("chrUn", 6, ".", "A", "C,G")]
    with caplog.at_level(logging.WARNING):
        vs = read_variants(write_vcf(tmp_path / "u.vcf", rows), fasta)
    assert vs.counts["unknown_contig"] == 3
    assert vs.counts["unique"] == 6
    assert vs.records.loc[vs.records["input_chrom"] == "chrUn", "chrom"].isna().all()
    assert any("absent from the FASTA" in r.getMessage() and "chrUn" in r.getMessage() for r in caplog.records)


def test_all_contigs_unknown_is_one_line(tmp_path, fasta):
    with pytest.raises(InputError) as e:
        read_variants(write_vcf(tmp_path / "u.vcf", [("chrX", 5, ".", "A", "C"), ("7", 5, ".", "A", "C")]), fasta)
    msg = str(e.value)
    assert "\n" not in msg and "u.vcf" in msg and "chrX, 7" in msg and "no contig" in msg


def test_gzip_not_bgzip_vcf_is_one_line(tmp_path, fasta):
    p = tmp_path / "v.vcf.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(vcf_text(mixed_rows()))
    with pytest.raises(InputError) as e:
        read_variants(p, fasta)
    assert "bgzip" in str(e.value) and "\n" not in str(e.value)


def test_empty_vcf(tmp_path, fasta):
    vs = read_variants(write_vcf(tmp_path / "e.vcf", []), fasta)
    assert vs.counts["records"] == 0 and len(vs.variants) == 0 and len(vs.records) == 0


# --------------------------------------------------------------------------------------------
# REF against the FASTA
# --------------------------------------------------------------------------------------------
def bad_rows() -> list[tuple]:
    b30 = base("chr1", 30)
    return mixed_rows() + [
        ("chr1", 30, "mismatch", other(b30), other(other(b30))),  # neither allele is the FASTA's
        ("chr1", 31, "swapped", other(base("chr1", 31)), base("chr1", 31)),  # ALT is the FASTA's: flippable
        ("chr1", 510, "onN", "A", "C"),  # FASTA N
        ("chr1", 1001, "beyond", "A", "C"),  # beyond chr1's 1000 bp
    ]


def test_check_ref_error_one_line(tmp_path, fasta):
    path = write_vcf(tmp_path / "bad.vcf", bad_rows())
    vs = read_variants(path, fasta)
    with pytest.raises(InputError) as e:
        check_ref(vs, fasta, "error")
    b30 = base("chr1", 30)
    assert str(e.value) == (f"{path}: chr1:30: REF '{other(b30)}' != FASTA '{b30}' "
                            "(wrong genome build or unnormalised input?)")
    assert check_ref(read_variants(write_vcf(tmp_path / "ok.vcf", mixed_rows()), fasta), fasta).counts["ref_mismatch"] == 0


def test_check_ref_error_on_n_and_beyond(tmp_path, fasta):
    vs = read_variants(write_vcf(tmp_path / "n.vcf", [("chr1", 510, ".", "a", "C")]), fasta, display="in.vcf")
    with pytest.raises(InputError) as e:
        check_ref(vs, fasta)
    assert str(e.value).startswith("in.vcf: chr1:510: REF 'A' vs FASTA 'N': FASTA is N there")
    vs = read_variants(write_vcf(tmp_path / "b.vcf", [("chr1", 1000, ".", "AC", "A")]), fasta, display="in.vcf")
    with pytest.raises(InputError, match=r"in.vcf: chr1:1000: REF 'AC' lies beyond the end of chr1 \(1000 bp\)"):
        check_ref(vs, fasta)
    # TSV: the record named with its line
    p = tmp_path / "t.tsv"
    p.write_text(f"chrom\tpos\tref\talt\nchr1\t30\t{other(base('chr1', 30))}\t-\n")
    with pytest.raises(InputError, match=r"t.tsv: line 2 \(chr1:30\): REF"):
        check_ref(read_variants(p, fasta, display="t.tsv"), fasta)


def test_check_ref_skip(tmp_path, fasta):
    vs = read_variants(write_vcf(tmp_path / "bad.vcf", bad_rows()), fasta)
    assert vs.counts["unique"] == 10
    out = check_ref(vs, fasta, "skip")
    c = out.counts
    assert (c["ref_mismatch"], c["ref_on_n"], c["flipped"], c["unique"], c["kept"]) == (3, 1, 0, 6, 7)
    rec = out.records.set_index("input_id")
    assert rec.loc["onN", "skip_reason"] == "ref_on_n" and pd.isna(rec.loc["onN", "key"])
    assert rec.loc["beyond", "skip_reason"] == "ref_mismatch"
    assert set(out.variants["id"]) == {"rs10", "multi", "ins", "del", "a22"}
    assert vs.counts["unique"] == 10  # the input set is not modified


def test_check_ref_flip(tmp_path, fasta):
    vs = read_variants(write_vcf(tmp_path / "bad.vcf", bad_rows()), fasta)
    out = check_ref(vs, fasta, "flip")
    c = out.counts
    assert (c["ref_mismatch"], c["ref_on_n"], c["flipped"], c["unique"]) == (2, 1, 1, 7)
    v = out.variants.set_index("id")
    b31 = base("chr1", 31)
    assert bool(v.loc["swapped", "flipped"]) and v.loc["swapped", "ref"] == b31
    assert v.loc["swapped", "alt"] == other(b31)
    assert v.loc["swapped", "key"] == f"chr1:31:{other(b31)}:{b31}"  # the input's orientation
    assert v["flipped"].sum() == 1
    rec = out.records.set_index("input_id")
    assert bool(rec.loc["swapped", "flipped"]) and rec.loc["swapped", "key"] == v.loc["swapped", "key"]
    assert rec.loc["mismatch", "skip_reason"] == "ref_mismatch"


def test_check_ref_flip_both_orientations(tmp_path, fasta):
    """A>G and G>A at one site (FASTA A): two variants, one flipped, keys distinct."""
    b = base("chr1", 31)
    rows = [("chr1", 31, "fwd", b, other(b)), ("chr1", 31, "rev", other(b), b)]
    out = check_ref(read_variants(write_vcf(tmp_path / "o.vcf", rows), fasta), fasta, "flip")
    v = out.variants.set_index("id")
    assert out.counts["unique"] == 2
    assert (v.loc["fwd", "ref"], v.loc["fwd", "alt"]) == (v.loc["rev", "ref"], v.loc["rev", "alt"])
    assert v.loc["fwd", "key"] != v.loc["rev", "key"]
    assert [bool(v.loc["fwd", "flipped"]), bool(v.loc["rev", "flipped"])] == [False, True]


def test_check_ref_case_insensitive(tmp_path, fasta):
    """chr1 is soft-masked from 701 on; lower-case REFs in the input also match."""
    b = base("chr1", 800)
    rows = [("chr1", 800, ".", b.lower(), other(b)), ("chr1", 801, ".", base("chr1", 801), other(base("chr1", 801)).lower())]
    out = check_ref(read_variants(write_vcf(tmp_path / "c.vcf", rows), fasta), fasta)
    assert out.counts["unique"] == 2 and out.counts["ref_mismatch"] == 0
    assert out.variants["alt"].str.isupper().all() and out.variants["ref"].str.isupper().all()


def test_check_ref_bad_policy(tmp_path, fasta):
    vs = read_variants(write_vcf(tmp_path / "a.vcf", mixed_rows()), fasta)
    with pytest.raises(ValueError):
        check_ref(vs, fasta, "ignore")


# --------------------------------------------------------------------------------------------
# real data: 1000 Genomes chr22 (contig '22') against a partial hg19 chr22 (mostly N)
# --------------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_realdata_1000g_chr22(shared, tmp_path, capfd):
    root = shared / "realdata" / "hg19_chr22"
    vcf = root / "variants" / "1000G_phase1_5samples_chr22.vcf.gz"
    fa_path = root / "genome" / "hg19_chr22_partial.fa.gz"
    if not vcf.exists() or not fa_path.exists():
        pytest.skip("realdata hg19_chr22 absent")
    vs = read_variants(vcf, fa_path)
    assert vs.aliases == {"22": "chr22"}
    assert (vs.variants["chrom"] == "chr22").all()

    # oracle: pysam reads the FASTA per record
    fa = pysam.FastaFile(str(fa_path))
    n_rec, match, on_n, mismatch, first_bad = 0, 0, 0, 0, None
    with pysam.VariantFile(str(vcf)) as vf:
        for r in vf:
            n_rec += 1
            seq = fa.fetch("chr22", r.pos - 1, r.pos - 1 + len(r.ref)).upper()
            ok_alts = [a for a in (r.alts or ()) if a.isalpha()]
            if "N" in seq:
                on_n += len(ok_alts)
                first_bad = first_bad or (r.chrom, r.pos, r.ref)
            elif seq != r.ref.upper():
                mismatch += len(ok_alts)
                first_bad = first_bad or (r.chrom, r.pos, r.ref)
            else:
                match += len(ok_alts)
    fa.close()
    assert vs.counts["records"] == n_rec == 10376

    with pytest.raises(InputError) as e:
        check_ref(vs, fa_path, "error")
    msg = str(e.value)
    assert "\n" not in msg and f"{first_bad[0]}:{first_bad[1]}:" in msg and "FASTA is N there" in msg

    out = check_ref(vs, fa_path, "skip")
    c = out.counts
    assert c["ref_on_n"] == on_n and c["ref_mismatch"] == mismatch
    assert c["kept"] == match and c["kept"] > 0
    assert c["unique"] + c["duplicates"] == c["kept"]
    # every REF kept matches real (non-N) bases
    fa = pysam.FastaFile(str(fa_path))
    for row in out.variants.itertuples():
        seq = fa.fetch(row.chrom, row.pos - 1, row.pos - 1 + len(row.ref)).upper()
        assert seq == row.ref and "N" not in seq
    fa.close()
    print("realdata counts:", {k: v for k, v in c.items() if v})
    err = capfd.readouterr().err
    assert "[W::" not in err and "[E::" not in err
