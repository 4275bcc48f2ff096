"""Shared plumbing for the thin Typer scripts in ``bin/``.

Every script builds its ``typer.Typer`` app and ends with ``seq2func.cli.run(app)``: bad input
(:class:`seq2func.errors.InputError`) becomes one ``ERROR: ...`` line on stderr and exit code 2,
never a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Callable

import typer

from seq2func.errors import InputError

EXIT_INPUT_ERROR = 2


def setup_logging(verbose: bool = False) -> None:
    """Send log records to stderr as ``time level logger: message``.

    Parameters
    ----------
    verbose : bool, optional
        Log at DEBUG level when true; INFO otherwise (the default).
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run(app: Callable[..., object]) -> None:
    """Run a Typer app (or any callable) turning :class:`InputError` into one line + exit 2.

    Click usage errors exit with their own code (2) after printing their message; ``Abort`` exits 1;
    any other exception keeps its traceback.

    Parameters
    ----------
    app : callable
        A ``typer.Typer`` app (run with ``standalone_mode=False``) or any callable taking no arguments.
    """
    setup_logging()
    try:
        app(standalone_mode=False) if _is_typer(app) else app()
    except InputError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        sys.exit(EXIT_INPUT_ERROR)
    except SystemExit:
        raise
    except Exception as err:  # click usage errors come through here in non-standalone mode
        # typer may vendor click (typer._click), so recognise its exceptions by class name
        names = {cls.__name__ for cls in type(err).__mro__}
        if "ClickException" in names:
            err.show()
            sys.exit(getattr(err, "exit_code", EXIT_INPUT_ERROR))
        if "Abort" in names:
            sys.exit(1)
        raise


def _is_typer(app: object) -> bool:
    return isinstance(app, typer.Typer)


def label_dirs(items: list[str], option: str = "--run") -> dict:
    """``["label=DIR", ...]`` -> ``{label: Path(DIR)}``; anything else is a one-line usage error.

    Parameters
    ----------
    items : list of str
        Repeated option values, each ``label=DIR``.
    option : str, optional
        Option name shown in the usage error (default ``--run``).

    Returns
    -------
    dict
        ``{label: Path(DIR)}`` in the order given.

    Raises
    ------
    typer.BadParameter
        When an item lacks the ``=``, the label or the directory.
    """
    out = {}
    for item in items:
        name, sep, d = item.partition("=")
        if not sep or not name or not d:
            raise typer.BadParameter(f"expected label=DIR, got {item!r}", param_hint=option)
        out[name] = Path(d)
    return out
