"""After a promotion: the cascade policy of the new champion, and its Bento.

- `model_variants`: the fast tier scored on the same golden rows as the gate tier, and the
  cascade threshold tuned there (evaluation/cascade.py), with its two-fold estimate.
- `candidate_bento`: the version imported into the BentoML model store with its lineage and
  the tuned threshold (the service reads it), and a Bento built offline (bento/build.py).

Both are skipped when the gate blocked the candidate (champion_model yields nothing).
"""

import os
from typing import Any

import dagster as dg

from assets.evaluation import ChampionModel
from data.golden_set import GOLDEN_PATH, GoldenRef
from evaluation.cascade import tune_from_predictions
from evaluation.golden_eval.candidate import GoldenEvaluation
from evaluation.scoring import BundleScorer, model_id
from models.candidate import CandidateRef
from models.lineage import RECORD_TAG, SNAPSHOT_TAG
from orchestration.resources import DataRegistryResource, MlflowResource, RuntimeHomeResource


@dg.asset(group_name="serving", kinds={"pandas"})
def model_variants(
    context: dg.AssetExecutionContext,
    champion_model: ChampionModel,
    candidate_model: CandidateRef,
    golden_evaluation: GoldenEvaluation,
    golden_set: GoldenRef,
    registry: DataRegistryResource,
    home: RuntimeHomeResource,
) -> dg.Output[dict[str, Any]]:
    """The cascade policy (fast tier first, accurate tier below a confidence threshold)
    tuned on the golden set to keep the accurate tier's accuracy with the fewest escalations."""
    tiers = set(candidate_model.bundles)
    if not {"fast", "accurate"} <= tiers or golden_evaluation.gate_tier != "accurate":
        context.log.info("one tier only (%s): no cascade", sorted(tiers))
        return dg.Output({"cascade": None}, metadata={"cascade": "none: needs both tiers"})
    golden = registry.registry().read_table(GOLDEN_PATH, rev=golden_set.tag)
    fast = BundleScorer(home.layout.cache / "embeddings").predict(
        candidate_model.bundles["fast"],  # type: ignore[arg-type]
        golden.reset_index(drop=True),
        model_id(candidate_model.model_name, candidate_model.model_version, "fast"),
    )
    policy = tune_from_predictions(
        fast, golden_evaluation.candidate_predictions, golden_evaluation.y_true, golden_set.tag
    )
    context.log.info(
        "cascade: threshold %s, escalates %.0f%% (two-fold %.0f%%), accuracy %.3f vs accurate %.3f",
        policy.threshold,
        100 * policy.escalation_rate,
        100 * policy.holdout_escalation_rate,
        policy.cascade_accuracy,
        policy.accurate_accuracy,
    )
    return dg.Output(
        {"cascade": policy.to_dict()},
        metadata={
            "threshold": "none (escalate all)" if policy.threshold is None else policy.threshold,
            "escalation_rate": policy.escalation_rate,
            "holdout_escalation_rate": policy.holdout_escalation_rate,
            "holdout_accuracy_gap": policy.holdout_accuracy_gap,
            "cascade_accuracy": policy.cascade_accuracy,
            "accurate_accuracy": policy.accurate_accuracy,
            "fast_accuracy": policy.fast_accuracy,
            "accurate_calls_saved": 1.0 - policy.escalation_rate,
            "window": policy.window,
            "dagster/row_count": policy.rows,
        },
    )


@dg.asset(group_name="serving", kinds={"bentoml"})
def candidate_bento(
    context: dg.AssetExecutionContext,
    champion_model: ChampionModel,
    model_variants: dict[str, Any],
    mlflow: MlflowResource,
    home: RuntimeHomeResource,
) -> dg.Output[str]:
    """The champion in the BentoML model store (lineage labels, cascade threshold) and its
    Bento, built offline; `driftwise serve` serves the same store model."""
    # The store lives in the runtime home unless BENTOML_HOME says otherwise (read at import).
    os.environ.setdefault("BENTOML_HOME", str(home.layout.root / "bentoml"))
    from bento.build import build_bento
    from bento.store import CASCADE_KEY, import_version

    cascade = model_variants.get("cascade") or {}
    threshold = cascade.get("threshold")
    stored = import_version(
        mlflow.config(),
        champion_model.model_name,
        champion_model.model_version,
        home.layout.cache / "models",
        metadata={CASCADE_KEY: threshold, "decision_record": champion_model.record_id}
        if threshold is not None
        else {"decision_record": champion_model.record_id},
    )
    bento_tag = build_bento(stored, labels={RECORD_TAG: champion_model.record_id[:63]})
    context.log.info("store model %s, bento %s", stored.tag, bento_tag)
    return dg.Output(
        bento_tag,
        metadata={
            "store_model": stored.tag,
            "bento": bento_tag,
            "cascade_threshold": "none" if threshold is None else threshold,
            "snapshot_tag": stored.metadata.get(SNAPSHOT_TAG, ""),
            "containerize": f"bentoml containerize {bento_tag}",
        },
    )
