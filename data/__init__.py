"""Data sources, schema, validation, the DVC registry and the golden set (pure Python)."""
