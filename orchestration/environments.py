"""Resource sets per environment, chosen in one place.

local: everything embedded under the runtime home (SQLite, a local DVC remote).
prod:  the same resources pointed at real services through environment variables
       (e.g. DRIFTWISE_DVC_REMOTE_URL=s3://bucket/driftwise), never hard-coded secrets.
"""

from collections.abc import Callable
from typing import Any

import dagster as dg

from orchestration.resources import (
    AnnotationResource,
    DataRegistryResource,
    MlflowResource,
    RuntimeHomeResource,
    ServingResource,
    TriggerPolicyResource,
    model_name_for,
)
from orchestration.settings import DriftwiseSettings


def _local(settings: DriftwiseSettings) -> dict[str, Any]:
    return {
        "home": RuntimeHomeResource(path=str(settings.root)),
        "registry": DataRegistryResource(
            root=str(settings.layout.registry),
            remote_url=settings.dvc_remote_url,
            endpoint_url=settings.dvc_remote_endpoint_url,
        ),
        # The dataset spec is a plain value (pydantic, validated when settings load), handed
        # to assets as `ResourceParam[DatasetSpec]`: no Dagster copy of its fields to drift.
        "dataset": settings.dataset,
        "mlflow": MlflowResource.embedded(settings.root, settings.dataset.name),
        "trigger_policy": TriggerPolicyResource(cooldown_s=settings.retrain_cooldown_s),
        "serving": ServingResource(home=str(settings.root), canary=settings.canary),
        "rollout_policy": settings.rollout,  # a plain validated value, like the dataset spec
        "annotation": AnnotationResource(
            home=str(settings.root),
            port=settings.annotation.port,
            venv=str(settings.annotation.venv) if settings.annotation.venv else None,
            database_url=settings.annotation.database_url,
        ),
        "review_policy": settings.annotation.review,
    }


def _prod(settings: DriftwiseSettings) -> dict[str, Any]:
    resources = _local(settings)
    resources["registry"] = DataRegistryResource(
        root=str(settings.layout.registry),
        remote_url=dg.EnvVar("DRIFTWISE_DVC_REMOTE_URL"),
        endpoint_url=settings.dvc_remote_endpoint_url,  # optional: AWS itself needs none
    )
    resources["mlflow"] = MlflowResource(
        tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI"),
        artifact_location=None,  # the tracking server decides
        registered_model_name=model_name_for(settings.dataset.name),
    )
    return resources


RESOURCE_SETS: dict[str, Callable[[DriftwiseSettings], dict[str, Any]]] = {
    "local": _local,
    "prod": _prod,
}


def get_resources(settings: DriftwiseSettings) -> dict[str, Any]:
    if settings.env not in RESOURCE_SETS:
        raise ValueError(f"DRIFTWISE_ENV={settings.env!r}; expected one of {list(RESOURCE_SETS)}")
    return RESOURCE_SETS[settings.env](settings)
