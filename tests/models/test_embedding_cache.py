"""The per-row embedding cache (models/embedding_cache.py).

Real MiniLM embeddings from the session cache (tests/models/conftest.py) and a real temp
directory. The incremental test uses a plain deterministic `embed` function (the cache is
generic over it) wrapped to count which texts it is asked for.
"""

from pathlib import Path

import numpy as np
import pytest

from models.embedding_cache import EmbeddingCache, minilm_cache_key


def char_embed(texts: list[str]) -> np.ndarray:
    """A deterministic stand-in vectoriser: letter counts (26-d)."""
    out = np.zeros((len(texts), 26), dtype=np.float32)
    for i, text in enumerate(texts):
        for ch in text.lower():
            if "a" <= ch <= "z":
                out[i, ord(ch) - 97] += 1
    return out


class Counting:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        return char_embed(texts)


def test_only_new_rows_are_embedded(tmp_path: Path):
    cache = EmbeddingCache(tmp_path, "letters")
    counter = Counting()
    assert cache.ensure(["a", "b", "b"], ["apple", "banana", "banana"], counter) == 2
    assert counter.seen == ["apple", "banana"]
    # a later snapshot shares row "b": only "c" is embedded
    assert cache.ensure(["b", "c"], ["banana", "cherry"], counter) == 1
    assert counter.seen[-1] == "cherry"
    # a new cache object (another process) reads what is on disk
    again = EmbeddingCache(tmp_path, "letters")
    assert again.missing(["a", "b", "c", "d"]) == ["d"]
    got = again.lookup(["c", "a", "b"])
    np.testing.assert_array_equal(got, char_embed(["cherry", "apple", "banana"]))
    assert not list((tmp_path / "letters").glob(".tmp-*"))


def test_missing_row_raises(tmp_path: Path):
    cache = EmbeddingCache(tmp_path, "letters")
    cache.ensure(["a"], ["apple"], char_embed)
    with pytest.raises(KeyError, match="zzz"):
        cache.lookup(["a", "zzz"])


def test_wrong_row_count_from_embed_is_an_error(tmp_path: Path):
    cache = EmbeddingCache(tmp_path, "letters")
    with pytest.raises(ValueError, match="rows"):
        cache.ensure(["a", "b"], ["x", "y"], lambda texts: char_embed(texts[:1]))


def test_session_cache_holds_real_minilm_embeddings(embedding_cache_dir, small_snapshot):
    cache = EmbeddingCache(embedding_cache_dir, minilm_cache_key(128))
    assert cache.missing(small_snapshot["row_id"].tolist()) == []
    vectors = cache.lookup(small_snapshot["row_id"].tolist()[:50])
    assert vectors.shape == (50, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_a_faster_runtime_has_its_own_namespace_and_close_vectors(
    embedding_cache_dir, small_snapshot, tmp_path: Path
):
    """cached_embedder(variant="onnx-int8") (what DriftCheckConfig.encoder_variant selects):
    real ONNX int8 MiniLM, its own cache folder beside torch fp32's, vectors within cosine
    0.95 of the fp32 ones the session cache holds for the same rows."""
    import shutil

    from models.embedding_cache import cache_key, cached_embedder

    root = tmp_path / "cache" / "embeddings"
    shutil.copytree(embedding_cache_dir, root)
    texts = small_snapshot["text"].tolist()[:40]
    fp32 = cached_embedder(root)(texts)
    int8 = cached_embedder(root, variant="onnx-int8")(texts)
    assert (root / cache_key(128, "onnx-int8")).is_dir()
    assert cache_key(128) == minilm_cache_key(128)  # fp32 shares training's namespace
    cosine = (fp32 * int8).sum(axis=1) / np.linalg.norm(int8, axis=1)
    assert cosine.min() > 0.95 and cosine.mean() > 0.98
