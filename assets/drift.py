"""Drift: is incoming data still like the champion's training data? (Evidently reports.)

`drift_report` runs per landed batch (in the ingest job, right after ingestion), on the
accepted rows and - where repeats were quarantined - on the received rows too;
`traffic_drift_report` runs on a window of the serving log. Both write the Evidently HTML and
a JSON summary under `$DRIFTWISE_HOME/reports/drift/` (evaluation.drift.run), whose id the
drift sensor puts on the retrain run it starts. The reference is found through the model
registry (evaluation.drift.reference), not through the asset graph: drift judges new data
against whatever model serves now.
"""

from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from assets.ingestion import batch_partitions, ingested_batch
from bento.prediction_log import read_prediction_window
from data.batch_tags import batch_table_path, current_tag
from data.quarantine import received_rows
from data.schema import ROW_ID, TEXT, DatasetSpec
from evaluation.drift.config import DriftConfig
from evaluation.drift.reference import Reference, find_reference
from evaluation.drift.run import run_drift_check
from models.embedding_cache import cached_embedder
from orchestration.resources import DataRegistryResource, MlflowResource, RuntimeHomeResource

REPORT_DIR = "reports/drift"
# Received rows are checked separately only when they differ from the accepted ones by at
# least this share (a second check costs as much as the first).
RECEIVED_CHECK_MIN_SHARE = 0.05


class DriftCheckConfig(dg.Config):
    """Drift check knobs (see evaluation/drift/config.py for the statistics)."""

    min_samples: int = Field(
        200, ge=20, description="Below this on either side: insufficient_data."
    )
    sample_size: int = Field(1000, ge=20, description="Equal seeded subsample per side.")
    min_drifted_signals: int = Field(
        1, ge=1, le=4, description="Signals that must drift for a verdict."
    )
    seed: int = 0
    encoder_variant: str = Field(
        "torch-fp32",
        description="MiniLM runtime of the embedding signal (models/encoder_runtime.py). "
        "torch-fp32 reuses training's embeddings of the reference rows; onnx-int8 embeds "
        "new texts ~3x faster into its own cache namespace.",
    )

    def to_drift_config(self, effect_floors: dict[str, float] | None = None) -> DriftConfig:
        # The launchpad exposes these four knobs, the dataset its effect floors; every other
        # statistic keeps its default.
        floors: dict[str, float] = {**DriftConfig().effect_floors, **(effect_floors or {})}
        return DriftConfig(
            min_samples=self.min_samples,
            sample_size=self.sample_size,
            min_drifted_signals=self.min_drifted_signals,
            seed=self.seed,
            effect_floors=floors,
        )


def serving_reference(
    mlflow: MlflowResource, registry: DataRegistryResource, home: RuntimeHomeResource
) -> Reference | None:
    return find_reference(
        mlflow.config(), mlflow.registered_model_name, registry.registry(), home.layout.cache
    )


def _check(
    current: pd.DataFrame,
    reference: Reference | None,
    config: DriftCheckConfig,
    home: RuntimeHomeResource,
    name: str,
    effect_floors: dict[str, float] | None = None,
) -> tuple[dict[str, Any], Path | None]:
    from models.encoder_runtime import VARIANTS

    if config.encoder_variant not in VARIANTS:
        raise ValueError(
            f"encoder_variant {config.encoder_variant!r} is not one of {list(VARIANTS)}"
        )
    embed = cached_embedder(home.layout.embeddings, variant=config.encoder_variant)
    out_dir = home.root / REPORT_DIR
    cfg = config.to_drift_config(effect_floors)
    return run_drift_check(current, reference, cfg, embed, out_dir, name)


def _interval(signal: dict[str, Any]) -> str:
    low, high = signal.get("effect_low"), signal.get("effect_high")
    return "" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"


def drift_metadata(summary: dict[str, Any], html: Path | None) -> dict[str, Any]:
    signals = summary.get("signals", {})
    table = pd.DataFrame(
        [
            {
                "signal": k,
                "effect": round(v["score"], 4),
                "95% interval": _interval(v),
                "floor": v.get("effect_floor"),
                "p_value": v.get("p_value"),
                "alpha": v.get("alpha"),
                "significant": v.get("significant", v["drifted"]),
                "drifted": v["drifted"],
            }
            for k, v in signals.items()
        ]
    )
    md: dict[str, Any] = {
        "verdict": summary["verdict"],
        "report_id": summary["report_id"],
        "drifted_signals": ", ".join(k for k, v in signals.items() if v["drifted"]) or "none",
        "shift": summary.get("shift_reason", "no shift"),
        "reference_match": summary.get("reference_match", {}).get("reason", "none"),
        "signals": dg.MetadataValue.md(
            table.to_markdown(index=False) if len(table) else summary.get("reason", "_no signals_")
        ),
        "reference": summary.get("reference_model", "none"),
        "reference_snapshot": summary.get("reference_snapshot", ""),
    }
    for name, sig in signals.items():
        md[f"score/{name}"] = round(float(sig["score"]), 4)
    if html is not None:
        md["report_html"] = dg.MetadataValue.path(str(html))
    return md


def _check_result(summary: dict[str, Any], check_name: str, asset: str) -> dg.AssetCheckResult:
    signals = summary.get("signals", {})
    return dg.AssetCheckResult(
        check_name=check_name,
        asset_key=dg.AssetKey(asset),
        passed=summary["verdict"] != "drift",
        severity=dg.AssetCheckSeverity.WARN,  # a warning: the drift sensor acts on it
        metadata={
            "verdict": summary["verdict"],
            **{f"{k}/score": round(float(v["score"]), 4) for k, v in signals.items()},
            **{f"{k}/threshold_alpha": v.get("alpha") for k, v in signals.items()},
        },
    )


@dg.asset(
    group_name="drift",
    kinds={"evidently"},
    partitions_def=batch_partitions,
    deps=[ingested_batch],
    check_specs=[dg.AssetCheckSpec("check_no_drift", asset="drift_report")],
)
def drift_report(
    context: dg.AssetExecutionContext,
    config: DriftCheckConfig,
    home: RuntimeHomeResource,
    registry: DataRegistryResource,
    mlflow: MlflowResource,
    dataset: dg.ResourceParam[DatasetSpec],
):
    """This batch vs the champion's data in the batch's domain mix: text, descriptors,
    embeddings, predictions (+ labels). The verdict is on accepted rows (what enters
    training); the received rows (accepted + quarantined repeats) are reported beside it."""
    batch = context.partition_key
    reg = registry.registry()
    tag = current_tag(reg, batch)  # a re-ingested batch's newest revision
    if tag is not None:
        current = reg.read_table(batch_table_path(batch), rev=tag)
    else:  # nothing accepted (or file quarantined): no rows to judge
        current = pd.DataFrame({ROW_ID: [], TEXT: []})
    reference = serving_reference(mlflow, registry, home)
    floors = dataset.drift_effect_floors
    summary, html = _check(current, reference, config, home, batch, floors)
    context.log.info("drift %s: %s (%s)", batch, summary["verdict"], summary.get("shift_reason"))
    metadata = drift_metadata(summary, html)
    received = received_rows(current, home.layout.quarantine / batch, dataset)
    metadata["rows_accepted"] = len(current)
    metadata["rows_received_judged"] = len(received)
    extra = len(received) - len(current)
    if reference is not None and extra >= RECEIVED_CHECK_MIN_SHARE * max(len(received), 1):
        on_received, _ = _check(received, reference, config, home, f"{batch}-received", floors)
        metadata["received_verdict"] = on_received["verdict"]
        metadata["received_shift"] = on_received.get("shift_reason", "no shift")
        metadata["received_report_id"] = on_received["report_id"]
    else:
        metadata["received_verdict"] = (
            "same rows as accepted"
            if not extra
            else f"not checked: {extra} repeats (< {RECEIVED_CHECK_MIN_SHARE:.0%} of received)"
        )
    yield dg.MaterializeResult(metadata=metadata)
    yield _check_result(summary, "check_no_drift", "drift_report")


class TrafficWindowConfig(DriftCheckConfig):
    """Which part of the serving log is "current"."""

    window_records: int = Field(2000, description="Most recent prediction-log records used.")


@dg.asset(
    group_name="drift",
    kinds={"evidently"},
    check_specs=[dg.AssetCheckSpec("check_no_traffic_drift", asset="traffic_drift_report")],
)
def traffic_drift_report(
    context: dg.AssetExecutionContext,
    config: TrafficWindowConfig,
    home: RuntimeHomeResource,
    registry: DataRegistryResource,
    mlflow: MlflowResource,
    dataset: dg.ResourceParam[DatasetSpec],
):
    """The latest window of the serving log vs the champion's training data."""
    current = read_prediction_window(home.layout.prediction_log, config.window_records)
    reference = serving_reference(mlflow, registry, home)
    name = f"traffic-window-{len(current)}"
    summary, html = _check(current, reference, config, home, name, dataset.drift_effect_floors)
    context.log.info("traffic drift over %d records: %s", len(current), summary["verdict"])
    yield dg.MaterializeResult(
        metadata={**drift_metadata(summary, html), "window_records": len(current)}
    )
    yield _check_result(summary, "check_no_traffic_drift", "traffic_drift_report")
