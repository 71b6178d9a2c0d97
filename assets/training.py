"""Training: a challenger (fast + accurate tiers) from the latest snapshot, in MLflow."""

from pathlib import Path

import dagster as dg
import pandas as pd
from filelock import FileLock
from pydantic import Field, field_validator

from data.golden_set import GOLDEN_PATH, GoldenRef
from data.schema import DOMAIN, SPLIT
from data.snapshot import SnapshotRef
from models.candidate import CandidateRef
from models.choices import Accelerator, AccurateMode
from models.lexical_policy import LexicalSetting
from models.lineage import (
    CONFIG_HASH,
    DAGSTER_RUN_ID,
    GIT_COMMIT,
    RUN_TAG_TRIGGER,
    SNAPSHOT_SHA256,
    SNAPSHOT_TAG,
    TRIGGER,
    commit_tag,
)
from orchestration.resources import DataRegistryResource, MlflowResource, RuntimeHomeResource


class TrainConfig(dg.Config):
    """Launchpad knobs for a retrain. Defaults fit a 2-core CPU; a GPU is used when present."""

    tiers: list[str] = Field(["fast", "accurate"], description="Tiers to train: fast, accurate.")
    fast_max_epochs: int = Field(10, ge=1, description="Epoch cap, fast tier (early stopping).")
    accurate_max_epochs: int = Field(20, ge=1, description="Epoch cap, accurate tier.")
    # Literal types: a launchpad typo fails when Dagster builds the step's config, before
    # anything is read or trained, with the allowed values.
    accurate_mode: AccurateMode = Field(
        "auto", description="auto (fine-tune on GPU, frozen encoder on CPU), frozen, finetune."
    )
    accurate_lexical: LexicalSetting = Field(
        "auto",
        description="Accurate tier: a hashed n-gram bag beside the encoder (models.spec). "
        "auto: on when the training split covers every domain of the golden set "
        "(models.lexical_policy); on; off.",
    )
    accelerator: Accelerator = Field("auto", description="auto, cpu or gpu.")
    devices: str = Field("auto", description="Lightning devices: auto, 1, 2, …")
    strategy: str = Field("auto", description="Lightning strategy: auto, ddp, …")
    seed: int = Field(0, description="Fixes data order and init: a CPU rerun gives equal metrics.")
    progress_bar: bool = Field(
        False, description="Lightning's progress bar on stderr (off by default: it floods logs)."
    )

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, value: list[str]) -> list[str]:
        unknown = set(value) - {"fast", "accurate"}
        if not value or unknown:
            raise ValueError(f"tiers must be a non-empty subset of fast, accurate; got {value}")
        return value


def _domains(frame: pd.DataFrame) -> list[object]:
    """The domain column's values (none for a dataset without one)."""
    return frame[DOMAIN].tolist() if DOMAIN in frame.columns else []


@dg.asset(group_name="training", kinds={"pytorch", "mlflow"})
def candidate_model(
    context: dg.AssetExecutionContext,
    config: TrainConfig,
    training_snapshot: SnapshotRef,
    golden_set: GoldenRef,
    registry: DataRegistryResource,
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
) -> dg.Output[CandidateRef]:
    """Challenger retrained on the latest snapshot; registered in MLflow with alias challenger."""
    from models.lexical_policy import LexicalChoice, choose_lexical
    from models.spec import TrainSpec
    from models.tracking import track_candidate
    from models.training import train

    reg = registry.registry()
    snapshot = reg.read_table(training_snapshot.path, rev=training_snapshot.tag)
    # Whether the accurate tier trains wide depends on what the gate will judge it on; the
    # golden set is read only when that question is asked (auto, accurate tier trained).
    lexical = LexicalChoice(False, "no accurate tier in this run")
    if "accurate" in config.tiers:
        auto = config.accurate_lexical == "auto"
        lexical = choose_lexical(
            config.accurate_lexical,
            _domains(snapshot[snapshot[SPLIT] == "train"]),
            _domains(reg.read_table(GOLDEN_PATH, rev=golden_set.tag)) if auto else [],
        )
        context.log.info("accurate tier lexical bag %s", lexical.reason)
    lineage = {
        SNAPSHOT_TAG: training_snapshot.tag,
        SNAPSHOT_SHA256: training_snapshot.sha256,
        GIT_COMMIT: commit_tag(),
        DAGSTER_RUN_ID: context.run_id,
        TRIGGER: context.run.tags.get(RUN_TAG_TRIGGER, "manual"),
    }
    results = []
    for tier in config.tiers:
        devices: int | str = int(config.devices) if config.devices.isdigit() else config.devices
        spec = TrainSpec.model_validate(  # `tier` checked against TrainSpec's Literal
            {
                "tier": tier,
                "max_epochs": config.fast_max_epochs
                if tier == "fast"
                else config.accurate_max_epochs,
                "accurate_mode": config.accurate_mode,
                "lexical": lexical.lexical,
                "accelerator": config.accelerator,
                "devices": devices,
                "strategy": config.strategy,
                "seed": config.seed,
            }
        )
        work_dir = (
            home.layout.training / training_snapshot.sha256[:12] / f"{tier}-{spec.fingerprint()}"
        )
        context.log.info("training %s tier in %s", tier, work_dir)
        # Two runs on the same snapshot and spec (a UI launch and a sensor run) share this
        # work dir; the lock makes them take turns instead of resuming each other's
        # checkpoints. The second one then resumes the finished run at once.
        work_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(work_dir / ".lock")):
            result = train(
                snapshot,
                spec,
                work_dir,
                cache_dir=home.layout.embeddings,
                progress=config.progress_bar,
                lineage={**lineage, CONFIG_HASH: spec.fingerprint()},
            )
        if result is None:  # only on non-zero ranks of an external DDP launch
            raise RuntimeError("training returned no result on rank 0")
        results.append(result)
    tags = {**lineage, CONFIG_HASH: "+".join(r.spec.fingerprint() for r in results)}
    tracked = track_candidate(
        results, mlflow.config(), tags=tags, run_name=f"candidate-{training_snapshot.sha256[:8]}"
    )
    assert tracked.model_version is not None and tracked.model_name is not None
    ref = CandidateRef(
        model_name=tracked.model_name,
        model_version=tracked.model_version,
        run_id=tracked.run_id,
        snapshot_tag=training_snapshot.tag,
        snapshot_sha256=training_snapshot.sha256,
        bundles={r.tier: str(r.bundle_dir) for r in results},
        val_macro_f1={r.tier: round(r.macro_f1, 4) for r in results},
    )
    metadata: dict = {
        "mlflow_run_id": tracked.run_id,
        "model": f"{tracked.model_name} v{tracked.model_version} @challenger",
        "snapshot_tag": training_snapshot.tag,
        "trigger": lineage[TRIGGER],
    }
    # `make mlflow` serves the UI here; the link works while it runs.
    metadata["mlflow_ui"] = dg.MetadataValue.url(
        f"http://127.0.0.1:5000/#/experiments/{tracked.experiment_id}/runs/{tracked.run_id}"
    )
    artifacts = Path(tracked.artifact_uri.removeprefix("file://"))
    for r in results:
        png = artifacts / "reports" / r.tier / "val_confusion.png"
        if png.exists():  # local artifact store: show the plot's file in the UI
            metadata[f"{r.tier}/confusion_matrix"] = dg.MetadataValue.path(str(png))
        metadata[f"{r.tier}/val_macro_f1"] = round(r.macro_f1, 4)
        metadata[f"{r.tier}/mode"] = r.mode
        metadata[f"{r.tier}/hardware"] = r.plan.accelerator + (
            "" if r.plan.precision == "32-true" else f" {r.plan.precision}"
        )
        metadata[f"{r.tier}/fit_seconds"] = round(r.fit_seconds, 1)
        metadata[f"{r.tier}/epochs"] = r.epochs_completed
        metadata[f"{r.tier}/samples_per_second"] = round(r.samples_per_second, 1)
        metadata[f"{r.tier}/bundle"] = dg.MetadataValue.path(str(r.bundle_dir))
        if r.tier == "accurate":
            metadata["accurate/lexical"] = lexical.reason
    return dg.Output(ref, metadata=metadata)
