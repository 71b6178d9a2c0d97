"""The label loop for real: a Label Studio server started by `driftwise label up` (its own
venv, installed on first use), the `review_queue` asset run by `driftwise label queue` on a
real SQLite Dagster instance, tasks pushed over Label Studio's HTTP API and annotated through
it as a person's client would, harvested by `driftwise label sync` into the landing zone,
ingested by the ingest job the landing sensor requests (validation quarantines the unknown
label), a retrain requested by the new-labelled-data sensor, and `driftwise new-golden`
refusing a version when every reviewed row is a golden row already.

The traffic is real: the prediction log `make run`'s served champion wrote in the README's
home (CI's stage 1), copied into a home of this test's own so the README's home is left as
`make run` left it. Hostile cases: the server down when the queue is built (it waits on
disk, then goes out), conflicting annotators (quarantined, not guessed), an unknown label
(quarantined by ingestion), the same tasks harvested twice (nothing new lands).
"""

import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from bento.prediction_log import read_jsonl_log
from orchestration.annotation.loop import project_title
from orchestration.annotation.server import LabelStudioServer
from orchestration.cli.instance import ensure_dagster_home
from orchestration.definitions import build_definitions
from orchestration.resources import RuntimeHomeResource, TriggerPolicyResource
from orchestration.sensors.landing import new_batch_sensor
from orchestration.sensors.retrain import new_labelled_data_sensor
from orchestration.settings import load_settings
from tests.conftest import free_port, user_env

REPO = Path(__file__).resolve().parents[2]
README_HOME = REPO / ".driftwise"
EXE = Path(sys.executable).with_name("driftwise")
LABELS = ["negative", "positive"]

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _cli(env: dict[str, str], *args: str, timeout: float = 900) -> str:
    done = subprocess.run(
        [str(EXE), "label", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _no_outside_connections(pid: int) -> None:
    """Every TCP socket of the server's process group is on loopback (none to the internet)."""
    out = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True).stdout
    group = {
        int(p)
        for p in subprocess.run(
            ["pgrep", "-g", str(pid)], capture_output=True, text=True
        ).stdout.split()
    }
    for line in out.splitlines():
        if any(f"pid={p}," in line for p in group):
            peer = line.split()[4]
            assert peer.startswith(("127.", "[::1]", "[::ffff:127.")), line


def test_review_queue_to_label_studio_and_back_as_a_batch(tmp_path: Path, monkeypatch) -> None:
    logged = README_HOME / "prediction_log"
    assert logged.is_dir(), "run `make run` first: the test reads its served champion's log"
    home = tmp_path / "home"
    shutil.copytree(logged, home / "prediction_log")
    log = read_jsonl_log(home / "prediction_log").frame
    day = datetime.fromtimestamp(float(log["timestamp"].max()), UTC).strftime("%Y-%m-%d")
    settings = {
        "DRIFTWISE_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "DRIFTWISE_ANNOTATION__PORT": str(free_port()),
        # one install for the README's home and this test (the first `label up` makes it)
        "DRIFTWISE_ANNOTATION__VENV": str(README_HOME / "label-studio" / "venv"),
        "DRIFTWISE_ANNOTATION__REVIEW__DAILY_CAP": "40",
        "DRIFTWISE_ANNOTATION__REVIEW__UNIFORM": "10",
        "DRIFTWISE_DATASET__LABELS": json.dumps(LABELS),
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    env = user_env(**settings)
    ensure_dagster_home(home / "dagster")
    server = LabelStudioServer(
        home / "label-studio",
        int(settings["DRIFTWISE_ANNOTATION__PORT"]),
        venv=Path(settings["DRIFTWISE_ANNOTATION__VENV"]),
    )
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    try:
        # 1. the server is down: the queue is built and waits on disk
        out = _cli(env, "queue", "--day", day)  # the `review` job, a real run
        assert "waiting: annotation server down" in out, out
        (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="review"))
        assert run.status == dg.DagsterRunStatus.SUCCESS and run.tags["dagster/partition"] == day
        queue = pd.read_parquet(home / "review" / "queue" / f"{day}.parquet")
        days = [
            datetime.fromtimestamp(float(t), UTC).strftime("%Y-%m-%d") for t in log["timestamp"]
        ]
        assert f"review queue {day}: {len(queue)} of {days.count(day)} logged answers" in out
        assert 10 < len(queue) <= 40
        assert "uniform" in set(queue["reason"]) and queue["review_key"].is_unique
        assert queue["inclusion_probability"].between(0, 1, inclusive="right").all()

        # 2. up (installs on first use), then sync pushes what waited
        assert "Label Studio at http://127.0.0.1:" in _cli(env, "up", timeout=1800)
        assert (server.root / "api-token").stat().st_mode & 0o777 == 0o600
        assert "pushed " + str(len(queue)) + " tasks" in _cli(env, "sync")
        client = server.client()
        project = client.project_id(project_title("sentiment"))
        assert project is not None
        tasks = sorted(client.tasks(project, annotated_only=False), key=lambda t: t["id"])
        assert {t["data"]["review_key"] for t in tasks} == set(queue["review_key"])
        assert all(t["predictions"] for t in tasks)  # the model's answer, pre-filled
        assert "pushed 0 tasks" in _cli(env, "sync")  # idempotent

        # 3. people annotate: 8 agree with the model, 2 correct it, 1 picks a label the
        # contract lacks, 2 annotators disagree on 1
        flip = {"negative": "positive", "positive": "negative"}
        answers = {}
        for i, task in enumerate(tasks[:12]):
            said = task["data"]["predicted_label"]
            label = said if i < 8 else flip[said] if i < 10 else "sarcastic"
            if i == 11:
                client.annotate(task["id"], "positive")
                label = "negative"
            client.annotate(task["id"], label)
            answers[task["id"]] = label
        out = _cli(env, "sync")
        assert "harvested 11 rows" in out and "1 conflicting items quarantined" in out
        (landed,) = (home / "landing").glob("reviewed-*.csv")
        batch = pd.read_csv(landed)
        assert len(batch) == 11 and set(batch["ls_task_id"]) == set(list(answers)[:11])
        assert batch["annotators"].str.fullmatch(r"[0-9a-f]{12}").all()  # hashed, not ids
        (conflict,) = (home / "quarantine").glob("reviewed-*-conflicts/rows.jsonl")
        assert "conflicting_annotations" in conflict.read_text()
        assert "harvested 0 rows" in _cli(env, "sync")  # the same tasks twice: nothing new
        assert len(list((home / "landing").glob("reviewed-*.csv"))) == 1

        # 4. the landing sensor's ingest run: 10 rows in, the unknown label quarantined
        defs = build_definitions(load_settings())
        context = dg.build_sensor_context(
            instance=instance, resources={"home": RuntimeHomeResource(path=str(home))}
        )
        result = new_batch_sensor(context)
        (request,) = result.run_requests
        instance.add_dynamic_partitions("batches", [request.partition_key])
        ingest = defs.resolve_job_def("ingest").execute_in_process(
            partition_key=request.partition_key, instance=instance, tags=request.tags
        )
        assert ingest.success
        (event,) = ingest.asset_materializations_for_node("ingested_batch")
        md = {k: v.value for k, v in event.metadata.items()}
        assert md["rows_accepted"] == 10 and md["labelled"], md
        summary = json.loads(
            (home / "quarantine" / request.partition_key / "summary.json").read_text()
        )
        assert list(summary["reasons"]) == ["unknown_label"]

        # 5. enough new labelled rows: the sensor requests a retrain
        policy = TriggerPolicyResource(cooldown_s=0, new_labelled_rows=10)
        tick = new_labelled_data_sensor(
            dg.build_sensor_context(instance=instance, resources={"trigger_policy": policy})
        )
        (retrain,) = tick.run_requests
        assert "new_data" in json.dumps(retrain.tags)

        # 5b. `make run` replays the curated golden set's tweets as traffic (no model trained
        # on them), so every reviewed row is a golden row already: a new golden version has
        # nothing to add, and says so (the positive path: tests/data/test_golden_source.py)
        golden = subprocess.run(
            [str(EXE), "new-golden"], cwd=REPO, env=env, capture_output=True, text=True
        )
        assert golden.returncode == 1
        assert "of 10 reviewed rows landed none is free" in " ".join(golden.stdout.split())

        # 6. live accuracy per served version from the reviewed labels, inclusion-weighted
        status = _cli(env, "status")
        counts = re.findall(r"live accuracy v\S+ from (\d+) reviewed labels: [\d.]+ \[", status)
        assert sum(map(int, counts)) == 11 and "inclusion-weighted" in status, status
        running = server.running()
        assert running is not None
        _no_outside_connections(int(running["pid"]))
    finally:
        server.down()
        instance.dispose()


def test_review_queue_takes_drifted_slices_against_the_served_champions_reference(
    tmp_path: Path,
) -> None:
    """The `review_queue` asset on a copy of `make run`'s home (its MLflow store, data
    registry and prediction log): the reference is the served champion's out-of-sample
    training rows, read through the model registry and DVC as the drift check reads them,
    and a sample of the texts unlike it is queued as `drifted_slice`. No annotation server:
    the queue waits on disk."""
    for part in ("mlflow", "registry", "prediction_log"):
        assert (README_HOME / part).is_dir(), "run `make run` first"
    home = tmp_path / "home"
    for part in ("mlflow", "registry", "prediction_log"):
        shutil.copytree(README_HOME / part, home / part, symlinks=True)
    log = read_jsonl_log(home / "prediction_log").frame
    day = datetime.fromtimestamp(float(log["timestamp"].max()), UTC).strftime("%Y-%m-%d")
    env = user_env(
        DRIFTWISE_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster"),
        DRIFTWISE_ANNOTATION__PORT=str(free_port()),
        DRIFTWISE_ANNOTATION__REVIEW__DAILY_CAP="60",
        DRIFTWISE_ANNOTATION__REVIEW__DISAGREEMENT="0",
        DRIFTWISE_ANNOTATION__REVIEW__DRIFTED="20",
        DRIFTWISE_ANNOTATION__REVIEW__UNIFORM="10",
    )
    out = " ".join(_cli(env, "queue", "--day", day).split())
    assert "drifted slices: drifted" in out and "against driftwise-sentiment@champion" in out, out
    queue = pd.read_parquet(home / "review" / "queue" / f"{day}.parquet")
    drifted = queue[queue["reason"] == "drifted_slice"]
    assert len(drifted) == 20
    assert (drifted["drift_ratio"] >= 2.0).all() and (drifted["inclusion_probability"] > 0).all()
    # the champion trained on no tweet: a mention or a link marks most of what it picked
    assert drifted["text"].str.contains("@|http|#", regex=True).mean() >= 0.5
