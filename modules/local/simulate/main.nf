process SIMULATE {
    label 'process_single'
    tag "${scale} seed ${seed}"

    input:
    val ok
    val scale
    val seed

    output:
    path 'world/samplesheet.csv',                  emit: samplesheet
    path 'world/samplesheet_peaks.csv',            emit: samplesheet_peaks
    path 'world/genome.fa',                        emit: fasta
    path 'world/genome.fa.fai',                    emit: fai
    path 'world/genes.gtf',                        emit: gtf
    path 'world/tss.bed',                          emit: tss_bed
    path 'world/blacklist.bed',                    emit: blacklist
    path 'world/cohort.vcf.gz*',                   emit: cohort_vcf
    path 'world/expression.tsv',                   emit: expression
    path 'world/asv_labels.tsv',                   emit: asv_labels
    path 'world/truth.json',                       emit: truth
    path 'world/conservation.bw',                  emit: conservation
    path 'world/variants.vcf.gz*',                 emit: variants
    path 'world/tracks/*.bw',                      emit: tracks
    path 'world/peaks/*.narrowPeak',               emit: peaks
    path 'versions.yml',                           emit: versions

    script:
    """
    simulate_world.py --scale ${Seq2func.q(scale)} --seed ${seed as int} --outdir world
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
