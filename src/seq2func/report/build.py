"""Build the run's one HTML report with MultiQC from the stages' custom content.

The page is self-contained and offline: MultiQC inlines its JavaScript, CSS and plot data, our
logos and figures are inlined as data URIs (:func:`seq2func.report.mqc.img_tag`), MultiQC's
version check and AI features are off. :func:`external_references` lists anything that would still
point outside the file (the tests fail on it).
"""

from __future__ import annotations

import html.parser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Sequence

from seq2func.errors import InputError
from seq2func.io.atomic import atomic_dir, write_text
from seq2func.report.mqc import PARENTS, PREFIX

#: section ids in report order (MultiQC's ``custom_content.order``); absent ones are skipped
SECTION_ORDER = [
    "s2f_inputs", "s2f_input_tracks", "s2f_windows", "s2f_targets",
    "s2f_training_runs", "s2f_curve_metric", "s2f_curve_loss",
    "s2f_track_metrics", "s2f_transfer", "s2f_transfer_table", "s2f_gene_metrics",
    "s2f_variant_auroc", "s2f_variant_auroc_bars", "s2f_variant_sign", "s2f_variant_enrichment",
    "s2f_variant_conservation", "s2f_variant_heatmap",
    "s2f_interpret_models", "s2f_motifs", "s2f_motif_heatmap", "s2f_gained_tfs", "s2f_recovery",
    "s2f_personal_summary", "s2f_personal_r_p", "s2f_personal_predixcan", "s2f_personal_drivers",
    "s2f_personal_finetune", "s2f_personal_finetune_table", "s2f_personal_figures",
    "s2f_params",
]

INTRO = ("One page per run of seq2func: what went in, how training went, how well the models predict held-out "
         "chromosomes, and, where those stages ran, variant effects, motifs and the personal-genome benchmark. "
         "Each section says in one line what good looks like. Sections of stages that did not run are absent.")


def multiqc_config(title: str, *, extra: dict | None = None) -> dict:
    """The MultiQC configuration of the seq2func report.

    Parameters
    ----------
    title : str
        The report's title.
    extra : dict or None, optional
        Keys that override or add to the configuration.

    Returns
    -------
    dict
        MultiQC configuration (written as JSON and passed with ``--config``).
    """
    cfg = {
        "title": title,
        "intro_text": INTRO,
        "no_version_check": True,
        "no_ai": True,
        "ai_summary": False,
        "plots_force_interactive": True,
        "show_analysis_paths": False,
        "show_analysis_time": False,
        "data_format": "tsv",
        "output_fn_name": "multiqc_report.html",
        "data_dir_name": "multiqc_data",
        "custom_content": {"order": SECTION_ORDER},
        "report_section_order": {**{pid: {"order": 1000 - 10 * i} for i, pid in enumerate(PARENTS)},
                                 **{sid: {"order": i + 1} for i, sid in enumerate(SECTION_ORDER)}},
        "skip_generalstats": False,
        "disable_version_detection": False,
    }
    cfg.update(extra or {})
    return cfg


def content_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The MultiQC content among ``paths`` (files, or folders searched recursively).

    Parameters
    ----------
    paths : Iterable of str or os.PathLike
        Files and folders (symbolic links followed).

    Returns
    -------
    list of Path
        ``*_mqc.{json,html,yml,yaml,tsv,csv,png}`` and ``*_mqc_versions.yml`` files, in the order found.
    """
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_file():
            cands = [p]
        elif p.is_dir():  # Nextflow stages folders as symbolic links: follow them
            cands = sorted(Path(root) / f for root, _, names in os.walk(p, followlinks=True) for f in names)
        else:
            cands = []
        for f in cands:
            n = f.name
            content = "_mqc." in n and n.rsplit(".", 1)[-1] in {"json", "html", "yml", "yaml", "tsv", "csv", "png"}
            if f.is_file() and (content or n.endswith(("_mqc_versions.yml", "_mqc_versions.yaml"))):
                out.append(f)
    return out


def build_report(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, *, title: str = "seq2func report",
                 timeout: float = 900.0) -> Path:
    """Run MultiQC over the custom content found in ``inputs`` and write ``out/multiqc_report.html``
    and ``out/multiqc_data/`` (atomically: nothing is published when MultiQC fails).

    Returns the report's path.

    Parameters
    ----------
    inputs : Sequence of str or os.PathLike
        Files and folders holding the stages' ``*_mqc.*`` content.
    out : str or os.PathLike
        Output folder.
    title : str, optional
        The report's title.
    timeout : float, optional
        Seconds MultiQC may run.

    Returns
    -------
    Path
        ``out/multiqc_report.html``.

    Raises
    ------
    InputError
        When ``inputs`` hold no report content.
    RuntimeError
        When MultiQC fails or writes no report.
    """
    files = content_files(inputs)
    if not files:
        raise InputError("report", None, "no report content (*_mqc.*) found in: " + ", ".join(map(str, inputs)))
    out = Path(out)
    with atomic_dir(out, "multiqc_report.html") as tmp:
        stage = tmp / ".content"
        stage.mkdir()
        for i, f in enumerate(files):  # unique names: several tasks write parts of the same section
            shutil.copy2(f, stage / f"{i:04d}_{f.name}")
        cfg = tmp / ".multiqc_config.json"
        write_text(cfg, json.dumps(multiqc_config(title), indent=2))
        cmd = [sys.executable, "-m", "multiqc", "--force", "--strict", "--no-ai", "--config", str(cfg),
               "--outdir", str(tmp), str(stage)]
        env = {**os.environ, "MQC_NO_VERSION_CHECK": "1"}
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if res.returncode != 0 or not (tmp / "multiqc_report.html").is_file():
            tail = (res.stderr or res.stdout or "").strip().splitlines()[-5:]
            raise RuntimeError("MultiQC failed: " + " | ".join(tail))
        shutil.rmtree(stage)
        cfg.unlink()
    return out / "multiqc_report.html"


class _RefParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for attr in ("src", "href"):
            v = a.get(attr)
            if v is None:
                continue
            if tag in ("script", "img", "iframe", "embed", "source", "audio", "video") and attr == "src":
                self.refs.append((tag, attr, v))
            elif tag == "link" and attr == "href":
                self.refs.append((tag, attr, v))


def external_references(report: str | os.PathLike) -> list[str]:
    """Every ``<script src>``, ``<link href>``, ``<img src>`` (and other embedded resource) of
    the page that is not inline (``data:``) or a fragment: what a browser would fetch.

    Parameters
    ----------
    report : str or os.PathLike
        An HTML report.

    Returns
    -------
    list of str
        ``<tag attr=value>`` of each external reference; empty for a self-contained page.
    """
    p = _RefParser()
    p.feed(Path(report).read_text(encoding="utf-8"))
    return [f"<{t} {a}={v}>" for t, a, v in p.refs if not (v.startswith("data:") or v.startswith("#"))]


def section_ids(report: str | os.PathLike) -> set[str]:
    """The ``s2f_`` element ids of the page (a section of ours is present when its id is).

    Parameters
    ----------
    report : str or os.PathLike
        An HTML report.

    Returns
    -------
    set of str
        The ids starting with ``s2f_``.
    """
    p = _RefParser()
    p.feed(Path(report).read_text(encoding="utf-8"))
    return {i for i in p.ids if i.startswith(PREFIX)}
