"""VALIDATE: the first stage of every run. Fail fast, with one line, before any work is done.

Checks, in order (cheap first):

1. the run's parameters (``params.json`` written by Nextflow) against ``nextflow_schema.json``
   (nf-core layout: ``definitions`` groups joined by ``allOf``) plus the cross-field rules a JSON
   schema cannot express (:func:`check_param_rules`);
2. the samplesheet (:mod:`seq2func.io.samplesheet`);
3. the FASTA: a ``>`` header first, unique non-empty records, IUPAC characters only (the whole
   file is scanned in large blocks), and a ``.fai`` (``.gzi``) index, built when missing;
4. every track: bigWigs open with pyBigWig, BED/narrowPeak intervals parse, and one samplesheet is
   all bigWig (profile mode) or all peaks (peak mode);
5. annotation (GTF, TSS BED, blacklist), VCFs (REF alleles against the FASTA), expression and
   covariates (sample IDs against the cohort VCF), the pretrained checkpoint;
6. chromosome names of every file against the FASTA after harmonisation
   (:func:`seq2func.chroms.alias_map`): a file sharing no contig with the genome, or a bigWig
   whose chromosome lengths differ (another assembly), stops the run; partial coverage is a
   warning (an error under ``--strict``).

Every problem raises :class:`seq2func.errors.InputError`; :func:`write_outputs` writes the
validated samplesheet and ``validation.json`` atomically, only after everything passed."""

from __future__ import annotations

from seq2func.validate.annotation import (  # noqa: F401  (the package's API)
    check_gtf,
)
from seq2func.validate.contigs import (  # noqa: F401  (the package's API)
    check_contigs,
)
from seq2func.validate.expression import (  # noqa: F401  (the package's API)
    MISSING_SAMPLE_POLICIES,
    check_covariates,
    check_expression,
)
from seq2func.validate.messages import (  # noqa: F401  (the package's API)
    Warnings,
    preview,
)
from seq2func.validate.params import (  # noqa: F401  (the package's API)
    FILE_PARAMS,
    MODE_OF_ARCHITECTURE,
    NEXTFLOW_INTERNAL_PARAMS,
    NEXTFLOW_INTERNAL_PREFIXES,
    check_model_for_mode,
    check_param_rules,
    describe,
    flatten_schema,
    load_params,
    load_schema,
    run_params,
    validate_params,
)
from seq2func.validate.run import (  # noqa: F401  (the package's API)
    Inputs,
    Validation,
    run_validation,
    validate_all,
    write_outputs,
)
from seq2func.validate.tracks import (  # noqa: F401  (the package's API)
    check_bed,
    check_bigwig,
    check_signal_bigwig,
    check_tracks,
)
from seq2func.validate.variants import (  # noqa: F401  (the package's API)
    DEFAULT_MAX_VCF_RECORDS,
    check_variants,
    check_vcf,
)
