"""INTERPRET: what trained models learned (filters, attributions, motifs, in-silico mutagenesis).

- :mod:`seq2func.interpret.ism` -- exact, fast in-silico saturation mutagenesis: :func:`ism`
  gives ``(n_sequences, n_positions, 4, n_tracks)``, the output change of every single-base
  substitution (reduced over output bins, at one bin, or a classifier's / scalar model's output),
  recomputing only the activations a mutation can reach (the naive full forward per mutation is
  ``naive=True``, and the fallback for models with layers it does not know); :func:`ism_speed`
  times the two;
- :mod:`seq2func.interpret.attribution` -- per-base attributions (DeepLIFT/DeepSHAP, gradient x
  input, saliency);
- :mod:`seq2func.interpret.motifs` -- motifs from the attributions;
- :mod:`seq2func.interpret.filters` -- first-layer filters as motifs.

The submodules are imported on their own (``from seq2func.interpret.attribution import ...``);
only the ISM entry points are re-exported here.
"""

from __future__ import annotations

from seq2func.interpret.ism import REDUCTIONS, fast_path_reason, ism, ism_speed

__all__ = ["REDUCTIONS", "fast_path_reason", "ism", "ism_speed"]
