"""Sensors: files landing, retrain triggers, and the pure guard (cooldown, reasons) they share."""
