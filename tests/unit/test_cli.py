"""seq2func.cli.run: bad input is one line + exit 2; usage errors exit 2; bugs keep their traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(tmp_path, body: str, *args: str):
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(f"""
        import typer
        import seq2func.cli
        from seq2func.errors import InputError
        app = typer.Typer(add_completion=False)

        @app.command()
        def main(what: str = typer.Option("ok", "--what")):
        {textwrap.indent(textwrap.dedent(body), '    ')}

        seq2func.cli.run(app)
    """))
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_input_error_is_one_line_exit_2(tmp_path):
    res = _run(tmp_path, "raise InputError('data/x.bed', 'line 3', 'end < start\\n(12 < 40)')")
    assert res.returncode == 2
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert lines == ["ERROR: data/x.bed: line 3: end < start (12 < 40)"]


def test_usage_error_exits_2(tmp_path):
    res = _run(tmp_path, "print(what)", "--bogus")
    assert res.returncode == 2
    assert "No such option" in res.stderr


def test_bug_keeps_traceback(tmp_path):
    res = _run(tmp_path, "raise RuntimeError('boom')")
    assert res.returncode == 1
    assert "Traceback" in res.stderr and "RuntimeError: boom" in res.stderr


def test_one_command_line_mounts_every_process_script():
    """`seq2func <stage> <command>` runs the same Typer command as bin/<script>.py (a shim)."""
    import importlib
    import shutil
    from pathlib import Path

    from seq2func.commands import LAYOUT, build

    repo = Path(__file__).resolve().parents[2]
    shims = sorted(p.stem for p in (repo / "bin").glob("*.py"))
    assert sorted(LAYOUT.values()) == shims  # every process script is mounted, once
    for name in shims:
        text = (repo / "bin" / f"{name}.py").read_text()
        assert f"from seq2func.commands.{name} import app" in text and len(text.splitlines()) <= 12, name
    root = build()
    import typer.main

    cli = typer.main.get_command(root)
    for path, module in LAYOUT.items():
        cmd = cli
        for part in path.split():
            cmd = cmd.commands[part]
        own = typer.main.get_command(importlib.import_module(f"seq2func.commands.{module}").app)

        def signature(c):  # a command's options, or a group's commands and their options
            if hasattr(c, "commands"):
                return {n: signature(s) for n, s in c.commands.items()}
            return sorted(p.name for p in c.params)

        got = signature(cmd)
        if isinstance(got, dict):  # a stage group may hold other modules' commands too (personal haplotypes)
            got = {n: got.get(n) for n in signature(own)}
        assert got == signature(own), path
    exe = shutil.which("seq2func", path=str(Path(sys.executable).parent))
    assert exe, "the seq2func console script ([project.scripts]) must be installed by make setup"
    res = subprocess.run([exe, "prepare", "split", "--help"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert res.returncode == 0 and "--fractions" in res.stdout, res.stdout + res.stderr
    res = subprocess.run([exe, "train", "pretrain", "--dataset", "/nonexistent", "--outdir", "x"], capture_output=True,
                         text=True, stdin=subprocess.DEVNULL)
    assert res.returncode == 2 and "ERROR" in res.stderr and "Traceback" not in res.stderr, res.stderr[-2000:]
