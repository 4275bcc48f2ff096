process EVALUATE_SUMMARY {
    label 'process_single'

    input:
    val  labels
    path metrics, stageAs: 'runs/??/metrics.json'
    path truth   // simulated truth.json (noise ceilings), or [] (none)

    output:
    path 'summary/*',    emit: files
    path 'mqc',          emit: mqc
    path 'versions.yml', emit: versions

    script:
    def t = Seq2func.opt('--truth', truth)
    """
    evaluate_summary.py runs/*/metrics.json --labels ${Seq2func.q(labels.join(','))} --outdir summary
    report.py evaluate runs/*/metrics.json --labels ${Seq2func.q(labels.join(','))} ${t} --out mqc
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
