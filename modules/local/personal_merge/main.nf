process PERSONAL_MERGE {
    label 'process_single'

    input:
    path chunks, stageAs: 'chunks/*'

    output:
    path 'personal/*',   emit: files
    path 'personal/summary.json', emit: summary
    path 'personal/mqc', emit: mqc
    path 'versions.yml', emit: versions

    script:
    """
    personal.py merge chunks/* --out personal ${task.ext.args}
    report.py personal --personal personal --out personal/mqc
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
