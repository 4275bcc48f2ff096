#!/usr/bin/env python3
"""``evaluate_summary.py`` = ``seq2func evaluate summary``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.evaluate_summary`; ``evaluate_summary.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.evaluate_summary import app

if __name__ == "__main__":
    seq2func.cli.run(app)
