"""`drift_report` through `dg.materialize` on a temporary instance, on real data.

Touches: a real DVC registry (snapshot + batches read back by tag), a real fast-tier model
trained on movie reviews and registered as `challenger` in a real MLflow under the test's
runtime home (the drift reference is that model's snapshot), real MiniLM embeddings, real
Evidently reports written as HTML + JSON. Tweets must read as drift (the check warns) of the
covariate kind, against the whole reference (a domain it has never seen); held-out movie
reviews must not, against the reference drawn in their domain mix, and their repeats
(quarantined duplicates) are judged too, as the received rows.
"""

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from assets.drift import DriftCheckConfig, drift_report
from assets.ingestion import batch_partitions, ingested_batch
from data.landing import batch_id_for
from data.snapshot import content_hash
from models.lineage import LINEAGE_KEYS, SNAPSHOT_TAG
from models.spec import TrainSpec
from models.tracking import track_candidate
from models.training import train
from orchestration.resources import MlflowResource
from tests.models.snapshots import make_snapshot


@pytest.mark.slow
def test_drift_report_flags_tweets_not_movies(vader_df: pd.DataFrame, resources, home: Path):
    movies = vader_df[vader_df["domain"] == "movies"]
    snapshot = make_snapshot(movies, {"train": 800, "val": 250, "test": 150}, seed=11)
    reg = resources["registry"].registry()
    tag = f"snapshot/{content_hash(snapshot)[:12]}"
    reg.commit_table("snapshots/training.parquet", snapshot, tag, "reference")
    result = train(snapshot, TrainSpec(tier="fast", max_epochs=4), home / "fast")
    mlflow_res = MlflowResource.embedded(home)
    lineage = dict.fromkeys(LINEAGE_KEYS, "test") | {SNAPSHOT_TAG: tag}
    track_candidate([result], mlflow_res.config(), lineage)

    held_out = movies[~movies["text"].isin(snapshot["text"])].sample(400, random_state=1)
    held_out = pd.concat([held_out, held_out.iloc[:40]])  # 40 repeats: quarantined duplicates
    tweets = vader_df[vader_df["domain"] == "tweets"].sample(400, random_state=1)
    resources = {**resources, "mlflow": mlflow_res}
    verdicts = {}
    with dg.instance_for_test() as instance:
        for name, frame in {"movies_later": held_out, "tweets": tweets}.items():
            path = home / "landing" / f"{name}.csv"
            frame[["text", "label", "domain"]].to_csv(path, index=False)
            key = batch_id_for(path)
            instance.add_dynamic_partitions(batch_partitions.name, [key])
            run = dg.materialize(
                [ingested_batch, drift_report],
                partition_key=key,
                instance=instance,
                resources=resources,
                run_config=dg.RunConfig(ops={"drift_report": DriftCheckConfig(sample_size=300)}),
            )
            meta = run.asset_materializations_for_node("drift_report")[0].metadata
            checks = [
                c for c in run.get_asset_check_evaluations() if c.check_name == "check_no_drift"
            ]
            verdicts[name] = (meta, checks[0])
    tweets_meta, tweets_check = verdicts["tweets"]
    assert tweets_meta["verdict"].value == "drift"
    assert not tweets_check.passed and tweets_check.severity == dg.AssetCheckSeverity.WARN
    assert "text" in tweets_meta["drifted_signals"].value
    assert "covariate shift" in tweets_meta["shift"].value
    assert "tweets not in the reference" in tweets_meta["reference_match"].value
    assert Path(tweets_meta["report_html"].value).stat().st_size > 10_000
    summary_path = home / "reports" / "drift" / f"{tweets_meta['report_id'].value}.json"
    summary = json.loads(summary_path.read_text())
    assert summary["reference_snapshot"] == tag
    assert set(summary["signals"]) >= {"text", "descriptors", "embedding", "prediction"}
    movies_meta, movies_check = verdicts["movies_later"]
    assert movies_meta["verdict"].value == "no_drift"
    assert movies_check.passed
    assert "drawn in the current domain mix" in movies_meta["reference_match"].value
    assert movies_meta["rows_accepted"].value == 400
    assert movies_meta["rows_received_judged"].value == 440
    assert movies_meta["received_verdict"].value == "no_drift"
    # The tweets sample holds a repeat or so: too few to be worth a second check.
    assert tweets_meta["received_verdict"].value.startswith(("same rows", "not checked: "))


def test_no_model_yet_means_insufficient_data(resources, home: Path):
    path = home / "landing" / "first.csv"
    pd.DataFrame({"text": [f"text number {i}" for i in range(50)], "label": "positive"}).to_csv(
        path, index=False
    )
    with dg.instance_for_test() as instance:
        key = batch_id_for(path)
        instance.add_dynamic_partitions(batch_partitions.name, [key])
        run = dg.materialize(
            [ingested_batch, drift_report],
            partition_key=key,
            instance=instance,
            resources={**resources, "mlflow": MlflowResource.embedded(home)},
        )
    meta = run.asset_materializations_for_node("drift_report")[0].metadata
    assert meta["verdict"].value == "insufficient_data"
    assert "report_html" not in meta
