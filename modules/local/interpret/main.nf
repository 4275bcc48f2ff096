process INTERPRET {
    label 'process_gpu'
    tag "${label}"

    input:
    tuple val(label), path(checkpoint, stageAs: 'checkpoint/*')
    path dataset, stageAs: 'dataset'
    path regions, stageAs: 'regions/*'
    path fasta, stageAs: 'ref/*'

    output:
    tuple val(label), path("interpret/${label}"), emit: results
    path 'versions.yml',                          emit: versions

    script:
    def fa = (fasta instanceof List ? fasta : [fasta])[0]
    def bed = Seq2func.given(regions) ? "${Seq2func.opt('--regions', regions)} --fasta ${Seq2func.q(fa)}" : ''
    """
    export OMP_NUM_THREADS=${task.cpus}
    export NUMBA_NUM_THREADS=${task.cpus}
    interpret.py model --checkpoint ${Seq2func.q(checkpoint)} --dataset dataset \\
        --out ${Seq2func.q("interpret/${label}")} --label ${Seq2func.q(label)} ${bed} ${task.ext.args}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
