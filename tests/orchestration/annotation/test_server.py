"""What Label Studio is started with (orchestration/annotation/server.py, settings): SQLite by
default, the prod profile's PostgreSQL from `annotation.database_url`, and never a database
or telemetry setting inherited from the caller's environment.

Touches: the environment the real server process gets (no process is started here; the
prod stage starts it on PostgreSQL: tests/integration/test_prod_profile.py).
"""

from pathlib import Path

import pytest
from pydantic import ValidationError

from orchestration.annotation.server import LabelStudioServer
from orchestration.settings import AnnotationSettings


def test_sqlite_by_default_and_inherited_database_settings_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A shell pointing some other Label Studio at a database, and at Sentry: none of it leaks.
    monkeypatch.setenv("LABEL_STUDIO_DJANGO_DB", "postgresql")
    monkeypatch.setenv("POSTGRE_HOST", "db.example.com")
    monkeypatch.setenv("HEARTEX_SENTRY_DSN", "https://key@sentry.example.com/1")
    env = LabelStudioServer(tmp_path).environment()
    assert env["DJANGO_DB"] == "sqlite"
    assert env["LABEL_STUDIO_BASE_DATA_DIR"] == str(tmp_path / "data")
    assert not {"LABEL_STUDIO_DJANGO_DB", "POSTGRE_HOST", "HEARTEX_SENTRY_DSN"} & set(env)
    assert env["SENTRY_DSN"] == "" and env["COLLECT_ANALYTICS"] == "false"


def test_a_postgresql_url_becomes_its_database_variables(tmp_path: Path) -> None:
    url = "postgresql://ls%40user:s%3Acret@127.0.0.1:55432/labelstudio"
    env = LabelStudioServer(tmp_path, database_url=url).environment()
    assert {k: env[k] for k in env if k.startswith("POSTGRE_") or k == "DJANGO_DB"} == {
        "DJANGO_DB": "postgresql",
        "POSTGRE_NAME": "labelstudio",
        "POSTGRE_USER": "ls@user",
        "POSTGRE_PASSWORD": "s:cret",
        "POSTGRE_HOST": "127.0.0.1",
        "POSTGRE_PORT": "55432",
    }


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root@127.0.0.1/ls",  # another engine
        "postgresql://127.0.0.1/ls",  # no user
        "postgresql://u@127.0.0.1/",  # no database
        "postgresql://u@127.0.0.1/ls; DROP",  # not a database name
        "sqlite:///tmp/ls.db",
    ],
)
def test_settings_refuse_a_database_url_that_is_not_postgresql(url: str) -> None:
    with pytest.raises(ValidationError, match="database_url"):
        AnnotationSettings(database_url=url)
    assert AnnotationSettings(database_url="postgresql://postgres@h:5432/ls").database_url
