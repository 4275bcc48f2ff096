/*
 * The seq2func workflow: [SIMULATE] -> VALIDATE -> (later stages).
 */
include { VALIDATE_PARAMS } from '../modules/local/validate_params'
include { SIMULATE        } from '../modules/local/simulate'
include { VALIDATE        } from '../modules/local/validate'
include { PREPARE         } from '../subworkflows/local/prepare'
include { TRAIN           } from '../subworkflows/local/train'
include { PERSONAL        } from '../subworkflows/local/personal'
include { SCORE_VARIANTS_WF } from '../subworkflows/local/score_variants'
include { INTERPRET_WF      } from '../subworkflows/local/interpret'
include { REPORT            } from '../modules/local/report'

workflow SEQ2FUNC {
    main:
    // placeholder for a samplesheet row whose file is missing (VALIDATE reports it; keeps row i at position i)
    def noFile = file("${projectDir}/assets/NO_FILE", checkIfExists: true)
    ch_versions = Channel.empty()
    ch_mqc = Channel.empty()   // every stage's report content (MultiQC custom content folders)

    // 1. parameters against nextflow_schema.json (Python jsonschema); gates every other process
    VALIDATE_PARAMS(
        Seq2func.paramsJson(params),
        file("${projectDir}/nextflow_schema.json", checkIfExists: true)
    )
    ch_ok = VALIDATE_PARAMS.out.json.map { 'ok' }   // a constant, so -resume keeps later tasks
    ch_versions = ch_versions.mix(VALIDATE_PARAMS.out.versions)

    // an optional PredictDB model for PERSONAL (also with the simulated world): a missing file stops here
    if (params.personal_predictdb && !file(params.personal_predictdb.toString()).exists()) {
        error "ERROR: --personal_predictdb: file not found: ${params.personal_predictdb}"
    }
    def predictdb = params.personal_predictdb ? file(params.personal_predictdb.toString()) : []

    // 2. inputs: the simulated world (test profile) or the user's files, as one map of named fields
    //    (Seq2func.INPUT_FIELDS); an absent optional input is [] (a `path` input given [] stages nothing)
    ch_truth = Channel.value([])
    if (params.simulate) {
        SIMULATE(ch_ok, params.sim_scale, params.sim_seed)
        ch_versions = ch_versions.mix(SIMULATE.out.versions)
        ch_truth = SIMULATE.out.truth
        ch_inputs = SIMULATE.out.samplesheet
            .combine(SIMULATE.out.fasta)
            .combine(SIMULATE.out.gtf)
            .combine(SIMULATE.out.tss_bed)
            .combine(SIMULATE.out.blacklist)
            .combine(SIMULATE.out.cohort_vcf.map { [it] })
            .combine(SIMULATE.out.expression)
            .combine(SIMULATE.out.variants.map { [it] })
            .combine(SIMULATE.out.asv_labels)
            .combine(SIMULATE.out.conservation)
            .map { ss, fa, gtf, tss, bl, cohort, expr, variants, labels, cons ->
                [ samplesheet: ss, tracks: Seq2func.trackFiles(ss, noFile), fasta: fa, gtf: gtf, tss_bed: tss,
                  blacklist: bl, vcf: variants, cohort_vcf: cohort, expression: expr,
                  variant_labels: params.skip_variants ? [] : labels, conservation: params.skip_variants ? [] : cons ]
            }
            .first()   // a value channel, like the user-input branch: every later fan-out reuses it
    } else {
        if (!params.input) { error "ERROR: --input: a samplesheet is required (or use -profile test)" }
        if (!params.fasta) { error "ERROR: --fasta: a reference genome is required" }
        // a file parameter that does not exist stops the run here, naming the parameter and the path
        ['input', 'fasta', 'gtf', 'tss_bed', 'blacklist', 'vcf', 'cohort_vcf', 'expression', 'covariates', 'pretrained',
         'variant_labels', 'conservation'].each { name ->
            if (params[name] && !file(params[name].toString()).exists()) {
                error "ERROR: --${name}: file not found: ${params[name]}"
            }
        }
        def ss = file(params.input)
        def opt = { v -> Seq2func.optionalFile(v) }
        ch_inputs = ch_ok.map {
            [ samplesheet: ss, tracks: ss.exists() ? Seq2func.trackFiles(ss, noFile) : [],
              fasta: Seq2func.withIndex(params.fasta, ['.fai', '.gzi']), gtf: opt(params.gtf), tss_bed: opt(params.tss_bed),
              blacklist: opt(params.blacklist), vcf: Seq2func.withIndex(params.vcf, ['.tbi', '.csi']),
              cohort_vcf: Seq2func.withIndex(params.cohort_vcf, ['.tbi', '.csi']), expression: opt(params.expression),
              variant_labels: opt(params.variant_labels), conservation: opt(params.conservation) ]
        }
    }

    VALIDATE(
        ch_ok,
        ch_inputs.map { inputs -> Seq2func.INPUT_FIELDS.collect { inputs[it] } },
        Seq2func.validateParamsJson(params),
        [file("${projectDir}/nextflow_schema.json"), file("${projectDir}/assets/schema_input.json")]
    )
    ch_versions = ch_versions.mix(VALIDATE.out.versions)
    ch_mqc = ch_mqc.mix(VALIDATE.out.mqc)

    // what VALIDATE decided (validation.json `decisions`): later stages follow it, never re-derive it
    ch_decisions = VALIDATE.out.report.map { Seq2func.decisions(it) }
    // the run's genes (TSS from the annotation, else the expression BED's start; expression IDs)
    ch_genes = VALIDATE.out.genes.ifEmpty([])

    // 3. PREPARE: windows, binned targets, chromosome split -> results/prepare/<profile|peak>/
    ch_dataset = Channel.empty()
    if (!params.validate_only) {
        PREPARE(
            VALIDATE.out.samplesheet,
            ch_decisions,
            ch_inputs.map { it.tracks },
            // fasta and blacklist only once VALIDATE has passed
            VALIDATE.out.samplesheet.combine(ch_inputs.map { [it.fasta] }).map { ss, fa -> fa },
            VALIDATE.out.samplesheet.combine(ch_inputs.map { [it.blacklist] }).map { ss, bl -> bl }
        )
        ch_versions = ch_versions.mix(PREPARE.out.versions)
        ch_mqc = ch_mqc.mix(PREPARE.out.mqc)
        ch_dataset = PREPARE.out.dataset

        // 4. TRAIN: pretrain -> fine-tune per target cell type x strategy -> evaluate on test chromosomes
        ch_tss = ch_genes
        TRAIN(
            ch_dataset,
            ch_decisions.map { it.cell_types?.target ?: [] },
            PREPARE.out.mode,
            ch_tss,
            ch_inputs.map { it.expression },
            ch_truth
        )
        ch_versions = ch_versions.mix(TRAIN.out.versions)
        ch_mqc = ch_mqc.mix(TRAIN.out.mqc)

        // 5. SCORE_VARIANTS: every checkpoint scores --vcf (one task per model x chromosome), then the benchmark
        ch_has_vcf = ch_inputs.map { Seq2func.given(it.vcf) }
        if (!params.skip_variants) {
            ch_var_ckpts = TRAIN.out.checkpoints.combine(ch_has_vcf).filter { label, ckpt, ok -> ok }.map { label, ckpt, ok -> [label, ckpt] }
            SCORE_VARIANTS_WF(
                ch_var_ckpts,
                ch_decisions.map { it.variant_contigs ?: [] },
                ch_inputs.map { it.vcf },
                ch_inputs.map { it.fasta },
                ch_inputs.map { it.variant_labels },
                ch_inputs.map { it.conservation }
            )
            ch_versions = ch_versions.mix(SCORE_VARIANTS_WF.out.versions)
            ch_mqc = ch_mqc.mix(SCORE_VARIANTS_WF.out.mqc)
        }

        // 6. INTERPRET: attributions, motifs vs JASPAR, ISM for the pretrained and fine-tuned models
        if (!params.skip_interpret) {
            INTERPRET_WF(
                TRAIN.out.checkpoints,
                ch_dataset,
                Channel.value(params.interpret_regions ? file(params.interpret_regions, checkIfExists: true) : []),
                ch_inputs.map { it.fasta },
                ch_truth
            )
            ch_versions = ch_versions.mix(INTERPRET_WF.out.versions)
            ch_mqc = ch_mqc.mix(INTERPRET_WF.out.mqc)
        }

        // 7. PERSONAL: cross-individual benchmark, when a phased cohort and expression are given
        ch_has_cohort = ch_inputs.map { Seq2func.given(it.cohort_vcf) && Seq2func.given(it.expression) }
        if (!params.skip_personal) {
            // the fine-tuned model of --personal_cell_type (--personal_strategy), else the pretrained one
            ch_candidates = TRAIN.out.pretrained.map { [1, it] }
                .mix(TRAIN.out.finetuned
                    .filter { ct, strategy, ckpt -> ct == params.personal_cell_type && strategy == params.personal_strategy }
                    .map { ct, strategy, ckpt -> [0, ckpt] })
            // (no candidate when training failed: the run then ends with that task's error alone)
            ch_personal_ckpt = ch_candidates.toSortedList { a, b -> a[0] <=> b[0] }.filter { it }.map { it[0][1] }
                .combine(ch_has_cohort).filter { ckpt, ok -> ok }.map { ckpt, ok -> ckpt }
            PERSONAL(
                ch_personal_ckpt,
                PREPARE.out.chroms,
                ch_inputs.map { it.cohort_vcf },
                ch_inputs.map { it.fasta },
                ch_tss,
                ch_inputs.map { it.expression },
                Channel.value(predictdb)
            )
            ch_versions = ch_versions.mix(PERSONAL.out.versions)
            ch_mqc = ch_mqc.mix(PERSONAL.out.mqc)
        }
    }

    // versions of every tool used, and of Nextflow itself
    // (by text, sorted: the same versions give the same file, so REPORT stays cached on -resume)
    def versionsSeed = "Workflow:\n    seq2func: \"${workflow.manifest.version}\"\n    Nextflow: \"${nextflow.version}\"\n"
    ch_versions_text = ch_versions.map { it.text }.unique()
    ch_versions_text.collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", sort: true,
                                 seed: versionsSeed)
    // REPORT's copy stays under the work directory: a container task then mounts only that, never
    // --outdir (which may sit in a folder the image's user cannot enter)
    ch_versions_file = ch_versions_text.collectFile(name: 'software_versions.yml', sort: true, seed: versionsSeed)

    // 8. REPORT: one self-contained HTML page (MultiQC) of everything the stages wrote
    if (!params.skip_report) {
        REPORT(
            ch_mqc.collect(sort: true),   // sorted: the same content gives the same task hash (-resume)
            VALIDATE_PARAMS.out.json,
            ch_versions_file,
            file("${projectDir}/nextflow_schema.json", checkIfExists: true)
        )
    }

    emit:
    samplesheet = VALIDATE.out.samplesheet
    report      = VALIDATE.out.report
    dataset     = ch_dataset
}
