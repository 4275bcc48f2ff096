"""VALIDATE: the first stage of every run. Fail fast, with one line, before any work is done.

Checks, in order (cheap first):

1. the run's parameters (``params.json`` written by Nextflow) against ``nextflow_schema.json``
   (nf-core layout: ``definitions`` groups joined by ``allOf``) plus the cross-field rules a JSON
   schema cannot express (:func:`check_param_rules`);
2. the samplesheet (:mod:`seq2func.io.samplesheet`);
3. the FASTA: a ``>`` header first, unique non-empty records, IUPAC characters only (the whole
   file is scanned in large blocks), and a ``.fai`` (``.gzi``) index, built when missing;
4. every track: bigWigs open with pyBigWig, BED/narrowPeak intervals parse, and one samplesheet is
   all bigWig (profile mode) or all peaks (peak mode);
5. annotation (GTF, TSS BED, blacklist), VCFs (REF alleles against the FASTA), expression and
   covariates (sample IDs against the cohort VCF), the pretrained checkpoint;
6. chromosome names of every file against the FASTA after harmonisation
   (:func:`seq2func.chroms.alias_map`): a file sharing no contig with the genome, or a bigWig
   whose chromosome lengths differ (another assembly), stops the run; partial coverage is a
   warning (an error under ``--strict``).

Every problem raises :class:`seq2func.errors.InputError`; :func:`write_outputs` writes the
validated samplesheet and ``validation.json`` atomically, only after everything passed.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from seq2func import __version__
from seq2func.chroms import alias_map
from seq2func.errors import InputError
from seq2func.io.annotation import gene_key, gene_table, read_tss, summarise_genes
from seq2func.io.atomic import write_files, write_json  # noqa: F401  (write_json: bin/validate_inputs.py)
from seq2func.io.expression import read_expression
from seq2func.io.fasta import Genome, check_fasta
from seq2func.io.project import INPUT_SCHEMA as INPUT_SCHEMA_NAME
from seq2func.io.project import PARAMS_SCHEMA as SCHEMA_NAME
from seq2func.io.project import find_project_file
from seq2func.io.samplesheet import Track, load_row_schema, read_samplesheet, to_csv
from seq2func.io.text import CStderr, iter_text_lines
from seq2func.io.tracks import BIGWIG_MAGIC, track_kind
from seq2func.io.vcf import open_vcf

log = logging.getLogger(__name__)

FILE_PARAMS = ("input", "fasta", "gtf", "tss_bed", "blacklist", "vcf", "cohort_vcf", "expression", "covariates", "pretrained",
               "variant_labels", "conservation")
DEFAULT_MAX_VCF_RECORDS = 10_000

# Parameters that Nextflow itself, nf-core configs or institutional profiles put into `params`.
NEXTFLOW_INTERNAL_PARAMS = frozenset(
    {
        "config_profile_name", "config_profile_description", "config_profile_contact", "config_profile_url",
        "custom_config_version", "custom_config_base", "institutional_config_name", "validate_params",
        "schema_ignore_params", "validationSchemaIgnoreParams", "validationShowHiddenParams",
        "validationFailUnrecognisedParams", "validationLenientMode", "help_full", "show_hidden",
        "email", "email_on_fail", "plaintext_email", "hook_url", "max_memory", "max_cpus", "max_time",
        "tracedir", "trace_report_suffix", "enable_conda", "igenomes_base", "igenomes_ignore", "genomes",
        "genome", "pipelines_testdata_base_path", "modules_testdata_base_path", "singularity_pull_docker_container",
    }
)
NEXTFLOW_INTERNAL_PREFIXES = ("multiqc_", "config_profile_", "institutional_", "validation", "nf_", "nextflow_")


# --------------------------------------------------------------------------------------------
# small helpers


def _fmt(value: object) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def preview(items: Iterable[object], n: int = 3) -> str:
    """``'a', 'b', 'c' ... (12 in all)`` — the first few of a list and its size."""
    items = list(items)
    head = ", ".join(repr(str(i)) for i in items[:n])
    return head if len(items) <= n else f"{head} ... ({len(items)} in all)"


class Warnings:
    """Collected warnings; under ``strict`` a data warning becomes an :class:`InputError`."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.items: list[str] = []

    def add(self, path: str | None, record: str | None, message: str, *, promote: bool = True) -> None:
        err = InputError(path, record, message)
        if self.strict and promote:
            raise InputError(err.path, err.record, err.message + " (an error under --strict)")
        self.items.append(str(err))


# --------------------------------------------------------------------------------------------
# 1. parameters


def flatten_schema(schema: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """All parameters of an nf-core schema (``definitions``/``$defs`` groups, ``allOf`` and top-level
    ``properties``) in schema order, and the required ones."""
    props: dict[str, dict[str, Any]] = {}
    required: list[str] = []
    groups: list[Mapping[str, Any]] = []
    defs = dict(schema.get("definitions", {}))
    defs.update(schema.get("$defs", {}))
    seen = set()
    for item in schema.get("allOf", []):
        ref = item.get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        if name in defs:
            groups.append(defs[name])
            seen.add(name)
    groups.extend(g for n, g in defs.items() if n not in seen)
    groups.append(schema)
    for g in groups:
        for k, v in g.get("properties", {}).items():
            props.setdefault(k, dict(v))
        required.extend(r for r in g.get("required", []) if r not in required)
    return props, required


def load_schema(path: str | os.PathLike) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(os.fspath(path), None, f"cannot read parameter schema: {err}") from None


def load_params(path: str | os.PathLike) -> dict[str, Any]:
    display = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            params = json.load(fh)
    except FileNotFoundError:
        raise InputError(display, None, "parameter file not found") from None
    except json.JSONDecodeError as err:
        raise InputError(display, f"line {err.lineno}", f"not valid JSON: {err.msg}") from None
    if not isinstance(params, dict):
        raise InputError(display, None, "parameter file must hold a JSON object")
    return params


def describe(prop: Mapping[str, Any]) -> str:
    """What a parameter must be, in words: 'an integer >= 1', 'one of a, b', 'true or false'."""
    types = prop.get("type", "string")
    types = [types] if isinstance(types, str) else list(types)
    types = [t for t in types if t != "null"]
    if "enum" in prop:
        return "one of " + ", ".join(str(v) for v in prop["enum"])
    if types == ["boolean"]:
        return "true or false"
    if types and types[0] in ("integer", "number"):
        noun = "an integer" if types[0] == "integer" else "a number"
        lo, hi = prop.get("minimum"), prop.get("maximum")
        if lo is not None and hi is not None:
            return f"{noun} between {lo:g} and {hi:g}"
        if lo is not None:
            return f"{noun} >= {lo:g}"
        if hi is not None:
            return f"{noun} <= {hi:g}"
        return noun
    if "pattern" in prop:
        return f"a string matching /{prop['pattern']}/"
    return "a string"


def validate_params(params: Mapping[str, Any], schema: Mapping[str, Any], warnings: Warnings | None = None) -> dict[str, Any]:
    """Check ``params`` against the schema; return them with schema defaults filled in.

    ``null`` values mean "not set" (as in nf-schema) and are not type-checked. Unknown parameters
    are warnings (with a 'did you mean' hint), except Nextflow/nf-core internals.
    """
    import jsonschema

    warnings = warnings if warnings is not None else Warnings()
    props, required = flatten_schema(schema)
    set_params = {k: v for k, v in params.items() if v is not None}
    for key in params:
        if key in props or key in NEXTFLOW_INTERNAL_PARAMS or key.startswith(NEXTFLOW_INTERNAL_PREFIXES):
            continue
        snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).replace("-", "_").lower()
        if snake in props and snake != key:
            # Nextflow adds camelCase twins of --kebab-case options; the kebab spelling warns below
            if "-" not in key and any(k for k in params if k.replace("-", "_") == snake and "-" in k):
                continue
            warnings.add(f"--{key}", None, f"unknown parameter, ignored (did you mean --{snake}?)", promote=False)
            continue
        close = difflib.get_close_matches(key, list(props), n=1)
        hint = f" (did you mean --{close[0]}?)" if close else ""
        warnings.add(f"--{key}", None, f"unknown parameter, ignored{hint}", promote=False)

    flat = {"type": "object", "properties": props, "required": [r for r in required if r not in {k for k, v in props.items() if "default" in v}]}
    validator = jsonschema.Draft7Validator(flat)
    order = {k: i for i, k in enumerate(props)}
    errors = []
    for err in validator.iter_errors({k: v for k, v in set_params.items() if k in props}):
        if err.validator == "required":
            name = err.message.split("'")[1] if "'" in err.message else "?"
            errors.append((order.get(name, 0), name, None))
        else:
            errors.append((order.get(str(err.path[0]), 0), str(err.path[0]), err))
    if errors:
        _, name, err = min(errors, key=lambda e: e[0])
        prop = props[name]
        if err is None:
            raise InputError(f"--{name}", None, f"required parameter is missing ({prop.get('description', '')})")
        msg = prop.get("errorMessage") if err.validator == "pattern" and prop.get("errorMessage") else f"must be {describe(prop)}"
        raise InputError(f"--{name}", None, f"{msg}, got {_fmt(err.instance)}")

    resolved: dict[str, Any] = {}
    for k, v in props.items():
        value = params.get(k)
        if value is None:
            value = v.get("default")
        if v.get("type") == "integer" and isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON 1024.0 is an integer to JSON Schema
        resolved[k] = value
    return resolved


def _split_chroms(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def check_param_rules(p: Mapping[str, Any], warnings: Warnings | None = None) -> dict[str, Any]:
    """Cross-field rules; returns the params with derived values (``stride`` -> ``seq_length``)."""
    warnings = warnings if warnings is not None else Warnings()
    p = dict(p)
    seq, binsz, crop = p.get("seq_length"), p.get("bin_size"), p.get("crop_bp") or 0
    if isinstance(seq, int) and isinstance(binsz, int):
        if seq % binsz:
            raise InputError("--seq_length", None, f"{seq} is not divisible by --bin_size {binsz}")
        if crop % binsz:
            raise InputError("--crop_bp", None, f"{crop} is not divisible by --bin_size {binsz}")
        if 2 * crop >= seq:
            raise InputError("--crop_bp", None, f"2 x {crop} must be less than --seq_length {seq} (nothing would be left)")
    if p.get("stride") is None:
        p["stride"] = seq
    if not p.get("simulate"):
        for name, what in (("input", "a samplesheet CSV"), ("fasta", "the reference genome FASTA")):
            if not p.get(name):
                raise InputError(f"--{name}", None, f"required unless --simulate: {what}")
        if not p.get("gtf") and not p.get("tss_bed"):
            warnings.add("--gtf", None, "neither --gtf nor --tss_bed given: gene-level evaluation at TSSs will be skipped", promote=False)
    else:
        given = [n for n in ("input", "fasta") if p.get(n)]
        if given:
            warnings.add(f"--{given[0]}", None, "ignored with --simulate (the simulated world provides the inputs)", promote=False)
    if p.get("expression") and not p.get("cohort_vcf"):
        raise InputError("--expression", None, "requires --cohort_vcf (the genotypes of the individuals)")
    if p.get("covariates") and not p.get("expression"):
        raise InputError("--covariates", None, "requires --expression")
    test, valid = _split_chroms(p.get("test_chroms")), _split_chroms(p.get("valid_chroms"))
    both = sorted(set(test) & set(valid))
    if both:
        raise InputError("--valid_chroms", None, f"{preview(both)} also in --test_chroms; a chromosome is in one split only")
    if p.get("chrom_fractions"):
        try:
            fr = [float(x) for x in str(p["chrom_fractions"]).split(",")]
        except ValueError:
            fr = []
        if len(fr) != 3 or any(not (0 <= x <= 1) for x in fr) or not math.isclose(sum(fr), 1.0, abs_tol=1e-6):
            raise InputError("--chrom_fractions", None, f"must be three fractions train,valid,test summing to 1, got {_fmt(p['chrom_fractions'])}")
        if test or valid:
            raise InputError("--chrom_fractions", None, "give either --chrom_fractions or --test_chroms/--valid_chroms, not both")
    if p.get("folds") == 1:
        raise InputError("--folds", None, "must be 0 (no cross-validation) or >= 2, got 1")
    return p


# --------------------------------------------------------------------------------------------
# 3. FASTA


# --------------------------------------------------------------------------------------------
# 6. chromosome names


def check_contigs(
    genome: Genome,
    display: str,
    contigs: Mapping[str, int | None],
    *,
    kind: str,
    warnings: Warnings,
    record: str | None = None,
    check_lengths: bool = False,
    min_length_for_missing: int | None = None,
    data_contigs: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Harmonise a file's contig names onto the genome's; stop when they share nothing.

    ``contigs`` maps the file's names to lengths (``None`` when unknown). With ``check_lengths``
    a shared contig whose length differs from the FASTA's is an error (another assembly).
    ``min_length_for_missing``: warn about genome contigs at least that long the file lacks.
    ``data_contigs``: the contigs that hold records (a VCF header may declare many more); only
    those are warned about when the genome lacks them.
    """
    names = list(contigs)
    amap = alias_map(genome.names, names)
    if names and not amap:
        raise InputError(
            display,
            record,
            f"chromosome names do not match {genome.display}: no contig in common "
            f"(file has {preview(names)}; genome has {preview(genome.names)})",
        )
    if check_lengths or any(v is not None for v in contigs.values()):
        bad = [(o, contigs[o], genome.lengths[g]) for o, g in amap.items() if contigs[o] is not None and contigs[o] != genome.lengths[g]]
        if bad:
            o, a, b = bad[0]
            more = f"; {len(bad)} contigs differ" if len(bad) > 1 else ""
            raise InputError(
                display,
                record,
                f"chromosome names/lengths do not match {genome.display} (e.g. '{o}' length {a} != {b}{more}): {kind} of another assembly?",
            )
    unmapped = [n for n in names if n not in amap]
    if data_contigs is not None:
        with_data = set(data_contigs)
        unmapped = [n for n in unmapped if n in with_data]
    if unmapped:
        warnings.add(display, record, f"{len(unmapped)} of {len(names)} contigs are not in {genome.display} and will be ignored: {preview(unmapped)}")
    missing: list[str] = []
    if min_length_for_missing is not None:
        covered = set(amap.values())
        missing = [g for g in genome.names if g not in covered and genome.lengths[g] >= min_length_for_missing]
        if missing:
            warnings.add(display, record, f"has no data for {len(missing)} genome contigs: {preview(missing)}")
    renamed = {k: v for k, v in amap.items() if k != v}
    return {
        "contigs": len(names),
        "shared": len(amap),
        "shared_fraction": round(len(amap) / len(names), 6) if names else 1.0,
        "alias_map": amap,
        "renamed": renamed,
        "not_in_genome": unmapped,
        "genome_contigs_missing": missing,
    }


def _check_ends(genome: Genome, display: str, amap: Mapping[str, str], max_end: Mapping[str, tuple[int, int]], what: str = "end", context: str = "") -> None:
    for chrom, (end, line) in max_end.items():
        g = amap.get(chrom)
        if g is not None and end > genome.lengths[g]:
            raise InputError(
                display,
                f"line {line}",
                f"{what} {end} is beyond the end of {chrom} (length {genome.lengths[g]} in {genome.display}): another assembly?{context}",
            )


# --------------------------------------------------------------------------------------------
# 4. tracks


def check_bigwig(track: Track, genome: Genome | None, warnings: Warnings, seq_length: int | None = None) -> dict[str, Any]:
    import pyBigWig

    display = track.file
    with open(track.path, "rb") as fh:
        head = fh.read(4)
    if head != BIGWIG_MAGIC:
        raise InputError(display, track.record, "not a bigWig file (bad magic number: corrupt, or another format?)")
    cap = CStderr()
    bw = None
    try:
        with cap:
            bw = pyBigWig.open(str(track.path))
            ok = bw is not None and bw.isBigWig()
            chroms = dict(bw.chroms()) if ok else {}
            if ok and chroms:
                c0, l0 = next(iter(chroms.items()))
                bw.stats(c0, 0, min(l0, 100_000))  # touch the data index
    except (RuntimeError, OSError) as err:
        log.debug("libBigWig: %s (%s)", cap.text.strip(), err)
        raise InputError(display, track.record, "cannot read bigWig: truncated or corrupt (libBigWig could not read its header/index)") from None
    finally:
        if bw is not None:
            bw.close()
    if not ok:
        raise InputError(display, track.record, "not a bigWig file")
    if not chroms:
        raise InputError(display, track.record, "bigWig has no chromosomes")
    info: dict[str, Any] = {"kind": "bigwig"}
    if genome is not None:
        info.update(check_contigs(genome, display, chroms, kind="bigWig", warnings=warnings, record=track.record, check_lengths=True, min_length_for_missing=seq_length))
    return info


def check_bed(
    path: Path,
    display: str,
    genome: Genome | None,
    warnings: Warnings,
    *,
    what: str = "BED",
    min_cols: int = 3,
    strand_col: int | None = None,
    strands: str = "+-",
    context: str = "",
    min_length_for_missing: int | None = None,
) -> dict[str, Any]:
    """Intervals: >= min_cols tab-separated columns, integer 0 <= start < end, strand if asked."""
    max_end: dict[str, tuple[int, int]] = {}
    n = 0
    ctx = f" ({context})" if context else ""
    for line_no, line in iter_text_lines(path, display, what):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        f = line.split("\t")
        if len(f) < min_cols:
            if len(line.split()) >= min_cols:
                raise InputError(display, f"line {line_no}", f"{what} columns must be tab-separated{ctx}")
            raise InputError(display, f"line {line_no}", f"expected at least {min_cols} tab-separated columns, got {len(f)}{ctx}")
        chrom = f[0].strip()
        try:
            start, end = int(f[1]), int(f[2])
        except ValueError:
            bad = f[1] if not f[1].strip().lstrip("-").isdigit() else f[2]
            raise InputError(display, f"line {line_no}", f"coordinates must be integers, got {bad!r}{ctx}") from None
        if start < 0:
            raise InputError(display, f"line {line_no}", f"negative start {start}{ctx}")
        if end < start:
            raise InputError(display, f"line {line_no}", f"end {end} < start {start}{ctx}")
        if end == start:
            raise InputError(display, f"line {line_no}", f"end == start {start}: empty interval (BED is 0-based, half-open){ctx}")
        if strand_col is not None and f[strand_col].strip() not in strands:
            raise InputError(display, f"line {line_no}", f"strand must be {' or '.join(repr(s) for s in strands)}, got {f[strand_col]!r}{ctx}")
        if not chrom:
            raise InputError(display, f"line {line_no}", f"empty chromosome name{ctx}")
        if chrom not in max_end or end > max_end[chrom][0]:
            max_end[chrom] = (end, line_no)
        n += 1
    if n == 0:
        raise InputError(display, None, f"no {what} records{ctx}")
    info: dict[str, Any] = {"kind": what, "records": n}
    if genome is not None:
        c = check_contigs(genome, display, {k: None for k in max_end}, kind=what, warnings=warnings, record=context or None, min_length_for_missing=min_length_for_missing)
        _check_ends(genome, display, c["alias_map"], max_end, context=ctx)
        info.update(c)
    return info


def check_tracks(tracks: Sequence[Track], genome: Genome | None, warnings: Warnings, samplesheet_display: str, seq_length: int | None = None) -> tuple[str, list[dict[str, Any]]]:
    """Check every track; returns the mode ('profile' or 'peak') and per-track reports."""
    kinds = []
    for t in tracks:
        k = track_kind(t.path, t.file)
        if k == "bigbed":
            raise InputError(t.file, t.record, "bigBed is not supported; give a bigWig (profile mode) or BED/narrowPeak (peak mode)")
        kinds.append(k)
    first = kinds[0]
    for t, k in zip(tracks, kinds):
        if k != first:
            a = "bigWig" if first == "bigwig" else "BED/narrowPeak"
            b = "bigWig" if k == "bigwig" else "BED/narrowPeak"
            raise InputError(
                samplesheet_display,
                t.record,
                f"{b} file {t.file!r} mixed with {a} tracks (row 1 is {a}); one samplesheet must be all bigWig (profile mode) or all BED/narrowPeak (peak mode)",
            )
    reports = []
    for t, k in zip(tracks, kinds):
        if k == "bigwig":
            info = check_bigwig(t, genome, warnings, seq_length)
        else:
            info = check_bed(t.path, t.file, genome, warnings, what="peak BED", context=f"samplesheet row {t.index}, track_id={t.track_id}")
        reports.append({"track_id": t.track_id, "path": t.file, "staged_as": t.staged_file, **info})
    return ("profile" if first == "bigwig" else "peak"), reports


# --------------------------------------------------------------------------------------------
# 5. annotation, variants, expression


_GTF_GENE_ID = re.compile(r'(?:^|;)\s*gene_id\s+"?([^";]+)"?')
_GTF_GENE_NAME = re.compile(r'(?:^|;)\s*gene_name\s+"?([^";]+)"?')


MODE_OF_ARCHITECTURE = {"basenji": "profile", "enformer": "profile", "simple_cnn": "profile", "resnet": "peak"}


def check_model_for_mode(model: str | None, mode: str, pretrained: bool = False) -> None:
    """``--model`` (bundled name or JSON) must exist and suit the tracks: a peak-mode run (BED tracks)
    needs a classifier (``resnet``), a profile-mode run (bigWig tracks) a profile or scalar model.
    Checked here so that a wrong pairing stops before PREPARE, not at PRETRAIN."""
    if not model or pretrained:
        return
    from seq2func.models import load_config

    try:
        name = load_config(model).get("name")
    except (OSError, ValueError) as err:
        raise InputError("--model", str(model), str(err).replace(f"{model}: ", "")) from None
    want = MODE_OF_ARCHITECTURE.get(str(name))
    if want is not None and want != mode:
        what = "BED/narrowPeak tracks: peak mode needs a classifier such as resnet_peak" if mode == "peak" else \
            "bigWig tracks: profile mode needs a profile model such as basenji_131k or basenji_tiny"
        raise InputError("--model", str(model), f"a {name} model does not suit this samplesheet's {what}")


def check_gtf(path: Path, display: str, genome: Genome | None, warnings: Warnings) -> dict[str, Any]:
    max_end: dict[str, tuple[int, int]] = {}
    counts: dict[str, int] = {}
    gene_ids: set[str] = set()
    n = 0
    for line_no, line in iter_text_lines(path, display, "GTF"):
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split("\t")
        if len(f) != 9:
            hint = " (columns must be tab-separated)" if len(f) < 9 and len(line.split()) >= 9 else ""
            raise InputError(display, f"line {line_no}", f"expected 9 tab-separated GTF columns, got {len(f)}{hint}")
        chrom, _, feature, s, e, _, strand, _, attrs = f
        try:
            start, end = int(s), int(e)
        except ValueError:
            bad = s if not s.strip().isdigit() else e
            raise InputError(display, f"line {line_no}", f"coordinates must be integers, got {bad!r}") from None
        if start < 1:
            raise InputError(display, f"line {line_no}", f"start {start} < 1 (GTF is 1-based)")
        if end < start:
            raise InputError(display, f"line {line_no}", f"end {end} < start {start}")
        if strand not in ("+", "-", "."):
            raise InputError(display, f"line {line_no}", f"strand must be '+', '-' or '.', got {strand!r}")
        counts[feature] = counts.get(feature, 0) + 1
        if feature in ("gene", "transcript", "exon"):
            m = _GTF_GENE_ID.search(attrs)
            if not m:
                raise InputError(display, f"line {line_no}", f"{feature} record without a gene_id attribute")
            gene_ids.add(m.group(1))
            m2 = _GTF_GENE_NAME.search(attrs)
            if m2:
                gene_ids.add(m2.group(1))
        if chrom not in max_end or end > max_end[chrom][0]:
            max_end[chrom] = (end, line_no)
        n += 1
    if not (counts.get("gene") or counts.get("transcript") or counts.get("exon")):
        raise InputError(display, None, f"no gene, transcript or exon records (features: {preview(counts) if counts else 'none'})")
    info: dict[str, Any] = {"kind": "GTF", "records": n, "features": counts, "genes": len(gene_ids)}
    if genome is not None:
        c = check_contigs(genome, display, {k: None for k in max_end}, kind="GTF", warnings=warnings)
        _check_ends(genome, display, c["alias_map"], max_end)
        info.update(c)
    info["_gene_ids"] = gene_ids
    return info


def _open_vcf(path: Path, display: str):
    return open_vcf(path, display)


def check_vcf(
    path: Path,
    display: str,
    genome: Genome | None,
    warnings: Warnings,
    *,
    cohort: bool = False,
    max_records: int = DEFAULT_MAX_VCF_RECORDS,
) -> dict[str, Any]:
    """Open a VCF/BCF, check its contigs and REF alleles (first ``max_records`` records, spread
    over contigs when indexed) against the FASTA; for a cohort VCF, GT and samples."""
    vf = _open_vcf(path, display)
    cap = CStderr()
    try:
        with cap:
            header = vf.header
            samples = list(header.samples)
            has_gt = "GT" in header.formats
            header_contigs = {c: (header.contigs[c].length if header.contigs[c].length else None) for c in header.contigs}
            index_contigs: list[str] = []
            if vf.index is not None:
                index_contigs = list(vf.index.keys())
    except (OSError, ValueError) as err:
        raise InputError(display, None, f"cannot read VCF header: {err}") from None
    if cohort:
        if not samples:
            raise InputError(display, "header", "cohort VCF has no sample columns")
        if not has_gt:
            raise InputError(display, "header", "cohort VCF has no GT (genotype) FORMAT field")
        dup = sorted({s for s in samples if samples.count(s) > 1})
        if dup:
            raise InputError(display, "header", f"duplicate sample IDs {preview(dup)}")

    contigs: dict[str, int | None] = dict(header_contigs)
    for c in index_contigs:
        contigs.setdefault(c, None)
    checked = skipped = 0
    amap: dict[str, str] = alias_map(genome.names, contigs) if genome is not None else {}

    def records() -> Iterator[Any]:
        if index_contigs:
            per = max(100, max_records // max(1, len(index_contigs)))
            for c in index_contigs:
                it = vf.fetch(c)
                for i, rec in enumerate(it):
                    if i >= per:
                        break
                    yield rec
        else:
            for i, rec in enumerate(vf):
                if i >= max_records:
                    break
                yield rec

    n = 0
    last = "the header"
    seen_contigs: set[str] = set()
    it = records()
    failure: Exception | None = None
    cap = CStderr()
    with cap:
        while True:
            try:
                rec = next(it, None)
                if rec is not None:
                    chrom, pos, ref = rec.chrom, rec.pos, rec.ref
            except (OSError, ValueError) as err:
                failure = err
                break
            if rec is None:
                break
            n += 1
            last = f"{chrom}:{pos}"
            seen_contigs.add(chrom)
            if chrom not in contigs:
                contigs[chrom] = None
                if genome is not None:
                    amap = alias_map(genome.names, contigs)
            if genome is None or ref is None:
                continue
            g = amap.get(chrom)
            if g is None:
                skipped += 1
                continue
            glen = genome.lengths[g]
            if pos < 1 or pos > glen:
                raise InputError(display, f"{chrom}:{pos}", f"position beyond the end of {g} (length {glen} in {genome.display}): another assembly?")
            fa = genome.fetch(g, pos - 1, min(glen, pos - 1 + len(ref))).upper()
            r = ref.upper()
            if len(fa) < len(r) or any(a != b and a in "ACGT" and b in "ACGT" for a, b in zip(r, fa)):
                where = f" ({genome.display} {g}:{pos})" if g != chrom else ""
                raise InputError(display, f"{chrom}:{pos}", f"REF '{ref}' != FASTA '{fa}'{where}: wrong genome build or unnormalised VCF?")
            checked += 1
    if failure is not None:
        detail = "; ".join(cap.messages("E")) or str(failure)
        raise InputError(display, f"record {n + 1} (after {last})", f"malformed VCF record: {detail}")
    if n == 0:
        raise InputError(display, None, "no variant records")
    info: dict[str, Any] = {
        "kind": "cohort VCF" if cohort else "VCF",
        "samples": len(samples),
        "records_checked": n,
        "ref_checked": checked,
        "records_on_unknown_contigs": skipped,
    }
    if genome is not None:
        c = check_contigs(genome, display, contigs, kind="VCF", warnings=warnings, data_contigs=set(index_contigs) | seen_contigs)
        info.update(c)
    info["_samples"] = samples
    vf.close()
    return info


def _read_table_header(path: Path, display: str, what: str) -> tuple[int, list[str]]:
    for line_no, line in iter_text_lines(path, display, what):
        if line.strip():
            return line_no, line.split("\t")
    raise InputError(display, None, f"empty {what} file")


def check_variants(path: Path, display: str, genome: Genome, warnings: Warnings, ref_mismatch: str = "error") -> dict[str, Any]:
    """The variants to score, read by SCORE_VARIANTS' own reader
    (:func:`seq2func.variants.records.read_variants`: VCF/BCF or a ``chrom pos ref alt`` TSV) and
    REF-checked against the FASTA under ``ref_mismatch`` (:func:`~seq2func.variants.records.check_ref`)."""
    from seq2func.variants.records import check_ref, read_variants

    vs = check_ref(read_variants(path, genome.path, display=display), genome.path, ref_mismatch, display=display)
    skipped = {k: v for k, v in vs.counts.items() if k in ("ref_mismatch", "ref_on_n", "symbolic", "star", "missing_alt",
                                                              "unknown_contig", "invalid_allele", "same_as_ref") and v}
    if skipped:
        warnings.add(display, None, "variants left out: " + ", ".join(f"{k} {v}" for k, v in skipped.items()), promote=False)
    if vs.counts.get("unique", 0) == 0:
        raise InputError(display, None, "no variant left to score (" + (", ".join(f"{k} {v}" for k, v in skipped.items()) or "empty") + ")")
    held = set(vs.variants["chrom"])
    rec = vs.records
    compared = rec["skip_reason"].isna() | rec["skip_reason"].isin(["ref_mismatch", "ref_on_n"])
    return {"kind": "variants", "format": vs.format, "ref_mismatch_policy": ref_mismatch, **vs.counts,
            "ref_checked": int(rec.loc[compared, "record_index"].nunique()),  # records whose REF met the FASTA
            "alias_map": dict(vs.aliases), "renamed": {k: v for k, v in vs.aliases.items() if k != v},
            "_contigs": [c for c in genome.names if c in held]}


def check_signal_bigwig(path: Path, display: str, genome: Genome | None, warnings: Warnings) -> dict[str, Any]:
    """A bigWig that is not a samplesheet track (``--conservation``): it opens, and its contigs and
    lengths agree with the FASTA's."""
    import pyBigWig

    with open(path, "rb") as fh:
        if fh.read(4) != BIGWIG_MAGIC:
            raise InputError(display, None, "not a bigWig file (bad magic number)")
    cap = CStderr()
    try:
        with cap:
            bw = pyBigWig.open(str(path))
            chroms = dict(bw.chroms()) if bw is not None else {}
            if bw is not None:
                bw.close()
    except (RuntimeError, OSError):
        raise InputError(display, None, "cannot read bigWig: truncated or corrupt") from None
    if not chroms:
        raise InputError(display, None, "bigWig has no chromosomes")
    info: dict[str, Any] = {"kind": "bigWig"}
    if genome is not None:
        info.update(check_contigs(genome, display, chroms, kind="bigWig", warnings=warnings, check_lengths=True))
    return info


MISSING_SAMPLE_POLICIES = ("error", "drop")


def check_expression(
    path: Path,
    display: str,
    genome: Genome | None,
    warnings: Warnings,
    *,
    vcf_samples: Sequence[str] | None = None,
    vcf_display: str = "the cohort VCF",
    gene_ids: set[str] | None = None,
    missing_samples: str = "drop",
) -> dict[str, Any]:
    """Genes x individuals, read by :func:`seq2func.io.expression.read_expression` (the reader every
    stage uses): a TSV (``gene_id`` then individuals) or a phenotype BED (``#chr start end id``
    then individuals). Against the cohort VCF's samples: none shared is an error; some absent is an
    error under ``missing_samples='error'`` (the stages' default, so VALIDATE refuses what PERSONAL
    would) and a warning under ``drop``."""
    expr = read_expression(path, display)
    header_line, samples, genes = expr.header_line, expr.samples, expr.genes
    info: dict[str, Any] = {"kind": "expression", "layout": expr.layout, "genes": len(genes), "samples": len(samples)}
    if vcf_samples is not None:
        if missing_samples not in MISSING_SAMPLE_POLICIES:
            raise InputError("--missing_samples", None, f"must be one of {', '.join(MISSING_SAMPLE_POLICIES)}, got {missing_samples!r}")
        vs = set(vcf_samples)
        shared = [s for s in samples if s in vs]
        no_geno = [s for s in samples if s not in vs]
        if not shared:
            raise InputError(
                display,
                f"line {header_line}",
                f"sample IDs do not match {vcf_display}: none of {len(samples)} expression samples ({preview(samples)}) "
                f"is among the {len(vs)} VCF samples ({preview(list(vcf_samples))})",
            )
        if no_geno:
            msg = f"{len(no_geno)} of {len(samples)} expression samples have no genotypes in {vcf_display}"
            if missing_samples == "error":
                raise InputError(display, f"line {header_line}", f"{msg}: {preview(no_geno)} (--missing_samples drop leaves them out)")
            warnings.add(display, f"line {header_line}", f"{msg} and will be ignored: {preview(no_geno)}")
        info["samples_shared_with_vcf"] = len(shared)
        info["samples_used"] = shared
        info["samples_dropped"] = len(no_geno)
    if gene_ids is not None:
        stripped = {gene_key(x) for x in gene_ids}
        found = sum(1 for g in genes if g in gene_ids or gene_key(g) in stripped)
        info["genes_in_annotation"] = found
        if found == 0 and expr.layout != "bed":
            warnings.add(display, None, f"none of its gene IDs ({preview(genes)}) is a gene_id/gene_name of the annotation")
    if expr.positions is not None and genome is not None:
        pos = expr.positions
        max_end: dict[str, tuple[int, int]] = {}
        for i, (c, e) in enumerate(zip(pos["chrom"], pos["end"])):
            if c not in max_end or e > max_end[c][0]:
                max_end[c] = (int(e), i)
        lines = {c: expr.header_line + 1 + i for c, (e, i) in max_end.items()}  # approximate: blank lines not counted
        c = check_contigs(genome, display, {k: None for k in max_end}, kind="expression BED", warnings=warnings)
        _check_ends(genome, display, c["alias_map"], {k: (v[0], lines[k]) for k, v in max_end.items()})
        info.update(c)
    info["_samples"] = samples
    info["_expression"] = expr
    return info


def check_covariates(path: Path, display: str, expr_samples: Sequence[str] | None, expr_display: str = "the expression file") -> dict[str, Any]:
    """Covariates x individuals (first column the covariate) or individuals x covariates."""
    header_line, header = _read_table_header(path, display, "covariates")
    if len(header) < 2:
        sep = "," if "," in header[0] else None
        header = header[0].split(sep) if sep else header
        if len(header) < 2:
            raise InputError(display, f"line {header_line}", "expected a tab-separated table with a header")
    header = [h.strip() for h in header]
    first_col: list[str] = []
    rows = 0
    for line_no, line in iter_text_lines(path, display, "covariates"):
        if line_no <= header_line or not line.strip():
            continue
        first_col.append(re.split(r"[\t,]", line, maxsplit=1)[0].strip())
        rows += 1
    if rows == 0:
        raise InputError(display, None, "no rows after the header")
    layout = "covariates x samples"
    if expr_samples is not None:
        es = set(expr_samples)
        if any(h in es for h in header[1:]):
            layout = "covariates x samples"
        elif any(s in es for s in first_col):
            layout = "samples x covariates"
        else:
            raise InputError(display, f"line {header_line}", f"no sample IDs in common with {expr_display} (header {preview(header[1:])}; first column {preview(first_col)})")
    return {"kind": "covariates", "layout": layout, "rows": rows, "columns": len(header)}


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


def run_params(raw: Mapping[str, Any], schema: str | os.PathLike | None = None, warnings: Warnings | None = None) -> dict[str, Any]:
    """The parameter step alone: schema + cross-field rules; returns the resolved parameters."""
    warnings = warnings if warnings is not None else Warnings()
    params = validate_params(raw, load_schema(schema or find_project_file(SCHEMA_NAME)), warnings)
    return check_param_rules(params, warnings)


@dataclass
class Validation:
    """What VALIDATE produces: the tracks (the validated samplesheet), the report
    (``validation.json``, with the ``decisions`` later stages read) and the run's gene table
    (``genes.bed``; None without annotation and expression)."""

    tracks: list[Track]
    report: dict[str, Any]
    genes: Any = None  # pandas.DataFrame (seq2func.io.annotation.gene_table) or None


def run_validation(inp: Inputs) -> tuple[list[Track], dict[str, Any]]:
    """Validate everything; returns the tracks and the report. Raises :class:`InputError`."""
    v = validate_all(inp)
    return v.tracks, v.report


def validate_all(inp: Inputs) -> Validation:
    """Validate everything and record the decisions later stages follow (see :class:`Validation`).
    Raises :class:`InputError`."""
    raw = dict(inp.params)
    warnings = Warnings(strict=False)
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

    # resolve local paths: explicit (staged) paths win, else the parameter values
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

    decisions: dict[str, Any] = {}
    report: dict[str, Any] = {"seq2func_version": __version__, "status": "ok", "params": params, "decisions": decisions,
                              "files": [], "warnings": warnings.items}

    # 2. samplesheet (cheap, before the genome scan)
    tracks: list[Track] = []
    if sheet is not None:
        sheet_disp = _display("input", Path(sheet), params)
        row_schema = load_row_schema(inp.input_schema or find_project_file(INPUT_SCHEMA_NAME))
        tracks = read_samplesheet(sheet, display=sheet_disp, staged_dir=inp.staged_dir, row_schema=row_schema)
    else:
        sheet_disp = ""

    # 3. genome
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

    # 4. tracks
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

    # 5. annotation, variants, expression
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
        from seq2func.variants.benchmark import read_labels

        lab = read_labels(files["variant_labels"], genome.lengths)
        report["files"].append({"param": "variant_labels", "path": disp["variant_labels"], "kind": "variant labels",
                                "rows": int(len(lab)), "positives": int((lab["label"] == 1).sum()),
                                "cell_types": sorted(lab["cell_type"].unique())})
    if "conservation" in files:
        info = check_signal_bigwig(files["conservation"], disp["conservation"], genome, warnings)
        report["files"].append({"param": "conservation", "path": disp["conservation"], **info})
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
    if "covariates" in files:
        info = check_covariates(files["covariates"], disp["covariates"], expr_samples, disp.get("expression", "the expression file"))
        report["files"].append({"param": "covariates", "path": disp["covariates"], **info})
    if "pretrained" in files:
        p = files["pretrained"]
        if not p.exists():
            raise InputError(disp["pretrained"], None, "pretrained checkpoint not found")
        if not os.access(p, os.R_OK):
            raise InputError(disp["pretrained"], None, "pretrained checkpoint is not readable")
        report["files"].append({"param": "pretrained", "path": disp["pretrained"], "kind": "checkpoint", "bytes": p.stat().st_size if p.is_file() else None})
    # the genes of the run (EVALUATE and PERSONAL read genes.bed, never the raw annotation)
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
    if tracks and "data_contigs" in decisions:
        from seq2func.data.split import resolve_split_by

        explicit = bool(_split_chroms(params.get("test_chroms")) or _split_chroms(params.get("valid_chroms")))
        decisions["split_by"] = resolve_split_by(str(params.get("split_by") or "auto"), len(decisions["data_contigs"]), explicit)
    decisions["contig_aliases"] = {f["param"] if f["param"] != "input" else f"input:{f.get('track_id')}": f["renamed"]
                                   for f in report["files"] if f.get("renamed")}
    report["counts"] = {
        "files_checked": len(report["files"]),
        "tracks": len(tracks),
        "warnings": len(warnings.items),
    }
    return Validation(tracks, _strip_private(report), genes)


def write_outputs(tracks: Sequence[Track], report: Mapping[str, Any], out: Path | None, report_path: Path | None,
                  extra: Mapping[str | os.PathLike, str] | None = None) -> None:
    """Write the validated samplesheet, the report and ``extra`` files (path -> text) together:
    temporary files first, then renamed into place, so either all appear or none."""
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
