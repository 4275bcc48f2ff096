process INTERPRET_SUMMARY {
    label 'process_single'

    input:
    val  labels
    path runs, stageAs: 'runs/??/*'
    path truth, stageAs: 'truth/*'

    output:
    path 'interpret/*',  emit: files
    path 'interpret/mqc', emit: mqc
    path 'versions.yml', emit: versions

    script:
    def dirs = (runs instanceof List ? runs : [runs])
    def runArgs = [labels, dirs].transpose().collect { l, d -> "--run ${Seq2func.q("${l}=${d}")}" }.join(' ')
    def t = Seq2func.opt('--truth', truth)
    """
    interpret.py summary ${runArgs} ${t} --out interpret_summary
    report.py interpret ${runArgs} --summary interpret_summary --out mqc_interpret
    mkdir -p interpret && mv interpret_summary/* interpret/ && mv mqc_interpret interpret/mqc
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
