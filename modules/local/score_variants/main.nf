process SCORE_VARIANTS {
    label 'process_gpu'
    tag "${label} ${chrom}"

    input:
    tuple val(label), path(checkpoint, stageAs: 'checkpoint/*'), val(chrom)
    path vcf, stageAs: 'variants/*'
    path fasta, stageAs: 'ref/*'

    output:
    tuple val(label), path('chunk'), emit: chunk
    path 'versions.yml',              emit: versions

    script:
    def v  = (vcf instanceof List ? vcf : [vcf])[0]
    def fa = (fasta instanceof List ? fasta : [fasta])[0]
    """
    export OMP_NUM_THREADS=${task.cpus}
    score_variants.py chunk \\
        --checkpoint ${Seq2func.q(checkpoint)} \\
        --vcf ${Seq2func.q(v)} --fasta ${Seq2func.q(fa)} \\
        --chrom ${Seq2func.q(chrom)} --label ${Seq2func.q(label)} \\
        --out chunk \\
        ${task.ext.args}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
