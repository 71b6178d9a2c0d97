"""`candidate_model` through `dg.materialize` on a temporary Dagster instance, fed by the
real chain: a landed batch -> ingested_batch -> golden_set -> training_snapshot, and the
accurate tier's lexical-bag decision (`accurate_lexical: auto`) against that golden set.

Touches: a real DVC registry (the snapshot is read back by tag), real Lightning training of
both tiers on a small real slice of movie reviews (CPU, frozen encoder), and a real MLflow
(SQLite + file artifacts) in the test's runtime home: the registry version, its
`challenger` alias and its lineage tags are read back through a fresh MlflowClient.
"""

import subprocess
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from mlflow import MlflowClient

from assets.golden_set import golden_set
from assets.ingestion import batch_partitions, ingested_batch, training_snapshot
from assets.training import TrainConfig, candidate_model
from data.landing import batch_id_for
from models.candidate import CandidateRef
from models.inference import load_predictor
from orchestration.resources import MlflowResource

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_candidate_model_trains_tracks_and_registers(vader_df: pd.DataFrame, resources, home: Path):
    movies = vader_df[vader_df["domain"] == "movies"].sample(900, random_state=5)
    path = home / "landing" / "movies_small.csv"
    movies[["text", "label", "domain"]].to_csv(path, index=False)
    mlflow_res = MlflowResource.embedded(home)
    resources = {**resources, "mlflow": mlflow_res}
    with dg.instance_for_test() as instance:
        key = batch_id_for(path)
        instance.add_dynamic_partitions(batch_partitions.name, [key])
        dg.materialize([ingested_batch], partition_key=key, instance=instance, resources=resources)
        result = dg.materialize(
            [golden_set, training_snapshot, candidate_model],
            instance=instance,
            resources=resources,
            run_config=dg.RunConfig(
                ops={"candidate_model": TrainConfig(fast_max_epochs=4, accurate_max_epochs=4)}
            ),
            tags={"driftwise/trigger": "drift"},
        )
    candidate: CandidateRef = result.output_for_node("candidate_model")
    snapshot = result.output_for_node("training_snapshot")
    meta = result.asset_materializations_for_node("candidate_model")[0].metadata
    assert meta["fast/mode"].value == "tfidf_bag"
    assert meta["accurate/mode"].value == "frozen_encoder"
    assert meta["accurate/hardware"].value == "cpu"
    assert Path(meta["accurate/confusion_matrix"].value).read_bytes()[:4] == b"\x89PNG"
    # accurate_lexical=auto: movies only, judged on the four-domain golden set -> no bag.
    assert "training split lacks (amazon, nyt, tweets)" in meta["accurate/lexical"].value
    assert not (Path(candidate.bundles["accurate"]) / "lexical.safetensors").exists()
    # Small slice, few epochs: still clearly better than chance (0.5) for both tiers.
    assert candidate.val_macro_f1["fast"] > 0.55
    assert candidate.val_macro_f1["accurate"] > 0.65

    client = MlflowClient(tracking_uri=mlflow_res.tracking_uri)
    version = client.get_model_version_by_alias(candidate.model_name, "challenger")
    assert str(version.version) == candidate.model_version
    run = client.get_run(candidate.run_id)
    assert run.data.tags["snapshot_tag"] == snapshot.tag
    assert run.data.tags["snapshot_sha256"] == snapshot.sha256
    assert run.data.tags["trigger"] == "drift"
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert run.data.tags["git_commit"].removesuffix("+dirty") == head
    with pytest.raises(Exception, match="champion"):  # training never self-promotes
        client.get_model_version_by_alias(candidate.model_name, "champion")

    texts = ["an utterly wonderful, moving film", "a dull, tedious mess of a movie"]
    for tier, bundle in candidate.bundles.items():
        probs = load_predictor(Path(bundle)).predict_proba(texts)
        assert probs.shape == (2, 2), tier


def test_train_config_rejects_bad_values_before_training():
    """Launchpad typos fail at config validation with the allowed values (no training)."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="subset of fast, accurate"):
        TrainConfig(tiers=["fast", "acurate"])
    with pytest.raises(ValidationError, match=r"accelerator\n.*'auto', 'cpu' or 'gpu'"):
        TrainConfig(accelerator="tpu")
    with pytest.raises(ValidationError, match=r"accurate_mode\n.*'auto', 'frozen' or 'finetune'"):
        TrainConfig(accurate_mode="full")
    with pytest.raises(ValidationError, match=r"accurate_lexical\n.*'auto', 'on' or 'off'"):
        TrainConfig(accurate_lexical="true")
    assert TrainConfig().tiers == ["fast", "accurate"]
    assert TrainConfig().accurate_lexical == "auto"
