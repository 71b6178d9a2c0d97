"""Drift: is incoming data still like the champion's training data? (Evidently reports.)

`drift_report` runs per landed batch (in the ingest job, right after ingestion);
`traffic_drift_report` runs on a window of the serving log. Both write the Evidently HTML and
a JSON summary under `$DRIFTWISE_HOME/reports/drift/`, whose id the drift sensor puts on
the retrain run it starts.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from assets.ingestion import batch_partitions, ingested_batch
from data.ingest import BATCH_TAG_PREFIX, batch_table_path
from data.jsonl_log import read_jsonl_log
from data.schema import ROW_ID, SPLIT, TEXT, row_id
from data.snapshot import SNAPSHOT_PATH
from orchestration.resources import DataRegistryResource, MlflowResource, RuntimeHomeResource

REPORT_DIR = "reports/drift"


class DriftCheckConfig(dg.Config):
    """Drift check knobs (see evaluation/drift_config.py for the statistics)."""

    min_samples: int = Field(
        200, ge=20, description="Below this on either side: insufficient_data."
    )
    sample_size: int = Field(1000, ge=20, description="Equal seeded subsample per side.")
    min_drifted_signals: int = Field(
        1, ge=1, le=4, description="Signals that must drift for a verdict."
    )
    seed: int = 0


@dataclass(frozen=True)
class Reference:
    """What current data is compared with: the champion's (else challenger's) snapshot."""

    model: str  # "driftwise-sentiment@champion" …
    snapshot_tag: str
    frame: pd.DataFrame
    fast_bundle: Path


def find_reference(
    mlflow: MlflowResource, registry: DataRegistryResource, cache: Path
) -> Reference | None:
    """The champion's training snapshot (val+test rows: out-of-sample for its predictions).

    Falls back to the challenger before any promotion; None before any model exists. An
    unreachable tracking store raises: drift checking must not silently switch off.
    """
    from models.registry_aliases import aliased_version, download_bundles

    config = mlflow.config()
    for alias in ("champion", "challenger"):
        version = aliased_version(config, mlflow.registered_model_name, alias)
        if version is None:
            continue
        tag = version.tags["snapshot_tag"]
        frame = registry.registry().read_table(SNAPSHOT_PATH, rev=tag)
        frame = frame[frame[SPLIT] != "train"].reset_index(drop=True)
        bundles = download_bundles(config, version, cache / "models")
        # The fast tier predicts: the prediction signal needs the class mix, not the best
        # model, and it costs microseconds per text.
        bundle = bundles.get("fast") or next(iter(bundles.values()))
        return Reference(
            f"{mlflow.registered_model_name}@{alias} v{version.version}", tag, frame, bundle
        )
    return None


def cached_embedder(cache_root: Path):  # type: ignore[no-untyped-def]
    """texts -> MiniLM embeddings through the row-id cache that training also fills."""
    from models.embedding_cache import EmbeddingCache, MiniLMEmbedder, minilm_cache_key

    cache = EmbeddingCache(cache_root, minilm_cache_key(128))
    embedder = MiniLMEmbedder(max_tokens=128)

    def embed(texts: list[str]) -> np.ndarray:
        ids = [row_id(t) for t in texts]
        cache.ensure(ids, texts, embedder)
        return cache.lookup(ids)

    return embed


def run_drift_check(
    current: pd.DataFrame,
    reference: Reference | None,
    config: DriftCheckConfig,
    home: RuntimeHomeResource,
    name: str,
) -> tuple[dict[str, Any], Path | None]:
    """Run the check, save HTML + JSON summary; returns (summary, html path)."""
    from evaluation.drift import DriftConfig, DriftSample, check_drift
    from models.inference import load_predictor

    out_dir = home.root / REPORT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    if reference is None:
        summary: dict[str, Any] = {
            "verdict": "insufficient_data",
            "reason": "no model yet: nothing to compare with",
        }
    else:

        def side(frame: pd.DataFrame) -> DriftSample:
            texts = frame[TEXT].astype(str).tolist()
            if len(texts) == 0:
                return DriftSample(texts)
            predictor = load_predictor(reference.fast_bundle)
            probs = predictor.predict_proba(texts)
            labels = [predictor.labels[i] for i in probs.argmax(1)]
            return DriftSample(texts, predicted_labels=labels, confidence=probs.max(1))

        cfg = DriftConfig(
            min_samples=config.min_samples,
            sample_size=config.sample_size,
            min_drifted_signals=config.min_drifted_signals,
            seed=config.seed,
        )
        result = check_drift(
            side(reference.frame),
            side(current),
            embed=cached_embedder(home.layout.cache / "embeddings"),
            config=cfg,
        )
        summary = {
            **result.to_dict(),
            "reference_model": reference.model,
            "reference_snapshot": reference.snapshot_tag,
        }
    summary["current"] = name
    report_id = hashlib.sha256(
        json.dumps(summary, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    summary["report_id"] = report_id
    (out_dir / f"{report_id}.json").write_text(json.dumps(summary, indent=2, default=str))
    html = None
    if reference is not None and summary["verdict"] != "insufficient_data":
        html = result.save_html(out_dir / f"{report_id}.html")
    return summary, html


def drift_metadata(summary: dict[str, Any], html: Path | None) -> dict[str, Any]:
    signals = summary.get("signals", {})
    table = pd.DataFrame(
        [
            {
                "signal": k,
                "score": round(v["score"], 4),
                "p_value": v.get("p_value"),
                "alpha": v.get("alpha"),
                "drifted": v["drifted"],
            }
            for k, v in signals.items()
        ]
    )
    md: dict[str, Any] = {
        "verdict": summary["verdict"],
        "report_id": summary["report_id"],
        "drifted_signals": ", ".join(k for k, v in signals.items() if v["drifted"]) or "none",
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
):
    """This batch vs the champion's training data: text, descriptors, embeddings, predictions."""
    reg = registry.registry()
    tag = BATCH_TAG_PREFIX + context.partition_key
    if reg.has_tag(tag):
        current = reg.read_table(batch_table_path(context.partition_key), rev=tag)
    else:  # nothing accepted (or file quarantined): no rows to judge
        current = pd.DataFrame({ROW_ID: [], TEXT: []})
    reference = find_reference(mlflow, registry, home.layout.cache)
    summary, html = run_drift_check(current, reference, config, home, context.partition_key)
    context.log.info("drift %s: %s", context.partition_key, summary["verdict"])
    yield dg.MaterializeResult(metadata=drift_metadata(summary, html))
    yield _check_result(summary, "check_no_drift", "drift_report")


class TrafficWindowConfig(DriftCheckConfig):
    """Which part of the serving log is "current"."""

    window_records: int = Field(2000, description="Most recent prediction-log records used.")


def read_prediction_window(log_dir: Path, window: int) -> pd.DataFrame:
    """The newest `window` records of the serving log that carry their text.

    Records without their text (privacy policy) cannot feed text drift and are dropped.
    """
    frame = read_jsonl_log(log_dir).frame
    if TEXT not in frame.columns:
        return pd.DataFrame({TEXT: []})
    frame = frame[frame[TEXT].notna()]
    if "timestamp" in frame.columns:
        frame = frame.sort_values("timestamp", kind="stable")
    return frame.tail(window).reset_index(drop=True)


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
):
    """The latest window of the serving log vs the champion's training data."""
    current = read_prediction_window(home.layout.prediction_log, config.window_records)
    reference = find_reference(mlflow, registry, home.layout.cache)
    summary, html = run_drift_check(
        current, reference, config, home, f"traffic-window-{len(current)}"
    )
    context.log.info("traffic drift over %d records: %s", len(current), summary["verdict"])
    yield dg.MaterializeResult(
        metadata={**drift_metadata(summary, html), "window_records": len(current)}
    )
    yield _check_result(summary, "check_no_traffic_drift", "traffic_drift_report")
