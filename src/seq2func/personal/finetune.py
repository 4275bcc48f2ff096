"""Personal-genome fine-tuning (the remedy Rastogi et al. 2024 propose for wrong-sign genes).

Start from a trained model, train it on the haplotypes and expression of *training individuals*,
and test on *held-out individuals* (and on held-out genes), comparing the reference-only model
(the starting point) with the personal-fine-tuned one.

Splits (seeded by ``seed``): individuals are permuted and ``holdout_individuals`` of them (default
30%) held out; genes likewise (``holdout_genes``, default 20%, at least one when the fraction is
> 0 and there are two or more genes). Held-out genes are never trained on.

Per gene, the haplotypes of every individual are built and centred on the TSS exactly as in the
benchmark (:mod:`seq2func.personal.predict`): the same :class:`GenePredictor` reduction (TSS bins
of the chosen track, or a scalar output) gives one value per haplotype, and the haplotypes are
combined per individual (``combine``, default ``mean``). With ``rc`` every value is the mean of
the forward and the reverse-complement pass (as ``personal run --rc``), in training (gradients flow
through both) and in evaluation, reference-only model included. Haplotypes whose model-relevant part is
identical (receptive-field dedup) are run once per step; gradients flow to every use.

One training step = one training gene and ``individuals_per_step`` of its training individuals
(with expression). With ``p`` the combined per-individual predictions of the batch and ``z`` the
observed expression standardised per gene (mean and SD over the gene's training individuals):

* ``mse``: ``mean_i (ẑ_i - z_i)^2`` where ``ẑ = (p - mean(p)) / sd(p)`` standardises the
  predictions over the batch (one gene: a per-gene standardisation, so the gene's level and the
  model's output scale do not matter; it equals ``2 (1 - r) + mean(z)^2`` and so trains the
  per-gene correlation, sign included);
* ``pairwise``: ``mean_{i<j} (a (p_i - p_j) - (y_i - y_j))^2 / v``: predicted vs observed
  differences between individuals of the same gene, the observed ones *unstandardised* (``y``:
  expression as given, e.g. log2 units; ``v``: the mean over training genes of the per-gene
  variance of ``y``, so the loss is about 2 for constant predictions). ``a = exp(log_a)`` is one
  positive scale shared by all genes and learnt with the model (its own learning rate,
  ``scale_lr``), started at the least-squares fit of observed on predicted within-gene deviations
  of the reference model over the training genes (a tenth of the ratio of their median SDs when
  that fit is not positive). Unlike the batch standardisation of ``mse`` the scale is common to all
  genes, so a gene whose expression depends more on its variants must get larger predicted
  differences: effect sizes, not only directions, are trained. Being positive, the shared scale
  cannot flip signs: the sign of every gene's effect has to come from the model;
* loss = ``mse_weight * mse + pairwise_weight * pairwise``.

AdamW (``lr``, ``weight_decay``) on all model parameters, gradient norm clipped at
``grad_clip``. The model runs in eval mode while training (BatchNorm statistics and dropout
frozen): a batch holds near-identical haplotypes of one gene, whose batch statistics would be
meaningless. Genes whose training individuals all get the same model input (no variant within the
model's reach) carry no signal and are not trained on.

Evaluation (reference-only vs personal-fine-tuned), per gene Pearson R across individuals and the
benchmark's null test (:func:`seq2func.personal.stats.personal_benchmark`; ``mode``, default the
published ``reference``, and BH at ``fdr`` within each set, as ``personal merge --mode --fdr``) on:

* ``heldout_individuals``: training genes, held-out individuals (the main comparison);
* ``heldout_genes``: held-out genes, held-out individuals;
* ``heldout_genes_all_individuals``: held-out genes, every individual;
* ``training``: training genes, training individuals (fit).

Each set reports ``n_genes``, ``mean_r``, ``median_r``, ``frac_negative_r``, ``n_significant``,
``n_significant_negative`` and ``frac_significant_negative`` (the paper's headline failure).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from seq2func.errors import InputError
from seq2func.io.atomic import atomic_dir, write_json
from seq2func.personal.cohort import fasta_contigs, load_cohort
from seq2func.personal.haplotypes import HaplotypeBuilder, center_on
from seq2func.personal.params import MIN_FINETUNE_INDIVIDUALS, FinetuneParams
from seq2func.personal.predict import combine_haplotypes, gene_window, load_predictor
from seq2func.personal.stats import personal_benchmark
from seq2func.train.checkpoint import save_checkpoint

log = logging.getLogger(__name__)

EVAL_SETS = ("heldout_individuals", "heldout_genes", "heldout_genes_all_individuals", "training")


@dataclass
class GeneData:
    """One gene's training material: distinct model inputs and, per haplotype, which one."""

    gene_id: str
    codes: torch.Tensor  # (n_keys, L) uint8, CPU
    hap_key: np.ndarray  # (2 * n_individuals,) index into codes
    dosage: np.ndarray  # (n_individuals, n_snvs)
    y: np.ndarray  # (n_individuals,)


def split_indices(n: int, frac: float, rng: np.random.Generator, min_one: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, held_out)`` sorted index arrays; ``round(frac * n)`` held out (>= 1 if ``min_one``
    and ``frac > 0`` and ``n >= 2``).

    Parameters
    ----------
    n : int
        Number of items (individuals or genes).
    frac : float
        Fraction to hold out, in [0, 1).
    rng : numpy.random.Generator
        Draws the permutation.
    min_one : bool, optional
        Hold out at least one item when ``frac > 0`` and ``n >= 2`` (default True); at least one item is
        always kept.

    Returns
    -------
    tuple of numpy.ndarray
        ``(kept, held_out)``: sorted indices into ``range(n)``.
    """
    perm = rng.permutation(n)
    k = int(round(frac * n))
    if min_one and frac > 0 and n >= 2:
        k = max(k, 1)
    k = min(k, n - 1) if n >= 2 else 0
    return np.sort(perm[k:]), np.sort(perm[:k])


def _gene_data(predictor, builder, g, fa_chrom: str, chrom_len: int, expr_row: np.ndarray, window: int) -> GeneData:
    win = gene_window(str(g.gene_id), fa_chrom, int(g.tss), str(g.strand), window, chrom_len)
    haps = builder.build(fa_chrom, win.start, win.end)
    L = int(predictor.seq_len)
    centres = win.ref_offset + haps.offset_shift(win.ref_offset)
    inputs = [center_on(s, int(c), L) for s, c in zip(haps.unique_sequences, centres)]
    keys: dict[str, int] = {}
    reps: list[str] = []
    u_key = np.empty(len(inputs), dtype=np.int64)
    for u, s in enumerate(inputs):
        k = predictor.key(s)
        if k not in keys:
            keys[k] = len(reps)
            reps.append(s)
        u_key[u] = keys[k]
    codes = predictor.encode(reps)
    return GeneData(str(g.gene_id), codes, u_key[haps.inverse], haps.alt_dosage.astype(float), expr_row.astype(float))


def _values(predictor, codes: torch.Tensor, grad: bool) -> torch.Tensor:
    out = []
    bs = int(predictor.batch_size)
    with torch.set_grad_enabled(grad):
        for s in range(0, codes.shape[0], bs):
            out.append(predictor.forward_codes(codes[s:s + bs]).double())
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.float64)


@torch.no_grad()
def predict_all(predictor, data: Sequence[GeneData], combine: str) -> np.ndarray:
    """Per-individual predictions, genes x individuals.

    Parameters
    ----------
    predictor : GenePredictor
        The model's per-gene predictor; its model is put in eval mode.
    data : sequence of GeneData
        Every gene's distinct model inputs and haplotype-to-input map.
    combine : {"mean", "log_before", "log_after"}
        How the two haplotypes of an individual are combined.

    Returns
    -------
    numpy.ndarray
        ``(genes, individuals)`` float predictions (``(0, 0)`` without genes).
    """
    predictor.model.eval()
    rows = []
    for gd in data:
        v = _values(predictor, gd.codes, grad=False).cpu().numpy()
        h = v[gd.hap_key]
        rows.append(np.asarray(combine_haplotypes(h[0::2], h[1::2], combine), dtype=float))
    return np.vstack(rows) if rows else np.zeros((0, 0))


def set_metrics(gene_ids, pred: np.ndarray, obs: np.ndarray, dosages, *, n_draws: int, seed: int, mode: str = "reference",
                fdr: float = 0.05) -> tuple[dict, pd.DataFrame]:
    """Benchmark metrics of one evaluation set (:func:`seq2func.personal.stats.personal_benchmark`).

    Parameters
    ----------
    gene_ids : sequence of str
        The set's genes.
    pred : numpy.ndarray
        ``(genes, individuals)`` predictions of the set.
    obs : numpy.ndarray
        ``(genes, individuals)`` observed expression, same individuals.
    dosages : sequence of numpy.ndarray
        Per gene, its ``(individuals, snvs)`` ALT dosages over the set's individuals.
    n_draws : int
        Null draws per gene.
    seed : int
        Seed of the per-gene nulls.
    mode : {"reference", "textbook", "empirical"}, optional
        Null test (default ``"reference"``, the published one).
    fdr : float, optional
        Benjamini-Hochberg false discovery rate (default 0.05).

    Returns
    -------
    tuple of (dict, pandas.DataFrame)
        The metrics (``n_genes``, ``n_genes_with_r``, ``mean_r``, ``median_r``, ``frac_negative_r``,
        ``n_significant``, ``n_significant_negative``, ``frac_significant_negative``; None where
        undefined) and the per-gene table (empty when there are no genes or fewer than 3 individuals).
    """
    if len(gene_ids) == 0 or pred.shape[1] < 3:
        return {"n_genes": len(gene_ids), "mean_r": None, "median_r": None, "frac_negative_r": None,
                "n_significant": 0, "n_significant_negative": 0, "frac_significant_negative": None}, pd.DataFrame()
    tab = personal_benchmark(list(gene_ids), pred, obs, dosages, n_draws=n_draws, seed=seed, mode=mode, fdr=fdr)
    r = tab["r"].to_numpy(float)
    fin = np.isfinite(r)
    sig = tab["significant"].to_numpy(bool)
    neg = sig & (r < 0)
    m = {
        "n_genes": int(len(tab)),
        "n_genes_with_r": int(fin.sum()),
        "mean_r": float(np.mean(r[fin])) if fin.any() else None,
        "median_r": float(np.median(r[fin])) if fin.any() else None,
        "frac_negative_r": float(np.mean(r[fin] < 0)) if fin.any() else None,
        "n_significant": int(sig.sum()),
        "n_significant_negative": int(neg.sum()),
        "frac_significant_negative": float(neg.sum() / sig.sum()) if sig.sum() else None,
    }
    return m, tab


def _losses(p: torch.Tensor, z: torch.Tensor, y: torch.Tensor, log_a: torch.Tensor, v: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mse, pairwise)`` of one gene's batch (see the module docstring): ``p`` predictions, ``z``
    observed expression standardised per gene, ``y`` observed expression as given, ``log_a`` the
    log of the shared prediction scale, ``v`` the mean per-gene variance of ``y``."""
    pc = p - p.mean()
    sd = torch.sqrt((pc * pc).mean() + 1e-30)
    zhat = pc / (sd + 1e-15)
    mse = ((zhat - z) ** 2).mean()
    i, j = torch.triu_indices(p.numel(), p.numel(), offset=1, device=p.device)
    a = torch.exp(log_a)
    pair = ((a * (p[i] - p[j]) - (y[i] - y[j])) ** 2).mean() / v
    return mse, pair


@dataclass
class _FinetuneCohort:
    """The genes that have expression, with the cohort and FASTA contigs they are read from."""

    sel: pd.DataFrame  # genes with expression, in order
    expr: pd.DataFrame  # expression, genes x samples
    samples: list[str]
    lengths: dict[str, int]  # FASTA contig lengths
    fa_of: dict[str, str]  # TSS chromosome -> FASTA contig


@dataclass
class _Split:
    """Sorted indices of the training and held-out individuals and genes."""

    ind_train: np.ndarray
    ind_test: np.ndarray
    gene_train: np.ndarray
    gene_test: np.ndarray


@dataclass
class _TrainingSet:
    """The trainable genes and the constants of the pairwise loss."""

    rows: list[tuple]  # (gene index, individuals, standardised expression, expression) per trained gene
    v_obs: float  # mean per-gene variance of the observed expression
    a0: float  # initial shared prediction scale


@dataclass
class _TrainResult:
    """What training leaves: per-epoch history, steps taken, the learnt scale and the seconds spent."""

    history: list[dict]
    step: int
    log_a: torch.Tensor
    seconds: float


def _finetune_cohort(
    p: FinetuneParams,
    *,
    vcf: str | os.PathLike,
    fasta: str | os.PathLike,
    tss: str | os.PathLike | pd.DataFrame | None,
    expression: str | os.PathLike | pd.DataFrame,
    genes: Sequence[str] | None,
    chroms: Sequence[str] | None,
) -> _FinetuneCohort:
    """Load the cohort, keep the genes with expression and check there is enough to hold some out.

    Parameters
    ----------
    p : FinetuneParams
        Checked parameters (``missing_samples``).
    vcf, fasta, tss, expression, genes, chroms
        As for :func:`personal_finetune`.

    Returns
    -------
    _FinetuneCohort
        Genes with expression, expression table, shared samples and FASTA contigs.
    """
    sel, expr, samples, expr_label = load_cohort(vcf, tss, expression, genes=genes, chroms=chroms,
                                                 missing_samples=p.missing_samples)
    sel = sel[sel["gene_id"].isin(expr.index)].reset_index(drop=True)
    if len(sel) < 1:
        raise InputError(expr_label, None, "no gene of the selection has expression")
    if len(samples) < MIN_FINETUNE_INDIVIDUALS:
        raise InputError(expr_label, "samples", f"{len(samples)} individuals: too few to hold some out")
    lengths, fa_of = fasta_contigs(fasta, sel["chrom"])
    return _FinetuneCohort(sel, expr, samples, lengths, fa_of)


def _split(n_individuals: int, n_genes: int, p: FinetuneParams) -> _Split:
    """Seeded split of individuals, then genes, into training and held-out sets.

    Parameters
    ----------
    n_individuals, n_genes : int
        Numbers of individuals and genes.
    p : FinetuneParams
        Parameters (``seed``, ``holdout_individuals``, ``holdout_genes``).

    Returns
    -------
    _Split
        The four sorted index arrays.
    """
    rng = np.random.default_rng([p.seed, 20231])
    ind_train, ind_test = split_indices(n_individuals, p.holdout_individuals, rng)
    gene_train, gene_test = split_indices(n_genes, p.holdout_genes, rng, min_one=n_genes >= 2)
    return _Split(ind_train, ind_test, gene_train, gene_test)


def _all_gene_data(predictor, vcf: str | os.PathLike, fasta: str | os.PathLike, cohort: _FinetuneCohort,
                   p: FinetuneParams) -> tuple[list[GeneData], int, float]:
    """Build every gene's haplotypes and distinct model inputs, in gene order.

    Parameters
    ----------
    predictor : GenePredictor
        The model's per-gene predictor.
    vcf, fasta : path
        The cohort's VCF and the reference FASTA.
    cohort : _FinetuneCohort
        Genes, expression, samples and contigs.
    p : FinetuneParams
        Parameters (``window``, ``unphased``, ``seed``, ``ref_n``).

    Returns
    -------
    data : list of GeneData
        One per gene of ``cohort.sel``.
    n_ref_n_skipped : int
        VCF records skipped because their REF lies on FASTA N.
    seconds : float
        Time spent.
    """
    sel, expr, lengths, fa_of = cohort.sel, cohort.expr, cohort.lengths, cohort.fa_of
    t0 = time.time()
    data: list[GeneData] = []
    with HaplotypeBuilder(vcf, fasta, samples=cohort.samples, unphased=p.unphased, seed=p.seed,
                          ref_n=p.ref_n) as builder:
        for g in sel.itertuples(index=False):
            fc = fa_of[g.chrom]
            data.append(_gene_data(predictor, builder, g, fc, lengths[fc], expr.loc[g.gene_id].to_numpy(float), p.window))
    n_ref_n_skipped = builder.n_ref_n_skipped
    if n_ref_n_skipped:
        log.warning("%d VCF record(s) whose REF lies on FASTA N skipped over %d gene window(s) (--ref-n skip)",
                    n_ref_n_skipped, len(sel))
    return data, n_ref_n_skipped, time.time() - t0


def _training_set(data: Sequence[GeneData], pred0: np.ndarray, split: _Split) -> _TrainingSet:
    """The training genes that carry signal, the pairwise loss's variance and its initial scale.

    Parameters
    ----------
    data : sequence of GeneData
        Every gene's material.
    pred0 : numpy.ndarray
        Reference-only predictions, genes x individuals.
    split : _Split
        Training and held-out genes and individuals.

    Returns
    -------
    _TrainingSet
        Rows of the genes trained on, ``v_obs`` and ``a0`` (see the module docstring).
    """
    ind_train = split.ind_train
    train_rows = []
    sxy = sxx = 0.0
    sd_pred, sd_obs, var_obs = [], [], []
    for gi in split.gene_train.tolist():
        gd = data[gi]
        y = gd.y[ind_train]
        ok = np.isfinite(y)
        keys = gd.hap_key.reshape(-1, 2)[ind_train[ok]]
        if ok.sum() < 3 or np.unique(keys).size < 2 or not np.nanstd(y[ok]) > 0:
            continue
        mu, sd = float(np.mean(y[ok])), float(np.std(y[ok]))
        train_rows.append((gi, ind_train[ok], (y[ok] - mu) / sd, y[ok]))
        sd_obs.append(sd)
        var_obs.append(sd * sd)
        p0 = pred0[gi, ind_train[ok]]
        pc = p0 - p0.mean()
        sxy += float(pc @ (y[ok] - mu))
        sxx += float(pc @ pc)
        if pc.std() > 0:
            sd_pred.append(float(pc.std()))
    v_obs = float(np.mean(var_obs)) if var_obs else 1.0
    # initial shared scale: the least-squares fit of observed on predicted within-gene deviations
    # (the minimiser of the pairwise loss for the reference model) when positive, else a tenth of
    # the ratio of typical SDs (predictions then start by contributing little to the pairwise loss)
    ratio = float(np.median(sd_obs) / np.median(sd_pred)) if sd_pred and sd_obs else 1.0
    a0 = sxy / sxx if sxx > 0 and sxy > 0 else 0.1 * ratio
    return _TrainingSet(train_rows, v_obs, a0)


def _optimizer(mdl: torch.nn.Module, a0: float, p: FinetuneParams) -> tuple[list, torch.Tensor, torch.optim.Optimizer]:
    """AdamW over the model's trainable parameters and the log of the shared prediction scale.

    Parameters
    ----------
    mdl : torch.nn.Module
        The model being fine-tuned.
    a0 : float
        Initial shared prediction scale.
    p : FinetuneParams
        Parameters (``lr``, ``weight_decay``, ``scale_lr``).

    Returns
    -------
    params : list of torch.Tensor
        The model's trainable parameters (clipped together).
    log_a : torch.Tensor
        The learnt log scale, float64 on the model's device.
    opt : torch.optim.Optimizer
        The optimiser.
    """
    params_ = [q for q in mdl.parameters() if q.requires_grad]
    dev = next(mdl.parameters()).device
    log_a = torch.tensor(np.log(a0), dtype=torch.float64, device=dev, requires_grad=True)
    opt = torch.optim.AdamW([{"params": params_}, {"params": [log_a], "lr": p.scale_lr, "weight_decay": 0.0}],
                            lr=p.lr, weight_decay=p.weight_decay)
    return params_, log_a, opt


def _train_step(predictor, gd: GeneData, row: tuple, order_rng: np.random.Generator, log_a: torch.Tensor,
                v_obs: float, opt: torch.optim.Optimizer, params_: list, p: FinetuneParams) -> tuple:
    """One optimiser step on one gene and ``individuals_per_step`` of its training individuals.

    Parameters
    ----------
    predictor : GenePredictor
        The model's per-gene predictor.
    gd : GeneData
        The gene's material.
    row : tuple
        The gene's row of :class:`_TrainingSet` (gene index, individuals, standardised and raw expression).
    order_rng : numpy.random.Generator
        Draws the individuals of the step.
    log_a : torch.Tensor
        Log of the shared prediction scale.
    v_obs : float
        Mean per-gene variance of the observed expression.
    opt : torch.optim.Optimizer
        The optimiser.
    params_ : list of torch.Tensor
        The model's trainable parameters (gradient norm clipped at ``p.grad_clip``).
    p : FinetuneParams
        Parameters.

    Returns
    -------
    tuple of torch.Tensor
        ``(loss, mse, pairwise)`` of the step.
    """
    gi, inds, z_all, y_all = row
    m = min(p.individuals_per_step, inds.size)
    pick = order_rng.choice(inds.size, size=m, replace=False)
    hk = gd.hap_key.reshape(-1, 2)[inds[pick]]  # (m, 2)
    uk, inv = np.unique(hk.ravel(), return_inverse=True)
    v = _values(predictor, gd.codes[torch.as_tensor(uk)], grad=True)
    h = v[torch.as_tensor(inv, device=v.device)].reshape(m, 2)
    pv = combine_haplotypes(h[:, 0], h[:, 1], p.combine)
    z = torch.as_tensor(z_all[pick], dtype=torch.float64, device=pv.device)
    yv = torch.as_tensor(y_all[pick], dtype=torch.float64, device=pv.device)
    mse, pair = _losses(pv, z, yv, log_a, v_obs)
    loss = p.mse_weight * mse + p.pairwise_weight * pair
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if p.grad_clip and p.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(params_, p.grad_clip)
    opt.step()
    return loss, mse, pair


def _train(predictor, data: Sequence[GeneData], ts: _TrainingSet, p: FinetuneParams) -> _TrainResult:
    """Fine-tune the model for ``p.epochs`` epochs (the model stays in eval mode).

    Parameters
    ----------
    predictor : GenePredictor
        The model's per-gene predictor; its model is trained in place.
    data : sequence of GeneData
        Every gene's material.
    ts : _TrainingSet
        The genes trained on and the loss constants.
    p : FinetuneParams
        Parameters.

    Returns
    -------
    _TrainResult
        Per-epoch mean losses and scale, the number of steps, the learnt log scale and the seconds spent.
    """
    train_rows, v_obs = ts.rows, ts.v_obs
    mdl = predictor.model
    params_, log_a, opt = _optimizer(mdl, ts.a0, p)
    steps_per_epoch = p.steps_per_epoch or len(train_rows)
    history = []
    step = 0
    t1 = time.time()
    if train_rows and p.epochs > 0 and steps_per_epoch > 0:
        order_rng = np.random.default_rng([p.seed, 7])
        for ep in range(p.epochs):
            mdl.eval()  # BatchNorm statistics and dropout frozen (see the module docstring)
            tot = {"loss": 0.0, "mse": 0.0, "pairwise": 0.0}
            genes_order = order_rng.permutation(len(train_rows))
            for k in range(steps_per_epoch):
                row = train_rows[int(genes_order[k % len(train_rows)])]
                loss, mse, pair = _train_step(predictor, data[row[0]], row, order_rng, log_a, v_obs, opt, params_,
                                              p)
                step += 1
                tot["loss"] += float(loss.detach())
                tot["mse"] += float(mse.detach())
                tot["pairwise"] += float(pair.detach())
            history.append({"epoch": ep + 1, "steps": steps_per_epoch,
                            **{k2: v2 / steps_per_epoch for k2, v2 in tot.items()}, "scale": float(log_a.detach().exp())})
            log.info("epoch %d: loss %.4f (mse %.4f, pairwise %.4f)", ep + 1, history[-1]["loss"], history[-1]["mse"],
                     history[-1]["pairwise"])
    t_train = time.time() - t1
    mdl.eval()
    return _TrainResult(history, step, log_a, t_train)


def _evaluate(data: Sequence[GeneData], obs: np.ndarray, pred0: np.ndarray, pred1: np.ndarray, split: _Split,
              n_individuals: int, p: FinetuneParams) -> tuple[dict, list[pd.DataFrame]]:
    """Reference-only vs fine-tuned metrics on each evaluation set (:data:`EVAL_SETS`).

    Parameters
    ----------
    data : sequence of GeneData
        Every gene's material (gene IDs, dosages).
    obs : numpy.ndarray
        Observed expression, genes x individuals.
    pred0, pred1 : numpy.ndarray
        Reference-only and fine-tuned predictions, genes x individuals.
    split : _Split
        Training and held-out genes and individuals.
    n_individuals : int
        Number of individuals.
    p : FinetuneParams
        Parameters (``null_draws``, ``seed``).

    Returns
    -------
    evaluation : dict
        Set name -> model label -> metrics (:func:`set_metrics`).
    gene_tabs : list of pandas.DataFrame
        Per-gene results with ``set`` and ``model`` columns.
    """
    gene_ids = [gd.gene_id for gd in data]
    sets = {
        "heldout_individuals": (split.gene_train, split.ind_test),
        "heldout_genes": (split.gene_test, split.ind_test),
        "heldout_genes_all_individuals": (split.gene_test, np.arange(n_individuals)),
        "training": (split.gene_train, split.ind_train),
    }
    evaluation, gene_tabs = {}, []
    for name, (gs, inds) in sets.items():
        gids = [gene_ids[i] for i in gs.tolist()]
        dos = [data[i].dosage[inds] for i in gs.tolist()]
        res = {}
        for label, pr in (("reference_only", pred0), ("personal_finetuned", pred1)):
            met, tab = set_metrics(gids, pr[np.ix_(gs, inds)], obs[np.ix_(gs, inds)], dos, n_draws=p.null_draws, seed=p.seed,
                                    mode=p.mode, fdr=p.fdr)
            res[label] = met
            if len(tab):
                gene_tabs.append(tab[["gene_id", "r", "p", "q", "significant"]].assign(set=name, model=label))
        evaluation[name] = res
    return evaluation, gene_tabs


def _finetune_result(p: FinetuneParams, info: dict, samples: list[str], gene_ids: list[str], n_ref_n_skipped: int,
                     split: _Split, ts: _TrainingSet, tr: _TrainResult, evaluation: dict, t_data: float,
                     t_start: float) -> dict:
    """The content of ``finetune.json``.

    Parameters
    ----------
    p : FinetuneParams
        Parameters.
    info : dict
        Description of the model (:func:`seq2func.personal.predict.load_predictor`).
    samples : list of str
        The individuals.
    gene_ids : list of str
        The genes.
    n_ref_n_skipped : int
        VCF records skipped because their REF lies on FASTA N.
    split : _Split
        Training and held-out genes and individuals.
    ts : _TrainingSet
        The genes trained on and the loss constants.
    tr : _TrainResult
        The training's history, steps and scale.
    evaluation : dict
        Metrics per set and model (:func:`_evaluate`).
    t_data, t_start : float
        Seconds spent building the data; ``time.time()`` at the start.

    Returns
    -------
    dict
        Parameters, model, split, training summary, evaluation and timings.
    """
    return {
        "format": "seq2func-personal-finetune/1",
        "params": asdict(p),
        "model": info,
        "n_individuals": len(samples),
        "n_genes": len(gene_ids),
        "ref_n_skipped": n_ref_n_skipped,
        "split": {
            "train_individuals": [samples[i] for i in split.ind_train.tolist()],
            "heldout_individuals": [samples[i] for i in split.ind_test.tolist()],
            "train_genes": [gene_ids[i] for i in split.gene_train.tolist()],
            "heldout_genes": [gene_ids[i] for i in split.gene_test.tolist()],
            "trained_genes": [gene_ids[r[0]] for r in ts.rows],
        },
        "steps": tr.step,
        "initial_scale": ts.a0,
        "final_scale": float(tr.log_a.detach().exp()),
        "observed_variance": ts.v_obs,
        "history": tr.history,
        "evaluation": evaluation,
        "seconds": {"data": round(t_data, 3), "train": round(tr.seconds, 3), "total": round(time.time() - t_start, 3)},
    }


def _save_finetuned(path, checkpoint: str | os.PathLike, ckpt: dict, mdl: torch.nn.Module, info: dict,
                    p: FinetuneParams, tr: _TrainResult, evaluation: dict) -> None:
    """Save the fine-tuned model as a checkpoint whose strategy records its parent and the parameters.

    Parameters
    ----------
    path : path
        The checkpoint file to write.
    checkpoint : path
        The parent checkpoint.
    ckpt : dict
        The parent checkpoint's content (tracks, dataset, strategy).
    mdl : torch.nn.Module
        The fine-tuned model.
    info : dict
        Description of the model (``columns``, ``tracks``).
    p : FinetuneParams
        Parameters.
    tr : _TrainResult
        The training's history and steps.
    evaluation : dict
        Metrics per set and model.

    Returns
    -------
    None
    """
    parent = ckpt.get("strategy") or {}
    personal = {"params": asdict(p), "columns": info["columns"], "tracks": info["tracks"]}
    if parent.get("name") == "lora":
        strategy = {**parent, "parent": str(checkpoint), "personal": personal}
    else:
        strategy = {"name": "personal", "kwargs": {}, "parent": str(checkpoint), "personal": personal}
    save_checkpoint(path, mdl, kind="finetune", tracks=ckpt.get("tracks") or [],
                    dataset=ckpt.get("dataset") or {}, train_params=asdict(p), strategy=strategy,
                    epoch=len(tr.history), step=tr.step,
                    metrics={"heldout_individuals_mean_r": evaluation["heldout_individuals"]["personal_finetuned"]["mean_r"]})


def _write_finetune(out: str | os.PathLike, result: dict, gene_tabs: list[pd.DataFrame], *, save_model: bool,
                    checkpoint: str | os.PathLike | None, ckpt: dict, mdl: torch.nn.Module, info: dict,
                    p: FinetuneParams, tr: _TrainResult) -> None:
    """Write ``out`` atomically: ``genes.tsv``, ``model.pt`` (when saved) and ``finetune.json``.

    Parameters
    ----------
    out : path
        The output directory.
    result : dict
        The content of ``finetune.json``; ``result["checkpoint"]`` is set when the model is saved.
    gene_tabs : list of pandas.DataFrame
        Per-gene results (:func:`_evaluate`).
    save_model : bool
        Save the model (only from a checkpoint).
    checkpoint, ckpt, mdl, info, p, tr
        As for :func:`_save_finetuned`.

    Returns
    -------
    None
    """
    long = pd.concat(gene_tabs, ignore_index=True) if gene_tabs else pd.DataFrame(
        columns=["gene_id", "r", "p", "q", "significant", "set", "model"])
    with atomic_dir(out) as tmp:
        long[["set", "model", "gene_id", "r", "p", "q", "significant"]].to_csv(tmp / "genes.tsv", sep="\t", index=False,
                                                                               na_rep="NA")
        if save_model and checkpoint is not None and ckpt:
            _save_finetuned(tmp / "model.pt", checkpoint, ckpt, mdl, info, p, tr, result["evaluation"])
            result["checkpoint"] = "model.pt"
        write_json(tmp / "finetune.json", result)


def personal_finetune(
    checkpoint: str | os.PathLike | None = None,
    *,
    model: torch.nn.Module | None = None,
    vcf: str | os.PathLike,
    fasta: str | os.PathLike,
    tss: str | os.PathLike | pd.DataFrame | None,
    expression: str | os.PathLike | pd.DataFrame,
    out: str | os.PathLike,
    genes: Sequence[str] | None = None,
    chroms: Sequence[str] | None = None,
    track: str | None = None,
    cell_type: str | None = None,
    tracks: Sequence[dict] | None = None,
    device: str = "auto",
    params: FinetuneParams | None = None,
    save_model: bool = True,
) -> dict:
    """Fine-tune on personal genomes and evaluate; writes ``out/finetune.json``, ``out/genes.tsv``
    and (``save_model``, from a checkpoint) ``out/model.pt``. Returns the JSON content.

    Parameters
    ----------
    checkpoint : str or os.PathLike or None, optional
        The starting seq2func checkpoint; needed unless ``model`` is given, and for saving the model.
    model : torch.nn.Module or None, optional
        A model to start from instead of a checkpoint (then no ``model.pt`` is written).
    vcf : str or os.PathLike
        Phased cohort VCF.
    fasta : str or os.PathLike
        Reference FASTA.
    tss : str or os.PathLike or pandas.DataFrame or None
        TSS annotation (BED6, GTF or a TSS table); None only with a phenotype BED as ``expression``.
    expression : str or os.PathLike or pandas.DataFrame
        Expression TSV or phenotype BED, or a genes x individuals frame.
    out : str or os.PathLike
        Output directory (written atomically).
    genes : sequence of str or None, optional
        Genes to use, in order; None = every gene (of ``chroms``).
    chroms : sequence of str or None, optional
        Chromosomes to use; None = every chromosome.
    track : str or None, optional
        Output track (a ``track_id`` or a column number).
    cell_type : str or None, optional
        Cell type whose CAGE tracks are summed.
    tracks : sequence of dict or None, optional
        Track table when the checkpoint has none (or with ``model``).
    device : str, optional
        ``auto``, ``cpu``, ``cuda`` or ``cuda:<index>`` (default ``auto``).
    params : FinetuneParams or None, optional
        Parameters (checked first); None = the defaults.
    save_model : bool, optional
        Write the fine-tuned model as ``model.pt`` (default True; only from a checkpoint).

    Returns
    -------
    dict
        The content of ``finetune.json``: parameters, model, split, training history and scale,
        evaluation per set and model, and timings.

    Raises
    ------
    InputError
        On bad parameters or inputs (no gene with expression, fewer than 6 shared individuals, bad VCF,
        FASTA, checkpoint or track choice).
    """
    p = params or FinetuneParams()
    p.check()
    t_start = time.time()
    torch.manual_seed(p.seed)
    predictor, info = load_predictor(checkpoint, model=model, track=track, cell_type=cell_type, tracks=tracks,
                                     device=device, tss_bins=p.tss_bins, batch_size=p.batch_size, rc=p.rc)
    ckpt = getattr(predictor, "ckpt", None) or {}
    cohort = _finetune_cohort(p, vcf=vcf, fasta=fasta, tss=tss, expression=expression, genes=genes, chroms=chroms)
    split = _split(len(cohort.samples), len(cohort.sel), p)
    data, n_ref_n_skipped, t_data = _all_gene_data(predictor, vcf, fasta, cohort, p)
    gene_ids = [gd.gene_id for gd in data]
    obs = np.vstack([gd.y for gd in data])
    pred0 = predict_all(predictor, data, p.combine)  # reference-only predictions (the starting model)
    ts = _training_set(data, pred0, split)
    tr = _train(predictor, data, ts, p)
    pred1 = predict_all(predictor, data, p.combine)
    evaluation, gene_tabs = _evaluate(data, obs, pred0, pred1, split, len(cohort.samples), p)
    result = _finetune_result(p, info, cohort.samples, gene_ids, n_ref_n_skipped, split, ts, tr, evaluation, t_data,
                              t_start)
    _write_finetune(out, result, gene_tabs, save_model=save_model, checkpoint=checkpoint, ckpt=ckpt,
                    mdl=predictor.model, info=info, p=p, tr=tr)
    return result
