/*
 * SCORE_VARIANTS: every checkpoint scores the variants of --vcf, one task per model x chromosome
 * (SAD, logSAD, D2, SAX; dlogit/dprob for classifiers; reverse complement and shifts ensembled; indels
 * stitched), a merge per model (empirical p-values against the pooled null, TSV/Parquet tables, an
 * indexed VCF with INFO scores), and with --variant_labels the variant benchmark (fine-tuned vs
 * pretrained vs scratch vs random and motif-disruption baselines).
 */
include { SCORE_VARIANTS       } from '../../../modules/local/score_variants'
include { SCORE_VARIANTS_MERGE } from '../../../modules/local/score_variants_merge'
include { VARIANT_BENCHMARK    } from '../../../modules/local/variant_benchmark'

workflow SCORE_VARIANTS_WF {
    take:
    ch_checkpoints   // [label, model.pt]: pretrain, <cell_type>/<strategy>
    ch_chroms        // FASTA contigs holding variants (VALIDATE's decision), as a list
    ch_vcf           // [variants, index]
    ch_fasta         // fasta (+ index)
    ch_labels        // labels TSV, or [] (no benchmark)
    ch_conservation  // bigWig, or []

    main:
    ch_versions = Channel.empty()

    def wanted = params.variant_models ? params.variant_models.toString().tokenize(',')*.trim() : null
    ch_jobs = ch_checkpoints.filter { label, ckpt -> wanted == null || label in wanted }
        .combine(ch_chroms.flatMap { it }).map { label, ckpt, chrom -> [label, ckpt, chrom] }
    SCORE_VARIANTS(ch_jobs, ch_vcf, ch_fasta)
    ch_versions = ch_versions.mix(SCORE_VARIANTS.out.versions.first())

    SCORE_VARIANTS_MERGE(SCORE_VARIANTS.out.chunk.groupTuple(), ch_vcf, ch_fasta)
    ch_versions = ch_versions.mix(SCORE_VARIANTS_MERGE.out.versions.first())

    ch_all = SCORE_VARIANTS_MERGE.out.merged.toSortedList { a, b -> a[0] <=> b[0] }
    ch_bench = ch_all.map { [it] }.combine(ch_labels.map { [it] }).filter { runs, lab -> Seq2func.given(lab) }
    VARIANT_BENCHMARK(
        ch_bench.map { runs, lab -> runs.collect { it[0] } },
        ch_bench.map { runs, lab -> runs.collect { it[1] } },
        ch_bench.map { runs, lab -> lab },
        ch_vcf,
        ch_fasta,
        ch_conservation
    )
    ch_versions = ch_versions.mix(VARIANT_BENCHMARK.out.versions)

    emit:
    merged   = SCORE_VARIANTS_MERGE.out.merged
    mqc      = VARIANT_BENCHMARK.out.mqc
    versions = ch_versions
}
