process PREPARE_SPLIT {
    label 'process_single'

    input:
    path fasta, stageAs: 'ref/*'
    tuple val(split_by), val(data_contigs)   // VALIDATE's decisions: chrom | contig, FASTA contigs holding data

    output:
    path 'split.json', emit: split
    path 'chroms.txt', emit: chroms
    path 'versions.yml', emit: versions

    script:
    def fa = (fasta instanceof List ? fasta : [fasta])[0]
    // options: task.ext.args (conf/modules.config); nothing chosen: prepare_split.py splits 80/10/10 by length
    """
    prepare_split.py --fasta ${Seq2func.q(fa)} --out split.json --chroms-out chroms.txt \\
        --split-by ${split_by} ${data_contigs ? "--data-contigs ${Seq2func.q(data_contigs)}" : ''} \\
        ${task.ext.args}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
