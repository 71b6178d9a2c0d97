"""What the CLI says about Dagster runs: a failed run as something a person can act on
(the failed step, its error's first lines, the command that shows the rest), the last runs
of the loop's jobs, and whether a daemon is alive to run the sensors.

Read from the instance's own records (run status, STEP_FAILURE / RUN_FAILURE events, daemon
heartbeats), so the answer is the same whoever launched the run: the CLI, a sensor, the UI.
"""

import time
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

# A daemon writes a heartbeat every ~20 s; older than this, nobody is running sensors.
HEARTBEAT_STALE_S = 90.0
ERROR_LINES = 3


@dataclass(eq=False)  # an exception: identity, not value, equality
class RunFailed(Exception):
    """A run the loop depends on did not succeed: its job, failed steps and their errors."""

    run_id: str
    job: str
    status: str
    steps: list[tuple[str, str]] = field(default_factory=list)  # (step key, error head)
    log_hint: str = ""

    def __str__(self) -> str:
        where = ", ".join(step for step, _ in self.steps) or "(no step failed: the run itself)"
        lines = [f"the {self.job} run {self.run_id[:8]} ended {self.status} at {where}"]
        for step, error in self.steps:
            lines.append(f"  {step}: {error}")
        lines.append(f"the whole error: `driftwise explain {self.run_id[:8]}`{self.log_hint}")
        return "\n".join(lines)


def _head(message: str, lines: int = ERROR_LINES) -> str:
    kept = [line for line in message.strip().splitlines() if line.strip()][:lines]
    return "\n    ".join(kept)


def _root(error: Any) -> Any:
    """The user code's own error inside Dagster's "error occurred while executing" wrapper."""
    while error.cause is not None and error.cls_name.startswith("Dagster"):
        error = error.cause
    return error


def failures(
    instance: dg.DagsterInstance, run_id: str, lines: int = ERROR_LINES, stack: bool = False
) -> list[tuple[str, str]]:
    """(step key, first `lines` lines of the root error) per failed step, then a run-level
    failure (a worker that died has no step failure) if the run has one; `stack` adds the
    whole chain with its stack traces."""
    found: list[tuple[str, str]] = []
    events = instance.all_logs(
        run_id, of_type={dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}
    )
    for entry in events:
        event = entry.dagster_event
        if event is None:
            continue
        error = getattr(event.event_specific_data, "error", None)
        if error is None:
            text = event.message or ""
        else:
            text = _root(error).message + ("\n" + error.to_string() if stack else "")
        if event.event_type == dg.DagsterEventType.RUN_FAILURE and found:
            continue  # "steps failed": already said, step by step
        found.append((event.step_key or "run", _head(text, lines)))
    return found


def run_failed(instance: dg.DagsterInstance, run: dg.DagsterRun, log_hint: str = "") -> RunFailed:
    return RunFailed(
        run.run_id, run.job_name, run.status.value, failures(instance, run.run_id), log_hint
    )


def find_run(instance: dg.DagsterInstance, prefix: str) -> dg.DagsterRun | None:
    """The run whose id starts with `prefix` (the CLI prints 8 characters); None if no run
    or several do."""
    if len(prefix) < 4:
        return None
    run = instance.get_run_by_id(prefix)
    if run is not None:
        return run
    matches = [r for r in instance.get_runs(limit=500) if r.run_id.startswith(prefix)]
    return matches[0] if len(matches) == 1 else None


def daemon_alive(instance: dg.DagsterInstance, now: float | None = None) -> bool:
    """A dagster-daemon (ours, or `make dagster`'s) wrote a heartbeat lately."""
    beats = instance.get_daemon_heartbeats()
    if not beats:
        return False
    latest = max(beat.timestamp for beat in beats.values())
    return (now or time.time()) - latest < HEARTBEAT_STALE_S


def last_run(instance: dg.DagsterInstance, job: str) -> dg.DagsterRun | None:
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=job), limit=1)
    return runs[0] if runs else None


def describe(instance: dg.DagsterInstance, run: dg.DagsterRun | None) -> str | None:
    """One line for `driftwise status`: id, status, why it ran and, if it failed, where."""
    if run is None:
        return None
    why = run.tags.get("dagster/sensor_name") or run.tags.get("driftwise/trigger") or "manual"
    line = f"{run.run_id[:8]} {run.status.value} ({why})"
    if run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
        steps = failures(instance, run.run_id, lines=1)
        if steps:
            step, error = steps[0]
            line += f": {step}: {error}"
        line += f" - `driftwise explain {run.run_id[:8]}`"
    return line


ORPHAN_MESSAGE = (
    "its process was killed with the `driftwise run` that owned it (SIGKILL or a lost "
    "terminal); the next `driftwise run` marked it failed and goes on"
)
UNFINISHED = (
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.CANCELING,
)


def fail_orphans(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Mark failed the runs left running when the processes that ran them were killed
    (call it only after killing them: see orchestration/cli/daemon.stop_stale). Without it
    they stay STARTED forever, and the loop would wait on them."""
    orphans = list(instance.get_runs(filters=dg.RunsFilter(statuses=list(UNFINISHED))))
    for run in orphans:
        instance.report_run_failed(run, ORPHAN_MESSAGE)
    return orphans


def recovery_tags(run: dg.DagsterRun) -> dict[str, str]:
    """The tags to run an orphaned run's job again with: its own (why it ran), not
    Dagster's bookkeeping, plus where the new run came from."""
    tags = {k: v for k, v in run.tags.items() if not k.startswith(("dagster/", ".dagster"))}
    return {**tags, "driftwise/recovers": run.run_id}
