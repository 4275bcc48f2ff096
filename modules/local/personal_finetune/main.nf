process PERSONAL_FINETUNE {
    label 'process_gpu'

    input:
    tuple path(checkpoint, stageAs: 'checkpoint/*'), path(vcf, stageAs: 'cohort/*'), path(fasta, stageAs: 'ref/*'), path(tss, stageAs: 'annotation/*'), path(expression, stageAs: 'expression/*')
    val  personal_args   // Seq2func.personalArgs(params), computed by PERSONAL (only those options enter the task hash)

    output:
    path 'personal_finetune/*', emit: files
    path 'personal_finetune/mqc', emit: mqc
    path 'versions.yml',        emit: versions

    script:
    def v  = (vcf instanceof List ? vcf : [vcf])[0]
    def fa = (fasta instanceof List ? fasta : [fasta])[0]
    def steps = params.personal_finetune_steps ? "--steps-per-epoch ${params.personal_finetune_steps as int}" : ''
    """
    export OMP_NUM_THREADS=${task.cpus}
    personal.py finetune \\
        --checkpoint ${Seq2func.q(checkpoint)} \\
        --vcf ${Seq2func.q(v)} --fasta ${Seq2func.q(fa)} \\
        --tss ${Seq2func.q(tss)} --expression ${Seq2func.q(expression)} \\
        --out personal_finetune \\
        ${personal_args} \\
        --null-draws ${params.personal_null_draws as int} \\
        --epochs ${params.personal_finetune_epochs as int} ${steps} \\
        --lr ${params.personal_finetune_lr as double} \\
        --mse-weight ${params.personal_finetune_mse_weight as double} --pairwise-weight ${params.personal_finetune_pairwise_weight as double} \\
        --holdout-individuals ${params.personal_finetune_holdout as double}
    report.py personal-finetune --finetune personal_finetune/finetune.json --out personal_finetune/mqc
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
