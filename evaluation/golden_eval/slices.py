"""Slices of an evaluation table: domain, true class, text-length bucket, metadata columns.

A slice is a named boolean mask over the rows. Names are stable strings
(`all`, `domain=tweets`, `class=negative`, `length=65-128`, `meta:source=web`) so results,
margins in the promotion policy and the decision record can refer to them.
"""

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, field_validator

from data.schema import DOMAIN, LABEL, TEXT

ALL = "all"


class SliceConfig(BaseModel):
    """Which slices to evaluate."""

    by_domain: bool = Field(default=True, description="One slice per value of the domain column.")
    by_class: bool = Field(default=True, description="One slice per true label.")
    length_edges: list[int] = Field(
        default_factory=lambda: [64, 128],
        description="Character-length bucket edges; [64, 128] gives ≤64, 65-128, >128.",
    )
    metadata_columns: list[str] = Field(
        default_factory=list, description="Extra columns to slice by (one slice per value)."
    )
    max_levels: int = Field(
        default=50, ge=1, description="A column with more distinct values than this is refused."
    )

    @field_validator("length_edges")
    @classmethod
    def _sorted(cls, edges: list[int]) -> list[int]:
        if edges != sorted(set(edges)) or any(e < 1 for e in edges):
            raise ValueError("length_edges must be strictly increasing positive integers")
        return edges


@dataclass(frozen=True)
class Slice:
    """A named subset of rows."""

    name: str
    column: str | None
    value: str | None
    mask: np.ndarray

    @property
    def size(self) -> int:
        return int(self.mask.sum())


def _length_labels(edges: list[int]) -> list[str]:
    labels = [f"<={edges[0]}"]
    labels += [f"{lo + 1}-{hi}" for lo, hi in itertools.pairwise(edges)]
    labels.append(f">{edges[-1]}")
    return labels


def length_bucket(texts: pd.Series, edges: list[int]) -> pd.Series:
    """Character-length bucket label of each text."""
    lengths = texts.astype(str).str.len().to_numpy()
    # side="left": a text of exactly `edge` characters belongs to the bucket ending at edge.
    pos = np.searchsorted(np.asarray(edges), lengths, side="left")
    labels = np.asarray(_length_labels(edges))
    return pd.Series(labels[pos], index=texts.index)


def _value_slices(df: pd.DataFrame, column: str, prefix: str, max_levels: int) -> list[Slice]:
    values = df[column]
    levels = sorted(values.dropna().astype(str).unique())
    if len(levels) > max_levels:
        raise ValueError(
            f"column {column!r} has {len(levels)} distinct values (> max_levels={max_levels});"
            " bucket it before slicing"
        )
    as_str = values.astype("string")
    out = [
        Slice(f"{prefix}={level}", column, level, (as_str == level).fillna(False).to_numpy())
        for level in levels
    ]
    if values.isna().any():
        out.append(Slice(f"{prefix}=<missing>", column, None, values.isna().to_numpy()))
    return out


def build_slices(df: pd.DataFrame, config: SliceConfig) -> list[Slice]:
    """All slices of `df` requested by `config`, `all` first.

    Args:
        df: Rows with at least the text column; the label, domain and metadata columns are
            needed when the matching slice family is on.
        config: Slice families to build.

    Returns:
        Slices in a stable order: all, domain, class, length, metadata.
    """
    slices = [Slice(ALL, None, None, np.ones(len(df), dtype=bool))]
    if config.by_domain and DOMAIN in df.columns:
        slices += _value_slices(df, DOMAIN, "domain", config.max_levels)
    if config.by_class and LABEL in df.columns:
        slices += _value_slices(df, LABEL, "class", config.max_levels)
    if config.length_edges:
        buckets = length_bucket(df[TEXT], config.length_edges)
        for label in _length_labels(config.length_edges):
            slices.append(Slice(f"length={label}", TEXT, label, (buckets == label).to_numpy()))
    for column in config.metadata_columns:
        if column not in df.columns:
            raise KeyError(f"metadata slice column {column!r} not in the evaluation table")
        slices += _value_slices(df, column, f"meta:{column}", config.max_levels)
    return slices
