"""A PredictDB-format db built from a simulated world's cohort VCF, and the oracle prediction.

The oracle reads genotypes with ``bcftools query`` and sums weights by hand: the dosage of a
weight's effect allele is the number of GT alleles whose index is that allele's index in the
record's ``REF,ALT`` list (so a flipped weight, effect allele = REF, counts REF alleles directly), a
genotype with a missing allele is replaced by that variant's mean over the individuals, and an
unmatched weight contributes nothing. None of seq2func's code is used.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

COMPLEMENT = str.maketrans("ACGT", "TGCA")


def vcf_table(vcf: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Records of ``vcf`` (chrom, pos, id, ref, alts, gts) and its samples, through bcftools."""
    samples = subprocess.run(["bcftools", "query", "-l", str(vcf)], capture_output=True, text=True,
                             check=True).stdout.split()
    out = subprocess.run(["bcftools", "query", "-f", "%CHROM\t%POS\t%ID\t%REF\t%ALT\t[%GT\t]\n", str(vcf)],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        f = line.rstrip("\t").split("\t")
        rows.append({"chrom": f[0], "pos": int(f[1]), "id": f[2], "ref": f[3], "alts": f[4].split(","),
                     "gts": f[5:]})
    assert rows and len(rows[0]["gts"]) == len(samples)
    return pd.DataFrame(rows), samples


def _snv(rec) -> bool:
    return len(rec.ref) == 1 and all(len(a) == 1 for a in rec.alts)


def _ambiguous(a: str, b: str) -> bool:
    return a.translate(COMPLEMENT) == b


def design_db(vcf: str | Path, tss_bed: str | Path, genes: list[str], *, versioned: tuple[str, ...] = ()) -> pd.DataFrame:
    """Weights for ``genes`` with known answers: per gene, SNVs near the TSS (< 20 kb) and far from it
    (60-300 kb, outside any 40 kb personal window), varIDs in four styles (``chr1_123_A_G_b38``,
    ``1:123:A:G``, ``1_123_A_G_b37``, rsID only = the VCF ID), every third weight flipped
    (effect allele = REF), one on the other strand, a multi-allelic site's second ALT, a variant with
    missing genotypes when there is one, and three that match nothing (a position absent from the
    VCF, wrong alleles at a real position, an unknown rsID). Genes in ``versioned`` get a ``.7``
    suffix in the db. Columns: the weights table's plus ``our_gene`` and the answers ``exp_chrom``,
    ``exp_pos``, ``exp_allele`` (effect allele as the VCF spells it; None = unmatched),
    ``exp_flipped``."""
    table, _ = vcf_table(vcf)
    tss = pd.read_csv(tss_bed, sep="\t", header=None, names=["chrom", "start", "end", "gene_id", "score", "strand"])
    rows = []
    rng = np.random.default_rng(7)
    for gid in genes:
        t = tss.set_index("gene_id").loc[gid]
        chrom, tss1 = t["chrom"], int(t["start"]) + 1
        c = chrom.removeprefix("chr")
        recs = table[table["chrom"] == chrom].assign(dist=lambda d: (d["pos"] - tss1).abs()).sort_values("dist")
        recs = recs[recs["dist"] <= 300_000]
        snv = recs[recs.apply(_snv, axis=1)]
        bi = snv[snv["alts"].map(len) == 1]
        has_missing = bi["gts"].map(lambda g: any("." in x for x in g))
        chosen = list(bi[(bi["dist"] < 20_000) & ~has_missing].head(4).itertuples())
        chosen += list(bi[(bi["dist"] > 60_000) & ~has_missing].head(3).itertuples())
        chosen += list(bi[has_missing].head(1).itertuples())
        dbgene = f"{gid}.7" if gid in versioned else gid
        k = 0
        for rec in chosen:
            ref, alt = rec.ref, rec.alts[0]
            flip = k % 3 == 2
            mref, meff = (alt, ref) if flip else (ref, alt)
            style = k % 4
            vid = {0: f"{chrom}_{rec.pos}_{mref}_{meff}_b38", 1: f"{c}:{rec.pos}:{mref}:{meff}",
                   2: f"{c}_{rec.pos}_{mref}_{meff}_b37", 3: rec.id}[style]
            rows.append(dict(gene=dbgene, rsid=rec.id, varID=vid, ref_allele=mref, eff_allele=meff,
                             weight=round(float(rng.normal()), 6), our_gene=gid, exp_chrom=chrom, exp_pos=rec.pos,
                             exp_allele=meff, exp_flipped=flip))
            k += 1
        # the other strand (a strand-unambiguous SNV): db alleles complemented, same orientation
        other = bi[~bi["pos"].isin([r.pos for r in chosen]) & ~has_missing]
        other = other[~other.apply(lambda r: _ambiguous(r["ref"], r["alts"][0]), axis=1)].iloc[0]
        cref, ceff = other["ref"].translate(COMPLEMENT), other["alts"][0].translate(COMPLEMENT)
        rows.append(dict(gene=dbgene, rsid="rs_strand_" + gid, varID=f"{chrom}_{other['pos']}_{cref}_{ceff}_b38",
                         ref_allele=cref, eff_allele=ceff, weight=0.75, our_gene=gid, exp_chrom=chrom,
                         exp_pos=int(other["pos"]), exp_allele=other["alts"][0], exp_flipped=False))
        # a multi-allelic site: the second ALT
        multi = snv[snv["alts"].map(len) > 1]
        if len(multi):
            m = multi.iloc[0]
            rows.append(dict(gene=dbgene, rsid=m["id"], varID=f"{c}:{m['pos']}:{m['ref']}:{m['alts'][1]}",
                             ref_allele=m["ref"], eff_allele=m["alts"][1], weight=-0.6, our_gene=gid, exp_chrom=chrom,
                             exp_pos=int(m["pos"]), exp_allele=m["alts"][1], exp_flipped=False))
        # three that match nothing
        taken = set(table.loc[table["chrom"] == chrom, "pos"])
        free = next(p for p in range(tss1 + 5001, tss1 + 100_000) if p not in taken)
        rows.append(dict(gene=dbgene, rsid="rs_absent_" + gid, varID=f"{chrom}_{free}_A_G_b38", ref_allele="A",
                         eff_allele="G", weight=9.0, our_gene=gid, exp_chrom=None, exp_pos=None, exp_allele=None,
                         exp_flipped=False))
        w = chosen[0]
        bad = next(x for x in "ACGT" if x not in (w.ref, w.alts[0]) and not _ambiguous(w.ref, x)
                   and (w.ref.translate(COMPLEMENT), x.translate(COMPLEMENT)) not in {(w.ref, w.alts[0]), (w.alts[0], w.ref)})
        rows.append(dict(gene=dbgene, rsid="rs_wrong_" + gid, varID=f"{chrom}_{w.pos}_{w.ref}_{bad}_b38",
                         ref_allele=w.ref, eff_allele=bad, weight=5.0, our_gene=gid, exp_chrom=None, exp_pos=None,
                         exp_allele=None, exp_flipped=False))
        rows.append(dict(gene=dbgene, rsid="rs999999999", varID="rs999999999", ref_allele="C", eff_allele="T",
                         weight=7.0, our_gene=gid, exp_chrom=None, exp_pos=None, exp_allele=None, exp_flipped=False))
    return pd.DataFrame(rows)


def write_db(design: pd.DataFrame, path: str | Path, *, extra_genes: tuple[str, ...] = ("ENSG00000000003.14",)) -> Path:
    """SQLite in PredictDB's layout: ``weights`` and ``extra`` (plus models of genes we do not have)."""
    path = Path(path)
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE weights (gene TEXT, rsid TEXT, varID TEXT, ref_allele TEXT, eff_allele TEXT, weight DOUBLE)")
    con.execute('CREATE TABLE extra (gene TEXT, genename TEXT, "n.snps.in.model" INTEGER, "pred.perf.R2" DOUBLE, '
                '"pred.perf.pval" DOUBLE, "pred.perf.qval" DOUBLE)')
    rows = [tuple(r) for r in design[["gene", "rsid", "varID", "ref_allele", "eff_allele", "weight"]].itertuples(index=False)]
    for g in extra_genes:
        rows.append((g, "rs1", "chr1_100_A_G_b38", "A", "G", 1.0))
    con.executemany("INSERT INTO weights VALUES (?, ?, ?, ?, ?, ?)", rows)
    genes = list(dict.fromkeys(r[0] for r in rows))
    con.executemany("INSERT INTO extra VALUES (?, ?, ?, ?, ?, ?)",
                    [(g, "NAME_" + g, sum(r[0] == g for r in rows), 0.1, 0.01, 0.02) for g in genes])
    con.commit()
    con.close()
    return path


def oracle_predictions(vcf: str | Path, design: pd.DataFrame) -> pd.DataFrame:
    """Expected predictions (our genes x individuals) by hand from ``bcftools query`` genotypes."""
    table, samples = vcf_table(vcf)
    out = {}
    for gid, rows in design.groupby("our_gene", sort=False):
        total = np.zeros(len(samples))
        for r in rows.itertuples():
            if r.exp_allele is None or (isinstance(r.exp_allele, float) and np.isnan(r.exp_allele)):
                continue
            at = table[(table["chrom"] == r.exp_chrom) & (table["pos"] == int(r.exp_pos))]
            rec = next(x for _, x in at.iterrows() if r.exp_allele in [x["ref"], *x["alts"]])
            alleles = [rec["ref"], *rec["alts"]]
            k = str(alleles.index(r.exp_allele))
            dos = np.array([np.nan if "." in gt else sum(a == k for a in gt.replace("/", "|").split("|"))
                            for gt in rec["gts"]], dtype=float)
            dos[np.isnan(dos)] = np.nanmean(dos)
            total += r.weight * dos
        out[gid] = total
    return pd.DataFrame(out, index=samples).T
