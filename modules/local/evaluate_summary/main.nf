process EVALUATE_SUMMARY {
    label 'process_single'

    input:
    val  labels
    path metrics, stageAs: 'runs/??/metrics.json'

    output:
    path 'summary/*',    emit: files
    path 'versions.yml', emit: versions

    script:
    """
    evaluate_summary.py runs/*/metrics.json --labels ${Seq2func.q(labels.join(','))} --outdir summary
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
