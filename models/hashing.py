"""Hashed word + char n-gram featuriser of the accurate tier's lexical bag (fastText-style bags of
buckets; the fast tier used it until it moved to TF-IDF, models.tfidf).

Why numpy and not `hash()` / a per-token loop: Python's `hash(str)` is salted per process, so
a bundle trained in one process would predict differently in the next; and per-token Python
hashing dominates the fast tier's cost. Here a whole batch of texts becomes one uint64
code-point array and every n-gram hash is a few vectorised array operations:

* character n-grams: a rolling polynomial hash (mod 2^64, wrapping uint64 arithmetic);
* words: polynomial prefix hashes, so a word's hash is (Q[end] - Q[start]) * P^-start
  (P is odd, hence invertible mod 2^64), independent of where the word stands;
* word n-grams: consecutive word hashes combined;
* every feature family gets its own salt and goes through the splitmix64 finaliser before
  the modulo, so buckets are well spread.

All of it is fixed integer arithmetic: identical buckets in every process and on every
platform. `HASH_SCHEME` names the recipe; bundles record it and refuse a different one.
"""

import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

HASH_SCHEME = "poly64-splitmix64-v1"
_CHUNK = 256  # texts per vectorised pass: large passes are slower (a big argsort dominates)
_SEPARATOR = 0  # code point between texts; stripped from the texts themselves
_WHITESPACE = re.compile(r"[\s\x00]+")

_U = np.uint64
_P = 0x100000001B3  # the FNV-64 prime: odd, so it has an inverse mod 2^64
_P_INV = pow(_P, -1, 2**64)
_MIX1 = _U(0xBF58476D1CE4E5B9)
_MIX2 = _U(0x94D049BB133111EB)
_WORD_SALT = 0x9E3779B97F4A7C15
# Word characters: ASCII letters, digits and the apostrophe (don't, isn't); every non-ASCII
# code point except whitespace (already collapsed to " ") also counts, so accented words stay
# whole. Punctuation is left to the char n-grams, which see "!!" and ":)".
_ASCII_WORD = np.zeros(128, dtype=bool)
for _c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'":
    _ASCII_WORD[ord(_c)] = True


class HashingConfig(BaseModel):
    """Featuriser settings; stored in every fast-tier bundle."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_buckets: int = Field(2**18, ge=2**8, le=2**26, description="Hash buckets (embedding rows).")
    char_ngram_min: int = Field(3, ge=1, le=8, description="Shortest char n-gram.")
    char_ngram_max: int = Field(4, ge=0, le=8, description="Longest char n-gram; 0 = none.")
    word_ngrams: int = Field(2, ge=1, le=3, description="Words plus word n-grams up to this n.")
    lowercase: bool = Field(True, description="Case-fold before hashing.")
    scheme: str = Field(HASH_SCHEME, description="Hash recipe; must match this code.")

    @model_validator(mode="after")
    def _check(self) -> "HashingConfig":
        if self.char_ngram_max and self.char_ngram_max < self.char_ngram_min:
            raise ValueError("char_ngram_max must be 0 or >= char_ngram_min")
        if self.scheme != HASH_SCHEME:
            raise ValueError(f"hash scheme {self.scheme!r} is not this code's {HASH_SCHEME!r}")
        return self


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (uint64 arrays wrap silently, which is the arithmetic we want)."""
    x = x ^ (x >> _U(30))
    x = x * _MIX1
    x = x ^ (x >> _U(27))
    x = x * _MIX2
    return x ^ (x >> _U(31))


class HashedNgramFeaturizer:
    """Texts -> (bucket indices, offsets) in the layout `nn.EmbeddingBag` takes."""

    def __init__(self, config: HashingConfig | None = None) -> None:
        self.config = config or HashingConfig()
        self._powers = np.ones(1, dtype=np.uint64)
        self._inv_powers = np.ones(1, dtype=np.uint64)

    def _power_tables(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        # Grown on demand and kept: recomputing P^i per call costs more than the hashing.
        if len(self._powers) < length:
            size = max(length, 2 * len(self._powers), 4096)
            powers = np.empty(size, dtype=np.uint64)
            inv = np.empty(size, dtype=np.uint64)
            powers[0] = inv[0] = 1
            powers[1:] = np.cumprod(np.full(size - 1, _P, dtype=np.uint64), dtype=np.uint64)
            inv[1:] = np.cumprod(np.full(size - 1, _P_INV, dtype=np.uint64), dtype=np.uint64)
            self._powers, self._inv_powers = powers, inv
        return self._powers[:length], self._inv_powers[:length]

    def normalise(self, text: str) -> str:
        text = text.lower() if self.config.lowercase else text
        return _WHITESPACE.sub(" ", text).strip()

    def __call__(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Hash texts into one flat int64 index array and per-text int64 offsets."""
        indices, counts = [], []
        for start in range(0, len(texts), _CHUNK):
            idx, cnt = self._chunk(texts[start : start + _CHUNK])
            indices.append(idx)
            counts.append(cnt)
        if not indices:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        all_counts = np.concatenate(counts)
        offsets = np.zeros(len(all_counts), dtype=np.int64)
        np.cumsum(all_counts[:-1], out=offsets[1:])
        return np.concatenate(indices), offsets

    def _chunk(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        # " a b \0 c d " : every text padded with spaces (word boundaries for char n-grams),
        # texts separated by NUL; n-grams that would span a NUL are dropped below.
        joined = " " + " \x00 ".join(self.normalise(t) for t in texts) + " "
        cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        length = len(cps)
        is_sep = cps == _SEPARATOR
        seps_before = np.zeros(length + 1, dtype=np.int64)
        np.cumsum(is_sep, out=seps_before[1:])
        doc_of = seps_before[1:]  # index of the text each position belongs to
        feats: list[np.ndarray] = []
        docs: list[np.ndarray] = []

        rolling = cps
        for n in range(2, min(cfg.char_ngram_max, length) + 1):
            rolling = rolling[:-1] * _U(_P) + cps[n - 1 :]
            if n < cfg.char_ngram_min:
                continue
            starts = np.flatnonzero(seps_before[n:] - seps_before[: length - n + 1] == 0)
            feats.append(_mix(rolling[starts] + _U(n)))
            docs.append(doc_of[starts])
        if cfg.char_ngram_min == 1 and cfg.char_ngram_max >= 1:
            starts = np.flatnonzero(~is_sep)
            feats.append(_mix(cps[starts] + _U(1)))
            docs.append(doc_of[starts])

        ascii_word = _ASCII_WORD[np.minimum(cps, _U(127)).astype(np.intp)]
        word = np.where(cps < 128, ascii_word, True) & ~is_sep & (cps != ord(" "))
        edges = np.diff(np.concatenate(([0], word.astype(np.int8), [0])))
        w_start, w_end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        powers, inv_powers = self._power_tables(length)
        prefix = np.zeros(length + 1, dtype=np.uint64)
        np.cumsum(cps * powers, dtype=np.uint64, out=prefix[1:])
        words = (prefix[w_end] - prefix[w_start]) * inv_powers[w_start]
        w_doc = doc_of[w_start]
        gram = words
        for n in range(1, cfg.word_ngrams + 1):
            if n > 1:
                # n consecutive words of one text; gram[i] covers words i .. i+n-1
                gram = gram[:-1] * _U(_P) + words[n - 1 :]
                keep = np.flatnonzero(w_doc[n - 1 :] == w_doc[: len(w_doc) - n + 1])
            else:
                keep = np.arange(len(words))
            feats.append(_mix(gram[keep] ^ _U(_WORD_SALT + n)))
            docs.append(w_doc[keep])

        flat = np.concatenate(feats)
        flat_doc = np.concatenate(docs)
        # A stable sort keeps each text's features in the same order whatever else is in the
        # batch, so a text's bag (and its float sum) is identical in training and serving.
        order = np.argsort(flat_doc, kind="stable")
        buckets = (flat[order] % _U(cfg.n_buckets)).astype(np.int64)
        return buckets, np.bincount(flat_doc, minlength=len(texts)).astype(np.int64)
