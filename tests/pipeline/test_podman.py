"""The container for real: `make image` (tools/image.sh) builds the image with podman from a
debootstrap'ed Debian base, without any registry, and `-profile test,podman` runs the pipeline with
every task inside it, as the image's non-root user, writing nothing outside the work directory."""

from __future__ import annotations

import csv
import filecmp
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_nextflow

pytestmark = pytest.mark.pipeline

IMAGE_UID = 1000


@pytest.fixture(scope="module")
def image() -> tuple[str, float]:
    t0 = time.time()
    res = subprocess.run(["bash", str(REPO / "tools/image.sh")], capture_output=True, text=True, timeout=3600,
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    tag = res.stdout.strip().splitlines()[-1]
    print(f"make image: {time.time() - t0:.0f} s; {res.stderr.strip().splitlines()[-1]}")
    return tag, time.time() - t0


def _podman(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CONTAINERS_CONF": str(REPO / "conf/podman/containers.conf")}
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=env, timeout=300)


def test_image_holds_the_runtime_as_a_non_root_user(image):
    tag, _ = image
    res = _podman("run", "--rm", tag, "bash", "-c",
                  "id -u; command -v ps bcftools samtools tabix bgzip python3; "
                  "python3 -c 'import seq2func, torch, multiqc; print(seq2func.__version__)'; "
                  "report.py --help >/dev/null 2>&1 && echo no-bin || echo bin-from-pipeline")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split()
    assert lines[0] == str(IMAGE_UID), lines
    assert "/usr/bin/ps" in lines and "/usr/bin/bcftools" in lines and "/opt/seq2func/venv/bin/python3" in lines
    assert "0.1.0" in lines and lines[-1] == "bin-from-pipeline"  # bin/ comes from the pipeline, not the image


@pytest.fixture()
def open_tmp():
    """A run folder whose parents the image's user can enter: as root, Nextflow may mount a common
    parent of the work and project directories (here /tmp), and pytest's own base folder is
    mode 0700, which uid 1000 cannot traverse (docs/usage.md, Containers)."""
    import shutil
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="s2f-podman-", dir="/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_test_profile_inside_podman(image, open_tmp):
    tag, _ = image
    tmp_path = open_tmp
    out = tmp_path / "results"
    t0 = time.time()
    res = run_nextflow(["run", str(REPO / "main.nf"), "-profile", "test,podman", "-w", str(tmp_path / "work"),
                        "--outdir", str(out), "--finetune_strategies", "full,scratch", "--finetune_cell_types", "neuron"],
                       cwd=tmp_path, timeout=2400)
    wall = time.time() - t0
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-3000:]
    (trace,) = (out / "pipeline_info").glob("execution_trace_*.txt")
    rows = list(csv.DictReader(open(trace), delimiter="\t"))
    assert {"SIMULATE", "VALIDATE", "PREPARE_MERGE", "PRETRAIN", "FINETUNE", "EVALUATE", "SCORE_VARIANTS",
            "INTERPRET", "PERSONAL_MERGE", "REPORT"} <= {r["process"].split(":")[-1] for r in rows}
    # every task ran inside the image: its launcher calls podman with it; its Python is the image's
    for r in rows:
        (wd,) = (tmp_path / "work").glob(r["hash"] + "*")
        run = (wd / ".command.run").read_text()
        assert re.search(r"^\s*podman (--\S+ \S+ )*run -i .* seq2func/seq2func:0\.1\.0 ", run, re.M), r["name"]
        versions = wd / "versions.yml"
        if versions.is_file():
            assert 'python: "3.11.2"' in versions.read_text(), r["name"]  # Debian's, not this machine's
    # as the non-root user, and nothing written outside the work directory
    if os.geteuid() == 0:
        owned = [p for p in tmp_path.rglob("*") if not p.is_symlink() and p.lstat().st_uid == IMAGE_UID]
        assert owned, "no file written by the image's user"
        outside = [p for p in owned if (tmp_path / "work") not in p.parents]
        assert outside == [], outside[:5]
    # deterministic outputs equal those of the same code outside the container
    from seq2func.simulate import simulate_world

    host = tmp_path / "host_world"
    simulate_world(host, scale="tiny", seed=1)
    names = sorted(p.relative_to(host).as_posix() for p in host.rglob("*") if p.is_file())
    assert names
    _, mismatch, errors = filecmp.cmpfiles(host, out / "simulate", names, shallow=False)
    assert mismatch == [] and errors == [], (mismatch, errors)
    assert (out / "multiqc/multiqc_report.html").is_file()
    print(f"-profile test,podman (neuron full+scratch): {wall:.0f} s wall, {len(rows)} tasks")
