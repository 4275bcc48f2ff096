"""The personal benchmark on the tiny simulated world: chunks + merge (global BH), the CLI end to
end with a tiny basenji checkpoint, bad input, and personal-genome fine-tuning."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seq2func.personal.benchmark import RunParams, merge_chunks, run_chunk
from seq2func.personal.predict import load_predictor
from seq2func.personal.stats import benjamini_hochberg, personal_benchmark

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from seq2func.simulate import simulate_world

    d = tmp_path_factory.mktemp("world")
    simulate_world(d, scale="tiny", seed=1)
    return d


def _tracks(world):
    with open(world / "samplesheet.csv") as fh:
        rows = list(csv.DictReader(fh))
    return [dict(track_id=r["track_id"], cell_type=r["cell_type"], assay=r["assay"], transform=r["transform"],
                 role=r["role"], strand=r["strand"], dataset_index=i, rc_index=i) for i, r in enumerate(rows)]


def _save_basenji(path, world, **narrow):
    from seq2func.models import build_model, load_config
    from seq2func.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    tracks = _tracks(world)
    model = build_model(load_config("basenji_tiny") | {"n_tracks": len(tracks)} | narrow)
    save_checkpoint(path, model, kind="pretrain", tracks=tracks, train_params={},
                    dataset={"seq_length": model.config["seq_len"], "bin_size": 128, "crop_bp": 1024})
    return path


class GCProfile(nn.Module):
    """Fast profile stub with a finite receptive field: G+C count per 16-bp bin (track 1), A count (track 0)."""

    output_kind = "profile"

    def __init__(self):
        super().__init__()
        self.config = {"name": "stub", "seq_len": 2048, "bin_size": 16, "n_tracks": 2}
        self.w = nn.Parameter(torch.ones(1))

    def output_bins(self, L):
        return L // 16 - 16

    def receptive_field(self):
        return 16

    def forward(self, x):
        gc = (x[:, 1] + x[:, 2]).unfold(-1, 16, 16).sum(-1)[:, 8:-8]
        a = x[:, 0].unfold(-1, 16, 16).sum(-1)[:, 8:-8]
        return torch.stack([a, gc * self.w], -1)


STUB_TRACKS = [{"track_id": "ATAC_neuron", "cell_type": "neuron", "assay": "ATAC"},
               {"track_id": "CAGE_neuron", "cell_type": "neuron", "assay": "CAGE"}]
FAST = RunParams(window=20001, predixcan_outer_k=3, predixcan_inner_k=3, predixcan_n_alphas=10, max_backgrounds=4,
                 null_draws=50, seed=1)


def _genes(world, n_per_chrom=4):
    tss = pd.read_csv(world / "tss.bed", sep="\t", header=None)
    return tss.groupby(0).head(n_per_chrom)[3].tolist()


def test_chunked_merge_equals_unchunked(world, tmp_path):
    genes = _genes(world)  # 12 genes on 3 chromosomes
    pred, info = load_predictor(model=GCProfile(), tracks=STUB_TRACKS, cell_type="neuron", device="cpu")
    assert info["tracks"] == ["CAGE_neuron"]
    kw = dict(vcf=world / "cohort.vcf.gz", fasta=world / "genome.fa", tss=world / "tss.bed",
              expression=world / "expression.tsv", params=FAST, model_info=info)
    run_chunk(pred, out=tmp_path / "all", genes=genes, **kw)
    run_chunk(pred, out=tmp_path / "c1", chroms=["chr1"], genes=genes, **kw)
    run_chunk(pred, out=tmp_path / "c2", chroms=["chr2", "3"], genes=genes, **kw)  # '3' aliases chr3
    one = merge_chunks([tmp_path / "all"], tmp_path / "m_all", figures=False)
    two = merge_chunks([tmp_path / "c2", tmp_path / "c1"], tmp_path / "m_two", figures=True)
    a = pd.read_csv(tmp_path / "m_all" / "genes.tsv", sep="\t")
    b = pd.read_csv(tmp_path / "m_two" / "genes.tsv", sep="\t")
    assert len(a) == 12 and a["gene_id"].tolist() == b["gene_id"].tolist()
    pd.testing.assert_frame_equal(a, b)
    for f in ("drivers.tsv", "predictions.tsv", "null_draws.tsv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "m_all" / f, sep="\t"),
                                      pd.read_csv(tmp_path / "m_two" / f, sep="\t"))
    # BH is global: q over all genes' p, never per chunk
    np.testing.assert_allclose(b["q"], benjamini_hochberg(b["p"].to_numpy()), equal_nan=True)
    for m in ("reference", "textbook", "empirical"):
        np.testing.assert_allclose(b[f"q_{m}"], benjamini_hochberg(b[f"p_{m}"].to_numpy()), equal_nan=True)
    assert {k: one[k] for k in ("n_significant", "mean_r", "predixcan_mean_r")} == \
           {k: two[k] for k in ("n_significant", "mean_r", "predixcan_mean_r")}
    # the statistics equal stats.personal_benchmark on the merged predictions and the window SNVs
    from seq2func.personal.haplotypes import HaplotypeBuilder
    from seq2func.personal.predict import gene_window

    pr = pd.read_csv(tmp_path / "m_two" / "predictions.tsv", sep="\t").set_index("gene_id")
    expr = pd.read_csv(world / "expression.tsv", sep="\t").set_index("gene_id")
    samples = list(pr.columns[1:])
    dos = []
    with HaplotypeBuilder(world / "cohort.vcf.gz", world / "genome.fa", samples=samples) as hb:
        for g in b.itertuples():
            w = gene_window(g.gene_id, g.chrom, g.tss, g.strand, FAST.window)
            dos.append(hb.build(w.chrom, w.start, w.end).alt_dosage)
    ref = personal_benchmark(b["gene_id"].tolist(), pr.loc[b["gene_id"], samples].to_numpy(),
                             expr.loc[b["gene_id"], samples].to_numpy(), dos, n_draws=50, seed=1)
    np.testing.assert_allclose(b["p"], ref["p"], rtol=1e-9, equal_nan=True)
    assert (tmp_path / "m_two" / "figures" / "r_vs_log10p.png").stat().st_size > 1000
    # a gene in two chunks is refused
    from seq2func.errors import InputError

    with pytest.raises(InputError, match="more than one chunk"):
        merge_chunks([tmp_path / "all", tmp_path / "c1"], tmp_path / "m_bad", figures=False)
    assert not (tmp_path / "m_bad").exists()


def _load_cli():
    spec = importlib.util.spec_from_file_location("personal_cli", ROOT / "bin" / "personal.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cli_end_to_end_basenji_tiny(world, tmp_path):
    ckpt = _save_basenji(tmp_path / "model.pt", world)
    genes = tmp_path / "genes.txt"
    genes.write_text("\n".join(_genes(world, 1)) + "\n")  # one gene per chromosome
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    run = [PY, str(ROOT / "bin" / "personal.py"), "run", "--checkpoint", str(ckpt), "--vcf", str(world / "cohort.vcf.gz"),
           "--fasta", str(world / "genome.fa"), "--tss", str(world / "tss.bed"), "--expression",
           str(world / "expression.tsv"), "--genes-chunk", str(genes), "--out", str(tmp_path / "chunk"),
           "--cell-type", "neuron", "--device", "cpu", "--predixcan-outer-k", "3", "--predixcan-inner-k", "3",
           "--predixcan-n-alphas", "10", "--max-backgrounds", "3", "--null-draws", "50", "--seed", "1"]
    r = subprocess.run(run, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    for f in ("gene_stats.tsv", "null_draws.tsv", "predictions.tsv", "snvs.tsv.gz", "drivers.tsv", "chunk.json"):
        assert (tmp_path / "chunk" / f).is_file()
    meta = json.loads((tmp_path / "chunk" / "chunk.json").read_text())
    assert meta["model"]["tracks"] == ["CAGE_neuron"] and meta["model"]["crop_bp"] == 1024
    assert meta["counts"]["model_inputs"] < meta["counts"]["haplotypes"]
    r = subprocess.run([PY, str(ROOT / "bin" / "personal.py"), "merge", str(tmp_path / "chunk"), "--out",
                        str(tmp_path / "personal")], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path / "personal"
    for f in ("genes.tsv", "drivers.tsv", "snvs.tsv.gz", "predictions.tsv", "null_draws.tsv", "summary.json"):
        assert (out / f).is_file()
    from seq2func.personal.figures import FIGURES

    for f in FIGURES:
        assert (out / "figures" / f).read_bytes()[:4] == b"\x89PNG"
    s = json.loads((out / "summary.json").read_text())
    assert s["n_genes"] == 3 and s["n_individuals"] == 80
    for k in ("n_significant", "n_significant_negative", "mean_r", "predixcan_mean_r", "population_r"):
        assert k in s
    assert "frac_supported" in s["drivers"]
    g = pd.read_csv(out / "genes.tsv", sep="\t")
    assert g["n_unique_haplotypes"].gt(1).all() and g["r"].notna().all()
    snvs = pd.read_csv(out / "snvs.tsv.gz", sep="\t")
    assert snvs["ism_computed"].any() and (snvs.loc[~snvs["ism_computed"], "ism_reference"] == 0).all()


def test_sample_mismatch_is_one_line_error(world, tmp_path, capsys, monkeypatch):
    expr = pd.read_csv(world / "expression.tsv", sep="\t")
    bad = tmp_path / "expression.tsv"
    expr.rename(columns={"IND0003": "NOBODY"}).to_csv(bad, sep="\t", index=False)
    import seq2func.cli

    cli = _load_cli()
    monkeypatch.setattr(sys, "argv", ["personal.py", "run", "--checkpoint", str(tmp_path / "none.pt"), "--vcf",
                                      str(world / "cohort.vcf.gz"), "--fasta", str(world / "genome.fa"), "--tss",
                                      str(world / "tss.bed"), "--expression", str(bad), "--chrom", "chr1", "--out",
                                      str(tmp_path / "out"), "--device", "cpu"])
    pred, info = load_predictor(model=GCProfile(), tracks=STUB_TRACKS, cell_type="neuron", device="cpu")
    monkeypatch.setattr("seq2func.personal.predict.load_predictor", lambda *a, **k: (pred, info))
    with pytest.raises(SystemExit) as exc:
        seq2func.cli.run(cli.app)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"ERROR: {bad}: samples: 1 of 80 sample(s) not in the VCF")
    assert "NOBODY" in err[0]
    assert not (tmp_path / "out").exists()
    # --missing-samples drop goes on without that individual
    meta = run_chunk(pred, vcf=world / "cohort.vcf.gz", fasta=world / "genome.fa", tss=world / "tss.bed", expression=bad,
                     out=tmp_path / "dropped", genes=_genes(world, 1)[:1],
                     params=RunParams(window=4001, predixcan=False, ism="none", missing_samples="drop"))
    assert meta["n_samples"] == 79 and "NOBODY" not in meta["samples"]
    # a gene chunk naming a gene the annotation lacks
    from seq2func.errors import InputError

    with pytest.raises(InputError, match="1 gene\\(s\\) not in the TSS annotation: NOPE"):
        run_chunk(pred, vcf=world / "cohort.vcf.gz", fasta=world / "genome.fa", tss=world / "tss.bed",
                  expression=world / "expression.tsv", out=tmp_path / "x", genes=["NOPE"], gene_source="chunk.txt")


def _benchmark_heldout_r(world, ckpt, split: dict, out, rc: bool) -> list[float]:
    """The oracle of the fine-tuning tests: per training gene of ``split``, R over its held-out
    individuals of the benchmark's predictions (``run_chunk``, window 20,001 bp) against the world's
    expression, computed by numpy."""
    pred, _ = load_predictor(ckpt, cell_type="neuron", device="cpu", rc=rc)
    run_chunk(pred, vcf=world / "cohort.vcf.gz", fasta=world / "genome.fa", tss=world / "tss.bed",
              expression=world / "expression.tsv", out=out, genes=split["train_genes"],
              params=RunParams(window=20001, predixcan=False, ism="none"))
    pr = pd.read_csv(out / "predictions.tsv", sep="\t").set_index("gene_id")
    ex = pd.read_csv(world / "expression.tsv", sep="\t").set_index("gene_id")
    held = split["heldout_individuals"]
    return [np.corrcoef(pr.loc[gid, held].to_numpy(float), ex.loc[gid, held].to_numpy(float))[0, 1]
            for gid in split["train_genes"]]


def test_personal_finetune_small(world, tmp_path):
    from seq2func.personal.finetune import FinetuneParams, personal_finetune
    from seq2func.train.checkpoint import model_from_checkpoint

    ckpt = _save_basenji(tmp_path / "model.pt", world, stem_channels=8, tower_channels=[8, 8], final_channels=8)
    genes = _genes(world, 2)  # 6 genes
    params = FinetuneParams(window=20001, epochs=1, steps_per_epoch=3, individuals_per_step=6, lr=1e-3, null_draws=20,
                            seed=1)
    personal_finetune(ckpt, vcf=world / "cohort.vcf.gz", fasta=world / "genome.fa", tss=world / "tss.bed",
                            expression=world / "expression.tsv", out=tmp_path / "ft", genes=genes, cell_type="neuron",
                            device="cpu", params=params)
    out = tmp_path / "ft"
    j = json.loads((out / "finetune.json").read_text())
    assert j["steps"] == 3 and len(j["history"]) == 1 and np.isfinite(j["history"][0]["loss"])
    sp = j["split"]
    assert len(sp["heldout_individuals"]) == 24 and len(sp["train_individuals"]) == 56
    assert not set(sp["heldout_individuals"]) & set(sp["train_individuals"])
    assert len(sp["heldout_genes"]) == 1 and len(sp["train_genes"]) == 5
    for name in ("heldout_individuals", "heldout_genes", "heldout_genes_all_individuals", "training"):
        for label in ("reference_only", "personal_finetuned"):
            m = j["evaluation"][name][label]
            assert {"mean_r", "n_significant", "n_significant_negative", "frac_significant_negative"} <= set(m)
    assert j["evaluation"]["heldout_individuals"]["reference_only"]["n_genes"] == 5
    model, ck = model_from_checkpoint(out / "model.pt")
    assert ck["kind"] == "finetune" and ck["strategy"]["name"] == "personal"
    g = pd.read_csv(out / "genes.tsv", sep="\t")
    assert set(g["set"]) == {"heldout_individuals", "heldout_genes", "heldout_genes_all_individuals", "training"}
    # reference-only R on held-out individuals is the benchmark's R of the starting model on them
    rs = _benchmark_heldout_r(world, ckpt, sp, tmp_path / "chunk", rc=False)
    # The random model's predictions barely vary across individuals (std ~1e-5 of a mean ~2.4, some
    # 30 float32 steps), and the two paths batch the haplotypes differently, so the last float32 bit
    # differs and R moves by up to ~1e-3; other individuals or genes would move it by ~0.1.
    ref = g[(g["set"] == "heldout_individuals") & (g["model"] == "reference_only")].set_index("gene_id")["r"]
    assert sorted(ref.index) == sorted(sp["train_genes"])
    assert ref.loc[sp["train_genes"]].to_numpy(float) == pytest.approx(rs, abs=5e-3)
    assert j["evaluation"]["heldout_individuals"]["reference_only"]["mean_r"] == pytest.approx(np.mean(rs), abs=1e-3)


def test_personal_finetune_rc_averages_both_strands(world, tmp_path):
    """``rc``: every value is the mean of the forward and reverse-complement passes; the reference-only
    R on held-out individuals equals the benchmark's with ``personal run --rc``, and differs from the
    forward-only R (a random model is not strand-symmetric)."""
    from seq2func.personal.finetune import FinetuneParams, personal_finetune

    ckpt = _save_basenji(tmp_path / "model.pt", world, stem_channels=8, tower_channels=[8, 8], final_channels=8)
    genes = _genes(world, 2)
    r_ref = {}
    for rc in (False, True):
        params = FinetuneParams(window=20001, epochs=0, null_draws=20, seed=1, rc=rc)
        personal_finetune(ckpt, vcf=world / "cohort.vcf.gz", fasta=world / "genome.fa", tss=world / "tss.bed",
                          expression=world / "expression.tsv", out=tmp_path / f"ft{rc}", genes=genes,
                          cell_type="neuron", device="cpu", params=params, save_model=False)
        j = json.loads((tmp_path / f"ft{rc}" / "finetune.json").read_text())
        assert j["model"]["rc"] is rc and j["params"]["rc"] is rc
        g = pd.read_csv(tmp_path / f"ft{rc}" / "genes.tsv", sep="\t")
        r_ref[rc] = g[(g["set"] == "heldout_individuals") & (g["model"] == "reference_only")].set_index("gene_id")["r"]
    sp = j["split"]
    rs = _benchmark_heldout_r(world, ckpt, sp, tmp_path / "chunk", rc=True)
    # (tolerance as in test_personal_finetune_small: float32 batching of near-constant predictions)
    assert r_ref[True].loc[sp["train_genes"]].to_numpy(float) == pytest.approx(rs, abs=5e-3)
    d = np.abs(r_ref[True].to_numpy(float) - r_ref[False].loc[r_ref[True].index].to_numpy(float))
    assert np.max(d) > 0.05


def test_personal_finetune_evaluation_uses_the_chosen_test_and_fdr(world, tmp_path):
    """``mode``/``fdr`` (the pipeline's --personal_mode/--personal_fdr) reach the evaluation: empirical
    p-values lie on the (1 + k) / (1 + draws) grid, and ``significant`` is Benjamini-Hochberg at ``fdr``
    on them (statsmodels as the oracle); the published t-based p-values do not lie on that grid."""
    from statsmodels.stats.multitest import multipletests

    from seq2func.personal.finetune import FinetuneParams, personal_finetune

    ckpt = _save_basenji(tmp_path / "model.pt", world, stem_channels=8, tower_channels=[8, 8], final_channels=8)
    genes = _genes(world, 2)
    tabs = {}
    for mode, fdr in (("reference", 0.05), ("empirical", 0.3)):
        params = FinetuneParams(window=20001, epochs=0, null_draws=20, seed=1, mode=mode, fdr=fdr)
        personal_finetune(ckpt, vcf=world / "cohort.vcf.gz", fasta=world / "genome.fa", tss=world / "tss.bed",
                          expression=world / "expression.tsv", out=tmp_path / mode, genes=genes,
                          cell_type="neuron", device="cpu", params=params, save_model=False)
        j = json.loads((tmp_path / mode / "finetune.json").read_text())
        assert j["params"]["mode"] == mode and j["params"]["fdr"] == fdr
        tabs[mode] = pd.read_csv(tmp_path / mode / "genes.tsv", sep="\t")
    grid = np.arange(1, 22) / 21
    on_grid = lambda p: np.min(np.abs(np.asarray(p, float)[:, None] - grid[None, :]), axis=1) < 1e-12  # noqa: E731
    assert on_grid(tabs["empirical"]["p"]).all() and not on_grid(tabs["reference"]["p"]).all()
    for (_, _), t in tabs["empirical"].groupby(["set", "model"]):
        assert t["significant"].astype(bool).tolist() == multipletests(t["p"].to_numpy(float), alpha=0.3,
                                                                       method="fdr_bh")[0].tolist()


def test_truth_model_recovers_planted_genetics(world, tmp_path):
    """Oracle: the simulator's own expression model must give positive R near sqrt(h2), significant
    genes, and main drivers that are the planted causal variants, supported by the eQTL sign."""
    from seq2func.personal.benchmark import truth_model

    truth = json.loads((world / "truth.json").read_text())
    g = pd.DataFrame(truth["genes"]["rows"], columns=truth["genes"]["columns"])
    g = g.sort_values("var_genetic_personal", ascending=False).head(3)
    eff = pd.DataFrame(truth["variant_gene_effects"]["rows"], columns=truth["variant_gene_effects"]["columns"])
    pred, info = load_predictor(model=truth_model(world), device="cpu", batch_size=64)
    assert pred.kind == "scalar" and info["seq_len"] == 41001
    run_chunk(pred, vcf=world / "cohort.vcf.gz", fasta=world / "genome.fa", tss=world / "tss.bed",
              expression=world / "expression.tsv", out=tmp_path / "c", genes=g["gene_id"].tolist(),
              params=RunParams(window=41001, ism="reference", predixcan=False))
    s = merge_chunks([tmp_path / "c"], tmp_path / "m", figures=False)
    genes = pd.read_csv(tmp_path / "m" / "genes.tsv", sep="\t").set_index("gene_id")
    drivers = pd.read_csv(tmp_path / "m" / "drivers.tsv", sep="\t")
    assert s["n_significant"] == 3 and s["n_significant_negative"] == 0
    # (no assertion on population_r: across the three genes of largest genetic variance the
    # reference genome's level is not the population's; the per-individual check below is exact)
    # haplotypes, TSS centring (indels included) and combining are exact: log2 of the per-individual
    # prediction is the simulator's noise-free expression
    from seq2func.simulate import load_world

    w = load_world(world)
    pr = pd.read_csv(tmp_path / "m" / "predictions.tsv", sep="\t").set_index("gene_id")
    for chrom, sub in g.groupby("chrom"):
        gids, y = w.personal_expression(chrom)
        for gid in sub["gene_id"]:
            np.testing.assert_allclose(np.log2(pr.loc[gid].to_numpy(float)[1:]), y[gids.index(gid)], atol=1e-6)
    for row in g.itertuples():
        r = genes.loc[row.gene_id, "r"]
        assert r > 0.5 and abs(r - np.sqrt(row.h2_personal)) < 0.15
        main = drivers[(drivers["gene_id"] == row.gene_id) & drivers["is_main"]].iloc[0]
        e = eff[eff["gene_id"] == row.gene_id]
        top = e.iloc[int(np.argmax(np.abs(e["effect_log2"].to_numpy())))]
        assert main["variant_id"] == top["variant_id"] and bool(main["supported"])
        assert np.sign(main["ism"]) == np.sign(top["effect_log2"])


def test_personal_finetune_losses_by_hand():
    """mse = mean((standardised p - z)^2) = 2 (1 - r) for standardised z; pairwise by explicit double loop."""
    import torch

    from seq2func.personal.finetune import _losses

    rng = np.random.default_rng(3)
    p = rng.normal(size=7)
    y = rng.normal(loc=5.0, scale=0.7, size=7)
    z = (y - y.mean()) / y.std()
    a, v = 1.7, 0.45
    mse, pair = _losses(torch.tensor(p), torch.tensor(z), torch.tensor(y), torch.tensor(np.log(a)), v)
    r = np.corrcoef(p, y)[0, 1]
    assert float(mse) == pytest.approx(2 * (1 - r), abs=1e-10)
    diffs = [(a * (p[i] - p[j]) - (y[i] - y[j])) ** 2 for i in range(7) for j in range(i + 1, 7)]
    assert float(pair) == pytest.approx(np.mean(diffs) / v, rel=1e-12)
    # constant predictions: pairwise = mean over pairs of (y_i - y_j)^2 / v = 2 n/(n-1) var(y) / v
    _, pair0 = _losses(torch.zeros(7, dtype=torch.float64), torch.tensor(z), torch.tensor(y), torch.tensor(0.0), v)
    assert float(pair0) == pytest.approx(2 * 7 / 6 * y.var() / v, rel=1e-12)


# ------------------------------------------------------------------------------------------
# real data: hg19 chr22, 1000 Genomes (5 individuals), GEUVADIS expression
# ------------------------------------------------------------------------------------------
REALDATA = ROOT.parent / "shared" / "realdata" / "hg19_chr22"


@pytest.mark.realdata
def test_realdata_chr22_personal_run_and_merge(tmp_path):
    """PERSONAL plumbing on real files: ``personal.py run`` + ``merge`` with a random-weight
    basenji_tiny checkpoint (training on chr22 is out of scope) over the GEUVADIS genes whose TSS
    lies in the 1000G VCF's span. The partial FASTA is N under part of the VCF, hence ``--ref-n
    skip``; only 5 of the 373 GEUVADIS individuals are in the VCF, hence ``--missing-samples drop``
    and ``--no-predixcan`` (5 individuals cannot hold 10 inner CV folds: one clear error line).

    The expression is the GEUVADIS phenotype BED exactly as shipped (``#Chr start end TargetID
    sample...``, bgzipped, ENSG IDs with versions): with no ``--tss`` its start column is each gene's
    TSS (the GENCODE BED names genes, not ENSG IDs); ``--genes-chunk`` picks the 22 genes in the VCF's
    span. Oracles: pandas on the file, pysam for the VCF span, bcftools consensus on the VCF without
    the N records, scipy's pearsonr."""
    from scipy.stats import pearsonr

    from tests.unit.test_haplotypes import _drop_all_n_records

    vcf = REALDATA / "variants" / "1000G_phase1_5samples_chr22.vcf.gz"
    fasta = REALDATA / "genome" / "hg19_chr22_partial.fa.gz"
    bed = REALDATA / "expression" / "phenotypes.bed.gz"
    assert vcf.exists() and fasta.exists() and bed.exists(), "../shared/realdata missing"
    expr = pd.read_csv(bed, sep="\t")
    import pysam

    with pysam.VariantFile(str(vcf)) as vf:
        samples = list(vf.header.samples)
        pos = [r.pos for r in vf]
    lo, hi = min(pos), max(pos)  # 1-based
    want = expr[(expr["#Chr"].astype(str) == "22") & (expr["start"] + 1 >= lo) & (expr["start"] + 1 <= hi)]
    assert len(want) == 22
    gene_list = tmp_path / "genes.txt"
    gene_list.write_text("".join(f"{g}\n" for g in want["TargetID"]))
    torch.manual_seed(0)
    from seq2func.models import build_model, load_config
    from seq2func.train.checkpoint import save_checkpoint

    model = build_model(load_config("basenji_tiny") | {"n_tracks": 1})
    ckpt = tmp_path / "model.pt"
    save_checkpoint(ckpt, model, kind="pretrain", train_params={},
                    tracks=[dict(track_id="CAGE_LCL", cell_type="LCL", assay="CAGE", transform="", role="target",
                                 strand=".", dataset_index=0, rc_index=0)],
                    dataset={"seq_length": model.config["seq_len"], "bin_size": 128, "crop_bp": 1024})

    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    cli = [PY, str(ROOT / "bin" / "personal.py")]
    base = ["run", "--checkpoint", str(ckpt), "--vcf", str(vcf), "--fasta", str(fasta), "--genes-chunk", str(gene_list),
            "--expression", str(bed), "--device", "cpu", "--missing-samples", "drop", "--seed", "1"]
    # the default policy stops at the first record on N; PrediXcan's nested CV cannot run on 5 individuals
    for extra, line in (
        (["--ref-n", "error", "--no-predixcan"], f"ERROR: {vcf}: 22:50300078: REF 'A' != FASTA 'N'"),
        (["--ref-n", "skip"], "ERROR: --predixcan-inner-k: 10: 5 individuals give outer training folds of 4 "
                              "(--predixcan-outer-k 5), fewer than the inner folds; lower the fold counts or use "
                              "--no-predixcan"),
    ):
        r = subprocess.run(cli + base + extra + ["--out", str(tmp_path / "bad")], capture_output=True, text=True, env=env)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert [x for x in r.stderr.splitlines() if x.startswith("ERROR")] == [line]
        assert not (tmp_path / "bad").exists()
    r = subprocess.run(cli + base + ["--ref-n", "skip", "--no-predixcan", "--out", str(tmp_path / "chunk")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run(cli + ["merge", str(tmp_path / "chunk"), "--out", str(tmp_path / "personal")],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path / "personal"
    genes = pd.read_csv(out / "genes.tsv", sep="\t")
    preds = pd.read_csv(out / "predictions.tsv", sep="\t").set_index("gene_id")
    meta = json.loads((tmp_path / "chunk" / "chunk.json").read_text())
    summary = json.loads((out / "summary.json").read_text())

    assert sorted(genes["gene_id"]) == sorted(want["TargetID"]) and summary["n_genes"] == len(want)
    assert meta["samples"] == samples and summary["n_individuals"] == 5
    assert meta["params"]["ref_n"] == "skip" and meta["counts"]["ref_n_skipped"] > 0
    obs = want.set_index("TargetID")[samples]
    g = genes.set_index("gene_id").loc[obs.index]
    np.testing.assert_allclose(g["observed_mean"], obs.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(g["observed_sd"], obs.std(axis=1, ddof=0), rtol=1e-12)
    assert (g["window_start"] == want.set_index("TargetID")["start"] - 20000 + 1).all()
    n_finite = 0
    for gid, row in obs.iterrows():
        p = preds.loc[gid, samples].to_numpy(float)
        if np.ptp(p) == 0:  # every input the same for the model: R undefined
            assert np.isnan(g.loc[gid, "r"])
            continue
        n_finite += 1
        assert g.loc[gid, "r"] == pytest.approx(pearsonr(p, row.to_numpy(float))[0], abs=1e-9)
    assert n_finite >= 10

    # one gene's haplotypes (bin/personal_haplotypes.py, the same builder) == bcftools on the filtered VCF
    gid = "ENSG00000073169.9"
    ws, we = int(g.loc[gid, "window_start"]), int(g.loc[gid, "window_end"])
    region = f"chr22:{ws}-{we}"
    hap_fa = tmp_path / "haps.fa"
    r = subprocess.run([PY, str(ROOT / "bin" / "personal_haplotypes.py"), "--vcf", str(vcf), "--fasta", str(fasta),
                        "--region", region, "--out", str(hap_fa), "--ref-n", "skip"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "on FASTA N skipped" in r.stderr
    ours = {}
    for block in hap_fa.read_text().split(">")[1:]:
        name, *lines = block.splitlines()
        ours[name] = "".join(lines)
    oracle, _ = _drop_all_n_records(vcf, fasta, tmp_path / "filtered.vcf", rename={"22": "chr22"})
    subprocess.run(["samtools", "faidx", str(fasta), region, "-o", str(tmp_path / "win.fa")], check=True)
    assert len(ours) == 10
    for s in samples:
        for h in (1, 2):
            res = subprocess.run(["bcftools", "consensus", "-s", s, "-H", str(h), "-f", str(tmp_path / "win.fa"),
                                  str(oracle)], capture_output=True, text=True, check=True)
            assert ours[f"{s}|{h}"] == "".join(res.stdout.splitlines()[1:]), f"{gid} {s}|{h}"
