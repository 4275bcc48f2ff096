#!/usr/bin/env python3
"""``prepare_chrom.py`` = ``seq2func prepare chrom``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.prepare_chrom`; ``prepare_chrom.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.prepare_chrom import app

if __name__ == "__main__":
    seq2func.cli.run(app)
