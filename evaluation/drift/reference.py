"""What current data is compared with: the serving model's own out-of-sample data.

The reference is the champion's training snapshot, validation and test rows only (its
predictions on rows it trained on would look more confident than on anything new), read
from the data registry by the snapshot tag training wrote on the model version. Before any
promotion the challenger stands in; before any model there is no reference.
"""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.data_registry import DataRegistry
from data.schema import SPLIT
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
