"""PRETRAIN / FINETUNE (seq2func.train, bin/train.py): schedule, clipping, determinism, exact resume,
checkpoints loadable with weights_only=True, fine-tuning strategies, --require-gpu.

Oracles: the closed-form warm-up/cosine formula, torch's own norms, hashlib over manifest.json,
torch.load(weights_only=True), bit equality of state dicts between runs.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from seq2func.errors import InputError
from seq2func.prepare import PrepareParams, open_dataset, prepare_dataset
from seq2func.train import (
    Interrupted,
    clip_gradients,
    engine,
    finetune,
    load_checkpoint,
    make_scheduler,
    model_from_checkpoint,
    pretrain,
    warmup_cosine,
)

try:
    from test_data_fixtures import write_bigwig, write_fasta, write_samplesheet
except ImportError:  # pragma: no cover - package-style test layout
    from .test_data_fixtures import write_bigwig, write_fasta, write_samplesheet

REPO = Path(__file__).resolve().parents[2]
L, BIN, CROP = 2048, 128, 256
CHROMS = {"chr1": 25_000, "chr2": 10_000, "chr3": 10_000}  # 12 train / 4 valid / 4 test windows


def make_dataset(root: Path) -> Path:
    """A small profile world (3 chromosomes; ATAC + DNase compendium tracks of K562, a stranded CAGE
    +/- pair of the target cell type HepG2) prepared with the data package's own writer at 2,048 bp
    windows, 128 bp bins and a 256 bp crop (12 target bins): chr1 train, chr2 valid, chr3 test."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tracks").mkdir(exist_ok=True)
    fasta = root / "genome.fa"
    write_fasta(fasta, CHROMS, seed=3, n_runs=())
    for k, name in enumerate(("atac", "dnase", "cage_plus", "cage_minus")):
        write_bigwig(root / "tracks" / f"{name}.bw", CHROMS, seed=21 + k, scale=3.0 if "cage" in name else 10.0)
    rows = [
        dict(track_id="atac", cell_type="K562", assay="ATAC", file="tracks/atac.bw", role="compendium", transform="sum", strand="."),
        dict(track_id="dnase", cell_type="K562", assay="DNase", file="tracks/dnase.bw", role="compendium", transform="mean;sqrt", strand="."),
        dict(track_id="cage_p", cell_type="HepG2", assay="CAGE", file="tracks/cage_plus.bw", role="target", transform="sum;log1p", strand="+"),
        dict(track_id="cage_m", cell_type="HepG2", assay="CAGE", file="tracks/cage_minus.bw", role="target", transform="sum;log1p", strand="-"),
    ]
    sheet = write_samplesheet(root / "samplesheet.csv", rows)
    ds = root / "ds"
    prepare_dataset(fasta, sheet, ds, params=PrepareParams(seq_length=L, bin_size=BIN, crop_bp=CROP, max_n_frac=0.5),
                    test_chroms="chr3", valid_chroms="chr2")
    return ds


def small_config() -> dict:
    """basenji_tiny, narrowed further so a CPU step takes milliseconds."""
    from seq2func.models import load_config

    cfg = load_config("basenji_tiny")
    cfg.update(stem_channels=8, tower_channels=[8, 12], n_dilated=2, final_channels=16)
    return cfg


# 3 steps per epoch (12 windows, batch 4), 9 steps in all
FAST = dict(epochs=3, batch_size=4, warmup_steps=2, lr=3e-3, device="cpu", progress="none", shift=3, rc=0.5)


@pytest.fixture(scope="module")
def ds_path(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("train"))


@pytest.fixture(scope="module")
def pretrained(ds_path, tmp_path_factory) -> Path:
    """The reference run: 3 uninterrupted epochs on the compendium tracks."""
    out = tmp_path_factory.mktemp("pre") / "pre"
    pretrain(ds_path, small_config(), out, **FAST)
    return out


def state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- schedule / clipping
def test_warmup_cosine_values():
    f = warmup_cosine(warmup_steps=4, total_steps=14, min_ratio=0.1)
    assert [f(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    for s in range(4, 20):
        p = min(1.0, (s - 4) / 10)
        assert f(s) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)), abs=1e-12)
    assert f(9) == pytest.approx(0.55) and f(14) == pytest.approx(0.1) and f(100) == pytest.approx(0.1)
    # through LambdaLR: the lr used by optimizer step s is base_lr * f(s)
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([w], lr=2e-3)
    sch = make_scheduler(opt, 4, 14, 0.1)
    used = []
    for _ in range(16):
        used.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    assert used == pytest.approx([2e-3 * f(s) for s in range(16)], rel=1e-12)
    assert warmup_cosine(0, 10)(0) == 1.0 and warmup_cosine(0, 10)(10) == pytest.approx(0.0)


def test_clip_gradients_returns_preclip_norm_and_clips():
    torch.manual_seed(0)
    lin = torch.nn.Linear(20, 7)
    (lin(torch.randn(16, 20)) * 1000).sum().backward()
    grads = [p.grad.clone() for p in lin.parameters()]
    total = float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))
    pre = clip_gradients(lin.parameters(), 0.5)
    assert pre == pytest.approx(total, rel=1e-5)
    after = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in lin.parameters())))
    assert after == pytest.approx(0.5, rel=1e-4)
    for p, g in zip(lin.parameters(), grads):  # same direction
        torch.testing.assert_close(p.grad, g * (0.5 / total), rtol=1e-4, atol=1e-8)
    for p, g in zip(lin.parameters(), grads):
        p.grad = g.clone()
    assert clip_gradients(lin.parameters(), None) == pytest.approx(total, rel=1e-5)
    assert all(torch.equal(p.grad, g) for p, g in zip(lin.parameters(), grads))


def test_training_clips_every_step(ds_path, tmp_path, monkeypatch):
    seen = []
    real = engine.clip_gradients

    def spy(params, max_norm):
        params = list(params)
        pre = real(params, max_norm)
        post = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params if p.grad is not None)))
        seen.append((pre, post, max_norm))
        return pre

    monkeypatch.setattr(engine, "clip_gradients", spy)
    res = pretrain(ds_path, small_config(), tmp_path / "o", **{**FAST, "epochs": 1, "clip_grad": 0.05})
    assert len(seen) == res.steps == 3
    assert all(m == 0.05 and post <= 0.05 * (1 + 1e-5) for _, post, m in seen)
    assert any(pre > 0.05 for pre, _, _ in seen)  # clipping actually happened
    assert res.history[0]["grad_norm"] == pytest.approx(np.mean([p for p, _, _ in seen]))


# --------------------------------------------------------------------------- determinism / resume
def test_seeded_runs_are_identical(ds_path, pretrained, tmp_path):
    pretrain(ds_path, small_config(), tmp_path / "b", **FAST)
    assert state_equal(load_checkpoint(pretrained / "last.pt")["state_dict"], load_checkpoint(tmp_path / "b" / "last.pt")["state_dict"])
    assert state_equal(load_checkpoint(pretrained / "model.pt")["state_dict"], load_checkpoint(tmp_path / "b" / "model.pt")["state_dict"])


@pytest.mark.parametrize("every", [0, 2], ids=["epoch-checkpoints", "step-checkpoints"])
def test_resume_after_kill_is_bit_identical(ds_path, pretrained, tmp_path, every):
    def kill(state):  # a crash in the middle of epoch 2 (step 5 of 9)
        if state["step"] == 5:
            raise Interrupted("killed")

    with pytest.raises(Interrupted):
        pretrain(ds_path, small_config(), tmp_path / "run", checkpoint_every_steps=every, callbacks=[kill], **FAST)
    part = load_checkpoint(tmp_path / "run" / "last.pt")
    prog = part["progress"]
    assert (prog["epoch"], prog["step"], prog["batch_in_epoch"]) == ((1, 4, 1) if every else (1, 3, 0))
    res = pretrain(ds_path, small_config(), tmp_path / "run", checkpoint_every_steps=every, **FAST)  # resumes
    assert res.steps == 9 and res.epochs_run == 3
    for name in ("last.pt", "model.pt"):
        a, b = load_checkpoint(pretrained / name), load_checkpoint(tmp_path / "run" / name)
        assert state_equal(a["state_dict"], b["state_dict"]), name
    a, b = load_checkpoint(pretrained / "last.pt"), load_checkpoint(tmp_path / "run" / "last.pt")
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == 9
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k]["exp_avg_sq"], sb[k]["exp_avg_sq"]) for k in sa)
    assert [h["train_loss"] for h in a["progress"]["history"]] == pytest.approx([h["train_loss"] for h in b["progress"]["history"]])
    # a finished run is not trained again
    again = pretrain(ds_path, small_config(), tmp_path / "run", **FAST)
    assert again.steps == 9 and state_equal(load_checkpoint(tmp_path / "run" / "last.pt")["state_dict"], b["state_dict"])


def test_resume_refuses_changed_parameters(ds_path, tmp_path):
    def kill(state):
        if state["step"] == 2:
            raise Interrupted()

    with pytest.raises(Interrupted):
        pretrain(ds_path, small_config(), tmp_path / "o", callbacks=[kill], checkpoint_every_steps=1, **FAST)
    with pytest.raises(InputError, match="lr"):
        pretrain(ds_path, small_config(), tmp_path / "o", **{**FAST, "lr": 1e-2})
    res = pretrain(ds_path, small_config(), tmp_path / "o", resume=False, **{**FAST, "epochs": 1})  # a fresh start is allowed
    assert res.steps == 3


# --------------------------------------------------------------------------- task-stable resume (--resume-dir)
def _resumed_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("resumed from ")]


def _assert_same_run(ref: Path, run: Path) -> None:
    for name in ("last.pt", "model.pt"):
        a, b = load_checkpoint(ref / name), load_checkpoint(run / name)
        assert state_equal(a["state_dict"], b["state_dict"]), name
    a, b = load_checkpoint(ref / "last.pt"), load_checkpoint(run / "last.pt")
    assert a["step"] == b["step"] and a["progress"]["completed"] and b["progress"]["completed"]
    assert [h["train_loss"] for h in a["progress"]["history"]] == [h["train_loss"] for h in b["progress"]["history"]]


def test_resume_dir_retry_in_a_fresh_outdir_is_bit_identical(ds_path, pretrained, tmp_path, caplog):
    """What a retried Nextflow task does: same training, same --resume-dir, a new output directory."""
    import logging

    def kill(state):  # in the middle of epoch 2, after the checkpoint of epoch 1
        if state["step"] == 5:
            raise Interrupted("killed")

    rdir = tmp_path / "resume"
    with pytest.raises(Interrupted):
        pretrain(ds_path, small_config(), tmp_path / "attempt1", callbacks=[kill], resume_dir=rdir, **FAST)
    assert not (tmp_path / "attempt1" / "last.pt").exists()  # the resume checkpoint lives in the resume dir
    (state,) = [p for p in rdir.iterdir()]
    assert state.name.startswith("pretrain-") and (state / "fingerprint.json").is_file()
    assert load_checkpoint(state / "last.pt")["progress"]["epoch"] == 1
    with caplog.at_level(logging.INFO, logger="seq2func.train.engine"):
        res = pretrain(ds_path, small_config(), tmp_path / "attempt2", resume_dir=rdir, **FAST)
    assert _resumed_lines(caplog) == [f"resumed from {state / 'last.pt'} at epoch 1 step 3"]
    assert res.steps == 9 and res.epochs_run == 3
    _assert_same_run(pretrained, tmp_path / "attempt2")
    assert not rdir.exists()  # finished: the state is gone, last.pt is in the output directory
    assert not [p for p in (tmp_path / "attempt2").iterdir() if p.name.startswith(".")]


def test_resume_dir_ignores_other_trainings_and_unusable_state(ds_path, pretrained, tmp_path, caplog):
    import logging

    def kill(state):
        if state["step"] == 4:
            raise Interrupted()

    rdir = tmp_path / "resume"
    with pytest.raises(Interrupted):
        pretrain(ds_path, small_config(), tmp_path / "a", callbacks=[kill], resume_dir=rdir, **FAST)
    (state,) = list(rdir.iterdir())
    # a different training (another seed) sharing the resume dir neither uses nor touches that state
    with caplog.at_level(logging.INFO, logger="seq2func.train.engine"):
        pretrain(ds_path, small_config(), tmp_path / "b", resume_dir=rdir, **{**FAST, "epochs": 1, "seed": 7})
    assert not _resumed_lines(caplog) and (state / "last.pt").is_file() and list(rdir.iterdir()) == [state]
    # a state that matches but cannot be used (a damaged file) is replaced, with a log line
    (state / "last.pt").write_bytes(b"not a checkpoint")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        pretrain(ds_path, small_config(), tmp_path / "c", resume_dir=rdir, **FAST)
    assert not _resumed_lines(caplog)
    assert any(r.getMessage().startswith(f"ignoring resume state {state}") for r in caplog.records)
    _assert_same_run(pretrained, tmp_path / "c")
    assert not rdir.exists()


def test_resume_dir_survives_sigkill(ds_path, pretrained, tmp_path, caplog):
    """The test hook of the pipeline test: SEQ2FUNC_TEST_KILL_AFTER_EPOCH=1 SIGKILLs a fresh run after
    epoch 1 (exit -9, as an OOM kill); the rerun in another output directory resumes exactly."""
    import json
    import logging

    cfg = tmp_path / "model.json"
    cfg.write_text(json.dumps(small_config()))
    rdir = tmp_path / "resume"
    # same intra-op thread count as this process (other test modules set it at import): float sums
    # in another order would make the killed epoch differ from the fixture's in the last bits
    code = (f"import json, sys, torch; torch.set_num_threads({torch.get_num_threads()}); "
            "from seq2func.train import pretrain; "
            "pretrain(sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3], resume_dir=sys.argv[4], **json.loads(sys.argv[5]))")
    res = subprocess.run([sys.executable, "-c", code, str(ds_path), str(cfg), str(tmp_path / "killed"), str(rdir), json.dumps(FAST)],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "SEQ2FUNC_TEST_KILL_AFTER_EPOCH": "1",
                              "SEQ2FUNC_TRAIN_HOOKS": "tests.hooks:kill_after_epoch",
                              "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))})
    assert res.returncode == -9, res.stderr[-2000:]
    (state,) = list(rdir.iterdir())
    assert load_checkpoint(state / "last.pt")["progress"]["epoch"] == 1
    with caplog.at_level(logging.INFO, logger="seq2func.train.engine"):
        pretrain(ds_path, small_config(), tmp_path / "retry", resume_dir=rdir, **FAST)
    assert _resumed_lines(caplog) == [f"resumed from {state / 'last.pt'} at epoch 1 step 3"]
    _assert_same_run(pretrained, tmp_path / "retry")


def test_early_stopping_keeps_best_checkpoint(ds_path, tmp_path):
    # nothing can beat the first epoch by 10 R units: stop after 1 + patience epochs, model.pt = epoch 1
    res = pretrain(ds_path, small_config(), tmp_path / "o", **{**FAST, "epochs": 5, "patience": 1, "min_delta": 10.0})
    assert res.stopped_early and res.epochs_run == 2 and res.best_epoch == 0
    best, last = load_checkpoint(tmp_path / "o" / "model.pt"), load_checkpoint(tmp_path / "o" / "last.pt")
    assert best["epoch"] == 1 and last["epoch"] == 2 and last["progress"]["completed"]
    assert not state_equal(best["state_dict"], last["state_dict"])
    # valid_loss mode (lower is better)
    res = pretrain(ds_path, small_config(), tmp_path / "l", **{**FAST, "epochs": 2, "metric": "valid_loss"})
    assert res.summary["metric"] == "valid_loss" and res.best_metric == min(h["valid_loss"] for h in res.history)


# --------------------------------------------------------------------------- checkpoints / outputs
def test_checkpoint_round_trip_weights_only(ds_path, pretrained):
    import json

    raw = torch.load(pretrained / "last.pt", weights_only=True)  # the oracle: torch's safe loader
    for key in ("model_config", "state_dict", "tracks", "dataset", "train_params", "versions", "optimizer", "scheduler",
                "rng", "progress", "epoch", "step"):
        assert key in raw, key
    best = torch.load(pretrained / "model.pt", weights_only=True)
    assert "optimizer" not in best and best["kind"] == "pretrain"
    assert [t["track_id"] for t in raw["tracks"]] == ["atac", "dnase"]  # the compendium rows
    assert {"track_id", "cell_type", "assay", "transform"} <= set(raw["tracks"][0])
    d = raw["dataset"]
    assert d["manifest_checksum"] == hashlib.sha256((ds_path / "manifest.json").read_bytes()).hexdigest()
    assert (d["seq_length"], d["bin_size"], d["crop_bp"]) == (L, BIN, CROP)
    assert raw["model_config"]["n_tracks"] == 2 and raw["model_config"]["name"] == "basenji"
    assert raw["train_params"]["batch_size"] == 4 and "torch" in raw["versions"]
    model, ck = model_from_checkpoint(pretrained / "model.pt")
    assert state_equal(model.state_dict(), best["state_dict"]) and not model.training
    # RNG states survive as plain lists
    from seq2func.train.checkpoint import capture_rng, restore_rng

    st = capture_rng()
    x1 = (np.random.rand(3), torch.rand(3), __import__("random").random())
    restore_rng(torch.load(_save_tmp(pretrained, {"rng": st}), weights_only=True)["rng"])
    x2 = (np.random.rand(3), torch.rand(3), __import__("random").random())
    assert np.array_equal(x1[0], x2[0]) and torch.equal(x1[1], x2[1]) and x1[2] == x2[2]
    # metrics.json / history.tsv
    m = json.loads((pretrained / "metrics.json").read_text())
    assert len(m["history"]) == 3 and {"train_loss", "valid_loss", "valid_r", "wall_s", "windows_per_s"} <= set(m["history"][0])
    hist = (pretrained / "history.tsv").read_text().splitlines()
    assert hist[0].startswith("epoch\tstep\ttrain_loss\tvalid_loss\tvalid_r") and len(hist) == 4
    assert not [p for p in pretrained.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_checkpoint_file_is_reproducible_and_weights_hash_ignores_paths(pretrained, tmp_path):
    """Saving the same checkpoint twice gives the same bytes (no time stamp or random id in the file);
    a copy that differs only in the recorded dataset path has another file hash but the same
    ``weights_sha256``; one changed weight changes it."""
    from seq2func.train.checkpoint import file_sha256, save_checkpoint, weights_sha256

    src = pretrained / "model.pt"
    ck = torch.load(src, weights_only=True)
    one, two = save_checkpoint(tmp_path / "one.pt", **ck), save_checkpoint(tmp_path / "two.pt", **ck)
    assert hashlib.sha256(one.read_bytes()).hexdigest() == hashlib.sha256(two.read_bytes()).hexdigest()
    moved = save_checkpoint(tmp_path / "moved.pt", **{**ck, "dataset": {**ck["dataset"], "path": "/elsewhere/dataset"}})
    assert file_sha256(moved) != file_sha256(src)
    assert weights_sha256(moved) == weights_sha256(src) == weights_sha256(ck)
    name = next(k for k, v in ck["state_dict"].items() if v.is_floating_point() and v.numel())
    changed = {**ck["state_dict"], name: ck["state_dict"][name].clone()}
    changed[name].view(-1)[0] += 1e-3
    assert not torch.equal(changed[name], ck["state_dict"][name])  # the oracle: the weights differ
    assert weights_sha256({**ck, "state_dict": changed}) != weights_sha256(ck)


def _save_tmp(d: Path, obj) -> Path:
    p = d.parent / "rng_probe.pt"
    torch.save(obj, p)
    return p


def test_bad_checkpoint_is_one_line_error(tmp_path):
    p = tmp_path / "x.pt"
    torch.save({"a": np.arange(3)}, p)  # numpy arrays are refused by weights_only=True
    with pytest.raises(InputError, match="weights_only"):
        load_checkpoint(p)
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


# --------------------------------------------------------------------------- fine-tuning
def _parent(pretrained: Path) -> dict:
    return load_checkpoint(pretrained / "model.pt")["state_dict"]


def _trunk(sd: dict) -> dict:
    return {k: v for k, v in sd.items() if k.startswith("trunk.")}


@pytest.fixture(scope="module")
def strategies(ds_path, pretrained, tmp_path_factory):
    """Each strategy fine-tuned for 2 epochs on HepG2 (CAGE +/-) with half of the training windows."""
    from seq2func.train.strategies import count_trainable

    out = {}
    root = tmp_path_factory.mktemp("ft")
    for s in ("head_only", "full", "gradual_unfreeze", "lora", "scratch"):
        per_epoch = {}

        def probe(state, per_epoch=per_epoch):
            per_epoch.setdefault(state["epoch"], count_trainable(state["model"]))

        res = finetune(ds_path, pretrained / "model.pt", root / s, cell_type="HepG2", strategy=s, target_fraction=0.5,
                       callbacks=[probe], **{**FAST, "epochs": 2})
        out[s] = (res, per_epoch, load_checkpoint(root / s / "last.pt"), root / s)
    return out


def test_finetune_selects_target_tracks_and_subsamples(strategies, ds_path):
    res, _, ck, _ = strategies["full"]
    assert [t["track_id"] for t in ck["tracks"]] == ["cage_p", "cage_m"]
    assert [t["rc_index"] for t in ck["tracks"]] == [1, 0]  # stranded pair, positions within the head
    assert ck["model_config"]["n_tracks"] == 2 and ck["kind"] == "finetune"
    assert ck["strategy"]["name"] == "full" and ck["strategy"]["cell_type"] == "HepG2"
    n_train = open_dataset(ds_path).split("train").size
    assert res.summary["n_train_windows"] == round(0.5 * n_train)
    assert engine.subsample_train(np.arange(100), 0.1, 0).tolist() == engine.subsample_train(np.arange(100), 0.1, 0).tolist()
    # the same budget for every strategy, scratch included
    assert {r.steps for r, *_ in strategies.values()} == {res.steps} == {2 * math.ceil(round(0.5 * n_train) / 4)}


def test_head_only_freezes_the_trunk(strategies, pretrained):
    res, per_epoch, ck, _ = strategies["head_only"]
    parent = _parent(pretrained)
    head_n = sum(v.numel() for k, v in ck["state_dict"].items() if k.startswith("head.") and v.is_floating_point())
    assert per_epoch[0] == per_epoch[1] == head_n == res.summary["trainable_params"]
    assert state_equal(_trunk(ck["state_dict"]), _trunk(parent))  # weights and batch-norm statistics


def test_full_and_scratch_train_everything(strategies, pretrained):
    parent = _parent(pretrained)
    for s in ("full", "scratch"):
        res, per_epoch, ck, _ = strategies[s]
        assert per_epoch[0] == res.summary["total_params"] == res.summary["trainable_params"]
        t = _trunk(ck["state_dict"])
        changed = [k for k in t if t[k].is_floating_point() and not torch.equal(t[k], parent[k])]
        assert len(changed) == sum(1 for k in t if t[k].is_floating_point())
    # scratch starts from a re-initialised trunk: far from the parent, unlike full fine-tuning
    def dist(s):
        t = _trunk(strategies[s][2]["state_dict"])
        return sum(float((t[k] - parent[k]).abs().sum()) for k in t if k.endswith(".weight"))
    assert dist("scratch") > 5 * dist("full")


def test_gradual_unfreeze_opens_blocks_epoch_by_epoch(strategies, pretrained):
    res, per_epoch, ck, _ = strategies["gradual_unfreeze"]
    head_n = sum(v.numel() for k, v in ck["state_dict"].items() if k.startswith("head."))
    assert per_epoch[0] == head_n < per_epoch[1] < res.summary["total_params"]
    # the input-side blocks never trained
    parent = _parent(pretrained)
    first = [k for k in ck["state_dict"] if k.startswith("trunk.0.")]
    assert first and all(torch.equal(ck["state_dict"][k], parent[k]) for k in first)


def test_lora_trains_adapters_only(strategies, pretrained):
    res, per_epoch, ck, outdir = strategies["lora"]
    parent = _parent(pretrained)
    sd = ck["state_dict"]
    lora = [k for k in sd if "lora" in k.lower()]
    assert lora
    base = {k: v for k, v in _trunk(sd).items() if "lora" not in k.lower()}
    # base weights (renamed inside the LoRA wrappers) are bit-identical to the parent's
    parent_vals = sorted(hashlib.sha256(v.numpy().tobytes()).hexdigest() for k, v in _trunk(parent).items())
    assert sorted(hashlib.sha256(v.numpy().tobytes()).hexdigest() for v in base.values()) == parent_vals
    lora_n = sum(sd[k].numel() for k in lora)
    head_n = sum(v.numel() for k, v in sd.items() if k.startswith("head."))
    assert per_epoch[0] == lora_n + head_n == res.summary["trainable_params"]
    model, _ = model_from_checkpoint(outdir / "model.pt")  # the adapters are rebuilt from the checkpoint
    assert state_equal(model.state_dict(), load_checkpoint(outdir / "model.pt")["state_dict"])


def test_finetune_resume_dir_retry_is_bit_identical(strategies, pretrained, ds_path, tmp_path, caplog):
    """A killed FINETUNE retried with the parent checkpoint staged elsewhere (a new work directory)
    resumes from the resume dir, replays gradual unfreezing, and ends as the uninterrupted run."""
    import logging
    import shutil

    def kill(state):  # 2 steps per epoch: the first step of epoch 2
        if state["step"] == 3:
            raise Interrupted()

    kw = dict(cell_type="HepG2", strategy="gradual_unfreeze", target_fraction=0.5, resume_dir=tmp_path / "resume",
              **{**FAST, "epochs": 2})
    for d in ("w1", "w2"):
        (tmp_path / d / "pretrained").mkdir(parents=True)
        shutil.copy(pretrained / "model.pt", tmp_path / d / "pretrained" / "model.pt")
    with pytest.raises(Interrupted):
        finetune(ds_path, tmp_path / "w1" / "pretrained" / "model.pt", tmp_path / "w1" / "out", callbacks=[kill], **kw)
    (state,) = list((tmp_path / "resume").iterdir())
    assert state.name.startswith("finetune-HepG2-gradual_unfreeze-")
    with caplog.at_level(logging.INFO, logger="seq2func.train.engine"):
        finetune(ds_path, tmp_path / "w2" / "pretrained" / "model.pt", tmp_path / "w2" / "out", **kw)
    assert _resumed_lines(caplog) == [f"resumed from {state / 'last.pt'} at epoch 1 step 2"]
    _assert_same_run(strategies["gradual_unfreeze"][3], tmp_path / "w2" / "out")
    assert not (tmp_path / "resume").exists()


def test_finetune_unknown_cell_type(ds_path, pretrained, tmp_path):
    with pytest.raises(InputError, match="HepG2"):
        finetune(ds_path, pretrained / "model.pt", tmp_path / "o", cell_type="Liver", strategy="full", **FAST)
    with pytest.raises(InputError, match="strategy"):
        finetune(ds_path, pretrained / "model.pt", tmp_path / "o", cell_type="HepG2", strategy="adapters", **FAST)


# --------------------------------------------------------------------------- device / CLI
def test_require_gpu_without_gpu_is_one_line_exit_2(tmp_path):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    cmd = [sys.executable, str(REPO / "bin" / "train.py"), "pretrain", "--dataset", str(tmp_path / "nope"),
           "--outdir", str(tmp_path / "o"), "--require-gpu"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: --use_gpu: no CUDA GPU is visible"), p.stderr
    assert not (tmp_path / "o").exists()


def test_resolve_device_rules(monkeypatch):
    from seq2func.train.device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu" and resolve_device("cpu").type == "cpu"
    with pytest.raises(InputError, match="no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(InputError, match="--use_gpu"):
        resolve_device("auto", require_gpu=True)
    with pytest.raises(InputError, match="--device"):
        resolve_device("tpu")


def test_cli_finetune_and_predict(ds_path, pretrained, tmp_path):
    import importlib.util

    from typer.testing import CliRunner

    spec = importlib.util.spec_from_file_location("train_cli", REPO / "bin" / "train.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    r = CliRunner().invoke(mod.app, ["finetune", "--dataset", str(ds_path), "--checkpoint", str(pretrained / "model.pt"),
                                     "--cell-type", "HepG2", "--strategy", "lora", "--strategy-opt", "rank=2",
                                     "--target-fraction", "0.3", "--outdir", str(tmp_path / "ft"), "--epochs", "1",
                                     "--batch-size", "4", "--device", "cpu", "--progress", "none"])
    assert r.exit_code == 0, r.output
    ck = load_checkpoint(tmp_path / "ft" / "model.pt")
    assert ck["strategy"]["kwargs"] == {"rank": 2} and ck["train_params"]["target_fraction"] == 0.3
    r = CliRunner().invoke(mod.app, ["predict", "--checkpoint", str(tmp_path / "ft" / "model.pt"), "--dataset", str(ds_path),
                                     "--out", str(tmp_path / "p.npy"), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    pred = np.load(tmp_path / "p.npy")
    assert pred.shape == (open_dataset(ds_path).split("test").size, (L - 2 * CROP) // BIN, 2) and (pred >= 0).all()
    assert (tmp_path / "p.npy.tracks.tsv").read_text().splitlines()[1].startswith("0\tcage_p")


def test_progress_bar_on_a_terminal_log_lines_otherwise(capsys, caplog, monkeypatch):
    import logging

    import seq2func.train.engine as eng

    monkeypatch.setitem(sys.modules, "tqdm", None)  # tqdm is optional: the built-in bar must work without it
    bar = eng.Progress(3, "epoch 1/1", mode="bar")
    assert bar.kind == "simple"
    for _ in range(3):
        bar.update(1.5, 1e-3)
    bar.close()
    err = capsys.readouterr().err
    assert "\r" in err and "3/3" in err and err.endswith("\n")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    with caplog.at_level(logging.INFO, logger="seq2func.train.engine"):
        lines = eng.Progress(4, "epoch 2/2", mode="auto", log_every=2)
        assert lines.kind == "log"
        for _ in range(4):
            lines.update(2.0, 1e-3)
    assert [r.getMessage().split(" loss")[0] for r in caplog.records] == ["epoch 2/2 step 2/4", "epoch 2/2 step 4/4"]
    assert eng.Progress(4, "x", enabled=False).kind == "none"  # ranks > 0


# --------------------------------------------------------------------------- per-assay loss weights
def test_assay_weights_weight_each_tracks_loss(ds_path, tmp_path, monkeypatch):
    """--assay-weights DNase=3 trains on 0.5 * L(ATAC) + 1.5 * L(DNase) (weights scaled to mean 1)."""
    from seq2func.losses import poisson

    seen = []
    real = engine.track_weighted

    def spy(loss_fn, weights):
        seen.append(list(weights))
        return real(loss_fn, weights)

    monkeypatch.setattr(engine, "track_weighted", spy)
    res = pretrain(ds_path, small_config(), tmp_path / "w", **{**FAST, "epochs": 1, "assay_weights": "DNase=3"})
    assert seen == [[0.5, 1.5]] and res.steps == 3
    assert load_checkpoint(tmp_path / "w" / "model.pt")["train_params"]["assay_weights"] == "DNase=3"
    pred, target = torch.rand(2, 12, 2) + 0.1, torch.poisson(torch.rand(2, 12, 2) * 3)
    expected = 0.5 * poisson(pred[..., :1], target[..., :1]) + 1.5 * poisson(pred[..., 1:], target[..., 1:])
    assert float(real(poisson, seen[0])(pred, target)) == pytest.approx(float(expected) / 2, rel=1e-6)


@pytest.mark.parametrize("bad", ["CAGE", "CAGE=0", "CAGE=x", "=2", "CAGE=1,CAGE=2"])
def test_bad_assay_weights_are_one_line_errors(ds_path, tmp_path, bad):
    with pytest.raises(InputError, match="--assay-weights"):
        pretrain(ds_path, small_config(), tmp_path / "o", **{**FAST, "assay_weights": bad})
