"""seq2func.variants.benchmark and .baselines: labels, per-cell-type model scores, AUROC/AUPRC
against scikit-learn with a seeded bootstrap, sign consistency, quintile enrichment, MAF bins,
conservation (against pyBigWig on the simulated world), allele frequencies (against
``bcftools query``), the motif-disruption baseline (planted instances of the simulated world,
a brute-force oracle) and the tables/figures written by ``plots``."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from seq2func.errors import InputError
from seq2func.io.fasta import contig_lengths
from seq2func.io.motifs import load_jaspar_subset
from seq2func.variants.baselines import match_threshold, pwm_matrix, pwm_scores, random_scores
from seq2func.variants.benchmark import (
    AUROC_COLUMNS,
    CONSERVATION_COLUMNS,
    ENRICHMENT_COLUMNS,
    MAF_COLUMNS,
    SIGN_COLUMNS,
    _auprc_rows,
    _auroc_rows,
    allele_frequencies,
    benchmark,
    conservation_at,
    conservation_top,
    enrichment_by_quantile,
    heatmap_table,
    maf_bins,
    model_cell_type_scores,
    plots,
    quantile_bins,
    ranking_metrics,
    read_labels,
    sign_consistency,
)

needs_bcftools = pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools (the oracle) not installed")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from seq2func.simulate import simulate_world

    d = tmp_path_factory.mktemp("world")
    simulate_world(d, scale="tiny", seed=1)
    return d


@pytest.fixture(scope="module")
def labels(world) -> pd.DataFrame:
    return read_labels(world / "asv_labels.tsv", contig_lengths(world / "genome.fa"))


@pytest.fixture(scope="module")
def truth(world) -> dict:
    return json.loads((world / "truth.json").read_text())


@pytest.fixture(scope="module")
def instances(truth) -> pd.DataFrame:
    t = truth["instances"]
    return pd.DataFrame(t["rows"], columns=t["columns"])


@pytest.fixture(scope="module")
def vcf_variants(world) -> pd.DataFrame:
    """Every (record, ALT) of the cohort VCF as chrom/pos/ref/alt/key."""
    rows = []
    with pysam.VariantFile(str(world / "cohort.vcf.gz")) as vf:
        for r in vf:
            for a in r.alts:
                rows.append((r.chrom, r.pos, r.ref, a))
    df = pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt"])
    df["key"] = df["chrom"] + ":" + df["pos"].astype(str) + ":" + df["ref"] + ":" + df["alt"]
    return df


# --------------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------------
def test_read_labels_world(world, labels):
    raw = pd.read_csv(world / "asv_labels.tsv", sep="\t")
    assert len(labels) == len(raw)
    assert list(labels.columns) == ["variant_id", "chrom", "pos", "ref", "alt", "cell_type", "label", "direction", "key"]
    assert labels["key"].iloc[0] == f"{raw.chrom[0]}:{raw.pos[0]}:{raw.ref[0]}:{raw.alt[0]}"
    assert set(labels["label"]) == {0, 1}
    assert (labels.loc[labels.label == 0, "direction"] == 0).all()
    assert set(labels.loc[labels.label == 1, "direction"]) <= {-1, 1}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


HEAD = "variant_id\tchrom\tpos\tref\talt\tcell_type\tlabel\tdirection"


def test_read_labels_alias_and_gzip(tmp_path):
    p = tmp_path / "l.tsv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("extra\t" + HEAD + "\n" + "x\tv1\t1\t10\ta\tg\tneuron\t1\t+1\n" + "\n" + "x\tv2\tMT\t5\tC\tCA\tneuron\t0\t0\n")
    df = read_labels(p, ["chr1", "chrM"])
    assert df["key"].tolist() == ["chr1:10:A:G", "chrM:5:C:CA"]
    assert df["direction"].tolist() == [1, 0]
    assert "extra" not in df.columns


@pytest.mark.parametrize(
    "line, message",
    [
        ("v\tchr1\t10\tA\tG\tneuron\t2\t1", "label '2' is not 0 or 1"),
        ("v\tchr1\t10\tA\tG\tneuron\t1\t2", "direction '2'"),
        ("v\tchr9\t10\tA\tG\tneuron\t1\t1", "contig 'chr9' is not in the FASTA"),
        ("v\tchr1\tten\tA\tG\tneuron\t1\t1", "pos 'ten' is not an integer"),
        ("v\tchr1\t0\tA\tG\tneuron\t1\t1", "pos 0 is not a 1-based position"),
        ("v\tchr1\t1001\tA\tG\tneuron\t1\t1", "beyond the end of chr1"),
        ("v\tchr1\t10\tA\tG,T\tneuron\t1\t1", "one allele per line"),
        ("v\tchr1\t10\tA\tX\tneuron\t1\t1", "alt 'X' is not a VCF allele"),
        ("v\tchr1\t10\tA\tA\tneuron\t1\t1", "ref and alt are both"),
        ("v\tchr1\t10\tA\tG\tneuron\t1", "7 tab-separated field(s), the header has 8"),
        ("v\t1\t10\tA\tG\tneuron\t1\t1", "already labelled on line 2"),  # alias of line 2's chr1
    ],
)
def test_read_labels_bad_line(tmp_path, line, message):
    p = _write(tmp_path / "l.tsv", [HEAD, "v0\tchr1\t10\tA\tG\tneuron\t0\t0", line])
    with pytest.raises(InputError) as e:
        read_labels(p, {"chr1": 1000})
    text = str(e.value)
    assert "\n" not in text and text.startswith(f"{p}: line 3: ") and message in text


def test_read_labels_bad_file(tmp_path):
    with pytest.raises(InputError, match="header lacks column.*direction"):
        read_labels(_write(tmp_path / "a.tsv", [HEAD.rsplit("\t", 1)[0]]), ["chr1"])
    with pytest.raises(InputError, match="no labelled variants"):
        read_labels(_write(tmp_path / "b.tsv", [HEAD]), ["chr1"])
    (tmp_path / "c.tsv").write_text("")
    with pytest.raises(InputError, match="empty file"):
        read_labels(tmp_path / "c.tsv", ["chr1"])
    with pytest.raises(InputError, match="file not found"):
        read_labels(tmp_path / "none.tsv", ["chr1"])


# --------------------------------------------------------------------------------------------
# model scores per cell type
# --------------------------------------------------------------------------------------------
def test_model_cell_type_scores():
    tracks = [dict(track_id="a1", cell_type="A", assay="ATAC"), dict(track_id="a2", cell_type="A", assay="ATAC"),
              dict(track_id="b1", cell_type="B", assay="ATAC"), dict(track_id="b2", cell_type="B", assay="CAGE"),
              dict(track_id="unscored", cell_type="D", assay="ATAC")]
    rows = []
    for key, base in (("chr1:5:A:G", 1.0), ("chr1:9:C:T", -2.0)):
        for tid, mult in (("a1", 1), ("a2", 3), ("b1", 10), ("b2", 100), ("extra", 1000)):
            rows.append(dict(key=key, track_id=tid, SAD=base * mult, D2=abs(base)))
    scores = pd.DataFrame(rows)
    out = model_cell_type_scores(scores, tracks, ["A", "B", "C", "D"])
    assert out.index.tolist() == ["chr1:5:A:G", "chr1:9:C:T"]
    assert out.loc["chr1:5:A:G"].tolist() == [2.0, 55.0, 114.0 / 4, 114.0 / 4]
    assert out.loc["chr1:9:C:T", "A"] == -4.0
    assert out.attrs["agnostic"] == {"A": False, "B": False, "C": True, "D": True}
    assert out.attrs["n_tracks"] == {"A": 2, "B": 2, "C": 4, "D": 4}
    atac = model_cell_type_scores(scores.set_index("key"), tracks, ["B", "C"], score="D2", assays=["ATAC"])
    assert atac.loc["chr1:9:C:T"].tolist() == [2.0, 2.0]
    assert atac.attrs["n_tracks"] == {"B": 1, "C": 3} and atac.attrs["score"] == "D2"
    with pytest.raises(ValueError, match="no score column 'SAX'"):
        model_cell_type_scores(scores, tracks, ["A"], score="SAX")
    with pytest.raises(ValueError, match="has scores"):
        model_cell_type_scores(scores, tracks, ["A"], assays=["DNase"])


# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------
def test_ranking_metrics_hand_case():
    y = np.array([1, 0, 1, 0, 0, 1, 0, 1, 0, 0])
    v = np.array([0.9, 0.8, 0.7, 0.7, 0.3, 0.6, 0.1, 0.4, 0.5, 0.2])
    m = ranking_metrics(v, y, n_boot=500, seed=3)
    assert m["auroc"] == pytest.approx(roc_auc_score(y, v), abs=1e-15)
    assert m["auprc"] == pytest.approx(average_precision_score(y, v), abs=1e-15)
    assert (m["n_pos"], m["n_neg"], m["auprc_baseline"]) == (4, 6, 0.4)
    assert m["auroc_lo"] <= m["auroc"] <= m["auroc_hi"] and m["auprc_lo"] <= m["auprc"] <= m["auprc_hi"]
    assert m["auroc_hi"] - m["auroc_lo"] > 0.05
    assert 480 <= m["n_boot"] <= 500  # one-class resamples dropped
    assert ranking_metrics(v, y, n_boot=500, seed=3) == m  # seeded
    assert ranking_metrics(v, y, n_boot=500, seed=4)["auroc_lo"] != m["auroc_lo"]
    # NaN dropped; one class: NaN metrics
    m2 = ranking_metrics(np.append(v, np.nan), np.append(y, 1), n_boot=0)
    assert m2["auroc"] == m["auroc"] and m2["n_pos"] == 4 and np.isnan(m2["auroc_lo"])
    assert np.isnan(ranking_metrics(v, np.zeros(10), n_boot=10)["auroc"])


def test_bootstrap_metrics_equal_sklearn_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(2, 40))
        s = rng.integers(0, 5, size=(1, n)).astype(float)
        y = rng.integers(0, 2, size=(1, n))
        if y.sum() in (0, n):
            continue
        assert _auroc_rows(s, y)[0] == pytest.approx(roc_auc_score(y[0], s[0]), abs=1e-12)
        assert _auprc_rows(s, y)[0] == pytest.approx(average_precision_score(y[0], s[0]), abs=1e-12)


def test_sign_consistency_hand_case():
    s = np.array([2.0, -1.0, 0.5, -0.3, 0.0, 1.0, np.nan, 4.0])
    y = np.array([1, 1, 1, 1, 1, 1, 1, 0])
    d = np.array([1, -1, -1, 0, 1, 1, 1, -1])
    # counted: rows 0 (agree), 1 (agree), 2 (disagree), 5 (agree); row 3 direction 0, 4 score 0,
    # 6 NaN, 7 negative
    r = sign_consistency(s, y, d)
    assert (r["n"], r["n_agree"]) == (4, 3)
    assert r["fraction"] == 0.75 and r["binom_p"] == pytest.approx(0.625)
    assert np.isnan(sign_consistency(s, np.zeros(8), d)["fraction"])


def test_enrichment_by_quantile():
    rng = np.random.default_rng(1)
    y = np.zeros(100, dtype=int)
    y[:20] = 1
    v = np.where(y == 1, 10 + rng.random(100), rng.random(100))  # perfect: positives highest
    e = enrichment_by_quantile(v, y)
    assert e["quantile"].tolist() == [1, 2, 3, 4, 5]
    assert e["n"].tolist() == [20] * 5 and e["n"].sum() == 100
    assert e["n_pos"].tolist() == [0, 0, 0, 0, 20] and (e["n_pos"] + e["n_neg"] == e["n"]).all()
    assert e["enrichment"].tolist() == [0, 0, 0, 0, 5.0] and (e["overall_frac"] == 0.2).all()
    assert e["fisher_p"].iloc[-1] < 1e-15 and e["odds_ratio"].iloc[-1] > 100
    # random scores: counts still add up, 5 x 20
    e2 = enrichment_by_quantile(rng.random(100), rng.integers(0, 2, 100))
    assert e2["n"].tolist() == [20] * 5
    assert e2["n_pos"].sum() + e2["n_neg"].sum() == 100
    # ties share the bin of their lowest rank
    assert quantile_bins(np.array([0, 0, 0, 0, 0, 0, 1, 2, 3, 4.0])).tolist() == [1] * 6 + [4, 4, 5, 5]


def test_maf_bins():
    af = np.array([0.0, 0.005, 0.995, 0.03, 0.07, 0.15, 0.85, 0.3, 0.5, 0.6, np.nan])
    v = np.array([1.0, -2.0, 3.0, 4.0, 5.0, 6.0, -7.0, 8.0, 9.0, 10.0, 11.0])
    t = maf_bins(v, af)
    assert t["maf_bin"].tolist() == ["0-0.01", "0.01-0.05", "0.05-0.1", "0.1-0.2", "0.2-0.5"]
    assert t["n"].tolist() == [3, 1, 1, 2, 3]
    assert t["mean_abs_score"].tolist() == [2.0, 4.0, 5.0, 6.5, 9.0]
    assert t["median_abs_score"].tolist() == [2.0, 4.0, 5.0, 6.5, 9.0]
    assert list(t.columns) == MAF_COLUMNS[2:]


def test_conservation_top():
    from scipy.stats import mannwhitneyu

    v = np.arange(20, dtype=float) - 10
    v[19] = 9.5  # |v| largest: -10 (first), 9.5 (last) -> top 10 % = 2 variants
    c = np.arange(20, dtype=float)
    c[[0, 19]] = [100.0, 50.0]
    r = conservation_top(v, c)
    assert (r["n_top"], r["n_rest"]) == (2, 18)
    assert r["top_mean"] == 75.0 and r["top_median"] == 75.0
    assert r["rest_mean"] == pytest.approx(np.arange(1, 19).mean())
    assert r["mwu_p"] == pytest.approx(mannwhitneyu(c[[0, 19]], c[1:19]).pvalue)
    assert r["mwu_p_greater"] < r["mwu_p"]


def test_heatmap_table():
    f = pd.DataFrame({"A": [0.1, -5.0, 2.0, np.nan], "B": [0.2, 1.0, -3.0, np.nan]},
                     index=pd.Index(["k1", "k2", "k3", "k4"], name="key"))
    h = heatmap_table(f, n=2, model="m")
    assert h["key"].tolist() == ["k2", "k3"]
    assert list(h.columns) == ["key", "model", "max_abs_score", "A", "B"]
    assert h["A"].tolist() == [-5.0, 2.0] and h["max_abs_score"].tolist() == [5.0, 3.0]


# --------------------------------------------------------------------------------------------
# covariates from files
# --------------------------------------------------------------------------------------------
def test_conservation_at_equals_pybigwig(world, instances, vcf_variants):
    import pyBigWig

    bwp = world / "conservation.bw"
    v = vcf_variants.iloc[::7].reset_index(drop=True)
    got = conservation_at(bwp, v)
    got3 = conservation_at(bwp, v, flank=3)
    assert got.index.tolist() == v["key"].tolist()
    with pyBigWig.open(str(bwp)) as bw:
        for (c, p), g, g3 in zip(v[["chrom", "pos"]].itertuples(index=False), got, got3):
            assert g == bw.stats(c, p - 1, p, type="mean", exact=True)[0]
            assert g3 == bw.stats(c, p - 4, p + 3, type="mean", exact=True)[0]
    # elevated over planted motif instances
    centre = instances.assign(pos=(instances.start + instances.end) // 2 + 1)
    at_motifs = conservation_at(bwp, centre)
    assert at_motifs.mean() > got.mean() + 2.0
    # alias-mapped contig names; unknown contig -> NaN
    odd = pd.DataFrame({"chrom": ["1", "chr1", "chrUn"], "pos": [30001, 30001, 5]})
    o = conservation_at(bwp, odd)
    assert o.iloc[0] == o.iloc[1] and np.isnan(o.iloc[2])
    with pytest.raises(InputError, match="cannot open as bigWig"):
        conservation_at(world / "genome.fa.fai", odd)


@needs_bcftools
def test_allele_frequencies_equal_bcftools(world, vcf_variants):
    vcf = world / "cohort.vcf.gz"
    q = subprocess.run(["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\t%INFO/AF\n", str(vcf)],
                       capture_output=True, text=True, check=True).stdout
    expected = {}
    for line in q.splitlines():
        c, p, r, alts, afs = line.split("\t")
        for a, f in zip(alts.split(","), afs.split(",")):
            expected[f"{c}:{p}:{r}:{a}"] = float(f)
    assert any("," in line.split("\t")[3] for line in q.splitlines())  # multi-allelic records present
    keys = list(vcf_variants["key"]) + ["chr1:1:A:G", "chr9:5:A:C"]
    af = allele_frequencies(vcf, keys)
    assert af.index.tolist() == keys
    assert af.iloc[:-2].tolist() == [expected[k] for k in keys[:-2]]
    assert af.iloc[-2:].isna().all()
    # contig spelled differently
    assert allele_frequencies(vcf, [keys[0].replace("chr1", "1", 1)]).iloc[0] == expected[keys[0]]


def test_allele_frequencies_from_genotypes(tmp_path, world, vcf_variants):
    """A VCF without INFO/AF: the frequency is counted from GT and equals AC/AN."""
    src = world / "cohort.vcf.gz"
    plain = tmp_path / "noaf.vcf"
    ac_an = {}
    with gzip.open(src, "rt") as fh, open(plain, "w") as out:
        for line in fh:
            if line.startswith("##INFO=<ID=AF"):
                continue
            if not line.startswith("#"):
                f = line.split("\t")
                info = dict(kv.split("=") for kv in f[7].split(";"))
                for a, ac in zip(f[4].split(","), info["AC"].split(",")):
                    ac_an[f"{f[0]}:{f[1]}:{f[3]}:{a}"] = int(ac) / int(info["AN"])
                f[7] = ";".join(kv for kv in f[7].split(";") if not kv.startswith("AF="))
                line = "\t".join(f)
            out.write(line)
    gz = pysam.tabix_index(str(plain), preset="vcf", force=True)
    keys = vcf_variants["key"].tolist()[:400]
    af = allele_frequencies(gz, keys)
    assert np.allclose(af.to_numpy(), [ac_an[k] for k in keys], rtol=0, atol=1e-12)


# --------------------------------------------------------------------------------------------
# baselines
# --------------------------------------------------------------------------------------------
def test_random_scores_seeded():
    keys = [f"chr1:{i}:A:G" for i in range(1, 1001)]
    r = random_scores(keys, seed=5)
    assert r.index.tolist() == keys and r.between(-1, 1).all()
    assert r.equals(random_scores(keys, seed=5)) and not r.equals(random_scores(keys, seed=6))
    assert r.min() < -0.9 and r.max() > 0.9


def _brute_best(seq: str, pwm: np.ndarray) -> float:
    """Best window score on either strand of a string (every window of it)."""
    code = {"A": 0, "C": 1, "G": 2, "T": 3}
    x = np.array([code.get(b, 4) for b in seq])
    rc = pwm[::-1][:, [3, 2, 1, 0, 4]]
    w = pwm.shape[0]
    best = -np.inf
    for s in range(len(x) - w + 1):
        for m in (pwm, rc):
            best = max(best, float(m[np.arange(w), x[s : s + w]].sum()))
    return best


def test_pwm_scores_equal_brute_force(world, vcf_variants):
    motifs, _ = load_jaspar_subset()
    motifs = motifs[:4]
    pwms = [pwm_matrix(m) for m in motifs]
    wmax = max(p.shape[0] for p in pwms)
    # SNVs, insertions, deletions, and a multi-base substitution
    v = pd.concat([vcf_variants[vcf_variants.ref.str.len() > 1].head(6), vcf_variants[vcf_variants.alt.str.len() > 1].head(6),
                   vcf_variants.iloc[100:110]], ignore_index=True)
    mnv = dict(chrom="chr2", pos=200001, ref="", alt="TTA")
    with pysam.FastaFile(str(world / "genome.fa")) as fa:
        mnv["ref"] = fa.fetch("chr2", 200000, 200003)
        v = pd.concat([v, pd.DataFrame([mnv])], ignore_index=True).drop(columns="key")
        got = pwm_scores(fa, v, motifs, p_threshold=None, details=True)
        thr = [match_threshold(p) for p in pwms]
        got_thr = pwm_scores(world / "genome.fa", v, motifs)
        for i, r in enumerate(v.itertuples(index=False)):
            p0, L = r.pos - 1, len(r.ref)
            ref_best, alt_best = [], []
            for pwm in pwms:
                w = pwm.shape[0]
                left = fa.fetch(r.chrom, p0 - (w - 1), p0)
                right = fa.fetch(r.chrom, p0 + L, p0 + L + w - 1)
                ref_best.append(_brute_best(left + r.ref + right, pwm))
                alt_best.append(_brute_best(left + r.alt + right, pwm))
            diff = np.array(alt_best) - np.array(ref_best)
            k = int(np.argmax(np.abs(diff)))
            assert got["score"].iloc[i] == pytest.approx(diff[k], abs=1e-9)
            assert got["matrix_id"].iloc[i] == motifs[k].matrix_id
            assert got["ref_best"].iloc[i] == pytest.approx(ref_best[k], abs=1e-9)
            hit = np.maximum(ref_best, alt_best) >= np.array(thr)
            dt = np.where(hit, diff, 0.0)
            assert got_thr.iloc[i] == pytest.approx(dt[int(np.argmax(np.abs(dt)))], abs=1e-9)
    assert wmax >= 9


def test_match_threshold():
    motifs, _ = load_jaspar_subset()
    pwm = pwm_matrix(motifs[0])
    t = match_threshold(pwm, 1e-4)
    assert pwm[:, :4].max(axis=1).sum() > t > 0
    assert match_threshold(pwm, 1e-3) < t
    # the empirical tail in random sequence agrees (within sampling error)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(400_000, pwm.shape[0]))
    s = pwm[np.arange(pwm.shape[0]), x].sum(axis=1)
    assert 0.3e-3 < (s >= match_threshold(pwm, 1e-3)).mean() < 1.7e-3


def _destroying_snvs(world, instances, n=30) -> pd.DataFrame:
    """SNVs at the most informative position of planted instances, to that column's worst base."""
    motifs = {m.matrix_id: m for m in load_jaspar_subset()[0]}
    rows = []
    with pysam.FastaFile(str(world / "genome.fa")) as fa:
        for r in instances.head(n).itertuples(index=False):
            pwm = pwm_matrix(motifs[r.matrix_id])[:, :4]
            if r.strand == "-":
                pwm = pwm[::-1, ::-1]  # genome orientation: reversed, complemented
            j = int(np.argmax(pwm.max(axis=1) - pwm.min(axis=1)))
            ref = fa.fetch(r.chrom, r.start + j, r.start + j + 1)
            assert ref == r.sequence[j]
            rows.append(dict(chrom=r.chrom, pos=r.start + j + 1, ref=ref, alt="ACGT"[int(np.argmin(pwm[j]))],
                             matrix_id=r.matrix_id))
    return pd.DataFrame(rows)


def _far_snvs(world, instances, n=200, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lengths = contig_lengths(world / "genome.fa")
    rows = []
    with pysam.FastaFile(str(world / "genome.fa")) as fa:
        while len(rows) < n:
            c = str(rng.choice(list(lengths)))
            p0 = int(rng.integers(20_000, lengths[c] - 20_000))
            ii = instances[instances.chrom == c]
            if ((ii.start - 100 < p0) & (ii.end + 100 > p0)).any():
                continue
            ref = fa.fetch(c, p0, p0 + 1)
            if ref not in "ACGT":
                continue
            rows.append(dict(chrom=c, pos=p0 + 1, ref=ref, alt="ACGT"[("ACGT".index(ref) + 1) % 4]))
    return pd.DataFrame(rows)


def test_pwm_scores_planted_instances(world, instances):
    destroy = _destroying_snvs(world, instances)
    d = pwm_scores(world / "genome.fa", destroy, details=True)
    assert (d["score"] < -4).all(), d
    assert d["score"].median() < -9
    assert (d["matrix_id"].to_numpy() == destroy["matrix_id"].to_numpy()).mean() >= 0.8
    far = pwm_scores(world / "genome.fa", _far_snvs(world, instances))
    assert far.abs().median() == 0.0
    assert (far.abs() < 1.0).mean() >= 0.8
    assert far.abs().mean() < 0.2 * d["score"].abs().mean()
    # unknown contig -> NaN; contig alias -> same score
    odd = destroy.head(1).assign(chrom=destroy.chrom[0].replace("chr", ""))
    assert pwm_scores(world / "genome.fa", odd).iloc[0] == d["score"].iloc[0]
    assert np.isnan(pwm_scores(world / "genome.fa", odd.assign(chrom="chrUn")).iloc[0])


def test_pwm_baseline_on_world(world, labels, vcf_variants, capsys):
    t0 = time.perf_counter()
    s = pwm_scores(world / "genome.fa", vcf_variants)
    dt = time.perf_counter() - t0
    assert s.notna().all() and len(s) > 3000
    res = benchmark({"pwm": s, "random": random_scores(vcf_variants["key"], 0)}, labels, n_boot=100)
    au = res["auroc"].set_index(["model", "cell_type"])
    pwm_au = au.loc["pwm", "auroc"]
    with capsys.disabled():
        print(f"\nPWM baseline: {len(s)} variants in {dt:.2f} s ({len(s) / dt:.0f} variants/s); AUROC per cell type: "
              + ", ".join(f"{ct} {a:.3f}" for ct, a in pwm_au.items()))
    assert (pwm_au > 0.5).all()
    assert (pwm_au > au.loc["random", "auroc"]).all()
    assert au["agnostic"].all()


# --------------------------------------------------------------------------------------------
# the benchmark and its outputs
# --------------------------------------------------------------------------------------------
def _toy_models(labels, keys):
    """A fine-tuned-like model (score = label x direction + noise, per cell type) and a
    pretrained one missing the 'neuron' cell type (agnostic there)."""
    rng = np.random.default_rng(0)
    cts = sorted(labels["cell_type"].unique())
    truth = labels.pivot_table(index="key", columns="cell_type", values="direction", aggfunc="first")
    pos = labels.pivot_table(index="key", columns="cell_type", values="label", aggfunc="first")
    ft = (truth * pos).reindex(index=keys, columns=cts).fillna(0.0) * 2.0 + rng.normal(0, 0.5, (len(keys), len(cts)))
    ft.index.name = "key"
    ft.attrs["agnostic"] = {ct: False for ct in cts}
    pre = pd.DataFrame(rng.normal(0, 1, (len(keys), len(cts))), index=ft.index, columns=cts)
    pre.attrs["agnostic"] = {ct: ct == "neuron" for ct in cts}
    return ft, pre


def test_benchmark_tables_and_plots(tmp_path, world, labels, vcf_variants):
    keys = vcf_variants["key"]
    ft, pre = _toy_models(labels, keys)
    af = allele_frequencies(world / "cohort.vcf.gz", keys)
    cons = conservation_at(world / "conservation.bw", vcf_variants)
    res = benchmark({"pretrained": pre, "finetuned": ft, "random": random_scores(keys, 1)}, labels, af=af,
                    conservation=cons, n_boot=50, seed=2, finetuned=["finetuned"])
    cts = sorted(labels["cell_type"].unique())
    assert list(res["auroc"].columns) == AUROC_COLUMNS and len(res["auroc"]) == 3 * len(cts)
    assert list(res["sign_consistency"].columns) == SIGN_COLUMNS
    assert list(res["enrichment"].columns) == ENRICHMENT_COLUMNS and len(res["enrichment"]) == 3 * len(cts) * 5
    assert list(res["maf"].columns) == MAF_COLUMNS and len(res["maf"]) == 3 * (len(cts) + 1) * 5
    assert list(res["conservation"].columns) == CONSERVATION_COLUMNS
    au = res["auroc"].set_index(["model", "cell_type"])
    assert (au.loc["finetuned", "auroc"] > 0.9).all()
    assert (au["n_pos"] + au["n_neg"]).groupby("cell_type").nunique().eq(1).all()
    assert au.loc[("pretrained", "neuron"), "agnostic"] and not au.loc[("pretrained", "B_cell"), "agnostic"]
    assert au.loc["random", "agnostic"].all()
    sc = res["sign_consistency"].set_index(["model", "cell_type"])
    assert (sc.loc["finetuned", "fraction"] > 0.9).all()
    assert (res["enrichment"].groupby(["model", "cell_type"])["n"].sum()
            == labels.groupby("cell_type").size().reindex(cts).tolist() * 3).all()
    # same bootstrap draws for every model of a cell type: a rerun is identical
    res2 = benchmark({"pretrained": pre, "finetuned": ft, "random": random_scores(keys, 1)}, labels, af=af,
                     conservation=cons, n_boot=50, seed=2, finetuned=["finetuned"])
    pd.testing.assert_frame_equal(res["auroc"], res2["auroc"])
    h = res["heatmap"]
    assert (h["model"] == "finetuned").all() and len(h) == 30
    assert h["max_abs_score"].is_monotonic_decreasing
    # a labelled variant without a score is counted, not scored
    ft_missing = ft.drop(index=labels["key"].iloc[0])
    r3 = benchmark({"ft": ft_missing}, labels, n_boot=0)
    assert r3["auroc"]["n_missing"].sum() == (labels["key"] == labels["key"].iloc[0]).sum()
    assert r3["maf"].empty and r3["conservation"].empty

    files = plots(res, tmp_path / "out")
    names = sorted(p.name for p in files)
    assert names == sorted(["auroc.tsv", "sign_consistency.tsv", "enrichment.tsv", "maf.tsv", "conservation.tsv",
                            "heatmap.tsv", "auroc.png", "sign_consistency.png", "enrichment.png", "maf.png",
                            "conservation.png", "heatmap.png"])
    for p in files:
        assert p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    back = pd.read_csv(tmp_path / "out" / "auroc.tsv", sep="\t")
    assert list(back.columns) == AUROC_COLUMNS and len(back) == len(res["auroc"])
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temporaries left
    # without covariates: no MAF / conservation figures, TSVs with a header only
    files3 = plots(r3, tmp_path / "out3")
    assert "maf.png" not in {p.name for p in files3}
    assert (tmp_path / "out3" / "maf.tsv").read_text().split("\n")[0].split("\t") == MAF_COLUMNS
