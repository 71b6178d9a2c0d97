"""The loop on the prod profile: ingest -> snapshot -> train -> gate -> promote on real
PostgreSQL, S3 (moto server), `mlflow server` and a dagster-celery worker (conftest.py's
`prod_loop`). Each test reads what one component holds, through that component's own
client: the runs and sensor ticks in the Postgres-backed Dagster instance, the batch read
back by its DVC tag from S3 in a fresh clone of the registry (no local cache), the champion
loaded from the MLflow server by alias, its files in the S3 artifact bucket, the annotation
server's projects and tasks in its PostgreSQL database. Also: `prod up` is idempotent and
refuses to reuse workers started with other settings.
"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.integration.conftest import ProdLoop

pytestmark = [pytest.mark.prod, pytest.mark.integration, pytest.mark.slow]


def _s3(env: dict[str, str]):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["DRIFTWISE_DVC_REMOTE_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def _pg(env: dict[str, str]):  # type: ignore[no-untyped-def]
    import psycopg2

    return psycopg2.connect(env["DRIFTWISE_DAGSTER_PG_URL"].replace("+psycopg2", ""))


def test_runs_ticks_and_steps_live_in_postgres_and_celery(
    prod_loop: ProdLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from models.lineage import GATE_PASSED, RUN_TAG_GATE

    assert "PROMOTE" in prod_loop.stdout and "carved" in prod_loop.stdout
    with _pg(prod_loop.env) as con, con.cursor() as cur:
        cur.execute("SELECT pipeline_name, status FROM runs ORDER BY id")
        assert cur.fetchall() == [("ingest", "SUCCESS"), ("retrain", "SUCCESS")]
        cur.execute("SELECT count(*) FROM job_ticks")
        assert cur.fetchone()[0] >= 1  # the landing sensor's ticks, kept by the instance
    # The same runs through Dagster's own API, on the instance the home's dagster.yaml names.
    monkeypatch.setenv("DAGSTER_HOME", str(prod_loop.home / "dagster"))
    monkeypatch.setenv("DRIFTWISE_DAGSTER_PG_URL", prod_loop.env["DRIFTWISE_DAGSTER_PG_URL"])
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        (ingest,) = instance.get_runs(filters=dg.RunsFilter(job_name="ingest"))
        assert ingest.tags["dagster/sensor_name"] == "new_batch_sensor"
        (retrain,) = instance.get_runs(filters=dg.RunsFilter(job_name="retrain"))
        assert retrain.tags[RUN_TAG_GATE] == GATE_PASSED
        messages = [e.message for e in instance.all_logs(ingest.run_id)]
    # The daemon-launched ingest ran its steps on the celery worker, not in its own process.
    assert 'Submitting celery task for step "ingested_batch" to queue "dagster".' in messages
    assert 'Submitting celery task for step "drift_report" to queue "dagster".' in messages
    worker_log = (prod_loop.state / "logs" / "celery-0.log").read_text()
    assert worker_log.count("succeeded in") >= 2


def test_batch_reads_back_from_s3_by_tag_in_a_fresh_clone(
    prod_loop: ProdLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data.batch_tags import batch_table_path, current_tag
    from data.data_registry import DataRegistry
    from data.landing import batch_id_for

    env = prod_loop.env
    listing = _s3(env).list_objects_v2(Bucket="driftwise-dvc", Prefix="registry/")
    assert listing["KeyCount"] >= 2  # the batch and the golden set, at least
    batch_id = batch_id_for(prod_loop.home / "landing" / prod_loop.csv.name)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(prod_loop.home / "registry"), str(clone)], check=True)
    assert not (clone / ".dvc" / "cache").exists()  # nothing local: the bytes come from S3
    registry = DataRegistry(
        clone, env["DRIFTWISE_DVC_REMOTE_URL"], env["DRIFTWISE_DVC_REMOTE_ENDPOINT_URL"]
    )
    registry.ensure()  # a clone has no .dvc/config.local: this names the S3 remote in it
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(key, env[key])  # what a reader of the bucket is given
    table = registry.read_table(batch_table_path(batch_id), rev=current_tag(registry, batch_id))
    sent = pd.read_csv(prod_loop.csv)
    assert len(table) == 1999  # 2,000 sent, one duplicate quarantined
    assert set(table["text"]) <= set(sent["question"])
    assert set(table["label"]) == set(sent["topic"])


def test_champion_loads_from_the_mlflow_server_by_alias(
    prod_loop: ProdLoop, tmp_path: Path
) -> None:
    from models.inference import load_predictor
    from models.model_registry import find_model
    from models.tracking import TrackingConfig

    uri = prod_loop.env["MLFLOW_TRACKING_URI"]
    assert uri.startswith("http://127.0.0.1:")
    config = TrackingConfig(tracking_uri=uri, registered_model_name="driftwise-questions")
    champion = find_model(config, "driftwise-questions", tmp_path / "models")
    assert champion is not None and champion.alias == "champion"
    assert champion.version.tags["promotion_verdict"] == "passed"
    # Proxied artifacts: the client spoke HTTP only; the bytes live in the S3 bucket.
    assert champion.version.source.startswith(("mlflow-artifacts:", "models:"))
    listing = _s3(prod_loop.env).list_objects_v2(Bucket="driftwise-mlflow", Prefix="artifacts/")
    keys = [o["Key"] for o in listing.get("Contents", [])]
    assert any(k.endswith("model.safetensors") for k in keys), keys[:20]
    predictor = load_predictor(champion.bundles["fast"])
    labels = predictor.predict(["Who was the first man on the moon ?", "How far is Mars ?"])
    assert set(labels) <= {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}
    assert predictor.labels == sorted(predictor.labels) and len(predictor.labels) == 6


def test_prod_up_is_idempotent_and_refuses_other_settings(
    prod_loop: ProdLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.prod.stack import StackError, load_state, up

    before = load_state(prod_loop.state)
    assert before is not None
    for key, value in before.config.items():  # the shell `prod up` ran in
        monkeypatch.setenv(key, value)
    again = up(prod_loop.state, prod_loop.home)
    assert again.pids == before.pids and again.ports == before.ports
    monkeypatch.setenv("DRIFTWISE_DATASET__NAME", "other")
    with pytest.raises(StackError, match="other DRIFTWISE_"):
        up(prod_loop.state, prod_loop.home)
    assert json.loads((prod_loop.state / "stack.json").read_text())["pids"] == before.pids


def test_label_studio_keeps_its_projects_in_the_stacks_postgresql(prod_loop: ProdLoop) -> None:
    """`prod up --label-studio` started Label Studio on the stack's `labelstudio` database;
    `driftwise label up` with prod.env finds it running; a project and a task made through
    its HTTP API are rows in PostgreSQL, and no SQLite database exists in the home."""
    import psycopg2

    from evaluation.review.tasks import label_config
    from orchestration.annotation.server import LabelStudioServer
    from orchestration.prod.stack import load_state

    env = prod_loop.env
    stack = load_state(prod_loop.state)
    assert stack is not None and "label-studio" in stack.pids
    port = env["DRIFTWISE_ANNOTATION__PORT"]
    up = subprocess.run(
        [sys.executable, "-m", "orchestration.cli.app", "label", "up"],
        cwd=env["PYTHONPATH"], env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert up.returncode == 0 and f"127.0.0.1:{port}" in up.stdout, up.stdout + up.stderr
    root = prod_loop.home / "label-studio"
    server = LabelStudioServer(
        root, int(port), database_url=env["DRIFTWISE_ANNOTATION__DATABASE_URL"]
    )
    assert server.running() is not None and server.running()["pid"] == stack.pids["label-studio"]
    client = server.client()
    project = client.ensure_project("driftwise-questions", label_config(["HUM", "LOC"]))
    client.import_tasks(project, [{"data": {"text": "Who wrote Hamlet ?", "review_key": "k1"}}])
    with psycopg2.connect(env["DRIFTWISE_ANNOTATION__DATABASE_URL"]) as con, con.cursor() as cur:
        cur.execute("SELECT id, title FROM project")
        assert (project, "driftwise-questions") in cur.fetchall()
        cur.execute("SELECT data->>'text' FROM task WHERE project_id = %s", (project,))
        assert cur.fetchall() == [("Who wrote Hamlet ?",)]
    assert not list(root.rglob("*.sqlite3"))
