"""The prod profile's stand-ins and one loop run on them, shared by the prod tests.

One session-scoped fixture starts real servers (`driftwise prod up`: PostgreSQL, the moto
S3 server, `mlflow server`, Redis + a dagster-celery worker), runs the documented
bring-your-own-data path on them (`driftwise init`, `driftwise run --data FILE`: a real
dagster-daemon's landing sensor, an ingest run whose steps the celery worker executes,
the retrain job to @champion) and stops everything at the end. The tests then read the
evidence each component holds. Imports of the [prod] extra stay inside functions: the lean
install (`make test`) collects this folder and deselects it by its `prod` marker.
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("driftwise")
DATASET_ENV = {
    "DRIFTWISE_DATASET__NAME": "questions",
    "DRIFTWISE_DATASET__TEXT_COLUMN": "question",
    "DRIFTWISE_DATASET__LABEL_COLUMN": "topic",
    "DRIFTWISE_DATASET__LABELS": "[]",
}
# Screenshots and the stand-ins' logs land here (CI keeps them as artifacts).
ARTIFACTS = Path(os.environ.get("DRIFTWISE_TEST_ARTIFACTS", REPO / "test-artifacts"))


@dataclass(frozen=True)
class ProdLoop:
    home: Path
    state: Path
    env: dict[str, str]  # the shell of a user who ran `source <state>/prod.env`
    csv: Path
    stdout: str


def _cli(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(EXE), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def prod_loop(tmp_path_factory: pytest.TempPathFactory, data_wheel: Path):
    from data.trec import load_trec_questions
    from orchestration.prod.stack import load_state

    root = tmp_path_factory.mktemp("prod")
    home, state = root / "home", root / "stack"
    csv = root / "my_questions.csv"
    questions = load_trec_questions(data_wheel).drop_duplicates("question")
    questions.sample(2000, random_state=2)[["question", "topic"]].to_csv(csv, index=False)
    shell = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWISE_")}
    shell.pop("DAGSTER_HOME", None)
    shell.update(DATASET_ENV, DRIFTWISE_HOME=str(home))
    up = _cli(["prod", "up", "--state", str(state)], shell, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        env = dict(shell, **load_state(state).env)
        init = _cli(["init"], env, timeout=300)
        assert init.returncode == 0, init.stdout + init.stderr
        run = _cli(
            ["run", "--data", str(csv), "--tiers", "fast", "--no-serve", "--timeout", "600"],
            env,
            timeout=1200,
        )
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
        yield ProdLoop(home=home, state=state, env=env, csv=csv, stdout=run.stdout)
    finally:
        _keep_logs(state)
        down = _cli(["prod", "down", "--state", str(state)], shell, timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr


def _keep_logs(state: Path) -> None:
    """The servers' logs, for a person reading a red CI run."""
    target = ARTIFACTS / "prod-logs"
    target.mkdir(parents=True, exist_ok=True)
    for log in (state / "logs").glob("*.log"):
        (target / log.name).write_bytes(log.read_bytes()[-200_000:])
