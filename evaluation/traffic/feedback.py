"""Live accuracy from the feedback log: the champion's answers that got a true label.

The one join of feedback to what was served for the retrain trigger (the canary's per-arm
join is evaluation/rollout/evidence.py; both count one label per prediction through
`one_label_per_prediction`). Pure pandas: the performance sensor reads the logs and hands
them in.
"""

from collections.abc import Callable

import pandas as pd

from evaluation.rollout.evidence import one_label_per_prediction


def champion_accuracy(
    feedback: pd.DataFrame, predictions: Callable[[], pd.DataFrame], min_feedback: int
) -> tuple[float, int] | None:
    """(accuracy, labelled answers) of the serving arm `champion`, or None under
    `min_feedback`. Challenger and shadow answers to the same request are left out (they
    would count it twice). `predictions` is read only for feedback records written before
    the service put its answer into each record."""
    if feedback.empty or "request_id" not in feedback:
        return None
    feedback = one_label_per_prediction(feedback)
    if "predicted" in feedback.columns:
        # The service writes what it answered into each feedback record (bento/engine.py),
        # so feedback on predictions the sampled log never kept still counts.
        served = feedback[feedback["predicted"].notna()]
        if "arm" in served.columns:
            served = served[served["arm"] == "champion"]
        joined = served.rename(columns={"label": "label_true", "predicted": "label"})
    else:
        logged = predictions()
        if logged.empty:
            return None
        if "arm" in logged.columns:
            logged = logged[logged["arm"] == "champion"]
        logged = logged.drop_duplicates("request_id", keep="last")
        joined = feedback.merge(logged, on="request_id", suffixes=("_true", ""))
    if len(joined) < min_feedback:
        return None
    return float((joined["label_true"] == joined["label"]).mean()), len(joined)
