"""VALIDATE end to end: every check in order (cheap first), then the validated samplesheet and
``validation.json`` written atomically, only after everything passed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from seq2func import __version__
from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.io.annotation import gene_table, read_tss, summarise_genes
from seq2func.io.atomic import write_files
from seq2func.io.fasta import Genome, check_fasta
from seq2func.io.project import INPUT_SCHEMA as INPUT_SCHEMA_NAME
from seq2func.io.project import PARAMS_SCHEMA as SCHEMA_NAME
from seq2func.io.project import find_project_file
from seq2func.io.samplesheet import Track, load_row_schema, read_samplesheet, to_csv
from seq2func.prepare.split import resolve_split_by
from seq2func.validate.annotation import check_gtf
from seq2func.validate.expression import check_covariates, check_expression
from seq2func.validate.messages import Warnings, preview
from seq2func.validate.params import (
    FILE_PARAMS,
    _split_chroms,
    check_model_for_mode,
    check_param_rules,
    load_schema,
    validate_params,
)
from seq2func.validate.tracks import check_bed, check_signal_bigwig, check_tracks
from seq2func.validate.variants import DEFAULT_MAX_VCF_RECORDS, check_variants, check_vcf
from seq2func.variants.benchmark import read_labels

# --------------------------------------------------------------------------------------------
# the stage


@dataclass
class Inputs:
    """What VALIDATE is given. Paths are local (possibly staged) paths; ``display`` names are taken
    from the parameters (what the user typed) when they refer to the same file."""

    params: dict[str, Any] = field(default_factory=dict)
    samplesheet: Path | None = None
    staged_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)  # fasta, gtf, ... (param names)
    schema: Path | None = None
    input_schema: Path | None = None
    work_dir: Path = Path(".")
    max_vcf_records: int = DEFAULT_MAX_VCF_RECORDS


def _display(name: str, local: Path, params: Mapping[str, Any]) -> str:
    """The path as the user gave it (the parameter) when ``local`` is that file (or its staged
    copy, same basename, where the parameter's path is not visible here); else ``local``."""
    given = params.get(name)
    if not isinstance(given, str) or not given:
        return str(local)
    gpath = Path(os.path.expanduser(given))
    if "://" not in given and gpath.exists():
        try:
            return given if local.exists() and os.path.samefile(gpath, local) else str(local)
        except OSError:
            return str(local)
    return given if Path(given.split("?")[0]).name == local.name else str(local)


def _strip_private(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _strip_private(v) for k, v in d.items() if not str(k).startswith("_")}
    if isinstance(d, list):
        return [_strip_private(v) for v in d]
    return d


@dataclass
class Validation:
    """What VALIDATE produces: the tracks (the validated samplesheet), the report
    (``validation.json``, with the ``decisions`` later stages read) and the run's gene table
    (``genes.bed``; None without annotation and expression)."""

    tracks: list[Track]
    report: dict[str, Any]
    genes: Any = None  # pandas.DataFrame (seq2func.io.annotation.gene_table) or None


def run_validation(inp: Inputs) -> tuple[list[Track], dict[str, Any]]:
    """Validate everything; returns the tracks and the report. Raises :class:`InputError`.

    Parameters
    ----------
    inp : Inputs
        What VALIDATE is given.

    Returns
    -------
    tuple
        ``(tracks, report)``: the validated samplesheet rows and the ``validation.json`` dict.
    """
    v = validate_all(inp)
    return v.tracks, v.report


def _check_params(inp: Inputs, warnings: Warnings) -> dict[str, Any]:
    """Check the parameters against the schema and the cross-parameter rules.

    Parameters
    ----------
    inp : Inputs
        What VALIDATE is given.
    warnings : Warnings
        Collects warnings; its ``strict`` flag is set from the checked parameters.

    Returns
    -------
    dict
        The checked parameters (files given on the command line count as given).
    """
    raw = dict(inp.params)
    schema_path = inp.schema or find_project_file(SCHEMA_NAME)
    params = validate_params(raw, load_schema(schema_path), warnings)
    if not params.get("simulate"):
        # files given on the command line count as given (running outside Nextflow)
        if params.get("input") is None and inp.samplesheet is not None:
            params["input"] = str(inp.samplesheet)
        for name, path in inp.files.items():
            if params.get(name) is None and path is not None:
                params[name] = str(path)
    params = check_param_rules(params, warnings)
    warnings.strict = bool(params.get("strict"))
    return params


def _local_files(inp: Inputs, params: Mapping[str, Any]) -> tuple[dict[str, Path], Path | None, dict[str, str]]:
    """Resolve the local paths of the input files and check that they exist.

    Explicit (staged) paths win, else the parameter values.

    Parameters
    ----------
    inp : Inputs
        What VALIDATE is given.
    params : mapping
        The checked parameters.

    Returns
    -------
    files : dict of str to Path
        Local path of each file parameter given (the samplesheet excluded).
    sheet : Path or None
        Local path of the samplesheet, if any.
    disp : dict of str to str
        The path of each file as the user gave it (see :func:`_display`).
    """
    files: dict[str, Path] = {}
    for name in FILE_PARAMS:
        if name == "input":
            continue
        if name in inp.files and inp.files[name] is not None:
            files[name] = Path(inp.files[name])
        elif params.get(name) and not params.get("simulate"):
            files[name] = Path(os.path.expanduser(str(params[name])))
    sheet = inp.samplesheet
    if sheet is None and params.get("input") and not params.get("simulate"):
        sheet = Path(os.path.expanduser(str(params["input"])))
    disp = {k: _display(k, v, params) for k, v in files.items()}
    for name, path in files.items():
        if not path.exists():
            raise InputError(disp[name], None, f"file not found (--{name})")
        if path.is_dir() and name != "pretrained":
            raise InputError(disp[name], None, f"is a directory, expected a file (--{name})")
    return files, sheet, disp


def _read_sheet(inp: Inputs, sheet: Path | None, params: Mapping[str, Any]) -> tuple[list[Track], str]:
    """Read the samplesheet (cheap, before the genome scan).

    Parameters
    ----------
    inp : Inputs
        What VALIDATE is given (staged directory, input schema).
    sheet : Path or None
        Local path of the samplesheet, if any.
    params : mapping
        The checked parameters.

    Returns
    -------
    tracks : list of Track
        The samplesheet's tracks (empty without a samplesheet).
    sheet_disp : str
        The samplesheet's path as the user gave it (``""`` without a samplesheet).
    """
    tracks: list[Track] = []
    if sheet is not None:
        sheet_disp = _display("input", Path(sheet), params)
        row_schema = load_row_schema(inp.input_schema or find_project_file(INPUT_SCHEMA_NAME))
        tracks = read_samplesheet(sheet, display=sheet_disp, staged_dir=inp.staged_dir, row_schema=row_schema)
    else:
        sheet_disp = ""
    return tracks, sheet_disp


def _check_genome(files: Mapping[str, Path], disp: Mapping[str, str], inp: Inputs, params: Mapping[str, Any],
                  report: dict[str, Any]) -> Genome | None:
    """Check the FASTA, ``--seq_length`` against its contigs and the split contigs.

    Parameters
    ----------
    files : mapping of str to Path
        Local path of each file parameter.
    disp : mapping of str to str
        Display path of each file parameter.
    inp : Inputs
        What VALIDATE is given (work directory).
    params : mapping
        The checked parameters.
    report : dict
        The report; ``genome``, ``split`` and a ``files`` entry are added.

    Returns
    -------
    Genome or None
        The checked genome (None without ``--fasta``).
    """
    genome: Genome | None = None
    if "fasta" in files:
        genome = check_fasta(files["fasta"], disp["fasta"], inp.work_dir)
        report["genome"] = {
            "path": genome.display,
            "contigs": len(genome.names),
            "total_length": sum(genome.lengths.values()),
            "lengths": genome.lengths,
            "fai": str(genome.fai),
            "gzi": str(genome.gzi) if genome.gzi else None,
            "index_built": genome.built_index,
        }
        seq = params.get("seq_length")
        if isinstance(seq, int) and seq > max(genome.lengths.values()):
            longest = max(genome.lengths, key=genome.lengths.__getitem__)
            raise InputError("--seq_length", None, f"{seq} is longer than every contig of {genome.display} (longest: {longest}, {genome.lengths[longest]} bp)")
        split = {}
        for pname in ("test_chroms", "valid_chroms"):
            wanted = _split_chroms(params.get(pname))
            amap = alias_map(genome.names, wanted)
            for c in wanted:
                if c not in amap:
                    raise InputError(f"--{pname}", None, f"'{c}' is not a contig of {genome.display} (contigs: {preview(genome.names)})")
            split[pname] = [amap[c] for c in wanted]
        report["split"] = split
        report["files"].append({"param": "fasta", "path": genome.display, "kind": "FASTA", "contigs": len(genome.names)})
    return genome


def _check_track_files(tracks: list[Track], genome: Genome | None, warnings: Warnings, sheet_disp: str,
                       params: Mapping[str, Any], report: dict[str, Any], decisions: dict[str, Any]) -> None:
    """Check the tracks' files and decide the mode, cell types and data contigs.

    Parameters
    ----------
    tracks : list of Track
        The samplesheet's tracks.
    genome : Genome or None
        The checked genome.
    warnings : Warnings
        Collects warnings.
    sheet_disp : str
        The samplesheet's display path.
    params : mapping
        The checked parameters.
    report : dict
        The report; ``samplesheet`` and the tracks' ``files`` entries are added.
    decisions : dict
        The decisions; ``mode``, ``cell_types`` and ``data_contigs`` (with a genome) are added.

    Returns
    -------
    None
    """
    if tracks:
        mode, track_reports = check_tracks(tracks, genome, warnings, sheet_disp, params.get("seq_length"))
        report["samplesheet"] = {
            "path": sheet_disp,
            "mode": mode,
            "tracks": len(tracks),
            "roles": {r: sum(t.role == r for t in tracks) for r in ("compendium", "target")},
            "cell_types": sorted({t.cell_type for t in tracks}),
            "assays": sorted({t.assay for t in tracks}),
        }
        for tr in track_reports:
            report["files"].append({"param": "input", **tr})
        decisions["mode"] = mode
        check_model_for_mode(params.get("model"), mode, bool(params.get("pretrained")))
        decisions["cell_types"] = {r: sorted({t.cell_type for t in tracks if t.role == r}) for r in ("compendium", "target")}
        if genome is not None:
            seq = params.get("seq_length") or 0
            held = {g for tr in track_reports for g in tr.get("alias_map", {}).values()}
            decisions["data_contigs"] = [c for c in genome.names if c in held and genome.lengths[c] >= seq]


def _check_annotation_files(files: Mapping[str, Path], disp: Mapping[str, str], genome: Genome | None,
                            warnings: Warnings, report: dict[str, Any]) -> set[str] | None:
    """Check the GTF, the TSS BED and the blacklist BED.

    Parameters
    ----------
    files : mapping of str to Path
        Local path of each file parameter.
    disp : mapping of str to str
        Display path of each file parameter.
    genome : Genome or None
        The checked genome.
    warnings : Warnings
        Collects warnings.
    report : dict
        The report; the files' ``files`` entries are added.

    Returns
    -------
    set of str or None
        The GTF's gene IDs (None without ``--gtf``).
    """
    gene_ids: set[str] | None = None
    if "gtf" in files:
        info = check_gtf(files["gtf"], disp["gtf"], genome, warnings)
        gene_ids = info.pop("_gene_ids")
        report["files"].append({"param": "gtf", "path": disp["gtf"], **info})
    if "tss_bed" in files:
        info = check_bed(files["tss_bed"], disp["tss_bed"], genome, warnings, what="TSS BED", min_cols=6, strand_col=5, strands="+-.")
        report["files"].append({"param": "tss_bed", "path": disp["tss_bed"], **info})
    if "blacklist" in files:
        info = check_bed(files["blacklist"], disp["blacklist"], genome, warnings, what="blacklist BED")
        report["files"].append({"param": "blacklist", "path": disp["blacklist"], **info})
    return gene_ids


def _check_variant_files(files: Mapping[str, Path], disp: Mapping[str, str], genome: Genome | None,
                         warnings: Warnings, params: Mapping[str, Any], inp: Inputs, report: dict[str, Any],
                         decisions: dict[str, Any]) -> None:
    """Check the variants to score, the variant labels and the conservation track.

    Parameters
    ----------
    files : mapping of str to Path
        Local path of each file parameter.
    disp : mapping of str to str
        Display path of each file parameter.
    genome : Genome or None
        The checked genome.
    warnings : Warnings
        Collects warnings.
    params : mapping
        The checked parameters.
    inp : Inputs
        What VALIDATE is given (``max_vcf_records``).
    report : dict
        The report; the files' ``files`` entries are added.
    decisions : dict
        The decisions; ``variant_contigs`` and ``variants`` are added (variants with a genome).

    Returns
    -------
    None
    """
    if "vcf" in files:
        if genome is None:
            info = check_vcf(files["vcf"], disp["vcf"], genome, warnings, max_records=inp.max_vcf_records)
            info.pop("_samples")
            report["files"].append({"param": "vcf", "path": disp["vcf"], **info})
        else:  # what SCORE_VARIANTS reads, read as it reads it: VCF/BCF or TSV, REF checked under --ref_mismatch
            info = check_variants(files["vcf"], disp["vcf"], genome, warnings, str(params.get("ref_mismatch") or "error"))
            decisions["variant_contigs"] = info.pop("_contigs")  # SCORE_VARIANTS fans out over these (FASTA spelling)
            decisions["variants"] = {k: info[k] for k in ("format", "records", "unique", "ref_mismatch_policy")}
            report["files"].append({"param": "vcf", "path": disp["vcf"], **info})
    if "variant_labels" in files and genome is not None:
        lab = read_labels(files["variant_labels"], genome.lengths)
        report["files"].append({"param": "variant_labels", "path": disp["variant_labels"], "kind": "variant labels",
                                "rows": int(len(lab)), "positives": int((lab["label"] == 1).sum()),
                                "cell_types": sorted(lab["cell_type"].unique())})
    if "conservation" in files:
        info = check_signal_bigwig(files["conservation"], disp["conservation"], genome, warnings)
        report["files"].append({"param": "conservation", "path": disp["conservation"], **info})


def _check_expression_files(files: Mapping[str, Path], disp: Mapping[str, str], genome: Genome | None,
                            warnings: Warnings, params: Mapping[str, Any], inp: Inputs, gene_ids: set[str] | None,
                            report: dict[str, Any], decisions: dict[str, Any]) -> Any:
    """Check the cohort VCF, the expression file and the covariates against each other.

    Parameters
    ----------
    files : mapping of str to Path
        Local path of each file parameter.
    disp : mapping of str to str
        Display path of each file parameter.
    genome : Genome or None
        The checked genome.
    warnings : Warnings
        Collects warnings.
    params : mapping
        The checked parameters.
    inp : Inputs
        What VALIDATE is given (``max_vcf_records``).
    gene_ids : set of str or None
        The GTF's gene IDs.
    report : dict
        The report; the files' ``files`` entries are added.
    decisions : dict
        The decisions; ``expression`` is added with an expression file.

    Returns
    -------
    object or None
        The expression table read (None without ``--expression``).
    """
    vcf_samples = None
    if "cohort_vcf" in files:
        info = check_vcf(files["cohort_vcf"], disp["cohort_vcf"], genome, warnings, cohort=True, max_records=inp.max_vcf_records)
        vcf_samples = info.pop("_samples")
        report["files"].append({"param": "cohort_vcf", "path": disp["cohort_vcf"], **info})
    expr_samples = None
    expr = None
    if "expression" in files:
        info = check_expression(
            files["expression"], disp["expression"], genome, warnings,
            vcf_samples=vcf_samples, vcf_display=disp.get("cohort_vcf", "the cohort VCF"), gene_ids=gene_ids,
            missing_samples=str(params.get("missing_samples") or "error"),
        )
        expr_samples = info.pop("_samples")
        expr = info.pop("_expression")
        used = info.pop("samples_used", None)
        report["files"].append({"param": "expression", "path": disp["expression"], **info})
        decisions["expression"] = {
            "layout": expr.layout, "genes": len(expr.genes), "individuals": len(expr_samples),
            "missing_samples": str(params.get("missing_samples") or "error"),
            "individuals_with_genotypes": len(used) if used is not None else None,
            "individuals_dropped": info.get("samples_dropped"),
            "individuals_used": used,
        }
        _check_finetune_individuals(params, used, disp)
    if "covariates" in files:
        info = check_covariates(files["covariates"], disp["covariates"], expr_samples, disp.get("expression", "the expression file"))
        report["files"].append({"param": "covariates", "path": disp["covariates"], **info})
    return expr


def _flag(value: Any) -> bool:
    """A boolean parameter as Nextflow hands it over (true/false, or the strings)."""
    return value is True or str(value).strip().lower() == "true"


def _check_finetune_individuals(params: Mapping[str, Any], used: Sequence[str] | None, disp: Mapping[str, str]) -> None:
    """Stop before any compute when personal fine-tuning is asked for but cannot hold individuals out.

    Parameters
    ----------
    params : mapping
        The checked parameters (``personal_finetune``, ``skip_personal``).
    used : sequence of str or None
        The expression samples with genotypes in the cohort VCF (None without a cohort VCF).
    disp : mapping of str to str
        Display path of each file parameter.

    Returns
    -------
    None
    """
    if used is None or not _flag(params.get("personal_finetune")) or _flag(params.get("skip_personal")):
        return
    # deferred: seq2func.personal.params pulls in scikit-learn (~0.8 s); only runs with fine-tuning need it
    from seq2func.personal.params import MIN_FINETUNE_INDIVIDUALS

    if len(used) < MIN_FINETUNE_INDIVIDUALS:
        raise InputError(
            disp["expression"], "samples",
            f"{len(used)} individuals have genotypes in {disp.get('cohort_vcf', 'the cohort VCF')}: personal fine-tuning "
            f"(--personal_finetune) needs at least {MIN_FINETUNE_INDIVIDUALS} to hold some out; run without it",
        )


def _check_pretrained(files: Mapping[str, Path], disp: Mapping[str, str], report: dict[str, Any]) -> None:
    """Check that the pretrained checkpoint exists and is readable.

    Parameters
    ----------
    files : mapping of str to Path
        Local path of each file parameter.
    disp : mapping of str to str
        Display path of each file parameter.
    report : dict
        The report; the checkpoint's ``files`` entry is added.

    Returns
    -------
    None
    """
    if "pretrained" in files:
        p = files["pretrained"]
        if not p.exists():
            raise InputError(disp["pretrained"], None, "pretrained checkpoint not found")
        if not os.access(p, os.R_OK):
            raise InputError(disp["pretrained"], None, "pretrained checkpoint is not readable")
        report["files"].append({"param": "pretrained", "path": disp["pretrained"], "kind": "checkpoint", "bytes": p.stat().st_size if p.is_file() else None})


def _run_genes(files: Mapping[str, Path], disp: Mapping[str, str], genome: Genome | None, expr: Any,
               warnings: Warnings, decisions: dict[str, Any]) -> Any:
    """The genes of the run (EVALUATE and PERSONAL read genes.bed, never the raw annotation).

    Parameters
    ----------
    files : mapping of str to Path
        Local path of each file parameter.
    disp : mapping of str to str
        Display path of each file parameter.
    genome : Genome or None
        The checked genome.
    expr : object or None
        The expression table read.
    warnings : Warnings
        Collects warnings.
    decisions : dict
        The decisions; ``genes`` is added when there are genes.

    Returns
    -------
    pandas.DataFrame or None
        The gene table (None without annotation and expression positions).
    """
    genes = None
    annotation_key = "tss_bed" if "tss_bed" in files else ("gtf" if "gtf" in files else None)
    if annotation_key is not None or (expr is not None and expr.positions is not None):
        annotation = read_tss(files[annotation_key]) if annotation_key else None
        genes = gene_table(annotation, expr.genes if expr is not None else None, expr.positions if expr is not None else None)
        if genome is not None and len(genes):
            amap = alias_map(genome.names, genes["chrom"].unique())
            genes = genes[genes["chrom"].isin(list(amap))].assign(chrom=lambda d: d["chrom"].map(amap))
        decisions["genes"] = {"annotation": annotation_key, **summarise_genes(genes, len(expr.genes) if expr is not None else None)}
        if expr is not None and annotation_key and len(genes) and not decisions["genes"].get("tss_from_annotation"):
            warnings.add(disp[annotation_key], None, f"none of the {len(expr.genes)} genes of --expression is in --{annotation_key} "
                         f"(IDs compared with and without version suffix, e.g. {preview(expr.genes)}): their TSSs come from the "
                         "expression BED's start column", promote=False)
        if expr is not None and len(genes) == 0:
            what = f"--{annotation_key}" if annotation_key else "the expression BED"
            raise InputError(disp["expression"], None, f"none of its {len(expr.genes)} genes ({preview(expr.genes)}) has a TSS in {what} "
                             "(IDs compared with and without version suffix)")
    return genes


def _final_decisions(tracks: list[Track], params: Mapping[str, Any], warnings: Warnings, report: dict[str, Any],
                     decisions: dict[str, Any]) -> None:
    """Decide the split mode and the contig aliases, and count what was checked.

    Parameters
    ----------
    tracks : list of Track
        The samplesheet's tracks.
    params : mapping
        The checked parameters.
    warnings : Warnings
        The warnings collected.
    report : dict
        The report; ``counts`` is added.
    decisions : dict
        The decisions; ``split_by`` (with tracks and data contigs) and ``contig_aliases`` are added.

    Returns
    -------
    None
    """
    if tracks and "data_contigs" in decisions:
        explicit = bool(_split_chroms(params.get("test_chroms")) or _split_chroms(params.get("valid_chroms")))
        decisions["split_by"] = resolve_split_by(str(params.get("split_by") or "auto"), len(decisions["data_contigs"]), explicit)
    decisions["contig_aliases"] = {f["param"] if f["param"] != "input" else f"input:{f.get('track_id')}": f["renamed"]
                                   for f in report["files"] if f.get("renamed")}
    report["counts"] = {
        "files_checked": len(report["files"]),
        "tracks": len(tracks),
        "warnings": len(warnings.items),
    }


def validate_all(inp: Inputs) -> Validation:
    """Validate everything and record the decisions later stages follow (see :class:`Validation`).
    Raises :class:`InputError`.

    Parameters
    ----------
    inp : Inputs
        What VALIDATE is given.

    Returns
    -------
    Validation
        The tracks, the report (private ``_`` keys removed) and the gene table.
    """
    warnings = Warnings(strict=False)
    params = _check_params(inp, warnings)
    files, sheet, disp = _local_files(inp, params)

    decisions: dict[str, Any] = {}
    report: dict[str, Any] = {"seq2func_version": __version__, "status": "ok", "params": params, "decisions": decisions,
                              "files": [], "warnings": warnings.items}

    # 2. samplesheet (cheap, before the genome scan)
    tracks, sheet_disp = _read_sheet(inp, sheet, params)
    # 3. genome
    genome = _check_genome(files, disp, inp, params, report)
    # 4. tracks
    _check_track_files(tracks, genome, warnings, sheet_disp, params, report, decisions)
    # 5. annotation, variants, expression
    gene_ids = _check_annotation_files(files, disp, genome, warnings, report)
    _check_variant_files(files, disp, genome, warnings, params, inp, report, decisions)
    expr = _check_expression_files(files, disp, genome, warnings, params, inp, gene_ids, report, decisions)
    _check_pretrained(files, disp, report)
    genes = _run_genes(files, disp, genome, expr, warnings, decisions)
    _final_decisions(tracks, params, warnings, report, decisions)
    return Validation(tracks, _strip_private(report), genes)


def write_outputs(tracks: Sequence[Track], report: Mapping[str, Any], out: Path | None, report_path: Path | None,
                  extra: Mapping[str | os.PathLike, str] | None = None) -> None:
    """Write the validated samplesheet, the report and ``extra`` files (path -> text) together:
    temporary files first, then renamed into place, so either all appear or none.

    Parameters
    ----------
    tracks : Sequence[Track]
        The validated samplesheet rows.
    report : Mapping[str, Any]
        The ``validation.json`` content.
    out : Path or None
        Where to write the validated samplesheet CSV; ``None``: not written.
    report_path : Path or None
        Where to write the report; ``None``: not written.
    extra : Mapping or None, optional
        More files to write with them: path -> text.
    """
    texts: dict[str | os.PathLike, str] = {}
    for p in (out, report_path):
        if p is not None:
            Path(p).parent.mkdir(parents=True, exist_ok=True)
    if out is not None:
        texts[out] = to_csv(tracks)
    if report_path is not None:
        texts[report_path] = json.dumps(report, indent=2, sort_keys=False) + "\n"
    texts.update(extra or {})
    write_files(texts)
