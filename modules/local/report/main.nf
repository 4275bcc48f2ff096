/*
 * REPORT: MultiQC over the custom content every stage wrote (*_mqc.json / *_mqc.html), plus the
 * parameters that differ from the defaults and the software versions: one self-contained, offline
 * HTML page, results/multiqc/multiqc_report.html (+ multiqc_data/).
 */
process REPORT {
    label 'process_low'
    // by content: pipeline_info/software_versions.yml is rewritten by every run (same text, new mtime)
    cache 'deep'

    input:
    path content, stageAs: 'content/??/*'
    path params_json, stageAs: 'params.json'
    path versions_yml, stageAs: 'software_versions.yml'
    path schema

    output:
    path 'multiqc/multiqc_report.html', emit: report
    path 'multiqc/multiqc_data',        emit: data
    path 'versions.yml',                emit: versions

    script:
    """
    report.py build content/* --params params.json --schema ${schema} --versions software_versions.yml \\
        --out multiqc ${task.ext.args}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
