"""PrediXcan-style linear baseline for the personal-genome benchmark.

Two ways to get a per-individual genetic prediction of each gene's expression:

* :func:`elastic_net_cv` trains on the cohort itself: an elastic net (``l1_ratio = 0.5``, PredictDB's
  glmnet ``alpha = 0.5``) on the gene's cis SNV ALT dosages after a MAF filter (default 0.01), with
  nested cross-validation across individuals: the outer K folds give an out-of-fold prediction for
  every individual (so R is never measured on training data) and, inside each outer training set,
  ``ElasticNetCV`` with an inner K-fold chooses the penalty. Folds are seeded. Dosages are mean-imputed
  and standardised inside each training fold (glmnet's default ``standardize = TRUE``; scikit-learn's
  objective ``1/(2n) RSS + a (r |w|_1 + (1 - r)/2 |w|^2)`` is glmnet's with ``lambda = a``).
* :func:`predict_predictdb` applies published PredictDB models (``.db`` SQLite: ``weights(gene, rsid,
  varID, ref_allele, eff_allele, weight)``, ``extra(gene, genename, "n.snps.in.model", ...)``):
  prediction = sum over the model's SNVs of ``weight x dosage of eff_allele``, as MetaXcan's Predict.py.

Variant matching (:func:`match_predictdb_weights`): a model SNV is located in our variants by
position (chromosome names harmonised with :func:`seq2func.chroms.canonical`), parsed from its
``varID`` in any of the styles ``chr22_123_A_G_b37``, ``22_123_A_G_b38``, ``22:123:A:G``,
``chr22:123:A:G`` (:func:`parse_variant_id`), or through its ``rsid`` when an rsID -> our-variant-ID
mapping is supplied (used when the varID does not parse or finds nothing). Then alleles decide:

* our REF/ALT == model ref/eff: used as is;
* our REF/ALT == model eff/ref: **flipped**, the dosage of the effect allele is ``2 - ALT dosage``;
* our alleles == the complement (other strand) of the model's, for strand-unambiguous SNVs: the same
  two rules after complementing the model's alleles (counted as ``strand_flipped``);
* strand-ambiguous SNVs (A/T, C/G: the complement of the pair is the pair itself) cannot be resolved
  by alleles. Both PredictDB (GTEx v8) and our VCFs are written on the reference genome's + strand, so
  by default they are matched as written, never complemented, and counted in ``ambiguous``;
  ``drop_ambiguous=True`` leaves them out instead (counted as unmatched);
* anything else (position absent, different alleles, e.g. another ALT of a multi-allelic site):
  unmatched; unmatched SNVs contribute 0, as in Predict.py.

Missing dosages (NaN) are replaced by the variant's mean over the individuals (i.e. 2 x allele
frequency), the usual PrediXcan imputation.
"""

from __future__ import annotations

import inspect
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNetCV
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from seq2func.chroms import canonical
from seq2func.errors import InputError
from seq2func.personal.stats import pearson_r

__all__ = [
    "ElasticNetResult",
    "PredictDBResult",
    "elastic_net_cv",
    "elastic_net_genes",
    "load_predictdb",
    "maf_filter",
    "make_elastic_net",
    "match_predictdb_weights",
    "outer_folds",
    "parse_variant_id",
    "predict_predictdb",
    "variant_key",
]

_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


# --------------------------------------------------------------------------------------------------
# Elastic net with nested cross-validation
# --------------------------------------------------------------------------------------------------
def maf_filter(dosage: np.ndarray, min_maf: float = 0.01) -> np.ndarray:
    """Boolean mask of SNV columns (``dosage`` is individuals x SNVs, ALT dosages 0..2, NaN missing)
    with minor allele frequency ``>= min_maf`` and a non-constant dosage among the observed values.

    Parameters
    ----------
    dosage : numpy.ndarray
        ``(individuals, snvs)`` ALT dosages; NaN = missing.
    min_maf : float, optional
        Smallest minor allele frequency kept (default 0.01).

    Returns
    -------
    numpy.ndarray
        ``(snvs,)`` bool mask of the SNVs kept.
    """
    d = np.asarray(dosage, dtype=float)
    if d.shape[1] == 0:
        return np.zeros(0, dtype=bool)
    with np.errstate(invalid="ignore"):
        af = np.nanmean(d, axis=0) / 2.0
        sd = np.nanstd(d, axis=0)
    maf = np.minimum(af, 1.0 - af)
    return (np.nan_to_num(maf, nan=-1.0) >= min_maf) & (np.nan_to_num(sd) > 0)


def _alphas_kw(n_alphas: int) -> dict:
    """``ElasticNetCV`` takes the number of penalties as ``n_alphas`` (<1.7) or ``alphas=int``."""
    params = inspect.signature(ElasticNetCV).parameters
    return {"n_alphas": n_alphas} if "n_alphas" in params else {"alphas": n_alphas}


def make_elastic_net(
    *,
    l1_ratio: float = 0.5,
    inner_folds: int = 10,
    n_alphas: int = 100,
    seed: int = 0,
    standardize: bool = True,
    max_iter: int = 10000,
):
    """The per-fold model: mean imputation, optional standardisation, ``ElasticNetCV`` whose inner
    ``KFold(inner_folds, shuffle=True, random_state=seed)`` chooses the penalty.

    Parameters
    ----------
    l1_ratio : float, optional
        Elastic-net mixing between L1 and L2 (default 0.5, as PredictDB).
    inner_folds : int, optional
        Folds of the inner cross-validation choosing the penalty (default 10).
    n_alphas : int, optional
        Number of penalties on the path (default 100).
    seed : int, optional
        ``random_state`` of the inner ``KFold`` (default 0).
    standardize : bool, optional
        Standardise the dosages before fitting (default True).
    max_iter : int, optional
        Coordinate-descent iteration cap (default 10,000).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Unfitted imputer -> (scaler ->) ``ElasticNetCV`` pipeline.
    """
    inner = KFold(n_splits=inner_folds, shuffle=True, random_state=seed)
    enet = ElasticNetCV(l1_ratio=l1_ratio, cv=inner, max_iter=max_iter, **_alphas_kw(n_alphas))
    steps = [SimpleImputer(strategy="mean", keep_empty_features=True)]
    if standardize:
        steps.append(StandardScaler())
    steps.append(enet)
    return make_pipeline(*steps)


def outer_folds(n: int, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Outer folds: ``KFold(k, shuffle=True, random_state=seed)`` over ``n`` individuals.

    Parameters
    ----------
    n : int
        Number of individuals.
    k : int, optional
        Number of folds (default 5).
    seed : int, optional
        ``random_state`` of the shuffle (default 0).

    Returns
    -------
    list of tuple of numpy.ndarray
        ``(train, test)`` index arrays of each fold.
    """
    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros((n, 1))))


@dataclass
class ElasticNetResult:
    """Out-of-fold predictions of one gene and their Pearson R with expression.

    ``predictions`` has one value per individual of the input (NaN where expression was missing, or
    for every individual when no SNV passed the filter). ``alphas`` is the penalty chosen in each outer
    fold, ``n_nonzero`` the number of SNVs with a non-zero weight in each outer fold.
    """

    predictions: np.ndarray
    r: float
    n_snvs: int
    n_snvs_used: int
    alphas: list[float] = field(default_factory=list)
    n_nonzero: list[int] = field(default_factory=list)


def elastic_net_cv(
    dosage: np.ndarray,
    expression: np.ndarray,
    *,
    l1_ratio: float = 0.5,
    min_maf: float = 0.01,
    outer_k: int = 5,
    inner_k: int = 10,
    n_alphas: int = 100,
    seed: int = 0,
    standardize: bool = True,
) -> ElasticNetResult:
    """Nested-CV elastic net for one gene (see the module docstring).

    ``dosage`` is ``(individuals, snvs)`` ALT dosages, ``expression`` ``(individuals,)``. Individuals
    with missing expression are left out of training and get a NaN prediction. The outer folds are
    :func:`outer_folds` ``(n_with_expression, outer_k, seed)`` and each fold's model is
    :func:`make_elastic_net` with the same seed. A fold whose chosen model keeps no SNV predicts the
    fold's training mean (as any intercept-only model would); ``n_nonzero`` records it.

    Parameters
    ----------
    dosage : numpy.ndarray
        ``(individuals, snvs)`` ALT dosages; NaN = missing (mean-imputed within each fold).
    expression : numpy.ndarray
        ``(individuals,)`` expression; NaN = missing.
    l1_ratio : float, optional
        Elastic-net mixing (default 0.5).
    min_maf : float, optional
        MAF filter applied before fitting (:func:`maf_filter`; default 0.01).
    outer_k : int, optional
        Outer folds (default 5); fewer individuals with expression than this give no prediction.
    inner_k : int, optional
        Inner folds choosing the penalty (default 10).
    n_alphas : int, optional
        Number of penalties on the path (default 100).
    seed : int, optional
        Seed of the outer and inner folds (default 0).
    standardize : bool, optional
        Standardise the dosages (default True).

    Returns
    -------
    ElasticNetResult
        Out-of-fold predictions, their R with expression (NaN when nothing was fitted), SNV counts
        before and after the filter, and the penalty and non-zero weight count of each outer fold.

    Raises
    ------
    ValueError
        If ``dosage`` is not ``(individuals, snvs)`` matching ``expression``.
    """
    d = np.asarray(dosage, dtype=float)
    y = np.asarray(expression, dtype=float)
    if d.ndim != 2 or d.shape[0] != y.shape[0]:
        raise ValueError(f"dosage must be (individuals, snvs) with {y.shape[0]} rows, got {d.shape}")
    have = np.isfinite(y)
    keep = maf_filter(d[have], min_maf)
    x = d[have][:, keep]
    yy = y[have]
    pred = np.full(y.shape[0], np.nan)
    res = ElasticNetResult(pred, float("nan"), d.shape[1], int(keep.sum()))
    if x.shape[1] == 0 or yy.size < outer_k:
        return res
    oof = np.full(yy.size, np.nan)
    for train, test in outer_folds(yy.size, outer_k, seed):
        model = make_elastic_net(
            l1_ratio=l1_ratio,
            inner_folds=inner_k,
            n_alphas=n_alphas,
            seed=seed,
            standardize=standardize,
        )
        model.fit(x[train], yy[train])
        oof[test] = model.predict(x[test])
        enet = model[-1]
        res.alphas.append(float(enet.alpha_))
        res.n_nonzero.append(int(np.count_nonzero(enet.coef_)))
    pred[have] = oof
    res.r = float(pearson_r(oof, yy))
    return res


def elastic_net_genes(
    gene_ids: Sequence[str],
    dosages: Sequence[np.ndarray],
    expression: np.ndarray,
    **kwargs,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`elastic_net_cv` over genes. ``expression`` is ``(genes, individuals)``.

    Returns ``(predictions, summary)``: predictions ``(genes x individuals)`` with the gene IDs as
    index, and a per-gene table ``gene_id, r, n_snvs, n_snvs_used, mean_alpha, mean_n_nonzero``.

    Parameters
    ----------
    gene_ids : sequence of str
        Gene identifiers.
    dosages : sequence of numpy.ndarray
        Per gene, its ``(individuals, snvs)`` ALT dosages.
    expression : numpy.ndarray
        ``(genes, individuals)`` expression, genes in the order of ``gene_ids``.
    **kwargs
        Keyword arguments of :func:`elastic_net_cv` (``l1_ratio``, ``min_maf``, ``outer_k``, ...).

    Returns
    -------
    tuple of pandas.DataFrame
        ``(predictions, summary)`` as described above.
    """
    expression = np.asarray(expression, dtype=float)
    preds, rows = [], []
    for i, gid in enumerate(gene_ids):
        res = elastic_net_cv(dosages[i], expression[i], **kwargs)
        preds.append(res.predictions)
        rows.append(
            {
                "gene_id": gid,
                "r": res.r,
                "n_snvs": res.n_snvs,
                "n_snvs_used": res.n_snvs_used,
                "mean_alpha": float(np.mean(res.alphas)) if res.alphas else np.nan,
                "mean_n_nonzero": float(np.mean(res.n_nonzero)) if res.n_nonzero else np.nan,
            }
        )
    mat = np.vstack(preds) if preds else np.empty((0, expression.shape[-1]))
    columns = ["gene_id", "r", "n_snvs", "n_snvs_used", "mean_alpha", "mean_n_nonzero"]
    return pd.DataFrame(mat, index=list(gene_ids)), pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------------
# Variant IDs
# --------------------------------------------------------------------------------------------------
_VARID = re.compile(
    r"^(?:chr)?(?P<chrom>[0-9A-Za-z]+)[_:](?P<pos>\d+)[_:]"
    r"(?P<ref>[ACGTN]+)[_:](?P<alt>[ACGTN]+)(?:_b3[78])?$",
    re.IGNORECASE,
)


def parse_variant_id(variant_id: str) -> tuple[str, int, str, str] | None:
    """``(canonical chrom, pos, REF, ALT)`` of a variant ID, or None if it is not in a known style.

    Styles: ``chr22_123_A_G_b37``, ``22_123_A_G_b38`` (PredictDB/GTEx), ``22:123:A:G``,
    ``chr22:123:A:G``. Alleles are upper-cased; the chromosome goes through
    :func:`seq2func.chroms.canonical` (``chr22`` and ``22`` both give ``22``).

    Parameters
    ----------
    variant_id : str
        A variant ID.

    Returns
    -------
    tuple of (str, int, str, str) or None
        ``(chrom, pos, ref, alt)`` with the canonical chromosome and the 1-based position, or None.
    """
    m = _VARID.match(str(variant_id).strip())
    if not m:
        return None
    return canonical("chr" + m["chrom"]), int(m["pos"]), m["ref"].upper(), m["alt"].upper()


def variant_key(chrom: str, pos: int, ref: str, alt: str) -> tuple[str, int, str, str]:
    """The key variants are matched on: canonical chromosome, position, upper-case alleles.

    Parameters
    ----------
    chrom : str
        Chromosome, any spelling.
    pos : int
        1-based position.
    ref : str
        Reference allele.
    alt : str
        Alternative allele.

    Returns
    -------
    tuple of (str, int, str, str)
        ``(canonical chrom, pos, REF, ALT)``.
    """
    return canonical(str(chrom)), int(pos), ref.upper(), alt.upper()


def _is_ambiguous(a: str, b: str) -> bool:
    return len(a) == 1 and len(b) == 1 and a.translate(_COMPLEMENT) == b


# --------------------------------------------------------------------------------------------------
# PredictDB
# --------------------------------------------------------------------------------------------------
def load_predictdb(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a PredictDB ``.db``: ``(weights, extra)`` DataFrames. Raises InputError if it is not one.

    Parameters
    ----------
    path : str or pathlib.Path
        The SQLite ``.db`` file (opened read-only).

    Returns
    -------
    tuple of pandas.DataFrame
        ``weights`` (``gene, rsid, varID, ref_allele, eff_allele, weight``) and ``extra`` (the ``extra``
        table, or just the ``gene`` column when the db has none).

    Raises
    ------
    InputError
        If the file is missing or has no readable ``weights`` table.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "PredictDB file not found")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            weights = pd.read_sql_query(
                "SELECT gene, rsid, varID, ref_allele, eff_allele, weight FROM weights", con
            )
            try:
                extra = pd.read_sql_query("SELECT * FROM extra", con)
            except (pd.errors.DatabaseError, sqlite3.Error):
                extra = pd.DataFrame({"gene": weights["gene"].unique()})
        finally:
            con.close()
    except (pd.errors.DatabaseError, sqlite3.Error) as exc:
        raise InputError(path, "table weights", f"not a PredictDB database: {exc}") from exc
    return weights, extra


def match_predictdb_weights(
    weights: pd.DataFrame,
    variant_ids: Sequence[str],
    *,
    rsid_map: Mapping[str, str] | None = None,
    drop_ambiguous: bool = False,
) -> pd.DataFrame:
    """Locate each model SNV among our variants (see the module docstring for the rules).

    ``variant_ids`` are our variants (columns of the dosage matrix) in any supported style, with our
    REF/ALT. ``rsid_map`` maps rsIDs to entries of ``variant_ids``. Returns ``weights`` with added
    columns ``column`` (index into ``variant_ids``, -1 if unmatched), ``flip`` (bool: use 2 - dosage),
    ``strand_flipped`` (bool), ``ambiguous`` (bool: A/T or C/G SNV) and ``status``
    (``matched`` / ``flipped`` / ``unmatched``).

    Parameters
    ----------
    weights : pandas.DataFrame
        The ``weights`` table of :func:`load_predictdb`.
    variant_ids : sequence of str
        Our variants, in dosage-column order.
    rsid_map : mapping of str to str or None, optional
        rsID -> entry of ``variant_ids``, for weights whose ``varID`` matches nothing.
    drop_ambiguous : bool, optional
        Leave strand-ambiguous SNVs (A/T, C/G) unmatched (default False).

    Returns
    -------
    pandas.DataFrame
        ``weights`` with the columns described above.
    """
    by_pos: dict[tuple[str, int], list[tuple[int, str, str]]] = {}
    index_of: dict[str, int] = {}
    for j, vid in enumerate(variant_ids):
        index_of.setdefault(str(vid), j)
        parsed = parse_variant_id(vid)
        if parsed is not None:
            c, p, r, a = parsed
            by_pos.setdefault((c, p), []).append((j, r, a))

    def candidates(row) -> list[tuple[int, str, str]]:
        out: list[tuple[int, str, str]] = []
        parsed = parse_variant_id(row.varID) if isinstance(row.varID, str) else None
        if parsed is not None:
            out = by_pos.get(parsed[:2], [])
        if not out and rsid_map is not None and isinstance(row.rsid, str) and row.rsid in rsid_map:
            target = str(rsid_map[row.rsid])
            j = index_of.get(target)
            p2 = parse_variant_id(target)
            if j is not None and p2 is not None:
                out = [(j, p2[2], p2[3])]
        return out

    cols, flips, strand, ambig, status = [], [], [], [], []
    for row in weights.itertuples(index=False):
        mref, meff = str(row.ref_allele).upper(), str(row.eff_allele).upper()
        amb = _is_ambiguous(mref, meff)
        hit = (-1, False, False)
        if not (amb and drop_ambiguous):
            cands = candidates(row)
            for j, r, a in cands:  # same strand first
                if (r, a) == (mref, meff):
                    hit = (j, False, False)
                    break
                if (r, a) == (meff, mref):
                    hit = (j, True, False)
                    break
            if hit[0] < 0 and not amb:
                cref, ceff = mref.translate(_COMPLEMENT), meff.translate(_COMPLEMENT)
                for j, r, a in cands:
                    if (r, a) == (cref, ceff):
                        hit = (j, False, True)
                        break
                    if (r, a) == (ceff, cref):
                        hit = (j, True, True)
                        break
        cols.append(hit[0])
        flips.append(hit[1])
        strand.append(hit[2])
        ambig.append(amb)
        status.append("unmatched" if hit[0] < 0 else ("flipped" if hit[1] else "matched"))
    out = weights.copy()
    out["column"] = np.array(cols, dtype=int)
    out["flip"] = np.array(flips, dtype=bool)
    out["strand_flipped"] = np.array(strand, dtype=bool)
    out["ambiguous"] = np.array(ambig, dtype=bool)
    out["status"] = status
    return out


@dataclass
class PredictDBResult:
    """``predictions``: individuals x genes; ``counts``: per gene ``gene, genename, n_weights, matched,
    flipped, strand_flipped, ambiguous, unmatched`` (``matched`` includes the flipped ones);
    ``matches``: the per-weight table of :func:`match_predictdb_weights`."""

    predictions: pd.DataFrame
    counts: pd.DataFrame
    matches: pd.DataFrame


def predict_predictdb(
    db: str | Path | tuple[pd.DataFrame, pd.DataFrame],
    dosage: np.ndarray | pd.DataFrame,
    variant_ids: Sequence[str] | None = None,
    *,
    individuals: Sequence[str] | None = None,
    rsid_map: Mapping[str, str] | None = None,
    genes: Sequence[str] | None = None,
    drop_ambiguous: bool = False,
) -> PredictDBResult:
    """Predict expression with PredictDB models.

    ``dosage`` is ``(individuals, variants)`` ALT dosages (a DataFrame supplies ``individuals`` and
    ``variant_ids`` from its index and columns). ``db`` is a ``.db`` path or the ``(weights, extra)``
    pair of :func:`load_predictdb`; ``genes`` restricts the models used. Prediction per gene =
    sum of ``weight x effect-allele dosage`` over matched SNVs (missing dosages mean-imputed).

    Parameters
    ----------
    db : str or pathlib.Path or tuple of pandas.DataFrame
        The PredictDB file, or ``(weights, extra)`` already loaded.
    dosage : numpy.ndarray or pandas.DataFrame
        ``(individuals, variants)`` ALT dosages; NaN = missing.
    variant_ids : sequence of str or None, optional
        Our variant IDs, one per dosage column; required with an array.
    individuals : sequence of str or None, optional
        Individual IDs, the index of the predictions (None: a range index, or the DataFrame's index).
    rsid_map : mapping of str to str or None, optional
        rsID -> entry of ``variant_ids`` (:func:`match_predictdb_weights`).
    genes : sequence of str or None, optional
        Genes whose models are used, and their order; None = every gene of the db.
    drop_ambiguous : bool, optional
        Leave strand-ambiguous SNVs unmatched (default False).

    Returns
    -------
    PredictDBResult
        Predictions (individuals x genes), per-gene match counts and the per-weight match table.

    Raises
    ------
    ValueError
        If ``variant_ids`` is missing for an array, or its length does not match the dosage columns.
    InputError
        If ``db`` is a path that is not a PredictDB file.
    """
    if isinstance(dosage, pd.DataFrame):
        variant_ids = list(map(str, dosage.columns)) if variant_ids is None else variant_ids
        individuals = list(map(str, dosage.index)) if individuals is None else individuals
        dosage = dosage.to_numpy(dtype=float)
    if variant_ids is None:
        raise ValueError("variant_ids are required with an array dosage")
    d = np.asarray(dosage, dtype=float)
    if d.ndim != 2 or d.shape[1] != len(variant_ids):
        raise ValueError(f"dosage must be (individuals, {len(variant_ids)} variants), got {d.shape}")
    if np.isnan(d).any():
        with np.errstate(invalid="ignore"):
            means = np.nan_to_num(np.nanmean(d, axis=0))
        d = np.where(np.isnan(d), means[None, :], d)
    weights, extra = load_predictdb(db) if not isinstance(db, tuple) else db
    if genes is not None:
        weights = weights[weights["gene"].isin(set(genes))]
    m = match_predictdb_weights(weights, variant_ids, rsid_map=rsid_map, drop_ambiguous=drop_ambiguous)

    present = set(m["gene"])
    if genes is None:
        gene_order = list(dict.fromkeys(m["gene"]))
    else:
        gene_order = list(dict.fromkeys(g for g in genes if g in present))
    gidx = {g: i for i, g in enumerate(gene_order)}
    ok = m["column"].to_numpy() >= 0
    w = m["weight"].to_numpy(dtype=float)
    col = m["column"].to_numpy()
    flip = m["flip"].to_numpy()
    gi = m["gene"].map(gidx).to_numpy()
    # effect-allele dosage of every matched weight: ALT dosage, or 2 - ALT dosage when flipped
    eff = d[:, col[ok]]
    eff = np.where(flip[ok][None, :], 2.0 - eff, eff)
    # sum weights x dosages into genes with one sparse-free matrix product
    a = np.zeros((ok.sum(), len(gene_order)))
    a[np.arange(ok.sum()), gi[ok]] = w[ok]
    pred = eff @ a
    predictions = pd.DataFrame(pred, index=individuals, columns=gene_order)

    grp = m.assign(
        is_matched=ok,
        is_flipped=m["status"].eq("flipped"),
        is_unmatched=~ok,
        is_amb=m["ambiguous"] & ok,
        is_strand=m["strand_flipped"],
    ).groupby("gene", sort=False)
    counts = pd.DataFrame(
        {
            "n_weights": grp.size(),
            "matched": grp["is_matched"].sum(),
            "flipped": grp["is_flipped"].sum(),
            "strand_flipped": grp["is_strand"].sum(),
            "ambiguous": grp["is_amb"].sum(),
            "unmatched": grp["is_unmatched"].sum(),
        }
    ).reindex(gene_order)
    counts.index.name = "gene"
    counts = counts.reset_index()
    if "genename" in extra.columns:
        names = extra.drop_duplicates("gene").set_index("gene")["genename"]
        counts.insert(1, "genename", counts["gene"].map(names))
    return PredictDBResult(predictions, counts.astype({c: int for c in counts.columns[-6:]}), m)
