"""Statistics shared by every evaluation: bootstrap intervals, metrics, predictions, plots."""
