"""-profile slurm on a real single-node SLURM cluster (Debian slurm-wlm, started here: tests/slurm_cluster.py).

The test profile's pipeline, cut to one fine-tuning strategy and no PERSONAL, SCORE_VARIANTS or INTERPRET, runs with
`-profile test,slurm`: every task must go through sbatch (a numeric SLURM job id in the trace, a
`#SBATCH` header, a COMPLETED record in the cluster's job-completion log with the task's work
directory), no task may ask for a GPU, and the results must have the local test profile's layout.
`make setup` installs slurm-wlm and munge (as root); when SLURM cannot start the test fails.
"""

from __future__ import annotations

import csv
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, nextflow_exe
from tests.slurm_cluster import SlurmCluster, SlurmClusterError

pytestmark = pytest.mark.pipeline

# the test profile, smaller: one strategy, one target cell type, no PERSONAL, SCORE_VARIANTS or INTERPRET
ARGS = ["-profile", "test,slurm", "--finetune_strategies", "full", "--finetune_cell_types", "neuron",
        "--skip_personal", "--skip_variants", "--skip_interpret"]
PROCESSES = {"VALIDATE_PARAMS", "SIMULATE", "VALIDATE", "PREPARE_SPLIT", "PREPARE_CHROM", "PREPARE_MERGE",
             "PRETRAIN", "FINETUNE", "EVALUATE", "EVALUATE_SUMMARY", "REPORT"}


@pytest.fixture(scope="module")
def slurm_cluster():
    cluster = SlurmCluster()
    try:
        cluster.start(timeout=60)
    except SlurmClusterError as e:   # never skip: -profile slurm is tested on every CI run
        pytest.fail(f"could not start the single-node SLURM test cluster: {e}", pytrace=False)
    yield cluster
    cluster.stop()


def _test_config(path: Path, cluster: SlurmCluster) -> Path:
    """Fast polling for seconds-long jobs, requests that fit the node, a trace with work dirs."""
    mem_mb = min(6 * 1024, cluster.real_memory_mb)
    path.write_text(f"""\
executor {{
    pollInterval      = '1 sec'
    queueStatInterval = '5 sec'
    exitReadTimeout   = '60 sec'
}}
process.resourceLimits = [ cpus: {min(2, cluster.cpus)}, memory: '{mem_mb}.MB', time: '1.h' ]
trace.fields = 'task_id,hash,native_id,process,tag,name,status,exit,attempt,cpus,memory,time,queue,workdir'
""")
    return path


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nf_slurm")
    env = slurm_cluster.env()
    env["NXF_ANSI_LOG"] = "false"
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{env['PATH']}"
    cmd = [nextflow_exe(), "run", str(REPO / "main.nf"), *ARGS, "-c", str(_test_config(tmp / "slurm_test.config", slurm_cluster)),
           "-w", str(tmp / "work"), "--outdir", str(tmp / "results"), "-with-trace", str(tmp / "trace.txt")]
    t0 = time.monotonic()
    try:
        res = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"nextflow -profile test,slurm timed out\n{slurm_cluster.log_tails()}\n"
                    f"{slurm_cluster.run('squeue', check=False).stdout}\n{(e.stdout or '')[-3000:]}")
    wall = time.monotonic() - t0
    print(f"nextflow -profile test,slurm: {wall:.0f} s")
    assert res.returncode == 0, (res.stdout[-4000:] + res.stderr[-4000:] + "\n" + slurm_cluster.log_tails())
    rows = list(csv.DictReader(open(tmp / "trace.txt"), delimiter="\t"))
    return tmp, res, rows, slurm_cluster.completed_jobs()


def test_every_task_is_a_completed_slurm_job(slurm_run, slurm_cluster):
    tmp, res, rows, jobs = slurm_run
    assert {r["process"].split(":")[-1] for r in rows} == PROCESSES
    assert all(r["status"] == "COMPLETED" and r["exit"] == "0" for r in rows), rows
    ids = [r["native_id"] for r in rows]
    assert all(i.isdigit() for i in ids), ids   # numeric; that they are SLURM job ids is checked below
    assert len(set(ids)) == len(ids)
    # -profile slurm keeps base.config's label resources (process_gpu: 8 CPUs, capped by the test profile)
    gpu_label = [r for r in rows if r["process"].split(":")[-1] in {"PRETRAIN", "FINETUNE", "EVALUATE"}]
    assert gpu_label and all(int(r["cpus"]) == min(2, slurm_cluster.cpus) for r in gpu_label), gpu_label
    for r in rows:
        job = jobs.get(r["native_id"])
        assert job is not None, f"{r['name']}: job {r['native_id']} not in the cluster's job-completion log"
        assert job["JobState"] == "COMPLETED" and job["ExitCode"] == "0:0", job
        assert job["NodeList"] == slurm_cluster.node and job["Partition"] == "debug", job
        assert Path(job["WorkDir"]) == Path(r["workdir"]), (job, r["workdir"])
        tres = dict(kv.split("=") for kv in job["Tres"].split(","))
        assert int(tres["cpu"]) == int(r["cpus"]) <= slurm_cluster.cpus, (r["name"], job["Tres"])
        sbatch = [l for l in (Path(r["workdir"]) / ".command.run").read_text().splitlines() if l.startswith("#SBATCH")]
        assert any(l.startswith("#SBATCH -J nf-") for l in sbatch) and any("--mem" in l for l in sbatch), sbatch
        assert not any("gres" in l or "gpu" in l for l in sbatch), (r["name"], sbatch)   # CPU run: no GPU asked
    # the controller saw them too, still in memory (MinJobAge) as COMPLETED jobs
    shown = slurm_cluster.run("scontrol", "show", "job", "-o").stdout.splitlines()
    states = {l.split()[0].removeprefix("JobId="): l.split("JobState=")[1].split()[0] for l in shown}
    assert all(states.get(i) == "COMPLETED" for i in ids), states


def test_slurm_run_publishes_the_test_profile_layout(slurm_run):
    import torch

    out = slurm_run[0] / "results"
    for rel in ["simulate/genome.fa", "simulate/samplesheet.csv", "validate/samplesheet.valid.csv",
                "validate/validation.json", "prepare/profile/manifest.json", "pretrain/model.pt",
                "pretrain/metrics.json", "finetune/neuron/full/model.pt", "finetune/neuron/full/metrics.json",
                "evaluate/pretrain/metrics.json", "evaluate/neuron/full/metrics.json",
                "evaluate/summary/transfer_summary.tsv", "pipeline_info/software_versions.yml"]:
        assert (out / rel).is_file(), rel
    assert not (out / "personal").exists() and not (out / "finetune/neuron/lora").exists()
    manifest = json.loads((out / "prepare/profile/manifest.json").read_text())
    assert manifest["params"]["seq_length"] == 16384
    ck = torch.load(out / "finetune/neuron/full/model.pt", weights_only=True, map_location="cpu")
    assert ck["strategy"]["name"] == "full" and ck["strategy"]["cell_type"] == "neuron"
    metrics = json.loads((out / "evaluate/neuron/full/metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["n_windows"] > 0
    summary = (out / "evaluate/summary/transfer_summary.tsv").read_text().splitlines()
    assert len(summary) == 1 + 1 + 1   # header, pretrain, neuron/full
    versions = (out / "pipeline_info/software_versions.yml").read_text()
    assert "PRETRAIN" in versions and "seq2func" in versions


def test_slurm_cluster_helper_runs_side_by_side(slurm_cluster):
    """A second throwaway cluster (own munge, ports, state) starts while the first runs, and stops cleanly."""
    with SlurmCluster(cpus=1, real_memory_mb=512) as other:
        assert other.conf != slurm_cluster.conf
        job = other.run("sbatch", "--parsable", "-c", "1", "--mem", "100M", "-t", "5", "-D", str(other.dir),
                        "--wrap", "echo hi from $SLURM_JOB_ID").stdout.strip()
        end = time.monotonic() + 60
        while time.monotonic() < end and job not in other.completed_jobs():
            time.sleep(0.5)
        assert other.completed_jobs()[job]["JobState"] == "COMPLETED", other.log_tails()
        assert (other.dir / f"slurm-{job}.out").read_text().strip() == f"hi from {job}"
        d = other.dir
    assert not d.exists()
    assert slurm_cluster.run("sinfo", "-h", "-o", "%T").stdout.strip() == "idle"
