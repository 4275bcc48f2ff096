"""PERSONAL's parameters, one dataclass per command (:class:`RunParams` for ``personal run``,
:class:`FinetuneParams` for ``personal finetune``): each field is the command's option, with its
default and help (:func:`seq2func.options.option`; the CLI is generated from them). Light to import
(no torch).
"""

from __future__ import annotations

from dataclasses import dataclass

from seq2func.errors import InputError
from seq2func.options import option
from seq2func.personal.baselines.predictdb import check_predictdb
from seq2func.personal.haplotypes import REF_N_POLICIES, UNPHASED_POLICIES
from seq2func.personal.stats import MODES

#: Personal fine-tuning holds individuals out; below this many with genotypes and expression it cannot
#: (checked by VALIDATE before any compute and again by ``personal finetune``).
MIN_FINETUNE_INDIVIDUALS = 6

#: how the two haplotypes' predictions become one per individual
COMBINE_MODES = ("mean", "log_before", "log_after")

_REF_N = "VCF records whose REF meets FASTA N (other bases matching): error | skip"


@dataclass
class RunParams:
    """Parameters of :func:`seq2func.personal.benchmark.run_chunk` (the options of ``personal run``)."""

    window: int = option(40001, "bp around the TSS (personal_window)")
    combine: str = option("mean", "mean | log_before | log_after")
    null_draws: int = option(50, "random-weight null draws per gene")
    seed: int = option(0, "seed of unphased-GT draws, null draws, PrediXcan folds and ISM backgrounds "
                       "(the pipeline's --train_seed)")
    unphased: str = option("error", "unphased heterozygous GT: error | reference | random")
    ref_n: str = option("error", _REF_N)
    missing_samples: str = option("error", "expression individuals absent from the VCF: error | drop")
    predixcan: bool = option(True, "elastic-net baseline on the window's SNVs", flag="--predixcan/--no-predixcan")
    predixcan_min_maf: float = option(0.01, "PrediXcan: smallest minor-allele frequency of an SNV used")
    predixcan_outer_k: int = option(5, "PrediXcan: outer cross-validation folds (the reported R)")
    predixcan_inner_k: int = option(10, "PrediXcan: inner folds choosing the penalty")
    predixcan_n_alphas: int = option(100, "PrediXcan: penalties on the elastic-net path")
    ism: str = option("personal", "none | reference | personal (personal includes reference)")
    ism_min_abs_r: float = option(0.0, "ISM/drivers only for genes with |R| >= this")
    max_backgrounds: int = option(10, "carrier haplotypes per SNV for personal ISM")
    driver_ism: str = option("reference", "ISM used for drivers: reference | personal")
    r2_stop: float = option(0.9, "forward selection stops at this R^2")
    min_gain: float = option(1e-3, "forward selection: smallest gain in R")
    max_drivers: int | None = option(None, "forward selection: most drivers per gene (default: no limit)")
    predictdb: str | None = option(None, "PredictDB .db (SQLite weights table): its models' predictions too, "
                                   "from the VCF at the db's variants")
    predictdb_drop_ambiguous: bool = option(False, "leave out A/T and C/G SNVs of the db",
                                            flag="--predictdb-drop-ambiguous/--predictdb-keep-ambiguous")

    def check(self) -> None:
        """Stop with one clear line on an invalid option.

        Raises
        ------
        InputError
            Naming the option and its value (a bad ``predictdb`` file names the file).
        """
        if self.window < 1:
            raise InputError("--window", str(self.window), "must be >= 1")
        if self.combine not in COMBINE_MODES:
            raise InputError("--combine", self.combine, f"must be one of {', '.join(COMBINE_MODES)}")
        if self.null_draws < 2:
            raise InputError("--null-draws", str(self.null_draws), "must be >= 2")
        if self.unphased not in UNPHASED_POLICIES:
            raise InputError("--unphased", self.unphased, f"must be one of {', '.join(UNPHASED_POLICIES)}")
        if self.ref_n not in REF_N_POLICIES:
            raise InputError("--ref-n", self.ref_n, f"must be one of {', '.join(REF_N_POLICIES)}")
        if self.missing_samples not in ("error", "drop"):
            raise InputError("--missing-samples", self.missing_samples, "must be error or drop")
        if self.ism not in ("none", "reference", "personal"):
            raise InputError("--ism", self.ism, "must be none, reference or personal")
        if self.driver_ism not in ("reference", "personal"):
            raise InputError("--driver-ism", self.driver_ism, "must be reference or personal")
        if self.driver_ism == "personal" and self.ism != "personal":
            raise InputError("--driver-ism", self.driver_ism, "needs --ism personal")
        if not 0 < self.r2_stop <= 1:
            raise InputError("--r2-stop", str(self.r2_stop), "must be in (0, 1]")
        if self.predictdb:
            check_predictdb(self.predictdb)


@dataclass
class FinetuneParams:
    """Parameters of :func:`seq2func.personal.finetune.personal_finetune` (the options of
    ``personal finetune``)."""

    window: int = option(40001, "bp around the TSS")
    combine: str = option("mean", "mean | log_before | log_after")
    tss_bins: int = option(1, "sum the TSS bin +- this many bins (profile models)")
    seed: int = option(0, "seed of the splits, sampling and null draws (the pipeline's --train_seed)")
    holdout_individuals: float = option(0.3, "fraction of individuals held out")
    holdout_genes: float = option(0.2, "fraction of genes held out")
    epochs: int = option(10, "passes over the training genes (0: evaluate the reference-only model only)")
    steps_per_epoch: int | None = option(None, "default: one step per training gene")
    individuals_per_step: int = option(16, "individuals of one gene per optimizer step")
    lr: float = option(1e-4, "learning rate (AdamW)")
    weight_decay: float = option(0.0, "AdamW weight decay")
    mse_weight: float = option(1.0, "weight of the per-gene MSE loss on batch-standardised predictions and expression")
    pairwise_weight: float = option(1.0, "weight of the pairwise loss (differences between individuals of a gene)")
    grad_clip: float = option(1.0, cli=False)
    scale_lr: float = option(1e-2, "learning rate of the pairwise loss's shared prediction scale")
    null_draws: int = option(50, "random-weight null draws per gene")
    mode: str = option("reference", "null test of the evaluation's genes.tsv: reference | textbook | empirical "
                       "(the pipeline's --personal_mode)")
    fdr: float = option(0.05, "Benjamini-Hochberg FDR of the evaluation (the pipeline's --personal_fdr)")
    unphased: str = option("error", "unphased heterozygous GT: error | reference | random")
    ref_n: str = option("error", _REF_N)
    missing_samples: str = option("error", "expression individuals absent from the VCF: error | drop")
    batch_size: int = option(16, "model inputs per forward pass")
    rc: bool = option(False, "average every prediction with the reverse complement's, in training and evaluation "
                      "(twice the forward passes; the pipeline's --personal_rc)", flag="--rc/--no-rc")

    def check(self) -> None:
        """Stop with one clear line on an invalid option.

        Raises
        ------
        InputError
            Naming the option and its value.
        """
        if self.ref_n not in REF_N_POLICIES:
            raise InputError("--ref-n", self.ref_n, f"must be one of {', '.join(REF_N_POLICIES)}")
        if self.combine not in COMBINE_MODES:
            raise InputError("--combine", self.combine, f"must be one of {', '.join(COMBINE_MODES)}")
        for name in ("holdout_individuals", "holdout_genes"):
            v = getattr(self, name)
            if not 0 <= v < 1:
                raise InputError(f"--{name.replace('_', '-')}", str(v), "must be in [0, 1)")
        if self.mode not in MODES:
            raise InputError("--mode", self.mode, f"must be one of {', '.join(MODES)}")
        if not 0 < self.fdr < 1:
            raise InputError("--fdr", str(self.fdr), "must be in (0, 1)")
        if self.individuals_per_step < 2:
            raise InputError("--individuals-per-step", str(self.individuals_per_step), "must be >= 2")
        if self.epochs < 0:
            raise InputError("--epochs", str(self.epochs), "must be >= 0")
        if self.mse_weight < 0 or self.pairwise_weight < 0 or self.mse_weight + self.pairwise_weight <= 0:
            raise InputError("--mse-weight", str(self.mse_weight), "loss weights must be >= 0 and not both 0")
