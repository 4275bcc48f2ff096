"""SCORE_VARIANTS: variant effect scoring.

- :mod:`seq2func.variants.records` -- the variants: read from a VCF/BCF or a variants TSV
  (``chrom pos ref alt [id]``, ``-`` for an empty allele), split per ALT, contigs mapped onto the
  FASTA's spelling, normalised as ``bcftools norm -f`` does and deduplicated; REF checked against
  the FASTA (``error``, ``skip`` or ``flip``);
- :mod:`seq2func.variants.sequences`, :mod:`seq2func.variants.scores` -- reference and alternative
  sequences, the model, the scores of each unique variant and track;
- :mod:`seq2func.variants.output` -- the scores per input record as TSV and Parquet, the input's
  records with the scores as INFO fields (bgzipped, tabix-indexed VCF), the JSON summary.
"""

from __future__ import annotations

from seq2func.variants.output import info_ids, record_table, write_summary, write_table, write_vcf
from seq2func.variants.records import COUNT_KEYS, SKIP_REASONS, VariantSet, check_ref, read_variants

__all__ = [
    "COUNT_KEYS",
    "SKIP_REASONS",
    "VariantSet",
    "check_ref",
    "info_ids",
    "read_variants",
    "record_table",
    "write_summary",
    "write_table",
    "write_vcf",
]
