"""SCORE_VARIANTS as the pipeline runs it: one chunk per model and chromosome, then a merge per model.

:func:`score_chunk` (``score_variants.py chunk``, Nextflow process SCORE_VARIANTS, one task per
checkpoint x chromosome) reads the variants (:func:`~seq2func.variants.records.read_variants`),
checks REF against the FASTA (``--ref-mismatch``), scores the unique variants of its chromosome
with the checkpoint's model (:func:`~seq2func.variants.scores.score_variants`) and, with
``--null N``, its share of the null draws (:mod:`seq2func.variants.null`). It writes a chunk
directory: ``scores.tsv.gz`` (one row per unique variant ``key`` x ``track_id``), ``null.tsv.gz``
(the same for null draws) and ``chunk.json``.

:func:`merge_chunks` (``score_variants.py merge``, SCORE_VARIANTS_MERGE, one task per model) pools
the chunks, adds empirical p-values, percentiles and BH q-values against the pooled null, and
writes ``results/variants/<model>/``: ``scores.tsv`` and ``scores.parquet`` (one row per input
record x ALT x track), ``scores.vcf.gz`` (+ ``.tbi``: the input records with INFO fields per track
and score), ``variants.tsv.gz`` (one row per unique variant x track, what the benchmark reads) and
``summary.json``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from seq2func.errors import InputError
from seq2func.io.atomic import atomic_dir, write_json
from seq2func.io.fasta import contig_lengths
from seq2func.prepare.genome import Fasta
from seq2func.variants import baselines
from seq2func.variants import benchmark as vb
from seq2func.variants.null import NULL_KINDS, add_calibration, calibration, random_snvs, shuffled_null_scores
from seq2func.variants.output import write_summary, write_table, write_vcf
from seq2func.variants.records import _genome, check_ref, normalise, read_variants
from seq2func.variants.scores import default_scores, score_variants

log = logging.getLogger(__name__)

CHUNK_FORMAT = "seq2func-variant-chunk/1"
REF_MISMATCH_POLICIES = ("error", "skip", "flip")


def _variant_set(vcf, fasta, ref_mismatch: str):
    if ref_mismatch not in REF_MISMATCH_POLICIES:
        raise InputError("--ref-mismatch", ref_mismatch, f"must be one of {', '.join(REF_MISMATCH_POLICIES)}")
    vs = read_variants(vcf, fasta)
    return check_ref(vs, fasta, ref_mismatch)


def _load(checkpoint, device: str, require_gpu: bool, batch_size: int):
    # deferred: seq2func.predict and seq2func.train import torch; merge and benchmark never load a model
    from seq2func.predict import Predictor, rc_permutation
    from seq2func.train.checkpoint import model_from_checkpoint  # deferred: imports torch
    from seq2func.train.device import resolve_device  # deferred: imports torch

    dev = resolve_device(device, require_gpu)
    model, ck = model_from_checkpoint(checkpoint, device=dev)
    tracks = list(ck.get("tracks") or [])
    n_out = len(tracks) or int((getattr(model, "config", {}) or {}).get("n_tracks", 1))
    pred = Predictor(model, device=dev, batch_size=batch_size, bf16=dev.type == "cuda",
                     rc_perm=rc_permutation(tracks, n_out))
    return pred, ck, tracks


def score_chunk(
    checkpoint: str | os.PathLike,
    vcf: str | os.PathLike,
    fasta: str | os.PathLike,
    chrom: str,
    out: str | os.PathLike,
    *,
    label: str = "model",
    scores: Sequence[str] | None = None,
    shifts: Sequence[int] = (0,),
    rc: bool = True,
    ref_mismatch: str = "error",
    null: int = 0,
    null_kind: str = "random",
    seed: int = 0,
    share_reference: bool = False,
    device: str = "auto",
    require_gpu: bool = False,
    batch_size: int = 32,
) -> dict:
    """Score the variants of ``chrom`` with ``checkpoint`` into the chunk directory ``out``.

    ``null``: null draws for the whole run; this chunk draws its share, ``ceil(null x its unique
    variants / all unique variants)``. Returns ``chunk.json``.

    Parameters
    ----------
    checkpoint : str or os.PathLike
        The model checkpoint.
    vcf : str or os.PathLike
        The variants: a VCF/BCF or a ``chrom pos ref alt [id]`` TSV (all chromosomes).
    fasta : str or os.PathLike
        The reference genome FASTA.
    chrom : str
        The chromosome this chunk scores (FASTA spelling).
    out : str or os.PathLike
        The chunk directory to write (replaced atomically).
    label : str, optional
        The model's name in the outputs.
    scores : sequence of str, optional
        Score names; ``None``: every score of the model's output kind.
    shifts : sequence of int, optional
        Window shifts (bp) scored separately and averaged.
    rc : bool, optional
        Also score the reverse complement and average.
    ref_mismatch : str, optional
        What to do with a REF allele that differs from the FASTA: ``error``, ``skip`` or ``flip``.
    null : int, optional
        Null draws for the whole run (0: no null).
    null_kind : str, optional
        ``random`` (random genome SNVs) or ``shuffle`` (dinucleotide-shuffled variant windows).
    seed : int, optional
        Seed of the null draws.
    share_reference : bool, optional
        One reference prediction per cluster of nearby variants.
    device : str, optional
        ``auto``, ``cpu``, ``cuda`` or ``cuda:<i>``.
    require_gpu : bool, optional
        Fail instead of falling back to the CPU when no GPU is available.
    batch_size : int, optional
        Windows per forward pass.

    Returns
    -------
    dict
        The contents of ``chunk.json`` (parameters, counts, forward passes, seconds).

    Raises
    ------
    InputError
        An unknown ``null_kind`` or ``ref_mismatch``, unreadable variants, or REF mismatches under ``error``.
    """
    t0 = time.perf_counter()
    if null_kind not in NULL_KINDS:
        raise InputError("--null-kind", null_kind, f"must be one of {', '.join(NULL_KINDS)}")
    pred, ck, tracks = _load(checkpoint, device, require_gpu, batch_size)
    vs = _variant_set(vcf, fasta, ref_mismatch)
    allv = vs.variants
    v = allv[allv["chrom"] == chrom].reset_index(drop=True)
    names = list(scores) if scores else list(default_scores(pred.kind))
    sc = score_variants(pred, v, fasta, tracks, scores=names, rc=rc, shifts=tuple(int(s) for s in shifts),
                        share_reference=share_reference)
    counts = dict(sc.attrs.get("counts", {}))
    n_null = int(math.ceil(null * len(v) / len(allv))) if null and len(allv) and len(v) else 0
    nl = pd.DataFrame(columns=["key", "track_id", *names])
    if n_null:
        if null_kind == "random":
            fa = Fasta(fasta)
            try:
                nv = random_snvs(fa, chrom, n_null, seed=seed)
            finally:
                fa.close()
            nl = score_variants(pred, nv, fasta, tracks, scores=names, rc=rc, shifts=tuple(int(s) for s in shifts))
        else:
            nl = shuffled_null_scores(pred, v, fasta, tracks, n_null, scores=names, seed=seed, rc=rc)
    meta = {
        "format": CHUNK_FORMAT, "label": label, "chrom": chrom, "checkpoint": str(Path(checkpoint).resolve()),
        "model": (ck.get("model_config") or {}).get("name"), "output_kind": pred.kind,
        "tracks": [{k: t.get(k) for k in ("track_id", "cell_type", "assay", "transform", "role")} for t in tracks],
        "scores": names, "params": {"shifts": [int(s) for s in shifts], "rc": bool(rc), "ref_mismatch": ref_mismatch,
                                    "null": int(null), "null_kind": null_kind, "seed": int(seed),
                                    "share_reference": bool(share_reference)},
        "variants": int(len(v)), "variants_all_chromosomes": int(len(allv)), "null_draws": int(n_null),
        "input_counts": vs.counts, "scoring": counts, "forward_passes": int(pred.n_forward),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    with atomic_dir(out) as tmp:
        sc.attrs = {}
        sc.to_csv(tmp / "scores.tsv.gz", sep="\t", index=False, na_rep="NA", compression={"method": "gzip", "mtime": 0})
        nl.to_csv(tmp / "null.tsv.gz", sep="\t", index=False, na_rep="NA", compression={"method": "gzip", "mtime": 0})
        write_json(tmp / "chunk.json", meta)
    log.info("%s %s: %d variants, %d null draws, %d forward passes (%.1f s)", label, chrom, len(v), n_null,
             pred.n_forward, meta["seconds"])
    return meta


def _read_chunk(d: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    try:
        meta = json.loads((d / "chunk.json").read_text())
    except (OSError, ValueError) as err:
        raise InputError(d, None, f"not a SCORE_VARIANTS chunk: {err}") from None
    if meta.get("format") != CHUNK_FORMAT:
        raise InputError(d / "chunk.json", "format", f"expected {CHUNK_FORMAT}")
    kw = dict(sep="\t", keep_default_na=True, na_values=["NA"], dtype={"key": str, "track_id": str})
    return meta, pd.read_csv(d / "scores.tsv.gz", **kw), pd.read_csv(d / "null.tsv.gz", **kw)


def merge_chunks(chunks: Sequence[str | os.PathLike], vcf: str | os.PathLike, fasta: str | os.PathLike,
                 out: str | os.PathLike, *, ref_mismatch: str = "error", seed: int = 0) -> dict:
    """Pool one model's chunks into ``out`` (see the module doc); returns ``summary.json``.

    Parameters
    ----------
    chunks : sequence of str or os.PathLike
        The model's chunk directories (:func:`score_chunk`), one per chromosome.
    vcf : str or os.PathLike
        The variants the chunks scored (VCF/BCF or TSV).
    fasta : str or os.PathLike
        The reference genome FASTA.
    out : str or os.PathLike
        The output directory (replaced atomically).
    ref_mismatch : str, optional
        The chunks' REF mismatch policy: ``error``, ``skip`` or ``flip``.
    seed : int, optional
        Seed of the null's calibration split.

    Returns
    -------
    dict
        The contents of ``summary.json``.

    Raises
    ------
    InputError
        No chunks, chunks that disagree (label, checkpoint, scores, parameters), a chromosome scored twice, or
        variants on a chromosome no chunk scored.
    """
    t0 = time.perf_counter()
    loaded = [_read_chunk(Path(c)) for c in chunks]
    if not loaded:
        raise InputError("--chunks", None, "no chunks given")
    metas = [m for m, _, _ in loaded]
    ref = metas[0]
    for m in metas[1:]:
        for k in ("label", "checkpoint", "scores", "params"):
            if m[k] != ref[k]:
                raise InputError(Path(chunks[metas.index(m)]) / "chunk.json", k, "differs between the chunks of one model")
    seen = [m["chrom"] for m in metas]
    dup = sorted({c for c in seen if seen.count(c) > 1})
    if dup:
        raise InputError("--chunks", dup[0], "chromosome scored twice")
    names = list(ref["scores"])
    scores = pd.concat([s for _, s, _ in loaded], ignore_index=True)
    null = pd.concat([n for _, _, n in loaded if len(n)], ignore_index=True) if any(len(n) for _, _, n in loaded) \
        else pd.DataFrame(columns=["key", "track_id", *names])
    cal = None
    if len(null):
        scores = add_calibration(scores, null, names)
        cal = calibration(null, names, seed=seed)
    vs = _variant_set(vcf, fasta, ref_mismatch)
    missing = sorted(set(vs.variants["chrom"]) - set(seen))
    if missing:
        raise InputError("--chunks", ", ".join(missing[:5]), "variants on chromosomes no chunk scored")
    track_ids = [t["track_id"] for t in ref["tracks"]] or sorted(scores["track_id"].unique())
    with atomic_dir(out) as tmp:
        table = write_table(scores, vs, tmp / "scores.tsv", tmp / "scores.parquet")
        vcf_cols = names + [f"{k}_{s}" for s in names for k in ("pvalue", "qvalue") if f"{k}_{s}" in scores.columns]
        info = write_vcf(scores, vs, vcf, tmp / "scores.vcf.gz", scores=vcf_cols, tracks=track_ids)
        scores.to_csv(tmp / "variants.tsv.gz", sep="\t", index=False, na_rep="NA",
                      compression={"method": "gzip", "mtime": 0})
        if len(null):
            null.to_csv(tmp / "null.tsv.gz", sep="\t", index=False, na_rep="NA", compression={"method": "gzip", "mtime": 0})
        per_track = {}
        for tid, g in scores.groupby("track_id", sort=False):
            per_track[tid] = {s: {"mean_abs": float(np.nanmean(np.abs(g[s]))) if g[s].notna().any() else None,
                                  "max_abs": float(np.nanmax(np.abs(g[s]))) if g[s].notna().any() else None}
                              for s in names}
            if len(null):
                for s in names:
                    q = g.get(f"qvalue_{s}")
                    per_track[tid][s]["n_q_below_0.05"] = int((q < 0.05).sum()) if q is not None else None
        summary = {
            "label": ref["label"], "checkpoint": ref["checkpoint"], "model": ref["model"], "output_kind": ref["output_kind"],
            "tracks": ref["tracks"], "scores": names, "params": ref["params"],
            "chromosomes": sorted(seen), "input": {"path": str(vcf), **vs.counts},
            "variants_scored": int(scores["key"].nunique()), "rows": int(len(table)),
            "null_draws": int(null["key"].nunique()) if len(null) else 0, "null_calibration": cal,
            "forward_passes": int(sum(m["forward_passes"] for m in metas)),
            "chunk_seconds": round(sum(m["seconds"] for m in metas), 3),
            "per_track": per_track, "vcf_info_fields": {k: list(v) for k, v in (info or {}).items()},
            "merge_seconds": round(time.perf_counter() - t0, 3),
        }
        write_summary(tmp / "summary.json", **summary)
    return summary


def run_benchmark(
    runs: dict[str, str | os.PathLike],
    labels: str | os.PathLike,
    fasta: str | os.PathLike,
    out: str | os.PathLike,
    *,
    vcf: str | os.PathLike | None = None,
    conservation: str | os.PathLike | None = None,
    score: str | None = None,
    assays: Sequence[str] | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> dict:
    """VARIANT_BENCHMARK: every model's scores (``runs``: label -> :func:`merge_chunks` output)
    against labelled variants, next to a random and a motif-disruption (JASPAR PWM) baseline.

    A model's score for a labelled cell type is the mean ``score`` (default ``SAD``, ``dlogit``
    for classifiers) over its tracks of that cell type (of ``assays``, when given), else over all
    its tracks (flagged ``agnostic``: e.g. the pretrained model on a target cell type). Fine-tuned
    models are the labels holding a ``/`` (``<cell_type>/<strategy>``). Writes the tables and
    figures of :func:`seq2func.variants.benchmark.plots` and ``benchmark.json`` into ``out``.

    Parameters
    ----------
    runs : dict of str to str or os.PathLike
        Model label -> its :func:`merge_chunks` output directory.
    labels : str or os.PathLike
        The labelled variants table (:func:`seq2func.variants.benchmark.read_labels`).
    fasta : str or os.PathLike
        The reference genome FASTA.
    out : str or os.PathLike
        The output directory (replaced atomically).
    vcf : str or os.PathLike, optional
        A VCF/BCF of allele frequencies (INFO ``AF``, else counted from GT) for the stratified metrics.
    conservation : str or os.PathLike, optional
        A conservation bigWig (e.g. GERP) for the stratified metrics.
    score : str, optional
        The score compared; ``None``: ``SAD``, ``dlogit`` for classifiers.
    assays : sequence of str, optional
        Only tracks of these assays count toward a cell type's score.
    n_boot : int, optional
        Bootstrap resamples for the confidence intervals.
    seed : int, optional
        Seed of the random baseline and the bootstrap.

    Returns
    -------
    dict
        The contents of ``benchmark.json`` (models, AUROCs, files written).

    Raises
    ------
    InputError
        No runs, a run that is not a SCORE_VARIANTS output, or a run without the ``score`` column.
    """
    t0 = time.perf_counter()
    if not runs:
        raise InputError("--run", None, "no scored models to benchmark")
    lengths = contig_lengths(fasta)
    lab = vb.read_labels(labels, lengths)
    # the labels' alleles normalised as the scored variants' were (trimmed, left-aligned: bcftools norm)
    g = _genome(str(fasta))
    try:
        lab["key"] = [f"{c}:{p}:{r}:{a}" for c, (p, r, a) in
                      ((c, normalise(g, c, int(p), r, a)) for c, p, r, a in zip(lab["chrom"], lab["pos"], lab["ref"], lab["alt"]))]
    finally:
        g.close()
    cell_types = sorted(lab["cell_type"].unique())
    models: dict[str, pd.DataFrame | pd.Series] = {}
    keys: set[str] = set()
    used_score = {}
    for name, d in runs.items():
        d = Path(d)
        try:
            summary = json.loads((d / "summary.json").read_text())
        except (OSError, ValueError) as err:
            raise InputError(d, None, f"not a SCORE_VARIANTS output (summary.json): {err}") from None
        table = pd.read_csv(d / "variants.tsv.gz", sep="\t", dtype={"key": str, "track_id": str}, na_values=["NA"])
        s = score or ("dlogit" if summary.get("output_kind") == "classification" else "SAD")
        if s not in table.columns:
            raise InputError(d / "variants.tsv.gz", None, f"no {s!r} column (scores: {', '.join(summary.get('scores', []))})")
        models[name] = vb.model_cell_type_scores(table, summary["tracks"], cell_types, s, assays=assays)
        used_score[name] = s
        keys |= set(table["key"])
    keys |= set(lab["key"])
    parts = pd.Series(sorted(keys)).str.split(":", n=3, expand=True)
    variants = pd.DataFrame({"chrom": parts[0], "pos": parts[1].astype(int), "ref": parts[2], "alt": parts[3],
                             "key": sorted(keys)})
    variants = variants[~variants["key"].str.startswith("null:")].reset_index(drop=True)
    models["baseline_random"] = baselines.random_scores(variants["key"], seed=seed)
    models["baseline_pwm"] = baselines.pwm_scores(fasta, variants)
    af = vb.allele_frequencies(vcf, variants["key"]) if vcf else None
    cons = vb.conservation_at(conservation, variants) if conservation else None
    finetuned = [n for n in runs if "/" in n]
    res = vb.benchmark(models, lab, af=af, conservation=cons, n_boot=n_boot, seed=seed, finetuned=finetuned)
    with atomic_dir(out) as tmp:
        files = vb.plots(res, tmp)
        auc = res["auroc"]
        summary = {
            "models": list(models), "finetuned": finetuned, "score": used_score, "cell_types": cell_types,
            "labels": {"path": str(labels), "rows": int(len(lab)), "positives": int((lab["label"] == 1).sum())},
            "auroc": {m: {r.cell_type: r.auroc for r in g.itertuples()} for m, g in auc.groupby("model", sort=False)},
            "mean_auroc": {m: float(g["auroc"].mean()) for m, g in auc.groupby("model", sort=False)},
            "files": sorted(Path(f).name for f in files),
            "seconds": round(time.perf_counter() - t0, 3),
        }
        write_json(tmp / "benchmark.json", summary)
    return summary
