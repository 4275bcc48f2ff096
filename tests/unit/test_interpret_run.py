"""interpret.py model / summary as the pipeline runs them (subprocesses) on the tiny simulated world with
a small random model: every output, its shapes, the recovery table's rows from truth.json, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bin" / "interpret.py"


def _cli(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=900)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import torch

    from seq2func.models import build_model, load_config
    from seq2func.prepare.run import PrepareParams, prepare_dataset
    from seq2func.simulate import simulate_world
    from seq2func.train.checkpoint import save_checkpoint

    d = tmp_path_factory.mktemp("interpret_run")
    w = simulate_world(d / "world", scale="tiny", seed=1)
    prepare_dataset(w["fasta"], w["samplesheet"], d / "ds", params=PrepareParams(seq_length=4096, bin_size=128),
                    test_chroms="chr3", valid_chroms="chr2")
    torch.manual_seed(0)
    model = build_model(load_config("basenji_tiny") | {"n_tracks": 2, "seq_len": 4096})
    tracks = [dict(track_id="ATAC_neuron", cell_type="neuron", assay="ATAC", transform="sum", role="target", strand=".",
                   dataset_index=0, rc_index=0),
              dict(track_id="CAGE_neuron", cell_type="neuron", assay="CAGE", transform="sum", role="target", strand=".",
                   dataset_index=1, rc_index=1)]
    ckpt = save_checkpoint(d / "m.pt", model, kind="finetune", train_params={}, tracks=tracks,
                           dataset={"seq_length": 4096, "bin_size": 128, "crop_bp": 0})
    r = _cli("model", "--checkpoint", ckpt, "--dataset", d / "ds", "--out", d / "out" / "neuron" / "full", "--label",
             "neuron/full", "--n", 3, "--shuffles", 2, "--ism-bp", 20)
    assert r.returncode == 0, r.stderr[-3000:]
    return d, w, ckpt


def test_model_outputs(world):
    d, w, _ = world
    out = d / "out" / "neuron" / "full"
    s = json.loads((out / "summary.json").read_text())
    assert s["cell_types"] == ["neuron"] and s["regions"] == 3 and s["label"] == "neuron/full"
    regions = pd.read_csv(out / "regions.tsv", sep="\t")
    assert set(regions["chrom"]) == {"chr3"} and set(regions["model_track"]) == {"ATAC_neuron"}  # test split, ATAC first
    a = np.load(out / "attributions.npz")
    assert a["codes"].shape == (3, 4096) and a["attributions"].shape == (3, 4, 4096)
    onehot_mask = np.eye(5, dtype=bool)[a["codes"]][..., :4].transpose(0, 2, 1)
    assert (a["attributions"][~onehot_mask] == 0).all()  # contributions only at the observed bases
    ism = np.load(out / "ism.npz")
    assert ism["neuron__values"].shape == (20, 4) and ism["neuron__track"] == "ATAC_neuron"
    ref = ism["neuron__codes"]
    assert (ism["neuron__values"][np.arange(20), np.minimum(ref, 3)][ref < 4] == 0).all()  # reference base: 0
    f = pd.read_csv(out / "filters.tsv", sep="\t")
    assert len(f) == 32 and (f["n_sites"] >= 0).all()  # basenji_tiny's 32 stem filters


def test_summary_recovery_rows(world, tmp_path):
    d, w, _ = world
    r = _cli("summary", "--run", f"neuron/full={d / 'out' / 'neuron' / 'full'}", "--truth", w["truth"], "--out", tmp_path / "s")
    assert r.returncode == 0, r.stderr[-3000:]
    truth = json.loads(Path(w["truth"]).read_text())
    rec = pd.read_csv(tmp_path / "s" / "recovery.tsv", sep="\t")
    assert sorted(rec["tf"]) == sorted(m["name"] for m in truth["motifs"]["tfs"])
    s = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert s["motif_recovery"] == pytest.approx(rec["recovered"].mean())


def test_bad_checkpoint_and_dataset_mismatch_are_one_line(world, tmp_path):
    d, w, ckpt = world
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(400))
    for args, needle in (
        (["--checkpoint", junk, "--dataset", d / "ds"], "junk.pt"),
        (["--checkpoint", ckpt, "--dataset", tmp_path], str(tmp_path)),
        (["--checkpoint", ckpt, "--dataset", d / "ds", "--split", "nope"], "nope"),
    ):
        r = _cli("model", *args, "--out", tmp_path / "o")
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("ERROR")]
        assert r.returncode == 2 and len(errors) == 1 and needle in errors[0], r.stderr[-2000:]
        assert not (tmp_path / "o").exists()
