"""seq2func: sequence-to-function models on your own epigenomic data."""

__version__ = "0.1.0"
