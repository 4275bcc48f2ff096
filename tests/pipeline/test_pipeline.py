"""End-to-end: real `nextflow run main.nf` on the test profile, -resume, and bad input."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, run_nextflow

pytestmark = pytest.mark.pipeline


def _run(tmp: Path, *extra: str):
    return run_nextflow(["run", str(REPO / "main.nf"), "-w", str(tmp / "work"), *extra], cwd=tmp)


PREDICTDB_GENES = ["GENE0001", "GENE0002", "GENE0025", "GENE0045"]  # chr1, chr1, chr2, chr3


def _predictdb(tmp: Path) -> Path:
    """A PredictDB-format db for the test profile's world (tiny, seed 1, simulated here the same way),
    its design (with the answers) next to it; the run passes it with --personal_predictdb."""
    from seq2func.simulate import simulate_world
    from tests.predictdb_helpers import design_db, write_db

    d = tmp / "predictdb"
    if not (d / "models.db").is_file():
        simulate_world(d / "world", scale="tiny", seed=1)
        design = design_db(d / "world" / "cohort.vcf.gz", d / "world" / "tss.bed", PREDICTDB_GENES, versioned=("GENE0001",))
        design.to_csv(d / "design.tsv", sep="\t", index=False)
        write_db(design, d / "models.db")
    return d / "models.db"


def _profile(tmp: Path) -> list[str]:
    return ["-profile", "test", "--personal_predictdb", str(_predictdb(tmp))]


@pytest.fixture(scope="module")
def test_profile_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nf_test_profile")
    res = _run(tmp, *_profile(tmp), "--outdir", str(tmp / "results"))
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    return tmp, res


def test_test_profile_publishes_world_validation_and_reports(test_profile_run):
    tmp, res = test_profile_run
    out = tmp / "results"
    for rel in ["simulate/genome.fa", "simulate/genes.gtf", "simulate/cohort.vcf.gz", "simulate/truth.json",
                "simulate/samplesheet.csv", "validate/samplesheet.valid.csv", "validate/validation.json",
                "pipeline_info/params.json", "pipeline_info/software_versions.yml"]:
        assert (out / rel).is_file(), rel
    info = out / "pipeline_info"
    for pattern in ["execution_report_*.html", "execution_timeline_*.html", "execution_trace_*.txt"]:
        assert list(info.glob(pattern)), pattern
    versions = (info / "software_versions.yml").read_text()
    assert "Nextflow: \"24.10" in versions and "VALIDATE" in versions and "seq2func" in versions
    # every track of the simulated samplesheet went through validation, staged under tracks/NNNN/
    rows = list(csv.DictReader(open(out / "validate/samplesheet.valid.csv")))
    world_rows = list(csv.DictReader(open(out / "simulate/samplesheet.csv")))
    assert len(rows) == len(world_rows) >= 20
    assert all(r["file"].startswith("tracks/") for r in rows)


def test_prepare_writes_a_chromosome_split_dataset(test_profile_run):
    tmp, _ = test_profile_run
    from seq2func.data import open_dataset

    ds = open_dataset(tmp / "results/prepare/profile")
    manifest = json.loads((tmp / "results/prepare/profile/manifest.json").read_text())
    assert manifest["params"]["seq_length"] == 16384 and manifest["params"]["bin_size"] == 128
    regions = ds.regions
    chroms_by_split = regions.groupby("split")["chrom"].agg(lambda c: set(c))
    assert set(chroms_by_split.index) == {"train", "valid", "test"}
    assert chroms_by_split["test"] == {"chr3"} and chroms_by_split["valid"] == {"chr2"}
    assert ds.sequences.shape == (len(regions), 16384)
    assert ds.targets[0].shape == (128, len(ds.tracks))
    # one bigWig track keeps the plain `sum` transform
    assert "sum" in set(ds.tracks["transform"])


def test_train_pretrains_finetunes_every_strategy_and_evaluates(test_profile_run):
    import torch

    out = test_profile_run[0] / "results"
    ckpt = torch.load(out / "pretrain/model.pt", weights_only=True, map_location="cpu")
    assert ckpt["model_config"]["name"] == "basenji"
    assert {t["role"] for t in ckpt["tracks"]} == {"compendium"}
    targets = sorted({r["cell_type"] for r in csv.DictReader(open(out / "validate/samplesheet.valid.csv")) if r["role"] == "target"})
    assert len(targets) >= 2
    strategies = ["head_only", "full", "gradual_unfreeze", "lora", "scratch"]
    for ct in targets:
        for strategy in strategies:
            run = out / "finetune" / ct / strategy
            ck = torch.load(run / "model.pt", weights_only=True, map_location="cpu")
            assert ck["strategy"]["name"] == strategy and ck["strategy"]["cell_type"] == ct
            assert {t["cell_type"] for t in ck["tracks"]} == {ct}
            assert (run / "metrics.json").is_file()
            metrics = json.loads((out / "evaluate" / ct / strategy / "metrics.json").read_text())
            assert metrics["split"] == "test" and metrics["n_windows"] > 0
            assert metrics["gene_level"]["n_genes"] > 0
    summary = (out / "evaluate/summary/transfer_summary.tsv").read_text().splitlines()
    assert len(summary) == 1 + 1 + len(targets) * len(strategies)
    assert (out / "evaluate/summary/transfer_vs_scratch.png").stat().st_size > 1000


def test_personal_benchmark_tables_figures_and_finetune(test_profile_run):
    import pandas as pd
    from statsmodels.stats.multitest import multipletests

    out = test_profile_run[0] / "results" / "personal"
    summary = json.loads((out / "summary.json").read_text())
    genes = pd.read_csv(out / "genes.tsv", sep="\t")
    expression = pd.read_csv(test_profile_run[0] / "results/simulate/expression.tsv", sep="\t")
    assert summary["n_genes"] == len(genes) == len(expression)
    # BH is global over all genes (not per chromosome chunk): check with statsmodels
    tested = genes.dropna(subset=["p"])
    q = multipletests(tested["p"], method="fdr_bh")[1]
    assert abs(q - tested["q"]).max() < 1e-9
    assert summary["n_significant"] == int((tested["q"] < 0.05).sum())
    for fig in ["population_average", "r_vs_log10p", "model_vs_predixcan", "ism_vs_eqtl", "supported_vs_r",
                "driver_distance"]:
        assert (out / "figures" / f"{fig}.png").stat().st_size > 1000, fig
    assert (out / "drivers.tsv").is_file() and (out / "predictions.tsv").is_file()
    ft = json.loads((out / "finetune/finetune.json").read_text())
    assert ft["evaluation"] and ft["split"]


def test_personal_predictdb_matches_bcftools_oracle(test_profile_run):
    """--personal_predictdb: per-individual predictions and R of the db's models equal weights summed
    by hand over `bcftools query` genotypes of the published cohort VCF (tests/predictdb_helpers.py)."""
    import pandas as pd
    from scipy import stats as sps

    from tests.predictdb_helpers import oracle_predictions

    tmp = test_profile_run[0]
    out = tmp / "results" / "personal"
    design = pd.read_csv(tmp / "predictdb" / "design.tsv", sep="\t")
    design["exp_allele"] = design["exp_allele"].astype(object).where(design["exp_allele"].notna(), None)
    oracle = oracle_predictions(tmp / "results/simulate/cohort.vcf.gz", design)
    pred = pd.read_csv(out / "predictdb_predictions.tsv", sep="\t").set_index("gene_id")
    genes = pd.read_csv(out / "genes.tsv", sep="\t").set_index("gene_id")
    expr = pd.read_csv(tmp / "results/simulate/expression.tsv", sep="\t").set_index("gene_id")
    samples = list(pred.columns)
    assert sorted(pred.index) == sorted(PREDICTDB_GENES) and len(samples) == 80
    np.testing.assert_allclose(pred.loc[PREDICTDB_GENES].to_numpy(), oracle.loc[PREDICTDB_GENES, samples].to_numpy(),
                               rtol=0, atol=1e-9)
    rs = []
    for gid in PREDICTDB_GENES:
        d = design[design["our_gene"] == gid]
        rs.append(sps.pearsonr(oracle.loc[gid, samples].to_numpy(float), expr.loc[gid, samples].to_numpy(float))[0])
        assert genes.loc[gid, "predictdb_r"] == pytest.approx(rs[-1], abs=1e-9)
        assert genes.loc[gid, "predictdb_n_weights"] == len(d)
        assert genes.loc[gid, "predictdb_n_matched"] == d["exp_allele"].notna().sum()
        assert genes.loc[gid, "predictdb_n_flipped"] == d["exp_flipped"].sum()
    assert genes.loc["GENE0001", "predictdb_gene"] == "GENE0001.7"
    others = genes.drop(index=PREDICTDB_GENES)
    assert len(others) and others["predictdb_r"].isna().all() and others["predictdb_n_weights"].isna().all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["predictdb_mean_r"] == pytest.approx(np.mean(rs), abs=1e-9)
    assert summary["predictdb"]["file"] == "models.db" and summary["predictdb"]["n_genes"] == 4
    assert summary["predictdb"]["n_matched"] == int(design["exp_allele"].notna().sum())


def test_resume_reuses_every_task(test_profile_run):
    tmp, _ = test_profile_run
    res = _run(tmp, *_profile(tmp), "--outdir", str(tmp / "results"), "-resume")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    traces = sorted((tmp / "results/pipeline_info").glob("execution_trace_*.txt"), key=lambda p: p.stat().st_mtime)
    last = [l.split("\t") for l in traces[-1].read_text().splitlines()]
    status = {row[last[0].index("process")]: row[last[0].index("status")] for row in last[1:]}
    assert status and all(s == "CACHED" for s in status.values()), status


def test_gpu_profile_without_gpu_stops_with_one_line(test_profile_run, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # hide any GPU: the check is about machines without one
    tmp, _ = test_profile_run
    res = _run(tmp, "-profile", "test,gpu", "--personal_predictdb", str(_predictdb(tmp)), "--outdir",
               str(tmp / "results_gpu"), "-resume")
    assert res.returncode != 0
    lines = _error_lines(res)
    assert len(lines) == 1 and "--use_gpu" in lines[0] and "GPU" in lines[0], lines
    assert not (tmp / "results_gpu/pretrain").exists()


def test_help_prints_usage(tmp_path):
    res = _run(tmp_path, "--help")
    assert res.returncode == 0
    assert "--input" in res.stdout and "-profile test" in res.stdout


def _error_lines(res) -> list[str]:
    text = res.stdout + res.stderr
    return sorted({l.strip() for l in text.splitlines() if l.strip().startswith("ERROR: ")})


def test_bad_parameter_stops_with_one_line(tmp_path):
    res = _run(tmp_path, "-profile", "test", "--outdir", str(tmp_path / "results"), "--bin_size", "abc")
    assert res.returncode != 0
    lines = _error_lines(res)
    assert len(lines) == 1 and "bin_size" in lines[0], lines
    assert not (tmp_path / "results/simulate").exists()
    assert not (tmp_path / "results/validate").exists()


def test_bad_samplesheet_stops_at_validate_and_publishes_nothing(test_profile_run, tmp_path):
    world = test_profile_run[0] / "results" / "simulate"
    rows = list(csv.DictReader(open(world / "samplesheet.csv")))
    sheet = tmp_path / "bad.csv"
    with open(sheet, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for i, r in enumerate(rows[:3]):
            r = dict(r, file=str(world / r["file"]))
            if i == 1:
                r["track_id"] = "bad id;rm"
            w.writerow(r)
    res = _run(tmp_path, "--input", str(sheet), "--fasta", str(world / "genome.fa"),
               "--outdir", str(tmp_path / "results"), "--seq_length", "16384")
    assert res.returncode != 0
    lines = _error_lines(res)
    assert len(lines) == 1 and "bad.csv" in lines[0] and "track_id" in lines[0], lines
    assert not (tmp_path / "results/validate").exists()


def test_mismatched_chromosomes_stop_at_validate(test_profile_run, tmp_path):
    world = test_profile_run[0] / "results" / "simulate"
    # a genome whose contigs share no name with the tracks
    fasta = tmp_path / "other.fa"
    with open(fasta, "w") as fh:
        fh.write(">scaffold_1\n" + "ACGT" * 5000 + "\n")
    rows = list(csv.DictReader(open(world / "samplesheet.csv")))[:2]
    sheet = tmp_path / "ok.csv"
    with open(sheet, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow(dict(r, file=str(world / r["file"])))
    res = _run(tmp_path, "--input", str(sheet), "--fasta", str(fasta), "--outdir", str(tmp_path / "results"),
               "--seq_length", "16384")
    assert res.returncode != 0
    lines = _error_lines(res)
    assert len(lines) == 1 and "other.fa" in lines[0], lines
    assert not (tmp_path / "results/validate").exists()


def test_missing_input_file_is_named(tmp_path):
    res = _run(tmp_path, "--input", str(tmp_path / "nope.csv"), "--fasta", str(tmp_path / "nope.fa"),
               "--outdir", str(tmp_path / "results"))
    assert res.returncode != 0
    assert "nope.csv" in (res.stdout + res.stderr)
