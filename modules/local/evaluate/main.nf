process EVALUATE {
    label 'process_gpu'
    tag "${label}"

    input:
    tuple val(label), path(checkpoint, stageAs: 'checkpoint/*')
    path dataset, stageAs: 'dataset'
    path tss, stageAs: 'annotation/*'
    path expression, stageAs: 'expression/*'
    path truth, stageAs: 'truth/*'   // simulated truth.json (ceilings, truth expression) or NO_FILE

    output:
    tuple val(label), path("evaluate/${label}/metrics.json"), emit: metrics
    path "evaluate/${label}/*",                                emit: files
    path 'versions.yml',                                       emit: versions

    script:
    def tssArg  = tss.toString().endsWith('NO_FILE') ? '' : "--tss-bed ${Seq2func.q(tss)}"
    def exprArg = expression.toString().endsWith('NO_FILE') ? '' : "--expression ${Seq2func.q(expression)}"
    def truthArg = truth.toString().endsWith('NO_FILE') ? '' : "--truth ${Seq2func.q(truth)}"
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
