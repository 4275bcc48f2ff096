#!/usr/bin/env python3
"""Causal-variant expression effects as PERSONAL's base models see them: what limits personal fine-tuning.

PERSONAL predicts each haplotype as the model's CAGE at the TSS bins of a TSS-centred window
(:class:`seq2func.personal.predict.GenePredictor`). Its wrong-sign genes come from variants whose
effect the model gets backwards. This benchmark measures that directly, without the cohort: for
every causal SNV-gene pair of a simulated world (``truth.json`` ``variant_gene_effects``: the
simulator's own effect of the ALT allele on the gene's log2 expression, on the reference
background) on ``--chroms``, the gene's window is predicted with the REF and with the ALT base,
and ``delta = log2(alt + 1) - log2(ref + 1)`` is compared with the true effect:

* ``sign_agreement``: share of pairs with ``|true effect| >= --min-effect`` whose delta has the
  true sign (0.5 = chance);
* ``pearson_r`` / ``spearman_r``: delta against the true effect over all SNV pairs.

Every checkpoint (``--checkpoints label=path,...``) runs with and without reverse-complement
averaging (``rc``); the simulator's truth model (:func:`seq2func.personal.benchmark.truth_model`)
runs as the oracle: it must agree on every sign. Indel pairs are counted and left out (their
windows shift; PERSONAL handles them through haplotypes). The recorded run (see benchmarks/README.md)::

    python benchmarks/personal_effects.py --world DIR/world --chroms chr2,chr3 --checkpoints \\
        small_10pct_gradual_unfreeze=DIR/finetune/neuron/gradual_unfreeze/model.pt,...,\\
        small_all_data_scratch_30_epochs=FT/finetune/neuron/scratch/model.pt

with ``DIR`` a ``benchmarks/train.py --keep --workdir DIR`` run and ``FT`` one of
``benchmarks/train_finetune.py --workdir FT --checkpoint DIR/pretrain/model.pt --target-fraction 1
--cell-types neuron --strategies scratch --ft-epochs 30 --keep`` (labels and paths in the JSON).
Writes ``benchmarks/results/personal_effects.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _common import RESULTS, clean, load_avg  # also puts src/ on sys.path
from scipy.stats import pearsonr, spearmanr


def causal_snv_pairs(world: Path, chroms: list[str]) -> tuple[list[dict], int]:
    """The world's causal variant-gene pairs on ``chroms`` (SNVs), and the number of indel pairs left out.

    Parameters
    ----------
    world
        A simulated world directory.
    chroms
        Chromosomes to keep (the genes' chromosomes).

    Returns
    -------
    tuple of (list of dict, int)
        Pairs with ``variant_id``, ``gene_id``, ``chrom``, ``tss`` (0-based), ``strand``, ``pos``
        (1-based), ``ref``, ``alt`` and ``effect_log2``; and the count of indel pairs skipped.
    """
    from seq2func.io.vcf import open_vcf

    truth = json.loads((world / "truth.json").read_text())
    cols = truth["genes"]["columns"]
    genes = {r[0]: dict(zip(cols, r)) for r in truth["genes"]["rows"]}
    wanted = {v for v, g, _, _ in truth["variant_gene_effects"]["rows"] if genes[g]["chrom"] in chroms}
    sites = {}
    with open_vcf(world / "cohort.vcf.gz") as vf:
        for rec in vf:
            if rec.id in wanted:
                sites[rec.id] = (rec.chrom, rec.pos, rec.ref)
    pairs, n_indel = [], 0
    for vid, gid, alt, eff in truth["variant_gene_effects"]["rows"]:
        if vid not in wanted:
            continue
        g = genes[gid]
        chrom, pos, ref = sites[vid]
        if len(ref) != 1 or len(alt) != 1:
            n_indel += 1
            continue
        pairs.append(dict(variant_id=vid, gene_id=gid, chrom=chrom, tss=int(g["tss"]), strand=g["strand"], pos=int(pos),
                          ref=ref, alt=alt, effect_log2=float(eff)))
    return pairs, n_indel


def pair_inputs(pairs: list[dict], fasta: Path, seq_len: int) -> list[str]:
    """REF and ALT model inputs of each pair: ``seq_len`` bp centred on the gene's TSS
    (:func:`seq2func.personal.predict.gene_window` cut by :func:`seq2func.personal.haplotypes.center_on`,
    as PERSONAL builds a haplotype's input; N beyond the chromosome), REF then ALT.

    Parameters
    ----------
    pairs
        From :func:`causal_snv_pairs`.
    fasta
        The world's genome.
    seq_len
        Model input length.

    Returns
    -------
    list of str
        ``2 * len(pairs)`` sequences.
    """
    from seq2func.personal.haplotypes import center_on
    from seq2func.personal.predict import gene_window
    from seq2func.prepare.genome import Fasta

    out = []
    with Fasta(fasta) as fa:
        for p in pairs:
            w = gene_window(p["gene_id"], p["chrom"], p["tss"], p["strand"], seq_len, fa.length(p["chrom"]))
            window = fa.fetch_text(p["chrom"], w.start - 1, w.end).upper()
            i = p["pos"] - w.start
            if not 0 <= i < len(window) or abs(i - w.ref_offset) >= seq_len // 2:
                raise ValueError(f"{p['variant_id']}: {p['chrom']}:{p['pos']} lies outside the {seq_len} bp window of {p['gene_id']}")
            if window[i] != p["ref"].upper():
                raise ValueError(f"{p['variant_id']}: genome has {window[i]} at {p['chrom']}:{p['pos']}, truth.json says {p['ref']}")
            out += [center_on(window, w.ref_offset, seq_len), center_on(window[:i] + p["alt"] + window[i + 1:], w.ref_offset, seq_len)]
    return out


def agreement(delta: np.ndarray, effect: np.ndarray, min_effect: float) -> dict:
    """Sign agreement (pairs with ``|effect| >= min_effect``) and correlations of ``delta`` with ``effect``.

    Parameters
    ----------
    delta
        Predicted effects.
    effect
        True effects, same shape.
    min_effect
        Smallest ``|effect|`` counted in ``sign_agreement``.

    Returns
    -------
    dict
        ``n``, ``n_signed``, ``sign_agreement``, ``sign_agreement_strongest_half``, ``pearson_r``,
        ``spearman_r``, ``mean_abs_delta``.
    """
    big = np.abs(effect) >= min_effect
    strong = np.abs(effect) >= np.median(np.abs(effect))
    agree = np.sign(delta) == np.sign(effect)
    return {"n": int(len(effect)), "n_signed": int(big.sum()), "sign_agreement": float(agree[big].mean()),
            "sign_agreement_strongest_half": float(agree[strong].mean()), "pearson_r": float(pearsonr(delta, effect)[0]),
            "spearman_r": float(spearmanr(delta, effect)[0]), "mean_abs_delta": float(np.mean(np.abs(delta)))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--world", type=Path, required=True, help="a simulated world (benchmarks/train.py --keep: DIR/world)")
    ap.add_argument("--checkpoints", required=True, help="comma-separated label=path of seq2func checkpoints")
    ap.add_argument("--cell-type", default=None, help="CAGE track's cell type (default: the world's personal cell type)")
    ap.add_argument("--chroms", default="chr2,chr3", help="genes' chromosomes (default: validation and test)")
    ap.add_argument("--tss-bins", type=int, default=1, help="bins each side of the TSS bin, as PERSONAL's --tss-bins")
    ap.add_argument("--min-effect", type=float, default=0.1, help="smallest |true effect| (log2) in sign_agreement")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULTS / "personal_effects.json")
    args = ap.parse_args(argv)

    import torch

    from seq2func.personal.benchmark import truth_model
    from seq2func.personal.predict import load_predictor
    from seq2func.train.checkpoint import file_sha256, weights_sha256

    torch.set_num_threads(args.threads)
    t_all = time.time()
    truth = json.loads((args.world / "truth.json").read_text())
    cell_type = args.cell_type or truth["expression_model"]["personal_cell_type"]
    chroms = [c for c in args.chroms.split(",") if c]
    pairs, n_indel = causal_snv_pairs(args.world, chroms)
    effect = np.array([p["effect_log2"] for p in pairs])
    result = {"benchmark": "personal_effects", "world": str(args.world), "cell_type": cell_type, "chromosomes": chroms,
              "tss_bins": args.tss_bins, "min_effect": args.min_effect, "n_pairs": len(pairs), "n_indel_pairs_skipped": n_indel,
              "threads": args.threads, "torch": torch.__version__, "load_average_at_start": load_avg(), "models": {}}

    inputs: dict[int, list[str]] = {}  # by model input length: the same windows for every model of that length

    def measure(label: str, pred, extra: dict) -> dict:
        t0 = time.time()
        L = int(pred.seq_len)
        if L not in inputs:
            inputs[L] = pair_inputs(pairs, args.world / "genome.fa", L)
        v = pred.predict(inputs[L])
        delta = np.log2(np.maximum(v[1::2], 0) + 1) - np.log2(np.maximum(v[0::2], 0) + 1)
        res = {**extra, **agreement(delta, effect, args.min_effect), "seconds": round(time.time() - t0, 2)}
        print(label, json.dumps(res), flush=True)
        return res

    pred, _ = load_predictor(model=truth_model(args.world, cell_type), device="cpu", batch_size=64, rf_dedup=False)
    result["models"]["truth"] = measure("truth", pred, {"rc": False})
    for item in filter(None, args.checkpoints.split(",")):
        label, path = item.split("=", 1)
        sha, wsha = file_sha256(path), weights_sha256(path)
        for rc in (False, True):
            pred, info = load_predictor(path, cell_type=cell_type, device="cpu", rc=rc, tss_bins=args.tss_bins, rf_dedup=False)
            name = f"{label}{'_rc' if rc else ''}"
            result["models"][name] = measure(name, pred, {"checkpoint": path, "sha256": sha, "weights_sha256": wsha, "rc": rc,
                                                          "model": info.get("model"), "tracks": info.get("tracks")})
    result["wall_s"] = round(time.time() - t_all, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(clean(result), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
