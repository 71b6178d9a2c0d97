"""The Dagster instance config `driftwise init` writes (orchestration/cli/instance.py):
SQLite under the home locally, PostgreSQL from $DRIFTWISE_DAGSTER_PG_URL in prod (never the
URL itself in the file), and a clear refusal when prod has no database URL. No server here:
tests/integration/test_prod_profile.py runs the instance on a real PostgreSQL.
"""

from pathlib import Path

import pytest
import yaml

from orchestration.cli.instance import PG_URL_ENV, ensure_dagster_home


@pytest.fixture(autouse=True)
def _restore_dagster_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """ensure_dagster_home exports DAGSTER_HOME: undo it after each test."""
    monkeypatch.setenv("DAGSTER_HOME", "/nonexistent")


def test_local_instance_has_no_external_storage(tmp_path: Path) -> None:
    config = yaml.safe_load((ensure_dagster_home(tmp_path / "d") / "dagster.yaml").read_text())
    assert "storage" not in config  # Dagster's default: SQLite files under DAGSTER_HOME
    assert config["telemetry"] == {"enabled": False}


def test_instance_launches_runs_with_the_warm_launcher(tmp_path: Path) -> None:
    """The local dagster.yaml loads into a real instance whose launcher is ours
    (tests/orchestration/test_launcher.py runs it)."""
    import dagster as dg

    from orchestration.launcher import DEFAULT_PRELOAD, WarmRunLauncher

    home = ensure_dagster_home(tmp_path / "d")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_launcher, WarmRunLauncher)
        assert instance.run_launcher.preload == list(DEFAULT_PRELOAD)


def test_prod_instance_reads_its_database_url_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg2://driftwise:s3cret@db.internal:5432/dagster"
    monkeypatch.setenv(PG_URL_ENV, url)
    text = (ensure_dagster_home(tmp_path / "d", "prod") / "dagster.yaml").read_text()
    assert yaml.safe_load(text)["storage"] == {"postgres": {"postgres_url": {"env": PG_URL_ENV}}}
    assert "s3cret" not in text
    assert "run_launcher" not in yaml.safe_load(text)  # prod keeps the platform's launcher


@pytest.mark.parametrize("value", [None, "", "sqlite:///x.db"])
def test_prod_without_a_postgres_url_is_refused_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(PG_URL_ENV, raising=False)
    else:
        monkeypatch.setenv(PG_URL_ENV, value)
    with pytest.raises(ValueError, match=PG_URL_ENV):
        ensure_dagster_home(tmp_path / "d", "prod")
    assert not (tmp_path / "d").exists()
