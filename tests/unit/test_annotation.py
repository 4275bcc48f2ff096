"""TSSs from a GTF agree with the BED6 the simulator wrote; malformed GTF is one clear error."""

from __future__ import annotations

import pytest

from seq2func.annotation import read_tss
from seq2func.errors import InputError


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
