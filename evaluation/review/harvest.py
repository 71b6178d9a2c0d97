"""What the annotation server's finished tasks become: labelled rows, or conflicts.

Input is Label Studio's JSON export (one dict per task: `id`, `data`, `annotations`). A task
counts once it has at least one submitted annotation with a choice (skipped ones,
`was_cancelled`, and empty results are not labels). Several annotators who agree give one
row with their agreement; any disagreement is a conflict, quarantined with its reason by the
caller - a label is never guessed by majority. Annotator ids are kept only as keyed hashes.
"""

import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

LINEAGE = [
    "review_key",
    "review_partition",
    "review_reason",
    "inclusion_probability",
    "predicted_label",
    "model_version",
    "request_id",
    "annotators",
    "annotations",
    "agreement",
    "ls_task_id",
]


@dataclass
class Harvest:
    rows: pd.DataFrame  # text, label, *LINEAGE
    conflicts: pd.DataFrame  # text, labels, reason, *LINEAGE
    waiting: int = 0  # tasks with no usable annotation yet
    task_ids: list[int] = field(default_factory=list)  # tasks turned into a row or a conflict
    # Their review keys, in the same order: what identifies an item on any server or database
    # (task ids restart at 1 in a new one).
    keys: list[str] = field(default_factory=list)


def annotator_hash(user_id: object, salt: str) -> str:
    """A keyed hash (HMAC-SHA256, 12 hex): stable per annotator, not their id."""
    return hmac.new(salt.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()[:12]


def task_key(task: dict[str, Any]) -> str:
    """The item a task holds: its review key (tasks made by hand have none: their id)."""
    return str((task.get("data") or {}).get("review_key") or f"task-{task.get('id')}")


def _choices(annotation: dict[str, Any], from_name: str) -> list[str]:
    if annotation.get("was_cancelled"):
        return []
    out: list[str] = []
    for region in annotation.get("result") or []:
        if isinstance(region, dict) and region.get("from_name") == from_name:
            out.extend(str(c) for c in (region.get("value") or {}).get("choices") or [])
    return out


def harvest(tasks: list[dict[str, Any]], salt: str, from_name: str = "label") -> Harvest:
    """Rows and conflicts from exported tasks, in task id order (a deterministic batch: the
    same tasks give the same bytes, so a re-landed harvest is recognised by its hash)."""
    rows, conflicts, waiting, done, keys = [], [], 0, [], []
    for task in sorted(tasks, key=lambda t: int(t.get("id", 0))):
        data = task.get("data") or {}
        votes: list[tuple[str, str]] = []  # (label, annotator)
        for annotation in task.get("annotations") or []:
            choices = _choices(annotation, from_name)
            if len(choices) == 1:
                votes.append((choices[0], annotator_hash(annotation.get("completed_by"), salt)))
            elif choices:  # several choices in a single-choice task: not one label
                votes.append(("|".join(sorted(choices)), "?"))
        if not votes or not data.get("text"):
            waiting += 1
            continue
        counts = Counter(label for label, _ in votes)
        record = {
            "text": data["text"],
            "review_key": data.get("review_key"),
            "review_partition": data.get("partition"),
            "review_reason": data.get("reason"),
            "inclusion_probability": data.get("inclusion_probability"),
            "predicted_label": data.get("predicted_label"),
            "model_version": data.get("model_version"),
            "request_id": data.get("request_id"),
            "annotators": ";".join(sorted({a for _, a in votes})),
            "annotations": len(votes),
            "ls_task_id": int(task["id"]),
        }
        done.append(int(task["id"]))
        keys.append(task_key(task))
        if len(counts) == 1:
            rows.append({"label": votes[0][0], "agreement": 1.0, **record})
        else:
            majority = counts.most_common(1)[0][1] / len(votes)
            spread = ", ".join(f"{label!r} x{n}" for label, n in sorted(counts.items()))
            conflicts.append(
                {
                    "labels": spread,
                    "reason": f"conflicting_annotations: {spread}",
                    "agreement": majority,
                    **record,
                }
            )
    return Harvest(
        rows=pd.DataFrame(rows, columns=["text", "label", *LINEAGE]),
        conflicts=pd.DataFrame(conflicts, columns=["text", "labels", "reason", *LINEAGE]),
        waiting=waiting,
        task_ids=done,
        keys=keys,
    )
