"""Baselines PERSONAL compares the sequence models with: PrediXcan-style elastic nets trained on
the cohort and published PredictDB weights."""
