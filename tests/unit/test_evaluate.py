"""EVALUATE (seq2func.evaluate, bin/evaluate.py) against scipy.stats / scikit-learn and hand-built
gene-level cases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from seq2func.errors import InputError
from seq2func.evaluate import (
    evaluate,
    gene_level,
    predict,
    read_expression,
    read_tss_bed,
    track_metrics,
    tss_bin_sums,
    tss_windows,
)
from seq2func.prepare import open_dataset
from seq2func.train import model_from_checkpoint, pretrain

try:
    from test_train import BIN, CROP, FAST, L, make_dataset, small_config
except ImportError:  # pragma: no cover - package-style test layout
    from .test_train import BIN, CROP, FAST, L, make_dataset, small_config

REPO = Path(__file__).resolve().parents[2]
TRACKS = [dict(track_id=f"t{k}", cell_type="c", assay="CAGE" if k else "ATAC") for k in range(3)]


# --------------------------------------------------------------------------- track level
def test_track_metrics_match_scipy():
    rng = np.random.default_rng(0)
    obs = rng.gamma(1.0, 3.0, size=(40, 6, 3)).astype(np.float32)
    pred = (obs + rng.normal(0, 2, size=obs.shape)).astype(np.float32)
    pred[..., 2] = np.abs(pred[..., 2])
    obs[3, 2, 1] = np.nan  # masked bins are skipped
    obs[7, :, 1] = np.nan
    tm = track_metrics(pred, obs, TRACKS)
    assert list(tm["track_id"]) == ["t0", "t1", "t2"]
    for t in range(3):
        p, o = pred[..., t].ravel().astype(float), obs[..., t].ravel().astype(float)
        ok = np.isfinite(o)
        p, o = p[ok], o[ok]
        assert tm["n"][t] == ok.sum()
        assert tm["pearson_r"][t] == pytest.approx(pearsonr(p, o).statistic, abs=1e-10)
        lp, lo = np.log1p(np.maximum(p, 0)), np.log1p(np.maximum(o, 0))
        assert tm["pearson_r_log1p"][t] == pytest.approx(pearsonr(lp, lo).statistic, abs=1e-10)
        assert tm["spearman_r"][t] == pytest.approx(spearmanr(p, o).statistic, abs=1e-10)
    assert tm["auroc"].isna().all()


def test_classification_metrics_match_sklearn():
    rng = np.random.default_rng(1)
    labels = (rng.random((200, 1, 2)) < 0.3).astype(np.float32)
    logits = (labels * 1.5 + rng.normal(0, 1, labels.shape)).astype(np.float32)
    labels[5, 0, 0] = np.nan
    tm = track_metrics(logits, labels, TRACKS[:2], classification=True)
    for t in range(2):
        ok = np.isfinite(labels[:, 0, t])
        y, s = labels[ok, 0, t] > 0.5, logits[ok, 0, t]
        assert tm["auroc"][t] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert tm["auprc"][t] == pytest.approx(average_precision_score(y, s), abs=1e-12)


# --------------------------------------------------------------------------- gene level
def test_tss_bin_sums_hand_built(tmp_path):
    # windows: chr1 [0,1000) and [300,1300), chr2 [0,1000); crop 100 bp, 100 bp bins -> 8 bins,
    # window w's target region starts at start + 100
    regions = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "start": [0, 300, 0], "end": [1000, 1300, 1000]})
    w, b, t = np.meshgrid(np.arange(3), np.arange(8), np.arange(2), indexing="ij")
    values = (100.0 * w + 10.0 * b + t).astype(np.float32)  # (3 windows, 8 bins, 2 tracks)
    bed = tmp_path / "tss.bed"
    bed.write_text(
        "1\t450\t451\tgA\t0\t+\n"      # window 0, bin 3 (window 1 would put it in bin 0: no room for bin -1)
        "chr1\t850\t851\tgB\t0\t-\n"   # window 0 bin 7 has no bin 8 -> window 1, bin 4
        "chr1\t720\t721\tgC\t0\t+\n"   # bin 6 of window 0, bin 3 of window 1: the more central one (window 1)
        "chr2\t250\t251\tgD\t0\t+\n"   # two TSSs of one gene: bins 1 and 4 of window 2, summed
        "chr2\t550\t551\tgD\t0\t+\n"
        "chrX\t100\t101\tgE\t0\t+\n"   # no window on chrX
        "chr1\t50\t51\tgF\t0\t+\n"     # inside the cropped margin: no target bin
    )
    tss = read_tss_bed(bed)
    sites = tss_windows(regions, tss, crop_bp=100, bin_size=100, n_bins=8, tss_bins=1)
    got = {(r.gene_id, r.window, r.bin) for r in sites.itertuples()}
    assert got == {("gA", 0, 3), ("gB", 1, 4), ("gC", 1, 3), ("gD", 2, 1), ("gD", 2, 4)}
    sums = tss_bin_sums(values, sites, tss_bins=1)
    expect = {"gA": 90, "gB": 300 + 120, "gC": 300 + 90, "gD": (600 + 30) + (600 + 120)}
    for g, v in expect.items():
        n_sites = 2 if g == "gD" else 1
        assert sums.loc[g].tolist() == [v, v + 3 * n_sites], g
    # tss_bins=0: the TSS bin alone (gB now fits in window 0's last bin, but window 1 is more central)
    sites0 = tss_windows(regions, tss, crop_bp=100, bin_size=100, n_bins=8, tss_bins=0)
    s0 = tss_bin_sums(values, sites0, tss_bins=0)
    assert s0.loc["gA"].tolist() == [30, 31] and s0.loc["gB"].tolist() == [140, 141]
    # gene_level: CAGE tracks only, against observed expression (mean over individuals)
    expr_file = tmp_path / "expr.tsv"
    expr_file.write_text("gene_id\ti1\ti2\ti3\ngA\t1\t2\t3\ngB\t2\t2\tNA\ngC\t5\t7\t9\ngD\t0\t1\t2\ngZ\t9\t9\t9\n")
    expr = read_expression(expr_file)
    assert expr["gB"] == 2 and expr["gC"] == 7 and expr["gZ"] == 9
    tracks = [dict(track_id="atac", assay="ATAC"), dict(track_id="cage", assay="cage")]
    long, mets = gene_level(values, values, regions, tracks, tss, 100, 100, 1, expr)
    assert list(mets["track_id"]) == ["cage"] and mets["n_genes"][0] == 4
    d = long.set_index("gene_id")
    assert d.loc["gC", "predicted"] == 390 + 3 and d.loc["gC", "observed"] == 7
    assert mets["pearson_r"][0] == pytest.approx(pearsonr(d["predicted"], d["observed"]).statistic)
    # without expression: observed = the same TSS-bin sums of the observed targets
    long2, mets2 = gene_level(values, values * 2, regions, tracks, tss, 100, 100, 1, None)
    assert (long2["observed"] == 2 * long2["predicted"]).all() and mets2["pearson_r"][0] == pytest.approx(1.0)
    # with the simulated truth expression of the track's cell type: R against the truth, the truth's
    # own R against the observed values (the ceiling) and the fraction of it (scipy as the oracle)
    truth = pd.DataFrame({"c": [0.5, 3.0, 2.0, 1.0, 7.0]}, index=pd.Index(["gA", "gB", "gC", "gD", "gZ"], name="gene_id"))
    tracks_c = [dict(track_id="atac", assay="ATAC", cell_type="c"), dict(track_id="cage", assay="cage", cell_type="c")]
    long3, mets3 = gene_level(values, values, regions, tracks_c, tss, 100, 100, 1, expr, truth_log2x=truth)
    d3 = long3.set_index("gene_id")
    t = truth["c"].reindex(d3.index)
    row = mets3.iloc[0]
    assert row["truth_n_genes"] == 4
    assert row["truth_spearman_r"] == pytest.approx(spearmanr(d3["predicted"], t).statistic)
    assert row["truth_pearson_r"] == pytest.approx(pearsonr(np.log1p(d3["predicted"]), t).statistic)
    assert row["ceiling_spearman_r"] == pytest.approx(spearmanr(t, d3["observed"]).statistic)
    assert row["ceiling_pearson_r"] == pytest.approx(pearsonr(t, d3["observed"]).statistic)
    assert row["fraction_of_ceiling"] == pytest.approx(row["spearman_r"] / row["ceiling_spearman_r"])
    # a track of a cell type the truth does not know gets no truth columns
    _, mets4 = gene_level(values, values, regions, tracks, tss, 100, 100, 1, expr, truth_log2x=truth)
    assert "truth_spearman_r" not in mets4 or mets4["truth_spearman_r"].isna().all()


def test_tss_bed_errors(tmp_path):
    bad = tmp_path / "bad.bed"
    bad.write_text("chr1\tx\t5\tg\t0\t+\n")
    with pytest.raises(InputError, match="line 1"):
        read_tss_bed(bad)
    (tmp_path / "e.tsv").write_text("gene\ta\n")
    with pytest.raises(InputError, match="gene_id"):
        read_expression(tmp_path / "e.tsv")


# --------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("ev")
    ds = make_dataset(root)
    pretrain(ds, small_config(), root / "m", tracks=["atac", "cage_p", "cage_m"], **{**FAST, "epochs": 1})
    return ds, root / "m" / "model.pt", root


def test_predict_rc_average_by_hand(trained):
    ds_path, ckpt, _ = trained
    ds = open_dataset(ds_path)
    model, ck = model_from_checkpoint(ckpt)
    idx = ds.split("test")
    fwd = predict(model, ds, split="test", batch_size=3)
    avg = predict(model, ds, split="test", batch_size=3, rc_average=True, rc_perm=[0, 2, 1])
    assert fwd.shape == avg.shape == (idx.size, (L - 2 * CROP) // BIN, 3)
    comp = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
    with torch.no_grad():
        for j, g in enumerate(idx[:2]):
            codes = np.array(ds.sequences[g])
            x = torch.nn.functional.one_hot(torch.from_numpy(codes).long(), 5)[:, :4].T[None].float()
            xr = torch.nn.functional.one_hot(torch.from_numpy(comp[codes[::-1]].copy()).long(), 5)[:, :4].T[None].float()
            y, yr = model(x)[0].numpy(), model(xr)[0].numpy()
            np.testing.assert_allclose(fwd[j], y, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(avg[j], 0.5 * (y + yr[::-1][:, [0, 2, 1]]), rtol=1e-5, atol=1e-6)
    assert [t["rc_index"] for t in ck["tracks"]] == [0, 2, 1]


def test_evaluate_end_to_end(trained, tmp_path):
    ds_path, ckpt, root = trained
    ds = open_dataset(ds_path)
    idx = ds.split("test")
    starts = ds.regions["start"].to_numpy()[idx]
    genes = [f"g{k}" for k in range(8)]
    tss_pos = [int(starts[k % idx.size]) + CROP + 300 + 700 * (k // idx.size) for k in range(8)]
    (tmp_path / "tss.bed").write_text("".join(f"chr3\t{p}\t{p + 1}\t{g}\t0\t+\n" for g, p in zip(genes, tss_pos)))
    rng = np.random.default_rng(0)
    expr = pd.DataFrame(rng.gamma(2.0, 1.0, size=(8, 5)), columns=[f"ind{i}" for i in range(5)])
    expr.insert(0, "gene_id", genes)
    expr.to_csv(tmp_path / "expr.tsv", sep="\t", index=False)
    out = tmp_path / "eval"
    summ = evaluate(ckpt, ds_path, out, tss_bed=tmp_path / "tss.bed", expression=tmp_path / "expr.tsv", device="cpu")
    for f in ("track_metrics.tsv", "gene_predictions.tsv", "gene_metrics.tsv", "metrics.json", "track_r.png",
              "scatter.png", "gene_scatter.png"):
        assert (out / f).is_file(), f
    for f in ("track_r.png", "scatter.png", "gene_scatter.png"):
        assert (out / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # track metrics recomputed with scipy from the predictions and the stored targets
    model, _ = model_from_checkpoint(ckpt)
    pred = predict(model, ds, split="test")
    obs = np.asarray(ds.targets[idx], dtype=np.float32)[:, :, [0, 2, 3]]
    tm = pd.read_csv(out / "track_metrics.tsv", sep="\t")
    for t in range(3):
        assert tm["pearson_r"][t] == pytest.approx(pearsonr(pred[..., t].ravel(), obs[..., t].ravel()).statistic, abs=1e-5)
    # gene level: CAGE tracks only, TSS bins (bin +- 1) summed, against the mean over individuals
    gm = pd.read_csv(out / "gene_metrics.tsv", sep="\t")
    assert list(gm["track_id"]) == ["cage_p", "cage_m"] and (gm["n_genes"] == 8).all()
    gp = pd.read_csv(out / "gene_predictions.tsv", sep="\t")
    mean_expr = expr.set_index("gene_id").mean(axis=1)
    for k, g in enumerate(genes):
        w = k % idx.size
        b = (tss_pos[k] - (int(starts[w]) + CROP)) // BIN
        row = gp[(gp["gene_id"] == g) & (gp["track_id"] == "cage_p")].iloc[0]
        assert row["predicted"] == pytest.approx(pred[w, b - 1:b + 2, 1].sum(), rel=1e-5)
        assert row["observed"] == pytest.approx(mean_expr[g], rel=1e-7)
    d = gp[gp["track_id"] == "cage_m"]
    assert gm["pearson_r"][1] == pytest.approx(pearsonr(d["predicted"], d["observed"]).statistic, abs=1e-5)
    m = json.loads((out / "metrics.json").read_text())
    assert m["n_windows"] == idx.size and m["gene_level"]["n_genes"] == 8 and m["mean_pearson_r"] == pytest.approx(tm["pearson_r"].mean())
    assert summ["split"] == "test"
    # re-running replaces our own output; a foreign directory is refused
    evaluate(ckpt, ds_path, out, device="cpu", plots=False)
    assert not (out / "scatter.png").exists()
    (tmp_path / "foreign").mkdir()
    with pytest.raises(InputError, match="not a seq2func output"):
        evaluate(ckpt, ds_path, tmp_path / "foreign", device="cpu")


def test_evaluate_cli_bad_input_is_one_line(trained, tmp_path):
    ds_path, ckpt, _ = trained
    (tmp_path / "tss.bed").write_text("chr3\tnot_a_number\t2\tg\t0\t+\n")
    cmd = [sys.executable, str(REPO / "bin" / "evaluate.py"), "--checkpoint", str(ckpt), "--dataset", str(ds_path),
           "--outdir", str(tmp_path / "e"), "--tss-bed", str(tmp_path / "tss.bed"), "--device", "cpu"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: ") and "tss.bed: line 1" in lines[0]
    assert not (tmp_path / "e").exists()


def test_evaluate_peak_classifier_auroc(tmp_path):
    """Peak mode + resnet: AUROC/AUPRC in the outputs equal scikit-learn's on the model's logits."""
    try:
        from test_data_fixtures import write_fasta, write_samplesheet
    except ImportError:  # pragma: no cover
        from .test_data_fixtures import write_fasta, write_samplesheet
    from seq2func.models import load_config
    from seq2func.prepare import PrepareParams, prepare_dataset

    chroms = {"chr1": 20_000, "chr2": 8_000, "chr3": 8_000}
    write_fasta(tmp_path / "g.fa", chroms, seed=3, n_runs=())
    rng = np.random.default_rng(0)
    for name in "AB":
        with open(tmp_path / f"{name}.bed", "w") as fh:
            for c, n in chroms.items():
                for s in sorted(rng.integers(600, n - 700, 8)):
                    fh.write(f"{c}\t{s}\t{s + 150}\n")
    write_samplesheet(tmp_path / "s.csv", [dict(track_id=n, cell_type="c", assay="ATAC", file=f"{n}.bed", role="compendium",
                                                strand=".") for n in "AB"])
    prepare_dataset(tmp_path / "g.fa", tmp_path / "s.csv", tmp_path / "ds", params=PrepareParams(mode="peak", seq_length=1000, bin_size=100),
                    test_chroms="chr3", valid_chroms="chr2")
    cfg = load_config("resnet_peak")
    cfg.update(stem_channels=8, stage_channels=[8, 8, 8], hidden=16, blocks_per_stage=1)
    res = pretrain(tmp_path / "ds", cfg, tmp_path / "m", **{**FAST, "epochs": 1, "batch_size": 8})
    assert res.summary["metric"] == "valid_auroc" and res.summary["loss"] == "bce"
    summ = evaluate(tmp_path / "m" / "model.pt", tmp_path / "ds", tmp_path / "ev", device="cpu", plots=False)
    ds = open_dataset(tmp_path / "ds")
    model, _ = model_from_checkpoint(tmp_path / "m" / "model.pt")
    logits = predict(model, ds, split="test")
    labels = np.asarray(ds.targets[ds.split("test")], dtype=np.float32)
    assert logits.shape == labels.shape == (ds.split("test").size, 1, 2)
    tm = pd.read_csv(tmp_path / "ev" / "track_metrics.tsv", sep="\t")
    for t in range(2):
        y = labels[:, 0, t] > 0.5
        assert tm["auroc"][t] == pytest.approx(roc_auc_score(y, logits[:, 0, t]), abs=1e-6)
        assert tm["auprc"][t] == pytest.approx(average_precision_score(y, logits[:, 0, t]), abs=1e-6)
    assert summ["mean_auroc"] == pytest.approx(tm["auroc"].mean())
