#!/usr/bin/env python3
"""``prepare_merge.py`` = ``seq2func prepare merge``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.prepare_merge`; ``prepare_merge.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.prepare_merge import app

if __name__ == "__main__":
    seq2func.cli.run(app)
