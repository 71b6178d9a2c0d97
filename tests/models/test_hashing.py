"""The fast tier's hashed n-gram featuriser (models/hashing.py).

Pure numpy, no model: bucket layout, invariance to batch composition and to case/whitespace,
settings validation, and stability across processes (a fresh interpreter, whose str hash
salt differs, must produce the same buckets). Touches: a subprocess of the venv's Python.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from pydantic import ValidationError

from models.hashing import HASH_SCHEME, HashedNgramFeaturizer, HashingConfig

TEXTS = [
    "A gorgeous, witty, seductive movie.",
    "The plot is paper-thin and the acting wooden!!",
    "",
    "Café crème — très bon :)",
    "not good, not bad",
]


def bags(texts: list[str], config: HashingConfig | None = None) -> list[list[int]]:
    indices, offsets = HashedNgramFeaturizer(config)(texts)
    return [b.tolist() for b in np.split(indices, offsets[1:])] if len(texts) else []


def test_layout_matches_embedding_bag():
    indices, offsets = HashedNgramFeaturizer()(TEXTS)
    assert indices.dtype == np.int64 and offsets.dtype == np.int64
    assert offsets.tolist()[0] == 0 and len(offsets) == len(TEXTS)
    assert np.all(np.diff(offsets) >= 0)
    assert indices.min() >= 0 and indices.max() < HashingConfig().n_buckets


def test_a_texts_bag_does_not_depend_on_its_batch():
    alone = [bags([t])[0] for t in TEXTS]
    assert bags(TEXTS) == alone
    assert bags(list(reversed(TEXTS))) == list(reversed(alone))


def test_more_than_one_chunk_keeps_order():
    many = [f"review number {i} was {'great' if i % 2 else 'awful'}" for i in range(700)]
    assert bags(many) == [bags([t])[0] for t in many]


def test_case_and_whitespace_do_not_matter_but_words_do():
    assert bags(["Great   FILM\n"]) == bags(["great film"])
    assert sorted(bags(["great film"])[0]) != sorted(bags(["great flim"])[0])


def test_feature_families_counted():
    # " ab cd " -> char 3-grams: 5, char 4-grams: 4; words: 2; word bigrams: 1
    config = HashingConfig(char_ngram_min=3, char_ngram_max=4, word_ngrams=2)
    assert len(bags(["ab cd"], config)[0]) == 5 + 4 + 2 + 1
    words_only = HashingConfig(char_ngram_max=0, word_ngrams=1)
    assert len(bags(["ab cd, ef!"], words_only)[0]) == 3


def test_word_order_matters_only_through_ngrams():
    unigrams = HashingConfig(char_ngram_max=0, word_ngrams=1)
    assert sorted(bags(["good not bad"], unigrams)[0]) == sorted(
        bags(["bad not good"], unigrams)[0]
    )
    bigrams = HashingConfig(char_ngram_max=0, word_ngrams=2)
    assert sorted(bags(["good not bad"], bigrams)[0]) != sorted(bags(["bad not good"], bigrams)[0])


def test_config_is_validated():
    with pytest.raises(ValidationError):
        HashingConfig(char_ngram_min=5, char_ngram_max=3)
    with pytest.raises(ValidationError):
        HashingConfig(scheme="python-hash")
    assert HashingConfig().scheme == HASH_SCHEME


def test_buckets_identical_in_a_fresh_process():
    code = (
        "import json, sys, numpy as np\n"
        "from models.hashing import HashedNgramFeaturizer\n"
        "texts = json.loads(sys.stdin.read())\n"
        "i, o = HashedNgramFeaturizer()(texts)\n"
        "print(json.dumps([i.tolist(), o.tolist()]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(TEXTS),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "random"},
    )
    indices, offsets = json.loads(out.stdout)
    here_i, here_o = HashedNgramFeaturizer()(TEXTS)
    assert indices == here_i.tolist() and offsets == here_o.tolist()
