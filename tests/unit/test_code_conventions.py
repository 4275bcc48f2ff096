"""Conventions of the package source (issue: architecture).

- A function-local ``import`` is allowed only where it breaks an import cycle or defers a heavy or
  optional dependency, and it says which in a ``# deferred: <reason>`` comment (on the import's
  line or the line above).
- Importing a stage that does not run a model (validate, prepare, simulate, io, report, personal,
  variants, the CLI) does not import torch or matplotlib: those stay deferred.
- Public functions and methods that take arguments carry numpy-style docstrings with a
  ``Parameters`` section (the CLI commands in ``seq2func.commands`` are exempt: their docstrings
  are ``--help`` text).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "seq2func"


def _sources():
    return sorted(SRC.rglob("*.py"))


def _local_imports(tree: ast.AST):
    """(lineno, end_lineno) of every import inside a function body."""
    out = []

    def walk(node, in_func):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)) and in_func:
                out.append((child.lineno, child.end_lineno or child.lineno))
            walk(child, in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    walk(tree, False)
    return out


def test_function_local_imports_say_why():
    missing = []
    for path in _sources():
        text = path.read_text()
        lines = text.splitlines()
        for start, end in _local_imports(ast.parse(text)):
            window = lines[max(0, start - 2):end]
            if not any("# deferred:" in line for line in window):
                missing.append(f"{path.relative_to(SRC.parent)}:{start}: {lines[start - 1].strip()}")
    assert not missing, (
        "function-local imports need a '# deferred: <reason>' comment (cycle or heavy import), "
        "or move them to the module's top:\n" + "\n".join(missing)
    )


LIGHT = ["seq2func", "seq2func.commands", "seq2func.validate", "seq2func.prepare", "seq2func.simulate",
         "seq2func.io", "seq2func.report", "seq2func.personal", "seq2func.variants"]


@pytest.mark.parametrize("module", LIGHT)
def test_light_stages_do_not_import_torch_or_matplotlib(module):
    code = (f"import sys; import {module}; "
            "print(','.join(m for m in ('torch', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"import {module} pulled in {out}"


def _public_functions(tree: ast.Module):
    def visit(body, owner):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                yield owner, node
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                yield from visit(node.body, node.name + ".")

    yield from visit(tree.body, "")


def test_public_functions_have_numpy_parameters_sections():
    missing = []
    for path in _sources():
        rel = path.relative_to(SRC)
        if rel.parts[0] == "commands":
            continue
        for owner, fn in _public_functions(ast.parse(path.read_text())):
            args = [a for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
                    if a.arg not in ("self", "cls")]
            if not args:
                continue
            doc = ast.get_docstring(fn) or ""
            if "Parameters\n" not in doc or "----------" not in doc:
                missing.append(f"{rel}:{fn.lineno}: {owner}{fn.name}")
    assert not missing, "public functions without a numpy 'Parameters' section:\n" + "\n".join(missing)


def _code_lines(fn: ast.FunctionDef) -> int:
    """Lines of a function from its ``def`` to its end, less its docstring."""
    n = fn.end_lineno - fn.lineno + 1
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        n -= body[0].end_lineno - body[0].lineno + 1
    return n


def test_functions_have_one_job_and_fit_on_a_screen_or_three():
    """No function in the package is over 150 lines (docstring excluded)."""
    long = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node) > 150:
                long.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.name} ({_code_lines(node)} lines)")
    assert not long, "functions over 150 lines:\n" + "\n".join(long)
