"""Nextflow from Maven Central (tools/nextflow/): install.sh, the jar set, and the wrapper.

Uses the project's install (``$SEQ2FUNC_NEXTFLOW`` -- the install folder or its ``bin/nextflow``
-- else ``${SEQ2FUNC_CACHE:-~/.cache/seq2func}/nextflow/<version>``), installing it there when
missing, and runs a tiny DSL2 pipeline offline with publishDir, trace/report/timeline, -profile,
-resume and ``nextflow config`` (that test is marked ``pipeline``). About 15-30 s with a warm
Maven cache.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools" / "nextflow"
INSTALL = TOOLS / "install.sh"


def _pom_version(prop: str) -> str:
    m = re.search(rf"<{re.escape(prop)}>([^<]+)</{re.escape(prop)}>", (TOOLS / "pom.xml").read_text())
    assert m, f"<{prop}> missing from tools/nextflow/pom.xml"
    return m.group(1).strip()


VERSION = _pom_version("nextflow.version")
CACHE = Path(os.environ.get("SEQ2FUNC_CACHE") or Path.home() / ".cache" / "seq2func")


def _run(cmd: list[str], cwd: Path | None = None, env: dict | None = None,
         timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def _install(dest: Path) -> subprocess.CompletedProcess:
    proc = _run(["bash", str(INSTALL), str(dest)], timeout=600)
    assert proc.returncode == 0, f"install.sh failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def install_dir() -> Path:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("java not found: Nextflow needs Java 17 (apt-get install openjdk-17-jre-headless)")
    given = os.environ.get("SEQ2FUNC_NEXTFLOW")
    if given:
        p = Path(given)
        dest = p.parent.parent if p.is_file() else p
    else:
        dest = CACHE / "nextflow" / VERSION
    if not (dest / "lib" / ".seq2func-install").is_file() and shutil.which("mvn") is None:
        pytest.fail(f"no Nextflow install in {dest} and no `mvn` to create one (apt-get install maven)")
    _install(dest)  # fast no-op when complete
    return dest


@pytest.fixture(scope="module")
def nxf_env(tmp_path_factory) -> dict:
    env = dict(os.environ)
    for var in ("NXF_VER", "NXF_OPTS", "JAVA_OPTS", "NXF_CLI_OPTS", "NXF_OFFLINE",
                "NXF_PLUGINS_DEFAULT", "NXF_WORK", "NXF_TEMP"):
        env.pop(var, None)
    env["NXF_HOME"] = str(tmp_path_factory.mktemp("nxf_home"))
    env["NXF_ANSI_LOG"] = "false"
    return env


def test_install_is_idempotent_and_prints_wrapper(install_dir):
    t0 = time.monotonic()
    proc = _install(install_dir)
    elapsed = time.monotonic() - t0
    wrapper = install_dir / "bin" / "nextflow"
    assert proc.stdout.strip().splitlines()[-1] == str(wrapper)
    assert os.access(wrapper, os.X_OK)
    assert elapsed < 5, f"second install.sh call should be a no-op, took {elapsed:.1f}s"
    assert VERSION in (install_dir / "lib" / ".seq2func-install").read_text()
    assert "@NXF_VERSION@" not in wrapper.read_text()


def test_install_into_fresh_dir_reuses_maven_cache(install_dir, tmp_path):
    # install_dir exists, so the Maven repo under $SEQ2FUNC_CACHE/m2 is warm: no download needed
    dest = tmp_path / "nf" / VERSION
    proc = _install(dest)
    assert proc.stdout.strip().splitlines()[-1] == str(dest / "bin" / "nextflow")
    assert sorted(p.name for p in (dest / "lib").glob("*.jar")) == \
        sorted(p.name for p in (install_dir / "lib").glob("*.jar"))
    # atomic: nothing left beside DEST but the lock file
    assert sorted(p.name for p in dest.parent.iterdir()) == [VERSION, f"{VERSION}.lock"]


def test_lib_has_groovy4_only(install_dir):
    names = sorted(p.name for p in (install_dir / "lib").glob("*.jar"))
    assert f"io.nextflow.nextflow-{VERSION}.jar" in names
    assert f"io.nextflow.nf-commons-{VERSION}.jar" in names
    assert any(n.startswith("io.nextflow.nf-httpfs-") for n in names)
    assert any(re.fullmatch(r"org\.apache\.groovy\.groovy-4\.[\d.]+\.jar", n) for n in names)
    old = [n for n in names
           if n.startswith("org.codehaus.groovy.") or re.search(r"(^|\.)groovy(-[A-Za-z0-9]+)*-[23]\.\d", n)]
    assert old == [], f"Groovy 2/3 jars in lib: {old}"
    # kryo (task cache) needs objenesis at runtime, or -resume never hits the cache
    assert any(n.startswith("org.objenesis.objenesis-") for n in names)


def test_version(install_dir, nxf_env, tmp_path):
    proc = _run([str(install_dir / "bin" / "nextflow"), "-version"], cwd=tmp_path, env=nxf_env)
    assert proc.returncode == 0, proc.stderr
    assert f"version {VERSION}" in proc.stdout
    assert VERSION.startswith("24.10.")


PIPELINE = """\
nextflow.enable.dsl = 2
params.greeting = 'Hello'
params.outdir = 'results'

process SAY {
    publishDir "${params.outdir}", mode: 'copy'
    input:
    val name
    output:
    path "${name}.txt"
    script:
    \"\"\"
    echo '${params.greeting} ${name}' > ${name}.txt
    \"\"\"
}

workflow {
    Channel.of('world', 'there') | SAY
}

workflow.onComplete {
    println "ONCOMPLETE success=${workflow.success}"
}
"""

CONFIG = """\
process.executor = 'local'
profiles {
    shout { params.greeting = 'HELLO' }
}
"""


@pytest.mark.pipeline
def test_pipeline_run_resume_and_config(install_dir, nxf_env, tmp_path):
    nf = str(install_dir / "bin" / "nextflow")
    (tmp_path / "hello.nf").write_text(PIPELINE)
    (tmp_path / "nextflow.config").write_text(CONFIG)

    first = _run([nf, "run", "hello.nf", "-profile", "shout", "-with-trace", "trace1.txt",
                  "-with-report", "report.html", "-with-timeline", "timeline.html"],
                 cwd=tmp_path, env=nxf_env)
    assert first.returncode == 0, f"{first.stdout}\n{first.stderr}"
    assert "ONCOMPLETE success=true" in first.stdout
    assert (tmp_path / "results" / "world.txt").read_text() == "HELLO world\n"
    assert (tmp_path / "results" / "there.txt").read_text() == "HELLO there\n"
    trace1 = (tmp_path / "trace1.txt").read_text().splitlines()
    assert len(trace1) == 3 and all("COMPLETED" in line for line in trace1[1:])
    assert "Nextflow Workflow Report" in (tmp_path / "report.html").read_text()
    assert (tmp_path / "timeline.html").stat().st_size > 1000

    second = _run([nf, "run", "hello.nf", "-profile", "shout", "-resume", "-with-trace", "trace2.txt"],
                  cwd=tmp_path, env=nxf_env)
    assert second.returncode == 0, f"{second.stdout}\n{second.stderr}"
    assert second.stdout.count("Cached process > SAY") == 2, second.stdout
    trace2 = (tmp_path / "trace2.txt").read_text().splitlines()
    assert len(trace2) == 3 and all("CACHED" in line for line in trace2[1:])

    conf = _run([nf, "config", "-flat", "-profile", "shout"], cwd=tmp_path, env=nxf_env)
    assert conf.returncode == 0, conf.stderr
    assert "process.executor = 'local'" in conf.stdout
    assert "params.greeting = 'HELLO'" in conf.stdout

    # offline: no plugin was downloaded
    plugins = Path(nxf_env["NXF_HOME"]) / "plugins"
    assert not plugins.exists() or not any(plugins.iterdir())
