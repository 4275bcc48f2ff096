"""End-to-end: real `nextflow run main.nf` on the test profile, -resume, and bad input."""

from __future__ import annotations

import csv
import json
import re
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
    from seq2func.prepare import open_dataset

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
            # the simulated truth reaches EVALUATE: each track's ceiling on exactly the scored
            # chromosomes, and gene-level R against the truth expression of the cell type
            assert metrics["chroms"] and all(0 < t["ceiling"] <= 1 and t["fraction_of_ceiling"] == pytest.approx(
                t["pearson_r"] / t["ceiling"]) for t in metrics["tracks"])
            assert all(-1 <= g["truth_spearman_r"] <= 1 and 0 < g["ceiling_spearman_r"] <= 1
                       for g in metrics["gene_level"]["tracks"])
    summary = (out / "evaluate/summary/transfer_summary.tsv").read_text().splitlines()
    assert len(summary) == 1 + 1 + len(targets) * len(strategies)
    assert (out / "evaluate/summary/transfer_vs_scratch.png").stat().st_size > 1000


def test_score_variants_and_variant_benchmark(test_profile_run):
    """-profile test scores the world's labelled and causal variants with every checkpoint (one task per
    model x chromosome), merges per model (tables, indexed VCF, calibration) and runs the benchmark."""
    import subprocess

    import pandas as pd

    out = test_profile_run[0] / "results"
    labels = ["pretrain"] + [f"{ct}/{s}" for ct in ("cardiomyocyte", "neuron")
                             for s in ("full", "gradual_unfreeze", "head_only", "lora", "scratch")]
    n_vcf = subprocess.run(["bcftools", "view", "-H", str(out / "simulate/variants.vcf.gz")], capture_output=True,
                           text=True, check=True).stdout.count("\n")
    for label in labels:
        d = out / "variants" / label
        summary = json.loads((d / "summary.json").read_text())
        assert summary["variants_scored"] == n_vcf and summary["chromosomes"] == ["chr1", "chr2", "chr3"], label
        assert summary["null_draws"] >= 40 and summary["null_calibration"]["n_null_variants"] >= 40
        tsv = pd.read_csv(d / "scores.tsv", sep="\t")
        assert len(tsv) == n_vcf * len(summary["tracks"]) and tsv["pvalue_SAD"].between(0, 1).all()
        assert (d / "scores.parquet").is_file() and (d / "scores.vcf.gz.tbi").is_file()
    q = subprocess.run(["bcftools", "query", "-f", "%INFO/SAD_ATAC_neuron\n", str(out / "variants/neuron/full/scores.vcf.gz")],
                       capture_output=True, text=True, check=True).stdout.split()
    assert len(q) == n_vcf and all(x != "." for x in q)
    bench = out / "variants" / "benchmark"
    auc = pd.read_csv(bench / "auroc.tsv", sep="\t")
    assert set(auc["model"]) == set(labels) | {"baseline_random", "baseline_pwm"} and (auc["n_missing"] == 0).all()
    for name in ("auroc", "sign_consistency", "enrichment", "maf", "conservation", "heatmap"):
        assert (bench / f"{name}.tsv").is_file() and (bench / f"{name}.png").stat().st_size > 1000, name


def test_interpret_models_and_summary(test_profile_run):
    """-profile test explains the pretrained model and each target cell type's `full` fine-tuning:
    regions, attributions (DeepSHAP, hypothetical contributions), MoDISco patterns and first-layer
    filters matched to JASPAR, exact ISM; the summary writes specificity and the recovery of the
    world's planted TFs (every planted TF listed, recovered or not)."""
    import numpy as np
    import pandas as pd

    out = test_profile_run[0] / "results" / "interpret"
    truth = json.loads((test_profile_run[0] / "results/simulate/truth.json").read_text())
    for label in ("pretrain", "neuron/full", "cardiomyocyte/full"):
        d = out / label
        s = json.loads((d / "summary.json").read_text())
        assert s["regions"] >= 3 and s["method"] == "deeplift_shap" and s["jaspar_matrices"] > 500, label
        a = np.load(d / "attributions.npz")
        assert a["attributions"].shape == a["hypothetical"].shape == (s["regions"], 4, 16384)
        assert np.isfinite(a["attributions"].astype(np.float32)).all()
        ism = np.load(d / "ism.npz")
        key = [k for k in ism.files if k.endswith("__values")][0]
        assert ism[key].shape == (50, 4) and np.isfinite(ism[key]).all()
        for name in ("regions.tsv", "patterns.tsv", "filters.tsv", "patterns.meme", "filters.meme"):
            assert (d / name).is_file(), (label, name)
    rec = pd.read_csv(out / "recovery.tsv", sep="\t")
    assert sorted(rec["tf"]) == sorted(m["name"] for m in truth["motifs"]["tfs"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["models"] == ["cardiomyocyte/full", "neuron/full", "pretrain"]
    assert summary["motif_recovery"] == pytest.approx(rec["recovered"].mean())
    assert (out / "specificity.tsv").is_file() and (out / "lineage_ranks.tsv").is_file()


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


#: the report's sections in a test-profile run (every stage ran; specificity heatmap depends on matches)
REPORT_SECTIONS = {
    "s2f_inputs", "s2f_input_tracks", "s2f_windows", "s2f_targets", "s2f_training_runs", "s2f_curve_metric",
    "s2f_curve_loss", "s2f_track_metrics", "s2f_transfer", "s2f_transfer_table", "s2f_gene_metrics",
    "s2f_variant_auroc", "s2f_variant_auroc_bars", "s2f_variant_sign", "s2f_variant_enrichment",
    "s2f_variant_conservation", "s2f_variant_heatmap", "s2f_interpret_models", "s2f_motifs", "s2f_recovery",
    "s2f_personal_summary", "s2f_personal_r_p", "s2f_personal_predixcan", "s2f_personal_drivers",
    "s2f_personal_figures", "s2f_personal_finetune", "s2f_personal_finetune_table", "s2f_params",
}
#: parents (headings) of those sections
REPORT_PARENTS = {"s2f_data", "s2f_training", "s2f_evaluation", "s2f_variants", "s2f_interpret", "s2f_personal", "s2f_run"}


def test_report_is_one_offline_multiqc_page_with_every_stage(test_profile_run):
    from seq2func.report.build import external_references, section_ids

    tmp, _ = test_profile_run
    out = tmp / "results"
    report = out / "multiqc/multiqc_report.html"
    assert report.is_file() and (out / "multiqc/multiqc_data").is_dir()
    assert external_references(report) == []
    ids = section_ids(report)
    assert REPORT_SECTIONS | REPORT_PARENTS <= ids, sorted(REPORT_SECTIONS - ids)
    text = report.read_text()
    assert "fine-tuning beats scratch" in text and "general_stats" in text.lower()
    # every stage wrote its content next to its outputs, and the page holds its numbers
    for rel in ["validate/mqc", "prepare/mqc", "pretrain/mqc", "finetune/neuron/full/mqc", "evaluate/mqc",
                "variants/mqc", "interpret/mqc", "personal/mqc", "personal/finetune/mqc"]:
        assert list((out / rel).glob("*_mqc.*")), rel
    transfer = json.loads((out / "evaluate/mqc/s2f_transfer_mqc.json").read_text())
    summary = {(r["cell_type"], r["strategy"]): r["mean_pearson_r"]
               for r in json.loads((out / "evaluate/summary/transfer_summary.json").read_text())["runs"] if r["strategy"]}
    assert {(ct, s): v for ct, d in transfer["data"].items() for s, v in d.items()} == pytest.approx(summary)
    data = out / "multiqc/multiqc_data/multiqc_s2f_transfer_plot.txt"
    assert data.is_file()
    versions = (out / "multiqc/multiqc_data/multiqc_software_versions.txt")
    assert versions.is_file() and "multiqc" in versions.read_text().lower()
    print(f"report: {report.stat().st_size / 1e6:.1f} MB, {len(ids & REPORT_SECTIONS)} sections")


def test_report_renders_in_headless_chromium_without_errors_or_requests(test_profile_run):
    from tests.pipeline.report_browser import open_report

    tmp, _ = test_profile_run
    out = tmp / "results"
    shot = out / "multiqc/screenshot.png"
    page = open_report(out / "multiqc/multiqc_report.html", shot, min_plots=8)
    assert page.plots >= 8, page
    assert page.console_errors == [], page.console_errors
    external = [u for u in page.requests if not u.startswith(("file:", "data:", "blob:", "about:"))]
    assert external == [], external
    assert REPORT_SECTIONS | REPORT_PARENTS <= page.section_ids, sorted(REPORT_SECTIONS - page.section_ids)
    assert shot.is_file() and shot.stat().st_size > 20_000
    print(f"browser: {page.plots} plots drawn in {page.seconds:.1f} s, {len(page.requests)} requests (all local)")


def test_report_of_a_run_from_pretrained_weights_without_cohort_variants_or_interpret(test_profile_run):
    """Another run shape: --pretrained (no PRETRAIN), no PERSONAL, SCORE_VARIANTS or INTERPRET: their
    sections are absent (not empty), the rest is there."""
    from seq2func.report.build import external_references, section_ids

    tmp, _ = test_profile_run
    out = tmp / "results_pretrained"
    res = _run(tmp, "-profile", "test", "--outdir", str(out), "--pretrained", str(tmp / "results/pretrain/model.pt"),
               "--skip_personal", "--skip_variants", "--skip_interpret", "--finetune_strategies", "head_only",
               "--finetune_cell_types", "neuron", "-resume")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    status = _statuses(out)
    assert "PRETRAIN" not in status and status["REPORT"] == {"COMPLETED"}, status
    report = out / "multiqc/multiqc_report.html"
    ids = section_ids(report)
    assert {"s2f_inputs", "s2f_windows", "s2f_training_runs", "s2f_curve_metric", "s2f_track_metrics",
            "s2f_transfer_table", "s2f_params"} <= ids, sorted(ids)
    assert not any(i.startswith(("s2f_variant", "s2f_personal", "s2f_interpret", "s2f_motif", "s2f_recovery"))
                   for i in ids), sorted(ids)
    runs = json.loads((out / "finetune/neuron/head_only/mqc/neuron_head_only.training_runs_mqc.json").read_text())
    assert list(runs["data"]) == ["neuron/head_only"]
    assert external_references(report) == []


def test_resume_reuses_every_task(test_profile_run):
    tmp, _ = test_profile_run
    res = _run(tmp, *_profile(tmp), "--outdir", str(tmp / "results"), "-resume")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    traces = sorted((tmp / "results/pipeline_info").glob("execution_trace_*.txt"), key=lambda p: p.stat().st_mtime)
    last = [l.split("\t") for l in traces[-1].read_text().splitlines()]
    status = {row[last[0].index("process")]: row[last[0].index("status")] for row in last[1:]}
    assert status and all(s == "CACHED" for s in status.values()), status


def _trace_rows(results: Path) -> list[dict]:
    (trace,) = sorted((results / "pipeline_info").glob("execution_trace_*.txt"))
    return list(csv.DictReader(open(trace), delimiter="\t"))


def _statuses(results: Path) -> dict[str, set[str]]:
    """{process (last name): the statuses of its tasks} from the one trace of a run's outdir."""
    got: dict[str, set[str]] = {}
    for r in _trace_rows(results):
        got.setdefault(r["process"].split(":")[-1], set()).add(r["status"])
    return got


def test_resume_reruns_only_tasks_whose_inputs_changed(test_profile_run):
    """-resume re-runs a task only when something it uses changes. No task script references the whole
    `params` map (Nextflow hashes every variable a script references, so any parameter re-ran the
    trainings and PERSONAL): the training/PERSONAL options reach the tasks as values, the resume-state
    location is no task input. Runs in the fixture's launch and work directory, each into its own
    outdir (the fixture's results and its trace stay as the other tests expect them)."""
    tmp, _ = test_profile_run
    personal = {"PERSONAL_CHUNK", "PERSONAL_MERGE", "PERSONAL_FINETUNE"}

    # 1. output-only parameters: every compute task cached (the parameter check itself runs again and
    #    records the new values); the cached results are published in the new place and mode
    moved = tmp / "results_moved"
    res = _run(tmp, *_profile(tmp), "--outdir", str(moved), "--publish_dir_mode", "symlink", "--monochrome_logs",
               "--resume_dir", str(tmp / "resume_elsewhere"), "-resume")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    status = _statuses(moved)
    assert {"SIMULATE", "PREPARE_CHROM", "PRETRAIN", "FINETUNE", "EVALUATE"} | personal <= set(status), status
    assert {p for p, s in status.items() if s != {"CACHED"}} <= {"VALIDATE_PARAMS", "REPORT"}, status
    assert (moved / "pretrain/model.pt").is_symlink() and (moved / "personal/summary.json").is_symlink()
    assert json.loads((moved / "pipeline_info/params.json").read_text())["outdir"] == str(moved)

    # 2. a PERSONAL-only parameter: PERSONAL runs again, PREPARE/PRETRAIN/FINETUNE/EVALUATE stay cached
    draws = tmp / "results_null_draws"
    res = _run(tmp, *_profile(tmp), "--outdir", str(draws), "--personal_null_draws", "7", "-resume")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    status = _statuses(draws)
    assert all("CACHED" not in status[p] for p in personal), status
    assert {p for p, s in status.items() if s != {"CACHED"}} == personal | {"VALIDATE_PARAMS", "REPORT"}, status

    # 3. a training parameter (one fine-tuning, no PERSONAL or INTERPRET, for time): PRETRAIN and what
    #    follows run again (the variant scoring of the new checkpoints too), the data preparation stays cached;
    #    VALIDATE runs again (the profile's personal fine-tuning is off with --skip_personal: VALIDATE checks
    #    the cohort can hold individuals out only when fine-tuning is on), PREPARE does not
    lr = tmp / "results_lr"
    res = _run(tmp, *_profile(tmp), "--outdir", str(lr), "--lr", "0.002", "--skip_personal", "--skip_interpret",
               "--finetune_strategies", "full", "--finetune_cell_types", "neuron", "-resume")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    status = _statuses(lr)
    rerun = {"VALIDATE_PARAMS", "VALIDATE", "PRETRAIN", "FINETUNE", "EVALUATE", "EVALUATE_SUMMARY", "SCORE_VARIANTS",
             "SCORE_VARIANTS_MERGE", "VARIANT_BENCHMARK", "REPORT"}
    assert all(status[p] == {"COMPLETED"} for p in rerun - {"VALIDATE_PARAMS"}), status
    assert {p for p, s in status.items() if s != {"CACHED"}} == rerun, status
    assert {"SIMULATE", "VALIDATE", "PREPARE_SPLIT", "PREPARE_CHROM", "PREPARE_MERGE"} <= set(status), status
    assert json.loads((lr / "pretrain/metrics.json").read_text())["train_params"]["lr"] == 0.002



def test_resume_keeps_prepare_when_only_the_expression_changes(test_profile_run):
    """A new expression matrix (or cohort VCF, covariates, checkpoint) is validated again, but PREPARE
    reads only the validated samplesheet's content, which does not change: PREPARE and the trainings
    stay cached, what uses the expression (EVALUATE, PERSONAL) runs again. The world's files as user
    inputs (PREPARE differs from the test profile's there: other track paths), in the fixture's
    launch and work directory, each run into its own outdir."""
    tmp, _ = test_profile_run
    world = tmp / "results" / "simulate"
    personal = {"PERSONAL_CHUNK", "PERSONAL_MERGE", "PERSONAL_FINETUNE"}
    lines = (world / "expression.tsv").read_text().splitlines(keepends=True)
    exprs = {}
    for name, text in [("a", "".join(lines)), ("c", None)]:
        if text is None:  # one value changed
            fields = lines[1].rstrip("\n").split("\t")
            fields[1] = str(float(fields[1]) + 1.5)
            text = "".join([lines[0], "\t".join(fields) + "\n", *lines[2:]])
        exprs[name] = tmp / f"expr_{name}" / "expression.tsv"
        exprs[name].parent.mkdir(exist_ok=True)
        exprs[name].write_text(text)
    assert exprs["c"].read_text() != exprs["a"].read_text()
    # (one changed value at another path covers the same content at another path too: PREPARE is
    # keyed on the validated samplesheet alone; INTERPRET is skipped, it does not read the expression)

    def run(name: str) -> dict[str, set[str]]:
        out = tmp / f"results_expr_{name}"
        res = _run(tmp, *_profile(tmp), "--simulate", "false", "--input", str(world / "samplesheet.csv"),
                   "--fasta", str(world / "genome.fa"), "--gtf", str(world / "genes.gtf"), "--tss_bed",
                   str(world / "tss.bed"), "--blacklist", str(world / "blacklist.bed"), "--cohort_vcf",
                   str(world / "cohort.vcf.gz"), "--expression", str(exprs[name]), "--finetune_strategies", "full",
                   "--finetune_cell_types", "neuron", "--skip_interpret", "--outdir", str(out), "-resume")
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        return _statuses(out)

    kept = {"PREPARE_SPLIT", "PREPARE_CHROM", "PREPARE_MERGE", "PRETRAIN", "FINETUNE"}
    rerun = {"VALIDATE", "EVALUATE", "EVALUATE_SUMMARY"} | personal
    status = run("a")  # the baseline: user inputs, so PREPARE runs here
    assert "SIMULATE" not in status and "COMPLETED" in status["PREPARE_CHROM"], status
    status = run("c")  # another path and one value changed
    assert all(status[p] == {"CACHED"} for p in kept), status
    assert all(status[p] == {"COMPLETED"} for p in rerun), status
    summary = json.loads((tmp / "results_expr_c/personal/summary.json").read_text())
    assert summary, summary


def test_bad_expression_stops_at_validate_before_prepare(test_profile_run, tmp_path):
    """Every input is validated before any compute: a malformed expression matrix stops the run at
    VALIDATE with one line naming it, and nothing is prepared or published but pipeline_info."""
    world = test_profile_run[0] / "results" / "simulate"
    lines = (world / "expression.tsv").read_text().splitlines(keepends=True)
    bad = tmp_path / "bad_expression.tsv"
    fields = lines[1].rstrip("\n").split("\t")
    fields[1] = "not-a-number"
    bad.write_text("".join([lines[0], "\t".join(fields) + "\n", *lines[2:]]))
    res = _run(tmp_path, "--input", str(world / "samplesheet.csv"), "--fasta", str(world / "genome.fa"),
               "--gtf", str(world / "genes.gtf"), "--cohort_vcf", str(world / "cohort.vcf.gz"),
               "--expression", str(bad), "--outdir", str(tmp_path / "results"), "--seq_length", "16384")
    assert res.returncode != 0
    lines = _error_lines(res)
    assert len(lines) == 1 and "bad_expression.tsv" in lines[0], lines
    assert {p.name for p in (tmp_path / "results").iterdir()} == {"pipeline_info"}
    assert not any("prepare_" in f.read_text() for f in (tmp_path / "work").glob("*/*/.command.sh"))

def _replay(workdir: Path, dest: Path, resume_dir: Path) -> None:
    """Run a task's .command.sh again, uninterrupted, in a fresh directory with the same staged inputs
    (the task's symlinks) and its own resume dir: the reference a resumed task must equal."""
    import os
    import subprocess

    for root, dirs, files in os.walk(workdir):
        for name in dirs + files:
            p = Path(root) / name
            if p.is_symlink():
                link = dest / p.relative_to(workdir)
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(os.readlink(p))
    script = (workdir / ".command.sh").read_text()
    old = re.search(r"--resume-dir '([^']+)'", script).group(1)
    (dest / ".command.sh").write_text(script.replace(old, str(resume_dir)))
    env = {k: v for k, v in os.environ.items() if k not in ("SEQ2FUNC_TEST_KILL_AFTER_EPOCH", "SEQ2FUNC_TRAIN_HOOKS")}
    env["PATH"] = f"{REPO / 'bin'}:{REPO / '.venv' / 'bin'}:{env.get('PATH', '')}"
    res = subprocess.run(["bash", "-euo", "pipefail", ".command.sh"], cwd=dest, capture_output=True, text=True, env=env,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "resumed from" not in res.stderr


def _same_training(a: Path, b: Path) -> None:
    """Bit-identical checkpoints and equal history rows (timings aside) in two training output dirs."""
    import torch

    for name in ("model.pt", "last.pt"):
        sa = torch.load(a / name, weights_only=True, map_location="cpu")["state_dict"]
        sb = torch.load(b / name, weights_only=True, map_location="cpu")["state_dict"]
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa), (a / name, b / name)
    timing = {"train_s", "valid_s", "wall_s", "windows_per_s"}

    def rows(d):
        return [{k: v for k, v in r.items() if k not in timing} for r in csv.DictReader(open(d / "history.tsv"), delimiter="\t")]

    assert rows(a) == rows(b) and len(rows(a)) == 3


def test_killed_training_task_resumes_from_its_last_checkpoint(tmp_path):
    """SPEC §6: a killed training resumes from its last checkpoint. PRETRAIN and FINETUNE kill
    themselves with SIGKILL (exit 137, as an OOM kill) right after the checkpoint of their first epoch
    (test hook tests.hooks:kill_after_epoch, injected with SEQ2FUNC_TRAIN_HOOKS, tests importable through
    PYTHONPATH, and SEQ2FUNC_TEST_KILL_AFTER_EPOCH, given to the tasks by the env scope of a -c config);
    base.config retries 137 once, in a fresh work directory; the retry finds the checkpoint in
    <workDir>/.seq2func-resume, resumes at epoch 1 and ends bit-identical to an uninterrupted run."""
    cfg = tmp_path / "kill.config"
    import os

    pythonpath = os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))
    cfg.write_text("env {\n    SEQ2FUNC_TEST_KILL_AFTER_EPOCH = '1'\n"
                   "    SEQ2FUNC_TRAIN_HOOKS = 'tests.hooks:kill_after_epoch'\n"
                   f"    PYTHONPATH = '{pythonpath}'\n}}\n")
    results = tmp_path / "results"
    res = _run(tmp_path, "-profile", "test", "-c", str(cfg), "--outdir", str(results), "--epochs", "3",
               "--finetune_strategies", "head_only", "--finetune_cell_types", "neuron", "--skip_personal",
               "--skip_variants", "--skip_interpret", "--skip_report")  # only the trainings matter here
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    rows = _trace_rows(results)
    base = tmp_path / "work" / ".seq2func-resume"
    for process, label, out in [("PRETRAIN", "pretrain", "pretrain"),
                                ("FINETUNE", "finetune-neuron-head_only", "finetune/neuron/head_only")]:
        runs = sorted((r for r in rows if r["process"].endswith(f":{process}")), key=lambda r: int(r["attempt"]))
        assert [(r["attempt"], r["exit"]) for r in runs] == [("1", "137"), ("2", "0")], runs
        assert runs[1]["status"] == "COMPLETED"
        first, second = [next((tmp_path / "work").glob(r["hash"] + "*")) for r in runs]
        assert first != second  # a fresh work directory for the retry ...
        log1, log2 = (first / ".command.log").read_text(), (second / ".command.log").read_text()
        assert "SIGKILL" in log1 and "resumed from" not in log1
        # ... that resumed from the checkpoint the killed attempt left in the resume dir
        m = re.search(r"resumed from (\S+) at epoch (\d+) step (\d+)", log2)
        assert m and m.group(2) == "1" and int(m.group(3)) > 0, log2[-3000:]
        assert Path(m.group(1)).parent.parent == base and Path(m.group(1)).parent.name.startswith(f"{label}-")
        assert "epoch 1/3" not in log2 and "epoch 3/3" in log2  # epoch 1 was not trained again
        # the uninterrupted reference: the same command, replayed from scratch
        ref = tmp_path / "ref" / label
        _replay(second, ref, tmp_path / "ref_resume")
        _same_training(second / out, ref / out)
        for name in ("model.pt", "metrics.json", "history.tsv"):  # what was published is the resumed run's
            assert (results / out / name).read_bytes() == (second / out / name).read_bytes(), name
    # finished trainings leave no resume state behind, and none of it is published
    assert not base.exists() and not (tmp_path / "ref_resume").exists()
    assert not list(results.rglob("last.pt")) and not list(results.rglob("fingerprint.json"))


def test_resume_dir_locations(tmp_path):
    """Seq2func.resumeBase: --resume_dir as given (relative: from the launch directory), else
    <workDir>/.seq2func-resume; object storage only through its Fusion mount, else '' (resume off)."""
    (tmp_path / "lib").mkdir()
    shutil.copy(REPO / "lib" / "Seq2func.groovy", tmp_path / "lib")
    (tmp_path / "check.nf").write_text("""
workflow {
    def w = file("${launchDir}/w")
    [null, 'rel/dir', '/abs/dir', 's3://bucket/prefix', 'file:///x/y'].each { d ->
        println "RB ${d} plain=" + Seq2func.resumeBase(d, w, false) + " fusion=" + Seq2func.resumeBase(d, w, true)
    }
    println "RB workDir=" + Seq2func.resumeBase(null, workflow.workDir, false)
}
""")
    res = run_nextflow(["run", str(tmp_path / "check.nf"), "-w", str(tmp_path / "work")], cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    got = [l[3:] for l in res.stdout.splitlines() if l.startswith("RB ")]
    assert got == [f"null plain={tmp_path}/w/.seq2func-resume fusion={tmp_path}/w/.seq2func-resume",
                   f"rel/dir plain={tmp_path}/rel/dir fusion={tmp_path}/rel/dir",
                   "/abs/dir plain=/abs/dir fusion=/abs/dir",
                   "s3://bucket/prefix plain= fusion=/fusion/s3/bucket/prefix",
                   "file:///x/y plain=/x/y fusion=/x/y",
                   f"workDir={tmp_path}/work/.seq2func-resume"], got


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
