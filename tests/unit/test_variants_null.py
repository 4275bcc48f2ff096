"""seq2func.variants.null: empirical p-values and BH against brute force and statsmodels; calibration;
random null SNVs match the FASTA."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from seq2func.variants.null import add_calibration, bh, calibration, empirical_p, random_snvs


def test_empirical_p_equals_brute_force():
    rng = np.random.default_rng(0)
    null = rng.normal(size=500)
    v = np.concatenate([rng.normal(size=50) * 3, [np.nan, 0.0]])
    p, pct = empirical_p(v, null)
    for x, pi, qi in zip(v, p, pct):
        if np.isnan(x):
            assert np.isnan(pi) and np.isnan(qi)
            continue
        assert pi == pytest.approx((1 + (np.abs(null) >= abs(x)).sum()) / (null.size + 1))
        assert qi == pytest.approx(100 * (np.abs(null) < abs(x)).mean())


def test_bh_equals_statsmodels():
    p = np.random.default_rng(1).uniform(size=200) ** 2
    p[5] = np.nan
    q = bh(p)
    ok = np.isfinite(p)
    np.testing.assert_allclose(q[ok], multipletests(p[ok], method="fdr_bh")[1], rtol=0, atol=1e-12)
    assert np.isnan(q[5])


def test_calibration_of_a_continuous_null_is_near_alpha():
    keys = [f"null:{i}" for i in range(4000)]
    fr = []
    for seed in range(4):  # each about 0.0495 +- 0.0034 (p = (1 + #{|null| >= |s|}) / (N + 1), N = 2000)
        rng = np.random.default_rng(seed)
        null = pd.DataFrame({"key": np.repeat(keys, 2), "track_id": np.tile(["a", "b"], 4000), "SAD": rng.normal(size=8000)})
        c = calibration(null, ["SAD"], seed=seed)
        fr.append(c["fraction_below_alpha"]["SAD"])
    assert abs(np.mean(fr) - 0.0495) < 0.005 and c["n_null_variants"] == 4000
    scores = pd.DataFrame({"key": ["v1", "v2"], "track_id": ["a", "a"], "SAD": [10.0, 0.0]})
    out = add_calibration(scores, null, ["SAD"])
    assert out["pvalue_SAD"].iloc[0] == pytest.approx(1 / 4001) and out["percentile_SAD"].iloc[0] == 100.0
    assert out["pvalue_SAD"].iloc[1] == 1.0 and list(out["qvalue_SAD"]) == pytest.approx([2 / 4001, 1.0])


def test_random_snvs_match_the_fasta(tmp_path):
    import pysam

    from seq2func.prepare.genome import Fasta

    seq = "N" * 100 + "".join(np.random.default_rng(3).choice(list("ACGTacgt"), size=2000)) + "N" * 100
    (tmp_path / "g.fa").write_text(">c1\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    pysam.faidx(str(tmp_path / "g.fa"))
    fa = Fasta(tmp_path / "g.fa")
    df = random_snvs(fa, "c1", 300, seed=5)
    assert len(df) == 300 and df["key"].is_unique and df.equals(random_snvs(fa, "c1", 300, seed=5))
    for r in df.itertuples():
        assert seq[r.pos - 1].upper() == r.ref and r.alt in "ACGT" and r.alt != r.ref


def test_shuffled_null_scores_each_draw_per_track_seeded(tmp_path):
    """Each null draw: a real variant's window dinucleotide-shuffled, its alleles written at its place;
    scored per track like real variants; seeded."""
    import pysam
    import torch

    from seq2func.models import build_model, load_config
    from seq2func.predict import Predictor
    from seq2func.variants.null import shuffled_null_scores

    rng = np.random.default_rng(4)
    seq = "".join(rng.choice(list("ACGT"), size=12000))
    (tmp_path / "g.fa").write_text(">c1\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    pysam.faidx(str(tmp_path / "g.fa"))
    torch.manual_seed(0)
    model = build_model(load_config("basenji_tiny") | {"n_tracks": 2, "seq_len": 4096}).eval()
    pred = Predictor(model, batch_size=8)
    variants = pd.DataFrame({"chrom": ["c1", "c1"], "pos": [5001, 7001], "ref": [seq[5000], seq[7000:7003]],
                             "alt": ["A" if seq[5000] != "A" else "C", seq[7000]]})
    variants["key"] = variants["chrom"] + ":" + variants["pos"].astype(str) + ":" + variants["ref"] + ":" + variants["alt"]
    tracks = [{"track_id": "t0", "transform": "sum"}, {"track_id": "t1", "transform": "sum;log1p"}]
    a = shuffled_null_scores(pred, variants, tmp_path / "g.fa", tracks, 6, scores=["SAD", "D2"], seed=3)
    b = shuffled_null_scores(pred, variants, tmp_path / "g.fa", tracks, 6, scores=["SAD", "D2"], seed=3)
    assert len(a) == 12 and list(a["track_id"][:2]) == ["t0", "t1"] and a.equals(b)
    assert np.isfinite(a[["SAD", "D2"]].to_numpy()).all() and (a["D2"] >= 0).all()
