"""`-profile test_realdata`: every stage on the real hg19 chr22 kit as shipped (../shared/realdata), checked
against independent oracles: pyBigWig for the targets, bcftools consensus for the haplotypes, scipy for R,
pandas for the expression. Also its peak-mode variant (CTCF narrowPeak), and a run whose PRETRAIN fails
on purpose: the run ends with that task's error alone.

One `nextflow run` of the profile per session (module fixture); the other runs reuse its launch and
work directory with -resume, so only what changed runs again.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO, SHARED, run_nextflow

pytestmark = [pytest.mark.pipeline, pytest.mark.realdata]

KIT = SHARED / "realdata" / "hg19_chr22"


def _run(tmp: Path, *extra: str):
    return run_nextflow(["run", str(REPO / "main.nf"), "-w", str(tmp / "work"), *extra], cwd=tmp, timeout=1500)


@pytest.fixture(scope="module")
def realdata_run(tmp_path_factory, shared):
    tmp = tmp_path_factory.mktemp("nf_test_realdata")
    t0 = time.time()
    res = _run(tmp, "-profile", "test_realdata", "--outdir", str(tmp / "results"))
    wall = time.time() - t0
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-3000:]
    print(f"-profile test_realdata: {wall:.0f} s wall")
    return tmp, res, wall


def test_realdata_profile_runs_every_stage_in_time(realdata_run):
    tmp, res, wall = realdata_run
    out = tmp / "results"
    assert wall < 20 * 60
    trace = next((out / "pipeline_info").glob("execution_trace_*.txt"))
    rows = pd.read_csv(trace, sep="\t")
    done = set(rows.loc[rows["status"] == "COMPLETED", "process"].str.split(":").str[-1])
    assert {"VALIDATE", "PREPARE_SPLIT", "PREPARE_CHROM", "PREPARE_MERGE", "PRETRAIN", "FINETUNE", "EVALUATE",
            "EVALUATE_SUMMARY", "PERSONAL_CHUNK", "PERSONAL_MERGE", "SCORE_VARIANTS", "SCORE_VARIANTS_MERGE",
            "INTERPRET", "INTERPRET_SUMMARY", "REPORT"} <= done, done
    # the report of a real-data run: every stage's sections, nothing fetched from outside the page
    from seq2func.report.build import external_references, section_ids

    report = out / "multiqc/multiqc_report.html"
    ids = section_ids(report)
    assert {"s2f_inputs", "s2f_windows", "s2f_targets", "s2f_training_runs", "s2f_track_metrics", "s2f_transfer_table",
            "s2f_interpret_models", "s2f_personal_summary", "s2f_params"} <= ids, sorted(ids)
    assert external_references(report) == []
    for label in ("pretrain", "GM12878/full"):  # INTERPRET explained both on real chr22 windows
        s = json.loads((out / "interpret" / label / "summary.json").read_text())
        assert s["regions"] >= 4 and s["cell_types"], (label, s)
    # no resource caps in the profile: the local executor's limits follow this machine
    assert "exceeds available" not in res.stdout + res.stderr


def test_realdata_validation_records_its_decisions(realdata_run):
    out = realdata_run[0] / "results"
    rep = json.loads((out / "validate/validation.json").read_text())
    d = rep["decisions"]
    assert d["mode"] == "profile" and d["split_by"] == "contig" and d["data_contigs"] == ["chr22"]
    assert d["cell_types"] == {"compendium": ["GM12878_public"], "target": ["GM12878"]}
    # the GEUVADIS phenotype BED as shipped: 373 individuals, 5 of them in the VCF, the others dropped
    pheno = pd.read_csv(KIT / "expression/phenotypes.bed.gz", sep="\t")
    with_geno = ["HG00096", "HG00097", "HG00099", "HG00100", "HG00101"]
    e = d["expression"]
    assert e["layout"] == "bed" and e["genes"] == len(pheno) == 364 and e["individuals"] == pheno.shape[1] - 4 == 373
    assert e["missing_samples"] == "drop" and e["individuals_used"] == with_geno and e["individuals_dropped"] == 368
    assert d["contig_aliases"]["cohort_vcf"] == {"22": "chr22"}
    # genes.bed: the BED's start column is each gene's TSS (the GENCODE BED names genes, not ENSG IDs)
    genes = pd.read_csv(out / "validate/genes.bed", sep="\t", header=None, names=["chrom", "s", "e", "gene", "src", "strand"])
    assert list(genes["gene"]) == list(pheno["TargetID"]) and (genes["chrom"] == "chr22").all()
    assert (genes["s"] == pheno["start"]).all() and (genes["src"] == "expression_bed").all()
    assert d["genes"]["tss_from_expression_bed"] == 364
    assert any("tss_bed" in w and "expression BED" in w for w in rep["warnings"]), rep["warnings"]


def test_realdata_contig_split_and_targets_equal_pybigwig(realdata_run):
    import pyBigWig

    from seq2func.prepare import open_dataset

    out = realdata_run[0] / "results"
    ds = open_dataset(out / "prepare/profile")
    m = ds.manifest
    split = m["split"]
    assert split["split_by"] == "contig"
    by = m["counts"]["by_split"]
    assert by["train"] > 0 and by["valid"] > 0 and by["test"] > 0, by
    reg = ds.regions
    L, gap = m["params"]["seq_length"], split["gap"]
    assert gap >= L
    # every window inside one block of its own split; windows of different splits >= gap apart
    blocks = pd.DataFrame(split["blocks"])
    for r in reg.itertuples():
        b = blocks[(blocks["chrom"] == r.chrom) & (blocks["start"] <= r.start) & (blocks["end"] >= r.end)]
        assert len(b) == 1 and b["split"].iloc[0] == r.split, r
    s = reg.sort_values("start")
    for a, b in zip(s.itertuples(), s.iloc[1:].itertuples()):
        if a.split != b.split:
            assert b.start - a.end >= gap, (a, b)
    # targets: log1p of the bin sums of the STAT1 bigWig (transform sum;log1p), read with pyBigWig
    bw = pyBigWig.open(str(KIT / "tracks/GM12878_STAT1_chr22_1-30Mb.bigWig"))
    bin_size = m["params"]["bin_size"]
    rng = np.random.default_rng(0)
    for i in rng.choice(len(reg), size=min(25, len(reg)), replace=False):
        r = reg.iloc[i]
        v = np.nan_to_num(np.asarray(bw.values("chr22", int(r.start), int(r.end)), dtype=np.float64))
        want = np.log1p(v.reshape(-1, bin_size).sum(axis=1))
        got = np.asarray(ds.targets[i], dtype=np.float64)
        assert got.shape == (want.size, 2)
        np.testing.assert_allclose(got[:, 0], want, rtol=2e-3, atol=2e-3)
        np.testing.assert_allclose(got[:, 1], want, rtol=2e-3, atol=2e-3)


def test_realdata_training_and_evaluation(realdata_run):
    out = realdata_run[0] / "results"
    for label in ["pretrain", "GM12878/head_only", "GM12878/full", "GM12878/scratch"]:
        mt = json.loads((out / "evaluate" / label / "metrics.json").read_text())
        assert mt["split"] == "test" and mt["n_windows"] > 0, label
    summary = pd.read_csv(out / "evaluate/summary/transfer_summary.tsv", sep="\t")
    assert len(summary) == 4


def test_realdata_personal_against_scipy_and_bcftools(realdata_run, tmp_path):
    from scipy.stats import pearsonr

    from tests.unit.test_haplotypes import _drop_all_n_records

    out = realdata_run[0] / "results" / "personal"
    genes = pd.read_csv(out / "genes.tsv", sep="\t").set_index("gene_id")
    preds = pd.read_csv(out / "predictions.tsv", sep="\t").set_index("gene_id")
    pheno = pd.read_csv(KIT / "expression/phenotypes.bed.gz", sep="\t").set_index("TargetID")
    samples = ["HG00096", "HG00097", "HG00099", "HG00100", "HG00101"]
    assert list(preds.columns[1:]) == samples and len(genes) == 364
    obs = pheno[samples]
    np.testing.assert_allclose(genes.loc[obs.index, "observed_mean"], obs.mean(axis=1), rtol=1e-12)
    n_finite = 0
    for gid in genes.index:
        p = preds.loc[gid, samples].to_numpy(float)
        if np.ptp(p) == 0:
            assert np.isnan(genes.loc[gid, "r"])
            continue
        n_finite += 1
        assert genes.loc[gid, "r"] == pytest.approx(pearsonr(p, obs.loc[gid].to_numpy(float))[0], abs=1e-9)
    assert n_finite >= 5

    # haplotypes: the distinct bcftools consensus sequences of a gene's window are the distinct model
    # inputs PERSONAL counted, and individuals carrying the same pair of haplotypes get the same prediction
    vcf = KIT / "variants/1000G_phase1_5samples_chr22.vcf.gz"
    fasta = KIT / "genome/hg19_chr22_partial.fa.gz"
    oracle, dropped = _drop_all_n_records(vcf, fasta, tmp_path / "filtered.vcf", rename={"22": "chr22"})
    assert dropped > 0
    varied = genes[genes["n_unique_haplotypes"] > 1].sort_values("n_variants", ascending=False)
    assert len(varied) >= 3
    for gid in varied.index[:3]:
        region = f"chr22:{int(genes.loc[gid, 'window_start'])}-{int(genes.loc[gid, 'window_end'])}"
        subprocess.run(["samtools", "faidx", str(fasta), region, "-o", str(tmp_path / "win.fa")], check=True)
        haps = {}
        for s in samples:
            for h in (1, 2):
                res = subprocess.run(["bcftools", "consensus", "-s", s, "-H", f"{h}pIu", "-f", str(tmp_path / "win.fa"),
                                      str(oracle)], capture_output=True, text=True, check=True)
                haps[s, h] = "".join(res.stdout.splitlines()[1:])
        assert len(set(haps.values())) == genes.loc[gid, "n_unique_haplotypes"], gid
        pairs = {s: tuple(sorted((haps[s, 1], haps[s, 2]))) for s in samples}
        for a in samples:
            for b in samples:
                if pairs[a] == pairs[b]:
                    assert preds.loc[gid, a] == preds.loc[gid, b], (gid, a, b)


def test_realdata_score_variants(realdata_run):
    """SCORE_VARIANTS on the 1000 Genomes VCF as shipped (contig 22, a third of its records on FASTA N,
    --ref_mismatch skip): the records on real bases are scored (oracle: pysam reads the FASTA per record),
    every input record is in the output VCF (bcftools), the skipped ones without scores."""
    import pysam

    out = realdata_run[0] / "results" / "variants" / "GM12878" / "full"
    vcf = KIT / "variants/1000G_phase1_5samples_chr22.vcf.gz"
    with pysam.FastaFile(str(KIT / "genome/hg19_chr22_partial.fa.gz")) as f, pysam.VariantFile(str(vcf)) as v:
        recs = [(rec.pos, rec.ref) for rec in v]
        on_real = sum("N" not in f.fetch("chr22", p - 1, p - 1 + len(r)).upper() for p, r in recs)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["variants_scored"] == on_real and summary["input"]["ref_on_n"] == len(recs) - on_real
    rows = subprocess.run(["bcftools", "query", "-f", "%CHROM\t%INFO/SAD_STAT1_GM12878\n", str(out / "scores.vcf.gz")],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(rows) == len(recs) and {r.split("\t")[0] for r in rows} == {"22"}
    assert sum(r.split("\t")[1] != "." for r in rows) == on_real
    assert not (realdata_run[0] / "results" / "variants" / "pretrain").exists()  # --variant_models GM12878/full


def test_realdata_peak_mode_with_ctcf_peaks(realdata_run):
    """The same kit in peak mode: CTCF narrowPeak tracks, 1 kb windows; labels = peak over the window's
    centre bin (oracle: the narrowPeak read with pandas)."""
    tmp = realdata_run[0]
    out = tmp / "results_peaks"
    res = _run(tmp, "-profile", "test_realdata", "--input", str(REPO / "assets/test_realdata/samplesheet_peaks.csv"),
               "--seq_length", "1024", "--model", "resnet_peak", "--skip_personal", "--finetune_strategies", "full",
               "--outdir", str(out), "-resume")
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-3000:]
    rep = json.loads((out / "validate/validation.json").read_text())
    assert rep["decisions"]["mode"] == "peak" and rep["decisions"]["split_by"] == "contig"
    from seq2func.prepare import open_dataset

    ds = open_dataset(out / "prepare/peak")
    assert ds.mode == "peak" and set(ds.regions["split"]) == {"train", "valid", "test"}
    peaks = pd.read_csv(KIT / "tracks/CTCF_chr22_peaks.narrowPeak", sep="\t", header=None)
    bin_size = ds.manifest["params"]["bin_size"]
    labels = np.asarray(ds.targets[: len(ds)], dtype=np.float64)[:, 0, 0]
    for r, y in zip(ds.regions.itertuples(), labels):
        c0 = r.start + (r.end - r.start) // 2 - bin_size // 2
        hit = ((peaks[1] < c0 + bin_size) & (peaks[2] > c0)).any()
        assert y == float(hit), r
    mt = json.loads((out / "evaluate/GM12878/full/metrics.json").read_text())
    assert mt["output_kind"] == "classification" and mt["n_windows"] > 0
    # the classifier scores the 1000G variants too: logit and probability differences
    sv = json.loads((out / "variants/GM12878/full/summary.json").read_text())
    assert sv["scores"] == ["dlogit", "dprob"] and sv["variants_scored"] > 6000
    # the report of a peak-mode run: AUROC per track, no personal sections
    from seq2func.report.build import section_ids

    tm = json.loads((out / "evaluate/mqc/s2f_track_metrics_mqc.json").read_text())["data"]
    assert tm and all("auroc" in row for row in tm.values()), tm
    ids = section_ids(out / "multiqc/multiqc_report.html")
    assert "s2f_track_metrics" in ids and not any(i.startswith("s2f_personal") for i in ids), sorted(ids)


def test_a_failed_task_ends_the_run_with_its_own_error_alone(realdata_run, tmp_path):
    """PRETRAIN fails on purpose (a Basenji config binning at 64 bp against the dataset's 128-bp bins, which
    only PRETRAIN can see): the run stops with that task's error alone, and no secondary Groovy exception
    follows it (it used to: `Cannot invoke method getAt() on null object`)."""
    tmp = realdata_run[0]
    cfg = json.loads((REPO / "assets/models/basenji_tiny.json").read_text())
    bad = tmp_path / "basenji_64bp_bins.json"
    bad.write_text(json.dumps({**cfg, "bin_size": 64}))
    res = _run(tmp, "-profile", "test_realdata", "--model", str(bad), "--outdir", str(tmp_path / "results"), "-resume")
    assert res.returncode != 0
    log = res.stdout + res.stderr
    assert "Error executing process > 'SEQ2FUNC:TRAIN:PRETRAIN" in log, log[-3000:]
    assert "ERROR: --model: basenji: the model bins at 64 bp, the dataset at 128 bp" in log, log[-3000:]
    assert "Cannot invoke method" not in log and "NullPointerException" not in log, log[-3000:]
    assert len(re.findall(r"^ERROR ~", log, flags=re.M)) == 1, log[-3000:]
    nflog = (tmp / ".nextflow.log").read_text()
    assert "Cannot invoke method" not in nflog.split("Launching")[-1]
