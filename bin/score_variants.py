#!/usr/bin/env python3
"""``score_variants.py`` = ``seq2func variants``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.score_variants`; ``score_variants.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.score_variants import app

if __name__ == "__main__":
    seq2func.cli.run(app)
