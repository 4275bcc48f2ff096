#!/usr/bin/env python3
"""``simulate_world.py`` = ``seq2func simulate``: the command as Nextflow's tasks (and torchrun) call it.

The command lives in :mod:`seq2func.commands.simulate_world`; ``simulate_world.py --help`` lists its options.
"""

import seq2func.cli
from seq2func.commands.simulate_world import app

if __name__ == "__main__":
    seq2func.cli.run(app)
