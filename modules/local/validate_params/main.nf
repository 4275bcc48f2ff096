process VALIDATE_PARAMS {
    label 'process_single'

    input:
    val  params_json
    path schema

    output:
    path 'params.json', emit: json
    path 'versions.yml', emit: versions

    script:
    """
    cat > params.input.json <<'__SEQ2FUNC_JSON_END__'
${params_json}
__SEQ2FUNC_JSON_END__
    validate_inputs.py params --params params.input.json --schema ${schema} --out params.json
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
