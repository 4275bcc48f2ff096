process FINETUNE {
    label 'process_gpu'
    tag "${cell_type} ${strategy}"

    input:
    tuple val(cell_type), val(strategy)
    path dataset, stageAs: 'dataset'
    path checkpoint, stageAs: 'pretrained/*'

    output:
    tuple val(cell_type), val(strategy), path("finetune/${cell_type}/${strategy}/model.pt"), emit: checkpoint
    path "finetune/${cell_type}/${strategy}/metrics.json", emit: metrics
    path "finetune/${cell_type}/${strategy}/history.tsv",  emit: history
    path "finetune/${cell_type}/${strategy}/mqc",         emit: mqc
    path 'versions.yml',                                    emit: versions

    script:
    // task-stable resume state, '' = off; not a task input, so --resume_dir keeps the task cached
    def resumeDir = Seq2func.runResumeBase()
    """
    export OMP_NUM_THREADS=${task.cpus}
    train.py finetune \\
        --dataset dataset \\
        --checkpoint ${Seq2func.q(checkpoint)} \\
        --cell-type ${Seq2func.q(cell_type)} \\
        --strategy ${Seq2func.q(strategy)} \\
        --outdir ${Seq2func.q("finetune/${cell_type}/${strategy}")} \\
        ${task.ext.args} \\
        ${resumeDir ? "--resume-dir ${Seq2func.q(resumeDir)}" : ''} \\
        --progress log
    report.py training --metrics ${Seq2func.q("finetune/${cell_type}/${strategy}/metrics.json")} \\
        --label ${Seq2func.q("${cell_type}/${strategy}")} --out ${Seq2func.q("finetune/${cell_type}/${strategy}/mqc")}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
