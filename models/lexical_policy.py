"""When the accurate tier trains wide (a lexical n-gram bag beside the encoder), decided per run.

The bag learns the training data's own words. Where the model will be judged on the same
kinds of text it trained on, that is what beats a TF-IDF baseline (held-out macro-F1,
bench/baseline_vs_tiers.py: long docstrings .953 wide vs .784 encoder only, TREC .887 vs
.759, the default data with all four domains .795 vs .774). Where it will be judged on
domains the training data lacks, the bag hurts and makes the model overconfident: the default
loop's first model (movies only) scored golden macro-F1 .697 / ECE .171 wide against
.740 / .030 encoder only, and the gate blocked it.

So `auto` (the default) turns the bag on exactly when every domain the golden set judges on
appears in the training split, and off otherwise. A dataset without a domain column is one
source: the golden set was drawn from it, so the bag is on. `on` and `off` force it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

LexicalSetting = Literal["auto", "on", "off"]
SETTINGS: tuple[LexicalSetting, ...] = ("auto", "on", "off")


@dataclass(frozen=True)
class LexicalChoice:
    """Whether the bag trains, and the sentence that says why (run logs, MLflow, metadata)."""

    lexical: bool
    reason: str


def _named(domains: Iterable[object]) -> set[str]:
    """Domain names, without the blanks a row without a domain carries (None, NaN, '')."""
    out = set()
    for value in domains:
        if value is None or value != value:  # NaN is the one value not equal to itself
            continue
        text = str(value).strip()
        if text:
            out.add(text)
    return out


def choose_lexical(
    setting: LexicalSetting, trained_on: Iterable[object], judged_on: Iterable[object]
) -> LexicalChoice:
    """Decide the bag for one run.

    Args:
        setting: auto, on or off (`TrainConfig.accurate_lexical`).
        trained_on: the domain column of the training split (any iterable of values).
        judged_on: the domain column of the golden set the gate will score the model on.
    """
    if setting not in SETTINGS:
        raise ValueError(f"accurate_lexical must be one of {SETTINGS}; got {setting!r}")
    if setting != "auto":
        return LexicalChoice(setting == "on", f"accurate_lexical={setting} (set by config)")
    trained, judged = _named(trained_on), _named(judged_on)
    if not judged:
        return LexicalChoice(True, "auto: the golden set has no domains; one source, bag on")
    missing = sorted(judged - trained)
    if missing:
        return LexicalChoice(
            False,
            f"auto: the golden set judges domains the training split lacks ({', '.join(missing)});"
            " a bag of training words would not travel, bag off",
        )
    return LexicalChoice(
        True,
        f"auto: the training split covers every golden domain ({', '.join(sorted(judged))});"
        " bag on",
    )
