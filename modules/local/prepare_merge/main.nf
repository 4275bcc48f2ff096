process PREPARE_MERGE {
    label 'process_single'
    tag "${name}"

    input:
    val name
    path parts, stageAs: 'parts/*'

    output:
    path "${name}",                 emit: dataset
    path "${name}/manifest.json",   emit: manifest
    path 'mqc',                     emit: mqc
    path 'versions.yml',            emit: versions

    script:
    """
    prepare_merge.py parts/* --out ${Seq2func.q(name)}
    report.py prepare --dataset ${Seq2func.q(name)} --out mqc
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
