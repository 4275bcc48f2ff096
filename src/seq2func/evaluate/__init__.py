"""EVALUATE: a trained model on held-out chromosomes (the ``test`` split by default).

Track level (:func:`track_metrics`), per track over every test bin flattened (NaN bins skipped):
Pearson R on the values as stored (``pearson_r``) and on ``log1p`` of them (``pearson_r_log1p``;
negative values are clipped at 0 first), Spearman R, and for classification models (peak mode)
AUROC / AUPRC of the logits against the 0/1 labels (scikit-learn).

Gene level (:func:`gene_level`): for every TSS (BED6: chrom, tss, tss+1, gene_id, score, strand)
that falls inside the target region of a test window (targets cover
``[start + crop_bp, end - crop_bp)`` in ``bin_size`` bins) the bins ``k - tss_bins .. k + tss_bins``
around the TSS's bin ``k`` are summed, for every CAGE-like track (``assay`` == CAGE), in the
predictions and in the observed targets. A TSS must have its whole bin range inside one window;
with overlapping windows the window where it is most central is used. The TSSs of one gene are
summed. The observed value is the population-average expression (mean over the individuals of an
expression TSV: ``gene_id`` then one column per individual) or, without one, the observed target
bins. Pearson / Spearman R per track across genes.

With a simulated world's ``truth.json`` (``truth``): every track gets the ceiling of exactly the
quantity scored here (the transformed bins of the evaluated chromosomes, from the truth's
per-chromosome moments), the sequence ceiling (a perfect sequence model) and
``fraction_of_ceiling`` = R / ceiling; every CAGE-like track of a cell type the world knows gets
the gene-level R against the truth expression of that cell type (``truth_pearson_r`` on log
scales, ``truth_spearman_r``), the R of the truth itself against the observed values
(``ceiling_pearson_r`` with log2 truth, ``ceiling_spearman_r``: what a perfect model reaches) and
``fraction_of_ceiling`` = spearman_r / ceiling_spearman_r (rank-based, so the units of the
observed values do not matter).

Outputs (``outdir``): ``track_metrics.tsv``, ``gene_predictions.tsv``, ``gene_metrics.tsv``,
``metrics.json``, ``track_r.png`` (bar of per-track R), ``scatter.png`` (predicted vs observed
bins per track) and ``gene_scatter.png``."""

from __future__ import annotations

from seq2func.evaluate.genes import (  # noqa: F401  (the package's API)
    gene_level,
    read_expression,
    read_tss_bed,
    tss_bin_sums,
    tss_windows,
)
from seq2func.evaluate.metrics import (  # noqa: F401  (the package's API)
    TRACK_COLUMNS,
    TRUTH_TRACK_COLUMNS,
    observed,
    predict,
    track_metrics,
)
from seq2func.evaluate.run import (  # noqa: F401  (the package's API)
    evaluate,
    predict_split,
)
from seq2func.evaluate.summary import (  # noqa: F401  (the package's API)
    SUMMARY_COLUMNS,
    summarize_runs,
    write_summary,
)
from seq2func.predict import rc_permutation  # noqa: F401  (EVALUATE predicts through seq2func.predict)
