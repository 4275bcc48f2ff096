process FINETUNE {
    label 'process_gpu'
    tag "${cell_type} ${strategy}"

    input:
    tuple val(cell_type), val(strategy)
    path dataset, stageAs: 'dataset'
    path checkpoint, stageAs: 'pretrained/*'
    val  resume_dir   // task-stable resume state (Seq2func.resumeBase), '' = off

    output:
    tuple val(cell_type), val(strategy), path("finetune/${cell_type}/${strategy}/model.pt"), emit: checkpoint
    path "finetune/${cell_type}/${strategy}/metrics.json", emit: metrics
    path "finetune/${cell_type}/${strategy}/history.tsv",  emit: history
    path 'versions.yml',                                    emit: versions

    script:
    """
    export OMP_NUM_THREADS=${task.cpus}
    train.py finetune \\
        --dataset dataset \\
        --checkpoint ${Seq2func.q(checkpoint)} \\
        --cell-type ${Seq2func.q(cell_type)} \\
        --strategy ${Seq2func.q(strategy)} \\
        --target-fraction ${params.target_fraction as double} \\
        --outdir ${Seq2func.q("finetune/${cell_type}/${strategy}")} \\
        ${Seq2func.trainArgs(params)} \\
        ${resume_dir ? "--resume-dir ${Seq2func.q(resume_dir)}" : ''} \\
        --progress log
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
