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
    def args = []
    if (params.test_chroms)     args << "--test-chroms ${Seq2func.q(params.test_chroms)}"
    if (params.valid_chroms)    args << "--valid-chroms ${Seq2func.q(params.valid_chroms)}"
    if (params.chrom_fractions) args << "--fractions ${Seq2func.q(params.chrom_fractions)}"
    if (params.folds)           args << "--folds ${params.folds as int}"
    // nothing chosen: prepare_split.py splits 80/10/10 by length (seq2func.prepare.split.DEFAULT_FRACTIONS)
    if (split_by == 'contig') {
        args << "--block-size ${params.split_block_size as long} --min-gap ${params.split_min_gap as long}"
        if (params.split_gap != null) args << "--gap ${params.split_gap as long}"
    }
    """
    prepare_split.py --fasta ${Seq2func.q(fa)} --out split.json --chroms-out chroms.txt \\
        --split-by ${split_by} --seq-length ${params.seq_length as long} ${data_contigs ? "--data-contigs ${Seq2func.q(data_contigs)}" : ''} \\
        ${args.join(' ')}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
