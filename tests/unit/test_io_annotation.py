"""seq2func.io.annotation: gene-ID matching with and without versions and the run's gene table."""

from __future__ import annotations

import pandas as pd

from seq2func.io.annotation import (
    gene_key,
    gene_table,
    gene_table_bed,
    match_gene_ids,
    place_genes,
    read_tss,
    resolve_genes,
)
from seq2func.io.expression import read_expression


def _ann():
    return pd.DataFrame({"chrom": ["chr1", "chr1", "chr2"], "tss": [100, 900, 50], "gene_id": ["ENSG1", "ENSG2.7", "SYMB"],
                         "strand": ["+", "-", "+"]})


def test_gene_key_and_matching():
    assert gene_key("ENSG00000100030.14") == "ENSG00000100030" and gene_key("ENSG1") == "ENSG1"
    assert match_gene_ids(["ENSG1", "ENSG2.7", "SYMB"], ["ENSG1.4", "ENSG2", "SYMB", "X"]) == {"ENSG1.4": "ENSG1", "ENSG2": "ENSG2.7", "SYMB": "SYMB"}


def test_gene_table_annotation_first_then_expression_bed():
    pos = pd.DataFrame({"gene_id": ["ENSG1.4", "ENSG9.1"], "chrom": ["1", "1"], "start": [111, 222], "end": [112, 223]})
    g = gene_table(_ann(), ["ENSG1.4", "ENSG9.1", "NOWHERE"], pos)
    assert g.to_dict("records") == [
        {"gene_id": "ENSG1.4", "chrom": "chr1", "tss": 100, "strand": "+", "tss_source": "annotation"},
        {"gene_id": "ENSG9.1", "chrom": "1", "tss": 222, "strand": ".", "tss_source": "expression_bed"},
    ]
    # annotation only: its genes
    assert list(gene_table(_ann())["gene_id"]) == ["ENSG1", "ENSG2.7", "SYMB"]


def test_gene_table_bed_round_trip(tmp_path):
    g = gene_table(_ann(), ["ENSG2"], None)
    p = tmp_path / "genes.bed"
    p.write_text(gene_table_bed(g))
    assert read_tss(p).to_dict("records") == [{"chrom": "chr1", "tss": 900, "gene_id": "ENSG2", "strand": "-"}]


def test_place_genes_keeps_unmatched_annotation_genes():
    pos = pd.DataFrame({"gene_id": ["ENSG9.1"], "chrom": ["chr3"], "start": [5], "end": [6]})
    t = place_genes(_ann(), ["ENSG1.4", "ENSG9.1"], pos)
    assert t.to_dict("list") == {"gene_id": ["ENSG1.4", "ENSG2.7", "SYMB", "ENSG9.1"], "chrom": ["chr1", "chr1", "chr2", "chr3"],
                                 "tss": [100, 900, 50, 5], "strand": ["+", "-", "+", "."]}


def test_resolve_genes_from_expression_bed_alone(tmp_path):
    p = tmp_path / "e.bed"
    p.write_text("#chr\tstart\tend\tid\tA\nchr1\t10\t11\tG1\t1\n")
    g = resolve_genes(None, read_expression(p))
    assert g.to_dict("records") == [{"gene_id": "G1", "chrom": "chr1", "tss": 10, "strand": ".", "tss_source": "expression_bed"}]
    assert resolve_genes(None, None) is None
