"""The run's parameters against ``nextflow_schema.json`` (nf-core layout) plus the cross-field rules a
JSON schema cannot express.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from typing import Any, Mapping

import jsonschema

from seq2func.errors import InputError
from seq2func.io.project import PARAMS_SCHEMA as SCHEMA_NAME
from seq2func.io.project import find_project_file
from seq2func.validate.messages import Warnings, _fmt, preview

FILE_PARAMS = ("input", "fasta", "gtf", "tss_bed", "blacklist", "vcf", "cohort_vcf", "expression", "covariates", "pretrained",
               "variant_labels", "conservation")


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
# 1. parameters


def flatten_schema(schema: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """All parameters of an nf-core schema (``definitions``/``$defs`` groups, ``allOf`` and top-level
    ``properties``) in schema order, and the required ones.

    Parameters
    ----------
    schema : Mapping[str, Any]
        The parsed ``nextflow_schema.json``.

    Returns
    -------
    tuple
        ``(properties, required)``: parameter name -> its JSON-schema property, and the required names.
    """
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
    """Read a parameter schema (``nextflow_schema.json``).

    Parameters
    ----------
    path : str or os.PathLike
        The schema file.

    Returns
    -------
    dict
        The parsed schema.

    Raises
    ------
    InputError
        When the file cannot be read or is not JSON.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(os.fspath(path), None, f"cannot read parameter schema: {err}") from None


def load_params(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON parameter file (the run's parameters, e.g. Nextflow's ``params.json``).

    Parameters
    ----------
    path : str or os.PathLike
        The parameter file.

    Returns
    -------
    dict
        Parameter name -> value.

    Raises
    ------
    InputError
        When the file is missing, not valid JSON (naming the line), or not a JSON object.
    """
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
    """What a parameter must be, in words: 'an integer >= 1', 'one of a, b', 'true or false'.

    Parameters
    ----------
    prop : Mapping[str, Any]
        A JSON-schema property (``type``, ``enum``, ``minimum``, ``maximum``, ``exclusiveMinimum``,
        ``exclusiveMaximum``, ``pattern``).

    Returns
    -------
    str
        The description, to follow "must be".
    """
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
        bounds = [f"{op} {prop[key]:g}" for key, op in (("minimum", ">="), ("exclusiveMinimum", ">"),
                                                       ("maximum", "<="), ("exclusiveMaximum", "<")) if key in prop]
        return " and ".join([f"{noun} {bounds[0]}"] + bounds[1:]) if bounds else noun
    if "pattern" in prop:
        return f"a string matching /{prop['pattern']}/"
    return "a string"


def validate_params(params: Mapping[str, Any], schema: Mapping[str, Any], warnings: Warnings | None = None) -> dict[str, Any]:
    """Check ``params`` against the schema; return them with schema defaults filled in.

    ``null`` values mean "not set" (as in nf-schema) and are not type-checked. Unknown parameters
    are warnings (with a 'did you mean' hint), except Nextflow/nf-core internals.

    Parameters
    ----------
    params : Mapping[str, Any]
        Parameter name -> value, as Nextflow passes them.
    schema : Mapping[str, Any]
        The parsed ``nextflow_schema.json``.
    warnings : Warnings or None, optional
        Collects the unknown-parameter warnings; ``None``: a fresh collector (warnings are dropped).

    Returns
    -------
    dict
        Every schema parameter -> its value or default (whole-number floats of integer parameters as int).

    Raises
    ------
    InputError
        For the first (in schema order) missing required parameter or invalid value.
    """
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
    """Cross-field rules; returns the params with derived values (``stride`` -> ``seq_length``).

    Parameters
    ----------
    p : Mapping[str, Any]
        Parameters as :func:`validate_params` returns them.
    warnings : Warnings or None, optional
        Collects warnings; ``None``: a fresh collector (warnings are dropped).

    Returns
    -------
    dict
        A copy of ``p`` with the derived values set.

    Raises
    ------
    InputError
        When a rule is broken (window/bin sizes, required inputs, split options, ``--folds 1``).
    """
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


MODE_OF_ARCHITECTURE = {"basenji": "profile", "enformer": "profile", "simple_cnn": "profile", "resnet": "peak"}


def check_model_for_mode(model: str | None, mode: str, pretrained: bool = False) -> None:
    """``--model`` (bundled name or JSON) must exist and suit the tracks: a peak-mode run (BED tracks)
    needs a classifier (``resnet``), a profile-mode run (bigWig tracks) a profile or scalar model.
    Checked here so that a wrong pairing stops before PREPARE, not at PRETRAIN.

    Parameters
    ----------
    model : str or None
        ``--model``: a bundled model name or a JSON config path; ``None``/empty: nothing to check.
    mode : str
        ``profile`` (bigWig tracks) or ``peak`` (BED tracks).
    pretrained : bool, optional
        A pretrained checkpoint is given (``--pretrained``): nothing is checked.

    Raises
    ------
    InputError
        When the model cannot be loaded or does not suit ``mode``.
    """
    if not model or pretrained:
        return
    from seq2func.models import load_config  # deferred: seq2func.models imports torch; only this check needs it

    try:
        name = load_config(model).get("name")
    except (OSError, ValueError) as err:
        raise InputError("--model", str(model), str(err).replace(f"{model}: ", "")) from None
    want = MODE_OF_ARCHITECTURE.get(str(name))
    if want is not None and want != mode:
        what = "BED/narrowPeak tracks: peak mode needs a classifier such as resnet_peak" if mode == "peak" else \
            "bigWig tracks: profile mode needs a profile model such as basenji_131k or basenji_tiny"
        raise InputError("--model", str(model), f"a {name} model does not suit this samplesheet's {what}")


def run_params(raw: Mapping[str, Any], schema: str | os.PathLike | None = None, warnings: Warnings | None = None) -> dict[str, Any]:
    """The parameter step alone: schema + cross-field rules; returns the resolved parameters.

    Parameters
    ----------
    raw : Mapping[str, Any]
        Parameter name -> value.
    schema : str, os.PathLike or None, optional
        The schema file; ``None``: the project's ``nextflow_schema.json``.
    warnings : Warnings or None, optional
        Collects warnings; ``None``: a fresh collector (warnings are dropped).

    Returns
    -------
    dict
        The resolved parameters.

    Raises
    ------
    InputError
        On an invalid parameter or a broken cross-field rule.
    """
    warnings = warnings if warnings is not None else Warnings()
    params = validate_params(raw, load_schema(schema or find_project_file(SCHEMA_NAME)), warnings)
    return check_param_rules(params, warnings)
