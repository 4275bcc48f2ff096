#!/usr/bin/env python3
"""``interpret.py`` = ``seq2func interpret``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.interpret`; ``interpret.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.interpret import app

if __name__ == "__main__":
    seq2func.cli.run(app)
