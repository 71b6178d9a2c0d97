"""Jobs for tests/orchestration/test_launcher.py (module level, so runs can reconstruct them)."""

import json
import os
import sys
import time

import dagster as dg

PRELOAD = "tests.orchestration.launcher_preload"


class Out(dg.Config):
    path: str
    sleep: float = 0.0
    fail: bool = False


@dg.op
def report(config: Out) -> None:
    """Write where this op ran and whether the preload module came from the parent."""
    module = sys.modules.get(PRELOAD)
    with open(config.path, "w") as fh:
        json.dump(
            {
                "pid": os.getpid(),
                "preloaded_in": getattr(module, "LOADED_IN_PID", None),
            },
            fh,
        )
    time.sleep(config.sleep)
    if config.fail:
        raise RuntimeError("this op fails on purpose")


@dg.job(executor_def=dg.in_process_executor)  # the step runs in the run worker itself
def report_job() -> None:
    report()
