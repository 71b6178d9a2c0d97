"""models/tfidf.py: the fast tier's TF-IDF featuriser on real default-data texts.

Touches scikit-learn's vectorisers and a temp dir (the bundle's featurizer.json). Checks:
the saved vocabulary rebuilds bit-identical features; rows have unit norm; the vocabulary is
learned from the texts it is fitted on only (min_df); hostile texts (empty, emoji only,
control characters, one huge text) featurise without error; settings are validated.
"""

import numpy as np
import pytest
from pydantic import ValidationError

from models.tfidf import FEATURIZER_FILE, TfidfConfig, TfidfFeaturizer


@pytest.fixture(scope="module")
def texts(vader_df) -> list[str]:
    return vader_df["text"].astype(str).tolist()[:2000]


def test_saved_featurizer_rebuilds_identical_features(texts, tmp_path) -> None:
    fitted = TfidfFeaturizer.fit(TfidfConfig(), texts[:1500])
    fitted.save(tmp_path)
    assert (tmp_path / FEATURIZER_FILE).is_file()
    loaded = TfidfFeaturizer.load(tmp_path)
    assert loaded.n_features == fitted.n_features and loaded.n_features > 1000
    for a, b in zip(fitted(texts[1500:]), loaded(texts[1500:]), strict=True):
        np.testing.assert_array_equal(a, b)
    # one text alone gets the same row as inside a batch (serving vs training)
    alone, batch = fitted(texts[1600:1601]), fitted(texts[1590:1610])
    start, end = batch[1][10], batch[1][11]
    np.testing.assert_array_equal(alone[0], batch[0][start:end])
    np.testing.assert_array_equal(alone[2], batch[2][start:end])


def test_rows_have_unit_norm_and_unseen_words_count_nothing(texts) -> None:
    fitted = TfidfFeaturizer.fit(TfidfConfig(), texts)
    norms = np.sqrt(
        np.asarray(fitted.matrix(texts[:50]).multiply(fitted.matrix(texts[:50])).sum(1))
    )
    np.testing.assert_allclose(norms.ravel(), 1.0, rtol=1e-6)
    words_only = TfidfFeaturizer.fit(TfidfConfig(char_ngram_max=0), texts)
    indices, offsets, weights = words_only(["zzzqqq xxyyzz"])  # no known word: empty bag
    assert len(indices) == 0 and len(weights) == 0 and offsets.tolist() == [0]


def test_min_df_keeps_only_ngrams_seen_twice() -> None:
    texts = ["alpha beta", "alpha gamma", "delta", "alpha beta"] * 1 + ["filler text"] * 20
    vocab = TfidfFeaturizer.fit(TfidfConfig(char_ngram_max=0), texts).vectorizers["word"]
    assert "alpha" in vocab.vocabulary_ and "alpha beta" in vocab.vocabulary_
    assert "gamma" not in vocab.vocabulary_ and "delta" not in vocab.vocabulary_


def test_hostile_texts_featurise(texts) -> None:
    fitted = TfidfFeaturizer.fit(TfidfConfig(), texts)
    hostile = ["", "   ", "😀😀😀", "\x00\u202ehidden\u200b", "=cmd|' /C calc'!A0", "word " * 20000]
    indices, offsets, weights = fitted(hostile)
    assert len(offsets) == len(hostile) and len(indices) == len(weights)
    assert np.isfinite(weights).all()


def test_texts_without_any_ngram_are_refused_and_bad_settings_too() -> None:
    with pytest.raises(ValueError, match="no word or character n-gram"):
        TfidfFeaturizer.fit(TfidfConfig(char_ngram_max=0), ["a", "b", "!"])
    # char n-grams still learn from one-letter texts where words cannot
    assert TfidfFeaturizer.fit(TfidfConfig(), ["a b", "b a", "!!"]).n_features > 0
    with pytest.raises(ValidationError):
        TfidfConfig(char_ngram_min=4, char_ngram_max=3)
    with pytest.raises(ValidationError):
        TfidfConfig(min_df=0)
