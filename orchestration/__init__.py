"""Dagster wiring: the one Definitions, resources, jobs, sensors, schedules, settings."""
