/*
 * TRAIN: PRETRAIN on the compendium tracks (or start from --pretrained), FINETUNE fanned out over
 * target cell types x strategies (scratch = same budget, random start), EVALUATE every checkpoint
 * on the test chromosomes, and a summary of what transfer bought.
 */
include { PRETRAIN         } from '../../../modules/local/pretrain'
include { FINETUNE         } from '../../../modules/local/finetune'
include { EVALUATE         } from '../../../modules/local/evaluate'
include { EVALUATE_SUMMARY } from '../../../modules/local/evaluate_summary'

workflow TRAIN {
    take:
    ch_dataset       // PREPARE's dataset directory
    ch_target_cell_types   // VALIDATE's decision: the cell types with role 'target'
    ch_mode          // 'profile' | 'peak'
    ch_tss           // TSS BED / GTF, or [] (none)
    ch_expression    // expression TSV, or []
    ch_truth         // simulated truth.json (ceilings and truth expression for EVALUATE and the report), or []

    main:
    ch_versions = Channel.empty()
    ch_mqc = Channel.empty()

    // task-stable resume state: a retried (killed) PRETRAIN/FINETUNE resumes from its last checkpoint
    // (the scripts ask Seq2func.runResumeBase() themselves: the location is no task input, see there)
    def resumeBase = Seq2func.runResumeBase()
    if (!resumeBase) {
        log.warn "--resume_dir: ${params.resume_dir ?: workflow.workDir} is object storage and Fusion is off: a killed " +
                 "PRETRAIN/FINETUNE restarts from epoch 0 (set --resume_dir to a path every task can write to)"
    }

    if (params.pretrained) {
        ch_pretrained = Channel.value(file(params.pretrained, checkIfExists: true))
    } else {
        def userModel = params.model && (params.model.toString().contains('/') || params.model.toString().endsWith('.json'))
        ch_model_name = ch_mode.map { mode -> params.model ?: (mode == 'peak' ? 'resnet_peak' : 'basenji_131k') }
        PRETRAIN(ch_dataset, ch_model_name, userModel ? file(params.model, checkIfExists: true) : [])
        ch_pretrained = PRETRAIN.out.checkpoint
        ch_mqc = ch_mqc.mix(PRETRAIN.out.mqc)
        ch_versions = ch_versions.mix(PRETRAIN.out.versions)
    }

    // target cell types (role == target) x strategies
    def wanted = params.finetune_cell_types ? params.finetune_cell_types.toString().tokenize(',') : null
    ch_cell_types = ch_target_cell_types.map { cts -> cts.findAll { ct -> wanted == null || ct in wanted } }
    // (a queue channel of strategies drives the fan-out: operators on value channels emit once)
    ch_jobs = Channel.fromList(params.finetune_strategies.toString().tokenize(','))
        .combine(ch_cell_types.map { [it] })
        .flatMap { strategy, cts -> cts.collect { ct -> [ct, strategy] } }

    FINETUNE(ch_jobs, ch_dataset, ch_pretrained)
    ch_versions = ch_versions.mix(FINETUNE.out.versions.first())

    ch_checkpoints = ch_pretrained.map { ['pretrain', it] }
        .mix(FINETUNE.out.checkpoint.map { ct, strategy, ckpt -> ["${ct}/${strategy}".toString(), ckpt] })

    EVALUATE(ch_checkpoints, ch_dataset, ch_tss, ch_expression, ch_truth)
    ch_versions = ch_versions.mix(EVALUATE.out.versions.first())

    ch_all = EVALUATE.out.metrics.toSortedList { a, b -> a[0] <=> b[0] }
    EVALUATE_SUMMARY(ch_all.map { rows -> rows.collect { it[0] } }, ch_all.map { rows -> rows.collect { it[1] } }, ch_truth)
    ch_versions = ch_versions.mix(EVALUATE_SUMMARY.out.versions)
    ch_mqc = ch_mqc.mix(FINETUNE.out.mqc, EVALUATE_SUMMARY.out.mqc)

    emit:
    pretrained  = ch_pretrained
    finetuned   = FINETUNE.out.checkpoint
    checkpoints = ch_checkpoints   // [label, model.pt]: 'pretrain' and '<cell_type>/<strategy>'
    summary    = EVALUATE_SUMMARY.out.files
    mqc        = ch_mqc
    versions   = ch_versions
}
