"""The landing sensor through `build_sensor_context` on a temporary instance.

Touches a temp landing folder only. Checks: one run request per new file with a dynamic
partition, cursor progress (each file once), same content under another name skipped,
half-copied (just modified) files left for the next tick.
"""

import json
import os
import time
from pathlib import Path

import dagster as dg

from data.landing import batch_id_for
from orchestration.resources import RuntimeHomeResource
from orchestration.sensors.landing import new_batch_sensor


def _age(path: Path, seconds: float = 10) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def _tick(home: Path, cursor: str | None) -> dg.SensorResult:
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(
            instance=instance,
            cursor=cursor,
            resources={"home": RuntimeHomeResource(path=str(home))},
        )
        return new_batch_sensor(ctx)


def test_new_file_becomes_partition_and_run(home: Path):
    landing = home / "landing"
    landing.mkdir()
    path = landing / "batch1.csv"
    path.write_text("text,label\nhello there,positive\n")
    _age(path)
    result = _tick(home, None)
    (request,) = result.run_requests
    key = batch_id_for(path)
    assert request.partition_key == key
    assert request.tags["driftwise/trigger"] == "new_file"
    assert result.dynamic_partitions_requests[0].partition_keys == [key]
    # Next tick with the cursor: nothing new.
    again = _tick(home, result.cursor)
    assert not again.run_requests
    assert again.skip_reason is not None


def test_same_content_other_name_and_unsettled_files(home: Path):
    landing = home / "landing"
    landing.mkdir()
    first = landing / "a.csv"
    first.write_text("text\nsome text\n")
    _age(first)
    cursor = _tick(home, None).cursor
    dup = landing / "a_copy.csv"
    dup.write_bytes(first.read_bytes())
    _age(dup)
    fresh = landing / "b.csv"
    fresh.write_text("text\nstill being copied\n")  # mtime = now: not settled yet
    (landing / ".c.csv.tmp").write_text("text\npartial\n")  # hidden temp file: never a batch
    result = _tick(home, cursor)
    assert not result.run_requests
    assert "same content" in result.skip_reason.skip_message
    _age(fresh)
    later = _tick(home, result.cursor)
    assert [r.partition_key for r in later.run_requests] == [batch_id_for(fresh)]
    assert sorted(json.loads(later.cursor)["files"]) == ["a.csv", "a_copy.csv", "b.csv"]


def test_changed_file_is_a_new_batch(home: Path):
    landing = home / "landing"
    landing.mkdir()
    path = landing / "daily.csv"
    path.write_text("text\nmonday\n")
    _age(path, 20)
    cursor = _tick(home, None).cursor
    path.write_text("text\ntuesday\n")
    _age(path, 5)
    (request,) = _tick(home, cursor).run_requests
    assert request.partition_key == batch_id_for(path)


def test_unsupported_files_and_folders_are_quarantined_with_a_reason(home: Path):
    """A folder and an .xlsx in the landing zone: no run, each quarantined once with its reason.

    Touches a temp landing zone and quarantine; the entries themselves stay where they landed.
    """
    landing = home / "landing"
    landing.mkdir()
    sheet = landing / "reviews.xlsx"
    sheet.write_bytes(b"PK\x03\x04 not a csv")
    folder = landing / "more_batches"
    folder.mkdir()
    (folder / "inner.csv").write_text("text\nnested\n")
    for entry in (sheet, folder):
        _age(entry)
    result = _tick(home, None)
    assert not result.run_requests
    message = result.skip_reason.skip_message
    assert "reviews.xlsx: not ingested, unsupported_type: '.xlsx'" in message
    assert "more_batches: not ingested, directory" in message
    summaries = {
        p.parent.name: json.loads(p.read_text())
        for p in (home / "quarantine").glob("*/summary.json")
    }
    sheet_summary = summaries[batch_id_for(sheet)]
    assert sheet_summary["file_reason"].startswith("unsupported_type")
    assert (home / "quarantine" / batch_id_for(sheet) / "reviews.xlsx").read_bytes() == (
        sheet.read_bytes()
    )
    assert summaries["more_batches-entry"]["file_reason"].endswith("(holds 1 files)")
    assert sheet.exists() and folder.exists()
    # Reported once: the next tick has nothing to say about them.
    again = _tick(home, result.cursor)
    assert "not ingested" not in again.skip_reason.skip_message
