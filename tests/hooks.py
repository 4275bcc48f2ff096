"""Training hooks for the tests, injected with ``SEQ2FUNC_TRAIN_HOOKS=tests.hooks:<name>``
(:mod:`seq2func.train.hooks`; the repository root must be on ``PYTHONPATH``)."""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger(__name__)

KILL_ENV = "SEQ2FUNC_TEST_KILL_AFTER_EPOCH"


def kill_after_epoch(trainer) -> None:
    """``SEQ2FUNC_TEST_KILL_AFTER_EPOCH=E``: SIGKILL this process (exit 137, like an OOM kill) right
    after the checkpoint of epoch E when training started from scratch; a resumed run is never
    killed, so a retry that fails to resume is killed again. Reads ``trainer.epoch`` (epochs
    completed) and ``trainer.fresh_start``."""
    want = os.environ.get(KILL_ENV, "").strip()
    if not want or not trainer.fresh_start or trainer.epoch != int(want):
        return
    log.warning("%s=%s: killing this process (SIGKILL) after epoch %d", KILL_ENV, want, trainer.epoch)
    for h in logging.getLogger().handlers:
        h.flush()
    os.kill(os.getpid(), signal.SIGKILL)
