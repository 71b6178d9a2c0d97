"""The staged canary end to end on real processes: a real `bentoml serve` (started as
`driftwise serve --detach` starts it) with the TREC champion of tests/served_models.py, real
HTTP traffic with per-request keys and feedback, the rollout sensor's tick
(orchestration/sensors/rollout.py) reading the real prediction log and steering the real
admin API, the `canary_finish` asset moving real MLflow aliases, and the operator CLI.

- a mislabelling challenger (v1's bundles with the label list rotated: confident and wrong)
  is rolled back at the first live stage (5%), at most ~5% of traffic exposed, the champion
  alias untouched;
- a good challenger (v1's bundles registered again) goes shadow -> 50% -> 100% and is
  promoted, surviving a service kill and a tick killed mid-advance; then `driftwise
  rollback` flips back and `driftwise promote` ends a second canary by hand;
- a third canary is ticked by a real dagster-daemon, SIGKILLed mid-rollout and restarted:
  it resumes and promotes; finally the `rollback` job flips the champion back.
"""

import json
import random
import shutil
import socket
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from bento.state import ServingState, write_state
from bento.store import import_version, load_stored
from data.schema import DatasetSpec
from evaluation.rollout.policy import RolloutPolicy, Stage
from evaluation.rollout.store import read_pending, read_rollout, write_rollout
from models.model_registry import CHAMPION, PREVIOUS, aliased_version, promote
from models.tracking import client_for
from orchestration.cli.serve import prepare_serving, start_background, stop_background
from orchestration.resources import MlflowResource, RuntimeHomeResource, ServingResource
from orchestration.sensors.rollout import rollout_tick
from orchestration.settings import DriftwiseSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return dict(json.loads(response.read()))


def _replay(url: str, rows, n: int, seed: int) -> list[dict]:
    """`n` one-question requests, each with its own routing key, feedback for every one."""
    rng = random.Random(seed)
    picks = [rows.iloc[rng.randrange(len(rows))] for _ in range(n)]

    def one(row) -> dict:  # type: ignore[no-untyped-def]
        answer = _post(f"{url}/classify", {"texts": [row["text"]], "key": uuid.uuid4().hex})
        _post(f"{url}/feedback", {"request_id": answer["request_id"], "label": row["label"]})
        return answer

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, picks))


def _mislabelled_copy(tag: str, version: str) -> str:
    """v1's tiers with their label list rotated by one, as store model `<name>:v<version>`."""
    import bentoml

    source = load_stored(tag)
    new_tag = f"{tag.split(':')[0]}:v{version}"
    labels = {"registered_name": source.registered_name, "mlflow_version": version}
    with bentoml.models.create(new_tag, labels=labels, metadata=source.metadata) as ref:
        for tier, path in source.tiers.items():
            shutil.copytree(path, ref.path_of(tier))
            config_path = Path(ref.path_of(tier)) / "config.json"
            config = json.loads(config_path.read_text())
            config["labels"] = config["labels"][1:] + config["labels"][:1]
            config_path.write_text(json.dumps(config))
    return new_tag


def _register_again(served, version: str) -> str:
    """The same bundles as `version`, registered as a new version (a good challenger)."""
    client = client_for(served.tracking)
    mv = client.get_model_version(served.name, version)
    new = client.create_model_version(served.name, mv.source, mv.run_id, tags=dict(mv.tags))
    import_version(served.tracking, served.name, str(new.version), served.home / "cache" / "models")
    return str(new.version)


def _until_done(home: Path, serving: ServingResource, url: str, rows, per_tick: int):
    answers, results = [], []
    for i in range(40):
        answers += _replay(url, rows, per_tick, seed=i)
        result = rollout_tick(home, serving)
        results.append(result)
        if not result.state.active:
            break
    return answers, results


def _three_stages() -> RolloutPolicy:
    """shadow -> 50% -> 100% with test-sized clocks (no bake: the minimum sample decides, so
    how fast this machine serves a tick's requests cannot matter); margin 1.0 so that two
    equal models are shown not worse within a few ticks."""
    return RolloutPolicy(
        stages=[
            Stage(name="shadow", mode="shadow", weight=0.0),
            Stage(name="50%", mode="canary", weight=0.5),
            Stage(name="100%", mode="canary", weight=1.0),
        ],
        bake_s=0,
        min_requests=40,
        max_silence_s=600,
        non_inferiority_margin=1.0,
    )


def _daemon_phase(home: Path, client, served, url: str, rows) -> None:  # type: ignore[no-untyped-def]
    import signal
    import time

    from evaluation.rollout.controller import RolloutController
    from orchestration.cli.daemon import start_daemon, stop_daemon, wait_for_runs
    from orchestration.cli.instance import ensure_dagster_home
    from orchestration.cli.replay import Replay
    from orchestration.router import HomeRouter

    dagster_home = ensure_dagster_home(home / "dagster")
    policy = _three_stages()
    champion = client.roles()["champion_version"]
    state = RolloutController(home, HomeRouter(home, client)).begin(
        served.name, champion, "1", policy
    )
    # paced: unpaced clients would starve the daemon and its code server as they start
    replay = Replay(url, rows, threads=4, rate=25.0).start()
    log = home / "logs" / "daemon-test.log"
    daemon = start_daemon(dagster_home, log)
    try:
        deadline = time.monotonic() + 180
        while read_rollout(home).stage < 1:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        daemon.send_signal(signal.SIGKILL)  # mid-rollout, no warning: daemon and code server
        daemon.wait()
        frozen = read_rollout(home)
        time.sleep(12)  # longer than a tick: nobody decides while the daemon is dead
        assert read_rollout(home).timeline == frozen.timeline
        daemon = start_daemon(dagster_home, log)
        deadline = time.monotonic() + 300
        while not (read_rollout(home).recorded and not read_rollout(home).active):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(2)
        with dg.DagsterInstance.get() as instance:  # the finish run records, then ends
            wait_for_runs(instance, {"driftwise/rollout": state.rollout_id}, 1, 120, daemon)
    finally:
        replay.stop()
        stop_daemon(daemon)
    final = read_rollout(home)
    assert final.rollout_id == state.rollout_id and final.status == "promoted"
    assert [e.stage for e in final.timeline if e.verdict in ("advance", "promote")] == [
        "shadow",
        "50%",
        "100%",
    ]
    assert aliased_version(served.tracking, served.name, CHAMPION).version == "1"
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs(
            filters=dg.RunsFilter(
                job_name="canary_finish", tags={"driftwise/rollout": state.rollout_id}
            )
        )
        assert run.tags["dagster/sensor_name"] == "rollout_sensor"
        assert run.status == dg.DagsterRunStatus.SUCCESS


@pytest.mark.e2e
@pytest.mark.integration
@pytest.mark.slow
def test_canary_rolls_back_a_bad_challenger_and_promotes_a_good_one(served, monkeypatch):
    home = served.home
    for folder in ("rollout", "prediction_log", "feedback"):
        shutil.rmtree(home / folder, ignore_errors=True)
    promote(served.tracking, served.name, "1")  # type: ignore[arg-type]
    settings = DriftwiseSettings(home=home, dataset=DatasetSpec(name="trec", labels=None))
    prepare_serving(settings)
    write_state(home, ServingState(champion=served.tags["1"]))  # no leftovers of other tests
    bad_version = "90"
    _mislabelled_copy(served.tags["1"], bad_version)
    port = _free_port()
    url = start_background(settings, port=port, timeout=180)
    serving = ServingResource(home=str(home))
    client = serving.client()
    assert client is not None and client.url == url
    rows = served.questions
    from evaluation.rollout.controller import RolloutController
    from orchestration.router import HomeRouter

    try:
        # 1. the mislabelling challenger, straight to a 5% live stage
        bad_policy = RolloutPolicy(
            stages=[
                Stage(name="5%", mode="canary", weight=0.05),
                Stage(name="100%", mode="canary", weight=1.0),
            ],
            bake_s=1,
            min_requests=60,
        )
        RolloutController(home, HomeRouter(home, client)).begin(
            served.name, "1", bad_version, bad_policy
        )
        answers, results = _until_done(home, serving, url, rows, per_tick=100)
        final = results[-1]
        assert final.state.status == "rolled_back"
        assert final.state.timeline[-1].stage == "5%"
        # wrong on feedback, as a rotated label list is; on a busy machine its first
        # requests on a freshly loaded copy can cross the slow test first (seen 1 in 3)
        reasons = final.decision.reasons
        assert any(r.startswith(("wrong", "slow")) for r in reasons), reasons
        exposed = sum(a["arm"] == "challenger" for a in answers) / len(answers)
        # no more than the stage's share, up to the binomial noise of sticky key hashing
        assert exposed <= 0.05 + 3 * (0.05 * 0.95 / len(answers)) ** 0.5
        assert final.flip_seconds is not None  # decision -> all traffic champion
        assert aliased_version(served.tracking, served.name, CHAMPION).version == "1"
        roles = client.roles()
        assert roles["mode"] == "off"
        after = _replay(url, rows, 40, seed=99)
        assert {a["arm"] for a in after} == {"champion"}
        print(
            f"bad: rolled back after {len(answers)} requests, exposure {exposed:.3f}, "
            f"flip {final.flip_seconds * 1000:.1f} ms, reasons {final.decision.reasons}"
        )

        # 2. a good challenger: shadow -> 50% -> 100% -> promote, service killed mid-way
        good = _register_again(served, "1")
        good_policy = _three_stages()
        RolloutController(home, HomeRouter(home, client)).begin(served.name, "1", good, good_policy)
        _replay(url, rows, 80, seed=1000)
        first = rollout_tick(home, serving)
        assert first.decision.verdict == "advance", first.decision.reasons
        assert first.state.current.name == "50%"
        # a tick that died after writing the new stage, before the service applied it:
        client.set_routing("shadow", 0.0)
        crashed = read_rollout(home).model_copy(update={"applied": False})
        write_rollout(home, crashed)
        resumed = rollout_tick(home, serving)
        assert resumed.decision.verdict == "hold" and resumed.state.applied
        assert client.roles()["mode"] == "canary" and client.roles()["weight"] == 0.5
        stop_background(settings)  # the service dies mid-rollout
        down = rollout_tick(home, serving)
        assert down.decision.verdict == "hold" and down.state.current.name == "50%"
        start_background(settings, port=port, timeout=180)  # restarts from its state file
        assert client.roles() == {
            "champion_version": "1",
            "challenger_version": good,
            "mode": "canary",
            "weight": 0.5,
        }
        answers, results = _until_done(home, serving, url, rows, per_tick=60)
        state = results[-1].state
        assert state.status == "promoting", [r.decision.reasons for r in results]
        stages = [e.stage for e in state.timeline if e.verdict in ("advance", "promote")]
        assert stages == ["shadow", "50%", "100%"]

        from assets.canary import canary_result

        finished = dg.materialize(
            [canary_result],
            resources={
                "serving": serving,
                "mlflow": MlflowResource(**served.tracking.model_dump()),
                "home": RuntimeHomeResource(path=str(home)),
            },
            run_config={"ops": {"canary_result": {"config": {"rollout_id": state.rollout_id}}}},
        )
        assert finished.success
        md = finished.asset_materializations_for_node("canary_result")[0].metadata
        assert md["verdict"].value == "promoted" and Path(md["timeline_plot"].value).exists()
        assert aliased_version(served.tracking, served.name, CHAMPION).version == good
        assert aliased_version(served.tracking, served.name, PREVIOUS).version == "1"
        assert client.roles()["champion_version"] == good
        assert read_rollout(home).recorded

        # 3. the operator CLI on this home: status, then a one-command rollback
        from orchestration.cli.app import app

        monkeypatch.setenv("DRIFTWISE_HOME", str(home))
        monkeypatch.setenv("DRIFTWISE_DATASET__NAME", "trec")
        runner = CliRunner()
        shown = runner.invoke(app, ["status"])
        assert shown.exit_code == 0, shown.output
        assert f"v{good}" in shown.output and "rollout_sensor" in shown.output
        rolled = runner.invoke(app, ["rollback", "--reason", "test"])
        assert rolled.exit_code == 0, rolled.output
        assert "champion rolled back" in rolled.output
        # traffic is flipped when the command returns; its `driftwise settle` child writes
        # the registry and the record right after
        assert client.roles()["champion_version"] == "1"
        deadline = time.monotonic() + 120
        while read_pending(home) is not None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert read_pending(home) is None, (home / "logs" / "settle.log").read_text()
        assert aliased_version(served.tracking, served.name, CHAMPION).version == "1"
        assert aliased_version(served.tracking, served.name, PREVIOUS).version == good
        print(rolled.output)
        # ... and `driftwise promote` ends a running canary by the operator's word
        RolloutController(home, HomeRouter(home, client)).begin(served.name, "1", good, good_policy)
        promoted = runner.invoke(app, ["promote"])
        assert promoted.exit_code == 0, promoted.output
        assert aliased_version(served.tracking, served.name, CHAMPION).version == good
        assert client.roles() == {
            "champion_version": good,
            "challenger_version": None,
            "mode": "off",
            "weight": 0.0,
        }
        assert read_rollout(home).timeline[-1].reasons == ["manual promote (driftwise promote)"]
        nothing = runner.invoke(app, ["promote"])
        assert nothing.exit_code == 1 and "no rollout is running" in nothing.output

        # 4. a canary driven by a real dagster-daemon (its rollout_sensor and the
        # canary_finish run it launches), the daemon SIGKILLed mid-rollout and restarted
        _daemon_phase(home, client, served, url, rows)

        # 5. the `rollback` job (the UI's button) does what `driftwise rollback` does
        from orchestration.definitions import build_definitions
        from orchestration.settings import load_settings

        job = build_definitions(load_settings()).resolve_job_def("rollback")
        with dg.DagsterInstance.get() as instance:
            assert job.execute_in_process(instance=instance).success
        assert aliased_version(served.tracking, served.name, CHAMPION).version == good
        assert client.roles()["champion_version"] == good
    finally:
        stop_background(settings)
