"""Shared fixtures: where the checkout and ../shared are, and how to call nextflow."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI (CI=true) a skipped test is a failed test: the only skips are for missing
    ../shared data or Debian tools, and CI has both, so a skip there means something is broken."""
    outcome = yield
    rep = outcome.get_result()
    if os.environ.get("CI", "").lower() in ("1", "true", "yes") and rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"skipped under CI, which must run every test: {reason}"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():  # CI always has it; a bare checkout elsewhere may not
        pytest.skip(f"{SHARED} not present")
    return SHARED


def nextflow_exe() -> str:
    exe = shutil.which("nextflow") or str(REPO / ".venv" / "bin" / "nextflow")
    if not Path(exe).exists():
        pytest.fail("nextflow not found: run `make setup` (pipeline tests must not be skipped)")
    return exe


def run_nextflow(args: list[str], cwd: Path, timeout: int = 1800) -> subprocess.CompletedProcess:
    # 1,800 s: the test-profile run takes ~570 s alone on 2 cores and twice that beside another
    # CPU-bound job; a hung run is still stopped well inside CI's 90 minutes.
    env = dict(os.environ)
    env.setdefault("NXF_ANSI_LOG", "false")
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{env.get('PATH', '')}"
    return subprocess.run([nextflow_exe(), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env=env)
