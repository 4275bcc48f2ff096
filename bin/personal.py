#!/usr/bin/env python3
"""``personal.py`` = ``seq2func personal``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.personal`; ``personal.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.personal import app

if __name__ == "__main__":
    seq2func.cli.run(app)
