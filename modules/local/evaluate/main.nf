process EVALUATE {
    label 'process_gpu'
    tag "${label}"

    input:
    tuple val(label), path(checkpoint, stageAs: 'checkpoint/*')
    path dataset, stageAs: 'dataset'
    path tss, stageAs: 'annotation/*'
    path expression, stageAs: 'expression/*'
    path truth, stageAs: 'truth/*'   // simulated truth.json (ceilings, truth expression) or [] (none)

    output:
    tuple val(label), path("evaluate/${label}/metrics.json"), emit: metrics
    path "evaluate/${label}/*",                                emit: files
    path 'versions.yml',                                       emit: versions

    script:
    def tssArg  = Seq2func.opt('--tss-bed', tss)
    def exprArg = Seq2func.opt('--expression', expression)
    def truthArg = Seq2func.opt('--truth', truth)
    """
    export OMP_NUM_THREADS=${task.cpus}
    evaluate.py \\
        --checkpoint ${Seq2func.q(checkpoint)} \\
        --dataset dataset \\
        --outdir ${Seq2func.q("evaluate/${label}")} \\
        ${tssArg} ${exprArg} ${truthArg} \\
        ${task.ext.args}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
