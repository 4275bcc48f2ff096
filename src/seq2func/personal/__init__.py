"""PERSONAL stage: personal haplotype sequences and the cross-individual benchmark."""

from seq2func.io.vcf import match_samples
from seq2func.personal.haplotypes import (
    HaplotypeBuilder,
    Haplotypes,
    build_haplotypes,
    center_on,
    parse_region,
)

__all__ = [
    "HaplotypeBuilder",
    "Haplotypes",
    "build_haplotypes",
    "center_on",
    "match_samples",
    "parse_region",
]
