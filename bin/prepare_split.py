#!/usr/bin/env python3
"""``prepare_split.py`` = ``seq2func prepare split``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.prepare_split`; ``prepare_split.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.prepare_split import app

if __name__ == "__main__":
    seq2func.cli.run(app)
