"""Golden-set evaluation: per-slice reports with intervals, per-case metrics, the LLM judge."""
