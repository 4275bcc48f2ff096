/*
 * PERSONAL: the cross-individual expression benchmark of Sasse et al. 2023, one task per
 * chromosome (haplotypes -> predictions -> statistics inputs, PrediXcan, drivers), a merge that
 * applies Benjamini-Hochberg over all genes and draws the figures, and optionally personal-genome
 * fine-tuning evaluated on held-out individuals and genes.
 */
include { PERSONAL_CHUNK    } from '../../../modules/local/personal_chunk'
include { PERSONAL_MERGE    } from '../../../modules/local/personal_merge'
include { PERSONAL_FINETUNE } from '../../../modules/local/personal_finetune'

workflow PERSONAL {
    take:
    ch_checkpoint    // the model that predicts the haplotypes
    ch_chroms        // chromosome names (queue)
    ch_vcf           // [cohort.vcf.gz, .tbi]
    ch_fasta         // fasta (+ index)
    ch_tss           // TSS BED or GTF
    ch_expression    // genes x individuals
    ch_predictdb     // PredictDB .db (value channel), or [] (none)

    main:
    ch_versions = Channel.empty()
    ch_inputs = ch_checkpoint
        .combine(ch_vcf.map { [it] })
        .combine(ch_fasta.map { [it] })
        .combine(ch_tss.map { [it] })   // wrapped: combine would splice an empty list away
        .combine(ch_expression.map { [it] })
        .first()

    PERSONAL_CHUNK(ch_chroms.combine(ch_inputs).combine(ch_predictdb.map { [it] }))
    ch_versions = ch_versions.mix(PERSONAL_CHUNK.out.versions.first())

    PERSONAL_MERGE(PERSONAL_CHUNK.out.chunk.collect())
    ch_versions = ch_versions.mix(PERSONAL_MERGE.out.versions)
    ch_mqc = PERSONAL_MERGE.out.mqc

    if (params.personal_finetune) {
        PERSONAL_FINETUNE(ch_inputs)
        ch_versions = ch_versions.mix(PERSONAL_FINETUNE.out.versions)
        ch_mqc = ch_mqc.mix(PERSONAL_FINETUNE.out.mqc)
    }

    emit:
    summary  = PERSONAL_MERGE.out.summary
    mqc      = ch_mqc
    versions = ch_versions
}
