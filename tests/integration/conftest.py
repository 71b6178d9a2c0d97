"""The prod profile's stand-ins, and the loop run on them, for the prod tests.

Each fixture copies the checkout (tests/conftest.py's `copy_checkout`) and works in the copy
as a user of a clone does: the CLI is the copy's code, run from the copy, with no
DRIFTWISE_HOME set, so the runtime home is `.driftwise/` inside it, where the README puts
it. It starts real servers of its own there (`driftwise prod up`: PostgreSQL, the moto S3
server, `mlflow server`, Redis + a dagster-celery worker, which run the copy's code too),
runs a documented command on them, and stops everything when its module is done:
- `prod_loop`: your own CSV (`driftwise init`, `driftwise run --data FILE`: a real
  dagster-daemon's landing sensor, an ingest run whose steps the celery worker executes,
  the retrain job to @champion) - tests/integration/test_prod_profile.py;
- `prod_make_run`: what `make run` runs, the whole default loop up to a canary promotion -
  the browser tests (tests/integration/test_ui_browser.py) open the UIs over its home.
Imports of the [prod] extra stay inside functions: the lean install (`make test`) collects
this folder and deselects it by its `prod` marker.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import copy_checkout, link_embeddings, user_env

REPO = Path(__file__).resolve().parents[2]
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
    checkout: Path  # the copy the commands ran in (cwd and PYTHONPATH)
    home: Path  # <checkout>/.driftwise
    state: Path
    env: dict[str, str]  # the shell of a user who ran `source <state>/prod.env`
    csv: Path
    stdout: str


def _cli(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """`driftwise ARGS` in the checkout copy the shell `env` belongs to (`_shell`)."""
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli.app", *args],
        cwd=env["PYTHONPATH"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def _stack(
    root: Path, shell: dict[str, str], demo: bool = False, label_studio: bool = False
) -> Iterator[dict[str, str]]:
    """`driftwise prod up` under `root` (workers get `shell`'s settings and its checkout's
    code; their home, the checkout's `.driftwise/`, is recorded in prod.env), then `prod down`.

    Yields the environment of a user who ran `source <state>/prod.env` in `shell`.
    """
    from orchestration.prod.stack import load_state

    state = root / "stack"
    flags = [*(["--demo"] if demo else []), *(["--label-studio"] if label_studio else [])]
    # Label Studio's first start on a new PostgreSQL database migrates its schema (minutes).
    up = _cli(["prod", "up", "--state", str(state), *flags], shell, 900 if label_studio else 300)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        stack = load_state(state)
        assert stack is not None
        yield dict(shell, **stack.env)
    finally:
        _keep_logs(state, root.name)
        down = _cli(["prod", "down", "--state", str(state)], shell, timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr


def _shell(checkout: Path, **settings: str) -> dict[str, str]:
    """A user's shell in `checkout`: its code, no DRIFTWISE_* of the session (so the default
    home, `<checkout>/.driftwise`), plus `settings`."""
    shell = {k: v for k, v in user_env().items() if not k.startswith("DRIFTWISE_")}
    return dict(shell, PYTHONPATH=str(checkout), **settings)


@pytest.fixture(scope="module")
def prod_loop(tmp_path_factory: pytest.TempPathFactory, data_wheel: Path) -> Iterator[ProdLoop]:
    """Your own CSV (6-class TREC questions) to a champion on the prod profile (~1 min), with
    the stack's Label Studio on its PostgreSQL (its first start migrates, ~1-2 min)."""
    from data.trec import load_trec_questions

    root = tmp_path_factory.mktemp("prod-own-data")
    checkout = copy_checkout(root / "driftwise")
    home = checkout / ".driftwise"
    csv = root / "my_questions.csv"
    questions = load_trec_questions(data_wheel).drop_duplicates("question")
    questions.sample(2000, random_state=2)[["question", "topic"]].to_csv(csv, index=False)
    # The annotation server too (`make prod-up` starts it), on the stack's PostgreSQL, from
    # the venv the e2e stage installed under the README's home (1 GB: installed once).
    ls_venv = REPO / ".driftwise" / "label-studio" / "venv"
    shell = _shell(checkout, **DATASET_ENV, DRIFTWISE_ANNOTATION__VENV=str(ls_venv))
    with _stack(root, shell, label_studio=True) as env:
        assert env["DRIFTWISE_HOME"] == str(home.resolve())  # the README's layout
        init = _cli(["init"], env, timeout=300)
        assert init.returncode == 0, init.stdout + init.stderr
        run = _cli(
            ["run", "--data", str(csv), "--tiers", "fast", "--no-serve", "--timeout", "600"],
            env,
            timeout=1200,
        )
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
        yield ProdLoop(checkout, home, state=root / "stack", env=env, csv=csv, stdout=run.stdout)


@pytest.fixture(scope="module")
def prod_make_run(
    tmp_path_factory: pytest.TempPathFactory, data_wheel: Path, shared_embeddings: Path
) -> Iterator[ProdLoop]:
    """What `make run` runs (`driftwise fetch-data` + `driftwise run`: two movie batches, the
    first champion, serving, tweets drift, the drift sensor's retrain on the celery worker,
    the staged canary to a promotion), on the prod profile.

    Its embedding cache is the session's (seeded from `make run`'s in CI: keyed by row id
    and runtime, so the vectors are the ones it would compute): MiniLM on ~15k texts is
    most of a cold loop and is not what this profile tests."""
    root = tmp_path_factory.mktemp("prod-make-run")
    checkout = copy_checkout(root / "driftwise")
    home = checkout / ".driftwise"
    link_embeddings(home, shared_embeddings)
    shutil.copy(data_wheel, home / "cache" / data_wheel.name)  # fetch-data finds it: offline
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # --demo: the workers get the demo clocks `driftwise run` sets for itself - the
    # canary_rollout step runs on a worker and must read the same rollout policy.
    with _stack(root, _shell(checkout), demo=True) as env:
        assert env["DRIFTWISE_ROLLOUT__BAKE_S"] == "5"  # recorded in prod.env too
        assert env["DRIFTWISE_HOME"] == str(home.resolve())  # the README's layout
        for args in (["fetch-data"], ["init"]):
            done = _cli(args, env, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
        run = _cli(["run", "--no-serve", "--port", str(port)], env, timeout=1800)
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-4000:]
        yield ProdLoop(checkout, home, state=root / "stack", env=env, csv=Path(), stdout=run.stdout)


def _keep_logs(state: Path, name: str) -> None:
    """The servers' logs, for a person reading a red CI run."""
    target = ARTIFACTS / "prod-logs" / name
    target.mkdir(parents=True, exist_ok=True)
    for log in (state / "logs").glob("*.log"):
        (target / log.name).write_bytes(log.read_bytes()[-200_000:])
