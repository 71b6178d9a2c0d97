"""models/static_embeddings.py and the fast tier's dense part: the model2vec distillation of
the packaged MiniLM (real, offline; cached on disk once per cache root), what `embed` returns,
and the bag net refusing to run without the embeddings it was trained with."""

import numpy as np
import pytest
import torch

from models import static_embeddings
from models.bundle import STATIC_DIR
from models.components.bag import HashedBagNet
from models.static_embeddings import PCA_DIMS, cache_key, distilled, embed


def test_distilled_once_then_loaded_from_its_cache(monkeypatch, tmp_path):
    model = distilled(tmp_path)  # distilled here, or this process's earlier distillation
    assert model.dim == PCA_DIMS
    # A later process finds the saved files under its cache root and loads them instead of
    # distilling again (~12 s): an empty in-process memo and a distill that must not run.
    target = tmp_path / "other" / STATIC_DIR / cache_key()
    model.save_pretrained(target)
    monkeypatch.setattr(static_embeddings, "_LOADED", {})
    monkeypatch.setattr("model2vec.distill.distill", _no_distill)
    again = distilled(tmp_path / "other")
    texts = ["a wonderful film", "I want my money back"]
    np.testing.assert_allclose(embed(again, texts), embed(model, texts), atol=1e-6)
    assert distilled(tmp_path / "elsewhere") is again  # one per process


def _no_distill(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise AssertionError("distilled again despite a cached copy")


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
