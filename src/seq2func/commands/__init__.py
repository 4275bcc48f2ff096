"""The ``seq2func`` command line: one subcommand per pipeline process, grouped by stage.

Each module here holds the Typer app of one process script (``bin/<name>.py`` is a shim that runs
it, for Nextflow's tasks and ``torchrun``); :func:`main` mounts them all under one entry point::

    seq2func simulate ...                      bin/simulate_world.py
    seq2func validate params|inputs ...        bin/validate_inputs.py
    seq2func prepare split|chrom|merge ...     bin/prepare_split.py, prepare_chrom.py, prepare_merge.py
    seq2func train pretrain|finetune|predict   bin/train.py
    seq2func evaluate run|summary ...          bin/evaluate.py, evaluate_summary.py
    seq2func variants chunk|merge|benchmark    bin/score_variants.py
    seq2func interpret model|summary ...       bin/interpret.py
    seq2func personal run|merge|finetune|haplotypes   bin/personal.py, personal_haplotypes.py
    seq2func report <section> ...              bin/report.py
"""

from __future__ import annotations

import importlib

import typer

import seq2func.cli

# command path -> module; a module whose app has several commands becomes a group
LAYOUT: dict[str, str] = {
    "simulate": "simulate_world",
    "validate": "validate_inputs",
    "prepare split": "prepare_split",
    "prepare chrom": "prepare_chrom",
    "prepare merge": "prepare_merge",
    "train": "train",
    "evaluate run": "evaluate",
    "evaluate summary": "evaluate_summary",
    "variants": "score_variants",
    "interpret": "interpret",
    "personal": "personal",
    "personal haplotypes": "personal_haplotypes",
    "report": "report",
}

STAGE_HELP = {
    "prepare": "PREPARE: chromosome split, per-chromosome parts, the merged dataset.",
    "evaluate": "EVALUATE: one model on held-out chromosomes; the summary over runs.",
}


def build() -> typer.Typer:
    """The ``seq2func`` Typer app with every process command mounted under its stage.

    Returns
    -------
    typer.Typer
        The root app; ``LAYOUT`` says where each :mod:`seq2func.commands` module goes.
    """
    root = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n\n")[0])
    groups: dict[str, typer.Typer] = {}

    def group(name: str, help: str | None = None) -> typer.Typer:
        if name not in groups:
            groups[name] = typer.Typer(add_completion=False, no_args_is_help=True, help=help)
            root.add_typer(groups[name], name=name)
        return groups[name]

    for path, module in LAYOUT.items():
        app: typer.Typer = importlib.import_module(f"seq2func.commands.{module}").app
        *parents, name = path.split()
        commands = app.registered_commands
        single = len(commands) == 1 and not app.registered_groups
        if parents:
            parent = group(parents[0], STAGE_HELP.get(parents[0]))
            if single:
                parent.command(name=name, help=commands[0].help or app.info.help)(commands[0].callback)
            else:
                parent.add_typer(app, name=name)
        elif single:
            root.command(name=name, help=commands[0].help or app.info.help)(commands[0].callback)
        else:  # the module's commands in a group of their own (the module's app itself stays as it is)
            group(name, app.info.help).registered_commands.extend(commands)
    return root


def main() -> None:
    """Console entry point ``seq2func`` (``[project.scripts]`` in pyproject.toml)."""
    seq2func.cli.run(build())
