"""The gate's refusal to judge a model on a golden set of other classes
(evaluation/golden_eval/candidate.py). Pure pandas; touches nothing else."""

import pandas as pd
import pytest

from evaluation.golden_eval.candidate import GoldenMismatchError, check_labels_match

GOLDEN = pd.DataFrame({"label": ["negative", "positive", "positive"]})


def test_matching_labels_pass_in_any_order() -> None:
    check_labels_match(GOLDEN, ["positive", "negative"], "m/v1/fast")


@pytest.mark.parametrize(
    "labels", [["ABBR", "DESC", "ENTY"], ["negative"], ["negative", "positive", "neutral"]]
)
def test_other_classes_are_refused_with_the_fix(labels: list[str]) -> None:
    with pytest.raises(GoldenMismatchError, match="own golden set"):
        check_labels_match(GOLDEN, labels, "m/v1/fast")
