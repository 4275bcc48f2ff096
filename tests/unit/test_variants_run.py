"""score_variants.py chunk / merge / benchmark as the pipeline runs them (subprocesses), on the tiny
simulated world and on the real hg19 chr22 kit; oracles: bcftools query, pandas, pysam."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bin" / "score_variants.py"
SHARED = REPO.parent / "shared"
KIT = SHARED / "realdata" / "hg19_chr22"


def _cli(*args, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, cwd=cwd, timeout=900)


def _checkpoint(path: Path, seq_len: int, tracks: list[dict]) -> Path:
    import torch

    from seq2func.models import build_model, load_config
    from seq2func.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = build_model(load_config("basenji_tiny") | {"n_tracks": len(tracks), "seq_len": seq_len})
    rows = [dict(t, role=t.get("role", "target"), strand=".", dataset_index=i, rc_index=i) for i, t in enumerate(tracks)]
    return save_checkpoint(path, model, kind="pretrain", train_params={}, tracks=rows,
                           dataset={"seq_length": seq_len, "bin_size": 128, "crop_bp": 0})


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    from seq2func.simulate import simulate_world

    d = tmp_path_factory.mktemp("variants_run")
    world = simulate_world(d / "world", scale="tiny", seed=1)
    ckpt = _checkpoint(d / "m.pt", 4096, [
        dict(track_id="ATAC-neuron", cell_type="neuron", assay="ATAC", transform="sum;log1p"),
        dict(track_id="ATAC_hepatocyte", cell_type="hepatocyte", assay="ATAC", transform="sum"),
    ])
    chunks = []
    for chrom in ("chr1", "chr2", "chr3"):
        r = _cli("chunk", "--checkpoint", ckpt, "--vcf", world["variants"], "--fasta", world["fasta"], "--chrom", chrom,
                 "--out", d / f"chunk_{chrom}", "--null", 90, "--shifts", "0,1", "--label", "neuron/full")
        assert r.returncode == 0, r.stderr[-3000:]
        chunks.append(d / f"chunk_{chrom}")
    r = _cli("merge", *chunks, "--vcf", world["variants"], "--fasta", world["fasta"], "--out", d / "out" / "neuron" / "full")
    assert r.returncode == 0, r.stderr[-3000:]
    return d, world, ckpt


def test_merge_outputs_agree_with_each_other_and_bcftools(scored):
    d, world, _ = scored
    out = d / "out" / "neuron" / "full"
    summary = json.loads((out / "summary.json").read_text())
    n_vcf = subprocess.run(["bcftools", "view", "-H", str(world["variants"])], capture_output=True, text=True,
                           check=True).stdout.count("\n")
    assert summary["variants_scored"] == n_vcf > 40 and summary["scores"] == ["SAD", "logSAD", "D2", "SAX"]
    assert summary["params"]["shifts"] == [0, 1] and summary["params"]["rc"] is True
    tsv = pd.read_csv(out / "scores.tsv", sep="\t")
    pq = pd.read_parquet(out / "scores.parquet")
    assert len(tsv) == n_vcf * 2 and list(tsv.columns) == list(pq.columns)
    np.testing.assert_allclose(tsv["SAD"].to_numpy(float), pq["SAD"].to_numpy(float), rtol=1e-12)
    # the VCF's INFO (bcftools) equals the table, track IDs sanitised (ATAC-neuron -> ATAC_neuron)
    q = subprocess.run(["bcftools", "query", "-f", "%ID\t%INFO/SAD_ATAC_neuron\t%INFO/pvalue_SAD_ATAC_neuron\n",
                        str(out / "scores.vcf.gz")], capture_output=True, text=True, check=True).stdout
    got = {ln.split("\t")[0]: (float(ln.split("\t")[1]), float(ln.split("\t")[2])) for ln in q.splitlines()}
    want = tsv[tsv["track_id"] == "ATAC-neuron"].set_index("input_id")
    assert set(got) == set(want.index)
    for vid, (sad, p) in got.items():
        assert sad == pytest.approx(want.loc[vid, "SAD"], rel=1e-5, abs=1e-9)
        assert p == pytest.approx(want.loc[vid, "pvalue_SAD"], rel=1e-5)
    # calibrated against the pooled null (each chunk draws ceil(its share): 90 to 92 draws): p in (0, 1], BH q >= p
    assert 90 <= summary["null_draws"] <= 92 and (tsv["pvalue_SAD"] > 0).all() and (tsv["pvalue_SAD"] <= 1).all()
    assert (tsv["qvalue_SAD"] >= tsv["pvalue_SAD"] - 1e-12).all()
    assert set(summary["null_calibration"]["fraction_below_alpha"]) == {"SAD", "logSAD", "D2", "SAX"}


def test_benchmark_tables(scored):
    d, world, _ = scored
    r = _cli("benchmark", "--run", f"neuron/full={d / 'out' / 'neuron' / 'full'}", "--labels", world["asv_labels"],
             "--fasta", world["fasta"], "--vcf", world["variants"], "--conservation", world["conservation"],
             "--out", d / "bench", "--n-boot", 20)
    assert r.returncode == 0, r.stderr[-3000:]
    auc = pd.read_csv(d / "bench" / "auroc.tsv", sep="\t")
    assert set(auc["model"]) == {"neuron/full", "baseline_random", "baseline_pwm"}
    assert (auc["n_missing"] == 0).all()  # every labelled variant was scored (indel keys normalised alike)
    full = auc[(auc["model"] == "neuron/full") & (auc["cell_type"] == "neuron")].iloc[0]
    assert not full["agnostic"] and 0 <= full["auroc_lo"] <= full["auroc"] <= full["auroc_hi"] <= 1
    for name in ("sign_consistency", "enrichment", "maf", "conservation", "heatmap"):
        assert len(pd.read_csv(d / "bench" / f"{name}.tsv", sep="\t")), name
    bench = json.loads((d / "bench" / "benchmark.json").read_text())
    assert bench["finetuned"] == ["neuron/full"] and "auroc.png" in bench["files"]


def test_a_ref_mismatch_is_one_line(scored, tmp_path):
    d, world, ckpt = scored
    bad = tmp_path / "bad.tsv"
    bad.write_text("chrom\tpos\tref\talt\nchr1\t101\tA\tC\n")
    fa = world["fasta"]
    seq = subprocess.run(["samtools", "faidx", str(fa), "chr1:101-101"], capture_output=True, text=True).stdout.split()[1]
    if seq.upper() == "A":
        bad.write_text("chrom\tpos\tref\talt\nchr1\t101\tC\tG\n")
    r = _cli("chunk", "--checkpoint", ckpt, "--vcf", bad, "--fasta", fa, "--chrom", "chr1", "--out", tmp_path / "c")
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("ERROR")]
    assert r.returncode == 2 and len(lines) == 1 and "bad.tsv: line 2 (chr1:101): REF" in lines[0], r.stderr
    assert not (tmp_path / "c").exists()


@pytest.mark.realdata
def test_realdata_1000g_vcf_scored_end_to_end(shared, tmp_path):
    """The 1000 Genomes VCF as shipped (contig 22) against the partial hg19 chr22 FASTA (chr22, N under a
    third of the records): --ref-mismatch error stops at the first record on N with one line; skip scores
    every record on real bases (count: pysam reading the FASTA per record) and the output VCF keeps all
    10,376 records, the skipped ones without scores."""
    import pysam

    vcf = KIT / "variants" / "1000G_phase1_5samples_chr22.vcf.gz"
    fa = KIT / "genome" / "hg19_chr22_partial.fa.gz"
    ckpt = _checkpoint(tmp_path / "m.pt", 4096, [dict(track_id="t", cell_type="GM12878", assay="ChIP", transform="sum")])
    r = _cli("chunk", "--checkpoint", ckpt, "--vcf", vcf, "--fasta", fa, "--chrom", "chr22", "--out", tmp_path / "e")
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("ERROR")]
    assert r.returncode == 2 and len(errors) == 1, r.stderr[-2000:]
    assert errors[0].startswith(f"ERROR: {vcf}: 22:50300078: REF 'A' vs FASTA 'N' at chr22:50300078: FASTA is N there"), errors
    assert not (tmp_path / "e").exists() and "[E::" not in r.stderr
    for step in (["chunk", "--checkpoint", ckpt, "--vcf", vcf, "--fasta", fa, "--chrom", "chr22", "--out", tmp_path / "c",
                  "--ref-mismatch", "skip", "--no-rc", "--share-reference"],
                 ["merge", tmp_path / "c", "--vcf", vcf, "--fasta", fa, "--out", tmp_path / "out", "--ref-mismatch", "skip"]):
        r = _cli(*step)
        assert r.returncode == 0, r.stderr[-3000:]
    with pysam.FastaFile(str(fa)) as f, pysam.VariantFile(str(vcf)) as v:
        on_real = sum("N" not in f.fetch("chr22", rec.pos - 1, rec.pos - 1 + len(rec.ref)).upper() for rec in v)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["variants_scored"] == on_real == 6890 and summary["input"]["ref_on_n"] == 10376 - on_real
    n = subprocess.run(["bcftools", "view", "-H", str(tmp_path / "out" / "scores.vcf.gz")], capture_output=True, text=True,
                       check=True).stdout.count("\n")
    scored_records = subprocess.run(["bcftools", "view", "-H", "-i", "INFO/SAD_t!=\".\"", str(tmp_path / "out" / "scores.vcf.gz")],
                                    capture_output=True, text=True, check=True).stdout.count("\n")
    assert n == 10376 and scored_records == 6890
