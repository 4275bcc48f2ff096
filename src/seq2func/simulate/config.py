"""Scales, model constants, TF roles and cell-type templates of the simulated world.

Everything the simulator draws at random comes from :func:`rng_for`: a numpy ``Generator``
seeded with ``SeedSequence([seed, component, *keys])``, so each component (the layout of one
chromosome, the Poisson noise of one chunk of one track, ...) is reproducible on its own and a
chromosome can be regenerated without regenerating the others.

Scales (``config_for_scale``):

=========  =====================  =====  ============  ==========================
scale      genome                 genes  individuals   cell types (compendium+target)
=========  =====================  =====  ============  ==========================
tiny       3 chromosomes, 1.5 Mb  60     80            8 + 2   (20 tracks)
small      3 chromosomes, 15 Mb   ~900   200           12 + 3  (30 tracks)
large      5 chromosomes, 122 Mb  ~2440  500           16 + 4  (40 tracks)
=========  =====================  =====  ============  ==========================

Measured on one core: tiny ~2-3 s; small ~20 s (peak RSS 0.14 GB); large ~4.7 min with a peak
RSS of 0.29 GB, the same as a world of its largest (30 Mb) chromosome alone: the writer streams
chromosome by chromosome and tracks chunk by chunk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

SCALES = ("tiny", "small", "large")

# RNG components (part of every seed sequence; never renumber).
C_GLOBAL, C_LAYOUT, C_SEQUENCE, C_VARIANTS, C_GENOTYPES, C_MISSING, C_EXPR_NOISE, C_TRACK_NOISE = range(1, 9)
C_CONSERVATION = 9


def rng_for(seed: int, component: int, *keys: int) -> np.random.Generator:
    """The generator of one component of the world (see module docstring).

    Parameters
    ----------
    seed : int
        The world's seed.
    component : int
        One of the ``C_*`` constants (layout, sequence, variants, ...).
    *keys : int
        Further keys within the component (e.g. chromosome index, track index, chunk index).

    Returns
    -------
    numpy.random.Generator
        Seeded with ``SeedSequence([seed, component, *keys])``.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(component), *[int(k) for k in keys]]))


@dataclass(frozen=True)
class WorldConfig:
    """Size of the world. ``config_for_scale`` gives the three standard scales."""

    scale: str
    chrom_lengths: tuple[int, ...]
    genes_per_mb: float
    n_individuals: int
    n_compendium: int
    n_target: int
    window_variant_rate: float  # variants per bp within TSS +/- (window + margin)
    background_variant_rate: float  # variants per bp elsewhere
    ld_block_mean_bp: int = 20_000  # mean distance between recombination points
    ld_keep_prob: float = 0.6  # probability a haplotype keeps its founder across a recombination point
    n_founders: int = 10
    telomere_bp: int = 10_000  # N run at each chromosome end
    desert_bp: int = 40_000  # gene-free regions holding an interior N run and a blacklist interval
    deserts_per_mb: float = 1.0
    chunk_bp: int = 262_144  # tracks are computed and written in chunks of this size (multiple of 128)
    missing_rate: float = 5e-5  # fraction of haplotype alleles written as missing ('.')
    personal_cell_type: str = "neuron"

    @property
    def chroms(self) -> list[str]:
        return [f"chr{i + 1}" for i in range(len(self.chrom_lengths))]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["chrom_lengths"] = list(self.chrom_lengths)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "WorldConfig":
        """The configuration written by :meth:`to_dict` (``truth.json``).

        Parameters
        ----------
        d : dict
            One value per field; ``chrom_lengths`` as a list.

        Returns
        -------
        WorldConfig
        """
        d = dict(d)
        d["chrom_lengths"] = tuple(int(x) for x in d["chrom_lengths"])
        return cls(**d)


def config_for_scale(scale: str, **overrides) -> WorldConfig:
    """Standard configuration of a scale; keyword overrides replace fields (tests use this).

    Parameters
    ----------
    scale : str
        ``tiny``, ``small`` or ``large`` (see the module doc).
    **overrides
        :class:`WorldConfig` fields to replace.

    Returns
    -------
    WorldConfig

    Raises
    ------
    ValueError
        On an unknown scale.
    """
    if scale == "tiny":
        cfg = WorldConfig(
            scale="tiny",
            chrom_lengths=(600_000, 500_000, 400_000),
            genes_per_mb=40.0,
            n_individuals=80,
            n_compendium=8,
            n_target=2,
            window_variant_rate=1 / 300,
            background_variant_rate=1 / 10_000,
        )
    elif scale == "small":
        cfg = WorldConfig(
            scale="small",
            chrom_lengths=(6_000_000, 5_000_000, 4_000_000),
            genes_per_mb=60.0,
            n_individuals=200,
            n_compendium=12,
            n_target=3,
            window_variant_rate=1 / 500,
            background_variant_rate=1 / 10_000,
        )
    elif scale == "large":
        cfg = WorldConfig(
            scale="large",
            chrom_lengths=(30_000_000, 26_000_000, 24_000_000, 22_000_000, 20_000_000),
            genes_per_mb=20.0,
            n_individuals=500,
            n_compendium=16,
            n_target=4,
            window_variant_rate=1 / 600,
            background_variant_rate=1 / 20_000,
            ld_block_mean_bp=30_000,
            n_founders=14,
        )
    else:
        raise ValueError(f"unknown scale '{scale}' (known: {', '.join(SCALES)})")
    return replace(cfg, **overrides) if overrides else cfg


@dataclass(frozen=True)
class ModelParams:
    """Constants of the sequence -> occupancy -> accessibility / expression model (all in truth.json)."""

    # PWMs: probabilities p = (counts + pseudocount/4) / (n + pseudocount); log-odds ln(p / background)
    pseudocount: float = 1.0
    background: tuple[float, float, float, float] = (0.29, 0.21, 0.21, 0.29)
    n_log_odds: float = -50.0  # score of an N at any motif position
    # threshold h = max(score with P_background(score >= h) = bg_tail_p, planted_quantile of model scores)
    bg_tail_p: float = 3e-6
    planted_quantile: float = 0.25
    score_grid: float = 0.01  # grid of the exact score distributions used for the thresholds
    beta: float = 2.0  # occupancy = 1 / (1 + exp(-beta (score - h))) for score >= h - cutoff, else 0
    cutoff: float = 2.5
    plant_margin: float = 0.5  # planted instances are PWM samples with score >= h + plant_margin
    # expression (per haplotype): drive = sum over sites of activity[tf] * tx_weight[tf] * occ * g(d)
    window_bp: int = 20_000  # haplotype window: TSS +/- window_bp (+ margin_bp) is extracted per gene
    reach_bp: int = 20_000  # sites with |centre - TSS| <= min(reach_bp, window_bp) count (params_for_scale)
    margin_bp: int = 500  # extra flank to extract around the window (indel shifts, motif width)
    promoter_bp: int = 300  # g(d) = 1 for d <= promoter_bp
    enhancer_gain: float = 0.8  # g(d) = enhancer_gain * exp(-(d - promoter_bp) / decay_bp) beyond
    decay_bp: float = 6000.0
    # core promoter (not a TF site: it sets where transcription starts, so CAGE is placed by sequence)
    core_promoter: tuple[tuple[int, str], ...] = ((-31, "TATAAAAG"), (-2, "TCAGTCT"), (28, "AGACG"))
    x0: float = 0.2  # x = x0 + x_scale * softplus(drive)   (linear expression, CAGE-like units)
    x_scale: float = 8.0
    noise_sd: float = 0.2  # observed personal expression = log2((x_h1 + x_h2) / 2) + N(0, noise_sd^2)
    # tracks
    bin_bp: int = 128
    atac_bg: float = 0.008
    atac_gain: float = 40.0  # lambda = depth * (atac_bg + atac_gain * smooth(sum act*acc*occ at site centres))
    atac_box_bp: int = 201  # smoothing = box filter of this width applied atac_box_passes times
    atac_box_passes: int = 3
    cage_bg: float = 0.002
    cage_gain: float = 0.6  # lambda = depth * (cage_bg + cage_gain * sum_genes x_ct * kernel(pos - tss))
    cage_sd_bp: float = 4.0
    cage_half_width: int = 12
    blacklist_level: float = 2.0  # artefact added (x depth) to every track inside blacklist intervals
    peak_fold: float = 20.0  # narrowPeak: expected lambda >= peak_fold * depth * atac_bg
    peak_min_bp: int = 50
    asv_threshold: float = 0.3  # |delta accessibility drive| for a label-1 allele-specific variant

    def to_dict(self) -> dict:
        d = asdict(self)
        d["background"] = list(self.background)
        d["core_promoter"] = [list(x) for x in self.core_promoter]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelParams":
        """The constants written by :meth:`to_dict` (``truth.json``).

        Parameters
        ----------
        d : dict
            Values of some or all fields (missing ones take their defaults); ``background`` and
            ``core_promoter`` as lists.

        Returns
        -------
        ModelParams
        """
        d = dict(d)
        if "background" in d:
            d["background"] = tuple(d["background"])
        if "core_promoter" in d:
            d["core_promoter"] = tuple((int(o), str(s)) for o, s in d["core_promoter"])
        return cls(**d)


# Enhancer reach per scale: the tiny and small worlds are meant for 16,384-bp models (basenji_tiny:
# a TSS in the scored region sees >= 1,024 bp on each side and 8 kb on average), so their drive only
# counts sites within 4 kb of the TSS; the large world is meant for basenji_131k (131 kb input).
REACH_BP = {"tiny": 4_000, "small": 4_000, "large": 20_000}


def params_for_scale(scale: str, **overrides) -> ModelParams:
    """Default model constants of a scale (only ``reach_bp`` differs between scales).

    Parameters
    ----------
    scale : str
        A scale name; one not in ``REACH_BP`` keeps the default ``reach_bp``.
    **overrides
        :class:`ModelParams` fields to replace.

    Returns
    -------
    ModelParams
    """
    return replace(ModelParams(reach_bp=int(REACH_BP.get(scale, ModelParams.reach_bp))), **overrides)


# TF roles, keyed by JASPAR name: (category, accessibility weight, transcription weight).
# Categories: architectural / ubiquitous / repressor / lineage (may be active in compendium cell
# types) / target_only (active only in target cell types: the new grammar of the targets).
TF_ROLES: dict[str, tuple[str, float, float]] = {
    "CTCF": ("architectural", 1.5, 0.0),
    "SP1": ("ubiquitous", 1.0, 1.0),
    "Nrf1": ("ubiquitous", 1.0, 1.0),
    "ZNF143": ("ubiquitous", 1.0, 1.0),
    "REST": ("repressor", 0.6, -1.5),
    "Spi1": ("lineage", 1.0, 1.0),
    "CEBPB": ("lineage", 1.0, 1.0),
    "HNF4A": ("lineage", 1.0, 1.0),
    "HNF1A": ("lineage", 1.0, 1.0),
    "NFKB1": ("lineage", 1.0, 1.0),
    "IRF4": ("lineage", 1.0, 1.0),
    "TP63": ("lineage", 1.0, 1.0),
    "FOSL2::JUN": ("lineage", 1.0, 1.0),
    "TEAD1": ("lineage", 1.0, 1.0),
    "NR2F1": ("lineage", 1.0, 1.0),
    "RFX3": ("target_only", 1.0, 1.0),
    "POU3F2": ("target_only", 1.0, 1.0),
    "MEF2C": ("target_only", 1.0, 1.0),
}
UBIQUITOUS = ("SP1", "Nrf1", "ZNF143")

# Cell-type templates: (name, lineage TFs). Scales take the first n of each list.
COMPENDIUM_TEMPLATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hepatocyte", ("HNF4A", "HNF1A", "CEBPB")),
    ("macrophage", ("Spi1", "CEBPB", "NFKB1", "FOSL2::JUN")),
    ("B_cell", ("Spi1", "IRF4", "NFKB1")),
    ("keratinocyte", ("TP63", "FOSL2::JUN", "TEAD1")),
    ("fibroblast", ("FOSL2::JUN", "TEAD1")),
    ("enterocyte", ("HNF4A", "HNF1A")),
    ("T_cell", ("IRF4", "NFKB1")),
    ("kidney_epithelial", ("HNF1A", "TEAD1", "NR2F1")),
    ("monocyte", ("Spi1", "CEBPB")),
    ("plasma_cell", ("IRF4",)),
    ("mammary_epithelial", ("TP63", "TEAD1", "NR2F1")),
    ("adipocyte", ("CEBPB", "NR2F1")),
    ("endothelial", ("FOSL2::JUN", "NR2F1", "TEAD1")),
    ("lung_epithelial", ("NR2F1", "HNF1A")),
    ("smooth_muscle", ("TEAD1", "FOSL2::JUN", "NR2F1")),
    ("dendritic_cell", ("Spi1", "IRF4", "NFKB1")),
)
# Targets: (name, lineage TFs, REST activity). The neuron turns REST off and uses three TFs that
# no compendium cell type uses.
TARGET_TEMPLATES: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("neuron", ("RFX3", "POU3F2", "MEF2C"), 0.0),
    ("cardiomyocyte", ("MEF2C", "TEAD1", "NR2F1"), 1.0),
    ("astrocyte", ("POU3F2", "NR2F1", "FOSL2::JUN"), 0.4),
    ("myotube", ("MEF2C", "TEAD1"), 1.0),
)
