"""evaluation/traffic/feedback.py: live accuracy of the champion from feedback records.
Touches: in-memory frames shaped like the service's feedback and prediction logs (the
sensor's read of the real logs is tests/orchestration/sensors/test_retrain.py)."""

import pandas as pd

from evaluation.traffic.feedback import champion_accuracy


def _never() -> pd.DataFrame:
    raise AssertionError("self-contained feedback must not read the prediction log")


def test_self_contained_feedback_counts_the_champion_once_per_prediction() -> None:
    feedback = pd.DataFrame(
        [
            {"request_id": "a", "label": "pos", "predicted": "pos", "arm": "champion"},
            {"request_id": "a", "label": "neg", "predicted": "pos", "arm": "champion"},  # repeat
            {"request_id": "b", "label": "neg", "predicted": "pos", "arm": "champion"},
            {"request_id": "c", "label": "neg", "predicted": "neg", "arm": "challenger"},
        ]
    )
    assert champion_accuracy(feedback, _never, min_feedback=2) == (0.5, 2)
    assert champion_accuracy(feedback, _never, min_feedback=3) is None


def test_older_feedback_is_joined_to_the_prediction_log() -> None:
    feedback = pd.DataFrame(
        [{"request_id": "a", "label": "pos"}, {"request_id": "b", "label": "neg"}]
    )
    logged = pd.DataFrame(
        [
            {"request_id": "a", "label": "pos", "arm": "champion"},
            {"request_id": "a", "label": "neg", "arm": "shadow"},
            {"request_id": "b", "label": "neg", "arm": "champion"},
        ]
    )
    assert champion_accuracy(feedback, lambda: logged, min_feedback=1) == (1.0, 2)
    assert champion_accuracy(feedback, pd.DataFrame, min_feedback=1) is None
    assert champion_accuracy(pd.DataFrame(), _never, min_feedback=1) is None
