"""INTERPRET as the pipeline runs it: one task per model, then a summary over the models.

:func:`interpret_model` (``interpret.py model``, process INTERPRET) explains one checkpoint:

1. **regions**: for every cell type the model has tracks of, the ``n`` test windows with the most
   signal of that cell type (:func:`~seq2func.interpret.regions.select_regions`), or a BED;
2. **attributions** of the cell type's track (accessibility-like first) on its regions: DeepLIFT/
   DeepSHAP with dinucleotide-shuffled references, or gradient x input
   (:func:`~seq2func.interpret.attribution.attributions`), with hypothetical contributions;
3. **motifs**: TF-MoDISco-lite on the hypothetical contributions of all the model's regions
   (:func:`~seq2func.interpret.motifs.run_modisco`); each pattern's attribution mass per cell type
   (the summed ``|contribution|`` of its seqlets in that cell type's regions, over all of the cell
   type's ``|contribution|``); first-layer filters turned into PWMs
   (:func:`~seq2func.interpret.filters.filter_pwms`); patterns and filters matched to JASPAR with
   Tomtom (:func:`~seq2func.interpret.motifs.tomtom_matches`);
4. **ISM**: exact fast in-silico mutagenesis (:func:`~seq2func.interpret.ism.ism`) of the central
   ``ism_bp`` of the first region of each cell type.

It writes ``results/interpret/<model>/``: ``regions.tsv``, ``attributions.npz``, ``patterns.tsv``,
``patterns.meme``, ``filters.tsv``, ``filters.meme``, ``logos/*.png``, ``ism.npz`` and
``summary.json``.

:func:`summarise` (``interpret.py summary``, INTERPRET_SUMMARY) joins the models: the
cell-type-specificity table and heatmap (attribution mass per matched TF and model/cell type;
per target cell type the TFs whose share rises most over the compendium cell types, and what the
fine-tuned model has that the pretrained one lacks) and, for the simulated world (``truth.json``),
``recovery.tsv``: each planted TF recovered or not (its own JASPAR ID or a matrix of the same TF
among the Tomtom matches, top 5 per pattern or filter, at q < 0.05), and the rank of each target
cell type's lineage TFs.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from seq2func.errors import InputError
from seq2func.interpret.attribution import attributions
from seq2func.interpret.filters import filter_pwms
from seq2func.interpret.ism import ism
from seq2func.interpret.motifs import (
    consensus,
    information_content,
    jaspar_motifs,
    logo_png,
    run_modisco,
    tomtom_matches,
    write_meme,
)
from seq2func.interpret.regions import select_regions
from seq2func.io.atomic import atomic_dir, write_json
from seq2func.prepare import open_dataset
from seq2func.prepare.dataset import one_hot
from seq2func.train.checkpoint import model_from_checkpoint
from seq2func.train.device import resolve_device

log = logging.getLogger(__name__)

ACCESSIBILITY = ("ATAC", "DNASE")
Q_MATCH = 0.05


def _track_column(tracks: Sequence[dict], cell_type: str) -> int:
    cols = [i for i, t in enumerate(tracks) if str(t.get("cell_type")) == cell_type]
    acc = [i for i in cols if str(tracks[i].get("assay", "")).upper().replace("-", "").startswith(ACCESSIBILITY)]
    return (acc or cols)[0]


def _tf_name(name: str) -> str:
    return str(name).upper()


MIN_COLUMN_IC = 0.25  # bits: flank columns below this are trimmed before matching
MIN_QUERY_WIDTH = 5
MIN_QUERY_IC = 3.0  # bits over the trimmed query
MIN_QUERY_MEAN_IC = 0.4  # bits per column of the trimmed query


def informative(pwm: np.ndarray, min_column_ic: float = MIN_COLUMN_IC) -> np.ndarray | None:
    """The PWM with uninformative flank columns trimmed, or None when what is left is too short or
    too flat to be matched (Tomtom gives near-uniform queries tiny p-values against long, flat
    database matrices such as the extended CTCF ones).

    Parameters
    ----------
    pwm : numpy.ndarray
        Probability matrix ``(4, w)``.
    min_column_ic : float, optional
        Information content (bits) below which a flank column is trimmed.

    Returns
    -------
    numpy.ndarray or None
        The trimmed ``(4, w')`` matrix, or ``None`` when it is narrower than ``MIN_QUERY_WIDTH`` columns or
        holds less than ``MIN_QUERY_IC`` bits in all or ``MIN_QUERY_MEAN_IC`` bits per column.
    """
    ic = information_content(pwm)
    keep = np.flatnonzero(ic >= min_column_ic)
    if keep.size == 0:
        return None
    trimmed = pwm[:, keep[0]:keep[-1] + 1]
    total = float(ic[keep[0]:keep[-1] + 1].sum())
    if trimmed.shape[1] < MIN_QUERY_WIDTH or total < MIN_QUERY_IC or total / trimmed.shape[1] < MIN_QUERY_MEAN_IC:
        return None
    return trimmed


def _load_model(checkpoint: str | os.PathLike, dataset: str | os.PathLike, device: str,
                require_gpu: bool) -> tuple:
    """Load the checkpoint and the dataset, and check that they go together.

    Parameters
    ----------
    checkpoint, dataset
        The checkpoint to explain and the prepared dataset of its windows.
    device, require_gpu
        Where to run (:func:`seq2func.train.device.resolve_device`).

    Returns
    -------
    tuple
        ``(device, model, checkpoint dict, track table, dataset)``.
    """
    dev = resolve_device(device, require_gpu)
    model, ck = model_from_checkpoint(checkpoint, device=dev)
    tracks = list(ck.get("tracks") or [])
    if not tracks:
        raise InputError(checkpoint, "tracks", "the checkpoint has no track table: nothing to explain per cell type")
    ds = open_dataset(dataset)
    if int(ck["dataset"].get("seq_length", ds.seq_length)) != ds.seq_length:
        raise InputError(checkpoint, "seq_length", f"the model was trained on {ck['dataset'].get('seq_length')}-bp windows, "
                                                   f"the dataset has {ds.seq_length}")
    return dev, model, ck, tracks, ds


def _cell_types(tracks: Sequence[dict], ds, dataset: str | os.PathLike) -> list[str]:
    """The model's cell types that the dataset has, in track order.

    Parameters
    ----------
    tracks
        The checkpoint's track table.
    ds
        The prepared dataset.
    dataset
        Its path (for the error).

    Returns
    -------
    list of str
        The cell types to explain (an :class:`InputError` when none).
    """
    cell_types = list(dict.fromkeys(str(t.get("cell_type")) for t in tracks))
    known = set(ds.tracks["cell_type"])
    cell_types = [c for c in cell_types if c in known]
    if not cell_types:
        raise InputError(dataset, "tracks", f"none of the model's cell types is in the dataset ({', '.join(sorted(known)[:5])})")
    return cell_types


def _ism_first_region(model, codes: np.ndarray, table: pd.DataFrame, track: dict, col: int, ism_bp: int,
                      dev) -> dict:
    """ISM of the central ``ism_bp`` of a cell type's first region.

    Parameters
    ----------
    model
        The model.
    codes
        The cell type's regions, base codes ``(N, L)``.
    table
        The regions (``chrom``, ``start``).
    track
        The track explained (its ``track_id``).
    col
        Its column in the model's output.
    ism_bp
        Bases mutated.
    dev
        The device.

    Returns
    -------
    dict
        ``values`` (``(ism_bp, 4)`` float32), ``start``, ``chrom``, ``codes`` and ``track``.
    """
    L = codes.shape[1]
    a = max(0, L // 2 - ism_bp // 2)
    return {"values": ism(model, codes[:1], positions=slice(a, min(L, a + ism_bp)), tracks=[col],
                          device=dev)[0, :, :, 0].astype(np.float32),
            "start": int(table["start"].iloc[0]) + a, "chrom": str(table["chrom"].iloc[0]),
            "codes": codes[0, a:a + ism_bp], "track": track["track_id"]}


def _explain_regions(model, ds, tracks: Sequence[dict], cell_types: Sequence[str], dev, timing: dict, *,
                     dataset: str | os.PathLike, label: str, n: int, split: str,
                     regions_bed: str | os.PathLike | None, fasta: str | os.PathLike | None, method: str,
                     n_shuffles: int, seed: int, ism_bp: int) -> tuple:
    """Regions, attributions and ISM of every cell type (steps 1, 2 and 4 of the module doc).

    Parameters
    ----------
    model, ds, tracks
        The model, the prepared dataset and the checkpoint's track table.
    cell_types
        The cell types to explain.
    dev
        The device.
    timing
        Seconds per step; ``attributions`` and ``ism`` are added to.
    dataset, label, n, split, regions_bed, fasta, method, n_shuffles, seed, ism_bp
        As :func:`interpret_model`'s.

    Returns
    -------
    tuple
        ``(regions, codes, attributions, hypothetical, one-hot, cell type per region, ISM per cell
        type)``; the arrays stacked over the cell types.
    """
    tables, codes_all, hyp_all, attr_all, ct_of = [], [], [], [], []
    ism_out = {}
    for ct in cell_types:
        table, codes = select_regions(ds, cell_types=[ct], n=n, split=split, bed=regions_bed, fasta=fasta)
        if len(table) == 0:
            log.warning("%s: no %s windows for %s", label, split, ct)
            continue
        col = _track_column(tracks, ct)
        t = time.perf_counter()
        attr, hyp = attributions(model, codes, track=col, method=method, n_shuffles=n_shuffles, seed=seed,
                                 device=dev, convergence="warn")
        timing["attributions"] += time.perf_counter() - t
        table = table.assign(model_track=tracks[col]["track_id"])
        tables.append(table)
        codes_all.append(codes)
        attr_all.append(attr)
        hyp_all.append(hyp)
        ct_of += [ct] * len(table)
        if ism_bp > 0:
            t = time.perf_counter()
            ism_out[ct] = _ism_first_region(model, codes, table, tracks[col], col, ism_bp, dev)
            timing["ism"] += time.perf_counter() - t
    if not tables:
        raise InputError(dataset, f"split {split}", "no windows to explain")
    regions = pd.concat(tables, ignore_index=True)
    codes = np.concatenate(codes_all)
    attr = np.concatenate(attr_all)
    hyp = np.concatenate(hyp_all)
    onehot = one_hot(torch.from_numpy(codes)).numpy()
    ct_arr = np.array(ct_of)
    return regions, codes, attr, hyp, onehot, ct_arr, ism_out


def _find_patterns(onehot: np.ndarray, hyp: np.ndarray, label: str, max_seqlets: int, seed: int,
                   timing: dict) -> list:
    """TF-MoDISco-lite patterns of the hypothetical contributions (none when it finds none).

    Parameters
    ----------
    onehot, hyp
        One-hot sequences and hypothetical contributions, ``(N, 4, L)``.
    label
        The model's label (for the warning).
    max_seqlets, seed
        As :func:`seq2func.interpret.motifs.run_modisco`'s.
    timing
        Seconds per step; ``modisco`` is added to.

    Returns
    -------
    list
        The patterns.
    """
    t = time.perf_counter()
    try:
        patterns = run_modisco(onehot, hyp, max_seqlets=max_seqlets, seed=seed)
    except (ValueError, RuntimeError, IndexError) as err:  # too few seqlets for a metacluster
        log.warning("%s: MoDISco found no patterns (%s)", label, str(err).splitlines()[0] if str(err) else type(err).__name__)
        patterns = []
    timing["modisco"] += time.perf_counter() - t
    return patterns


def _pattern_mass(patterns: Sequence, attr: np.ndarray, ct_arr: np.ndarray,
                  cell_types: Sequence[str]) -> tuple[list[dict], list[dict]]:
    """Each pattern's description and its attribution mass per cell type.

    Parameters
    ----------
    patterns
        The MoDISco patterns.
    attr
        Contributions ``(N, 4, L)``.
    ct_arr
        The cell type of each region.
    cell_types
        The cell types explained.

    Returns
    -------
    prow : list of dict
        Per pattern: name, metacluster, seqlets, width, consensus and information content.
    mass_rows : list of dict
        Per pattern and cell type: the summed ``|contribution|`` of its seqlets (``mass``) and its
        share of all of the cell type's ``|contribution|``.
    """
    abs_attr = np.abs(attr).sum(axis=1)  # (N, L)
    total = {ct: float(abs_attr[ct_arr == ct].sum()) or 1.0 for ct in cell_types}
    prow, mass_rows = [], []
    for p in patterns:
        mass = {ct: 0.0 for ct in cell_types}
        for s in p.seqlets.itertuples(index=False):
            i = int(s.example_idx)
            mass[ct_arr[i]] += float(abs_attr[i, max(0, int(s.start)):int(s.end)].sum())
        prow.append({"pattern": p.name, "metacluster": p.metacluster, "n_seqlets": int(p.n_seqlets), "width": int(p.pwm.shape[1]),
                     "consensus": consensus(p.pwm), "ic_bits": float(information_content(p.pwm).sum())})
        for ct in cell_types:
            mass_rows.append({"pattern": p.name, "cell_type": ct, "mass": mass[ct], "share": mass[ct] / total[ct]})
    return prow, mass_rows


def _match_motifs(patterns: Sequence, model, codes: np.ndarray, targets, dev, min_filter_sites: int,
                  min_filter_ic: float, timing: dict) -> tuple:
    """First-layer filters as PWMs, and patterns and filters matched to JASPAR with Tomtom.

    Parameters
    ----------
    patterns
        The MoDISco patterns.
    model, codes, dev
        The model, the regions' base codes and the device (:func:`seq2func.interpret.filters.filter_pwms`).
    targets
        The JASPAR matrices.
    min_filter_sites, min_filter_ic
        Filters with fewer sites or less information content are not matched.
    timing
        Seconds per step; ``filters`` and ``tomtom`` are added to.

    Returns
    -------
    tuple
        ``(pattern matches, filters, filters kept for matching, filter matches)``.
    """
    t = time.perf_counter()
    queries = {p.name: q for p in patterns if (q := informative(p.pwm)) is not None}
    matches = tomtom_matches(queries, targets) if queries else pd.DataFrame()
    filters = filter_pwms(model, codes, device=dev)
    timing["filters"] += time.perf_counter() - t
    keep = [f for f in filters if f["n_sites"] >= min_filter_sites and f["information_content"] >= min_filter_ic]
    fq = {f"filter{f['filter']}": q for f in keep if (q := informative(f["pwm"])) is not None}
    keep = [f for f in keep if f"filter{f['filter']}" in fq]
    t = time.perf_counter()
    fmatches = tomtom_matches(fq, targets) if fq else pd.DataFrame()
    timing["tomtom"] += time.perf_counter() - t
    return matches, filters, keep, fmatches


def _best_match(m: pd.DataFrame) -> pd.DataFrame:
    """The best (rank 1) Tomtom match of each query.

    Parameters
    ----------
    m
        Tomtom matches (empty when nothing was matched).

    Returns
    -------
    pandas.DataFrame
        ``query, target_id, target_name, p_value, q_value, offset, strand``.
    """
    if m.empty:
        return pd.DataFrame(columns=["query", "target_id", "target_name", "p_value", "q_value", "offset", "strand"])
    return m[m["rank"] == 1][["query", "target_id", "target_name", "p_value", "q_value", "offset", "strand"]]


def _result_tables(prow: list[dict], mass_rows: list[dict], matches: pd.DataFrame, filters: list[dict],
                   keep: list[dict], fmatches: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The patterns, filters and pattern-mass tables with their best JASPAR matches.

    Parameters
    ----------
    prow, mass_rows
        Pattern descriptions and masses (:func:`_pattern_mass`).
    matches, filters, keep, fmatches
        :func:`_match_motifs`' results.

    Returns
    -------
    ptab, ftab, spec : pandas.DataFrame
        ``patterns.tsv``, ``filters.tsv`` and ``pattern_mass.tsv``.
    """
    ptab = pd.DataFrame(prow, columns=["pattern", "metacluster", "n_seqlets", "width", "consensus", "ic_bits"])
    ptab = ptab.merge(_best_match(matches).rename(columns={"query": "pattern"}), on="pattern", how="left")
    ftab = pd.DataFrame([{"filter": f["filter"], "n_sites": f["n_sites"], "information_content": f["information_content"],
                          "max_activation": f["max_activation"]} for f in filters])
    if len(ftab):
        ftab["query"] = "filter" + ftab["filter"].astype(str)
        ftab = ftab.merge(_best_match(fmatches), on="query", how="left").drop(columns=["query"])
        ftab["matched"] = ftab["filter"].isin([f["filter"] for f in keep]) & (ftab["q_value"] < Q_MATCH)
    spec = pd.DataFrame(mass_rows, columns=["pattern", "cell_type", "mass", "share"])
    if len(spec):
        spec = spec.merge(ptab[["pattern", "target_id", "target_name", "q_value"]], on="pattern", how="left")
    return ptab, ftab, spec


def _write_model_outputs(tmp: Path, *, regions: pd.DataFrame, codes: np.ndarray, attr: np.ndarray, hyp: np.ndarray,
                         ct_arr: np.ndarray, ptab: pd.DataFrame, spec: pd.DataFrame, ftab: pd.DataFrame,
                         matches: pd.DataFrame, fmatches: pd.DataFrame, patterns: Sequence, keep: list[dict],
                         ism_out: dict) -> None:
    """Write every output but ``summary.json`` into ``tmp``.

    Parameters
    ----------
    tmp
        The output folder being written.
    regions, codes, attr, hyp, ct_arr
        The regions, their base codes, contributions, hypothetical contributions and cell types.
    ptab, spec, ftab
        :func:`_result_tables`' tables.
    matches, fmatches
        Every Tomtom match of the patterns and of the filters.
    patterns, keep
        The MoDISco patterns and the filters kept for matching.
    ism_out
        ISM per cell type.

    Returns
    -------
    None
    """
    regions.to_csv(tmp / "regions.tsv", sep="\t", index=False)
    np.savez_compressed(tmp / "attributions.npz", codes=codes, attributions=attr.astype(np.float16),
                        hypothetical=hyp.astype(np.float16), cell_type=ct_arr)
    ptab.to_csv(tmp / "patterns.tsv", sep="\t", index=False, na_rep="NA")
    spec.to_csv(tmp / "pattern_mass.tsv", sep="\t", index=False, na_rep="NA")
    ftab.to_csv(tmp / "filters.tsv", sep="\t", index=False, na_rep="NA")
    if len(matches):
        matches.to_csv(tmp / "pattern_matches.tsv", sep="\t", index=False, na_rep="NA")
    if len(fmatches):
        fmatches.to_csv(tmp / "filter_matches.tsv", sep="\t", index=False, na_rep="NA")
    write_meme(tmp / "patterns.meme", {p.name: p.pwm for p in patterns})
    write_meme(tmp / "filters.meme", {f"filter{f['filter']}": f["pwm"] for f in keep})
    (tmp / "logos").mkdir()
    for p in patterns[:20]:
        m = ptab.set_index("pattern").loc[p.name]
        title = f"{p.name} ({int(p.n_seqlets)} seqlets)" + (f": {m['target_name']} q={m['q_value']:.1g}"
                                                             if isinstance(m.get("target_name"), str) else "")
        logo_png(tmp / "logos" / f"{p.name.replace('.', '_')}.png", p.pwm, title)
    if ism_out:
        np.savez_compressed(tmp / "ism.npz", **{f"{ct}__{k}": np.asarray(v) for ct, d in ism_out.items() for k, v in d.items()})


def _model_summary(*, label: str, checkpoint: str | os.PathLike, ck: dict, cell_types: Sequence[str],
                   regions: pd.DataFrame, split: str, method: str, n_shuffles: int, jaspar_release: str, targets,
                   ptab: pd.DataFrame, ftab: pd.DataFrame, tracks: Sequence[dict], timing: dict,
                   t0: float) -> dict:
    """The content of ``summary.json``.

    Parameters
    ----------
    label, checkpoint, split, method, n_shuffles, jaspar_release
        As :func:`interpret_model`'s.
    ck
        The checkpoint dict.
    cell_types, regions
        The cell types explained and their regions.
    targets
        The JASPAR matrices.
    ptab, ftab
        ``patterns.tsv`` and ``filters.tsv``.
    tracks
        The checkpoint's track table.
    timing
        Seconds per step.
    t0
        :func:`time.perf_counter` at the start.

    Returns
    -------
    dict
        The summary.
    """
    return {
        "label": label, "checkpoint": str(Path(checkpoint).resolve()), "model": (ck.get("model_config") or {}).get("name"),
        "cell_types": cell_types, "regions": int(len(regions)), "split": split, "method": method, "n_shuffles": n_shuffles,
        "jaspar_release": jaspar_release, "jaspar_matrices": len(targets),
        "patterns": int(len(ptab)), "patterns_matched": int((ptab["q_value"] < Q_MATCH).sum()) if len(ptab) else 0,
        "matched_tfs": sorted({_tf_name(x) for x in ptab.loc[ptab["q_value"] < Q_MATCH, "target_name"]}) if len(ptab) else [],
        "filters": int(len(ftab)), "filters_matched": int(ftab["matched"].sum()) if len(ftab) else 0,
        "filter_tfs": sorted({_tf_name(x) for x in ftab.loc[ftab["matched"], "target_name"]}) if len(ftab) else [],
        "tracks": [{k: t.get(k) for k in ("track_id", "cell_type", "assay", "role")} for t in tracks],
        "seconds": {k: round(v, 2) for k, v in timing.items()}, "total_seconds": round(time.perf_counter() - t0, 2),
    }


def interpret_model(
    checkpoint: str | os.PathLike,
    dataset: str | os.PathLike,
    out: str | os.PathLike,
    *,
    label: str = "model",
    n: int = 20,
    split: str = "test",
    regions_bed: str | os.PathLike | None = None,
    fasta: str | os.PathLike | None = None,
    method: str = "deeplift_shap",
    n_shuffles: int = 20,
    jaspar_release: str = "JASPAR2024",
    ism_bp: int = 100,
    max_seqlets: int = 2000,
    min_filter_sites: int = 10,
    min_filter_ic: float = 3.0,
    seed: int = 0,
    device: str = "auto",
    require_gpu: bool = False,
) -> dict:
    """Explain one checkpoint into ``out`` (see the module doc); returns ``summary.json``.

    Parameters
    ----------
    checkpoint : str or os.PathLike
        The trained model's checkpoint (it must carry its track table).
    dataset : str or os.PathLike
        The PREPARE dataset the regions come from (same window length as the model's input).
    out : str or os.PathLike
        The output directory (replaced atomically).
    label : str, optional
        The model's name in the outputs.
    n : int, optional
        Regions per cell type (the dataset windows with the most signal of its tracks).
    split : str, optional
        The dataset split the regions come from.
    regions_bed : str or os.PathLike, optional
        A BED of regions to explain instead of dataset windows (needs ``fasta``).
    fasta : str or os.PathLike, optional
        The reference FASTA the BED regions are fetched from.
    method : str, optional
        ``deeplift_shap``, ``grad_x_input`` or ``saliency``.
    n_shuffles : int, optional
        Dinucleotide-shuffled references per sequence (DeepSHAP).
    jaspar_release : str, optional
        The pyjaspar release the motifs are matched to (vertebrate CORE).
    ism_bp : int, optional
        Central bases of each cell type's first region mutated by ISM; 0: no ISM.
    max_seqlets : int, optional
        TF-MoDISco-lite seqlets per metacluster.
    min_filter_sites : int, optional
        First-layer filters with fewer sites are not matched to JASPAR.
    min_filter_ic : float, optional
        First-layer filters with less information content (bits) are not matched to JASPAR.
    seed : int, optional
        Seed of the DeepSHAP references and of TF-MoDISco-lite.
    device : str, optional
        ``auto``, ``cpu``, ``cuda`` or ``cuda:<i>``.
    require_gpu : bool, optional
        Fail instead of running on the CPU when no GPU is available.

    Returns
    -------
    dict
        The contents of ``summary.json`` (cell types, regions, patterns and filters matched, TFs, seconds).

    Raises
    ------
    InputError
        A checkpoint without tracks, a dataset of another window length or without the model's cell types,
        no windows to explain, a bad BED or method.
    """
    t0 = time.perf_counter()
    dev, model, ck, tracks, ds = _load_model(checkpoint, dataset, device, require_gpu)
    targets = jaspar_motifs(jaspar_release)
    cell_types = _cell_types(tracks, ds, dataset)
    timing = {"attributions": 0.0, "modisco": 0.0, "filters": 0.0, "tomtom": 0.0, "ism": 0.0}
    regions, codes, attr, hyp, onehot, ct_arr, ism_out = _explain_regions(
        model, ds, tracks, cell_types, dev, timing, dataset=dataset, label=label, n=n, split=split,
        regions_bed=regions_bed, fasta=fasta, method=method, n_shuffles=n_shuffles, seed=seed, ism_bp=ism_bp)
    patterns = _find_patterns(onehot, hyp, label, max_seqlets, seed, timing)
    prow, mass_rows = _pattern_mass(patterns, attr, ct_arr, cell_types)
    matches, filters, keep, fmatches = _match_motifs(patterns, model, codes, targets, dev, min_filter_sites,
                                                     min_filter_ic, timing)
    ptab, ftab, spec = _result_tables(prow, mass_rows, matches, filters, keep, fmatches)
    with atomic_dir(out) as tmp:
        _write_model_outputs(tmp, regions=regions, codes=codes, attr=attr, hyp=hyp, ct_arr=ct_arr, ptab=ptab,
                             spec=spec, ftab=ftab, matches=matches, fmatches=fmatches, patterns=patterns, keep=keep,
                             ism_out=ism_out)
        summary = _model_summary(label=label, checkpoint=checkpoint, ck=ck, cell_types=cell_types, regions=regions,
                                 split=split, method=method, n_shuffles=n_shuffles, jaspar_release=jaspar_release,
                                 targets=targets, ptab=ptab, ftab=ftab, tracks=tracks, timing=timing, t0=t0)
        write_json(tmp / "summary.json", summary)
    return summary


# --------------------------------------------------------------------------------------------
# across models
# --------------------------------------------------------------------------------------------
def _load(d: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    try:
        summary = json.loads((d / "summary.json").read_text())
    except (OSError, ValueError) as err:
        raise InputError(d, None, f"not an INTERPRET output: {err}") from None
    read = lambda n: pd.read_csv(d / n, sep="\t") if (d / n).is_file() and (d / n).stat().st_size else pd.DataFrame()  # noqa: E731
    return summary, read("pattern_mass.tsv"), read("filters.tsv")


def tf_shares(mass: pd.DataFrame) -> pd.DataFrame:
    """Per matched TF (q < 0.05) and cell type: the summed share of attribution mass of its patterns.

    Parameters
    ----------
    mass : pandas.DataFrame
        A model's ``pattern_mass.tsv``: ``pattern``, ``cell_type``, ``share``, ``target_name``, ``q_value``.

    Returns
    -------
    pandas.DataFrame
        ``tf`` (upper case), ``cell_type``, ``share``; empty when nothing matched.
    """
    if mass.empty or "q_value" not in mass:
        return pd.DataFrame(columns=["tf", "cell_type", "share"])
    m = mass[mass["q_value"] < Q_MATCH].assign(tf=lambda d: d["target_name"].map(_tf_name))
    return m.groupby(["tf", "cell_type"], as_index=False)["share"].sum()


def summarise(runs: dict[str, str | os.PathLike], out: str | os.PathLike, *, truth: str | os.PathLike | None = None) -> dict:
    """Join the models' INTERPRET outputs (``runs``: label -> directory) into ``out``: specificity
    table and heatmap, gained TFs, and with ``truth`` (the simulated world's truth.json) the
    recovery of the planted TFs.

    Parameters
    ----------
    runs : dict of str to str or os.PathLike
        Model label -> its :func:`interpret_model` output directory; fine-tuned models are the labels
        holding a ``/`` (``<cell_type>/<strategy>``).
    out : str or os.PathLike
        The output directory (replaced atomically).
    truth : str or os.PathLike, optional
        The simulated world's ``truth.json``: adds ``recovery.tsv`` and ``lineage_ranks.tsv``.

    Returns
    -------
    dict
        The contents of ``summary.json``: ``models``, ``gained_tfs``, ``motif_recovery``, ``recovered``,
        ``lineage_ranks``.

    Raises
    ------
    InputError
        A run directory that is not an INTERPRET output.
    """
    # deferred: matplotlib is heavy; only the summary's heatmap needs it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: as above

    loaded = {k: _load(Path(v)) for k, v in runs.items()}
    rows = []
    for label, (s, mass, _) in loaded.items():
        for r in tf_shares(mass).itertuples(index=False):
            rows.append({"model": label, "cell_type": r.cell_type, "tf": r.tf, "share": r.share})
    spec = pd.DataFrame(rows, columns=["model", "cell_type", "tf", "share"])
    roles: dict[str, str] = {}
    for s, _, _ in loaded.values():
        for t in s["tracks"]:
            roles.setdefault(str(t.get("cell_type")), str(t.get("role") or ""))
    pretrained = [k for k in runs if "/" not in k]
    gained, ranks = {}, []
    targets_ct = sorted({k.split("/")[0] for k in runs if "/" in k})
    comp = spec[(spec["model"].isin(pretrained)) & spec["cell_type"].map(lambda c: roles.get(c) == "compendium")]
    comp_mean = comp.groupby("tf")["share"].sum() / max(1, comp["cell_type"].nunique())
    for label in runs:
        if "/" not in label:
            continue
        ct = label.split("/")[0]
        mine = spec[(spec["model"] == label) & (spec["cell_type"] == ct)].set_index("tf")["share"]
        base = set(spec.loc[spec["model"].isin(pretrained), "tf"])
        gained[label] = sorted(set(mine.index) - base)
        specificity = (mine - comp_mean.reindex(mine.index).fillna(0.0)).sort_values(ascending=False)
        for rank, (tf, v) in enumerate(specificity.items(), start=1):
            ranks.append({"model": label, "cell_type": ct, "tf": tf, "share": float(mine[tf]),
                          "compendium_mean_share": float(comp_mean.get(tf, 0.0)), "specificity": float(v), "rank": rank})
    rank_df = pd.DataFrame(ranks, columns=["model", "cell_type", "tf", "share", "compendium_mean_share", "specificity", "rank"])
    recovery = None
    lineage = []
    if truth is not None:
        tj = json.loads(Path(truth).read_text())
        motifs = tj.get("motifs", {})
        motifs = motifs.get("tfs", []) if isinstance(motifs, dict) else motifs
        planted = [(m.get("matrix_id"), m.get("name")) for m in motifs]
        found_ids, found_tfs = {}, {}
        for label, d in runs.items():
            for src, name in (("pattern", "pattern_matches.tsv"), ("filter", "filter_matches.tsv")):
                f = Path(d) / name
                if not f.is_file() or not f.stat().st_size:
                    continue
                df = pd.read_csv(f, sep="\t")  # every Tomtom match kept (top k per query), not only the best
                ok = df[df["q_value"] < Q_MATCH]
                for r in ok.itertuples(index=False):
                    key = (str(r.target_id), _tf_name(r.target_name))
                    q = float(r.q_value)
                    for d_, k in ((found_ids, key[0]), (found_tfs, key[1])):
                        if k not in d_ or q < d_[k][0]:
                            d_[k] = (q, label, src)
        rec = []
        for mid, name in planted:
            hit = found_ids.get(str(mid)) or found_tfs.get(_tf_name(name))
            rec.append({"tf": name, "matrix_id": mid, "recovered": hit is not None,
                        "best_q": hit[0] if hit else None, "model": hit[1] if hit else None, "source": hit[2] if hit else None,
                        "by_id": str(mid) in found_ids})
        recovery = pd.DataFrame(rec, columns=["tf", "matrix_id", "recovered", "best_q", "model", "source", "by_id"])
        for c in tj.get("cell_types", []):
            if c.get("role") != "target" or c["name"] not in targets_ct:
                continue
            r = rank_df[rank_df["cell_type"] == c["name"]]
            for tf in c.get("lineage_tfs", []):
                hit = r[r["tf"] == _tf_name(tf)]
                lineage.append({"cell_type": c["name"], "tf": tf, "rank": int(hit["rank"].min()) if len(hit) else None,
                                "n_ranked": int(r["tf"].nunique())})
    with atomic_dir(out) as tmp:
        spec.to_csv(tmp / "specificity.tsv", sep="\t", index=False)
        rank_df.to_csv(tmp / "specific_tfs.tsv", sep="\t", index=False)
        if len(spec):
            mat = spec.assign(col=spec["model"] + " | " + spec["cell_type"]).pivot_table(index="tf", columns="col",
                                                                                          values="share", aggfunc="sum").fillna(0.0)
            fig, ax = plt.subplots(figsize=(max(4, 0.5 * mat.shape[1] + 2), max(3, 0.3 * mat.shape[0] + 1.5)))
            im = ax.imshow(mat.to_numpy(), aspect="auto", cmap="viridis")
            ax.set_xticks(range(mat.shape[1]), mat.columns, rotation=60, ha="right", fontsize=7)
            ax.set_yticks(range(mat.shape[0]), mat.index, fontsize=7)
            fig.colorbar(im, ax=ax, label="share of attribution mass")
            ax.set_title("Matched motifs: attribution mass by model and cell type")
            fig.tight_layout()
            fig.savefig(tmp / "specificity.png", dpi=120)
            plt.close(fig)
        if recovery is not None:
            recovery.to_csv(tmp / "recovery.tsv", sep="\t", index=False, na_rep="NA")
            pd.DataFrame(lineage, columns=["cell_type", "tf", "rank", "n_ranked"]).to_csv(tmp / "lineage_ranks.tsv", sep="\t",
                                                                                          index=False, na_rep="NA")
        summary = {"models": list(runs), "gained_tfs": gained,
                   "motif_recovery": float(recovery["recovered"].mean()) if recovery is not None and len(recovery) else None,
                   "recovered": sorted(recovery.loc[recovery["recovered"], "tf"]) if recovery is not None else None,
                   "lineage_ranks": lineage}
        write_json(tmp / "summary.json", summary)
    return summary
