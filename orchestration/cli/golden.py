"""`driftwise new-golden`: draw a new version of this dataset's carved golden set, explicitly.

Runs the `new_golden_version` job on the runtime home's instance; later retrains judge both
champion and challenger on the new version (the decision record names it).
"""

from typing import Any

import dagster as dg

from orchestration.definitions import build_definitions
from orchestration.settings import DriftwiseSettings


def _root_cause(result: dg.ExecuteInProcessResult) -> str:
    """The innermost error's message: Dagster wraps the step's exception in its own."""
    failure = next((e for e in result.all_events if e.is_step_failure), None)
    error = failure.step_failure_data.error if failure else None
    if error is None:
        return "see the run in the Dagster UI"
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def run_new_golden(settings: DriftwiseSettings) -> dict[str, Any]:
    """Returns the new golden_set materialisation's metadata (version, dvc_tag, rows)."""
    result = (
        build_definitions(settings)
        .resolve_job_def("new_golden_version")
        .execute_in_process(instance=dg.DagsterInstance.get(), raise_on_error=False)
    )
    if not result.success:
        raise RuntimeError(f"no new golden version: {_root_cause(result)}")
    md = result.asset_materializations_for_node("golden_set")[0].metadata
    return {k: v.value for k, v in md.items()}
