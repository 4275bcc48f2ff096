#!/usr/bin/env python3
"""INTERPRET benchmark: exact fast ISM against naive ISM, and the recovery of the planted motifs.

1. ``ism_speedup_vs_naive``: :func:`seq2func.interpret.ism.ism_speed` (one random sequence, the
   central ``--region-bp`` positions x 3 substitutions, the same batch size for both) for
   ``basenji_131k`` (131,072 bp, random weights), ``basenji_tiny`` and ``resnet_peak``:
   ``{model: {speedup, fast_s, naive_s, max_abs_diff, max_rel_diff}}`` (aim >= 10x on basenji_131k,
   exact);
2. on the simulated small world and the models ``benchmarks/train.py --keep`` trained
   (``--train-workdir``), INTERPRET (:func:`seq2func.interpret.run.interpret_model`) of the
   pretrained model and of the ``full`` fine-tuning of each target cell type, then
   :func:`seq2func.interpret.run.summarise` with the world's truth.json:
   ``motif_recovery`` (planted TFs recovered / planted: its JASPAR ID or a matrix of the same TF among
   the pattern or filter matches at q < 0.05; aim >= 0.8), ``motif_precision`` (matched patterns
   and filters whose TF is planted / all matched) and the rank of each target cell type's lineage
   TFs among the TFs ranked by cell-type specificity.

    python benchmarks/interpret.py --train-workdir /tmp/s2f-trainbench [--out benchmarks/results/interpret.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from _common import REPO  # also puts src/ on sys.path

from seq2func.io.atomic import json_clean


def ism_speedups(region_bp: int, skip_131k: bool) -> dict:
    from seq2func.interpret.ism import ism_speed
    from seq2func.models import build_model, load_config

    out = {}
    for name, over in (("basenji_tiny", {"n_tracks": 4}), ("resnet_peak", {"n_tracks": 4}), ("basenji_131k", {"n_tracks": 4})):
        if name == "basenji_131k" and skip_131k:
            continue
        torch.manual_seed(0)
        model = build_model(load_config(name) | over).eval()
        t0 = time.time()
        r = ism_speed(model, region_bp=region_bp, reduction="scalar" if name == "resnet_peak" else "sum")
        out[name] = {**r, "wall_s": time.time() - t0, "seq_len": int(model.config["seq_len"])}
        print(name, {k: r[k] for k in ("speedup", "fast_s", "naive_s", "max_abs_diff")}, flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train-workdir", type=Path, required=True, help="a benchmarks/train.py --keep work directory")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "interpret.json")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--region-bp", type=int, default=100)
    ap.add_argument("--skip-131k", action="store_true", help="leave basenji_131k out of the ISM timing (minutes on a CPU)")
    ap.add_argument("--n", type=int, default=30, help="regions per cell type")
    ap.add_argument("--shuffles", type=int, default=10)
    ap.add_argument("--method", default="deeplift_shap")
    args = ap.parse_args(argv)
    t_all = time.time()
    tmp = Path(args.workdir or tempfile.mkdtemp(prefix="s2f-interpret-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    result: dict = {"benchmark": "interpret",
                    "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                                "platform": platform.platform(), "torch": torch.__version__},
                    "params": {"region_bp": args.region_bp, "n": args.n, "shuffles": args.shuffles, "method": args.method}}

    from seq2func.interpret.run import Q_MATCH, interpret_model, summarise

    train = args.train_workdir
    world = train / "world"
    truth = json.loads((world / "truth.json").read_text())
    planted = {m["name"].upper() for m in truth["motifs"]["tfs"]}
    planted_ids = {m["matrix_id"] for m in truth["motifs"]["tfs"]}
    models = {"pretrain": train / "pretrain" / "model.pt"}
    for c in truth["cell_types"]:
        if c["role"] == "target" and (train / "finetune" / c["name"] / "full" / "model.pt").is_file():
            models[f"{c['name']}/full"] = train / "finetune" / c["name"] / "full" / "model.pt"
    runs, per_model = {}, {}
    for label, ckpt in models.items():
        t0 = time.time()
        runs[label] = tmp / "interpret" / label
        s = interpret_model(ckpt, train / "dataset", runs[label], label=label, n=args.n, n_shuffles=args.shuffles,
                            method=args.method, ism_bp=0, seed=0, device="cpu")
        per_model[label] = {k: s[k] for k in ("cell_types", "regions", "patterns", "patterns_matched", "matched_tfs",
                                              "filters_matched", "filter_tfs", "seconds")} | {"wall_s": time.time() - t0}
        print(label, per_model[label], flush=True)
    summ = summarise(runs, tmp / "interpret" / "summary", truth=world / "truth.json")
    rec = pd.read_csv(tmp / "interpret" / "summary" / "recovery.tsv", sep="\t")
    matched = []
    for label in runs:
        for name in ("patterns.tsv", "filters.tsv"):
            df = pd.read_csv(runs[label] / name, sep="\t")
            if "q_value" in df:
                ok = df[df["q_value"] < Q_MATCH]
                matched += [(label, name, str(r.target_id), str(r.target_name).upper()) for r in ok.itertuples()]
    n_planted = sum(1 for _, _, mid, tf in matched if tf in planted or mid in planted_ids)
    result["per_model"] = per_model
    result["motif_recovery"] = summ["motif_recovery"]
    result["recovered"] = summ["recovered"]
    result["not_recovered"] = sorted(set(rec.loc[~rec["recovered"], "tf"]))
    result["motif_precision"] = n_planted / len(matched) if matched else None
    result["matches"] = {"n": len(matched), "planted": n_planted,
                         "by_source": pd.DataFrame(matched, columns=["model", "source", "id", "tf"]).groupby("source").size().to_dict()
                         if matched else {}}
    result["lineage_ranks"] = summ["lineage_ranks"]
    result["gained_tfs"] = summ["gained_tfs"]
    result["interpret_wall_s"] = time.time() - t_all
    print({k: result[k] for k in ("motif_recovery", "motif_precision", "recovered", "lineage_ranks")}, flush=True)
    result["ism_speedup_vs_naive"] = ism_speedups(args.region_bp, args.skip_131k)
    result["wall_s"] = time.time() - t_all
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(json_clean(result), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
