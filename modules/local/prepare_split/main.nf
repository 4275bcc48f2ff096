process PREPARE_SPLIT {
    label 'process_single'

    input:
    path fasta, stageAs: 'ref/*'

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
    // nothing chosen: 80/10/10 by length, whole chromosomes
    if (!args)                  args << "--fractions 0.8,0.1,0.1"
    """
    prepare_split.py --fasta ${Seq2func.q(fa)} --out split.json --chroms-out chroms.txt ${args.join(' ')}
    python3 -m seq2func.versions ${task.process} > versions.yml
    """
}
