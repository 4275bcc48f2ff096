/*
 * INTERPRET: what each chosen model learnt (attributions -> TF-MoDISco patterns, first-layer filters,
 * both matched to JASPAR with Tomtom; exact fast ISM), one task per model; then a summary across the
 * models: cell-type specificity of the matched motifs and, on the simulated world, the recovery of
 * the planted TFs.
 */
include { INTERPRET         } from '../../../modules/local/interpret'
include { INTERPRET_SUMMARY } from '../../../modules/local/interpret_summary'

workflow INTERPRET_WF {
    take:
    ch_checkpoints   // [label, model.pt]
    ch_dataset       // PREPARE's dataset
    ch_regions       // BED of regions, or [] (the default regions)
    ch_fasta         // fasta (+ index)
    ch_truth         // truth.json (simulated world), or []

    main:
    ch_versions = Channel.empty()
    // default: the pretrained model and the `full` fine-tuning of every target cell type
    def wanted = params.interpret_models ? params.interpret_models.toString().tokenize(',')*.trim() : null
    ch_models = ch_checkpoints.filter { label, ckpt -> wanted != null ? label in wanted : (label == 'pretrain' || label.endsWith('/full')) }

    INTERPRET(ch_models, ch_dataset, ch_regions, ch_fasta)
    ch_versions = ch_versions.mix(INTERPRET.out.versions.first())

    ch_all = INTERPRET.out.results.toSortedList { a, b -> a[0] <=> b[0] }.filter { it }
    INTERPRET_SUMMARY(ch_all.map { rows -> rows.collect { it[0] } }, ch_all.map { rows -> rows.collect { it[1] } }, ch_truth)
    ch_versions = ch_versions.mix(INTERPRET_SUMMARY.out.versions)

    emit:
    results  = INTERPRET.out.results
    mqc      = INTERPRET_SUMMARY.out.mqc
    versions = ch_versions
}
