"""`driftwise reingest BATCH` as a user runs it after fixing their config: a real runtime home
(`driftwise init`: Dagster SQLite instance, DVC registry), a real ingest run of their TREC
questions under a label list that rejects most of them, then the real CLI (typer's runner,
in process: the same commands and settings a shell gets, without ~7 s of imports per call)
under a config that infers labels. Touches the real `reingest` job, DVC revision tags, the
quarantine history and `driftwise quarantine`; the clear refusal of a batch id that does not
exist; and
`driftwise new-golden` (the new_golden_version job) refusing data too small to carve from.
"""

import os
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner, Result

from data.batch_tags import current_tag
from data.data_registry import DataRegistry
from data.landing import batch_id_for
from data.trec import load_trec_questions


def _env(home: Path, labels: str) -> dict[str, str]:
    return dict(
        os.environ,
        DRIFTWISE_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster"),
        DRIFTWISE_DATASET__NAME="questions",
        DRIFTWISE_DATASET__TEXT_COLUMN="question",
        DRIFTWISE_DATASET__LABEL_COLUMN="topic",
        DRIFTWISE_DATASET__LABELS=labels,
        COLUMNS="200",  # rich wraps at 80 otherwise, splitting the lines asserted on
    )


def _cli(*args: str, env: dict[str, str]) -> Result:
    from orchestration.cli import app

    return CliRunner().invoke(app.app, list(args), env=env)


@pytest.mark.slow
@pytest.mark.integration
def test_reingest_accepts_what_the_old_config_rejected(
    tmp_path: Path, data_wheel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    narrow = _env(home, '["HUM", "LOC"]')
    init = _cli("init", env=narrow)
    assert init.exit_code == 0, init.output
    questions = (
        load_trec_questions(data_wheel).drop_duplicates("question").sample(90, random_state=4)
    )
    landed = home / "landing" / "questions.csv"
    questions[["question", "topic"]].to_csv(landed, index=False)
    batch = batch_id_for(landed)
    rejected = int((~questions["topic"].isin(["HUM", "LOC"])).sum())

    # The first ingest, as the landing sensor would launch it, under the narrow label list.
    for key, value in narrow.items():
        monkeypatch.setenv(key, value)
    from orchestration.definitions import build_definitions
    from orchestration.settings import load_settings

    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    instance.add_dynamic_partitions("batches", [batch])
    first = (
        build_definitions(load_settings())
        .resolve_job_def("ingest")
        .execute_in_process(instance=instance, partition_key=batch)
    )
    assert first.success
    registry = DataRegistry(home / "registry")
    assert current_tag(registry, batch) == f"batch/{batch}"

    proc = _cli("reingest", batch, env=_env(home, "[]"))
    assert proc.exit_code == 0, proc.output
    assert f"Re-ingest of {batch}" in proc.stdout
    assert current_tag(registry, batch) == f"batch-rev/{batch}/r2"
    history = home / "quarantine" / batch / "history" / "001" / "rows.jsonl"
    assert sum(1 for _ in history.open()) == rejected  # the old accounting is kept
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("ingested_batch"), asset_partitions=[batch]),
        limit=2,
    ).records
    newest, older = (r.asset_materialization.metadata for r in records)  # type: ignore[union-attr]
    assert newest["reingest"].value is True and newest["rows_accepted"].value == 90
    assert older["rows_accepted"].value == 90 - rejected

    unknown = _cli("reingest", "nothing-000000000000", env=_env(home, "[]"))
    assert unknown.exit_code == 2 and "known: " + batch in unknown.output
    # The batch's accounting (kept for every batch); an unknown id lists the known ones.
    shown = _cli("quarantine", batch, env=_env(home, "[]"))
    assert shown.exit_code == 0 and "accepted 90, quarantined 0" in shown.stdout, shown.output
    missing = _cli("quarantine", "nothing-000000000000", env=_env(home, "[]"))
    assert missing.exit_code == 2 and batch in missing.output

    # `driftwise new-golden` runs the new_golden_version job; 90 rows cannot fill 6 classes,
    # and it says so (exit 1) instead of registering a golden set too small to judge with.
    golden = _cli("new-golden", env=_env(home, "[]"))
    assert golden.exit_code == 1, golden.output
    assert "no new golden version" in golden.stdout and "fewer than" in golden.stdout
    assert not registry.tags("golden/")
