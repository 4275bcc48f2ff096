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
