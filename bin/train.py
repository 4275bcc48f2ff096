#!/usr/bin/env python3
"""``train.py`` = ``seq2func train``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.train`; ``train.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.train import app

if __name__ == "__main__":
    seq2func.cli.run(app)
