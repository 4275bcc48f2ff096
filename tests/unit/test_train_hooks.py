"""seq2func.train.hooks: epoch-end hooks named in SEQ2FUNC_TRAIN_HOOKS (how the tests inject their kill hook)."""

from __future__ import annotations

import pytest

from seq2func.errors import InputError
from seq2func.train.hooks import HOOKS_ENV, hooks_from_env, load_hook


def test_hooks_from_env_in_order():
    import os.path

    import tests.hooks

    env = {HOOKS_ENV: " tests.hooks:kill_after_epoch , os.path:join,"}
    assert hooks_from_env(env) == [tests.hooks.kill_after_epoch, os.path.join]
    assert hooks_from_env({}) == [] and hooks_from_env({HOOKS_ENV: " "}) == []
    assert load_hook("os:path.join") is os.path.join  # dotted attribute


@pytest.mark.parametrize("spec, message", [
    ("tests.hooks", "not a module:callable spec"),
    (":kill_after_epoch", "not a module:callable spec"),
    ("no_such_module_s2f:f", "cannot import no_such_module_s2f"),
    ("tests.hooks:nope", "tests.hooks has no attribute nope"),
    ("tests.hooks:KILL_ENV", "KILL_ENV is not callable"),
])
def test_bad_spec_is_one_input_error(spec, message):
    with pytest.raises(InputError) as err:
        hooks_from_env({HOOKS_ENV: spec})
    assert message in str(err.value) and HOOKS_ENV in str(err.value) and "\n" not in str(err.value)
