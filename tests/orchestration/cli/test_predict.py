"""`driftwise predict` on a second dataset: TREC questions (6 classes), both tiers trained,
registered in a real embedded MLflow and imported into the session's BentoML store
(tests/served_models.py). Touches: the real CLI in-process (typer's runner), the store
model loaded by `bento.store.load_tiers` as the service loads it, CSV / JSONL / stdin I/O,
the reject file, the dataset's length policy (cut and counted, or refused), and the clear
refusals (no such alias, no text column).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from bento.store import load_stored, load_tiers
from orchestration.cli.app import app
from tests.served_models import Served


@pytest.fixture()
def on_trec(served: Served, monkeypatch: pytest.MonkeyPatch) -> Served:
    monkeypatch.setenv("DRIFTWISE_HOME", str(served.home))
    monkeypatch.setenv("DRIFTWISE_DATASET__NAME", "trec")
    return served


@pytest.mark.slow
def test_predict_answers_as_the_model_does_and_rejects_with_reasons(
    on_trec: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = on_trec.questions.head(200)
    frame = pd.DataFrame({"id": range(len(rows)), "text": rows["text"], "label": rows["label"]})
    hostile = pd.DataFrame(
        {"id": [900, 901, 902], "text": ["", "   ", "why? " * 1_500], "label": ["x"] * 3}
    )
    source = tmp_path / "questions.csv"
    pd.concat([frame, hostile]).to_csv(source, index=False)

    monkeypatch.setenv("DRIFTWISE_DATASET__MAX_TEXT_CHARS", "5000")
    done = CliRunner().invoke(app, ["predict", str(source), "--model", "1"])
    assert done.exit_code == 0, done.output
    out = pd.read_csv(tmp_path / "questions.predictions.csv").head(200)
    assert list(out.columns) == [
        "id", "text", "label", "prediction", "confidence", "tier", "model_version",
    ]  # fmt: skip
    assert out["id"].tolist() == list(range(200)) and set(out["model_version"]) == {1}
    # the same answers as the store model's own tiers (v1: no cascade tuned -> accurate)
    tiers = load_tiers(load_stored(on_trec.tags["1"]), tmp_path / "cache")
    probs = tiers["accurate"].predict_proba(frame["text"].tolist())
    labels = load_stored(on_trec.tags["1"]).labels
    assert out["prediction"].tolist() == [labels[i] for i in probs.argmax(axis=1)]
    np.testing.assert_allclose(out["confidence"], probs.max(axis=1), rtol=1e-5)
    assert set(out["tier"]) == {"accurate"}
    macro_f1 = f1_score(out["label"], out["prediction"], average="macro")
    assert macro_f1 > 0.5  # 6 classes: chance is ~0.17
    print(f"TREC held-out macro-F1 {macro_f1:.3f}; {done.output}")

    rejected = [
        json.loads(line)
        for line in (tmp_path / "questions.predictions.rejected.jsonl").read_text().splitlines()
    ]
    assert [(r["source_row"], r["reason"]) for r in rejected] == [
        (201, "missing_text"), (202, "missing_text"),
    ]  # fmt: skip
    # the 7,500-character text: scored on its first 5,000 (the dataset's length policy)
    assert "rejected 2 rows" in done.output and "scored 201 rows" in done.output
    assert "1 texts were scored on their first 5,000 characters" in done.output
    long_row = pd.read_csv(tmp_path / "questions.predictions.csv").iloc[200]
    assert long_row["id"] == 902 and long_row["text"].startswith("why? ")

    # long_text = quarantine: the same row is refused with its reason instead
    monkeypatch.setenv("DRIFTWISE_DATASET__LONG_TEXT", "quarantine")
    hostile.to_csv(source, index=False)
    done = CliRunner().invoke(app, ["predict", str(source), "--model", "1"])
    assert done.exit_code == 0, done.output
    rejected = [
        json.loads(line)
        for line in (tmp_path / "questions.predictions.rejected.jsonl").read_text().splitlines()
    ]
    assert rejected[-1]["source_row"] == 3
    assert rejected[-1]["reason"] == "text_too_long: 7499 chars > 5000"
    assert "rejected 3 rows" in done.output and "scored 0 rows" in done.output


@pytest.mark.slow
def test_predict_reads_stdin_writes_stdout_and_refuses_clearly(on_trec: Served) -> None:
    lines = "\n".join(json.dumps({"text": t}) for t in on_trec.questions["text"].head(20))
    runner = CliRunner()
    done = runner.invoke(
        app, ["predict", "-", "--format", "jsonl", "--model", "2"], input=lines + "\n"
    )
    assert done.exit_code == 0, done.output
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(answers) == 20 and {a["tier"] for a in answers} == {"fast"}  # v2: fast only
    assert all(a["model_version"] == "2" and 0 < a["confidence"] <= 1 for a in answers)

    no_alias = runner.invoke(app, ["predict", "-", "--model", "previous"], input="text\nx\n")
    assert no_alias.exit_code == 2 and "no 'previous' version" in no_alias.output
    no_column = runner.invoke(app, ["predict", "-", "--model", "2"], input="question\nwhy?\n")
    assert no_column.exit_code == 2 and "no 'text' column" in no_column.output
    bad_model = runner.invoke(app, ["predict", "-", "--model", "latest"], input="text\nx\n")
    assert bad_model.exit_code == 2 and "--model takes" in bad_model.output
