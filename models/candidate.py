"""A trained challenger as the later stages see it: its bundles and its MLflow identity."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CandidateRef:
    """A trained challenger: where its bundles are and what MLflow knows it as."""

    model_name: str
    model_version: str
    run_id: str
    snapshot_tag: str
    snapshot_sha256: str
    bundles: dict[str, str]  # tier -> bundle directory
    val_macro_f1: dict[str, float]
