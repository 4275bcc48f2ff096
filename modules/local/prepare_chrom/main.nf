process PREPARE_CHROM {
    label 'process_single'
    tag "${chrom}"

    input:
    // the validated samplesheet as text, not as VALIDATE's file: its content (not the VALIDATE task
    // directory it sits in) enters the task hash, so re-validation after a change to an input PREPARE
    // does not use (--expression, --cohort_vcf, ...) keeps PREPARE cached under -resume
    tuple val(chrom), val(mode), val(samplesheet_csv), path(split), path(fasta, stageAs: 'ref/*'), path(blacklist, stageAs: 'blacklist/*')
    path tracks, stageAs: 'tracks/????/*'

    output:
    path "${chrom}.part", emit: part
    path 'versions.yml',  emit: versions

    script:
    def fa = (fasta instanceof List ? fasta : [fasta])[0]
    def bl = Seq2func.opt('--blacklist', blacklist)
    """
    cat > samplesheet.valid.csv <<'__SEQ2FUNC_CSV_END__'
${samplesheet_csv.endsWith('\n') ? samplesheet_csv : samplesheet_csv + '\n'}__SEQ2FUNC_CSV_END__
    prepare_chrom.py \\
        --fasta ${Seq2func.q(fa)} \\
        --samplesheet samplesheet.valid.csv \\
        --chrom ${Seq2func.q(chrom)} \\
        --out ${Seq2func.q(chrom + '.part')} \\
        --split-json ${Seq2func.q(split)} \\
        --mode ${mode} \\
        ${bl} \\
        ${task.ext.args}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
