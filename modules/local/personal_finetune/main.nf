process PERSONAL_FINETUNE {
    label 'process_gpu'

    input:
    tuple path(checkpoint, stageAs: 'checkpoint/*'), path(vcf, stageAs: 'cohort/*'), path(fasta, stageAs: 'ref/*'), path(tss, stageAs: 'annotation/*'), path(expression, stageAs: 'expression/*')

    output:
    path 'personal_finetune/*', emit: files
    path 'personal_finetune/mqc', emit: mqc
    path 'versions.yml',        emit: versions

    script:
    def v  = (vcf instanceof List ? vcf : [vcf])[0]
    def fa = (fasta instanceof List ? fasta : [fasta])[0]
    """
    export OMP_NUM_THREADS=${task.cpus}
    personal.py finetune \\
        --checkpoint ${Seq2func.q(checkpoint)} \\
        --vcf ${Seq2func.q(v)} --fasta ${Seq2func.q(fa)} \\
        ${Seq2func.opt('--tss', tss)} --expression ${Seq2func.q(expression)} \\
        --out personal_finetune \\
        ${task.ext.args}
    report.py personal-finetune --finetune personal_finetune/finetune.json --out personal_finetune/mqc
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
