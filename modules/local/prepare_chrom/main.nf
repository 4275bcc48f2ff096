process PREPARE_CHROM {
    label 'process_single'
    tag "${chrom}"

    input:
    tuple val(chrom), val(mode), path(samplesheet), path(split), path(fasta, stageAs: 'ref/*'), path(blacklist, stageAs: 'blacklist/*')
    path tracks, stageAs: 'tracks/????/*'

    output:
    path "${chrom}.part", emit: part
    path 'versions.yml',  emit: versions

    script:
    def fa = (fasta instanceof List ? fasta : [fasta])[0]
    def bl = !blacklist.toString().endsWith('NO_FILE') ? "--blacklist ${Seq2func.q(blacklist)}" : ''
    def stride = params.stride ? "--stride ${params.stride as int}" : ''
    """
    prepare_chrom.py \\
        --fasta ${Seq2func.q(fa)} \\
        --samplesheet ${Seq2func.q(samplesheet)} \\
        --chrom ${Seq2func.q(chrom)} \\
        --out ${Seq2func.q(chrom + '.part')} \\
        --split-json ${Seq2func.q(split)} \\
        --mode ${mode} \\
        --seq-length ${params.seq_length as int} \\
        --bin-size ${params.bin_size as int} \\
        ${stride} \\
        --crop-bp ${params.crop_bp as int} \\
        --max-n-frac ${params.max_n_frac as double} \\
        ${bl} \\
        ${params.strict ? '--strict' : ''}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
