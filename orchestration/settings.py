"""One typed settings object for the whole platform (env prefix `DRIFTWISE_`).

Sources, highest priority first: environment variables (`DRIFTWISE_HOME`,
`DRIFTWISE_DATASET__TEXT_COLUMN`, … nested with `__`), then `driftwise.toml` in the working
directory, then the defaults below (the embedded, offline setup). Nothing is read at import:
call `load_settings()`.
"""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from data.data_registry import DataRegistry
from data.home import HomeLayout
from data.schema import DatasetSpec
from evaluation.review.policy import ReviewPolicy
from evaluation.rollout.policy import RolloutPolicy


class AnnotationSettings(BaseModel):
    """The annotation server `driftwise label up` starts, and what the review queue takes."""

    model_config = ConfigDict(extra="forbid")

    port: int = Field(8089, ge=1024, le=65535, description="Label Studio's port on 127.0.0.1.")
    venv: Path | None = Field(
        None,
        description="Label Studio's own virtual environment; unset = <home>/label-studio/venv "
        "(installed by `driftwise label up` on first use).",
    )
    database_url: str | None = Field(
        None,
        pattern=r"^postgresql://[^/@\s]+(:[^@\s]*)?@[^/:\s]+(:\d+)?/[A-Za-z0-9_-]+$",
        description="Label Studio's database: postgresql://USER[:PASSWORD]@HOST[:PORT]/DB "
        "(the prod profile's; `driftwise prod up` exports it). Unset = SQLite under "
        "<home>/label-studio/data.",
    )
    review: ReviewPolicy = Field(default_factory=ReviewPolicy)


class DriftwiseSettings(BaseSettings):
    """Where state lives and what the data looks like."""

    model_config = SettingsConfigDict(
        env_prefix="DRIFTWISE_",
        env_nested_delimiter="__",
        toml_file="driftwise.toml",
        extra="forbid",
    )

    env: str = Field("local", description="Resource set: 'local' (embedded) or 'prod'.")
    home: Path = Field(Path(".driftwise"), description="Runtime home: all state lives here.")
    dvc_remote_url: str | None = Field(
        None, description="DVC remote (s3://, gs://, path). Default: <home>/dvc-remote."
    )
    dvc_remote_endpoint_url: str | None = Field(
        None,
        description="S3 endpoint of an S3-compatible store (MinIO, Ceph, the local stand-in); "
        "unset = AWS. Credentials come from the usual AWS_* variables, never from here.",
    )
    celery_broker_url: str | None = Field(
        None,
        description="prod: launched runs fan their steps out to dagster-celery workers through "
        "this broker (redis://, amqp://); unset = steps run in the run's own process.",
    )
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    retrain_cooldown_s: int = Field(1800, ge=0, description="Minimum gap between retrains.")
    canary: bool = Field(
        True,
        description="A gate-passed challenger goes live through the staged canary when a "
        "champion is being served; false (or nothing served) = promote at the gate.",
    )
    rollout: RolloutPolicy = Field(default_factory=RolloutPolicy)
    annotation: AnnotationSettings = Field(default_factory=AnnotationSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def root(self) -> Path:
        return self.home.resolve()

    @property
    def layout(self) -> HomeLayout:
        return HomeLayout(self.root)

    def data_registry(self) -> DataRegistry:
        """The DVC registry of this home, pushing to the configured remote."""
        return DataRegistry(self.layout.registry, self.dvc_remote_url, self.dvc_remote_endpoint_url)


def load_settings() -> DriftwiseSettings:
    return DriftwiseSettings()
