"""MultiQC custom content, written by every stage next to its outputs.

Each section is one ``<name>_mqc.json`` (or ``_mqc.html``) file in MultiQC's custom-content form
(https://docs.seqera.io/multiqc/custom_content): an ``id``, a ``section_name``, a one-sentence
``description`` that says what good looks like, a ``plot_type`` (``table``, ``bargraph``,
``linegraph``, ``scatter``, ``heatmap``, ``generalstats``, ``html``), the ``data``, and an optional
``parent_id`` grouping sections under one heading. MultiQC merges files with the same ``id``
(e.g. one training curve per fine-tuning task) into one section.

Every section id starts with ``s2f_`` so that the REPORT stage and its tests can list them.
"""

from __future__ import annotations

import base64
import html
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from seq2func.io.atomic import json_clean, write_json, write_text

PREFIX = "s2f_"

#: the headings that group sections (MultiQC ``parent_id`` -> ``parent_name``), in report order
PARENTS: dict[str, tuple[str, str]] = {
    "s2f_data": ("Data", "Inputs and the prepared dataset."),
    "s2f_training": ("Training", "Pretraining on the compendium and fine-tuning on the target cell types."),
    "s2f_evaluation": ("Evaluation", "Held-out test chromosomes."),
    "s2f_variants": ("Variant effects", "SCORE_VARIANTS and the variant benchmark."),
    "s2f_interpret": ("Interpretation", "Attributions, motifs and in-silico mutagenesis."),
    "s2f_personal": ("Personal genomes", "Predicting expression across individuals from their own genomes."),
    "s2f_run": ("Run", "Software and parameters."),
}


def _check_id(section_id: str) -> str:
    if not section_id.startswith(PREFIX) or not section_id.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"section id must start with {PREFIX!r} and be alphanumeric/_/-: {section_id!r}")
    return section_id


def _finite(o: Any) -> Any:
    """JSON-clean ``o`` with non-finite floats as ``None`` (MultiQC's JSON reader rejects NaN)."""
    o = json_clean(o)
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {str(k): _finite(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_finite(v) for v in o]
    return o


def section(out_dir: str | os.PathLike, section_id: str, name: str, description: str, plot_type: str,
            data: Any, *, parent: str | None = None, pconfig: Mapping[str, Any] | None = None,
            headers: Mapping[str, Any] | None = None, file_name: str | None = None,
            **extra: Any) -> Path:
    """Write one custom-content section as ``<file_name or id>_mqc.json`` in ``out_dir``.

    Parameters
    ----------
    out_dir
        The stage's output folder.
    section_id
        MultiQC section id (``s2f_...``); files with the same id are merged into one section.
    name, description
        Section heading and the one sentence that says what good looks like.
    plot_type
        ``table``, ``bargraph``, ``linegraph``, ``scatter``, ``heatmap`` or ``generalstats``.
    data
        The plot's data in MultiQC's form (``{sample: {key: value}}``; for a heatmap a matrix,
        with ``xcats``/``ycats`` in ``extra``).
    parent
        A key of :data:`PARENTS`: the heading this section sits under.
    pconfig, headers
        MultiQC plot configuration and table column headers.
    file_name
        File stem, when several tasks write parts of one section (must be unique per task).
    """
    _check_id(section_id)
    if plot_type not in {"table", "bargraph", "linegraph", "scatter", "heatmap", "generalstats", "violin"}:
        raise ValueError(f"unknown plot_type {plot_type!r}")
    doc: dict[str, Any] = {"id": section_id, "section_name": name, "description": description,
                           "plot_type": plot_type}
    if parent is not None:
        pname, _ = PARENTS[parent]
        doc.update(parent_id=parent, parent_name=pname, parent_description=PARENTS[parent][1])
    cfg = dict(pconfig or {})
    if plot_type != "generalstats":
        cfg.setdefault("id", f"{section_id}_plot")
        cfg.setdefault("title", f"seq2func: {name}")
    doc["pconfig"] = cfg
    if headers is not None:
        doc["headers"] = dict(headers)
    doc.update(extra)
    doc["data"] = data
    path = Path(out_dir) / f"{file_name or section_id}_mqc.json"
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return write_json(path, _finite(doc))


def html_section(out_dir: str | os.PathLike, section_id: str, name: str, description: str, body: str,
                 *, parent: str | None = None, file_name: str | None = None) -> Path:
    """Write a free HTML section (``<id>_mqc.html``) for what MultiQC's plots cannot show (logos,
    figure galleries). ``body`` must be self-contained: images inline (:func:`img_tag`).

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder to write the ``*_mqc`` files into (created when missing).
    section_id : str
        MultiQC section id (``s2f_...``).
    name : str
        Section heading.
    description : str
        The one sentence that says what good looks like.
    body : str
        The section's HTML.
    parent : str or None, optional
        A key of :data:`PARENTS`: the heading this section sits under.
    file_name : str or None, optional
        File stem (default ``section_id``).

    Returns
    -------
    Path
        The ``_mqc.html`` file written.

    Raises
    ------
    ValueError
        When ``section_id`` does not start with ``s2f_`` or holds characters other than letters, digits,
        ``_`` and ``-``.
    """
    _check_id(section_id)
    head = [f"id: '{section_id}'", f"section_name: {_yaml_str(name)}", f"description: {_yaml_str(description)}"]
    if parent is not None:
        head += [f"parent_id: '{parent}'", f"parent_name: {_yaml_str(PARENTS[parent][0])}",
                 f"parent_description: {_yaml_str(PARENTS[parent][1])}"]
    text = "<!--\n" + "\n".join(head) + "\n-->\n" + body + "\n"
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return write_text(Path(out_dir) / f"{file_name or section_id}_mqc.html", text)


def _yaml_str(s: str) -> str:
    return "'" + str(s).replace("'", "''").replace("\n", " ") + "'"


def img_tag(png: str | os.PathLike, alt: str, *, width: int | None = None) -> str:
    """An ``<img>`` with the PNG inlined as a data URI (the report stays one offline file).

    Parameters
    ----------
    png : str or os.PathLike
        The PNG file.
    alt : str
        Alternative text (escaped).
    width : int or None, optional
        Display width in pixels; ``None``: natural size.

    Returns
    -------
    str
        The ``<img>`` element.
    """
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    w = f' width="{int(width)}"' if width else ""
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"{w}>'


def gallery(items: Iterable[tuple[str | os.PathLike, str]], *, width: int = 360) -> str:
    """Figures side by side, each with its caption.

    Parameters
    ----------
    items : Iterable of (str or os.PathLike, str)
        ``(png, caption)`` pairs.
    width : int, optional
        Display width of each figure in pixels.

    Returns
    -------
    str
        A ``<div>`` of ``<figure>`` elements with inlined images.
    """
    cells = []
    for png, caption in items:
        cells.append('<figure style="display:inline-block;margin:4px;vertical-align:top">'
                     f"{img_tag(png, caption, width=width)}"
                     f'<figcaption style="font-size:90%">{html.escape(caption)}</figcaption></figure>')
    return '<div class="s2f-gallery">' + "".join(cells) + "</div>"


def html_table(rows: list[Mapping[str, Any]], columns: list[str], *, raw: Iterable[str] = ()) -> str:
    """A small HTML table (``raw`` columns are inserted unescaped, e.g. inline logos).

    Parameters
    ----------
    rows : list of Mapping[str, Any]
        One dict per row; missing keys give empty cells, finite floats are shown with 3 significant
        digits and non-finite ones as empty cells.
    columns : list of str
        Column names, in order (the header).
    raw : Iterable[str], optional
        Columns whose values are HTML.

    Returns
    -------
    str
        The ``<table>`` element.
    """
    raw = set(raw)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            if c in raw:
                cells.append(f"<td>{v}</td>")
            else:
                if isinstance(v, float):
                    v = "" if not math.isfinite(v) else f"{v:.3g}"
                cells.append(f"<td>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return ('<table class="table table-condensed table-hover"><thead><tr>' + head + "</tr></thead><tbody>"
            + "".join(body) + "</tbody></table>")
