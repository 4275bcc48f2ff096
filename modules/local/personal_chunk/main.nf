process PERSONAL_CHUNK {
    label 'process_gpu'
    tag "${chrom}"

    input:
    tuple val(chrom), path(checkpoint, stageAs: 'checkpoint/*'), path(vcf, stageAs: 'cohort/*'), path(fasta, stageAs: 'ref/*'), path(tss, stageAs: 'annotation/*'), path(expression, stageAs: 'expression/*'), path(predictdb, stageAs: 'predictdb/*')
    val  personal_args   // Seq2func.personalArgs(params), computed by PERSONAL (only those options enter the task hash)

    output:
    path "chunk_${chrom}", emit: chunk
    path 'versions.yml',   emit: versions

    script:
    def v  = (vcf instanceof List ? vcf : [vcf])[0]
    def fa = (fasta instanceof List ? fasta : [fasta])[0]
    def pdb = predictdb.toString().endsWith('NO_FILE') ? '' : "--predictdb ${Seq2func.q(predictdb)}"
    """
    export OMP_NUM_THREADS=${task.cpus}
    personal.py run \\
        --checkpoint ${Seq2func.q(checkpoint)} \\
        --vcf ${Seq2func.q(v)} --fasta ${Seq2func.q(fa)} \\
        --tss ${Seq2func.q(tss)} --expression ${Seq2func.q(expression)} \\
        --chrom ${Seq2func.q(chrom)} \\
        --out ${Seq2func.q("chunk_${chrom}")} \\
        ${personal_args} \\
        --null-draws ${params.personal_null_draws as int} \\
        --ism ${params.personal_ism} --max-backgrounds ${params.personal_max_backgrounds as int} \\
        --predixcan-inner-k ${params.predixcan_inner_folds as int} --predixcan-n-alphas ${params.predixcan_n_alphas as int} ${pdb}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
