"""Fixtures for the training-layer tests: small real snapshots, cached MiniLM embeddings and
trained models shared across test modules (training once keeps the subset fast)."""

from pathlib import Path

import pandas as pd
import pytest

from tests.models.snapshots import make_snapshot


@pytest.fixture(scope="session")
def movies(vader_df: pd.DataFrame) -> pd.DataFrame:
    return vader_df[vader_df["domain"] == "movies"]


@pytest.fixture(scope="session")
def fast_snapshot(movies: pd.DataFrame) -> pd.DataFrame:
    """2,200 real movie snippets: enough for the hashed bag to learn sentiment."""
    return make_snapshot(movies, {"train": 1600, "val": 400, "test": 200})


@pytest.fixture(scope="session")
def small_snapshot(movies: pd.DataFrame) -> pd.DataFrame:
    """640 movie snippets for the accurate tier (each one costs a MiniLM embedding)."""
    return make_snapshot(movies, {"train": 440, "val": 140, "test": 60}, seed=7)


@pytest.fixture(scope="session")
def embedding_cache_dir(
    tmp_path_factory: pytest.TempPathFactory, small_snapshot: pd.DataFrame
) -> Path:
    """A MiniLM embedding cache holding every row of `small_snapshot` (real embeddings,
    computed once per session)."""
    from models.embedding_cache import EmbeddingCache, MiniLMEmbedder, minilm_cache_key

    root = tmp_path_factory.mktemp("embeddings")
    cache = EmbeddingCache(root, minilm_cache_key(128))
    cache.ensure(
        small_snapshot["row_id"].tolist(), small_snapshot["text"].tolist(), MiniLMEmbedder(128)
    )
    return root


@pytest.fixture(scope="session")
def fast_result(tmp_path_factory: pytest.TempPathFactory, fast_snapshot: pd.DataFrame):
    """The fast tier trained on `fast_snapshot` (real fit, ~seconds)."""
    from models.spec import TrainSpec
    from models.training import train

    spec = TrainSpec(tier="fast", max_epochs=6, patience=2)
    return train(fast_snapshot, spec, tmp_path_factory.mktemp("fast-run"))


@pytest.fixture(scope="session")
def accurate_result(
    tmp_path_factory: pytest.TempPathFactory,
    small_snapshot: pd.DataFrame,
    embedding_cache_dir: Path,
):
    """The accurate tier (frozen encoder, CPU), wide (`lexical=True`: the bundle then holds
    both the head and the bag, so round trips cover both), trained on `small_snapshot`."""
    from models.spec import TrainSpec
    from models.training import train

    spec = TrainSpec(tier="accurate", accelerator="cpu", max_epochs=15, patience=3, lexical=True)
    return train(
        small_snapshot, spec, tmp_path_factory.mktemp("accurate-run"), cache_dir=embedding_cache_dir
    )
