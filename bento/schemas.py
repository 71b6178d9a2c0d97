"""The HTTP contract of the service: typed requests and responses with limits.

Every field is bounded (text length, texts per request, key length) so no request can make a
worker allocate without limit, and every violation is a 4xx with the field and the reason
(BentoML turns a pydantic ValidationError into 400; bento/front_door.py gives it the one
error shape). Types are strict: `"true"` or `1` is not a boolean, `"1"` not an index.
Texts are refused when a model could not read them honestly: with no visible character
(empty, whitespace, only zero-width or format characters), holding NUL / C0 control
characters (tab, newline and carriage return are ordinary text) or an unpaired surrogate.
"""

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from data.length import LengthPolicy, TextTooLong

# A hard cap per text, for safety only (the body limit bounds it too): the dataset's own
# length policy (data/length.py) is applied below it, by the service, before scoring.
MAX_TEXT_CHARS = 1_000_000
MAX_TEXTS = 64
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Key = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def visible(text: str) -> bool:
    """At least one letter, number, punctuation mark or symbol after NFKC normalisation
    (zero-width spaces, joiners, BOMs and combining marks alone are not text)."""
    return any(unicodedata.category(c)[0] in "LNPS" for c in unicodedata.normalize("NFKC", text))


def check_text(text: str) -> str:
    """The text if it can be classified; ValueError saying why not."""
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text has {len(text)} characters, the limit is {MAX_TEXT_CHARS}")
    bad = _CONTROL.search(text)
    if bad:
        raise ValueError(f"text holds control character U+{ord(bad.group()):04X}")
    surrogate = next((c for c in text if 0xD800 <= ord(c) <= 0xDFFF), None)
    if surrogate is not None:
        raise ValueError(f"text holds an unpaired surrogate U+{ord(surrogate):04X}")
    if not visible(text):
        raise ValueError("text has no visible character (empty, whitespace or zero-width only)")
    return text


def fit_texts(texts: list[str], length: LengthPolicy) -> tuple[list[str], int]:
    """The texts under the dataset's length policy and how many were cut; ValueError naming
    the text when one is over the limit under `quarantine`. Not-a-list input is left to the
    request schema's own error."""
    if not isinstance(texts, list):
        return texts, 0
    fitted, cut = [], 0
    for i, text in enumerate(texts):
        if not isinstance(text, str) or len(text) > MAX_TEXT_CHARS:
            fitted.append(text)  # the schema refuses it with its own reason
            continue
        try:
            kept, was_cut = length.fit(text)
        except TextTooLong as exc:
            raise ValueError(f"texts[{i}]: {exc}") from None
        fitted.append(kept)
        cut += was_cut
    return fitted, cut


class ClassifyRequest(BaseModel):
    """`texts`: 1-64 texts. `key`: routes the request stickily (e.g. a user id); without it the
    request id is used, so the same caller may land on either arm."""

    model_config = ConfigDict(extra="forbid", strict=True)

    texts: list[str] = Field(min_length=1, max_length=MAX_TEXTS)
    key: Key | None = None
    return_probabilities: bool = False

    @field_validator("texts")
    @classmethod
    def _texts(cls, texts: list[str]) -> list[str]:
        for i, text in enumerate(texts):
            try:
                check_text(text)
            except ValueError as exc:
                raise ValueError(f"texts[{i}]: {exc}") from None
        return texts


class Prediction(BaseModel):
    label: str
    confidence: float
    probabilities: dict[str, float] | None = None
    tier: str
    escalated: bool
    cached: bool


class ClassifyResponse(BaseModel):
    request_id: str
    model_name: str
    model_version: str
    arm: Literal["champion", "challenger"]
    predictions: list[Prediction]


class FeedbackRequest(BaseModel):
    """`label` for prediction `index` of request `request_id` (one label per prediction)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    index: int = Field(0, ge=0, lt=MAX_TEXTS, description="Which text of the request.")
    label: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RoutingUpdate(BaseModel):
    """Admin: how traffic is split. `canary`: `challenger_weight` of keys go to the challenger;
    `shadow`: the challenger scores every request, the champion answers; `off`: champion only."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["off", "canary", "shadow"]
    challenger_weight: float = Field(0.0, ge=0.0, le=1.0)


class LoadRequest(BaseModel):
    """Admin: load a registered version into a role (it is imported and warmed first)."""

    model_config = ConfigDict(extra="forbid")

    version: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}$")]
    role: Literal["champion", "challenger"]
