"""The variant benchmark of SCORE_VARIANTS: how well models rank measured allele-specific variants.

Brain-ResNet's claim is that a model fine-tuned on the user's cell type ranks experimentally
measured allele-specific open-chromatin (ASoC) variants better than public tools. Its figures,
and the tables here that feed them:

* AUROC / AUPRC of ``|score|`` against the 0/1 label, per model and cell type, with percentile
  bootstrap 95 % intervals (``auroc``);
* sign consistency: whether the sign of the score matches the measured direction of the allelic
  effect of the positives (``sign_consistency``);
* ASoC enrichment by score quintile (``enrichment``);
* mean ``|score|`` by minor-allele-frequency bin (``maf``);
* conservation (GERP-like) of the top 10 % ``|score|`` variants against the rest (``conservation``);
* a heatmap of the top variants' scores across cell types (``heatmap``).

Inputs
------
:func:`read_labels` reads the labels TSV (``variant_id chrom pos ref alt cell_type label
direction``); :func:`model_cell_type_scores` turns a model's per-track scores (the long table of
:mod:`seq2func.variants.scores`: one row per variant ``key`` x ``track_id``) into one score per
variant and labelled cell type; :func:`conservation_at` and :func:`allele_frequencies` read the
covariates from a bigWig and a VCF. :func:`benchmark` computes every table; :func:`plots` writes
them as TSVs and PNGs. Baselines (random, motif disruption) are in
:mod:`seq2func.variants.baselines`; their scores are Series (key -> score) that
:func:`benchmark` takes as cell-type-agnostic models.

Cell-type-agnostic scores
-------------------------
A model without a track of a labelled cell type (a pretrained-only model scoring a target cell
type; a baseline) is scored by the mean over all of its tracks. Such a (model, cell type) pair is
flagged ``agnostic=True`` in every table, from the frame's ``attrs["agnostic"]``
(:func:`model_cell_type_scores`) or because the model is a Series.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.io.atomic import write_files
from seq2func.io.text import CStderr, iter_text_lines
from seq2func.io.vcf import VcfText, Where, genotype_texts, parse_genotypes

log = logging.getLogger(__name__)

LABEL_COLUMNS = ("variant_id", "chrom", "pos", "ref", "alt", "cell_type", "label", "direction")
MAF_EDGES = (0.0, 0.01, 0.05, 0.1, 0.2, 0.5)  #: minor-allele-frequency bins (last one closed)
TABLES = ("auroc", "sign_consistency", "enrichment", "maf", "conservation", "heatmap")  #: written by :func:`plots`
_ALLELE_OK = set("ACGTN")

AUROC_COLUMNS = ["model", "cell_type", "agnostic", "n_pos", "n_neg", "n_missing", "auroc", "auroc_lo", "auroc_hi",
                 "auprc", "auprc_lo", "auprc_hi", "auprc_baseline", "n_boot"]
SIGN_COLUMNS = ["model", "cell_type", "agnostic", "n", "n_agree", "fraction", "binom_p"]
ENRICHMENT_COLUMNS = ["model", "cell_type", "agnostic", "quantile", "n", "n_pos", "n_neg", "frac_pos", "overall_frac",
                      "enrichment", "odds_ratio", "fisher_p"]
MAF_COLUMNS = ["model", "cell_type", "maf_bin", "maf_lo", "maf_hi", "n", "mean_abs_score", "median_abs_score"]
CONSERVATION_COLUMNS = ["model", "cell_type", "agnostic", "n_top", "n_rest", "top_mean", "rest_mean", "top_median",
                        "rest_median", "mwu_u", "mwu_p", "mwu_p_greater"]


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------
def read_labels(path: str | os.PathLike, fasta_contigs: Iterable[str] | Mapping[str, int]) -> pd.DataFrame:
    """Read the allele-specific labels TSV.

    Parameters
    ----------
    path
        Tab-separated, plain or gzipped, with a header naming (at least, in any order) the columns
        ``variant_id chrom pos ref alt cell_type label direction``: ``pos`` 1-based, ``ref``/``alt``
        VCF alleles (one ALT, A/C/G/T/N, any case), ``label`` 0/1, ``direction`` +1/-1/0 (the sign
        of the allelic effect of a positive; 0 for an unknown sign, and for negatives).
    fasta_contigs
        The FASTA's contig names (or a mapping name -> length, which also checks ``pos``).
        ``chrom`` is mapped onto their spelling with :func:`seq2func.chroms.alias_map`.

    Returns
    -------
    pandas.DataFrame
        One row per line, in file order: the eight columns (``chrom`` in the FASTA's spelling,
        ``pos``/``label``/``direction`` int64, alleles upper case) and ``key`` =
        ``chrom:pos:ref:alt``. Extra columns of the file are dropped.

    Raises
    ------
    InputError
        One line ``path: line N: message``: a missing column, a wrong number of fields, a bad
        number, allele, label or direction, a contig the FASTA lacks, a position beyond the
        contig, a (variant, cell type) pair given twice, or no rows at all.
    """
    display = os.fspath(path)
    if not Path(path).is_file():
        raise InputError(display, None, "file not found")
    lengths = dict(fasta_contigs) if isinstance(fasta_contigs, Mapping) else None
    contigs = list(lengths) if lengths is not None else list(fasta_contigs)
    memo: dict[str, str | None] = {}
    rows: list[tuple] = []
    seen: dict[tuple[str, str], int] = {}
    header: list[str] | None = None
    col: dict[str, int] = {}
    for line_no, line in iter_text_lines(path, display, "labels TSV"):
        if not line.strip():
            continue
        fields = line.split("\t")
        where = f"line {line_no}"
        if header is None:
            header = [f.strip() for f in fields]
            missing = [c for c in LABEL_COLUMNS if c not in header]
            if missing:
                raise InputError(display, where, f"header lacks column(s) {', '.join(missing)} "
                                 f"(needs {' '.join(LABEL_COLUMNS)}, tab-separated)")
            col = {c: header.index(c) for c in LABEL_COLUMNS}
            continue
        if len(fields) != len(header):
            raise InputError(display, where, f"{len(fields)} tab-separated field(s), the header has {len(header)}")
        v = {c: fields[i].strip() for c, i in col.items()}
        chrom = v["chrom"]
        if chrom not in memo:
            memo[chrom] = alias_map(contigs, [chrom]).get(chrom)
        fa_chrom = memo[chrom]
        if fa_chrom is None:
            raise InputError(display, where, f"contig '{chrom}' is not in the FASTA")
        try:
            pos = int(v["pos"])
        except ValueError:
            raise InputError(display, where, f"pos {v['pos']!r} is not an integer") from None
        if pos < 1:
            raise InputError(display, where, f"pos {pos} is not a 1-based position")
        if lengths is not None and pos > int(lengths[fa_chrom]):
            raise InputError(display, where, f"pos {pos} is beyond the end of {fa_chrom} ({lengths[fa_chrom]} bp)")
        ref, alt = v["ref"].upper(), v["alt"].upper()
        for name, a in (("ref", ref), ("alt", alt)):
            if "," in a:
                raise InputError(display, where, f"{name} {a!r}: one allele per line (split multi-allelic sites)")
            if not a or not set(a) <= _ALLELE_OK:
                raise InputError(display, where, f"{name} {v[name]!r} is not a VCF allele of A/C/G/T/N")
        if ref == alt:
            raise InputError(display, where, f"ref and alt are both {ref!r}")
        if v["label"] not in ("0", "1"):
            raise InputError(display, where, f"label {v['label']!r} is not 0 or 1")
        if v["direction"] not in ("1", "+1", "-1", "0", "-0", "+0"):
            raise InputError(display, where, f"direction {v['direction']!r} is not +1, -1 or 0")
        if not v["cell_type"]:
            raise InputError(display, where, "empty cell_type")
        key = f"{fa_chrom}:{pos}:{ref}:{alt}"
        first = seen.setdefault((key, v["cell_type"]), line_no)
        if first != line_no:
            raise InputError(display, where, f"variant {key} in cell type {v['cell_type']} already labelled on line {first}")
        rows.append((v["variant_id"], fa_chrom, pos, ref, alt, v["cell_type"], int(v["label"]), int(v["direction"]), key))
    if header is None:
        raise InputError(display, None, f"empty file (needs a header: {' '.join(LABEL_COLUMNS)})")
    if not rows:
        raise InputError(display, None, "no labelled variants (only a header)")
    out = pd.DataFrame(rows, columns=[*LABEL_COLUMNS, "key"])
    for c in ("pos", "label", "direction"):
        out[c] = out[c].astype(np.int64)
    return out


def model_cell_type_scores(
    scores: pd.DataFrame,
    tracks: Sequence[Mapping],
    cell_types: Iterable[str],
    score: str = "SAD",
    *,
    assays: Iterable[str] | None = None,
) -> pd.DataFrame:
    """One score per variant and cell type from a model's per-track scores.

    The score of a cell type is the mean, over the model's tracks of that cell type, of the
    track scores. When the model has no track of that cell type (a pretrained-only model scoring
    a target cell type) it is the mean over all of the model's tracks instead, and the cell type
    is flagged *agnostic*.

    Parameters
    ----------
    scores
        Long table, one row per variant ``key`` x ``track_id`` (``key`` a column or the index),
        with the score column ``score`` (:mod:`seq2func.variants.scores`).
    tracks
        The checkpoint's track rows: dicts with ``track_id``, ``cell_type`` and ``assay``. Rows
        whose track is absent from ``scores`` are ignored, and so are scored tracks absent here.
    cell_types
        The labelled cell types, in output column order.
    score
        The score column: ``SAD``, ``logSAD``, ``D2``, ``SAX`` (profile models), ``dlogit``,
        ``dprob`` (classifiers).
    assays
        Only tracks of these assays (e.g. ``["ATAC"]``); default all.

    Returns
    -------
    pandas.DataFrame
        Index ``key`` (sorted), one float column per cell type. ``attrs["agnostic"]``: cell type
        -> True when scored by the mean of all tracks; ``attrs["n_tracks"]``: cell type -> number
        of tracks averaged; ``attrs["score"]``: the score column.

    Raises
    ------
    ValueError
        ``score`` is not a column, or no track of ``tracks`` (of ``assays``) has scores.
    """
    df = scores
    if "key" not in df.columns:
        if "key" in (df.index.names or []):
            df = df.reset_index()
        else:
            raise ValueError("scores need a 'key' column (or index level)")
    if score not in df.columns:
        others = [c for c in df.columns if c not in ("key", "track_id")]
        raise ValueError(f"no score column {score!r} (the scores have {', '.join(map(str, others))})")
    wanted = set(assays) if assays is not None else None
    ct_of: dict[str, str] = {}
    for t in tracks:
        if wanted is not None and str(t.get("assay")) not in wanted:
            continue
        ct_of[str(t["track_id"])] = str(t["cell_type"])
    scored = set(df["track_id"].astype(str).unique())
    use = [tid for tid in ct_of if tid in scored]
    if not use:
        raise ValueError("no track of the checkpoint" + (f" of assay(s) {sorted(wanted)}" if wanted else "")
                         + " has scores")
    sub = df[df["track_id"].astype(str).isin(use)]
    wide = sub.pivot_table(index="key", columns="track_id", values=score, aggfunc="mean", dropna=False)
    wide = wide.sort_index()
    out = pd.DataFrame(index=wide.index)
    agnostic: dict[str, bool] = {}
    n_tracks: dict[str, int] = {}
    for ct in cell_types:
        tids = [t for t in use if ct_of[t] == ct]
        agnostic[ct] = not tids
        cols = tids or use
        n_tracks[ct] = len(cols)
        out[ct] = wide[cols].mean(axis=1, skipna=True).astype(np.float64)
    out.index.name = "key"
    out.attrs.update(agnostic=agnostic, n_tracks=n_tracks, score=score)
    return out


def conservation_at(bigwig_path: str | os.PathLike, variants: pd.DataFrame, flank: int = 0) -> pd.Series:
    """Mean bigWig value (e.g. GERP conservation) at each variant.

    Parameters
    ----------
    bigwig_path
        The bigWig.
    variants
        Columns ``chrom`` and ``pos`` (1-based); ``key`` when present indexes the result.
    flank
        Bases on either side: the interval is ``[pos - 1 - flank, pos + flank)`` (0-based,
        half-open), clipped to the contig.

    Returns
    -------
    pandas.Series
        float64, indexed by ``key`` (else the frame's index): pyBigWig's exact mean over the bases
        with data in the interval; NaN where none has data or the bigWig lacks the contig
        (contigs alias-mapped onto the bigWig's names: ``1`` <-> ``chr1``).

    Raises
    ------
    InputError
        The bigWig is absent or unreadable.
    """
    import pyBigWig  # deferred: optional reader of one covariate; validate imports this module

    display = os.fspath(bigwig_path)
    if not Path(bigwig_path).is_file():
        raise InputError(display, None, "file not found")
    cap = CStderr()
    try:
        with cap:
            bw = pyBigWig.open(display)
    except RuntimeError:
        bw = None
    if bw is None or not bw.isBigWig():
        raise InputError(display, None, "cannot open as bigWig")
    flank = int(flank)
    try:
        chroms = bw.chroms()
        amap = alias_map(chroms, variants["chrom"].astype(str).unique())
        vals = np.full(len(variants), np.nan)
        for i, (c, p) in enumerate(zip(variants["chrom"].astype(str), variants["pos"].astype(np.int64))):
            bc = amap.get(c)
            if bc is None:
                continue
            a, b = max(0, int(p) - 1 - flank), min(int(chroms[bc]), int(p) + flank)
            if a >= b:
                continue
            v = bw.stats(bc, a, b, type="mean", exact=True)[0]
            if v is not None:
                vals[i] = v
    finally:
        bw.close()
    index = pd.Index(variants["key"].astype(str), name="key") if "key" in variants.columns else variants.index
    return pd.Series(vals, index=index, name="conservation")


def _split_key(key: str) -> tuple[str, int, str, str]:
    parts = str(key).rsplit(":", 3)
    if len(parts) != 4:
        raise ValueError(f"variant key {key!r} is not chrom:pos:ref:alt")
    return parts[0], int(parts[1]), parts[2].upper(), parts[3].upper()


def _regions(positions: np.ndarray, gap: int = 50_000) -> list[tuple[int, int]]:
    """Sorted 1-based positions -> ``[(first, last)]`` clusters split at gaps > ``gap``."""
    cut = np.flatnonzero(np.diff(positions) > gap) + 1
    return [(int(p[0]), int(p[-1])) for p in np.split(positions, cut)]


def allele_frequencies(vcf_path: str | os.PathLike, keys: Iterable[str]) -> pd.Series:
    """Alternative-allele frequency of each variant key from a VCF/BCF.

    Parameters
    ----------
    vcf_path
        VCF, VCF.gz (tabix/CSI index or none) or BCF, read through :class:`seq2func.io.vcf.VcfText`.
    keys
        ``chrom:pos:ref:alt`` (any contig spelling: mapped onto the VCF's). A key matches a record
        with the same POS and REF that has its ALT among its ALT alleles.

    Returns
    -------
    pandas.Series
        float64 indexed by the keys, in their order: INFO ``AF`` of that ALT (per-ALT, as
        ``bcftools query -f '%INFO/AF'`` prints it) or, when the record has no AF (or ``.``), the
        allele's count among the called alleles of all samples' GT (NaN when none is called);
        NaN for a key the VCF lacks.
    """
    keys = [str(k) for k in keys]
    out = np.full(len(keys), np.nan)
    by_chrom: dict[str, dict[tuple[int, str, str], list[int]]] = {}
    for i, k in enumerate(keys):
        c, p, r, a = _split_key(k)
        by_chrom.setdefault(c, {}).setdefault((p, r, a), []).append(i)
    with VcfText(vcf_path) as vt:
        n_all = len(vt.samples)
        for chrom, want in by_chrom.items():
            contig = vt.contig(chrom)
            if contig is None:
                continue
            posset = {p for p, _, _ in want}
            done: set[tuple[int, str, str]] = set()
            gt_records: list[list[str]] = []
            gt_targets: list[tuple[int, list[int]]] = []  # (allele index, output rows) per GT record
            for first, last in _regions(np.array(sorted(posset), dtype=np.int64)):
                for line in vt.lines(contig, first - 1, last, overlapping=False):
                    f = line.split("\t", 9)
                    if len(f) < 8:
                        continue
                    pos = int(f[1])
                    if pos not in posset:
                        continue
                    ref = f[3].upper()
                    alts = f[4].upper().split(",")
                    hits = [(j, (pos, ref, a)) for j, a in enumerate(alts) if (pos, ref, a) in want and (pos, ref, a) not in done]
                    if not hits:
                        continue
                    af_text = None
                    for kv in f[7].split(";"):
                        if kv.startswith("AF="):
                            af_text = kv[3:].split(",")
                            break
                    for j, wkey in hits:
                        done.add(wkey)
                        val = af_text[j] if af_text is not None and j < len(af_text) else "."
                        try:
                            out[want[wkey]] = float(val)
                        except ValueError:  # '.' or absent: from the genotypes
                            gt_records.append(f)
                            gt_targets.append((j + 1, want[wkey]))
            if gt_records and n_all:
                texts, has_gt = genotype_texts(gt_records)
                where = Where(vt.display, contig, [int(f[1]) - 1 for f in gt_records])
                a1, a2, _ = parse_genotypes(texts, has_gt, n_all, np.arange(n_all, dtype=np.int64), where)
                called = (a1 >= 0).sum(axis=1) + (a2 >= 0).sum(axis=1)
                for r, (allele, rows) in enumerate(gt_targets):
                    if called[r] > 0 and has_gt[r]:
                        out[rows] = float(((a1[r] == allele).sum() + (a2[r] == allele).sum()) / called[r])
    return pd.Series(out, index=pd.Index(keys, name="key"), name="af")


# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------
def _auroc_rows(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AUROC of every row of ``s`` (n_rows, n) against 0/1 ``y`` (same shape), ties half;
    NaN for a row with one class."""
    from scipy.stats import rankdata  # deferred: scipy is slow to import; validate imports this module

    r = rankdata(s, axis=1)
    npos = y.sum(axis=1)
    nneg = y.shape[1] - npos
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((r * y).sum(axis=1) - npos * (npos + 1) / 2.0) / (npos * nneg)


def _auprc_rows(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Average precision of every row, as scikit-learn's ``average_precision_score``: the sum
    over distinct score thresholds of (recall step) x precision; tied scores form one threshold.
    NaN for a row without positives."""
    n = s.shape[1]
    order = np.argsort(-s, axis=1, kind="stable")
    ss = np.take_along_axis(s, order, axis=1)
    yy = np.take_along_axis(y, order, axis=1).astype(np.float64)
    tp = np.cumsum(yy, axis=1)
    end = np.ones_like(ss, dtype=bool)  # last element of a tie group
    end[:, :-1] = ss[:, 1:] != ss[:, :-1]
    ar = np.broadcast_to(np.arange(n), ss.shape)
    end_idx = np.where(end, ar, n - 1)
    end_idx = np.minimum.accumulate(end_idx[:, ::-1], axis=1)[:, ::-1]  # the group end of each element
    prec_end = np.take_along_axis(tp, end_idx, axis=1) / (end_idx + 1.0)
    npos = yy.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (prec_end * yy).sum(axis=1) / np.where(npos > 0, npos, np.nan)


def ranking_metrics(
    values: np.ndarray, labels: np.ndarray, *, n_boot: int = 200, seed: int = 0, level: float = 0.95
) -> dict:
    """AUROC and AUPRC of ``values`` against 0/1 ``labels``, with percentile bootstrap intervals.

    Parameters
    ----------
    values
        Scores (higher = more likely positive; the benchmark passes ``|score|``). NaN are dropped.
    labels
        0/1 labels.
    n_boot
        Bootstrap resamples (variants drawn with replacement); 0 for none. Resamples with one
        class only are discarded.
    seed
        Seed of the resampling (:func:`numpy.random.default_rng`): the same seed and number of
        variants draw the same resamples, so models of one cell type are compared on the same draws.
    level
        Coverage of the percentile interval.

    Returns
    -------
    dict
        ``n_pos``, ``n_neg``, ``auroc`` / ``auprc`` (scikit-learn's ``roc_auc_score`` and
        ``average_precision_score``; NaN without both classes), ``auroc_lo``/``auroc_hi``,
        ``auprc_lo``/``auprc_hi`` (NaN without resamples), ``auprc_baseline`` (fraction of
        positives: the AUPRC of a random score) and ``n_boot`` (resamples used).
    """
    # deferred: sklearn is heavy; validate imports this module
    from sklearn.metrics import average_precision_score, roc_auc_score

    v = np.asarray(values, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    keep = np.isfinite(v)
    v, y = v[keep], y[keep]
    npos, nneg = int(y.sum()), int((y == 0).sum())
    out = dict(n_pos=npos, n_neg=nneg, auroc=np.nan, auroc_lo=np.nan, auroc_hi=np.nan, auprc=np.nan,
               auprc_lo=np.nan, auprc_hi=np.nan, auprc_baseline=npos / len(y) if len(y) else np.nan, n_boot=0)
    if npos == 0 or nneg == 0:
        return out
    out["auroc"] = float(roc_auc_score(y, v))
    out["auprc"] = float(average_precision_score(y, v))
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        roc, prc = [], []
        for b0 in range(0, n_boot, 256):  # memory: 256 x n at a time
            idx = rng.integers(0, len(y), size=(min(256, n_boot - b0), len(y)))
            yb, vb = y[idx], v[idx]
            two = (yb.sum(axis=1) > 0) & (yb.sum(axis=1) < len(y))
            roc.append(_auroc_rows(vb[two], yb[two]))
            prc.append(_auprc_rows(vb[two], yb[two]))
        roc_a, prc_a = np.concatenate(roc), np.concatenate(prc)
        if roc_a.size:
            q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
            out["auroc_lo"], out["auroc_hi"] = (float(x) for x in np.percentile(roc_a, q))
            out["auprc_lo"], out["auprc_hi"] = (float(x) for x in np.percentile(prc_a, q))
        out["n_boot"] = int(roc_a.size)
    return out


def sign_consistency(scores: np.ndarray, labels: np.ndarray, direction: np.ndarray) -> dict:
    """Fraction of positives whose score has the sign of the measured allelic effect.

    Parameters
    ----------
    scores
        Signed scores (ALT minus REF).
    labels
        0/1 labels; only positives count.
    direction
        +1/-1/0 measured direction; 0 (unknown) does not count, nor does a score of 0 or NaN.

    Returns
    -------
    dict
        ``n`` (positives counted), ``n_agree``, ``fraction`` (NaN when ``n`` is 0) and
        ``binom_p``: two-sided exact binomial test of ``n_agree`` out of ``n`` against 0.5.
    """
    from scipy.stats import binomtest  # deferred: scipy is slow to import; validate imports this module

    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    d = np.asarray(direction).astype(np.int64)
    use = (y == 1) & (d != 0) & np.isfinite(s) & (s != 0)
    n = int(use.sum())
    agree = int((np.sign(s[use]).astype(np.int64) == np.sign(d[use])).sum())
    return dict(n=n, n_agree=agree, fraction=agree / n if n else np.nan,
                binom_p=float(binomtest(agree, n, 0.5).pvalue) if n else np.nan)


def quantile_bins(values: np.ndarray, n_bins: int = 5) -> np.ndarray:
    """Quantile bin (1 = lowest .. ``n_bins`` = highest) of each value by its rank.

    Bin ``ceil(rank * n_bins / n)``: equal sizes up to ties. Tied values share the bin of the
    lowest rank among them (``rankdata(method="min")``), so a block of equal scores (say, the
    zeros of a motif baseline) sits in the lowest bin it reaches and never inflates a higher one.

    Parameters
    ----------
    values : numpy.ndarray
        Scores, 1-D, all finite (callers drop NaN first).
    n_bins : int, optional
        Number of quantile bins (5: quintiles).

    Returns
    -------
    numpy.ndarray
        int64 bin of each value, in ``[1, n_bins]``; empty for empty ``values``.
    """
    from scipy.stats import rankdata  # deferred: scipy is slow to import; validate imports this module

    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return np.zeros(0, dtype=np.int64)
    r = rankdata(v, method="min")
    return np.clip(np.ceil(r * n_bins / v.size - 1e-9).astype(np.int64), 1, n_bins)


def enrichment_by_quantile(values: np.ndarray, labels: np.ndarray, n_bins: int = 5) -> pd.DataFrame:
    """Fraction of positives in each quantile of ``values`` over the overall fraction.

    Parameters
    ----------
    values
        Scores (the benchmark passes ``|score|``); NaN dropped.
    labels
        0/1 labels.
    n_bins
        Quantiles (5: quintiles).

    Returns
    -------
    pandas.DataFrame
        One row per quantile 1..``n_bins`` (``n_bins`` = highest scores): ``quantile``, ``n``,
        ``n_pos``, ``n_neg``, ``frac_pos``, ``overall_frac``, ``enrichment`` =
        ``frac_pos / overall_frac``, ``odds_ratio`` (positives:negatives inside the quantile over
        outside; 0.5 added to every cell when one is 0) and ``fisher_p`` (two-sided Fisher exact
        test of the 2 x 2 table); ratios and p NaN for an empty quantile (ties can empty one).
    """
    from scipy.stats import fisher_exact  # deferred: scipy is slow to import; validate imports this module

    v = np.asarray(values, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    keep = np.isfinite(v)
    v, y = v[keep], y[keep]
    q = quantile_bins(v, n_bins)
    tot_pos, tot = int(y.sum()), int(y.size)
    overall = tot_pos / tot if tot else np.nan
    rows = []
    for b in range(1, n_bins + 1):
        m = q == b
        n, npos = int(m.sum()), int(y[m].sum())
        nneg = n - npos
        a, bb, c, d = npos, nneg, tot_pos - npos, (tot - tot_pos) - nneg
        if min(a, bb, c, d) == 0:
            odds = ((a + 0.5) * (d + 0.5)) / ((bb + 0.5) * (c + 0.5))
        else:
            odds = (a * d) / (bb * c)
        frac = npos / n if n else np.nan
        rows.append(dict(quantile=b, n=n, n_pos=npos, n_neg=nneg, frac_pos=frac, overall_frac=overall,
                         enrichment=frac / overall if n and overall > 0 else np.nan,
                         odds_ratio=float(odds) if n else np.nan,
                         fisher_p=float(fisher_exact([[a, bb], [c, d]]).pvalue) if n else np.nan))
    return pd.DataFrame(rows)


def maf_bins(values: np.ndarray, af: np.ndarray, edges: Sequence[float] = MAF_EDGES) -> pd.DataFrame:
    """Mean and median ``|score|`` per minor-allele-frequency bin.

    Parameters
    ----------
    values
        Signed scores (their absolute value is summarised); NaN dropped.
    af
        Alternative-allele frequencies; MAF = ``min(af, 1 - af)``. NaN dropped.
    edges
        Bin edges: ``[e0, e1), [e1, e2), ..., [e_{k-1}, e_k]`` (the last bin closed).

    Returns
    -------
    pandas.DataFrame
        One row per bin: ``maf_bin`` (``"0-0.01"``...), ``maf_lo``, ``maf_hi``, ``n``,
        ``mean_abs_score``, ``median_abs_score`` (NaN for an empty bin).
    """
    v = np.abs(np.asarray(values, dtype=np.float64))
    a = np.asarray(af, dtype=np.float64)
    keep = np.isfinite(v) & np.isfinite(a)
    v, a = v[keep], a[keep]
    maf = np.minimum(a, 1.0 - a)
    e = np.asarray(edges, dtype=np.float64)
    b = np.clip(np.searchsorted(e, maf, side="right") - 1, 0, len(e) - 2)
    rows = []
    for k in range(len(e) - 1):
        m = b == k
        rows.append(dict(maf_bin=f"{e[k]:g}-{e[k + 1]:g}", maf_lo=float(e[k]), maf_hi=float(e[k + 1]), n=int(m.sum()),
                         mean_abs_score=float(v[m].mean()) if m.any() else np.nan,
                         median_abs_score=float(np.median(v[m])) if m.any() else np.nan))
    return pd.DataFrame(rows)


def top_mask(values: np.ndarray, top_frac: float = 0.1) -> np.ndarray:
    """The ``ceil(top_frac * n)`` largest ``|values|`` (ties broken by position: stable).

    Parameters
    ----------
    values : numpy.ndarray
        Signed scores, 1-D (ranked by absolute value).
    top_frac : float, optional
        Fraction of the values to mark.

    Returns
    -------
    numpy.ndarray
        Boolean mask, same length as ``values``, True for the top values.
    """
    v = np.abs(np.asarray(values, dtype=np.float64))
    k = int(math.ceil(top_frac * v.size - 1e-9))
    m = np.zeros(v.size, dtype=bool)
    if k:
        m[np.argsort(-v, kind="stable")[:k]] = True
    return m


def conservation_top(values: np.ndarray, conservation: np.ndarray, top_frac: float = 0.1) -> dict:
    """Conservation of the top ``top_frac`` ``|score|`` variants against the others.

    Parameters
    ----------
    values
        Signed scores; NaN dropped.
    conservation
        Conservation at each variant (:func:`conservation_at`); NaN dropped.
    top_frac
        Fraction of variants called top (``ceil(top_frac * n)`` of them, :func:`top_mask`).

    Returns
    -------
    dict
        ``n_top``, ``n_rest``, ``top_mean``, ``rest_mean``, ``top_median``, ``rest_median``,
        ``mwu_u`` (Mann-Whitney U of top vs rest), ``mwu_p`` (two-sided) and ``mwu_p_greater``
        (one-sided: top more conserved); NaN where a group is empty.
    """
    from scipy.stats import mannwhitneyu  # deferred: scipy is slow to import; validate imports this module

    v = np.asarray(values, dtype=np.float64)
    c = np.asarray(conservation, dtype=np.float64)
    keep = np.isfinite(v) & np.isfinite(c)
    v, c = v[keep], c[keep]
    top = top_mask(v, top_frac)
    ct, cr = c[top], c[~top]
    out = dict(n_top=int(ct.size), n_rest=int(cr.size),
               top_mean=float(ct.mean()) if ct.size else np.nan, rest_mean=float(cr.mean()) if cr.size else np.nan,
               top_median=float(np.median(ct)) if ct.size else np.nan,
               rest_median=float(np.median(cr)) if cr.size else np.nan, mwu_u=np.nan, mwu_p=np.nan, mwu_p_greater=np.nan)
    if ct.size and cr.size:
        two = mannwhitneyu(ct, cr, alternative="two-sided")
        out.update(mwu_u=float(two.statistic), mwu_p=float(two.pvalue),
                   mwu_p_greater=float(mannwhitneyu(ct, cr, alternative="greater").pvalue))
    return out


def heatmap_table(frame: pd.DataFrame, n: int = 30, model: str = "") -> pd.DataFrame:
    """The ``n`` variants with the largest max ``|score|`` over cell types, x cell types.

    Parameters
    ----------
    frame
        A model's scores, key x cell type.
    n
        Variants kept.
    model
        Name written in the ``model`` column.

    Returns
    -------
    pandas.DataFrame
        Columns ``key``, ``model``, ``max_abs_score``, then one column per cell type (signed
        scores), rows by decreasing ``max_abs_score`` (ties: key order).
    """
    m = frame.abs().max(axis=1, skipna=True)
    m = m[np.isfinite(m.to_numpy(dtype=np.float64))]
    order = np.argsort(-m.to_numpy(dtype=np.float64), kind="stable")[:n]
    keys = m.index[order]
    out = frame.loc[keys].copy()
    out.insert(0, "max_abs_score", m.iloc[order].to_numpy())
    out.insert(0, "model", model)
    out.index.name = "key"
    return out.reset_index()


# --------------------------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------------------------
def _as_frame(model: pd.DataFrame | pd.Series, cell_types: Sequence[str]) -> tuple[pd.DataFrame, dict[str, bool]]:
    """A model as key x cell type and its agnostic flags (a Series: the same score everywhere)."""
    if isinstance(model, pd.Series):
        s = model.groupby(level=0).mean() if not model.index.is_unique else model
        frame = pd.DataFrame({ct: s.to_numpy(dtype=np.float64) for ct in cell_types}, index=s.index)
        frame.index.name = "key"
        return frame, {ct: True for ct in cell_types}
    flags = dict(model.attrs.get("agnostic", {}) or {})
    return model, {ct: bool(flags.get(ct, False)) for ct in model.columns}


def benchmark(
    models: Mapping[str, pd.DataFrame | pd.Series],
    labels: pd.DataFrame,
    *,
    af: pd.Series | None = None,
    conservation: pd.Series | None = None,
    n_boot: int = 200,
    seed: int = 0,
    finetuned: Iterable[str] = (),
    top_frac: float = 0.1,
    n_heatmap: int = 30,
    n_quantiles: int = 5,
) -> dict[str, pd.DataFrame]:
    """Every table of the variant benchmark.

    Parameters
    ----------
    models
        Name -> scores: a key x cell-type DataFrame (:func:`model_cell_type_scores`; its
        ``attrs["agnostic"]`` flags are carried into the tables) or a Series key -> score (a
        baseline: the same score in every cell type, flagged agnostic). Scores are signed
        (ALT minus REF).
    labels
        :func:`read_labels`' frame (``key``, ``cell_type``, ``label``, ``direction``).
    af
        Series key -> alternative-allele frequency (:func:`allele_frequencies`); the ``maf`` table
        is empty without it.
    conservation
        Series key -> conservation (:func:`conservation_at`); the ``conservation`` table is empty
        without it.
    n_boot, seed
        Bootstrap of AUROC/AUPRC (:func:`ranking_metrics`); the seed of a cell type is
        ``seed + its index`` in sorted order, so all models of a cell type share the resamples.
    finetuned
        Names of fine-tuned models: the heatmap shows the first of them present in ``models``
        (else the first model).
    top_frac
        Fraction of variants called top in the conservation comparison.
    n_heatmap
        Variants in the heatmap.
    n_quantiles
        Quantiles of the enrichment table (5: quintiles).

    Returns
    -------
    dict of pandas.DataFrame
        ``auroc``, ``sign_consistency``, ``enrichment`` (labelled variants of each cell type,
        ``|score|`` quantiles within the cell type), ``maf`` and ``conservation`` (every scored
        variant with a value, per model and cell type; ``maf`` also has ``cell_type`` = ``all``:
        the mean ``|score|`` over the model's cell types), ``heatmap`` (:func:`heatmap_table`) and
        ``conservation_values`` (model, cell_type, key, conservation, top: the values behind the
        conservation box plot). Columns: :data:`AUROC_COLUMNS`, :data:`SIGN_COLUMNS`,
        :data:`ENRICHMENT_COLUMNS`, :data:`MAF_COLUMNS`, :data:`CONSERVATION_COLUMNS`.
        Labelled variants without a score (absent key, NaN) are left out and counted in
        ``n_missing``; a cell type the model has no column for has NaN metrics.
    """
    need = [c for c in ("key", "cell_type", "label", "direction") if c not in labels.columns]
    if need:
        raise ValueError(f"labels lack column(s) {need}")
    if not models:
        raise ValueError("no models")
    cell_types = sorted(labels["cell_type"].astype(str).unique())
    by_ct = {ct: g for ct, g in labels.groupby(labels["cell_type"].astype(str), sort=True)}
    frames: dict[str, tuple[pd.DataFrame, dict[str, bool]]] = {name: _as_frame(m, cell_types) for name, m in models.items()}
    auroc_rows, sign_rows, enr_parts, maf_parts, cons_rows, cons_vals = [], [], [], [], [], []
    for name, (frame, flags) in frames.items():
        for ci, ct in enumerate(cell_types):
            g = by_ct[ct]
            base = dict(model=name, cell_type=ct, agnostic=bool(flags.get(ct, False)))
            if ct in frame.columns:
                s = frame[ct].reindex(g["key"].astype(str)).to_numpy(dtype=np.float64)
            else:
                s = np.full(len(g), np.nan)
            y = g["label"].to_numpy(dtype=np.int64)
            d = g["direction"].to_numpy(dtype=np.int64)
            ok = np.isfinite(s)
            rm = ranking_metrics(np.abs(s[ok]), y[ok], n_boot=n_boot, seed=seed + ci)
            auroc_rows.append({**base, **rm, "n_missing": int((~ok).sum())})
            sign_rows.append({**base, **sign_consistency(s, y, d)})
            e = enrichment_by_quantile(np.abs(s), y, n_quantiles)
            for k, v in base.items():
                e[k] = v
            enr_parts.append(e)
        cts_here = [ct for ct in frame.columns]
        if af is not None and cts_here:
            a = af.groupby(level=0).first() if not af.index.is_unique else af
            a = a.reindex(frame.index).to_numpy(dtype=np.float64)
            for ct in cts_here:
                t = maf_bins(frame[ct].to_numpy(dtype=np.float64), a)
                t.insert(0, "cell_type", ct)
                t.insert(0, "model", name)
                maf_parts.append(t)
            t = maf_bins(frame[cts_here].abs().mean(axis=1, skipna=True).to_numpy(dtype=np.float64), a)
            t.insert(0, "cell_type", "all")
            t.insert(0, "model", name)
            maf_parts.append(t)
        if conservation is not None:
            cv = conservation.groupby(level=0).first() if not conservation.index.is_unique else conservation
            c = cv.reindex(frame.index).to_numpy(dtype=np.float64)
            for ct in cts_here:
                v = frame[ct].to_numpy(dtype=np.float64)
                cons_rows.append(dict(model=name, cell_type=ct, agnostic=bool(flags.get(ct, False)),
                                      **conservation_top(v, c, top_frac)))
                keep = np.isfinite(v) & np.isfinite(c)
                cons_vals.append(pd.DataFrame({"model": name, "cell_type": ct, "key": frame.index[keep],
                                               "conservation": c[keep], "top": top_mask(v[keep], top_frac)}))
    fin = [m for m in finetuned if m in frames]
    ref = fin[0] if fin else next(iter(frames))
    ref_frame = frames[ref][0]
    return {
        "auroc": pd.DataFrame(auroc_rows, columns=AUROC_COLUMNS),
        "sign_consistency": pd.DataFrame(sign_rows, columns=SIGN_COLUMNS),
        "enrichment": (pd.concat(enr_parts, ignore_index=True)[ENRICHMENT_COLUMNS] if enr_parts
                       else pd.DataFrame(columns=ENRICHMENT_COLUMNS)),
        "maf": pd.concat(maf_parts, ignore_index=True)[MAF_COLUMNS] if maf_parts else pd.DataFrame(columns=MAF_COLUMNS),
        "conservation": pd.DataFrame(cons_rows, columns=CONSERVATION_COLUMNS),
        "conservation_values": (pd.concat(cons_vals, ignore_index=True) if cons_vals
                                else pd.DataFrame(columns=["model", "cell_type", "key", "conservation", "top"])),
        "heatmap": heatmap_table(ref_frame[[c for c in ref_frame.columns]], n_heatmap, ref),
    }


# --------------------------------------------------------------------------------------------
# outputs
# --------------------------------------------------------------------------------------------
def _tsv(df: pd.DataFrame) -> str:
    return df.to_csv(sep="\t", index=False, na_rep="NA", float_format="%.6g", lineterminator="\n")


def _save(fig, path: Path) -> None:
    """Save a figure atomically (temporary sibling, then rename)."""
    import matplotlib.pyplot as plt  # deferred: matplotlib is heavy; variants is a light stage

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png", dpi=110)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def _plot_auroc(au: pd.DataFrame, models: list[str], cts: list[str], colors, out: Path) -> Path | None:
    """``auroc.png``: AUROC and AUPRC bars with their bootstrap intervals, per cell type and model.

    Parameters
    ----------
    au
        The ``auroc`` table.
    models, cts
        The models and cell types, in order of first appearance in ``au``.
    colors
        The colour map of the models.
    out
        The output folder.

    Returns
    -------
    pathlib.Path or None
        The figure written, or None for an empty table.
    """
    import matplotlib.pyplot as plt  # deferred: matplotlib is heavy; variants is a light stage

    if not len(au):
        return None
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 0.6 * len(cts) * max(1, len(models)) + 2), 7), squeeze=False)
    width = 0.8 / max(1, len(models))
    for ax, metric in zip(axes[:, 0], ("auroc", "auprc")):
        for mi, m in enumerate(models):
            d = au[au["model"] == m].set_index("cell_type").reindex(cts)
            x = np.arange(len(cts)) + (mi - (len(models) - 1) / 2) * width
            est = d[metric].to_numpy(dtype=float)
            lo = d[f"{metric}_lo"].to_numpy(dtype=float)
            hi = d[f"{metric}_hi"].to_numpy(dtype=float)
            err = np.vstack([np.nan_to_num(est - lo), np.nan_to_num(hi - est)])
            ax.bar(x, np.nan_to_num(est), width, yerr=np.clip(err, 0, None), capsize=2, color=colors(mi % 10),
                   label=m, hatch=["//" if a else "" for a in d["agnostic"].fillna(False)])
        if metric == "auroc":
            ax.axhline(0.5, color="grey", lw=0.8, ls="--")
        else:
            base = au.groupby("cell_type")["auprc_baseline"].first().reindex(cts).to_numpy(dtype=float)
            ax.scatter(np.arange(len(cts)), base, marker="_", s=400, color="black", label="positive fraction",
                       zorder=3)
        ax.set_ylabel(metric.upper() + " (95% CI)")
        ax.set_ylim(0, 1.05)
        ax.set_xticks(np.arange(len(cts)))
        ax.set_xticklabels(cts, rotation=45, ha="right", fontsize=8)
    axes[0, 0].legend(fontsize=7, title="hatched: cell-type\nagnostic", title_fontsize=7, loc="upper left",
                      bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    _save(fig, out / "auroc.png")
    return out / "auroc.png"


def _plot_sign_consistency(sc: pd.DataFrame, models: list[str], cts: list[str], colors, out: Path) -> Path | None:
    """``sign_consistency.png``: the fraction of positives whose score has the observed sign.

    Parameters
    ----------
    sc
        The ``sign_consistency`` table.
    models, cts
        The models and cell types of the ``auroc`` table.
    colors
        The colour map of the models.
    out
        The output folder.

    Returns
    -------
    pathlib.Path or None
        The figure written, or None for an empty table.
    """
    import matplotlib.pyplot as plt  # deferred: matplotlib is heavy; variants is a light stage

    if not len(sc):
        return None
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(cts) * max(1, len(models)) + 2), 3.5))
    width = 0.8 / max(1, len(models))
    for mi, m in enumerate(models):
        d = sc[sc["model"] == m].set_index("cell_type").reindex(cts)
        x = np.arange(len(cts)) + (mi - (len(models) - 1) / 2) * width
        ax.bar(x, np.nan_to_num(d["fraction"].to_numpy(dtype=float)), width, color=colors(mi % 10), label=m)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("sign consistency")
    ax.set_xticks(np.arange(len(cts)))
    ax.set_xticklabels(cts, rotation=45, ha="right", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, out / "sign_consistency.png")
    return out / "sign_consistency.png"


def _plot_enrichment(en: pd.DataFrame, models: list[str], colors, out: Path) -> Path | None:
    """``enrichment.png``: positives' enrichment by ``|score|`` quantile, counts pooled over cell types.

    Parameters
    ----------
    en
        The ``enrichment`` table.
    models
        The models of the ``auroc`` table.
    colors
        The colour map of the models.
    out
        The output folder.

    Returns
    -------
    pathlib.Path or None
        The figure written, or None for an empty table.
    """
    import matplotlib.pyplot as plt  # deferred: matplotlib is heavy; variants is a light stage

    if not len(en):
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for mi, m in enumerate(models):
        d = en[en["model"] == m].groupby("quantile")[["n_pos", "n"]].sum()
        overall = d["n_pos"].sum() / max(1, d["n"].sum())
        ratio = (d["n_pos"] / d["n"].where(d["n"] > 0)) / overall if overall > 0 else d["n_pos"] * np.nan
        ax.plot(d.index, ratio, marker="o", color=colors(mi % 10), label=m)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    nq = int(en["quantile"].max())
    ax.set_xticks(np.arange(1, nq + 1))
    ax.set_xlabel(f"|score| quantile within cell type (1..{nq}; counts pooled over cell types)")
    ax.set_ylabel("ASoC enrichment (fraction positive / overall)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, out / "enrichment.png")
    return out / "enrichment.png"


def _plot_maf(mf: pd.DataFrame, models: list[str], colors, out: Path) -> Path | None:
    """``maf.png``: mean ``|score|`` by minor-allele-frequency bin (mean over cell types).

    Parameters
    ----------
    mf
        The ``maf`` table.
    models
        The models of the ``auroc`` table.
    colors
        The colour map of the models.
    out
        The output folder.

    Returns
    -------
    pathlib.Path or None
        The figure written, or None for an empty table.
    """
    import matplotlib.pyplot as plt  # deferred: matplotlib is heavy; variants is a light stage

    if not len(mf):
        return None
    d = mf[mf["cell_type"] == "all"]
    if d.empty:
        d = mf.groupby(["model", "maf_bin", "maf_lo"], as_index=False)["mean_abs_score"].mean()
    bins = list(dict.fromkeys(mf.sort_values("maf_lo")["maf_bin"]))
    fig, ax = plt.subplots(figsize=(6, 4))
    width = 0.8 / max(1, len(models))
    for mi, m in enumerate(models):
        dm = d[d["model"] == m].set_index("maf_bin").reindex(bins)
        x = np.arange(len(bins)) + (mi - (len(models) - 1) / 2) * width
        ax.bar(x, np.nan_to_num(dm["mean_abs_score"].to_numpy(dtype=float)), width, color=colors(mi % 10), label=m)
    ax.set_xticks(np.arange(len(bins)))
    ax.set_xticklabels(bins)
    ax.set_xlabel("minor-allele frequency")
    ax.set_ylabel("mean |score| (mean over cell types)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, out / "maf.png")
    return out / "maf.png"


def _plot_conservation(cvals: pd.DataFrame | None, models: list[str], cts: list[str], out: Path) -> Path | None:
    """``conservation.png``: box plots of the top variants' conservation against the rest's.

    Parameters
    ----------
    cvals
        The ``conservation_values`` table, or None.
    models, cts
        The models and cell types of the ``auroc`` table.
    out
        The output folder.

    Returns
    -------
    pathlib.Path or None
        The figure written, or None without conservation values.
    """
    import matplotlib.pyplot as plt  # deferred: matplotlib is heavy; variants is a light stage

    if cvals is None or not len(cvals):
        return None
    fig, axes = plt.subplots(len(models), 1, figsize=(max(6, 0.7 * len(cts) + 2), 3 * len(models)), squeeze=False)
    for ax, m in zip(axes[:, 0], models):
        dm = cvals[cvals["model"] == m]
        cts_m = [c for c in cts if c in set(dm["cell_type"])]
        data, pos = [], []
        for i, ct in enumerate(cts_m):
            dc = dm[dm["cell_type"] == ct]
            data += [dc.loc[dc["top"].astype(bool), "conservation"].to_numpy(float),
                     dc.loc[~dc["top"].astype(bool), "conservation"].to_numpy(float)]
            pos += [3 * i, 3 * i + 1]
        if data:
            bp = ax.boxplot(data, positions=pos, widths=0.8, showfliers=False, patch_artist=True)
            for k, patch in enumerate(bp["boxes"]):
                patch.set_facecolor("#cc6677" if k % 2 == 0 else "#dddddd")
        ax.set_xticks([3 * i + 0.5 for i in range(len(cts_m))])
        ax.set_xticklabels(cts_m, rotation=45, ha="right", fontsize=8)
        ax.set_ylabel("conservation")
        ax.set_title(f"{m}: top |score| (red) vs rest (grey)", fontsize=9)
    fig.tight_layout()
    _save(fig, out / "conservation.png")
    return out / "conservation.png"


def _plot_heatmap(hm: pd.DataFrame, out: Path) -> Path | None:
    """``heatmap.png``: the heatmap table's scores, variants x cell types.

    Parameters
    ----------
    hm
        The ``heatmap`` table (:func:`heatmap_table`).
    out
        The output folder.

    Returns
    -------
    pathlib.Path or None
        The figure written, or None for an empty table.
    """
    import matplotlib.pyplot as plt  # deferred: matplotlib is heavy; variants is a light stage

    if not len(hm):
        return None
    vals_cols = [c for c in hm.columns if c not in ("key", "model", "max_abs_score")]
    mat = hm[vals_cols].to_numpy(dtype=float)
    lim = float(np.nanmax(np.abs(mat))) if np.isfinite(mat).any() else 1.0
    fig, ax = plt.subplots(figsize=(max(5, 0.45 * len(vals_cols) + 3), max(4, 0.22 * len(hm) + 1.5)))
    im = ax.imshow(mat, aspect="auto", cmap="RdBu_r", vmin=-lim or -1, vmax=lim or 1)
    ax.set_xticks(np.arange(len(vals_cols)))
    ax.set_xticklabels(vals_cols, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(hm)))
    ax.set_yticklabels(hm["key"], fontsize=6)
    ax.set_title(f"{hm['model'].iloc[0]}: top variants by max |score|", fontsize=9)
    fig.colorbar(im, ax=ax, label="score (ALT - REF)")
    fig.tight_layout()
    _save(fig, out / "heatmap.png")
    return out / "heatmap.png"


def plots(results: Mapping[str, pd.DataFrame], outdir: str | os.PathLike) -> list[Path]:
    """Write the benchmark's tables (TSV) and figures (PNG) into ``outdir``.

    Parameters
    ----------
    results
        :func:`benchmark`'s dict.
    outdir
        Created when absent.

    Returns
    -------
    list of pathlib.Path
        The files written: ``auroc.tsv``, ``sign_consistency.tsv``, ``enrichment.tsv``,
        ``maf.tsv``, ``conservation.tsv``, ``heatmap.tsv`` (all written together, atomically:
        temporary siblings renamed into place once all are written; ``NA`` for missing values),
        and the figures ``auroc.png`` (AUROC and AUPRC bars with their bootstrap intervals, per
        cell type and model), ``enrichment.png`` (positives' enrichment by ``|score|``
        quintile), ``sign_consistency.png``, ``maf.png`` (mean ``|score|`` by MAF bin; only with
        a non-empty ``maf`` table), ``conservation.png`` (box plots of the top variants against
        the rest; only with conservation values) and ``heatmap.png``, each written atomically.
    """
    # deferred: matplotlib is heavy; variants is a light stage
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: as above

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    write_files({out / f"{name}.tsv": _tsv(results[name]) for name in TABLES})
    written = [out / f"{name}.tsv" for name in TABLES]
    colors = plt.get_cmap("tab10")

    au = results["auroc"]
    models = list(dict.fromkeys(au["model"]))
    cts = list(dict.fromkeys(au["cell_type"]))
    figures = [
        _plot_auroc(au, models, cts, colors, out),
        _plot_sign_consistency(results["sign_consistency"], models, cts, colors, out),
        _plot_enrichment(results["enrichment"], models, colors, out),
        _plot_maf(results["maf"], models, colors, out),
        _plot_conservation(results.get("conservation_values"), models, cts, out),
        _plot_heatmap(results["heatmap"], out),
    ]
    written += [path for path in figures if path is not None]
    return written
