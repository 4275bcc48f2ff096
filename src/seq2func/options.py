"""Options declared once, on the parameter dataclasses (:class:`seq2func.train.params.TrainParams`,
:class:`seq2func.personal.params.RunParams`, :class:`seq2func.personal.params.FinetuneParams`).

A field made with :func:`option` carries its command-line help (and, for booleans, its
``--x/--no-x`` flag) next to its default; :func:`seq2func.cli.options_from` turns the fields into
the options of a Typer command. The default, the help and the type are therefore written once.
Light: no Typer, no torch.
"""

from __future__ import annotations

from dataclasses import Field, field
from typing import Any


def option(default: Any, help: str = "", *, flag: str | None = None, cli: bool = True) -> Field:
    """A dataclass field that is also a command-line option.

    Parameters
    ----------
    default : object
        The field's default, which is also the option's (immutable values only).
    help : str, optional
        The option's ``--help`` text.
    flag : str, optional
        The option's declaration, e.g. ``"--bf16/--no-bf16"``; default ``--<name-with-dashes>``.
    cli : bool, optional
        False keeps the field off the command line (it is set from Python only).

    Returns
    -------
    dataclasses.Field
        The field, with ``metadata`` ``{"help", "flag", "cli"}``.
    """
    return field(default=default, metadata={"help": help, "flag": flag, "cli": cli})
