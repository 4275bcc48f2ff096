#!/usr/bin/env python3
"""What limits personal fine-tuning's headline numbers on a simulated world: its figures split by the truth.

The simulator records each gene's genetic variance in the personal cell type (``truth.json``
``genes.rows[*].h2_personal``); a gene with none has expression that is noise around a constant,
so no model can predict it, and any R a model reaches there is chance. This script reads the
outputs of one ``personal.py`` run and splits its figures by that truth:

* ``significant_by_genetic_variance``: per evaluation set of personal fine-tuning
  (``--finetune-dir``: ``finetune.json``, ``genes.tsv``) and model (reference-only, fine-tuned),
  the significant genes and those with R < 0 among genes with genetic variance
  (``h2_personal > --min-h2``) and among genes without (each negative gene listed with its h2);
* ``base_model`` (with ``--personal``, the base checkpoint's merged PERSONAL directory:
  ``predictions.tsv``, ``snvs.tsv.gz``): per gene, ``accuracy`` = R(model prediction, the
  simulator's noise-free expression) across all individuals; from the model's per-SNV effects on
  the reference background (``ism_reference``) and the truth model's (the same ALT in the same
  reference window), ``effect_r`` and ``sign_agreement`` over the SNVs with a true effect, and
  ``spurious_variance_share``: the share of the variance of the model's additive prediction
  (``sum ism * dosage``) that comes from SNVs without a true effect; and the spread the model
  predicts across individuals (SD over mean) for genes with and without genetic variance.

The recorded run (see benchmarks/README.md)::

    python benchmarks/personal_limits.py --world DIR/world --finetune-dir WORK/finetune_first \\
        --personal WORK/checkpoint/personal

with ``WORK`` the work directory ``personal.py`` prints. Writes
``benchmarks/results/personal_limits.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import RESULTS, clean  # also puts src/ on sys.path
from personal import noise_free_expression

SETS = ("heldout_individuals", "heldout_genes", "heldout_genes_all_individuals", "training")
MODELS = ("reference_only", "personal_finetuned")


def corr(a, b) -> float:
    """Pearson R of two vectors; NaN when either is constant."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def set_members(split: dict) -> dict[str, tuple[list[str], list[str]]]:
    """Genes and individuals of each evaluation set of personal fine-tuning (``finetune.json`` ``split``)."""
    everyone = split["train_individuals"] + split["heldout_individuals"]
    return {"heldout_individuals": (split["train_genes"], split["heldout_individuals"]),
            "heldout_genes": (split["heldout_genes"], split["heldout_individuals"]),
            "heldout_genes_all_individuals": (split["heldout_genes"], everyone),
            "training": (split["train_genes"], split["train_individuals"])}


def dosages(vcf: Path, alleles: dict[str, set[str]], samples: list[str]) -> dict[tuple[str, str], np.ndarray]:
    """ALT-allele copies per individual (0, 1, 2; missing alleles as REF) for the wanted (variant ID, ALT) pairs."""
    from seq2func.io.vcf import open_vcf

    out = {}
    with open_vcf(vcf) as vf:
        idx = [list(vf.header.samples).index(s) for s in samples]
        for rec in vf:
            if rec.id not in alleles:
                continue
            gts = [rec.samples[i]["GT"] for i in idx]
            for k, alt in enumerate(rec.alts or ()):
                if alt in alleles[rec.id]:
                    out[(rec.id, alt)] = np.array([sum(1 for a in gt if a == k + 1) for gt in gts], np.int64)
    return out


def truth_snv_effects(tm, fasta: Path, gene: dict, s: pd.DataFrame) -> np.ndarray:
    """The truth model's effect (``x(ALT) - x(REF)``, one haplotype, reference background) of each SNV of a gene.

    Parameters
    ----------
    tm
        The truth model's :class:`~seq2func.personal.predict.GenePredictor`.
    fasta
        The world's genome.
    gene
        The gene's ``truth.json`` row (``gene_id``, ``chrom``, ``tss``, ``strand``).
    s
        The gene's rows of ``snvs.tsv.gz`` (``pos`` 1-based, ``ref``, ``alt``).

    Returns
    -------
    numpy.ndarray
        One effect per row of ``s``.
    """
    from seq2func.personal.haplotypes import center_on
    from seq2func.personal.predict import gene_window
    from seq2func.prepare.genome import Fasta

    L = int(tm.seq_len)
    with Fasta(fasta) as fa:
        w = gene_window(gene["gene_id"], gene["chrom"], int(gene["tss"]), gene["strand"], L, fa.length(gene["chrom"]))
        window = fa.fetch_text(gene["chrom"], w.start - 1, w.end).upper()
    seqs = [center_on(window, w.ref_offset, L)]
    for pos, ref, alt in zip(s["pos"], s["ref"], s["alt"]):
        i = int(pos) - w.start
        if window[i] != str(ref).upper():
            raise ValueError(f"{gene['gene_id']}: genome has {window[i]} at {gene['chrom']}:{pos}, snvs.tsv.gz says {ref}")
        seqs.append(center_on(window[:i] + str(alt) + window[i + 1:], w.ref_offset, L))
    v = np.asarray(tm.predict(seqs), float).reshape(-1)
    return v[1:] - v[0]


def base_model(world: Path, personal: Path, noise_free: pd.DataFrame, h2: dict, min_h2: float, threads: int) -> dict:
    """The base checkpoint's predictions and per-SNV effects against the truth model's (see the module docstring)."""
    import torch  # deferred: only this part runs a model

    from seq2func.personal.benchmark import truth_model
    from seq2func.personal.predict import load_predictor

    torch.set_num_threads(threads)
    truth = json.loads((world / "truth.json").read_text())
    cols = truth["genes"]["columns"]
    gmeta = {r[0]: dict(zip(cols, r)) for r in truth["genes"]["rows"]}
    pred = pd.read_csv(personal / "predictions.tsv", sep="\t", dtype={"gene_id": str}).set_index("gene_id")
    samples = [c for c in pred.columns if c != "reference"]
    snvs = pd.read_csv(personal / "snvs.tsv.gz", sep="\t", dtype={"gene_id": str, "variant_id": str})
    snvs = snvs[snvs["ism_computed"].astype(str).str.lower().isin(["true", "1"])]
    wanted: dict[str, set[str]] = {}
    for vid, alt in zip(snvs["variant_id"], snvs["alt"]):
        wanted.setdefault(vid, set()).add(alt)
    dose = dosages(world / "cohort.vcf.gz", wanted, samples)
    tm, _ = load_predictor(model=truth_model(world), device="cpu", batch_size=64, rf_dedup=False)
    rows, t0 = [], time.time()
    for gid, s in snvs.groupby("gene_id"):
        if gid not in pred.index or gid not in noise_free.index:
            continue
        p = pred.loc[gid, samples].to_numpy(float)
        tp = noise_free.loc[gid, samples].to_numpy(float)
        keys = list(zip(s["variant_id"], s["alt"]))
        d = np.array([dose[k] for k in keys], float)  # SNVs x individuals
        ism = s["ism_reference"].to_numpy(float)
        delta = truth_snv_effects(tm, world / "genome.fa", gmeta[gid], s)
        has = np.abs(delta) > 1e-9
        ge, gz = ism[has] @ d[has], ism[~has] @ d[~has]
        ve, vz = float(np.var(ge)), float(np.var(gz))
        rows.append({"gene_id": gid, "h2": h2[gid], "genetic_variance": h2[gid] > min_h2, "n_snvs": int(len(s)),
                     "n_snvs_with_effect": int(has.sum()), "accuracy": corr(p, tp), "prediction_sd": float(np.std(p)),
                     "prediction_mean": float(np.mean(p)), "effect_r": corr(ism[has], delta[has]) if has.sum() > 2 else float("nan"),
                     "sign_agreement": float(np.mean(np.sign(ism[has]) == np.sign(delta[has]))) if has.any() else float("nan"),
                     "spurious_variance_share": vz / (ve + vz) if ve + vz > 0 else float("nan")})
    t = pd.DataFrame(rows)
    t["relative_sd"] = t["prediction_sd"] / t["prediction_mean"].abs()
    v, nv = t[t["genetic_variance"]], t[~t["genetic_variance"]]
    return {
        "n_genes_with_genetic_variance": int(len(v)), "n_genes_without": int(len(nv)),
        "mean_accuracy": float(v["accuracy"].mean()), "median_accuracy": float(v["accuracy"].median()),
        "mean_effect_r": float(v["effect_r"].mean()), "mean_sign_agreement": float(v["sign_agreement"].mean()),
        "mean_spurious_variance_share": float(v["spurious_variance_share"].mean()),
        "relative_sd_with_genetic_variance": float(v["relative_sd"].median()),
        "relative_sd_without_genetic_variance": float(nv["relative_sd"].median()),
        "n_snvs_with_true_effect": int(t["n_snvs_with_effect"].sum()), "n_snvs": int(t["n_snvs"].sum()),
        "truth_ism_seconds": round(time.time() - t0, 1), "genes": t.to_dict(orient="records"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", type=Path, required=True)
    ap.add_argument("--finetune-dir", type=Path, required=True, help="personal fine-tuning output (finetune.json, genes.tsv)")
    ap.add_argument("--personal", type=Path, default=None, help="the base checkpoint's merged PERSONAL directory")
    ap.add_argument("--min-h2", type=float, default=1e-6, help="h2_personal above this: the gene has genetic variance")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULTS / "personal_limits.json")
    args = ap.parse_args()
    t0 = time.time()

    truth = json.loads((args.world / "truth.json").read_text())
    cols = truth["genes"]["columns"]
    h2 = {r[0]: float(r[cols.index("h2_personal")]) for r in truth["genes"]["rows"]}
    ft = json.loads((args.finetune_dir / "finetune.json").read_text())
    genes = pd.read_csv(args.finetune_dir / "genes.tsv", sep="\t", dtype={"gene_id": str})
    sig_by = {}
    for name, (gids, _) in set_members(ft["split"]).items():
        has = {g: h2[g] > args.min_h2 for g in gids}
        sig_by[name] = {}
        for m in MODELS:
            t = genes[(genes["set"] == name) & (genes["model"] == m)]
            sig = t[t["significant"].astype(str).str.lower() == "true"]
            w = sig["gene_id"].map(has)
            sig_by[name][m] = {
                "with_genetic_variance": {"n_significant": int(w.sum()), "n_negative": int((w & (sig["r"] < 0)).sum())},
                "without_genetic_variance": {"n_significant": int((~w).sum()), "n_negative": int((~w & (sig["r"] < 0)).sum())},
                "negative_genes": [{"gene_id": g, "r": float(r), "h2": h2[g]} for g, r in zip(sig["gene_id"], sig["r"]) if r < 0]}

    result = {"benchmark": "personal_limits", "world": str(args.world), "finetune_dir": str(args.finetune_dir),
              "min_h2": args.min_h2, "finetune_params": ft["params"], "significant_by_genetic_variance": sig_by}
    if args.personal is not None:
        chroms = sorted(set(pd.read_csv(args.personal / "genes.tsv", sep="\t")["chrom"].astype(str)))
        b = base_model(args.world, args.personal, noise_free_expression(args.world, chroms), h2, args.min_h2, args.threads)
        result["base_model"] = b | {"personal": str(args.personal)}
    result["wall_s"] = round(time.time() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(clean(result), indent=2) + "\n")
    show = json.loads(json.dumps(clean({"significant_by_genetic_variance": result["significant_by_genetic_variance"]})))
    for v in show["significant_by_genetic_variance"].values():
        for m in v.values():
            m.pop("negative_genes")
    print(json.dumps(show, indent=1))
    if "base_model" in result:
        print(json.dumps({k: v for k, v in result["base_model"].items() if k != "genes"}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
