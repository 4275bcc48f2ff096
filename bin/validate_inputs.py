#!/usr/bin/env python3
"""``validate_inputs.py`` = ``seq2func validate``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.validate_inputs`; ``validate_inputs.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.validate_inputs import app

if __name__ == "__main__":
    seq2func.cli.run(app)
