"""One ConfigurableResource per external system. Typed fields; secrets only via EnvVar."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from data.data_registry import DataRegistry
from data.home import HomeLayout


class RuntimeHomeResource(dg.ConfigurableResource):
    """The runtime home's folders: landing zone, quarantine, reports, caches."""

    path: str = Field(description="Absolute path of $DRIFTWISE_HOME.")

    @property
    def root(self) -> Path:
        return Path(self.path)

    @property
    def layout(self) -> HomeLayout:
        return HomeLayout(self.root)


class DataRegistryResource(dg.ConfigurableResource):
    """The DVC data registry (git repo + DVC remote)."""

    root: str = Field(description="Registry work tree.")
    remote_url: str | None = Field(None, description="DVC remote URL; default a local folder.")
    endpoint_url: str | None = Field(None, description="S3 endpoint of an S3-compatible store.")

    def registry(self) -> DataRegistry:
        return DataRegistry(Path(self.root), self.remote_url, self.endpoint_url)


def model_name_for(dataset: str) -> str:
    """Each dataset has its own registered model (and so its own champion)."""
    return f"driftwise-{dataset}"


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking + registry. Default: embedded SQLite + file artifacts (no server)."""

    tracking_uri: str = Field(description="sqlite:///…/mlflow.db or an MLflow server URL.")
    artifact_location: str | None = Field(None, description="Artifact root for new experiments.")
    experiment_name: str = "driftwise-training"
    registered_model_name: str = "driftwise-sentiment"

    @classmethod
    def embedded(cls, home: Path, dataset: str = "sentiment") -> "MlflowResource":
        """The no-server default; the registered model is named after the dataset."""
        from models.tracking import TrackingConfig

        config = TrackingConfig.embedded(home, registered_model_name=model_name_for(dataset))
        return cls(**config.model_dump())

    def config(self):  # type: ignore[no-untyped-def]
        from models.tracking import TrackingConfig

        return TrackingConfig(**self.model_dump())


class TriggerPolicyResource(dg.ConfigurableResource):
    """When automatic retrains may start (read by the retrain sensors and schedules)."""

    cooldown_s: int = Field(
        default=1800, description="No retrain within this long of the last one."
    )
    performance_floor: float = Field(
        default=0.70, description="Retrain when live (or estimated) accuracy falls below this."
    )
    min_feedback: int = Field(
        default=100, description="Feedback labels needed to trust live accuracy."
    )
    new_labelled_rows: int = Field(
        default=2000, description="New labelled rows that justify a retrain."
    )
    floor_days: int = Field(
        default=7, description="The schedule retrains if none ran in this many days."
    )


class ServingResource(dg.ConfigurableResource):
    """The running `bentoml serve` of this home: its admin API (traffic split, roles).

    `url` empty = the server `driftwise serve --detach` started for this home (its pid
    file), if it is alive; the token is $DRIFTWISE_ADMIN_TOKEN or the home's token file.
    """

    home: str = Field(description="Absolute path of $DRIFTWISE_HOME.")
    url: str = Field(default="", description="Service URL; empty = this home's background server.")
    timeout_s: float = Field(default=10.0, gt=0)
    canary: bool = Field(
        default=True,
        description="A gate-passed challenger goes live through the staged canary when a "
        "champion is being served; false (or nothing served) = promote at the gate.",
    )

    def client(self):  # type: ignore[no-untyped-def]
        """An AdminClient, or None when no server of this home is running."""
        from bento.admin_client import AdminClient
        from bento.state import admin_token, server_url

        url = self.url or server_url(Path(self.home))
        if not url:
            return None
        return AdminClient(url, admin_token(Path(self.home)), self.timeout_s)

    def roles(self) -> dict | None:
        """What the service serves ({champion_version, challenger_version, mode, weight}),
        or None when it cannot be reached."""
        return self.router().roles()

    def router(self):  # type: ignore[no-untyped-def]
        """The service as the rollout controller's router (orchestration/router.py)."""
        from orchestration.router import HomeRouter

        return HomeRouter.of(Path(self.home), self.url, self.timeout_s)


class AnnotationResource(dg.ConfigurableResource):
    """The annotation server (Label Studio) of this home: `driftwise label up` starts it;
    its token and annotator salt are files under `<home>/label-studio/`."""

    home: str = Field(description="Absolute path of $DRIFTWISE_HOME.")
    port: int = Field(default=8089, ge=1024, le=65535)
    venv: str | None = Field(default=None, description="Its venv; unset = under the home.")
    database_url: str | None = Field(
        default=None, description="postgresql://… of its database; unset = SQLite in the home."
    )

    def server(self):  # type: ignore[no-untyped-def]
        from orchestration.annotation.server import LabelStudioServer

        layout = HomeLayout(Path(self.home))
        venv = Path(self.venv) if self.venv else None
        return LabelStudioServer(
            layout.label_studio, self.port, venv=venv, database_url=self.database_url
        )

    def push_waiting(self, spec, labels: list[str] | None):  # type: ignore[no-untyped-def]
        """Push every waiting queue (loop.Pushed), or None when the server is down (they
        wait on disk; nothing is lost)."""
        from orchestration.annotation.client import AnnotationServerDown
        from orchestration.annotation.loop import push_waiting

        try:
            return push_waiting(HomeLayout(Path(self.home)), self.server().client(), spec, labels)
        except AnnotationServerDown:
            return None
