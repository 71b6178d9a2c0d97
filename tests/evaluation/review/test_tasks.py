"""evaluation/review/tasks.py: the labelling interface and task payloads Label Studio takes."""

import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from evaluation.review.tasks import FROM_NAME, label_config, to_tasks


def test_the_interface_offers_every_label_escaped() -> None:
    labels = ["positive", 'say "no"', "a<b & c", "ünï"]
    root = ET.fromstring(label_config(labels))
    choices = root.find("Choices")
    assert choices is not None and choices.get("name") == FROM_NAME
    assert [c.get("value") for c in choices.findall("Choice")] == labels
    with pytest.raises(ValueError):
        label_config([])


def test_tasks_carry_the_item_and_the_answer_as_a_pre_annotation() -> None:
    queue = pd.DataFrame(
        [
            {
                "review_key": "k",
                "text": "t",
                "predicted_label": "bad",
                "confidence": 0.612345,
                "model_version": "4",
                "other_label": float("nan"),
                "reason": "low_confidence",
                "inclusion_probability": 1.0,
            }
        ]
    )
    (task,) = to_tasks(queue)
    assert task["data"]["other_label"] is None and task["data"]["confidence"] == 0.6123
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == "4" and prediction["score"] == pytest.approx(0.612345)
    assert prediction["result"][0]["value"] == {"choices": ["bad"]}
