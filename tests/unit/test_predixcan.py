"""Tests of seq2func.personal.baselines.predixcan against scikit-learn used directly and hand-built PredictDB files."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNetCV
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

from seq2func.errors import InputError
from seq2func.personal.baselines import predixcan


def _cohort(seed=0, n=80, p=25):
    rng = np.random.default_rng(seed)
    af = rng.uniform(0.05, 0.5, size=p)
    d = rng.binomial(2, af, size=(n, p)).astype(float)
    d[:, 3] = 0.0  # monomorphic
    d[:2, 4] = 1.0  # MAF 2 / 160 = 0.0125 ...
    d[2:, 4] = 0.0
    d[:1, 5] = 1.0  # ... and 1 / 160 = 0.006 < 0.01
    d[1:, 5] = 0.0
    beta = np.zeros(p)
    beta[[0, 7, 12]] = [0.8, -0.6, 0.5]
    y = d @ beta + rng.normal(scale=0.7, size=n)
    return d, y


def test_maf_filter():
    d, _ = _cohort()
    keep = predixcan.maf_filter(d, 0.01)
    assert not keep[3] and keep[4] and not keep[5]
    assert keep.sum() == d.shape[1] - 2
    assert predixcan.maf_filter(d, 0.0)[5]


def test_elastic_net_matches_sklearn_directly():
    d, y = _cohort()
    y[10] = np.nan  # missing expression: not trained on, no prediction
    res = predixcan.elastic_net_cv(d, y, outer_k=4, inner_k=3, n_alphas=20, seed=11)

    # the same thing written with scikit-learn by hand
    have = ~np.isnan(y)
    keep = predixcan.maf_filter(d[have], 0.01)
    x, yy = d[have][:, keep], y[have]
    oof = np.empty(yy.size)
    alphas_kw = (
        {"n_alphas": 20} if "n_alphas" in ElasticNetCV.__init__.__code__.co_varnames else {"alphas": 20}
    )
    for train, test in KFold(4, shuffle=True, random_state=11).split(x):
        sc = StandardScaler().fit(SimpleImputer().fit_transform(x[train]))
        enet = ElasticNetCV(
            l1_ratio=0.5, cv=KFold(3, shuffle=True, random_state=11), max_iter=10000, **alphas_kw
        ).fit(sc.transform(x[train]), yy[train])
        oof[test] = enet.predict(sc.transform(x[test]))

    assert np.isnan(res.predictions[10])
    np.testing.assert_allclose(res.predictions[have], oof, rtol=1e-10, atol=1e-12)
    assert res.r == pytest.approx(sps.pearsonr(oof, yy)[0], abs=1e-12)
    assert res.r > 0.5  # three planted effects are learnt
    assert res.n_snvs == 25 and res.n_snvs_used == keep.sum() and len(res.alphas) == 4
    again = predixcan.elastic_net_cv(d, y, outer_k=4, inner_k=3, n_alphas=20, seed=11)
    np.testing.assert_array_equal(again.predictions, res.predictions)


def test_elastic_net_no_snvs_and_genes_wrapper():
    d, y = _cohort(n=40)
    none = predixcan.elastic_net_cv(d[:, [3, 5]], y, min_maf=0.02, outer_k=4, inner_k=3, n_alphas=10)
    assert none.n_snvs_used == 0 and np.isnan(none.r) and np.isnan(none.predictions).all()
    preds, summary = predixcan.elastic_net_genes(
        ["g1", "g2"], [d, d[:, [3]]], np.vstack([y, y]), outer_k=4, inner_k=3, n_alphas=10
    )
    assert preds.shape == (2, 40) and list(preds.index) == ["g1", "g2"]
    assert summary["n_snvs_used"].tolist()[1] == 0 and np.isnan(summary["r"].iloc[1])


# ----------------------------------------------------------------------------------------------
# Variant IDs
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "vid",
    ["chr22_123_A_G_b37", "22_123_A_G_b38", "22:123:A:G", "chr22:123:A:G", "chr22_123_a_g_b38"],
)
def test_parse_variant_id_styles(vid):
    assert predixcan.parse_variant_id(vid) == ("22", 123, "A", "G")


def test_parse_variant_id_other():
    assert predixcan.parse_variant_id("chrX_5_AT_A_b38") == ("X", 5, "AT", "A")
    assert predixcan.parse_variant_id("rs12345") is None
    assert predixcan.parse_variant_id("22-123-A-G") is None


# ----------------------------------------------------------------------------------------------
# PredictDB
# ----------------------------------------------------------------------------------------------
def _make_db(path, rows, extra=None):
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE weights (gene TEXT, rsid TEXT, varID TEXT, ref_allele TEXT, "
        "eff_allele TEXT, weight DOUBLE)"
    )
    con.executemany("INSERT INTO weights VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.execute(
        'CREATE TABLE extra (gene TEXT, genename TEXT, "n.snps.in.model" INTEGER, '
        '"pred.perf.R2" DOUBLE, "pred.perf.pval" DOUBLE, "pred.perf.qval" DOUBLE)'
    )
    genes = sorted({r[0] for r in rows})
    extra = extra or [(g, "NAME_" + g, sum(r[0] == g for r in rows), 0.1, 0.01, 0.02) for g in genes]
    con.executemany("INSERT INTO extra VALUES (?, ?, ?, ?, ?, ?)", extra)
    con.commit()
    con.close()
    return path


OUR_IDS = ["chr22:100:A:G", "chr22:200:C:T", "chr22:300:A:T", "chr22:400:G:A", "chr22:500:C:G"]
DOSAGE = np.array(
    [
        [0, 1, 2, 0, 1],
        [1, 0, 1, 2, 0],
        [2, 2, 0, 1, 1],
        [0, 1, 1, 1, 2],
    ],
    dtype=float,
)


def test_predictdb_flip_equals_unflipped_on_complemented_dosage(tmp_path):
    w = 0.37
    plain = _make_db(tmp_path / "plain.db", [("ENSG1", "rs1", "chr22_100_A_G_b38", "A", "G", w)])
    flipped = _make_db(tmp_path / "flip.db", [("ENSG1", "rs1", "chr22_100_G_A_b38", "G", "A", w)])
    d = DOSAGE[:, :1]
    ids = OUR_IDS[:1]
    a = predixcan.predict_predictdb(plain, d, ids)
    b = predixcan.predict_predictdb(flipped, d, ids)
    c = predixcan.predict_predictdb(plain, 2.0 - d, ids)  # complemented dosages, unflipped model
    np.testing.assert_allclose(a.predictions["ENSG1"], w * d[:, 0])
    np.testing.assert_allclose(b.predictions["ENSG1"], w * (2.0 - d[:, 0]))
    np.testing.assert_allclose(b.predictions["ENSG1"], c.predictions["ENSG1"])
    assert a.counts[["matched", "flipped", "unmatched"]].iloc[0].tolist() == [1, 0, 0]
    assert b.counts[["matched", "flipped", "unmatched"]].iloc[0].tolist() == [1, 1, 0]


def test_predictdb_hand_computed_counts_and_styles(tmp_path):
    rows = [
        # gene 1: direct (b37-style ID without chr), flipped, strand-flipped, ambiguous A/T, unmatched
        ("ENSG1", "rs1", "22_100_A_G_b37", "A", "G", 0.5),
        ("ENSG1", "rs2", "chr22_200_T_C_b38", "T", "C", -1.0),  # our C>T: flipped
        ("ENSG1", "rs3", "chr22_400_C_T_b38", "C", "T", 2.0),  # our G>A: other strand, same orientation
        ("ENSG1", "rs4", "chr22_300_A_T_b38", "A", "T", 0.25),  # A/T ambiguous, matched as written
        ("ENSG1", "rs5", "chr22_999_A_C_b38", "A", "C", 9.0),  # absent
        # gene 2: only reachable through the rsID, and an allele mismatch at a known position
        ("ENSG2", "rs6", "weird_id", "C", "G", 1.5),
        ("ENSG2", "rs7", "chr22_100_A_C_b38", "A", "C", 3.0),
    ]
    db = _make_db(tmp_path / "m.db", rows)
    res = predixcan.predict_predictdb(db, DOSAGE, OUR_IDS, rsid_map={"rs6": "chr22:500:C:G"})
    d = DOSAGE
    g1 = 0.5 * d[:, 0] - 1.0 * (2 - d[:, 1]) + 2.0 * d[:, 3] + 0.25 * d[:, 2]
    g2 = 1.5 * d[:, 4]
    np.testing.assert_allclose(res.predictions["ENSG1"], g1)
    np.testing.assert_allclose(res.predictions["ENSG2"], g2)
    cnt = res.counts.set_index("gene")
    cols = ["n_weights", "matched", "flipped", "strand_flipped", "ambiguous", "unmatched"]
    assert cnt.loc["ENSG1", cols].tolist() == [5, 4, 1, 1, 1, 1]
    assert cnt.loc["ENSG2", ["n_weights", "matched", "flipped", "unmatched"]].tolist() == [2, 1, 0, 1]
    assert cnt.loc["ENSG1", "genename"] == "NAME_ENSG1"

    # without the rsID map the weird varID cannot be placed
    res2 = predixcan.predict_predictdb(db, DOSAGE, OUR_IDS)
    assert res2.counts.set_index("gene").loc["ENSG2", "matched"] == 0
    np.testing.assert_allclose(res2.predictions["ENSG2"], 0.0)

    # dropping ambiguous SNVs removes the A/T term
    res3 = predixcan.predict_predictdb(db, DOSAGE, OUR_IDS, drop_ambiguous=True, genes=["ENSG1"])
    np.testing.assert_allclose(res3.predictions["ENSG1"], g1 - 0.25 * d[:, 2])
    assert list(res3.predictions.columns) == ["ENSG1"]
    assert res3.counts.set_index("gene").loc["ENSG1", "unmatched"] == 2


def test_predictdb_id_styles_of_our_variants_and_dataframe_input(tmp_path):
    db = _make_db(tmp_path / "m.db", [("ENSG1", "rs1", "chr22_100_A_G_b38", "A", "G", 2.0)])
    for ids in (["22:100:A:G"], ["chr22_100_A_G_b37"], ["22_100_A_G_b38"], ["chr22:100:A:G"]):
        df = pd.DataFrame(DOSAGE[:, :1], index=["i1", "i2", "i3", "i4"], columns=ids)
        res = predixcan.predict_predictdb(db, df)
        assert list(res.predictions.index) == ["i1", "i2", "i3", "i4"]
        np.testing.assert_allclose(res.predictions["ENSG1"], 2.0 * DOSAGE[:, 0])
    # missing dosage: mean-imputed
    d = DOSAGE[:, :1].copy()
    d[0, 0] = np.nan
    res = predixcan.predict_predictdb(db, d, ["22:100:A:G"])
    assert res.predictions["ENSG1"].iloc[0] == pytest.approx(2.0 * np.mean(d[1:, 0]))


def test_load_predictdb_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        predixcan.load_predictdb(tmp_path / "missing.db")
    bad = tmp_path / "bad.db"
    sqlite3.connect(bad).execute("CREATE TABLE x (a INTEGER)").connection.close()
    with pytest.raises(InputError, match="not a PredictDB"):
        predixcan.load_predictdb(bad)
    w, extra = predixcan.load_predictdb(
        _make_db(tmp_path / "ok.db", [("ENSG1", "rs1", "chr22_100_A_G_b38", "A", "G", 2.0)])
    )
    assert list(w.columns) == ["gene", "rsid", "varID", "ref_allele", "eff_allele", "weight"]
    assert "n.snps.in.model" in extra.columns
