"""Shared plumbing for the thin Typer scripts in ``bin/``.

Every script builds its ``typer.Typer`` app and ends with ``seq2func.cli.run(app)``: bad input
(:class:`seq2func.errors.InputError`) becomes one ``ERROR: ...`` line on stderr and exit code 2,
never a traceback.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import sys
import typing
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


def options_from(**classes: type) -> Callable:
    """Decorator: the fields of parameter dataclasses become options of a Typer command.

    Each field declared with :func:`seq2func.options.option` (and ``cli`` true) becomes a
    ``--name`` option with the field's default, type and help; the command receives them collected
    into one instance per dataclass, in the keyword argument named in ``classes``. The command's own
    parameters keep their places; a field whose name the command also declares is an error.

    Parameters
    ----------
    **classes : type
        ``argument_name=Dataclass``, e.g. ``params=TrainParams``.

    Returns
    -------
    callable
        The decorator; apply it below ``@app.command()``.

    Examples
    --------
    >>> @app.command()
    ... @options_from(params=TrainParams)
    ... def pretrain(dataset: Path = typer.Option(...), params: TrainParams = None): ...
    """

    def decorate(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        own = [p for name, p in sig.parameters.items() if name not in classes]
        taken = {p.name for p in own}
        extra, owners, annotations = [], {}, {}
        for into, cls in classes.items():
            hints = typing.get_type_hints(cls)
            for f in dataclasses.fields(cls):
                if not f.metadata.get("cli"):
                    continue
                if f.name in taken:
                    raise TypeError(f"{fn.__name__}: option {f.name!r} declared twice ({cls.__name__} and the command)")
                flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
                default = typer.Option(f.default, flag, help=f.metadata.get("help") or None)
                extra.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                               annotation=hints[f.name]))
                owners[f.name], annotations[f.name] = into, hints[f.name]
                taken.add(f.name)

        @functools.wraps(fn)
        def command(*args, **kwargs):
            values: dict[str, dict] = {into: {} for into in classes}
            for name, into in owners.items():
                if name in kwargs:
                    values[into][name] = kwargs.pop(name)
            for into, cls in classes.items():
                kwargs[into] = cls(**values[into])
            return fn(*args, **kwargs)

        command.__signature__ = sig.replace(parameters=own + extra)
        command.__annotations__ = {**{k: v for k, v in fn.__annotations__.items() if k not in classes}, **annotations}
        return command

    return decorate


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
