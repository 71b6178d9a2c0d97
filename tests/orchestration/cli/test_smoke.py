"""The end-of-run request of `driftwise run` (orchestration/cli/app.py: `smoke_sample`) speaks
the dataset's language: a row of its own golden set with its true label - the curated VADER
set for the default dataset, the registered carve for an own dataset - or a plain "hello"
when there is no golden set yet. Touches the golden set in data/golden/ and a real (empty)
DVC registry in a temp home.
"""

from pathlib import Path

from data.golden_set import load_golden
from data.schema import DatasetSpec
from orchestration.cli.app import smoke_sample
from orchestration.settings import DriftwiseSettings


def test_default_dataset_sends_a_golden_row_with_its_label(tmp_path: Path) -> None:
    settings = DriftwiseSettings(home=tmp_path / "home")
    text, truth = smoke_sample(settings)
    golden = load_golden().frame
    row = golden[golden["text"] == text]
    assert len(row) == 1 and truth == row["label"].iloc[0]
    assert smoke_sample(settings) == (text, truth)  # the same row every time


def test_own_dataset_without_a_golden_set_says_hello(tmp_path: Path) -> None:
    settings = DriftwiseSettings(
        home=tmp_path / "home",
        dataset=DatasetSpec(name="questions", text_column="question", label_column="topic"),
    )
    settings.data_registry().ensure()  # a registry with no batch and no golden tag
    assert smoke_sample(settings) == ("hello", None)
