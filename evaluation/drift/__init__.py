"""Drift detection (Evidently): descriptors, per-signal tests, the verdict and its report."""
