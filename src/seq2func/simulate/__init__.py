"""The simulated ground-truth world.

Entry points:

* :func:`simulate_world` ``(outdir, scale="tiny", seed=1, config=None) -> dict of paths`` writes
  the world (file contract in docs/developers.md);
* :func:`load_world` ``(outdir) -> World``: ``world.coverage(chrom, track_id)`` regenerates the
  expected / observed coverage written to a bigWig, ``world.chromosome(chrom)`` the sequence,
  sites and reference gene expression of one chromosome;
* :func:`expression_model` ``(truth dict or outdir) -> ExpressionModel``:
  ``.predict(seq, tss_index, cell_type)`` evaluates the truth expression model on any
  (haplotype) sequence.

Modules: ``config`` (scales, constants, TF roles, cell types, seeding), ``scanning`` (PWM
scores and occupancy), ``genome`` (layout and sequence), ``tracks`` (coverage, peaks, noise
ceilings), ``cohort`` (variants, haplotypes, VCF, allele-specific labels), ``expression`` (the
truth expression model), ``world`` (orchestration and regeneration).
"""

from seq2func.simulate.config import SCALES, ModelParams, WorldConfig, config_for_scale
from seq2func.simulate.expression import ExpressionModel
from seq2func.simulate.world import World, expression_model, load_world, simulate_world

__all__ = [
    "SCALES",
    "ExpressionModel",
    "ModelParams",
    "World",
    "WorldConfig",
    "config_for_scale",
    "expression_model",
    "load_world",
    "simulate_world",
]
