"""models/static_embeddings.py and the fast tier's dense part: the model2vec distillation of
the packaged MiniLM (real, offline; cached on disk once per cache root), what `embed` returns,
and the bag net refusing to run without the embeddings it was trained with."""

import numpy as np
import pytest
import torch

from models.components.bag import HashedBagNet
from models.static_embeddings import PCA_DIMS, STATIC_DIR, cache_key, distilled, embed, load


def test_distilled_once_then_loaded_from_its_cache(monkeypatch, tmp_path):
    shared = distilled(tmp_path)  # the session's shared root (DRIFTWISE_STATIC_CACHE)
    assert shared.dim == PCA_DIMS
    monkeypatch.delenv("DRIFTWISE_STATIC_CACHE")
    # without the override it lives under the given root; a copy of the saved files there
    # is found and loaded, not distilled again
    target = tmp_path / STATIC_DIR / cache_key()
    shared.save_pretrained(target)
    again = distilled(tmp_path)
    texts = ["a wonderful film", "I want my money back"]
    np.testing.assert_allclose(embed(again, texts), embed(shared, texts), atol=1e-6)
    assert np.allclose(embed(load(target), texts), embed(shared, texts), atol=1e-6)


def test_embed_gives_unit_vectors_that_separate_meaning(tmp_path):
    model = distilled(tmp_path)
    vectors = embed(model, ["a wonderful film", "a marvellous movie", "tax form instructions"])
    assert vectors.shape == (3, PCA_DIMS) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    close, far = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert close > far + 0.1, (close, far)  # measured 0.28 vs 0.11
    assert embed(model, []).shape == (0, PCA_DIMS)


def test_bag_with_a_static_part_needs_its_embeddings():
    net = HashedBagNet(10, 4, 3, mode="sum", static_dim=8)
    indices, offsets = torch.tensor([1, 2, 3]), torch.tensor([0, 2])
    with pytest.raises(ValueError, match="static embeddings"):
        net(indices, offsets)
    assert net(indices, offsets, None, torch.randn(2, 8)).shape == (2, 3)
