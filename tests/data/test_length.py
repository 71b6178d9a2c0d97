"""The one length policy (data/length.py) and the config that carries it (data/schema.py).

Touches: LengthPolicy.fit under both policies, DatasetSpec.length, and the two refusals a
user can meet (a bad policy name, a limit below one). Landing, predict and the service apply
the same object: tests/data/test_readers_validation.py, tests/orchestration/cli/
test_predict.py and tests/bento/test_http.py.
"""

import pytest
from pydantic import ValidationError

from data.length import LengthPolicy, TextTooLong
from data.schema import DatasetSpec


def test_truncate_keeps_the_start_and_says_it_cut():
    policy = LengthPolicy(10, "truncate")
    assert policy.fit("short") == ("short", False)
    assert policy.fit("x" * 10) == ("x" * 10, False)  # the limit itself is allowed
    assert policy.fit("abcd efgh ijkl") == ("abcd efgh", True)  # cut, trailing space dropped
    assert policy.fit("y" * 11) == ("y" * 10, True)


def test_quarantine_refuses_over_the_limit_only():
    policy = LengthPolicy(10, "quarantine")
    assert policy.fit("x" * 10) == ("x" * 10, False)
    with pytest.raises(TextTooLong, match="text_too_long: 11 chars > 10"):
        policy.fit("x" * 11)


def test_dataset_spec_carries_the_policy_and_refuses_bad_values():
    spec = DatasetSpec(name="tickets", max_text_chars=300, long_text="quarantine")
    assert spec.length == LengthPolicy(300, "quarantine")
    assert DatasetSpec().length == LengthPolicy(20_000, "truncate")
    with pytest.raises(ValidationError, match="long_text"):
        DatasetSpec(long_text="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_chars"):
        LengthPolicy(0)
    with pytest.raises(ValueError, match="long_text"):
        LengthPolicy(5, "drop")  # type: ignore[arg-type]
