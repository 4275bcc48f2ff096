#!/usr/bin/env bash
# Idempotent set-up for `make demo` / `make test`:
#  1. Debian packages when missing and we are root: oracles (bcftools, samtools, tabix) and
#     slurm-wlm + munge for the -profile slurm test;
#  2. a cached virtualenv (${SEQ2FUNC_CACHE:-~/.cache/seq2func}/venv) linked to .venv/, with the
#     package installed editable from this checkout; dependencies are reinstalled only when
#     pyproject.toml changes;
#  3. Nextflow 24.10.x from Maven Central (tools/nextflow/install.sh), unless a `nextflow` is
#     already on PATH; its wrapper is linked to .venv/bin/nextflow.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CACHE=${SEQ2FUNC_CACHE:-$HOME/.cache/seq2func}
PY=${PYTHON:-python3}
mkdir -p "$CACHE"
log() { printf '[setup] %s\n' "$*" >&2; }

# -- 1. Debian tools used as test oracles and by the pipeline --------------------------------
# bcftools/samtools/tabix: oracles and pipeline tools; slurm-wlm + munge: the throwaway single-node
# cluster of tests/pipeline/test_slurm.py (daemons in /usr/sbin); chromium + chromium-driver: the
# report's headless-browser test. Nothing is started here.
missing=()
packages=()
have() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; }
for tool in bcftools samtools tabix bgzip; do have "$tool" || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then packages+=(bcftools samtools tabix); fi
slurm_missing=()
for tool in slurmctld slurmd sbatch squeue sinfo scontrol scancel munged; do have "$tool" || slurm_missing+=("$tool"); done
if [ ${#slurm_missing[@]} -gt 0 ]; then missing+=("${slurm_missing[@]}"); packages+=(slurm-wlm munge); fi
# chromium + chromedriver: the report's browser test (tests/pipeline/report_browser.py)
for tool in chromium chromedriver; do have "$tool" || { missing+=("$tool"); packages+=(chromium chromium-driver); break; }; done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages ${packages[*]} for: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_log="$CACHE/apt.log"   # shown only when apt-get fails (debconf notes otherwise)
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}"; } </dev/null >"$apt_log" 2>&1; then
      cat "$apt_log" >&2
      log "ERROR: apt-get install ${packages[*]} failed"
      exit 1
    fi
  else
    log "WARNING: ${missing[*]} not found and cannot apt-get install (not root): some tests will fail"
  fi
fi

# -- 2. Python environment ------------------------------------------------------------------------
VENV="$CACHE/venv"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtualenv $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel </dev/null
fi
stamp="$VENV/.seq2func-deps-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  log "installing Python dependencies (first time: several minutes, torch is large)"
  "$VENV/bin/python" -m pip install -q -e ".[test,enformer]" </dev/null
  rm -f "$VENV"/.seq2func-deps-*
  touch "$stamp"
fi
# The cached env may have been installed from another checkout: point it at this one.
where=$("$VENV/bin/python" -c 'import seq2func, os; print(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(seq2func.__file__)))))' 2>/dev/null || true)
if [ "$where" != "$ROOT" ]; then
  log "installing seq2func (editable) from $ROOT"
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e . </dev/null
fi
if [ -L .venv ] || [ ! -e .venv ]; then
  ln -sfn "$VENV" .venv
fi

# -- 3. Nextflow ------------------------------------------------------------------------------------
NXF_VERSION_WANTED=$(sed -n 's/.*<nextflow.version>\(.*\)<\/nextflow.version>.*/\1/p' tools/nextflow/pom.xml | head -1)
# a nextflow on PATH (outside our own venv) is used as is
PATH_NO_VENV=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -x -e "$ROOT/.venv/bin" -e "$VENV/bin" | paste -sd: -)
if PATH="$PATH_NO_VENV" command -v nextflow >/dev/null 2>&1; then
  log "using nextflow on PATH: $(PATH="$PATH_NO_VENV" command -v nextflow)"
  rm -f "$VENV/bin/nextflow"
else
  NXF_DEST="$CACHE/nextflow/$NXF_VERSION_WANTED"
  bash tools/nextflow/install.sh "$NXF_DEST" </dev/null >&2
  ln -sfn "$NXF_DEST/bin/nextflow" "$VENV/bin/nextflow"
fi
log "ready: $(.venv/bin/python -c 'import seq2func; print("seq2func", seq2func.__version__)'), $(PATH="$ROOT/.venv/bin:$PATH" nextflow -version 2>/dev/null | grep -o 'version [0-9.]*' | head -1 || echo 'nextflow ?')"
