"""The layout of the runtime home ($DRIFTWISE_HOME): the one place that names its folders.

In the lowest layer (`data/`), so every layer above - models, evaluation, bento, assets,
orchestration - takes its paths from here instead of spelling them again.
"""

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
        """Downloaded data, exported model runtimes (ONNX) and the embedding cache."""
        return self.root / "cache"

    @property
    def embeddings(self) -> Path:
        """MiniLM vectors by row id and runtime (models/embedding_cache.py), shared by stages."""
        return self.cache / "embeddings"

    @property
    def model_imports(self) -> Path:
        """Registered MLflow versions downloaded for import into the BentoML store."""
        return self.cache / "models"

    @property
    def mlflow(self) -> Path:
        """The embedded MLflow store: `mlflow.db` (SQLite) and `artifacts/`."""
        return self.root / "mlflow"

    @property
    def bentoml(self) -> Path:
        """BENTOML_HOME: the Bento and model store."""
        return self.root / "bentoml"

    @property
    def serving(self) -> Path:
        """What the service serves (bento/state.py's state file)."""
        return self.root / "serving"

    @property
    def rollout(self) -> Path:
        """The live canary's state, lock and pending moves (evaluation/rollout/store.py)."""
        return self.root / "rollout"

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
    def canary_plots(self) -> Path:
        """Each rollout's timeline plot, `<rollout id>.png`."""
        return self.reports / "canary"

    @property
    def review(self) -> Path:
        """The label loop: review queues, the harvest ledger (orchestration/annotation/loop.py)."""
        return self.root / "review"

    @property
    def label_studio(self) -> Path:
        """The annotation server: its venv, data, API token (orchestration/annotation/server.py)."""
        return self.root / "label-studio"

    @property
    def training(self) -> Path:
        return self.root / "training"
