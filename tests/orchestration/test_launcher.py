"""The warm run launcher (orchestration/launcher.py) on a real SQLite Dagster instance.

A run it launches executes in a child forked from the forkserver, which imported the preload
module before the fork (the child finds it in sys.modules, imported by another pid), and ends
SUCCESS with Dagster's own events; a failing op fails the run; `terminate` cancels a running
one. Touches: a temporary Dagster instance, a forkserver process and its children.
"""

import json
import time
from pathlib import Path

import dagster as dg
import pytest

from orchestration.launcher import PID_TAG, WarmRunLauncher
from tests.orchestration.launcher_jobs import PRELOAD, report_job

FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@pytest.fixture(scope="module")
def instance():
    overrides = {
        "run_launcher": {
            "module": "orchestration.launcher",
            "class": "WarmRunLauncher",
            "config": {"preload": [PRELOAD]},
        }
    }
    with dg.instance_for_test(overrides=overrides) as instance:
        yield instance


def launch(instance: dg.DagsterInstance, out: Path, **config) -> str:
    run = instance.create_run_for_job(
        job_def=report_job,
        run_config={"ops": {"report": {"config": {"path": str(out), **config}}}},
        job_code_origin=dg.reconstructable(report_job).get_python_origin(),
    )
    instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]
    return run.run_id


def wait(instance: dg.DagsterInstance, run_id: str, timeout: float = 120) -> dg.DagsterRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        if run.status in FINISHED:
            return run
        time.sleep(0.2)
    raise TimeoutError(f"run {run_id} did not finish")


def test_run_executes_in_a_child_of_the_preloaded_forkserver(instance, tmp_path):
    assert isinstance(instance.run_launcher, WarmRunLauncher)
    out = tmp_path / "out.json"
    run = wait(instance, launch(instance, out))
    assert run.status == dg.DagsterRunStatus.SUCCESS
    seen = json.loads(out.read_text())
    assert seen["preloaded_in"] is not None, "the preload module was not imported before fork"
    assert seen["preloaded_in"] != seen["pid"]  # imported by the forkserver, not the run
    assert run.tags[PID_TAG] == str(seen["pid"])
    events = {e.dagster_event.event_type for e in instance.all_logs(run.run_id) if e.dagster_event}
    kinds = dg.DagsterEventType
    assert {kinds.RUN_START, kinds.STEP_SUCCESS, kinds.RUN_SUCCESS} <= events


def test_failing_op_fails_the_run(instance, tmp_path):
    run = wait(instance, launch(instance, tmp_path / "out.json", fail=True))
    assert run.status == dg.DagsterRunStatus.FAILURE


def test_terminate_cancels_a_running_run(instance, tmp_path):
    out = tmp_path / "out.json"
    run_id = launch(instance, out, sleep=60)
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:  # the op is running
        time.sleep(0.1)
    assert instance.run_launcher.terminate(run_id)
    run = wait(instance, run_id)
    assert run.status == dg.DagsterRunStatus.CANCELED
    assert not instance.run_launcher.terminate(run_id)  # finished: nothing to stop
