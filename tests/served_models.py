"""A real served model for the serving tests: TREC questions (6 classes, not the default
data), both tiers trained by `models.training.train`, registered in a real embedded MLflow
and imported into the session's BentoML store (tests/conftest.py points BENTOML_HOME at a
temp folder). A pytest plugin of tests/conftest.py, so the session trains it once (~30 s)
for every module that asks, tests/bento and tests/orchestration/cli alike."""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.models.snapshots import make_snapshot


@dataclass(frozen=True)
class Served:
    home: Path
    tracking: object  # models.tracking.TrackingConfig
    name: str
    tags: dict[str, str]  # version -> store tag
    questions: pd.DataFrame  # held-out TREC rows (text, label) for requests


@pytest.fixture(scope="session")
def trec(data_wheel: Path) -> pd.DataFrame:
    from data.trec import load_trec_questions

    frame = load_trec_questions(data_wheel)
    return pd.DataFrame({"text": frame["question"], "label": frame["topic"], "domain": "trec"})


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory, trec: pd.DataFrame) -> Served:
    from bento.store import import_version
    from models.lineage import LINEAGE_KEYS, SNAPSHOT_TAG
    from models.spec import TrainSpec
    from models.tracking import TrackingConfig, track_candidate
    from models.training import train

    home = tmp_path_factory.mktemp("serving-home")
    snapshot = make_snapshot(trec, {"train": 900, "val": 200, "test": 100}, seed=3)
    fast = train(snapshot, TrainSpec(tier="fast", max_epochs=6, patience=2), home / "fast")
    accurate = train(
        snapshot,
        TrainSpec(tier="accurate", accelerator="cpu", max_epochs=6, patience=2),
        home / "accurate",
        cache_dir=home / "embeddings",
    )
    fast_v2 = train(
        snapshot, TrainSpec(tier="fast", max_epochs=3, patience=1, seed=11), home / "fast2"
    )
    assert fast is not None and accurate is not None and fast_v2 is not None
    name = "driftwise-trec"
    tracking = TrackingConfig.embedded(home, registered_model_name=name)
    lineage = dict.fromkeys(LINEAGE_KEYS, "test") | {SNAPSHOT_TAG: "snapshot/abc123"}
    v1 = track_candidate([fast, accurate], tracking, lineage).model_version
    v2 = track_candidate([fast_v2], tracking, lineage).model_version
    assert v1 is not None and v2 is not None
    tags = {v: import_version(tracking, name, v, home / "cache" / "models").tag for v in (v1, v2)}
    held_out = trec[~trec["text"].isin(snapshot["text"])].drop_duplicates("text")
    return Served(home, tracking, name, tags, held_out.reset_index(drop=True))
