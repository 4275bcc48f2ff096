"""eQTL slopes (vs statsmodels), ISM, forward selection of drivers, support, distances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import torch
from torch import nn

from seq2func.personal.drivers import (
    eqtl_ols,
    forward_selection,
    ism_personal,
    ism_reference,
    snv_alleles,
    supported,
    tss_distance,
)
from seq2func.personal.haplotypes import Haplotypes
from seq2func.personal.predict import GenePredictor

torch.set_num_threads(1)


def test_eqtl_slope_matches_statsmodels():
    rng = np.random.default_rng(3)
    n, m = 120, 6
    d = rng.binomial(2, rng.uniform(0.05, 0.5, m), size=(n, m)).astype(float)
    d[:, 5] = 1.0  # monomorphic
    y = 0.4 * d[:, 0] - 0.3 * d[:, 2] + rng.normal(0, 1, n)
    y[[3, 17]] = np.nan
    res = eqtl_ols(d, y)
    ok = np.isfinite(y)
    for j in range(5):
        fit = sm.OLS(y[ok], sm.add_constant(d[ok, j])).fit()
        assert res["slope"][j] == pytest.approx(fit.params[1], rel=1e-10)
        assert res["intercept"][j] == pytest.approx(fit.params[0], rel=1e-10)
        assert res["se"][j] == pytest.approx(fit.bse[1], rel=1e-8)
        assert res["t"][j] == pytest.approx(fit.tvalues[1], rel=1e-8)
        assert res["p"][j] == pytest.approx(fit.pvalues[1], rel=1e-6)
    assert res["n"][0] == ok.sum()
    assert res.loc[5, ["slope", "se", "p"]].isna().all()


def test_forward_selection_finds_known_drivers():
    rng = np.random.default_rng(11)
    n, m = 300, 40
    d = rng.binomial(2, rng.uniform(0.1, 0.5, m), size=(n, m)).astype(float)
    d[:, 7] = d[:, 3]  # perfect LD with a driver, but a tiny ISM
    ism = rng.normal(0, 0.01, m)
    ism[3], ism[12], ism[7] = 1.0, -0.6, 0.001
    target = d[:, 3] * 1.0 - 0.6 * d[:, 12] + rng.normal(0, 0.05, n)
    sel = forward_selection(d, ism, target, r2_stop=0.9)
    assert sel.order[:2] == [3, 12]
    assert sel.stopped == "r2 reached" and sel.r_partial[-1] ** 2 >= 0.9
    assert 7 not in sel.order
    assert np.all(np.diff(sel.r_partial) > 0) and sel.gains[0] == pytest.approx(sel.r_partial[0])
    # stricter stop: keeps adding while R improves by min_gain, never past the candidates
    sel2 = forward_selection(d, ism, target, r2_stop=1.0, min_gain=1e-4)
    assert sel2.order[:2] == [3, 12] and sel2.stopped in ("no improvement", "no candidates")
    assert sel2.r_full == pytest.approx(np.corrcoef(d @ ism, target)[0, 1])
    # max_drivers, constant target, NaN ISM
    assert forward_selection(d, ism, target, r2_stop=1.0, max_drivers=1).order == [3]
    assert forward_selection(d, ism, np.ones(n)).order == []
    ism_nan = ism.copy()
    ism_nan[3] = np.nan
    assert 3 not in forward_selection(d, ism_nan, target).order


def test_forward_selection_sign_matters():
    """An SNV whose term anti-correlates with the model's predictions is never a driver."""
    rng = np.random.default_rng(2)
    d = rng.binomial(2, 0.3, size=(200, 3)).astype(float)
    target = d[:, 0] + rng.normal(0, 0.1, 200)
    sel = forward_selection(d, np.array([-1.0, 0.0, 0.0]), target)
    assert sel.order == []


def test_supported_and_distance():
    s = supported(np.array([0.5, -0.2, 0.3, 0.0, np.nan]), np.array([0.1, 0.4, np.nan, 1.0, 1.0]))
    assert s.tolist() == [True, False, pd.NA, pd.NA, pd.NA]
    assert tss_distance(np.array([101, 91, 111]), 100, "+").tolist() == [0, -10, 10]
    assert tss_distance(np.array([101, 91, 111]), 100, "-").tolist() == [0, 10, -10]


class CountG(nn.Module):
    """Scalar stub: 1 + weighted count of G in a few positions around the centre."""

    output_kind = "scalar"

    def __init__(self, L):
        super().__init__()
        self.config = {"name": "stub", "seq_len": L, "n_tracks": 1}
        w = torch.zeros(L)
        w[L // 2 - 2] = 1.0
        w[L // 2 + 3] = 2.0
        w[L // 2 + 4] = -0.5
        self.register_buffer("w", w)

    def forward(self, x):
        return 1.0 + (x[:, 2] * self.w).sum(-1, keepdim=True)


def test_ism_reference_and_personal_backgrounds():
    # window of 21 bp, TSS at offset 10; SNVs at offsets 8 (A>G, +1), 13 (C>G, +2), 14 (G>A: removes G, +0.5)
    ref = "AAAAAAAAAAAAACGAAAAAA"
    assert ref[13] == "C" and ref[14] == "G"
    snv_pos = [9, 14, 15]  # 1-based
    alts = ["G", "G", "A"]
    h1 = ref[:8] + "G" + ref[9:]  # SNV 1
    h2 = ref[:13] + "G" + "A" + ref[15:]  # SNV 2 and 3
    h3 = ref[:8] + "G" + ref[9:13] + "G" + ref[14:]  # SNV 1 and 2: the G at 13 sits next to G at 14
    unique = [ref, h1, h2, h3]
    inverse = np.array([0, 1, 2, 3, 1, 1])  # 3 individuals
    am = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 1], [1, 1, 0], [1, 0, 0], [1, 0, 0]], dtype=np.int16)
    haps = Haplotypes(chrom="c", start=1, end=21, reference=ref, samples=["a", "b", "c"], unique_sequences=unique,
                      inverse=inverse, allele_matrix=am,
                      alt_dosage=np.array([[1, 0, 0], [1, 1, 1], [2, 0, 0]], np.int8), snv_columns=np.arange(3),
                      _variant_columns={"chrom": ["c"] * 3, "pos": np.array(snv_pos), "id": ["v1", "v2", "."],
                                        "ref": ["A", "C", "G"], "alt": alts, "is_snv": [True] * 3,
                                        "is_indel": [False] * 3, "haplotypes_alt": am.sum(0)})
    snvs = snv_alleles(haps)
    assert snvs["offset"].tolist() == [8, 13, 14] and snvs["variant_id"].tolist() == ["v1", "v2", "c:15:G:A"]
    pred = GenePredictor(CountG(21), columns=[0])
    ism, computed = ism_reference(pred, haps, 10, snvs)
    np.testing.assert_allclose(ism, [1.0, 2.0, 0.5])
    assert computed.all()
    ism_p, nb = ism_personal(pred, haps, 10, snvs, max_backgrounds=10)
    np.testing.assert_allclose(ism_p, [1.0, 2.0, 0.5])
    assert nb.tolist() == [4, 2, 1]  # carrier haplotypes: SNV1 on h1 x3 + h3; SNV2 on h2 + h3; SNV3 on h2
    # log space
    ism_l, _ = ism_reference(pred, haps, 10, snvs, combine="log_after")
    np.testing.assert_allclose(ism_l, np.log1p([1.5, 2.5, 1.0]) - np.log1p(0.5))  # ref value 1 - 0.5
