"""INTERPRET: what trained models learned (filters, attributions, motifs, in-silico mutagenesis).

- :mod:`seq2func.interpret.ism` -- exact, fast in-silico saturation mutagenesis: :func:`ism`
  gives ``(n_sequences, n_positions, 4, n_tracks)``, the output change of every single-base
  substitution (summed over output bins, at one bin, or a classifier's / scalar model's output),
  recomputing only the activations a mutation can reach; ``naive=True`` runs the whole model per
  mutation (the oracle, and the fallback for models with layers the fast path does not know);
  :func:`ism_speed` times the two;
- :mod:`seq2func.interpret.attribution` -- per-base attributions (DeepLIFT/DeepSHAP, gradient x
  input, saliency);
- :mod:`seq2func.interpret.filters` -- first-layer filters as PWMs from their top-activating
  sequences;
- :mod:`seq2func.interpret.motifs` -- JASPAR matrices, Tomtom matching, TF-MoDISco patterns, MEME
  files, logos;
- :mod:`seq2func.interpret.regions` -- the regions INTERPRET explains;
- :mod:`seq2func.interpret.run` -- INTERPRET as the pipeline runs it.

Only the ISM entry points are re-exported here; import the others from their modules. Note that
``seq2func.interpret.ism`` as an attribute of this package is the *function*; the module is
``sys.modules["seq2func.interpret.ism"]`` (``from seq2func.interpret.ism import ...`` works as usual).
"""

from __future__ import annotations

from seq2func.interpret.ism import REDUCTIONS, fast_path_reason, ism, ism_speed

__all__ = ["REDUCTIONS", "fast_path_reason", "ism", "ism_speed"]
