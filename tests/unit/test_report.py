"""REPORT (seq2func.report): MultiQC custom-content writers, each stage's sections from small
inputs, the parameters-vs-defaults table, and a real MultiQC build whose page has no external
reference (checked by an HTML parser, and the checker itself against a page that has one)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seq2func.report import mqc, sections
from seq2func.report.build import build_report, content_files, external_references, section_ids


def test_section_writes_multiqc_json_with_nan_as_null(tmp_path):
    p = mqc.section(tmp_path, "s2f_x", "X", "good: high", "table", {"a": {"r": float("nan"), "n": np.int64(3)}},
                    parent="s2f_data")
    doc = json.loads(p.read_text())
    assert p.name == "s2f_x_mqc.json"
    assert doc["id"] == "s2f_x" and doc["plot_type"] == "table" and doc["parent_id"] == "s2f_data"
    assert doc["data"] == {"a": {"r": None, "n": 3}} and doc["pconfig"]["id"] == "s2f_x_plot"
    with pytest.raises(ValueError, match="s2f_"):
        mqc.section(tmp_path, "other", "X", "", "table", {})
    with pytest.raises(ValueError, match="plot_type"):
        mqc.section(tmp_path, "s2f_y", "X", "", "pie", {})


def test_html_section_inlines_images(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    fig.savefig(tmp_path / "f.png")
    plt.close(fig)
    p = mqc.html_section(tmp_path, "s2f_gal", "Gallery", "it's fine", mqc.gallery([(tmp_path / "f.png", "a <b>")]))
    text = p.read_text()
    assert text.startswith("<!--\nid: 's2f_gal'") and "section_name: 'Gallery'" in text and "'it''s fine'" in text
    assert 'src="data:image/png;base64,' in text and "a &lt;b&gt;" in text


def _metrics(path: Path, kind: str, strategy: str | None, ct: str | None, r: float, tracks: list[str],
             **extra) -> Path:
    hist = [{"epoch": e, "train_loss": 1.0 / e, "valid_loss": 1.2 / e, "metric": r * e / 3, "windows_per_s": 10.0}
            for e in (1, 2, 3)]
    m = {"kind": kind, "model": "basenji", "strategy": strategy, "cell_type": ct, "metric": "valid_r", "history": hist,
         "best_metric": r, "best_epoch": 3, "epochs_run": 3, "stopped_early": False, "n_train_windows": 5,
         "trainable_params": 10, "device": "cpu", "mean_pearson_r": r, "n_windows": 4,
         "tracks": [{"track_id": t, "cell_type": ct or "c", "pearson_r": r, "spearman_r": r} for t in tracks],
         "gene_level": {"tracks": [{"track_id": tracks[0], "n_genes": 9, "pearson_r": r / 2, "spearman_r": r / 2}]}}
    m.update(extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(m))
    return path


def test_training_and_evaluation_sections(tmp_path):
    pre = _metrics(tmp_path / "pre/metrics.json", "pretrain", None, None, 0.4, ["ATAC_a"])
    ft = _metrics(tmp_path / "ft/metrics.json", "finetune", "full", "n", 0.5, ["ATAC_n"])
    sc = _metrics(tmp_path / "sc/metrics.json", "finetune", "scratch", "n", 0.2, ["ATAC_n"], chroms=["chr2", "chr3"])
    # EVALUATE given --truth writes the ceiling into its metrics
    m = json.loads(ft.read_text())
    m["tracks"][0]["ceiling"] = 0.8
    ft.write_text(json.dumps(m))
    out = tmp_path / "mqc"
    sections.training_content(ft, "n/full", out)
    curve = json.loads((out / "n_full.curve_metric_mqc.json").read_text())
    assert curve["plot_type"] == "linegraph" and curve["data"] == {"n/full": {"1": 0.5 / 3, "2": 1.0 / 3, "3": 0.5}}
    runs = json.loads((out / "n_full.training_runs_mqc.json").read_text())
    assert runs["data"]["n/full"]["best_epoch"] == 3
    truth = tmp_path / "truth.json"
    # older metrics: the ceiling of the scored chromosomes comes from the truth's per-chromosome moments
    rng = np.random.default_rng(0)
    chroms = {}
    cs, ys = [], []
    for c in ("chr1", "chr2", "chr3"):
        e = rng.gamma(2.0, 3.0, 500)
        y = rng.poisson(e).astype(float)
        p = e + 0.1
        chroms[c] = {"moments": [e.size, e.sum(), (e * e).sum(), p.sum(), (p * p).sum(), y.sum(), (y * y).sum(),
                                 (e * y).sum(), (p * y).sum()]}
        if c != "chr1":
            cs.append(e)
            ys.append(y)
    want = float(np.corrcoef(np.concatenate(cs), np.concatenate(ys))[0, 1])
    truth.write_text(json.dumps({"tracks": [{"track_id": "ATAC_n", "noise_ceiling": {"empirical_r": 0.99},
                                             "ceilings": {"chroms": chroms}}]}))
    from seq2func.evaluate import summarize_runs

    files, labels = [pre, ft, sc], ["pretrain", "n/full", "n/scratch"]
    sections.evaluate_content(files, labels, summarize_runs(files, labels), out, truth=truth)
    tm = json.loads((out / "s2f_track_metrics_mqc.json").read_text())["data"]
    assert tm["n/full | ATAC_n"]["noise_ceiling_r"] == 0.8
    assert math.isclose(tm["n/full | ATAC_n"]["fraction_of_ceiling"], 0.5 / 0.8)
    assert "noise_ceiling_r" not in tm["pretrain | ATAC_a"]
    assert math.isclose(tm["n/scratch | ATAC_n"]["noise_ceiling_r"], want, rel_tol=1e-9)
    bars = json.loads((out / "s2f_transfer_mqc.json").read_text())
    assert bars["plot_type"] == "bargraph" and bars["data"] == {"n": {"full": 0.5, "scratch": 0.2}}
    table = json.loads((out / "s2f_transfer_table_mqc.json").read_text())["data"]
    assert math.isclose(table["n/full"]["minus_scratch_r"], 0.3)


def test_params_that_differ_from_the_schema_defaults(tmp_path, repo):
    schema = repo / "nextflow_schema.json"
    params = {"outdir": "results", "lr": 0.002, "skip_report": False, "input": None, "custom_thing": "x"}
    (tmp_path / "params.json").write_text(json.dumps(params))
    (p,) = sections.run_content(tmp_path / "params.json", schema, tmp_path / "mqc")
    data = json.loads(p.read_text())["data"]
    assert set(data) == {"lr", "custom_thing"}, data
    assert data["lr"]["value"] == "0.002" and data["lr"]["default"] not in ("", "0.002")


def test_build_report_is_one_offline_page(tmp_path):
    c = tmp_path / "content"
    mqc.section(c, "s2f_a", "A", "good", "bargraph", {"x": {"full": 0.5, "scratch": 0.2}}, parent="s2f_evaluation")
    mqc.section(c, "s2f_b", "B", "good", "linegraph", {"m1": {"1": 0.1, "2": 0.2}}, parent="s2f_training",
                file_name="m1.b")
    mqc.section(c, "s2f_b", "B", "good", "linegraph", {"m2": {"1": 0.3, "2": 0.1}}, parent="s2f_training",
                file_name="m2.b")
    (c / "unrelated.txt").write_text("not content")
    assert len(content_files([c])) == 3
    report = build_report([c], tmp_path / "multiqc", title="t")
    assert report == tmp_path / "multiqc/multiqc_report.html" and (tmp_path / "multiqc/multiqc_data").is_dir()
    assert external_references(report) == []
    assert {"s2f_a", "s2f_b", "s2f_evaluation", "s2f_training"} <= section_ids(report)
    line = pd.read_csv(tmp_path / "multiqc/multiqc_data/multiqc_s2f_b_plot.txt", sep="\t", index_col=0)
    assert set(line.index) == {"m1", "m2"}  # two tasks' files merged into one section
    # the checker finds what a browser would fetch
    bad = tmp_path / "bad.html"
    bad.write_text('<html><head><script src="https://cdn.example.org/x.js"></script>'
                   '<link rel="stylesheet" href="//fonts.example.org/f.css"><script>var s = "<img src=http://x>";</script>'
                   '</head><body><a href="https://docs.example.org">docs</a><img src="data:image/png;base64,AA"></body></html>')
    assert external_references(bad) == ["<script src=https://cdn.example.org/x.js>", "<link href=//fonts.example.org/f.css>"]


def test_build_report_without_content_is_one_error(tmp_path):
    from seq2func.errors import InputError

    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no report content"):
        build_report([tmp_path / "empty"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_content_is_found_through_symlinked_folders(tmp_path):
    """Nextflow stages each stage's mqc/ folder as a symbolic link."""
    real = tmp_path / "real/mqc"
    mqc.section(real, "s2f_a", "A", "good", "table", {"x": {"v": 1}})
    (tmp_path / "content/01").mkdir(parents=True)
    (tmp_path / "content/01/mqc").symlink_to(real)
    assert [f.name for f in content_files([tmp_path / "content"])] == ["s2f_a_mqc.json"]
