"""models/lexical_policy.py: when the accurate tier trains its lexical bag (pure; no training).

The cases are the ones the platform meets: the default loop's movies-only bootstrap judged on
the four-domain golden set (off), the same snapshot once every domain has landed (on), a
user's single-source corpus without a domain column (on), and the forced settings.
"""

import math

import pandas as pd
import pytest

from models.lexical_policy import choose_lexical

GOLDEN = ["movies", "amazon", "nyt", "tweets"] * 5


def test_auto_is_off_when_the_golden_set_judges_domains_training_lacks() -> None:
    choice = choose_lexical("auto", ["movies"] * 100, GOLDEN)
    assert choice.lexical is False
    assert "lacks (amazon, nyt, tweets)" in choice.reason


def test_auto_is_on_when_training_covers_every_golden_domain() -> None:
    trained = ["movies", "amazon", "nyt", "tweets", "reddit"]  # extra domains do no harm
    choice = choose_lexical("auto", trained, GOLDEN)
    assert choice.lexical is True
    assert "covers every golden domain (amazon, movies, nyt, tweets)" in choice.reason


def test_auto_is_on_for_a_dataset_without_domains() -> None:
    """No domain column (empty), or one that is blank everywhere, is a single source."""
    assert choose_lexical("auto", [], []).lexical is True
    blank = pd.Series([None, math.nan, "", "  "], dtype=object)
    assert choose_lexical("auto", ["a"], blank).lexical is True


def test_blank_training_domains_do_not_count_as_coverage() -> None:
    """Rows without a domain cannot vouch for a golden domain."""
    choice = choose_lexical("auto", pd.Series([None, math.nan, ""], dtype=object), ["news"])
    assert choice.lexical is False and "(news)" in choice.reason


def test_forced_settings_win_and_unknown_ones_are_refused() -> None:
    assert choose_lexical("on", ["movies"], GOLDEN).lexical is True
    assert choose_lexical("off", GOLDEN, GOLDEN).lexical is False
    assert "set by config" in choose_lexical("off", [], []).reason
    with pytest.raises(ValueError, match="accurate_lexical must be one of"):
        choose_lexical("yes", [], [])  # type: ignore[arg-type]
