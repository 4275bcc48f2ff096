/*
 * PREPARE: genome + validated samplesheet -> chromosome-split, memory-mappable dataset.
 * One task per chromosome (resumable), then a merge that writes the manifest.
 */
include { PREPARE_SPLIT } from '../../../modules/local/prepare_split'
include { PREPARE_CHROM } from '../../../modules/local/prepare_chrom'
include { PREPARE_MERGE } from '../../../modules/local/prepare_merge'

workflow PREPARE {
    take:
    ch_samplesheet   // validated samplesheet (file column: tracks/NNNN/<name>)
    ch_decisions     // VALIDATE's decisions (track mode, contigs holding data, split mode)
    ch_tracks        // the track files, in samplesheet order
    ch_fasta         // fasta (+ .fai/.gzi)
    ch_blacklist     // BED, or [] (none)

    main:
    // whole chromosomes or contig blocks, as VALIDATE resolved --split_by (values: -resume keys on them)
    PREPARE_SPLIT(ch_fasta, ch_decisions.map { [it.split_by ?: 'chrom', (it.data_contigs ?: []).join(',')] })

    // profile mode for bigWig tracks, peak mode for BED/narrowPeak: VALIDATE decided from the files' content
    ch_mode = ch_decisions.map { it.mode }

    ch_chroms = PREPARE_SPLIT.out.chroms.splitText().map { it.trim() }.filter { it }

    // PREPARE_CHROM gets the samplesheet's content (see there): same content, same task hash
    ch_jobs = ch_chroms
        .combine(ch_mode)
        .combine(ch_samplesheet.map { it.text })
        .combine(PREPARE_SPLIT.out.split)
        .combine(ch_fasta.map { [it] })
        .combine(ch_blacklist.map { [it] })   // wrapped: combine would splice an empty list away
        .map { chrom, mode, ss, split, fa, bl -> [chrom, mode, ss, split, fa, bl] }

    PREPARE_CHROM(ch_jobs, ch_tracks)

    PREPARE_MERGE(ch_mode, PREPARE_CHROM.out.part.collect())

    emit:
    dataset  = PREPARE_MERGE.out.dataset
    manifest = PREPARE_MERGE.out.manifest
    mode     = ch_mode
    chroms   = ch_chroms
    mqc      = PREPARE_MERGE.out.mqc
    versions = PREPARE_SPLIT.out.versions.mix(PREPARE_CHROM.out.versions.first(), PREPARE_MERGE.out.versions)
}
