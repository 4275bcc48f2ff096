"""TSSs from a GTF agree with the BED6 the simulator wrote; malformed GTF is one clear error."""

from __future__ import annotations

import pytest

from seq2func.errors import InputError
from seq2func.io.annotation import read_tss


def test_gtf_tss_equals_simulated_bed(tmp_path):
    from seq2func.simulate import simulate_world

    simulate_world(tmp_path / "w", scale="tiny", seed=3)
    from_gtf = read_tss(tmp_path / "w/genes.gtf").sort_values("gene_id").reset_index(drop=True)
    from_bed = read_tss(tmp_path / "w/tss.bed").sort_values("gene_id").reset_index(drop=True)
    assert len(from_gtf) >= 40
    assert from_gtf.equals(from_bed)


def test_gtf_minus_strand_tss_is_end(tmp_path):
    gtf = tmp_path / "g.gtf"
    gtf.write_text('chr1\tx\tgene\t101\t200\t.\t-\t.\tgene_id "A";\n'
                   'chr1\tx\ttranscript\t301\t400\t.\t+\t.\tgene_id "B"; transcript_id "B.1";\n')
    t = read_tss(gtf)
    assert t.to_dict("records") == [
        {"chrom": "chr1", "tss": 199, "gene_id": "A", "strand": "-"},
        {"chrom": "chr1", "tss": 300, "gene_id": "B", "strand": "+"},
    ]


def test_bad_gtf_names_line(tmp_path):
    gtf = tmp_path / "bad.gtf"
    gtf.write_text('chr1\tx\tgene\t101\t200\t.\t*\t.\tgene_id "A";\n')
    with pytest.raises(InputError, match=r"bad.gtf: line 1: strand"):
        read_tss(gtf)


def test_bed_strand_must_be_a_strand(tmp_path):
    """An expression BED (#chr start end gene_id sample...) passed as TSSs is refused, naming the line."""
    bed = tmp_path / "expr.bed"
    bed.write_text("#Chr\tstart\tend\tTargetID\tS1\tS2\n22\t17517459\t17517460\tENSG1\t-0.38\t0.2\n")
    with pytest.raises(InputError, match=r"expr.bed: line 2: strand \(column 6\) '0.2' is not"):
        read_tss(bed)
    ok = tmp_path / "tss.bed"
    ok.write_text("chr1\t10\t11\tA\t0\t+\nchr1\t20\t21\tB\t0\t-\nchr1\t30\t31\tC\t0\t.\nchr1\t40\t41\tD\n")
    assert list(read_tss(ok)["strand"]) == ["+", "-", ".", "."]
