"""The dataset contract: which columns hold text, label and domain, and row identity.

Column names are configuration (bring your own data); inside Driftwise every accepted row has
the canonical columns below, plus whatever metadata columns the source file carried.
"""

import hashlib
import re
import unicodedata

from pydantic import BaseModel, Field, field_validator, model_validator

from data.labels import label_key
from data.length import DEFAULT_MAX_CHARS, LengthPolicy, LongText

# Canonical columns of an accepted row.
ROW_ID = "row_id"
TEXT = "text"
LABEL = "label"
DOMAIN = "domain"
SPLIT = "split"
BATCH = "batch"

# The shipped default dataset (VADER sentences) and its declared classes.
DEFAULT_DATASET = "sentiment"
DEFAULT_LABELS = ("negative", "positive")

_WHITESPACE = re.compile(r"\s+")
# Zero-width and bidi-control characters (the "Trojan Source" set, plus ZWSP/WJ/BOM): no glyph
# of their own, so "a\u200bb" reads as "ab" and must be the same row; NFKC keeps them all.
INVISIBLE_CHARS = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


class DatasetSpec(BaseModel):
    """How to read a user's dataset. Every field has a default that fits the default data."""

    name: str = Field(
        "sentiment",
        pattern=r"^[a-z0-9][a-z0-9-]{0,40}$",
        description="Dataset name: the model registers as `driftwise-<name>` and the golden "
        "set is per name ('sentiment', the default data, uses the curated VADER golden set).",
    )
    description: str | None = Field(
        None,
        max_length=2_000,
        description="What the texts and labels are, in a sentence or two: shown to the "
        "optional LLM judge (evaluation/golden_eval/judge.py) beside the label set.",
    )
    text_column: str = Field("text", description="Column holding the text to classify.")
    label_column: str | None = Field(
        "label", description="Column holding the label; absent in a file = unlabelled batch."
    )
    domain_column: str | None = Field(
        "domain", description="Optional column naming the source/domain (used for slices)."
    )
    labels: list[str] | None = Field(
        None,
        description="Allowed labels (any number). Unset, or `[]` (how TOML and env say "
        "'infer'): the first training snapshot's labels are frozen as the contract "
        "(data/labels.py; `driftwise labels add` admits more). The default dataset "
        "declares negative/positive.",
    )
    golden_path: str | None = Field(
        None,
        description="Your golden set (any readable format, same columns as the data) with "
        "`<file>.manifest.json` holding its version and sha256; unset = carved from the "
        "first labelled data (or the built-in set for the default dataset).",
    )
    golden_reviewed_share: float = Field(
        0.25,
        ge=0,
        lt=1,
        description="Share of a new golden version (`driftwise new-golden`) drawn from "
        "human-reviewed production traffic (the label loop's batches) that no snapshot "
        "trained on, so the golden set follows traffic; 0 = never.",
    )
    min_text_chars: int = Field(1, ge=1, description="Shorter texts (after strip) are rejected.")
    max_text_chars: int = Field(
        DEFAULT_MAX_CHARS,
        ge=1,
        description="The dataset's length limit, the same at landing, in `driftwise predict` "
        "and in the service (data/length.py); what happens beyond it is `long_text`.",
    )
    long_text: LongText = Field(
        "truncate",
        description="Beyond max_text_chars: 'truncate' keeps the first max_text_chars "
        "characters and counts the row (nothing is lost); 'quarantine' refuses it.",
    )
    max_file_bytes: int = Field(512 * 2**20, ge=1, description="Larger files are refused whole.")
    max_cost_units_per_1k: float | None = Field(
        None,
        ge=0,
        description="Cost budget: the gate blocks a candidate whose measured cost per 1,000 "
        "predictions (CPU seconds x price_per_core_hour, evaluation/promotion/cost.py) is "
        "higher. Unset: cost is measured and recorded, never blocking.",
    )
    drift_effect_floors: dict[str, float] = Field(
        default_factory=dict,
        description="Per-signal overrides of the drift effect floors (text / embedding: "
        "domain-classifier AUC, default 0.60; descriptors / prediction: KS or TVD, default "
        "0.10): a batch drifts only when a signal is significant and at least this large.",
    )
    price_per_core_hour: float = Field(
        0.05, gt=0, description="Price of one CPU core-hour in cost units (gate and service)."
    )

    @property
    def length(self) -> LengthPolicy:
        return LengthPolicy(self.max_text_chars, self.long_text)

    @field_validator("labels")
    @classmethod
    def _infer_when_empty(cls, value: list[str] | None) -> list[str] | None:
        return value or None

    @model_validator(mode="after")
    def _check(self) -> "DatasetSpec":
        if self.name == DEFAULT_DATASET and "labels" not in self.model_fields_set:
            self.labels = list(DEFAULT_LABELS)  # the shipped data's contract, declared
        if self.max_text_chars < self.min_text_chars:
            raise ValueError("max_text_chars must be >= min_text_chars")
        if self.labels is not None:
            if len(self.labels) < 2:
                raise ValueError("a classifier needs at least two labels")
            if len({label_key(x) for x in self.labels}) != len(self.labels):
                raise ValueError(
                    f"duplicate labels in {self.labels} (case and spacing do not make a class)"
                )
        unknown = set(self.drift_effect_floors) - {"text", "embedding", "descriptors", "prediction"}
        if unknown:
            raise ValueError(
                f"drift_effect_floors: unknown signals {sorted(unknown)} (text, embedding, "
                "descriptors, prediction)"
            )
        if self.label_column is not None and self.label_column == self.text_column:
            raise ValueError("label_column and text_column must differ")
        return self


def normalise_text(text: str) -> str:
    """The form used for identity: invisible controls removed, NFKC, case-folded, whitespace
    collapsed.

    Why: "Great film!" and "great  film!" (or "great\u200b film!") are the same example;
    counting them twice inflates training data and leaks across the golden set.
    """
    visible = INVISIBLE_CHARS.sub("", text)
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", visible).casefold()).strip()


def row_id(text: str) -> str:
    """Content identity of a row: hash of its normalised text (16 hex chars)."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()[:16]
