"""Dagster assets and asset checks, one module per stage. Thin: logic lives elsewhere."""
