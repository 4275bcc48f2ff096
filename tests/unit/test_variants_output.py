"""seq2func.variants.output: scores per input record (TSV = Parquet), the scored VCF (pysam,
bcftools and tabix read it), the summary; nothing published on failure."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from seq2func.variants import check_ref, info_ids, read_variants, write_summary, write_table, write_vcf
from seq2func.variants.output import RECORD_TABLE_COLUMNS
from tests.unit.test_variants_records import base, mixed_rows, other, write_fasta
from tests.unit.test_variants_records import write_vcf as make_vcf

pytest.importorskip("pyarrow")
needs_bcftools = pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools not installed")
TRACKS = ["trackA", "K562-DNase"]
SCORES = ["SAD", "logSAD", "D2", "pvalue_SAD"]


def fake_scores(vs, tracks=TRACKS, nan_key: str | None = None) -> pd.DataFrame:
    """One row per unique key and track; values from a hash of both (signed, of various sizes)."""
    rows = []
    for key, flipped in zip(vs.variants["key"], vs.variants["flipped"]):
        for t in tracks:
            h = zlib.crc32(f"{key}|{t}".encode())
            sad = ((h % 20001) - 10000) / 3.7e3 * 10 ** ((h >> 16) % 5 - 3)
            rows.append({"key": key, "track_id": t, "SAD": sad, "logSAD": math.copysign(math.log1p(abs(sad)), sad),
                         "D2": abs(sad) * 1.5, "pvalue_SAD": ((h >> 8) % 1000 + 1) / 1001, "flipped": flipped})
    df = pd.DataFrame(rows)
    if nan_key is not None:
        df.loc[(df["key"] == nan_key) & (df["track_id"] == tracks[0]), "SAD"] = np.nan
    return df


def rows_with_skips() -> list[tuple]:
    """mixed_rows (a multi-allelic, 22 and chr22) unsorted, plus a symbolic ALT next to a real one, a
    record on N and one on a contig absent from the FASTA."""
    rows = mixed_rows()
    b = base("chr1", 15)
    return [rows[4], rows[0], ("chr1", 15, "sym", b, f"<DEL>,{other(b)}"), rows[2], rows[1], rows[5],
            ("chr1", 510, "onN", "A", "C"), rows[3], ("chrUn", 3, "un", "A", "G")]


@pytest.fixture(scope="module")
def fasta(tmp_path_factory) -> Path:
    return write_fasta(tmp_path_factory.mktemp("genome") / "genome.fa", lower_from=700)


def nulls(df: pd.DataFrame) -> pd.DataFrame:
    """Every missing value as None, every column object: NaN (TSV) and None (Parquet) compare."""
    return df.astype(object).where(df.notna(), None)


@pytest.fixture
def scored(tmp_path, fasta):
    vcf = make_vcf(tmp_path / "in.vcf.gz", rows_with_skips(), "bgzip_noindex")  # unsorted: no index
    vs = check_ref(read_variants(vcf, fasta), fasta, "skip")
    return vcf, vs, fake_scores(vs)


# --------------------------------------------------------------------------------------------
# TSV / Parquet
# --------------------------------------------------------------------------------------------
def test_table_tsv_equals_parquet(tmp_path, scored):
    _, vs, scores = scored
    out = write_table(scores, vs, tmp_path / "o" / "scores.tsv", tmp_path / "o" / "scores.parquet")
    assert list(out.columns) == list(RECORD_TABLE_COLUMNS) + ["track_id"] + SCORES
    assert len(out) == len(vs.records) * len(TRACKS)
    pq = pd.read_parquet(tmp_path / "o" / "scores.parquet")
    tsv = pd.read_csv(tmp_path / "o" / "scores.tsv", sep="\t", dtype={"input_id": str, "input_chrom": str})
    assert list(tsv.columns) == list(pq.columns)
    pd.testing.assert_frame_equal(nulls(tsv), nulls(pq))
    pd.testing.assert_frame_equal(nulls(pq), nulls(out))
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["scores.parquet", "scores.tsv"]  # no temporaries

    # every record x ALT appears once per track; duplicates (22 / chr22) carry the same scores
    k22 = vs.variants.loc[vs.variants["chrom"] == "chr22", "key"].iloc[0]
    dup = pq[(pq["key"] == k22) & (pq["track_id"] == "trackA")]
    assert sorted(dup["input_chrom"]) == ["22", "chr22"] and dup["SAD"].nunique() == 1
    # a skipped ALT: NA scores and its reason; the other ALT of its record scored
    sym = pq[(pq["input_id"] == "sym") & (pq["track_id"] == "trackA")].sort_values("alt_index")
    assert list(sym["skip_reason"].fillna("")) == ["symbolic", ""]
    assert pd.isna(sym["SAD"].iloc[0]) and not pd.isna(sym["SAD"].iloc[1])
    assert pq.loc[pq["input_id"] == "onN", "skip_reason"].eq("ref_on_n").all()
    # values equal the scores table
    m = pq.dropna(subset=["key"]).merge(scores, on=["key", "track_id"], suffixes=("", "_s"))
    assert np.allclose(m["SAD"], m["SAD_s"]) and len(m) == pq["key"].notna().sum()


def test_table_failure_publishes_nothing(tmp_path, scored, monkeypatch):
    _, vs, scores = scored

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(OSError):
        write_table(scores, vs, tmp_path / "o" / "scores.tsv", tmp_path / "o" / "scores.parquet")
    assert list((tmp_path / "o").iterdir()) == []


def test_table_rejects_foreign_keys(tmp_path, scored):
    _, vs, scores = scored
    bad = pd.concat([scores, scores.iloc[:1].assign(key="chr1:1:A:C")])
    with pytest.raises(ValueError, match="not among the variants"):
        write_table(bad, vs, tmp_path / "s.tsv", tmp_path / "s.parquet")
    with pytest.raises(ValueError, match="more than once"):
        write_table(pd.concat([scores, scores.iloc[:1]]), vs, tmp_path / "s.tsv", tmp_path / "s.parquet")


# --------------------------------------------------------------------------------------------
# VCF
# --------------------------------------------------------------------------------------------
def expected_per_alt(vs, scores, record_index: int, score: str, track: str) -> list[float | None]:
    rec = vs.records[vs.records["record_index"] == record_index].sort_values("alt_index")
    s = scores[scores["track_id"] == track].set_index("key")[score]
    return [None if pd.isna(k) or pd.isna(s.get(k, np.nan)) else float(s[k]) for k in rec["key"]]


def test_info_ids():
    ids = info_ids(["SAD", "logSAD"], ["trackA", "K562-DNase", "K562_DNase", "7.x"])
    assert list(ids) == ["SAD_trackA", "logSAD_trackA", "SAD_K562_DNase", "logSAD_K562_DNase",
                         "SAD_K562_DNase_2", "logSAD_K562_DNase_2", "SAD_7.x", "logSAD_7.x"]
    assert ids["SAD_K562_DNase"] == ("SAD", "K562-DNase") and ids["SAD_K562_DNase_2"] == ("SAD", "K562_DNase")
    assert list(info_ids(["1st"], ["t"])) == ["_1st_t"]


def test_vcf_from_vcf_input(tmp_path, scored, capfd):
    vcf, vs, scores = scored
    kA = vs.variants["key"].iloc[0]
    scores = fake_scores(vs, nan_key=kA)
    out = tmp_path / "res" / "scored.vcf.gz"
    ids = write_vcf(scores, vs, vcf, out)
    assert len(ids) == len(SCORES) * len(TRACKS)
    assert (tmp_path / "res" / "scored.vcf.gz.tbi").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["scored.vcf.gz", "scored.vcf.gz.tbi"]

    with pysam.VariantFile(str(out)) as vf:
        hdr = vf.header
        assert "SAD_K562_DNase" in hdr.info and hdr.info["SAD_K562_DNase"].number == "A"
        assert "K562-DNase" in hdr.info["SAD_K562_DNase"].description
        assert "INFO ID SAD_K562_DNase stands for SAD_K562-DNase" in hdr.info["SAD_K562_DNase"].description
        assert "DP" in hdr.info and len(hdr.samples) == 0
        recs = list(vf)
    assert len(recs) == vs.counts["records"]
    # sorted as tabix needs: chr1, then 22/chr22 in two blocks, then the unknown contig
    chroms = [r.chrom for r in recs]
    assert chroms[:6] == ["chr1"] * 6 and set(chroms[6:8]) == {"22", "chr22"} and chroms[-1] == "chrUn"
    assert [r.pos for r in recs[:6]] == sorted(r.pos for r in recs[:6])
    by_id = {r.id: r for r in recs}
    rec_index = {i: int(n) for i, n in vs.records.groupby("input_id")["record_index"].first().items()}
    checked = 0
    for vid, r in by_id.items():
        assert "DP" in r.info  # the input INFO is kept
        for iid, (s, t) in ids.items():
            want = expected_per_alt(vs, scores, rec_index[vid], s, t)
            if all(w is None for w in want):
                assert iid not in r.info
                continue
            got = r.info[iid]
            assert len(got) == len(r.alts) == len(want)
            for g, w in zip(got, want):
                if w is None:
                    assert g is None
                else:
                    assert g == pytest.approx(w, rel=1e-5, abs=1e-30)
                    checked += 1
    assert checked > 0
    assert by_id["sym"].info["SAD_trackA"][0] is None and by_id["sym"].info["SAD_trackA"][1] is not None
    assert "SAD_trackA" not in by_id["onN"].info and "SAD_trackA" not in by_id["un"].info
    # the variant whose SAD is NaN for trackA: '.' there, its other scores present
    nan_rec = vs.records.loc[vs.records["key"] == kA, "input_id"].iloc[0]
    assert "SAD_trackA" not in by_id[nan_rec].info and "logSAD_trackA" in by_id[nan_rec].info
    err = capfd.readouterr().err
    assert "[W::" not in err and "[E::" not in err


@needs_bcftools
def test_vcf_bcftools_query_and_tabix(tmp_path, scored):
    vcf, vs, scores = scored
    out = tmp_path / "scored.vcf.gz"
    write_vcf(scores, vs, vcf, out, scores=["SAD"], tracks=["trackA"])
    q = subprocess.run(["bcftools", "query", "-f", r"%CHROM\t%POS\t%ID\t%INFO/SAD_trackA\n", str(out)],
                       check=True, capture_output=True, text=True)
    assert q.stderr == ""
    rec_index = {i: int(n) for i, n in vs.records.groupby("input_id")["record_index"].first().items()}
    lines = q.stdout.splitlines()
    assert len(lines) == vs.counts["records"]
    for line in lines:
        _, _, vid, val = line.split("\t")
        want = expected_per_alt(vs, scores, rec_index[vid], "SAD", "trackA")
        if all(w is None for w in want):
            assert val == "."
        else:
            got = val.split(",")
            assert len(got) == len(want)
            for g, w in zip(got, want):
                assert (g == ".") if w is None else float(g) == pytest.approx(w, rel=1e-5, abs=1e-30)
    head = subprocess.run(["bcftools", "view", "-h", str(out)], check=True, capture_output=True, text=True).stdout
    assert "##INFO=<ID=SAD_trackA,Number=A,Type=Float" in head and "##INFO=<ID=logSAD_trackA" not in head
    # the index answers region queries
    t = subprocess.run(["tabix", str(out), "chr1:1-1000"], check=True, capture_output=True, text=True)
    assert len(t.stdout.splitlines()) == 6 and t.stderr == ""
    t = subprocess.run(["tabix", str(out), "chr1:30-45"], check=True, capture_output=True, text=True)
    assert [line.split("\t")[1] for line in t.stdout.splitlines()] == ["40"]
    assert len(subprocess.run(["tabix", str(out), "22"], check=True, capture_output=True, text=True).stdout.splitlines()) == 1
    with pysam.TabixFile(str(out)) as tb:
        assert set(tb.contigs) == {"chr1", "22", "chr22", "chrUn"}


@needs_bcftools
def test_vcf_from_bcf_input(tmp_path, fasta):
    bcf = make_vcf(tmp_path / "in.bcf", rows_with_skips(), "bcf_noindex")  # unsorted: no index
    vs = check_ref(read_variants(bcf, fasta), fasta, "skip")
    scores = fake_scores(vs)
    out = tmp_path / "scored.vcf.gz"
    write_vcf(scores, vs, bcf, out, tracks=["trackA"])
    with pysam.VariantFile(str(out)) as vf:
        recs = list(vf)
    assert len(recs) == vs.counts["records"]
    assert all("DP" in r.info for r in recs)
    assert sum("SAD_trackA" in r.info for r in recs) == 7  # 9 records: onN and chrUn unscored


def test_vcf_rereads_input_info_ids(tmp_path, scored):
    """Scoring the scored VCF again replaces our INFO fields instead of doubling them."""
    vcf, vs, scores = scored
    first = tmp_path / "first.vcf.gz"
    write_vcf(scores, vs, vcf, first)
    vs2 = read_variants(first, vs.fasta)
    second = tmp_path / "second.vcf.gz"
    write_vcf(fake_scores(vs2), vs2, first, second)
    with pysam.VariantFile(str(second)) as vf:
        assert list(vf.header.info).count("SAD_trackA") == 1
        recs = list(vf)
    n = [len(re.findall(r"(?:\t|;)SAD_trackA=", str(r))) for r in recs]
    assert n == [int("SAD_trackA" in r.info) for r in recs] and sum(n) == 8  # vs2 unchecked: onN scored


def test_vcf_from_tsv_input(tmp_path, fasta):
    def b(p: int, n: int = 1) -> str:
        return base("chr1", p, n)

    tsv = tmp_path / "mpra.tsv"
    tsv.write_text("chrom\tpos\tref\talt\tid\n"
                   f"chr1\t101\t-\tT\tins\n"
                   f"1\t121\t{b(121)}\t-\tdel\n"
                   f"chr1\t1\t-\tT\tins1\n"
                   f"chr1\t50\t{b(50)}\t{other(b(50))},-\tmulti\n"
                   f"22\t40\t{base('chr22', 40)}\t{other(base('chr22', 40))}\tsnv22\n"
                   f"chrUn\t7\tA\t-\tun\n")
    vs = check_ref(read_variants(tsv, fasta), fasta)
    scores = fake_scores(vs)
    out = tmp_path / "scored.vcf.gz"
    ids = write_vcf(scores, vs, None, out)
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.header.contigs) == ["chr1", "chr22", "chrUn"]
        assert vf.header.contigs["chr1"].length == 1000
        recs = {r.id: r for r in vf}
    assert (recs["ins"].chrom, recs["ins"].pos, recs["ins"].ref, recs["ins"].alts) == ("chr1", 100, b(100), (b(100) + "T",))
    assert (recs["del"].chrom, recs["del"].pos, recs["del"].ref, recs["del"].alts) == ("chr1", 120, b(120, 2), (b(120),))
    assert (recs["ins1"].pos, recs["ins1"].ref, recs["ins1"].alts) == (1, b(1), ("T" + b(1),))
    # an ALT list mixing an SNV and a deletion: anchored together
    assert (recs["multi"].pos, recs["multi"].ref, recs["multi"].alts) == (49, b(49, 2), (b(49) + other(b(50)), b(49)))
    assert recs["snv22"].chrom == "chr22"
    assert (recs["un"].chrom, recs["un"].ref, recs["un"].alts) == ("chrUn", "NA", ("N",))
    rec_index = {i: int(n) for i, n in vs.records.groupby("input_id")["record_index"].first().items()}
    for vid, r in recs.items():
        for iid, (s, t) in ids.items():
            want = expected_per_alt(vs, scores, rec_index[vid], s, t)
            if any(w is not None for w in want):
                assert r.info[iid] == pytest.approx(want, rel=1e-5)
    # the same records written from the TSV as minimal VCF and read back give the same keys
    again = read_variants(out, fasta)
    assert set(again.variants["key"]) == set(vs.variants["key"])


def test_vcf_failure_publishes_nothing(tmp_path, scored, monkeypatch):
    vcf, vs, scores = scored
    out = tmp_path / "o" / "scored.vcf.gz"
    write_vcf(scores, vs, vcf, out)  # an older output, left as it is by a failed run
    before = out.read_bytes()

    def boom(*a, **k):
        raise OSError("no space left")

    monkeypatch.setattr(pysam, "tabix_index", boom)
    with pytest.raises(OSError):
        write_vcf(scores, vs, vcf, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["scored.vcf.gz", "scored.vcf.gz.tbi"]


def test_vcf_rejects_unknown_score_or_track(tmp_path, scored):
    vcf, vs, scores = scored
    with pytest.raises(ValueError, match="not in the scores table"):
        write_vcf(scores, vs, vcf, tmp_path / "x.vcf.gz", scores=["SAX"])
    with pytest.raises(ValueError, match="not in the scores table"):
        write_vcf(scores, vs, vcf, tmp_path / "x.vcf.gz", tracks=["nope"])
    assert not (tmp_path / "x.vcf.gz").exists()


def test_empty_outputs(tmp_path, fasta):
    vs = read_variants(make_vcf(tmp_path / "e.vcf", []), fasta)
    scores = pd.DataFrame({"key": pd.Series([], dtype=object), "track_id": pd.Series([], dtype=object),
                           "SAD": pd.Series([], dtype=float)})
    write_table(scores, vs, tmp_path / "s.tsv", tmp_path / "s.parquet")
    assert len(pd.read_parquet(tmp_path / "s.parquet")) == 0
    write_vcf(scores, vs, tmp_path / "e.vcf", tmp_path / "e.out.vcf.gz")
    with pysam.VariantFile(str(tmp_path / "e.out.vcf.gz")) as vf:
        assert list(vf) == []


def test_summary(tmp_path, scored):
    _, vs, _ = scored
    p = write_summary(tmp_path / "summary.json", **vs.counts, tracks=np.int64(2), mean=float("nan"))
    got = json.loads(Path(p).read_text())
    assert got["records"] == 9 and got["ref_on_n"] == 1 and got["unknown_contig"] == 1
    assert got["symbolic"] == 1 and got["tracks"] == 2 and got["mean"] is None


def test_scores_attrs_do_not_reach_parquet(tmp_path, scored):
    """The scoring hangs counts (numpy integers) on ``scores.attrs``: not written as metadata."""
    _, vs, scores = scored
    scores.attrs["counts"] = {"windows": np.int64(3)}
    write_table(scores, vs, tmp_path / "s.tsv", tmp_path / "s.parquet")
    assert pd.read_parquet(tmp_path / "s.parquet").attrs == {}


@pytest.mark.realdata
@needs_bcftools
def test_realdata_scored_vcf(shared, tmp_path, capfd):
    """1000 Genomes chr22 (contig '22', 5 samples) against the partial hg19 chr22: every record
    written back (sites only), scores on the records whose REF lies on real bases."""
    root = shared / "realdata" / "hg19_chr22"
    vcf = root / "variants" / "1000G_phase1_5samples_chr22.vcf.gz"
    fa = root / "genome" / "hg19_chr22_partial.fa.gz"
    vs = check_ref(read_variants(vcf, fa), fa, "skip")
    scores = fake_scores(vs, tracks=["GM12878-STAT1"])
    out = tmp_path / "scored.vcf.gz"
    ids = write_vcf(scores, vs, vcf, out, scores=["SAD", "D2"])
    assert list(ids) == ["SAD_GM12878_STAT1", "D2_GM12878_STAT1"]
    table = write_table(scores, vs, tmp_path / "s.tsv", tmp_path / "s.parquet")
    assert len(table) == len(vs.records)
    q = subprocess.run(["bcftools", "query", "-f", r"%CHROM\t%POS\t%REF\t%ALT\t%INFO/SAD_GM12878_STAT1\n", str(out)],
                       check=True, capture_output=True, text=True)
    lines = [line.split("\t") for line in q.stdout.splitlines()]
    assert len(lines) == vs.counts["records"] == 10376
    assert all(f[0] == "22" for f in lines)  # the input's spelling kept
    scored_records = vs.records.groupby("record_index")["key"].apply(lambda k: k.notna().any()).sum()
    assert sum(f[4] != "." for f in lines) == scored_records
    # values: the first scored record of the table against the VCF
    first = table.dropna(subset=["SAD"]).iloc[0]
    hit = [f for f in lines if f[1] == str(first["input_pos"]) and f[2] == first["input_ref"]][0]
    assert float(hit[4].split(",")[first["alt_index"] - 1]) == pytest.approx(first["SAD"], rel=1e-5)
    with pysam.VariantFile(str(out)) as vf:
        assert len(vf.header.samples) == 0
    n_in = len(subprocess.run(["tabix", str(vcf), "22:50500000-50600000"], check=True, capture_output=True,
                              text=True).stdout.splitlines())
    n_out = len(subprocess.run(["tabix", str(out), "22:50500000-50600000"], check=True, capture_output=True,
                               text=True).stdout.splitlines())
    assert n_out == n_in > 0
    err = capfd.readouterr().err
    assert "[W::" not in err and "[E::" not in err
