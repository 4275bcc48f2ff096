#!/usr/bin/env python3
"""``evaluate.py`` = ``seq2func evaluate run``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.evaluate`; ``evaluate.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.evaluate import app

if __name__ == "__main__":
    seq2func.cli.run(app)
