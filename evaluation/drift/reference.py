"""What current data is compared with: the serving model's own out-of-sample data.

The reference is the champion's training snapshot, validation and test rows only (its
predictions on rows it trained on would look more confident than on anything new), read
from the data registry by the snapshot tag training wrote on the model version. Before any
promotion the challenger stands in; before any model there is no reference.

A champion trained on several domains has a mixed reference; a new batch from *one* of them
differs from that mixture and would read as drift although nothing new arrived. So the
reference is matched to what the current batch claims to be (`match_reference`): where both
sides carry a domain column and every current domain is known, the reference is drawn per
domain in the current batch's proportions. A domain the reference has never seen is itself
the news: then the whole reference is used, and the summary names the new domains.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.data_registry import DataRegistry
from data.schema import DOMAIN, SPLIT
from data.snapshot import SNAPSHOT_PATH
from models.lineage import SNAPSHOT_TAG
from models.model_registry import CHALLENGER, CHAMPION, find_model
from models.tracking import TrackingConfig


@dataclass(frozen=True)
class Reference:
    model: str  # "driftwise-sentiment@champion v3" …
    snapshot_tag: str
    frame: pd.DataFrame
    fast_bundle: Path


def find_reference(
    tracking: TrackingConfig, model_name: str, registry: DataRegistry, cache_root: Path
) -> Reference | None:
    """The champion's (else the challenger's) snapshot rows outside its train split.

    None before any model exists. An unreachable tracking store raises: drift checking must
    not silently switch off.
    """
    model = find_model(tracking, model_name, cache_root, aliases=(CHAMPION, CHALLENGER))
    if model is None:
        return None
    tag = model.version.tags[SNAPSHOT_TAG]
    frame = registry.read_table(SNAPSHOT_PATH, rev=tag)
    frame = frame[frame[SPLIT] != "train"].reset_index(drop=True)
    # The fast tier predicts: the prediction signal needs the class mix, not the best model,
    # and it costs microseconds per text.
    bundle = model.bundles.get("fast") or next(iter(model.bundles.values()))
    return Reference(model.label, tag, frame, bundle)


@dataclass(frozen=True)
class MatchedReference:
    """The reference rows a check uses, and how they were chosen (for the summary).

    Attributes:
        frame: the reference rows.
        matched_on: "domain" when drawn in the current batch's domain mix, else None.
        reason: why it was (not) matched, in words.
        current_mix: the current batch's domain shares (empty without a domain column).
        new_domains: current domains the reference has no rows of.
    """

    frame: pd.DataFrame
    matched_on: str | None
    reason: str
    current_mix: dict[str, float] = field(default_factory=dict)
    new_domains: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched_on": self.matched_on,
            "reason": self.reason,
            "rows": len(self.frame),
            "current_mix": dict(self.current_mix),
            "new_domains": list(self.new_domains),
        }


def match_reference(
    reference: pd.DataFrame, current: pd.DataFrame, min_rows: int, seed: int = 0
) -> MatchedReference:
    """Reference rows drawn per domain in the current batch's domain proportions.

    The largest draw that keeps the proportions without replacement (a repeated row would
    leak between the domain classifier's train and test halves). Falls back to the whole
    reference, saying why, when a side has no domain, the current batch has a domain the
    reference lacks, or the matched draw would be smaller than `min_rows`.
    """
    if DOMAIN not in reference.columns or DOMAIN not in current.columns or current.empty:
        return MatchedReference(reference, None, "no domain column on both sides")
    cur_domains = current[DOMAIN].astype("string").fillna("<none>")
    ref_domains = reference[DOMAIN].astype("string").fillna("<none>")
    mix = cur_domains.value_counts(normalize=True).sort_index()
    current_mix = {str(k): round(float(v), 4) for k, v in mix.items()}
    available = ref_domains.value_counts()
    new = sorted(str(d) for d in mix.index if d not in available.index)
    if new:
        reason = f"domain(s) {', '.join(new)} not in the reference: compared with all of it"
        return MatchedReference(reference, None, reason, current_mix, new)
    # Largest total n with round(share * n) <= available rows for every domain.
    total = int(min(available[d] / share for d, share in mix.items()))
    counts = {d: min(int(available[d]), round(share * total)) for d, share in mix.items()}
    if sum(counts.values()) < min_rows:
        reason = (
            f"only {sum(counts.values())} reference rows in the current domain mix "
            f"(< {min_rows}): compared with the whole reference"
        )
        return MatchedReference(reference, None, reason, current_mix)
    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(np.flatnonzero((ref_domains == d).to_numpy()), size=k, replace=False)
        for d, k in counts.items()
        if k
    ]
    frame = reference.iloc[np.sort(np.concatenate(picked))].reset_index(drop=True)
    reason = f"{len(frame)} of {len(reference)} reference rows drawn in the current domain mix"
    return MatchedReference(frame, "domain", reason, current_mix)
