"""Run workers forked from a warm process, so a small run does not pay its imports again.

Why: Dagster's DefaultRunLauncher has the code server start `dagster api execute_run` in a new
interpreter for every run, which then imports Dagster, our Definitions and, inside the steps,
Evidently, transformers and torch: ~10 s before a 100-row batch's drift check does any work
(bench/tiny_batch.py: 16-21 s for the whole run, against ~2.5 s in a warm process).

`WarmRunLauncher` keeps one multiprocessing *forkserver* per launching process (the daemon,
or the web UI when a person launches a run). The forkserver is a clean interpreter that
imports `preload` once (`orchestration.warm`: the Definitions and the heavy libraries),
before any thread or model exists, and forks a child per run. Each child runs the run exactly
as `dagster api execute_run` does (`_execute_run_command_body`, the same function), so events,
logs, retries and run status are Dagster's own. Forking from a single-threaded server, not
from the daemon (which runs gRPC and sensor threads), is what makes fork safe here.

Trade-offs, stated: a code change reaches runs when the daemon restarts (the forkserver holds
the old modules, as a code server does until it reloads); termination sends SIGINT to the
worker's pid, so it works from the machine that launched the run (the pid and host are run
tags). The local profile only: in prod, runs belong to the platform's launcher (k8s, ECS).
"""

import multiprocessing
import os
import signal
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import Array, Field, Noneable, StringSource
from dagster._core.launcher.base import LaunchRunContext, RunLauncher
from dagster._serdes import ConfigurableClass, ConfigurableClassData, serialize_value

PID_TAG = "driftwise/run_worker_pid"
HOST_TAG = "driftwise/run_worker_host"
DEFAULT_PRELOAD = ("orchestration.warm",)


def run_worker(run_id: str, instance_ref: str) -> None:
    """The forked child: execute one run as `dagster api execute_run` would."""
    from dagster import DagsterInstance
    from dagster._cli.api import _execute_run_command_body
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes import deserialize_value
    from dagster._utils.interrupts import capture_interrupts

    with capture_interrupts():
        ref = deserialize_value(instance_ref, InstanceRef)
        with DagsterInstance.from_ref(ref) as instance:
            _execute_run_command_body(
                run_id, instance, lambda _event: None, set_exit_code_on_failure=False
            )


class WarmRunLauncher(RunLauncher, ConfigurableClass):
    """Launch each run in a child forked from a forkserver that preloaded `preload`."""

    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        preload: Sequence[str] | None = None,
    ) -> None:
        self._inst_data = inst_data
        self.preload = list(DEFAULT_PRELOAD if preload is None else preload)
        self._context: Any = None
        self._workers: dict[str, Any] = {}
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"preload": Field(Noneable(Array(StringSource)), is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> "WarmRunLauncher":
        return cls(inst_data=inst_data, preload=config_value.get("preload"))

    def _forkserver(self) -> Any:
        if self._context is None:
            context = multiprocessing.get_context("forkserver")
            # Process-wide (one forkserver per process), and read when the server starts:
            # at this process's first launch.
            context.set_forkserver_preload(self.preload)
            self._context = context
        return self._context

    def _reap(self) -> None:
        for run_id, proc in list(self._workers.items()):
            if not proc.is_alive():
                proc.join(0)
                proc.close()
                del self._workers[run_id]

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        self._reap()
        proc = self._forkserver().Process(
            target=run_worker,
            args=(run.run_id, serialize_value(self._instance.get_ref())),
            name=f"dagster-run-{run.run_id[:8]}",
        )
        proc.start()
        self._workers[run.run_id] = proc
        self._instance.add_run_tags(
            run.run_id, {PID_TAG: str(proc.pid), HOST_TAG: socket.gethostname()}
        )

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        pid = run.tags.get(PID_TAG)
        if not pid or run.tags.get(HOST_TAG) != socket.gethostname():
            self._instance.report_engine_event(
                "Cannot terminate: the run worker was not started on this host.", run
            )
            return False
        self._instance.report_run_canceling(run)
        try:
            os.kill(int(pid), signal.SIGINT)  # capture_interrupts -> the run ends CANCELED
        except ProcessLookupError:
            return False
        return True

    def join(self, timeout: int = 30) -> None:
        for proc in self._workers.values():
            proc.join(timeout)
        self._reap()
