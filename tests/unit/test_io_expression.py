"""seq2func.io.expression: the expression reader VALIDATE, EVALUATE and PERSONAL share (oracle: pandas)."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seq2func.errors import InputError
from seq2func.io.expression import layout_of, read_expression

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
PHENO = SHARED / "realdata" / "hg19_chr22" / "expression" / "phenotypes.bed.gz"


def test_tsv_layout_with_missing_values(tmp_path):
    p = tmp_path / "e.tsv"
    p.write_text("gene_id\tA\tB\tC\nG1\t1.5\tNA\t2\n\nG2\t0\t.\t\nG3\t-1e-3\tNaN\tNULL\n")
    e = read_expression(p)
    assert e.layout == "tsv" and e.positions is None and e.samples == ["A", "B", "C"] and e.genes == ["G1", "G2", "G3"]
    assert np.isnan(e.values.loc["G1", "B"]) and np.isnan(e.values.loc["G2", "C"]) and e.values.loc["G3", "A"] == -1e-3
    assert e.population_mean().loc["G1"] == pytest.approx(1.75)


@pytest.mark.parametrize("compress", ["plain", "gzip", "bgzip"])
def test_phenotype_bed_layout(tmp_path, compress):
    text = "#chr\tstart\tend\tphenotype_id\tA\tB\n1\t99\t100\tENSG1.3\t1\t2\n1\t499\t500\tENSG2.1\t3\t4\n"
    p = tmp_path / "e.bed"
    p.write_text(text)
    if compress == "gzip":
        with gzip.open(tmp_path / "e.bed.gz", "wt") as fh:
            fh.write(text)
        p = tmp_path / "e.bed.gz"
    elif compress == "bgzip":
        subprocess.run(["bgzip", "-f", str(p)], check=True)
        p = tmp_path / "e.bed.gz"
    e = read_expression(p)
    assert e.layout == "bed" and e.genes == ["ENSG1.3", "ENSG2.1"]
    assert e.positions.to_dict("list") == {"gene_id": ["ENSG1.3", "ENSG2.1"], "chrom": ["1", "1"], "start": [99, 499], "end": [100, 500]}
    assert e.values.loc["ENSG2.1"].tolist() == [3.0, 4.0]


def test_layout_of_headers():
    assert layout_of(["#Chr", "start", "end", "TargetID", "S1"]) == "bed"
    assert layout_of(["chr", "start", "end", "id", "S1"]) == "bed"
    assert layout_of(["gene_id", "S1", "S2"]) == "tsv"


@pytest.mark.parametrize("text, needle", [
    ("gene_id\tA\tB\nG1\t1\tx\n", "line 2: value 'x' for sample 'B' is not a number (gene 'G1')"),
    ("gene_id\tA\tA\nG1\t1\t2\n", "line 1: duplicated individual ID 'A'"),
    ("gene_id\tA\nG1\t1\nG1\t2\n", "line 3: duplicate gene ID 'G1' (first at line 2)"),
    ("gene_id\tA\tB\nG1\t1\n", "line 2: expected 3 tab-separated columns (as in the header), got 2"),
    ("gene_id\n", "line 1: header has no individual columns"),
    ("gene\tA\nG1\t1\n", "line 1: header: expected 'gene_id'"),
    ("#chr\tstart\tend\tid\tA\n1\t10\t5\tG\t1\n", "line 2: end 5 < start 10"),
    ("#chr\tstart\tend\tid\tA\n1\tten\t11\tG\t1\n", "line 2: coordinates must be integers"),
    ("gene_id\tA\n", "no genes, header only"),
    ("", "empty expression file"),
])
def test_bad_expression_is_one_line(tmp_path, text, needle):
    p = tmp_path / "e.tsv"
    p.write_text(text)
    with pytest.raises(InputError) as ei:
        read_expression(p)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(str(p)) and needle in msg, msg


@pytest.mark.realdata
def test_geuvadis_phenotype_bed_as_shipped(shared):
    e = read_expression(PHENO)
    oracle = pd.read_csv(PHENO, sep="\t")
    assert e.layout == "bed" and e.values.shape == (364, 373)
    assert e.genes == list(oracle["TargetID"]) and e.samples == list(oracle.columns[4:])
    np.testing.assert_array_equal(e.values.to_numpy(), oracle.iloc[:, 4:].to_numpy(float))
    assert (e.positions["start"] == oracle["start"]).all() and set(e.positions["chrom"]) == {"22"}
