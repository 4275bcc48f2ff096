process SCORE_VARIANTS_MERGE {
    label 'process_single'
    tag "${label}"

    input:
    tuple val(label), path(chunks, stageAs: 'chunks/??/*')
    path vcf, stageAs: 'variants/*'
    path fasta, stageAs: 'ref/*'

    output:
    tuple val(label), path("variants/${label}"), emit: merged
    path 'versions.yml',                          emit: versions

    script:
    def v  = (vcf instanceof List ? vcf : [vcf])[0]
    def fa = (fasta instanceof List ? fasta : [fasta])[0]
    """
    score_variants.py merge chunks/*/chunk --vcf ${Seq2func.q(v)} --fasta ${Seq2func.q(fa)} \\
        --out ${Seq2func.q("variants/${label}")} ${task.ext.args}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
