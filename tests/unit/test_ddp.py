"""Multi-process data parallel training on the CPU: ``torchrun`` (gloo backend, 2 processes) runs
``bin/train.py pretrain``; rank 0 alone writes the checkpoint, and every rank ends with the same weights;
a run killed after epoch 1 resumes from ``--resume-dir`` in a fresh output directory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from seq2func.train import load_checkpoint
from seq2func.train.ddp import weights_digest

try:
    from test_train import make_dataset, small_config
except ImportError:  # pragma: no cover - package-style test layout
    from .test_train import make_dataset, small_config

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_two_cpu_processes(tmp_path):
    ds = make_dataset(tmp_path)
    cfg = tmp_path / "model.json"
    cfg.write_text(json.dumps(small_config()))
    out = tmp_path / "ddp"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           str(REPO / "bin" / "train.py"), "pretrain", "--dataset", str(ds), "--model", str(cfg), "--outdir", str(out),
           "--epochs", "2", "--batch-size", "2", "--warmup-steps", "1", "--device", "cpu", "--progress", "log"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    # one checkpoint set, written by rank 0 only (no temporary or per-rank files)
    assert sorted(f.name for f in out.iterdir()) == ["history.tsv", "last.pt", "metrics.json", "model.pt"]
    assert p.stdout.count('"outdir"') == 1  # only rank 0 reports
    m = json.loads((out / "metrics.json").read_text())
    assert m["world_size"] == 2 and m["completed"]
    digests = m["weights_sha256_by_rank"]
    assert len(digests) == 2 and digests[0] == digests[1]
    # the saved weights are the ranks' weights
    ck = load_checkpoint(out / "last.pt")
    from seq2func.models import build_model


    net = build_model(ck["model_config"])
    net.load_state_dict(ck["state_dict"])
    assert weights_digest(net) == digests[0]
    # each rank trained on its half: 12 train windows / 2 ranks / batch 2 = 3 steps per epoch
    assert ck["step"] == 6 and m["history"][0]["train_windows"] == 12
    assert len(ck["rng"]) == 2  # per-rank RNG states for an exact resume

    # killed after epoch 1 (every rank SIGKILLs itself, test hook), then re-run in a fresh --outdir
    # with the same --resume-dir: resumes and ends with the uninterrupted run's weights
    def run(outdir, **extra_env):
        c = [a if a != str(out) else str(outdir) for a in cmd] + ["--resume-dir", str(tmp_path / "resume")]
        c[c.index("--master_port") + 1] = str(_free_port())
        return subprocess.run(c, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                              env=dict(env, **extra_env), cwd=tmp_path)

    p = run(tmp_path / "killed", SEQ2FUNC_TEST_KILL_AFTER_EPOCH="1", SEQ2FUNC_TRAIN_HOOKS="tests.hooks:kill_after_epoch",
            PYTHONPATH=os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH")))))
    assert p.returncode != 0 and "killing this process" in p.stderr, p.stderr[-3000:]
    p = run(tmp_path / "retry")
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert p.stderr.count("resumed from ") == 1 and "at epoch 1 step 3" in p.stderr  # rank 0 logs it
    again = load_checkpoint(tmp_path / "retry" / "last.pt")
    assert all(again["state_dict"][k].equal(ck["state_dict"][k]) for k in ck["state_dict"])
    assert not (tmp_path / "resume").exists()
