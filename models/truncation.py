"""How much of each text the accurate tier reads: MiniLM sees at most `max_tokens` tokens.

The tokenizer truncates silently (`truncation=True, max_length=max_tokens` in
models.components.encoder), so a long document is classified on its opening only. This module
measures it, so training (MLflow metric + tag) and evaluation (Dagster metadata) can say so
in plain words instead of leaving it to be discovered.

A text counts as truncated when its token count, *including* the [CLS] and [SEP] tokens the
encoder adds, exceeds the window: exactly when `max_length` cuts something off.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

TRUNCATED_SHARE = "train/truncated_share"  # bundle metric / training metric name


def percent(share: float) -> str:
    """37%, or 0.02% when rounding to a whole percent would say 0% of something."""
    return f"{share:.0%}" if share == 0 or share >= 0.01 else f"{share:.2%}"


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from transformers import AutoTokenizer

    from models.components.encoder import encoder_path

    return AutoTokenizer.from_pretrained(str(encoder_path()), local_files_only=True)


def token_lengths(texts: Sequence[str], tokenizer: Any = None) -> np.ndarray:
    """Tokens per text as the encoder would see it untruncated (special tokens included)."""
    tok = tokenizer if tokenizer is not None else _tokenizer()
    if not len(texts):
        return np.zeros(0, dtype=np.int64)
    encoded = tok(
        list(texts),
        add_special_tokens=True,
        truncation=False,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,  # else: "sequence length is longer than the maximum" per long text
    )
    return np.array([len(ids) for ids in encoded["input_ids"]], dtype=np.int64)


@dataclass(frozen=True)
class TruncationStats:
    """Texts longer than the encoder window, out of `n`."""

    n: int
    truncated: int
    max_tokens: int
    median_tokens: float
    p90_tokens: float

    @property
    def share(self) -> float:
        return self.truncated / self.n if self.n else 0.0

    def notice(self, what: str = "texts", lexical: bool = False) -> str:
        """One plain sentence for a person (Dagster metadata, logs). `lexical`: the tier has
        a lexical bag beside the encoder (models.components.wide), which reads every word."""
        if not self.truncated:
            return f"All {self.n} {what} fit the accurate tier's {self.max_tokens}-token window."
        rest = (
            "its lexical n-gram bag reads the whole text" if lexical else "nothing reads the rest"
        )
        return (
            f"{percent(self.share)} of {what} ({self.truncated} of {self.n}) exceed the accurate "
            f"tier's {self.max_tokens}-token window; its encoder reads only their first "
            f"{self.max_tokens} tokens and {rest} (median length {self.median_tokens:.0f} tokens)."
        )

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "share": round(self.share, 4)}


def truncation_stats(
    texts: Sequence[str], max_tokens: int, tokenizer: Any = None
) -> TruncationStats:
    """Share of `texts` the accurate tier truncates at `max_tokens` (the bundled tokenizer
    unless one is given)."""
    lengths = token_lengths(texts, tokenizer)
    if not len(lengths):
        return TruncationStats(0, 0, max_tokens, 0.0, 0.0)
    return TruncationStats(
        n=len(lengths),
        truncated=int((lengths > max_tokens).sum()),
        max_tokens=max_tokens,
        median_tokens=float(np.median(lengths)),
        p90_tokens=float(np.percentile(lengths, 90)),
    )
