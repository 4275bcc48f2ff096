#!/usr/bin/env python3
"""``personal_haplotypes.py`` = ``seq2func personal haplotypes``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.personal_haplotypes`; ``personal_haplotypes.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.personal_haplotypes import app

if __name__ == "__main__":
    seq2func.cli.run(app)
