"""One length policy per dataset, applied the same way at landing, in `driftwise predict` and
in the service (training reads what landing kept).

`max_chars` bounds a text (after stripping outer whitespace); `long_text` says what happens
beyond it: `truncate` (the default) keeps the first `max_chars` characters and counts the row,
so a user's long documents are never lost; `quarantine` refuses the row (landing quarantines
it as `text_too_long`, `predict` writes it to the reject file, the service answers 400).
Cutting loses nothing a model reads: the accurate tier's encoder sees its first tokens and the
fast tier's bag saturates long before 20,000 characters.
"""

from dataclasses import dataclass
from typing import Literal

LongText = Literal["truncate", "quarantine"]
DEFAULT_MAX_CHARS = 20_000


class TextTooLong(ValueError):
    """A text over the limit under the `quarantine` policy."""


@dataclass(frozen=True)
class LengthPolicy:
    max_chars: int = DEFAULT_MAX_CHARS
    long_text: LongText = "truncate"

    def __post_init__(self) -> None:
        if self.max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {self.max_chars}")
        if self.long_text not in ("truncate", "quarantine"):
            raise ValueError(
                f"long_text must be 'truncate' or 'quarantine', got {self.long_text!r}"
            )

    def fit(self, text: str) -> tuple[str, bool]:
        """(the text to keep, whether it was cut). Raises TextTooLong under `quarantine`."""
        if len(text) <= self.max_chars:
            return text, False
        if self.long_text == "quarantine":
            raise TextTooLong(f"text_too_long: {len(text)} chars > {self.max_chars}")
        # rstrip: a cut that ends in whitespace would be a different row id from the same
        # text landed with that whitespace already gone
        return text[: self.max_chars].rstrip(), True

    def describe(self) -> str:
        verb = "cut to" if self.long_text == "truncate" else "refused over"
        return f"texts {verb} {self.max_chars:,} characters ({self.long_text})"
