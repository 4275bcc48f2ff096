"""PredictDB models applied to the cohort VCF (the ``.db`` half of the baseline).

:func:`predictdb_for_genes` predicts the genes of a benchmark chunk with a published PredictDB
model (``bin/personal.py run --predictdb``), reading the cohort VCF at the model's own variants:
PredictDB models use variants within 1 Mb of the gene, far outside the personal window, so the
dosages are *not* those of the haplotype window.

Genes: a ``weights.gene`` matches one of our gene IDs exactly or, failing that, with a trailing
version stripped on both sides (``ENSG00000100030.14`` -> ``ENSG00000100030``,
:func:`seq2func.io.annotation.gene_key`). Several db genes falling on one of ours (two versions of one ID) keep the first
in db order, with a warning. A gene absent from the db gets NA everywhere.

Variants, per gene:

1. ``varID`` parsed in any style :func:`seq2func.personal.baselines.predixcan.parse_variant_id` knows
   (``chr22_123_A_G_b37``, ``22_123_A_G_b38``, ``22:123:A:G``, ``chr22:123:A:G``); the
   chromosome is renamed onto the VCF's spelling with :func:`seq2func.chroms.alias_map`
   (``22`` <-> ``chr22``) and the VCF records at that position are read (tabix).
2. Rows whose ``varID`` does not parse, or finds no VCF record at its position, and whose ``rsid``
   is set, are looked up by the VCF ``ID`` column (``;``-separated IDs allowed) **over the gene's
   TSS +- 1 Mb** (:data:`RSID_FLANK`; PredictDB's cis window) on the gene's contig -- not the whole
   contig. A variant more than 1 Mb from our TSS (possible for long genes, whose PredictDB window
   is measured from the gene body) is found only through its position.
3. Alleles decide as :func:`seq2func.personal.baselines.predixcan.match_predictdb_weights` defines: our REF/ALT ==
   model ref/eff as is; == eff/ref **flipped** (effect-allele dosage ``2 - ALT dosage``); the
   complement for strand-unambiguous SNVs; A/T and C/G SNVs matched as written (counted in
   ``ambiguous``) unless ``drop_ambiguous``; anything else unmatched and contributing 0.

A multi-allelic record gives one variant per ALT allele (``chrom:pos:REF:ALT_k``) whose dosage
counts allele ``k`` only; a flipped weight there uses ``2 - that count``, as for records split
with ``bcftools norm -m-`` (MetaXcan's Predict.py does the same). Dosages come from ``GT``: the
number of called alleles equal to the ALT; a haploid ``GT`` counts its one allele. A genotype with
any missing allele (``./.``, ``0|.``) is missing and mean-imputed over the chunk's individuals
(PrediXcan's rule, :func:`seq2func.personal.baselines.predixcan.predict_predictdb`); imputed dosages (``DS``) are not
read.

Prediction = sum of ``weight x effect-allele dosage`` over the matched variants (a gene whose
variants all fail to match predicts 0 for everyone, as Predict.py does, and gets R = NA).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from seq2func.errors import InputError
from seq2func.io.annotation import match_gene_ids
from seq2func.io.vcf import (
    MISSING,
    VcfText,
    Where,
    genotype_texts,
    match_samples,
    parse_genotypes,
)
from seq2func.personal.baselines.predixcan import load_predictdb, parse_variant_id, predict_predictdb
from seq2func.personal.stats import pearson_r

log = logging.getLogger(__name__)

RSID_FLANK = 1_000_000  #: bp either side of the TSS searched for rsID-only weights
COUNT_COLUMNS = ("n_weights", "matched", "flipped", "strand_flipped", "ambiguous", "unmatched")
#: per-gene columns added to the benchmark's gene table (NA for genes absent from the db)
GENE_COLUMNS = ["predictdb_gene", "predictdb_r", "predictdb_n_weights", "predictdb_n_matched",
                "predictdb_n_flipped", "predictdb_n_strand_flipped", "predictdb_n_ambiguous",
                "predictdb_n_unmatched"]


# --------------------------------------------------------------------------------------------
# the db
# --------------------------------------------------------------------------------------------
def check_predictdb(path: str | os.PathLike) -> None:
    """Open a PredictDB ``.db`` read-only and check its ``weights`` table (cheap: one row).

    Raises :class:`InputError` naming the file when it is absent, not SQLite, or has no
    ``weights(gene, rsid, varID, ref_allele, eff_allele, weight)`` table.

    Parameters
    ----------
    path : str or os.PathLike
        The PredictDB ``.db`` file.

    Raises
    ------
    InputError
        If the file is absent, not SQLite, or lacks the ``weights`` table.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "PredictDB file not found")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            con.execute("SELECT gene, rsid, varID, ref_allele, eff_allele, weight FROM weights LIMIT 1").fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise InputError(path, "table weights", f"not a PredictDB database: {exc}") from None


def map_genes(db_genes: Sequence[str], our_genes: Sequence[str]) -> dict[str, str]:
    """``{our gene_id: db gene}``: exact matches first, then version-stripped ones (first in db order);
    :func:`seq2func.io.annotation.match_gene_ids`, the matching every stage uses.

    Parameters
    ----------
    db_genes : sequence of str
        Gene IDs of the db (its ``weights.gene``).
    our_genes : sequence of str
        Our gene IDs (the benchmark's).

    Returns
    -------
    dict of str to str
        Our gene ID -> db gene ID, for our genes the db has.
    """
    return match_gene_ids(db_genes, our_genes)


# --------------------------------------------------------------------------------------------
# the VCF
# --------------------------------------------------------------------------------------------
@dataclass
class _Record:
    contig: str
    pos: int  # 1-based
    ids: tuple[str, ...]
    ref: str
    alts: tuple[str, ...]
    a1: np.ndarray  # (n_samples,) allele index, -1 missing
    a2: np.ndarray  # (n_samples,) allele index, -1 missing, -2 absent (haploid)

    def variants(self) -> list[tuple[str, np.ndarray]]:
        """``(variant id, dosage)`` of each ALT allele: count of that allele, NaN if the GT is missing."""
        miss = (self.a1 == MISSING) | (self.a2 == MISSING)
        out = []
        for k, alt in enumerate(self.alts, start=1):
            d = ((self.a1 == k).astype(float) + (self.a2 == k).astype(float))
            d[miss] = np.nan
            out.append((f"{self.contig}:{self.pos}:{self.ref.upper()}:{alt.upper()}", d))
        return out


class VcfReader:
    """Genotypes of selected samples at arbitrary positions of a VCF/BCF, read through
    :class:`seq2func.io.vcf.VcfText` (tabix or CSI index, or read whole when unindexed; contig
    names matched through :func:`seq2func.chroms.alias_map`; GT decoded by
    :func:`seq2func.io.vcf.parse_genotypes`, a malformed GT an error naming ``CHROM:POS``)."""

    def __init__(self, vcf: str | os.PathLike, samples: Sequence[str]):
        self.path = os.fspath(vcf)
        self._vcf = VcfText(self.path)
        try:
            self.sel = np.asarray(match_samples(self._vcf.samples, list(samples), path=self.path), dtype=np.int64)
        except BaseException:
            self._vcf.close()
            raise
        self.n_all = len(self._vcf.samples)
        self.contigs = self._vcf.contigs

    def close(self) -> None:
        self._vcf.close()

    def __enter__(self) -> "VcfReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def contig(self, name: str) -> str | None:
        """The VCF's spelling of contig ``name`` (``22`` -> ``chr22`` and back), or None.

        Parameters
        ----------
        name : str
            A contig name in any spelling.

        Returns
        -------
        str or None
            The VCF's name for it, or None when the VCF lacks it.
        """
        return self._vcf.contig(name)

    def lines(self, contig: str, start0: int, end0: int) -> Iterator[str]:
        """Text of the records starting in ``[start0, end0)`` (0-based, half-open).

        Parameters
        ----------
        contig : str
            Contig as the VCF spells it.
        start0 : int
            First 0-based position.
        end0 : int
            0-based end, exclusive.

        Returns
        -------
        iterator of str
            The record lines, in file order.
        """
        return self._vcf.lines(contig, start0, end0, overlapping=False)

    def records(self, lines: Sequence[str]) -> list[_Record | None]:
        """Parse record lines of one contig, all genotypes at once (None for records without ALT).

        Parameters
        ----------
        lines : sequence of str
            Record lines of one contig (from :meth:`lines`).

        Returns
        -------
        list of _Record or None
            One entry per line: the record, its genotypes for the reader's samples decoded.

        Raises
        ------
        InputError
            If a record has no sample columns or a malformed GT.
        """
        fields = [line.split("\t", 9) for line in lines]
        keep = [i for i, f in enumerate(fields) if f[4] not in (".", "")]
        out: list[_Record | None] = [None] * len(fields)
        if not keep:
            return out
        recs = [fields[i] for i in keep]
        pos = [int(f[1]) for f in recs]
        if len(self.sel):
            for f, p in zip(recs, pos):
                if len(f) < 10:
                    raise InputError(self.path, f"{f[0]}:{p}", "record has no sample columns")
        texts, has_gt = genotype_texts(recs)  # sample columns with GT first (extracted if need be)
        where = Where(self.path, recs[0][0], [p - 1 for p in pos])
        a1, a2, _ = parse_genotypes(texts, has_gt, self.n_all, self.sel, where)
        for k, (i, f, p) in enumerate(zip(keep, recs, pos)):
            ids = tuple(x for x in f[2].split(";") if x and x != ".")
            out[i] = _Record(f[0], p, ids, f[3], tuple(f[4].split(",")), a1[k], a2[k])
        return out

    def record(self, line: str) -> _Record | None:
        """Parse one record line (None for records without ALT).

        Parameters
        ----------
        line : str
            One record line.

        Returns
        -------
        _Record or None
            The record, or None without ALT.
        """
        return self.records([line])[0]

    def at_positions(self, contig: str, positions: Sequence[int], gap: int = 2000) -> dict[int, list[_Record]]:
        """Records at the given 1-based positions: ``{pos: [records]}``. Positions closer than
        ``gap`` bp are read in one tabix query.

        Parameters
        ----------
        contig : str
            Contig as the VCF spells it.
        positions : sequence of int
            1-based positions wanted.
        gap : int, optional
            Largest distance in bp between positions read in one query (default 2,000).

        Returns
        -------
        dict of int to list of _Record
            Position -> the records starting there (positions without a record are absent).
        """
        want = sorted(set(int(p) for p in positions))
        out: dict[int, list[_Record]] = {}
        if not want:
            return out
        i = 0
        while i < len(want):
            j = i
            while j + 1 < len(want) and want[j + 1] - want[j] <= gap:
                j += 1
            wanted = set(want[i:j + 1])
            hits = [line for line in self.lines(contig, want[i] - 1, want[j])
                    if int(line.split("\t", 2)[1]) in wanted]
            for rec in self.records(hits):
                if rec is not None:
                    out.setdefault(rec.pos, []).append(rec)
            i = j + 1
        return out

    def with_ids(self, contig: str, start0: int, end0: int, ids: set[str]) -> dict[str, list[_Record]]:
        """Records in ``[start0, end0)`` whose ID column holds one of ``ids``: ``{id: [records]}``
        (only the first three columns of the other records are looked at).

        Parameters
        ----------
        contig : str
            Contig as the VCF spells it.
        start0 : int
            First 0-based position.
        end0 : int
            0-based end, exclusive.
        ids : set of str
            Variant IDs (rsIDs) wanted.

        Returns
        -------
        dict of str to list of _Record
            ID -> the records carrying it (IDs not found are absent).
        """
        out: dict[str, list[_Record]] = {}
        lines: list[str] = []
        hits: list[list[str]] = []
        for line in self.lines(contig, start0, end0):
            col = line.split("\t", 3)[2]
            hit = [i for i in col.split(";") if i in ids]
            if hit:
                lines.append(line)
                hits.append(hit)
        for rec, hit in zip(self.records(lines), hits):
            if rec is not None:
                for i in hit:
                    out.setdefault(i, []).append(rec)
        return out

    def examples(self, contigs: Sequence[str], n: int = 3) -> list[str]:
        """The first ``n`` records of ``contigs`` (else of any contig) as ``CHROM:POS:REF:ALT (ID x)``.

        Parameters
        ----------
        contigs : sequence of str
            Contigs (as the VCF spells them) to take examples from first.
        n : int, optional
            Number of examples (default 3).

        Returns
        -------
        list of str
            Up to ``n`` record descriptions.
        """
        out: list[str] = []
        for c in list(contigs) + [c for c in self.contigs if c not in set(contigs)]:
            for line in self.lines(c, 0, 1 << 29):
                f = line.split("\t", 5)
                out.append(f"{f[0]}:{f[1]}:{f[3]}:{f[4]} (ID {f[2]})")
                if len(out) >= n:
                    return out
        return out


# --------------------------------------------------------------------------------------------
# a chunk of genes
# --------------------------------------------------------------------------------------------
@dataclass
class PredictDBChunk:
    """``predictions``: our genes found in the db x individuals; ``genes``: one row per requested gene
    (``gene_id`` + :data:`GENE_COLUMNS`, NA for genes absent from the db); ``info``: totals and
    examples for ``chunk.json``."""

    predictions: pd.DataFrame
    genes: pd.DataFrame
    info: dict = field(default_factory=dict)


def _valid_rsid(v) -> bool:
    return isinstance(v, str) and v.strip() not in ("", ".", "NA", "nan")


def _weights_for_genes(db: str | os.PathLike | tuple[pd.DataFrame, pd.DataFrame], genes: pd.DataFrame,
                       db_name: str | None) -> tuple:
    """Load the db and keep the weights of our genes, renamed to our gene IDs.

    Parameters
    ----------
    db
        The ``.db`` file, or its ``(weights, extra)`` tables.
    genes
        Our genes (``gene_id``).
    db_name
        How to name the db in ``info`` and messages (default: its path).

    Returns
    -------
    tuple
        ``(all weights, extra with our gene IDs, db name, our gene IDs, {our gene: db gene},
        weights of our genes with our gene IDs)``.
    """
    weights, extra = load_predictdb(db) if not isinstance(db, tuple) else db
    name = db_name or (os.fspath(db) if not isinstance(db, tuple) else "PredictDB")
    our = [str(g) for g in genes["gene_id"]]
    gmap = map_genes(weights["gene"].astype(str).unique(), our)
    db_to_ours = {v: k for k, v in gmap.items()}
    w = weights[weights["gene"].astype(str).isin(db_to_ours)].copy()
    w["gene"] = w["gene"].astype(str).map(db_to_ours)
    if "gene" in extra.columns:
        extra = extra[extra["gene"].astype(str).isin(db_to_ours)].assign(gene=lambda e: e["gene"].astype(str).map(db_to_ours))
    return weights, extra, name, our, gmap, w


def _records_at_varids(reader: VcfReader, w: pd.DataFrame) -> dict[tuple[str, int], list[_Record]]:
    """The VCF records at the positions parsed from ``varID`` (one pass, grouped per contig).

    Parameters
    ----------
    reader
        The cohort VCF.
    w
        Our genes' weights; a ``_key`` column is added: ``(VCF contig, pos)`` of each row, None
        when its ``varID`` does not parse or names a contig the VCF lacks.

    Returns
    -------
    dict
        ``{(contig, pos): [records]}`` for the positions with records.
    """
    parsed = {v: parse_variant_id(v) for v in w["varID"].dropna().astype(str).unique()}
    keyed: dict[tuple[str, int] | None, None] = {}
    row_key: list[tuple[str, int] | None] = []
    for v in w["varID"].tolist():
        p = parsed.get(str(v)) if isinstance(v, str) else None
        c = reader.contig(p[0]) if p is not None else None
        k = (c, p[1]) if c is not None else None
        row_key.append(k)
        keyed[k] = None
    w["_key"] = row_key
    by_contig: dict[str, list[int]] = {}
    for k in keyed:
        if k is not None:
            by_contig.setdefault(k[0], []).append(k[1])
    at: dict[tuple[str, int], list[_Record]] = {}
    for c, ps in by_contig.items():
        for p, recs in reader.at_positions(c, ps).items():
            at[(c, p)] = recs
    return at


def _records_at_rsids(reader: VcfReader, w: pd.DataFrame, at: dict[tuple[str, int], list[_Record]],
                      gene_info: pd.DataFrame, flank: int) -> dict[str, list[_Record]]:
    """The VCF records of the rsIDs of rows the position did not place: TSS +- ``flank`` of the
    gene, the regions merged per contig.

    Parameters
    ----------
    reader
        The cohort VCF.
    w
        Our genes' weights, with ``_key`` (:func:`_records_at_varids`).
    at
        The records found by position.
    gene_info
        Our genes (``chrom``, ``tss``) indexed by gene ID.
    flank
        Bases searched either side of the TSS.

    Returns
    -------
    dict
        ``{rsID: [records]}``.
    """
    need = [(g, r) for g, r, k in zip(w["gene"], w["rsid"], w["_key"]) if _valid_rsid(r) and (k is None or k not in at)]
    by_id: dict[str, list[_Record]] = {}
    if need:
        regions: dict[str, list[tuple[int, int]]] = {}
        wanted: set[str] = set()
        for g, r in need:
            c = reader.contig(str(gene_info.at[g, "chrom"]))
            if c is None:
                continue
            tss = int(gene_info.at[g, "tss"])
            regions.setdefault(c, []).append((max(0, tss - flank), tss + flank + 1))
            wanted.add(str(r).strip())
        for c, spans in regions.items():
            spans.sort()
            merged = [list(spans[0])]
            for s, e in spans[1:]:
                if s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            for s, e in merged:
                for i, recs in reader.with_ids(c, s, e, wanted).items():
                    by_id.setdefault(i, []).extend(recs)
    return by_id


def _gene_records(g: str, wg: pd.DataFrame, at: dict[tuple[str, int], list[_Record]],
                  by_id: dict[str, list[_Record]], reader: VcfReader,
                  gene_info: pd.DataFrame) -> tuple[list[_Record], dict[str, str]]:
    """A gene's VCF records: those at its weights' positions, then those of its rsIDs.

    Parameters
    ----------
    g
        Our gene ID.
    wg
        Its weights, with ``_key``.
    at, by_id
        The records by position and by rsID.
    reader
        The cohort VCF (contig spelling).
    gene_info
        Our genes (``chrom``) indexed by gene ID.

    Returns
    -------
    recs : list of _Record
        Each record once, in that order.
    rsid_map : dict
        rsID -> variant ID (``chrom:pos:REF:ALT``) of the ALT carrying the model's alleles.
    """
    recs: list[_Record] = []
    seen: set[int] = set()
    rsid_map: dict[str, str] = {}

    def add(rec: _Record) -> None:
        if id(rec) not in seen:
            seen.add(id(rec))
            recs.append(rec)

    for k in wg["_key"]:
        for rec in at.get(k, []) if k is not None else []:
            add(rec)
    for r, eff, ref in zip(wg["rsid"], wg["eff_allele"], wg["ref_allele"]):
        if not _valid_rsid(r):
            continue
        r = str(r).strip()
        cand = [rec for rec in by_id.get(r, []) if rec.contig == reader.contig(str(gene_info.at[g, "chrom"]))]
        if not cand:
            continue
        rec = cand[0]
        add(rec)
        # the ALT of the record that carries the model's alleles (multi-allelic records)
        alleles = {str(eff).upper(), str(ref).upper()}
        comp = {a.translate(str.maketrans("ACGT", "TGCA")) for a in alleles}
        alt = next((a for a in rec.alts if a.upper() in alleles), None) or \
            next((a for a in rec.alts if a.upper() in comp), rec.alts[0])
        rsid_map[r] = f"{rec.contig}:{rec.pos}:{rec.ref.upper()}:{alt.upper()}"
    return recs, rsid_map


def _predict_gene(g: str, wg: pd.DataFrame, extra: pd.DataFrame, recs: list[_Record], rsid_map: dict[str, str],
                  samples: list[str], drop_ambiguous: bool) -> tuple[np.ndarray, dict]:
    """One gene's prediction from its records' dosages
    (:func:`seq2func.personal.baselines.predixcan.predict_predictdb`).

    Parameters
    ----------
    g
        Our gene ID.
    wg
        Its weights, with ``_key``.
    extra
        The db's ``extra`` table.
    recs, rsid_map
        Its records and rsID map (:func:`_gene_records`).
    samples
        The individuals.
    drop_ambiguous
        Leave A/T and C/G SNVs unmatched.

    Returns
    -------
    prediction : numpy.ndarray
        Per individual.
    counts : dict
        :data:`COUNT_COLUMNS` of the gene.
    """
    ids: list[str] = []
    cols: list[np.ndarray] = []
    for rec in recs:
        for vid, d in rec.variants():
            ids.append(vid)
            cols.append(d)
    dos = np.column_stack(cols) if cols else np.zeros((len(samples), 0))
    res = predict_predictdb((wg.drop(columns="_key"), extra), dos, ids, individuals=samples,
                            rsid_map=rsid_map, genes=[g], drop_ambiguous=drop_ambiguous)
    pred = res.predictions[g].to_numpy(dtype=float)
    row = res.counts.set_index("gene").loc[g]
    return pred, {c: int(row[c]) for c in COUNT_COLUMNS}


def _gene_table(our: list[str], preds: dict[str, np.ndarray], counts: dict[str, dict], gmap: dict[str, str],
                expression: pd.DataFrame | None, samples: list[str]) -> pd.DataFrame:
    """One row per requested gene: ``gene_id`` + :data:`GENE_COLUMNS` (NA for genes absent from the db).

    Parameters
    ----------
    our
        Our gene IDs, in order.
    preds, counts
        Prediction and counts of each gene found in the db.
    gmap
        Our gene -> db gene.
    expression
        Observed expression (genes x individuals), or None (``predictdb_r`` NA).
    samples
        The individuals.

    Returns
    -------
    pandas.DataFrame
        The gene table.
    """
    rows = []
    for g in our:
        if g in preds:
            c = counts[g]
            r = np.nan
            if expression is not None and g in expression.index:
                r = float(pearson_r(preds[g], expression.loc[g, samples].to_numpy(dtype=float)))
            rows.append({"gene_id": g, "predictdb_gene": gmap[g], "predictdb_r": r,
                         "predictdb_n_weights": c["n_weights"], "predictdb_n_matched": c["matched"],
                         "predictdb_n_flipped": c["flipped"], "predictdb_n_strand_flipped": c["strand_flipped"],
                         "predictdb_n_ambiguous": c["ambiguous"], "predictdb_n_unmatched": c["unmatched"]})
        else:
            rows.append({"gene_id": g})
    table = pd.DataFrame(rows, columns=["gene_id", *GENE_COLUMNS])
    for c in GENE_COLUMNS[2:]:
        table[c] = table[c].astype("Int64")
    return table


def _prediction_frame(our: list[str], preds: dict[str, np.ndarray], samples: list[str]) -> tuple[list[str], pd.DataFrame]:
    """The predictions as genes x individuals.

    Parameters
    ----------
    our
        Our gene IDs, in order.
    preds
        Prediction of each gene found in the db.
    samples
        The individuals.

    Returns
    -------
    order : list of str
        Our genes found in the db, in order.
    pred_df : pandas.DataFrame
        Their predictions (index ``gene_id``, a column per individual).
    """
    order = [g for g in our if g in preds]
    pred_df = pd.DataFrame([preds[g] for g in order], index=pd.Index(order, name="gene_id"), columns=samples) \
        if order else pd.DataFrame(columns=samples, index=pd.Index([], name="gene_id"), dtype=float)
    return order, pred_df


def _chunk_info(*, name: str, vcf: str | os.PathLike, weights: pd.DataFrame, w: pd.DataFrame, our: list[str],
                order: list[str], counts: dict[str, dict], vcf_examples: list[str], t0: float) -> dict:
    """Totals and examples for ``chunk.json``, with a warning when nothing matched.

    Parameters
    ----------
    name
        The db's name.
    vcf
        The cohort VCF.
    weights, w
        All the db's weights and those of our genes.
    our, order
        Our gene IDs and those found in the db.
    counts
        Counts of each gene found in the db.
    vcf_examples
        A few of the VCF's records (:meth:`VcfReader.examples`).
    t0
        :func:`time.time` at the start.

    Returns
    -------
    dict
        The chunk's info.
    """
    totals = {c: int(sum(v[c] for v in counts.values())) for c in COUNT_COLUMNS}
    info = {
        "file": name,
        "n_db_genes": int(weights["gene"].nunique()),
        "n_genes": len(order),
        **{("n_weights" if c == "n_weights" else f"n_{c}"): totals[c] for c in COUNT_COLUMNS},
        "n_genes_with_match": int(sum(v["matched"] > 0 for v in counts.values())),
        "db_gene_examples": [str(x) for x in weights["gene"].drop_duplicates().head(3)],
        "db_varid_examples": [str(x) for x in (w if len(w) else weights)["varID"].head(3)],
        "chunk_gene_examples": our[:3],
        "vcf_examples": vcf_examples,
        "seconds": round(time.time() - t0, 3),
    }
    if order and totals["matched"] == 0:
        log.warning("%s: not one of the %d weights of this chunk's %d gene(s) matched a variant of %s "
                    "(db varIDs e.g. %s; VCF records e.g. %s)", name, totals["n_weights"], len(order), os.fspath(vcf),
                    ", ".join(info["db_varid_examples"]), ", ".join(vcf_examples))
    elif not order:
        log.warning("%s: none of this chunk's %d gene(s) has a PredictDB model (db genes e.g. %s; ours e.g. %s)",
                    name, len(our), ", ".join(info["db_gene_examples"]), ", ".join(our[:3]))
    return info


def predictdb_for_genes(
    db: str | os.PathLike | tuple[pd.DataFrame, pd.DataFrame],
    vcf: str | os.PathLike,
    genes: pd.DataFrame,
    samples: Sequence[str],
    *,
    expression: pd.DataFrame | None = None,
    drop_ambiguous: bool = False,
    flank: int = RSID_FLANK,
    db_name: str | None = None,
) -> PredictDBChunk:
    """PredictDB predictions of ``genes`` (``gene_id, chrom, tss`` with ``tss`` 0-based) for
    ``samples`` of ``vcf`` (see the module docstring). With ``expression`` (genes x individuals,
    our gene IDs, the ``samples`` columns) ``predictdb_r`` is the Pearson R of prediction and
    observed expression across individuals.

    Parameters
    ----------
    db : str or os.PathLike or tuple of pandas.DataFrame
        The PredictDB ``.db`` file, or its ``(weights, extra)`` tables.
    vcf : str or os.PathLike
        The cohort VCF/BCF.
    genes : pandas.DataFrame
        Our genes: ``gene_id``, ``chrom``, ``tss`` (0-based).
    samples : sequence of str
        Individuals, in output column order.
    expression : pandas.DataFrame or None, optional
        Observed expression (genes x individuals) for ``predictdb_r``; None leaves it NaN.
    drop_ambiguous : bool, optional
        Leave strand-ambiguous SNVs (A/T, C/G) unmatched (default False).
    flank : int, optional
        bp either side of the TSS searched for weights found only by rsID (default ``RSID_FLANK``, 1 Mb).
    db_name : str or None, optional
        How to name the db in ``info`` and messages (default: its path).

    Returns
    -------
    PredictDBChunk
        Predictions of our genes found in the db, the per-gene :data:`GENE_COLUMNS` table and the
        matching totals and examples.

    Raises
    ------
    InputError
        If the db or the VCF cannot be read, or a sample is not in the VCF.
    """
    t0 = time.time()
    weights, extra, name, our, gmap, w = _weights_for_genes(db, genes, db_name)
    samples = list(samples)
    gene_info = genes.set_index(genes["gene_id"].astype(str))
    preds: dict[str, np.ndarray] = {}
    counts: dict[str, dict] = {}
    with VcfReader(vcf, samples) as reader:
        chunk_contigs = list(dict.fromkeys(c for c in (reader.contig(str(x)) for x in genes["chrom"]) if c))
        vcf_examples = reader.examples(chunk_contigs)
        at = _records_at_varids(reader, w)  # 1. by the position parsed from varID
        by_id = _records_at_rsids(reader, w, at, gene_info, flank)  # 2. by rsID, near the TSS
    # 3. per gene: its variants, then seq2func.personal.baselines.predixcan.predict_predictdb
    for g, wg in w.groupby("gene", sort=False):
        recs, rsid_map = _gene_records(g, wg, at, by_id, reader, gene_info)
        preds[g], counts[g] = _predict_gene(g, wg, extra, recs, rsid_map, samples, drop_ambiguous)
        log.info("%s: PredictDB %s: %d weights, %d matched (%d flipped), %d unmatched", g, gmap[g], counts[g]["n_weights"],
                 counts[g]["matched"], counts[g]["flipped"], counts[g]["unmatched"])
    table = _gene_table(our, preds, counts, gmap, expression, samples)
    order, pred_df = _prediction_frame(our, preds, samples)
    info = _chunk_info(name=name, vcf=vcf, weights=weights, w=w, our=our, order=order, counts=counts,
                       vcf_examples=vcf_examples, t0=t0)
    return PredictDBChunk(pred_df, table, info)
