"""After a promotion: the cascade policy of the new champion, and its Bento.

- `model_variants`: the accurate tier's inference runtime - the fastest variant
  (models/encoder_runtime.py: ONNX int8, ONNX fp32) whose macro-F1 on every golden slice is
  within `max_loss` of torch fp32 (evaluation/variants.py), recorded with its per-slice
  deltas in the decision record - and the cascade threshold tuned on the same golden rows
  (evaluation/cascade.py), with its two-fold estimate.
- `candidate_bento`: the version imported into the BentoML model store with its lineage and
  the tuned threshold (the service reads it), and a Bento built offline (bento/build.py).

Both are skipped when the gate blocked the candidate (champion_model yields nothing).
"""

import os
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
from pydantic import Field

from assets.evaluation import ChampionModel
from data.golden_set import GOLDEN_PATH, GoldenRef
from data.schema import DOMAIN, ROW_ID
from evaluation.cascade import served_against_baseline, tune_from_predictions
from evaluation.golden_eval.candidate import GoldenEvaluation
from evaluation.promotion.gate import PromotionDecision
from evaluation.promotion.record import append_section
from evaluation.scoring import BundleScorer, model_id
from evaluation.variants import (
    PREFERENCE,
    REFERENCE,
    VariantJudgement,
    choose_variant,
    judge_variant,
)
from models.bundle import read_bundle_config
from models.candidate import CandidateRef
from models.lineage import RECORD_TAG, SNAPSHOT_TAG
from orchestration.resources import DataRegistryResource, MlflowResource, RuntimeHomeResource


class VariantsConfig(dg.Config):
    """Which runtimes may serve the accurate tier, and the loss the policy allows."""

    encoder_variants: list[str] = Field(
        default_factory=lambda: list(PREFERENCE),
        description="Candidates, fastest first; the first within policy serves.",
    )
    max_loss: float = Field(0.01, ge=0, le=1, description="Macro-F1 loss allowed per slice.")


def _judge_runtimes(
    config: VariantsConfig,
    candidate: CandidateRef,
    golden: Any,
    evaluation: GoldenEvaluation,
    embeddings: Path,
) -> list[VariantJudgement]:
    """Each candidate runtime on the golden rows, fastest first, until one is within policy.

    Scored through the row-id embedding cache, one namespace per runtime: the packaged
    frozen encoder is the same for every challenger, so from the second retrain on the
    golden rows' ONNX vectors are read back instead of computed (~13 s per runtime per
    800 rows on 2 cores)."""
    reference = evaluation.candidate_predictions
    assert reference.row_ids is not None
    rows = golden.set_index(ROW_ID).loc[list(reference.row_ids)].reset_index()
    scorer = BundleScorer(embeddings)
    judgements = []
    for variant in config.encoder_variants:
        predictions = scorer.predict(
            candidate.bundles["accurate"],  # type: ignore[arg-type]
            rows,
            model_id(candidate.model_name, candidate.model_version, "accurate"),
            encoder_variant=variant,
        )
        judgement = judge_variant(
            variant,
            np.asarray(reference.labels),
            np.asarray(predictions.labels),
            np.asarray(evaluation.y_true),
            evaluation.slices,
            max_loss=config.max_loss,
        )
        judgements.append(judgement)
        if judgement.within_policy:
            break
    return judgements


@dg.asset(group_name="serving", kinds={"onnx", "pandas"})
def model_variants(
    context: dg.AssetExecutionContext,
    config: VariantsConfig,
    champion_model: ChampionModel,
    candidate_model: CandidateRef,
    golden_evaluation: GoldenEvaluation,
    promotion_decision: PromotionDecision,
    golden_set: GoldenRef,
    registry: DataRegistryResource,
    home: RuntimeHomeResource,
) -> dg.Output[dict[str, Any]]:
    """The accurate tier's serving runtime (fastest within policy on every golden slice) and
    the cascade policy (fast tier first, accurate tier below a confidence threshold) tuned on
    the golden set to keep the accurate tier's accuracy with the fewest escalations."""
    tiers = set(candidate_model.bundles)
    if "accurate" not in tiers or golden_evaluation.gate_tier != "accurate":
        context.log.info("no accurate tier (%s): no runtime variant, no cascade", sorted(tiers))
        return dg.Output(
            {"cascade": None, "encoder_variant": None},
            metadata={"cascade": "none: needs both tiers", "encoder_variant": "none"},
        )
    golden = registry.registry().read_table(GOLDEN_PATH, rev=golden_set.tag).reset_index(drop=True)
    judgements = _judge_runtimes(
        config, candidate_model, golden, golden_evaluation, home.layout.embeddings
    )
    chosen = choose_variant(judgements)
    # A new record: the promoted one (champion_model's) + this section; the parent stays.
    record = append_section(
        Path(promotion_decision.record_path).parent,
        champion_model.record_id,
        "serving_variant",
        {
            "chosen": chosen,
            "reference": REFERENCE,
            "max_loss": config.max_loss,
            "judgements": [j.to_dict() for j in judgements],
            "speed": "bench/serve_runtimes.py (onnx-int8 ~3.3x, onnx-fp32 ~2x torch fp32)",
        },
    )
    context.log.info(
        "serving runtime %s (%s)",
        chosen,
        "; ".join(f"{j.variant}: worst {j.worst_slice} {j.worst_delta:+.3f}" for j in judgements),
    )
    output: dict[str, Any] = {
        "cascade": None,
        "encoder_variant": chosen,
        "record_id": record.record_id,
        "variants": [j.to_dict() for j in judgements],
    }
    metadata: dict[str, Any] = {
        "encoder_variant": chosen,
        "variant_deltas": dg.MetadataValue.md(
            "\n".join(
                f"- {j.variant}: {'within' if j.within_policy else 'outside'} policy, worst "
                f"slice {j.worst_slice} {j.worst_delta:+.3f} macro-F1, label agreement "
                f"{j.agreement:.3f}"
                for j in judgements
            )
        ),
        "decision_record": dg.MetadataValue.path(str(record.path)),
    }
    if "fast" not in tiers:
        return dg.Output(output, metadata={**metadata, "cascade": "none: needs both tiers"})
    fast = BundleScorer(home.layout.embeddings).predict(
        candidate_model.bundles["fast"],  # type: ignore[arg-type]
        golden,
        model_id(candidate_model.model_name, candidate_model.model_version, "fast"),
    )
    fast_config = read_bundle_config(candidate_model.bundles["fast"])  # type: ignore[arg-type]
    policy = tune_from_predictions(
        fast,
        golden_evaluation.candidate_predictions,
        golden_evaluation.y_true,
        golden_set.tag,
        fast_temperature=fast_config.temperature,
        slices=dict(zip(golden[ROW_ID], golden[DOMAIN].astype(str), strict=True))
        if DOMAIN in golden.columns
        else None,
    )
    context.log.info(
        "cascade: threshold %s, escalates %.0f%% (two-fold %.0f%%; by slice %s), accuracy "
        "%.3f vs accurate %.3f; fast-tier ECE %.3f (%.3f before its temperature %.2f)",
        policy.threshold,
        100 * policy.escalation_rate,
        100 * policy.holdout_escalation_rate,
        policy.escalation_by_slice,
        policy.cascade_accuracy,
        policy.accurate_accuracy,
        policy.fast_ece,
        policy.fast_ece_uncalibrated,
        policy.fast_temperature,
    )
    baseline = golden_evaluation.baseline_report
    versus = served_against_baseline(
        fast,
        golden_evaluation.candidate_predictions,
        golden_evaluation.y_true,
        policy.threshold,
        baseline.overall.macro_f1.low if baseline is not None else None,
    )
    metadata["served_vs_baseline"] = (
        f"served macro-F1 {versus['served_macro_f1']:.3f} vs TF-IDF+LR interval low "
        f"{versus['baseline_low']:.3f}"
        if versus["baseline_low"] is not None
        else "no baseline (no training split)"
    )
    # The served answer against the simple baseline, in the record either way.
    record = append_section(
        Path(promotion_decision.record_path).parent,
        record.record_id,
        "cascade",
        {**versus, "dropped": versus["below"], "policy": policy.to_dict()},
    )
    output["record_id"] = record.record_id
    metadata["decision_record"] = dg.MetadataValue.path(str(record.path))
    if versus["below"]:
        # Never serve below the simple baseline: the gate passed the accurate tier, so the
        # accurate tier answers alone (no cascade) and the record says why.
        reason = (
            f"cascade dropped: its served macro-F1 {versus['served_macro_f1']:.3f} is below "
            f"the TF-IDF+LR baseline's interval low {versus['baseline_low']:.3f}; the "
            "accurate tier answers alone"
        )
        context.log.warning(reason)
        return dg.Output(output, metadata={**metadata, "cascade": reason})
    output["cascade"] = policy.to_dict()
    return dg.Output(
        output,
        metadata={
            **metadata,
            "threshold": "none (escalate all)" if policy.threshold is None else policy.threshold,
            "escalation_rate": policy.escalation_rate,
            "kept_disagreement": "n/a"
            if policy.kept_disagreement is None
            else policy.kept_disagreement,
            "holdout_escalation_rate": policy.holdout_escalation_rate,
            "holdout_accuracy_gap": policy.holdout_accuracy_gap,
            "cascade_accuracy": policy.cascade_accuracy,
            "accurate_accuracy": policy.accurate_accuracy,
            "fast_accuracy": policy.fast_accuracy,
            "accurate_calls_saved": 1.0 - policy.escalation_rate,
            "escalation_by_slice": dg.MetadataValue.json(policy.escalation_by_slice or {}),
            "fast_ece": policy.fast_ece,
            "fast_ece_uncalibrated": policy.fast_ece_uncalibrated,
            "fast_temperature": policy.fast_temperature,
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
    os.environ.setdefault("BENTOML_HOME", str(home.layout.bentoml))
    from bento.build import build_bento
    from bento.store import CASCADE_KEY, KEPT_DISAGREEMENT_KEY, VARIANT_KEY, import_version

    cascade = model_variants.get("cascade") or {}
    threshold = cascade.get("threshold")
    record_id = model_variants.get("record_id") or champion_model.record_id
    metadata: dict[str, Any] = {"decision_record": record_id}
    if threshold is not None:
        metadata[CASCADE_KEY] = threshold
        if cascade.get("kept_disagreement") is not None:
            metadata[KEPT_DISAGREEMENT_KEY] = cascade["kept_disagreement"]
    if model_variants.get("encoder_variant"):
        metadata[VARIANT_KEY] = model_variants["encoder_variant"]
    stored = import_version(
        mlflow.config(),
        champion_model.model_name,
        champion_model.model_version,
        home.layout.model_imports,
        metadata=metadata,
    )
    bento_tag = build_bento(stored, labels={RECORD_TAG: record_id[:63]})
    context.log.info("store model %s, bento %s", stored.tag, bento_tag)
    return dg.Output(
        bento_tag,
        metadata={
            "store_model": stored.tag,
            "bento": bento_tag,
            "cascade_threshold": "none" if threshold is None else threshold,
            "encoder_variant": metadata.get(VARIANT_KEY, "torch-fp32"),
            "snapshot_tag": stored.metadata.get(SNAPSHOT_TAG, ""),
            "containerize": f"bentoml containerize {bento_tag}",
        },
    )
