process VALIDATE {
    label 'process_single'

    input:
    val ok
    tuple path(samplesheet, stageAs: 'input/samplesheet/*'),
          path(tracks,      stageAs: 'tracks/????/*'),
          path(fasta,       stageAs: 'input/fasta/*'),
          path(gtf,         stageAs: 'input/gtf/*'),
          path(tss_bed,     stageAs: 'input/tss_bed/*'),
          path(blacklist,   stageAs: 'input/blacklist/*'),
          path(vcf,         stageAs: 'input/vcf/*'),
          path(cohort_vcf,  stageAs: 'input/cohort_vcf/*'),
          path(expression,  stageAs: 'input/expression/*'),
          path(variant_labels, stageAs: 'input/variant_labels/*'),
          path(conservation, stageAs: 'input/conservation/*')
    val  params_json
    path schemas, stageAs: 'schemas/*'

    output:
    path 'samplesheet.valid.csv', emit: samplesheet
    path 'validation.json',       emit: report
    path 'genes.bed', optional: true, emit: genes
    path 'mqc',                   emit: mqc
    path 'versions.yml',          emit: versions

    script:
    def opt = { name, f -> Seq2func.opt("--${name}", f) }
    """
    cat > params.json <<'__SEQ2FUNC_JSON_END__'
${params_json}
__SEQ2FUNC_JSON_END__
    validate_inputs.py inputs \\
        --params params.json \\
        --schema schemas/nextflow_schema.json \\
        --input-schema schemas/schema_input.json \\
        --samplesheet ${Seq2func.q(samplesheet)} \\
        --staged-dir tracks \\
        ${opt('fasta', fasta)} \\
        ${opt('gtf', gtf)} \\
        ${opt('tss-bed', tss_bed)} \\
        ${opt('blacklist', blacklist)} \\
        ${opt('vcf', vcf)} \\
        ${opt('cohort-vcf', cohort_vcf)} \\
        ${opt('expression', expression)} \\
        ${opt('variant-labels', variant_labels)} \\
        ${opt('conservation', conservation)} \\
        --out samplesheet.valid.csv \\
        --report validation.json \\
        --genes-out genes.bed
    report.py validate --validation validation.json --out mqc
    python3 -m seq2func.versions ${task.process} --tool bcftools > versions.yml
    """
}
