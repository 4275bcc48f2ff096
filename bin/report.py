#!/usr/bin/env python3
"""``report.py`` = ``seq2func report``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.report`; ``report.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.report import app

if __name__ == "__main__":
    seq2func.cli.run(app)
