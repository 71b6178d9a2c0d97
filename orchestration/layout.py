"""The layout of the runtime home ($DRIFTWISE_HOME): the one place that names its folders."""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HomeLayout:
    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def registry(self) -> Path:
        return self.root / "registry"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def prediction_log(self) -> Path:
        return self.root / "prediction_log"

    @property
    def batch_predictions(self) -> Path:
        """`batch_predictions` asset output: one Parquet file per scored batch."""
        return self.root / "predictions"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def daemon_log(self) -> Path:
        """The dagster-daemon + code server log (a run's pair and a kept one alike)."""
        return self.logs / "dagster-daemon.log"

    @property
    def decisions(self) -> Path:
        return self.root / "decisions"

    @property
    def training(self) -> Path:
        return self.root / "training"
