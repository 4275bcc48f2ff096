#!/usr/bin/env python3
"""The personal-genome benchmark end to end on a simulated world, with three models.

* ``random_basenji_tiny``: ``basenji_tiny`` with random weights (a checkpoint in the
  ``train.checkpoint`` format; the CAGE track of the personal cell type): the floor;
* ``truth``: the simulator's own expression model (:func:`seq2func.personal.benchmark.truth_model`):
  the ceiling, right by construction -- it must give positive R near sqrt(h2), no negative
  significant genes, and supported drivers;
* optionally ``--checkpoint`` a trained seq2func checkpoint (``--cell-type``).

Each model runs as the pipeline does: one ``run_chunk`` per chromosome, then ``merge_chunks``
(global BH); ``forward_passes_saved`` = 1 - model inputs / haplotypes (receptive-field-aware
deduplication). Then personal fine-tuning of the random basenji (or ``--checkpoint``) with
``--finetune-epochs``. The recorded run (see benchmarks/README.md)::

    python benchmarks/personal.py --world DIR/world --scale small \\
        --checkpoint FT/finetune/neuron/scratch/model.pt --skip random \\
        --chroms chr3 --truth-chroms chr3 --truth-ism none --finetune-epochs 6 \\
        --truth-from EARLIER/personal.json --rc --threads 2

with ``DIR`` the work directory of ``benchmarks/train.py --keep --workdir DIR`` (small world, seed 1)
and ``FT`` that of ``benchmarks/train_finetune.py --workdir FT --checkpoint DIR/pretrain/model.pt
--target-fraction 1 --cell-types neuron --strategies scratch --ft-epochs 30 --keep`` (a neuron model
trained from scratch on all its data); ``--finetune-variants mse_only,pairwise_only,individuals_32``
adds the variants; ``--rc`` averages every prediction of the checkpoint with its reverse-complement
pass (the pipeline's ``--personal_rc``; the personal runs of the random and the truth model stay
forward only). Records the summaries, the dedup counts (haplotypes vs distinct model inputs)
and the wall times in ``benchmarks/results/personal.json`` (``--out``). Headline keys:
``wrong_sign_share_heldout_individuals`` (share of the significant genes with negative R after
personal fine-tuning, held-out individuals, training genes), ``mean_r_over_truth_heldout_individuals``
(their mean per-gene R over the truth model's on the same genes and individuals: ``truth_matched``,
see :func:`truth_matched`; ``..._unmatched``: over the truth model's mean on its own genes and all
individuals, what earlier runs reported), the same two for held-out genes, and
``finetune_variants`` (each ``--finetune-variants`` run: one change to the first run, from the
same start: ``VARIANTS``). ``--rescore EARLIER.json --finetune-dir D`` adds ``truth_matched`` and
the headline keys to an earlier result (``D``: its first fine-tuning's directory) without running a model.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import tempfile
import time
from pathlib import Path

from _common import REPO  # also puts src/ on sys.path

# personal fine-tuning variants (what Rastogi et al. 2024 tried): FinetuneParams overrides
VARIANTS = {
    "mse_only": {"pairwise_weight": 0.0},           # per-gene (standardised) loss alone
    "pairwise_only": {"mse_weight": 0.0},           # pairwise differences between individuals alone
    "individuals_32": {"individuals_per_step": 32},  # more individuals of a gene per step
    "individuals_8": {"individuals_per_step": 8},
    "lr_3e-4": {"lr": 3e-4},
}

KEYS = ("n_genes", "n_significant", "n_significant_negative", "frac_significant_negative", "mean_r", "median_r",
        "frac_negative_r", "predixcan_mean_r", "population_r", "by_mode", "drivers", "counts")


def noise_free_expression(world: Path, chroms: list[str]):
    """The simulator's noise-free log2 expression (genes x individuals) on ``chroms``: the truth model's prediction.

    Parameters
    ----------
    world
        A simulated world directory.
    chroms
        Chromosomes of the genes.

    Returns
    -------
    pandas.DataFrame
        Index ``gene_id``, one column per individual (``truth.json`` ``cohort.samples``).
    """
    import pandas as pd

    from seq2func.simulate import load_world

    w = load_world(world)
    samples = json.loads((world / "truth.json").read_text())["cohort"]["samples"]
    frames = []
    for c in chroms:
        gids, y = w.personal_expression(c)
        frames.append(pd.DataFrame(y, index=pd.Index(gids, name="gene_id"), columns=samples))
    return pd.concat(frames)


def truth_matched(finetune_dir: Path, world: Path, chroms: list[str]) -> dict:
    """Fine-tuned and reference-only mean R against the truth model's on the same genes and individuals.

    ``models.truth.mean_r`` averages over the genes where the truth model's R is defined: a gene
    without genetic variation in the cohort gets one constant truth prediction and no R, whereas a
    trained model varies on every gene (and can only reach R ~ 0 there). Dividing a mean over all
    genes by it compares different gene sets (and all individuals with held-out ones). Here, for
    each evaluation set of personal fine-tuning (its genes and individuals, ``finetune.json``
    ``split``), the truth model's R is that of the simulator's noise-free expression
    (:func:`noise_free_expression`, what the truth model predicts) with the observed one on the same
    individuals, and all means run over the genes where it and both models' R are finite.

    Parameters
    ----------
    finetune_dir
        A ``personal finetune`` output directory (``finetune.json``, ``genes.tsv``).
    world
        The simulated world (``truth.json``, ``expression.tsv``).
    chroms
        The chromosomes of the fine-tuning's genes.

    Returns
    -------
    dict
        Set name -> ``n_genes``, ``n_individuals``, ``n_matched``, ``truth_mean_r``,
        ``reference_only_mean_r``, ``personal_finetuned_mean_r`` and their ratios to the truth
        model's (``*_over_truth``).
    """
    import numpy as np
    import pandas as pd

    ft = json.loads((finetune_dir / "finetune.json").read_text())
    sp = ft["split"]
    genes = pd.read_csv(finetune_dir / "genes.tsv", sep="\t", dtype={"gene_id": str})
    truth = noise_free_expression(world, chroms)
    expr = pd.read_csv(world / "expression.tsv", sep="\t", dtype={"gene_id": str}).set_index("gene_id")
    everyone = sp["train_individuals"] + sp["heldout_individuals"]
    sets = {"heldout_individuals": (sp["train_genes"], sp["heldout_individuals"]),
            "heldout_genes": (sp["heldout_genes"], sp["heldout_individuals"]),
            "heldout_genes_all_individuals": (sp["heldout_genes"], everyone),
            "training": (sp["train_genes"], sp["train_individuals"])}
    out = {}
    for name, (gids, inds) in sets.items():
        t = {}
        for g in gids:
            a, b = truth.loc[g, inds].to_numpy(float), expr.loc[g, inds].to_numpy(float)
            t[g] = float(np.corrcoef(a, b)[0, 1]) if np.ptp(a) > 0 and np.ptp(b) > 0 else float("nan")
        r = {m: genes[(genes["set"] == name) & (genes["model"] == m)].set_index("gene_id")["r"].reindex(gids)
             for m in ("reference_only", "personal_finetuned")}
        tr = pd.Series(t, dtype=float).reindex(gids)
        ok = tr.notna() & r["reference_only"].notna() & r["personal_finetuned"].notna()
        res = {"n_genes": len(gids), "n_individuals": len(inds), "n_matched": int(ok.sum()),
               "truth_mean_r": float(tr[ok].mean())}
        for m, v in r.items():
            res[f"{m}_mean_r"] = float(v[ok].mean())
            res[f"{m}_mean_r_over_truth"] = res[f"{m}_mean_r"] / res["truth_mean_r"]
        out[name] = res
    return out


def set_headline(result: dict) -> None:
    """The headline keys of ``personal.json`` from ``finetune`` and ``truth_matched`` (when present).

    Parameters
    ----------
    result
        The benchmark's result, updated in place.
    """
    s0 = result["finetune"]["summary"]
    result["wrong_sign_share_heldout_individuals"] = s0["heldout_individuals"]["wrong_sign_share"]
    result["wrong_sign_share_heldout_genes"] = s0["heldout_genes"]["wrong_sign_share"]
    for split in ("heldout_individuals", "heldout_genes"):
        unmatched = s0[split]["mean_r_over_truth"]
        result[f"mean_r_over_truth_{split}_unmatched"] = unmatched
        m = (result.get("truth_matched") or {}).get(split)
        result[f"mean_r_over_truth_{split}"] = m["personal_finetuned_mean_r_over_truth"] if m else unmatched
    truth = result["models"].get("truth") or {}
    result["truth_model_mean_r"] = truth.get("mean_r")
    result["truth_model_wrong_sign_share"] = truth.get("frac_significant_negative")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="tiny")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stats-seed", type=int, default=1,
                    help="seed of the null draws, the fine-tuning splits and order (RunParams/FinetuneParams.seed)")
    ap.add_argument("--world", type=Path, help="existing world directory (default: simulate one)")
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--cell-type", default="neuron")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--rc", action="store_true",
                    help="average every prediction of --checkpoint with its reverse-complement pass, in its personal "
                         "run and in personal fine-tuning (training and evaluation): the pipeline's --personal_rc")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    ap.add_argument("--predixcan-inner-k", type=int, default=10)
    ap.add_argument("--predixcan-n-alphas", type=int, default=100)
    ap.add_argument("--max-backgrounds", type=int, default=10)
    ap.add_argument("--truth-ism", default="reference", help="ISM for the truth model (personal is slow: a numpy scan per input)")
    ap.add_argument("--finetune-epochs", type=int, default=10)
    ap.add_argument("--finetune-lr", type=float, default=1e-4)
    ap.add_argument("--finetune-mse-weight", type=float, default=1.0)
    ap.add_argument("--finetune-pairwise-weight", type=float, default=1.0)
    ap.add_argument("--finetune-individuals-per-step", type=int, default=16)
    ap.add_argument("--finetune-variants", default="",
                    help="comma-separated extra fine-tuning runs from the same start, each one change to the first: "
                         + ", ".join(VARIANTS))
    ap.add_argument("--chroms", default="", help="comma-separated chromosomes for the models and fine-tuning (default: all)")
    ap.add_argument("--truth-chroms", default="", help="comma-separated chromosomes for the truth model (default: --chroms)")
    ap.add_argument("--skip", default="", help="comma-separated: random,truth,finetune")
    ap.add_argument("--truth-from", type=Path, default=None,
                    help="take models.truth from this earlier personal.json instead of running the truth model: only for "
                         "the same world (its truth.json sha256 is recorded), chromosomes and code (the truth model "
                         "and its statistics are deterministic)")
    ap.add_argument("--rescore", type=Path, default=None,
                    help="add truth_matched and the headline keys to this earlier personal.json (with --finetune-dir; "
                         "no model runs) and write it to --out")
    ap.add_argument("--finetune-dir", type=Path, default=None, help="with --rescore: its first fine-tuning's output directory")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "personal.json")
    args = ap.parse_args()
    if args.rescore is not None:
        if args.finetune_dir is None:
            raise SystemExit("--rescore needs --finetune-dir")
        result = json.loads(args.rescore.read_text())
        ft = json.loads((args.finetune_dir / "finetune.json").read_text())
        if ft["evaluation"] != result["finetune"]["evaluation"]:
            raise SystemExit(f"{args.finetune_dir}: its finetune.json evaluation is not {args.rescore}'s first fine-tuning")
        world = Path(result["world"]["path"])
        result["truth_matched"] = truth_matched(args.finetune_dir, world, result["chromosomes"])
        result["truth_matched_from"] = {"rescored": str(args.rescore), "finetune_dir": str(args.finetune_dir)}
        set_headline(result)
        args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(json.dumps(result["truth_matched"], indent=1))
        print(f"wrote {args.out}")
        return

    import torch

    from seq2func.models import build_model, load_config
    from seq2func.personal.benchmark import RunParams, merge_chunks, run_chunk, truth_model
    from seq2func.personal.finetune import FinetuneParams, personal_finetune
    from seq2func.personal.predict import load_predictor
    from seq2func.simulate import simulate_world
    from seq2func.train.checkpoint import file_sha256, save_checkpoint, weights_sha256

    if args.threads:
        torch.set_num_threads(args.threads)
    skip = set(filter(None, args.skip.split(",")))
    work = Path(tempfile.mkdtemp(prefix="s2f-personal-"))
    world = args.world
    if world is None:
        world = work / "world"
        simulate_world(world, scale=args.scale, seed=args.seed)
    chroms = [c for c in args.chroms.split(",") if c] or sorted({line.split("\t")[0] for line in open(world / "tss.bed")})
    truth_chroms = [c for c in args.truth_chroms.split(",") if c] or chroms
    with open(world / "samplesheet.csv") as fh:
        rows = list(csv.DictReader(fh))
    tracks = [dict(track_id=r["track_id"], cell_type=r["cell_type"], assay=r["assay"], transform=r["transform"],
                   role=r["role"], strand=r["strand"], dataset_index=i, rc_index=i) for i, r in enumerate(rows)]
    torch.manual_seed(0)
    rand = build_model(load_config("basenji_tiny") | {"n_tracks": len(tracks)})
    rand_ckpt = save_checkpoint(work / "random.pt", rand, kind="pretrain", tracks=tracks, train_params={},
                                dataset={"seq_length": 16384, "bin_size": 128, "crop_bp": 1024})
    files = dict(vcf=world / "cohort.vcf.gz", fasta=world / "genome.fa", tss=world / "tss.bed",
                 expression=world / "expression.tsv")
    result = {"world": {"scale": args.scale, "seed": args.seed, "path": str(world)}, "chromosomes": chroms,
              "platform": platform.platform(), "torch": torch.__version__, "threads": torch.get_num_threads(),
              "rc": args.rc, "models": {}}

    def bench(name, predictor, info, params, on=None):
        t0 = time.time()
        dirs = []
        for c in on or chroms:
            d = work / name / f"chunk_{c}"
            run_chunk(predictor, out=d, chroms=[c], params=params, model_info=info, **files)
            dirs.append(d)
        t1 = time.time()
        s = merge_chunks(dirs, work / name / "personal")
        res = {k: s.get(k) for k in KEYS}
        n = res["counts"]
        res["forward_passes_saved"] = 1 - n["model_inputs"] / n["haplotypes"] if n.get("haplotypes") else None
        res["forward_passes_saved_exact_sequence"] = (1 - n["unique_haplotypes"] / n["haplotypes"]
                                                      if n.get("haplotypes") else None)
        res["chromosomes"] = list(on or chroms)
        res["seconds"] = {"chunks": round(t1 - t0, 2), "merge": round(time.time() - t1, 2)}
        res["model"] = info
        res["outdir"] = str(work / name / "personal")
        result["models"][name] = res
        print(name, json.dumps({k: res[k] for k in ("n_genes", "n_significant", "n_significant_negative", "mean_r",
                                                      "predixcan_mean_r", "population_r")}), flush=True)

    base = RunParams(seed=args.stats_seed, predixcan_inner_k=args.predixcan_inner_k, predixcan_n_alphas=args.predixcan_n_alphas,
                     max_backgrounds=args.max_backgrounds)
    if "random" not in skip:
        pred, info = load_predictor(rand_ckpt, cell_type=args.cell_type, device=args.device)
        bench("random_basenji_tiny", pred, info, base)
    if args.checkpoint:
        result["checkpoint"] = {"path": str(args.checkpoint), "sha256": file_sha256(args.checkpoint),
                                "weights_sha256": weights_sha256(args.checkpoint)}
        pred, info = load_predictor(args.checkpoint, cell_type=args.cell_type, device=args.device, rc=args.rc)
        bench("checkpoint", pred, info, base)
    if args.truth_from is not None:
        earlier = json.loads(args.truth_from.read_text())
        if earlier["models"]["truth"]["chromosomes"] != truth_chroms:
            raise SystemExit(f"{args.truth_from}: truth model ran on {earlier['models']['truth']['chromosomes']}, not {truth_chroms}")
        result["models"]["truth"] = earlier["models"]["truth"]
        result["truth_from"] = {"path": str(args.truth_from), "world_truth_json_sha256": file_sha256(world / "truth.json")}
    elif "truth" not in skip:
        pred, info = load_predictor(model=truth_model(world), device="cpu", batch_size=64)
        p = RunParams(**{**base.__dict__, "window": 41001, "ism": args.truth_ism})
        bench("truth", pred, info, p, on=truth_chroms)
    if "finetune" not in skip:
        first = dict(seed=args.stats_seed, epochs=args.finetune_epochs, lr=args.finetune_lr, mse_weight=args.finetune_mse_weight,
                     pairwise_weight=args.finetune_pairwise_weight, individuals_per_step=args.finetune_individuals_per_step,
                     rc=args.rc)

        def finetune_run(name: str, overrides: dict) -> dict:
            t0 = time.time()
            ft = personal_finetune(args.checkpoint or rand_ckpt, vcf=files["vcf"], fasta=files["fasta"], tss=files["tss"],
                                   expression=files["expression"], out=work / f"finetune_{name}", cell_type=args.cell_type,
                                   chroms=chroms, device=args.device, save_model=False,
                                   params=FinetuneParams(**{**first, **overrides}))
            ev = ft["evaluation"]["heldout_individuals"]
            print(f"finetune {name}: heldout individuals", json.dumps(ev), flush=True)
            return {"start": str(args.checkpoint) if args.checkpoint else "random_basenji_tiny", "change": overrides,
                    "outdir": str(work / f"finetune_{name}"),
                    "params": ft["params"], "n_genes": ft["n_genes"], "n_individuals": ft["n_individuals"],
                    "initial_scale": ft["initial_scale"], "final_scale": ft["final_scale"],
                    "evaluation": ft["evaluation"], "history": ft["history"], "steps": ft["steps"],
                    "seconds": round(time.time() - t0, 2)}

        result["finetune"] = finetune_run("first", {})
        result["finetune_variants"] = {v: finetune_run(v, VARIANTS[v]) for v in filter(None, args.finetune_variants.split(","))}
        # headline keys: wrong-sign share among significant genes and mean R relative to the truth model
        truth_r = (result["models"].get("truth") or {}).get("mean_r")
        for name, run in [("finetune", result["finetune"])] + [(f"variant {k}", v) for k, v in result["finetune_variants"].items()]:
            for split in ("heldout_individuals", "heldout_genes"):
                e = run["evaluation"][split]["personal_finetuned"]
                run.setdefault("summary", {})[split] = {
                    "wrong_sign_share": e["frac_significant_negative"], "n_significant": e["n_significant"],
                    "mean_r": e["mean_r"], "mean_r_over_truth": e["mean_r"] / truth_r if truth_r else None,
                    "reference_only_wrong_sign_share": run["evaluation"][split]["reference_only"]["frac_significant_negative"],
                    "reference_only_mean_r": run["evaluation"][split]["reference_only"]["mean_r"]}
        result["truth_matched"] = truth_matched(Path(result["finetune"]["outdir"]), world, chroms)
        set_headline(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {args.out}; work dir {work}")


if __name__ == "__main__":
    main()
