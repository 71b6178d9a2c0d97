"""The evaluation stage end to end: golden_evaluation, reference_free_evaluation,
promotion_decision with its check_promotion_gate, and champion_model (which enforces it).

Everything runs for real through a retrain job of a local `dg.Definitions` (the selection the
project's retrain job should use) on a temporary Dagster instance: a landed batch ->
ingested_batch -> golden_set -> training_snapshot -> candidate_model (real Lightning training
of both tiers, CPU, frozen encoder) -> evaluation assets -> champion_model.

Touches: real DVC registries, the real 800-row golden set, real deepeval runs, real MLflow
(SQLite + file artifacts) in a module runtime home, decision records on disk. Two candidates:
- a good one trained on a few hundred real rows of all four domains, with no champion yet:
  it passes the floors and becomes champion;
- a bad one trained on the same rows with their labels shuffled (landed as its own batch in a
  second DVC registry, so the whole chain runs on it): the gate fails in the real run,
  champion_model does not run, and the alias stays on the good version.
The gate's cost rule: the good candidate's measured cost is in its record; re-judged under a
dataset budget a tenth of it, it is blocked by that rule alone.
MiniLM embeddings are read through the session's shared cache (tests/conftest.py), so each
text is embedded once per session.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from assets.evaluation import (
    RECORD_TAG,
    VERDICT_TAG,
    EvaluationConfig,
    GoldenEvaluation,
    PromotionDecision,
    TrafficEvaluation,
    champion_model,
    check_promotion_gate,
    promotion_decision,
)
from assets.ingestion import (
    batch_partitions,
    check_golden_disjoint,
    ingested_batch,
)
from assets.training import TrainConfig
from data.golden_set import load_golden
from data.landing import batch_id_for
from data.schema import DatasetSpec, row_id
from evaluation.promotion.record import load_record
from evaluation.rollout.policy import RolloutPolicy
from models.candidate import CandidateRef
from models.lineage import GATE_BLOCKED, GATE_PASSED, RUN_TAG_GATE
from models.model_registry import CHAMPION, PREVIOUS
from orchestration.jobs import RETRAIN_ASSETS, retrain_job
from orchestration.resources import (
    DataRegistryResource,
    MlflowResource,
    RuntimeHomeResource,
    ServingResource,
)
from tests.conftest import link_embeddings

pytestmark = pytest.mark.slow  # two real training + evaluation chains (~1-2 min together)

PER_DOMAIN = 200
# Floors sized for a candidate trained on ~500 rows (the defaults target a full retrain); a
# model that learned nothing sits near 0.5 and misses them by a wide margin.
POLICY = EvaluationConfig(
    accuracy_min=0.62,
    macro_f1_min=0.62,
    class_recall_min=0.45,
    ece_max=0.15,
    max_estimated_accuracy_drop=0.12,
    n_resamples=1000,
)
TRAIN = TrainConfig(fast_max_epochs=3, accurate_max_epochs=12)
# Shuffled labels leave nothing to learn: more epochs only cost time, the gate fails either way.
TRAIN_SHUFFLED = TrainConfig(fast_max_epochs=1, accurate_max_epochs=2)
CHAIN = [ingested_batch, *RETRAIN_ASSETS]


@dataclass
class ChainRun:
    result: dg.ExecuteInProcessResult
    instance: dg.DagsterInstance
    resources: dict
    mlflow: MlflowResource


def _definitions(resources: dict) -> dg.Definitions:
    """The real `retrain` job (orchestration/jobs.py) over this test's resources."""
    return dg.Definitions(
        assets=CHAIN,
        asset_checks=[check_golden_disjoint, check_promotion_gate],
        jobs=[retrain_job],
        resources=resources,
    )


def _run_chain(
    batch: pd.DataFrame, home: Path, registry: str, instance, train: TrainConfig = TRAIN
) -> ChainRun:
    """Land `batch`, ingest it into `registry`, then run the retrain job."""
    landing = home / "landing"
    landing.mkdir(exist_ok=True)
    path = landing / f"{registry}.csv"
    batch[["text", "label", "domain"]].to_csv(path, index=False)
    mlflow_res = MlflowResource.embedded(home)
    resources = {
        "home": RuntimeHomeResource(path=str(home)),
        "registry": DataRegistryResource(root=str(home / registry)),
        "dataset": DatasetSpec(labels=["negative", "positive"]),
        "mlflow": mlflow_res,
        "serving": ServingResource(home=str(home)),  # nothing served: promote at the gate
        "rollout_policy": RolloutPolicy(),
    }
    key = batch_id_for(path)
    instance.add_dynamic_partitions(batch_partitions.name, [key])
    dg.materialize([ingested_batch], partition_key=key, instance=instance, resources=resources)
    result = (
        _definitions(resources)
        .resolve_job_def("retrain")
        .execute_in_process(
            instance=instance,
            run_config=dg.RunConfig(ops={"candidate_model": train, "promotion_decision": POLICY}),
            raise_on_error=False,
        )
    )
    return ChainRun(result, instance, resources, mlflow_res)


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory, shared_embeddings: Path):
    # The session's embedding cache: the bad chain re-reads the good chain's vectors, and
    # the golden rows come from whichever module embedded them first.
    home = link_embeddings(tmp_path_factory.mktemp("eval-home"), shared_embeddings)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DRIFTWISE_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def rows(vader_df: pd.DataFrame) -> pd.DataFrame:
    """A stratified real slice of all four domains, golden rows left out."""
    df = vader_df.assign(row_id=vader_df["text"].map(row_id))
    df = df[~df["row_id"].isin(load_golden().row_ids)].drop_duplicates("row_id")
    return df.groupby("domain", group_keys=False).sample(PER_DOMAIN, random_state=11)


@pytest.fixture(scope="module")
def instance():
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture(scope="module")
def good(rows: pd.DataFrame, module_home: Path, instance) -> ChainRun:
    return _run_chain(rows, module_home, "registry", instance)


@pytest.fixture(scope="module")
def bad(good: ChainRun, rows: pd.DataFrame, module_home: Path, instance) -> ChainRun:
    """A candidate trained on shuffled labels, evaluated against the good champion."""
    shuffled = rows.assign(label=np.random.default_rng(3).permutation(rows["label"].to_numpy()))
    return _run_chain(shuffled, module_home, "registry-shuffled", instance, TRAIN_SHUFFLED)


def _client(run: ChainRun) -> MlflowClient:
    uri = run.mlflow.tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _check(run: ChainRun) -> dg.AssetCheckEvaluation:
    evaluations = [
        e
        for e in run.result.get_asset_check_evaluations()
        if e.check_name == "check_promotion_gate"
    ]
    assert len(evaluations) == 1
    return evaluations[0]


def test_good_first_candidate_passes_the_floors_and_becomes_champion(good: ChainRun) -> None:
    candidate: CandidateRef = good.result.output_for_node("candidate_model")
    golden: GoldenEvaluation = good.result.output_for_node("golden_evaluation")
    traffic: TrafficEvaluation = good.result.output_for_node("reference_free_evaluation")
    decision: PromotionDecision = good.result.output_for_node("promotion_decision")

    assert golden.champion is None and golden.gate_tier == "accurate"
    assert golden.candidate_report.n == 800
    assert set(golden.tier_summaries) == {"fast", "accurate"}
    assert decision.passed, decision.summary
    assert _check(good).passed
    assert good.result.success
    assert good.instance.get_run_by_id(good.result.run_id).tags[RUN_TAG_GATE] == GATE_PASSED

    meta = good.result.asset_materializations_for_node("golden_evaluation")[0].metadata
    assert meta["judge"].value.startswith("off")  # the LLM judge is opt-in (paid service)
    table = meta["by_slice"].value
    assert "domain=tweets" in table and "challenger v1 accurate accuracy" in table
    # The TF-IDF+LR baseline, fitted on this candidate's training split: the gate's floor.
    assert "baseline (TF-IDF+LR) accuracy" in table
    (row,) = [r for r in meta["models"].value.splitlines() if "baseline (TF-IDF+LR)" in r]
    assert "floor (block_below_baseline)" in row
    assert golden.baseline_report is not None and golden.baseline_report.n == 800
    assert 0.5 < meta["baseline/macro_f1"].value <= 1.0
    notices = meta["notices"].value
    assert "baseline" in notices and "(TF-IDF+LR)" in notices
    assert "accurate tier's 128-token window" in notices
    for key in (
        "challenger_accurate/reliability",
        "challenger_fast/reliability",
        "confidence_histogram",
    ):
        png = Path(meta[key].value)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.is_relative_to(Path(good.resources["home"].path) / "reports")
    assert meta["challenger_accurate/accuracy"].value >= POLICY.accuracy_min

    # Traffic = the batch's rows the candidate did not train on (its val + test rows here).
    assert traffic.report is not None and traffic.excluded_training_rows > 0
    assert traffic.rows + traffic.excluded_training_rows == 4 * PER_DOMAIN
    est = traffic.report.estimated_accuracy
    assert est is not None and 0.5 < est.accuracy.point <= 1.0
    assert est.accuracy.low <= est.accuracy.point <= est.accuracy.high
    rf_meta = good.result.asset_materializations_for_node("reference_free_evaluation")[0].metadata
    assert Path(rf_meta["confidence_histogram"].value).exists()

    client = _client(good)
    champion = client.get_model_version_by_alias(candidate.model_name, CHAMPION)
    assert str(champion.version) == candidate.model_version
    assert champion.tags[VERDICT_TAG] == "passed"
    assert champion.tags[RECORD_TAG] == decision.record_id
    assert good.result.asset_materializations_for_node("champion_model")


def test_promoted_champion_gets_a_tuned_cascade_and_a_bento(good: ChainRun) -> None:
    """model_variants judges the ONNX runtimes of the accurate tier on every golden slice and
    tunes the cascade on the same rows (both written into a new decision record);
    candidate_bento imports the champion into the (session temp) BentoML store with the
    chosen runtime and threshold, and builds a Bento."""
    import bentoml

    from bento.store import CASCADE_KEY, VARIANT_KEY, load_stored
    from evaluation.promotion.record import load_record

    out = good.result.output_for_node("model_variants")
    judged = out["variants"]
    assert judged[0]["variant"] == "onnx-int8" and "all" in judged[0]["deltas"]
    chosen = out["encoder_variant"]
    assert chosen == next((j["variant"] for j in judged if j["within_policy"]), "torch-fp32")
    decision: PromotionDecision = good.result.output_for_node("promotion_decision")
    record = load_record(Path(decision.record_path).parent, out["record_id"])
    assert record.sections["serving_variant"]["chosen"] == chosen
    assert "promotion" in record.sections  # built on the promoted record
    variants = out["cascade"]
    golden: GoldenEvaluation = good.result.output_for_node("golden_evaluation")
    assert variants["rows"] == golden.candidate_report.n
    assert variants["cascade_accuracy"] >= variants["accurate_accuracy"] - variants["tolerance"]
    assert 0.0 <= variants["escalation_rate"] <= 1.0
    # the fast tier served calibrated (its val-fitted temperature), measured on the golden
    # rows before and after, and the escalation per golden domain, all in the record
    policy = record.sections["cascade"]["policy"]
    assert policy["fast_temperature"] > 0 and policy["fast_ece"] is not None
    assert policy["fast_ece"] <= policy["fast_ece_uncalibrated"] + 0.02
    assert set(policy["escalation_by_slice"]) == set(load_golden().frame["domain"])
    # the served answer (this cascade) measured against the TF-IDF+LR baseline, recorded
    served = record.sections["cascade"]
    assert served["dropped"] is False and served["served_macro_f1"] >= served["baseline_low"]
    vs = good.result.asset_materializations_for_node("model_variants")[0].metadata
    assert vs["served_vs_baseline"].value.startswith("served macro-F1 ")
    tag = good.result.output_for_node("candidate_bento")
    bento = bentoml.bentos.get(tag)
    meta = good.result.asset_materializations_for_node("candidate_bento")[0].metadata
    stored = load_stored(meta["store_model"].value)
    assert stored.metadata.get(CASCADE_KEY) == variants["threshold"]
    assert stored.metadata[VARIANT_KEY] == chosen
    assert stored.labels == ["negative", "positive"] and set(stored.tiers) == {"fast", "accurate"}
    assert [str(m.tag) for m in bento.info.models] == [stored.tag]
    assert (Path(bento.path) / "src" / "bento" / "service.py").exists()


def test_decision_record_is_content_addressed_and_logged_to_mlflow(good: ChainRun) -> None:
    decision: PromotionDecision = good.result.output_for_node("promotion_decision")
    path = Path(decision.record_path)
    body = path.read_bytes()
    assert path.stem == decision.record_id == hashlib.sha256(body).hexdigest()
    assert path.parent == Path(good.resources["home"].path) / "decisions"
    record = load_record(path.parent, decision.record_id)
    assert record.sections["verdict"]["passed"] is True
    assert record.sections["mlflow"]["candidate"]["run_id"] == decision.run_id
    golden = good.result.output_for_node("golden_set")  # the record names who judged
    assert record.sections["data"]["golden_tag"] == golden.tag
    assert record.sections["data"]["golden_version"] == golden.version

    # champion_model appended its promotion as a child record.
    promoted = good.result.output_for_node("champion_model")
    child = load_record(path.parent, promoted.record_id)
    assert child.parent_id == decision.record_id
    assert child.sections["promotion"]["champion"] == decision.model_version

    client = _client(good)
    logged = {Path(a.path).name for a in client.list_artifacts(decision.run_id, "decisions")}
    assert logged == {f"{decision.record_id}.json", f"{promoted.record_id}.json"}
    local = client.download_artifacts(
        decision.run_id, f"decisions/{decision.record_id}.json", str(path.parent.parent / "dl")
    )
    assert Path(local).read_bytes() == body


def test_shuffled_label_candidate_is_blocked_by_the_gate_as_an_outcome(
    good: ChainRun, bad: ChainRun
) -> None:
    first: CandidateRef = good.result.output_for_node("candidate_model")
    candidate: CandidateRef = bad.result.output_for_node("candidate_model")
    assert candidate.model_version != first.model_version

    decision: PromotionDecision = bad.result.output_for_node("promotion_decision")
    assert not decision.passed
    assert decision.champion_version == first.model_version
    check = _check(bad)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["value"].value == len(decision.failures) > 0
    # Judged both on the floors and against the champion it would replace.
    record = load_record(Path(decision.record_path).parent, decision.record_id)
    failed = {r["rule"] for r in record.sections["verdict"]["reasons"] if not r["passed"]}
    assert (
        "floor" in failed
        and {"macro_f1_non_inferiority", "accuracy_non_inferiority", "mcnemar"} <= failed
    )
    assert record.sections["comparison"] is not None

    # The real run ended as an outcome, not a crash: successful, tagged blocked, the check
    # red with its reasons, champion_model ran but materialised nothing, the alias unmoved.
    assert bad.result.success
    assert bad.instance.get_run_by_id(bad.result.run_id).tags[RUN_TAG_GATE] == GATE_BLOCKED
    assert not bad.result.asset_materializations_for_node("champion_model")
    assert not bad.result.get_step_failure_events()
    client = _client(bad)
    assert str(client.get_model_version_by_alias(first.model_name, CHAMPION).version) == (
        first.model_version
    )
    version = client.get_model_version(candidate.model_name, candidate.model_version)
    assert version.tags[VERDICT_TAG] == "failed"
    with pytest.raises(Exception, match="previous"):
        client.get_model_version_by_alias(first.model_name, PREVIOUS)

    # Even forced alone, champion_model refuses the stored failed verdict.
    forced = dg.materialize(
        CHAIN,
        selection=[champion_model],
        instance=bad.instance,
        resources=bad.resources,
    )
    assert forced.success and not forced.asset_materializations_for_node("champion_model")
    assert bad.instance.get_run_by_id(forced.run_id).tags[RUN_TAG_GATE] == GATE_BLOCKED
    assert str(client.get_model_version_by_alias(first.model_name, CHAMPION).version) == (
        first.model_version
    )


def test_the_gate_prices_the_candidate_and_blocks_one_over_the_dataset_budget(
    good: ChainRun, bad: ChainRun
) -> None:
    """Last in the module: promotion_decision re-judges the latest candidate (the bad one)
    under a dataset budget below its measured cost (within budget: tests/evaluation/promotion
    /test_policy.py)."""
    decision: PromotionDecision = good.result.output_for_node("promotion_decision")
    record = load_record(Path(decision.record_path).parent, decision.record_id)
    measured = record.sections["cost"]["cost_units_per_1k"]
    assert measured > 0 and "CPU s" in record.sections["cost"]["source"]
    (cost_rule,) = [r for r in record.sections["verdict"]["reasons"] if r["rule"] == "cost"]
    assert cost_rule["passed"]  # no budget in the dataset's config: measured, not blocking

    budget = DatasetSpec(labels=["negative", "positive"], max_cost_units_per_1k=measured / 10)
    result = dg.materialize(
        CHAIN,
        selection=[promotion_decision],
        instance=bad.instance,
        resources={**bad.resources, "dataset": budget},
        run_config=dg.RunConfig(ops={"promotion_decision": POLICY}),
    )
    over = list(result.output_for_node("promotion_decision").failures)
    before: PromotionDecision = bad.result.output_for_node("promotion_decision")
    (cost_failure,) = [f for f in over if f.startswith("cost ")]
    assert "vs budget" in cost_failure and [f for f in over if f != cost_failure] == before.failures
