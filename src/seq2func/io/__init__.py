"""The input layer: every file format seq2func reads is read here, and every output is written
atomically through here.

One module per concept:

- :mod:`seq2func.io.text` — plain or gzip/bgzip text, line iteration with line numbers, capture of
  what C libraries (htslib, libBigWig) print on standard error;
- :mod:`seq2func.io.atomic` — atomic files and directories, JSON with NaN/numpy cleaned;
- :mod:`seq2func.io.samplesheet` — the samplesheet (``track_id,cell_type,assay,file,role[,...]``);
- :mod:`seq2func.io.tracks` — what a track file is (bigWig, bigBed, BED/narrowPeak);
- :mod:`seq2func.io.fasta` — the reference FASTA: scan, index, open;
- :mod:`seq2func.io.annotation` — TSSs from a GTF or BED6, gene-ID matching with or without
  Ensembl version suffixes, the gene table of a run;
- :mod:`seq2func.io.expression` — genes x individuals, as a TSV or a tensorQTL/fastQTL phenotype BED;
- :mod:`seq2func.io.vcf` — VCF/BCF headers, records in a region, genotypes, sample matching.

VALIDATE and every later stage read through these functions, so anything VALIDATE accepts every
stage accepts. Every problem with user input is a one-line :class:`seq2func.errors.InputError`.
"""
