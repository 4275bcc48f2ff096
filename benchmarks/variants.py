#!/usr/bin/env python3
"""SCORE_VARIANTS benchmark: speed of variant scoring against the bare model, the sign of causal
variants, the allele-specific benchmark per model, and null calibration, on the simulated small world.

1. **speed** (``basenji_tiny``, random weights: speed does not depend on them): ``N`` SNVs of the
   world scored with :func:`seq2func.variants.scores.score_variants` (forward orientation, no
   shift: two sequences per SNV) against bare forward passes of the same ``2 N`` sequences (built
   beforehand) through the same :class:`seq2func.predict.Predictor` and batch size, in one run,
   best of ``--repeats``. ``scoring_vs_forward_ratio`` = forward time / scoring time (1 = no
   overhead; aim >= 0.8). ``scoring_vs_forward_ratio_shared``: the same for ``N`` dense SNVs (one
   every ~40 bp) with ``share_reference=True`` (aim >= 1.5: reference passes shared);
2. **trained models** of ``benchmarks/train.py --keep --workdir DIR`` (``--train-workdir DIR``;
   without it this script runs train.py itself, ~15 min): the world's ``variants.vcf.gz``
   (labelled and causal sites) scored by the pretrained model and every fine-tuned one (SAD,
   reverse complement averaged) through the pipeline's own chunk/merge functions;
3. ``causal_sign_accuracy``: for each causal variant (truth.json) and each cell type where its
   true accessibility effect is at least ``--min-effect``, the sign of SAD on that cell type's
   ATAC track against the sign of the true effect: compendium cell types with the pretrained
   model, target cell types with their ``full`` fine-tuned model (aim >= 0.9);
4. ``asv_auroc``: :func:`seq2func.variants.run.run_benchmark` on ``asv_labels.tsv``: AUROC per model
   and cell type, with the random and PWM baselines (fine-tuned must beat scratch and PWM on the
   target cell types);
5. ``null_calibration``: one model with ``--null`` random null SNVs: the fraction of null-vs-null
   p-values below 0.05 (aim 0.05 +- 0.02).

    python benchmarks/variants.py [--train-workdir DIR] [--out benchmarks/results/variants.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import REPO  # also puts src/ on sys.path

from seq2func.io.atomic import json_clean


def machine() -> dict:
    return {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def speed(world: Path, n: int, repeats: int, batch_size: int) -> dict:
    from seq2func.models import build_model, load_config
    from seq2func.predict import Predictor
    from seq2func.prepare.genome import Fasta
    from seq2func.variants.records import read_variants
    from seq2func.variants.scores import score_variants
    from seq2func.variants.sequences import variant_windows

    torch.manual_seed(0)
    model = build_model(load_config("basenji_tiny") | {"n_tracks": 4}).eval()
    pred = Predictor(model, batch_size=batch_size)
    L = pred.seq_len
    cohort = read_variants(world / "cohort.vcf.gz", world / "genome.fa").variants
    snv = cohort[(cohort["ref"].str.len() == 1) & (cohort["alt"].str.len() == 1)].reset_index(drop=True)
    sparse = snv.iloc[np.linspace(0, len(snv) - 1, n).astype(int)].reset_index(drop=True)
    fa = Fasta(world / "genome.fa")
    rng = np.random.default_rng(0)
    chrom = "chr1"
    start = 2_000_000
    pos = start + np.cumsum(rng.integers(20, 60, size=n))
    refb = [fa.fetch_text(chrom, int(p) - 1, int(p)).upper() for p in pos]
    dense = pd.DataFrame({"chrom": chrom, "pos": pos, "ref": refb,
                          "alt": ["ACGT"[("ACGT".index(b) + 1) % 4] if b in "ACGT" else "A" for b in refb]})
    dense = dense[dense["ref"].isin(list("ACGT"))].reset_index(drop=True)
    for df in (sparse, dense):
        df["key"] = df["chrom"] + ":" + df["pos"].astype(str) + ":" + df["ref"] + ":" + df["alt"]

    def bare(df: pd.DataFrame) -> float:
        w = variant_windows(world / "genome.fa", list(df["chrom"]), df["pos"].to_numpy(), list(df["ref"]), list(df["alt"]), L)
        codes = np.concatenate([w.ref[w.ref_row], w.left])  # 2 N sequences, built outside the clock
        t0 = time.perf_counter()
        pred(codes)
        return time.perf_counter() - t0

    def scoring(df: pd.DataFrame, share: bool) -> tuple[float, dict]:
        t0 = time.perf_counter()
        sc = score_variants(pred, df, world / "genome.fa", None, scores=["SAD", "logSAD", "D2", "SAX"], rc=False,
                            shifts=(0,), share_reference=share)
        return time.perf_counter() - t0, dict(sc.attrs.get("counts", {}))

    out = {"n_sparse": int(len(sparse)), "n_dense": int(len(dense)), "batch_size": batch_size, "seq_len": L}
    bare_s, score_s, bare_d, score_d = [], [], [], []
    for _ in range(repeats):
        bare_s.append(bare(sparse))
        t, c_sparse = scoring(sparse, False)
        score_s.append(t)
        bare_d.append(bare(dense))
        t, c_dense = scoring(dense, True)
        score_d.append(t)
    out.update({
        "bare_forward_seconds": min(bare_s), "scoring_seconds": min(score_s),
        "variants_per_second": len(sparse) / min(score_s), "forward_sequences_per_second": 2 * len(sparse) / min(bare_s),
        "scoring_vs_forward_ratio": min(bare_s) / min(score_s), "counts_sparse": c_sparse,
        "bare_forward_seconds_dense": min(bare_d), "scoring_seconds_dense_shared": min(score_d),
        "scoring_vs_forward_ratio_shared": min(bare_d) / min(score_d), "counts_dense_shared": c_dense,
        "runs": {"bare": bare_s, "scoring": score_s, "bare_dense": bare_d, "scoring_dense_shared": score_d},
    })
    fa.close()
    return out


def score_models(world: Path, models: dict[str, Path], out: Path, null: int) -> dict[str, Path]:
    from seq2func.variants.run import merge_chunks, score_chunk

    merged = {}
    for label, ckpt in models.items():
        chunks = []
        for chrom in ("chr1", "chr2", "chr3"):
            d = out / "chunks" / label.replace("/", "__") / chrom
            score_chunk(ckpt, world / "variants.vcf.gz", world / "genome.fa", chrom, d, label=label,
                        scores=["SAD", "logSAD", "D2", "SAX"], rc=True, null=null, device="cpu")
            chunks.append(d)
        merged[label] = out / "variants" / label
        merge_chunks(chunks, world / "variants.vcf.gz", world / "genome.fa", merged[label])
    return merged


def causal_signs(world: Path, merged: dict[str, Path], min_effect: float) -> dict:
    truth = json.loads((world / "truth.json").read_text())
    roles = {c["name"]: c["role"] for c in truth["cell_types"]}
    tables = {k: pd.read_csv(v / "variants.tsv.gz", sep="\t") for k, v in merged.items()}
    rows = []
    for cv in truth["causal_variants"]:
        key = f"{cv['chrom']}:{cv['pos']}:{cv['ref']}:{cv['alt']}"
        for ct, eff in cv["accessibility_effect"].items():
            if abs(eff) < min_effect:
                continue
            model = "pretrain" if roles.get(ct) == "compendium" else f"{ct}/full"
            t = tables.get(model)
            if t is None:
                continue
            hit = t[(t["key"] == key) & (t["track_id"] == f"ATAC_{ct}")]
            if hit.empty:
                continue
            sad = float(hit["SAD"].iloc[0])
            rows.append({"variant_id": cv["variant_id"], "cell_type": ct, "role": roles.get(ct), "model": model,
                         "true_effect": eff, "sad": sad, "agree": bool(np.sign(sad) == np.sign(eff))})
    df = pd.DataFrame(rows)
    if df.empty:
        return {"n": 0}
    by_role = {r: {"n": int(len(g)), "accuracy": float(g["agree"].mean())} for r, g in df.groupby("role")}
    strong = df[df["true_effect"].abs() >= df["true_effect"].abs().median()]
    return {"n": int(len(df)), "n_variants": int(df["variant_id"].nunique()), "accuracy": float(df["agree"].mean()),
            "accuracy_strongest_half": float(strong["agree"].mean()), "by_role": by_role, "min_effect": min_effect}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train-workdir", type=Path, default=None, help="a benchmarks/train.py --keep work directory")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "variants.json")
    ap.add_argument("--workdir", type=Path, default=None, help="scratch directory (default: a temporary one, removed)")
    ap.add_argument("--n-speed", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--null", type=int, default=1000, help="null SNVs for the calibration model")
    ap.add_argument("--min-effect", type=float, default=0.25, help="smallest |true accessibility effect| counted")
    ap.add_argument("--strategies", default="full,head_only,gradual_unfreeze,scratch")
    args = ap.parse_args(argv)
    t_all = time.time()
    tmp = Path(args.workdir or tempfile.mkdtemp(prefix="s2f-variants-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    train_dir = args.train_workdir
    if train_dir is None:
        train_dir = tmp / "train"
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "train.py"), "--keep", "--workdir", str(train_dir),
                        "--out", str(tmp / "train.json"), "--strategies", args.strategies], check=True)
    world = train_dir / "world"
    result: dict = {"benchmark": "variants", "machine": machine(), "train_workdir": str(train_dir)}

    result["speed"] = speed(world, args.n_speed, args.repeats, args.batch_size)
    result["scoring_vs_forward_ratio"] = result["speed"]["scoring_vs_forward_ratio"]
    result["scoring_vs_forward_ratio_shared"] = result["speed"]["scoring_vs_forward_ratio_shared"]

    models = {"pretrain": train_dir / "pretrain" / "model.pt"}
    for p in sorted((train_dir / "finetune").glob("*/*/model.pt")):
        models[f"{p.parent.parent.name}/{p.parent.name}"] = p
    t0 = time.time()
    merged = score_models(world, models, tmp / "scored", null=0)
    result["scoring_wall_s"] = time.time() - t0
    result["causal_sign"] = causal_signs(world, merged, args.min_effect)
    result["causal_sign_accuracy"] = result["causal_sign"].get("accuracy")

    from seq2func.variants.run import run_benchmark

    bench = run_benchmark(merged, world / "asv_labels.tsv", world / "genome.fa", tmp / "benchmark",
                          vcf=world / "variants.vcf.gz", conservation=world / "conservation.bw", seed=0)
    auc = pd.read_csv(tmp / "benchmark" / "auroc.tsv", sep="\t")
    result["asv_auroc"] = bench["auroc"]
    truth = json.loads((world / "truth.json").read_text())
    targets = [c["name"] for c in truth["cell_types"] if c["role"] == "target"]
    compare = {}
    for ct in targets:
        a = auc[auc["cell_type"] == ct].set_index("model")["auroc"]
        ft = {m: float(v) for m, v in a.items() if m.startswith(f"{ct}/") and not m.endswith("/scratch")}
        best = max(ft, key=ft.get) if ft else None
        compare[ct] = {"best_finetuned": best, "best_finetuned_auroc": ft.get(best) if best else None,
                       "scratch": float(a.get(f"{ct}/scratch", np.nan)), "pretrain": float(a.get("pretrain", np.nan)),
                       "pwm": float(a.get("baseline_pwm", np.nan)), "random": float(a.get("baseline_random", np.nan)),
                       "finetuned_beats_scratch": bool(best and ft[best] > a.get(f"{ct}/scratch", np.inf)),
                       "finetuned_beats_pwm": bool(best and ft[best] > a.get("baseline_pwm", np.inf))}
    result["asv_target_cell_types"] = compare
    result["benchmark_tables"] = {n: pd.read_csv(tmp / "benchmark" / f"{n}.tsv", sep="\t").to_dict(orient="records")
                                  for n in ("sign_consistency", "conservation")}

    # null calibration: one fine-tuned model with a large random null
    cal_model = next((m for m in models if m.endswith("/full")), "pretrain")
    cal = score_models(world, {cal_model: models[cal_model]}, tmp / "null", null=args.null)
    summ = json.loads((cal[cal_model] / "summary.json").read_text())
    result["null_calibration"] = {"model": cal_model, **(summ["null_calibration"] or {})}
    result["wall_s"] = time.time() - t_all
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(json_clean(result), indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("scoring_vs_forward_ratio", "scoring_vs_forward_ratio_shared",
                                             "causal_sign_accuracy", "asv_target_cell_types", "null_calibration")},
                     indent=1, default=str))
    if args.workdir is None:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
