// Helpers shared by the workflow scripts (Nextflow puts lib/ on the classpath).

import groovy.json.JsonOutput
import java.nio.file.Path

class Seq2func {

    /** Single-quote a string for bash: samplesheet values and file names never reach a shell unquoted. */
    static String q(Object s) {
        return "'" + s.toString().replace("'", "'\\''") + "'"
    }

    /**
     * The track files named in a samplesheet, in row order, resolved against the samplesheet's folder.
     * Tolerant on purpose: VALIDATE (Python) is what reports a malformed samplesheet in one clear line,
     * so a row whose file is missing or cannot be parsed here becomes the NO_FILE placeholder, keeping
     * row i at list position i (VALIDATE stages them as tracks/0001/..., tracks/0002/...).
     */
    static List trackFiles(Path samplesheet, Path noFile) {
        def lines = samplesheet.readLines().findAll { it.trim() }
        if (!lines) return []
        // the delimiter as seq2func.io.samplesheet decides it: tab for .tsv or a tab-only header, else comma
        def first = lines[0].replace('\uFEFF', '')
        def sep = (samplesheet.name.toLowerCase().endsWith('.tsv') || (first.contains('\t') && !first.contains(','))) ? '\t' : ','
        def header = first.split(sep, -1).collect { it.trim() }
        int col = header.indexOf('file')
        if (col < 0) return []
        def base = samplesheet.toRealPath().parent
        return lines.drop(1).collect { line ->
            def fields = line.split(sep, -1)
            def value = fields.size() > col ? fields[col].trim() : ''
            if (!value) return noFile
            def p = value.startsWith('/') ? java.nio.file.Paths.get(value) : base.resolve(value)
            return java.nio.file.Files.isReadable(p) ? p : noFile
        }
    }

    /**
     * The `decisions` of VALIDATE's validation.json: track mode, cell types per role, contigs holding
     * data, split mode, expression layout and individuals, contig aliases (see docs/output.md).
     * Processes get these as values, so -resume keys on what was decided, not on VALIDATE's task path.
     */
    static Map decisions(Path report) {
        def json = new groovy.json.JsonSlurper().parse(report.toFile())
        return (json.decisions ?: [:]) as Map
    }

    /**
     * An optional file parameter: the file, or `[]` when unset (a `path` input given `[]` stages
     * nothing; wrap it as `[it]` before `combine`, which would otherwise splice the empty list away).
     */
    static Object optionalFile(Object value) {
        return value ? nextflow.Nextflow.file(value.toString(), checkIfExists: false) : []
    }

    /** An optional file with its index files (`exts`, when they exist beside it), or `[]` when unset. */
    static Object withIndex(Object value, List exts) {
        if (!value) return []
        def f = nextflow.Nextflow.file(value.toString(), checkIfExists: false)
        return [f] + exts.collect { nextflow.Nextflow.file("${value}${it}", checkIfExists: false) }.findAll { it.exists() }
    }

    /**
     * `flag 'path'` for an optional staged input (a file, a file with its index, or `[]`), '' when
     * absent: the first file is the one the option names.
     */
    static String opt(String flag, Object staged) {
        def files = (staged instanceof Collection ? staged as List : [staged]).findAll { it != null && it.toString() }
        return files ? "${flag} ${q(files[0])}" : ''
    }

    /** Whether an optional staged input holds a file. */
    static boolean given(Object staged) {
        return staged instanceof Collection ? !staged.isEmpty() : staged != null && staged.toString() != ''
    }

    /**
     * The workflow's inputs by name (samplesheet, tracks, fasta, ...): VALIDATE stages them in this
     * order, every later stage picks its field by name.
     */
    static final List INPUT_FIELDS = ['samplesheet', 'tracks', 'fasta', 'gtf', 'tss_bed', 'blacklist', 'vcf',
        'cohort_vcf', 'expression', 'variant_labels', 'conservation']

    /** Parameters as JSON for the Python schema check (internal keys dropped; only `keys` when given). */
    static String paramsJson(Map params, List keys = null) {
        def clean = params.findAll { k, v -> !(k.toString().contains('-')) && (keys == null || k in keys) }
        return JsonOutput.prettyPrint(JsonOutput.toJson(clean))
    }

    /** The parameters VALIDATE looks at: changing anything else (--outdir, training options) keeps it cached. */
    static final List VALIDATE_KEYS = ['input', 'fasta', 'gtf', 'tss_bed', 'blacklist', 'vcf', 'cohort_vcf', 'expression',
        'covariates', 'pretrained', 'simulate', 'seq_length', 'bin_size', 'stride', 'crop_bp', 'max_n_frac',
        'test_chroms', 'valid_chroms', 'chrom_fractions', 'folds', 'strict', 'missing_samples', 'split_by',
        'variant_labels', 'conservation', 'ref_mismatch', 'model']

    /**
     * VALIDATE's parameters: VALIDATE_KEYS plus `personal_finetune` as it takes effect (on and PERSONAL
     * not skipped), so VALIDATE can stop a fine-tuning the cohort is too small for before any compute;
     * toggling --skip_personal re-runs VALIDATE only when fine-tuning was asked for.
     */
    static String validateParamsJson(Map params) {
        def clean = params.findAll { k, v -> !(k.toString().contains('-')) && k in VALIDATE_KEYS }
        clean.personal_finetune = params.personal_finetune?.toString() == 'true' && params.skip_personal?.toString() != 'true'
        return JsonOutput.prettyPrint(JsonOutput.toJson(clean))
    }

    /**
     * Where PRETRAIN/FINETUNE keep their task-stable resume state (train.py --resume-dir; see
     * docs/usage.md): --resume_dir, else `<workDir>/.seq2func-resume` (on HPC the work directory is on a
     * filesystem every node sees). Relative paths are taken from the launch directory. Object-store
     * locations (s3://, gs://, az://) are no paths a task can write to: with Fusion they become its
     * mount, /fusion/<scheme>/<bucket>/<key>; without it the result is '' (resume after a kill is off).
     */
    static String resumeBase(Object resumeDir, Path workDir, boolean fusion) {
        URI uri
        if (resumeDir) {
            def where = resumeDir.toString()
            if (!where.contains('://')) return java.nio.file.Paths.get(where).toAbsolutePath().normalize().toString()
            uri = new URI(where)
        } else {
            uri = workDir.toUri()
            if (uri.scheme in [null, 'file']) return workDir.resolve('.seq2func-resume').toString()
            uri = new URI(uri.toString().replaceAll('/+$', '') + '/.seq2func-resume')
        }
        if (uri.scheme == 'file') return uri.path
        return fusion ? "/fusion/${uri.scheme}/${uri.authority}${uri.path ?: ''}".toString().replaceAll('/+$', '') : ''
    }

    /**
     * resumeBase of this run (--resume_dir, the work directory, Fusion), for PRETRAIN/FINETUNE scripts.
     * Deliberately no task input: where the resume state lives never changes what a training computes
     * (the state is keyed by a fingerprint of the training itself), so moving it (--resume_dir) must
     * not re-run trainings under -resume. Nextflow hashes a task's inputs and the variables its script
     * references, not what a static method returns.
     */
    static String runResumeBase() {
        def session = (nextflow.Session) nextflow.Global.session
        def wf = session.workflowMetadata
        return resumeBase(session.params.resume_dir, wf.workDir, wf.fusion?.enabled ? true : false)
    }

}
