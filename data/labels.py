"""The label contract: which classes a dataset has, and how a new one is admitted.

Every dataset has a label set. Either its config declares one (`labels`; the default dataset
declares `negative`/`positive`), or the first training snapshot's labels are frozen into the
data registry (`labels.json`, committed in git beside the DVC tables). From then on a row
whose label is outside the set is quarantined as `unknown_label`, with the value shown: one
typo no longer adds a class. A new class comes in only through `driftwise labels add NAME`
(or a config change), recorded in the file's audit list; the next snapshot says so.

Spelling: labels are compared by a key (Unicode NFKC, whitespace collapsed, case-folded), so
`POSITIVE`, ` positive ` and `Positive` are the class `positive`, written as the contract
spells it. Before anything is frozen, variants in the data take the spelling seen most.
"""

import getpass
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from data.data_registry import DataRegistry

CONTRACT_FILE = "labels.json"
_SPACE = re.compile(r"\s+")


def label_key(label: str) -> str:
    """The identity of a label: NFKC, whitespace collapsed, case-folded."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", label)).strip().casefold()


def spellings(labels: Iterable[str]) -> dict[str, str]:
    """key -> the spelling used most often in `labels` (ties: the first seen)."""
    counts = Counter(_SPACE.sub(" ", label).strip() for label in labels)
    out: dict[str, str] = {}
    best: dict[str, int] = {}
    for spelling, n in counts.items():  # Counter keeps first-seen order
        key = label_key(spelling)
        if n > best.get(key, 0):
            out[key], best[key] = spelling, n
    return out


@dataclass
class LabelContract:
    """The frozen label set of a dataset and how each class got in (the audit)."""

    dataset: str
    labels: list[str]
    audit: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def frozen_from(cls, dataset: str, labels: Sequence[str], source: str) -> "LabelContract":
        labels = sorted(set(labels))
        return cls(dataset, labels, [_entry("frozen", labels, source)])

    def admit(self, label: str, reason: str) -> "LabelContract":
        """A copy with `label` added (its audit entry says who, when and why)."""
        label = _SPACE.sub(" ", label).strip()
        if not label:
            raise ValueError("a label cannot be empty")
        if label_key(label) in {label_key(x) for x in self.labels}:
            raise ValueError(f"{label!r} is already a class of {self.dataset!r}: {self.labels}")
        return LabelContract(
            self.dataset,
            sorted([*self.labels, label]),
            [*self.audit, _entry("added", [label], reason)],
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "LabelContract":
        raw = json.loads(text)
        return cls(str(raw["dataset"]), [str(x) for x in raw["labels"]], list(raw["audit"]))


def _entry(action: str, labels: Sequence[str], reason: str) -> dict[str, str]:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's uid)
        who = "unknown"
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "action": action,
        "labels": ", ".join(labels),
        "by": who,
        "reason": reason,
    }


def read_contract(registry: "DataRegistry") -> LabelContract | None:
    """The frozen contract committed in the registry (None: nothing frozen yet)."""
    text = registry.read_file(CONTRACT_FILE)
    return LabelContract.from_json(text) if text else None


def save_contract(registry: "DataRegistry", contract: LabelContract, message: str) -> str:
    """Commit the contract beside the DVC tables (git: its history is the audit's backup)."""
    return registry.commit_file(CONTRACT_FILE, contract.to_json(), message)


def effective_labels(declared: Sequence[str] | None, registry: "DataRegistry") -> list[str] | None:
    """The label set rows are checked against: the config's if it declares one, else the
    frozen contract's, else None (nothing frozen yet: any non-empty label is accepted)."""
    if declared is not None:
        return list(declared)
    contract = read_contract(registry)
    return contract.labels if contract else None


def conform(frame: pd.DataFrame, labels: Sequence[str], column: str = "label") -> pd.DataFrame:
    """`frame`'s labelled rows in the contract's spelling; rows whose label is outside the
    contract are left out (they came in under an older, wider config: `driftwise reingest`
    shows them in quarantine). Unlabelled rows pass unchanged."""
    if column not in frame.columns or frame.empty:
        return frame
    spelling = {label_key(x): x for x in labels}
    given = frame[column]
    known = given.isna() | (given.astype(str) == "")
    mapped = given.map(lambda v: spelling.get(label_key(str(v))) if isinstance(v, str) else None)
    keep = known | mapped.notna()
    out = frame[keep].copy()
    out.loc[mapped[keep].notna(), column] = mapped[keep].dropna()
    return out


def new_classes(current: Sequence[str], previous: Sequence[str] | None) -> list[str]:
    """Classes in `current` that `previous` (the last snapshot's) lacked; [] on the first."""
    if previous is None:
        return []
    before = {label_key(x) for x in previous}
    return [x for x in current if label_key(x) not in before]
