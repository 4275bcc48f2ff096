process PRETRAIN {
    label 'process_gpu'
    tag "${model_name}"

    input:
    path dataset, stageAs: 'dataset'
    val  model_name
    path model_json, stageAs: 'model_config/*'
    val  resume_dir   // task-stable resume state (Seq2func.resumeBase), '' = off

    output:
    path 'pretrain/model.pt',     emit: checkpoint
    path 'pretrain/metrics.json', emit: metrics
    path 'pretrain/history.tsv',  emit: history
    path 'versions.yml',          emit: versions

    script:
    def model = model_json.toString().endsWith('NO_FILE') ? model_name : model_json
    """
    export OMP_NUM_THREADS=${task.cpus}
    train.py pretrain \\
        --dataset dataset \\
        --model ${Seq2func.q(model)} \\
        --outdir pretrain \\
        ${Seq2func.trainArgs(params)} \\
        ${resume_dir ? "--resume-dir ${Seq2func.q(resume_dir)}" : ''} \\
        --progress log
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
