process PRETRAIN {
    label 'process_gpu'
    tag "${model_name}"

    input:
    path dataset, stageAs: 'dataset'
    val  model_name
    path model_json, stageAs: 'model_config/*'

    output:
    path 'pretrain/model.pt',     emit: checkpoint
    path 'pretrain/metrics.json', emit: metrics
    path 'pretrain/history.tsv',  emit: history
    path 'pretrain/mqc',          emit: mqc
    path 'versions.yml',          emit: versions

    script:
    def model = Seq2func.given(model_json) ? model_json : model_name
    // task-stable resume state, '' = off; not a task input, so --resume_dir keeps the task cached
    def resumeDir = Seq2func.runResumeBase()
    """
    export OMP_NUM_THREADS=${task.cpus}
    train.py pretrain \\
        --dataset dataset \\
        --model ${Seq2func.q(model)} \\
        --outdir pretrain \\
        ${task.ext.args} \\
        ${resumeDir ? "--resume-dir ${Seq2func.q(resumeDir)}" : ''} \\
        --progress log
    report.py training --metrics pretrain/metrics.json --label pretrain --out pretrain/mqc
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
