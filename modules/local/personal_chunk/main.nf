process PERSONAL_CHUNK {
    label 'process_gpu'
    tag "${chrom}"

    input:
    tuple val(chrom), path(checkpoint, stageAs: 'checkpoint/*'), path(vcf, stageAs: 'cohort/*'), path(fasta, stageAs: 'ref/*'), path(tss, stageAs: 'annotation/*'), path(expression, stageAs: 'expression/*'), path(predictdb, stageAs: 'predictdb/*')

    output:
    path "chunk_${chrom}", emit: chunk
    path 'versions.yml',   emit: versions

    script:
    def v  = (vcf instanceof List ? vcf : [vcf])[0]
    def fa = (fasta instanceof List ? fasta : [fasta])[0]
    def pdb = Seq2func.opt('--predictdb', predictdb)
    """
    export OMP_NUM_THREADS=${task.cpus}
    personal.py run \\
        --checkpoint ${Seq2func.q(checkpoint)} \\
        --vcf ${Seq2func.q(v)} --fasta ${Seq2func.q(fa)} \\
        ${Seq2func.opt('--tss', tss)} --expression ${Seq2func.q(expression)} \\
        --chrom ${Seq2func.q(chrom)} \\
        --out ${Seq2func.q("chunk_${chrom}")} \\
        ${task.ext.args} ${pdb}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
