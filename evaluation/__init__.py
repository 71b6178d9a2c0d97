"""Evaluation, drift, statistics and promotion policy. Pure: no dagster, no bentoml."""
