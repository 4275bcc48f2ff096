#!/usr/bin/env nextflow
/*
 * seq2func — sequence-to-function deep learning on your own epigenomic data.
 *   nextflow run main.nf -profile test --outdir results
 *   nextflow run main.nf -profile gpu,docker --input samplesheet.csv --fasta genome.fa --outdir results
 * Parameters: docs/usage.md and nextflow_schema.json. Outputs: docs/output.md.
 */
nextflow.enable.dsl = 2

include { SEQ2FUNC } from './workflows/seq2func'

def helpText() {
    return """
    seq2func v${workflow.manifest.version}

    Usage:
      nextflow run main.nf -profile test --outdir results
      nextflow run main.nf -profile gpu,docker --input samplesheet.csv --fasta genome.fa [--gtf genes.gtf] --outdir results

    Main options (all of them: docs/usage.md):
      --input         samplesheet CSV: track_id,cell_type,assay,file,role[,transform][,strand]
      --fasta         reference genome (plain or bgzipped)
      --gtf/--tss_bed gene annotation
      --blacklist     BED of regions to mask
      --cohort_vcf    phased multi-sample VCF;  --expression  genes x individuals TSV
      --outdir        where results go (default: results)
    Profiles: test, gpu, docker, singularity, apptainer, slurm, awsbatch, google
    """.stripIndent()
}

workflow {
    if (params.help) {
        log.info helpText()
        return
    }
    if (params.version) {
        log.info "seq2func v${workflow.manifest.version}"
        return
    }
    SEQ2FUNC()
}

workflow.onComplete {
    def status = workflow.success ? 'completed' : 'FAILED'
    log.info "seq2func ${status}: results in ${params.outdir}, reports in ${params.outdir}/pipeline_info"
}
