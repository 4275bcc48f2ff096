"""PredictDB models on the cohort VCF (seq2func.personal.baselines.predictdb) and through the personal
benchmark (run_chunk/merge_chunks, bin/personal.py): a PredictDB-format db built from the tiny world
with mixed varID styles, flipped alleles, far variants, rsID-only rows and absent variants, checked
against predictions summed by hand from `bcftools query` genotypes (tests/predictdb_helpers.py)."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats as sps

from seq2func.errors import InputError
from seq2func.personal.baselines.predictdb import map_genes, predictdb_for_genes
from seq2func.personal.benchmark import RunParams, merge_chunks, run_chunk
from seq2func.personal.predict import load_predictor
from tests.predictdb_helpers import design_db, oracle_predictions, write_db
from tests.unit.test_personal_benchmark import STUB_TRACKS, GCProfile

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
GENES = ["GENE0001", "GENE0002", "GENE0025", "GENE0045"]  # chr1, chr1, chr2, chr3
NOT_IN_DB = "GENE0003"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from seq2func.simulate import simulate_world

    d = tmp_path_factory.mktemp("world")
    simulate_world(d, scale="tiny", seed=1)
    return d


@pytest.fixture(scope="module")
def db(world, tmp_path_factory):
    tss = pd.read_csv(world / "tss.bed", sep="\t", header=None)
    assert set(GENES + [NOT_IN_DB]) <= set(tss[3])
    design = design_db(world / "cohort.vcf.gz", world / "tss.bed", GENES, versioned=("GENE0001", "GENE0025"))
    path = write_db(design, tmp_path_factory.mktemp("db") / "models.db")
    return path, design, oracle_predictions(world / "cohort.vcf.gz", design)


def _tss(world):
    from seq2func.personal.predict import read_tss

    return read_tss(world / "tss.bed")


def _expected_counts(design, gid):
    d = design[design["our_gene"] == gid]
    matched = d["exp_allele"].notna()
    return {"predictdb_n_weights": len(d), "predictdb_n_matched": int(matched.sum()),
            "predictdb_n_flipped": int(d["exp_flipped"].sum()), "predictdb_n_strand_flipped": 1,
            "predictdb_n_unmatched": int((~matched).sum())}


def test_design_covers_the_cases(world, db):
    _, design, _ = db
    tss = pd.read_csv(world / "tss.bed", sep="\t", header=None).set_index(3)[1]
    for gid in GENES:
        d = design[design["our_gene"] == gid]
        styles = d["varID"].str.match(r"^chr\d+_\d+_[ACGT]_[ACGT]_b38$").sum(), d["varID"].str.match(r"^\d+:").sum(), \
            d["varID"].str.match(r"^\d+_\d+_.*_b37$").sum(), (~d["varID"].str.contains(r"\d+[_:]\d+[_:]")).sum()
        assert all(n >= 1 for n in styles), (gid, styles)
        assert d["exp_flipped"].sum() >= 2 and d["exp_allele"].isna().sum() == 3
        dist = (d["exp_pos"].dropna() - tss[gid] - 1).abs()
        assert (dist > 60_000).sum() >= 2 and (dist < 20_000).sum() >= 3  # far outside a 40 kb personal window too


def test_predictions_equal_bcftools_oracle(world, db):
    path, design, oracle = db
    tss = _tss(world)
    genes = tss[tss["gene_id"].isin(GENES + [NOT_IN_DB])]
    expr = pd.read_csv(world / "expression.tsv", sep="\t").set_index("gene_id")
    samples = list(oracle.columns)
    res = predictdb_for_genes(path, world / "cohort.vcf.gz", genes, samples, expression=expr[samples])
    assert list(res.predictions.index) == [g for g in genes["gene_id"] if g in GENES]
    np.testing.assert_allclose(res.predictions.loc[GENES].to_numpy(), oracle.loc[GENES, samples].to_numpy(),
                               rtol=0, atol=1e-9)
    t = res.genes.set_index("gene_id")
    for gid in GENES:
        for k, v in _expected_counts(design, gid).items():
            assert t.loc[gid, k] == v, (gid, k)
        r = sps.pearsonr(oracle.loc[gid, samples].to_numpy(float), expr.loc[gid, samples].to_numpy(float))[0]
        assert t.loc[gid, "predictdb_r"] == pytest.approx(r, abs=1e-9)
    assert t.loc["GENE0001", "predictdb_gene"] == "GENE0001.7" and t.loc["GENE0002", "predictdb_gene"] == "GENE0002"
    assert t.loc[NOT_IN_DB].drop("predictdb_gene").isna().all() and pd.isna(t.loc[NOT_IN_DB, "predictdb_gene"])
    info = res.info
    assert info["n_genes"] == 4 and info["n_db_genes"] == 5
    assert info["n_matched"] == sum(_expected_counts(design, g)["predictdb_n_matched"] for g in GENES)
    assert info["vcf_examples"][0].startswith("chr1:")


def test_contig_aliases_in_vcf(world, db, tmp_path):
    """A VCF spelling chromosomes `1`, `2`, `3` (TSS and db say chr1 / 1): same predictions."""
    path, _, oracle = db
    mapping = tmp_path / "names.txt"
    mapping.write_text("chr1\t1\nchr2\t2\nchr3\t3\n")
    renamed = tmp_path / "renamed.vcf.gz"
    subprocess.run(["bcftools", "annotate", "--rename-chrs", str(mapping), "-Oz", "-o", str(renamed),
                    str(world / "cohort.vcf.gz")], check=True)
    subprocess.run(["tabix", "-p", "vcf", str(renamed)], check=True)
    tss = _tss(world)
    samples = list(oracle.columns)
    res = predictdb_for_genes(path, renamed, tss[tss["gene_id"].isin(GENES)], samples)
    np.testing.assert_allclose(res.predictions.loc[GENES].to_numpy(), oracle.loc[GENES, samples].to_numpy(),
                               rtol=0, atol=1e-9)


def test_gene_version_matching():
    got = map_genes(["ENSG01.12", "ENSG02", "ENSG03.1", "ENSG03.2", "X.1"], ["ENSG01", "ENSG02.5", "ENSG03", "X.1", "Y"])
    assert got == {"ENSG01": "ENSG01.12", "ENSG02.5": "ENSG02", "ENSG03": "ENSG03.1", "X.1": "X.1"}


def _chunk_kw(world):
    pred, info = load_predictor(model=GCProfile(), tracks=STUB_TRACKS, cell_type="neuron", device="cpu")
    return pred, dict(vcf=world / "cohort.vcf.gz", fasta=world / "genome.fa", tss=world / "tss.bed",
                      expression=world / "expression.tsv", model_info=info)


def _params(db=None):
    return RunParams(window=4001, predixcan=False, ism="none", null_draws=10, predictdb=str(db) if db else None)


def test_run_chunk_and_merge_carry_predictdb(world, db, tmp_path):
    path, design, oracle = db
    pred, kw = _chunk_kw(world)
    run_chunk(pred, out=tmp_path / "c1", genes=["GENE0001", "GENE0002", NOT_IN_DB], params=_params(path), **kw)
    run_chunk(pred, out=tmp_path / "c2", genes=["GENE0025", "GENE0045"], params=_params(path), **kw)
    gs = pd.read_csv(tmp_path / "c1" / "gene_stats.tsv", sep="\t").set_index("gene_id")
    assert gs.loc[NOT_IN_DB, ["predictdb_r", "predictdb_n_weights"]].isna().all()
    meta = json.loads((tmp_path / "c1" / "chunk.json").read_text())
    assert meta["predictdb"]["n_genes"] == 2 and meta["params"]["predictdb"] == str(path)

    s = merge_chunks([tmp_path / "c2", tmp_path / "c1"], tmp_path / "m", figures=True)
    genes = pd.read_csv(tmp_path / "m" / "genes.tsv", sep="\t").set_index("gene_id")
    pp = pd.read_csv(tmp_path / "m" / "predictdb_predictions.tsv", sep="\t").set_index("gene_id")
    samples = list(pp.columns)
    assert len(samples) == 80 and sorted(pp.index) == sorted(GENES)
    np.testing.assert_allclose(pp.loc[GENES].to_numpy(), oracle.loc[GENES, samples].to_numpy(), rtol=0, atol=1e-9)
    expr = pd.read_csv(world / "expression.tsv", sep="\t").set_index("gene_id")
    rs = []
    for gid in GENES:
        r = sps.pearsonr(oracle.loc[gid, samples].to_numpy(float), expr.loc[gid, samples].to_numpy(float))[0]
        rs.append(r)
        assert genes.loc[gid, "predictdb_r"] == pytest.approx(r, abs=1e-9)
        for k, v in _expected_counts(design, gid).items():
            assert genes.loc[gid, k] == v, (gid, k)
    assert pd.isna(genes.loc[NOT_IN_DB, "predictdb_r"])
    assert s["predictdb_mean_r"] == pytest.approx(np.mean(rs), abs=1e-9) and s["predictdb_n_genes"] == 4
    exp = [_expected_counts(design, g) for g in GENES]
    assert s["predictdb"]["n_weights"] == sum(e["predictdb_n_weights"] for e in exp)
    assert s["predictdb"]["n_matched"] == sum(e["predictdb_n_matched"] for e in exp)
    assert s["predictdb"]["n_flipped"] == sum(e["predictdb_n_flipped"] for e in exp)
    assert s["predictdb"]["file"] == "models.db"
    raw = pd.read_csv(tmp_path / "m" / "genes.tsv", sep="\t", dtype=str)
    assert raw["predictdb_n_matched"].dropna().str.fullmatch(r"\d+").all()  # counts stay integers

    # a run without a db has the columns, all NA, and no predictdb file; mixing is refused
    run_chunk(pred, out=tmp_path / "c0", genes=["GENE0025"], params=_params(), **kw)
    s0 = merge_chunks([tmp_path / "c0"], tmp_path / "m0", figures=False)
    g0 = pd.read_csv(tmp_path / "m0" / "genes.tsv", sep="\t")
    assert g0["predictdb_r"].isna().all() and s0["predictdb"] is None and s0["predictdb_mean_r"] is None
    assert not (tmp_path / "m0" / "predictdb_predictions.tsv").exists()
    with pytest.raises(InputError, match="predictdb"):
        merge_chunks([tmp_path / "c1", tmp_path / "c0"], tmp_path / "mx", figures=False)


def _only_unmatched_db(design, path):
    bad = design[design["exp_allele"].isna() & design["varID"].str.contains("_")].copy()
    return write_db(bad, path, extra_genes=())


def test_zero_matches_warn_in_chunk_and_stop_the_merge(world, db, tmp_path, caplog):
    _, design, _ = db
    bad = _only_unmatched_db(design, tmp_path / "nomatch.db")
    pred, kw = _chunk_kw(world)
    with caplog.at_level(logging.WARNING):
        run_chunk(pred, out=tmp_path / "c", genes=["GENE0001", "GENE0025"], params=_params(bad), **kw)
    assert any("not one of the" in r.getMessage() for r in caplog.records)
    r = subprocess.run([PY, str(ROOT / "bin" / "personal.py"), "merge", str(tmp_path / "c"), "--out", str(tmp_path / "m")],
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stderr[-2000:]
    err = [l for l in r.stderr.splitlines() if l.startswith("ERROR:")]
    assert len(err) == 1 and err[0].startswith("ERROR: nomatch.db: weights: not one of the"), err
    in_chunk = design["our_gene"].isin(["GENE0001", "GENE0025"])
    varids = design.loc[in_chunk & design["exp_allele"].isna() & design["varID"].str.contains("_"), "varID"].head(3)
    assert len(varids) == 3
    assert all(v in err[0] for v in varids)
    assert "chr1:19272:T:C (ID chr1_v000001)" in err[0] and err[0].count("(ID ") == 3
    assert not (tmp_path / "m").exists()

    # a db none of whose genes is ours: the same single line, about the gene IDs
    other = write_db(design.assign(gene="ENSG99" + design["gene"]), tmp_path / "othergenes.db", extra_genes=())
    run_chunk(pred, out=tmp_path / "c2", genes=["GENE0001"], params=_params(other), **kw)
    with pytest.raises(InputError, match=r"othergenes.db: gene: none of the 4 gene\(s\) of the PredictDB db .* ENSG99GENE0001"):
        merge_chunks([tmp_path / "c2"], tmp_path / "m2", figures=False)


@pytest.mark.parametrize("kind", ["garbage", "no_weights_table", "missing"])
def test_cli_bad_predictdb_is_one_error_line(world, tmp_path, kind):
    path = tmp_path / "broken.db"
    if kind == "garbage":
        path.write_bytes(b"this is not an SQLite database\n" * 10)
    elif kind == "no_weights_table":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE extra (gene TEXT)")
        con.commit()
        con.close()
    cmd = [PY, str(ROOT / "bin" / "personal.py"), "run", "--checkpoint", str(tmp_path / "model.pt"), "--vcf",
           str(world / "cohort.vcf.gz"), "--fasta", str(world / "genome.fa"), "--tss", str(world / "tss.bed"),
           "--expression", str(world / "expression.tsv"), "--chrom", "chr1", "--out", str(tmp_path / "out"),
           "--device", "cpu", "--predictdb", str(path)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 2, r.stderr[-2000:]
    err = [l for l in r.stderr.splitlines() if "ERROR" in l]
    assert len(err) == 1 and err[0].startswith(f"ERROR: {path}: "), r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------
# the VCF reader: genotypes through seq2func.io.vcf
# ------------------------------------------------------------------------------------------
def _reader_vcf(tmp_path, cells_200: list[str], indexed: bool = True) -> Path:
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1,length=10000>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\tC",
        "1\t100\trs1\tA\tG\t.\tPASS\t.\tDP:GT\t3:0|1\t4:1/1\t5",  # GT not first; C stops before it
        "1\t200\trs2\tC\tT,G\t.\tPASS\t.\tGT\t" + "\t".join(cells_200),
    ]
    vcf = tmp_path / "r.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    if not indexed:
        return vcf
    subprocess.run(["bgzip", str(vcf)], check=True)
    subprocess.run(["tabix", "-p", "vcf", str(vcf) + ".gz"], check=True)
    return Path(str(vcf) + ".gz")


@pytest.mark.parametrize("indexed", [True, False])
def test_vcf_reader_genotypes(tmp_path, indexed):
    """GT after other FORMAT keys is found (as htslib finds it); multi-digit, haploid and missing
    alleles decode as in the haplotype builder; contigs alias (chr1 -> 1)."""
    from seq2func.personal.baselines.predictdb import VcfReader

    vcf = _reader_vcf(tmp_path, ["2|0", "1", "./."], indexed)
    with VcfReader(vcf, ["C", "A", "B"]) as r:
        assert r.contig("chr1") == "1"
        at = r.at_positions("1", [100, 200, 300])
        assert sorted(at) == [100, 200]
        (v100,), (v200,) = at[100], at[200]
        assert v100.ids == ("rs1",) and v200.alts == ("T", "G")
        np.testing.assert_array_equal(v100.variants()[0][1], [np.nan, 1.0, 2.0])  # C: no GT in its cell
        (id1, d1), (id2, d2) = v200.variants()
        assert (id1, id2) == ("1:200:C:T", "1:200:C:G")
        np.testing.assert_array_equal(d1, [np.nan, 0.0, 1.0])  # C ./. missing; A 2|0; B haploid 1
        np.testing.assert_array_equal(d2, [np.nan, 1.0, 0.0])
        assert list(r.with_ids("1", 0, 10000, {"rs2"})) == ["rs2"]


def test_vcf_reader_malformed_gt_is_an_error(tmp_path):
    """A malformed GT stops with one line naming the file and CHROM:POS, as in the haplotype builder
    (it used to become a missing genotype here)."""
    from seq2func.personal.baselines.predictdb import VcfReader

    vcf = _reader_vcf(tmp_path, ["0|1", "x|1", "0|0"])
    with VcfReader(vcf, ["A", "B"]) as r:
        assert sorted(r.at_positions("1", [100])) == [100]
        with pytest.raises(InputError) as err:
            r.at_positions("1", [200])
    assert str(err.value) == f"{vcf}: 1:200: bad GT allele 'x'"
