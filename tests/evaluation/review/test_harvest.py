"""evaluation/review/harvest.py: Label Studio's exported tasks -> labelled rows or conflicts
(pure; the JSON shapes are the ones a real Label Studio 1.23.2 export returned)."""

from evaluation.review.harvest import LINEAGE, annotator_hash, harvest


def _annotation(label: str | list[str], user: int = 1, cancelled: bool = False) -> dict:
    choices = label if isinstance(label, list) else [label]
    return {
        "completed_by": user,
        "was_cancelled": cancelled,
        "result": [
            {
                "from_name": "label",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": choices},
            }
        ],
    }


def _task(task_id: int, *annotations: dict, text: str = "some text") -> dict:
    data = {
        "text": f"{text} {task_id}",
        "review_key": f"k{task_id}",
        "partition": "2026-12-07",
        "reason": "low_confidence",
        "inclusion_probability": 0.5,
        "predicted_label": "good",
        "model_version": "2",
        "request_id": f"r{task_id}:0",
    }
    return {"id": task_id, "data": data, "annotations": list(annotations)}


def test_agreeing_annotators_give_one_row_with_lineage() -> None:
    got = harvest([_task(2, _annotation("bad", 1), _annotation("bad", 7))], salt="s")
    (row,) = got.rows.to_dict("records")
    assert row["label"] == "bad" and row["agreement"] == 1.0 and row["annotations"] == 2
    assert row["annotators"] == ";".join(sorted([annotator_hash(1, "s"), annotator_hash(7, "s")]))
    assert row["review_partition"] == "2026-12-07" and row["inclusion_probability"] == 0.5
    assert set(LINEAGE) <= set(got.rows.columns) and got.conflicts.empty
    assert got.task_ids == [2] and got.keys == ["k2"]  # the item, not the server's id


def test_a_task_made_by_hand_is_keyed_by_its_id() -> None:
    task = _task(5, _annotation("bad"))
    del task["data"]["review_key"]
    assert harvest([task], salt="s").keys == ["task-5"]


def test_disagreement_is_a_conflict_with_a_reason_never_a_majority_vote() -> None:
    task = _task(3, _annotation("bad", 1), _annotation("bad", 2), _annotation("good", 3))
    got = harvest([task], salt="s")
    assert got.rows.empty
    (conflict,) = got.conflicts.to_dict("records")
    assert conflict["reason"] == "conflicting_annotations: 'bad' x2, 'good' x1"
    assert abs(conflict["agreement"] - 2 / 3) < 1e-9 and got.task_ids == [3]


def test_skipped_empty_and_unannotated_tasks_wait() -> None:
    empty = {"completed_by": 1, "was_cancelled": False, "result": []}
    tasks = [_task(4, _annotation("bad", cancelled=True)), _task(5, empty), _task(6)]
    got = harvest(tasks, salt="s")
    assert got.rows.empty and got.conflicts.empty and got.waiting == 3 and got.task_ids == []


def test_several_choices_on_one_task_are_not_one_label() -> None:
    # kept as one joined value no contract holds: ingestion quarantines it with its reason
    got = harvest([_task(8, _annotation(["good", "bad"]))], salt="s")
    assert got.rows["label"].tolist() == ["bad|good"]


def test_an_unknown_label_passes_through_for_ingestion_to_quarantine() -> None:
    # validation (data/validation.py) owns the label contract: harvest does not second-guess it
    got = harvest([_task(9, _annotation("sarcastic"))], salt="s")
    assert got.rows["label"].tolist() == ["sarcastic"]


def test_same_tasks_same_rows_whatever_the_export_order() -> None:
    tasks = [_task(i, _annotation("bad" if i % 2 else "good", i)) for i in range(1, 6)]
    a, b = harvest(tasks, "s"), harvest(list(reversed(tasks)), "s")
    assert a.rows.equals(b.rows) and a.rows["ls_task_id"].tolist() == [1, 2, 3, 4, 5]


def test_annotator_ids_are_keyed_hashes() -> None:
    assert annotator_hash(1, "a") != annotator_hash(1, "b") != "1"
    assert annotator_hash(1, "a") == annotator_hash("1", "a") and len(annotator_hash(1, "a")) == 12
