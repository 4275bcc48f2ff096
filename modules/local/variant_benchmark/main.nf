process VARIANT_BENCHMARK {
    label 'process_low'

    input:
    val  labels_of_runs
    path runs, stageAs: 'runs/??/*'
    path variant_labels, stageAs: 'labels/*'
    path vcf, stageAs: 'variants/*'
    path fasta, stageAs: 'ref/*'
    path conservation, stageAs: 'conservation/*'

    output:
    path 'variants/benchmark/*', emit: files
    path 'variants/mqc',         emit: mqc
    path 'versions.yml',         emit: versions

    script:
    def v  = (vcf instanceof List ? vcf : [vcf])[0]
    def fa = (fasta instanceof List ? fasta : [fasta])[0]
    def dirs = (runs instanceof List ? runs : [runs])
    def runArgs = [labels_of_runs, dirs].transpose().collect { l, d -> "--run ${Seq2func.q("${l}=${d}")}" }.join(' ')
    def cons = Seq2func.opt('--conservation', conservation)
    """
    score_variants.py benchmark ${runArgs} --labels ${Seq2func.q(variant_labels)} \\
        --fasta ${Seq2func.q(fa)} --vcf ${Seq2func.q(v)} ${cons} --out variants/benchmark ${task.ext.args}
    report.py variants --benchmark variants/benchmark --out variants/mqc
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
