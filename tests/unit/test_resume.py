"""seq2func.train.resume: the task-stable resume state (key, fingerprint, validation, clean-up, test kill hook).

Oracles: hashlib.sha256 over json.dumps(sort_keys=True) written out here, the file system, the exit
status of a child process (-9 = SIGKILL). Training through it: tests/unit/test_train.py
(`test_resume_dir_*`) and tests/pipeline/test_pipeline.py (a killed PRETRAIN/FINETUNE task).
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys

import pytest

from seq2func.train.resume import (
    RESUME_FORMAT,
    ResumeState,
    fingerprint,
    run_label,
    state_key,
    training_identity,
)
from tests.conftest import REPO
from tests.hooks import KILL_ENV


def identity(**over) -> dict:
    tp = {"epochs": 3, "lr": 0.001, "betas": (0.9, 0.999), "seed": 0, "device": "cpu", "progress": "log", "fold": None}
    tp.update(over.pop("train_params", {}))
    kw = dict(kind="pretrain", train_params=tp,
              dataset={"manifest_checksum": "abc", "seq_length": 2048, "path": "/work/x/dataset"},
              model_config={"name": "basenji_tiny", "n_tracks": 2}, initial_weights="w0",
              versions={"seq2func": "0.1.0", "torch": "2.5", "numpy": "2.0"}, free={"device", "progress"})
    kw.update(over)
    return training_identity(**kw)


def test_fingerprint_is_sha256_of_sorted_json_and_ignores_key_order():
    ident = {"b": [1, 2.5, None], "a": {"y": True, "x": "s"}}
    expected = hashlib.sha256(json.dumps(ident, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert fingerprint(ident) == expected
    assert fingerprint({"a": {"x": "s", "y": True}, "b": [1, 2.5, None]}) == expected
    assert fingerprint({"t": (1, 2)}) == fingerprint({"t": [1, 2]})  # tuples are lists in JSON
    assert fingerprint({"v": float("nan")}) == fingerprint({"v": float("nan")})  # still deterministic


def test_identity_keeps_what_an_exact_resume_needs_and_drops_the_rest():
    ident = identity()
    assert "device" not in ident["train_params"] and "progress" not in ident["train_params"]
    assert "path" not in ident["dataset"] and ident["dataset"]["manifest_checksum"] == "abc"
    assert ident["versions"] == {"seq2func": "0.1.0", "torch": "2.5"}
    base = fingerprint(ident)
    # what may change between attempts: the device, progress output, the staged dataset's location
    assert fingerprint(identity(train_params={"device": "cuda", "progress": "bar"})) == base
    assert fingerprint(identity(dataset={"manifest_checksum": "abc", "seq_length": 2048, "path": "/elsewhere"})) == base
    # what changes the computation
    for other in (identity(train_params={"lr": 0.002}), identity(train_params={"seed": 1}),
                  identity(dataset={"manifest_checksum": "abd", "seq_length": 2048}), identity(initial_weights="w1"),
                  identity(kind="finetune"), identity(model_config={"name": "basenji_tiny", "n_tracks": 3}),
                  identity(strategy={"name": "full", "cell_type": "HepG2"}),
                  identity(versions={"seq2func": "0.2.0", "torch": "2.5"})):
        assert fingerprint(other) != base


def test_run_label_and_state_key():
    assert run_label("pretrain") == "pretrain"
    assert run_label("finetune", {"name": "head_only", "cell_type": "HepG2", "kwargs": {}}) == "finetune-HepG2-head_only"
    assert run_label("finetune", {"name": "lora", "cell_type": "T cell/CD4"}) == "finetune-T_cell_CD4-lora"
    fp = "0123456789abcdef" * 4
    assert state_key("pretrain", fp) == "pretrain-0123456789abcdef"
    assert state_key("a b", fp) == "a_b-0123456789abcdef"
    assert state_key("pretrain", fp) != state_key("pretrain", "f" + fp[1:])


def test_open_creates_the_state_and_finds_it_again(tmp_path):
    st = ResumeState.open(tmp_path / "r", "pretrain", identity())
    assert st.path == tmp_path / "r" / state_key("pretrain", fingerprint(identity()))
    stamp = json.loads((st.path / "fingerprint.json").read_text())
    assert stamp["format"] == RESUME_FORMAT and stamp["fingerprint"] == st.fingerprint == fingerprint(identity())
    assert stamp["key"] == st.path.name and stamp["identity"]["kind"] == "pretrain"
    st.last.write_bytes(b"checkpoint")
    (st.path / ".last.pt.tmp-4242").write_bytes(b"half")  # the write a kill interrupted
    again = ResumeState.open(tmp_path / "r", "pretrain", identity(train_params={"device": "cuda"}))
    assert again.path == st.path and again.last.read_bytes() == b"checkpoint"
    assert not (st.path / ".last.pt.tmp-4242").exists()
    assert ResumeState.locate(tmp_path / "r", "pretrain", identity()).path == st.path
    # another training (other inputs) gets its own directory and leaves this one alone
    other = ResumeState.open(tmp_path / "r", "pretrain", identity(train_params={"lr": 0.5}))
    assert other.path != st.path and not other.last.exists() and st.last.exists()


def test_mismatching_or_unreadable_state_is_discarded_with_a_log_line(tmp_path, caplog):
    st = ResumeState.open(tmp_path, "pretrain", identity())
    st.last.write_bytes(b"checkpoint")
    st.best.write_bytes(b"best")
    stamp = st.path / "fingerprint.json"
    stamp.write_text(json.dumps({"format": RESUME_FORMAT, "fingerprint": "0" * 64}))
    with caplog.at_level(logging.WARNING, logger="seq2func.train.resume"):
        st2 = ResumeState.open(tmp_path, "pretrain", identity())
    assert not st2.last.exists() and not st2.best.exists()
    assert any("ignoring resume state" in r.getMessage() and "different training configuration" in r.getMessage()
               for r in caplog.records)
    assert json.loads(stamp.read_text())["fingerprint"] == st.fingerprint  # replaced by this training's
    caplog.clear()
    st2.last.write_bytes(b"checkpoint")
    stamp.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="seq2func.train.resume"):
        ResumeState.open(tmp_path, "pretrain", identity())
    assert not st2.last.exists() and any("unreadable" in r.getMessage() for r in caplog.records)
    # --no-resume: the saved progress goes too
    st2.last.write_bytes(b"checkpoint")
    st2.best.write_bytes(b"best")
    ResumeState.open(tmp_path, "pretrain", identity(), fresh=True)
    assert not st2.last.exists() and not st2.best.exists()
    # a best checkpoint without the last.pt that led to it is no state either
    st2.best.write_bytes(b"best")
    ResumeState.open(tmp_path, "pretrain", identity())
    assert not st2.best.exists()


def test_finish_moves_the_checkpoints_and_removes_the_state(tmp_path):
    base = tmp_path / "r"
    st = ResumeState.open(base, "pretrain", identity())
    keep = ResumeState.open(base, "finetune", identity(kind="finetune"))
    st.last.write_bytes(b"final")
    st.best.write_bytes(b"best epoch")
    out = tmp_path / "out"
    out.mkdir()
    st.finish(out)
    assert (out / "last.pt").read_bytes() == b"final" and (out / "model.pt").read_bytes() == b"best epoch"
    assert not st.path.exists()
    assert base.is_dir() and keep.path.is_dir()  # another training's state stays
    keep.finish(out)  # nothing to move: just removed, and the empty base with it
    assert (out / "last.pt").read_bytes() == b"final" and not base.exists()


_KILL_CHILD = """
import sys, types
from seq2func.train.hooks import hooks_from_env
trainer = types.SimpleNamespace(epoch=int(sys.argv[1]), fresh_start=sys.argv[2] == "fresh")
for hook in hooks_from_env():  # SEQ2FUNC_TRAIN_HOOKS=tests.hooks:kill_after_epoch
    hook(trainer)
print("alive")
"""


@pytest.mark.parametrize("epochs_done,start,env,killed", [
    (1, "fresh", "1", True),      # the hook: SIGKILL after epoch 1 of a run that started from scratch
    (2, "fresh", "1", False),     # another epoch
    (1, "resumed", "1", False),   # a resumed run is never killed
    (1, "fresh", "", False),      # hook off
])
def test_test_kill_hook_sigkills_only_fresh_runs_at_that_epoch(epochs_done, start, env, killed):
    import os

    res = subprocess.run([sys.executable, "-c", _KILL_CHILD, str(epochs_done), start], capture_output=True, text=True,
                         env={**os.environ, KILL_ENV: env, "SEQ2FUNC_TRAIN_HOOKS": "tests.hooks:kill_after_epoch",
                              "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))},
                         timeout=60)
    if killed:
        assert res.returncode == -9 and "alive" not in res.stdout, res.stderr
    else:
        assert res.returncode == 0 and "alive" in res.stdout, res.stderr
