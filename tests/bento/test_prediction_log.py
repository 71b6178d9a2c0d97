"""The serving logs (bento/prediction_log.py): the size-rotating JSONL writer and the tolerant
reader, on real files in a temp folder (no services), including concurrent writers.
"""

import json
import threading
from pathlib import Path

import pytest

from bento.prediction_log import JsonlLogWriter, read_jsonl_log, read_prediction_window


def test_partial_and_garbage_lines_are_skipped_and_counted(tmp_path: Path):
    log = tmp_path / "log"
    log.mkdir()
    good = [{"request_id": f"r{i}", "text": f"t{i}\u2028still one record"} for i in range(3)]
    lines = [json.dumps(r, ensure_ascii=False) for r in good]
    (log / "a.jsonl").write_text("\n".join([*lines, "[1, 2]", '{"request_id": "r9", "te']))
    read = read_jsonl_log(log)
    assert read.malformed == 2
    assert read.frame["request_id"].tolist() == ["r0", "r1", "r2"]
    assert "\u2028" in read.frame["text"].iloc[0]


def test_newest_window_reads_from_the_newest_file(tmp_path: Path):
    log = tmp_path / "log"
    log.mkdir()
    for day in range(3):
        rows = [{"day": day, "i": i} for i in range(4)]
        (log / f"2026-11-0{day + 1}.jsonl").write_text("\n".join(map(json.dumps, rows)))
    window = read_jsonl_log(log, newest=6).frame
    assert list(zip(window["day"], window["i"], strict=True)) == [
        (1, 2),
        (1, 3),
        (2, 0),
        (2, 1),
        (2, 2),
        (2, 3),
    ]
    assert read_jsonl_log(tmp_path / "missing").frame.empty


def test_prediction_window_reads_newest_records(tmp_path: Path):
    log = tmp_path / "prediction_log"
    log.mkdir()
    rows = [{"timestamp": i, "text": f"t{i}", "label": "positive"} for i in range(10)]
    rows.append({"timestamp": 99, "text": None, "label": "negative"})  # text withheld
    (log / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    window = read_prediction_window(log, 3)
    assert window["text"].tolist() == ["t7", "t8", "t9"]
    assert read_prediction_window(tmp_path / "missing", 5).empty


def test_writer_rotates_by_size_and_keeps_at_most_max_files(tmp_path: Path):
    writer = JsonlLogWriter(tmp_path / "log", prefix="pred", max_bytes=400, max_files=3)
    for i in range(60):
        assert writer.append([{"request_id": f"r{i}", "text": "x" * 20}]) == 1
    files = sorted((tmp_path / "log").glob("pred-*.jsonl"))
    assert len(files) == 3
    assert all(f.stat().st_size <= 400 for f in files)
    ids = read_jsonl_log(tmp_path / "log").frame["request_id"].tolist()
    # The newest records survive, in write order; the oldest files were deleted.
    assert ids == [f"r{i}" for i in range(60 - len(ids), 60)]
    assert 0 < len(ids) < 60


def test_concurrent_writers_never_interleave_lines(tmp_path: Path):
    writer = JsonlLogWriter(tmp_path / "log", max_bytes=10**9)

    def work(k: int) -> None:
        for i in range(200):
            writer.append([{"worker": k, "i": i, "text": "é" * 50}])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    read = read_jsonl_log(tmp_path / "log")
    assert read.malformed == 0
    assert len(read.frame) == 800
    assert (
        read.frame.groupby("worker")["i"].apply(list).map(sorted).tolist() == [list(range(200))] * 4
    )


def test_writer_refuses_nonsense_bounds(tmp_path: Path):
    with pytest.raises(ValueError, match="positive"):
        JsonlLogWriter(tmp_path, max_bytes=0)
