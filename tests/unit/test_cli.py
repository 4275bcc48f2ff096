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


def _click_params(app, command):
    import typer.main

    group = typer.main.get_command(app)
    return {p.name: p for p in group.commands[command].params}


def test_parameter_dataclasses_generate_the_training_and_personal_options():
    """Each CLI field of TrainParams / RunParams / FinetuneParams is an option of its commands, with the
    field's default and help (written once, on the dataclass); the command gets them as one instance."""
    from dataclasses import fields

    from seq2func.commands import personal, train
    from seq2func.personal.params import FinetuneParams, RunParams
    from seq2func.train.params import TrainParams

    for app, command, cls in [(train.app, "pretrain", TrainParams), (train.app, "finetune", TrainParams),
                              (personal.app, "run", RunParams), (personal.app, "finetune", FinetuneParams)]:
        opts = _click_params(app, command)
        for f in fields(cls):
            if not f.metadata.get("cli"):
                assert f.name not in opts, (command, f.name)
                continue
            assert f.name in opts, (command, f.name)
            assert opts[f.name].default == f.default, (command, f.name)
            assert opts[f.name].help == f.metadata["help"], (command, f.name)


def test_options_from_collects_the_options_into_the_dataclass(tmp_path):
    from dataclasses import dataclass

    import typer
    from typer.testing import CliRunner

    from seq2func.cli import options_from
    from seq2func.options import option

    @dataclass
    class P:
        n: int = option(3, "a number")
        name: str | None = option(None, "a name")
        flag: bool = option(True, "a flag", flag="--flag/--no-flag")
        hidden: float = option(0.5, cli=False)

    seen = {}
    app = typer.Typer(add_completion=False)

    @app.command()
    @options_from(params=P)
    def main(out: str = typer.Option("x", "--out"), params: P = None):
        seen.update(out=out, params=params)

    app.command("other")(lambda: None)  # two commands: `main` is a subcommand
    runner = CliRunner()
    res = runner.invoke(app, ["main", "--n", "7", "--no-flag", "--out", "y"])
    assert res.exit_code == 0, res.output
    assert seen == {"out": "y", "params": P(n=7, name=None, flag=False, hidden=0.5)}
    res = runner.invoke(app, ["main", "--hidden", "1"])
    assert res.exit_code == 2 and "No such option" in res.output

    with __import__("pytest").raises(TypeError, match="declared twice"):
        options_from(params=P)(lambda n=1, params=None: None)


def test_the_command_line_loads_no_torch():
    """`seq2func --help` and every bin/ script's import stay light: torch loads inside a command."""
    code = "import sys; import seq2func.commands as c; c.build(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
