"""Per-text descriptors for drift analysis: cheap numbers that move when the traffic changes.

Each descriptor is one float per text. They are compared between reference and current with a
two-sample test (see evaluation/drift/check.py), so they only need to be computed the same way on
both sides.

Out-of-vocabulary share needs care: the vocabulary is built from the reference texts, so a
reference text measured against a vocabulary that contains its own words would always look
in-vocabulary and the descriptor would drift on *any* new data. We therefore score reference
texts leave-one-out: a token counts as known only if some *other* reference text contains it.
"""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Unicode letters only (no digits, no underscore): words for the vocabulary.
_WORD = re.compile(r"[^\W\d_]+")

DESCRIPTOR_NAMES: tuple[str, ...] = (
    "length_chars",
    "mean_word_length",
    "oov_share",
    "non_alpha_share",
    "uppercase_share",
    "digit_share",
)


def tokenize(text: str) -> list[str]:
    """Lower-cased alphabetic word tokens."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Vocabulary:
    """Document frequencies of word tokens over a corpus (the reference texts).

    Attributes:
        doc_freq: token -> number of corpus texts that contain it.
        n_docs: number of corpus texts.
    """

    doc_freq: dict[str, int]
    n_docs: int

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> "Vocabulary":
        counts: Counter[str] = Counter()
        n_docs = 0
        for text in texts:
            counts.update(set(tokenize(text)))
            n_docs += 1
        return cls(doc_freq=dict(counts), n_docs=n_docs)

    def oov_share(self, tokens: Sequence[str], *, in_corpus: bool) -> float:
        """Share of `tokens` not in the vocabulary (0.0 for a text without words).

        Args:
            tokens: the text's tokens (with repeats).
            in_corpus: the text is one of the corpus texts; its own contribution to the
                document frequencies is left out (leave-one-out), see the module docstring.
        """
        if not tokens:
            return 0.0
        # A token of an in-corpus text has df >= 1 from the text itself.
        needed = 2 if in_corpus else 1
        unknown = sum(1 for tok in tokens if self.doc_freq.get(tok, 0) < needed)
        return unknown / len(tokens)


def text_descriptors(
    texts: Sequence[str], vocabulary: Vocabulary, *, in_corpus: bool
) -> pd.DataFrame:
    """One row per text, one float column per name in `DESCRIPTOR_NAMES`.

    Args:
        texts: the texts to describe.
        vocabulary: the reference vocabulary.
        in_corpus: True when `texts` are (a subset of) the texts `vocabulary` was built
            from: their out-of-vocabulary share is then computed leave-one-out.
    """
    rows = np.zeros((len(texts), len(DESCRIPTOR_NAMES)), dtype=np.float64)
    for i, text in enumerate(texts):
        tokens = tokenize(text)
        n_chars = len(text)
        letters = sum(ch.isalpha() for ch in text)
        non_space = n_chars - sum(ch.isspace() for ch in text)
        rows[i, 0] = n_chars
        rows[i, 1] = sum(map(len, tokens)) / len(tokens) if tokens else 0.0
        rows[i, 2] = vocabulary.oov_share(tokens, in_corpus=in_corpus)
        # Shares of non-space characters: punctuation/emoji/symbol-heavy text (tweets) moves
        # these while plain prose does not.
        rows[i, 3] = (non_space - letters) / non_space if non_space else 0.0
        rows[i, 4] = sum(ch.isupper() for ch in text) / letters if letters else 0.0
        rows[i, 5] = sum(ch.isdigit() for ch in text) / non_space if non_space else 0.0
    return pd.DataFrame(rows, columns=list(DESCRIPTOR_NAMES))
